/* Integration test of the PKCS#11 module against a real (software) TPM.
 *
 * dlopens $TPM11_MODULE and drives every C_* call the module implements,
 * with the negative paths PKCS#11 v2.40 prescribes. Expects a store made by
 * tests/integration/module.sh: token "ITEST" with keys "p256" (ecc256),
 * "p384" (ecc384) and "rsa2048", user PIN $TPM11_TEST_PIN and SO PIN
 * $TPM11_TEST_SOPIN. Signatures are verified with OpenSSL from the public
 * attributes the module reports.
 *
 * Output is TAP. Environment:
 *   TAP_START   number of the first test; when set, no plan line is printed
 *               so that a wrapper can merge this output into its own stream
 *   TAP_PREFIX  text put in front of every test name (e.g. "abrmd: ")
 * Exit status 1 when any test failed. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "t11test.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

/* PKCS#11 v3.0 interface discovery (p11-kit 0.24's header predates it). */
typedef struct {
	CK_UTF8CHAR *pInterfaceName;
	CK_VOID_PTR pFunctionList;
	CK_FLAGS flags;
} test_interface;
typedef CK_RV (*get_interface_list_fn)(test_interface *, CK_ULONG *);
typedef CK_RV (*get_interface_fn)(CK_UTF8CHAR *, CK_VERSION *,
				  test_interface **, CK_FLAGS);

#define BOGUS_HANDLE 0x7eadbeefUL
#define BOGUS_SLOT 0x7eadbeefUL
#define BOGUS_ATTRIBUTE 0x7ffffff0UL /* below CKA_VENDOR_DEFINED, unassigned */

/* --- module state the tests share ----------------------------------------- */

static CK_FUNCTION_LIST_PTR p11;
static const char *user_pin;
static const char *so_pin;

static CK_SLOT_ID itest_slot;
static bool have_itest;
static CK_SLOT_ID empty_slot;
static bool have_empty;

enum { K_P256, K_P384, K_RSA, NKEYS };

struct key {
	const char *label;
	CK_KEY_TYPE type;
	unsigned bits;
	const char *group;          /* OpenSSL group name for EC keys */
	const unsigned char *oid;   /* DER of the curve's OBJECT IDENTIFIER */
	size_t oid_len;
	CK_OBJECT_HANDLE pub, priv;
	unsigned char id[256];
	CK_ULONG id_len;
	EVP_PKEY *pkey;             /* built from the public attributes */
};

static const unsigned char oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
					  0x3d, 0x03, 0x01, 0x07 };
static const unsigned char oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
					  0x22 };

static struct key keys[NKEYS] = {
	[K_P256] = { "p256", CKK_EC, 256, "P-256", oid_p256, sizeof(oid_p256),
		     0, 0, { 0 }, 0, NULL },
	[K_P384] = { "p384", CKK_EC, 384, "P-384", oid_p384, sizeof(oid_p384),
		     0, 0, { 0 }, 0, NULL },
	[K_RSA] = { "rsa2048", CKK_RSA, 2048, NULL, NULL, 0, 0, 0, { 0 }, 0,
		    NULL },
};

static const char message[] =
	"tpm11 integration test: the quick brown fox signs with a TPM key";

/* --- small PKCS#11 helpers -------------------------------------------------- */

static bool
utf8_padded_ok(const CK_UTF8CHAR *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

static bool
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

static bool
all_blank(const CK_UTF8CHAR *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != ' ')
			return false;
	return true;
}

static void
diag_field(const char *what, const CK_UTF8CHAR *p, size_t n)
{
	char out[4 * 64 + 1];
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < sizeof(out); i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f)
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", p[i]);
	}
	out[o] = '\0';
	t11_diag("%s: \"%s\"", what, out);
}

static CK_RV
get_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	 void *buf, CK_ULONG cap, CK_ULONG *len)
{
	CK_ATTRIBUTE a = { type, buf, cap };
	CK_RV rv = p11->C_GetAttributeValue(s, h, &a, 1);

	*len = a.ulValueLen;
	return rv;
}

static bool
get_bool(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	 CK_BBOOL *v, CK_RV *rvp)
{
	CK_ULONG len;
	CK_RV rv = get_attr(s, h, type, v, sizeof(*v), &len);

	if (rvp)
		*rvp = rv;
	return rv == CKR_OK && len == sizeof(*v);
}

static bool
get_ulong(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	  CK_ULONG *v)
{
	CK_ULONG len;

	return get_attr(s, h, type, v, sizeof(*v), &len) == CKR_OK &&
	       len == sizeof(*v);
}

/* Runs a whole C_FindObjectsInit/C_FindObjects/C_FindObjectsFinal, two
 * handles at a time; stores up to max handles, counts all. */
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
	while (*found < 10000) {
		CK_OBJECT_HANDLE h[2];
		CK_ULONG got = 0;

		rv = p11->C_FindObjects(s, h, 2, &got);
		if (rv != CKR_OK || got == 0)
			break;
		if (got > 2) {
			rv = CKR_GENERAL_ERROR;
			break;
		}
		for (i = 0; i < got; i++) {
			if (*found < max)
				out[*found] = h[i];
			(*found)++;
		}
	}
	rv2 = p11->C_FindObjectsFinal(s);
	return rv != CKR_OK ? rv : rv2;
}

static CK_RV
find_key(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label,
	 CK_OBJECT_HANDLE *h, CK_ULONG *count)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};

	*h = CK_INVALID_HANDLE;
	return find_objects(s, t, 2, h, 1, count);
}

static CK_RV
count_class(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, CK_ULONG *count)
{
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
	CK_OBJECT_HANDLE h[16];

	return find_objects(s, &t, 1, h, 16, count);
}

static CK_RV
open_session(CK_FLAGS flags, CK_SESSION_HANDLE *s)
{
	*s = CK_INVALID_HANDLE;
	return p11->C_OpenSession(itest_slot, flags | CKF_SERIAL_SESSION, NULL,
				  NULL, s);
}

static CK_RV
login_user(CK_SESSION_HANDLE s, const char *pin)
{
	return p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
}

static CK_RV
session_state(CK_SESSION_HANDLE s, CK_STATE *state)
{
	CK_SESSION_INFO info;
	CK_RV rv;

	memset(&info, 0, sizeof(info));
	rv = p11->C_GetSessionInfo(s, &info);
	*state = info.state;
	return rv;
}

static const char *
state_name(CK_STATE st)
{
	switch (st) {
	case CKS_RO_PUBLIC_SESSION: return "CKS_RO_PUBLIC_SESSION";
	case CKS_RO_USER_FUNCTIONS: return "CKS_RO_USER_FUNCTIONS";
	case CKS_RW_PUBLIC_SESSION: return "CKS_RW_PUBLIC_SESSION";
	case CKS_RW_USER_FUNCTIONS: return "CKS_RW_USER_FUNCTIONS";
	case CKS_RW_SO_FUNCTIONS: return "CKS_RW_SO_FUNCTIONS";
	default: return "unknown state";
	}
}

static bool
expect_state(CK_SESSION_HANDLE s, CK_STATE want, const char *name)
{
	CK_STATE st = (CK_STATE)-1;
	CK_RV rv = session_state(s, &st);

	if (t11_ok(rv == CKR_OK && st == want, "%s", name))
		return true;
	t11_diag("C_GetSessionInfo -> %s, state %s (%lu), expected %s", t11_rv_name(rv),
	     state_name(st), (unsigned long)st, state_name(want));
	return false;
}

/* C_SignInit then C_Sign into sig (capacity *siglen). */
static CK_RV
sign_once(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE k,
	  const void *data, CK_ULONG len, unsigned char *sig, CK_ULONG *siglen)
{
	CK_RV rv = p11->C_SignInit(s, m, k);

	if (rv != CKR_OK)
		return rv;
	return p11->C_Sign(s, (CK_BYTE *)data, len, sig, siglen);
}

/* --- OpenSSL helpers ------------------------------------------------------- */

static void
diag_openssl(void)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		t11_diag("openssl: %s", buf);
	}
}

static EVP_PKEY *
pkey_from_params(const char *type, OSSL_PARAM_BLD *b)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	if (params == NULL)
		return NULL;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

static EVP_PKEY *
ec_pkey(const char *group, const unsigned char *point, size_t len)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY *pk = NULL;

	if (b != NULL &&
	    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
					    group, 0) &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY,
					     point, len))
		pk = pkey_from_params("EC", b);
	OSSL_PARAM_BLD_free(b);
	return pk;
}

static EVP_PKEY *
rsa_pkey(const unsigned char *n, size_t nlen, const unsigned char *e,
	 size_t elen)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL);
	BIGNUM *be = BN_bin2bn(e, (int)elen, NULL);
	EVP_PKEY *pk = NULL;

	if (b != NULL && bn != NULL && be != NULL &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be))
		pk = pkey_from_params("RSA", b);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	return pk;
}

static void
digest(const EVP_MD *md, const void *data, size_t len, unsigned char *out,
       unsigned *outlen)
{
	if (!EVP_Digest(data, len, out, outlen, md, NULL))
		*outlen = 0;
}

/* Verifies a PKCS#11 ECDSA signature (r||s, each half the length) over a
 * digest. */
static bool
ecdsa_verify(EVP_PKEY *pk, const unsigned char *dgst, size_t dlen,
	     const unsigned char *sig, size_t siglen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r, *s;
	unsigned char *der = NULL;
	int derlen;
	EVP_PKEY_CTX *ctx = NULL;
	bool ok = false;

	if (pk == NULL || siglen == 0 || siglen % 2 != 0)
		return false;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, (int)(siglen / 2), NULL);
	s = BN_bin2bn(sig + siglen / 2, (int)(siglen / 2), NULL);
	if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	derlen = i2d_ECDSA_SIG(es, &der);
	if (derlen <= 0)
		goto out;
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	ok = ctx != NULL && EVP_PKEY_verify_init(ctx) > 0 &&
	     EVP_PKEY_verify(ctx, der, (size_t)derlen, dgst, dlen) == 1;
out:
	if (!ok)
		diag_openssl();
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return ok;
}

/* RSA PKCS#1 v1.5: the signature opens to exactly `expect`. */
static bool
rsa_pkcs1_opens_to(EVP_PKEY *pk, const unsigned char *sig, size_t siglen,
		   const unsigned char *expect, size_t explen)
{
	unsigned char out[1024];
	size_t outlen = sizeof(out);
	EVP_PKEY_CTX *ctx;
	bool ok;

	if (pk == NULL)
		return false;
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	ok = ctx != NULL && EVP_PKEY_verify_recover_init(ctx) > 0 &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
	     EVP_PKEY_verify_recover(ctx, out, &outlen, sig, siglen) > 0 &&
	     outlen == explen && memcmp(out, expect, explen) == 0;
	if (!ok)
		diag_openssl();
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/* RSA over a digest: PKCS#1 v1.5 (salt < 0) or PSS with MGF1 of the same
 * hash and the given salt length. */
static bool
rsa_verify(EVP_PKEY *pk, const EVP_MD *md, const unsigned char *dgst,
	   size_t dlen, const unsigned char *sig, size_t siglen, int salt)
{
	EVP_PKEY_CTX *ctx;
	bool ok;

	if (pk == NULL)
		return false;
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	ok = ctx != NULL && EVP_PKEY_verify_init(ctx) > 0 &&
	     EVP_PKEY_CTX_set_signature_md(ctx, md) > 0;
	if (ok && salt >= 0)
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, salt) > 0;
	else if (ok)
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
	ok = ok && EVP_PKEY_verify(ctx, sig, siglen, dgst, dlen) == 1;
	if (!ok)
		diag_openssl();
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/* --- loading -------------------------------------------------------------- */

static bool loaded;

static void
test_load(void)
{
	CK_RV rv;

	p11 = t11_load_module_checked(&rv);
	loaded = p11 != NULL;
}

static void
test_interfaces(void)
{
	get_interface_list_fn list_fn = (get_interface_list_fn)t11_module_sym(
		"C_GetInterfaceList");
	get_interface_fn get_fn = (get_interface_fn)t11_module_sym(
		"C_GetInterface");
	test_interface ifs[8], *iface = NULL;
	CK_ULONG n = 0, i;
	CK_RV rv;
	bool found = false;

	if (!t11_ok(list_fn != NULL && get_fn != NULL,
		 "module exports C_GetInterfaceList and C_GetInterface"))
		return;
	rv = list_fn(NULL, &n);
	if (!t11_ok(rv == CKR_OK && n >= 1 && n <= 8,
		 "C_GetInterfaceList(NULL) gives the number of interfaces")) {
		t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)n);
		return;
	}
	rv = list_fn(ifs, &n);
	for (i = 0; rv == CKR_OK && i < n; i++)
		if (ifs[i].pInterfaceName != NULL &&
		    strcmp((const char *)ifs[i].pInterfaceName, "PKCS 11") == 0 &&
		    ifs[i].pFunctionList != NULL)
			found = true;
	if (!t11_ok(found, "C_GetInterfaceList offers interface \"PKCS 11\""))
		t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)n);
	rv = get_fn((CK_UTF8CHAR *)"PKCS 11", NULL, &iface, 0);
	if (!t11_ok(rv == CKR_OK && iface != NULL && iface->pFunctionList != NULL &&
			 (((CK_VERSION *)iface->pFunctionList)->major == 2 ||
			  ((CK_VERSION *)iface->pFunctionList)->major == 3),
		 "C_GetInterface(\"PKCS 11\") returns a PKCS#11 function list"))
		t11_diag("got %s", t11_rv_name(rv));
}

/* --- C_Initialize and friends ---------------------------------------------- */

static CK_RV mx_create(CK_VOID_PTR_PTR out);

static void
test_before_initialize(void)
{
	CK_INFO info;
	CK_ULONG n = 0;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_C_INITIALIZE_ARGS args;
	CK_BYTE reserved = 0;

	t11_expect_rv(p11->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED,
		  "C_GetInfo before C_Initialize -> CKR_CRYPTOKI_NOT_INITIALIZED");
	t11_expect_rv(p11->C_GetSlotList(CK_FALSE, NULL, &n),
		  CKR_CRYPTOKI_NOT_INITIALIZED,
		  "C_GetSlotList before C_Initialize -> CKR_CRYPTOKI_NOT_INITIALIZED");
	t11_expect_rv(p11->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s),
		  CKR_CRYPTOKI_NOT_INITIALIZED,
		  "C_OpenSession before C_Initialize -> CKR_CRYPTOKI_NOT_INITIALIZED");
	t11_expect_rv(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED,
		  "C_Finalize before C_Initialize -> CKR_CRYPTOKI_NOT_INITIALIZED");

	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	args.pReserved = &reserved;
	t11_expect_rv(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD,
		  "C_Initialize with pReserved set -> CKR_ARGUMENTS_BAD");
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	args.CreateMutex = mx_create;
	t11_expect_rv(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD,
		  "C_Initialize with only some mutex functions -> CKR_ARGUMENTS_BAD");
}

static bool
test_initialize(void)
{
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = p11->C_Initialize(&args);
	if (!t11_expect_rv(rv, CKR_OK,
		       "C_Initialize with CKF_OS_LOCKING_OK -> CKR_OK"))
		return false;
	t11_expect_rv(p11->C_Initialize(&args), CKR_CRYPTOKI_ALREADY_INITIALIZED,
		  "C_Initialize twice -> CKR_CRYPTOKI_ALREADY_INITIALIZED");
	t11_expect_rv(p11->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED,
		  "C_Initialize(NULL) while initialised -> "
		  "CKR_CRYPTOKI_ALREADY_INITIALIZED");
	return true;
}

static void
test_get_info(void)
{
	CK_INFO info;
	CK_RV rv;

	memset(&info, 0, sizeof(info));
	rv = p11->C_GetInfo(&info);
	t11_expect_rv(rv, CKR_OK, "C_GetInfo -> CKR_OK");
	if (!t11_ok(info.cryptokiVersion.major == 2 &&
			 info.cryptokiVersion.minor == 40,
		 "C_GetInfo: cryptokiVersion is 2.40"))
		t11_diag("version %u.%u", info.cryptokiVersion.major,
		     info.cryptokiVersion.minor);
	if (!t11_ok(utf8_padded_ok(info.manufacturerID, sizeof(info.manufacturerID)) &&
			 !all_blank(info.manufacturerID, sizeof(info.manufacturerID)),
		 "C_GetInfo: manufacturerID is set, blank-padded, no NUL"))
		diag_field("manufacturerID", info.manufacturerID,
			   sizeof(info.manufacturerID));
	if (!t11_ok(utf8_padded_ok(info.libraryDescription,
				sizeof(info.libraryDescription)) &&
			 !all_blank(info.libraryDescription,
				    sizeof(info.libraryDescription)),
		 "C_GetInfo: libraryDescription is set, blank-padded, no NUL"))
		diag_field("libraryDescription", info.libraryDescription,
			   sizeof(info.libraryDescription));
	if (!t11_ok(info.flags == 0, "C_GetInfo: flags are 0"))
		t11_diag("flags 0x%lx", (unsigned long)info.flags);
	t11_expect_rv(p11->C_GetInfo(NULL), CKR_ARGUMENTS_BAD,
		  "C_GetInfo(NULL) -> CKR_ARGUMENTS_BAD");
}

/* --- slots and tokens ------------------------------------------------------ */

static void
test_slots(void)
{
	CK_SLOT_ID slots[16], small[16];
	CK_ULONG n = 0, n2, i;
	CK_RV rv;
	bool empty_found = false;
	CK_TOKEN_INFO ti;
	CK_SLOT_INFO si;

	rv = p11->C_GetSlotList(CK_FALSE, NULL, &n);
	if (!t11_ok(rv == CKR_OK && n >= 2 && n <= 16,
		 "C_GetSlotList(NULL) gives the slot count (token slot + empty slot)"))
		t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)n);
	if (n > 16)
		n = 16;
	n2 = n;
	rv = p11->C_GetSlotList(CK_FALSE, slots, &n2);
	if (!t11_ok(rv == CKR_OK && n2 == n,
		 "C_GetSlotList fills a buffer of the announced size"))
		t11_diag("got %s, count %lu (announced %lu)", t11_rv_name(rv),
		     (unsigned long)n2, (unsigned long)n);
	if (n >= 1) {
		n2 = n - 1;
		rv = p11->C_GetSlotList(CK_FALSE, small, &n2);
		if (!t11_ok(rv == CKR_BUFFER_TOO_SMALL && n2 == n,
			 "C_GetSlotList with a buffer one too small -> "
			 "CKR_BUFFER_TOO_SMALL and the needed count"))
			t11_diag("got %s, count %lu (needed %lu)", t11_rv_name(rv),
			     (unsigned long)n2, (unsigned long)n);
	}
	t11_expect_rv(p11->C_GetSlotList(CK_FALSE, NULL, NULL), CKR_ARGUMENTS_BAD,
		  "C_GetSlotList with NULL count -> CKR_ARGUMENTS_BAD");

	for (i = 0; i < n; i++) {
		memset(&ti, 0, sizeof(ti));
		if (p11->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (padded_equals(ti.label, sizeof(ti.label), "ITEST")) {
			have_itest = true;
			itest_slot = slots[i];
		} else if (!(ti.flags & CKF_TOKEN_INITIALIZED) && !empty_found) {
			empty_found = true;
			empty_slot = slots[i];
		}
	}
	if (!t11_ok(have_itest, "a slot holds token ITEST, its label blank-padded"))
		for (i = 0; i < n; i++)
			if (p11->C_GetTokenInfo(slots[i], &ti) == CKR_OK)
				diag_field("token label", ti.label, sizeof(ti.label));
	have_empty = empty_found;
	t11_ok(empty_found,
	    "an extra slot holds a token without CKF_TOKEN_INITIALIZED");
	if (empty_found) {
		memset(&si, 0, sizeof(si));
		rv = p11->C_GetSlotInfo(empty_slot, &si);
		if (!t11_ok(rv == CKR_OK && (si.flags & CKF_TOKEN_PRESENT),
			 "empty slot: C_GetSlotInfo says CKF_TOKEN_PRESENT"))
			t11_diag("got %s, flags 0x%lx", t11_rv_name(rv),
			     (unsigned long)si.flags);
	}

	/* tokenPresent = TRUE lists ITEST too */
	n2 = 16;
	rv = p11->C_GetSlotList(CK_TRUE, small, &n2);
	for (i = 0; rv == CKR_OK && i < n2; i++)
		if (have_itest && small[i] == itest_slot)
			break;
	if (!t11_ok(rv == CKR_OK && have_itest && i < n2,
		 "C_GetSlotList(tokenPresent) lists the ITEST slot"))
		t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)n2);

	if (have_itest) {
		memset(&si, 0, sizeof(si));
		rv = p11->C_GetSlotInfo(itest_slot, &si);
		t11_expect_rv(rv, CKR_OK, "C_GetSlotInfo of the ITEST slot -> CKR_OK");
		if (!t11_ok((si.flags & CKF_TOKEN_PRESENT) &&
				 utf8_padded_ok(si.slotDescription,
						sizeof(si.slotDescription)) &&
				 utf8_padded_ok(si.manufacturerID,
						sizeof(si.manufacturerID)),
			 "ITEST slot: CKF_TOKEN_PRESENT, description and "
			 "manufacturer blank-padded")) {
			t11_diag("flags 0x%lx", (unsigned long)si.flags);
			diag_field("slotDescription", si.slotDescription,
				   sizeof(si.slotDescription));
			diag_field("manufacturerID", si.manufacturerID,
				   sizeof(si.manufacturerID));
		}

		memset(&ti, 0, sizeof(ti));
		rv = p11->C_GetTokenInfo(itest_slot, &ti);
		t11_expect_rv(rv, CKR_OK, "C_GetTokenInfo of ITEST -> CKR_OK");
		{
			CK_FLAGS need = CKF_RNG | CKF_LOGIN_REQUIRED |
					CKF_USER_PIN_INITIALIZED |
					CKF_TOKEN_INITIALIZED;
			if (!t11_ok((ti.flags & need) == need,
				 "ITEST token flags include CKF_RNG, "
				 "CKF_LOGIN_REQUIRED, CKF_USER_PIN_INITIALIZED, "
				 "CKF_TOKEN_INITIALIZED"))
				t11_diag("flags 0x%lx, missing 0x%lx",
				     (unsigned long)ti.flags,
				     (unsigned long)(need & ~ti.flags));
		}
		if (!t11_ok(!(ti.flags & (CKF_USER_PIN_LOCKED | CKF_SO_PIN_LOCKED)),
			 "ITEST token flags: no PIN is locked"))
			t11_diag("flags 0x%lx", (unsigned long)ti.flags);
		if (!t11_ok(utf8_padded_ok(ti.serialNumber, sizeof(ti.serialNumber)) &&
				 !all_blank(ti.serialNumber, sizeof(ti.serialNumber)),
			 "ITEST serialNumber is set, blank-padded, no NUL"))
			diag_field("serialNumber", ti.serialNumber,
				   sizeof(ti.serialNumber));
		if (!t11_ok(utf8_padded_ok(ti.manufacturerID, sizeof(ti.manufacturerID)) &&
				 utf8_padded_ok(ti.model, sizeof(ti.model)),
			 "ITEST manufacturerID and model are blank-padded, no NUL")) {
			diag_field("manufacturerID", ti.manufacturerID,
				   sizeof(ti.manufacturerID));
			diag_field("model", ti.model, sizeof(ti.model));
		}
		if (!t11_ok(ti.ulMinPinLen >= 1 && ti.ulMinPinLen <= ti.ulMaxPinLen &&
				 strlen(user_pin) >= ti.ulMinPinLen &&
				 strlen(user_pin) <= ti.ulMaxPinLen,
			 "ITEST PIN length limits admit the test PIN"))
			t11_diag("ulMinPinLen %lu ulMaxPinLen %lu",
			     (unsigned long)ti.ulMinPinLen,
			     (unsigned long)ti.ulMaxPinLen);
	}

	t11_expect_rv(p11->C_GetSlotInfo(BOGUS_SLOT, &si), CKR_SLOT_ID_INVALID,
		  "C_GetSlotInfo of an invalid slot -> CKR_SLOT_ID_INVALID");
	t11_expect_rv(p11->C_GetTokenInfo(BOGUS_SLOT, &ti), CKR_SLOT_ID_INVALID,
		  "C_GetTokenInfo of an invalid slot -> CKR_SLOT_ID_INVALID");
	n2 = 0;
	t11_expect_rv(p11->C_GetMechanismList(BOGUS_SLOT, NULL, &n2),
		  CKR_SLOT_ID_INVALID,
		  "C_GetMechanismList of an invalid slot -> CKR_SLOT_ID_INVALID");
	{
		CK_SESSION_HANDLE s = CK_INVALID_HANDLE;

		t11_expect_rv(p11->C_OpenSession(BOGUS_SLOT, CKF_SERIAL_SESSION,
					     NULL, NULL, &s),
			  CKR_SLOT_ID_INVALID,
			  "C_OpenSession on an invalid slot -> CKR_SLOT_ID_INVALID");
	}
}

static void
test_mechanisms(void)
{
	static const struct {
		CK_MECHANISM_TYPE m;
		const char *name;
	} want[] = {
		{ CKM_ECDSA, "CKM_ECDSA" },
		{ CKM_ECDSA_SHA256, "CKM_ECDSA_SHA256" },
		{ CKM_ECDSA_SHA384, "CKM_ECDSA_SHA384" },
		{ CKM_RSA_PKCS, "CKM_RSA_PKCS" },
		{ CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS" },
		{ CKM_RSA_PKCS_PSS, "CKM_RSA_PKCS_PSS" },
	};
	CK_MECHANISM_TYPE list[128];
	CK_MECHANISM_INFO mi;
	CK_ULONG n = 0, n2, i, j;
	CK_RV rv;

	if (!have_itest)
		return;
	rv = p11->C_GetMechanismList(itest_slot, NULL, &n);
	if (!t11_ok(rv == CKR_OK && n >= 5 && n <= 128,
		 "C_GetMechanismList(NULL) gives the mechanism count"))
		t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)n);
	if (n > 128)
		n = 128;
	if (n >= 1) {
		n2 = n - 1;
		rv = p11->C_GetMechanismList(itest_slot, list, &n2);
		if (!t11_ok(rv == CKR_BUFFER_TOO_SMALL && n2 == n,
			 "C_GetMechanismList with a buffer one too small -> "
			 "CKR_BUFFER_TOO_SMALL and the needed count"))
			t11_diag("got %s, count %lu (needed %lu)", t11_rv_name(rv),
			     (unsigned long)n2, (unsigned long)n);
	}
	n2 = n;
	rv = p11->C_GetMechanismList(itest_slot, list, &n2);
	t11_expect_rv(rv, CKR_OK, "C_GetMechanismList fills the buffer");
	if (rv != CKR_OK)
		n2 = 0;
	for (j = 0; j < sizeof(want) / sizeof(want[0]); j++) {
		for (i = 0; i < n2; i++)
			if (list[i] == want[j].m)
				break;
		t11_ok(i < n2, "mechanism list contains %s", want[j].name);
	}

	memset(&mi, 0, sizeof(mi));
	rv = p11->C_GetMechanismInfo(itest_slot, CKM_ECDSA, &mi);
	if (!t11_ok(rv == CKR_OK && (mi.flags & CKF_SIGN) && mi.ulMinKeySize <= 256 &&
			 mi.ulMaxKeySize >= 384,
		 "C_GetMechanismInfo(CKM_ECDSA): CKF_SIGN, key sizes 256..384 bits"))
		t11_diag("got %s, flags 0x%lx, sizes %lu..%lu", t11_rv_name(rv),
		     (unsigned long)mi.flags, (unsigned long)mi.ulMinKeySize,
		     (unsigned long)mi.ulMaxKeySize);
	memset(&mi, 0, sizeof(mi));
	rv = p11->C_GetMechanismInfo(itest_slot, CKM_RSA_PKCS, &mi);
	if (!t11_ok(rv == CKR_OK && (mi.flags & CKF_SIGN) &&
			 mi.ulMinKeySize <= 2048 && mi.ulMaxKeySize >= 3072,
		 "C_GetMechanismInfo(CKM_RSA_PKCS): CKF_SIGN, key sizes 2048..3072 bits"))
		t11_diag("got %s, flags 0x%lx, sizes %lu..%lu", t11_rv_name(rv),
		     (unsigned long)mi.flags, (unsigned long)mi.ulMinKeySize,
		     (unsigned long)mi.ulMaxKeySize);
	t11_expect_rv(p11->C_GetMechanismInfo(itest_slot, CKM_MD5, &mi),
		  CKR_MECHANISM_INVALID,
		  "C_GetMechanismInfo(CKM_MD5) -> CKR_MECHANISM_INVALID");
}

/* --- sessions -------------------------------------------------------------- */

static CK_SESSION_HANDLE s_ro, s_rw;

static void
test_sessions(void)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_SESSION_INFO info;
	CK_RV rv;

	if (!have_itest)
		return;
	t11_expect_rv(p11->C_OpenSession(itest_slot, 0, NULL, NULL, &s),
		  CKR_SESSION_PARALLEL_NOT_SUPPORTED,
		  "C_OpenSession without CKF_SERIAL_SESSION -> "
		  "CKR_SESSION_PARALLEL_NOT_SUPPORTED");
	t11_expect_rv(p11->C_OpenSession(itest_slot, CKF_SERIAL_SESSION, NULL, NULL,
				     NULL),
		  CKR_ARGUMENTS_BAD,
		  "C_OpenSession with NULL phSession -> CKR_ARGUMENTS_BAD");
	t11_expect_rv(open_session(0, &s_ro), CKR_OK,
		  "C_OpenSession read-only on ITEST -> CKR_OK");
	t11_expect_rv(open_session(CKF_RW_SESSION, &s_rw), CKR_OK,
		  "C_OpenSession read-write on ITEST -> CKR_OK");
	t11_ok(s_ro != CK_INVALID_HANDLE && s_rw != CK_INVALID_HANDLE &&
		    s_ro != s_rw,
	    "session handles are valid and distinct");

	memset(&info, 0, sizeof(info));
	rv = p11->C_GetSessionInfo(s_ro, &info);
	if (!t11_ok(rv == CKR_OK && info.slotID == itest_slot &&
			 info.state == CKS_RO_PUBLIC_SESSION &&
			 (info.flags & CKF_SERIAL_SESSION) &&
			 !(info.flags & CKF_RW_SESSION),
		 "C_GetSessionInfo of the read-only session: slot, "
		 "CKS_RO_PUBLIC_SESSION, CKF_SERIAL_SESSION"))
		t11_diag("got %s, slot %lu, state %s, flags 0x%lx", t11_rv_name(rv),
		     (unsigned long)info.slotID, state_name(info.state),
		     (unsigned long)info.flags);
	memset(&info, 0, sizeof(info));
	rv = p11->C_GetSessionInfo(s_rw, &info);
	if (!t11_ok(rv == CKR_OK && info.state == CKS_RW_PUBLIC_SESSION &&
			 (info.flags & CKF_RW_SESSION),
		 "C_GetSessionInfo of the read-write session: "
		 "CKS_RW_PUBLIC_SESSION, CKF_RW_SESSION"))
		t11_diag("got %s, state %s, flags 0x%lx", t11_rv_name(rv),
		     state_name(info.state), (unsigned long)info.flags);

	t11_expect_rv(p11->C_GetSessionInfo(BOGUS_HANDLE, &info),
		  CKR_SESSION_HANDLE_INVALID,
		  "C_GetSessionInfo with a bogus session handle -> "
		  "CKR_SESSION_HANDLE_INVALID");
	t11_expect_rv(p11->C_GetSessionInfo(CK_INVALID_HANDLE, &info),
		  CKR_SESSION_HANDLE_INVALID,
		  "C_GetSessionInfo with session handle 0 -> "
		  "CKR_SESSION_HANDLE_INVALID");
	t11_expect_rv(p11->C_FindObjectsInit(BOGUS_HANDLE, NULL, 0),
		  CKR_SESSION_HANDLE_INVALID,
		  "C_FindObjectsInit with a bogus session handle -> "
		  "CKR_SESSION_HANDLE_INVALID");
	t11_expect_rv(login_user(BOGUS_HANDLE, user_pin), CKR_SESSION_HANDLE_INVALID,
		  "C_Login with a bogus session handle -> "
		  "CKR_SESSION_HANDLE_INVALID");
	{
		CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };

		t11_expect_rv(p11->C_SignInit(BOGUS_HANDLE, &m, 1),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_SignInit with a bogus session handle -> "
			  "CKR_SESSION_HANDLE_INVALID");
	}
	{
		CK_BYTE r[8];

		t11_expect_rv(p11->C_GenerateRandom(BOGUS_HANDLE, r, sizeof(r)),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_GenerateRandom with a bogus session handle -> "
			  "CKR_SESSION_HANDLE_INVALID");
	}
	t11_expect_rv(p11->C_CloseSession(BOGUS_HANDLE), CKR_SESSION_HANDLE_INVALID,
		  "C_CloseSession with a bogus session handle -> "
		  "CKR_SESSION_HANDLE_INVALID");
}

/* --- objects --------------------------------------------------------------- */

static void
test_find_protocol(void)
{
	CK_OBJECT_HANDLE h[4];
	CK_ULONG got = 0;
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };

	t11_expect_rv(p11->C_FindObjects(s_ro, h, 4, &got),
		  CKR_OPERATION_NOT_INITIALIZED,
		  "C_FindObjects without C_FindObjectsInit -> "
		  "CKR_OPERATION_NOT_INITIALIZED");
	t11_expect_rv(p11->C_FindObjectsFinal(s_ro), CKR_OPERATION_NOT_INITIALIZED,
		  "C_FindObjectsFinal without C_FindObjectsInit -> "
		  "CKR_OPERATION_NOT_INITIALIZED");
	t11_expect_rv(p11->C_FindObjectsInit(s_ro, &t, 1), CKR_OK,
		  "C_FindObjectsInit -> CKR_OK");
	t11_expect_rv(p11->C_FindObjectsInit(s_ro, &t, 1), CKR_OPERATION_ACTIVE,
		  "C_FindObjectsInit while a search is active -> "
		  "CKR_OPERATION_ACTIVE");
	p11->C_FindObjectsFinal(s_ro);
}

static void
test_public_keys(void)
{
	CK_ULONG count, len, len2;
	CK_RV rv;
	int k;

	rv = count_class(s_ro, CKO_PUBLIC_KEY, &count);
	if (!t11_ok(rv == CKR_OK && count == NKEYS,
		 "without login, C_FindObjects(CKO_PUBLIC_KEY) finds the 3 public keys"))
		t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)count);

	for (k = 0; k < NKEYS; k++) {
		struct key *key = &keys[k];
		unsigned char buf[1024], buf2[16];
		CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
		CK_BBOOL b;

		rv = find_key(s_ro, CKO_PUBLIC_KEY, key->label, &key->pub, &count);
		if (!t11_ok(rv == CKR_OK && count == 1,
			 "public key %s is found by CKA_LABEL without login",
			 key->label)) {
			t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)count);
			continue;
		}
		rv = get_attr(s_ro, key->pub, CKA_LABEL, buf, sizeof(buf), &len);
		if (!t11_ok(rv == CKR_OK && len == strlen(key->label) &&
				 memcmp(buf, key->label, len) == 0,
			 "public key %s: CKA_LABEL reads back", key->label))
			t11_diag("got %s, length %lu", t11_rv_name(rv), (unsigned long)len);
		rv = get_attr(s_ro, key->pub, CKA_ID, key->id, sizeof(key->id),
			      &key->id_len);
		if (!t11_ok(rv == CKR_OK && key->id_len > 0 &&
				 key->id_len <= sizeof(key->id),
			 "public key %s: CKA_ID is non-empty", key->label)) {
			t11_diag("got %s, length %lu", t11_rv_name(rv),
			     (unsigned long)key->id_len);
			key->id_len = 0;
		}
		if (!t11_ok(get_ulong(s_ro, key->pub, CKA_KEY_TYPE, &kt) &&
				 kt == key->type,
			 "public key %s: CKA_KEY_TYPE is %s", key->label,
			 key->type == CKK_EC ? "CKK_EC" : "CKK_RSA"))
			t11_diag("key type %lu", (unsigned long)kt);
		t11_ok(get_bool(s_ro, key->pub, CKA_TOKEN, &b, NULL) && b == CK_TRUE,
		    "public key %s: CKA_TOKEN is true", key->label);
		t11_ok(get_bool(s_ro, key->pub, CKA_PRIVATE, &b, NULL) && b == CK_FALSE,
		    "public key %s: CKA_PRIVATE is false", key->label);

		if (key->type == CKK_EC) {
			size_t plen = 1 + 2 * (key->bits / 8);

			rv = get_attr(s_ro, key->pub, CKA_EC_PARAMS, buf,
				      sizeof(buf), &len);
			if (!t11_ok(rv == CKR_OK && len == key->oid_len &&
					 memcmp(buf, key->oid, len) == 0,
				 "public key %s: CKA_EC_PARAMS is the DER "
				 "named-curve OID of %s", key->label, key->group))
				t11_diag("got %s, length %lu", t11_rv_name(rv),
				     (unsigned long)len);
			rv = get_attr(s_ro, key->pub, CKA_EC_POINT, buf,
				      sizeof(buf), &len);
			if (!t11_ok(rv == CKR_OK && len == plen + 2 && buf[0] == 0x04 &&
					 buf[1] == plen && buf[2] == 0x04,
				 "public key %s: CKA_EC_POINT is a DER OCTET "
				 "STRING of 04||X||Y, %zu bytes", key->label, plen)) {
				t11_diag("got %s, length %lu, first bytes %02x %02x %02x",
				     t11_rv_name(rv), (unsigned long)len, buf[0],
				     buf[1], buf[2]);
				continue;
			}
			key->pkey = ec_pkey(key->group, buf + 2, plen);
			if (!t11_ok(key->pkey != NULL,
				 "public key %s: CKA_EC_POINT is a point on %s",
				 key->label, key->group))
				diag_openssl();
		} else {
			rv = get_attr(s_ro, key->pub, CKA_MODULUS, buf, sizeof(buf),
				      &len);
			if (!t11_ok(rv == CKR_OK && len == key->bits / 8 &&
					 (buf[0] & 0x80),
				 "public key %s: CKA_MODULUS has %u bits",
				 key->label, key->bits)) {
				t11_diag("got %s, length %lu", t11_rv_name(rv),
				     (unsigned long)len);
				continue;
			}
			rv = get_attr(s_ro, key->pub, CKA_PUBLIC_EXPONENT, buf2,
				      sizeof(buf2), &len2);
			if (!t11_ok(rv == CKR_OK && len2 >= 1 && len2 <= 8 &&
					 (buf2[len2 - 1] & 1),
				 "public key %s: CKA_PUBLIC_EXPONENT is odd and "
				 "at most 8 bytes", key->label)) {
				t11_diag("got %s, length %lu", t11_rv_name(rv),
				     (unsigned long)len2);
				continue;
			}
			{
				CK_ULONG mbits = 0;

				if (!t11_ok(get_ulong(s_ro, key->pub, CKA_MODULUS_BITS,
						   &mbits) &&
						 mbits == key->bits,
					 "public key %s: CKA_MODULUS_BITS is %u",
					 key->label, key->bits))
					t11_diag("CKA_MODULUS_BITS %lu",
					     (unsigned long)mbits);
			}
			key->pkey = rsa_pkey(buf, len, buf2, len2);
			if (!t11_ok(key->pkey != NULL,
				 "public key %s: OpenSSL accepts modulus and "
				 "exponent", key->label))
				diag_openssl();
		}
	}
}

static void
test_attribute_protocol(void)
{
	struct key *ec = &keys[K_P256];
	unsigned char point[16], label[64];
	CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
	CK_ULONG len = 0;
	CK_RV rv;

	rv = get_attr(s_ro, ec->pub, CKA_EC_POINT, NULL, 0, &len);
	if (!t11_ok(rv == CKR_OK && len == 67,
		 "C_GetAttributeValue with NULL pValue gives the length "
		 "(CKA_EC_POINT of p256: 67)"))
		t11_diag("got %s, length %lu", t11_rv_name(rv), (unsigned long)len);

	{
		CK_ATTRIBUTE t[] = {
			{ CKA_EC_POINT, point, sizeof(point) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		};

		rv = p11->C_GetAttributeValue(s_ro, ec->pub, t, 2);
		t11_expect_rv(rv, CKR_BUFFER_TOO_SMALL,
			  "C_GetAttributeValue with a too-small buffer -> "
			  "CKR_BUFFER_TOO_SMALL");
		if (!t11_ok(t[0].ulValueLen == CK_UNAVAILABLE_INFORMATION,
			 "too-small attribute's ulValueLen is "
			 "CK_UNAVAILABLE_INFORMATION"))
			t11_diag("ulValueLen %lu", (unsigned long)t[0].ulValueLen);
		if (!t11_ok(t[1].ulValueLen == sizeof(kt) && kt == CKK_EC,
			 "another attribute in the same call is still filled "
			 "(too-small buffer)"))
			t11_diag("ulValueLen %lu, key type %lu",
			     (unsigned long)t[1].ulValueLen, (unsigned long)kt);
	}
	{
		CK_ATTRIBUTE t[] = {
			{ BOGUS_ATTRIBUTE, point, sizeof(point) },
			{ CKA_LABEL, label, sizeof(label) },
		};

		rv = p11->C_GetAttributeValue(s_ro, ec->pub, t, 2);
		t11_expect_rv(rv, CKR_ATTRIBUTE_TYPE_INVALID,
			  "C_GetAttributeValue of an unknown attribute -> "
			  "CKR_ATTRIBUTE_TYPE_INVALID");
		if (!t11_ok(t[0].ulValueLen == CK_UNAVAILABLE_INFORMATION,
			 "unknown attribute's ulValueLen is "
			 "CK_UNAVAILABLE_INFORMATION"))
			t11_diag("ulValueLen %lu", (unsigned long)t[0].ulValueLen);
		if (!t11_ok(t[1].ulValueLen == 4 && memcmp(label, "p256", 4) == 0,
			 "another attribute in the same call is still filled "
			 "(unknown attribute)"))
			t11_diag("ulValueLen %lu", (unsigned long)t[1].ulValueLen);
	}
	{
		CK_ATTRIBUTE t = { CKA_LABEL, label, sizeof(label) };

		t11_expect_rv(p11->C_GetAttributeValue(s_ro, BOGUS_HANDLE, &t, 1),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_GetAttributeValue of a bogus object handle -> "
			  "CKR_OBJECT_HANDLE_INVALID");
		t11_expect_rv(p11->C_GetAttributeValue(s_ro, CK_INVALID_HANDLE, &t, 1),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_GetAttributeValue of object handle 0 -> "
			  "CKR_OBJECT_HANDLE_INVALID");
		t11_expect_rv(p11->C_GetAttributeValue(BOGUS_HANDLE, ec->pub, &t, 1),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_GetAttributeValue with a bogus session handle -> "
			  "CKR_SESSION_HANDLE_INVALID");
	}
	{
		CK_ULONG size = 0;

		rv = p11->C_GetObjectSize(s_ro, ec->pub, &size);
		if (!t11_ok(rv == CKR_OK && size > 0,
			 "C_GetObjectSize of a public key -> CKR_OK, non-zero"))
			t11_diag("got %s, size %lu", t11_rv_name(rv), (unsigned long)size);
		t11_expect_rv(p11->C_GetObjectSize(s_ro, BOGUS_HANDLE, &size),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_GetObjectSize of a bogus object handle -> "
			  "CKR_OBJECT_HANDLE_INVALID");
	}
}

/* --- login, private keys ----------------------------------------------------- */

static void
find_private_keys(CK_SESSION_HANDLE s, bool report)
{
	CK_ULONG count;
	CK_RV rv;
	int k;

	for (k = 0; k < NKEYS; k++) {
		rv = find_key(s, CKO_PRIVATE_KEY, keys[k].label, &keys[k].priv,
			      &count);
		if (report && !t11_ok(rv == CKR_OK && count == 1,
				   "after login, private key %s is found by "
				   "CKA_LABEL", keys[k].label))
			t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)count);
	}
}

static void
test_login(void)
{
	CK_ULONG count = 99;
	CK_RV rv;
	CK_OBJECT_HANDLE any[32];
	CK_ULONG i, nany = 0;
	size_t plen = strlen(user_pin);
	char *wrong;

	rv = count_class(s_ro, CKO_PRIVATE_KEY, &count);
	if (!t11_ok(rv == CKR_OK && count == 0,
		 "without login, C_FindObjects(CKO_PRIVATE_KEY) finds nothing"))
		t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)count);
	rv = find_objects(s_ro, NULL, 0, any, 32, &nany);
	{
		bool priv_seen = false;

		for (i = 0; rv == CKR_OK && i < nany && i < 32; i++) {
			CK_ULONG cls = 0;

			if (get_ulong(s_ro, any[i], CKA_CLASS, &cls) &&
			    cls == CKO_PRIVATE_KEY)
				priv_seen = true;
		}
		if (!t11_ok(rv == CKR_OK && nany >= NKEYS && !priv_seen,
			 "without login, an empty template finds the public "
			 "keys and no private key"))
			t11_diag("got %s, count %lu, private key seen: %d",
			     t11_rv_name(rv), (unsigned long)nany, priv_seen);
	}

	wrong = malloc(plen + 2);
	if (wrong == NULL)
		abort();
	memcpy(wrong, user_pin, plen);
	wrong[plen] = plen > 0 && user_pin[plen - 1] == 'x' ? 'y' : 'x';
	wrong[plen + 1] = '\0';
	t11_expect_rv(login_user(s_rw, wrong), CKR_PIN_INCORRECT,
		  "C_Login with a wrong user PIN -> CKR_PIN_INCORRECT");
	expect_state(s_rw, CKS_RW_PUBLIC_SESSION,
		     "after a wrong PIN the session is still CKS_RW_PUBLIC_SESSION");
	free(wrong);
	t11_expect_rv(p11->C_Login(s_rw, 42, (CK_UTF8CHAR *)user_pin, plen),
		  CKR_USER_TYPE_INVALID,
		  "C_Login with user type 42 -> CKR_USER_TYPE_INVALID");

	/* Log in once to learn the private key handles, then log out: a
	 * private key handle must be useless without login. */
	rv = login_user(s_rw, user_pin);
	t11_expect_rv(rv, CKR_OK, "C_Login with the right user PIN -> CKR_OK");
	t11_expect_rv(login_user(s_rw, user_pin), CKR_USER_ALREADY_LOGGED_IN,
		  "C_Login again -> CKR_USER_ALREADY_LOGGED_IN");
	t11_expect_rv(login_user(s_ro, user_pin), CKR_USER_ALREADY_LOGGED_IN,
		  "C_Login again from another session -> "
		  "CKR_USER_ALREADY_LOGGED_IN");
	find_private_keys(s_rw, true);
	t11_expect_rv(p11->C_Logout(s_rw), CKR_OK, "C_Logout -> CKR_OK");
	{
		static const CK_RV invisible[] = { CKR_USER_NOT_LOGGED_IN,
						   CKR_KEY_HANDLE_INVALID,
						   CKR_OBJECT_HANDLE_INVALID };
		static const CK_RV hidden[] = { CKR_OBJECT_HANDLE_INVALID,
						CKR_USER_NOT_LOGGED_IN };
		CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
		CK_ATTRIBUTE t;
		CK_BYTE lab[32];

		t11_expect_rv_in(p11->C_SignInit(s_rw, &m, keys[K_P256].priv),
			     invisible, 3,
			     "C_SignInit with a private key before login is refused");
		t.type = CKA_LABEL;
		t.pValue = lab;
		t.ulValueLen = sizeof(lab);
		t11_expect_rv_in(p11->C_GetAttributeValue(s_rw, keys[K_P256].priv,
						      &t, 1),
			     hidden, 2,
			     "C_GetAttributeValue of a private key before login "
			     "is refused");
	}

	rv = login_user(s_rw, user_pin);
	t11_expect_rv(rv, CKR_OK, "C_Login after C_Logout -> CKR_OK");
	expect_state(s_rw, CKS_RW_USER_FUNCTIONS,
		     "after login the read-write session is CKS_RW_USER_FUNCTIONS");
	expect_state(s_ro, CKS_RO_USER_FUNCTIONS,
		     "after login the read-only session is CKS_RO_USER_FUNCTIONS");
	{
		CK_SESSION_HANDLE s2;

		rv = open_session(CKF_RW_SESSION, &s2);
		t11_expect_rv(rv, CKR_OK, "a second read-write session opens after login");
		expect_state(s2, CKS_RW_USER_FUNCTIONS,
			     "a session opened after login is CKS_RW_USER_FUNCTIONS");
		find_private_keys(s2, false);
		t11_expect_rv(p11->C_CloseSession(s2), CKR_OK, "C_CloseSession -> CKR_OK");
		t11_expect_rv(p11->C_GetSessionInfo(s2, &(CK_SESSION_INFO){ 0 }),
			  CKR_SESSION_HANDLE_INVALID,
			  "a closed session's handle -> CKR_SESSION_HANDLE_INVALID");
		expect_state(s_rw, CKS_RW_USER_FUNCTIONS,
			     "closing one session keeps the others logged in");
	}
	find_private_keys(s_rw, false);
	rv = count_class(s_rw, CKO_PRIVATE_KEY, &count);
	if (!t11_ok(rv == CKR_OK && count == NKEYS,
		 "after login, C_FindObjects(CKO_PRIVATE_KEY) finds the 3 "
		 "private keys"))
		t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)count);
}

static void
test_private_keys(void)
{
	int k;
	CK_RV rv;

	for (k = 0; k < NKEYS; k++) {
		struct key *key = &keys[k];
		unsigned char id[256], buf[1024], pubbuf[1024];
		CK_ULONG len = 0, publen = 0;
		CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
		static const struct {
			CK_ATTRIBUTE_TYPE type;
			const char *name;
			CK_BBOOL want;
		} bools[] = {
			{ CKA_SENSITIVE, "CKA_SENSITIVE", CK_TRUE },
			{ CKA_EXTRACTABLE, "CKA_EXTRACTABLE", CK_FALSE },
			{ CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", CK_TRUE },
			{ CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", CK_TRUE },
			{ CKA_SIGN, "CKA_SIGN", CK_TRUE },
			{ CKA_PRIVATE, "CKA_PRIVATE", CK_TRUE },
			{ CKA_TOKEN, "CKA_TOKEN", CK_TRUE },
		};
		size_t i;

		rv = get_attr(s_rw, key->priv, CKA_ID, id, sizeof(id), &len);
		if (!t11_ok(rv == CKR_OK && len == key->id_len && len > 0 &&
				 memcmp(id, key->id, len) == 0,
			 "key %s: CKA_ID of the private key equals the public key's",
			 key->label))
			t11_diag("got %s, length %lu (public %lu)", t11_rv_name(rv),
			     (unsigned long)len, (unsigned long)key->id_len);
		if (!t11_ok(get_ulong(s_rw, key->priv, CKA_KEY_TYPE, &kt) &&
				 kt == key->type,
			 "private key %s: CKA_KEY_TYPE matches", key->label))
			t11_diag("key type %lu", (unsigned long)kt);
		for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
			CK_BBOOL b = 0x55;
			CK_RV brv = CKR_OK;

			if (!t11_ok(get_bool(s_rw, key->priv, bools[i].type, &b, &brv) &&
					 b == bools[i].want,
				 "private key %s: %s is %s", key->label,
				 bools[i].name, bools[i].want ? "true" : "false"))
				t11_diag("got %s, value %u", t11_rv_name(brv), b);
		}

		if (key->type == CKK_EC) {
			CK_ATTRIBUTE t[] = {
				{ CKA_VALUE, buf, sizeof(buf) },
				{ CKA_LABEL, id, sizeof(id) },
			};

			rv = p11->C_GetAttributeValue(s_rw, key->priv, t, 2);
			t11_expect_rv(rv, CKR_ATTRIBUTE_SENSITIVE,
				  "private key %s: CKA_VALUE -> "
				  "CKR_ATTRIBUTE_SENSITIVE", key->label);
			if (!t11_ok(t[0].ulValueLen == CK_UNAVAILABLE_INFORMATION &&
					 t[1].ulValueLen == strlen(key->label),
				 "private key %s: sensitive CKA_VALUE is "
				 "CK_UNAVAILABLE_INFORMATION, CKA_LABEL still "
				 "filled", key->label))
				t11_diag("ulValueLen %lu / %lu",
				     (unsigned long)t[0].ulValueLen,
				     (unsigned long)t[1].ulValueLen);
			rv = get_attr(s_rw, key->priv, CKA_EC_PARAMS, buf,
				      sizeof(buf), &len);
			if (!t11_ok(rv == CKR_OK && len == key->oid_len &&
					 memcmp(buf, key->oid, len) == 0,
				 "private key %s: CKA_EC_PARAMS is the curve OID",
				 key->label))
				t11_diag("got %s, length %lu", t11_rv_name(rv),
				     (unsigned long)len);
		} else {
			CK_ATTRIBUTE t[] = {
				{ CKA_PRIVATE_EXPONENT, buf, sizeof(buf) },
				{ CKA_MODULUS, id, sizeof(id) },
			};

			rv = p11->C_GetAttributeValue(s_rw, key->priv, t, 2);
			t11_expect_rv(rv, CKR_ATTRIBUTE_SENSITIVE,
				  "private key %s: CKA_PRIVATE_EXPONENT -> "
				  "CKR_ATTRIBUTE_SENSITIVE", key->label);
			rv = get_attr(s_ro, key->pub, CKA_MODULUS, pubbuf,
				      sizeof(pubbuf), &publen);
			if (!t11_ok(t[0].ulValueLen == CK_UNAVAILABLE_INFORMATION &&
					 t[1].ulValueLen == publen &&
					 memcmp(id, pubbuf, publen) == 0,
				 "private key %s: CKA_PRIVATE_EXPONENT is "
				 "CK_UNAVAILABLE_INFORMATION, CKA_MODULUS filled "
				 "and equal to the public key's", key->label))
				t11_diag("ulValueLen %lu / %lu (public modulus %lu)",
				     (unsigned long)t[0].ulValueLen,
				     (unsigned long)t[1].ulValueLen,
				     (unsigned long)publen);
			rv = get_attr(s_rw, key->priv, CKA_PRIME_1, buf,
				      sizeof(buf), &len);
			t11_expect_rv(rv, CKR_ATTRIBUTE_SENSITIVE,
				  "private key %s: CKA_PRIME_1 -> "
				  "CKR_ATTRIBUTE_SENSITIVE", key->label);
		}
	}
	{
		CK_BBOOL f = CK_FALSE;
		CK_ATTRIBUTE t = { CKA_SENSITIVE, &f, sizeof(f) };
		static const CK_RV refused[] = { CKR_ATTRIBUTE_READ_ONLY,
						 CKR_ACTION_PROHIBITED };

		t11_expect_rv_in(p11->C_SetAttributeValue(s_rw, keys[K_P256].priv,
						      &t, 1),
			     refused, 2,
			     "C_SetAttributeValue CKA_SENSITIVE=false on a "
			     "private key is refused");
	}
}

/* --- signing ----------------------------------------------------------------- */

static const unsigned char digest_info_sha256[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};

/* CKM_ECDSA over a digest, with the size protocol checked step by step. */
static void
test_ecdsa_raw(struct key *key, const EVP_MD *md)
{
	unsigned char dgst[64], sig[256];
	unsigned dlen = 0;
	CK_ULONG want = 2 * (key->bits / 8), siglen;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_RV rv;
	const char *mdname = EVP_MD_get0_name(md);

	digest(md, message, sizeof(message) - 1, dgst, &dlen);
	rv = p11->C_SignInit(s_rw, &m, key->priv);
	t11_expect_rv(rv, CKR_OK, "CKM_ECDSA %s: C_SignInit -> CKR_OK", key->label);
	t11_expect_rv(p11->C_SignInit(s_rw, &m, key->priv), CKR_OPERATION_ACTIVE,
		  "CKM_ECDSA %s: C_SignInit while signing -> CKR_OPERATION_ACTIVE",
		  key->label);
	siglen = 0;
	rv = p11->C_Sign(s_rw, dgst, dlen, NULL, &siglen);
	if (!t11_ok(rv == CKR_OK && siglen == want,
		 "CKM_ECDSA %s: C_Sign with NULL buffer gives length %lu",
		 key->label, (unsigned long)want))
		t11_diag("got %s, length %lu", t11_rv_name(rv), (unsigned long)siglen);
	siglen = want - 1;
	rv = p11->C_Sign(s_rw, dgst, dlen, sig, &siglen);
	if (!t11_ok(rv == CKR_BUFFER_TOO_SMALL && siglen == want,
		 "CKM_ECDSA %s: C_Sign with a too-small buffer -> "
		 "CKR_BUFFER_TOO_SMALL and length %lu", key->label,
		 (unsigned long)want))
		t11_diag("got %s, length %lu", t11_rv_name(rv), (unsigned long)siglen);
	siglen = sizeof(sig);
	rv = p11->C_Sign(s_rw, dgst, dlen, sig, &siglen);
	if (!t11_ok(rv == CKR_OK && siglen == want,
		 "CKM_ECDSA %s: operation stays active; C_Sign returns %lu bytes",
		 key->label, (unsigned long)want))
		t11_diag("got %s, length %lu", t11_rv_name(rv), (unsigned long)siglen);
	t11_ok(rv == CKR_OK && ecdsa_verify(key->pkey, dgst, dlen, sig, siglen),
	    "CKM_ECDSA %s: r||s over a %s digest verifies with OpenSSL",
	    key->label, mdname);
	siglen = sizeof(sig);
	t11_expect_rv(p11->C_Sign(s_rw, dgst, dlen, sig, &siglen),
		  CKR_OPERATION_NOT_INITIALIZED,
		  "CKM_ECDSA %s: after the signature, C_Sign -> "
		  "CKR_OPERATION_NOT_INITIALIZED", key->label);
}

static void
test_ecdsa_hash(struct key *key, CK_MECHANISM_TYPE mech, const char *mname,
		const EVP_MD *md)
{
	unsigned char dgst[64], sig[256];
	unsigned dlen = 0;
	CK_ULONG want = 2 * (key->bits / 8), siglen = sizeof(sig);
	CK_MECHANISM m = { mech, NULL, 0 };
	CK_RV rv;

	digest(md, message, sizeof(message) - 1, dgst, &dlen);
	rv = sign_once(s_rw, &m, key->priv, message, sizeof(message) - 1, sig,
		       &siglen);
	if (!t11_ok(rv == CKR_OK && siglen == want &&
			 ecdsa_verify(key->pkey, dgst, dlen, sig, siglen),
		 "%s %s: signature over a message verifies with OpenSSL", mname,
		 key->label))
		t11_diag("got %s, length %lu", t11_rv_name(rv), (unsigned long)siglen);

	/* multi-part */
	rv = p11->C_SignInit(s_rw, &m, key->priv);
	if (rv == CKR_OK)
		rv = p11->C_SignUpdate(s_rw, (CK_BYTE *)message, 10);
	if (rv == CKR_OK)
		rv = p11->C_SignUpdate(s_rw, (CK_BYTE *)message + 10, 0);
	if (rv == CKR_OK)
		rv = p11->C_SignUpdate(s_rw, (CK_BYTE *)message + 10,
				       sizeof(message) - 1 - 10);
	siglen = 0;
	if (rv == CKR_OK)
		rv = p11->C_SignFinal(s_rw, NULL, &siglen);
	if (!t11_ok(rv == CKR_OK && siglen == want,
		 "%s %s: C_SignFinal with NULL buffer gives length %lu", mname,
		 key->label, (unsigned long)want))
		t11_diag("got %s, length %lu", t11_rv_name(rv), (unsigned long)siglen);
	siglen = sizeof(sig);
	rv = p11->C_SignFinal(s_rw, sig, &siglen);
	if (!t11_ok(rv == CKR_OK && siglen == want &&
			 ecdsa_verify(key->pkey, dgst, dlen, sig, siglen),
		 "%s %s: C_SignUpdate/C_SignFinal signature verifies with OpenSSL",
		 mname, key->label))
		t11_diag("got %s, length %lu", t11_rv_name(rv), (unsigned long)siglen);
}

static void
test_rsa(void)
{
	struct key *key = &keys[K_RSA];
	unsigned char dgst[32], di[sizeof(digest_info_sha256) + 32], sig[512];
	unsigned dlen = 0;
	CK_ULONG want = key->bits / 8, siglen;
	CK_RV rv;

	digest(EVP_sha256(), message, sizeof(message) - 1, dgst, &dlen);
	memcpy(di, digest_info_sha256, sizeof(digest_info_sha256));
	memcpy(di + sizeof(digest_info_sha256), dgst, 32);

	{
		CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };

		rv = p11->C_SignInit(s_rw, &m, key->priv);
		t11_expect_rv(rv, CKR_OK, "CKM_RSA_PKCS rsa2048: C_SignInit -> CKR_OK");
		siglen = 0;
		rv = p11->C_Sign(s_rw, di, sizeof(di), NULL, &siglen);
		if (!t11_ok(rv == CKR_OK && siglen == want,
			 "CKM_RSA_PKCS rsa2048: C_Sign with NULL buffer gives "
			 "length %lu", (unsigned long)want))
			t11_diag("got %s, length %lu", t11_rv_name(rv),
			     (unsigned long)siglen);
		siglen = 16;
		rv = p11->C_Sign(s_rw, di, sizeof(di), sig, &siglen);
		if (!t11_ok(rv == CKR_BUFFER_TOO_SMALL && siglen == want,
			 "CKM_RSA_PKCS rsa2048: C_Sign with a too-small buffer "
			 "-> CKR_BUFFER_TOO_SMALL and length %lu",
			 (unsigned long)want))
			t11_diag("got %s, length %lu", t11_rv_name(rv),
			     (unsigned long)siglen);
		siglen = sizeof(sig);
		rv = p11->C_Sign(s_rw, di, sizeof(di), sig, &siglen);
		if (!t11_ok(rv == CKR_OK && siglen == want &&
				 rsa_pkcs1_opens_to(key->pkey, sig, siglen, di,
						    sizeof(di)),
			 "CKM_RSA_PKCS rsa2048: signature over a caller-built "
			 "DigestInfo(SHA-256) verifies with OpenSSL"))
			t11_diag("got %s, length %lu", t11_rv_name(rv),
			     (unsigned long)siglen);
		t11_ok(rv == CKR_OK && rsa_verify(key->pkey, EVP_sha256(), dgst,
					       dlen, sig, siglen, -1),
		    "CKM_RSA_PKCS rsa2048: OpenSSL verifies it as a SHA-256 "
		    "PKCS#1 v1.5 signature");

		/* the data must fit in k - 11 bytes */
		{
			unsigned char big[256];

			memset(big, 0x5a, sizeof(big));
			siglen = sizeof(sig);
			rv = sign_once(s_rw, &m, key->priv, big, want - 10, sig,
				       &siglen);
			t11_expect_rv(rv, CKR_DATA_LEN_RANGE,
				  "CKM_RSA_PKCS rsa2048: data longer than k-11 "
				  "bytes -> CKR_DATA_LEN_RANGE");
			/* an error other than BUFFER_TOO_SMALL ends the
			 * operation; make sure, for the next test */
			siglen = sizeof(sig);
			if (p11->C_Sign(s_rw, big, 32, sig, &siglen) !=
			    CKR_OPERATION_NOT_INITIALIZED)
				t11_diag("operation still active after "
				     "CKR_DATA_LEN_RANGE");
		}
	}
	{
		CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };

		siglen = sizeof(sig);
		rv = sign_once(s_rw, &m, key->priv, message, sizeof(message) - 1,
			       sig, &siglen);
		if (!t11_ok(rv == CKR_OK && siglen == want &&
				 rsa_verify(key->pkey, EVP_sha256(), dgst, dlen,
					    sig, siglen, -1),
			 "CKM_SHA256_RSA_PKCS rsa2048: signature over a message "
			 "verifies with OpenSSL"))
			t11_diag("got %s, length %lu", t11_rv_name(rv),
			     (unsigned long)siglen);

		rv = p11->C_SignInit(s_rw, &m, key->priv);
		if (rv == CKR_OK)
			rv = p11->C_SignUpdate(s_rw, (CK_BYTE *)message, 7);
		if (rv == CKR_OK)
			rv = p11->C_SignUpdate(s_rw, (CK_BYTE *)message + 7, 20);
		if (rv == CKR_OK)
			rv = p11->C_SignUpdate(s_rw, (CK_BYTE *)message + 27,
					       sizeof(message) - 1 - 27);
		siglen = 0;
		if (rv == CKR_OK)
			rv = p11->C_SignFinal(s_rw, NULL, &siglen);
		if (!t11_ok(rv == CKR_OK && siglen == want,
			 "CKM_SHA256_RSA_PKCS rsa2048: C_SignFinal with NULL "
			 "buffer gives length %lu", (unsigned long)want))
			t11_diag("got %s, length %lu", t11_rv_name(rv),
			     (unsigned long)siglen);
		siglen = 8;
		rv = p11->C_SignFinal(s_rw, sig, &siglen);
		if (!t11_ok(rv == CKR_BUFFER_TOO_SMALL && siglen == want,
			 "CKM_SHA256_RSA_PKCS rsa2048: C_SignFinal with a "
			 "too-small buffer -> CKR_BUFFER_TOO_SMALL"))
			t11_diag("got %s, length %lu", t11_rv_name(rv),
			     (unsigned long)siglen);
		siglen = sizeof(sig);
		rv = p11->C_SignFinal(s_rw, sig, &siglen);
		if (!t11_ok(rv == CKR_OK && siglen == want &&
				 rsa_verify(key->pkey, EVP_sha256(), dgst, dlen,
					    sig, siglen, -1),
			 "CKM_SHA256_RSA_PKCS rsa2048: C_SignUpdate/C_SignFinal "
			 "signature verifies with OpenSSL"))
			t11_diag("got %s, length %lu", t11_rv_name(rv),
			     (unsigned long)siglen);
	}
	{
		CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
		CK_MECHANISM m = { CKM_RSA_PKCS_PSS, &pss, sizeof(pss) };
		CK_MECHANISM bad = { CKM_RSA_PKCS_PSS, NULL, 0 };

		siglen = sizeof(sig);
		rv = sign_once(s_rw, &m, key->priv, dgst, dlen, sig, &siglen);
		if (!t11_ok(rv == CKR_OK && siglen == want &&
				 rsa_verify(key->pkey, EVP_sha256(), dgst, dlen,
					    sig, siglen, 32),
			 "CKM_RSA_PKCS_PSS rsa2048 {SHA-256, MGF1-SHA-256, salt "
			 "32}: signature over a digest verifies with OpenSSL"))
			t11_diag("got %s, length %lu", t11_rv_name(rv),
			     (unsigned long)siglen);
		t11_expect_rv(p11->C_SignInit(s_rw, &bad, key->priv),
			  CKR_MECHANISM_PARAM_INVALID,
			  "CKM_RSA_PKCS_PSS without parameters -> "
			  "CKR_MECHANISM_PARAM_INVALID");
	}
}

static void
test_sign_negative(void)
{
	CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 };
	CK_MECHANISM rsa = { CKM_RSA_PKCS, NULL, 0 };
	CK_MECHANISM md5 = { CKM_MD5, NULL, 0 };
	unsigned char sig[512];
	CK_ULONG siglen = sizeof(sig);
	static const CK_RV pubkey_refused[] = { CKR_KEY_FUNCTION_NOT_PERMITTED,
						CKR_KEY_TYPE_INCONSISTENT };

	t11_expect_rv(p11->C_Sign(s_rw, (CK_BYTE *)message, 32, sig, &siglen),
		  CKR_OPERATION_NOT_INITIALIZED,
		  "C_Sign without C_SignInit -> CKR_OPERATION_NOT_INITIALIZED");
	t11_expect_rv(p11->C_SignInit(s_rw, &ecdsa, BOGUS_HANDLE),
		  CKR_KEY_HANDLE_INVALID,
		  "C_SignInit with a bogus key handle -> CKR_KEY_HANDLE_INVALID");
	t11_expect_rv(p11->C_SignInit(s_rw, &ecdsa, keys[K_RSA].priv),
		  CKR_KEY_TYPE_INCONSISTENT,
		  "C_SignInit CKM_ECDSA with an RSA key -> "
		  "CKR_KEY_TYPE_INCONSISTENT");
	t11_expect_rv(p11->C_SignInit(s_rw, &rsa, keys[K_P256].priv),
		  CKR_KEY_TYPE_INCONSISTENT,
		  "C_SignInit CKM_RSA_PKCS with an EC key -> "
		  "CKR_KEY_TYPE_INCONSISTENT");
	t11_expect_rv(p11->C_SignInit(s_rw, &md5, keys[K_RSA].priv),
		  CKR_MECHANISM_INVALID,
		  "C_SignInit with CKM_MD5 -> CKR_MECHANISM_INVALID");
	t11_expect_rv_in(p11->C_SignInit(s_rw, &ecdsa, keys[K_P256].pub),
		     pubkey_refused, 2,
		     "C_SignInit with a public key is refused");
	t11_expect_rv(p11->C_SignInit(s_rw, NULL, keys[K_P256].priv),
		  CKR_ARGUMENTS_BAD,
		  "C_SignInit with NULL mechanism -> CKR_ARGUMENTS_BAD");
	/* nothing above may have left an operation active */
	t11_expect_rv(p11->C_SignInit(s_rw, &ecdsa, keys[K_P256].priv), CKR_OK,
		  "after refused C_SignInit calls, C_SignInit succeeds");
	siglen = sizeof(sig);
	p11->C_Sign(s_rw, (CK_BYTE *)message, 32, sig, &siglen);
}

/* An HMAC mechanism has no parameters: C_SignInit and C_VerifyInit both
 * refuse some (PKCS#11 v2.40 5.1.6), and leave no operation active. */
static void
test_hmac_params(void)
{
	CK_MECHANISM gen = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
	CK_BYTE junk[4] = { 1, 2, 3, 4 };
	CK_MECHANISM bad = { CKM_SHA256_HMAC, junk, sizeof(junk) };
	CK_MECHANISM good = { CKM_SHA256_HMAC, NULL, 0 };
	CK_ULONG len = 32;
	CK_ATTRIBUTE t[] = { { CKA_VALUE_LEN, &len, sizeof(len) } };
	CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;
	unsigned char mac[32];

	if (!t11_expect_rv(p11->C_GenerateKey(s_rw, &gen, t, 1, &k), CKR_OK,
			   "C_GenerateKey of a 32-byte HMAC session key"))
		return;
	t11_expect_rv(p11->C_SignInit(s_rw, &bad, k), CKR_MECHANISM_PARAM_INVALID,
		      "C_SignInit CKM_SHA256_HMAC with parameters -> "
		      "CKR_MECHANISM_PARAM_INVALID");
	t11_expect_rv(p11->C_VerifyInit(s_rw, &bad, k), CKR_MECHANISM_PARAM_INVALID,
		      "C_VerifyInit CKM_SHA256_HMAC with parameters -> "
		      "CKR_MECHANISM_PARAM_INVALID");
	t11_expect_rv(p11->C_VerifyInit(s_rw, &good, k), CKR_OK,
		      "after them, C_VerifyInit CKM_SHA256_HMAC succeeds");
	memset(mac, 0, sizeof(mac));
	t11_expect_rv(p11->C_Verify(s_rw, (CK_BYTE *)message, 32, mac, sizeof(mac)),
		      CKR_SIGNATURE_INVALID,
		      "C_Verify of a wrong HMAC -> CKR_SIGNATURE_INVALID");
	p11->C_DestroyObject(s_rw, k);
}

/* --- fork ------------------------------------------------------------------- */

static void
test_fork(void)
{
	int fds[2];
	pid_t pid;
	CK_RV r[3] = { (CK_RV)-1, (CK_RV)-1, (CK_RV)-1 };
	CK_ULONG n = 0;
	int status = 0;
	ssize_t got;

	if (pipe(fds) != 0) {
		t11_ok(false, "fork test: pipe");
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		CK_C_INITIALIZE_ARGS args;

		close(fds[0]);
		alarm(60);
		n = 0;
		r[0] = p11->C_GetSlotList(CK_FALSE, NULL, &n);
		memset(&args, 0, sizeof(args));
		args.flags = CKF_OS_LOCKING_OK;
		r[1] = p11->C_Initialize(&args);
		n = 0;
		r[2] = p11->C_GetSlotList(CK_FALSE, NULL, &n);
		if (r[2] == CKR_OK && n < 2)
			r[2] = CKR_GENERAL_ERROR;
		if (write(fds[1], r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(3);
		p11->C_Finalize(NULL);
		_exit(0);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		t11_ok(false, "fork succeeds");
		return;
	}
	got = read(fds[0], r, sizeof(r));
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got != (ssize_t)sizeof(r)) {
		t11_ok(false, "forked child: calls before C_Initialize -> "
			   "CKR_CRYPTOKI_NOT_INITIALIZED");
		t11_ok(false, "forked child: C_Initialize and C_GetSlotList work");
		if (WIFSIGNALED(status))
			t11_diag("child killed by signal %d%s", WTERMSIG(status),
			     WTERMSIG(status) == SIGALRM ? " (hung for 60 s)" : "");
		else
			t11_diag("child exited with %d", WEXITSTATUS(status));
	} else {
		t11_expect_rv(r[0], CKR_CRYPTOKI_NOT_INITIALIZED,
			  "forked child: calls before C_Initialize -> "
			  "CKR_CRYPTOKI_NOT_INITIALIZED");
		if (!t11_ok(r[1] == CKR_OK && r[2] == CKR_OK,
			 "forked child: C_Initialize and C_GetSlotList work"))
			t11_diag("C_Initialize %s, C_GetSlotList %s", t11_rv_name(r[1]),
			     t11_rv_name(r[2]));
		if (!t11_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			 "forked child: C_Finalize returns and the child exits "
			 "cleanly"))
			t11_diag("status 0x%x", status);
	}
	{
		unsigned char dgst[32], sig[128];
		unsigned dlen = 0;
		CK_ULONG siglen = sizeof(sig);
		CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
		CK_RV rv;

		digest(EVP_sha256(), "after fork", 10, dgst, &dlen);
		rv = sign_once(s_rw, &m, keys[K_P256].priv, dgst, dlen, sig,
			       &siglen);
		if (!t11_ok(rv == CKR_OK &&
				 ecdsa_verify(keys[K_P256].pkey, dgst, dlen, sig,
					      siglen),
			 "after a child re-initialised, the parent still signs"))
			t11_diag("got %s", t11_rv_name(rv));
	}
}

/* --- threads ---------------------------------------------------------------- */

#define NTHREADS 4
#define NSIGNS 3

struct thread_result {
	CK_RV rv;
	int verified;
	int index;
};

static void *
sign_thread(void *arg)
{
	struct thread_result *res = arg;
	struct key *key = &keys[res->index % 2 == 0 ? K_P256 : K_P384];
	const EVP_MD *md = key->bits == 256 ? EVP_sha256() : EVP_sha384();
	CK_SESSION_HANDLE s;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	int i;

	res->rv = open_session(0, &s);
	if (res->rv != CKR_OK)
		return NULL;
	for (i = 0; i < NSIGNS; i++) {
		unsigned char msg[32], dgst[64], sig[128];
		unsigned dlen = 0;
		CK_ULONG siglen = sizeof(sig);

		RAND_bytes(msg, sizeof(msg));
		digest(md, msg, sizeof(msg), dgst, &dlen);
		res->rv = sign_once(s, &m, key->priv, dgst, dlen, sig, &siglen);
		if (res->rv != CKR_OK)
			break;
		if (ecdsa_verify(key->pkey, dgst, dlen, sig, siglen))
			res->verified++;
	}
	if (res->rv == CKR_OK)
		res->rv = p11->C_CloseSession(s);
	else
		p11->C_CloseSession(s);
	return NULL;
}

static void
test_threads(void)
{
	pthread_t th[NTHREADS];
	struct thread_result res[NTHREADS];
	bool started[NTHREADS];
	int i, verified = 0;
	CK_RV bad = CKR_OK;

	for (i = 0; i < NTHREADS; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].index = i;
		started[i] = pthread_create(&th[i], NULL, sign_thread, &res[i]) == 0;
	}
	for (i = 0; i < NTHREADS; i++) {
		if (!started[i]) {
			bad = CKR_HOST_MEMORY;
			continue;
		}
		pthread_join(th[i], NULL);
		verified += res[i].verified;
		if (res[i].rv != CKR_OK)
			bad = res[i].rv;
	}
	if (!t11_ok(bad == CKR_OK && verified == NTHREADS * NSIGNS,
		 "%d threads signing in their own sessions: all %d signatures "
		 "verify", NTHREADS, NTHREADS * NSIGNS))
		t11_diag("last error %s, %d verified", t11_rv_name(bad), verified);
}

/* --- random ----------------------------------------------------------------- */

static void
test_random(void)
{
	unsigned char a[64], b[64];
	size_t i;
	bool varied = false;
	CK_RV rv;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	rv = p11->C_GenerateRandom(s_ro, a, sizeof(a));
	t11_expect_rv(rv, CKR_OK, "C_GenerateRandom of 64 bytes -> CKR_OK");
	for (i = 1; i < sizeof(a); i++)
		if (a[i] != a[0])
			varied = true;
	t11_ok(rv == CKR_OK && varied, "C_GenerateRandom: the 64 bytes are not all equal");
	rv = p11->C_GenerateRandom(s_ro, b, sizeof(b));
	t11_ok(rv == CKR_OK && memcmp(a, b, sizeof(a)) != 0,
	    "C_GenerateRandom: two calls give different bytes");
	{
		static unsigned char big[4096];

		rv = p11->C_GenerateRandom(s_ro, big, sizeof(big));
		varied = false;
		for (i = sizeof(big) - 64; i < sizeof(big); i++)
			if (big[i] != 0)
				varied = true;
		if (!t11_ok(rv == CKR_OK && varied,
			 "C_GenerateRandom of 4096 bytes fills the whole buffer"))
			t11_diag("got %s", t11_rv_name(rv));
	}
}

/* --- key generation ---------------------------------------------------------- */

static void
test_keygen(void)
{
	CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_BBOOL yes = CK_TRUE;
	CK_BYTE id[] = { 0x17, 0x42, 0x99 };
	const char *label = "itest-generated";
	CK_ATTRIBUTE pubt[] = {
		{ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, id, sizeof(id) },
	};
	CK_ATTRIBUTE privt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, id, sizeof(id) },
	};
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE, h;
	CK_ULONG count, len;
	unsigned char buf[256];
	EVP_PKEY *pk = NULL;
	CK_RV rv;

	t11_expect_rv(p11->C_GenerateKeyPair(s_ro, &m, pubt, 5, privt, 6, &pub, &priv),
		  CKR_SESSION_READ_ONLY,
		  "C_GenerateKeyPair in a read-only session -> "
		  "CKR_SESSION_READ_ONLY");
	rv = p11->C_GenerateKeyPair(s_rw, &m, pubt, 5, privt, 6, &pub, &priv);
	if (!t11_expect_rv(rv, CKR_OK,
		       "C_GenerateKeyPair CKM_EC_KEY_PAIR_GEN P-256 token key -> "
		       "CKR_OK"))
		return;
	rv = get_attr(s_rw, pub, CKA_EC_POINT, buf, sizeof(buf), &len);
	if (rv == CKR_OK && len == 67 && buf[0] == 0x04 && buf[1] == 65)
		pk = ec_pkey("P-256", buf + 2, 65);
	if (!t11_ok(pk != NULL, "generated key: public CKA_EC_POINT is a P-256 point"))
		t11_diag("got %s, length %lu", t11_rv_name(rv), (unsigned long)len);
	rv = get_attr(s_rw, priv, CKA_ID, buf, sizeof(buf), &len);
	if (!t11_ok(rv == CKR_OK && len == sizeof(id) && memcmp(buf, id, len) == 0,
		 "generated key: private CKA_ID is the one asked for"))
		t11_diag("got %s, length %lu", t11_rv_name(rv), (unsigned long)len);
	rv = find_key(s_ro, CKO_PRIVATE_KEY, label, &h, &count);
	if (!t11_ok(rv == CKR_OK && count == 1 && h == priv,
		 "generated key: C_FindObjects in another session finds it"))
		t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)count);
	{
		unsigned char dgst[32], sig[128];
		unsigned dlen = 0;
		CK_ULONG siglen = sizeof(sig);
		CK_MECHANISM e = { CKM_ECDSA, NULL, 0 };

		digest(EVP_sha256(), message, sizeof(message) - 1, dgst, &dlen);
		rv = sign_once(s_rw, &e, priv, dgst, dlen, sig, &siglen);
		if (!t11_ok(rv == CKR_OK && ecdsa_verify(pk, dgst, dlen, sig, siglen),
			 "generated key: CKM_ECDSA signature verifies with OpenSSL"))
			t11_diag("got %s", t11_rv_name(rv));
	}
	{
		const char *nl = "itest-renamed";
		CK_ATTRIBUTE t = { CKA_LABEL, (void *)nl, strlen(nl) };

		rv = p11->C_SetAttributeValue(s_rw, pub, &t, 1);
		t11_expect_rv(rv, CKR_OK,
			  "C_SetAttributeValue CKA_LABEL on a public key -> CKR_OK");
		rv = get_attr(s_rw, pub, CKA_LABEL, buf, sizeof(buf), &len);
		if (!t11_ok(rv == CKR_OK && len == strlen(nl) &&
				 memcmp(buf, nl, len) == 0,
			 "the new CKA_LABEL reads back"))
			t11_diag("got %s, length %lu", t11_rv_name(rv), (unsigned long)len);
		t11_expect_rv(p11->C_SetAttributeValue(s_ro, pub, &t, 1),
			  CKR_SESSION_READ_ONLY,
			  "C_SetAttributeValue on a token object in a read-only "
			  "session -> CKR_SESSION_READ_ONLY");
	}
	t11_expect_rv(p11->C_DestroyObject(s_ro, priv), CKR_SESSION_READ_ONLY,
		  "C_DestroyObject of a token object in a read-only session -> "
		  "CKR_SESSION_READ_ONLY");
	t11_expect_rv(p11->C_DestroyObject(s_rw, priv), CKR_OK,
		  "C_DestroyObject of the generated private key -> CKR_OK");
	t11_expect_rv(p11->C_DestroyObject(s_rw, pub), CKR_OK,
		  "C_DestroyObject of the generated public key -> CKR_OK");
	t11_expect_rv(p11->C_DestroyObject(s_rw, pub), CKR_OBJECT_HANDLE_INVALID,
		  "C_DestroyObject of a destroyed object -> "
		  "CKR_OBJECT_HANDLE_INVALID");
	rv = find_key(s_rw, CKO_PRIVATE_KEY, label, &h, &count);
	if (!t11_ok(rv == CKR_OK && count == 0,
		 "the destroyed key is no longer found"))
		t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)count);
	rv = count_class(s_rw, CKO_PRIVATE_KEY, &count);
	if (!t11_ok(rv == CKR_OK && count == NKEYS,
		 "the other private keys are still there"))
		t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)count);
	EVP_PKEY_free(pk);
}

/* --- logout and closing ------------------------------------------------------ */

static void
test_logout(void)
{
	static const CK_RV invisible[] = { CKR_USER_NOT_LOGGED_IN,
					   CKR_KEY_HANDLE_INVALID,
					   CKR_OBJECT_HANDLE_INVALID };
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_ULONG count = 99;
	CK_RV rv;

	t11_expect_rv(p11->C_Logout(s_rw), CKR_OK, "C_Logout -> CKR_OK");
	t11_expect_rv(p11->C_Logout(s_rw), CKR_USER_NOT_LOGGED_IN,
		  "C_Logout again -> CKR_USER_NOT_LOGGED_IN");
	expect_state(s_rw, CKS_RW_PUBLIC_SESSION,
		     "after logout the read-write session is CKS_RW_PUBLIC_SESSION");
	expect_state(s_ro, CKS_RO_PUBLIC_SESSION,
		     "after logout the read-only session is CKS_RO_PUBLIC_SESSION");
	t11_expect_rv_in(p11->C_SignInit(s_rw, &m, keys[K_P256].priv), invisible, 3,
		     "after C_Logout, C_SignInit with the private key is refused");
	rv = count_class(s_rw, CKO_PRIVATE_KEY, &count);
	if (!t11_ok(rv == CKR_OK && count == 0,
		 "after C_Logout, private keys are invisible again"))
		t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)count);
}

static void
test_close(void)
{
	CK_SESSION_HANDLE a, b;
	CK_SESSION_INFO info;
	CK_RV rv;

	rv = p11->C_CloseAllSessions(itest_slot);
	t11_expect_rv(rv, CKR_OK, "C_CloseAllSessions -> CKR_OK");
	t11_expect_rv(p11->C_GetSessionInfo(s_ro, &info), CKR_SESSION_HANDLE_INVALID,
		  "after C_CloseAllSessions, the read-only session is gone");
	t11_expect_rv(p11->C_GetSessionInfo(s_rw, &info), CKR_SESSION_HANDLE_INVALID,
		  "after C_CloseAllSessions, the read-write session is gone");
	t11_expect_rv(p11->C_CloseAllSessions(BOGUS_SLOT), CKR_SLOT_ID_INVALID,
		  "C_CloseAllSessions of an invalid slot -> CKR_SLOT_ID_INVALID");

	/* the login state ends with the token's last session */
	rv = open_session(CKF_RW_SESSION, &a);
	if (rv == CKR_OK)
		rv = login_user(a, user_pin);
	t11_expect_rv(rv, CKR_OK, "open a session and log in again");
	t11_expect_rv(p11->C_CloseSession(a), CKR_OK,
		  "C_CloseSession of the only session -> CKR_OK");
	rv = open_session(0, &b);
	t11_expect_rv(rv, CKR_OK, "C_OpenSession after closing the last session");
	expect_state(b, CKS_RO_PUBLIC_SESSION,
		     "closing the last session logged the user out");
	p11->C_CloseSession(b);
}

/* --- C_InitToken ----------------------------------------------------------- */

static void
pad_label(CK_UTF8CHAR out[32], const char *s)
{
	size_t l = strlen(s);

	memset(out, ' ', 32);
	memcpy(out, s, l < 32 ? l : 32);
}

/* Finds the slot whose token has this label; false if none. */
static bool
slot_by_label(const char *label, CK_SLOT_ID *slot, CK_TOKEN_INFO *ti)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64, i;

	if (p11->C_GetSlotList(CK_FALSE, slots, &n) != CKR_OK)
		return false;
	for (i = 0; i < n; i++)
		if (p11->C_GetTokenInfo(slots[i], ti) == CKR_OK &&
		    padded_equals(ti->label, sizeof(ti->label), label)) {
			*slot = slots[i];
			return true;
		}
	return false;
}

static void
test_init_token(void)
{
	char label[33];
	CK_UTF8CHAR plabel[32];
	CK_TOKEN_INFO ti;
	CK_SLOT_ID slot = 0, other;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_ULONG count = 99;
	size_t slen = strlen(so_pin);
	char *wrong = malloc(slen + 2);
	CK_RV rv;

	if (wrong == NULL)
		abort();
	snprintf(wrong, slen + 2, "%sq", so_pin);
	snprintf(label, sizeof(label), "itest-new-%ld", (long)getpid());
	pad_label(plabel, label);
	if (!have_empty) {
		t11_ok(false, "C_InitToken: an empty slot is offered");
		free(wrong);
		return;
	}
	rv = p11->C_InitToken(empty_slot, (CK_UTF8CHAR *)so_pin, slen, plabel);
	if (!t11_expect_rv(rv, CKR_OK, "C_InitToken on the empty slot -> CKR_OK")) {
		free(wrong);
		return;
	}
	memset(&ti, 0, sizeof(ti));
	if (!t11_ok(slot_by_label(label, &slot, &ti),
		 "the new token is listed with its label")) {
		free(wrong);
		return;
	}
	if (!t11_ok((ti.flags & CKF_TOKEN_INITIALIZED) &&
			 !(ti.flags & CKF_USER_PIN_INITIALIZED),
		 "the new token: CKF_TOKEN_INITIALIZED, no "
		 "CKF_USER_PIN_INITIALIZED"))
		t11_diag("flags 0x%lx", (unsigned long)ti.flags);
	memset(&ti, 0, sizeof(ti));
	rv = p11->C_GetTokenInfo(empty_slot, &ti);
	other = empty_slot;
	if (!t11_ok(rv == CKR_OK && !(ti.flags & CKF_TOKEN_INITIALIZED) &&
			 other != slot,
		 "after C_InitToken an empty slot is still offered"))
		t11_diag("got %s, flags 0x%lx", t11_rv_name(rv), (unsigned long)ti.flags);

	rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
				NULL, &s);
	t11_expect_rv(rv, CKR_OK, "C_OpenSession on the new token -> CKR_OK");
	t11_expect_rv(login_user(s, user_pin), CKR_USER_PIN_NOT_INITIALIZED,
		  "C_Login as user before C_InitPIN -> "
		  "CKR_USER_PIN_NOT_INITIALIZED");
	t11_expect_rv(p11->C_InitToken(slot, (CK_UTF8CHAR *)so_pin, slen, plabel),
		  CKR_SESSION_EXISTS,
		  "C_InitToken with a session open on the token -> "
		  "CKR_SESSION_EXISTS");
	t11_expect_rv(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR *)so_pin, slen), CKR_OK,
		  "C_Login as SO on the new token -> CKR_OK");
	t11_expect_rv(p11->C_InitPIN(s, (CK_UTF8CHAR *)user_pin, strlen(user_pin)),
		  CKR_OK, "C_InitPIN on the new token -> CKR_OK");
	p11->C_Logout(s);
	t11_expect_rv(login_user(s, user_pin), CKR_OK,
		  "the new token's user PIN logs in");
	rv = count_class(s, CKO_PRIVATE_KEY, &count);
	if (!t11_ok(rv == CKR_OK && count == 0, "the new token holds no keys"))
		t11_diag("got %s, count %lu", t11_rv_name(rv), (unsigned long)count);
	memset(&ti, 0, sizeof(ti));
	rv = p11->C_GetTokenInfo(slot, &ti);
	if (!t11_ok(rv == CKR_OK && (ti.flags & CKF_USER_PIN_INITIALIZED),
		 "after C_InitPIN the new token has CKF_USER_PIN_INITIALIZED"))
		t11_diag("got %s, flags 0x%lx", t11_rv_name(rv), (unsigned long)ti.flags);
	p11->C_CloseSession(s);

	t11_expect_rv(p11->C_InitToken(slot, (CK_UTF8CHAR *)wrong, strlen(wrong),
				   plabel),
		  CKR_PIN_INCORRECT,
		  "C_InitToken of an existing token with a wrong SO PIN -> "
		  "CKR_PIN_INCORRECT");
	t11_expect_rv(p11->C_InitToken(slot, (CK_UTF8CHAR *)so_pin, slen, plabel),
		  CKR_OK, "C_InitToken of an existing token with its SO PIN -> "
			  "CKR_OK");
	memset(&ti, 0, sizeof(ti));
	if (!t11_ok(slot_by_label(label, &slot, &ti) &&
			 !(ti.flags & CKF_USER_PIN_INITIALIZED),
		 "re-initialised token has no user PIN"))
		t11_diag("flags 0x%lx", (unsigned long)ti.flags);
	if (!t11_ok(slot_by_label("ITEST", &other, &ti) && other == itest_slot,
		 "token ITEST is untouched by C_InitToken of another token"))
		t11_diag("ITEST slot %lu (was %lu)", (unsigned long)other,
		     (unsigned long)itest_slot);
	free(wrong);
}

/* --- PIN management ---------------------------------------------------------- */

static void
test_set_pin(void)
{
	CK_SESSION_HANDLE s, ro;
	size_t plen = strlen(user_pin);
	char *newpin = malloc(plen + 8);
	CK_RV rv;

	if (newpin == NULL)
		abort();
	snprintf(newpin, plen + 8, "%s-new", user_pin);
	if (open_session(CKF_RW_SESSION, &s) != CKR_OK ||
	    open_session(0, &ro) != CKR_OK) {
		t11_ok(false, "sessions for the PIN tests open");
		free(newpin);
		return;
	}
	t11_expect_rv(login_user(s, user_pin), CKR_OK, "C_Login for the PIN tests");
	t11_expect_rv(p11->C_SetPIN(ro, (CK_UTF8CHAR *)user_pin, plen,
				(CK_UTF8CHAR *)newpin, strlen(newpin)),
		  CKR_SESSION_READ_ONLY,
		  "C_SetPIN in a read-only session -> CKR_SESSION_READ_ONLY");
	t11_expect_rv(p11->C_SetPIN(s, (CK_UTF8CHAR *)newpin, strlen(newpin),
				(CK_UTF8CHAR *)user_pin, plen),
		  CKR_PIN_INCORRECT,
		  "C_SetPIN with a wrong old PIN -> CKR_PIN_INCORRECT");
	rv = p11->C_SetPIN(s, (CK_UTF8CHAR *)user_pin, plen,
			   (CK_UTF8CHAR *)newpin, strlen(newpin));
	t11_expect_rv(rv, CKR_OK, "C_SetPIN of the user PIN -> CKR_OK");
	p11->C_Logout(s);
	t11_expect_rv(login_user(s, user_pin), CKR_PIN_INCORRECT,
		  "after C_SetPIN the old PIN -> CKR_PIN_INCORRECT");
	t11_expect_rv(login_user(s, newpin), CKR_OK,
		  "after C_SetPIN the new PIN -> CKR_OK");
	rv = p11->C_SetPIN(s, (CK_UTF8CHAR *)newpin, strlen(newpin),
			   (CK_UTF8CHAR *)user_pin, plen);
	t11_expect_rv(rv, CKR_OK, "C_SetPIN back to the original PIN -> CKR_OK");
	p11->C_Logout(s);
	t11_expect_rv(login_user(s, user_pin), CKR_OK,
		  "the original PIN works again");
	p11->C_Logout(s);
	p11->C_CloseSession(ro);
	p11->C_CloseSession(s);
	free(newpin);
}

static CK_SESSION_HANDLE s_final;

static void
test_so(void)
{
	CK_SESSION_HANDLE s, ro;
	size_t slen = strlen(so_pin);
	char *wrong = malloc(slen + 2);
	CK_RV rv;

	if (wrong == NULL)
		abort();
	snprintf(wrong, slen + 2, "%sz", so_pin);
	if (open_session(CKF_RW_SESSION, &s) != CKR_OK ||
	    open_session(0, &ro) != CKR_OK) {
		t11_ok(false, "sessions for the SO tests open");
		free(wrong);
		return;
	}
	t11_expect_rv(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR *)so_pin, slen),
		  CKR_SESSION_READ_ONLY_EXISTS,
		  "C_Login as SO while a read-only session exists -> "
		  "CKR_SESSION_READ_ONLY_EXISTS");
	p11->C_CloseSession(ro);
	t11_expect_rv(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR *)wrong, strlen(wrong)),
		  CKR_PIN_INCORRECT, "C_Login as SO with a wrong PIN -> "
				     "CKR_PIN_INCORRECT");
	free(wrong);
	rv = p11->C_Login(s, CKU_SO, (CK_UTF8CHAR *)so_pin, slen);
	t11_expect_rv(rv, CKR_OK, "C_Login as SO -> CKR_OK");
	expect_state(s, CKS_RW_SO_FUNCTIONS,
		     "the SO's session is CKS_RW_SO_FUNCTIONS");
	ro = CK_INVALID_HANDLE;
	t11_expect_rv(open_session(0, &ro), CKR_SESSION_READ_WRITE_SO_EXISTS,
		  "C_OpenSession read-only while the SO is logged in -> "
		  "CKR_SESSION_READ_WRITE_SO_EXISTS");
	t11_expect_rv(login_user(s, user_pin), CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
		  "C_Login as user while the SO is logged in -> "
		  "CKR_USER_ANOTHER_ALREADY_LOGGED_IN");
	rv = p11->C_InitPIN(s, (CK_UTF8CHAR *)user_pin, strlen(user_pin));
	t11_expect_rv(rv, CKR_OK, "C_InitPIN by the SO -> CKR_OK");
	t11_expect_rv(p11->C_Logout(s), CKR_OK, "C_Logout of the SO -> CKR_OK");
	t11_expect_rv(p11->C_InitPIN(s, (CK_UTF8CHAR *)user_pin, strlen(user_pin)),
		  CKR_USER_NOT_LOGGED_IN,
		  "C_InitPIN without the SO logged in -> CKR_USER_NOT_LOGGED_IN");
	t11_expect_rv(login_user(s, user_pin), CKR_OK,
		  "the user PIN the SO set logs in");
	s_final = s; /* left open and logged in for the C_Finalize test */
}

/* --- C_Finalize and again ------------------------------------------------------ */

static int mx_created, mx_destroyed, mx_locked;

static CK_RV
mx_create(CK_VOID_PTR_PTR out)
{
	pthread_mutex_t *m = malloc(sizeof(*m));

	if (m == NULL)
		return CKR_HOST_MEMORY;
	pthread_mutex_init(m, NULL);
	__atomic_add_fetch(&mx_created, 1, __ATOMIC_SEQ_CST);
	*out = m;
	return CKR_OK;
}

static CK_RV
mx_destroy(CK_VOID_PTR m)
{
	if (m == NULL)
		return CKR_MUTEX_BAD;
	pthread_mutex_destroy(m);
	free(m);
	__atomic_add_fetch(&mx_destroyed, 1, __ATOMIC_SEQ_CST);
	return CKR_OK;
}

static CK_RV
mx_lock(CK_VOID_PTR m)
{
	if (m == NULL)
		return CKR_MUTEX_BAD;
	pthread_mutex_lock(m);
	__atomic_add_fetch(&mx_locked, 1, __ATOMIC_SEQ_CST);
	return CKR_OK;
}

static CK_RV
mx_unlock(CK_VOID_PTR m)
{
	if (m == NULL)
		return CKR_MUTEX_BAD;
	pthread_mutex_unlock(m);
	return CKR_OK;
}

static void
test_finalize(void)
{
	CK_SESSION_INFO info;
	CK_C_INITIALIZE_ARGS args;
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16, i;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_RV rv;
	bool listed = false;

	expect_state(s_final, CKS_RW_USER_FUNCTIONS,
		     "before C_Finalize a logged-in session is open");
	t11_expect_rv(p11->C_Finalize(NULL), CKR_OK,
		  "C_Finalize with a logged-in session open -> CKR_OK");
	t11_expect_rv(p11->C_GetSessionInfo(s_final, &info),
		  CKR_CRYPTOKI_NOT_INITIALIZED,
		  "after C_Finalize calls -> CKR_CRYPTOKI_NOT_INITIALIZED");

	memset(&args, 0, sizeof(args));
	args.CreateMutex = mx_create;
	args.DestroyMutex = mx_destroy;
	args.LockMutex = mx_lock;
	args.UnlockMutex = mx_unlock;
	rv = p11->C_Initialize(&args);
	if (!t11_expect_rv(rv, CKR_OK,
		       "C_Initialize again, with application mutex functions -> "
		       "CKR_OK"))
		return;
	rv = p11->C_GetSlotList(CK_TRUE, slots, &n);
	for (i = 0; rv == CKR_OK && i < n; i++) {
		CK_TOKEN_INFO ti;

		if (p11->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    padded_equals(ti.label, sizeof(ti.label), "ITEST")) {
			listed = true;
			itest_slot = slots[i];
		}
	}
	if (!t11_ok(listed, "after re-initialisation token ITEST is still listed"))
		t11_diag("C_GetSlotList %s, %lu slots", t11_rv_name(rv), (unsigned long)n);
	rv = open_session(0, &s);
	if (rv == CKR_OK)
		expect_state(s, CKS_RO_PUBLIC_SESSION,
			     "after re-initialisation a new session is not "
			     "logged in");
	else
		t11_ok(false, "after re-initialisation a session opens");
	if (rv == CKR_OK)
		rv = login_user(s, user_pin);
	t11_expect_rv(rv, CKR_OK, "after re-initialisation C_Login -> CKR_OK");
	{
		CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
		CK_ULONG count = 0;
		unsigned char dgst[32], sig[128];
		unsigned dlen = 0;
		CK_ULONG siglen = sizeof(sig);
		CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };

		find_key(s, CKO_PRIVATE_KEY, "p256", &h, &count);
		digest(EVP_sha256(), "again", 5, dgst, &dlen);
		rv = sign_once(s, &m, h, dgst, dlen, sig, &siglen);
		if (!t11_ok(rv == CKR_OK && ecdsa_verify(keys[K_P256].pkey, dgst,
						      dlen, sig, siglen),
			 "after re-initialisation p256 signs and verifies"))
			t11_diag("got %s, %lu keys found", t11_rv_name(rv),
			     (unsigned long)count);
	}
	if (!t11_ok(mx_created >= 1 && mx_locked >= 1,
		 "the module uses the application's mutex functions"))
		t11_diag("created %d, locked %d", mx_created, mx_locked);

	{
		CK_BYTE dummy = 0;

		t11_expect_rv(p11->C_Finalize(&dummy), CKR_ARGUMENTS_BAD,
			  "C_Finalize with non-NULL pReserved -> CKR_ARGUMENTS_BAD");
	}
	t11_expect_rv(p11->C_Finalize(NULL), CKR_OK, "C_Finalize -> CKR_OK");
	if (!t11_ok(mx_destroyed == mx_created,
		 "C_Finalize destroys every mutex the module created"))
		t11_diag("created %d, destroyed %d", mx_created, mx_destroyed);
	t11_expect_rv(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED,
		  "C_Finalize twice -> CKR_CRYPTOKI_NOT_INITIALIZED");
}

/* --- the cases, in the order they run -------------------------------------- */

static bool initialized;

static void
case_initialize(void)
{
	initialized = test_initialize();
}

static void
case_ecdsa_raw(void)
{
	test_ecdsa_raw(&keys[K_P256], EVP_sha256());
	test_ecdsa_raw(&keys[K_P384], EVP_sha384());
}

static void
case_ecdsa_hash(void)
{
	test_ecdsa_hash(&keys[K_P256], CKM_ECDSA_SHA256, "CKM_ECDSA_SHA256",
			EVP_sha256());
	test_ecdsa_hash(&keys[K_P384], CKM_ECDSA_SHA384, "CKM_ECDSA_SHA384",
			EVP_sha384());
}

/* The private keys are read by "private_keys", after C_Login ("login"). */
#define KEYS "slots login private_keys"

static const t11_case cases[] = {
	{ "load", test_load, NULL, &loaded, 0 },
	{ "interfaces", test_interfaces, "load", NULL, 0 },
	{ "before_initialize", test_before_initialize, "load", NULL, 0 },
	{ "initialize", case_initialize, "load", &initialized, 0 },
	{ "get_info", test_get_info, "initialize", NULL, 0 },
	{ "slots", test_slots, "initialize", &have_itest, 0 },
	{ "mechanisms", test_mechanisms, "slots", NULL, 0 },
	{ "sessions", test_sessions, "slots", NULL, 0 },
	{ "find_protocol", test_find_protocol, "sessions", NULL, 0 },
	{ "public_keys", test_public_keys, "sessions", NULL, 0 },
	{ "attribute_protocol", test_attribute_protocol, "public_keys", NULL, 0 },
	{ "login", test_login, "public_keys", NULL, 0 },
	{ "private_keys", test_private_keys, "login", NULL, 0 },
	{ "ecdsa_raw", case_ecdsa_raw, KEYS, NULL, 0 },
	{ "ecdsa_hash", case_ecdsa_hash, KEYS, NULL, 0 },
	{ "rsa", test_rsa, KEYS, NULL, 0 },
	{ "sign_negative", test_sign_negative, KEYS, NULL, 0 },
	{ "hmac_params", test_hmac_params, KEYS, NULL, 0 },
	{ "threads", test_threads, KEYS, NULL, 0 },
	{ "fork", test_fork, KEYS, NULL, 0 },
	{ "random", test_random, "sessions", NULL, 0 },
	{ "keygen", test_keygen, KEYS, NULL, 0 },
	{ "logout", test_logout, KEYS, NULL, 0 },
	{ "close", test_close, "sessions", NULL, 0 },
	/* These want the sessions of "sessions" closed ("close"). */
	{ "init_token", test_init_token, "close", NULL, 0 },
	{ "set_pin", test_set_pin, "close", NULL, 0 },
	{ "so", test_so, "close", NULL, 0 },
	{ "finalize", test_finalize, "public_keys so", NULL, 0 },
};

/* --- main -------------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	int k, rc;

	t11_init();
	if ((rc = t11_cases_args(cases, sizeof(cases) / sizeof(cases[0]), argc,
				 argv)) >= 0)
		return rc;
	if (!t11_test_pins(&user_pin, &so_pin))
		return 1;

	t11_cases_run(cases, sizeof(cases) / sizeof(cases[0]));
	/* After some cases only, or without token ITEST, the module is still
	 * initialised (after "finalize" this is CKR_CRYPTOKI_NOT_INITIALIZED). */
	if (p11 != NULL)
		p11->C_Finalize(NULL);
	for (k = 0; k < NKEYS; k++)
		EVP_PKEY_free(keys[k].pkey);
	return t11_done();
}
