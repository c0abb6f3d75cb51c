/* RSA decryption: C_DecryptInit, C_Decrypt (single-part; the RSA
 * mechanisms are single-part only, v2.40 2.1.6-2.1.8). The TPM performs
 * the raw private operation; PKCS#1 v1.5 and OAEP (any hash, any label)
 * are decoded on the host in constant time. */
#include <stdlib.h>
#include <string.h>

#include "crypto/pkey.h"
#include "pkcs11/mech.h"
#include "util/secure.h"

CK_RV
decrypt_oaep_params(session *s, const mech_row *m, CK_MECHANISM_PTR mech,
		    const token_obj *o, op_kind op)
{
	CK_RSA_PKCS_OAEP_PARAMS *p = mech->pParameter;

	(void)m, (void)o, (void)op;
	if (p == NULL || mech->ulParameterLen != sizeof(*p))
		return CKR_MECHANISM_PARAM_INVALID;
	if (mech_hash(p->hashAlg) == HASH_NONE ||
	    mech_mgf_hash(p->mgf) == HASH_NONE)
		return CKR_MECHANISM_PARAM_INVALID;
	if (p->source != 0 && p->source != CKZ_DATA_SPECIFIED)
		return CKR_MECHANISM_PARAM_INVALID;
	if (p->pSourceData == NULL && p->ulSourceDataLen > 0)
		return CKR_MECHANISM_PARAM_INVALID;
	s->oaep = *p;
	s->label = NULL;
	if (p->ulSourceDataLen > 0) {
		if ((s->label = malloc(p->ulSourceDataLen)) == NULL)
			return CKR_HOST_MEMORY;
		memcpy(s->label, p->pSourceData, p->ulSourceDataLen);
	}
	return CKR_OK;
}

int
decrypt_unpad_none(const session *s, const uint8_t *em, size_t modlen,
		   uint8_t *msg, size_t size)
{
	(void)s;
	if (modlen > size)
		return -1;
	memcpy(msg, em, modlen);
	return (int)modlen;
}

int
decrypt_unpad_pkcs1(const session *s, const uint8_t *em, size_t modlen,
		    uint8_t *msg, size_t size)
{
	(void)s;
	return rsa_unpad_pkcs1(em, modlen, msg, size);
}

int
decrypt_unpad_oaep(const session *s, const uint8_t *em, size_t modlen,
		   uint8_t *msg, size_t size)
{
	return rsa_unpad_oaep(em, modlen, mech_hash(s->oaep.hashAlg),
			      mech_mgf_hash(s->oaep.mgf), s->label,
			      s->oaep.ulSourceDataLen, msg, size);
}

CK_RV
C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
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
		rv = mech_init_inlock(s, pMechanism, o, OP_DECRYPT);
	mod_unlock();
	LOG_RV("C_DecryptInit", rv);
	return rv;
}

/* RSA: the TPM's raw private operation on the ciphertext, then the
 * mechanism's unpadding (mech.c's table). The two-call convention as for
 * C_Sign: a query or a short buffer keeps the operation. */
CK_RV
decrypt_rsa_inlock(session *s, token *t, const uint8_t *in, size_t len,
		   CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	uint8_t em[512], msg[512];
	size_t modlen, emlen = 0;
	token_obj *o;
	int n;
	CK_RV rv;

	if ((o = object_get_inlock(t, (CK_OBJECT_HANDLE)s->op_key)) == NULL) {
		session_end_ops(s);
		return CKR_USER_NOT_LOGGED_IN;
	}
	modlen = o->pub.n_len;
	/* Length query: the modulus length always suffices (v2.40 5.2). */
	if (out == NULL) {
		*outlen = modlen;
		return CKR_OK;
	}
	if (len != modlen) {
		session_end_ops(s);
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	}
	rv = token_rsa_raw(mod.c, t, o, in, modlen, true, em, &emlen);
	if (rv != CKR_OK) {
		session_end_ops(s);
		if (rv == CKR_DATA_INVALID || rv == CKR_DATA_LEN_RANGE)
			rv = CKR_ENCRYPTED_DATA_INVALID;
		return rv;
	}
	n = s->mech->ops->unpad(s, em, modlen, msg, sizeof(msg));
	secure_zero(em, sizeof(em));
	if (n < 0) {
		session_end_ops(s);
		rv = CKR_ENCRYPTED_DATA_INVALID;
	} else if (*outlen < (CK_ULONG)n) {
		/* Keeps the operation: the caller asks again. */
		*outlen = (CK_ULONG)n;
		rv = CKR_BUFFER_TOO_SMALL;
	} else {
		memcpy(out, msg, (size_t)n);
		*outlen = (CK_ULONG)n;
		session_end_ops(s);
	}
	secure_zero(msg, sizeof(msg));
	return rv;
}

CK_RV
C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData,
	  CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData,
	  CK_ULONG_PTR pulDataLen)
{
	CHECK_INIT();
	if (pEncryptedData == NULL || pulDataLen == NULL)
		return op_args_bad(hSession, OP_DECRYPT);
	return op_crypt(hSession, OP_DECRYPT, pEncryptedData,
			ulEncryptedDataLen, pData, pulDataLen);
}

CK_RV
C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
		CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
		CK_ULONG_PTR pulPartLen)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if ((pEncryptedPart == NULL && ulEncryptedPartLen) ||
	    pulPartLen == NULL)
		return op_args_bad(hSession, OP_DECRYPT);
	mod_lock();
	if ((rv = op_part_inlock(hSession, OP_DECRYPT, &s, &t)) != CKR_OK)
		goto out;
	rv = aes_update_inlock(s, t, pEncryptedPart, ulEncryptedPartLen, pPart,
			       pulPartLen);
out:
	mod_unlock();
	return rv;
}

CK_RV
C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart,
	       CK_ULONG_PTR pulLastPartLen)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if (pulLastPartLen == NULL)
		return op_args_bad(hSession, OP_DECRYPT);
	mod_lock();
	if ((rv = op_part_inlock(hSession, OP_DECRYPT, &s, &t)) != CKR_OK)
		goto out;
	rv = aes_final_inlock(s, t, pLastPart, pulLastPartLen);
out:
	mod_unlock();
	return rv;
}
