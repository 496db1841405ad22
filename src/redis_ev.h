/*
 * redis_ev - a hiredis asynchronous context on a libevent loop, as
 * hiredis' own adapter (adapters/libevent.h) attaches it, with one change:
 * once connected, commands issued during a loop turn leave together at the
 * end of that turn, written directly, instead of arming a write event that
 * epoll reports in the next turn. Per batch that saves two epoll_ctl and
 * one epoll_wait (issue 16); a write the socket does not take whole arms
 * the write event as before, and connecting uses it too.
 *
 * Contract: the loop's thread only. The context owns what is attached: it
 * is released by hiredis' cleanup hook when the context is freed, also from
 * inside our own callbacks.
 */
#ifndef RG_REDIS_EV_H
#define RG_REDIS_EV_H

#include <async.h>
#include <event2/event.h>

/* REDIS_OK, or REDIS_ERR when ac already has an adapter or memory ran out. */
int rg_redis_ev_attach(redisAsyncContext *ac, struct event_base *base);

#endif
