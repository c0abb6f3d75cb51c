/* fork: a process initialises the module, logs in and forks while one of
 * its threads keeps signing.
 *
 *   fork [-c CHILDREN] [-n SIGNATURES] [--child-tcti FORMAT]
 *        [--todo-children REASON]
 *
 * Environment: TPM11_MODULE, T11_TOKEN (default REL), T11_PIN, and the
 * module's TPM11_TCTI. --child-tcti: each initialising child sets
 * TPM11_TCTI to FORMAT (a "%u" in it becomes the child's number, 1...)
 * before its C_Initialize, e.g. its own swtpm started on a copy of the
 * parent TPM's state. --todo-children: a failing check in an initialising
 * child is reported as TAP "not ok ... # TODO REASON" (a known limit), but
 * the child must still end normally (no signal, no hang).
 *
 * Children:
 *  - one that uses the module without C_Initialize: every call returns
 *    CKR_CRYPTOKI_NOT_INITIALIZED (PKCS#11 v2.40 6.7.7), including calls on
 *    the parent's session handle, so it never touches the parent's TPM
 *    connection;
 *  - CHILDREN (default 3) that call C_Initialize, see no inherited login,
 *    log in, sign SIGNATURES times (default 40) with every key and
 *    mechanism family, verify, log out and finalise, all at the same time;
 *  - one that _exit()s at once, one that initialises and exits without
 *    C_Finalize (its connection ends with the process).
 * Children end with exit() (but the one that leaves at once).
 * Meanwhile the parent signs in its main thread and in a second thread;
 * afterwards it signs again. Every signature is verified with OpenSSL.
 * Children report their checks over a pipe; output is TAP. The program's
 * own OpenSSL calls are fenced off from fork() (rel_fork_guard_openssl):
 * without that a child forked while the signing thread was in RAND_bytes
 * hung for ever on OpenSSL's DRBG lock in its C_Login. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rel.h"

static CK_FUNCTION_LIST_PTR p11;
static const char *token, *pin;
static unsigned nsign = 40;
static CK_SLOT_ID slot;
static const char *child_tcti;
static const char *todo_reason;

/* --- child side: checks go to the parent as lines "P name" / "F name" ---- */

static int child_fd = -1;
static int child_failed;

static void
cres(bool pass, const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	int n;

	buf[0] = pass ? 'P' : 'F';
	buf[1] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(buf + 2, sizeof(buf) - 3, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof(buf) - 3)
		n = (int)sizeof(buf) - 3;
	buf[2 + n] = '\n';
	if (write(child_fd, buf, (size_t)n + 3) < 0)
		_exit(99);
	if (!pass)
		child_failed++;
}

static bool
crv(CK_RV got, CK_RV want, const char *what)
{
	if (got == want) {
		cres(true, "%s", what);
		return true;
	}
	cres(false, "%s: got %s, expected %s", what, t11_rv_name(got),
	     t11_rv_name(want));
	return false;
}

/* Signs n times with the token's keys in session s. */
static unsigned
sign_round(CK_SESSION_HANDLE s, rel_key *keys, size_t nkeys, unsigned n,
	   unsigned seed, char *err, size_t errlen)
{
	unsigned i, bad = 0;
	bool good;
	CK_RV rv;

	for (i = 0; i < n; i++) {
		const rel_key *k = &keys[(seed + i) % nkeys];
		unsigned var = seed + i / (unsigned)nkeys;

		rv = rel_sign_verify(p11, s, k, var, &good);
		if (rv != CKR_OK || !good) {
			if (bad++ == 0)
				snprintf(err, errlen, "\"%s\" %s: %s", k->label,
					 rel_variant_name(k, var),
					 rv != CKR_OK ? t11_rv_name(rv) :
					 "signature does not verify");
		}
	}
	return bad;
}

/* A child that never calls C_Initialize. */
static void
child_uninitialised(CK_SESSION_HANDLE parent_s, CK_OBJECT_HANDLE parent_key)
{
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	unsigned char dg[32] = { 1 }, sig[512];
	CK_ULONG n = 8, siglen = sizeof(sig);
	CK_SLOT_ID ids[8];
	CK_SESSION_HANDLE s;
	CK_SESSION_INFO si;
	CK_INFO info;

	crv(p11->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED,
	    "C_GetInfo");
	crv(p11->C_GetSlotList(CK_TRUE, ids, &n),
	    CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetSlotList");
	crv(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s),
	    CKR_CRYPTOKI_NOT_INITIALIZED, "C_OpenSession");
	crv(p11->C_GetSessionInfo(parent_s, &si),
	    CKR_CRYPTOKI_NOT_INITIALIZED,
	    "C_GetSessionInfo on the parent's session");
	crv(p11->C_SignInit(parent_s, &m, parent_key),
	    CKR_CRYPTOKI_NOT_INITIALIZED, "C_SignInit on the parent's session");
	crv(p11->C_Sign(parent_s, dg, sizeof(dg), sig, &siglen),
	    CKR_CRYPTOKI_NOT_INITIALIZED, "C_Sign on the parent's session");
	crv(p11->C_Login(parent_s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)),
	    CKR_CRYPTOKI_NOT_INITIALIZED, "C_Login on the parent's session");
	crv(p11->C_Logout(parent_s), CKR_CRYPTOKI_NOT_INITIALIZED,
	    "C_Logout on the parent's session");
	crv(p11->C_CloseAllSessions(slot), CKR_CRYPTOKI_NOT_INITIALIZED,
	    "C_CloseAllSessions");
	crv(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED,
	    "C_Finalize");
}

/* A child that initialises and signs. */
static void
child_signer(unsigned idx, bool finalize)
{
	CK_SESSION_HANDLE s;
	CK_SESSION_INFO si;
	CK_SLOT_ID ids[8], cslot;
	CK_ULONG n = 8;
	rel_key *keys = NULL;
	size_t nkeys = 0;
	char err[400] = "";
	unsigned bad;
	CK_RV rv;

	crv(p11->C_GetSlotList(CK_TRUE, ids, &n),
	    CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetSlotList before C_Initialize");
	if (child_tcti != NULL) {
		char tcti[1024];
		const char *pc = strstr(child_tcti, "%u");

		if (pc != NULL)
			snprintf(tcti, sizeof(tcti), "%.*s%u%s",
				 (int)(pc - child_tcti), child_tcti, idx,
				 pc + 2);
		else
			snprintf(tcti, sizeof(tcti), "%s", child_tcti);
		setenv("TPM11_TCTI", tcti, 1);
		cres(true, "uses TPM11_TCTI=%s", tcti);
	}
	if (!crv(p11->C_Initialize(NULL), CKR_OK, "C_Initialize"))
		return;
	crv(p11->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED,
	    "a second C_Initialize");
	if (!rel_find_slot(p11, token, &cslot)) {
		cres(false, "token %s found", token);
		return;
	}
	rv = p11->C_OpenSession(cslot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				NULL, NULL, &s);
	if (!crv(rv, CKR_OK, "C_OpenSession"))
		return;
	rv = p11->C_GetSessionInfo(s, &si);
	cres(rv == CKR_OK && si.state == CKS_RW_PUBLIC_SESSION,
	     "the parent's login is not inherited (state %lu, %s)",
	     (unsigned long)si.state, t11_rv_name(rv));
	rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (!crv(rv, CKR_OK, "C_Login"))
		return;
	rv = rel_load_keys(p11, s, NULL, &keys, &nkeys);
	if (!crv(rv, CKR_OK, "reading the key pairs") || nkeys == 0)
		return;
	bad = sign_round(s, keys, nkeys, nsign, idx * 7, err, sizeof(err));
	cres(bad == 0, "%u signatures made and verified (%u failed%s%s)",
	     nsign, bad, bad ? "; first: " : "", err);
	rel_free_keys(keys, nkeys);
	if (!finalize) {
		cres(true, "exits without C_Finalize");
		return;
	}
	crv(p11->C_Logout(s), CKR_OK, "C_Logout");
	crv(p11->C_Finalize(NULL), CKR_OK, "C_Finalize");
}

/* --- parent ------------------------------------------------------------------ */

struct bg {
	CK_SESSION_HANDLE s;
	rel_key *keys;
	size_t nkeys;
	atomic_bool stop;
	unsigned long ok, bad;
	char err[400];
};

static void *
bg_signer(void *argp)
{
	struct bg *b = argp;
	unsigned i = 0;

	while (!atomic_load(&b->stop)) {
		unsigned bad = sign_round(b->s, b->keys, b->nkeys, 1, i++,
					  b->err, sizeof(b->err));
		if (bad)
			b->bad++;
		else
			b->ok++;
	}
	return NULL;
}

struct child {
	pid_t pid;
	int fd;
	const char *what;
	bool todo;      /* failures are a known limit (--todo-children) */
};

static pid_t
spawn(struct child *c, const char *what, int kind, unsigned idx,
      CK_SESSION_HANDLE parent_s, CK_OBJECT_HANDLE parent_key)
{
	int fds[2];

	c->what = what;
	c->todo = todo_reason != NULL && (kind == 1 || kind == 3);
	if (pipe(fds) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		close(fds[0]);
		child_fd = fds[1];
		/* exit(), not _exit(): a real child ends that way, and leak
		 * checkers (LeakSanitizer, valgrind) look at it then. */
		switch (kind) {
		case 0: child_uninitialised(parent_s, parent_key); break;
		case 1: child_signer(idx, true); break;
		case 2: _exit(0);
		case 3: child_signer(idx, false); break;
		}
		exit(child_failed ? 1 : 0);
	}
	close(fds[1]);
	c->fd = fds[0];
	return c->pid;
}

/* Reads the child's report to EOF, turns it into TAP lines, reaps it. */
static void
collect(struct child *c)
{
	char buf[8192], *line, *save = NULL;
	size_t len = 0;
	ssize_t r;
	int st = 0;

	for (;;) {
		r = read(c->fd, buf + len, sizeof(buf) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == sizeof(buf) - 1)
			break;
	}
	buf[len] = '\0';
	close(c->fd);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] != 'P' && c->todo)
			t11_ok(false, "%s (pid %d): %s # TODO %s", c->what,
				(int)c->pid, line + 2, todo_reason);
		else
			t11_ok(line[0] == 'P', "%s (pid %d): %s", c->what,
				(int)c->pid, line + 2);
	}
	while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
		;
	if (c->todo) {
		if (!t11_ok(WIFEXITED(st), "%s (pid %d) ends normally (no "
			     "signal)", c->what, (int)c->pid))
			t11_diag("killed by signal %d", WTERMSIG(st));
	} else if (!t11_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		     "%s (pid %d) exits with status 0", c->what, (int)c->pid)) {
		if (WIFSIGNALED(st))
			t11_diag("killed by signal %d", WTERMSIG(st));
		else
			t11_diag("exit status %d", WEXITSTATUS(st));
	}
}

int
main(int argc, char **argv)
{
	struct child ch[16];
	unsigned nchild = 3, i, nc = 0, bad;
	CK_SESSION_HANDLE s;
	struct bg b;
	pthread_t bt;
	char err[400] = "";
	CK_RV rv;
	int a;

	t11_init();
	/* This program's own OpenSSL calls (rel_sign_verify's random data
	 * and verification) stay out of the way of fork(), as a program's
	 * must: rel.h. */
	rel_fork_guard_openssl();
	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-c") == 0 && a + 1 < argc)
			nchild = (unsigned)atoi(argv[++a]);
		else if (strcmp(argv[a], "-n") == 0 && a + 1 < argc)
			nsign = (unsigned)atoi(argv[++a]);
		else if (strcmp(argv[a], "--child-tcti") == 0 && a + 1 < argc)
			child_tcti = argv[++a];
		else if (strcmp(argv[a], "--todo-children") == 0 &&
			 a + 1 < argc)
			todo_reason = argv[++a];
		else {
			fprintf(stderr, "usage: %s [-c CHILDREN] [-n SIGS] "
				"[--child-tcti FORMAT] [--todo-children "
				"REASON]\n", argv[0]);
			return 2;
		}
	}
	if (nchild > 12)
		nchild = 12;
	token = getenv("T11_TOKEN") ? getenv("T11_TOKEN") : "REL";
	pin = getenv("T11_PIN") ? getenv("T11_PIN") : "";
	memset(&b, 0, sizeof(b));

	if ((p11 = t11_load_module(NULL)) == NULL) {
		t11_ok(false, "load the module");
		return t11_done();
	}
	rv = p11->C_Initialize(NULL);
	if (!t11_ok(rv == CKR_OK, "parent: C_Initialize") ||
	    !t11_ok(rel_find_slot(p11, token, &slot), "parent: token %s found",
		     token))
		return t11_done();
	rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
	if (rv == CKR_OK)
		rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin,
				  strlen(pin));
	if (!t11_ok(rv == CKR_OK, "parent: C_Login")) {
		t11_diag("got %s", t11_rv_name(rv));
		return t11_done();
	}
	rv = rel_load_keys(p11, s, NULL, &b.keys, &b.nkeys);
	if (!t11_ok(rv == CKR_OK && b.nkeys > 0, "parent: %zu key pairs",
		     b.nkeys))
		return t11_done();
	bad = sign_round(s, b.keys, b.nkeys, 2 * (unsigned)b.nkeys, 0, err,
			 sizeof(err));
	if (!t11_ok(bad == 0, "parent: signs before forking"))
		t11_diag("%s", err);

	/* A second thread signs all through the forks. */
	rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &b.s);
	if (!t11_ok(rv == CKR_OK, "parent: a session for the signing thread"))
		return t11_done();
	pthread_create(&bt, NULL, bg_signer, &b);

	if (spawn(&ch[nc], "uninitialised child", 0, 0, s, b.keys[0].priv) > 0)
		nc++;
	for (i = 0; i < nchild; i++)
		if (spawn(&ch[nc], "signing child", 1, i + 1, 0, 0) > 0)
			nc++;
	if (spawn(&ch[nc], "child that exits at once", 2, 0, 0, 0) > 0)
		nc++;
	if (spawn(&ch[nc], "child that exits without C_Finalize", 3,
		  nchild + 1, 0, 0) > 0)
		nc++;
	t11_ok(nc == nchild + 3, "forked %u children", nc);

	/* The parent's main thread signs while the children do. */
	bad = sign_round(s, b.keys, b.nkeys, nsign, 3, err, sizeof(err));
	if (!t11_ok(bad == 0, "parent: %u signatures while the children run "
		     "(%u failed)", nsign, bad))
		t11_diag("first failure: %s", err);
	for (i = 0; i < nc; i++)
		collect(&ch[i]);

	/* And after they are gone. */
	bad = sign_round(s, b.keys, b.nkeys, nsign, 5, err, sizeof(err));
	if (!t11_ok(bad == 0, "parent: %u signatures after the children "
		     "exited (%u failed)", nsign, bad))
		t11_diag("first failure: %s", err);
	atomic_store(&b.stop, true);
	pthread_join(bt, NULL);
	if (!t11_ok(b.bad == 0 && b.ok > 0, "parent: the signing thread made "
		     "%lu signatures through the forks, %lu failed", b.ok,
		     b.bad))
		t11_diag("first failure: %s", b.err);
	rel_free_keys(b.keys, b.nkeys);
	rv = p11->C_Logout(s);
	if (!t11_ok(rv == CKR_OK, "parent: C_Logout"))
		t11_diag("got %s", t11_rv_name(rv));
	rv = p11->C_Finalize(NULL);
	if (!t11_ok(rv == CKR_OK, "parent: C_Finalize"))
		t11_diag("got %s", t11_rv_name(rv));
	return t11_done();
}
