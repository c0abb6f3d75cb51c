/* RSA decryption: C_DecryptInit, C_Decrypt (single-part; the RSA
 * mechanisms are single-part only, v2.40 2.1.6-2.1.8). The TPM performs
 * the raw private operation; PKCS#1 v1.5 and OAEP (any hash, any label)
 * are decoded on the host in constant time. */
#include <stdlib.h>
#include <string.h>

#include "crypto/pkey.h"
#include "pkcs11/module.h"
#include "util/secure.h"

static CK_RV
oaep_params(CK_MECHANISM_PTR m, session *s)
{
	CK_RSA_PKCS_OAEP_PARAMS *p = m->pParameter;

	if (p == NULL || m->ulParameterLen != sizeof(*p))
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

CK_RV
C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	      CK_OBJECT_HANDLE hKey)
{
	const mech_row *m;
	CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
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
	m = mech_find(pMechanism->mechanism);
	if (m != NULL && m->kind == MECH_AES) {
		rv = aes_init_inlock(s, t, m, pMechanism, o, true);
		goto out;
	}
	if (m == NULL || m->hash != HASH_NONE ||
	    (m->kind != MECH_RSA_PKCS && m->kind != MECH_RSA_X509 &&
	     m->kind != MECH_RSA_OAEP)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	attr_get_ulong(&o->attrs, CKA_KEY_TYPE, &kt);
	if (o->cls != CKO_PRIVATE_KEY || kt != CKK_RSA ||
	    o->key.pub.data == NULL) {
		rv = CKR_KEY_TYPE_INCONSISTENT;
		goto out;
	}
	if (!attr_bool_or(&o->attrs, CKA_DECRYPT, false)) {
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
		goto out;
	}
	if (m->kind == MECH_RSA_OAEP) {
		if ((rv = oaep_params(pMechanism, s)) != CKR_OK)
			goto out;
	} else if (pMechanism->ulParameterLen != 0) {
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}
	s->op = OP_DECRYPT;
	s->mech = m;
	s->op_key = o->id;
out:
	mod_unlock();
	LOG_RV("C_DecryptInit", rv);
	return rv;
}

CK_RV
C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData,
	  CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData,
	  CK_ULONG_PTR pulDataLen)
{
	uint8_t em[512], msg[512];
	size_t modlen, emlen = 0;
	session *s;
	token *t;
	token_obj *o;
	int n;
	CK_RV rv;

	CHECK_INIT();
	if (pEncryptedData == NULL || pulDataLen == NULL)
		return op_args_bad(hSession, OP_DECRYPT);
	mod_lock();
	if ((rv = op_get_inlock(hSession, OP_DECRYPT, &s, &t)) != CKR_OK ||
	    (rv = op_single_inlock(s)) != CKR_OK)
		goto out;
	if (s->mech->kind == MECH_AES) {
		rv = aes_oneshot_inlock(s, t, pEncryptedData, ulEncryptedDataLen,
					pData, pulDataLen);
		goto out;
	}
	if ((o = object_get_inlock(t, (CK_OBJECT_HANDLE)s->op_key)) == NULL) {
		session_end_ops(s);
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	modlen = o->pub.n_len;
	/* Length query: the modulus length always suffices (v2.40 5.2). */
	if (pData == NULL) {
		*pulDataLen = modlen;
		goto out;
	}
	if (ulEncryptedDataLen != modlen) {
		session_end_ops(s);
		rv = CKR_ENCRYPTED_DATA_LEN_RANGE;
		goto out;
	}
	rv = token_rsa_raw(mod.c, t, o, pEncryptedData, modlen, true, em,
			   &emlen);
	if (rv != CKR_OK) {
		session_end_ops(s);
		if (rv == CKR_DATA_INVALID || rv == CKR_DATA_LEN_RANGE)
			rv = CKR_ENCRYPTED_DATA_INVALID;
		goto out;
	}
	switch (s->mech->kind) {
	case MECH_RSA_X509:
		memcpy(msg, em, modlen);
		n = (int)modlen;
		break;
	case MECH_RSA_PKCS:
		n = rsa_unpad_pkcs1(em, modlen, msg, sizeof(msg));
		break;
	default:
		n = rsa_unpad_oaep(em, modlen, mech_hash(s->oaep.hashAlg),
				   mech_mgf_hash(s->oaep.mgf), s->label,
				   s->oaep.ulSourceDataLen, msg, sizeof(msg));
		break;
	}
	secure_zero(em, sizeof(em));
	if (n < 0) {
		session_end_ops(s);
		rv = CKR_ENCRYPTED_DATA_INVALID;
		goto out;
	}
	if (*pulDataLen < (CK_ULONG)n) {
		/* Keeps the operation: the caller asks again. */
		*pulDataLen = (CK_ULONG)n;
		rv = CKR_BUFFER_TOO_SMALL;
	} else {
		memcpy(pData, msg, (size_t)n);
		*pulDataLen = (CK_ULONG)n;
		session_end_ops(s);
	}
	secure_zero(msg, sizeof(msg));
out:
	mod_unlock();
	LOG_RV("C_Decrypt", rv);
	return rv;
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
	if ((pEncryptedPart == NULL && ulEncryptedPartLen) || pulPartLen == NULL)
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
