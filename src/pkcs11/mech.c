/* The mechanism table: what each mechanism is, what C_GetMechanismList and
 * C_GetMechanismInfo say of it on this TPM, which keys and parameters the
 * C_*Init functions take with it, and the hooks that finish it. */
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "crypto/ec.h"
#include "pkcs11/mech.h"

/* Key sizes and the TPM_HAS_* bit that offers each (bits; bytes for
 * secret keys, v2.40 2.14, 2.8). */
static const mech_size sizes_ec[] = {
	{TPM_HAS_P256, 256}, {TPM_HAS_P384, 384}, {0, 0}};
static const mech_size sizes_rsa[] = {
	{TPM_HAS_RSA2048, 2048}, {TPM_HAS_RSA3072, 3072}, {0, 0}};
static const mech_size sizes_aes[] = {
	{TPM_HAS_AES128, 16}, {TPM_HAS_AES256, 32}, {0, 0}};
static const mech_size sizes_hmac[] = {{TPM_HAS_SHA1, 20},
				       {TPM_HAS_SHA256, 32},
				       {TPM_HAS_SHA384, 48},
				       {TPM_HAS_SHA512, 64},
				       {0, 0}};

static CK_RV params_none(session *s, const mech_row *m, CK_MECHANISM_PTR p,
			 const token_obj *o, op_kind op);
static CK_RV params_pss(session *s, const mech_row *m, CK_MECHANISM_PTR p,
			const token_obj *o, op_kind op);
static CK_RV params_x509(session *s, const mech_row *m, CK_MECHANISM_PTR p,
			 const token_obj *o, op_kind op);

/* The families' hooks: {params, sign, verify, unpad, crypt}. */
static const mech_ops
	ops_none = {params_none, NULL, NULL, NULL, NULL},
	ops_ecdsa = {params_none, sign_ecdsa, verify_ecdsa, NULL, NULL},
	ops_rsa_pkcs = {params_none, sign_rsa_pkcs, verify_rsa_pkcs,
			decrypt_unpad_pkcs1, decrypt_rsa_inlock},
	ops_rsa_pss = {params_pss, sign_rsa_pss, verify_rsa_pss, NULL, NULL},
	ops_rsa_x509 = {params_x509, sign_rsa_x509, verify_rsa_x509,
			decrypt_unpad_none, decrypt_rsa_inlock},
	ops_rsa_oaep = {decrypt_oaep_params, NULL, NULL, decrypt_unpad_oaep,
			decrypt_rsa_inlock},
	ops_hmac = {params_none, sign_hmac, verify_hmac, NULL, NULL},
	ops_aes = {aes_params, NULL, NULL, NULL, aes_oneshot_inlock};

#define EC_F (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define SIG (CKF_HW | CKF_SIGN | CKF_VERIFY)
#define ECDSA(t, h)                                                          \
	{                                                                    \
		t, MECH_ECDSA, CKK_EC, h, SIG | EC_F, 0, sizes_ec, 256, 384, \
			0, false, &ops_ecdsa                                 \
	}
/* The RSA mechanisms sign through TPM2_RSA_Decrypt (sign.c). */
#define RSA(t, k, h, f, ops)                                               \
	{                                                                  \
		t, k, CKK_RSA, h, f, TPM_HAS_RSA_DECRYPT, sizes_rsa, 2048, \
			3072, 0, false, ops                                \
	}
#define DIGEST(t, h)                                                           \
	{                                                                      \
		t, MECH_DIGEST, (CK_KEY_TYPE)-1, h, CKF_DIGEST, 0, NULL, 0, 0, \
			0, false, &ops_none                                    \
	}
#define AES(t, mode, need, pad)                                              \
	{                                                                    \
		t, MECH_AES, CKK_AES, HASH_NONE,                             \
			CKF_HW | CKF_ENCRYPT | CKF_DECRYPT, need, sizes_aes, \
			16, 32, mode, pad, &ops_aes                          \
	}
/* A TPM HMAC key serves one hash: a key is for the one HMAC mechanism its
 * CKA_ALLOWED_MECHANISMS names (chosen when it is made, from the template
 * or its length); any length up to HMAC_KEY_MAX bytes. */
#define HMAC(t, h, has)                                                        \
	{                                                                      \
		t, MECH_HMAC, CKK_GENERIC_SECRET, h, SIG,                      \
			TPM_HAS_HMAC | (has), NULL, 1, HMAC_KEY_MAX, 0, false, \
			&ops_hmac                                              \
	}

/* A family with its five hashing variants (SHA-1, -224, -256, -384, -512). */
#define HASHED(ROW, t1, t224, t256, t384, t512)                             \
	ROW(t1, HASH_SHA1), ROW(t224, HASH_SHA224), ROW(t256, HASH_SHA256), \
		ROW(t384, HASH_SHA384), ROW(t512, HASH_SHA512)
/* Raw PKCS#1 v1.5 also decrypts; the hashing ones do not. */
#define RSA_PKCS(t, h)                                                     \
	RSA(t, MECH_RSA_PKCS, h, SIG | (h == HASH_NONE ? CKF_DECRYPT : 0), \
	    &ops_rsa_pkcs)
#define RSA_PSS(t, h) RSA(t, MECH_RSA_PSS, h, SIG, &ops_rsa_pss)

static const mech_row mechs[] = {
	ECDSA(CKM_ECDSA, HASH_NONE),
	HASHED(ECDSA, CKM_ECDSA_SHA1, CKM_ECDSA_SHA224, CKM_ECDSA_SHA256,
	       CKM_ECDSA_SHA384, CKM_ECDSA_SHA512),
	RSA_PKCS(CKM_RSA_PKCS, HASH_NONE),
	HASHED(RSA_PKCS, CKM_SHA1_RSA_PKCS, CKM_SHA224_RSA_PKCS,
	       CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS),
	RSA_PSS(CKM_RSA_PKCS_PSS, HASH_NONE),
	HASHED(RSA_PSS, CKM_SHA1_RSA_PKCS_PSS, CKM_SHA224_RSA_PKCS_PSS,
	       CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_RSA_PKCS_PSS,
	       CKM_SHA512_RSA_PKCS_PSS),
	/* Raw RSA signs and decrypts. */
	RSA(CKM_RSA_X_509, MECH_RSA_X509, HASH_NONE, SIG | CKF_DECRYPT,
	    &ops_rsa_x509),
	RSA(CKM_RSA_PKCS_OAEP, MECH_RSA_OAEP, HASH_NONE, CKF_HW | CKF_DECRYPT,
	    &ops_rsa_oaep),
	/* Digests are the host's (OpenSSL): every TPM offers them. */
	DIGEST(CKM_SHA_1, HASH_SHA1),
	DIGEST(CKM_SHA224, HASH_SHA224),
	DIGEST(CKM_SHA256, HASH_SHA256),
	DIGEST(CKM_SHA384, HASH_SHA384),
	DIGEST(CKM_SHA512, HASH_SHA512),
	/* C_GenerateKeyPair (object.c), C_DeriveKey (derive.c). */
	{CKM_EC_KEY_PAIR_GEN, MECH_KEYGEN, CKK_EC, HASH_NONE,
	 CKF_HW | CKF_GENERATE_KEY_PAIR | EC_F, 0, sizes_ec, 256, 384, 0, false,
	 &ops_none},
	{CKM_ECDH1_DERIVE, MECH_DERIVE, CKK_EC, HASH_NONE,
	 CKF_HW | CKF_DERIVE | EC_F, TPM_HAS_ECDH, sizes_ec, 256, 384, 0, false,
	 &ops_none},
	{CKM_RSA_PKCS_KEY_PAIR_GEN, MECH_KEYGEN, CKK_RSA, HASH_NONE,
	 CKF_HW | CKF_GENERATE_KEY_PAIR, 0, sizes_rsa, 2048, 3072, 0, false,
	 &ops_none},
	/* Secret keys in the TPM (C_GenerateKey, secret.c); sizes in bytes
	 * (v2.40 2.14, 2.8). */
	{CKM_AES_KEY_GEN, MECH_SECRET_GEN, CKK_AES, HASH_NONE,
	 CKF_HW | CKF_GENERATE, 0, sizes_aes, 16, 32, 0, false, &ops_none},
	{CKM_GENERIC_SECRET_KEY_GEN, MECH_SECRET_GEN, CKK_GENERIC_SECRET,
	 HASH_NONE, CKF_HW | CKF_GENERATE, TPM_HAS_HMAC, sizes_hmac, 20, 64, 0,
	 false, &ops_none},
	AES(CKM_AES_ECB, TPM2_ALG_ECB, TPM_HAS_ECB, false),
	AES(CKM_AES_CBC, TPM2_ALG_CBC, TPM_HAS_CBC, false),
	AES(CKM_AES_CBC_PAD, TPM2_ALG_CBC, TPM_HAS_CBC, true),
	AES(CKM_AES_CFB128, TPM2_ALG_CFB, TPM_HAS_CFB, false),
	AES(CKM_AES_CTR, TPM2_ALG_CTR, TPM_HAS_CTR, false),
	HMAC(CKM_SHA_1_HMAC, HASH_SHA1, TPM_HAS_SHA1),
	HMAC(CKM_SHA256_HMAC, HASH_SHA256, TPM_HAS_SHA256),
	HMAC(CKM_SHA384_HMAC, HASH_SHA384, TPM_HAS_SHA384),
	HMAC(CKM_SHA512_HMAC, HASH_SHA512, TPM_HAS_SHA512),
};

const mech_row *
mech_find(CK_MECHANISM_TYPE type)
{
	size_t i;

	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (mechs[i].type == type)
			return &mechs[i];
	return NULL;
}

size_t
mech_count(void)
{
	return sizeof(mechs) / sizeof(mechs[0]);
}

const mech_row *
mech_at(size_t i)
{
	return &mechs[i];
}

CK_MECHANISM_TYPE
mech_hmac_type(hash_algo h)
{
	size_t i;

	for (i = 0; i < mech_count(); i++)
		if (mechs[i].kind == MECH_HMAC && mechs[i].hash == h)
			return mechs[i].type;
	return CKM_VENDOR_DEFINED;
}

/* Whether this TPM (has: TPM_HAS_*) offers m, and the key sizes it
 * offers m with (issue 14: C_GetMechanismList and C_GetMechanismInfo
 * show only what works). */
bool
mech_offered(const mech_row *m, uint32_t has, CK_ULONG *min, CK_ULONG *max)
{
	const mech_size *sz;
	CK_ULONG lo = 0, hi = 0;

	*min = m->min_bits;
	*max = m->max_bits;
	if ((has & m->need) != m->need)
		return false;
	if (m->sizes == NULL)
		return true;
	for (sz = m->sizes; sz->bit != 0; sz++) {
		if (!(has & sz->bit))
			continue;
		if (lo == 0)
			lo = sz->size;
		hi = sz->size;
	}
	if (lo > *min)
		*min = lo;
	if (hi < *max)
		*max = hi;
	return lo != 0 && *min <= *max;
}

CK_RV
mech_info(CK_MECHANISM_TYPE type, uint32_t has, CK_MECHANISM_INFO_PTR info)
{
	const mech_row *m = mech_find(type);

	if (m == NULL ||
	    !mech_offered(m, has, &info->ulMinKeySize, &info->ulMaxKeySize))
		return CKR_MECHANISM_INVALID;
	info->flags = m->flags;
	return CKR_OK;
}

/* --- C_*Init ----------------------------------------------------------- */

static CK_FLAGS
op_flag(op_kind op)
{
	switch (op) {
	case OP_SIGN:
		return CKF_SIGN;
	case OP_VERIFY:
		return CKF_VERIFY;
	case OP_DECRYPT:
		return CKF_DECRYPT;
	case OP_ENCRYPT:
		return CKF_ENCRYPT;
	case OP_DIGEST:
		return CKF_DIGEST;
	default:
		return 0;
	}
}

static CK_ATTRIBUTE_TYPE
op_permission(op_kind op)
{
	switch (op) {
	case OP_SIGN:
		return CKA_SIGN;
	case OP_VERIFY:
		return CKA_VERIFY;
	case OP_DECRYPT:
		return CKA_DECRYPT;
	default:
		return CKA_ENCRYPT;
	}
}

/* The key of the mechanism's type (an HMAC key: for its hash). */
static bool
mech_key_fits(const mech_row *m, const token_obj *o)
{
	CK_ULONG kt = (CK_ULONG)-1;

	attr_get_ulong(&o->attrs, CKA_KEY_TYPE, &kt);
	return kt == m->key_type &&
	       (m->kind != MECH_HMAC || o->pub.hmac_hash == m->hash);
}

/* The key of an operation: a secret key for AES and HMAC; for the others
 * the private key (a TPM key: it has a public area) to sign and decrypt,
 * the public key to verify (on the host). Then the key type and the
 * operation's CKA_SIGN, CKA_VERIFY, ... (v2.40 5.1.6
 * CKR_KEY_TYPE_INCONSISTENT, CKR_KEY_FUNCTION_NOT_PERMITTED). When both
 * are wrong, encryption, decryption and HMAC verification report the key
 * type, signing and public-key verification the permission. */
static CK_RV
mech_key_check(const mech_row *m, const token_obj *o, op_kind op)
{
	CK_OBJECT_CLASS cls;
	bool type_first;

	if (m->key_type == CKK_AES || m->key_type == CKK_GENERIC_SECRET)
		cls = CKO_SECRET_KEY;
	else
		cls = op == OP_VERIFY ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY;
	if (o->cls != cls || (cls != CKO_PUBLIC_KEY && o->key.pub.data == NULL))
		return CKR_KEY_TYPE_INCONSISTENT;
	type_first = op == OP_DECRYPT || op == OP_ENCRYPT ||
		     (op == OP_VERIFY && m->kind == MECH_HMAC);
	if (type_first && !mech_key_fits(m, o))
		return CKR_KEY_TYPE_INCONSISTENT;
	if (!attr_bool_or(&o->attrs, op_permission(op), false))
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	if (!mech_key_fits(m, o))
		return CKR_KEY_TYPE_INCONSISTENT;
	return CKR_OK;
}

/* Mechanisms without parameters (v2.40 5.1.6: any given is invalid). */
static CK_RV
params_none(session *s, const mech_row *m, CK_MECHANISM_PTR p,
	    const token_obj *o, op_kind op)
{
	(void)s, (void)m, (void)o, (void)op;
	return p->ulParameterLen != 0 ? CKR_MECHANISM_PARAM_INVALID : CKR_OK;
}

/* PSS parameters (v2.40 2.1.13): the hash must be the mechanism's own for
 * the hashing variants; the salt must fit the modulus (of the private key
 * from its public area, of a public key from CKA_MODULUS_BITS). */
static CK_RV
params_pss(session *s, const mech_row *m, CK_MECHANISM_PTR p,
	   const token_obj *o, op_kind op)
{
	CK_RSA_PKCS_PSS_PARAMS *out = &s->pss;
	CK_ULONG modbits = o->pub.bits;
	hash_algo h;

	if (op == OP_VERIFY &&
	    !attr_get_ulong(&o->attrs, CKA_MODULUS_BITS, &modbits))
		modbits = 0;
	if (p->pParameter == NULL ||
	    p->ulParameterLen != sizeof(CK_RSA_PKCS_PSS_PARAMS))
		return CKR_MECHANISM_PARAM_INVALID;
	memcpy(out, p->pParameter, sizeof(*out));
	h = mech_hash(out->hashAlg);
	if (h == HASH_NONE || mech_mgf_hash(out->mgf) == HASH_NONE)
		return CKR_MECHANISM_PARAM_INVALID;
	if (m->hash != HASH_NONE && m->hash != h)
		return CKR_MECHANISM_PARAM_INVALID;
	/* RFC 8017 9.1.1 step 3, written so that no sum wraps around (a
	 * huge sLen must not pass; found by fuzz_module). */
	if (hash_len(h) + 2 > (modbits + 7) / 8 ||
	    out->sLen > (modbits + 7) / 8 - hash_len(h) - 2)
		return CKR_MECHANISM_PARAM_INVALID;
	return CKR_OK;
}

/*
 * CKM_RSA_X_509 signing hands the caller's block to the raw private-key
 * operation (TPM2_RSA_Decrypt, scheme NULL), which is RSA decryption: on a
 * key that may not decrypt, C_Sign would return the plaintext of any
 * ciphertext made for it. The key may sign (CKA_SIGN, checked before), so
 * the function is permitted; this mechanism cannot be used with it:
 * PKCS#11 v2.40 5.1.6 CKR_MECHANISM_INVALID, "the mechanism specified
 * cannot be used in the selected token with the selected function" (the
 * code modules give for a mechanism outside a key's
 * CKA_ALLOWED_MECHANISMS, v2.40 4.7). Callers take it as "not for this
 * key": pkcs11-tool --test skips the mechanism, while
 * CKR_KEY_FUNCTION_NOT_PERMITTED makes it abort.
 *
 * PKCS#1 v1.5 and PSS go through the same TPM command but are no such
 * oracle, because the module builds the whole block:
 * - v1.5 (RFC 8017 9.2): 00 01 FF..FF 00 || T, at least eight FF, so the
 *   top 88 bits are fixed. A ciphertext, or a blinded one c * r^e mod n,
 *   is a uniform number mod n and has that form with probability about
 *   2^-88 per try: the caller cannot get the private exponent applied to
 *   a ciphertext of its choice.
 * - PSS (RFC 8017 9.1.1): maskedDB || H || BC with H a hash over a salt
 *   the module draws; no bit of the block is the caller's.
 */
static CK_RV
params_x509(session *s, const mech_row *m, CK_MECHANISM_PTR p,
	    const token_obj *o, op_kind op)
{
	if (op == OP_SIGN && !attr_bool_or(&o->attrs, CKA_DECRYPT, false)) {
		log_debug("C_SignInit: CKM_RSA_X_509 needs CKA_DECRYPT (raw "
			  "signing is decryption)");
		return CKR_MECHANISM_INVALID;
	}
	return params_none(s, m, p, o, op);
}

CK_RV
mech_init_inlock(session *s, CK_MECHANISM_PTR p, token_obj *o, op_kind op)
{
	const mech_row *m = mech_find(p->mechanism);
	CK_RV rv;

	if (m == NULL || !(m->flags & op_flag(op)))
		return CKR_MECHANISM_INVALID;
	if (o != NULL && (rv = mech_key_check(m, o, op)) != CKR_OK)
		return rv;
	s->op_key = o != NULL ? o->id : 0;
	s->ctr_bits = 0;
	if (op == OP_VERIFY && o->cls == CKO_PUBLIC_KEY &&
	    (rv = verify_key(s, o)) != CKR_OK)
		goto fail;
	if ((rv = m->ops->params(s, m, p, o, op)) != CKR_OK)
		goto fail;
	/* The hashing mechanisms hash on the host as the data comes. */
	if (m->hash != HASH_NONE && m->kind != MECH_HMAC &&
	    (s->hctx = hash_ctx_new(m->hash)) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto fail;
	}
	s->op = op;
	s->mech = m;
	s->plen = 0;
	s->op_multi = false;
	return CKR_OK;
fail:
	session_end_ops(s);
	return rv;
}

bool
mech_multipart(const mech_row *m, op_kind op)
{
	if (op == OP_DECRYPT || op == OP_ENCRYPT)
		return m->kind == MECH_AES;
	return m->hash != HASH_NONE;
}

size_t
mech_sig_len(const mech_row *m, const token_obj *o)
{
	if (m->kind == MECH_HMAC)
		return hash_len(m->hash);
	if (o->pub.curve != CURVE_NONE)
		return 2 * ec_field_len(o->pub.curve);
	return o->pub.n_len;
}

hash_algo
mech_hash(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_SHA_1:
		return HASH_SHA1;
	case CKM_SHA224:
		return HASH_SHA224;
	case CKM_SHA256:
		return HASH_SHA256;
	case CKM_SHA384:
		return HASH_SHA384;
	case CKM_SHA512:
		return HASH_SHA512;
	default:
		return HASH_NONE;
	}
}

hash_algo
mech_mgf_hash(CK_RSA_PKCS_MGF_TYPE g)
{
	switch (g) {
	case CKG_MGF1_SHA1:
		return HASH_SHA1;
	case CKG_MGF1_SHA224:
		return HASH_SHA224;
	case CKG_MGF1_SHA256:
		return HASH_SHA256;
	case CKG_MGF1_SHA384:
		return HASH_SHA384;
	case CKG_MGF1_SHA512:
		return HASH_SHA512;
	default:
		return HASH_NONE;
	}
}
