/* Signing and verification, mechanism by mechanism, for the walk of
 * conf_mech.c (conf.h): ECDSA, RSA PKCS#1 v1.5, PSS and raw, and HMAC,
 * each signature checked with OpenSSL. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "conf.h"

/* Signing material for one mechanism and key. */
struct sigcase {
	CK_MECHANISM m;
	CK_RSA_PKCS_PSS_PARAMS pss;
	unsigned char msg[600];
	size_t msglen;
	unsigned char tbs[600];     /* what OpenSSL checks: digest or raw */
	size_t tbslen;
	const EVP_MD *md;           /* for RSA verify, NULL for raw */
	int saltlen;
	bool multipart;             /* hashing mechanism */
};

static bool
sig_check(struct key *k, const struct mdef *d, struct sigcase *c,
	  const unsigned char *sig, size_t sl)
{
	if (k->type == CKK_EC)
		return ecdsa_verify(k->pkey, c->tbs, c->tbslen, sig, sl);
	if (d->type == CKM_RSA_X_509)
		return rsa_verify(k->pkey, RSA_NO_PADDING, NULL, 0, c->tbs,
				  c->tbslen, sig, sl);
	if (c->m.ulParameterLen) /* PSS */
		return rsa_verify(k->pkey, RSA_PKCS1_PSS_PADDING, c->md,
				  c->saltlen, c->tbs, c->tbslen, sig, sl);
	return rsa_verify(k->pkey, RSA_PKCS1_PADDING, c->md, 0, c->tbs,
			  c->tbslen, sig, sl);
}

/* Fills c for mechanism d with key k. raw_hash: the hash of the input of
 * CKM_ECDSA / CKM_RSA_PKCS_PSS (CKM_SHA256 etc). salt: PSS salt length,
 * or -1 for the hash length. */
static void
sigcase_init(struct sigcase *c, struct key *k, const struct mdef *d,
	     CK_MECHANISM_TYPE raw_hash, int salt)
{
	size_t modlen = (size_t)EVP_PKEY_get_size(k->pkey);
	const EVP_MD *hmd;

	memset(c, 0, sizeof(*c));
	c->m.mechanism = d->type;
	c->msglen = 300;
	RAND_bytes(c->msg, c->msglen);
	c->multipart = d->hash != NOHASH;
	if (d->hash != NOHASH) {
		hmd = md_of(d->hash);
		c->tbslen = digest(hmd, c->msg, c->msglen, c->tbs);
		c->md = hmd;
	} else if (d->type == CKM_ECDSA) {
		hmd = md_of(raw_hash);
		c->msglen = digest(hmd, c->msg, c->msglen, c->msg);
		memcpy(c->tbs, c->msg, c->msglen);
		c->tbslen = c->msglen;
	} else if (d->type == CKM_RSA_PKCS) {
		unsigned char dg[32];

		digest(EVP_sha256(), c->msg, c->msglen, dg);
		memcpy(c->msg, digestinfo_sha256, sizeof(digestinfo_sha256));
		memcpy(c->msg + sizeof(digestinfo_sha256), dg, 32);
		c->msglen = sizeof(digestinfo_sha256) + 32;
		memcpy(c->tbs, c->msg, c->msglen);
		c->tbslen = c->msglen;
	} else if (d->type == CKM_RSA_X_509) {
		c->msglen = modlen;
		c->msg[0] = 0x00;
		c->msg[1] &= 0x7f;
		c->msg[1] |= 0x01;
		memcpy(c->tbs, c->msg, c->msglen);
		c->tbslen = c->msglen;
	} else if (d->type == CKM_RSA_PKCS_PSS) {
		hmd = md_of(raw_hash);
		c->msglen = digest(hmd, c->msg, c->msglen, c->msg);
		memcpy(c->tbs, c->msg, c->msglen);
		c->tbslen = c->msglen;
		c->md = hmd;
	}
	if (d->kind == MK_RSA_SIGN &&
	    (d->type == CKM_RSA_PKCS_PSS ||
	     strstr(d->name, "_PSS") != NULL)) {
		CK_MECHANISM_TYPE h = d->hash != NOHASH ? d->hash : raw_hash;

		c->pss.hashAlg = h;
		c->pss.mgf = mgf_of(h);
		c->saltlen = salt >= 0 ? salt : EVP_MD_get_size(md_of(h));
		c->pss.sLen = (CK_ULONG)c->saltlen;
		c->m.pParameter = &c->pss;
		c->m.ulParameterLen = sizeof(c->pss);
	}
}

/* Issue 13 item 1: CKM_RSA_X_509 signing is the raw private-key
 * operation, i.e. RSA decryption. On a key with CKA_SIGN true and
 * CKA_DECRYPT false (the tool's keys) it must be refused, else C_Sign
 * over a ciphertext made for the key returns its plaintext. PKCS#1 v1.5
 * and PSS signing with host-built padding stay allowed (they are tested
 * with this very key in ex_sign). */
static void
ex_rsa_raw_oracle(CK_SESSION_HANDLE s)
{
	struct key *k = &keys[K_RSA];
	CK_MECHANISM m = { CKM_RSA_X_509, NULL, 0 };
	unsigned char pt[512], ct[512], out[512];
	size_t modlen, ctlen;
	CK_ULONG ol = sizeof(out);
	CK_RV rv;

	if (!k->ok || !bool_is(s, k->priv, CKA_SIGN, CK_TRUE) ||
	    !bool_is(s, k->priv, CKA_DECRYPT, CK_FALSE)) {
		tap(false, "set-up: the tool's rsa2048 key is sign-only "
			   "(CKA_SIGN true, CKA_DECRYPT false)");
		return;
	}
	modlen = (size_t)EVP_PKEY_get_size(k->pkey);
	RAND_bytes(pt, modlen);
	pt[0] = 0x00;
	pt[1] |= 0x01;
	ctlen = rsa_encrypt(k->pkey, RSA_NO_PADDING, NULL, NULL, 0, pt, modlen,
			    ct, sizeof(ct));
	if (!tap(ctlen == modlen, "set-up: OpenSSL encrypts a block (raw RSA) "
				  "for the sign-only key"))
		return;
	rv = p11->C_SignInit(s, &m, k->priv);
	expect_rv(rv, CKR_MECHANISM_INVALID,
		  "C_SignInit: CKM_RSA_X_509 on a key with CKA_DECRYPT false "
		  "-> CKR_MECHANISM_INVALID (raw signing decrypts; not a "
		  "mechanism for this key)");
	if (rv == CKR_OK)
		rv = p11->C_Sign(s, ct, ctlen, out, &ol);
	if (!tap(!(rv == CKR_OK && ol == modlen &&
		   memcmp(out, pt, modlen) == 0),
		 "C_Sign: CKM_RSA_X_509 on a sign-only key is no decryption "
		 "oracle (the plaintext of a ciphertext for the key does not "
		 "come back)"))
		diag("C_Sign returned the plaintext");
}

static CK_MECHANISM_TYPE once_per_mech = (CK_MECHANISM_TYPE)-1;

static void
ex_sign_one(CK_SESSION_HANDLE s, struct key *k, const struct mdef *d,
	    CK_MECHANISM_INFO *mi, struct sigcase *c, const char *what)
{
	unsigned char sig[1024];
	CK_ULONG sl, need;
	size_t modlen = (size_t)EVP_PKEY_get_size(k->pkey);
	CK_RV rv;

	need = k->type == CKK_EC ? 2 * ec_field_bytes(k->pkey) : modlen;
	rv = p11->C_SignInit(s, &c->m, k->priv);
	if (!expect_rv(rv, CKR_OK, "C_SignInit: %s %s -> CKR_OK", d->name,
		       what))
		return;
	sl = 0;
	rv = p11->C_Sign(s, c->msg, c->msglen, NULL, &sl);
	if (!tap(rv == CKR_OK && sl >= need,
		 "C_Sign: %s %s: NULL output gives a length >= %lu", d->name,
		 what, (unsigned long)need))
		diag("%s, %lu", rv_name(rv), (unsigned long)sl);
	sl = 8;
	rv = p11->C_Sign(s, c->msg, c->msglen, sig, &sl);
	if (!tap(rv == CKR_BUFFER_TOO_SMALL && sl >= need,
		 "C_Sign: %s %s: a buffer too small -> CKR_BUFFER_TOO_SMALL "
		 "with the length", d->name, what))
		diag("%s, %lu", rv_name(rv), (unsigned long)sl);
	sl = sizeof(sig);
	rv = p11->C_Sign(s, c->msg, c->msglen, sig, &sl);
	if (!tap(rv == CKR_OK && sl == need && sig_check(k, d, c, sig, sl),
		 "C_Sign: %s %s: the signature verifies with OpenSSL", d->name,
		 what)) {
		diag("%s, length %lu (expected %lu)", rv_name(rv),
		     (unsigned long)sl, (unsigned long)need);
		diag_openssl();
	}
	expect_rv(p11->C_Sign(s, c->msg, c->msglen, sig, &sl),
		  CKR_OPERATION_NOT_INITIALIZED,
		  "C_Sign: %s %s: after the signature -> "
		  "CKR_OPERATION_NOT_INITIALIZED", d->name, what);
	if (rv == CKR_OK && (mi->flags & CKF_VERIFY)) {
		CK_RV r2;

		r2 = p11->C_VerifyInit(s, &c->m, k->pub);
		if (r2 == CKR_OK)
			r2 = p11->C_Verify(s, c->msg, c->msglen, sig, sl);
		expect_rv(r2, CKR_OK, "C_Verify: %s %s: the module verifies its "
				      "signature", d->name, what);
		sig[sl / 2] ^= 0x40;
		r2 = p11->C_VerifyInit(s, &c->m, k->pub);
		if (r2 == CKR_OK)
			r2 = p11->C_Verify(s, c->msg, c->msglen, sig, sl);
		expect_rv(r2, CKR_SIGNATURE_INVALID,
			  "C_Verify: %s %s: a changed signature -> "
			  "CKR_SIGNATURE_INVALID", d->name, what);
		sig[sl / 2] ^= 0x40;
		if (once_per_mech != d->type) {
			/* These two once per mechanism. */
			once_per_mech = d->type;
			expect_rv(p11->C_Verify(s, c->msg, c->msglen, sig, sl),
				  CKR_OPERATION_NOT_INITIALIZED,
				  "C_Verify: %s: CKR_SIGNATURE_INVALID ended the "
				  "operation (-> CKR_OPERATION_NOT_INITIALIZED)",
				  d->name);
			r2 = p11->C_VerifyInit(s, &c->m, k->pub);
			if (r2 == CKR_OK)
				r2 = p11->C_Verify(s, c->msg, c->msglen, sig,
						   sl - 1);
			expect_rv(r2, CKR_SIGNATURE_LEN_RANGE,
				  "C_Verify: %s: a signature one byte short -> "
				  "CKR_SIGNATURE_LEN_RANGE", d->name);
		}
	}
	if (c->multipart) {
		size_t a = c->msglen / 3;

		rv = p11->C_SignInit(s, &c->m, k->priv);
		if (rv == CKR_OK)
			rv = p11->C_SignUpdate(s, c->msg, a);
		if (rv == CKR_OK)
			rv = p11->C_SignUpdate(s, c->msg + a, 0);
		if (rv == CKR_OK)
			rv = p11->C_SignUpdate(s, c->msg + a, c->msglen - a);
		sl = 0;
		if (rv == CKR_OK) {
			rv = p11->C_SignFinal(s, NULL, &sl);
			tap(rv == CKR_OK && sl >= need,
			    "C_SignFinal: %s %s: NULL output gives the length",
			    d->name, what);
			sl = sizeof(sig);
			rv = p11->C_SignFinal(s, sig, &sl);
		}
		if (!tap(rv == CKR_OK && sig_check(k, d, c, sig, sl),
			 "C_SignUpdate/C_SignFinal: %s %s: multi-part "
			 "signature verifies with OpenSSL", d->name, what))
			diag("%s", rv_name(rv));
		if (rv == CKR_OK && (mi->flags & CKF_VERIFY)) {
			rv = p11->C_VerifyInit(s, &c->m, k->pub);
			if (rv == CKR_OK)
				rv = p11->C_VerifyUpdate(s, c->msg, a);
			if (rv == CKR_OK)
				rv = p11->C_VerifyUpdate(s, c->msg + a,
							 c->msglen - a);
			if (rv == CKR_OK)
				rv = p11->C_VerifyFinal(s, sig, sl);
			expect_rv(rv, CKR_OK,
				  "C_VerifyUpdate/C_VerifyFinal: %s %s -> "
				  "CKR_OK", d->name, what);
		}
	} else {
		/* Single-part only: an update fails and ends the operation. */
		rv = p11->C_SignInit(s, &c->m, k->priv);
		if (rv == CKR_OK) {
			CK_RV r2 = p11->C_SignUpdate(s, c->msg, c->msglen);

			if (!tap(r2 != CKR_OK, "C_SignUpdate: %s (single-part "
					       "only) is refused", d->name))
				p11->C_SignFinal(s, sig, &sl);
			else
				diag("%s", rv_name(r2));
			r2 = p11->C_SignInit(s, &c->m, k->priv);
			expect_rv(r2, CKR_OK,
				  "C_SignUpdate: a failed call ends the "
				  "operation (C_SignInit works again)");
			sl = sizeof(sig);
			if (r2 == CKR_OK)
				p11->C_Sign(s, c->msg, c->msglen, sig, &sl);
		}
	}
}

void
ex_sign(CK_SESSION_HANDLE s, const struct mdef *d, CK_MECHANISM_INFO *mi)
{
	struct sigcase c;
	CK_RV rv;

	if (d->kind == MK_ECDSA) {
		if (!keys[K_P256].ok || !keys[K_P384].ok) {
			tap(false, "%s: the EC keys are there", d->name);
			return;
		}
		sigcase_init(&c, &keys[K_P256], d, CKM_SHA256, 0);
		ex_sign_one(s, &keys[K_P256], d, mi, &c, "with P-256");
		sigcase_init(&c, &keys[K_P384], d, CKM_SHA384, 0);
		ex_sign_one(s, &keys[K_P384], d, mi, &c, "with P-384");
		if (d->type == CKM_ECDSA) {
			sigcase_init(&c, &keys[K_P256], d, CKM_SHA512, 0);
			ex_sign_one(s, &keys[K_P256], d, mi, &c,
				    "with P-256 over a 64-byte input "
				    "(truncated)");
			sigcase_init(&c, &keys[K_P384], d, CKM_SHA_1, 0);
			ex_sign_one(s, &keys[K_P384], d, mi, &c,
				    "with P-384 over a 20-byte input");
		}
		{
			CK_MECHANISM m = { d->type, NULL, 0 };

			if (keys[K_RSA].ok)
				expect_rv(p11->C_SignInit(s, &m,
							  keys[K_RSA].priv),
					  CKR_KEY_TYPE_INCONSISTENT,
					  "C_SignInit: %s with an RSA key -> "
					  "CKR_KEY_TYPE_INCONSISTENT", d->name);
		}
		return;
	}
	if (!keys[K_RSA].ok) {
		tap(false, "%s: the RSA key is there", d->name);
		return;
	}
	if (d->type == CKM_RSA_X_509) {
		/* Raw signing needs a key that may decrypt (item 1). */
		ex_rsa_raw_oracle(s);
		if (!dec_key.ok) {
			tap(false, "%s: an RSA key with CKA_DECRYPT", d->name);
			return;
		}
		sigcase_init(&c, &dec_key, d, CKM_SHA256, -1);
		ex_sign_one(s, &dec_key, d, mi, &c,
			    "with RSA 2048 (sign and decrypt)");
	} else {
		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA256, -1);
		ex_sign_one(s, &keys[K_RSA], d, mi, &c, "with RSA 2048");
	}
	if (d->type == CKM_RSA_PKCS_PSS) {
		int maxsalt = EVP_PKEY_get_size(keys[K_RSA].pkey) - 32 - 2;

		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA256, 0);
		ex_sign_one(s, &keys[K_RSA], d, mi, &c, "SHA-256, salt 0");
		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA256, maxsalt);
		ex_sign_one(s, &keys[K_RSA], d, mi, &c,
			    "SHA-256, maximum salt");
		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA384, 48);
		ex_sign_one(s, &keys[K_RSA], d, mi, &c, "SHA-384, salt 48");
		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA_1, 20);
		ex_sign_one(s, &keys[K_RSA], d, mi, &c, "SHA-1, salt 20");
		c.m.pParameter = NULL;
		c.m.ulParameterLen = 0;
		expect_rv(p11->C_SignInit(s, &c.m, keys[K_RSA].priv),
			  CKR_MECHANISM_PARAM_INVALID,
			  "C_SignInit: CKM_RSA_PKCS_PSS without parameters -> "
			  "CKR_MECHANISM_PARAM_INVALID");
		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA256, maxsalt + 1);
		rv = p11->C_SignInit(s, &c.m, keys[K_RSA].priv);
		if (rv == CKR_OK) {
			unsigned char sig[512];
			CK_ULONG sl = sizeof(sig);

			rv = p11->C_Sign(s, c.msg, c.msglen, sig, &sl);
		}
		if (!tap(rv != CKR_OK, "C_Sign: CKM_RSA_PKCS_PSS with a salt "
				       "too long for the key is refused"))
			diag("got %s", rv_name(rv));
	} else if (strstr(d->name, "_PSS") != NULL) {
		int maxsalt = EVP_PKEY_get_size(keys[K_RSA].pkey) -
			      EVP_MD_get_size(md_of(d->hash)) - 2;

		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA256, 0);
		ex_sign_one(s, &keys[K_RSA], d, mi, &c, "salt 0");
		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA256, maxsalt);
		ex_sign_one(s, &keys[K_RSA], d, mi, &c, "maximum salt");
		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA256, -1);
		c.pss.hashAlg = d->hash == CKM_SHA_1 ? CKM_SHA256 : CKM_SHA_1;
		c.pss.mgf = mgf_of(c.pss.hashAlg);
		expect_rv(p11->C_SignInit(s, &c.m, keys[K_RSA].priv),
			  CKR_MECHANISM_PARAM_INVALID,
			  "C_SignInit: %s with hashAlg of another hash -> "
			  "CKR_MECHANISM_PARAM_INVALID", d->name);
	} else if (d->type == CKM_RSA_PKCS) {
		unsigned char big[300], sig[512];
		CK_ULONG sl = sizeof(sig);
		size_t k = (size_t)EVP_PKEY_get_size(keys[K_RSA].pkey);

		memset(big, 0x11, sizeof(big));
		rv = p11->C_SignInit(s, &c.m, keys[K_RSA].priv);
		if (rv == CKR_OK)
			rv = p11->C_Sign(s, big, k - 10, sig, &sl);
		expect_rv(rv, CKR_DATA_LEN_RANGE,
			  "C_Sign: CKM_RSA_PKCS with more than k-11 bytes -> "
			  "CKR_DATA_LEN_RANGE");
	}
	if (keys[K_P256].ok) {
		CK_MECHANISM m = { d->type, NULL, 0 };

		if (strstr(d->name, "PSS") == NULL)
			expect_rv(p11->C_SignInit(s, &m, keys[K_P256].priv),
				  CKR_KEY_TYPE_INCONSISTENT,
				  "C_SignInit: %s with an EC key -> "
				  "CKR_KEY_TYPE_INCONSISTENT", d->name);
	}
}

/* Issue 13 item 17: any allowed key length works with the HMAC mechanism
 * the key is made for (CKA_ALLOWED_MECHANISMS in the template), also keys
 * longer than the hash's block and than the 128 bytes the TPM holds
 * (RFC 2104: hashed first), and the key says which mechanism it serves. */
void
ex_hmac_lengths(CK_SESSION_HANDLE s, const struct mdef *d)
{
	static const size_t lens[] = { 20, 100, 200 };
	const EVP_MD *md = md_of(d->hash);
	CK_MECHANISM m = { d->type, NULL, 0 };
	CK_MECHANISM_TYPE allowed = d->type, back = 0;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	unsigned char val[200], msg[64], mac[64], want[64];
	unsigned wl = 0;
	size_t i;

	RAND_bytes(val, sizeof(val));
	RAND_bytes(msg, sizeof(msg));
	for (i = 0; i < NELEM(lens); i++) {
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_TOKEN, (void *)&no, sizeof(no) },
			{ CKA_SIGN, (void *)&yes, sizeof(yes) },
			{ CKA_VALUE, val, lens[i] },
			{ CKA_ALLOWED_MECHANISMS, &allowed, sizeof(allowed) },
		};
		CK_ATTRIBUTE a = { CKA_ALLOWED_MECHANISMS, &back, sizeof(back) };
		CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;
		CK_ULONG ml = sizeof(mac);
		CK_RV rv;

		rv = p11->C_CreateObject(s, t, NELEM(t), &k);
		if (!expect_rv(rv, CKR_OK, "C_CreateObject: a %zu-byte HMAC key "
			       "for %s -> CKR_OK", lens[i], d->name))
			continue;
		tap(p11->C_GetAttributeValue(s, k, &a, 1) == CKR_OK &&
			    a.ulValueLen == sizeof(back) && back == d->type,
		    "%s: the %zu-byte key's CKA_ALLOWED_MECHANISMS names it",
		    d->name, lens[i]);
		HMAC(md, val, (int)lens[i], msg, sizeof(msg), want, &wl);
		rv = p11->C_SignInit(s, &m, k);
		if (rv == CKR_OK)
			rv = p11->C_Sign(s, msg, sizeof(msg), mac, &ml);
		tap(rv == CKR_OK && ml == wl && memcmp(mac, want, wl) == 0,
		    "C_Sign: %s with a %zu-byte key is OpenSSL's HMAC (%s)",
		    d->name, lens[i], rv_name(rv));
		p11->C_DestroyObject(s, k);
	}
}

CK_OBJECT_HANDLE hmac_known, hmac_gen;
const unsigned char hmac_known_value[32] =
	"HMAC key for tpm11 conformance!";

void
ex_hmac(CK_SESSION_HANDLE s, const struct mdef *d)
{
	CK_MECHANISM m = { d->type, NULL, 0 };
	const EVP_MD *md = md_of(d->hash);
	unsigned char msg[200], mac[64], want[64];
	unsigned wl = 0;
	CK_ULONG ml, hl = (CK_ULONG)EVP_MD_get_size(md);
	/* A TPM HMAC key names its hash (docs/design.md): tpm11 makes a
	 * generic secret of the hash's length an HMAC key for that hash, and
	 * refuses other pairings with CKR_KEY_TYPE_INCONSISTENT. So each
	 * mechanism is tested with a known key of its own digest length. */
	static const unsigned char val64[64] =
		"HMAC key for tpm11 conformance, sixty-four bytes long, padded!";
	CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;
	CK_RV rv;

	if (create_secret(s, CKK_GENERIC_SECRET, val64, hl, "conf-hmac-len",
			  false, true, false, &k) != CKR_OK) {
		tap(false, "%s: a generic secret key of %lu bytes to test with",
		    d->name, (unsigned long)hl);
		return;
	}
	if (hmac_known != CK_INVALID_HANDLE && hl != 32)
		expect_rv(p11->C_SignInit(s, &m, hmac_known),
			  CKR_KEY_TYPE_INCONSISTENT,
			  "C_SignInit: %s with a 32-byte (SHA-256) HMAC key -> "
			  "CKR_KEY_TYPE_INCONSISTENT (a TPM HMAC key names its "
			  "hash)", d->name);
	RAND_bytes(msg, sizeof(msg));
	HMAC(md, val64, (int)hl, msg, sizeof(msg), want, &wl);
	rv = p11->C_SignInit(s, &m, k);
	if (!expect_rv(rv, CKR_OK, "C_SignInit: %s -> CKR_OK", d->name))
		return;
	ml = 0;
	rv = p11->C_Sign(s, msg, sizeof(msg), NULL, &ml);
	tap(rv == CKR_OK && ml == hl,
	    "C_Sign: %s: NULL output gives the MAC length", d->name);
	ml = 4;
	rv = p11->C_Sign(s, msg, sizeof(msg), mac, &ml);
	tap(rv == CKR_BUFFER_TOO_SMALL,
	    "C_Sign: %s: a buffer too small -> CKR_BUFFER_TOO_SMALL", d->name);
	ml = sizeof(mac);
	rv = p11->C_Sign(s, msg, sizeof(msg), mac, &ml);
	tap(rv == CKR_OK && ml == wl && memcmp(mac, want, wl) == 0,
	    "C_Sign: %s with a known key is OpenSSL's HMAC", d->name);
	rv = p11->C_SignInit(s, &m, k);
	if (rv == CKR_OK)
		rv = p11->C_SignUpdate(s, msg, 77);
	if (rv == CKR_OK)
		rv = p11->C_SignUpdate(s, msg + 77, sizeof(msg) - 77);
	{
		unsigned char mac2[64];
		CK_ULONG l2 = sizeof(mac2);

		if (rv == CKR_OK)
			rv = p11->C_SignFinal(s, mac2, &l2);
		tap(rv == CKR_OK && l2 == ml && memcmp(mac, mac2, ml) == 0,
		    "C_SignUpdate/C_SignFinal: %s multi-part gives the same MAC",
		    d->name);
	}
	rv = p11->C_VerifyInit(s, &m, k);
	if (rv == CKR_OK)
		rv = p11->C_Verify(s, msg, sizeof(msg), mac, ml);
	expect_rv(rv, CKR_OK, "C_Verify: %s of its own MAC -> CKR_OK", d->name);
	mac[0] ^= 1;
	rv = p11->C_VerifyInit(s, &m, k);
	if (rv == CKR_OK)
		rv = p11->C_Verify(s, msg, sizeof(msg), mac, ml);
	expect_rv(rv, CKR_SIGNATURE_INVALID,
		  "C_Verify: %s: a changed MAC -> CKR_SIGNATURE_INVALID",
		  d->name);
	expect_rv(p11->C_Verify(s, msg, sizeof(msg), mac, ml),
		  CKR_OPERATION_NOT_INITIALIZED,
		  "C_Verify: %s: CKR_SIGNATURE_INVALID ended the operation",
		  d->name);
	rv = p11->C_VerifyInit(s, &m, k);
	if (rv == CKR_OK)
		rv = p11->C_Verify(s, msg, sizeof(msg), mac, ml - 1);
	expect_rv(rv, CKR_SIGNATURE_LEN_RANGE,
		  "C_Verify: %s: a MAC one byte short -> "
		  "CKR_SIGNATURE_LEN_RANGE", d->name);
}
