/* SIGPIPE around a TPM command: a socket TCTI (swtpm:, mssim:, a
 * resource manager's) writes to a TPM that may have gone away, and a
 * write to a closed socket raises SIGPIPE, whose default action kills
 * the host program (ssh, a browser) instead of letting the write fail
 * with EPIPE, which tpm11 handles as a lost connection. A library must
 * not change the process's signal dispositions, so the calling thread
 * blocks SIGPIPE for the command and takes back a SIGPIPE the command
 * raised (one that was pending before stays pending). */
#ifndef TPM11_UTIL_SIGPIPE_H
#define TPM11_UTIL_SIGPIPE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>

typedef struct {
	sigset_t old;
	bool was_pending;
	bool blocked;
} sigpipe_guard;

static inline void
sigpipe_block(sigpipe_guard *g)
{
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigemptyset(&pending);
	g->was_pending = sigpending(&pending) == 0 &&
			 sigismember(&pending, SIGPIPE) == 1;
	g->blocked = pthread_sigmask(SIG_BLOCK, &pipe, &g->old) == 0;
}

static inline void
sigpipe_restore(sigpipe_guard *g)
{
	sigset_t pipe, pending;
	struct timespec zero = {0, 0};

	if (!g->blocked)
		return;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigemptyset(&pending);
	if (!g->was_pending && sigpending(&pending) == 0 &&
	    sigismember(&pending, SIGPIPE) == 1)
		(void)sigtimedwait(&pipe, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

#endif
