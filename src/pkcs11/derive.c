/* Key agreement: C_DeriveKey with CKM_ECDH1_DERIVE (PKCS#11 v2.40 2.3.11).
 * The TPM computes Z = d * Q (TPM2_ECDH_ZGen) with a key generated with
 * CKA_DERIVE; the KDF (ANSI X9.63, v2.40 2.3.x; OpenSSL's X963KDF) runs on
 * the host. The derived secret exists only as a session object: a token
 * object would put it in the store in clear. */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/mech.h"
#include "util/secure.h"

static hash_algo
kdf_hash(CK_ULONG kdf)
{
	switch (kdf) {
	case CKD_SHA1_KDF:
		return HASH_SHA1;
	case CKD_SHA224_KDF:
		return HASH_SHA224;
	case CKD_SHA256_KDF:
		return HASH_SHA256;
	case CKD_SHA384_KDF:
		return HASH_SHA384;
	case CKD_SHA512_KDF:
		return HASH_SHA512;
	default:
		return HASH_NONE;
	}
}

/* The mechanism (one with CKF_DERIVE in the table) and its
 * CK_ECDH1_DERIVE_PARAMS (v2.40 2.3.11). */
static CK_RV
derive_params(CK_MECHANISM_PTR m, CK_ECDH1_DERIVE_PARAMS **out)
{
	const mech_row *r = mech_find(m->mechanism);
	CK_ECDH1_DERIVE_PARAMS *p = m->pParameter;

	if (r == NULL || !(r->flags & CKF_DERIVE))
		return CKR_MECHANISM_INVALID;
	if (p == NULL || m->ulParameterLen != sizeof(*p) ||
	    p->pPublicData == NULL ||
	    (p->pSharedData == NULL && p->ulSharedDataLen > 0))
		return CKR_MECHANISM_PARAM_INVALID;
	if (p->kdf != CKD_NULL && kdf_hash(p->kdf) == HASH_NONE)
		return CKR_MECHANISM_PARAM_INVALID;
	if (p->kdf == CKD_NULL && p->ulSharedDataLen > 0)
		return CKR_MECHANISM_PARAM_INVALID;
	*out = p;
	return CKR_OK;
}

/* The base key: an EC private key that may derive. */
static CK_RV
derive_base_inlock(token *t, CK_OBJECT_HANDLE h, token_obj **o)
{
	if ((*o = object_get_inlock(t, h)) == NULL)
		return token_find_obj(t, (int64_t)h) ? CKR_USER_NOT_LOGGED_IN
						     : CKR_KEY_HANDLE_INVALID;
	if ((*o)->cls != CKO_PRIVATE_KEY || (*o)->pub.curve == CURVE_NONE)
		return CKR_KEY_TYPE_INCONSISTENT;
	if (!attr_bool_or(&(*o)->attrs, CKA_DERIVE, false))
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	return CKR_OK;
}

/* The derived value: Z from the TPM, then the KDF (CKD_NULL: Z itself,
 * cut to klen, its first bytes, when a shorter key is asked for). */
static CK_RV
derive_value_inlock(token *t, token_obj *o, const CK_ECDH1_DERIVE_PARAMS *p,
		    uint8_t *key, size_t klen)
{
	uint8_t x[EC_MAX_FIELD_LEN], y[EC_MAX_FIELD_LEN], z[EC_MAX_FIELD_LEN];
	size_t fl = ec_field_len(o->pub.curve);
	hash_algo h = kdf_hash(p->kdf);
	CK_RV rv;

	if (ec_point_parse(o->pub.curve, p->pPublicData, p->ulPublicDataLen, x,
			   y) != 0)
		return CKR_MECHANISM_PARAM_INVALID;
	if ((rv = token_ecdh(mod.c, t, o, x, y, z)) != CKR_OK)
		goto out;
	if (h == HASH_NONE)
		memcpy(key, z, klen);
	else if (hash_x963_kdf(h, z, fl, p->pSharedData, p->ulSharedDataLen,
			       key, klen) != 0)
		rv = CKR_GENERAL_ERROR;
out:
	secure_zero(z, sizeof(z));
	return rv;
}

/* The derived key's attributes: a secret key of type kt holding the value,
 * sensitive and extractable as the template says (l). */
static CK_RV
derive_attrs(attr_list *l, CK_KEY_TYPE kt, const uint8_t *key, size_t klen)
{
	bool sens = attr_bool_or(l, CKA_SENSITIVE, false);
	bool extr = attr_bool_or(l, CKA_EXTRACTABLE, true);

	if (attr_set(l, CKA_VALUE, key, klen) ||
	    attr_set_ulong(l, CKA_VALUE_LEN, klen))
		return CKR_HOST_MEMORY;
	return secret_key_attrs_set(l, kt, CKM_ECDH1_DERIVE, false, sens, extr);
}

/* The derived key as a session object of s (l taken over). */
static CK_RV
derive_inlock(session *s, token *t, CK_OBJECT_HANDLE base,
	      const CK_ECDH1_DERIVE_PARAMS *p, attr_list *l,
	      CK_OBJECT_HANDLE_PTR out)
{
	CK_ULONG klen = 0, kt = CKK_GENERIC_SECRET;
	uint8_t key[128];
	token_obj *o;
	size_t fl;
	CK_RV rv;

	attr_get_ulong(l, CKA_KEY_TYPE, &kt);
	attr_get_ulong(l, CKA_VALUE_LEN, &klen);
	if ((rv = derive_base_inlock(t, base, &o)) != CKR_OK)
		return rv;
	fl = ec_field_len(o->pub.curve);
	if (klen == 0)
		klen = kt == CKK_AES ? 32 : fl;
	if (klen > sizeof(key) || (p->kdf == CKD_NULL && klen > fl) ||
	    (kt == CKK_AES && klen != 16 && klen != 24 && klen != 32))
		return CKR_TEMPLATE_INCONSISTENT;
	if ((rv = derive_value_inlock(t, o, p, key, klen)) == CKR_OK &&
	    (rv = derive_attrs(l, kt, key, klen)) == CKR_OK)
		rv = object_make_inlock(s, t, l, out);
	secure_zero(key, sizeof(key));
	return rv;
}

CK_RV
C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	    CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
	    CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	CK_ECDH1_DERIVE_PARAMS *p;
	attr_list l;
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if (pMechanism == NULL || phKey == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = session_check(hSession)) != CKR_OK ||
	    (rv = derive_params(pMechanism, &p)) != CKR_OK)
		return rv;
	if ((rv = attr_list_from_template(&l, pTemplate, ulAttributeCount)) !=
	    CKR_OK)
		return rv;
	if (attr_bool_or(&l, CKA_TOKEN, false)) {
		/* A token object would put the secret in the store. */
		rv = CKR_TEMPLATE_INCONSISTENT;
	} else {
		mod_lock();
		if ((rv = session_get_inlock(hSession, &s, &t)) == CKR_OK)
			rv = derive_inlock(s, t, hBaseKey, p, &l, phKey);
		mod_unlock();
	}
	attr_list_clear(&l);
	LOG_RV("C_DeriveKey", rv);
	return rv;
}
