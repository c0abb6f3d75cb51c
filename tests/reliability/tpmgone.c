/* tpmgone: the TPM goes away in the middle of a signing loop.
 *
 *   tpmgone DIR
 *
 * Environment: TPM11_MODULE, T11_TOKEN (default REL), T11_PIN.
 * Hand-shake with the script through files in DIR:
 *   we create DIR/signing after 20 good signatures and keep signing;
 *   the script kills the TPM and creates DIR/killed;
 *   we go on calling for a while, then create DIR/gone-done;
 *   the script restarts the TPM on the same state and creates DIR/back;
 *   we call C_Finalize, C_Initialize, C_Login and sign again.
 * While the TPM is away every call that fails must return CKR_DEVICE_ERROR
 * or CKR_DEVICE_REMOVED (never crash, hang or another code); calls that
 * need no TPM (C_GetTokenInfo, C_FindObjects*) keep working. Output is
 * TAP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rel.h"

static CK_FUNCTION_LIST_PTR p11;
static const char *dir;

static bool
exists(const char *name)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

static void
touch(const char *name)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((f = fopen(p, "w")) != NULL)
		fclose(f);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool
wait_for(const char *name, double secs)
{
	double end = now() + secs;

	while (!exists(name)) {
		if (now() > end)
			return false;
		usleep(20000);
	}
	return true;
}

static bool
device_rv(CK_RV rv)
{
	return rv == CKR_DEVICE_ERROR || rv == CKR_DEVICE_REMOVED;
}

/* Counts of return values seen while the TPM was away. */
static struct { CK_RV rv; unsigned n; } seen[16];
static unsigned nseen;

static void
note(CK_RV rv)
{
	unsigned i;

	for (i = 0; i < nseen; i++)
		if (seen[i].rv == rv) {
			seen[i].n++;
			return;
		}
	if (nseen < 16) {
		seen[nseen].rv = rv;
		seen[nseen++].n = 1;
	}
}

static CK_RV
login(CK_SLOT_ID slot, CK_SESSION_HANDLE *s, const char *pin)
{
	CK_RV rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, s);

	if (rv != CKR_OK)
		return rv;
	return p11->C_Login(*s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
}

int
main(int argc, char **argv)
{
	const char *token = getenv("T11_TOKEN") ? getenv("T11_TOKEN") : "REL";
	const char *pin = getenv("T11_PIN") ? getenv("T11_PIN") : "";
	CK_SESSION_HANDLE s, s2;
	CK_TOKEN_INFO ti;
	CK_SLOT_ID slot;
	rel_key *keys = NULL;
	size_t nkeys = 0, i;
	unsigned good_before = 0, calls_after = 0, fails_after = 0, other = 0;
	unsigned n = 0, v, nsig;
	CK_ULONG cnt;
	double t_end = 0;
	bool good, ok;
	CK_RV rv;

	t11_init();
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	if ((p11 = t11_load_module(NULL)) == NULL) {
		t11_ok(false, "load the module");
		return t11_done();
	}
	rv = p11->C_Initialize(NULL);
	if (!t11_ok(rv == CKR_OK, "C_Initialize") ||
	    !t11_ok(rel_find_slot(p11, token, &slot), "token %s found", token))
		return t11_done();
	rv = login(slot, &s, pin);
	if (!t11_ok(rv == CKR_OK, "C_Login")) {
		t11_diag("got %s", t11_rv_name(rv));
		return t11_done();
	}
	rv = rel_load_keys(p11, s, NULL, &keys, &nkeys);
	if (!t11_ok(rv == CKR_OK && nkeys > 0, "%zu key pairs", nkeys))
		return t11_done();

	/* Sign until the script says the TPM is gone; then go on for a while
	 * (60 more calls, at least 1 s). */
	for (;;) {
		const rel_key *k = &keys[n % nkeys];
		bool killed = exists("killed");

		if (killed && t_end == 0)
			t_end = now() + 1.0;
		if (killed && calls_after >= 60 && now() > t_end)
			break;
		if (!killed && n > 200000) {
			t11_ok(false, "the script killed the TPM in time");
			return t11_done();
		}
		rv = rel_sign_verify(p11, s, k, n / (unsigned)nkeys, &good);
		n++;
		if (!killed) {
			if (rv == CKR_OK && good) {
				if (++good_before == 20)
					touch("signing");
				continue;
			}
			/* The kill may land between our check and the call. */
			if (!device_rv(rv) || good_before < 20) {
				t11_ok(false, "signature %u before the TPM went "
					"away: %s", n, rv == CKR_OK ?
					"does not verify" : t11_rv_name(rv));
				return t11_done();
			}
		}
		calls_after++;
		note(rv);
		if (rv != CKR_OK)
			fails_after++;
		if (rv != CKR_OK && !device_rv(rv))
			other++;
		if (rv == CKR_OK && !good)
			other++;
		if (rv != CKR_OK)
			usleep(10000);
	}
	t11_ok(good_before >= 20, "%u signatures before the TPM went away",
		good_before);
	ok = other == 0 && fails_after > 0;
	t11_ok(ok, "after the TPM went away: %u of %u signing calls failed, "
		"each with CKR_DEVICE_ERROR or CKR_DEVICE_REMOVED", fails_after,
		calls_after);
	for (v = 0; v < nseen; v++)
		t11_diag("  %s: %u", t11_rv_name(seen[v].rv), seen[v].n);

	/* What needs no TPM still works. */
	rv = p11->C_GetTokenInfo(slot, &ti);
	if (!t11_ok(rv == CKR_OK, "C_GetTokenInfo without the TPM"))
		t11_diag("got %s", t11_rv_name(rv));
	rv = rel_count_objects(p11, s, CKO_PUBLIC_KEY, &cnt);
	if (!t11_ok(rv == CKR_OK && cnt == nkeys,
		     "C_FindObjects without the TPM (%lu public keys)",
		     (unsigned long)cnt))
		t11_diag("got %s", t11_rv_name(rv));
	rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s2);
	if (!t11_ok(rv == CKR_OK, "C_OpenSession without the TPM"))
		t11_diag("got %s", t11_rv_name(rv));
	rv = p11->C_Logout(s);
	if (!t11_ok(rv == CKR_OK || device_rv(rv),
		     "C_Logout without the TPM: %s", t11_rv_name(rv)))
		t11_diag("expected CKR_OK, CKR_DEVICE_ERROR or "
			 "CKR_DEVICE_REMOVED");
	rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (!t11_ok(device_rv(rv), "C_Login without the TPM: %s",
		     t11_rv_name(rv)))
		t11_diag("expected CKR_DEVICE_ERROR or CKR_DEVICE_REMOVED");
	touch("gone-done");

	if (!t11_ok(wait_for("back", 60), "the script brought the TPM back"))
		return t11_done();

	/* Issue 14 item 3: the next call connects again, without
	 * C_Finalize/C_Initialize: log in and sign with every key. */
	rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	t11_ok(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN,
		"C_Login with the TPM back, without re-initialising: %s",
		t11_rv_name(rv));
	nsig = 0;
	other = 0;
	for (i = 0; i < nkeys; i++) {
		rv = rel_sign_verify(p11, s, &keys[i], 0, &good);
		if (rv == CKR_OK && good)
			nsig++;
		else if (other++ == 0)
			t11_diag("\"%s\": %s", keys[i].label, t11_rv_name(rv));
	}
	t11_ok(nsig == nkeys, "the next calls connect again: %u of %zu keys "
		"sign without re-initialising", nsig, nkeys);
	rv = p11->C_Finalize(NULL);
	if (!t11_ok(rv == CKR_OK, "C_Finalize"))
		t11_diag("got %s", t11_rv_name(rv));
	rel_free_keys(keys, nkeys);
	keys = NULL;
	nkeys = 0;
	rv = p11->C_Initialize(NULL);
	if (!t11_ok(rv == CKR_OK, "C_Initialize again")) {
		t11_diag("got %s", t11_rv_name(rv));
		return t11_done();
	}
	if (!t11_ok(rel_find_slot(p11, token, &slot), "token %s found again",
		     token))
		return t11_done();
	rv = login(slot, &s, pin);
	if (!t11_ok(rv == CKR_OK, "C_Login again")) {
		t11_diag("got %s", t11_rv_name(rv));
		return t11_done();
	}
	rv = rel_load_keys(p11, s, NULL, &keys, &nkeys);
	t11_ok(rv == CKR_OK && nkeys > 0, "%zu key pairs again", nkeys);
	nsig = 0;
	other = 0;
	for (v = 0; v < 2 * REL_NVARIANTS; v++)
		for (i = 0; i < nkeys; i++) {
			rv = rel_sign_verify(p11, s, &keys[i], v, &good);
			if (rv == CKR_OK && good) {
				nsig++;
			} else if (other++ == 0) {
				t11_diag("\"%s\" %s: %s", keys[i].label,
					 rel_variant_name(&keys[i], v),
					 rv != CKR_OK ? t11_rv_name(rv) :
					 "does not verify");
			}
		}
	t11_ok(other == 0 && nsig > 0, "signing works again: %u signatures "
		"verified, %u failed", nsig, other);
	rel_free_keys(keys, nkeys);
	rv = p11->C_Logout(s);
	if (!t11_ok(rv == CKR_OK, "C_Logout"))
		t11_diag("got %s", t11_rv_name(rv));
	rv = p11->C_Finalize(NULL);
	if (!t11_ok(rv == CKR_OK, "C_Finalize at the end"))
		t11_diag("got %s", t11_rv_name(rv));
	return t11_done();
}
