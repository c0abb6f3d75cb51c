/* Objects: C_FindObjects*, C_GetAttributeValue, C_GetObjectSize,
 * C_SetAttributeValue, C_DestroyObject, C_GenerateKeyPair. None sends a
 * TPM command except key generation. */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/module.h"

CK_RV
C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
		  CK_ULONG ulCount)
{
	session *s;
	token *t;
	CK_RV rv;
	size_t i;

	CHECK_INIT();
	if ((rv = attr_template_check(pTemplate, ulCount)) != CKR_OK)
		return rv;
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if (s->find_active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	/* The result is fixed now (v2.40 5.7: objects made later may or may
	 * not be found; we take a snapshot of handles). */
	if ((s->found = calloc(t->nobjs ? t->nobjs : 1, sizeof(int64_t))) ==
	    NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	s->nfound = s->find_pos = 0;
	for (i = 0; i < t->nobjs; i++) {
		token_obj *o = t->objs[i];

		if (o->is_private && t->login != CKU_USER)
			continue;
		if (attr_list_match(&o->attrs, pTemplate, ulCount))
			s->found[s->nfound++] = o->id;
	}
	s->find_active = true;
out:
	mod_unlock();
	LOG_RV("C_FindObjectsInit", rv);
	return rv;
}

CK_RV
C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
	      CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
	session *s;
	token *t;
	CK_RV rv;
	CK_ULONG n = 0;

	CHECK_INIT();
	if (pulObjectCount == NULL || (phObject == NULL && ulMaxObjectCount))
		return CKR_ARGUMENTS_BAD;
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if (!s->find_active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	while (n < ulMaxObjectCount && s->find_pos < s->nfound)
		phObject[n++] = (CK_OBJECT_HANDLE)s->found[s->find_pos++];
	*pulObjectCount = n;
out:
	mod_unlock();
	return rv;
}

CK_RV
C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) == CKR_OK) {
		if (!s->find_active) {
			rv = CKR_OPERATION_NOT_INITIALIZED;
		} else {
			free(s->found);
			s->found = NULL;
			s->nfound = s->find_pos = 0;
			s->find_active = false;
		}
	}
	mod_unlock();
	return rv;
}

/* Attributes that hold private-key material: never in our objects, and
 * PKCS#11 v2.40 4.9 says a sensitive key answers CKR_ATTRIBUTE_SENSITIVE. */
static bool
attr_is_secret_part(CK_ATTRIBUTE_TYPE type)
{
	switch (type) {
	case CKA_VALUE:
	case CKA_PRIVATE_EXPONENT:
	case CKA_PRIME_1:
	case CKA_PRIME_2:
	case CKA_EXPONENT_1:
	case CKA_EXPONENT_2:
	case CKA_COEFFICIENT:
		return true;
	default:
		return false;
	}
}

/* PKCS#11 v2.40 5.7 C_GetAttributeValue: every attribute is processed;
 * sensitive -> CK_UNAVAILABLE_INFORMATION (CKR_ATTRIBUTE_SENSITIVE),
 * absent -> CK_UNAVAILABLE_INFORMATION (CKR_ATTRIBUTE_TYPE_INVALID),
 * NULL pValue -> the length, too small -> CK_UNAVAILABLE_INFORMATION
 * (CKR_BUFFER_TOO_SMALL); the others are still filled. */
CK_RV
C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
		    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	session *s;
	token *t;
	token_obj *o;
	CK_RV rv, res = CKR_OK;
	CK_ULONG i;

	CHECK_INIT();
	if (pTemplate == NULL && ulCount > 0)
		return CKR_ARGUMENTS_BAD;
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if ((o = object_get_inlock(t, hObject)) == NULL) {
		rv = CKR_OBJECT_HANDLE_INVALID;
		goto out;
	}
	for (i = 0; i < ulCount; i++) {
		CK_ATTRIBUTE *a = &pTemplate[i];
		const CK_ATTRIBUTE *v;

		if ((o->cls == CKO_PRIVATE_KEY || o->cls == CKO_SECRET_KEY) &&
		    attr_is_secret_part(a->type)) {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			res = CKR_ATTRIBUTE_SENSITIVE;
			continue;
		}
		if ((v = attr_find(&o->attrs, a->type)) == NULL) {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			res = CKR_ATTRIBUTE_TYPE_INVALID;
			continue;
		}
		if (a->pValue == NULL) {
			a->ulValueLen = v->ulValueLen;
		} else if (a->ulValueLen < v->ulValueLen) {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			res = CKR_BUFFER_TOO_SMALL;
		} else {
			if (v->ulValueLen)
				memcpy(a->pValue, v->pValue, v->ulValueLen);
			a->ulValueLen = v->ulValueLen;
		}
	}
	rv = res;
out:
	mod_unlock();
	LOG_RV("C_GetAttributeValue", rv);
	return rv;
}

CK_RV
C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
		CK_ULONG_PTR pulSize)
{
	session *s;
	token *t;
	token_obj *o;
	CK_RV rv;
	size_t i, n = 0;

	CHECK_INIT();
	if (pulSize == NULL)
		return CKR_ARGUMENTS_BAD;
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) == CKR_OK) {
		if ((o = object_get_inlock(t, hObject)) == NULL) {
			rv = CKR_OBJECT_HANDLE_INVALID;
		} else {
			for (i = 0; i < o->attrs.n; i++)
				n += o->attrs.v[i].ulValueLen;
			*pulSize = n + o->key.pub.len + o->key.priv.len;
		}
	}
	mod_unlock();
	return rv;
}

/* Attributes a caller may change after creation (v2.40 4.4 table 10:
 * those not marked 8). */
static bool
attr_is_settable(CK_ATTRIBUTE_TYPE type)
{
	switch (type) {
	case CKA_LABEL:
	case CKA_ID:
	case CKA_SUBJECT:
	case CKA_START_DATE:
	case CKA_END_DATE:
		return true;
	default:
		return false;
	}
}

CK_RV
C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
		    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	session *s;
	token *t;
	token_obj *o;
	attr_list next;
	CK_RV rv;
	CK_ULONG i;

	CHECK_INIT();
	if ((rv = attr_template_check(pTemplate, ulCount)) != CKR_OK)
		return rv;
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if ((o = object_get_inlock(t, hObject)) == NULL) {
		rv = CKR_OBJECT_HANDLE_INVALID;
		goto out;
	}
	if (!(s->flags & CKF_RW_SESSION)) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	if (!attr_bool_or(&o->attrs, CKA_MODIFIABLE, true)) {
		rv = CKR_ACTION_PROHIBITED;
		goto out;
	}
	for (i = 0; i < ulCount; i++) {
		if (!attr_is_settable(pTemplate[i].type)) {
			rv = attr_find(&o->attrs, pTemplate[i].type)
				     ? CKR_ATTRIBUTE_READ_ONLY
				     : CKR_ATTRIBUTE_TYPE_INVALID;
			goto out;
		}
	}
	if (attr_list_copy(&next, &o->attrs) != 0) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	for (i = 0; i < ulCount; i++) {
		if (attr_set(&next, pTemplate[i].type, pTemplate[i].pValue,
			     pTemplate[i].ulValueLen) != 0) {
			attr_list_clear(&next);
			rv = CKR_HOST_MEMORY;
			goto out;
		}
	}
	if (store_object_set_attrs(mod.c->st, o->id, &next) != STORE_OK)
		rv = CKR_DEVICE_ERROR;
	else
		rv = core_reload(mod.c);
	attr_list_clear(&next);
out:
	mod_unlock();
	LOG_RV("C_SetAttributeValue", rv);
	return rv;
}

CK_RV
C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
	session *s;
	token *t;
	token_obj *o;
	int64_t id;
	CK_RV rv;

	CHECK_INIT();
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if ((o = object_get_inlock(t, hObject)) == NULL) {
		rv = CKR_OBJECT_HANDLE_INVALID;
		goto out;
	}
	if (!(s->flags & CKF_RW_SESSION)) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	if (!attr_bool_or(&o->attrs, CKA_DESTROYABLE, true)) {
		rv = CKR_ACTION_PROHIBITED;
		goto out;
	}
	id = o->id;
	rv = token_destroy_objects(mod.c, t, &id, 1);
out:
	mod_unlock();
	LOG_RV("C_DestroyObject", rv);
	return rv;
}

/* The key type a caller's templates ask for. */
static CK_RV
keygen_type(CK_MECHANISM_PTR m, const attr_list *pub, tpm_key_type *out)
{
	CK_ULONG bits;
	const CK_ATTRIBUTE *a;

	switch (m->mechanism) {
	case CKM_EC_KEY_PAIR_GEN:
		if ((a = attr_find(pub, CKA_EC_PARAMS)) == NULL)
			return CKR_TEMPLATE_INCOMPLETE;
		switch (ec_params_parse(a->pValue, a->ulValueLen)) {
		case CURVE_P256: *out = TPM_KEY_ECC_P256; return CKR_OK;
		case CURVE_P384: *out = TPM_KEY_ECC_P384; return CKR_OK;
		default: return CKR_CURVE_NOT_SUPPORTED;
		}
	case CKM_RSA_PKCS_KEY_PAIR_GEN:
		if (!attr_get_ulong(pub, CKA_MODULUS_BITS, &bits))
			return CKR_TEMPLATE_INCOMPLETE;
		if ((a = attr_find(pub, CKA_PUBLIC_EXPONENT)) != NULL) {
			/* The TPM makes e = 65537 only. */
			static const uint8_t f4[] = {0x01, 0x00, 0x01};
			const uint8_t *p = a->pValue;
			size_t n = a->ulValueLen;

			while (n > 0 && *p == 0) {
				p++;
				n--;
			}
			if (n != 3 || memcmp(p, f4, 3) != 0)
				return CKR_ATTRIBUTE_VALUE_INVALID;
		}
		if (bits == 2048)
			*out = TPM_KEY_RSA_2048;
		else if (bits == 3072)
			*out = TPM_KEY_RSA_3072;
		else
			return CKR_KEY_SIZE_RANGE;
		return CKR_OK;
	default:
		return CKR_MECHANISM_INVALID;
	}
}

/* Template attributes the module decides itself: a caller may repeat our
 * value but not ask for another. */
static CK_RV
keygen_check_priv(const attr_list *priv)
{
	bool b;

	if (attr_get_bool(priv, CKA_TOKEN, &b) && !b) {
		log_debug("keygen: CKA_TOKEN false (session keys: not yet)");
		return CKR_TEMPLATE_INCONSISTENT;
	}
	if (attr_get_bool(priv, CKA_SENSITIVE, &b) && !b)
		return CKR_TEMPLATE_INCONSISTENT;
	if (attr_get_bool(priv, CKA_EXTRACTABLE, &b) && b)
		return CKR_TEMPLATE_INCONSISTENT;
	return CKR_OK;
}

static void
keygen_user_attrs(const attr_list *in, attr_list *out)
{
	/* Usage flags are kept as asked: C_SignInit honours CKA_SIGN; the
	 * decrypt and derive functions come with the conformance work
	 * (docs/design.md) and return CKR_FUNCTION_NOT_SUPPORTED till then. */
	static const CK_ATTRIBUTE_TYPE keep[] = {
		CKA_LABEL, CKA_ID, CKA_SUBJECT, CKA_START_DATE, CKA_END_DATE,
		CKA_SIGN, CKA_VERIFY, CKA_DECRYPT, CKA_ENCRYPT, CKA_DERIVE};
	size_t i;

	attr_list_init(out);
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const CK_ATTRIBUTE *a = attr_find(in, keep[i]);

		if (a != NULL)
			attr_set(out, a->type, a->pValue, a->ulValueLen);
	}
}

CK_RV
C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		  CK_ATTRIBUTE_PTR pPublicKeyTemplate,
		  CK_ULONG ulPublicKeyAttributeCount,
		  CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
		  CK_ULONG ulPrivateKeyAttributeCount,
		  CK_OBJECT_HANDLE_PTR phPublicKey,
		  CK_OBJECT_HANDLE_PTR phPrivateKey)
{
	attr_list pub, priv, upub, upriv;
	tpm_key_type type;
	session *s;
	token *t;
	int64_t pub_id = 0, priv_id = 0;
	const CK_ATTRIBUTE *id;
	char *label = NULL;
	CK_RV rv;

	CHECK_INIT();
	if (pMechanism == NULL || phPublicKey == NULL || phPrivateKey == NULL)
		return CKR_ARGUMENTS_BAD;
	attr_list_init(&upub);
	attr_list_init(&upriv);
	attr_list_init(&priv);
	if ((rv = attr_list_from_template(&pub, pPublicKeyTemplate,
					  ulPublicKeyAttributeCount)) != CKR_OK)
		return rv;
	if ((rv = attr_list_from_template(&priv, pPrivateKeyTemplate,
					  ulPrivateKeyAttributeCount)) != CKR_OK)
		goto done;
	if ((rv = keygen_type(pMechanism, &pub, &type)) != CKR_OK ||
	    (rv = keygen_check_priv(&priv)) != CKR_OK) {
		log_debug("C_GenerateKeyPair: template refused (0x%lx)",
			  (unsigned long)rv);
		goto done;
	}
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if (!(s->flags & CKF_RW_SESSION)) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	if (t->login != CKU_USER) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	keygen_user_attrs(&pub, &upub);
	keygen_user_attrs(&priv, &upriv);
	/* One label and one CKA_ID for both halves, as OpenSSH expects. */
	if ((label = attr_dup_str(&priv, CKA_LABEL)) == NULL)
		label = attr_dup_str(&pub, CKA_LABEL);
	if ((id = attr_find(&priv, CKA_ID)) == NULL)
		id = attr_find(&pub, CKA_ID);
	rv = token_generate_key(mod.c, t, type, label, id ? id->pValue : NULL,
				id ? id->ulValueLen : 0,
				attr_bool_or(&priv, CKA_PRIVATE, true)
					? 0 : TOKEN_KEY_NO_LOGIN,
				&upub, &upriv, &pub_id, &priv_id);
	if (rv == CKR_OK) {
		*phPublicKey = (CK_OBJECT_HANDLE)pub_id;
		*phPrivateKey = (CK_OBJECT_HANDLE)priv_id;
	} else {
		log_error("C_GenerateKeyPair: %s", mod.c->err);
	}
out:
	mod_unlock();
done:
	free(label);
	attr_list_clear(&pub);
	attr_list_clear(&priv);
	attr_list_clear(&upub);
	attr_list_clear(&upriv);
	LOG_RV("C_GenerateKeyPair", rv);
	return rv;
}
