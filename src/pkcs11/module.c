/* Module state, locking, fork handling and the function lists. */
#include "pkcs11/module.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/pkey.h"
#include "pkcs11/mech.h"
#include "util/secure.h"
#include "pkcs11/interface.h"

struct module mod;

static pthread_mutex_t mod_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
/* Threads inside the library lock or waiting for it (module_exit). */
static atomic_int mod_busy;

/* --- locking ----------------------------------------------------------- */

void
mod_lock(void)
{
	atomic_fetch_add(&mod_busy, 1);
	if (mod.app_locks)
		mod.args.LockMutex(mod.app_mutex);
	else
		pthread_mutex_lock(&mod_mutex);
}

void
mod_unlock(void)
{
	if (mod.app_locks)
		mod.args.UnlockMutex(mod.app_mutex);
	else
		pthread_mutex_unlock(&mod_mutex);
	atomic_fetch_sub(&mod_busy, 1);
}

/* --- exit without C_Finalize ------------------------------------------- */

/* Many programs exit without C_Finalize (gnutls-cli, Chromium, the libp11
 * engine, ssh-agent when stopped). On a TPM without a resource manager
 * what they loaded would stay and fill its few slots (DESIGN.md property
 * 10): the library's destructor flushes it at exit and at dlclose. Not in
 * a child of fork that did not initialise (the connection is the
 * parent's), and not while another thread is in the module (the process
 * is going away around a TPM command; the next client on a direct TPM
 * flushes such leftovers, tpm.c). */
__attribute__((destructor)) static void
module_exit(void)
{
	if (!mod.initialized || mod.forked || mod.c == NULL ||
	    mod.c->tpm == NULL)
		return;
	if (atomic_load(&mod_busy) != 0) {
		log_debug("exit: another thread is in the module; the next "
			  "client flushes what this process loaded");
		return;
	}
	/* A resource manager flushes a client's objects when it goes;
	 * closing its connection here (GLib's D-Bus for tpm2-abrmd, at exit,
	 * perhaps in a child of fork) is the riskier way to the same end. */
	if (tpm_behind_rm(mod.c->tpm))
		return;
	if (!mod.app_locks && pthread_mutex_trylock(&mod_mutex) != 0)
		return;
	log_debug("exit without C_Finalize: flushing what this process loaded");
	core_release_tpm(mod.c);
	if (!mod.app_locks)
		pthread_mutex_unlock(&mod_mutex);
}

/* --- fork -------------------------------------------------------------- */

/* A child must not use the parent's TPM connection or its sqlite handle:
 * after fork every call returns CKR_CRYPTOKI_NOT_INITIALIZED until the
 * child calls C_Initialize (PKCS#11 v2.40 6.7.7). The lock is held across
 * fork so the child never inherits it half-taken. */
static void
atfork_prepare(void)
{
	pthread_mutex_lock(&mod_mutex);
}

static void
atfork_parent(void)
{
	pthread_mutex_unlock(&mod_mutex);
}

static void
atfork_child(void)
{
	pthread_mutex_unlock(&mod_mutex);
	if (mod.initialized)
		mod.forked = true;
}

static void
atfork_register(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

void
module_register_atfork(void)
{
	pthread_once(&atfork_once, atfork_register);
}

/* --- helpers ------------------------------------------------------------- */

void
pad_string(CK_UTF8CHAR *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	memset(dst, ' ', size);
	memcpy(dst, src, n > size ? size : n);
}

token *
slot_token_inlock(CK_SLOT_ID id)
{
	size_t i;

	if (mod.c == NULL)
		return NULL;
	for (i = 0; i < mod.c->ntokens; i++)
		if ((CK_SLOT_ID)mod.c->tokens[i]->rec.id == id)
			return mod.c->tokens[i];
	return NULL;
}

CK_RV
session_get_inlock(CK_SESSION_HANDLE h, session **s, token **t)
{
	size_t i;

	for (i = 0; i < mod.nsessions; i++) {
		if (mod.sessions[i]->handle != h)
			continue;
		/* No store read here: this is on every call, C_Sign's too.
		 * Other processes' changes are picked up where objects are
		 * looked for (C_FindObjectsInit, C_OpenSession, slot calls). */
		*s = mod.sessions[i];
		*t = slot_token_inlock((*s)->slot);
		if (*t == NULL) /* the token was removed meanwhile */
			return CKR_DEVICE_REMOVED;
		return CKR_OK;
	}
	return CKR_SESSION_HANDLE_INVALID;
}

CK_RV
session_check(CK_SESSION_HANDLE h)
{
	session *s;
	token *t;
	CK_RV rv;

	/* v2.40 5.1.7: the errors of 5.1.2 (functions that use a session
	 * handle: CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_REMOVED, ...) take
	 * precedence over those of 5.1.6 (templates, mechanisms). The
	 * caller looks the session up again under the lock. */
	mod_lock();
	rv = session_get_inlock(h, &s, &t);
	mod_unlock();
	return rv;
}

void
session_end_ops(session *s)
{
	pkey_free(s->pk);
	s->pk = NULL;
	free(s->label);
	s->label = NULL;
	secure_free(s->buf, s->blen);
	s->buf = NULL;
	s->blen = 0;
	secure_zero(s->iv, sizeof(s->iv));
	secure_zero(s->part, sizeof(s->part));
	s->plen = 0;
	hash_ctx_free(s->hctx);
	s->hctx = NULL;
	s->op = OP_NONE;
	s->mech = NULL;
	s->op_multi = false;
	s->op_single = false;
}

void
session_free_inlock(session *s)
{
	session_end_ops(s);
	free(s->found);
	free(s);
}

CK_STATE
session_state_inlock(const session *s, const token *t)
{
	bool rw = (s->flags & CKF_RW_SESSION) != 0;

	if (t != NULL && t->login == CKU_SO)
		return CKS_RW_SO_FUNCTIONS;
	if (t != NULL && t->login == CKU_USER)
		return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
	return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
}

void
sobj_free(token_obj *o)
{
	if (o == NULL)
		return;
	/* A session secret key may be loaded in the TPM. */
	tpm_key_clear(mod.c ? mod.c->tpm : NULL, &o->key);
	attr_list_clear(&o->attrs);
	free(o);
}

CK_RV
session_buf_add(session *s, const uint8_t *p, size_t n)
{
	uint8_t *nb;

	if (n == 0)
		return CKR_OK;
	if (s->blen + n > (64u << 20)) /* a bound on what we hold */
		return CKR_DATA_LEN_RANGE;
	if ((nb = malloc(s->blen + n)) == NULL)
		return CKR_HOST_MEMORY;
	if (s->blen)
		memcpy(nb, s->buf, s->blen);
	memcpy(nb + s->blen, p, n);
	secure_free(s->buf, s->blen);
	s->buf = nb;
	s->blen += n;
	return CKR_OK;
}

CK_RV
op_begin_inlock(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key, bool hidden_login,
		session **s, token **t, token_obj **o)
{
	CK_RV rv;

	if ((rv = session_get_inlock(h, s, t)) != CKR_OK)
		return rv;
	if ((*s)->op != OP_NONE)
		return CKR_OPERATION_ACTIVE;
	if ((*o = object_get_inlock(*t, key)) == NULL) {
		/* A private key is invisible until login (v2.40 4.1.2). */
		if (hidden_login && token_find_obj(*t, (int64_t)key) != NULL)
			return CKR_USER_NOT_LOGGED_IN;
		return CKR_KEY_HANDLE_INVALID;
	}
	return CKR_OK;
}

CK_RV
op_get_inlock(CK_SESSION_HANDLE h, op_kind op, session **s, token **t)
{
	CK_RV rv;

	if ((rv = session_get_inlock(h, s, t)) != CKR_OK)
		return rv;
	return (*s)->op == op ? CKR_OK : CKR_OPERATION_NOT_INITIALIZED;
}

CK_RV
op_part_inlock(CK_SESSION_HANDLE h, op_kind op, session **s, token **t)
{
	bool multi;
	CK_RV rv;

	if ((rv = op_get_inlock(h, op, s, t)) != CKR_OK)
		return rv;
	multi = mech_multipart((*s)->mech, op);
	if (!multi) {
		session_end_ops(*s);
		return CKR_FUNCTION_NOT_SUPPORTED;
	}
	/* C_Digest (C_Sign, C_Encrypt, C_Decrypt) answered a length query:
	 * its data was not taken, so a C_*Final now would finish over
	 * nothing (the digest of the empty message). The single-part call
	 * must be repeated; mixing is refused, and the refusal ends the
	 * operation as every error does (v2.40 5.2). */
	if ((*s)->op_single) {
		session_end_ops(*s);
		return CKR_OPERATION_ACTIVE;
	}
	return CKR_OK;
}

CK_RV
op_single_inlock(session *s)
{
	/* v2.40 5.10 C_Digest "cannot be used to terminate a multi-part
	 * operation" (5.8, 5.9, 5.11, 5.12 say the same of C_Encrypt,
	 * C_Decrypt, C_Sign, C_Verify); the error ends the operation. */
	if (s->op_multi) {
		session_end_ops(s);
		return CKR_OPERATION_ACTIVE;
	}
	s->op_single = true;
	return CKR_OK;
}

CK_RV
op_args_bad(CK_SESSION_HANDLE h, op_kind op)
{
	session *s;
	token *t;

	/* v2.40 5.2 and 5.8-5.12: a call to C_Digest, C_DigestUpdate, ...
	 * "always terminates the active ... operation unless it returns
	 * CKR_BUFFER_TOO_SMALL or is a successful call ... to determine the
	 * length of the buffer needed"; CKR_ARGUMENTS_BAD is no exception. */
	mod_lock();
	if (op_get_inlock(h, op, &s, &t) == CKR_OK)
		session_end_ops(s);
	mod_unlock();
	return CKR_ARGUMENTS_BAD;
}

CK_RV
op_crypt(CK_SESSION_HANDLE h, op_kind op, const uint8_t *in, size_t len,
	 CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	session *s;
	token *t;
	CK_RV rv;

	mod_lock();
	if ((rv = op_get_inlock(h, op, &s, &t)) == CKR_OK &&
	    (rv = op_single_inlock(s)) == CKR_OK)
		rv = s->mech->ops->crypt(s, t, in, len, out, outlen);
	mod_unlock();
	LOG_RV(op == OP_ENCRYPT ? "C_Encrypt" : "C_Decrypt", rv);
	return rv;
}

CK_RV
op_update_inlock(CK_SESSION_HANDLE h, op_kind op, const uint8_t *part,
		 size_t len)
{
	session *s;
	token *t;
	CK_RV rv;

	if ((rv = op_part_inlock(h, op, &s, &t)) != CKR_OK)
		return rv;
	s->op_multi = true;
	if (s->mech->kind == MECH_HMAC) {
		if ((rv = session_buf_add(s, part, len)) != CKR_OK)
			session_end_ops(s);
	} else if (len && hash_ctx_update(s->hctx, part, len) != 0) {
		session_end_ops(s);
		rv = CKR_GENERAL_ERROR;
	}
	return rv;
}

void
sobjs_drop_inlock(CK_SESSION_HANDLE h)
{
	size_t i, j = 0;

	for (i = 0; i < mod.nsobjs; i++) {
		if (h == 0 || mod.sobjs[i]->session == h)
			sobj_free(mod.sobjs[i]);
		else
			mod.sobjs[j++] = mod.sobjs[i];
	}
	mod.nsobjs = j;
	if (j == 0) {
		free(mod.sobjs);
		mod.sobjs = NULL;
	}
}

static token_obj *
sobj_find_inlock(const token *t, CK_OBJECT_HANDLE h)
{
	size_t i;

	for (i = 0; i < mod.nsobjs; i++)
		if ((CK_OBJECT_HANDLE)mod.sobjs[i]->id == h &&
		    mod.sobjs[i]->token_id == t->rec.id)
			return mod.sobjs[i];
	return NULL;
}

token_obj *
object_get_inlock(token *t, CK_OBJECT_HANDLE h)
{
	token_obj *o = h >= SOBJ_HANDLE_BASE ? sobj_find_inlock(t, h)
					     : token_find_obj(t, (int64_t)h);

	if (o == NULL)
		return NULL;
	/* PKCS#11 v2.40 4.1.2: private objects are invisible until the
	 * user logs in. */
	if (o->is_private && t->login != CKU_USER)
		return NULL;
	return o;
}

/* --- function lists ---------------------------------------------------- */

CK_FUNCTION_LIST tpm11_function_list = {
	.version = {2, 40},
	.C_Initialize = C_Initialize,
	.C_Finalize = C_Finalize,
	.C_GetInfo = C_GetInfo,
	.C_GetFunctionList = C_GetFunctionList,
	.C_GetSlotList = C_GetSlotList,
	.C_GetSlotInfo = C_GetSlotInfo,
	.C_GetTokenInfo = C_GetTokenInfo,
	.C_GetMechanismList = C_GetMechanismList,
	.C_GetMechanismInfo = C_GetMechanismInfo,
	.C_InitToken = C_InitToken,
	.C_InitPIN = C_InitPIN,
	.C_SetPIN = C_SetPIN,
	.C_OpenSession = C_OpenSession,
	.C_CloseSession = C_CloseSession,
	.C_CloseAllSessions = C_CloseAllSessions,
	.C_GetSessionInfo = C_GetSessionInfo,
	.C_GetOperationState = C_GetOperationState,
	.C_SetOperationState = C_SetOperationState,
	.C_Login = C_Login,
	.C_Logout = C_Logout,
	.C_CreateObject = C_CreateObject,
	.C_CopyObject = C_CopyObject,
	.C_DestroyObject = C_DestroyObject,
	.C_GetObjectSize = C_GetObjectSize,
	.C_GetAttributeValue = C_GetAttributeValue,
	.C_SetAttributeValue = C_SetAttributeValue,
	.C_FindObjectsInit = C_FindObjectsInit,
	.C_FindObjects = C_FindObjects,
	.C_FindObjectsFinal = C_FindObjectsFinal,
	.C_EncryptInit = C_EncryptInit,
	.C_Encrypt = C_Encrypt,
	.C_EncryptUpdate = C_EncryptUpdate,
	.C_EncryptFinal = C_EncryptFinal,
	.C_DecryptInit = C_DecryptInit,
	.C_Decrypt = C_Decrypt,
	.C_DecryptUpdate = C_DecryptUpdate,
	.C_DecryptFinal = C_DecryptFinal,
	.C_DigestInit = C_DigestInit,
	.C_Digest = C_Digest,
	.C_DigestUpdate = C_DigestUpdate,
	.C_DigestKey = C_DigestKey,
	.C_DigestFinal = C_DigestFinal,
	.C_SignInit = C_SignInit,
	.C_Sign = C_Sign,
	.C_SignUpdate = C_SignUpdate,
	.C_SignFinal = C_SignFinal,
	.C_SignRecoverInit = C_SignRecoverInit,
	.C_SignRecover = C_SignRecover,
	.C_VerifyInit = C_VerifyInit,
	.C_Verify = C_Verify,
	.C_VerifyUpdate = C_VerifyUpdate,
	.C_VerifyFinal = C_VerifyFinal,
	.C_VerifyRecoverInit = C_VerifyRecoverInit,
	.C_VerifyRecover = C_VerifyRecover,
	.C_DigestEncryptUpdate = C_DigestEncryptUpdate,
	.C_DecryptDigestUpdate = C_DecryptDigestUpdate,
	.C_SignEncryptUpdate = C_SignEncryptUpdate,
	.C_DecryptVerifyUpdate = C_DecryptVerifyUpdate,
	.C_GenerateKey = C_GenerateKey,
	.C_GenerateKeyPair = C_GenerateKeyPair,
	.C_WrapKey = C_WrapKey,
	.C_UnwrapKey = C_UnwrapKey,
	.C_DeriveKey = C_DeriveKey,
	.C_SeedRandom = C_SeedRandom,
	.C_GenerateRandom = C_GenerateRandom,
	.C_GetFunctionStatus = C_GetFunctionStatus,
	.C_CancelFunction = C_CancelFunction,
	.C_WaitForSlotEvent = C_WaitForSlotEvent,
};

__attribute__((visibility("default"))) CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	*list = &tpm11_function_list;
	return CKR_OK;
}

/* The v3.0 list: the same 2.40 functions (version 3.0), then v3.0's own. */
#define FN(f) ((tpm11_fn)(f))
static tpm11_function_list_3_0 tpm11_function_list_30 = {
	.v30 =
		{
			FN(C_GetInterfaceList),    FN(C_GetInterface),
			FN(C_LoginUser),           FN(C_SessionCancel),
			FN(C_MessageEncryptInit),  FN(C_EncryptMessage),
			FN(C_EncryptMessageBegin), FN(C_EncryptMessageNext),
			FN(C_MessageEncryptFinal), FN(C_MessageDecryptInit),
			FN(C_DecryptMessage),      FN(C_DecryptMessageBegin),
			FN(C_DecryptMessageNext),  FN(C_MessageDecryptFinal),
			FN(C_MessageSignInit),     FN(C_SignMessage),
			FN(C_SignMessageBegin),    FN(C_SignMessageNext),
			FN(C_MessageSignFinal),    FN(C_MessageVerifyInit),
			FN(C_VerifyMessage),       FN(C_VerifyMessageBegin),
			FN(C_VerifyMessageNext),   FN(C_MessageVerifyFinal),
		},
};

static pthread_once_t list30_once = PTHREAD_ONCE_INIT;

static void
list30_fill(void)
{
	tpm11_function_list_30.v240 = tpm11_function_list;
	tpm11_function_list_30.v240.version.major = 3;
	tpm11_function_list_30.v240.version.minor = 0;
}

/* PKCS#11 v3.0 5.2: C_GetInterfaceList / C_GetInterface. "PKCS 11" in
 * versions 3.0 and 2.40. CKF_INTERFACE_FORK_SAFE is not claimed: after
 * fork a child must call C_Initialize. */
static CK_INTERFACE interfaces[] = {
	{(CK_UTF8CHAR *)"PKCS 11", &tpm11_function_list_30, 0},
	{(CK_UTF8CHAR *)"PKCS 11", &tpm11_function_list, 0},
};

__attribute__((visibility("default"))) CK_RV
C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count)
{
	CK_ULONG n = sizeof(interfaces) / sizeof(interfaces[0]);

	if (count == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_once(&list30_once, list30_fill);
	if (list == NULL) {
		*count = n;
		return CKR_OK;
	}
	if (*count < n) {
		*count = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(list, interfaces, sizeof(interfaces));
	*count = n;
	return CKR_OK;
}

__attribute__((visibility("default"))) CK_RV
C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
	       CK_INTERFACE_PTR_PTR iface, CK_FLAGS flags)
{
	size_t i;

	if (iface == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_once(&list30_once, list30_fill);
	if (name != NULL && strcmp((const char *)name, "PKCS 11") != 0)
		return CKR_ARGUMENTS_BAD;
	/* The first that matches: 3.0 unless 2.40 is asked for. */
	for (i = 0; i < sizeof(interfaces) / sizeof(interfaces[0]); i++) {
		const CK_VERSION *v = interfaces[i].pFunctionList;

		if (version != NULL &&
		    (version->major != v->major || version->minor != v->minor))
			continue;
		if ((flags & interfaces[i].flags) != flags)
			continue;
		*iface = &interfaces[i];
		return CKR_OK;
	}
	return CKR_ARGUMENTS_BAD;
}
