/* Conformance checks of key generation (C_GenerateKeyPair, C_GenerateKey)
 * and of private keys from their values (C_CreateObject with
 * CKO_PRIVATE_KEY, C_UnwrapKey) (conf.h; the cases run from the table in
 * conformance.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "conf.h"

/* === 7. key generation (v2.40 5.18, mechanisms 2.1.5, 2.3.?) ============== */

CK_RV
gen_ec(CK_SESSION_HANDLE s, const unsigned char *oid, size_t oid_len,
       const char *label, bool token, bool sign, bool derive, struct kp *kp)
{
	CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	static const unsigned char id[] = { 0xc0, 0x4f, 0x01 };
	CK_ATTRIBUTE pubt[] = {
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, sizeof(id) },
		{ CKA_VERIFY, (void *)&yes, sizeof(yes) },
		{ CKA_EC_PARAMS, (void *)oid, oid_len },
	};
	CK_ATTRIBUTE privt[] = {
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, (void *)&yes, sizeof(yes) },
		{ CKA_SENSITIVE, (void *)&yes, sizeof(yes) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, sizeof(id) },
		{ CKA_SIGN, (void *)(sign ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_DERIVE, (void *)(derive ? &yes : &no), sizeof(CK_BBOOL) },
	};

	kp->pub = kp->priv = CK_INVALID_HANDLE;
	return p11->C_GenerateKeyPair(s, &m, pubt, oid ? NELEM(pubt)
						       : NELEM(pubt) - 1,
				      privt, NELEM(privt), &kp->pub, &kp->priv);
}

CK_RV
gen_rsa(CK_SESSION_HANDLE s, CK_ULONG bits, const unsigned char *e,
	size_t elen, const char *label, bool token, bool decrypt,
	struct kp *kp)
{
	CK_MECHANISM m = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	static const unsigned char id[] = { 0x45, 0xa0 };
	CK_ATTRIBUTE pubt[] = {
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, sizeof(id) },
		{ CKA_VERIFY, (void *)&yes, sizeof(yes) },
		{ CKA_ENCRYPT, (void *)&yes, sizeof(yes) },
		{ CKA_PUBLIC_EXPONENT, (void *)e, elen },
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
	};
	CK_ATTRIBUTE privt[] = {
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, (void *)&yes, sizeof(yes) },
		{ CKA_SENSITIVE, (void *)&yes, sizeof(yes) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, sizeof(id) },
		{ CKA_SIGN, (void *)&yes, sizeof(yes) },
		{ CKA_DECRYPT, (void *)(decrypt ? &yes : &no),
		  sizeof(CK_BBOOL) },
	};

	kp->pub = kp->priv = CK_INVALID_HANDLE;
	return p11->C_GenerateKeyPair(s, &m, pubt,
				      bits ? NELEM(pubt) : NELEM(pubt) - 1,
				      privt, NELEM(privt), &kp->pub, &kp->priv);
}

void
destroy_kp(CK_SESSION_HANDLE s, struct kp *kp)
{
	if (kp->pub)
		p11->C_DestroyObject(s, kp->pub);
	if (kp->priv)
		p11->C_DestroyObject(s, kp->priv);
	kp->pub = kp->priv = CK_INVALID_HANDLE;
}

/* Signs with the module, verifies with OpenSSL (and C_Verify). */
static bool
sign_check(CK_SESSION_HANDLE s, struct kp *kp, CK_KEY_TYPE kt, CK_RV *rvp)
{
	unsigned char dg[32], tbs[64], sig[1024];
	CK_ULONG sl = sizeof(sig), tl;
	CK_MECHANISM m = { kt == CKK_EC ? CKM_ECDSA : CKM_RSA_PKCS, NULL, 0 };
	EVP_PKEY *pk = pkey_of(s, kp->pub);
	bool ok = false;
	CK_RV rv;

	digest(EVP_sha256(), "generated key", 13, dg);
	if (kt == CKK_EC) {
		memcpy(tbs, dg, 32);
		tl = 32;
	} else {
		memcpy(tbs, digestinfo_sha256, sizeof(digestinfo_sha256));
		memcpy(tbs + sizeof(digestinfo_sha256), dg, 32);
		tl = sizeof(digestinfo_sha256) + 32;
	}
	rv = p11->C_SignInit(s, &m, kp->priv);
	if (rv == CKR_OK)
		rv = p11->C_Sign(s, tbs, tl, sig, &sl);
	if (rv == CKR_OK && pk != NULL)
		ok = kt == CKK_EC ? ecdsa_verify(pk, dg, 32, sig, sl)
				  : rsa_verify(pk, RSA_PKCS1_PADDING, NULL, 0,
					       tbs, tl, sig, sl);
	if (rvp)
		*rvp = rv;
	EVP_PKEY_free(pk);
	return ok;
}

static void
check_generated(CK_SESSION_HANDLE s, struct kp *kp, CK_KEY_TYPE kt,
		const char *what, const char *label, bool token)
{
	CK_ULONG mech = 0, cls = 0;
	CK_RV rv;

	tap(kp->pub != CK_INVALID_HANDLE && kp->priv != CK_INVALID_HANDLE &&
		    kp->pub != kp->priv,
	    "C_GenerateKeyPair: %s: two distinct handles", what);
	tap(get_ulong(s, kp->pub, CKA_CLASS, &cls) && cls == CKO_PUBLIC_KEY &&
		    get_ulong(s, kp->priv, CKA_CLASS, &cls) &&
		    cls == CKO_PRIVATE_KEY,
	    "C_GenerateKeyPair: %s: a public and a private key object", what);
	tap(attr_equals(s, kp->pub, CKA_LABEL, label, strlen(label)) &&
		    attr_equals(s, kp->priv, CKA_LABEL, label, strlen(label)),
	    "C_GenerateKeyPair: %s: CKA_LABEL from the templates", what);
	tap(attr_equals(s, kp->pub, CKA_ID, kt == CKK_EC ? "\xc0\x4f\x01" : "\x45\xa0",
			kt == CKK_EC ? 3 : 2) &&
		    attr_equals(s, kp->priv, CKA_ID,
				kt == CKK_EC ? "\xc0\x4f\x01" : "\x45\xa0",
				kt == CKK_EC ? 3 : 2),
	    "C_GenerateKeyPair: %s: CKA_ID from the templates", what);
	tap(bool_is(s, kp->pub, CKA_TOKEN, token ? CK_TRUE : CK_FALSE) &&
		    bool_is(s, kp->priv, CKA_TOKEN, token ? CK_TRUE : CK_FALSE),
	    "C_GenerateKeyPair: %s: CKA_TOKEN %s as asked", what,
	    token ? "true" : "false");
	tap(bool_is(s, kp->priv, CKA_SIGN, CK_TRUE) &&
		    bool_is(s, kp->pub, CKA_VERIFY, CK_TRUE),
	    "C_GenerateKeyPair: %s: CKA_SIGN / CKA_VERIFY as asked", what);
	tap(bool_is(s, kp->pub, CKA_LOCAL, CK_TRUE) &&
		    bool_is(s, kp->priv, CKA_LOCAL, CK_TRUE),
	    "C_GenerateKeyPair: %s: CKA_LOCAL true on both keys", what);
	if (!tap(get_ulong(s, kp->priv, CKA_KEY_GEN_MECHANISM, &mech) &&
			 mech == (kt == CKK_EC ? CKM_EC_KEY_PAIR_GEN
					       : CKM_RSA_PKCS_KEY_PAIR_GEN),
		 "C_GenerateKeyPair: %s: CKA_KEY_GEN_MECHANISM is the "
		 "mechanism used", what))
		diag("CKA_KEY_GEN_MECHANISM 0x%lx", (unsigned long)mech);
	tap(bool_is(s, kp->priv, CKA_SENSITIVE, CK_TRUE) &&
		    bool_is(s, kp->priv, CKA_ALWAYS_SENSITIVE, CK_TRUE) &&
		    bool_is(s, kp->priv, CKA_EXTRACTABLE, CK_FALSE) &&
		    bool_is(s, kp->priv, CKA_NEVER_EXTRACTABLE, CK_TRUE),
	    "C_GenerateKeyPair: %s: private key sensitive, always sensitive, "
	    "not extractable, never extractable", what);
	if (kt == CKK_EC) {
		unsigned char *pt = NULL, *p1 = NULL, *p2 = NULL;
		CK_ULONG pl = 0, l1 = 0, l2 = 0;
		size_t hdr = 0, len = 0;

		get_attr_alloc(s, kp->pub, CKA_EC_POINT, &pt, &pl);
		tap(pt != NULL && der_tlv(pt, pl, 0x04, &hdr, &len) && len > 1 &&
			    pt[hdr] == 0x04 && len % 2 == 1,
		    "C_GenerateKeyPair: %s: CKA_EC_POINT is a DER OCTET STRING "
		    "holding an uncompressed point", what);
		get_attr_alloc(s, kp->pub, CKA_EC_PARAMS, &p1, &l1);
		get_attr_alloc(s, kp->priv, CKA_EC_PARAMS, &p2, &l2);
		tap(p1 && p2 && l1 == l2 && memcmp(p1, p2, l1) == 0,
		    "C_GenerateKeyPair: %s: both keys carry the CKA_EC_PARAMS",
		    what);
		free(pt);
		free(p1);
		free(p2);
	} else {
		CK_ULONG bits = 0;
		unsigned char *n = NULL;
		CK_ULONG nl = 0;

		get_ulong(s, kp->pub, CKA_MODULUS_BITS, &bits);
		get_attr_alloc(s, kp->pub, CKA_MODULUS, &n, &nl);
		tap(n != NULL && nl * 8 == bits && (n[0] & 0x80),
		    "C_GenerateKeyPair: %s: CKA_MODULUS has CKA_MODULUS_BITS "
		    "bits", what);
		free(n);
	}
	{
		unsigned char v[16];
		CK_ATTRIBUTE a = { kt == CKK_EC ? CKA_VALUE
						: CKA_PRIVATE_EXPONENT,
				   v, sizeof(v) };

		rv = p11->C_GetAttributeValue(s, kp->priv, &a, 1);
		expect_rv(rv, CKR_ATTRIBUTE_SENSITIVE,
			  "C_GenerateKeyPair: %s: the private value is "
			  "CKR_ATTRIBUTE_SENSITIVE", what);
	}
	if (!tap(sign_check(s, kp, kt, &rv),
		 "C_Sign: %s: the new key signs, OpenSSL verifies", what))
		diag("C_Sign: %s", rv_name(rv));
}

/* Issue 13 item 16: CKA_TOKEN defaults to CK_FALSE (v2.40 4.4, storage
 * objects), for C_GenerateKeyPair as for C_GenerateKey: templates that do
 * not say make session keys, also in a read-only session. A private key
 * template that asks for a token object gets one. */
static void
keygen_token_default(CK_SESSION_HANDLE s)
{
	CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE pubt[] = {
		{ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) },
		{ CKA_VERIFY, (void *)&yes, sizeof(yes) },
	};
	CK_ATTRIBUTE privt[] = {
		{ CKA_SIGN, (void *)&yes, sizeof(yes) },
		{ CKA_TOKEN, (void *)&yes, sizeof(yes) },
	};
	CK_SESSION_HANDLE ro = CK_INVALID_HANDLE;
	struct kp kp;
	CK_RV rv;

	if (open_session(slot, 0, &ro) == CKR_OK) {
		kp.pub = kp.priv = CK_INVALID_HANDLE;
		rv = p11->C_GenerateKeyPair(ro, &m, pubt, NELEM(pubt), privt,
					    NELEM(privt) - 1, &kp.pub, &kp.priv);
		if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: templates without "
				     "CKA_TOKEN in a read-only session -> "
				     "CKR_OK (session keys)")) {
			tap(bool_is(ro, kp.pub, CKA_TOKEN, CK_FALSE) &&
				    bool_is(ro, kp.priv, CKA_TOKEN, CK_FALSE),
			    "C_GenerateKeyPair: CKA_TOKEN defaults to false "
			    "(read-only session)");
			destroy_kp(ro, &kp);
		}
		p11->C_CloseSession(ro);
	}
	kp.pub = kp.priv = CK_INVALID_HANDLE;
	rv = p11->C_GenerateKeyPair(s, &m, pubt, NELEM(pubt), privt,
				    NELEM(privt) - 1, &kp.pub, &kp.priv);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: templates without "
			     "CKA_TOKEN in a read/write session -> CKR_OK")) {
		tap(bool_is(s, kp.pub, CKA_TOKEN, CK_FALSE) &&
			    bool_is(s, kp.priv, CKA_TOKEN, CK_FALSE),
		    "C_GenerateKeyPair: CKA_TOKEN defaults to false, as in "
		    "C_GenerateKey (read/write session: no persistent key "
		    "nobody asked for)");
		destroy_kp(s, &kp);
	}
	kp.pub = kp.priv = CK_INVALID_HANDLE;
	rv = p11->C_GenerateKeyPair(s, &m, pubt, NELEM(pubt), privt,
				    NELEM(privt), &kp.pub, &kp.priv);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: CKA_TOKEN true in the "
			     "private key template only -> CKR_OK")) {
		tap(bool_is(s, kp.priv, CKA_TOKEN, CK_TRUE),
		    "C_GenerateKeyPair: the private key is a token object, "
		    "as its template asks");
		destroy_kp(s, &kp);
	}
}

void
test_keygen(void)
{
	CK_SESSION_HANDLE s = user_session(true), ro = CK_INVALID_HANDLE;
	CK_SESSION_HANDLE pub = CK_INVALID_HANDLE;
	CK_MECHANISM_INFO mi = { 0 };
	static const unsigned char f4[] = { 0x01, 0x00, 0x01 };
	struct kp kp;
	char lbl[64];
	CK_RV rv;
	size_t i;
	bool have_ec = mech_advertised(CKM_EC_KEY_PAIR_GEN, &mi);
	CK_MECHANISM_INFO ec_mi = mi;
	bool have_rsa;
	CK_MECHANISM_INFO rsa_mi = { 0 };

	have_rsa = mech_advertised(CKM_RSA_PKCS_KEY_PAIR_GEN, &rsa_mi);
	if (s == CK_INVALID_HANDLE) {
		tap(false, "key generation: a read/write user session");
		return;
	}
	tap(have_ec, "C_GetMechanismList: CKM_EC_KEY_PAIR_GEN is advertised");
	tap(have_rsa,
	    "C_GetMechanismList: CKM_RSA_PKCS_KEY_PAIR_GEN is advertised");

	/* EC: P-256 as a token key pair, P-384 as session keys. */
	snprintf(lbl, sizeof(lbl), "conf-gen-p256-%ld", (long)getpid());
	rv = gen_ec(s, oid_p256, sizeof(oid_p256), lbl, true, true, false, &kp);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: EC P-256, token objects "
				  "-> CKR_OK")) {
		CK_SESSION_HANDLE s2;

		check_generated(s, &kp, CKK_EC, "EC P-256", lbl, true);
		if (open_session(slot, 0, &s2) == CKR_OK) {
			tap(count_label(s2, CKO_PRIVATE_KEY, lbl) == 1,
			    "C_GenerateKeyPair: the token key is seen from "
			    "another session");
			p11->C_CloseSession(s2);
		}
		destroy_kp(s, &kp);
	}
	snprintf(lbl, sizeof(lbl), "conf-gen-p384-%ld", (long)getpid());
	rv = gen_ec(s, oid_p384, sizeof(oid_p384), lbl, true, true, false, &kp);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: EC P-384, token objects "
				  "-> CKR_OK")) {
		check_generated(s, &kp, CKK_EC, "EC P-384", lbl, true);
		destroy_kp(s, &kp);
	}
	snprintf(lbl, sizeof(lbl), "conf-gen-p256s-%ld", (long)getpid());
	rv = gen_ec(s, oid_p256, sizeof(oid_p256), lbl, false, true, false, &kp);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: EC P-256, session objects "
				  "-> CKR_OK")) {
		check_generated(s, &kp, CKK_EC, "EC P-256 session keys", lbl,
				false);
		destroy_kp(s, &kp);
	}
	keygen_token_default(s);
	/* Other curves the TPM has: generated, or refused consistently. */
	for (i = 0; i < NELEM(curves); i++) {
		const struct curve *c = &curves[i];
		bool in_range = have_ec && c->bits >= ec_mi.ulMinKeySize &&
				c->bits <= ec_mi.ulMaxKeySize;

		if (c->bits == 256 || c->bits == 384 || !tpm_has_curve(c))
			continue;
		snprintf(lbl, sizeof(lbl), "conf-gen-%s", c->name);
		rv = gen_ec(s, c->oid, c->oid_len, lbl, true, true, false, &kp);
		if (rv == CKR_OK) {
			tap(in_range, "C_GenerateKeyPair: EC %s (the TPM has "
				      "it) works, and CKM_EC_KEY_PAIR_GEN's key "
				      "sizes include %u", c->name, c->bits);
			check_generated(s, &kp, CKK_EC, c->name, lbl, true);
			destroy_kp(s, &kp);
			table_put(c->name, "supported (C_GenerateKeyPair)");
		} else {
			if (!tap(rv == CKR_CURVE_NOT_SUPPORTED && !in_range,
				 "C_GenerateKeyPair: EC %s (the TPM has it) "
				 "refused -> CKR_CURVE_NOT_SUPPORTED, outside "
				 "CKM_EC_KEY_PAIR_GEN's key sizes", c->name))
				diag("got %s; sizes %lu..%lu", rv_name(rv),
				     (unsigned long)ec_mi.ulMinKeySize,
				     (unsigned long)ec_mi.ulMaxKeySize);
			table_put(c->name, "%s (C_GenerateKeyPair)",
				  rv_name(rv));
		}
	}
	table_put("P-256", "supported (C_GenerateKeyPair)");
	table_put("P-384", "supported (C_GenerateKeyPair)");
	expect_rv(gen_ec(s, oid_k256, sizeof(oid_k256), "conf-k256", true, true,
			 false, &kp),
		  CKR_CURVE_NOT_SUPPORTED,
		  "C_GenerateKeyPair: secp256k1 (not in a TPM) -> "
		  "CKR_CURVE_NOT_SUPPORTED");
	expect_rv(gen_ec(s, oid_bp256, sizeof(oid_bp256), "conf-bp256", true,
			 true, false, &kp),
		  CKR_CURVE_NOT_SUPPORTED,
		  "C_GenerateKeyPair: brainpoolP256r1 -> CKR_CURVE_NOT_SUPPORTED");
	{
		static const unsigned char junk[] = { 0x13, 0x02, 0x41, 0x42 };

		EXPECT_IN(gen_ec(s, junk, sizeof(junk), "conf-junk", true, true,
				 false, &kp),
			  "C_GenerateKeyPair: CKA_EC_PARAMS that is not a curve "
			  "-> CKR_ATTRIBUTE_VALUE_INVALID or "
			  "CKR_DOMAIN_PARAMS_INVALID",
			  CKR_ATTRIBUTE_VALUE_INVALID, CKR_DOMAIN_PARAMS_INVALID,
			  CKR_CURVE_NOT_SUPPORTED);
	}
	expect_rv(gen_ec(s, NULL, 0, "conf-noparams", true, true, false, &kp),
		  CKR_TEMPLATE_INCOMPLETE,
		  "C_GenerateKeyPair: EC without CKA_EC_PARAMS -> "
		  "CKR_TEMPLATE_INCOMPLETE");
	{
		CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
		CK_KEY_TYPE rsat = CKK_RSA;
		CK_OBJECT_CLASS sec = CKO_SECRET_KEY;
		CK_ATTRIBUTE p1[] = {
			{ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) },
			{ CKA_KEY_TYPE, &rsat, sizeof(rsat) },
		};
		CK_ATTRIBUTE p2[] = {
			{ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) },
			{ CKA_CLASS, &sec, sizeof(sec) },
		};
		CK_ATTRIBUTE p3[] = {
			{ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) },
			{ CKA_LOCAL, (void *)&no, sizeof(no) },
		};
		CK_ATTRIBUTE q[] = { { CKA_SIGN, (void *)&yes, 1 } };
		CK_ATTRIBUTE qext[] = { { CKA_EXTRACTABLE, (void *)&yes, 1 },
					{ CKA_SENSITIVE, (void *)&no, 1 } };
		struct kp k2;

		expect_rv(p11->C_GenerateKeyPair(s, &m, p1, 2, q, 1, &k2.pub,
						 &k2.priv),
			  CKR_TEMPLATE_INCONSISTENT,
			  "C_GenerateKeyPair: CKA_KEY_TYPE CKK_RSA with "
			  "CKM_EC_KEY_PAIR_GEN -> CKR_TEMPLATE_INCONSISTENT");
		expect_rv(p11->C_GenerateKeyPair(s, &m, p2, 2, q, 1, &k2.pub,
						 &k2.priv),
			  CKR_TEMPLATE_INCONSISTENT,
			  "C_GenerateKeyPair: CKA_CLASS CKO_SECRET_KEY in the "
			  "public template -> CKR_TEMPLATE_INCONSISTENT");
		EXPECT_IN(p11->C_GenerateKeyPair(s, &m, p3, 2, q, 1, &k2.pub,
						 &k2.priv),
			  "C_GenerateKeyPair: CKA_LOCAL in a template -> "
			  "CKR_ATTRIBUTE_READ_ONLY or CKR_TEMPLATE_INCONSISTENT",
			  CKR_ATTRIBUTE_READ_ONLY, CKR_TEMPLATE_INCONSISTENT);
		rv = p11->C_GenerateKeyPair(s, &m, p1, 1, qext, 2, &k2.pub,
					    &k2.priv);
		if (rv == CKR_OK) {
			unsigned char v[80];
			CK_ATTRIBUTE a = { CKA_VALUE, v, sizeof(v) };

			/* Honoured: then the value must really come out. */
			tap(p11->C_GetAttributeValue(s, k2.priv, &a, 1) == CKR_OK,
			    "C_GenerateKeyPair: a private key asked "
			    "non-sensitive and extractable either is refused "
			    "or reveals CKA_VALUE");
			table_put("extractable private key", "honoured");
			destroy_kp(s, &k2);
		} else {
			EXPECT_IN(rv,
				  "C_GenerateKeyPair: a private key asked "
				  "non-sensitive and extractable (impossible in "
				  "a TPM) -> CKR_TEMPLATE_INCONSISTENT or "
				  "CKR_ATTRIBUTE_VALUE_INVALID",
				  CKR_TEMPLATE_INCONSISTENT,
				  CKR_ATTRIBUTE_VALUE_INVALID);
			table_put("extractable private key", "refused: %s",
				  rv_name(rv));
		}
		expect_rv(p11->C_GenerateKeyPair(s, &m, p1, 1, q, 1, NULL, NULL),
			  CKR_ARGUMENTS_BAD,
			  "C_GenerateKeyPair: NULL handle pointers -> "
			  "CKR_ARGUMENTS_BAD");
	}
	/* CKA_SIGN false is honoured. */
	rv = gen_ec(s, oid_p256, sizeof(oid_p256), "conf-nosign", true, false,
		    false, &kp);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: P-256 with CKA_SIGN false "
				  "-> CKR_OK")) {
		CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };

		tap(bool_is(s, kp.priv, CKA_SIGN, CK_FALSE),
		    "C_GenerateKeyPair: CKA_SIGN false is kept");
		expect_rv(p11->C_SignInit(s, &m, kp.priv),
			  CKR_KEY_FUNCTION_NOT_PERMITTED,
			  "C_SignInit: a key with CKA_SIGN false -> "
			  "CKR_KEY_FUNCTION_NOT_PERMITTED");
		destroy_kp(s, &kp);
	}
	/* Sessions: read-only user session makes session keys only; a
	 * public session makes no private key. */
	if (open_session(slot, 0, &ro) == CKR_OK) {
		expect_rv(gen_ec(ro, oid_p256, sizeof(oid_p256),
				 "conf-ro-token", true, true, false, &kp),
			  CKR_SESSION_READ_ONLY,
			  "C_GenerateKeyPair: token keys in a read-only session "
			  "-> CKR_SESSION_READ_ONLY");
		rv = gen_ec(ro, oid_p256, sizeof(oid_p256), "conf-ro-session",
			    false, true, false, &kp);
		expect_rv(rv, CKR_OK, "C_GenerateKeyPair: session keys in a "
				      "read-only user session -> CKR_OK");
		if (rv == CKR_OK) {
			p11->C_CloseSession(ro);
			ro = CK_INVALID_HANDLE;
			tap(count_label(s, CKO_PRIVATE_KEY, "conf-ro-session") ==
				    0,
			    "C_CloseSession: the generated session keys are "
			    "gone with their session");
		}
		if (ro)
			p11->C_CloseSession(ro);
	}

	/* RSA. */
	snprintf(lbl, sizeof(lbl), "conf-gen-rsa2048-%ld", (long)getpid());
	rv = gen_rsa(s, 2048, f4, sizeof(f4), lbl, true, true, &kp);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: RSA 2048, e=65537, "
				  "token objects -> CKR_OK")) {
		check_generated(s, &kp, CKK_RSA, "RSA 2048", lbl, true);
		tap(attr_equals(s, kp.pub, CKA_PUBLIC_EXPONENT, f4, 3),
		    "C_GenerateKeyPair: RSA 2048: CKA_PUBLIC_EXPONENT is 65537");
		destroy_kp(s, &kp);
	}
	snprintf(lbl, sizeof(lbl), "conf-gen-rsa3072-%ld", (long)getpid());
	rv = gen_rsa(s, 3072, f4, sizeof(f4), lbl, true, false, &kp);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: RSA 3072, token objects, "
				  "CKA_DECRYPT false -> CKR_OK")) {
		CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };

		check_generated(s, &kp, CKK_RSA, "RSA 3072", lbl, true);
		tap(bool_is(s, kp.priv, CKA_DECRYPT, CK_FALSE),
		    "C_GenerateKeyPair: CKA_DECRYPT false is kept");
		expect_rv(p11->C_DecryptInit(s, &m, kp.priv),
			  CKR_KEY_FUNCTION_NOT_PERMITTED,
			  "C_DecryptInit: a key with CKA_DECRYPT false -> "
			  "CKR_KEY_FUNCTION_NOT_PERMITTED");
		destroy_kp(s, &kp);
	}
	expect_rv(gen_rsa(s, 2049, f4, sizeof(f4), "conf-odd", true, true, &kp),
		  CKR_KEY_SIZE_RANGE,
		  "C_GenerateKeyPair: RSA 2049 bits -> CKR_KEY_SIZE_RANGE");
	{
		static const CK_ULONG sizes[] = { 1024, 4096, 8192 };

		for (i = 0; i < NELEM(sizes); i++) {
			bool in = have_rsa && sizes[i] >= rsa_mi.ulMinKeySize &&
				  sizes[i] <= rsa_mi.ulMaxKeySize;

			rv = gen_rsa(s, sizes[i], f4, sizeof(f4), "conf-size",
				     true, true, &kp);
			if (in)
				expect_rv(rv, CKR_OK,
					  "C_GenerateKeyPair: RSA %lu (inside "
					  "the advertised sizes) -> CKR_OK",
					  (unsigned long)sizes[i]);
			else
				expect_rv(rv, CKR_KEY_SIZE_RANGE,
					  "C_GenerateKeyPair: RSA %lu (outside "
					  "the advertised sizes) -> "
					  "CKR_KEY_SIZE_RANGE",
					  (unsigned long)sizes[i]);
			table_put(sizes[i] == 1024 ? "RSA 1024"
				  : sizes[i] == 4096 ? "RSA 4096"
						     : "RSA 8192",
				  "%s", rv == CKR_OK ? "supported"
						     : rv_name(rv));
			if (rv == CKR_OK)
				destroy_kp(s, &kp);
		}
		table_put("RSA 2048", "supported");
		table_put("RSA 3072", "supported");
	}
	expect_rv(gen_rsa(s, 0, f4, sizeof(f4), "conf-nobits", true, true, &kp),
		  CKR_TEMPLATE_INCOMPLETE,
		  "C_GenerateKeyPair: RSA without CKA_MODULUS_BITS -> "
		  "CKR_TEMPLATE_INCOMPLETE");
	{
		static const unsigned char e3[] = { 0x03 };

		rv = gen_rsa(s, 2048, e3, 1, "conf-e3", true, true, &kp);
		if (rv == CKR_OK) {
			tap(attr_equals(s, kp.pub, CKA_PUBLIC_EXPONENT, e3, 1),
			    "C_GenerateKeyPair: RSA with e=3 honours the "
			    "exponent");
			destroy_kp(s, &kp);
		} else {
			EXPECT_IN(rv, "C_GenerateKeyPair: RSA with e=3 is "
				      "honoured or refused -> "
				      "CKR_ATTRIBUTE_VALUE_INVALID or "
				      "CKR_TEMPLATE_INCONSISTENT",
				  CKR_ATTRIBUTE_VALUE_INVALID,
				  CKR_TEMPLATE_INCONSISTENT);
		}
		table_put("RSA e=3", "%s",
			  rv == CKR_OK ? "supported" : rv_name(rv));
	}
	/* A public session cannot make private keys. */
	p11->C_Logout(s);
	if (open_session(slot, CKF_RW_SESSION, &pub) == CKR_OK) {
		expect_rv(gen_ec(pub, oid_p256, sizeof(oid_p256), "conf-public",
				 true, true, false, &kp),
			  CKR_USER_NOT_LOGGED_IN,
			  "C_GenerateKeyPair: a private key in a public session "
			  "-> CKR_USER_NOT_LOGGED_IN");
	}
	conf_login(s, CKU_USER, user_pin);

	/* C_GenerateKey. */
	{
		CK_MECHANISM aes = { CKM_AES_KEY_GEN, NULL, 0 };
		CK_MECHANISM gs = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
		static const CK_ULONG lens[] = { 16, 24, 32 };
		CK_MECHANISM_INFO ami;
		bool have_aes = mech_advertised(CKM_AES_KEY_GEN, &ami);
		CK_OBJECT_HANDLE k;

		for (i = 0; i < NELEM(lens); i++) {
			CK_ULONG l = lens[i];
			CK_ATTRIBUTE t[] = {
				{ CKA_VALUE_LEN, &l, sizeof(l) },
				{ CKA_ENCRYPT, (void *)&yes, 1 },
				{ CKA_DECRYPT, (void *)&yes, 1 },
				{ CKA_LABEL, "conf-aes-gen", 12 },
			};
			CK_ULONG got = 0, mech = 0;

			k = CK_INVALID_HANDLE;
			rv = p11->C_GenerateKey(s, &aes, t, NELEM(t), &k);
			if (!have_aes) {
				EXPECT_IN(rv, "C_GenerateKey: CKM_AES_KEY_GEN "
					      "not advertised -> "
					      "CKR_MECHANISM_INVALID (or "
					      "CKR_FUNCTION_NOT_SUPPORTED)",
					  CKR_MECHANISM_INVALID,
					  CKR_FUNCTION_NOT_SUPPORTED);
				break;
			}
			if (l == 24 && rv != CKR_OK) {
				/* Issue 5 asks for AES-128 and -256 only. */
				EXPECT_IN(rv, "C_GenerateKey: AES-192 works or is "
					      "refused -> CKR_KEY_SIZE_RANGE",
					  CKR_KEY_SIZE_RANGE);
				table_put("AES-192 keys", "%s", rv_name(rv));
				continue;
			}
			if (l == 24)
				table_put("AES-192 keys", "supported");
			if (!expect_rv(rv, CKR_OK, "C_GenerateKey: AES, "
						   "CKA_VALUE_LEN %lu -> CKR_OK",
				       (unsigned long)l))
				continue;
			tap(get_ulong(s, k, CKA_VALUE_LEN, &got) && got == l,
			    "C_GenerateKey: AES-%lu: CKA_VALUE_LEN is %lu",
			    (unsigned long)l * 8, (unsigned long)l);
			tap(bool_is(s, k, CKA_LOCAL, CK_TRUE) &&
				    get_ulong(s, k, CKA_KEY_GEN_MECHANISM,
					      &mech) &&
				    mech == CKM_AES_KEY_GEN,
			    "C_GenerateKey: AES-%lu: CKA_LOCAL true, "
			    "CKA_KEY_GEN_MECHANISM CKM_AES_KEY_GEN",
			    (unsigned long)l * 8);
			tap(bool_is(s, k, CKA_TOKEN, CK_FALSE) &&
				    attr_equals(s, k, CKA_LABEL, "conf-aes-gen",
						12),
			    "C_GenerateKey: AES-%lu: template honoured (label, "
			    "session object)", (unsigned long)l * 8);
			p11->C_DestroyObject(s, k);
		}
		if (have_aes) {
			CK_ULONG l = 17;
			CK_ATTRIBUTE t[] = { { CKA_VALUE_LEN, &l, sizeof(l) } };

			EXPECT_IN(p11->C_GenerateKey(s, &aes, t, 1, &k),
				  "C_GenerateKey: AES with CKA_VALUE_LEN 17 -> "
				  "CKR_ATTRIBUTE_VALUE_INVALID or "
				  "CKR_KEY_SIZE_RANGE",
				  CKR_ATTRIBUTE_VALUE_INVALID, CKR_KEY_SIZE_RANGE);
			expect_rv(p11->C_GenerateKey(s, &aes, NULL, 0, &k),
				  CKR_TEMPLATE_INCOMPLETE,
				  "C_GenerateKey: AES without CKA_VALUE_LEN -> "
				  "CKR_TEMPLATE_INCOMPLETE");
		}
		if (mech_advertised(CKM_GENERIC_SECRET_KEY_GEN, NULL)) {
			CK_ULONG l = 32;
			CK_ATTRIBUTE t[] = {
				{ CKA_VALUE_LEN, &l, sizeof(l) },
				{ CKA_SIGN, (void *)&yes, 1 },
				{ CKA_VERIFY, (void *)&yes, 1 },
			};

			rv = p11->C_GenerateKey(s, &gs, t, NELEM(t), &k);
			if (expect_rv(rv, CKR_OK, "C_GenerateKey: generic "
						  "secret, 32 bytes -> CKR_OK"))
				p11->C_DestroyObject(s, k);
		} else {
			CK_ULONG l = 32;
			CK_ATTRIBUTE t[] = { { CKA_VALUE_LEN, &l, sizeof(l) } };

			EXPECT_IN(p11->C_GenerateKey(s, &gs, t, 1, &k),
				  "C_GenerateKey: CKM_GENERIC_SECRET_KEY_GEN "
				  "not advertised -> CKR_MECHANISM_INVALID (or "
				  "CKR_FUNCTION_NOT_SUPPORTED)",
				  CKR_MECHANISM_INVALID,
				  CKR_FUNCTION_NOT_SUPPORTED);
		}
	}
	p11->C_CloseAllSessions(slot);
}

/* === private keys from their values, C_UnwrapKey (issue 17) ===================
 *
 * C_CreateObject with CKO_PRIVATE_KEY (PKCS#11 v2.40 2.3.4 EC, 2.1.3 RSA):
 * keys made here with OpenSSL go into the token; each then signs, and
 * OpenSSL verifies with the original public key. The objects say the
 * key was known outside the token (CKA_LOCAL, CKA_ALWAYS_SENSITIVE,
 * CKA_NEVER_EXTRACTABLE false; sensitive, unextractable), session
 * objects and CKA_PRIVATE false work, and every template error gets the
 * code of 5.7 with the object count unchanged (the script checks the TPM
 * holds nothing afterwards). RSA keys come from $CONF_IMPORT_KEYS/rsaN.pem
 * (N = 1024, 2048, 3072) when conformance.sh made them. C_UnwrapKey refuses every wrapping
 * mechanism: the TPM cannot unwrap without the key appearing in the
 * clear outside it (docs/design.md). */

/* A key made with OpenSSL and its parts. EC: v[0] = d. RSA: v[0..7] = n,
 * e, d, p, q, dP, dQ, qInv. */
struct imp_key {
	const char *name;
	CK_KEY_TYPE kt;
	const struct curve *curve;
	unsigned bits;
	EVP_PKEY *pk;
	unsigned char v[8][400];
	CK_ULONG vl[8];
};

static const CK_ATTRIBUTE_TYPE imp_rsa_types[8] = {
	CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
	CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT
};

static bool
imp_key_make(struct imp_key *k)
{
	static const char *const rsa_names[8] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E,
		OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
		OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
		OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1
	};
	const char *dir = getenv("CONF_IMPORT_KEYS");
	char path[512];
	FILE *f;
	int i;

	/* RSA keys from conformance.sh when it made them (the valgrind pass
	 * runs this program under memcheck, where making RSA-3072 primes
	 * takes long); else made here. */
	if (k->kt == CKK_RSA && dir != NULL && *dir != '\0') {
		snprintf(path, sizeof(path), "%s/rsa%u.pem", dir, k->bits);
		if ((f = fopen(path, "r")) != NULL) {
			k->pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
			fclose(f);
		}
		if (k->pk == NULL)
			diag("cannot read %s", path);
	}
	if (k->pk == NULL)
		k->pk = k->kt == CKK_EC
				? gen_openssl_key("EC", k->curve->name, 0)
				: gen_openssl_key("RSA", NULL, k->bits);
	if (k->pk == NULL)
		return false;
	if (k->kt == CKK_EC)
		return (k->vl[0] = bn_param(k->pk, OSSL_PKEY_PARAM_PRIV_KEY,
					    k->v[0], sizeof(k->v[0]))) != 0;
	for (i = 0; i < 8; i++)
		if ((k->vl[i] = bn_param(k->pk, rsa_names[i], k->v[i],
					 sizeof(k->v[i]))) == 0)
			return false;
	return true;
}

/* The template of k: class, key type, token, private, sign, label, id
 * and the parts; room for 4 more. Returns the count. */
static CK_ULONG
imp_template(struct imp_key *k, CK_ATTRIBUTE *t, const CK_BBOOL *tok,
	     const CK_BBOOL *priv, const char *label, const unsigned char *id)
{
	static const CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ULONG n = 0;
	int i;

	t[n++] = (CK_ATTRIBUTE){ CKA_CLASS, (void *)&cls, sizeof(cls) };
	t[n++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &k->kt, sizeof(k->kt) };
	t[n++] = (CK_ATTRIBUTE){ CKA_TOKEN, (void *)tok, sizeof(*tok) };
	t[n++] = (CK_ATTRIBUTE){ CKA_PRIVATE, (void *)priv, sizeof(*priv) };
	t[n++] = (CK_ATTRIBUTE){ CKA_SIGN, (void *)&yes, sizeof(yes) };
	t[n++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, strlen(label) };
	t[n++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, 2 };
	if (k->kt == CKK_EC) {
		t[n++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)k->curve->oid,
					 k->curve->oid_len };
		t[n++] = (CK_ATTRIBUTE){ CKA_VALUE, k->v[0], k->vl[0] };
	} else {
		for (i = 0; i < 8; i++)
			t[n++] = (CK_ATTRIBUTE){ imp_rsa_types[i], k->v[i],
						 k->vl[i] };
	}
	return n;
}

/* Takes attribute type out of t. */
static void
imp_drop(CK_ATTRIBUTE *t, CK_ULONG *n, CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG i;

	for (i = 0; i < *n; i++)
		if (t[i].type == type) {
			t[i] = t[--*n];
			return;
		}
}

/* Sets (replaces or adds) attribute type in t. */
static void
imp_set(CK_ATTRIBUTE *t, CK_ULONG *n, CK_ATTRIBUTE_TYPE type, const void *v,
	CK_ULONG len)
{
	CK_ULONG i;

	for (i = 0; i < *n && t[i].type != type; i++)
		;
	if (i == *n)
		(*n)++;
	t[i] = (CK_ATTRIBUTE){ type, (void *)v, len };
}

/* Every object the session sees. */
static CK_ULONG
imp_count(CK_SESSION_HANDLE s)
{
	return count_found(s, NULL, 0);
}

/* The key signs: ECDSA over a SHA-256 digest, or SHA256-RSA-PKCS; OpenSSL
 * verifies with the original public key. */
static bool
imp_signs(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, struct imp_key *k)
{
	CK_MECHANISM m = { k->kt == CKK_EC ? CKM_ECDSA : CKM_SHA256_RSA_PKCS,
			   NULL, 0 };
	unsigned char data[64], dg[32], sig[512];
	CK_ULONG siglen = sizeof(sig);
	CK_RV rv;

	RAND_bytes(data, sizeof(data));
	digest(EVP_sha256(), data, sizeof(data), dg);
	if ((rv = p11->C_SignInit(s, &m, h)) == CKR_OK)
		rv = k->kt == CKK_EC
			     ? p11->C_Sign(s, dg, sizeof(dg), sig, &siglen)
			     : p11->C_Sign(s, data, sizeof(data), sig, &siglen);
	if (rv != CKR_OK) {
		diag("C_Sign with the imported %s key: %s", k->name,
		     rv_name(rv));
		return false;
	}
	return k->kt == CKK_EC
		       ? ecdsa_verify(k->pk, dg, sizeof(dg), sig, siglen)
		       : rsa_verify(k->pk, RSA_PKCS1_PADDING, EVP_sha256(), 0,
				    dg, sizeof(dg), sig, siglen);
}

/* A template error: the code, and no object made. */
static void
imp_refused(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n, CK_RV want,
	    const char *what)
{
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ULONG before = imp_count(s);
	CK_RV rv = p11->C_CreateObject(s, t, n, &h);

	expect_rv(rv, want, "C_CreateObject: private key, %s -> %s", what,
		  rv_name(want));
	if (!tap(imp_count(s) == before,
		 "C_CreateObject: private key, %s: no object left", what))
		diag("%lu objects before, %lu after", (unsigned long)before,
		     (unsigned long)imp_count(s));
	if (rv == CKR_OK)
		p11->C_DestroyObject(s, h);
}

/* The private object h and its public companion (found by label): the
 * attributes of a key known outside the token, the public key OpenSSL's,
 * a signature that verifies. Destroys both when done if destroy. */
static void
imp_check(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, struct imp_key *k,
	  const char *label, CK_BBOOL tok, bool destroy)
{
	CK_OBJECT_HANDLE pub = find_one(s, CKO_PUBLIC_KEY, label);
	EVP_PKEY *pp = pub != CK_INVALID_HANDLE ? pkey_of(s, pub) : NULL;
	unsigned char buf[16];
	CK_ATTRIBUTE secret = { k->kt == CKK_EC ? CKA_VALUE
						: CKA_PRIVATE_EXPONENT,
				buf, sizeof(buf) };
	CK_RV rv;
	char what[80];

	snprintf(what, sizeof(what), "%s %s key", k->name,
		 tok ? "token" : "session");
	tap(find_one(s, CKO_PRIVATE_KEY, label) == h,
	    "C_CreateObject: the imported %s is found by its label", what);
	if (!tap(pp != NULL && EVP_PKEY_eq(pp, k->pk) == 1,
		 "C_CreateObject: the imported %s has a public-key object "
		 "with the original public key", what))
		diag("public object %lu", (unsigned long)pub);
	check_created_key(s, h, what, true);
	if (pub != CK_INVALID_HANDLE)
		tap(bool_is(s, pub, CKA_LOCAL, CK_FALSE),
		    "C_CreateObject: the %s's public-key object has CKA_LOCAL "
		    "false", what);
	tap(bool_is(s, h, CKA_SENSITIVE, CK_TRUE) &&
		    bool_is(s, h, CKA_EXTRACTABLE, CK_FALSE),
	    "C_CreateObject: the imported %s is sensitive and not "
	    "extractable", what);
	tap(bool_is(s, h, CKA_TOKEN, tok) &&
		    (pub == CK_INVALID_HANDLE || bool_is(s, pub, CKA_TOKEN, tok)),
	    "C_CreateObject: the imported %s and its public key have "
	    "CKA_TOKEN %s", what, tok ? "true" : "false");
	rv = p11->C_GetAttributeValue(s, h, &secret, 1);
	tap(rv == CKR_ATTRIBUTE_SENSITIVE &&
		    secret.ulValueLen == CK_UNAVAILABLE_INFORMATION,
	    "C_GetAttributeValue: the imported %s's private value -> "
	    "CKR_ATTRIBUTE_SENSITIVE", what);
	tap(imp_signs(s, h, k), "C_Sign: the imported %s signs; OpenSSL "
				"verifies with the original public key", what);
	EVP_PKEY_free(pp);
	if (destroy) {
		p11->C_DestroyObject(s, h);
		if (pub != CK_INVALID_HANDLE)
			p11->C_DestroyObject(s, pub);
	}
}

void
test_privkey_import(void)
{
	struct imp_key ks[] = {
		{ "P-256", CKK_EC, curve_by_bits(256), 256, NULL, { { 0 } }, { 0 } },
		{ "P-384", CKK_EC, curve_by_bits(384), 384, NULL, { { 0 } }, { 0 } },
		{ "RSA-2048", CKK_RSA, NULL, 2048, NULL, { { 0 } }, { 0 } },
		{ "RSA-3072", CKK_RSA, NULL, 3072, NULL, { { 0 } }, { 0 } },
	};
	struct imp_key *ec = &ks[0], *rsa = &ks[2];
	CK_SESSION_HANDLE s, ro, pub_s;
	CK_ATTRIBUTE t[24];
	CK_OBJECT_HANDLE h;
	CK_ULONG n, before, i;
	CK_RV rv;
	unsigned char id[2] = { 0x17, 0 }, zero[32] = { 0 }, big[48];
	char label[32];
	size_t k;

	if ((s = user_session(true)) == CK_INVALID_HANDLE) {
		tap(false, "C_CreateObject (private keys): a user session");
		return;
	}
	before = imp_count(s);

	/* --- each key type: a token key, checked, then destroyed ---------- */
	for (k = 0; k < NELEM(ks); k++) {
		struct imp_key *ik = &ks[k];

		if (ik->kt == CKK_EC && !tpm_has_curve(ik->curve)) {
			tap_skip("the TPM has no such curve", "C_CreateObject: "
				 "a %s private key", ik->name);
			continue;
		}
		if (!tap(imp_key_make(ik), "C_CreateObject (private keys): "
					   "OpenSSL makes a %s key", ik->name))
			continue;
		snprintf(label, sizeof(label), "imp-%s", ik->name);
		id[1] = (unsigned char)k;
		n = imp_template(ik, t, &yes, &yes, label, id);
		rv = p11->C_CreateObject(s, t, n, &h);
		if (!expect_rv(rv, CKR_OK, "C_CreateObject: a %s private key "
			       "(token object) -> CKR_OK", ik->name))
			continue;
		tap(imp_count(s) == before + 2, "C_CreateObject: the %s key "
		    "is a private and a public key object", ik->name);
		imp_check(s, h, ik, label, CK_TRUE, true);
	}
	tap(imp_count(s) == before, "C_DestroyObject: the imported keys are "
				    "gone");
	if (ec->pk == NULL || rsa->pk == NULL) {
		tap(false, "C_CreateObject (private keys): the P-256 and "
			   "RSA-2048 keys for the remaining cases");
		goto out;
	}

	/* --- P-384 on a TPM without it ------------------------------------ */
	if (!tpm_has_curve(curve_by_bits(384))) {
		struct imp_key p384 = { "P-384", CKK_EC, curve_by_bits(384),
					384, NULL, { { 0 } }, { 0 } };

		if (imp_key_make(&p384)) {
			n = imp_template(&p384, t, &yes, &yes, "imp-nop384", id);
			imp_refused(s, t, n, CKR_CURVE_NOT_SUPPORTED,
				    "P-384 on a TPM without the curve");
		}
		EVP_PKEY_free(p384.pk);
	}

	/* --- a session object --------------------------------------------- */
	n = imp_template(ec, t, &no, &yes, "imp-session", id);
	if (expect_rv(p11->C_CreateObject(s, t, n, &h), CKR_OK,
		      "C_CreateObject: a P-256 private key as a session "
		      "object -> CKR_OK")) {
		imp_check(s, h, ec, "imp-session", CK_FALSE, false);
		/* gone with its session */
		if (open_session(slot, CKF_RW_SESSION, &pub_s) == CKR_OK) {
			p11->C_CloseSession(s);
			tap(count_label(pub_s, CKO_PRIVATE_KEY, "imp-session") ==
					0 &&
				    count_label(pub_s, CKO_PUBLIC_KEY,
						"imp-session") == 0,
			    "C_CloseSession: the imported session key pair is "
			    "gone with its session");
			s = pub_s;
		}
	}

	/* --- CKA_PRIVATE false: made and used without login --------------- */
	p11->C_Logout(s);
	n = imp_template(ec, t, &yes, &yes, "imp-nologin", id);
	imp_refused(s, t, n, CKR_USER_NOT_LOGGED_IN,
		    "CKA_PRIVATE true without login");
	n = imp_template(ec, t, &yes, &no, "imp-nologin", id);
	if (expect_rv(p11->C_CreateObject(s, t, n, &h), CKR_OK,
		      "C_CreateObject: a P-256 private key with CKA_PRIVATE "
		      "false, not logged in -> CKR_OK")) {
		tap(bool_is(s, h, CKA_PRIVATE, CK_FALSE),
		    "C_CreateObject: the key has CKA_PRIVATE false");
		tap(imp_signs(s, h, ec), "C_Sign: the CKA_PRIVATE false key "
			     "signs without login; OpenSSL verifies it");
		p11->C_DestroyObject(s, h);
		p11->C_DestroyObject(s, find_one(s, CKO_PUBLIC_KEY,
						 "imp-nologin"));
	}
	p11->C_CloseSession(s);
	if ((s = user_session(true)) == CK_INVALID_HANDLE) {
		tap(false, "C_CreateObject (private keys): a user session "
			   "again");
		goto out;
	}
	before = imp_count(s);

	/* --- template errors: the code of v2.40 5.7, nothing made --------- */
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_drop(t, &n, CKA_KEY_TYPE);
	imp_refused(s, t, n, CKR_TEMPLATE_INCOMPLETE, "no CKA_KEY_TYPE");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_drop(t, &n, CKA_VALUE);
	imp_refused(s, t, n, CKR_TEMPLATE_INCOMPLETE, "EC without CKA_VALUE");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_drop(t, &n, CKA_EC_PARAMS);
	imp_refused(s, t, n, CKR_TEMPLATE_INCOMPLETE,
		    "EC without CKA_EC_PARAMS");
	n = imp_template(rsa, t, &yes, &yes, "imp-bad", id);
	imp_drop(t, &n, CKA_PRIVATE_EXPONENT);
	imp_refused(s, t, n, CKR_TEMPLATE_INCOMPLETE,
		    "RSA without CKA_PRIVATE_EXPONENT");
	n = imp_template(rsa, t, &yes, &yes, "imp-bad", id);
	imp_drop(t, &n, CKA_PRIME_1);
	imp_drop(t, &n, CKA_PRIME_2);
	imp_refused(s, t, n, CKR_TEMPLATE_INCOMPLETE,
		    "RSA without its primes");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_EXTRACTABLE, &yes, sizeof(yes));
	imp_refused(s, t, n, CKR_TEMPLATE_INCONSISTENT, "CKA_EXTRACTABLE true");
	n = imp_template(rsa, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_SENSITIVE, &no, sizeof(no));
	imp_refused(s, t, n, CKR_TEMPLATE_INCONSISTENT, "CKA_SENSITIVE false");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_EC_PARAMS, oid_k256, sizeof(oid_k256));
	imp_refused(s, t, n, CKR_CURVE_NOT_SUPPORTED, "secp256k1");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_EC_PARAMS, oid_bp256, sizeof(oid_bp256));
	imp_refused(s, t, n, CKR_CURVE_NOT_SUPPORTED, "brainpoolP256r1");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_VALUE, zero, sizeof(zero));
	imp_refused(s, t, n, CKR_ATTRIBUTE_VALUE_INVALID, "EC d = 0");
	memset(big, 0xff, sizeof(big));
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_VALUE, big, 32);
	imp_refused(s, t, n, CKR_ATTRIBUTE_VALUE_INVALID,
		    "EC d above the curve's order");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_DERIVE, &yes, sizeof(yes));
	imp_refused(s, t, n, CKR_ATTRIBUTE_VALUE_INVALID,
		    "EC with CKA_DERIVE true (ECDH needs a key made in the TPM)");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_MODULUS, rsa->v[0], rsa->vl[0]);
	imp_refused(s, t, n, CKR_TEMPLATE_INCONSISTENT, "EC with CKA_MODULUS");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_LOCAL, &yes, sizeof(yes));
	imp_refused(s, t, n, CKR_ATTRIBUTE_READ_ONLY, "CKA_LOCAL given");
	{
		CK_KEY_TYPE dsa = CKK_DSA;

		n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
		imp_set(t, &n, CKA_KEY_TYPE, &dsa, sizeof(dsa));
		imp_refused(s, t, n, CKR_ATTRIBUTE_VALUE_INVALID, "CKK_DSA");
	}
	/* RSA parts that do not form one key */
	{
		struct imp_key r1024 = { "RSA-1024", CKK_RSA, NULL, 1024, NULL,
					 { { 0 } }, { 0 } };
		unsigned char d2[400];

		if (imp_key_make(&r1024)) {
			n = imp_template(&r1024, t, &yes, &yes, "imp-bad", id);
			imp_refused(s, t, n, CKR_ATTRIBUTE_VALUE_INVALID,
				    "RSA-1024 (the TPM holds 2048 and 3072)");
		}
		EVP_PKEY_free(r1024.pk);
		memcpy(d2, rsa->v[2], rsa->vl[2]);
		d2[rsa->vl[2] - 1] ^= 0x02;
		n = imp_template(rsa, t, &yes, &yes, "imp-bad", id);
		imp_set(t, &n, CKA_PRIVATE_EXPONENT, d2, rsa->vl[2]);
		imp_refused(s, t, n, CKR_TEMPLATE_INCONSISTENT,
			    "RSA with a private exponent of another key");
		n = imp_template(rsa, t, &yes, &yes, "imp-bad", id);
		imp_set(t, &n, CKA_COEFFICIENT, d2, rsa->vl[7]);
		imp_refused(s, t, n, CKR_TEMPLATE_INCONSISTENT,
			    "RSA with a wrong CKA_COEFFICIENT");
		n = imp_template(rsa, t, &yes, &yes, "imp-bad", id);
		imp_set(t, &n, CKA_PRIME_1, ks[3].v[3], ks[3].vl[3]);
		imp_set(t, &n, CKA_PRIME_2, ks[3].v[4], ks[3].vl[4]);
		if (ks[3].pk != NULL)
			imp_refused(s, t, n, CKR_TEMPLATE_INCONSISTENT,
				    "RSA-2048 with the primes of another key");
		/* the CRT values left out: computed */
		n = imp_template(rsa, t, &yes, &yes, "imp-crt", id);
		imp_drop(t, &n, CKA_EXPONENT_1);
		imp_drop(t, &n, CKA_EXPONENT_2);
		imp_drop(t, &n, CKA_COEFFICIENT);
		if (expect_rv(p11->C_CreateObject(s, t, n, &h), CKR_OK,
			      "C_CreateObject: RSA private key without the "
			      "optional CRT values -> CKR_OK")) {
			tap(imp_signs(s, h, rsa), "C_Sign: it signs; OpenSSL "
						  "verifies");
			p11->C_DestroyObject(s, h);
			p11->C_DestroyObject(s, find_one(s, CKO_PUBLIC_KEY,
							 "imp-crt"));
		}
	}
	/* a read-only session cannot make a token object */
	if (open_session(slot, 0, &ro) == CKR_OK) {
		n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
		imp_refused(ro, t, n, CKR_SESSION_READ_ONLY,
			    "a token key in a read-only session");
		p11->C_CloseSession(ro);
	}
	/* the same key twice: one object per key (as `tpm11 import`) */
	n = imp_template(ec, t, &yes, &yes, "imp-twice", id);
	if (expect_rv(p11->C_CreateObject(s, t, n, &h), CKR_OK,
		      "C_CreateObject: a P-256 private key -> CKR_OK")) {
		n = imp_template(ec, t, &yes, &yes, "imp-twice2", id);
		imp_refused(s, t, n, CKR_ATTRIBUTE_VALUE_INVALID,
			    "the same key again");
		p11->C_DestroyObject(s, h);
		p11->C_DestroyObject(s, find_one(s, CKO_PUBLIC_KEY,
						 "imp-twice"));
	}
	tap(imp_count(s) == before, "C_CreateObject (private keys): the "
				    "token holds what it held before the "
				    "error cases");

	/* --- C_UnwrapKey: listed, every wrapping mechanism refused -------- */
	refresh_keys(s);
	{
		static const CK_MECHANISM_TYPE wrap[] = {
			CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD,
			CKM_RSA_PKCS_OAEP, CKM_RSA_PKCS, CKM_AES_CBC_PAD,
			CKM_AES_ECB
		};
		static const char *const wrap_name[] = {
			"CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD",
			"CKM_RSA_PKCS_OAEP", "CKM_RSA_PKCS", "CKM_AES_CBC_PAD",
			"CKM_AES_ECB"
		};
		static const CK_OBJECT_CLASS pcls = CKO_PRIVATE_KEY;
		CK_KEY_TYPE kt = CKK_EC;
		CK_ATTRIBUTE ut[] = {
			{ CKA_CLASS, (void *)&pcls, sizeof(pcls) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_TOKEN, (void *)&yes, sizeof(yes) },
		};
		CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA256, CKG_MGF1_SHA256,
						 CKZ_DATA_SPECIFIED, NULL, 0 };
		unsigned char wrapped[256];
		CK_MECHANISM_TYPE *ml = NULL;
		CK_ULONG nm = 0;
		bool flag = false;

		tap(real->C_UnwrapKey != NULL, "C_UnwrapKey: in the function "
					       "list");
		memset(wrapped, 0x5a, sizeof(wrapped));
		before = imp_count(s);
		for (i = 0; i < NELEM(wrap); i++) {
			CK_MECHANISM m = { wrap[i], NULL, 0 };

			if (wrap[i] == CKM_RSA_PKCS_OAEP) {
				m.pParameter = &oaep;
				m.ulParameterLen = sizeof(oaep);
			}
			h = CK_INVALID_HANDLE;
			rv = p11->C_UnwrapKey(s, &m, keys[K_RSA].priv, wrapped,
					      wrap[i] == CKM_RSA_PKCS ||
							      wrap[i] ==
								      CKM_RSA_PKCS_OAEP
						      ? 256
						      : 40,
					      ut, NELEM(ut), &h);
			expect_rv(rv, CKR_MECHANISM_INVALID,
				  "C_UnwrapKey: %s -> CKR_MECHANISM_INVALID (the "
				  "TPM cannot unwrap into itself)",
				  wrap_name[i]);
		}
		tap(imp_count(s) == before, "C_UnwrapKey: no object made");
		expect_rv(p11->C_UnwrapKey(BOGUS_HANDLE,
					   &(CK_MECHANISM){ CKM_AES_KEY_WRAP,
							    NULL, 0 },
					   keys[K_RSA].priv, wrapped, 40, ut,
					   NELEM(ut), &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_UnwrapKey: an invalid session -> "
			  "CKR_SESSION_HANDLE_INVALID");
		/* no mechanism claims CKF_UNWRAP */
		if (p11->C_GetMechanismList(slot, NULL, &nm) == CKR_OK &&
		    (ml = calloc(nm + 1, sizeof(*ml))) != NULL &&
		    p11->C_GetMechanismList(slot, ml, &nm) == CKR_OK) {
			for (i = 0; i < nm; i++) {
				CK_MECHANISM_INFO mi;

				if (p11->C_GetMechanismInfo(slot, ml[i], &mi) ==
					    CKR_OK &&
				    (mi.flags & CKF_UNWRAP))
					flag = true;
			}
			tap(!flag, "C_GetMechanismInfo: no mechanism has "
				   "CKF_UNWRAP");
		}
		free(ml);
		table_put("C_UnwrapKey", "listed, CKR_MECHANISM_INVALID");
	}
	table_put("private key import (C_CreateObject)", "EC P-256/P-384, "
		  "RSA-2048/3072");
out:
	for (k = 0; k < NELEM(ks); k++)
		EVP_PKEY_free(ks[k].pk);
	p11->C_CloseSession(s);
}
