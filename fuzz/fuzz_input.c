/* See fuzz_input.h. */
#include "fuzz_input.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* --- reading ---------------------------------------------------------------- */

uint8_t
fz_u8(fz_reader *r)
{
	uint8_t v;

	if (r->n == 0)
		return 0;
	v = r->p[0];
	r->p++;
	r->n--;
	return v;
}

uint16_t
fz_u16(fz_reader *r)
{
	uint16_t v = fz_u8(r);

	return (uint16_t)(v | (uint16_t)fz_u8(r) << 8);
}

uint64_t
fz_u64(fz_reader *r)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t)fz_u8(r) << (8 * i);
	return v;
}

void
fz_fill(fz_reader *r, void *out, size_t n)
{
	size_t k = n < r->n ? n : r->n;

	if (k)
		memcpy(out, r->p, k);
	if (n > k)
		memset((uint8_t *)out + k, 0, n - k);
	r->p += k;
	r->n -= k;
}

bool
fz_empty(const fz_reader *r)
{
	return r->n == 0;
}

CK_ULONG
fz_huge(fz_reader *r)
{
	static const CK_ULONG edge[] = {
		0, 1, sizeof(CK_BBOOL), sizeof(CK_ULONG), 2, 4, 7, 9,
		0x7fffffffUL, 0x80000000UL, 0xffffffffUL, 0x100000000UL,
		ULONG_MAX, ULONG_MAX - 1, ULONG_MAX / sizeof(CK_ATTRIBUTE),
		ULONG_MAX / sizeof(CK_ATTRIBUTE) + 1, (CK_ULONG)LONG_MAX,
		1UL << 24, (1UL << 24) + 1,
	};
	uint8_t k = fz_u8(r);

	if (k == 0xff)
		return (CK_ULONG)fz_u64(r);
	return edge[k % ARRAY_LEN(edge)];
}

/* --- templates -------------------------------------------------------------- */

const CK_ATTRIBUTE_TYPE fz_attr_types[] = {
	CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL, CKA_APPLICATION,
	CKA_VALUE, CKA_OBJECT_ID, CKA_CERTIFICATE_TYPE, CKA_ISSUER,
	CKA_SERIAL_NUMBER, CKA_TRUSTED, CKA_CERTIFICATE_CATEGORY,
	CKA_KEY_TYPE, CKA_SUBJECT, CKA_ID, CKA_SENSITIVE, CKA_ENCRYPT,
	CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP, CKA_SIGN, CKA_SIGN_RECOVER,
	CKA_VERIFY, CKA_VERIFY_RECOVER, CKA_DERIVE, CKA_START_DATE,
	CKA_END_DATE, CKA_MODULUS, CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT,
	CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1,
	CKA_EXPONENT_2, CKA_COEFFICIENT, CKA_VALUE_LEN, CKA_EXTRACTABLE,
	CKA_LOCAL, CKA_NEVER_EXTRACTABLE, CKA_ALWAYS_SENSITIVE,
	CKA_KEY_GEN_MECHANISM, CKA_MODIFIABLE, CKA_COPYABLE, CKA_DESTROYABLE,
	CKA_EC_PARAMS, CKA_EC_POINT, CKA_ALWAYS_AUTHENTICATE,
	CKA_WRAP_WITH_TRUSTED, CKA_WRAP_TEMPLATE, CKA_UNWRAP_TEMPLATE,
	CKA_ALLOWED_MECHANISMS, CKA_JAVA_MIDP_SECURITY_DOMAIN,
	CKA_NAME_HASH_ALGORITHM, CKA_VENDOR_DEFINED, CKA_VENDOR_DEFINED | 1,
	(CK_ATTRIBUTE_TYPE)0x7fffffffUL, (CK_ATTRIBUTE_TYPE)0xffffffffUL,
	(CK_ATTRIBUTE_TYPE)ULONG_MAX,
};
const size_t fz_attr_types_n = ARRAY_LEN(fz_attr_types);

static bool
fz_type_is_bool(CK_ATTRIBUTE_TYPE t)
{
	switch (t) {
	case CKA_TOKEN: case CKA_PRIVATE: case CKA_MODIFIABLE:
	case CKA_COPYABLE: case CKA_DESTROYABLE: case CKA_TRUSTED:
	case CKA_SENSITIVE: case CKA_ENCRYPT: case CKA_DECRYPT:
	case CKA_WRAP: case CKA_UNWRAP: case CKA_SIGN: case CKA_SIGN_RECOVER:
	case CKA_VERIFY: case CKA_VERIFY_RECOVER: case CKA_DERIVE:
	case CKA_EXTRACTABLE: case CKA_LOCAL: case CKA_NEVER_EXTRACTABLE:
	case CKA_ALWAYS_SENSITIVE: case CKA_WRAP_WITH_TRUSTED:
	case CKA_ALWAYS_AUTHENTICATE:
		return true;
	default:
		return false;
	}
}

static bool
fz_type_is_ulong(CK_ATTRIBUTE_TYPE t)
{
	switch (t) {
	case CKA_CLASS: case CKA_KEY_TYPE: case CKA_CERTIFICATE_TYPE:
	case CKA_CERTIFICATE_CATEGORY: case CKA_MODULUS_BITS:
	case CKA_VALUE_LEN: case CKA_KEY_GEN_MECHANISM:
	case CKA_JAVA_MIDP_SECURITY_DOMAIN: case CKA_NAME_HASH_ALGORITHM:
		return true;
	default:
		return false;
	}
}

static CK_ATTRIBUTE_TYPE
fz_attr_type(fz_reader *r)
{
	uint8_t k = fz_u8(r);

	if (k == 0xff)
		return (CK_ATTRIBUTE_TYPE)fz_u64(r);
	if (k == 0xfe)
		return (CK_ATTRIBUTE_TYPE)fz_u8(r);
	return fz_attr_types[k % fz_attr_types_n];
}

/* A buffer of exactly len bytes (malloc(0) for 0: a unique pointer that
 * may not be read), filled from the input. */
static void *
fz_value(fz_reader *r, size_t len)
{
	void *p = malloc(len);

	if (p == NULL)
		abort();
	fz_fill(r, p, len);
	return p;
}

void
fz_template_decode(fz_reader *r, fz_template *t)
{
	uint8_t c = fz_u8(r);
	size_t i;

	memset(t, 0, sizeof(*t));
	if (c == 0xff) {
		t->n = fz_huge(r);
		return;
	}
	if (c == 0xfe)
		return;
	t->nalloc = c % (FZ_MAX_ATTRS + 1);
	t->n = t->nalloc;
	/* calloc(0) is fine: a non-NULL template of count 0. */
	if ((t->v = calloc(t->nalloc ? t->nalloc : 1, sizeof(*t->v))) == NULL ||
	    (t->cap = calloc(t->nalloc ? t->nalloc : 1, sizeof(*t->cap))) == NULL)
		abort();
	for (i = 0; i < t->nalloc; i++) {
		CK_ATTRIBUTE *a = &t->v[i];
		size_t len = 0;
		bool buf = true;

		a->type = fz_attr_type(r);
		switch (fz_u8(r) % FZ_VAL_MODES) {
		case FZ_VAL_NATURAL:
			if (fz_type_is_bool(a->type))
				len = sizeof(CK_BBOOL);
			else if (fz_type_is_ulong(a->type))
				len = sizeof(CK_ULONG);
			else
				len = fz_u8(r);
			break;
		case FZ_VAL_LEN8:
			len = fz_u8(r);
			break;
		case FZ_VAL_LEN16:
			len = fz_u16(r) % (FZ_MAX_VALUE + 1);
			break;
		case FZ_VAL_NULL_LEN:
			buf = false;
			a->ulValueLen = fz_u8(r);
			break;
		case FZ_VAL_NULL_HUGE:
			buf = false;
			a->ulValueLen = fz_huge(r);
			break;
		case FZ_VAL_NULL_0:
			buf = false;
			break;
		case FZ_VAL_EMPTY:
		default:
			len = 0;
			break;
		}
		if (buf) {
			a->pValue = fz_value(r, len);
			a->ulValueLen = len;
			t->cap[i] = len;
		}
	}
}

void
fz_template_reset_lens(fz_template *t)
{
	size_t i;

	for (i = 0; i < t->nalloc; i++)
		if (t->v[i].pValue != NULL)
			t->v[i].ulValueLen = t->cap[i];
}

void
fz_template_free(fz_template *t)
{
	size_t i;

	for (i = 0; i < t->nalloc; i++)
		free(t->v[i].pValue);
	free(t->v);
	free(t->cap);
	memset(t, 0, sizeof(*t));
}

/* --- mechanisms -------------------------------------------------------------- */

const CK_MECHANISM_TYPE fz_mech_types[] = {
	CKM_ECDSA, CKM_ECDSA_SHA1, CKM_ECDSA_SHA224, CKM_ECDSA_SHA256,
	CKM_ECDSA_SHA384, CKM_ECDSA_SHA512, CKM_RSA_PKCS, CKM_SHA1_RSA_PKCS,
	CKM_SHA224_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS,
	CKM_SHA512_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_SHA1_RSA_PKCS_PSS,
	CKM_SHA224_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS,
	CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS, CKM_RSA_X_509,
	CKM_EC_KEY_PAIR_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_SHA256,
	CKM_AES_CBC, CKM_ECDH1_DERIVE, CKM_RSA_PKCS_OAEP, CKM_VENDOR_DEFINED,
	(CK_MECHANISM_TYPE)ULONG_MAX,
};
const size_t fz_mech_types_n = ARRAY_LEN(fz_mech_types);

const CK_MECHANISM_TYPE fz_pss_hashes[] = {
	CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512, CKM_MD5,
	0, (CK_MECHANISM_TYPE)ULONG_MAX,
};
const size_t fz_pss_hashes_n = ARRAY_LEN(fz_pss_hashes);

const CK_RSA_PKCS_MGF_TYPE fz_pss_mgfs[] = {
	CKG_MGF1_SHA1, CKG_MGF1_SHA224, CKG_MGF1_SHA256, CKG_MGF1_SHA384,
	CKG_MGF1_SHA512, 0, 6, (CK_RSA_PKCS_MGF_TYPE)ULONG_MAX,
};
const size_t fz_pss_mgfs_n = ARRAY_LEN(fz_pss_mgfs);

CK_ULONG
fz_slen(fz_reader *r)
{
	static const CK_ULONG edge[] = {
		0, 20, 28, 32, 48, 64, 190, 222, 254, 255, 256, 318, 350, 382,
		383, 384, ULONG_MAX, ULONG_MAX - 1, ULONG_MAX - 20,
		ULONG_MAX - 33, ULONG_MAX - 34, ULONG_MAX - 65, 0x7fffffffUL,
		0xffffffffUL,
	};
	uint8_t k = fz_u8(r);

	if (k < 0xc0)
		return k;
	if (k == 0xff)
		return (CK_ULONG)fz_u64(r);
	if (k == 0xfe) /* ULONG_MAX - small */
		return ULONG_MAX - fz_u8(r);
	return edge[(k - 0xc0) % ARRAY_LEN(edge)];
}

static void
fz_pss_fill(fz_reader *r, CK_RSA_PKCS_PSS_PARAMS *p)
{
	p->hashAlg = fz_pss_hashes[fz_u8(r) % fz_pss_hashes_n];
	p->mgf = fz_pss_mgfs[fz_u8(r) % fz_pss_mgfs_n];
	p->sLen = fz_slen(r);
}

void
fz_mech_decode(fz_reader *r, fz_mech *m)
{
	uint8_t sel = fz_u8(r);
	CK_RSA_PKCS_PSS_PARAMS pss;
	size_t len;

	memset(m, 0, sizeof(*m));
	if (sel == 0xff)
		return; /* NULL CK_MECHANISM */
	m->ptr = &m->m;
	if (sel == 0xfe)
		m->m.mechanism = (CK_MECHANISM_TYPE)fz_u64(r);
	else
		m->m.mechanism = fz_mech_types[sel % fz_mech_types_n];
	switch (fz_u8(r) % FZ_PAR_MODES) {
	case FZ_PAR_NONE:
		break;
	case FZ_PAR_NULL_LEN:
		m->m.ulParameterLen = fz_huge(r);
		break;
	case FZ_PAR_PSS:
		fz_pss_fill(r, &pss);
		len = sizeof(pss);
		goto pss;
	case FZ_PAR_PSS_SHORT:
		fz_pss_fill(r, &pss);
		len = sizeof(pss) - 1;
		goto pss;
	case FZ_PAR_PSS_LONG:
		fz_pss_fill(r, &pss);
		len = sizeof(pss) + 1;
	pss:
		/* A short buffer holds the first len bytes of the struct; a
		 * long one the struct and a zero byte. */
		if ((m->param = calloc(1, len)) == NULL)
			abort();
		memcpy(m->param, &pss, len < sizeof(pss) ? len : sizeof(pss));
		m->m.pParameter = m->param;
		m->m.ulParameterLen = len;
		return;
	case FZ_PAR_BYTES:
		len = fz_u8(r);
		m->param = fz_value(r, len);
		m->m.pParameter = m->param;
		m->m.ulParameterLen = len;
		return;
	case FZ_PAR_OAEP: {
		CK_RSA_PKCS_OAEP_PARAMS *o = calloc(1, sizeof(*o));
		static const CK_RSA_PKCS_OAEP_SOURCE_TYPE src[] = {
			0, CKZ_DATA_SPECIFIED, 2, (CK_ULONG)-1};

		if (o == NULL)
			abort();
		o->hashAlg = fz_pss_hashes[fz_u8(r) % fz_pss_hashes_n];
		o->mgf = fz_pss_mgfs[fz_u8(r) % fz_pss_mgfs_n];
		o->source = src[fz_u8(r) % ARRAY_LEN(src)];
		m->label = fz_buf_decode(r, &o->ulSourceDataLen);
		o->pSourceData = m->label;
		m->param = o;
		m->m.pParameter = o;
		m->m.ulParameterLen = sizeof(*o);
		return;
	}
	case FZ_PAR_EMPTY:
	default:
		m->param = malloc(0);
		m->m.pParameter = m->param;
		m->m.ulParameterLen = 0;
		return;
	}
}

void
fz_mech_free(fz_mech *m)
{
	free(m->param);
	free(m->label);
	memset(m, 0, sizeof(*m));
}

/* --- byte strings ------------------------------------------------------------ */

void *
fz_buf_decode(fz_reader *r, CK_ULONG *len)
{
	uint8_t mode = fz_u8(r);

	if (mode == 0) {
		*len = fz_u8(r);
		return NULL;
	}
	if (mode == 1) {
		*len = fz_huge(r);
		return NULL;
	}
	if (mode == 3)
		*len = fz_u16(r) % (FZ_MAX_VALUE + 1);
	else
		*len = fz_u8(r);
	return fz_value(r, *len);
}

/* --- checks ---------------------------------------------------------------------- */

bool
fz_ckr_known(CK_RV rv)
{
	static const CK_RV known[] = {
		CKR_OK, CKR_CANCEL, CKR_HOST_MEMORY, CKR_SLOT_ID_INVALID,
		CKR_GENERAL_ERROR, CKR_FUNCTION_FAILED, CKR_ARGUMENTS_BAD,
		CKR_NO_EVENT, CKR_NEED_TO_CREATE_THREADS, CKR_CANT_LOCK,
		CKR_ATTRIBUTE_READ_ONLY, CKR_ATTRIBUTE_SENSITIVE,
		CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID,
		CKR_ACTION_PROHIBITED, CKR_DATA_INVALID, CKR_DATA_LEN_RANGE,
		CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY, CKR_DEVICE_REMOVED,
		CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE,
		CKR_FUNCTION_CANCELED, CKR_FUNCTION_NOT_PARALLEL,
		CKR_FUNCTION_NOT_SUPPORTED, CKR_KEY_HANDLE_INVALID,
		CKR_KEY_SIZE_RANGE, CKR_KEY_TYPE_INCONSISTENT,
		CKR_KEY_NOT_NEEDED, CKR_KEY_CHANGED, CKR_KEY_NEEDED,
		CKR_KEY_INDIGESTIBLE, CKR_KEY_FUNCTION_NOT_PERMITTED,
		CKR_KEY_NOT_WRAPPABLE, CKR_KEY_UNEXTRACTABLE,
		CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID,
		CKR_OBJECT_HANDLE_INVALID, CKR_OPERATION_ACTIVE,
		CKR_OPERATION_NOT_INITIALIZED, CKR_PIN_INCORRECT,
		CKR_PIN_INVALID, CKR_PIN_LEN_RANGE, CKR_PIN_EXPIRED,
		CKR_PIN_LOCKED, CKR_SESSION_CLOSED, CKR_SESSION_COUNT,
		CKR_SESSION_HANDLE_INVALID, CKR_SESSION_PARALLEL_NOT_SUPPORTED,
		CKR_SESSION_READ_ONLY, CKR_SESSION_EXISTS,
		CKR_SESSION_READ_ONLY_EXISTS, CKR_SESSION_READ_WRITE_SO_EXISTS,
		CKR_SIGNATURE_INVALID, CKR_SIGNATURE_LEN_RANGE,
		CKR_TEMPLATE_INCOMPLETE, CKR_TEMPLATE_INCONSISTENT,
		CKR_TOKEN_NOT_PRESENT, CKR_TOKEN_NOT_RECOGNIZED,
		CKR_TOKEN_WRITE_PROTECTED, CKR_UNWRAPPING_KEY_SIZE_RANGE,
		CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT,
		CKR_USER_ALREADY_LOGGED_IN, CKR_USER_NOT_LOGGED_IN,
		CKR_USER_PIN_NOT_INITIALIZED, CKR_USER_TYPE_INVALID,
		CKR_USER_ANOTHER_ALREADY_LOGGED_IN, CKR_USER_TOO_MANY_TYPES,
		CKR_WRAPPED_KEY_INVALID, CKR_WRAPPED_KEY_LEN_RANGE,
		CKR_WRAPPING_KEY_HANDLE_INVALID, CKR_WRAPPING_KEY_SIZE_RANGE,
		CKR_WRAPPING_KEY_TYPE_INCONSISTENT, CKR_RANDOM_SEED_NOT_SUPPORTED,
		CKR_RANDOM_NO_RNG, CKR_DOMAIN_PARAMS_INVALID,
		CKR_CURVE_NOT_SUPPORTED, CKR_BUFFER_TOO_SMALL,
		CKR_SAVED_STATE_INVALID, CKR_INFORMATION_SENSITIVE,
		CKR_STATE_UNSAVEABLE, CKR_CRYPTOKI_NOT_INITIALIZED,
		CKR_CRYPTOKI_ALREADY_INITIALIZED, CKR_MUTEX_BAD,
		CKR_MUTEX_NOT_LOCKED, CKR_NEW_PIN_MODE, CKR_NEXT_OTP,
		CKR_EXCEEDED_MAX_ITERATIONS, CKR_FIPS_SELF_TEST_FAILED,
		CKR_LIBRARY_LOAD_FAILED, CKR_PIN_TOO_WEAK,
		CKR_PUBLIC_KEY_INVALID, CKR_FUNCTION_REJECTED,
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(known); i++)
		if (known[i] == rv)
			return true;
	return false;
}

void
fz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz check failed: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

/* --- writing seeds ----------------------------------------------------------------- */

void
fz_put_bytes(fz_writer *w, const void *p, size_t n)
{
	if (w->n + n > w->cap) {
		size_t ncap = (w->cap ? w->cap * 2 : 256) + n;
		uint8_t *np = realloc(w->p, ncap);

		if (np == NULL)
			abort();
		w->p = np;
		w->cap = ncap;
	}
	if (n)
		memcpy(w->p + w->n, p, n);
	w->n += n;
}

void
fz_put_u8(fz_writer *w, uint8_t v)
{
	fz_put_bytes(w, &v, 1);
}

void
fz_put_u16(fz_writer *w, uint16_t v)
{
	fz_put_u8(w, (uint8_t)v);
	fz_put_u8(w, (uint8_t)(v >> 8));
}

void
fz_put_u64(fz_writer *w, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		fz_put_u8(w, (uint8_t)(v >> (8 * i)));
}

void
fz_put_attr_type(fz_writer *w, CK_ATTRIBUTE_TYPE t)
{
	size_t i;

	for (i = 0; i < fz_attr_types_n && i < 0xfe; i++) {
		if (fz_attr_types[i] == t) {
			fz_put_u8(w, (uint8_t)i);
			return;
		}
	}
	fz_put_u8(w, 0xff);
	fz_put_u64(w, t);
}

void
fz_put_attr(fz_writer *w, CK_ATTRIBUTE_TYPE t, const void *v, size_t len)
{
	fz_put_attr_type(w, t);
	fz_put_u8(w, FZ_VAL_LEN16);
	fz_put_u16(w, (uint16_t)len);
	fz_put_bytes(w, v, len);
}

void
fz_put_attr_bool(fz_writer *w, CK_ATTRIBUTE_TYPE t, bool v)
{
	CK_BBOOL b = v ? CK_TRUE : CK_FALSE;

	fz_put_attr(w, t, &b, sizeof(b));
}

void
fz_put_attr_ulong(fz_writer *w, CK_ATTRIBUTE_TYPE t, CK_ULONG v)
{
	fz_put_attr(w, t, &v, sizeof(v));
}

void
fz_put_mech_type(fz_writer *w, CK_MECHANISM_TYPE t)
{
	size_t i;

	for (i = 0; i < fz_mech_types_n && i < 0xfe; i++) {
		if (fz_mech_types[i] == t) {
			fz_put_u8(w, (uint8_t)i);
			return;
		}
	}
	fz_put_u8(w, 0xfe);
	fz_put_u64(w, t);
}

int
fz_writer_save(const fz_writer *w, const char *path)
{
	FILE *f = fopen(path, "wb");
	int r = 0;

	if (f == NULL)
		return -1;
	if (w->n && fwrite(w->p, 1, w->n, f) != w->n)
		r = -1;
	if (fclose(f) != 0)
		r = -1;
	return r;
}

void
fz_writer_free(fz_writer *w)
{
	free(w->p);
	memset(w, 0, sizeof(*w));
}
