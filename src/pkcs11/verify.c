/* Verification: C_VerifyInit, C_Verify, C_VerifyUpdate, C_VerifyFinal.
 * Public-key work on the host (OpenSSL), with the same mechanisms as
 * signing. */
#include <stdlib.h>
#include <string.h>

#include "crypto/pkey.h"
#include "pkcs11/mech.h"
#include "util/secure.h"

/* The public key of an object that carries one (public or private key). */
static pkey *
object_pkey(const token_obj *o, CK_KEY_TYPE kt, ec_curve *curve)
{
	const CK_ATTRIBUTE *a, *b;
	uint8_t x[EC_MAX_FIELD_LEN], y[EC_MAX_FIELD_LEN];

	if (kt == CKK_EC) {
		if ((a = attr_find(&o->attrs, CKA_EC_PARAMS)) == NULL ||
		    (b = attr_find(&o->attrs, CKA_EC_POINT)) == NULL)
			return NULL;
		*curve = ec_params_parse(a->pValue, a->ulValueLen);
		if (*curve == CURVE_NONE ||
		    ec_point_parse(*curve, b->pValue, b->ulValueLen, x, y) != 0)
			return NULL;
		return pkey_ec(*curve, x, y);
	}
	if ((a = attr_find(&o->attrs, CKA_MODULUS)) == NULL ||
	    (b = attr_find(&o->attrs, CKA_PUBLIC_EXPONENT)) == NULL)
		return NULL;
	*curve = CURVE_NONE;
	return pkey_rsa(a->pValue, a->ulValueLen, b->pValue, b->ulValueLen);
}

CK_RV
verify_key(session *s, const token_obj *o)
{
	CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
	CK_ULONG bits = 0;
	ec_curve curve = CURVE_NONE;

	attr_get_ulong(&o->attrs, CKA_KEY_TYPE, &kt);
	if ((s->pk = object_pkey(o, kt, &curve)) == NULL)
		return CKR_KEY_HANDLE_INVALID;
	attr_get_ulong(&o->attrs, CKA_MODULUS_BITS, &bits);
	/* For the length check: ECDSA's curve, RSA's modulus bytes. */
	s->op_key = kt == CKK_EC ? (int64_t)curve : (int64_t)((bits + 7) / 8);
	return CKR_OK;
}

CK_RV
C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	     CK_OBJECT_HANDLE hKey)
{
	session *s;
	token *t;
	token_obj *o;
	CK_RV rv;

	CHECK_INIT();
	if (pMechanism == NULL)
		return CKR_ARGUMENTS_BAD;
	mod_lock();
	if ((rv = op_begin_inlock(hSession, hKey, false, &s, &t, &o)) == CKR_OK)
		rv = mech_init_inlock(s, pMechanism, o, OP_VERIFY);
	mod_unlock();
	LOG_RV("C_VerifyInit", rv);
	return rv;
}

/* HMAC verification recomputes the HMAC in the TPM. */
CK_RV
verify_hmac(session *s, token *t, const uint8_t *data, size_t len,
	    const uint8_t *sig, size_t siglen)
{
	token_obj *o = object_get_inlock(t, (CK_OBJECT_HANDLE)s->op_key);
	uint8_t mac[HASH_MAX_LEN];
	size_t hl = hash_len(s->mech->hash);
	CK_RV rv;

	if (o == NULL)
		rv = CKR_KEY_HANDLE_INVALID;
	else if (siglen != hl)
		rv = CKR_SIGNATURE_LEN_RANGE;
	else if ((rv = session_buf_add(s, data, data ? len : 0)) == CKR_OK &&
		 (rv = token_hmac(mod.c, t, o, s->mech->hash, s->buf, s->blen,
				  mac)) == CKR_OK)
		rv = secure_memcmp(mac, sig, hl) == 0 ? CKR_OK
						      : CKR_SIGNATURE_INVALID;
	secure_zero(mac, sizeof(mac));
	return rv;
}

static CK_RV
verify_result(int ok)
{
	if (ok < 0)
		return CKR_GENERAL_ERROR;
	return ok ? CKR_OK : CKR_SIGNATURE_INVALID;
}

CK_RV
verify_ecdsa(session *s, token *t, const uint8_t *data, size_t len,
	     const uint8_t *sig, size_t siglen)
{
	(void)t;
	if (siglen != 2 * ec_field_len((ec_curve)s->op_key))
		return CKR_SIGNATURE_LEN_RANGE;
	return verify_result(pkey_verify_ecdsa(s->pk, (ec_curve)s->op_key, data,
					       len, sig, siglen));
}

/* v2.40 5.13: an RSA signature of the wrong length. */
#define RSA_SIG_LEN(s, siglen)                          \
	do {                                            \
		if ((siglen) != (size_t)(s)->op_key)    \
			return CKR_SIGNATURE_LEN_RANGE; \
	} while (0)

CK_RV
verify_rsa_pkcs(session *s, token *t, const uint8_t *data, size_t len,
		const uint8_t *sig, size_t siglen)
{
	(void)t;
	RSA_SIG_LEN(s, siglen);
	return verify_result(pkey_verify_rsa_pkcs1(s->pk, s->mech->hash, data,
						   len, sig, siglen));
}

CK_RV
verify_rsa_pss(session *s, token *t, const uint8_t *data, size_t len,
	       const uint8_t *sig, size_t siglen)
{
	hash_algo h = mech_hash(s->pss.hashAlg);

	(void)t;
	RSA_SIG_LEN(s, siglen);
	if (len != hash_len(h))
		return CKR_DATA_LEN_RANGE;
	return verify_result(
		pkey_verify_rsa_pss(s->pk, h, mech_mgf_hash(s->pss.mgf),
				    s->pss.sLen, data, len, sig, siglen));
}

CK_RV
verify_rsa_x509(session *s, token *t, const uint8_t *data, size_t len,
		const uint8_t *sig, size_t siglen)
{
	(void)t;
	RSA_SIG_LEN(s, siglen);
	return verify_result(
		pkey_verify_rsa_raw(s->pk, data, len, sig, siglen));
}

/* Verifies and ends the operation (v2.40 5.13: always ends). */
static CK_RV
verify_finish_inlock(session *s, token *t, const uint8_t *data, size_t len,
		     const uint8_t *sig, size_t siglen)
{
	uint8_t digest[HASH_MAX_LEN];
	CK_RV rv;

	if (s->hctx != NULL) {
		if ((data && hash_ctx_update(s->hctx, data, len) != 0) ||
		    hash_ctx_final(s->hctx, digest) != 0) {
			session_end_ops(s);
			return CKR_GENERAL_ERROR;
		}
		data = digest;
		len = hash_len(s->mech->hash);
	}
	rv = s->mech->ops->verify(s, t, data, len, sig, siglen);
	session_end_ops(s);
	return rv;
}

CK_RV
C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	 CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if ((pData == NULL && ulDataLen > 0) || pSignature == NULL)
		return op_args_bad(hSession, OP_VERIFY);
	mod_lock();
	if ((rv = op_get_inlock(hSession, OP_VERIFY, &s, &t)) != CKR_OK ||
	    (rv = op_single_inlock(s)) != CKR_OK)
		goto out;
	rv = verify_finish_inlock(s, t, pData ? pData : (CK_BYTE_PTR) "",
				  ulDataLen, pSignature, ulSignatureLen);
out:
	mod_unlock();
	LOG_RV("C_Verify", rv);
	return rv;
}

CK_RV
C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
	       CK_ULONG ulPartLen)
{
	CK_RV rv;

	CHECK_INIT();
	if (pPart == NULL && ulPartLen > 0)
		return op_args_bad(hSession, OP_VERIFY);
	mod_lock();
	rv = op_update_inlock(hSession, OP_VERIFY, pPart, ulPartLen);
	mod_unlock();
	LOG_RV("C_VerifyUpdate", rv);
	return rv;
}

CK_RV
C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
	      CK_ULONG ulSignatureLen)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if (pSignature == NULL)
		return op_args_bad(hSession, OP_VERIFY);
	mod_lock();
	if ((rv = op_part_inlock(hSession, OP_VERIFY, &s, &t)) != CKR_OK)
		goto out;
	rv = verify_finish_inlock(s, t, NULL, 0, pSignature, ulSignatureLen);
out:
	mod_unlock();
	return rv;
}
