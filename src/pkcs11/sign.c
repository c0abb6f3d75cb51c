/* Signatures: C_SignInit, C_Sign, C_SignUpdate, C_SignFinal, and the
 * signing hooks of the mechanism table (mech.c). Once a key is loaded, a
 * signature is one TPM command: TPM2_Sign (ECDSA) or TPM2_RSA_Decrypt on a
 * block padded here (RSA). */
#include <stdlib.h>
#include <string.h>

#include "crypto/rsapad.h"
#include "pkcs11/mech.h"
#include "util/secure.h"

CK_RV
C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
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
	if ((rv = op_begin_inlock(hSession, hKey, true, &s, &t, &o)) == CKR_OK)
		rv = mech_init_inlock(s, pMechanism, o, OP_SIGN);
	mod_unlock();
	LOG_RV("C_SignInit", rv);
	return rv;
}

CK_RV
sign_ecdsa(session *s, token *t, token_obj *o, const uint8_t *in, size_t len,
	   uint8_t *sig, size_t *siglen)
{
	(void)s;
	return token_sign_ecdsa(mod.c, t, o, in, len, sig, siglen);
}

/* The raw private-key operation on a block of the modulus' length. */
static CK_RV
sign_rsa_block(token *t, token_obj *o, uint8_t *block, uint8_t *sig,
	       size_t *siglen)
{
	CK_RV rv = token_rsa_raw(mod.c, t, o, block, o->pub.n_len, false, sig,
				 siglen);

	secure_zero(block, o->pub.n_len);
	return rv;
}

CK_RV
sign_rsa_pkcs(session *s, token *t, token_obj *o, const uint8_t *in, size_t len,
	      uint8_t *sig, size_t *siglen)
{
	uint8_t block[512], t_buf[128];
	size_t modlen = o->pub.n_len, tlen;

	if (s->mech->hash != HASH_NONE) {
		if (rsa_digestinfo(s->mech->hash, in, t_buf, sizeof(t_buf),
				   &tlen) != 0)
			return CKR_GENERAL_ERROR;
		in = t_buf;
		len = tlen;
	}
	/* 00 01 FF..FF 00 || T, T = caller's DigestInfo || hash */
	if (len + 11 > modlen)
		return CKR_DATA_LEN_RANGE;
	if (rsa_pkcs1_sig_pad(in, len, block, modlen) != 0)
		return CKR_DATA_LEN_RANGE;
	return sign_rsa_block(t, o, block, sig, siglen);
}

CK_RV
sign_rsa_pss(session *s, token *t, token_obj *o, const uint8_t *in, size_t len,
	     uint8_t *sig, size_t *siglen)
{
	uint8_t block[512];
	hash_algo h = mech_hash(s->pss.hashAlg);

	if (len != hash_len(h))
		return CKR_DATA_LEN_RANGE;
	if (rsa_pss_encode(h, mech_mgf_hash(s->pss.mgf), s->pss.sLen, in,
			   o->pub.bits, block) != 0)
		return CKR_GENERAL_ERROR;
	return sign_rsa_block(t, o, block, sig, siglen);
}

/* Raw RSA: the input, left-padded with zeros, must be smaller than the
 * modulus (the TPM checks that). */
CK_RV
sign_rsa_x509(session *s, token *t, token_obj *o, const uint8_t *in, size_t len,
	      uint8_t *sig, size_t *siglen)
{
	uint8_t block[512];
	size_t modlen = o->pub.n_len;

	(void)s;
	if (len > modlen)
		return CKR_DATA_LEN_RANGE;
	memset(block, 0, modlen - len);
	memcpy(block + modlen - len, in, len);
	return sign_rsa_block(t, o, block, sig, siglen);
}

/* The TPM computes the HMAC over everything at once: in is the last part
 * of the data, added to what the session collected. */
CK_RV
sign_hmac(session *s, token *t, token_obj *o, const uint8_t *in, size_t len,
	  uint8_t *sig, size_t *siglen)
{
	CK_RV rv;

	if ((rv = session_buf_add(s, in, in ? len : 0)) != CKR_OK)
		return rv;
	if ((rv = token_hmac(mod.c, t, o, s->mech->hash, s->buf, s->blen,
			     sig)) == CKR_OK)
		*siglen = hash_len(s->mech->hash);
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
	need = mech_sig_len(s->mech, o);
	if (pSignature == NULL) {
		*pulSignatureLen = need;
		return CKR_OK;
	}
	if (*pulSignatureLen < need) {
		*pulSignatureLen = need;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (s->hctx != NULL) {
		if ((data != NULL &&
		     hash_ctx_update(s->hctx, data, len) != 0) ||
		    hash_ctx_final(s->hctx, digest) != 0) {
			session_end_ops(s);
			return CKR_GENERAL_ERROR;
		}
		data = digest;
		len = hash_len(s->mech->hash);
	}
	rv = s->mech->ops->sign(s, t, o, data, len, pSignature, &got);
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
