/* The mechanisms of the conformance program (conf.h; the cases run from
 * the table in conformance.c): the table of mechanisms it knows,
 * C_GetMechanismList and C_GetMechanismInfo, and the walk over every
 * mechanism, which conf_sign.c and conf_crypt.c exercise. */
#include <stdio.h>
#include <string.h>

#include "conf.h"

/* === 8. mechanisms (v2.40 current mechanisms) ============================ */

#define SV (CKF_SIGN | CKF_VERIFY)
#define ED (CKF_ENCRYPT | CKF_DECRYPT)

static const struct mdef mdefs[] = {
	{ CKM_SHA_1, "CKM_SHA_1", MK_DIGEST, CKM_SHA_1, CKF_DIGEST, NULL },
	{ CKM_SHA224, "CKM_SHA224", MK_DIGEST, CKM_SHA224, CKF_DIGEST, NULL },
	{ CKM_SHA256, "CKM_SHA256", MK_DIGEST, CKM_SHA256, CKF_DIGEST, NULL },
	{ CKM_SHA384, "CKM_SHA384", MK_DIGEST, CKM_SHA384, CKF_DIGEST, NULL },
	{ CKM_SHA512, "CKM_SHA512", MK_DIGEST, CKM_SHA512, CKF_DIGEST, NULL },
	{ CKM_ECDSA, "CKM_ECDSA", MK_ECDSA, NOHASH, SV, NULL },
	{ CKM_ECDSA_SHA1, "CKM_ECDSA_SHA1", MK_ECDSA, CKM_SHA_1, SV, NULL },
	{ CKM_ECDSA_SHA224, "CKM_ECDSA_SHA224", MK_ECDSA, CKM_SHA224, SV, NULL },
	{ CKM_ECDSA_SHA256, "CKM_ECDSA_SHA256", MK_ECDSA, CKM_SHA256, SV, NULL },
	{ CKM_ECDSA_SHA384, "CKM_ECDSA_SHA384", MK_ECDSA, CKM_SHA384, SV, NULL },
	{ CKM_ECDSA_SHA512, "CKM_ECDSA_SHA512", MK_ECDSA, CKM_SHA512, SV, NULL },
	{ CKM_RSA_PKCS, "CKM_RSA_PKCS", MK_RSA_SIGN, NOHASH,
	  SV | CKF_DECRYPT, NULL },
	{ CKM_RSA_PKCS_PSS, "CKM_RSA_PKCS_PSS", MK_RSA_SIGN, NOHASH, SV, NULL },
	{ CKM_RSA_X_509, "CKM_RSA_X_509", MK_RSA_SIGN, NOHASH, SV | CKF_DECRYPT,
	  NULL },
	{ CKM_SHA1_RSA_PKCS, "CKM_SHA1_RSA_PKCS", MK_RSA_SIGN, CKM_SHA_1, SV,
	  NULL },
	{ CKM_SHA224_RSA_PKCS, "CKM_SHA224_RSA_PKCS", MK_RSA_SIGN, CKM_SHA224,
	  SV, NULL },
	{ CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS", MK_RSA_SIGN, CKM_SHA256,
	  SV, NULL },
	{ CKM_SHA384_RSA_PKCS, "CKM_SHA384_RSA_PKCS", MK_RSA_SIGN, CKM_SHA384,
	  SV, NULL },
	{ CKM_SHA512_RSA_PKCS, "CKM_SHA512_RSA_PKCS", MK_RSA_SIGN, CKM_SHA512,
	  SV, NULL },
	{ CKM_SHA1_RSA_PKCS_PSS, "CKM_SHA1_RSA_PKCS_PSS", MK_RSA_SIGN, CKM_SHA_1,
	  SV, NULL },
	{ CKM_SHA224_RSA_PKCS_PSS, "CKM_SHA224_RSA_PKCS_PSS", MK_RSA_SIGN,
	  CKM_SHA224, SV, NULL },
	{ CKM_SHA256_RSA_PKCS_PSS, "CKM_SHA256_RSA_PKCS_PSS", MK_RSA_SIGN,
	  CKM_SHA256, SV, NULL },
	{ CKM_SHA384_RSA_PKCS_PSS, "CKM_SHA384_RSA_PKCS_PSS", MK_RSA_SIGN,
	  CKM_SHA384, SV, NULL },
	{ CKM_SHA512_RSA_PKCS_PSS, "CKM_SHA512_RSA_PKCS_PSS", MK_RSA_SIGN,
	  CKM_SHA512, SV, NULL },
	{ CKM_RSA_PKCS_OAEP, "CKM_RSA_PKCS_OAEP", MK_RSA_OAEP, NOHASH,
	  CKF_DECRYPT, NULL },
	{ CKM_EC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN", MK_KEYPAIR, NOHASH,
	  CKF_GENERATE_KEY_PAIR, NULL },
	{ CKM_RSA_PKCS_KEY_PAIR_GEN, "CKM_RSA_PKCS_KEY_PAIR_GEN", MK_KEYPAIR,
	  NOHASH, CKF_GENERATE_KEY_PAIR, NULL },
	{ CKM_ECDH1_DERIVE, "CKM_ECDH1_DERIVE", MK_ECDH, NOHASH, CKF_DERIVE,
	  "ecdh" },
	{ CKM_AES_KEY_GEN, "CKM_AES_KEY_GEN", MK_KEYGEN, NOHASH, CKF_GENERATE,
	  "aes" },
	{ CKM_GENERIC_SECRET_KEY_GEN, "CKM_GENERIC_SECRET_KEY_GEN", MK_KEYGEN,
	  NOHASH, CKF_GENERATE, "keyedhash hmac" },
	{ CKM_AES_ECB, "CKM_AES_ECB", MK_AES, NOHASH, ED, "aes ecb" },
	{ CKM_AES_CBC, "CKM_AES_CBC", MK_AES, NOHASH, ED, "aes cbc" },
	{ CKM_AES_CBC_PAD, "CKM_AES_CBC_PAD", MK_AES, NOHASH, ED, "aes cbc" },
	{ CKM_AES_CTR, "CKM_AES_CTR", MK_AES, NOHASH, ED, "aes ctr" },
	{ CKM_AES_CFB128, "CKM_AES_CFB128", MK_AES, NOHASH, ED, "aes cfb" },
	{ CKM_AES_OFB, "CKM_AES_OFB", MK_AES, NOHASH, ED, "" },
	{ CKM_AES_CFB8, "CKM_AES_CFB8", MK_AES, NOHASH, ED, "" },
	{ CKM_SHA_1_HMAC, "CKM_SHA_1_HMAC", MK_HMAC, CKM_SHA_1, SV,
	  "hmac sha1" },
	{ CKM_SHA224_HMAC, "CKM_SHA224_HMAC", MK_HMAC, CKM_SHA224, SV, "" },
	{ CKM_SHA256_HMAC, "CKM_SHA256_HMAC", MK_HMAC, CKM_SHA256, SV,
	  "hmac sha256" },
	{ CKM_SHA384_HMAC, "CKM_SHA384_HMAC", MK_HMAC, CKM_SHA384, SV,
	  "hmac sha384" },
	{ CKM_SHA512_HMAC, "CKM_SHA512_HMAC", MK_HMAC, CKM_SHA512, SV,
	  "hmac sha512" },
};

static const struct mdef *
mdef_of(CK_MECHANISM_TYPE t)
{
	size_t i;

	for (i = 0; i < NELEM(mdefs); i++)
		if (mdefs[i].type == t)
			return &mdefs[i];
	return NULL;
}

static bool
mdef_required(const struct mdef *d)
{
	char words[64], *w, *save = NULL;

	if (d->tpm == NULL)
		return true;
	if (d->tpm[0] == '\0')
		return false;
	snprintf(words, sizeof(words), "%s", d->tpm);
	for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (!tpm_has_alg(w))
			return false;
	return true;
}

static void
flags_text(CK_FLAGS f, char *out, size_t cap)
{
	static const struct {
		CK_FLAGS f;
		const char *n;
	} names[] = {
		{ CKF_HW, "HW" }, { CKF_ENCRYPT, "ENCRYPT" },
		{ CKF_DECRYPT, "DECRYPT" }, { CKF_DIGEST, "DIGEST" },
		{ CKF_SIGN, "SIGN" }, { CKF_SIGN_RECOVER, "SIGN_RECOVER" },
		{ CKF_VERIFY, "VERIFY" }, { CKF_VERIFY_RECOVER, "VERIFY_RECOVER" },
		{ CKF_GENERATE, "GENERATE" },
		{ CKF_GENERATE_KEY_PAIR, "GENERATE_KEY_PAIR" },
		{ CKF_WRAP, "WRAP" }, { CKF_UNWRAP, "UNWRAP" },
		{ CKF_DERIVE, "DERIVE" }, { CKF_EC_F_P, "EC_F_P" },
		{ CKF_EC_NAMEDCURVE, "EC_NAMEDCURVE" },
		{ CKF_EC_UNCOMPRESS, "EC_UNCOMPRESS" },
		{ CKF_EC_COMPRESS, "EC_COMPRESS" },
	};
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < NELEM(names); i++)
		if ((f & names[i].f) && o + 24 < cap)
			o += (size_t)snprintf(out + o, cap - o, "%s%s",
					      o ? "|" : "", names[i].n);
}

/* The Init function that uses a mechanism of this kind, for the refusal
 * of mechanisms that are not advertised. */
static CK_RV
init_unadvertised(CK_SESSION_HANDLE s, const struct mdef *d,
		  CK_OBJECT_HANDLE *aeskey, const char **fn)
{
	CK_MECHANISM m = { d->type, NULL, 0 };
	unsigned char iv[16] = { 0 };
	CK_OBJECT_HANDLE h;
	CK_RV rv;

	switch (d->kind) {
	case MK_DIGEST:
		*fn = "C_DigestInit";
		rv = p11->C_DigestInit(s, &m);
		if (rv == CKR_OK)
			p11->C_DigestFinal(s, iv, &(CK_ULONG){ 0 });
		return rv;
	case MK_ECDSA:
	case MK_RSA_SIGN:
	case MK_HMAC:
		*fn = "C_SignInit";
		h = d->kind == MK_ECDSA ? keys[K_P256].priv
		    : d->kind == MK_HMAC ? (hmac_known ? hmac_known : hmac_gen)
					 : keys[K_RSA].priv;
		return p11->C_SignInit(s, &m, h);
	case MK_RSA_OAEP:
		*fn = "C_DecryptInit";
		return p11->C_DecryptInit(s, &m, keys[K_RSA].priv);
	case MK_AES:
		*fn = "C_EncryptInit";
		if (d->type != CKM_AES_ECB) {
			m.pParameter = iv;
			m.ulParameterLen = 16;
		}
		return p11->C_EncryptInit(s, &m, *aeskey ? *aeskey
							  : keys[K_P256].priv);
	case MK_ECDH:
		*fn = "C_DeriveKey";
		return p11->C_DeriveKey(s, &m, keys[K_P256].priv, NULL, 0, &h);
	case MK_KEYGEN:
		*fn = "C_GenerateKey";
		return p11->C_GenerateKey(s, &m, NULL, 0, &h);
	case MK_KEYPAIR:
	default:
		*fn = "C_GenerateKeyPair";
		return p11->C_GenerateKeyPair(s, &m, NULL, 0, NULL, 0, &h, &h);
	}
}

static void make_secret_keys(CK_SESSION_HANDLE s);

void
test_mechanism_list(void)
{
	CK_SESSION_HANDLE s = user_session(true);
	CK_MECHANISM_TYPE list[256];
	CK_MECHANISM_INFO mi;
	CK_ULONG n = 0, n1, i, j;
	CK_RV rv;
	char fl[200];

	if (s == CK_INVALID_HANDLE) {
		tap(false, "mechanisms: a read/write user session");
		return;
	}

	/* The list and the info. */
	expect_rv(p11->C_GetMechanismList(slot, NULL, NULL), CKR_ARGUMENTS_BAD,
		  "C_GetMechanismList: NULL count -> CKR_ARGUMENTS_BAD");
	expect_rv(p11->C_GetMechanismList(BOGUS_SLOT, NULL, &n),
		  CKR_SLOT_ID_INVALID,
		  "C_GetMechanismList: unknown slot -> CKR_SLOT_ID_INVALID");
	rv = p11->C_GetMechanismList(slot, NULL, &n);
	if (!tap(rv == CKR_OK && n > 0 && n <= NELEM(list),
		 "C_GetMechanismList: NULL list gives the count"))
		goto out;
	n1 = 1;
	expect_rv(p11->C_GetMechanismList(slot, list, &n1), CKR_BUFFER_TOO_SMALL,
		  "C_GetMechanismList: a list too short -> "
		  "CKR_BUFFER_TOO_SMALL");
	tap(n1 == n, "C_GetMechanismList: CKR_BUFFER_TOO_SMALL sets the count");
	rv = p11->C_GetMechanismList(slot, list, &n);
	expect_rv(rv, CKR_OK, "C_GetMechanismList: fills the list");
	nmechs = 0;
	for (i = 0; rv == CKR_OK && i < n; i++) {
		bool dup = false;

		for (j = 0; j < i; j++)
			dup |= list[j] == list[i];
		if (dup) {
			tap(false, "C_GetMechanismList: 0x%lx listed twice",
			    (unsigned long)list[i]);
			continue;
		}
		memset(&mi, 0, sizeof(mi));
		if (p11->C_GetMechanismInfo(slot, list[i], &mi) != CKR_OK) {
			tap(false, "C_GetMechanismInfo: listed mechanism 0x%lx "
				   "-> CKR_OK", (unsigned long)list[i]);
			continue;
		}
		mechs[nmechs] = list[i];
		mech_infos[nmechs++] = mi;
	}
	expect_rv(p11->C_GetMechanismInfo(slot, BOGUS_MECHANISM, &mi),
		  CKR_MECHANISM_INVALID,
		  "C_GetMechanismInfo: a mechanism not listed -> "
		  "CKR_MECHANISM_INVALID");
	expect_rv(p11->C_GetMechanismInfo(BOGUS_SLOT, CKM_SHA256, &mi),
		  CKR_SLOT_ID_INVALID,
		  "C_GetMechanismInfo: unknown slot -> CKR_SLOT_ID_INVALID");
	expect_rv(p11->C_GetMechanismInfo(slot, CKM_SHA256, NULL),
		  CKR_ARGUMENTS_BAD,
		  "C_GetMechanismInfo: NULL -> CKR_ARGUMENTS_BAD");

	for (i = 0; i < nmechs; i++) {
		const struct mdef *d = mdef_of(mechs[i]);
		const char *name = d ? d->name : NULL;
		char nb[32];
		CK_FLAGS fn = CKF_ENCRYPT | CKF_DECRYPT | CKF_DIGEST | CKF_SIGN |
			      CKF_SIGN_RECOVER | CKF_VERIFY |
			      CKF_VERIFY_RECOVER | CKF_GENERATE |
			      CKF_GENERATE_KEY_PAIR | CKF_WRAP | CKF_UNWRAP |
			      CKF_DERIVE | CONF_CKF_MESSAGE_ENCRYPT |
			      CONF_CKF_MESSAGE_DECRYPT | CONF_CKF_MESSAGE_SIGN |
			      CONF_CKF_MESSAGE_VERIFY;

		mi = mech_infos[i];
		if (name == NULL) {
			snprintf(nb, sizeof(nb), "mechanism 0x%lx",
				 (unsigned long)mechs[i]);
			name = nb;
		}
		if (!tap(mi.ulMinKeySize <= mi.ulMaxKeySize && (mi.flags & fn),
			 "C_GetMechanismInfo: %s: ulMinKeySize <= ulMaxKeySize "
			 "and a function flag", name))
			diag("min %lu max %lu flags 0x%lx",
			     (unsigned long)mi.ulMinKeySize,
			     (unsigned long)mi.ulMaxKeySize,
			     (unsigned long)mi.flags);
		if (d == NULL) {
			tap_skip("no conformance test for this mechanism",
				 "%s is advertised", name);
			flags_text(mi.flags, fl, sizeof(fl));
			table_put(name, "advertised (%s), not exercised", fl);
		}
	}
out:
	p11->C_CloseAllSessions(slot);
}

void
test_mechanisms(void)
{
	CK_SESSION_HANDLE s = user_session(true), pub = CK_INVALID_HANDLE;
	CK_MECHANISM_INFO mi;
	size_t i;
	char fl[200];

	if (s == CK_INVALID_HANDLE) {
		tap(false, "mechanisms: a read/write user session");
		return;
	}
	refresh_keys(s);
	make_secret_keys(s);
	dec_key_setup(s);
	open_session(slot, 0, &pub);

	/* Every mechanism this program knows. */
	for (i = 0; i < NELEM(mdefs); i++) {
		const struct mdef *d = &mdefs[i];
		bool adv = mech_advertised(d->type, &mi);
		bool req = mdef_required(d);
		int failed_before = t11_count(T11_FAILED);

		if (!adv) {
			const char *fnn = "";
			CK_OBJECT_HANDLE ak;
			CK_RV r;

			if (req)
				tap(false, "C_GetMechanismList: %s is "
					   "advertised (issue 5 item 7%s)",
				    d->name, d->tpm ? "; the TPM has it" : "");
			ak = aes_known ? aes_known : aes_gen;
			r = init_unadvertised(s, d, &ak, &fnn);
			if (d->kind == MK_AES && !ak) {
				char nm[200];

				snprintf(nm, sizeof(nm),
					 "%s: %s (not advertised; no AES key "
					 "to try) -> CKR_MECHANISM_INVALID or "
					 "CKR_KEY_TYPE_INCONSISTENT", fnn,
					 d->name);
				EXPECT_IN(r, nm, CKR_MECHANISM_INVALID,
					  CKR_FUNCTION_NOT_SUPPORTED,
					  CKR_KEY_TYPE_INCONSISTENT);
			}
			else if (!tap(r == CKR_MECHANISM_INVALID ||
					      r == CKR_FUNCTION_NOT_SUPPORTED,
				      "%s: %s (not advertised) -> "
				      "CKR_MECHANISM_INVALID", fnn, d->name))
				diag("got %s", rv_name(r));
			table_put(d->name, "not advertised: %s -> %s", fnn,
				  rv_name(r));
			continue;
		}
		flags_text(mi.flags, fl, sizeof(fl));
		if (!tap((mi.flags & d->need) == d->need,
			 "C_GetMechanismInfo: %s flags include what it must do",
			 d->name)) {
			char want[200];

			flags_text(d->need, want, sizeof(want));
			diag("flags %s, expected at least %s", fl, want);
		}
		switch (d->kind) {
		case MK_ECDSA:
		case MK_ECDH:
		case MK_KEYPAIR:
			if (d->type == CKM_RSA_PKCS_KEY_PAIR_GEN)
				goto rsa_sizes;
			if (!tap(mi.ulMinKeySize <= 256 &&
					 mi.ulMaxKeySize >= 384 &&
					 mi.ulMinKeySize >= 160 &&
					 mi.ulMaxKeySize <= 571,
				 "C_GetMechanismInfo: %s key sizes are field "
				 "bits covering 256 and 384", d->name))
				diag("%lu..%lu", (unsigned long)mi.ulMinKeySize,
				     (unsigned long)mi.ulMaxKeySize);
			if (!tap((mi.flags & CKF_EC_F_P) &&
					 (mi.flags & CKF_EC_NAMEDCURVE) &&
					 (mi.flags & CKF_EC_UNCOMPRESS),
				 "C_GetMechanismInfo: %s has CKF_EC_F_P, "
				 "CKF_EC_NAMEDCURVE and CKF_EC_UNCOMPRESS",
				 d->name))
				diag("flags %s", fl);
			break;
		case MK_RSA_SIGN:
		case MK_RSA_OAEP:
		rsa_sizes:
			if (!tap(mi.ulMinKeySize <= 2048 &&
					 mi.ulMaxKeySize >= 3072 &&
					 mi.ulMinKeySize >= 512 &&
					 mi.ulMaxKeySize <= 16384,
				 "C_GetMechanismInfo: %s key sizes are modulus "
				 "bits covering 2048 and 3072", d->name))
				diag("%lu..%lu", (unsigned long)mi.ulMinKeySize,
				     (unsigned long)mi.ulMaxKeySize);
			break;
		case MK_AES:
		case MK_KEYGEN:
			if (d->type == CKM_GENERIC_SECRET_KEY_GEN)
				break;
			if (!tap(mi.ulMinKeySize == 16 &&
					 (mi.ulMaxKeySize == 16 ||
					  mi.ulMaxKeySize == 24 ||
					  mi.ulMaxKeySize == 32),
				 "C_GetMechanismInfo: %s key sizes are bytes "
				 "(16..32)", d->name))
				diag("%lu..%lu", (unsigned long)mi.ulMinKeySize,
				     (unsigned long)mi.ulMaxKeySize);
			break;
		default:
			break;
		}
		switch (d->kind) {
		case MK_DIGEST:
			if (pub != CK_INVALID_HANDLE)
				ex_digest(pub, d);
			break;
		case MK_ECDSA:
			ex_sign(s, d, &mi);
			break;
		case MK_RSA_SIGN:
			ex_sign(s, d, &mi);
			if (d->type == CKM_RSA_PKCS || d->type == CKM_RSA_X_509)
				ex_rsa_enc(s, d, &mi);
			break;
		case MK_RSA_OAEP:
			ex_rsa_enc(s, d, &mi);
			break;
		case MK_ECDH:
			ex_ecdh(s, d);
			break;
		case MK_AES:
			ex_aes(s, d);
			break;
		case MK_HMAC:
			ex_hmac(s, d);
			ex_hmac_lengths(s, d);
			break;
		case MK_KEYGEN:
		case MK_KEYPAIR:
			/* exercised in the key generation section */
			break;
		}
		if (t11_count(T11_FAILED) == failed_before)
			table_put(d->name, "supported (%s; sizes %lu..%lu)", fl,
				  (unsigned long)mi.ulMinKeySize,
				  (unsigned long)mi.ulMaxKeySize);
		else
			table_put(d->name, "advertised (%s) but %d rule(s) "
					   "failed", fl,
				  t11_count(T11_FAILED) - failed_before);
	}
	if (pub != CK_INVALID_HANDLE)
		p11->C_CloseSession(pub);
	dec_key_cleanup(s);
	p11->C_CloseAllSessions(slot);
}

/* Keys for the AES and HMAC mechanisms, made before the mechanism walk. */
static void
make_secret_keys(CK_SESSION_HANDLE s)
{
	CK_MECHANISM ag = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_MECHANISM gg = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
	CK_ULONG l16 = 16, l32 = 32;
	CK_ATTRIBUTE at[] = {
		{ CKA_VALUE_LEN, &l16, sizeof(l16) },
		{ CKA_ENCRYPT, (void *)&yes, 1 },
		{ CKA_DECRYPT, (void *)&yes, 1 },
	};
	CK_ATTRIBUTE gt[] = {
		{ CKA_VALUE_LEN, &l32, sizeof(l32) },
		{ CKA_SIGN, (void *)&yes, 1 },
		{ CKA_VERIFY, (void *)&yes, 1 },
	};

	aes_known = aes_gen = hmac_known = hmac_gen = CK_INVALID_HANDLE;
	if (create_secret(s, CKK_AES, aes_known_value, 16, "conf-aes-known",
			  false, true, false, &aes_known) != CKR_OK)
		aes_known = CK_INVALID_HANDLE;
	if (create_secret(s, CKK_GENERIC_SECRET, hmac_known_value, 32,
			  "conf-hmac-known", false, true, false,
			  &hmac_known) != CKR_OK)
		hmac_known = CK_INVALID_HANDLE;
	if (mech_advertised(CKM_AES_KEY_GEN, NULL) &&
	    p11->C_GenerateKey(s, &ag, at, NELEM(at), &aes_gen) != CKR_OK)
		aes_gen = CK_INVALID_HANDLE;
	if (mech_advertised(CKM_GENERIC_SECRET_KEY_GEN, NULL) &&
	    p11->C_GenerateKey(s, &gg, gt, NELEM(gt), &hmac_gen) != CKR_OK)
		hmac_gen = CK_INVALID_HANDLE;
}
