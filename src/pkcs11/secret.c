/* Secret keys in the TPM: C_GenerateKey (AES, generic secrets for HMAC),
 * and AES through TPM2_EncryptDecrypt2: C_EncryptInit, C_Encrypt,
 * C_EncryptUpdate, C_EncryptFinal, and the AES half of C_Decrypt*.
 * Key material is created by the TPM (sensitiveDataOrigin) and never
 * leaves it; blobs are wrapped by the token's storage key. */
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "pkcs11/mech.h"
#include "util/secure.h"

CK_RV
hmac_key_hash(attr_list *l, size_t len, hash_algo *h)
{
	const CK_ATTRIBUTE *a = attr_find(l, CKA_ALLOWED_MECHANISMS);
	CK_MECHANISM_TYPE mt;
	size_t i, n;

	*h = HASH_NONE;
	if (a != NULL && a->ulValueLen % sizeof(CK_MECHANISM_TYPE) != 0)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	n = a ? a->ulValueLen / sizeof(CK_MECHANISM_TYPE) : 0;
	for (i = 0; i < n; i++) {
		const mech_row *m;

		memcpy(&mt, (const uint8_t *)a->pValue + i * sizeof(mt),
		       sizeof(mt));
		if ((m = mech_find(mt)) == NULL || m->kind != MECH_HMAC)
			continue;
		/* A TPM HMAC key serves one hash (TPM2_Create refuses a
		 * signing keyed-hash key with scheme TPM_ALG_NULL). */
		if (*h != HASH_NONE && *h != m->hash)
			return CKR_TEMPLATE_INCONSISTENT;
		*h = m->hash;
	}
	if (n > 0 && *h == HASH_NONE)
		return CKR_TEMPLATE_INCONSISTENT;
	if (*h == HASH_NONE) {
		*h = hash_by_len(len);
		if (tpm_hmac_type(*h) == TPM_KEY_NONE)
			*h = HASH_SHA256;
	}
	/* The key says what it can do (v2.40 4.7). */
	mt = mech_hmac_type(*h);
	return attr_set(l, CKA_ALLOWED_MECHANISMS, &mt, sizeof(mt)) == 0
		       ? CKR_OK
		       : CKR_HOST_MEMORY;
}

CK_RV
secret_key_attrs_set(attr_list *l, CK_KEY_TYPE kt, CK_MECHANISM_TYPE mech,
		     bool local, bool sensitive, bool extractable)
{
	if (attr_set_ulong(l, CKA_CLASS, CKO_SECRET_KEY) ||
	    attr_set_ulong(l, CKA_KEY_TYPE, kt) ||
	    attr_set_ulong(l, CKA_KEY_GEN_MECHANISM, mech) ||
	    attr_set_bool(l, CKA_LOCAL, local) ||
	    attr_set_bool(l, CKA_SENSITIVE, sensitive) ||
	    attr_set_bool(l, CKA_EXTRACTABLE, extractable) ||
	    attr_set_bool(l, CKA_ALWAYS_SENSITIVE, local && sensitive) ||
	    attr_set_bool(l, CKA_NEVER_EXTRACTABLE, local && !extractable))
		return CKR_HOST_MEMORY;
	if (!attr_find(l, CKA_PRIVATE) && attr_set_bool(l, CKA_PRIVATE, true))
		return CKR_HOST_MEMORY;
	return CKR_OK;
}

/* The TPM key type of a secret key made with m (C_GenerateKey), from its
 * CKA_VALUE_LEN. */
static CK_RV
secret_key_type(const mech_row *m, attr_list *l, tpm_key_type *type)
{
	CK_ULONG len = 0;
	hash_algo h;
	CK_RV rv;

	/* v2.40 2.8.3 / 2.14.x: CKA_VALUE_LEN is required */
	if (!attr_get_ulong(l, CKA_VALUE_LEN, &len))
		return CKR_TEMPLATE_INCOMPLETE;
	if (m->key_type == CKK_AES && (len == 16 || len == 32)) {
		*type = len == 16 ? TPM_KEY_AES_128 : TPM_KEY_AES_256;
		return CKR_OK;
	}
	if (m->key_type != CKK_GENERIC_SECRET ||
	    tpm_hmac_type(hash_by_len(len)) == TPM_KEY_NONE)
		return CKR_KEY_SIZE_RANGE;
	/* The TPM makes an HMAC key as long as its hash's digest: 20/32/48/64
	 * bytes for SHA-1/256/384/512. */
	if ((rv = hmac_key_hash(l, len, &h)) != CKR_OK)
		return rv;
	if (hash_len(h) != len) {
		log_debug("C_GenerateKey: a %lu-byte HMAC key for a %zu-byte "
			  "hash",
			  (unsigned long)len, hash_len(h));
		return CKR_TEMPLATE_INCONSISTENT;
	}
	*type = tpm_hmac_type(h);
	return CKR_OK;
}

/* The attributes of a secret key the TPM makes with m: what the template
 * may not ask for, then what the key is. */
static CK_RV
secret_key_attrs(const mech_row *m, attr_list *l)
{
	CK_KEY_TYPE kt = m->key_type;
	CK_ATTRIBUTE_TYPE use[2];
	CK_ULONG v;
	size_t i;
	bool b;

	/* The value stays in the TPM: sensitive, never extractable. */
	if (attr_get_bool(l, CKA_SENSITIVE, &b) && !b) {
		log_debug("C_GenerateKey: CKA_SENSITIVE false is impossible");
		return CKR_TEMPLATE_INCONSISTENT;
	}
	if (attr_get_bool(l, CKA_EXTRACTABLE, &b) && b) {
		log_debug("C_GenerateKey: CKA_EXTRACTABLE true is impossible");
		return CKR_TEMPLATE_INCONSISTENT;
	}
	if (attr_find(l, CKA_VALUE) != NULL ||
	    (attr_get_ulong(l, CKA_KEY_TYPE, &v) && v != kt) ||
	    (attr_get_ulong(l, CKA_CLASS, &v) && v != CKO_SECRET_KEY)) {
		log_debug("C_GenerateKey: value, class or key type conflict");
		return CKR_TEMPLATE_INCONSISTENT;
	}
	if (secret_key_attrs_set(l, kt, m->type, true, true, false) != CKR_OK ||
	    attr_set_bool(l, CKA_COPYABLE, false))
		return CKR_HOST_MEMORY;
	/* An AES key encrypts and decrypts, an HMAC key signs and
	 * verifies, unless the template says otherwise. */
	use[0] = kt == CKK_AES ? CKA_ENCRYPT : CKA_SIGN;
	use[1] = kt == CKK_AES ? CKA_DECRYPT : CKA_VERIFY;
	for (i = 0; i < 2; i++)
		if (!attr_find(l, use[i]))
			attr_set_bool(l, use[i], true);
	return CKR_OK;
}

/* Makes the key in the TPM and its object (l taken over). */
static CK_RV
secret_generate_inlock(CK_SESSION_HANDLE h, tpm_key_type type, attr_list *l,
		       CK_OBJECT_HANDLE_PTR out)
{
	blob pub = {0}, priv = {0};
	session *s;
	token *t;
	CK_RV rv;

	if ((rv = session_get_inlock(h, &s, &t)) != CKR_OK)
		return rv;
	if (attr_bool_or(l, CKA_TOKEN, false) && !(s->flags & CKF_RW_SESSION))
		return CKR_SESSION_READ_ONLY;
	if ((rv = token_create_secret(mod.c, t, type, l, &pub, &priv)) ==
	    CKR_OK)
		rv = object_make_key_inlock(s, t, l, &pub, &priv, out);
	blob_free(&pub);
	blob_free(&priv);
	return rv;
}

CK_RV
C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	      CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
	      CK_OBJECT_HANDLE_PTR phKey)
{
	const mech_row *m;
	tpm_key_type type;
	attr_list l;
	CK_RV rv;

	CHECK_INIT();
	if (pMechanism == NULL || phKey == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = session_check(hSession)) != CKR_OK)
		return rv;
	if ((m = mech_find(pMechanism->mechanism)) == NULL ||
	    !(m->flags & CKF_GENERATE)) {
		log_debug("C_GenerateKey: mechanism 0x%lx not offered",
			  (unsigned long)pMechanism->mechanism);
		return CKR_MECHANISM_INVALID;
	}
	if (pMechanism->ulParameterLen != 0)
		return CKR_MECHANISM_PARAM_INVALID;
	if ((rv = attr_list_from_template(&l, pTemplate, ulCount)) != CKR_OK)
		return rv;
	if ((rv = secret_key_type(m, &l, &type)) == CKR_OK &&
	    (rv = secret_key_attrs(m, &l)) == CKR_OK) {
		mod_lock();
		rv = secret_generate_inlock(hSession, type, &l, phKey);
		mod_unlock();
	}
	attr_list_clear(&l);
	LOG_RV("C_GenerateKey", rv);
	return rv;
}

/* --- AES ------------------------------------------------------------------ */

/* The AES modes' parameters (v2.40 2.14.x): none for ECB, the IV for CBC
 * and CFB, CK_AES_CTR_PARAMS for CTR. */
CK_RV
aes_params(session *s, const mech_row *m, CK_MECHANISM_PTR mech,
	   const token_obj *o, op_kind op)
{
	(void)o, (void)op;
	if (m->tpm_mode == TPM2_ALG_ECB) {
		if (mech->ulParameterLen != 0)
			return CKR_MECHANISM_PARAM_INVALID;
		memset(s->iv, 0, 16);
	} else if (m->tpm_mode == TPM2_ALG_CTR) {
		/* The TPM counts over the whole block; that equals a counter
		 * of ulCounterBits as long as it does not wrap, so the blocks
		 * left before a wrap are counted and more data is refused. */
		CK_AES_CTR_PARAMS *p = mech->pParameter;
		uint64_t low = 0;
		int i;

		if (p == NULL || mech->ulParameterLen != sizeof(*p) ||
		    p->ulCounterBits == 0 || p->ulCounterBits > 128)
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(s->iv, p->cb, 16);
		s->ctr_bits = p->ulCounterBits;
		if (p->ulCounterBits >= 64) {
			s->ctr_left = UINT64_MAX;
		} else {
			for (i = 8; i < 16; i++)
				low = low << 8 | p->cb[i];
			low &= ((uint64_t)1 << p->ulCounterBits) - 1;
			s->ctr_left = ((uint64_t)1 << p->ulCounterBits) - low;
		}
	} else {
		if (mech->pParameter == NULL || mech->ulParameterLen != 16)
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(s->iv, mech->pParameter, 16);
	}
	return CKR_OK;
}

/* The stream modes (CFB, CTR): any length, a partial last block. */
static bool
aes_is_cfb(const session *s)
{
	return s->mech->tpm_mode == TPM2_ALG_CFB ||
	       s->mech->tpm_mode == TPM2_ALG_CTR;
}

/* How many bytes an update of len processes now: whole blocks, and for
 * CBC-PAD decryption never the last block (it may hold the padding). */
static size_t
aes_update_take(const session *s, size_t len)
{
	size_t total = s->plen + len, n = total - total % 16;

	if (s->op == OP_DECRYPT && s->mech->pad && n == total && n > 0)
		n -= 16;
	return n;
}

/* Runs the TPM over n bytes made of the held part and in; keeps the rest. */
static CK_RV
aes_run(session *s, token *t, const uint8_t *in, size_t len, size_t n,
	uint8_t *out)
{
	token_obj *o = object_get_inlock(t, (CK_OBJECT_HANDLE)s->op_key);
	uint8_t *tmp;
	size_t rest = s->plen + len - n, size = s->plen + len + 1;
	CK_RV rv = CKR_OK;

	if (o == NULL)
		return CKR_KEY_HANDLE_INVALID;
	if (s->ctr_bits) {
		uint64_t blocks = (n + 15) / 16;

		if (blocks > s->ctr_left)
			return CKR_DATA_LEN_RANGE; /* the counter would wrap */
		s->ctr_left -= blocks;
	}
	if ((tmp = malloc(size)) == NULL)
		return CKR_HOST_MEMORY;
	memcpy(tmp, s->part, s->plen);
	if (len)
		memcpy(tmp + s->plen, in, len);
	if (n > 0)
		rv = token_aes(mod.c, t, o, s->op == OP_DECRYPT,
			       s->mech->tpm_mode, s->iv, tmp, n, out);
	if (rv == CKR_OK) {
		memcpy(s->part, tmp + n, rest);
		s->plen = rest;
	}
	secure_free(tmp, size);
	return rv;
}

CK_RV
aes_update_inlock(session *s, token *t, const uint8_t *in, size_t len,
		  CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	size_t n = aes_update_take(s, len);
	CK_RV rv;

	s->op_multi = true;
	if (out == NULL) {
		*outlen = n;
		return CKR_OK;
	}
	if (*outlen < n) {
		*outlen = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	if ((rv = aes_run(s, t, in, len, n, out)) != CKR_OK) {
		session_end_ops(s);
		return rv;
	}
	*outlen = n;
	return CKR_OK;
}

CK_RV
aes_final_inlock(session *s, token *t, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	uint8_t blk[16], plain[16];
	bool dec = s->op == OP_DECRYPT;
	size_t need, k;
	CK_RV rv = CKR_OK;

	if (aes_is_cfb(s))
		need = s->plen;
	else if (!s->mech->pad)
		need = 0;
	else
		need = 16; /* encrypt: one padded block; decrypt: at most */
	if (!aes_is_cfb(s) && !s->mech->pad && s->plen != 0) {
		session_end_ops(s);
		return dec ? CKR_ENCRYPTED_DATA_LEN_RANGE : CKR_DATA_LEN_RANGE;
	}
	if (dec && s->mech->pad && s->plen != 16) {
		session_end_ops(s);
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	}
	if (out == NULL) {
		*outlen = need;
		return CKR_OK;
	}
	if (aes_is_cfb(s) || !s->mech->pad) {
		if (*outlen < need) {
			*outlen = need;
			return CKR_BUFFER_TOO_SMALL;
		}
		rv = aes_run(s, t, NULL, 0, s->plen, out);
		if (rv == CKR_OK)
			*outlen = need;
		session_end_ops(s);
		return rv;
	}
	if (!dec) {
		/* PKCS#7: 1..16 bytes of value n */
		if (*outlen < 16) {
			*outlen = 16;
			return CKR_BUFFER_TOO_SMALL;
		}
		memset(s->part + s->plen, (int)(16 - s->plen), 16 - s->plen);
		s->plen = 16;
		rv = aes_run(s, t, NULL, 0, 16, out);
		if (rv == CKR_OK)
			*outlen = 16;
		session_end_ops(s);
		return rv;
	}
	/* Decrypt the held block into a copy (the IV is not advanced), so
	 * that a short buffer can be answered with the exact length. */
	{
		token_obj *o =
			object_get_inlock(t, (CK_OBJECT_HANDLE)s->op_key);
		uint8_t iv[16];

		if (o == NULL) {
			session_end_ops(s);
			return CKR_KEY_HANDLE_INVALID;
		}
		memcpy(iv, s->iv, 16);
		memcpy(blk, s->part, 16);
		rv = token_aes(mod.c, t, o, true, s->mech->tpm_mode, iv, blk,
			       16, plain);
		if (rv != CKR_OK) {
			session_end_ops(s);
			return rv;
		}
	}
	k = plain[15];
	if (k == 0 || k > 16) {
		session_end_ops(s);
		secure_zero(plain, sizeof(plain));
		return CKR_ENCRYPTED_DATA_INVALID;
	}
	for (size_t i = 16 - k; i < 16; i++) {
		if (plain[i] != k) {
			session_end_ops(s);
			secure_zero(plain, sizeof(plain));
			return CKR_ENCRYPTED_DATA_INVALID;
		}
	}
	if (*outlen < 16 - k) {
		*outlen = 16 - k;
		secure_zero(plain, sizeof(plain));
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(out, plain, 16 - k);
	*outlen = 16 - k;
	secure_zero(plain, sizeof(plain));
	session_end_ops(s);
	return CKR_OK;
}

/* Single-part: all the data at once. Lengths are checked before any TPM
 * work so that a query or a short buffer changes nothing. */
CK_RV
aes_oneshot_inlock(session *s, token *t, const uint8_t *in, size_t len,
		   CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	bool dec = s->op == OP_DECRYPT;
	size_t need;
	uint8_t *tmp;
	CK_ULONG a, b;
	CK_RV rv;

	if (!aes_is_cfb(s) &&
	    (len % 16 != 0 || (dec && s->mech->pad && len == 0)) &&
	    !(s->mech->pad && !dec)) {
		session_end_ops(s);
		return dec ? CKR_ENCRYPTED_DATA_LEN_RANGE : CKR_DATA_LEN_RANGE;
	}
	need = s->mech->pad && !dec ? len - len % 16 + 16 : len;
	if (out == NULL) {
		*outlen = need;
		return CKR_OK;
	}
	if (*outlen < need && !(dec && s->mech->pad)) {
		*outlen = need;
		return CKR_BUFFER_TOO_SMALL;
	}
	/* Work on copies of the state so a short buffer (CBC-PAD decrypt,
	 * known only at the end) leaves the operation as it was. */
	if ((tmp = malloc(need + 16)) == NULL) {
		session_end_ops(s);
		return CKR_HOST_MEMORY;
	}
	{
		uint8_t iv[16];
		op_kind op = s->op;
		const mech_row *m = s->mech;
		int64_t key = s->op_key;

		memcpy(iv, s->iv, 16);
		a = need + 16;
		rv = aes_update_inlock(s, t, in, len, tmp, &a);
		if (rv == CKR_OK) {
			b = need + 16 - a;
			rv = aes_final_inlock(s, t, tmp + a, &b);
		}
		if (rv == CKR_OK && a + b > *outlen) {
			/* CBC-PAD decryption into a buffer too small: report
			 * the exact length; the operation is as it was, for
			 * the caller to ask again. */
			*outlen = a + b;
			s->op = op;
			s->mech = m;
			s->op_key = key;
			memcpy(s->iv, iv, 16);
			s->plen = 0;
			s->op_multi = false;
			s->op_single = true;
			secure_free(tmp, need + 16);
			return CKR_BUFFER_TOO_SMALL;
		}
	}
	if (rv == CKR_OK) {
		memcpy(out, tmp, a + b);
		*outlen = a + b;
	}
	secure_free(tmp, need + 16);
	s->op_multi = false;
	return rv;
}

/* --- C_Encrypt* (AES only: RSA encryption is a public-key operation the
 * caller does itself) --------------------------------------------------- */

CK_RV
C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
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
		rv = mech_init_inlock(s, pMechanism, o, OP_ENCRYPT);
	mod_unlock();
	LOG_RV("C_EncryptInit", rv);
	return rv;
}

CK_RV
C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	  CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
	CHECK_INIT();
	if ((pData == NULL && ulDataLen) || pulEncryptedDataLen == NULL)
		return op_args_bad(hSession, OP_ENCRYPT);
	return op_crypt(hSession, OP_ENCRYPT, pData, ulDataLen, pEncryptedData,
			pulEncryptedDataLen);
}

CK_RV
C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
		CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
		CK_ULONG_PTR pulEncryptedPartLen)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if ((pPart == NULL && ulPartLen) || pulEncryptedPartLen == NULL)
		return op_args_bad(hSession, OP_ENCRYPT);
	mod_lock();
	if ((rv = op_part_inlock(hSession, OP_ENCRYPT, &s, &t)) == CKR_OK)
		rv = aes_update_inlock(s, t, pPart, ulPartLen, pEncryptedPart,
				       pulEncryptedPartLen);
	mod_unlock();
	return rv;
}

CK_RV
C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
	       CK_ULONG_PTR pulLastEncryptedPartLen)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if (pulLastEncryptedPartLen == NULL)
		return op_args_bad(hSession, OP_ENCRYPT);
	mod_lock();
	if ((rv = op_part_inlock(hSession, OP_ENCRYPT, &s, &t)) == CKR_OK)
		rv = aes_final_inlock(s, t, pLastEncryptedPart,
				      pulLastEncryptedPartLen);
	mod_unlock();
	return rv;
}
