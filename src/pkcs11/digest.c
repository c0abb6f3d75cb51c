/* Digests: C_DigestInit, C_Digest, C_DigestUpdate, C_DigestKey,
 * C_DigestFinal. Done on the host (OpenSSL); no login needed (PKCS#11 v2.40
 * 5.10: digesting involves no object). */
#include <string.h>

#include "pkcs11/mech.h"

CK_RV
C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if (pMechanism == NULL)
		return CKR_ARGUMENTS_BAD;
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if (s->op != OP_NONE) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	rv = mech_init_inlock(s, pMechanism, NULL, OP_DIGEST);
out:
	mod_unlock();
	return rv;
}

/* The two-call convention as for C_Sign: NULL or short output keeps the
 * operation; the result or an error ends it. */
static CK_RV
digest_out_inlock(session *s, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	size_t n = hash_len(s->mech->hash);

	if (out == NULL) {
		*outlen = n;
		return CKR_OK;
	}
	if (*outlen < n) {
		*outlen = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (hash_ctx_final(s->hctx, out) != 0) {
		session_end_ops(s);
		return CKR_GENERAL_ERROR;
	}
	*outlen = n;
	session_end_ops(s);
	return CKR_OK;
}

CK_RV
C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	 CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if ((pData == NULL && ulDataLen > 0) || pulDigestLen == NULL)
		return op_args_bad(hSession, OP_DIGEST);
	mod_lock();
	if ((rv = op_get_inlock(hSession, OP_DIGEST, &s, &t)) != CKR_OK ||
	    (rv = op_single_inlock(s)) != CKR_OK)
		goto out;
	/* Hash only when the result is delivered, so a length query or a
	 * short buffer leaves the data to be given again. */
	if (pDigest != NULL && *pulDigestLen >= hash_len(s->mech->hash) &&
	    ulDataLen && hash_ctx_update(s->hctx, pData, ulDataLen) != 0) {
		session_end_ops(s);
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	rv = digest_out_inlock(s, pDigest, pulDigestLen);
out:
	mod_unlock();
	return rv;
}

CK_RV
C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
	       CK_ULONG ulPartLen)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if (pPart == NULL && ulPartLen > 0)
		return op_args_bad(hSession, OP_DIGEST);
	mod_lock();
	if ((rv = op_part_inlock(hSession, OP_DIGEST, &s, &t)) == CKR_OK) {
		s->op_multi = true;
		if (ulPartLen &&
		    hash_ctx_update(s->hctx, pPart, ulPartLen) != 0) {
			session_end_ops(s);
			rv = CKR_GENERAL_ERROR;
		}
	}
	mod_unlock();
	return rv;
}

CK_RV
C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	mod_lock();
	if ((rv = op_get_inlock(hSession, OP_DIGEST, &s, &t)) != CKR_OK)
		goto out;
	/* v2.40 5.10: only secret keys' values can be digested; ours are
	 * sensitive and live in the TPM. */
	rv = object_get_inlock(t, hKey) ? CKR_KEY_INDIGESTIBLE
					: CKR_KEY_HANDLE_INVALID;
	session_end_ops(s);
out:
	mod_unlock();
	return rv;
}

CK_RV
C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest,
	      CK_ULONG_PTR pulDigestLen)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if (pulDigestLen == NULL)
		return op_args_bad(hSession, OP_DIGEST);
	mod_lock();
	if ((rv = op_part_inlock(hSession, OP_DIGEST, &s, &t)) == CKR_OK) {
		s->op_multi = true;
		rv = digest_out_inlock(s, pDigest, pulDigestLen);
	}
	mod_unlock();
	return rv;
}
