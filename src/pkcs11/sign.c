/* Signatures: the mechanism table and C_SignInit, C_Sign, C_SignUpdate,
 * C_SignFinal. Once a key is loaded, a signature is one TPM command:
 * TPM2_Sign (ECDSA) or TPM2_RSA_Decrypt on a block padded here (RSA). */
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "crypto/ec.h"
#include "crypto/rsapad.h"
#include "pkcs11/module.h"
#include "util/secure.h"

static const mech_row mechs[] = {
	{CKM_ECDSA, CKK_EC, HASH_NONE, MECH_ECDSA, 256, 384},
	{CKM_ECDSA_SHA1, CKK_EC, HASH_SHA1, MECH_ECDSA, 256, 384},
	{CKM_ECDSA_SHA224, CKK_EC, HASH_SHA224, MECH_ECDSA, 256, 384},
	{CKM_ECDSA_SHA256, CKK_EC, HASH_SHA256, MECH_ECDSA, 256, 384},
	{CKM_ECDSA_SHA384, CKK_EC, HASH_SHA384, MECH_ECDSA, 256, 384},
	{CKM_ECDSA_SHA512, CKK_EC, HASH_SHA512, MECH_ECDSA, 256, 384},
	{CKM_RSA_PKCS, CKK_RSA, HASH_NONE, MECH_RSA_PKCS, 2048, 3072},
	{CKM_SHA1_RSA_PKCS, CKK_RSA, HASH_SHA1, MECH_RSA_PKCS, 2048, 3072},
	{CKM_SHA224_RSA_PKCS, CKK_RSA, HASH_SHA224, MECH_RSA_PKCS, 2048, 3072},
	{CKM_SHA256_RSA_PKCS, CKK_RSA, HASH_SHA256, MECH_RSA_PKCS, 2048, 3072},
	{CKM_SHA384_RSA_PKCS, CKK_RSA, HASH_SHA384, MECH_RSA_PKCS, 2048, 3072},
	{CKM_SHA512_RSA_PKCS, CKK_RSA, HASH_SHA512, MECH_RSA_PKCS, 2048, 3072},
	{CKM_RSA_PKCS_PSS, CKK_RSA, HASH_NONE, MECH_RSA_PSS, 2048, 3072},
	{CKM_SHA1_RSA_PKCS_PSS, CKK_RSA, HASH_SHA1, MECH_RSA_PSS, 2048, 3072},
	{CKM_SHA224_RSA_PKCS_PSS, CKK_RSA, HASH_SHA224, MECH_RSA_PSS, 2048, 3072},
	{CKM_SHA256_RSA_PKCS_PSS, CKK_RSA, HASH_SHA256, MECH_RSA_PSS, 2048, 3072},
	{CKM_SHA384_RSA_PKCS_PSS, CKK_RSA, HASH_SHA384, MECH_RSA_PSS, 2048, 3072},
	{CKM_SHA512_RSA_PKCS_PSS, CKK_RSA, HASH_SHA512, MECH_RSA_PSS, 2048, 3072},
	{CKM_RSA_X_509, CKK_RSA, HASH_NONE, MECH_RSA_X509, 2048, 3072},
	{CKM_RSA_PKCS_OAEP, CKK_RSA, HASH_NONE, MECH_RSA_OAEP, 2048, 3072},
	{CKM_SHA_1, (CK_KEY_TYPE)-1, HASH_SHA1, MECH_DIGEST, 0, 0},
	{CKM_SHA224, (CK_KEY_TYPE)-1, HASH_SHA224, MECH_DIGEST, 0, 0},
	{CKM_SHA256, (CK_KEY_TYPE)-1, HASH_SHA256, MECH_DIGEST, 0, 0},
	{CKM_SHA384, (CK_KEY_TYPE)-1, HASH_SHA384, MECH_DIGEST, 0, 0},
	{CKM_SHA512, (CK_KEY_TYPE)-1, HASH_SHA512, MECH_DIGEST, 0, 0},
	{CKM_EC_KEY_PAIR_GEN, CKK_EC, HASH_NONE, MECH_KEYGEN, 256, 384},
	{CKM_ECDH1_DERIVE, CKK_EC, HASH_NONE, MECH_DERIVE, 256, 384},
	{CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA, HASH_NONE, MECH_KEYGEN, 2048, 3072},
	/* Secret keys in the TPM; sizes in bytes (v2.40 2.14, 2.8). */
	{CKM_AES_KEY_GEN, CKK_AES, HASH_NONE, MECH_SECRET_GEN, 16, 32},
	{CKM_GENERIC_SECRET_KEY_GEN, CKK_GENERIC_SECRET, HASH_NONE,
	 MECH_SECRET_GEN, 20, 64},
	{CKM_AES_ECB, CKK_AES, HASH_NONE, MECH_AES, 16, 32, TPM2_ALG_ECB, false},
	{CKM_AES_CBC, CKK_AES, HASH_NONE, MECH_AES, 16, 32, TPM2_ALG_CBC, false},
	{CKM_AES_CBC_PAD, CKK_AES, HASH_NONE, MECH_AES, 16, 32, TPM2_ALG_CBC, true},
	{CKM_AES_CFB128, CKK_AES, HASH_NONE, MECH_AES, 16, 32, TPM2_ALG_CFB, false},
	{CKM_AES_CTR, CKK_AES, HASH_NONE, MECH_AES, 16, 32, TPM2_ALG_CTR, false},
	/* A TPM HMAC key serves one hash: a key is for the one of these
	 * its CKA_ALLOWED_MECHANISMS names (chosen when it is made, from the
	 * template or its length); any length up to HMAC_KEY_MAX bytes. */
	{CKM_SHA_1_HMAC, CKK_GENERIC_SECRET, HASH_SHA1, MECH_HMAC, 1, HMAC_KEY_MAX},
	{CKM_SHA256_HMAC, CKK_GENERIC_SECRET, HASH_SHA256, MECH_HMAC, 1, HMAC_KEY_MAX},
	{CKM_SHA384_HMAC, CKK_GENERIC_SECRET, HASH_SHA384, MECH_HMAC, 1, HMAC_KEY_MAX},
	{CKM_SHA512_HMAC, CKK_GENERIC_SECRET, HASH_SHA512, MECH_HMAC, 1, HMAC_KEY_MAX},
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

/* Key sizes and the TPM_HAS_* bit that offers each. */
struct size_bit {
	uint32_t bit;
	CK_ULONG size;
};
static const struct size_bit sizes_ec[] = {{TPM_HAS_P256, 256},
					   {TPM_HAS_P384, 384}, {0, 0}};
static const struct size_bit sizes_rsa[] = {{TPM_HAS_RSA2048, 2048},
					    {TPM_HAS_RSA3072, 3072}, {0, 0}};
static const struct size_bit sizes_aes[] = {{TPM_HAS_AES128, 16},
					    {TPM_HAS_AES256, 32}, {0, 0}};
static const struct size_bit sizes_hmac[] = {
	{TPM_HAS_SHA1, 20}, {TPM_HAS_SHA256, 32}, {TPM_HAS_SHA384, 48},
	{TPM_HAS_SHA512, 64}, {0, 0}};

/* Whether this TPM (has: TPM_HAS_*) offers m, and the key sizes it
 * offers m with (issue 14: C_GetMechanismList and C_GetMechanismInfo
 * show only what works). Digests are the host's. */
bool
mech_offered(const mech_row *m, uint32_t has, CK_ULONG *min, CK_ULONG *max)
{
	const struct size_bit *sz = NULL;
	CK_ULONG lo = 0, hi = 0;
	uint32_t need = 0;

	*min = m->min_bits;
	*max = m->max_bits;
	switch (m->kind) {
	case MECH_DIGEST:
		return true;
	case MECH_ECDSA:
		sz = sizes_ec;
		break;
	case MECH_DERIVE:
		need = TPM_HAS_ECDH;
		sz = sizes_ec;
		break;
	case MECH_KEYGEN:
		sz = m->key_type == CKK_EC ? sizes_ec : sizes_rsa;
		break;
	case MECH_RSA_PKCS:
	case MECH_RSA_PSS:
	case MECH_RSA_X509:
	case MECH_RSA_OAEP:
		need = TPM_HAS_RSA_DECRYPT;
		sz = sizes_rsa;
		break;
	case MECH_SECRET_GEN:
		need = m->key_type == CKK_AES ? 0 : TPM_HAS_HMAC;
		sz = m->key_type == CKK_AES ? sizes_aes : sizes_hmac;
		break;
	case MECH_AES:
		need = m->tpm_mode == TPM2_ALG_ECB   ? TPM_HAS_ECB
		       : m->tpm_mode == TPM2_ALG_CBC ? TPM_HAS_CBC
		       : m->tpm_mode == TPM2_ALG_CFB ? TPM_HAS_CFB
						     : TPM_HAS_CTR;
		sz = sizes_aes;
		break;
	case MECH_HMAC:
		need = TPM_HAS_HMAC |
		       (m->hash == HASH_SHA1     ? TPM_HAS_SHA1
			: m->hash == HASH_SHA384 ? TPM_HAS_SHA384
			: m->hash == HASH_SHA512 ? TPM_HAS_SHA512
						 : TPM_HAS_SHA256);
		break;
	}
	if ((has & need) != need)
		return false;
	if (sz == NULL)
		return true;
	for (; sz->bit != 0; sz++) {
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

hash_algo
mech_hash(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_SHA_1: return HASH_SHA1;
	case CKM_SHA224: return HASH_SHA224;
	case CKM_SHA256: return HASH_SHA256;
	case CKM_SHA384: return HASH_SHA384;
	case CKM_SHA512: return HASH_SHA512;
	default: return HASH_NONE;
	}
}

hash_algo
mech_mgf_hash(CK_RSA_PKCS_MGF_TYPE g)
{
	switch (g) {
	case CKG_MGF1_SHA1: return HASH_SHA1;
	case CKG_MGF1_SHA224: return HASH_SHA224;
	case CKG_MGF1_SHA256: return HASH_SHA256;
	case CKG_MGF1_SHA384: return HASH_SHA384;
	case CKG_MGF1_SHA512: return HASH_SHA512;
	default: return HASH_NONE;
	}
}

/* PSS parameters (v2.40 2.1.13): the hash must be the mechanism's own for
 * the hashing variants; the salt must fit the modulus. */
CK_RV
mech_pss_params(const mech_row *m, CK_MECHANISM_PTR mech, unsigned modbits,
		CK_RSA_PKCS_PSS_PARAMS *out)
{
	hash_algo h;

	if (mech->pParameter == NULL ||
	    mech->ulParameterLen != sizeof(CK_RSA_PKCS_PSS_PARAMS))
		return CKR_MECHANISM_PARAM_INVALID;
	memcpy(out, mech->pParameter, sizeof(*out));
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

CK_RV
C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	   CK_OBJECT_HANDLE hKey)
{
	const mech_row *m;
	CK_KEY_TYPE kt = 0;
	session *s;
	token *t;
	token_obj *o;
	CK_RV rv;

	CHECK_INIT();
	if (pMechanism == NULL)
		return CKR_ARGUMENTS_BAD;
	mod_lock();
	if ((rv = op_begin_inlock(hSession, hKey, true, &s, &t, &o)) != CKR_OK)
		goto out;
	if ((m = mech_find(pMechanism->mechanism)) == NULL ||
	    (m->kind != MECH_ECDSA && m->kind != MECH_RSA_PKCS &&
	     m->kind != MECH_RSA_PSS && m->kind != MECH_RSA_X509 &&
	     m->kind != MECH_HMAC)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if ((o->cls != (m->kind == MECH_HMAC ? CKO_SECRET_KEY
					     : CKO_PRIVATE_KEY)) ||
	    o->key.pub.data == NULL) {
		rv = CKR_KEY_TYPE_INCONSISTENT;
		goto out;
	}
	if (!attr_bool_or(&o->attrs, CKA_SIGN, false)) {
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
		goto out;
	}
	attr_get_ulong(&o->attrs, CKA_KEY_TYPE, &kt);
	if (kt != m->key_type ||
	    (m->kind == MECH_HMAC && o->pub.hmac_hash != m->hash)) {
		rv = CKR_KEY_TYPE_INCONSISTENT;
		goto out;
	}
	/*
	 * CKM_RSA_X_509 hands the caller's block to the raw private-key
	 * operation (TPM2_RSA_Decrypt, scheme NULL), which is RSA
	 * decryption: on a key that may not decrypt, C_Sign would return
	 * the plaintext of any ciphertext made for it. The key may sign
	 * (CKA_SIGN, checked above), so the function is permitted; this
	 * mechanism cannot be used with it: PKCS#11 v2.40 5.1.6
	 * CKR_MECHANISM_INVALID, "the mechanism specified cannot be used in
	 * the selected token with the selected function" (the code modules
	 * give for a mechanism outside a key's CKA_ALLOWED_MECHANISMS, v2.40
	 * 4.7). Callers take it as "not for this key": pkcs11-tool --test
	 * skips the mechanism, while CKR_KEY_FUNCTION_NOT_PERMITTED makes it
	 * abort.
	 *
	 * PKCS#1 v1.5 and PSS go through the same TPM command but are no
	 * such oracle, because the module builds the whole block:
	 * - v1.5 (RFC 8017 9.2): 00 01 FF..FF 00 || T, at least eight FF, so
	 *   the top 88 bits are fixed. A ciphertext, or a blinded one
	 *   c * r^e mod n, is a uniform number mod n and has that form with
	 *   probability about 2^-88 per try: the caller cannot get the
	 *   private exponent applied to a ciphertext of its choice.
	 * - PSS (RFC 8017 9.1.1): maskedDB || H || BC with H a hash over a
	 *   salt the module draws; no bit of the block is the caller's.
	 */
	if (m->kind == MECH_RSA_X509 &&
	    !attr_bool_or(&o->attrs, CKA_DECRYPT, false)) {
		log_debug("C_SignInit: CKM_RSA_X_509 needs CKA_DECRYPT (raw "
			  "signing is decryption)");
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (m->kind == MECH_RSA_PSS &&
	    (rv = mech_pss_params(m, pMechanism, o->pub.bits, &s->pss)) !=
		    CKR_OK)
		goto out;
	if (m->kind != MECH_RSA_PSS && pMechanism->ulParameterLen != 0) {
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}
	if (m->hash != HASH_NONE && m->kind != MECH_HMAC &&
	    (s->hctx = hash_ctx_new(m->hash)) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	s->op = OP_SIGN;
	s->mech = m;
	s->op_key = o->id;
	s->op_multi = false;
out:
	mod_unlock();
	LOG_RV("C_SignInit", rv);
	return rv;
}

static size_t
sig_len(const session *s, const token_obj *o)
{
	if (s->mech->kind == MECH_HMAC)
		return hash_len(s->mech->hash);
	if (o->pub.curve != CURVE_NONE)
		return 2 * ec_field_len(o->pub.curve);
	return o->pub.n_len;
}

/* Signs the digest (hashing mechanisms) or the caller's data. */
static CK_RV
sign_do(session *s, token *t, token_obj *o, const uint8_t *in, size_t inlen,
	uint8_t *sig, size_t *siglen)
{
	const mech_row *m = s->mech;
	uint8_t block[512], t_buf[128];
	size_t modlen = o->pub.n_len, tlen;
	hash_algo h;
	CK_RV rv;

	switch (m->kind) {
	case MECH_ECDSA:
		return token_sign_ecdsa(mod.c, t, o, in, inlen, sig, siglen);
	case MECH_RSA_PKCS:
		if (m->hash != HASH_NONE) {
			if (rsa_digestinfo(m->hash, in, t_buf, sizeof(t_buf),
					   &tlen) != 0)
				return CKR_GENERAL_ERROR;
			in = t_buf;
			inlen = tlen;
		}
		/* 00 01 FF..FF 00 || T, T = caller's DigestInfo || hash */
		if (inlen + 11 > modlen)
			return CKR_DATA_LEN_RANGE;
		if (rsa_pkcs1_sig_pad(in, inlen, block, modlen) != 0)
			return CKR_DATA_LEN_RANGE;
		break;
	case MECH_RSA_PSS:
		h = mech_hash(s->pss.hashAlg);
		if (inlen != hash_len(h))
			return CKR_DATA_LEN_RANGE;
		if (rsa_pss_encode(h, mech_mgf_hash(s->pss.mgf), s->pss.sLen, in,
				   o->pub.bits, block) != 0)
			return CKR_GENERAL_ERROR;
		break;
	case MECH_RSA_X509:
		/* Raw RSA: the input, left-padded with zeros, must be
		 * smaller than the modulus (the TPM checks that). */
		if (inlen > modlen)
			return CKR_DATA_LEN_RANGE;
		memset(block, 0, modlen - inlen);
		memcpy(block + modlen - inlen, in, inlen);
		break;
	default:
		return CKR_MECHANISM_INVALID;
	}
	rv = token_rsa_raw(mod.c, t, o, block, modlen, false, sig, siglen);
	secure_zero(block, sizeof(block));
	return rv;
}

/* The two-call convention (v2.40 5.2): NULL output -> length, the
 * operation stays active; too small -> CKR_BUFFER_TOO_SMALL, still active;
 * anything else ends the operation. */
static CK_RV
sign_finish_inlock(session *s, token *t, const uint8_t *data, size_t len,
		   CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	token_obj *o = object_get_inlock(t, (CK_OBJECT_HANDLE)s->op_key);
	uint8_t digest[HASH_MAX_LEN];
	size_t need, got = 0;
	CK_RV rv;

	if (o == NULL) {
		session_end_ops(s);
		return t->login == CKU_USER ? CKR_KEY_HANDLE_INVALID
					    : CKR_USER_NOT_LOGGED_IN;
	}
	need = sig_len(s, o);
	if (pSignature == NULL) {
		*pulSignatureLen = need;
		return CKR_OK;
	}
	if (*pulSignatureLen < need) {
		*pulSignatureLen = need;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (s->mech->kind == MECH_HMAC) {
		/* The TPM computes the HMAC over everything at once. */
		if ((rv = session_buf_add(s, data, data ? len : 0)) != CKR_OK) {
			session_end_ops(s);
			return rv;
		}
		rv = token_hmac(mod.c, t, o, s->mech->hash, s->buf, s->blen,
				pSignature);
		if (rv == CKR_OK)
			*pulSignatureLen = hash_len(s->mech->hash);
		session_end_ops(s);
		return rv;
	}
	if (s->mech->hash != HASH_NONE) {
		if ((data != NULL && hash_ctx_update(s->hctx, data, len) != 0) ||
		    hash_ctx_final(s->hctx, digest) != 0) {
			session_end_ops(s);
			return CKR_GENERAL_ERROR;
		}
		data = digest;
		len = hash_len(s->mech->hash);
	}
	rv = sign_do(s, t, o, data, len, pSignature, &got);
	if (rv == CKR_OK)
		*pulSignatureLen = got;
	session_end_ops(s);
	return rv;
}

CK_RV
C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
       CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if ((pData == NULL && ulDataLen > 0) || pulSignatureLen == NULL)
		return op_args_bad(hSession, OP_SIGN);
	mod_lock();
	if ((rv = op_get_inlock(hSession, OP_SIGN, &s, &t)) != CKR_OK ||
	    (rv = op_single_inlock(s)) != CKR_OK)
		goto out;
	rv = sign_finish_inlock(s, t, pData ? pData : (CK_BYTE_PTR) "",
				ulDataLen, pSignature, pulSignatureLen);
out:
	mod_unlock();
	LOG_RV("C_Sign", rv);
	return rv;
}

CK_RV
C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	CK_RV rv;

	CHECK_INIT();
	if (pPart == NULL && ulPartLen > 0)
		return op_args_bad(hSession, OP_SIGN);
	mod_lock();
	rv = op_update_inlock(hSession, OP_SIGN, pPart, ulPartLen);
	mod_unlock();
	LOG_RV("C_SignUpdate", rv);
	return rv;
}

CK_RV
C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
	    CK_ULONG_PTR pulSignatureLen)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if (pulSignatureLen == NULL)
		return op_args_bad(hSession, OP_SIGN);
	mod_lock();
	if ((rv = op_part_inlock(hSession, OP_SIGN, &s, &t)) != CKR_OK)
		goto out;
	s->op_multi = true;
	rv = sign_finish_inlock(s, t, NULL, 0, pSignature, pulSignatureLen);
out:
	mod_unlock();
	LOG_RV("C_SignFinal", rv);
	return rv;
}
