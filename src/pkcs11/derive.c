/* Key agreement: C_DeriveKey with CKM_ECDH1_DERIVE (PKCS#11 v2.40 2.3.11).
 * The TPM computes Z = d * Q (TPM2_ECDH_ZGen) with a key generated with
 * CKA_DERIVE; the KDF (ANSI X9.63, v2.40 2.3.x; OpenSSL's X963KDF) runs on
 * the host. The derived secret exists only as a session object: a token
 * object would put it in the store in clear. */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/module.h"
#include "util/secure.h"

static hash_algo
kdf_hash(CK_ULONG kdf)
{
	switch (kdf) {
	case CKD_SHA1_KDF: return HASH_SHA1;
	case CKD_SHA224_KDF: return HASH_SHA224;
	case CKD_SHA256_KDF: return HASH_SHA256;
	case CKD_SHA384_KDF: return HASH_SHA384;
	case CKD_SHA512_KDF: return HASH_SHA512;
	default: return HASH_NONE;
	}
}

CK_RV
C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	    CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
	    CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	CK_ECDH1_DERIVE_PARAMS *p;
	uint8_t x[EC_MAX_FIELD_LEN], y[EC_MAX_FIELD_LEN], z[EC_MAX_FIELD_LEN];
	uint8_t key[128];
	attr_list l;
	CK_ULONG klen = 0, kt = CKK_GENERIC_SECRET;
	hash_algo h;
	session *s;
	token *t;
	token_obj *o;
	size_t fl;
	bool sens, extr;
	CK_RV rv;

	CHECK_INIT();
	if (pMechanism == NULL || phKey == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = session_check(hSession)) != CKR_OK)
		return rv;
	if (pMechanism->mechanism != CKM_ECDH1_DERIVE)
		return CKR_MECHANISM_INVALID;
	p = pMechanism->pParameter;
	if (p == NULL || pMechanism->ulParameterLen != sizeof(*p) ||
	    p->pPublicData == NULL ||
	    (p->pSharedData == NULL && p->ulSharedDataLen > 0))
		return CKR_MECHANISM_PARAM_INVALID;
	if (p->kdf != CKD_NULL && kdf_hash(p->kdf) == HASH_NONE)
		return CKR_MECHANISM_PARAM_INVALID;
	if (p->kdf == CKD_NULL && p->ulSharedDataLen > 0)
		return CKR_MECHANISM_PARAM_INVALID;
	if ((rv = attr_list_from_template(&l, pTemplate, ulAttributeCount)) !=
	    CKR_OK)
		return rv;
	if (attr_bool_or(&l, CKA_TOKEN, false)) {
		rv = CKR_TEMPLATE_INCONSISTENT;
		goto done;
	}
	attr_get_ulong(&l, CKA_KEY_TYPE, &kt);
	attr_get_ulong(&l, CKA_VALUE_LEN, &klen);
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if ((o = object_get_inlock(t, hBaseKey)) == NULL) {
		rv = token_find_obj(t, (int64_t)hBaseKey) ? CKR_USER_NOT_LOGGED_IN
							  : CKR_KEY_HANDLE_INVALID;
		goto out;
	}
	if (o->cls != CKO_PRIVATE_KEY || o->pub.curve == CURVE_NONE) {
		rv = CKR_KEY_TYPE_INCONSISTENT;
		goto out;
	}
	if (!attr_bool_or(&o->attrs, CKA_DERIVE, false)) {
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
		goto out;
	}
	fl = ec_field_len(o->pub.curve);
	if (klen == 0)
		klen = kt == CKK_AES ? 32 : fl;
	if (klen > sizeof(key) || (p->kdf == CKD_NULL && klen > fl) ||
	    (kt == CKK_AES && klen != 16 && klen != 24 && klen != 32)) {
		rv = CKR_TEMPLATE_INCONSISTENT;
		goto out;
	}
	if (ec_point_parse(o->pub.curve, p->pPublicData, p->ulPublicDataLen, x,
			   y) != 0) {
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}
	if ((rv = token_ecdh(mod.c, t, o, x, y, z)) != CKR_OK)
		goto out;
	h = kdf_hash(p->kdf);
	if (h == HASH_NONE) {
		/* CKD_NULL: Z itself, cut to CKA_VALUE_LEN (its first
		 * bytes) when a shorter key is asked for. */
		memcpy(key, z, klen);
	} else if (hash_x963_kdf(h, z, fl, p->pSharedData,
				 p->ulSharedDataLen, key, klen) != 0) {
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	sens = attr_bool_or(&l, CKA_SENSITIVE, false);
	extr = attr_bool_or(&l, CKA_EXTRACTABLE, true);
	if (attr_set_ulong(&l, CKA_CLASS, CKO_SECRET_KEY) ||
	    attr_set_ulong(&l, CKA_KEY_TYPE, kt) ||
	    attr_set(&l, CKA_VALUE, key, klen) ||
	    attr_set_ulong(&l, CKA_VALUE_LEN, klen) ||
	    attr_set_bool(&l, CKA_LOCAL, false) ||
	    attr_set_bool(&l, CKA_SENSITIVE, sens) ||
	    attr_set_bool(&l, CKA_EXTRACTABLE, extr) ||
	    attr_set_bool(&l, CKA_ALWAYS_SENSITIVE, false) ||
	    attr_set_bool(&l, CKA_NEVER_EXTRACTABLE, false) ||
	    attr_set_ulong(&l, CKA_KEY_GEN_MECHANISM, CKM_ECDH1_DERIVE)) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (!attr_find(&l, CKA_PRIVATE))
		attr_set_bool(&l, CKA_PRIVATE, true);
	rv = object_make_inlock(s, t, &l, phKey);
out:
	mod_unlock();
	secure_zero(z, sizeof(z));
	secure_zero(key, sizeof(key));
done:
	attr_list_clear(&l);
	LOG_RV("C_DeriveKey", rv);
	return rv;
}
