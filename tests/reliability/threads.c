/* Threads: many threads share one module instance.
 *
 *   threads [-t SIGNERS] [-n SIGNATURES] [--app-mutex] [--no-churn-token]
 *           [--no-p384]
 *
 * Environment: TPM11_MODULE; T11_TOKEN (default REL) with user PIN
 * T11_PIN; T11_CHURN_TOKEN (default CHURN) with user PIN T11_CHURN_PIN.
 *
 * SIGNERS threads (default 16) each open their own session on T11_TOKEN
 * (logged in once by the main thread: login state belongs to the
 * application, PKCS#11 v2.40 section 5.6), read the key pairs there, and
 * make SIGNATURES signatures each (default 150), cycling through the keys
 * (P-256, P-384, RSA-2048) and the mechanisms (ECDSA raw and hash-and-sign,
 * RSA PKCS#1 v1.5 and PSS, single- and multi-part); each signature is
 * verified with OpenSSL against the public key read from the module.
 * Meanwhile, until the signers are done:
 *  - 2 threads open and close sessions on T11_TOKEN (RO and RW) and check
 *    that each new session shows the user as logged in;
 *  - 1 thread calls C_Login on T11_TOKEN and expects
 *    CKR_USER_ALREADY_LOGGED_IN (it never logs out: a logout would end
 *    the signers' login too);
 *  - 1 thread logs in and out of the second token T11_CHURN_TOKEN, signs
 *    there while logged in, and checks that private keys disappear after
 *    C_Logout;
 *  - 2 threads search objects (several templates, handles fetched a few at
 *    a time, attributes read) and read slot and token information.
 * Zero errors are allowed. Output is TAP (see tests/lib/t11test.h for
 * TAP_START and TAP_PREFIX). --app-mutex passes mutex callbacks to C_Initialize without
 * CKF_OS_LOCKING_OK (the module must then lock with them). --no-p384: the
 * token has no P-384 key (its TPM has no such curve); every other key type
 * must still sign. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rel.h"

static CK_FUNCTION_LIST_PTR p11;
static CK_SLOT_ID slot, churn_slot;
static bool have_churn = true;
static const char *pin, *churn_pin;
static unsigned nsign = 150;
static unsigned nsigners = 16;
static size_t expect_keys;  /* private keys on T11_TOKEN */

static atomic_bool stop;
static atomic_uint errors_shown;

/* Per-thread results. */
struct res {
	unsigned long ops;              /* signatures, sessions, searches... */
	unsigned long errors;
	unsigned long by_kind[4];       /* signatures per rel_kind */
};

/* Prints the first 40 errors of the whole run, then stays quiet. */
static void
report(const char *who, unsigned idx, const char *what, CK_RV rv)
{
	if (atomic_fetch_add(&errors_shown, 1) < 40)
		t11_diag("%s %u: %s -> %s", who, idx, what, t11_rv_name(rv));
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- signers ----------------------------------------------------------- */

struct signer_arg {
	unsigned idx;
	struct res r;
};

static void *
signer(void *argp)
{
	struct signer_arg *a = argp;
	CK_SESSION_HANDLE s;
	rel_key *keys = NULL;
	size_t nkeys = 0;
	unsigned i;
	CK_FLAGS fl = CKF_SERIAL_SESSION | (a->idx % 2 ? CKF_RW_SESSION : 0);
	CK_RV rv;

	if ((rv = p11->C_OpenSession(slot, fl, NULL, NULL, &s)) != CKR_OK) {
		report("signer", a->idx, "C_OpenSession", rv);
		a->r.errors++;
		return NULL;
	}
	if ((rv = rel_load_keys(p11, s, NULL, &keys, &nkeys)) != CKR_OK ||
	    nkeys != expect_keys) {
		report("signer", a->idx, "reading the key pairs", rv);
		if (rv == CKR_OK)
			t11_diag("signer %u: saw %zu private keys, expected %zu",
				 a->idx, nkeys, expect_keys);
		a->r.errors++;
		goto out;
	}
	for (i = 0; i < nsign; i++) {
		/* Neighbouring threads start on different keys, so all keys
		 * are in use at once (residency, eviction). */
		const rel_key *k = &keys[(a->idx + i) % nkeys];
		unsigned variant = a->idx / nkeys + i / nkeys;
		bool good = false;

		rv = rel_sign_verify(p11, s, k, variant, &good);
		if (rv != CKR_OK || !good) {
			char what[320];

			snprintf(what, sizeof(what),
				 "signature %u with \"%s\", %s%s", i, k->label,
				 rel_variant_name(k, variant),
				 rv == CKR_OK ? " does not verify" : "");
			report("signer", a->idx, what, rv);
			a->r.errors++;
			continue;
		}
		a->r.ops++;
		a->r.by_kind[k->kind]++;
	}
out:
	rel_free_keys(keys, nkeys);
	if ((rv = p11->C_CloseSession(s)) != CKR_OK) {
		report("signer", a->idx, "C_CloseSession", rv);
		a->r.errors++;
	}
	return NULL;
}

/* --- churn threads --------------------------------------------------------- */

struct churn_arg {
	unsigned idx;
	struct res r;
};

#define FAIL(who, what, rv)                                                 \
	do {                                                                \
		report(who, a->idx, what, rv);                              \
		a->r.errors++;                                              \
	} while (0)

/* Opens and closes sessions; each new session must show the login. */
static void *
session_churn(void *argp)
{
	struct churn_arg *a = argp;
	CK_SESSION_HANDLE s[3];
	CK_SESSION_INFO info;
	CK_ULONG cnt;
	unsigned j, n = 0;
	CK_RV rv;

	while (!atomic_load(&stop)) {
		for (j = 0; j < 3; j++) {
			CK_FLAGS fl = CKF_SERIAL_SESSION |
				((n + j) % 2 ? CKF_RW_SESSION : 0);
			CK_STATE want = (fl & CKF_RW_SESSION) ?
				CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;

			rv = p11->C_OpenSession(slot, fl, NULL, NULL, &s[j]);
			if (rv != CKR_OK) {
				FAIL("sessions", "C_OpenSession", rv);
				s[j] = CK_INVALID_HANDLE;
				continue;
			}
			rv = p11->C_GetSessionInfo(s[j], &info);
			if (rv != CKR_OK)
				FAIL("sessions", "C_GetSessionInfo", rv);
			else if (info.state != want || info.slotID != slot) {
				t11_diag("sessions %u: new session in state %lu "
					 "on slot %lu, expected %lu on %lu",
					 a->idx, (unsigned long)info.state,
					 (unsigned long)info.slotID,
					 (unsigned long)want,
					 (unsigned long)slot);
				a->r.errors++;
			}
		}
		/* One search in the middle session: private keys visible. */
		if (s[1] != CK_INVALID_HANDLE) {
			rv = rel_count_objects(p11, s[1], CKO_PRIVATE_KEY, &cnt);
			if (rv != CKR_OK)
				FAIL("sessions", "counting private keys", rv);
			else if (cnt != expect_keys) {
				t11_diag("sessions %u: %lu private keys visible, "
					 "expected %zu", a->idx,
					 (unsigned long)cnt, expect_keys);
				a->r.errors++;
			}
		}
		/* Close in a different order than opened. */
		for (j = 0; j < 3; j++) {
			unsigned x = (j + n) % 3;

			if (s[x] == CK_INVALID_HANDLE)
				continue;
			if ((rv = p11->C_CloseSession(s[x])) != CKR_OK)
				FAIL("sessions", "C_CloseSession", rv);
			a->r.ops++;
		}
		n++;
	}
	return NULL;
}

/* C_Login on the signers' token while it is logged in. */
static void *
login_again(void *argp)
{
	struct churn_arg *a = argp;
	CK_SESSION_HANDLE s;
	CK_RV rv;

	while (!atomic_load(&stop)) {
		rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
					&s);
		if (rv != CKR_OK) {
			FAIL("login", "C_OpenSession", rv);
			continue;
		}
		rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin,
				  strlen(pin));
		if (rv != CKR_USER_ALREADY_LOGGED_IN)
			FAIL("login", "C_Login while logged in (expected "
			     "CKR_USER_ALREADY_LOGGED_IN)", rv);
		/* The SO cannot log in while the user is (5.6). */
		rv = p11->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)"00000000", 8);
		if (rv != CKR_USER_ANOTHER_ALREADY_LOGGED_IN &&
		    rv != CKR_SESSION_READ_ONLY_EXISTS)
			FAIL("login", "C_Login(CKU_SO) while the user is "
			     "logged in (expected "
			     "CKR_USER_ANOTHER_ALREADY_LOGGED_IN)", rv);
		if ((rv = p11->C_CloseSession(s)) != CKR_OK)
			FAIL("login", "C_CloseSession", rv);
		a->r.ops++;
	}
	return NULL;
}

/* Logs in and out of the second token, signing in between. */
static void *
login_logout(void *argp)
{
	struct churn_arg *a = argp;
	CK_SESSION_HANDLE s;
	rel_key *keys;
	size_t nkeys, i;
	CK_ULONG cnt;
	unsigned n = 0;
	bool good;
	CK_RV rv;

	while (!atomic_load(&stop)) {
		rv = p11->C_OpenSession(churn_slot,
					CKF_SERIAL_SESSION | CKF_RW_SESSION,
					NULL, NULL, &s);
		if (rv != CKR_OK) {
			FAIL("login/logout", "C_OpenSession", rv);
			continue;
		}
		rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)churn_pin,
				  strlen(churn_pin));
		if (rv != CKR_OK) {
			FAIL("login/logout", "C_Login", rv);
			p11->C_CloseSession(s);
			continue;
		}
		rv = rel_load_keys(p11, s, NULL, &keys, &nkeys);
		if (rv != CKR_OK || nkeys == 0) {
			FAIL("login/logout", "reading the key pairs (or none)",
			     rv);
		} else {
			for (i = 0; i < nkeys; i++) {
				rv = rel_sign_verify(p11, s, &keys[i], n + 3,
						     &good);
				if (rv != CKR_OK || !good)
					FAIL("login/logout",
					     "signing after C_Login", rv);
			}
			rel_free_keys(keys, nkeys);
		}
		if (n % 2 == 0) {
			if ((rv = p11->C_Logout(s)) != CKR_OK)
				FAIL("login/logout", "C_Logout", rv);
			rv = rel_count_objects(p11, s, CKO_PRIVATE_KEY, &cnt);
			if (rv != CKR_OK || cnt != 0) {
				if (rv == CKR_OK)
					t11_diag("login/logout: %lu private keys "
						 "visible after C_Logout",
						 (unsigned long)cnt);
				FAIL("login/logout", "private keys hidden after "
				     "C_Logout", rv);
			}
			if ((rv = p11->C_CloseSession(s)) != CKR_OK)
				FAIL("login/logout", "C_CloseSession", rv);
		} else {
			/* Closing the token's last session logs out too
			 * (PKCS#11 v2.40 5.6). */
			if ((rv = p11->C_CloseSession(s)) != CKR_OK)
				FAIL("login/logout", "C_CloseSession", rv);
			rv = p11->C_OpenSession(churn_slot, CKF_SERIAL_SESSION,
						NULL, NULL, &s);
			if (rv != CKR_OK) {
				FAIL("login/logout", "C_OpenSession", rv);
			} else {
				CK_SESSION_INFO info;

				rv = p11->C_GetSessionInfo(s, &info);
				if (rv != CKR_OK ||
				    info.state != CKS_RO_PUBLIC_SESSION)
					FAIL("login/logout", "after the last "
					     "session closed, a new session is "
					     "public (state "
					     "CKS_RO_PUBLIC_SESSION)", rv);
				if ((rv = p11->C_CloseSession(s)) != CKR_OK)
					FAIL("login/logout", "C_CloseSession",
					     rv);
			}
		}
		a->r.ops++;
		n++;
	}
	return NULL;
}

/* Searches and reads attributes and slot/token information. */
static void *
searcher(void *argp)
{
	struct churn_arg *a = argp;
	CK_OBJECT_CLASS pub = CKO_PUBLIC_KEY;
	CK_KEY_TYPE ec = CKK_EC;
	CK_BBOOL yes = CK_TRUE;
	CK_SESSION_HANDLE s;
	CK_TOKEN_INFO ti;
	CK_SLOT_INFO si;
	CK_SLOT_ID ids[16];
	CK_ULONG nids;
	unsigned n = 0;
	CK_RV rv;

	rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK) {
		FAIL("search", "C_OpenSession", rv);
		return NULL;
	}
	while (!atomic_load(&stop)) {
		CK_ATTRIBUTE t_pub[] = { { CKA_CLASS, &pub, sizeof(pub) } };
		CK_ATTRIBUTE t_ec[] = { { CKA_KEY_TYPE, &ec, sizeof(ec) },
					{ CKA_SIGN, &yes, sizeof(yes) } };
		CK_ATTRIBUTE *tmpl[] = { NULL, t_pub, t_ec };
		CK_ULONG ntmpl[] = { 0, 1, 2 };
		CK_OBJECT_HANDLE h[64];
		CK_ULONG got, total = 0, i;
		unsigned t = n % 3;
		char label[256];

		rv = p11->C_FindObjectsInit(s, tmpl[t], ntmpl[t]);
		if (rv != CKR_OK) {
			FAIL("search", "C_FindObjectsInit", rv);
			n++;
			continue;
		}
		do {
			got = 0;
			rv = p11->C_FindObjects(s, h + (total < 60 ? total : 60),
						1 + n % 3, &got);
			total += got;
		} while (rv == CKR_OK && got > 0 && total < 60);
		if (rv != CKR_OK)
			FAIL("search", "C_FindObjects", rv);
		if ((rv = p11->C_FindObjectsFinal(s)) != CKR_OK)
			FAIL("search", "C_FindObjectsFinal", rv);
		if (t == 0 && total != 2 * expect_keys) {
			t11_diag("search %u: %lu objects, expected %zu", a->idx,
				 (unsigned long)total, 2 * expect_keys);
			a->r.errors++;
		}
		if (t == 1 && total != expect_keys) {
			t11_diag("search %u: %lu public keys, expected %zu",
				 a->idx, (unsigned long)total, expect_keys);
			a->r.errors++;
		}
		for (i = 0; i < total && i < 60; i++) {
			CK_ATTRIBUTE at = { CKA_LABEL, label, sizeof(label) };

			rv = p11->C_GetAttributeValue(s, h[i], &at, 1);
			if (rv != CKR_OK)
				FAIL("search", "C_GetAttributeValue(CKA_LABEL)",
				     rv);
		}
		nids = 16;
		if ((rv = p11->C_GetSlotList(CK_TRUE, ids, &nids)) != CKR_OK)
			FAIL("search", "C_GetSlotList", rv);
		if ((rv = p11->C_GetSlotInfo(slot, &si)) != CKR_OK)
			FAIL("search", "C_GetSlotInfo", rv);
		if ((rv = p11->C_GetTokenInfo(slot, &ti)) != CKR_OK)
			FAIL("search", "C_GetTokenInfo", rv);
		a->r.ops++;
		n++;
	}
	if ((rv = p11->C_CloseSession(s)) != CKR_OK)
		FAIL("search", "C_CloseSession", rv);
	return NULL;
}

/* --- application mutexes (C_Initialize case 3) ----------------------------- */

static atomic_ulong app_mutex_locks;

static CK_RV
app_create(CK_VOID_PTR_PTR m)
{
	pthread_mutex_t *p = malloc(sizeof(*p));

	if (p == NULL)
		return CKR_HOST_MEMORY;
	pthread_mutex_init(p, NULL);
	*m = p;
	return CKR_OK;
}

static CK_RV
app_destroy(CK_VOID_PTR m)
{
	pthread_mutex_destroy(m);
	free(m);
	return CKR_OK;
}

static CK_RV
app_lock(CK_VOID_PTR m)
{
	atomic_fetch_add(&app_mutex_locks, 1);
	return pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_MUTEX_BAD;
}

static CK_RV
app_unlock(CK_VOID_PTR m)
{
	return pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_MUTEX_NOT_LOCKED;
}

/* --- main ------------------------------------------------------------------ */

static const char *
env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : dflt;
}

int
main(int argc, char **argv)
{
	CK_C_INITIALIZE_ARGS init = { 0 };
	const char *token = env_or("T11_TOKEN", "REL");
	const char *churn_token = env_or("T11_CHURN_TOKEN", "CHURN");
	struct signer_arg *sa;
	struct churn_arg ca[6];
	void *(*churn_fn[6])(void *) = { session_churn, session_churn,
					 login_again, login_logout, searcher,
					 searcher };
	const char *churn_name[6] = { "open/close sessions (1)",
				      "open/close sessions (2)",
				      "C_Login while logged in",
				      "login/sign/logout on the second token",
				      "search objects (1)",
				      "search objects (2)" };
	pthread_t *st, ct[6];
	CK_SESSION_HANDLE main_s;
	unsigned long total = 0, errs = 0, kinds[4] = { 0 };
	bool app_mutex = false, no_p384 = false;
	rel_key *keys = NULL;
	double t0, secs;
	unsigned i;
	CK_RV rv;

	t11_init();
	for (i = 1; i < (unsigned)argc; i++) {
		if (strcmp(argv[i], "-t") == 0 && i + 1 < (unsigned)argc)
			nsigners = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < (unsigned)argc)
			nsign = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--app-mutex") == 0)
			app_mutex = true;
		else if (strcmp(argv[i], "--no-churn-token") == 0)
			have_churn = false;
		else if (strcmp(argv[i], "--no-p384") == 0)
			no_p384 = true;
		else {
			fprintf(stderr, "usage: %s [-t THREADS] [-n SIGS] "
				"[--app-mutex] [--no-churn-token] "
				"[--no-p384]\n", argv[0]);
			return 2;
		}
	}
	pin = env_or("T11_PIN", "");
	churn_pin = env_or("T11_CHURN_PIN", "");
	if ((p11 = t11_load_module(NULL)) == NULL) {
		t11_ok(false, "load the module");
		return t11_done();
	}
	if (app_mutex) {
		init.CreateMutex = app_create;
		init.DestroyMutex = app_destroy;
		init.LockMutex = app_lock;
		init.UnlockMutex = app_unlock;
	} else {
		init.flags = CKF_OS_LOCKING_OK;
	}
	rv = p11->C_Initialize(&init);
	if (!t11_ok(rv == CKR_OK, "C_Initialize (%s)",
		     app_mutex ? "application's mutex functions" :
				 "CKF_OS_LOCKING_OK")) {
		t11_diag("got %s", t11_rv_name(rv));
		return t11_done();
	}
	if (!t11_ok(rel_find_slot(p11, token, &slot), "token %s found", token))
		return t11_done();
	if (have_churn &&
	    !t11_ok(rel_find_slot(p11, churn_token, &churn_slot),
		     "second token %s found", churn_token))
		return t11_done();
	rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &main_s);
	if (rv == CKR_OK)
		rv = p11->C_Login(main_s, CKU_USER, (CK_UTF8CHAR_PTR)pin,
				  strlen(pin));
	if (!t11_ok(rv == CKR_OK, "the main thread logs in to %s", token)) {
		t11_diag("got %s", t11_rv_name(rv));
		return t11_done();
	}
	rv = rel_load_keys(p11, main_s, NULL, &keys, &expect_keys);
	if (!t11_ok(rv == CKR_OK && expect_keys >= 3,
		     "%s has key pairs to sign with (%zu)", token,
		     expect_keys))
		return t11_done();
	for (i = 0; i < expect_keys; i++)
		t11_diag("key %u: %s (%u bits, %s)", i, keys[i].label,
			 keys[i].bits,
			 keys[i].type == CKK_EC ? "EC" : "RSA");
	rel_free_keys(keys, expect_keys);

	sa = calloc(nsigners, sizeof(*sa));
	st = calloc(nsigners, sizeof(*st));
	if (sa == NULL || st == NULL)
		return 1;
	memset(ca, 0, sizeof(ca));
	t0 = now();
	for (i = 0; i < 6; i++) {
		ca[i].idx = i;
		if (i == 3 && !have_churn)
			continue;
		pthread_create(&ct[i], NULL, churn_fn[i], &ca[i]);
	}
	for (i = 0; i < nsigners; i++) {
		sa[i].idx = i;
		pthread_create(&st[i], NULL, signer, &sa[i]);
	}
	for (i = 0; i < nsigners; i++)
		pthread_join(st[i], NULL);
	secs = now() - t0;
	atomic_store(&stop, true);
	for (i = 0; i < 6; i++)
		if (i != 3 || have_churn)
			pthread_join(ct[i], NULL);

	for (i = 0; i < nsigners; i++) {
		total += sa[i].r.ops;
		errs += sa[i].r.errors;
		for (unsigned k = 0; k < 4; k++)
			kinds[k] += sa[i].r.by_kind[k];
	}
	if (!t11_ok(errs == 0 && total == (unsigned long)nsigners * nsign,
		     "%u threads x %u signatures: %lu signed and verified, "
		     "%lu errors", nsigners, nsign, total, errs))
		for (i = 0; i < nsigners; i++)
			if (sa[i].r.errors)
				t11_diag("signer %u: %lu ok, %lu errors", i,
					 sa[i].r.ops, sa[i].r.errors);
	t11_diag("%.1f s, %.0f signatures/s; P-256 %lu, P-384 %lu, RSA %lu",
		 secs, secs > 0 ? (double)total / secs : 0.0, kinds[REL_P256],
		 kinds[REL_P384], kinds[REL_RSA]);
	t11_ok(kinds[REL_P256] && (no_p384 || kinds[REL_P384]) &&
		kinds[REL_RSA],
		"signatures with every key type (P-256 %lu, P-384 %lu%s, "
		"RSA-2048 %lu)", kinds[REL_P256], kinds[REL_P384],
		no_p384 ? " (none on the token)" : "", kinds[REL_RSA]);
	for (i = 0; i < 6; i++) {
		if (i == 3 && !have_churn)
			continue;
		t11_ok(ca[i].r.errors == 0 && ca[i].r.ops > 0,
			"meanwhile, %s: %lu rounds, %lu errors", churn_name[i],
			ca[i].r.ops, ca[i].r.errors);
	}
	if (app_mutex)
		t11_ok(atomic_load(&app_mutex_locks) > total,
			"the module locked with the application's mutex "
			"functions (%lu locks)",
			(unsigned long)atomic_load(&app_mutex_locks));

	/* The login survived all of it; log out and finish. */
	rv = p11->C_Logout(main_s);
	if (!t11_ok(rv == CKR_OK, "C_Logout after the run"))
		t11_diag("got %s", t11_rv_name(rv));
	rv = p11->C_Finalize(NULL);
	if (!t11_ok(rv == CKR_OK, "C_Finalize"))
		t11_diag("got %s", t11_rv_name(rv));
	free(sa);
	free(st);
	return t11_done();
}
