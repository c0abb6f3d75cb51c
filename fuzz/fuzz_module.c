/* fuzz_module: the PKCS#11 module driven in process through its function
 * list (C_GetFunctionList and C_GetInterface; no dlopen), with no TPM.
 *
 * Set-up, once per process: a store made with the store API (fuzz_store.h:
 * two tokens, EC and RSA keys, some visible without login, a data object,
 * a certificate, and the oddities of a damaged store), TPM11_STORE
 * pointing at it and TPM11_TCTI at a socket that does not exist. Every
 * function that needs the TPM then fails with a CKR code, which is the
 * point: what is fuzzed is what a module does before and around its TPM
 * calls (argument checks, templates, mechanism parameters, sessions,
 * object search and attribute reads, session objects, host-side
 * verification and digests).
 *
 * Each input starts from the same state: the store file is restored and
 * the module is finalised between inputs. An input is:
 *   setup byte: bit 0  replace the attrs blob of one stored object with
 *                      bytes from the input (u8 object, u16 length, bytes)
 *               bit 1  the same for its tpm_pub blob
 *               bit 2  do not call C_Initialize first
 *   then operations until the input runs out (at most FZ_MAX_OPS), each an
 *   opcode byte and its arguments (fuzz_input.h encodings).
 *
 * Checks beyond "no crash, no leak, no ASan/UBSan report":
 * - every return value is one PKCS#11 defines;
 * - before C_Initialize and after C_Finalize every function (but
 *   C_Initialize, C_GetFunctionList and the interface calls) returns
 *   CKR_CRYPTOKI_NOT_INITIALIZED (or CKR_ARGUMENTS_BAD), and never that
 *   while initialised;
 * - a template the caller could not have meant (NULL pValue with a
 *   length, a bool or ulong of the wrong size) is never accepted by
 *   C_FindObjectsInit, C_SetAttributeValue, C_CreateObject,
 *   C_CopyObject or C_GenerateKeyPair;
 * - C_GetAttributeValue never reports a length larger than the caller's
 *   buffer as filled, and returns CKR_OK only when every attribute was;
 * - output counts (C_GetSlotList, C_GetMechanismList, C_FindObjects) and
 *   output lengths (C_Sign, C_Digest, C_Decrypt) stay within the buffer;
 * - C_SignInit and C_VerifyInit accept RSA-PSS parameters only when
 *   hLen + sLen + 2 fits the largest modulus the module can hold (512
 *   bytes): PKCS#11 v2.40 2.1.14 / RFC 8017 9.1.1 step 3. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <p11-kit/pkcs11.h>

#include "attr/attr.h"
#include "fuzz_input.h"
#include "fuzz_module.h"
#include "fuzz_store.h"

#define FZ_MAX_OPS 64
#define FZ_MAX_SESSIONS 16
#define FZ_MAX_HANDLES 48

/* The v3.0 function list layout (PKCS#11 v3.0 CK_FUNCTION_LIST_3_0): the
 * 2.40 list, then 24 functions from C_GetInterfaceList on. */
typedef void (*fz_fn)(void);
typedef struct {
	CK_FUNCTION_LIST v240;
	fz_fn v30[24];
} fz_list30;
typedef struct {
	CK_UTF8CHAR *pInterfaceName;
	CK_VOID_PTR pFunctionList;
	CK_FLAGS flags;
} fz_interface;
typedef CK_RV (*fz_login_user)(CK_SESSION_HANDLE, CK_USER_TYPE,
			       CK_UTF8CHAR_PTR, CK_ULONG, CK_UTF8CHAR_PTR,
			       CK_ULONG);
typedef CK_RV (*fz_session_cancel)(CK_SESSION_HANDLE, CK_FLAGS);
typedef CK_RV (*fz_msg_init)(CK_SESSION_HANDLE, CK_MECHANISM_PTR,
			     CK_OBJECT_HANDLE);
typedef CK_RV (*fz_msg_final)(CK_SESSION_HANDLE);

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);
CK_RV C_GetInterfaceList(fz_interface *list, CK_ULONG_PTR count);
CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
		     fz_interface **iface, CK_FLAGS flags);

static CK_FUNCTION_LIST_PTR F;
static char fz_dir[PATH_MAX], fz_db[PATH_MAX + 32];
static uint8_t *fz_pristine;
static size_t fz_pristine_len;

/* --- per-input state ------------------------------------------------------------ */

static struct {
	bool inited;
	bool damaged;             /* the store was edited by the setup byte */
	CK_SESSION_HANDLE sess[FZ_MAX_SESSIONS];
	size_t nsess;
	CK_OBJECT_HANDLE obj[FZ_MAX_HANDLES];
	size_t nobj;
	int mutexes;              /* created minus destroyed */
} st;

static void
fz_rv(const char *fn, CK_RV rv, bool needs_init)
{
	if (!fz_ckr_known(rv))
		fz_fail("%s returned 0x%lx, not a PKCS#11 code", fn,
			(unsigned long)rv);
	/* An argument error may be found before the missing C_Initialize;
	 * PKCS#11 does not order the two. */
	if (needs_init && !st.inited && rv != CKR_CRYPTOKI_NOT_INITIALIZED &&
	    rv != CKR_ARGUMENTS_BAD)
		fz_fail("%s before C_Initialize returned 0x%lx", fn,
			(unsigned long)rv);
	if (needs_init && st.inited && rv == CKR_CRYPTOKI_NOT_INITIALIZED)
		fz_fail("%s returned CKR_CRYPTOKI_NOT_INITIALIZED while "
			"initialised", fn);
}

#define CALL(fn, args) fz_call(#fn, F->fn args)
static CK_RV
fz_call(const char *fn, CK_RV rv)
{
	fz_rv(fn, rv, true);
	return rv;
}

static void
add_session(CK_SESSION_HANDLE h)
{
	if (st.nsess < FZ_MAX_SESSIONS)
		st.sess[st.nsess++] = h;
}

static void
add_object(CK_OBJECT_HANDLE h)
{
	if (st.nobj < FZ_MAX_HANDLES)
		st.obj[st.nobj++] = h;
}

static CK_SESSION_HANDLE
pick_session(fz_reader *r)
{
	uint8_t b = fz_u8(r);

	if (b == 0xff)
		return (CK_SESSION_HANDLE)fz_u64(r);
	if (b >= 0xf0 || st.nsess == 0)
		return b & 0x0f;
	return st.sess[b % st.nsess];
}

static CK_OBJECT_HANDLE
pick_object(fz_reader *r)
{
	uint8_t b = fz_u8(r);

	if (b == 0xff)
		return (CK_OBJECT_HANDLE)fz_u64(r);
	return st.obj[b % st.nobj];
}

static CK_SLOT_ID
pick_slot(fz_reader *r)
{
	switch (fz_u8(r) % 5) {
	case 0: return 0;
	case 1: return FZ_TOKEN_ID;
	case 2: return FZ_TOKEN_UNINIT_ID;
	case 3: return 3;
	default: return (CK_SLOT_ID)fz_u64(r);
	}
}

/* An output buffer: mode byte; mode % 4 == 0: NULL with length 0 (or
 * fz_huge() when bit 7 is set); else u16 % 1025 bytes, filled from the
 * input. */
static uint8_t *
out_buf(fz_reader *r, CK_ULONG *len)
{
	uint8_t mode = fz_u8(r);
	uint8_t *p;

	if (mode % 4 == 0) {
		*len = mode & 0x80 ? fz_huge(r) : 0;
		return NULL;
	}
	*len = fz_u16(r) % 1025;
	if ((p = malloc(*len ? *len : 1)) == NULL)
		abort();
	fz_fill(r, p, *len); /* C_Verify reads it: the signature */
	return p;
}

/* Would a careful module have to refuse this template? */
static bool
template_bad(const fz_template *t)
{
	size_t i;

	if (t->v == NULL)
		return t->n > 0;
	for (i = 0; i < t->n; i++) {
		const CK_ATTRIBUTE *a = &t->v[i];

		if (a->pValue == NULL && a->ulValueLen > 0)
			return true;
		if (attr_kind_of(a->type) == ATTR_KIND_BOOL &&
		    a->ulValueLen != sizeof(CK_BBOOL))
			return true;
		if (attr_kind_of(a->type) == ATTR_KIND_ULONG &&
		    a->ulValueLen != sizeof(CK_ULONG))
			return true;
	}
	return false;
}

static void
check_template_refused(const char *fn, const fz_template *t, CK_RV rv)
{
	if (rv == CKR_OK && template_bad(t))
		fz_fail("%s accepted a template with a NULL value of non-zero "
			"length or a wrongly sized bool/ulong", fn);
}

static bool
mech_is_pss(const fz_mech *m)
{
	switch (m->m.mechanism) {
	case CKM_RSA_PKCS_PSS: case CKM_SHA1_RSA_PKCS_PSS:
	case CKM_SHA224_RSA_PKCS_PSS: case CKM_SHA256_RSA_PKCS_PSS:
	case CKM_SHA384_RSA_PKCS_PSS: case CKM_SHA512_RSA_PKCS_PSS:
		return true;
	default:
		return false;
	}
}

static void
check_pss(const char *fn, const fz_mech *m, CK_RV rv)
{
	const CK_RSA_PKCS_PSS_PARAMS *p = m->m.pParameter;

	if (rv != CKR_OK || m->ptr == NULL || !mech_is_pss(m) || st.damaged ||
	    p == NULL || m->m.ulParameterLen != sizeof(*p))
		return;
	/* Until src/pkcs11/sign.c mech_pss_params stops wrapping around
	 * (corpus seed pss-slen-wrap), a long run may set this to look for
	 * other faults. */
	if (getenv("FUZZ_MODULE_SKIP_PSS_CHECK") != NULL)
		return;
	/* Whatever the hash, sLen + hLen + 2 <= emLen <= 512. */
	if (p->sLen > 512 - 20 - 2)
		fz_fail("%s accepted PSS sLen %lu (hash 0x%lx): no modulus "
			"holds it", fn, (unsigned long)p->sLen,
			(unsigned long)p->hashAlg);
}

/* --- application mutex functions (C_Initialize's CreateMutex &c.) -------- */

static CK_RV
mx_create(CK_VOID_PTR_PTR m)
{
	pthread_mutex_t *p = malloc(sizeof(*p));

	if (m == NULL || p == NULL) {
		free(p);
		return CKR_HOST_MEMORY;
	}
	pthread_mutex_init(p, NULL);
	*m = p;
	st.mutexes++;
	return CKR_OK;
}

static CK_RV
mx_create_fail(CK_VOID_PTR_PTR m)
{
	(void)m;
	return CKR_HOST_MEMORY;
}

static CK_RV
mx_destroy(CK_VOID_PTR m)
{
	if (m == NULL)
		return CKR_MUTEX_BAD;
	pthread_mutex_destroy(m);
	free(m);
	st.mutexes--;
	return CKR_OK;
}

static CK_RV
mx_lock(CK_VOID_PTR m)
{
	return m && pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_MUTEX_BAD;
}

static CK_RV
mx_unlock(CK_VOID_PTR m)
{
	return m && pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_MUTEX_NOT_LOCKED;
}

static void
op_initialize(fz_reader *r)
{
	CK_C_INITIALIZE_ARGS a;
	uint8_t mode = fz_u8(r);
	bool was = st.inited;
	CK_RV rv;

	memset(&a, 0, sizeof(a));
	switch (mode % 8) {
	case 0:
		rv = F->C_Initialize(NULL);
		goto done;
	case 1:
		break;
	case 2:
		a.flags = CKF_OS_LOCKING_OK;
		break;
	case 3:
	case 6:
		a.CreateMutex = mx_create;
		a.DestroyMutex = mx_destroy;
		a.LockMutex = mx_lock;
		a.UnlockMutex = mx_unlock;
		if (mode % 8 == 6)
			a.flags = CKF_OS_LOCKING_OK;
		break;
	case 4:
		a.CreateMutex = mx_create; /* only some: CKR_ARGUMENTS_BAD */
		break;
	case 5:
		a.pReserved = &a;
		break;
	default:
		a.CreateMutex = mx_create_fail;
		a.DestroyMutex = mx_destroy;
		a.LockMutex = mx_lock;
		a.UnlockMutex = mx_unlock;
		break;
	}
	if (mode & 0x80)
		a.flags |= CKF_LIBRARY_CANT_CREATE_OS_THREADS;
	rv = F->C_Initialize(&a);
done:
	fz_rv("C_Initialize", rv, false);
	if (rv == CKR_OK) {
		if (was)
			fz_fail("C_Initialize succeeded twice");
		st.inited = true;
	} else if (!was && rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		fz_fail("C_Initialize: already initialised, but it was not");
	}
}

static void
op_finalize(fz_reader *r)
{
	CK_RV rv = F->C_Finalize(fz_u8(r) & 1 ? (CK_VOID_PTR)&st : NULL);

	fz_rv("C_Finalize", rv, true);
	if (rv == CKR_OK) {
		st.inited = false;
		st.nsess = 0;
	}
}

/* --- the operations ---------------------------------------------------------------- */

static void
op_info(fz_reader *r)
{
	CK_INFO info;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_SESSION_INFO ss;
	CK_MECHANISM_INFO mi;
	uint8_t which = fz_u8(r), null = fz_u8(r) & 1;
	CK_SLOT_ID slot = pick_slot(r);

	switch (which % 5) {
	case 0:
		CALL(C_GetInfo, (null ? NULL : &info));
		break;
	case 1:
		CALL(C_GetSlotInfo, (slot, null ? NULL : &si));
		break;
	case 2:
		CALL(C_GetTokenInfo, (slot, null ? NULL : &ti));
		break;
	case 3:
		CALL(C_GetSessionInfo, (pick_session(r), null ? NULL : &ss));
		break;
	default: {
		CK_MECHANISM_TYPE t = fz_mech_types[fz_u8(r) % fz_mech_types_n];

		CALL(C_GetMechanismInfo, (slot, t, null ? NULL : &mi));
		break;
	}
	}
}

static void
op_lists(fz_reader *r)
{
	uint8_t which = fz_u8(r), n = fz_u8(r) % 40, mode = fz_u8(r);
	CK_ULONG count = n, *pc = mode & 1 ? NULL : &count;
	CK_ULONG *buf = mode & 2 ? NULL : calloc(n ? n : 1, sizeof(CK_ULONG));
	CK_RV rv;

	if (which & 1)
		rv = CALL(C_GetSlotList, (fz_u8(r) & 1, buf, pc));
	else
		rv = CALL(C_GetMechanismList, (pick_slot(r), buf, pc));
	if (rv == CKR_OK && buf != NULL && pc != NULL && count > n)
		fz_fail("a list call filled %lu entries of %u",
			(unsigned long)count, n);
	free(buf);
}

static void
op_open(fz_reader *r)
{
	static const CK_FLAGS fl[] = {
		CKF_SERIAL_SESSION, CKF_SERIAL_SESSION | CKF_RW_SESSION, 0,
		CKF_RW_SESSION, ~(CK_FLAGS)0,
	};
	CK_SLOT_ID slot = pick_slot(r);
	uint8_t b = fz_u8(r);
	CK_SESSION_HANDLE h = 0;
	CK_RV rv;

	rv = CALL(C_OpenSession, (slot, fl[b % 5], NULL, NULL,
				  b & 0x80 ? NULL : &h));
	if (rv == CKR_OK)
		add_session(h);
}

static void
op_close(fz_reader *r)
{
	if (fz_u8(r) & 1)
		CALL(C_CloseAllSessions, (pick_slot(r)));
	else
		CALL(C_CloseSession, (pick_session(r)));
}

static void
op_login(fz_reader *r)
{
	static const CK_USER_TYPE ut[] = {CKU_USER, CKU_SO, CKU_CONTEXT_SPECIFIC,
					  3, (CK_USER_TYPE)-1};
	uint8_t which = fz_u8(r);
	CK_SESSION_HANDLE h = pick_session(r);
	CK_USER_TYPE u = ut[fz_u8(r) % 5];
	CK_ULONG len, ulen;
	void *pin = fz_buf_decode(r, &len);

	switch (which % 3) {
	case 0:
		CALL(C_Login, (h, u, pin, len));
		break;
	case 1:
		CALL(C_Logout, (h));
		break;
	default: {
		fz_interface *ifc = NULL;
		CK_VERSION v3 = {3, 0};
		void *user = fz_buf_decode(r, &ulen);

		if (C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v3, &ifc, 0) ==
			    CKR_OK &&
		    ifc != NULL) {
			fz_list30 *l = ifc->pFunctionList;

			fz_rv("C_LoginUser",
			      ((fz_login_user)l->v30[2])(h, u, pin, len, user,
							 ulen),
			      true);
		}
		free(user);
		break;
	}
	}
	free(pin);
}

static void
op_pins(fz_reader *r)
{
	uint8_t which = fz_u8(r);
	CK_SLOT_ID slot = pick_slot(r);
	CK_SESSION_HANDLE h = pick_session(r);
	CK_ULONG l1, l2;
	void *p1 = fz_buf_decode(r, &l1), *p2 = fz_buf_decode(r, &l2);
	uint8_t label[32];

	switch (which % 3) {
	case 0:
		fz_fill(r, label, sizeof(label));
		CALL(C_InitToken, (slot, p1, l1, which & 0x80 ? NULL : label));
		break;
	case 1:
		CALL(C_InitPIN, (h, p1, l1));
		break;
	default:
		CALL(C_SetPIN, (h, p1, l1, p2, l2));
		break;
	}
	free(p1);
	free(p2);
}

static void
op_find(fz_reader *r)
{
	uint8_t which = fz_u8(r);
	CK_SESSION_HANDLE h = pick_session(r);
	fz_template t;
	CK_RV rv;

	switch (which % FZ_FIND_N) {
	case FZ_FIND_INIT:
		fz_template_decode(r, &t);
		rv = CALL(C_FindObjectsInit, (h, t.v, t.n));
		check_template_refused("C_FindObjectsInit", &t, rv);
		fz_template_free(&t);
		break;
	case 1: {
		uint8_t max = fz_u8(r) % 20, mode = fz_u8(r);
		CK_OBJECT_HANDLE *out = mode & 1 ? NULL
				      : calloc(max ? max : 1, sizeof(*out));
		CK_ULONG n = 0, i;

		rv = CALL(C_FindObjects, (h, out, max, mode & 2 ? NULL : &n));
		if (rv == CKR_OK && out != NULL && !(mode & 2)) {
			if (n > max)
				fz_fail("C_FindObjects: %lu of at most %u",
					(unsigned long)n, max);
			for (i = 0; i < n; i++)
				add_object(out[i]);
		}
		free(out);
		break;
	}
	default:
		CALL(C_FindObjectsFinal, (h));
		break;
	}
}

static void
op_get_attrs(fz_reader *r)
{
	CK_SESSION_HANDLE h = pick_session(r);
	CK_OBJECT_HANDLE o = pick_object(r);
	fz_template t;
	CK_ULONG i;
	bool unavailable = false;
	CK_RV rv;

	fz_template_decode(r, &t);
	rv = CALL(C_GetAttributeValue, (h, o, t.v, t.n));
	for (i = 0; t.v != NULL && i < t.n; i++) {
		CK_ULONG got = t.v[i].ulValueLen;

		if (got == CK_UNAVAILABLE_INFORMATION) {
			unavailable = true;
			continue;
		}
		if (t.v[i].pValue != NULL && got > t.cap[i])
			fz_fail("C_GetAttributeValue: 0x%lx filled %lu bytes of "
				"a %lu-byte buffer", (unsigned long)t.v[i].type,
				(unsigned long)got, (unsigned long)t.cap[i]);
	}
	if (rv == CKR_OK && unavailable)
		fz_fail("C_GetAttributeValue: CKR_OK with an unavailable "
			"attribute");
	fz_template_free(&t);
}

static void
op_set_attrs(fz_reader *r)
{
	uint8_t which = fz_u8(r);
	CK_SESSION_HANDLE h = pick_session(r);
	CK_OBJECT_HANDLE o = pick_object(r), nh = 0;
	CK_ULONG size;
	fz_template t;
	CK_RV rv;

	switch (which % FZ_SET_N) {
	case FZ_SET_SET:
		fz_template_decode(r, &t);
		rv = CALL(C_SetAttributeValue, (h, o, t.v, t.n));
		check_template_refused("C_SetAttributeValue", &t, rv);
		fz_template_free(&t);
		break;
	case 1:
		fz_template_decode(r, &t);
		rv = CALL(C_CreateObject, (h, t.v, t.n, which & 0x80 ? NULL : &nh));
		check_template_refused("C_CreateObject", &t, rv);
		if (rv == CKR_OK)
			add_object(nh);
		fz_template_free(&t);
		break;
	case 2:
		fz_template_decode(r, &t);
		rv = CALL(C_CopyObject, (h, o, t.v, t.n, which & 0x80 ? NULL : &nh));
		check_template_refused("C_CopyObject", &t, rv);
		if (rv == CKR_OK)
			add_object(nh);
		fz_template_free(&t);
		break;
	case 3:
		CALL(C_DestroyObject, (h, o));
		break;
	default:
		CALL(C_GetObjectSize, (h, o, which & 0x80 ? NULL : &size));
		break;
	}
}

static void
op_keygen(fz_reader *r)
{
	CK_SESSION_HANDLE h = pick_session(r);
	uint8_t mode = fz_u8(r);
	CK_OBJECT_HANDLE pub = 0, priv = 0;
	fz_template tp, tv;
	fz_mech m;
	CK_RV rv;

	fz_mech_decode(r, &m);
	fz_template_decode(r, &tp);
	fz_template_decode(r, &tv);
	rv = CALL(C_GenerateKeyPair, (h, m.ptr, tp.v, tp.n, tv.v, tv.n,
				      mode & 1 ? NULL : &pub,
				      mode & 2 ? NULL : &priv));
	check_template_refused("C_GenerateKeyPair (public)", &tp, rv);
	check_template_refused("C_GenerateKeyPair (private)", &tv, rv);
	fz_template_free(&tp);
	fz_template_free(&tv);
	fz_mech_free(&m);
}

/* C_*Init with a mechanism and key for sign, verify, decrypt, digest,
 * encrypt; the v3.0 message functions too. */
static void
op_init(fz_reader *r)
{
	uint8_t which = fz_u8(r);
	CK_SESSION_HANDLE h = pick_session(r);
	CK_OBJECT_HANDLE k = pick_object(r);
	fz_mech m;
	CK_RV rv;

	fz_mech_decode(r, &m);
	switch (which % FZ_INIT_N) {
	case FZ_INIT_SIGN:
		rv = CALL(C_SignInit, (h, m.ptr, k));
		check_pss("C_SignInit", &m, rv);
		break;
	case 1:
		rv = CALL(C_VerifyInit, (h, m.ptr, k));
		check_pss("C_VerifyInit", &m, rv);
		break;
	case 2:
		CALL(C_DecryptInit, (h, m.ptr, k));
		break;
	case 3:
		CALL(C_DigestInit, (h, m.ptr));
		break;
	case 4:
		CALL(C_EncryptInit, (h, m.ptr, k));
		break;
	case 5:
		CALL(C_DigestKey, (h, k));
		break;
	default: {
		fz_interface *ifc = NULL;
		CK_VERSION v3 = {3, 0};
		unsigned i = 4 + 5 * (fz_u8(r) % 4); /* C_Message*Init */

		if (C_GetInterface(NULL, &v3, &ifc, 0) == CKR_OK && ifc) {
			fz_list30 *l = ifc->pFunctionList;

			fz_rv("C_Message*Init",
			      ((fz_msg_init)l->v30[i])(h, m.ptr, k), true);
			fz_rv("C_Message*Final",
			      ((fz_msg_final)l->v30[i + 4])(h), true);
			fz_rv("C_SessionCancel",
			      ((fz_session_cancel)l->v30[3])(h, fz_u64(r)),
			      true);
		}
		break;
	}
	}
	fz_mech_free(&m);
}

/* The operation calls after an Init: single-part, update, final. */
static void
op_run(fz_reader *r)
{
	uint8_t which = fz_u8(r);
	CK_SESSION_HANDLE h = pick_session(r);
	CK_ULONG inlen, outlen, cap;
	void *in = fz_buf_decode(r, &inlen);
	uint8_t *out = out_buf(r, &outlen);
	CK_ULONG *pl = which & 0x80 ? NULL : &outlen;
	const char *fn = "?";
	CK_RV rv;

	cap = outlen;
	switch (which % FZ_RUN_N) {
	case FZ_RUN_SIGN: fn = "C_Sign"; rv = CALL(C_Sign, (h, in, inlen, out, pl)); break;
	case 1: fn = "C_SignUpdate"; rv = CALL(C_SignUpdate, (h, in, inlen)); break;
	case 2: fn = "C_SignFinal"; rv = CALL(C_SignFinal, (h, out, pl)); break;
	case 3:
		fn = "C_Verify";
		rv = CALL(C_Verify, (h, in, inlen, out, cap));
		break;
	case 4: fn = "C_VerifyUpdate"; rv = CALL(C_VerifyUpdate, (h, in, inlen)); break;
	case 5: fn = "C_VerifyFinal"; rv = CALL(C_VerifyFinal, (h, out, cap)); break;
	case 6: fn = "C_Decrypt"; rv = CALL(C_Decrypt, (h, in, inlen, out, pl)); break;
	case 7: fn = "C_Digest"; rv = CALL(C_Digest, (h, in, inlen, out, pl)); break;
	case 8: fn = "C_DigestUpdate"; rv = CALL(C_DigestUpdate, (h, in, inlen)); break;
	default: fn = "C_DigestFinal"; rv = CALL(C_DigestFinal, (h, out, pl)); break;
	}
	if (rv == CKR_OK && out != NULL && pl != NULL && outlen > cap &&
	    which % FZ_RUN_N != FZ_RUN_VERIFY &&
	    which % FZ_RUN_N != FZ_RUN_VERIFY_FINAL)
		fz_fail("%s: CKR_OK with %lu bytes in a %lu-byte buffer", fn,
			(unsigned long)outlen, (unsigned long)cap);
	free(in);
	free(out);
}

static void
op_misc(fz_reader *r)
{
	uint8_t which = fz_u8(r);
	CK_SESSION_HANDLE h = pick_session(r);
	CK_ULONG len, n;
	void *buf = fz_buf_decode(r, &len);
	fz_interface list[4], *ifc = NULL;
	CK_VERSION v = {fz_u8(r) % 4, fz_u8(r)};
	CK_SLOT_ID slot;

	switch (which % 8) {
	case 0:
		/* Only as much as the buffer holds: a NULL one asks for
		 * len bytes at NULL, a caller bug the module must refuse. */
		CALL(C_GenerateRandom, (h, buf, len));
		break;
	case 1:
		CALL(C_SeedRandom, (h, buf, len));
		break;
	case 2:
		n = fz_u8(r) % 5;
		fz_rv("C_GetInterfaceList",
		      C_GetInterfaceList(which & 0x80 ? NULL : list,
					 which & 0x40 ? NULL : &n), false);
		break;
	case 3:
		fz_rv("C_GetInterface",
		      C_GetInterface(which & 0x80 ? NULL
						  : (CK_UTF8CHAR_PTR) "PKCS 11",
				     which & 0x40 ? NULL : &v,
				     which & 0x20 ? NULL : &ifc, fz_u64(r)),
		      false);
		break;
	case 4:
		CALL(C_GetFunctionStatus, (h));
		break;
	case 5:
		CALL(C_CancelFunction, (h));
		break;
	case 6:
		/* Never a blocking wait: CKF_DONT_BLOCK always. */
		CALL(C_WaitForSlotEvent, (CKF_DONT_BLOCK, &slot, NULL));
		break;
	default: {
		CK_ULONG sl = 0;
		uint8_t state[64];

		CALL(C_GetOperationState, (h, which & 0x40 ? NULL : state, &sl));
		CALL(C_SetOperationState, (h, state, sizeof(state), 0, 0));
		break;
	}
	}
	free(buf);
}

typedef void (*fz_op)(fz_reader *);
static const fz_op ops[FZ_OP_COUNT] = {
	[FZ_OP_INITIALIZE] = op_initialize, [FZ_OP_FINALIZE] = op_finalize,
	[FZ_OP_INFO] = op_info, [FZ_OP_LISTS] = op_lists,
	[FZ_OP_OPEN] = op_open, [FZ_OP_CLOSE] = op_close,
	[FZ_OP_LOGIN] = op_login, [FZ_OP_PINS] = op_pins,
	[FZ_OP_FIND] = op_find, [FZ_OP_GET_ATTRS] = op_get_attrs,
	[FZ_OP_SET_ATTRS] = op_set_attrs, [FZ_OP_KEYGEN] = op_keygen,
	[FZ_OP_INIT] = op_init, [FZ_OP_RUN] = op_run, [FZ_OP_MISC] = op_misc,
};

/* --- the store file ------------------------------------------------------------------ */

static int
file_write(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t w;

	if (fd < 0)
		return -1;
	while (n > 0) {
		if ((w = write(fd, p, n)) <= 0) {
			close(fd);
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return close(fd);
}

static void
store_restore(void)
{
	char side[PATH_MAX + 64];

	snprintf(side, sizeof(side), "%s-wal", fz_db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", fz_db);
	unlink(side);
	if (file_write(fz_db, fz_pristine, fz_pristine_len) != 0)
		fz_fail("cannot restore %s: %s", fz_db, strerror(errno));
}

/* Setup bits 0 and 1: one stored blob replaced by bytes of the input, as
 * a damaged store or another program could leave it. */
static void
store_damage(fz_reader *r, uint8_t setup)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t id = 1 + fz_u8(r) % FZ_OBJ_COUNT;
	size_t len = fz_u16(r) % (FZ_MAX_VALUE + 1);
	uint8_t *b = malloc(len ? len : 1);
	const char *sql = setup & FZ_SETUP_DAMAGE_ATTRS ? "UPDATE objects SET attrs=? WHERE id=?;"
				    : "UPDATE objects SET tpm_pub=? WHERE id=?;";

	if (b == NULL)
		abort();
	fz_fill(r, b, len);
	if (sqlite3_open_v2(fz_db, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 1, b, (int)len, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, id) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE)
		fz_fail("cannot damage the store: %s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	sqlite3_close(db);
	free(b);
	st.damaged = true;
}

static void
fz_cleanup(void)
{
	char side[PATH_MAX + 64];

	if (st.inited && F != NULL)
		F->C_Finalize(NULL);
	unlink(fz_db);
	snprintf(side, sizeof(side), "%s-wal", fz_db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", fz_db);
	unlink(side);
	rmdir(fz_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char tcti[PATH_MAX + 64];
	struct stat sb;
	FILE *f;

	(void)argc;
	(void)argv;
	if (tmp == NULL || *tmp == '\0')
		tmp = stat("/dev/shm", &sb) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fz_dir, sizeof(fz_dir), "%s/tpm11-fuzz-module.XXXXXX", tmp);
	if (mkdtemp(fz_dir) == NULL)
		fz_fail("mkdtemp %s: %s", fz_dir, strerror(errno));
	snprintf(fz_db, sizeof(fz_db), "%s/tpm11.sqlite3", fz_dir);
	snprintf(tcti, sizeof(tcti), "swtpm:path=%s/no-tpm.sock", fz_dir);
	setenv("TPM11_STORE", fz_dir, 1);
	setenv("TPM11_TCTI", tcti, 1);
	setenv("TSS2_LOG", "all+NONE", 1);
	if (getenv("FUZZ_MODULE_LOG") == NULL)
		unsetenv("TPM11_LOG");
	atexit(fz_cleanup);
	if (fz_store_build(fz_dir) != 0)
		fz_fail("cannot build the fuzz store");
	if ((f = fopen(fz_db, "rb")) == NULL || fstat(fileno(f), &sb) != 0 ||
	    (fz_pristine = malloc((size_t)sb.st_size)) == NULL ||
	    fread(fz_pristine, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size)
		fz_fail("cannot read back %s", fz_db);
	fz_pristine_len = (size_t)sb.st_size;
	fclose(f);
	if (C_GetFunctionList(&F) != CKR_OK || F == NULL)
		fz_fail("C_GetFunctionList");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_reader r = {data, size};
	uint8_t setup = fz_u8(&r);
	size_t i;

	memset(&st, 0, sizeof(st));
	for (i = 1; i <= FZ_OBJ_COUNT; i++)
		add_object(i);
	add_object(0);
	add_object(1000);
	add_object((CK_OBJECT_HANDLE)-1);

	store_restore();
	if (setup & (FZ_SETUP_DAMAGE_ATTRS | FZ_SETUP_DAMAGE_PUB))
		store_damage(&r, setup);
	if (!(setup & FZ_SETUP_NO_INIT)) {
		CK_RV rv = F->C_Initialize(NULL);

		fz_rv("C_Initialize", rv, false);
		st.inited = rv == CKR_OK;
	}
	for (i = 0; i < FZ_MAX_OPS && !fz_empty(&r); i++)
		ops[fz_u8(&r) % FZ_OP_COUNT](&r);
	if (st.inited) {
		CK_RV rv = F->C_Finalize(NULL);

		if (rv != CKR_OK)
			fz_fail("C_Finalize at the end: 0x%lx", (unsigned long)rv);
	}
	if (st.mutexes != 0)
		fz_fail("%d application mutexes created and not destroyed",
			st.mutexes);
	return 0;
}
