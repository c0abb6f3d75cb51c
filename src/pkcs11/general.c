/* C_Initialize, C_Finalize, C_GetInfo. */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/interface.h"
#include "pkcs11/module.h"
#include "version.h"

/* PKCS#11 v2.40 5.4 C_Initialize: the four locking cases. With no mutex
 * functions, or CKF_OS_LOCKING_OK, we use pthreads; with only the
 * application's functions we use them. */
static CK_RV
init_args_check(CK_C_INITIALIZE_ARGS *a)
{
	int n = (a->CreateMutex != NULL) + (a->DestroyMutex != NULL) +
		(a->LockMutex != NULL) + (a->UnlockMutex != NULL);

	if (a->pReserved != NULL)
		return CKR_ARGUMENTS_BAD;
	if (n != 0 && n != 4)
		return CKR_ARGUMENTS_BAD;
	return CKR_OK;
}

/* After fork, the parent's state in the child: not ours to free (it holds
 * the parent's TPM connection), kept reachable so it is no leak. */
void *tpm11_parent_state[3];

CK_RV
C_Initialize(CK_VOID_PTR pInitArgs)
{
	CK_C_INITIALIZE_ARGS args = {0};
	core *c = NULL;
	CK_RV rv;

	log_init();
	module_register_atfork();
	if (pInitArgs != NULL) {
		memcpy(&args, pInitArgs, sizeof(args));
		if ((rv = init_args_check(&args)) != CKR_OK)
			return rv;
	}
	if (mod.forked) {
		/* A child after fork: the parent's state is not ours to
		 * finalise. Drop it without touching the TPM or the store's
		 * locks, then start afresh. */
		/* Kept reachable, never used: the parent's handles. */
		if (mod.c != NULL)
			core_abandon_tpm(mod.c);
		tpm11_parent_state[0] = mod.c;
		tpm11_parent_state[1] = mod.sessions;
		tpm11_parent_state[2] = mod.sobjs;
		mod.c = NULL;
		mod.sessions = NULL;
		mod.nsessions = 0;
		mod.sobjs = NULL;
		mod.nsobjs = 0;
		mod.initialized = false;
		mod.forked = false;
		mod.app_locks = false;
	}
	if (mod.initialized)
		return CKR_CRYPTOKI_ALREADY_INITIALIZED;
	if (args.CreateMutex != NULL && !(args.flags & CKF_OS_LOCKING_OK)) {
		if (args.CreateMutex(&mod.app_mutex) != CKR_OK)
			return CKR_CANT_LOCK;
		mod.args = args;
		mod.app_locks = true;
	}
	/* No I/O here: the store is opened and read, and the TPM reached,
	 * by the first call that needs them. Programs that load every
	 * module (p11-kit's proxy) pay nothing for a token they never use. */
	rv = core_new(NULL, NULL, &c);
	if (rv != CKR_OK) {
		core_close(c);
		if (mod.app_locks) {
			mod.args.DestroyMutex(mod.app_mutex);
			mod.app_locks = false;
			mod.app_mutex = NULL;
		}
		return rv;
	}
	mod_lock();
	mod.c = c;
	mod.next_handle = 1;
	mod.next_sobj = SOBJ_HANDLE_BASE;
	mod.initialized = true;
	/* Tokens and objects are read at the first call that needs them
	 * (C_GetSlotList, C_OpenSession ...): C_Initialize stays cheap. */
	mod_unlock();
	log_debug("C_Initialize: store %s", c->store_dir);
	return CKR_OK;
}

CK_RV
C_Finalize(CK_VOID_PTR pReserved)
{
	size_t i;

	if (pReserved != NULL)
		return CKR_ARGUMENTS_BAD;
	CHECK_INIT();
	mod_lock();
	for (i = 0; i < mod.nsessions; i++)
		session_free_inlock(mod.sessions[i]);
	free(mod.sessions);
	mod.sessions = NULL;
	mod.nsessions = 0;
	sobjs_drop_inlock(0);
	if (mod.c && mod.c->tpm)
		log_debug("C_Finalize: %llu TPM commands",
			  (unsigned long long)tpm_command_count(mod.c->tpm));
	core_close(mod.c); /* logs out, flushes what it loaded */
	mod.c = NULL;
	mod.initialized = false;
	mod_unlock();
	if (mod.app_locks) {
		mod.args.DestroyMutex(mod.app_mutex);
		mod.app_locks = false;
	}
	return CKR_OK;
}

CK_RV
C_GetInfo(CK_INFO_PTR pInfo)
{
	CHECK_INIT();
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	memset(pInfo, 0, sizeof(*pInfo));
	pInfo->cryptokiVersion.major = 2;
	pInfo->cryptokiVersion.minor = 40;
	pad_string(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
		   "tpm11");
	pad_string(pInfo->libraryDescription, sizeof(pInfo->libraryDescription),
		   "tpm11 TPM 2.0 token");
	pInfo->libraryVersion.major = TPM11_VERSION_MAJOR;
	pInfo->libraryVersion.minor = TPM11_VERSION_MINOR;
	return CKR_OK;
}
