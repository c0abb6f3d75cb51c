/* Verification: C_VerifyInit, C_Verify, C_VerifyUpdate, C_VerifyFinal.
 * Public-key work on the host (OpenSSL), with the same mechanisms as
 * signing. */
#include <stdlib.h>
#include <string.h>

#include "crypto/pkey.h"
#include "pkcs11/module.h"
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
C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	     CK_OBJECT_HANDLE hKey)
{
	const mech_row *m;
	CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
	CK_ULONG bits = 0;
	ec_curve curve = CURVE_NONE;
	session *s;
	token *t;
	token_obj *o;
	CK_RV rv;

	CHECK_INIT();
	if (pMechanism == NULL)
		return CKR_ARGUMENTS_BAD;
	mod_lock();
	if ((rv = op_begin_inlock(hSession, hKey, false, &s, &t, &o)) != CKR_OK)
		goto out;
	if ((m = mech_find(pMechanism->mechanism)) == NULL ||
	    (m->kind != MECH_ECDSA && m->kind != MECH_RSA_PKCS &&
	     m->kind != MECH_RSA_PSS && m->kind != MECH_RSA_X509 &&
	     m->kind != MECH_HMAC)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (m->kind == MECH_HMAC) {
		/* HMAC verification recomputes the HMAC in the TPM. */
		if (o->cls != CKO_SECRET_KEY || o->key.pub.data == NULL ||
		    o->pub.hmac_hash != m->hash) {
			rv = CKR_KEY_TYPE_INCONSISTENT;
			goto out;
		}
		if (!attr_bool_or(&o->attrs, CKA_VERIFY, false)) {
			rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
			goto out;
		}
		s->op = OP_VERIFY;
		s->mech = m;
		s->op_key = o->id;
		s->op_multi = false;
		goto out;
	}
	if (o->cls != CKO_PUBLIC_KEY) {
		rv = CKR_KEY_TYPE_INCONSISTENT;
		goto out;
	}
	if (!attr_bool_or(&o->attrs, CKA_VERIFY, false)) {
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
		goto out;
	}
	attr_get_ulong(&o->attrs, CKA_KEY_TYPE, &kt);
	if (kt != m->key_type) {
		rv = CKR_KEY_TYPE_INCONSISTENT;
		goto out;
	}
	if ((s->pk = object_pkey(o, kt, &curve)) == NULL) {
		rv = CKR_KEY_HANDLE_INVALID;
		goto out;
	}
	if (kt == CKK_RSA && attr_get_ulong(&o->attrs, CKA_MODULUS_BITS, &bits) &&
	    m->kind == MECH_RSA_PSS &&
	    (rv = mech_pss_params(m, pMechanism, (unsigned)bits, &s->pss)) !=
		    CKR_OK) {
		session_end_ops(s);
		goto out;
	}
	if (m->kind != MECH_RSA_PSS && pMechanism->ulParameterLen != 0) {
		session_end_ops(s);
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}
	if (m->hash != HASH_NONE &&
	    (s->hctx = hash_ctx_new(m->hash)) == NULL) {
		session_end_ops(s);
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	s->op = OP_VERIFY;
	s->mech = m;
	/* For the length check: ECDSA's curve, RSA's modulus bytes. */
	s->op_key = kt == CKK_EC ? (int64_t)curve : (int64_t)((bits + 7) / 8);
	s->op_multi = false;
out:
	mod_unlock();
	LOG_RV("C_VerifyInit", rv);
	return rv;
}

/* Verifies and ends the operation (v2.40 5.13: always ends). */
static CK_RV
verify_hmac_inlock(session *s, token *t, const uint8_t *data, size_t len,
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
	session_end_ops(s);
	return rv;
}

static CK_RV
verify_finish_inlock(session *s, token *t, const uint8_t *data, size_t len,
		     const uint8_t *sig, size_t siglen)
{
	const mech_row *m = s->mech;
	uint8_t digest[HASH_MAX_LEN];
	int ok = -1;

	if (m->kind == MECH_HMAC)
		return verify_hmac_inlock(s, t, data, len, sig, siglen);

	if (m->hash != HASH_NONE) {
		if ((data && hash_ctx_update(s->hctx, data, len) != 0) ||
		    hash_ctx_final(s->hctx, digest) != 0) {
			session_end_ops(s);
			return CKR_GENERAL_ERROR;
		}
		data = digest;
		len = hash_len(m->hash);
	}
	switch (m->kind) {
	case MECH_ECDSA:
		if (siglen != 2 * ec_field_len((ec_curve)s->op_key)) {
			session_end_ops(s);
			return CKR_SIGNATURE_LEN_RANGE;
		}
		ok = pkey_verify_ecdsa(s->pk, (ec_curve)s->op_key, data, len,
				       sig, siglen);
		break;
	case MECH_RSA_PKCS:
	case MECH_RSA_PSS:
	case MECH_RSA_X509:
		/* v2.40 5.13: a signature of the wrong length. */
		if (siglen != (size_t)s->op_key) {
			session_end_ops(s);
			return CKR_SIGNATURE_LEN_RANGE;
		}
		break;
	default:
		break;
	}
	switch (m->kind) {
	case MECH_RSA_PKCS:
		ok = pkey_verify_rsa_pkcs1(s->pk, m->hash, data, len, sig, siglen);
		break;
	case MECH_RSA_PSS:
		if (len != hash_len(mech_hash(s->pss.hashAlg))) {
			session_end_ops(s);
			return CKR_DATA_LEN_RANGE;
		}
		ok = pkey_verify_rsa_pss(s->pk, mech_hash(s->pss.hashAlg),
					 mech_mgf_hash(s->pss.mgf), s->pss.sLen,
					 data, len, sig, siglen);
		break;
	case MECH_RSA_X509:
		ok = pkey_verify_rsa_raw(s->pk, data, len, sig, siglen);
		break;
	default:
		break;
	}
	session_end_ops(s);
	if (ok < 0)
		return CKR_GENERAL_ERROR;
	return ok ? CKR_OK : CKR_SIGNATURE_INVALID;
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
