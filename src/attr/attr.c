#include "attr/attr.h"

#include <stdlib.h>
#include <string.h>

#include "util/secure.h"

void
attr_list_init(attr_list *l)
{
	memset(l, 0, sizeof(*l));
}

void
attr_list_clear(attr_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		secure_free(l->v[i].pValue, l->v[i].ulValueLen);
	free(l->v);
	attr_list_init(l);
}

static CK_ATTRIBUTE *
attr_find_mut(const attr_list *l, CK_ATTRIBUTE_TYPE t)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].type == t)
			return &l->v[i];
	return NULL;
}

const CK_ATTRIBUTE *
attr_find(const attr_list *l, CK_ATTRIBUTE_TYPE t)
{
	return attr_find_mut(l, t);
}

int
attr_set(attr_list *l, CK_ATTRIBUTE_TYPE t, const void *val, size_t len)
{
	CK_ATTRIBUTE *a;
	void *copy = NULL;

	if (len > 0) {
		if ((copy = malloc(len)) == NULL)
			return -1;
		memcpy(copy, val, len);
	}
	if ((a = attr_find_mut(l, t)) != NULL) {
		secure_free(a->pValue, a->ulValueLen);
		a->pValue = copy;
		a->ulValueLen = len;
		return 0;
	}
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		CK_ATTRIBUTE *nv = realloc(l->v, ncap * sizeof(*nv));

		if (nv == NULL) {
			free(copy);
			return -1;
		}
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n].type = t;
	l->v[l->n].pValue = copy;
	l->v[l->n].ulValueLen = len;
	l->n++;
	return 0;
}

int
attr_set_bool(attr_list *l, CK_ATTRIBUTE_TYPE t, bool v)
{
	CK_BBOOL b = v ? CK_TRUE : CK_FALSE;

	return attr_set(l, t, &b, sizeof(b));
}

int
attr_set_ulong(attr_list *l, CK_ATTRIBUTE_TYPE t, CK_ULONG v)
{
	return attr_set(l, t, &v, sizeof(v));
}

int
attr_set_str(attr_list *l, CK_ATTRIBUTE_TYPE t, const char *s)
{
	return attr_set(l, t, s, s ? strlen(s) : 0);
}

void
attr_remove(attr_list *l, CK_ATTRIBUTE_TYPE t)
{
	CK_ATTRIBUTE *a = attr_find_mut(l, t);

	if (a == NULL)
		return;
	secure_free(a->pValue, a->ulValueLen);
	*a = l->v[l->n - 1];
	l->n--;
}

bool
attr_get_bool(const attr_list *l, CK_ATTRIBUTE_TYPE t, bool *out)
{
	const CK_ATTRIBUTE *a = attr_find(l, t);

	if (a == NULL || a->ulValueLen != sizeof(CK_BBOOL))
		return false;
	*out = *(CK_BBOOL *)a->pValue != CK_FALSE;
	return true;
}

bool
attr_get_ulong(const attr_list *l, CK_ATTRIBUTE_TYPE t, CK_ULONG *out)
{
	const CK_ATTRIBUTE *a = attr_find(l, t);

	if (a == NULL || a->ulValueLen != sizeof(CK_ULONG))
		return false;
	memcpy(out, a->pValue, sizeof(*out));
	return true;
}

bool
attr_bool_or(const attr_list *l, CK_ATTRIBUTE_TYPE t, bool def)
{
	bool v;

	return attr_get_bool(l, t, &v) ? v : def;
}

char *
attr_dup_str(const attr_list *l, CK_ATTRIBUTE_TYPE t)
{
	const CK_ATTRIBUTE *a = attr_find(l, t);
	char *s;

	if (a == NULL)
		return NULL;
	if ((s = malloc(a->ulValueLen + 1)) == NULL)
		return NULL;
	if (a->ulValueLen)
		memcpy(s, a->pValue, a->ulValueLen);
	s[a->ulValueLen] = '\0';
	return s;
}

int
attr_list_copy(attr_list *dst, const attr_list *src)
{
	size_t i;

	attr_list_init(dst);
	for (i = 0; i < src->n; i++) {
		if (attr_set(dst, src->v[i].type, src->v[i].pValue,
			     src->v[i].ulValueLen) != 0) {
			attr_list_clear(dst);
			return -1;
		}
	}
	return 0;
}

bool
attr_list_match(const attr_list *l, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_ULONG i;

	for (i = 0; i < n; i++) {
		const CK_ATTRIBUTE *a = attr_find(l, tmpl[i].type);

		if (a == NULL || a->ulValueLen != tmpl[i].ulValueLen)
			return false;
		if (a->ulValueLen &&
		    memcmp(a->pValue, tmpl[i].pValue, a->ulValueLen) != 0)
			return false;
	}
	return true;
}

attr_kind
attr_kind_of(CK_ATTRIBUTE_TYPE t)
{
	switch (t) {
	case CKA_TOKEN:
	case CKA_PRIVATE:
	case CKA_MODIFIABLE:
	case CKA_COPYABLE:
	case CKA_DESTROYABLE:
	case CKA_TRUSTED:
	case CKA_SENSITIVE:
	case CKA_ENCRYPT:
	case CKA_DECRYPT:
	case CKA_WRAP:
	case CKA_UNWRAP:
	case CKA_SIGN:
	case CKA_SIGN_RECOVER:
	case CKA_VERIFY:
	case CKA_VERIFY_RECOVER:
	case CKA_DERIVE:
	case CKA_EXTRACTABLE:
	case CKA_LOCAL:
	case CKA_NEVER_EXTRACTABLE:
	case CKA_ALWAYS_SENSITIVE:
	case CKA_WRAP_WITH_TRUSTED:
	case CKA_ALWAYS_AUTHENTICATE:
		return ATTR_KIND_BOOL;
	case CKA_CLASS:
	case CKA_KEY_TYPE:
	case CKA_CERTIFICATE_TYPE:
	case CKA_CERTIFICATE_CATEGORY:
	case CKA_MODULUS_BITS:
	case CKA_VALUE_LEN:
	case CKA_KEY_GEN_MECHANISM:
	case CKA_JAVA_MIDP_SECURITY_DOMAIN:
	case CKA_NAME_HASH_ALGORITHM:
		return ATTR_KIND_ULONG;
	default:
		return ATTR_KIND_BYTES;
	}
}

/* Every attribute type PKCS#11 v2.40 defines (from p11-kit's pkcs11.h),
 * plus v3.0's CKA_UNIQUE_ID. */
static const CK_ATTRIBUTE_TYPE known_types[] = {
	CKA_CLASS,
	CKA_TOKEN,
	CKA_PRIVATE,
	CKA_LABEL,
	CKA_APPLICATION,
	CKA_VALUE,
	CKA_OBJECT_ID,
	CKA_CERTIFICATE_TYPE,
	CKA_ISSUER,
	CKA_SERIAL_NUMBER,
	CKA_AC_ISSUER,
	CKA_OWNER,
	CKA_ATTR_TYPES,
	CKA_TRUSTED,
	CKA_CERTIFICATE_CATEGORY,
	CKA_JAVA_MIDP_SECURITY_DOMAIN,
	CKA_URL,
	CKA_HASH_OF_SUBJECT_PUBLIC_KEY,
	CKA_HASH_OF_ISSUER_PUBLIC_KEY,
	CKA_NAME_HASH_ALGORITHM,
	CKA_CHECK_VALUE,
	CKA_KEY_TYPE,
	CKA_SUBJECT,
	CKA_ID,
	CKA_SENSITIVE,
	CKA_ENCRYPT,
	CKA_DECRYPT,
	CKA_WRAP,
	CKA_UNWRAP,
	CKA_SIGN,
	CKA_SIGN_RECOVER,
	CKA_VERIFY,
	CKA_VERIFY_RECOVER,
	CKA_DERIVE,
	CKA_START_DATE,
	CKA_END_DATE,
	CKA_MODULUS,
	CKA_MODULUS_BITS,
	CKA_PUBLIC_EXPONENT,
	CKA_PRIVATE_EXPONENT,
	CKA_PRIME_1,
	CKA_PRIME_2,
	CKA_EXPONENT_1,
	CKA_EXPONENT_2,
	CKA_COEFFICIENT,
	CKA_PUBLIC_KEY_INFO,
	CKA_PRIME,
	CKA_SUBPRIME,
	CKA_BASE,
	CKA_PRIME_BITS,
	CKA_SUB_PRIME_BITS,
	CKA_VALUE_BITS,
	CKA_VALUE_LEN,
	CKA_EXTRACTABLE,
	CKA_LOCAL,
	CKA_NEVER_EXTRACTABLE,
	CKA_ALWAYS_SENSITIVE,
	CKA_KEY_GEN_MECHANISM,
	CKA_MODIFIABLE,
	CKA_COPYABLE,
	CKA_DESTROYABLE,
	CKA_ECDSA_PARAMS,
	CKA_EC_PARAMS,
	CKA_EC_POINT,
	CKA_SECONDARY_AUTH,
	CKA_AUTH_PIN_FLAGS,
	CKA_ALWAYS_AUTHENTICATE,
	CKA_WRAP_WITH_TRUSTED,
	CKA_OTP_FORMAT,
	CKA_OTP_LENGTH,
	CKA_OTP_TIME_INTERVAL,
	CKA_OTP_USER_FRIENDLY_MODE,
	CKA_OTP_CHALLENGE_REQUIREMENT,
	CKA_OTP_TIME_REQUIREMENT,
	CKA_OTP_COUNTER_REQUIREMENT,
	CKA_OTP_PIN_REQUIREMENT,
	CKA_OTP_USER_IDENTIFIER,
	CKA_OTP_SERVICE_IDENTIFIER,
	CKA_OTP_SERVICE_LOGO,
	CKA_OTP_SERVICE_LOGO_TYPE,
	CKA_OTP_COUNTER,
	CKA_OTP_TIME,
	CKA_GOSTR3410_PARAMS,
	CKA_GOSTR3411_PARAMS,
	CKA_GOST28147_PARAMS,
	CKA_HW_FEATURE_TYPE,
	CKA_RESET_ON_INIT,
	CKA_HAS_RESET,
	CKA_PIXEL_X,
	CKA_PIXEL_Y,
	CKA_RESOLUTION,
	CKA_CHAR_ROWS,
	CKA_CHAR_COLUMNS,
	CKA_COLOR,
	CKA_BITS_PER_PIXEL,
	CKA_CHAR_SETS,
	CKA_ENCODING_METHODS,
	CKA_MIME_TYPES,
	CKA_MECHANISM_TYPE,
	CKA_REQUIRED_CMS_ATTRIBUTES,
	CKA_DEFAULT_CMS_ATTRIBUTES,
	CKA_SUPPORTED_CMS_ATTRIBUTES,
	CKA_WRAP_TEMPLATE,
	CKA_UNWRAP_TEMPLATE,
	CKA_DERIVE_TEMPLATE,
	CKA_ALLOWED_MECHANISMS,
	0x4UL /* CKA_UNIQUE_ID, v3.0 */,
};

bool
attr_type_known(CK_ATTRIBUTE_TYPE t)
{
	size_t i;

	for (i = 0; i < sizeof(known_types) / sizeof(known_types[0]); i++)
		if (known_types[i] == t)
			return true;
	return false;
}

CK_RV
attr_template_check(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_ULONG i;

	if (tmpl == NULL && n > 0)
		return CKR_ARGUMENTS_BAD;
	for (i = 0; i < n; i++) {
		if (tmpl[i].pValue == NULL && tmpl[i].ulValueLen > 0)
			return CKR_ARGUMENTS_BAD;
		switch (attr_kind_of(tmpl[i].type)) {
		case ATTR_KIND_BOOL:
			if (tmpl[i].ulValueLen != sizeof(CK_BBOOL))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			break;
		case ATTR_KIND_ULONG:
			if (tmpl[i].ulValueLen != sizeof(CK_ULONG))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			break;
		default:
			break;
		}
	}
	return CKR_OK;
}

CK_RV
attr_list_from_template(attr_list *l, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_ULONG i;
	CK_RV rv;

	attr_list_init(l);
	if ((rv = attr_template_check(tmpl, n)) != CKR_OK)
		return rv;
	for (i = 0; i < n; i++) {
		const CK_ATTRIBUTE *prev = attr_find(l, tmpl[i].type);

		if (prev != NULL) {
			if (prev->ulValueLen != tmpl[i].ulValueLen ||
			    (prev->ulValueLen &&
			     memcmp(prev->pValue, tmpl[i].pValue,
				    prev->ulValueLen) != 0)) {
				attr_list_clear(l);
				return CKR_TEMPLATE_INCONSISTENT;
			}
			continue;
		}
		if (attr_set(l, tmpl[i].type, tmpl[i].pValue,
			     tmpl[i].ulValueLen) != 0) {
			attr_list_clear(l);
			return CKR_HOST_MEMORY;
		}
	}
	return CKR_OK;
}

/* --- serialised form --------------------------------------------------- */

#define ATTR_MAGIC "TA1"
#define ATTR_MAX_COUNT 4096
#define ATTR_MAX_VALUE (1u << 24)

static void
put_le(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int
attr_list_serialise(const attr_list *l, uint8_t **out, size_t *len)
{
	size_t total = 8, i, off, count;
	uint8_t *buf;

	for (i = 0; i < l->n; i++) {
		size_t vl = l->v[i].ulValueLen;

		switch (attr_kind_of(l->v[i].type)) {
		case ATTR_KIND_BOOL:
			vl = 1;
			break;
		case ATTR_KIND_ULONG:
			vl = 8;
			break;
		default:
			break;
		}
		total += 12 + vl;
	}
	if ((buf = malloc(total)) == NULL)
		return -1;
	memcpy(buf, ATTR_MAGIC, 4);
	off = 8;
	for (i = 0, count = 0; i < l->n; i++) {
		const CK_ATTRIBUTE *a = &l->v[i];
		attr_kind k = attr_kind_of(a->type);

		count++;
		put_le(buf + off, a->type, 8);
		off += 8;
		if (k == ATTR_KIND_BOOL && a->ulValueLen == sizeof(CK_BBOOL)) {
			put_le(buf + off, 1, 4);
			buf[off + 4] = *(CK_BBOOL *)a->pValue ? 1 : 0;
			off += 5;
		} else if (k == ATTR_KIND_ULONG &&
			   a->ulValueLen == sizeof(CK_ULONG)) {
			CK_ULONG v;

			memcpy(&v, a->pValue, sizeof(v));
			put_le(buf + off, 8, 4);
			put_le(buf + off + 4, v, 8);
			off += 12;
		} else if (k != ATTR_KIND_BYTES) {
			/* Malformed in memory: never stored. */
			secure_free(buf, total);
			return -1;
		} else {
			put_le(buf + off, a->ulValueLen, 4);
			if (a->ulValueLen)
				memcpy(buf + off + 4, a->pValue, a->ulValueLen);
			off += 4 + a->ulValueLen;
		}
	}
	put_le(buf + 4, count, 4);
	*out = buf;
	*len = off;
	return 0;
}

int
attr_list_deserialise(const uint8_t *buf, size_t len, attr_list *out)
{
	size_t off = 8, count, i;

	attr_list_init(out);
	if (buf == NULL || len < 8 || memcmp(buf, ATTR_MAGIC, 4) != 0)
		return -1;
	count = get_le(buf + 4, 4);
	if (count > ATTR_MAX_COUNT)
		return -1;
	for (i = 0; i < count; i++) {
		CK_ATTRIBUTE_TYPE t;
		size_t vl;
		int r;

		if (len - off < 12)
			goto bad;
		t = (CK_ATTRIBUTE_TYPE)get_le(buf + off, 8);
		vl = get_le(buf + off + 8, 4);
		off += 12;
		if (vl > ATTR_MAX_VALUE || len - off < vl)
			goto bad;
		if (attr_find(out, t) != NULL)
			goto bad;
		switch (attr_kind_of(t)) {
		case ATTR_KIND_BOOL:
			if (vl != 1 || buf[off] > 1)
				goto bad;
			r = attr_set_bool(out, t, buf[off] != 0);
			break;
		case ATTR_KIND_ULONG:
			if (vl != 8)
				goto bad;
			r = attr_set_ulong(out, t,
					   (CK_ULONG)get_le(buf + off, 8));
			break;
		default:
			r = attr_set(out, t, buf + off, vl);
			break;
		}
		if (r != 0)
			goto bad;
		off += vl;
	}
	if (off != len)
		goto bad;
	return 0;
bad:
	attr_list_clear(out);
	return -1;
}
