/*
 * fuzz - what every libFuzzer harness in t/fuzz shares: the entry points
 * libFuzzer calls, an assertion that reports the broken property and aborts
 * (libFuzzer then saves the input as crash-*), and the log interposer.
 *
 * The harnesses link fuzz_msg.o ahead of librelayguard.a, so msg_info() and
 * friends are ours: each formatted log line is checked for control
 * characters (CR, LF, ESC ... would forge log lines) and then dropped, so
 * a run is not slowed by logging. See t/fuzz/README.
 */
#ifndef RG_FUZZ_H
#define RG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property that must hold; on failure print why and abort (a "crash"). */
#define FUZZ_ASSERT(cond, ...)                                                                               \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "%s:%d: property failed: %s: ", __FILE__, __LINE__, #cond);          \
			fprintf(stderr, __VA_ARGS__);                                                        \
			fputc('\n', stderr);                                                                 \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

/* Non-zero if s[0..n) has a byte a log line or header must not carry (< 0x20 or 0x7f). */
int fuzz_has_ctl(const char *s, size_t n);

/* Log lines seen since the start (checked and dropped by fuzz_msg.c). */
extern unsigned long fuzz_log_lines;

/* Log lines are printed to stderr as well when FUZZ_LOG is set in the environment. */

#endif
