/* pubobj: objects with CKA_PRIVATE false are made and used without
 * C_Login (DESIGN.md property 9, issue 12 "Public objects are public").
 *
 *   pubobj --token LABEL --tag TAG [--login PIN | --reuse]
 *   pubobj --token LABEL --sign-with KEY-LABEL
 *
 * In one R/W session that never logs in: an AES-256 key, a generic
 * secret (HMAC-SHA256) key and an EC P-256 key pair, each as a token
 * object and as a session object, all with CKA_PRIVATE false, labelled
 * TAG-aes-tok, TAG-aes-ses, TAG-hmac-tok, ...; AES encrypt/decrypt round
 * trip, HMAC sign/verify, ECDSA signature verified with OpenSSL against
 * the public key object. --login PIN: the same in a session logged in as
 * the user (C_Logout at the end). --reuse: a new process that never logs
 * in finds the token objects TAG-*-tok made by an earlier run and uses
 * them. --sign-with: a process that never logs in signs with the key pair
 * KEY-LABEL (e.g. made by `tpm11 addkey --no-login`); OpenSSL verifies.
 * (pkcs11-tool 0.23, p11tool and OpenSSH log in before any signature
 * when the token has CKF_LOGIN_REQUIRED, as a token with PIN keys must:
 * they cannot show this.) Output is TAP (tests/lib/t11test.h); the names do not say
 * whether the session logged in, the caller's TAP_PREFIX does. The module
 * comes from $TPM11_MODULE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rel.h"

static CK_FUNCTION_LIST_PTR p11;
static CK_SESSION_HANDLE s;
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static const char *tag;

/* The one object of class cls labelled label, or CK_INVALID_HANDLE. */
static CK_OBJECT_HANDLE
find_one(CK_OBJECT_CLASS cls, const char *label)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE h[2];
	CK_ULONG n = 0;

	if (p11->C_FindObjectsInit(s, t, 2) != CKR_OK)
		return CK_INVALID_HANDLE;
	if (p11->C_FindObjects(s, h, 2, &n) != CKR_OK)
		n = 0;
	p11->C_FindObjectsFinal(s);
	return n == 1 ? h[0] : CK_INVALID_HANDLE;
}

static const char *
kind(CK_BBOOL tok)
{
	return tok ? "token object" : "session object";
}

static void
aes_round_trip(CK_OBJECT_HANDLE k, const char *label)
{
	unsigned char iv[16] = { 1, 2, 3 }, pt[40], ct[64], back[64];
	CK_MECHANISM m = { CKM_AES_CBC_PAD, iv, sizeof(iv) };
	CK_ULONG ctlen = sizeof(ct), backlen = sizeof(back);
	CK_RV rv;

	memset(pt, 0x5a, sizeof(pt));
	rv = p11->C_EncryptInit(s, &m, k);
	if (rv == CKR_OK)
		rv = p11->C_Encrypt(s, pt, sizeof(pt), ct, &ctlen);
	t11_ok(rv == CKR_OK, "%s: C_Encrypt (CKM_AES_CBC_PAD) "
		"-> %s", label, t11_rv_name(rv));
	if (rv != CKR_OK)
		return;
	rv = p11->C_DecryptInit(s, &m, k);
	if (rv == CKR_OK)
		rv = p11->C_Decrypt(s, ct, ctlen, back, &backlen);
	t11_ok(rv == CKR_OK && backlen == sizeof(pt) &&
		memcmp(back, pt, sizeof(pt)) == 0,
		"%s: C_Decrypt gives the plaintext back (%s)",
		label, t11_rv_name(rv));
}

static void
hmac_sign_verify(CK_OBJECT_HANDLE k, const char *label)
{
	CK_MECHANISM m = { CKM_SHA256_HMAC, NULL, 0 };
	unsigned char data[] = "public objects are public", mac[64];
	CK_ULONG maclen = sizeof(mac);
	CK_RV rv;

	rv = p11->C_SignInit(s, &m, k);
	if (rv == CKR_OK)
		rv = p11->C_Sign(s, data, sizeof(data), mac, &maclen);
	t11_ok(rv == CKR_OK && maclen == 32, "%s: C_Sign (CKM_SHA256_HMAC) "
		"-> %s", label, t11_rv_name(rv));
	if (rv != CKR_OK)
		return;
	rv = p11->C_VerifyInit(s, &m, k);
	if (rv == CKR_OK)
		rv = p11->C_Verify(s, data, sizeof(data), mac, maclen);
	t11_ok(rv == CKR_OK, "%s: C_Verify of that MAC -> %s",
		label, t11_rv_name(rv));
}

/* Signs with the key pair labelled label (CKM_ECDSA) and verifies with
 * OpenSSL against its public key object. */
static void
ec_sign_verify(const char *label)
{
	rel_key *keys = NULL;
	size_t n = 0;
	bool good = false;
	CK_RV rv;

	rv = rel_load_keys(p11, s, label, &keys, &n);
	if (t11_ok(rv == CKR_OK && n == 1, "%s: the key pair is found "
		    "(%s, %zu)", label, t11_rv_name(rv), n)) {
		rv = rel_sign_verify(p11, s, &keys[0], 0, &good);
		t11_ok(rv == CKR_OK && good, "%s: C_Sign (CKM_ECDSA), "
			"verified by OpenSSL (%s%s)", label,
			t11_rv_name(rv), rv == CKR_OK && !good ?
			", does not verify" : "");
	}
	rel_free_keys(keys, n);
}

static void
make_and_use(CK_BBOOL tok)
{
	static const unsigned char p256[] = {
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
	};
	CK_OBJECT_CLASS sec = CKO_SECRET_KEY;
	CK_KEY_TYPE aes = CKK_AES, gen = CKK_GENERIC_SECRET;
	CK_ULONG len = 32;
	char la[300], lh[300], le[300];
	CK_ATTRIBUTE ta[] = {
		{ CKA_CLASS, &sec, sizeof(sec) },
		{ CKA_KEY_TYPE, &aes, sizeof(aes) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_TOKEN, &tok, sizeof(tok) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_ENCRYPT, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &yes, sizeof(yes) },
		{ CKA_LABEL, la, 0 },
	};
	CK_ATTRIBUTE th[] = {
		{ CKA_CLASS, &sec, sizeof(sec) },
		{ CKA_KEY_TYPE, &gen, sizeof(gen) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_TOKEN, &tok, sizeof(tok) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_LABEL, lh, 0 },
	};
	CK_ATTRIBUTE tpub[] = {
		{ CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
		{ CKA_TOKEN, &tok, sizeof(tok) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_LABEL, le, 0 },
		{ CKA_ID, le, 0 },
	};
	CK_ATTRIBUTE tpriv[] = {
		{ CKA_TOKEN, &tok, sizeof(tok) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_LABEL, le, 0 },
		{ CKA_ID, le, 0 },
	};
	CK_MECHANISM mk = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_MECHANISM mh = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
	CK_MECHANISM me = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_OBJECT_HANDLE k, pub, priv;
	const char *sfx = tok ? "tok" : "ses";
	CK_RV rv;

	snprintf(la, sizeof(la), "%s-aes-%s", tag, sfx);
	snprintf(lh, sizeof(lh), "%s-hmac-%s", tag, sfx);
	snprintf(le, sizeof(le), "%s-ec-%s", tag, sfx);
	ta[7].ulValueLen = strlen(la);
	th[7].ulValueLen = strlen(lh);
	tpub[4].ulValueLen = tpub[5].ulValueLen = strlen(le);
	tpriv[4].ulValueLen = tpriv[5].ulValueLen = strlen(le);

	rv = p11->C_GenerateKey(s, &mk, ta, 8, &k);
	if (t11_ok(rv == CKR_OK, "%s: C_GenerateKey AES-256, CKA_PRIVATE "
		    "false, %s -> %s", la, kind(tok),
		    t11_rv_name(rv)))
		aes_round_trip(k, la);
	rv = p11->C_GenerateKey(s, &mh, th, 8, &k);
	if (t11_ok(rv == CKR_OK, "%s: C_GenerateKey generic secret (32), "
		    "CKA_PRIVATE false, %s -> %s", lh,
		    kind(tok), t11_rv_name(rv)))
		hmac_sign_verify(k, lh);
	rv = p11->C_GenerateKeyPair(s, &me, tpub, 6, tpriv, 6, &pub, &priv);
	if (t11_ok(rv == CKR_OK, "%s: C_GenerateKeyPair EC P-256, CKA_PRIVATE "
		    "false on both halves, %s -> %s", le,
		    kind(tok), t11_rv_name(rv)))
		ec_sign_verify(le);
}

static void
reuse(void)
{
	CK_OBJECT_HANDLE k;
	char l[300];

	snprintf(l, sizeof(l), "%s-aes-tok", tag);
	k = find_one(CKO_SECRET_KEY, l);
	if (t11_ok(k != CK_INVALID_HANDLE, "another process finds the token "
		    "AES key %s without login", l))
		aes_round_trip(k, l);
	snprintf(l, sizeof(l), "%s-hmac-tok", tag);
	k = find_one(CKO_SECRET_KEY, l);
	if (t11_ok(k != CK_INVALID_HANDLE, "another process finds the token "
		    "HMAC key %s without login", l))
		hmac_sign_verify(k, l);
	snprintf(l, sizeof(l), "%s-ec-tok", tag);
	ec_sign_verify(l);
}

int
main(int argc, char **argv)
{
	const char *token = NULL, *pin = NULL, *sign_with = NULL;
	bool again = false, usage = false;
	CK_SESSION_INFO si;
	CK_SLOT_ID slot;
	int a;
	CK_RV rv;

	for (a = 1; a < argc && !usage; a++) {
		if (strcmp(argv[a], "--reuse") == 0)
			again = true;
		else if (a + 1 == argc)
			usage = true;
		else if (strcmp(argv[a], "--token") == 0)
			token = argv[++a];
		else if (strcmp(argv[a], "--tag") == 0)
			tag = argv[++a];
		else if (strcmp(argv[a], "--login") == 0)
			pin = argv[++a];
		else if (strcmp(argv[a], "--sign-with") == 0)
			sign_with = argv[++a];
		else
			usage = true;
	}
	if (usage || token == NULL || (tag == NULL) == (sign_with == NULL) ||
	    (again && pin != NULL) || (sign_with && (again || pin))) {
		fprintf(stderr, "usage: pubobj --token LABEL --tag TAG "
			"[--login PIN | --reuse]\n"
			"       pubobj --token LABEL --sign-with KEY-LABEL\n");
		return 2;
	}
	t11_init();
	if ((p11 = t11_load_module(NULL)) == NULL)
		return 1;
	rv = p11->C_Initialize(NULL);
	if (!t11_ok(rv == CKR_OK, "C_Initialize -> %s", t11_rv_name(rv)) ||
	    !t11_ok(rel_find_slot(p11, token, &slot), "token %s", token))
		return t11_done();
	rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				NULL, NULL, &s);
	if (!t11_ok(rv == CKR_OK, "C_OpenSession (R/W) -> %s",
		     t11_rv_name(rv)))
		return t11_done();
	if (pin != NULL) {
		rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin,
				  strlen(pin));
		if (!t11_ok(rv == CKR_OK, "C_Login with the user PIN -> %s",
			     t11_rv_name(rv)))
			return t11_done();
	}
	if (sign_with != NULL) {
		ec_sign_verify(sign_with);
	} else if (again) {
		reuse();
	} else {
		make_and_use(CK_TRUE);
		make_and_use(CK_FALSE);
	}
	if (pin != NULL) {
		rv = p11->C_Logout(s);
		t11_ok(rv == CKR_OK, "C_Logout -> %s", t11_rv_name(rv));
	}
	rv = p11->C_GetSessionInfo(s, &si);
	t11_ok(rv == CKR_OK && si.state == CKS_RW_PUBLIC_SESSION,
		"the session is not logged in (CKS_RW_PUBLIC_SESSION)");
	rv = p11->C_Finalize(NULL);
	t11_ok(rv == CKR_OK, "C_Finalize -> %s", t11_rv_name(rv));
	return t11_done();
}
