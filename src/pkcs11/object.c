/* Objects: C_FindObjects*, C_GetAttributeValue, C_GetObjectSize,
 * C_SetAttributeValue, C_DestroyObject, C_GenerateKeyPair. None sends a
 * TPM command except key generation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "pkcs11/module.h"
#include "util/secure.h"

static CK_RV template_creation_check(const attr_list *l);

CK_RV
C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
		  CK_ULONG ulCount)
{
	session *s;
	token *t;
	CK_RV rv;
	size_t i;

	CHECK_INIT();
	if ((rv = session_check(hSession)) != CKR_OK ||
	    (rv = attr_template_check(pTemplate, ulCount)) != CKR_OK)
		return rv;
	mod_lock();
	T11_IGNORE(core_refresh(
		mod.c)); /* unreadable now: the loaded tokens serve */
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if (s->find_active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	/* The result is fixed now (v2.40 5.7: objects made later may or may
	 * not be found; we take a snapshot of handles). */
	if ((s->found = calloc(t->nobjs + mod.nsobjs + 1, sizeof(int64_t))) ==
	    NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	s->nfound = s->find_pos = 0;
	for (i = 0; i < t->nobjs + mod.nsobjs; i++) {
		token_obj *o =
			i < t->nobjs ? t->objs[i] : mod.sobjs[i - t->nobjs];

		if (o->session != 0 && o->token_id != t->rec.id)
			continue;
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

		/* Private keys live in the TPM: never readable. A secret
		 * key (ECDH output) is readable unless it is sensitive or
		 * unextractable (v2.40 4.10 table 33 footnote). */
		if (attr_is_secret_part(a->type) &&
		    (o->cls == CKO_PRIVATE_KEY ||
		     (o->cls == CKO_SECRET_KEY &&
		      (attr_bool_or(&o->attrs, CKA_SENSITIVE, true) ||
		       !attr_bool_or(&o->attrs, CKA_EXTRACTABLE, false))))) {
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

/* May a caller set attribute a on object o after creation? PKCS#11 v2.40
 * 4.4-4.9: the attributes not marked 8 (read-only after creation), and the
 * latching ones only in their safe direction: CKA_SENSITIVE false -> true,
 * CKA_EXTRACTABLE true -> false (4.9 table 29 footnote 11). Returns CKR_OK
 * or the code to answer. */
static CK_RV
attr_may_set(const token_obj *o, const CK_ATTRIBUTE *a)
{
	bool v = a->ulValueLen == sizeof(CK_BBOOL) &&
		 *(CK_BBOOL *)a->pValue != CK_FALSE;

	switch (a->type) {
	case CKA_LABEL:
	case CKA_ID:
	case CKA_SUBJECT:
	case CKA_START_DATE:
	case CKA_END_DATE:
		return CKR_OK;
	case CKA_VALUE:
	case CKA_APPLICATION:
	case CKA_OBJECT_ID:
		return o->cls == CKO_DATA ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
	case CKA_SENSITIVE:
		if (o->cls != CKO_PRIVATE_KEY && o->cls != CKO_SECRET_KEY)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		return v ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
	case CKA_EXTRACTABLE:
		if (o->cls != CKO_PRIVATE_KEY && o->cls != CKO_SECRET_KEY)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		return v ? CKR_ATTRIBUTE_READ_ONLY : CKR_OK;
	default:
		return attr_find(&o->attrs, a->type)
			       ? CKR_ATTRIBUTE_READ_ONLY
			       : CKR_ATTRIBUTE_TYPE_INVALID;
	}
}

/* Applies tmpl to o: in memory for a session object, in the store for a
 * token object. */
static CK_RV
object_update_inlock(token_obj *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	attr_list next;
	CK_ULONG i;
	CK_RV rv = CKR_OK;

	if (attr_list_copy(&next, &o->attrs) != 0)
		return CKR_HOST_MEMORY;
	for (i = 0; i < n; i++) {
		if (attr_set(&next, tmpl[i].type, tmpl[i].pValue,
			     tmpl[i].ulValueLen) != 0) {
			attr_list_clear(&next);
			return CKR_HOST_MEMORY;
		}
	}
	if (o->session != 0) {
		attr_list_clear(&o->attrs);
		o->attrs = next;
		return CKR_OK;
	}
	rv = token_set_attrs(mod.c, o, &next);
	attr_list_clear(&next);
	return rv;
}

CK_RV
C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
		    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	session *s;
	token *t;
	token_obj *o;
	CK_RV rv;
	CK_ULONG i;

	CHECK_INIT();
	if ((rv = session_check(hSession)) != CKR_OK ||
	    (rv = attr_template_check(pTemplate, ulCount)) != CKR_OK)
		return rv;
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if ((o = object_get_inlock(t, hObject)) == NULL) {
		rv = CKR_OBJECT_HANDLE_INVALID;
		goto out;
	}
	if (o->session == 0 && !(s->flags & CKF_RW_SESSION)) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	if (!attr_bool_or(&o->attrs, CKA_MODIFIABLE, true)) {
		rv = CKR_ACTION_PROHIBITED;
		goto out;
	}
	for (i = 0; i < ulCount; i++)
		if ((rv = attr_may_set(o, &pTemplate[i])) != CKR_OK)
			goto out;
	rv = object_update_inlock(o, pTemplate, ulCount);
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
	if (o->session == 0 && !(s->flags & CKF_RW_SESSION)) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	if (!attr_bool_or(&o->attrs, CKA_DESTROYABLE, true)) {
		rv = CKR_ACTION_PROHIBITED;
		goto out;
	}
	if (o->session != 0) {
		size_t i;

		for (i = 0; i < mod.nsobjs; i++) {
			if (mod.sobjs[i] == o) {
				mod.sobjs[i] = mod.sobjs[--mod.nsobjs];
				sobj_free(o);
				break;
			}
		}
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
keygen_type(CK_MECHANISM_PTR m, const attr_list *pub, const attr_list *priv,
	    tpm_key_type *out)
{
	CK_ULONG bits, v;
	const CK_ATTRIBUTE *a;
	CK_KEY_TYPE want =
		m->mechanism == CKM_EC_KEY_PAIR_GEN ? CKK_EC : CKK_RSA;
	CK_RV rv;

	if ((rv = template_creation_check(pub)) != CKR_OK)
		return rv;
	if ((attr_get_ulong(pub, CKA_KEY_TYPE, &v) && v != want) ||
	    (attr_get_ulong(priv, CKA_KEY_TYPE, &v) && v != want) ||
	    (attr_get_ulong(pub, CKA_CLASS, &v) && v != CKO_PUBLIC_KEY) ||
	    (attr_get_ulong(priv, CKA_CLASS, &v) && v != CKO_PRIVATE_KEY))
		return CKR_TEMPLATE_INCONSISTENT;

	switch (m->mechanism) {
	case CKM_EC_KEY_PAIR_GEN:
		if ((a = attr_find(pub, CKA_EC_PARAMS)) == NULL)
			return CKR_TEMPLATE_INCOMPLETE;
		switch (ec_params_parse(a->pValue, a->ulValueLen)) {
		case CURVE_P256:
			*out = TPM_KEY_ECC_P256;
			return CKR_OK;
		case CURVE_P384:
			*out = TPM_KEY_ECC_P384;
			return CKR_OK;
		default:
			return CKR_CURVE_NOT_SUPPORTED;
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
	CK_RV rv;

	if ((rv = template_creation_check(priv)) != CKR_OK)
		return rv;

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
		CKA_LABEL,    CKA_ID,    CKA_SUBJECT, CKA_START_DATE,
		CKA_END_DATE, CKA_SIGN,  CKA_VERIFY,  CKA_DECRYPT,
		CKA_ENCRYPT,  CKA_DERIVE};
	size_t i;

	attr_list_init(out);
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const CK_ATTRIBUTE *a = attr_find(in, keep[i]);

		if (a != NULL)
			attr_set(out, a->type, a->pValue, a->ulValueLen);
	}
}

/* A key pair's records (made in the TPM like any other) as session
 * objects: the blobs kept in memory only and gone with the session. On
 * failure neither half is left. Clears recs. */
static CK_RV
keypair_session_inlock(session *s, token *t, object_rec *recs,
		       CK_OBJECT_HANDLE *hpub, CK_OBJECT_HANDLE *hpriv)
{
	blob nopub = {0}, nopriv = {0};
	CK_RV rv;

	attr_set_bool(&recs[0].attrs, CKA_TOKEN, false);
	attr_set_bool(&recs[1].attrs, CKA_TOKEN, false);
	if ((rv = object_make_key_inlock(s, t, &recs[1].attrs, &recs[1].tpm_pub,
					 &recs[1].tpm_priv, hpriv)) == CKR_OK) {
		rv = object_make_key_inlock(s, t, &recs[0].attrs, &nopub,
					    &nopriv, hpub);
		if (rv != CKR_OK) {
			token_obj *o = object_get_inlock(t, *hpriv);
			size_t i;

			for (i = 0; o != NULL && i < mod.nsobjs; i++) {
				if (mod.sobjs[i] == o) {
					mod.sobjs[i] = mod.sobjs[--mod.nsobjs];
					sobj_free(o);
					break;
				}
			}
		}
	}
	object_rec_clear(&recs[0]);
	object_rec_clear(&recs[1]);
	return rv;
}

static CK_RV
keygen_session_inlock(session *s, token *t, tpm_key_type type,
		      const char *label, const CK_ATTRIBUTE *id,
		      const attr_list *upub, const attr_list *upriv,
		      unsigned flags, CK_OBJECT_HANDLE *hpub,
		      CK_OBJECT_HANDLE *hpriv)
{
	object_rec recs[2];
	CK_RV rv;

	rv = token_generate_key_recs(
		mod.c, t, type, label, id ? id->pValue : NULL,
		id ? id->ulValueLen : 0, flags, upub, upriv, recs);
	if (rv != CKR_OK)
		return rv;
	return keypair_session_inlock(s, t, recs, hpub, hpriv);
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
	unsigned kflags;
	char *label = NULL;
	bool tok;
	CK_RV rv;

	CHECK_INIT();
	if (pMechanism == NULL || phPublicKey == NULL || phPrivateKey == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = session_check(hSession)) != CKR_OK)
		return rv;
	attr_list_init(&upub);
	attr_list_init(&upriv);
	attr_list_init(&priv);
	if ((rv = attr_list_from_template(&pub, pPublicKeyTemplate,
					  ulPublicKeyAttributeCount)) != CKR_OK)
		return rv;
	if ((rv = attr_list_from_template(&priv, pPrivateKeyTemplate,
					  ulPrivateKeyAttributeCount)) !=
	    CKR_OK)
		goto done;
	if ((rv = keygen_type(pMechanism, &pub, &priv, &type)) != CKR_OK ||
	    (rv = keygen_check_priv(&priv)) != CKR_OK) {
		log_debug("C_GenerateKeyPair: template refused (0x%lx)",
			  (unsigned long)rv);
		goto done;
	}
	/* v2.40 4.4 (storage objects): CKA_TOKEN defaults to CK_FALSE, as
	 * in C_GenerateKey. The two halves are made and kept together: a
	 * token pair when the private key's template asks for one and the
	 * public key's does not say CK_FALSE. */
	tok = attr_bool_or(&priv, CKA_TOKEN, false) &&
	      attr_bool_or(&pub, CKA_TOKEN, true);
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if (!(s->flags & CKF_RW_SESSION) && tok) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	/* A key pair usable without login (CKA_PRIVATE false) is made
	 * without it too (v2.40 4.1.2: public objects in a R/W public
	 * session); its TPM key has an empty authValue and never touches
	 * the PIN. */
	if (t->login != CKU_USER && attr_bool_or(&priv, CKA_PRIVATE, true)) {
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
	kflags = (attr_bool_or(&priv, CKA_PRIVATE, true) ? 0
							 : TOKEN_KEY_NO_LOGIN) |
		 (attr_bool_or(&priv, CKA_DERIVE, false) &&
				  pMechanism->mechanism == CKM_EC_KEY_PAIR_GEN
			  ? TOKEN_KEY_DERIVE
			  : 0);
	if (!tok) {
		rv = keygen_session_inlock(s, t, type, label, id, &upub, &upriv,
					   kflags, phPublicKey, phPrivateKey);
		goto out;
	}
	rv = token_generate_key(mod.c, t, type, label, id ? id->pValue : NULL,
				id ? id->ulValueLen : 0, kflags, &upub, &upriv,
				&pub_id, &priv_id);
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

/* --- C_CreateObject, C_CopyObject ------------------------------------------ */

/* X.509 certificate objects (v2.40 4.6.3): CKA_CERTIFICATE_TYPE and a DER
 * CKA_VALUE are required; the fields a caller left out are taken from it
 * (token_cert_attrs). */
static CK_RV
cert_complete(attr_list *l)
{
	const CK_ATTRIBUTE *v = attr_find(l, CKA_VALUE);
	const unsigned char *p;
	CK_ULONG ct = CKC_X_509;
	X509 *x;

	/* v2.40 4.6.2: CKA_CERTIFICATE_TYPE must be given. */
	if (!attr_get_ulong(l, CKA_CERTIFICATE_TYPE, &ct))
		return CKR_TEMPLATE_INCOMPLETE;
	if (ct != CKC_X_509)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (v == NULL || v->ulValueLen == 0)
		return CKR_TEMPLATE_INCOMPLETE;
	p = v->pValue;
	if ((x = d2i_X509(NULL, &p, (long)v->ulValueLen)) == NULL ||
	    p != (const unsigned char *)v->pValue + v->ulValueLen) {
		X509_free(x);
		return CKR_ATTRIBUTE_VALUE_INVALID;
	}
	X509_free(x);
	/* the derived attributes and defaults: one builder with the tool's */
	return token_cert_attrs(l);
}

/* Public keys (v2.40 2.3.3, 2.1.2): the material must parse. */
static CK_RV
pubkey_complete(attr_list *l)
{
	CK_ULONG kt;
	const CK_ATTRIBUTE *a, *b;
	uint8_t x[EC_MAX_FIELD_LEN], y[EC_MAX_FIELD_LEN];

	if (!attr_get_ulong(l, CKA_KEY_TYPE, &kt))
		return CKR_TEMPLATE_INCOMPLETE;
	if (kt == CKK_EC) {
		ec_curve c;

		if ((a = attr_find(l, CKA_EC_PARAMS)) == NULL ||
		    (b = attr_find(l, CKA_EC_POINT)) == NULL)
			return CKR_TEMPLATE_INCOMPLETE;
		if ((c = ec_params_parse(a->pValue, a->ulValueLen)) ==
		    CURVE_NONE)
			return CKR_CURVE_NOT_SUPPORTED;
		if (ec_point_parse(c, b->pValue, b->ulValueLen, x, y) != 0)
			return CKR_ATTRIBUTE_VALUE_INVALID;
	} else if (kt == CKK_RSA) {
		if ((a = attr_find(l, CKA_MODULUS)) == NULL ||
		    attr_find(l, CKA_PUBLIC_EXPONENT) == NULL)
			return CKR_TEMPLATE_INCOMPLETE;
		if (a->ulValueLen == 0 || a->ulValueLen > 512)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		attr_set_ulong(l, CKA_MODULUS_BITS, a->ulValueLen * 8);
	} else {
		return CKR_ATTRIBUTE_VALUE_INVALID;
	}
	if (!attr_find(l, CKA_VERIFY))
		attr_set_bool(l, CKA_VERIFY, true);
	if (!attr_find(l, CKA_ENCRYPT))
		attr_set_bool(l, CKA_ENCRYPT, false);
	attr_set_bool(l, CKA_LOCAL, false);
	/* Not generated here: no key generation mechanism. */
	attr_set_ulong(l, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION);
	return CKR_OK;
}

/* Common defaults and the rules shared by C_CreateObject and C_CopyObject:
 * token objects need a read-write session, private ones a logged-in
 * user. Then the object is made: in the store, or as a session object. */
CK_RV
object_make_key_inlock(session *s, token *t, attr_list *l, blob *pub,
		       blob *priv, CK_OBJECT_HANDLE *out)
{
	token_obj *o;
	CK_RV rv;

	if (attr_bool_or(l, CKA_TOKEN, false)) {
		int64_t id;

		if (!(s->flags & CKF_RW_SESSION))
			return CKR_SESSION_READ_ONLY;
		/* A readable secret key keeps its value in its attributes,
		 * which a token object would write to the store in clear:
		 * only session objects may be readable (C_CreateObject,
		 * C_CopyObject, C_DeriveKey all come through here). */
		if (attr_find(l, CKA_VALUE) != NULL)
			return CKR_TEMPLATE_INCONSISTENT;
		attr_set_bool(l, CKA_TOKEN, true);
		rv = token_store_key(mod.c, t, l, pub, priv, &id);
		if (rv == CKR_OK)
			*out = (CK_OBJECT_HANDLE)id;
		return rv;
	}
	if ((rv = object_make_inlock(s, t, l, out)) != CKR_OK)
		return rv;
	o = object_get_inlock(t, *out);
	o->key.pub = *pub;
	o->key.priv = *priv;
	memset(pub, 0, sizeof(*pub));
	memset(priv, 0, sizeof(*priv));
	/* The public area parsed when the key was made or read. */
	T11_IGNORE(tpm_pub_parse(&o->key.pub, &o->pub));
	/* A copy of a PCR-bound key (C_CopyObject) is bound as well. */
	{
		const CK_ATTRIBUTE *pa = attr_find(&o->attrs, CKA_TPM11_PCRS);

		if (pa != NULL &&
		    tpm_key_set_pcrs(&o->key, pa->pValue, pa->ulValueLen) != 0)
			log_error("object: a copied key's PCR binding does not "
				  "parse");
	}
	return CKR_OK;
}

CK_RV
object_make_inlock(session *s, token *t, attr_list *l, CK_OBJECT_HANDLE *out)
{
	bool tok = attr_bool_or(l, CKA_TOKEN, false);
	bool priv = attr_bool_or(l, CKA_PRIVATE, false);
	token_obj *o, **nv;
	CK_ULONG cls = CKO_DATA;
	int64_t id;
	CK_RV rv;

	if (tok && !(s->flags & CKF_RW_SESSION))
		return CKR_SESSION_READ_ONLY;
	if (priv && t->login != CKU_USER)
		return CKR_USER_NOT_LOGGED_IN;
	if (attr_set_bool(l, CKA_TOKEN, tok) ||
	    attr_set_bool(l, CKA_PRIVATE, priv))
		return CKR_HOST_MEMORY;
	if (!attr_find(l, CKA_MODIFIABLE))
		attr_set_bool(l, CKA_MODIFIABLE, true);
	if (!attr_find(l, CKA_COPYABLE))
		attr_set_bool(l, CKA_COPYABLE, true);
	if (!attr_find(l, CKA_DESTROYABLE))
		attr_set_bool(l, CKA_DESTROYABLE, true);
	if (!attr_find(l, CKA_LABEL))
		attr_set(l, CKA_LABEL, NULL, 0);
	if (tok) {
		rv = token_add_objects(mod.c, t, l, 1, &id);
		if (rv == CKR_OK)
			*out = (CK_OBJECT_HANDLE)id;
		return rv;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (nv = realloc(mod.sobjs, (mod.nsobjs + 1) * sizeof(*nv))) == NULL) {
		free(o);
		return CKR_HOST_MEMORY;
	}
	mod.sobjs = nv;
	attr_get_ulong(l, CKA_CLASS, &cls);
	o->id = (int64_t)mod.next_sobj++;
	{
		char uid[48];

		snprintf(uid, sizeof(uid), "%s-s%llu", t->rec.serial,
			 (unsigned long long)(o->id - SOBJ_HANDLE_BASE));
		attr_set_str(l, CKA_UNIQUE_ID, uid);
	}
	o->attrs = *l;
	attr_list_init(l);
	o->cls = cls;
	o->is_private = priv;
	o->session = s->handle;
	o->token_id = t->rec.id;
	mod.sobjs[mod.nsobjs++] = o;
	*out = (CK_OBJECT_HANDLE)o->id;
	return CKR_OK;
}

/* Attributes a caller never gives at creation (v2.40 4.2 table 10 note 2
 * and 4.4: set by the token), and types PKCS#11 does not know. */
static CK_RV
template_creation_check(const attr_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		switch (l->v[i].type) {
		case CKA_UNIQUE_ID:
		case CKA_LOCAL:
		case CKA_ALWAYS_SENSITIVE:
		case CKA_NEVER_EXTRACTABLE:
		case CKA_KEY_GEN_MECHANISM:
			return CKR_ATTRIBUTE_READ_ONLY;
		default:
			if (!attr_type_known(l->v[i].type))
				return CKR_ATTRIBUTE_TYPE_INVALID;
		}
	}
	return CKR_OK;
}

/* A secret key from the caller's CKA_VALUE: into the TPM at once (v2.40
 * 4.10); the value never reaches the store. Sensitive and unextractable,
 * as the TPM cannot give it back. */
static CK_RV
secret_import_inlock(session *s, token *t, attr_list *l, CK_OBJECT_HANDLE *out)
{
	const CK_ATTRIBUTE *v = attr_find(l, CKA_VALUE);
	CK_ULONG kt = (CK_ULONG)-1;
	tpm_key_type type;
	blob pub = {0}, priv = {0};
	uint8_t value[HMAC_KEY_MAX];
	size_t len, tlen;
	hash_algo h;
	bool b, readable;
	CK_RV rv;

	if (!attr_get_ulong(l, CKA_KEY_TYPE, &kt) || v == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	len = v->ulValueLen;
	if (kt == CKK_AES && (len == 16 || len == 32)) {
		type = len == 16 ? TPM_KEY_AES_128 : TPM_KEY_AES_256;
	} else if (kt == CKK_GENERIC_SECRET && len >= 1 &&
		   len <= HMAC_KEY_MAX) {
		/* An HMAC key for the hash its CKA_ALLOWED_MECHANISMS or its
		 * length names (a TPM HMAC key serves one hash). */
		if ((rv = hmac_key_hash(l, len, &h)) != CKR_OK)
			return rv;
		type = tpm_hmac_type(h);
	} else {
		return CKR_ATTRIBUTE_VALUE_INVALID;
	}
	/* A readable (non-sensitive or extractable) key keeps its value
	 * beside the TPM copy: allowed for session objects only, which
	 * never reach the store. */
	readable = (attr_get_bool(l, CKA_SENSITIVE, &b) && !b) ||
		   (attr_get_bool(l, CKA_EXTRACTABLE, &b) && b);
	if (readable && attr_bool_or(l, CKA_TOKEN, false))
		return CKR_TEMPLATE_INCONSISTENT;
	if (attr_bool_or(l, CKA_TOKEN, false) && !(s->flags & CKF_RW_SESSION))
		return CKR_SESSION_READ_ONLY;
	memcpy(value, v->pValue, len);
	tlen = len;
	if (kt == CKK_GENERIC_SECRET &&
	    len > (h == HASH_SHA384 || h == HASH_SHA512 ? 128u : 64u)) {
		/* RFC 2104 section 2: a key longer than the hash's block (64
		 * bytes for SHA-1 and SHA-256, 128 for SHA-384 and SHA-512)
		 * is hashed first, which gives the same MAC; the TPM takes
		 * no longer key for an HMAC scheme. */
		uint8_t d[64];

		if (hash_digest(h, value, len, d) != 0) {
			secure_zero(value, sizeof(value));
			return CKR_GENERAL_ERROR;
		}
		tlen = hash_len(h);
		memcpy(value, d, tlen);
		secure_zero(d, sizeof(d));
	}
	if (!readable)
		attr_remove(l, CKA_VALUE);
	if (!attr_find(l, CKA_PRIVATE))
		attr_set_bool(l, CKA_PRIVATE, true);
	rv = token_import_secret(mod.c, t, type, l, value, tlen, &pub, &priv);
	secure_zero(value, sizeof(value));
	if (rv != CKR_OK)
		return rv;
	if (attr_set_bool(l, CKA_SENSITIVE,
			  attr_bool_or(l, CKA_SENSITIVE, !readable)) ||
	    attr_set_bool(l, CKA_EXTRACTABLE,
			  attr_bool_or(l, CKA_EXTRACTABLE, false)) ||
	    attr_set_bool(l, CKA_ALWAYS_SENSITIVE, false) ||
	    attr_set_bool(l, CKA_NEVER_EXTRACTABLE, false) ||
	    attr_set_bool(l, CKA_LOCAL, false) ||
	    attr_set_ulong(l, CKA_VALUE_LEN, len) ||
	    attr_set_ulong(l, CKA_KEY_GEN_MECHANISM,
			   CK_UNAVAILABLE_INFORMATION)) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (!attr_find(l, CKA_PRIVATE))
		attr_set_bool(l, CKA_PRIVATE, true);
	if (kt == CKK_AES) {
		if (!attr_find(l, CKA_ENCRYPT))
			attr_set_bool(l, CKA_ENCRYPT, true);
		if (!attr_find(l, CKA_DECRYPT))
			attr_set_bool(l, CKA_DECRYPT, true);
	} else {
		if (!attr_find(l, CKA_SIGN))
			attr_set_bool(l, CKA_SIGN, true);
		if (!attr_find(l, CKA_VERIFY))
			attr_set_bool(l, CKA_VERIFY, true);
	}
	rv = object_make_key_inlock(s, t, l, &pub, &priv, out);
out:
	blob_free(&pub);
	blob_free(&priv);
	return rv;
}

/* --- private keys from their values (issue 17) --------------------------- */

/* A part of the template, or none. */
static void
privkey_part_of(const attr_list *l, CK_ATTRIBUTE_TYPE type, privkey_part *p)
{
	const CK_ATTRIBUTE *a = attr_find(l, type);

	p->v = a ? a->pValue : NULL;
	p->len = a ? a->ulValueLen : 0;
}

/* The template of a private key given by its values (PKCS#11 v2.40
 * 2.3.4 EC: CKA_EC_PARAMS, CKA_VALUE; 2.1.3 RSA: CKA_MODULUS,
 * CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2,
 * and the CRT values, which may be left out). Returns the code of 5.7
 * C_CreateObject for what is wrong; fills pp (pointing into l). */
static CK_RV
privkey_template(const attr_list *l, privkey_parts *pp)
{
	static const CK_ATTRIBUTE_TYPE rsa_only[] = {
		CKA_MODULUS,    CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT,
		CKA_PRIME_1,    CKA_PRIME_2,         CKA_EXPONENT_1,
		CKA_EXPONENT_2, CKA_COEFFICIENT};
	CK_ULONG kt;
	const CK_ATTRIBUTE *a;
	bool b;
	size_t i;

	memset(pp, 0, sizeof(*pp));
	if (!attr_get_ulong(l, CKA_KEY_TYPE, &kt))
		return CKR_TEMPLATE_INCOMPLETE;
	/* The TPM never gives a key back: it is sensitive and cannot be
	 * extracted; a template asking otherwise contradicts the token. */
	if ((attr_get_bool(l, CKA_SENSITIVE, &b) && !b) ||
	    (attr_get_bool(l, CKA_EXTRACTABLE, &b) && b))
		return CKR_TEMPLATE_INCONSISTENT;
	/* An imported key signs (RSA also decrypts); ECDH needs an EC key
	 * made with CKA_DERIVE in the TPM (TPM2_Import's template has no
	 * decrypt attribute for it). */
	if (attr_get_bool(l, CKA_DERIVE, &b) && b)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (kt == CKK_EC) {
		for (i = 0; i < sizeof(rsa_only) / sizeof(rsa_only[0]); i++)
			if (attr_find(l, rsa_only[i]) != NULL)
				return CKR_TEMPLATE_INCONSISTENT;
		if ((a = attr_find(l, CKA_EC_PARAMS)) == NULL ||
		    attr_find(l, CKA_VALUE) == NULL)
			return CKR_TEMPLATE_INCOMPLETE;
		pp->kind = PRIVKEY_EC;
		if ((pp->curve = ec_params_parse(a->pValue, a->ulValueLen)) ==
		    CURVE_NONE)
			return CKR_CURVE_NOT_SUPPORTED;
		privkey_part_of(l, CKA_VALUE, &pp->d);
		return CKR_OK;
	}
	if (kt != CKK_RSA)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (attr_find(l, CKA_EC_PARAMS) != NULL ||
	    attr_find(l, CKA_VALUE) != NULL)
		return CKR_TEMPLATE_INCONSISTENT;
	/* The TPM takes a prime (it computes the rest), and the CRT values
	 * are computed from n, e, d, p, q when left out; recovering p and q
	 * from n, e, d alone is not offered. */
	for (i = 0; i < 5; i++)
		if (attr_find(l, rsa_only[i]) == NULL)
			return CKR_TEMPLATE_INCOMPLETE;
	pp->kind = PRIVKEY_RSA;
	privkey_part_of(l, CKA_MODULUS, &pp->n);
	privkey_part_of(l, CKA_PUBLIC_EXPONENT, &pp->e);
	privkey_part_of(l, CKA_PRIVATE_EXPONENT, &pp->d);
	privkey_part_of(l, CKA_PRIME_1, &pp->p);
	privkey_part_of(l, CKA_PRIME_2, &pp->q);
	privkey_part_of(l, CKA_EXPONENT_1, &pp->dp);
	privkey_part_of(l, CKA_EXPONENT_2, &pp->dq);
	privkey_part_of(l, CKA_COEFFICIENT, &pp->qinv);
	return CKR_OK;
}

/* C_CreateObject with CKO_PRIVATE_KEY: the key built and checked with
 * OpenSSL (crypto/privkey.c), then into the TPM with TPM2_Import the way
 * `tpm11 import` puts it there (token_import_key), beside its public-key
 * object. Known outside the token: CKA_LOCAL, CKA_ALWAYS_SENSITIVE and
 * CKA_NEVER_EXTRACTABLE false (v2.40 4.9); sensitive and unextractable
 * from now on. CKA_TOKEN false makes session objects, as for generated
 * keys; CKA_PRIVATE false a key usable without login (empty authValue,
 * never touching the PIN indices). Nothing is stored or left loaded on
 * any error; the copies of the private values made here are wiped (the
 * template's own copy with the attribute list). */
static CK_RV
privkey_import_inlock(session *s, token *t, const attr_list *l,
		      const privkey_parts *pp, CK_OBJECT_HANDLE *out)
{
	privkey k;
	tpm_privkey tk;
	attr_list upriv;
	object_rec recs[2];
	const CK_ATTRIBUTE *id = attr_find(l, CKA_ID);
	CK_OBJECT_HANDLE hpub;
	int64_t priv_id = 0;
	char err[200], *label = NULL;
	bool tok = attr_bool_or(l, CKA_TOKEN, false);
	bool priv = attr_bool_or(l, CKA_PRIVATE, true);
	unsigned flags = priv ? 0 : TOKEN_KEY_NO_LOGIN;
	CK_RV rv;
	int r;

	memset(&tk, 0, sizeof(tk));
	attr_list_init(&upriv);
	if (tok && !(s->flags & CKF_RW_SESSION))
		return CKR_SESSION_READ_ONLY;
	if (priv && t->login != CKU_USER)
		return CKR_USER_NOT_LOGGED_IN;
	if ((r = privkey_from_parts(pp, &k, err, sizeof(err))) != 0) {
		log_error("C_CreateObject: private key refused: %s", err);
		return r == PRIVKEY_MISMATCH ? CKR_TEMPLATE_INCONSISTENT
					     : CKR_ATTRIBUTE_VALUE_INVALID;
	}
	token_privkey_tpm(&k, &tk);
	privkey_clear(&k);
	keygen_user_attrs(l, &upriv);
	label = attr_dup_str(l, CKA_LABEL);
	if (tok) {
		rv = token_import_key(
			mod.c, t, &tk, label, id ? id->pValue : NULL,
			id ? id->ulValueLen : 0, flags, NULL, &upriv, &priv_id);
		if (rv == CKR_OK)
			*out = (CK_OBJECT_HANDLE)priv_id;
	} else {
		rv = token_import_key_recs(
			mod.c, t, &tk, label, id ? id->pValue : NULL,
			id ? id->ulValueLen : 0, flags, NULL, &upriv, recs);
		if (rv == CKR_OK)
			rv = keypair_session_inlock(s, t, recs, &hpub, out);
	}
	if (rv != CKR_OK)
		log_error("C_CreateObject: private key not imported: %s",
			  mod.c->err);
	secure_zero(&tk, sizeof(tk));
	attr_list_clear(&upriv);
	free(label);
	return rv;
}

CK_RV
C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
	       CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
	attr_list l;
	CK_ULONG cls;
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if (phObject == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = session_check(hSession)) != CKR_OK)
		return rv;
	if ((rv = attr_list_from_template(&l, pTemplate, ulCount)) != CKR_OK)
		return rv;
	if ((rv = template_creation_check(&l)) != CKR_OK)
		goto done;
	if (!attr_get_ulong(&l, CKA_CLASS, &cls)) {
		rv = CKR_TEMPLATE_INCOMPLETE;
		goto done;
	}
	if (cls == CKO_PRIVATE_KEY) {
		privkey_parts pp;

		if ((rv = privkey_template(&l, &pp)) != CKR_OK) {
			log_error("C_CreateObject: private key template "
				  "refused (0x%lx)",
				  (unsigned long)rv);
			goto done;
		}
		mod_lock();
		if ((rv = session_get_inlock(hSession, &s, &t)) == CKR_OK)
			rv = privkey_import_inlock(s, t, &l, &pp, phObject);
		mod_unlock();
		goto done;
	}
	if (cls == CKO_SECRET_KEY) {
		mod_lock();
		if ((rv = session_get_inlock(hSession, &s, &t)) == CKR_OK)
			rv = secret_import_inlock(s, t, &l, phObject);
		mod_unlock();
		goto done;
	}
	switch (cls) {
	case CKO_DATA:
		break;
	case CKO_CERTIFICATE:
		rv = cert_complete(&l);
		break;
	case CKO_PUBLIC_KEY:
		rv = pubkey_complete(&l);
		break;
	default:
		/* other classes (domain parameters, mechanisms, OTP keys,
		 * hardware features) are not offered */
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		break;
	}
	if (rv != CKR_OK)
		goto done;
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) == CKR_OK) {
		/* v2.40 4.6.1: only the SO may mark a certificate trusted. */
		if (attr_bool_or(&l, CKA_TRUSTED, false) && t->login != CKU_SO)
			rv = CKR_ATTRIBUTE_READ_ONLY;
		else
			rv = object_make_inlock(s, t, &l, phObject);
	}
	mod_unlock();
done:
	attr_list_clear(&l);
	LOG_RV("C_CreateObject", rv);
	return rv;
}

/* C_CopyObject (v2.40 5.7): only attributes that could be set on the
 * original, plus CKA_TOKEN/CKA_PRIVATE/CKA_MODIFIABLE/CKA_DESTROYABLE,
 * and the latching ones only in their safe direction. */
CK_RV
C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
	     CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
	     CK_OBJECT_HANDLE_PTR phNewObject)
{
	attr_list l;
	session *s;
	token *t;
	token_obj *o;
	CK_ULONG i;
	CK_RV rv;

	CHECK_INIT();
	if (phNewObject == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = session_check(hSession)) != CKR_OK)
		return rv;
	if ((rv = attr_template_check(pTemplate, ulCount)) != CKR_OK)
		return rv;
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if ((o = object_get_inlock(t, hObject)) == NULL) {
		rv = CKR_OBJECT_HANDLE_INVALID;
		goto out;
	}
	/* Generated asymmetric keys say CKA_COPYABLE false; a copyable key
	 * with a TPM blob gets its own copy of the blob (latching keeps
	 * its protections, see below). */
	if (!attr_bool_or(&o->attrs, CKA_COPYABLE, true)) {
		rv = CKR_ACTION_PROHIBITED;
		goto out;
	}
	for (i = 0; i < ulCount; i++) {
		switch (pTemplate[i].type) {
		case CKA_TOKEN:
		case CKA_PRIVATE:
		case CKA_MODIFIABLE:
		case CKA_DESTROYABLE:
			break;
		case CKA_COPYABLE:
			/* may only go to false */
			if (*(CK_BBOOL *)pTemplate[i].pValue) {
				rv = CKR_ATTRIBUTE_READ_ONLY;
				goto out;
			}
			break;
		default:
			if ((rv = attr_may_set(o, &pTemplate[i])) != CKR_OK)
				goto out;
		}
	}
	if (attr_list_copy(&l, &o->attrs) != 0) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	for (i = 0; i < ulCount; i++)
		attr_set(&l, pTemplate[i].type, pTemplate[i].pValue,
			 pTemplate[i].ulValueLen);
	attr_remove(&l, CKA_UNIQUE_ID);
	if (o->key.pub.data != NULL) {
		blob pub = {0}, priv = {0};

		if (blob_set(&pub, o->key.pub.data, o->key.pub.len) ||
		    blob_set(&priv, o->key.priv.data, o->key.priv.len)) {
			rv = CKR_HOST_MEMORY;
		} else {
			rv = object_make_key_inlock(s, t, &l, &pub, &priv,
						    phNewObject);
		}
		blob_free(&pub);
		blob_free(&priv);
	} else {
		rv = object_make_inlock(s, t, &l, phNewObject);
	}
	attr_list_clear(&l);
out:
	mod_unlock();
	LOG_RV("C_CopyObject", rv);
	return rv;
}
