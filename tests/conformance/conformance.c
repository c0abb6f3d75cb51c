/* tpm11's own PKCS#11 conformance program (issue 5).
 *
 * Walks the Cryptoki API function by function and checks the rules of
 * PKCS#11 v2.40 (base and current mechanisms) and v3.0 that a TPM-backed
 * token must follow: the function list and the v3.0 interfaces, info
 * strings, sessions and login, objects, attribute latching, key
 * generation, every advertised mechanism (each one exercised and, where
 * there is an answer to check, checked with OpenSSL), random numbers,
 * token and PIN administration.
 *
 * It dlopens $TPM11_MODULE and expects the set-up of
 * tests/conformance/conformance.sh: a token labelled $CONF_TOKEN (default
 * "CONF") with the keys "p256" (ecc256), "p384" (ecc384) and "rsa2048"
 * made by the tool, user PIN $TPM11_TEST_PIN, SO PIN $TPM11_TEST_SOPIN,
 * and an empty slot for C_InitToken. Optional facts about the TPM, read by
 * the script with tpm2_getcap, make some checks exact:
 *   CONF_TPM_MANUFACTURER  e.g. "IBM"
 *   CONF_TPM_FW1           TPM2_PT_FIRMWARE_VERSION_1, hex
 *   CONF_TPM_REVISION      TPM2_PT_REVISION, e.g. 164 for 1.64
 *   CONF_TPM_ALGS          algorithm names (tpm2_getcap algorithms)
 *   CONF_TPM_CURVES        curve names (tpm2_getcap ecc-curves)
 *   CONF_LIB_VERSION       the project's version, e.g. 0.1.0
 *
 * Output: one TAP line per rule ("ok N - C_Foo: rule"), then the line
 * "N passed, N failed". With TAP_START set, numbering starts there and no
 * plan is printed, so that the script can merge this output into its own
 * stream. At the end a support table "function/mechanism -> supported |
 * CKR code" is written to $CONFORMANCE_TABLE, or to stderr.
 * Exit status 1 when a test failed.
 *
 *   conformance [--list | NAME...]
 *
 * The checks come in cases, one per function family (the table `cases`
 * at the end, tests/lib/t11test.h): --list prints their names, NAME...
 * runs only those and the cases they need (loading, C_Initialize, the
 * token's keys; C_Finalize always ends a run).
 *
 * The files, by function family (conf.h declares what they share):
 *   conformance.c   the support table, the tracked function list, the
 *                   state and helpers the cases share, the case table, main
 *   conf_openssl.c  DER and OpenSSL: the reference side of the checks
 *   conf_general.c  the function list and interfaces, C_Initialize,
 *                   C_GetInfo, slots and tokens, v3.0 functions, fork,
 *                   C_Finalize (sections 1, 2, 11, 12, 14)
 *   conf_session.c  sessions and login, C_InitToken, C_InitPIN, C_SetPIN
 *                   (sections 3, 13)
 *   conf_objects.c  objects, C_GetAttributeValue, latching (sections 4-6)
 *   conf_keygen.c   key generation, private keys from their values
 *                   (section 7, issue 17)
 *   conf_mech.c     the mechanism table and the walk over it (section 8)
 *   conf_sign.c     signing and verification, by mechanism (section 8)
 *   conf_crypt.c    digests, decryption and encryption, ECDH, AES (section
 *                   8); random numbers (section 10)
 *   conf_ops.c      digest protocol, dual functions, operation state,
 *                   operation rules, error precedence (section 9) */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "conf.h"

/* --- the support table -------------------------------------------------- */

struct row {
	char name[48];
	char text[200];
};
static struct row table_rows[400];
static size_t ntable_rows;

static struct row *
table_row(const char *name)
{
	size_t i;

	for (i = 0; i < ntable_rows; i++)
		if (strcmp(table_rows[i].name, name) == 0)
			return &table_rows[i];
	if (ntable_rows == NELEM(table_rows))
		return NULL;
	snprintf(table_rows[ntable_rows].name, sizeof(table_rows[0].name), "%s",
		 name);
	table_rows[ntable_rows].text[0] = '\0';
	return &table_rows[ntable_rows++];
}

/* Sets the row's text unless it already has one (first word wins). */
void
table_set(const char *name, const char *fmt, ...)
{
	struct row *r = table_row(name);
	va_list ap;

	if (r == NULL || r->text[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* Replaces the row's text. */
void
table_put(const char *name, const char *fmt, ...)
{
	struct row *r = table_row(name);
	va_list ap;

	if (r == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* --- the v2.40 function list (FUNCS, conf.h), and a tracking copy ------ */

static const char *const fn_names[FN_COUNT] = {
#define S(name, p, a) #name,
	FUNCS(S)
#undef S
};

/* What each function returned over the whole run. */
static struct {
	unsigned long calls, ok, not_supported, not_parallel, other;
	CK_RV last_other;
} fn_stats[FN_COUNT];

void
fn_record(int i, CK_RV rv)
{
	fn_stats[i].calls++;
	if (rv == CKR_OK)
		fn_stats[i].ok++;
	else if (rv == CKR_FUNCTION_NOT_SUPPORTED)
		fn_stats[i].not_supported++;
	else if (rv == CKR_FUNCTION_NOT_PARALLEL)
		fn_stats[i].not_parallel++;
	else {
		fn_stats[i].other++;
		fn_stats[i].last_other = rv;
	}
}

CK_FUNCTION_LIST *real;              /* the module's own list */
static CK_FUNCTION_LIST track;       /* calls through it are counted */
CK_FUNCTION_LIST *p11 = &track;

#define W(name, params, args)                                    \
	static CK_RV w_##name params                             \
	{                                                        \
		CK_RV rv_ = real->name args;                     \
		fn_record(FN_##name, rv_);                       \
		return rv_;                                      \
	}
FUNCS(W)
#undef W

void
track_setup(void)
{
	track.version = real->version;
#define T(name, p, a) track.name = real->name ? w_##name : NULL;
	FUNCS(T)
#undef T
}

/* --- state shared by the sections -------------------------------------- */

const char *user_pin;
const char *so_pin;
const char *token_label = "CONF";
CK_SLOT_ID slot;       /* the token the script made */
bool have_slot;
CK_SLOT_ID empty_slot; /* a slot whose token is not initialised */
bool have_empty;
CK_TOKEN_INFO tinfo;   /* of `slot`, read at the start */

CK_MECHANISM_TYPE mechs[256];
CK_ULONG nmechs;
CK_MECHANISM_INFO mech_infos[256];

const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

struct key keys[NKEYS] = {
	{ "p256", CKK_EC, 256, "P-256", 0, 0, NULL, false },
	{ "p384", CKK_EC, 384, "P-384", 0, 0, NULL, false },
	{ "rsa2048", CKK_RSA, 2048, NULL, 0, 0, NULL, false },
};

/* DER of the curves' OBJECT IDENTIFIERs (CKA_EC_PARAMS, namedCurve). */
static const unsigned char oid_p192[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
					  0x3d, 0x03, 0x01, 0x01 };
static const unsigned char oid_p224[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
					  0x21 };
const unsigned char oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
				   0x3d, 0x03, 0x01, 0x07 };
const unsigned char oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
				   0x22 };
static const unsigned char oid_p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
					  0x23 };
const unsigned char oid_k256[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
				   0x0a };
const unsigned char oid_bp256[] = { 0x06, 0x09, 0x2b, 0x24, 0x03, 0x03,
				    0x02, 0x08, 0x01, 0x01, 0x07 };

const struct curve curves[] = {
	{ "P-192", "TPM2_ECC_NIST_P192", 192, oid_p192, sizeof(oid_p192) },
	{ "P-224", "TPM2_ECC_NIST_P224", 224, oid_p224, sizeof(oid_p224) },
	{ "P-256", "TPM2_ECC_NIST_P256", 256, oid_p256, sizeof(oid_p256) },
	{ "P-384", "TPM2_ECC_NIST_P384", 384, oid_p384, sizeof(oid_p384) },
	{ "P-521", "TPM2_ECC_NIST_P521", 521, oid_p521, sizeof(oid_p521) },
};

const struct curve *
curve_by_bits(unsigned bits)
{
	size_t i;

	for (i = 0; i < NELEM(curves); i++)
		if (curves[i].bits == bits)
			return &curves[i];
	return NULL;
}

/* Word w in the space-separated list in environment variable var? */
static bool
env_has_word(const char *var, const char *w)
{
	const char *s = getenv(var), *p;
	size_t l = strlen(w);

	if (s == NULL)
		return false;
	for (p = s; (p = strstr(p, w)) != NULL; p += l)
		if ((p == s || p[-1] == ' ' || p[-1] == ',') &&
		    (p[l] == '\0' || p[l] == ' ' || p[l] == ',' || p[l] == ':'))
			return true;
	return false;
}

bool
tpm_has_alg(const char *alg)
{
	/* Without the variable, assume what every TPM 2.0 has. */
	if (getenv("CONF_TPM_ALGS") == NULL)
		return strcmp(alg, "sha1") == 0 || strcmp(alg, "sha256") == 0 ||
		       strcmp(alg, "rsa") == 0 || strcmp(alg, "ecc") == 0 ||
		       strcmp(alg, "aes") == 0 || strcmp(alg, "hmac") == 0 ||
		       strcmp(alg, "cfb") == 0 || strcmp(alg, "ecdh") == 0 ||
		       strcmp(alg, "keyedhash") == 0;
	return env_has_word("CONF_TPM_ALGS", alg);
}

bool
tpm_has_curve(const struct curve *c)
{
	if (getenv("CONF_TPM_CURVES") == NULL)
		return c->bits == 256 || c->bits == 384;
	return env_has_word("CONF_TPM_CURVES", c->tpm_name);
}

/* --- strings ------------------------------------------------------------- */

/* A fixed-length blank-padded field: no NUL, no control byte, valid UTF-8. */
static bool
field_ok(const CK_UTF8CHAR *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t k, more;

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			more = 1;
		else if ((c & 0xf0) == 0xe0)
			more = 2;
		else if ((c & 0xf8) == 0xf0)
			more = 3;
		else
			return false;
		for (k = 1; k <= more; k++)
			if (i + k >= n || (p[i + k] & 0xc0) != 0x80)
				return false;
		i += more + 1;
	}
	return true;
}

static bool
all_blank(const CK_UTF8CHAR *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != ' ')
			return false;
	return true;
}

bool
padded_equals(const CK_UTF8CHAR *p, size_t n, const char *s)
{
	size_t l = strlen(s), i;

	if (l > n || memcmp(p, s, l) != 0)
		return false;
	for (i = l; i < n; i++)
		if (p[i] != ' ')
			return false;
	return true;
}

void
diag_field(const char *what, const CK_UTF8CHAR *p, size_t n)
{
	char out[4 * 64 + 1];
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < sizeof(out); i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f)
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x",
					      p[i]);
	}
	out[o] = '\0';
	diag("%s: \"%s\"", what, out);
}

void
check_field(const char *fn, const char *what, const CK_UTF8CHAR *p, size_t n,
	    bool must_be_set)
{
	if (!tap(field_ok(p, n) && (!must_be_set || !all_blank(p, n)),
		 "%s: %s is blank-padded text without NUL bytes%s", fn, what,
		 must_be_set ? " and not empty" : ""))
		diag_field(what, p, n);
}

void
pad_label(CK_UTF8CHAR out[32], const char *s)
{
	size_t l = strlen(s);

	memset(out, ' ', 32);
	memcpy(out, s, l > 32 ? 32 : l);
}

void
hex(const unsigned char *p, size_t n, char *out, size_t cap)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < n && 2 * i + 3 <= cap; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* --- attributes, objects, sessions --------------------------------------- */

CK_RV
get_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	 void *buf, CK_ULONG cap, CK_ULONG *len)
{
	CK_ATTRIBUTE a = { type, buf, cap };
	CK_RV rv = p11->C_GetAttributeValue(s, h, &a, 1);

	if (len)
		*len = a.ulValueLen;
	return rv;
}

/* Reads a variable-length attribute into a new buffer. */
CK_RV
get_attr_alloc(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	       unsigned char **out, CK_ULONG *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv;

	*out = NULL;
	*len = 0;
	rv = p11->C_GetAttributeValue(s, h, &a, 1);
	if (rv != CKR_OK)
		return rv;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > 1 << 20)
		return CKR_GENERAL_ERROR;
	a.pValue = malloc(a.ulValueLen + 1);
	if (a.pValue == NULL)
		return CKR_HOST_MEMORY;
	rv = p11->C_GetAttributeValue(s, h, &a, 1);
	if (rv != CKR_OK) {
		free(a.pValue);
		return rv;
	}
	*out = a.pValue;
	*len = a.ulValueLen;
	return CKR_OK;
}

static bool
get_bool(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	 CK_BBOOL *v)
{
	CK_ULONG len = 0;

	*v = 0xee;
	return get_attr(s, h, type, v, sizeof(*v), &len) == CKR_OK &&
	       len == sizeof(*v);
}

bool
get_ulong(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	  CK_ULONG *v)
{
	CK_ULONG len = 0;

	*v = 0xeeeeeeeeUL;
	return get_attr(s, h, type, v, sizeof(*v), &len) == CKR_OK &&
	       len == sizeof(*v);
}

/* CKA_ type has value (v, n)? */
bool
attr_equals(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	    const void *v, size_t n)
{
	unsigned char *buf;
	CK_ULONG len;
	bool eq;

	if (get_attr_alloc(s, h, type, &buf, &len) != CKR_OK)
		return false;
	eq = len == n && memcmp(buf, v, n) == 0;
	free(buf);
	return eq;
}

bool
bool_is(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	CK_BBOOL want)
{
	CK_BBOOL v;

	return get_bool(s, h, type, &v) && v == want;
}

CK_RV
set_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	 const void *v, CK_ULONG n)
{
	CK_ATTRIBUTE a = { type, (void *)v, n };

	return p11->C_SetAttributeValue(s, h, &a, 1);
}

CK_RV
set_bool(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	 CK_BBOOL v)
{
	return set_attr(s, h, type, &v, sizeof(v));
}

static CK_RV
find_objects(CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
	     CK_OBJECT_HANDLE *out, CK_ULONG max, CK_ULONG *found)
{
	CK_RV rv, rv2;
	CK_ULONG i;

	*found = 0;
	rv = p11->C_FindObjectsInit(s, tmpl, n);
	if (rv != CKR_OK)
		return rv;
	while (*found < 100000) {
		CK_OBJECT_HANDLE h[8];
		CK_ULONG got = 0;

		rv = p11->C_FindObjects(s, h, 8, &got);
		if (rv != CKR_OK || got == 0)
			break;
		if (got > 8) {
			rv = CKR_GENERAL_ERROR;
			break;
		}
		for (i = 0; i < got; i++) {
			if (out && *found < max)
				out[*found] = h[i];
			(*found)++;
		}
	}
	rv2 = p11->C_FindObjectsFinal(s);
	return rv != CKR_OK ? rv : rv2;
}

CK_ULONG
count_found(CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_ULONG found = 0;

	if (find_objects(s, tmpl, n, NULL, 0, &found) != CKR_OK)
		return (CK_ULONG)-1;
	return found;
}

CK_OBJECT_HANDLE
find_one(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ULONG found = 0;

	if (find_objects(s, t, 2, &h, 1, &found) != CKR_OK || found != 1)
		return CK_INVALID_HANDLE;
	return h;
}

/* Objects of class cls with label `label` visible in session s. */
CK_ULONG
count_label(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};

	return count_found(s, t, 2);
}

CK_RV
open_session(CK_SLOT_ID sl, CK_FLAGS flags, CK_SESSION_HANDLE *s)
{
	*s = CK_INVALID_HANDLE;
	return p11->C_OpenSession(sl, flags | CKF_SERIAL_SESSION, NULL, NULL, s);
}

CK_RV
conf_login(CK_SESSION_HANDLE s, CK_USER_TYPE who, const char *pin)
{
	return p11->C_Login(s, who, (CK_UTF8CHAR *)pin, strlen(pin));
}

CK_STATE
session_state(CK_SESSION_HANDLE s)
{
	CK_SESSION_INFO info;

	memset(&info, 0, sizeof(info));
	if (p11->C_GetSessionInfo(s, &info) != CKR_OK)
		return (CK_STATE)-1;
	return info.state;
}

const char *
state_name(CK_STATE st)
{
	switch (st) {
	case CKS_RO_PUBLIC_SESSION: return "CKS_RO_PUBLIC_SESSION";
	case CKS_RO_USER_FUNCTIONS: return "CKS_RO_USER_FUNCTIONS";
	case CKS_RW_PUBLIC_SESSION: return "CKS_RW_PUBLIC_SESSION";
	case CKS_RW_USER_FUNCTIONS: return "CKS_RW_USER_FUNCTIONS";
	case CKS_RW_SO_FUNCTIONS: return "CKS_RW_SO_FUNCTIONS";
	default: return "(no state)";
	}
}

bool
expect_state(CK_SESSION_HANDLE s, CK_STATE want, const char *fmt, ...)
{
	char name[400];
	CK_STATE st = session_state(s);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (tap(st == want, "%s", name))
		return true;
	diag("expected %s, got %s", state_name(want), state_name(st));
	return false;
}

/* A fresh R/W session on `slot` with the user logged in (the login state
 * is shared, so CKR_USER_ALREADY_LOGGED_IN is fine). */
CK_SESSION_HANDLE
user_session(bool rw)
{
	CK_SESSION_HANDLE s;
	CK_RV rv;

	if (open_session(slot, rw ? CKF_RW_SESSION : 0, &s) != CKR_OK)
		return CK_INVALID_HANDLE;
	rv = conf_login(s, CKU_USER, user_pin);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		diag("C_Login as user: %s", rv_name(rv));
		p11->C_CloseSession(s);
		return CK_INVALID_HANDLE;
	}
	return s;
}

bool
mech_advertised(CK_MECHANISM_TYPE m, CK_MECHANISM_INFO *info)
{
	CK_ULONG i;

	for (i = 0; i < nmechs; i++)
		if (mechs[i] == m) {
			if (info)
				*info = mech_infos[i];
			return true;
		}
	return false;
}

/* === the support table ======================================================= */

static void
write_table(void)
{
	const char *path = getenv("CONFORMANCE_TABLE");
	FILE *f = stderr;
	size_t i;
	int k;

	if (path != NULL && *path != '\0') {
		f = fopen(path, "w");
		if (f == NULL) {
			diag("cannot write %s: %s", path, strerror(errno));
			f = stderr;
		}
	}
	fprintf(f, "# tpm11 conformance: support table\n");
	fprintf(f, "# %d passed, %d failed, %d skipped\n",
		t11_count(T11_PASSED), t11_count(T11_FAILED),
		t11_count(T11_SKIPPED));
	fprintf(f, "%-40s | %s\n", "function", "result");
	for (k = 0; k < FN_COUNT; k++) {
		char text[200];
		unsigned long c = fn_stats[k].calls;

		if (c == 0)
			snprintf(text, sizeof(text), "not called");
		else if (fn_stats[k].not_parallel && !fn_stats[k].ok)
			snprintf(text, sizeof(text), "CKR_FUNCTION_NOT_PARALLEL");
		else if (fn_stats[k].not_supported == c)
			snprintf(text, sizeof(text), "CKR_FUNCTION_NOT_SUPPORTED");
		else if (fn_stats[k].ok)
			snprintf(text, sizeof(text), "supported (%lu calls, %lu "
						     "CKR_OK)", c,
				 fn_stats[k].ok);
		else
			snprintf(text, sizeof(text), "implemented, never CKR_OK "
						     "here (last %s)",
				 rv_name(fn_stats[k].last_other));
		fprintf(f, "%-40s | %s\n", fn_names[k], text);
	}
	for (i = 0; i < ntable_rows; i++)
		if (strncmp(table_rows[i].name, "C_", 2) == 0)
			fprintf(f, "%-40s | %s\n", table_rows[i].name,
				table_rows[i].text);
	fprintf(f, "%-40s | %s\n", "mechanism / feature", "result");
	for (i = 0; i < ntable_rows; i++)
		if (strncmp(table_rows[i].name, "C_", 2) != 0)
			fprintf(f, "%-40s | %s\n", table_rows[i].name,
				table_rows[i].text);
	if (f != stderr)
		fclose(f);
}

/* === the cases, in the order they run ======================================= */

static bool loaded, initialized;

static void
case_load(void)
{
	loaded = test_load();
}

static void
case_initialize(void)
{
	initialized = test_initialize();
}

/* What the checks of a function family need: the tool's keys and the
 * mechanism list read. */
#define KEYS "keys mechanism_list"

static const t11_case cases[] = {
	{ "load", case_load, NULL, &loaded, 0 },
	{ "interfaces", test_interfaces, "load", NULL, 0 },
	{ "before_initialize", test_before_initialize, "load", NULL, 0 },
	{ "initialize", case_initialize, "load", &initialized, 0 },
	{ "info", test_info, "initialize interfaces", NULL, 0 },
	{ "slots", test_slots, "initialize", &have_slot, 0 },
	{ "keys", load_keys, "slots", NULL, 0 },
	{ "mechanism_list", test_mechanism_list, "slots", NULL, 0 },
	{ "sessions", test_sessions, KEYS, NULL, 0 },
	{ "session_objects", test_session_objects, KEYS, NULL, 0 },
	{ "objects", test_objects, KEYS, NULL, 0 },
	{ "get_attribute", test_get_attribute, KEYS, NULL, 0 },
	{ "latching", test_latching, KEYS, NULL, 0 },
	{ "keygen", test_keygen, KEYS, NULL, 0 },
	{ "mechanisms", test_mechanisms, KEYS, NULL, 0 },
	{ "function_misc", test_function_misc, KEYS, NULL, 0 },
	{ "operation_rules", test_operation_rules, KEYS, NULL, 0 },
	{ "error_precedence", test_error_precedence, KEYS, NULL, 0 },
	{ "random", test_random, KEYS, NULL, 0 },
	{ "v3", test_v3, KEYS " interfaces", NULL, 0 },
	{ "fork", test_fork, KEYS " interfaces", NULL, 0 },
	{ "privkey_import", test_privkey_import, KEYS, NULL, 0 },
	{ "token_admin", test_token_admin, KEYS, NULL, 0 },
	{ "finalize", test_finalize, "initialize", NULL, T11_CASE_ALWAYS },
};

/* === main ===================================================================== */

int
main(int argc, char **argv)
{
	int k, rc;

	t11_init();
	if ((rc = t11_cases_args(cases, NELEM(cases), argc, argv)) >= 0)
		return rc;
	if (getenv("CONF_TOKEN") != NULL && *getenv("CONF_TOKEN") != '\0')
		token_label = getenv("CONF_TOKEN");
	if (!t11_test_pins(&user_pin, &so_pin))
		return 1;

	t11_cases_run(cases, NELEM(cases));
	for (k = 0; k < NKEYS; k++)
		EVP_PKEY_free(keys[k].pkey);
	t11_plan();
	write_table();
	printf("%d passed, %d failed\n", t11_count(T11_PASSED),
	       t11_count(T11_FAILED));
	if (t11_count(T11_SKIPPED))
		printf("# %d skipped\n", t11_count(T11_SKIPPED));
	return t11_count(T11_FAILED) > 0 || t11_count(T11_PASSED) == 0 ? 1 : 0;
}
