/*
 * relayguardctl - look at and change relayguard's shared state in Redis:
 * greylist triplets, whitelisted client networks, rate-limit counters,
 * the callout cache and the next hops marked down, and the state of Redis
 * itself. Reads relayguard.conf for the Redis settings and the key prefix;
 * keys are built by src/rkeys, as the daemons build them.
 *
 * main() only parses options and dispatches. Exit: 0 ok, 1 not found,
 * 2 usage or configuration error, 3 Redis unreachable.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrey.h"
#include "cmisc.h"
#include "config.h"
#include "msg.h"
#include "rctl.h"
#include "version.h"

#define DEF_CONFIG "/etc/relayguard/relayguard.conf"

static void __attribute__((noreturn)) usage(int rc)
{
	fprintf(
	    rc ? stderr : stdout,
	    "usage: relayguardctl [-V] [-c FILE] [--json] COMMAND ...\n"
	    "  greylist list [CLIENT-OR-NETWORK]        triplets: network, sender, recipient, state, ...\n"
	    "  greylist pass CLIENT SENDER RECIPIENT    mark the triplet passed now\n"
	    "  greylist delete CLIENT SENDER RECIPIENT\n"
	    "  whitelist list | add NETWORK [LIFETIME] | delete NETWORK\n"
	    "  ratelimit show SUBJECT | reset SUBJECT   client:IP sasl:USER sender:DOMAIN rcptdomain:DOMAIN\n"
	    "  callout show ADDRESS|DOMAIN | flush ADDRESS|DOMAIN\n"
	    "  hop list | up HOP                        callout next hops marked down\n"
	    "  status                                   Redis reachable, role, keys per kind, memory\n"
	    "  -c FILE  configuration (default " DEF_CONFIG ")\n"
	    "  -V       print the version\n"
	    "Exit: 0 ok, 1 not found, 2 usage or configuration error, 3 Redis unreachable.\n");
	exit(rc);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {"version", no_argument, NULL, 'V'},
					     {NULL, 0, NULL, 0}};
	static const struct {
		const char *name;
		int (*fn)(struct rctl *, int, char **);
	} cmds[] = {{"greylist", cgrey_greylist},
		    {"whitelist", cgrey_whitelist},
		    {"ratelimit", cmisc_ratelimit},
		    {"callout", cmisc_callout},
		    {"hop", cmisc_hop},
		    {"status", cmisc_status}};
	const char *path = DEF_CONFIG;
	struct rg_diag diag = {0};
	/* static: what exit() leaves behind on an error path stays reachable */
	static struct rctl c;
	int ch, rc;

	msg_init("relayguardctl", 1, "mail");
	while ((ch = getopt_long(argc, argv, "+c:jhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'j':
			c.json = 1;
			break;
		case 'h':
			usage(0);
		case 'V':
			printf("relayguardctl %s\n", RG_VERSION);
			return RCTL_EXIT_OK;
		default:
			usage(RCTL_EXIT_USAGE);
		}
	}
	/* --json may also follow the command words. */
	for (int i = optind; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0) {
			c.json = 1;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(char *));
			argc--, i--;
		}
	if (optind >= argc)
		usage(RCTL_EXIT_USAGE);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[optind], cmds[i].name) != 0)
			continue;
		if ((c.cfg = rg_config_load(path, &diag)) == NULL) {
			for (int k = 0; k < diag.count; k++)
				fprintf(stderr, "relayguardctl: error: %s\n", diag.msgs[k]);
			rg_diag_free(&diag);
			return RCTL_EXIT_USAGE;
		}
		rg_diag_free(&diag);
		c.g = &c.cfg->global;
		rkeys_from_params(&c.k, c.g);
		rc = cmds[i].fn(&c, argc - optind - 1, argv + optind + 1);
		if (c.rc)
			redisFree(c.rc);
		rg_config_unref(c.cfg);
		return rc;
	}
	fprintf(stderr, "relayguardctl: unknown command \"%s\"\n", argv[optind]);
	usage(RCTL_EXIT_USAGE);
}
