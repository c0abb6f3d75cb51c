/* Sessions and login: C_OpenSession, C_CloseSession, C_CloseAllSessions,
 * C_GetSessionInfo, C_Login, C_Logout; and the TPM's generator:
 * C_GenerateRandom, C_SeedRandom. Login state belongs to the token in this
 * process and is shared by all its sessions (PKCS#11 v2.40 5.6). */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/interface.h"
#include "pkcs11/module.h"
#include "util/secure.h"

CK_RV
C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
	      CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
	session *s = NULL, **nv;
	token *t;
	CK_RV rv = CKR_OK;

	(void)pApplication;
	(void)Notify;
	CHECK_INIT();
	if (phSession == NULL)
		return CKR_ARGUMENTS_BAD;
	if (!(flags & CKF_SERIAL_SESSION))
		return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
	mod_lock();
	T11_IGNORE(core_refresh(
		mod.c)); /* unreadable now: the loaded tokens serve */
	t = slot_token_inlock(slotID);
	if (t == NULL) {
		rv = slotID == EMPTY_SLOT_ID ? CKR_TOKEN_NOT_RECOGNIZED
					     : CKR_SLOT_ID_INVALID;
		goto out;
	}
	/* v2.40 5.6: with the SO logged in, no RO session may be opened. */
	if (t->login == CKU_SO && !(flags & CKF_RW_SESSION)) {
		rv = CKR_SESSION_READ_WRITE_SO_EXISTS;
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (nv = realloc(mod.sessions, (mod.nsessions + 1) * sizeof(*nv))) ==
		    NULL) {
		free(s);
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	mod.sessions = nv;
	s->handle = mod.next_handle++;
	s->slot = slotID;
	s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
	s->token_id = t->rec.id;
	mod.sessions[mod.nsessions++] = s;
	*phSession = s->handle;
out:
	mod_unlock();
	LOG_RV("C_OpenSession", rv);
	return rv;
}

static bool
slot_has_sessions_inlock(CK_SLOT_ID slot)
{
	size_t i;

	for (i = 0; i < mod.nsessions; i++)
		if (mod.sessions[i]->slot == slot)
			return true;
	return false;
}

/* Removes session i; the last session of a token logs it out (v2.40 5.6
 * C_CloseSession). */
static void
session_close_inlock(size_t i)
{
	session *s = mod.sessions[i];
	CK_SLOT_ID slot = s->slot;
	token *t;

	mod.sessions[i] = mod.sessions[--mod.nsessions];
	sobjs_drop_inlock(s->handle);
	session_free_inlock(s);
	if (!slot_has_sessions_inlock(slot) &&
	    (t = slot_token_inlock(slot)) != NULL && t->login != TOKEN_NOBODY)
		token_logout(mod.c, t);
}

CK_RV
C_CloseSession(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = CKR_SESSION_HANDLE_INVALID;
	size_t i;

	CHECK_INIT();
	mod_lock();
	for (i = 0; i < mod.nsessions; i++) {
		if (mod.sessions[i]->handle == hSession) {
			session_close_inlock(i);
			rv = CKR_OK;
			break;
		}
	}
	mod_unlock();
	LOG_RV("C_CloseSession", rv);
	return rv;
}

CK_RV
C_CloseAllSessions(CK_SLOT_ID slotID)
{
	CK_RV rv = CKR_OK;
	size_t i;

	CHECK_INIT();
	mod_lock();
	if (slotID != EMPTY_SLOT_ID && slot_token_inlock(slotID) == NULL) {
		rv = CKR_SLOT_ID_INVALID;
	} else {
		for (i = mod.nsessions; i-- > 0;)
			if (mod.sessions[i]->slot == slotID)
				session_close_inlock(i);
	}
	mod_unlock();
	return rv;
}

CK_RV
C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) == CKR_OK) {
		pInfo->slotID = s->slot;
		pInfo->state = session_state_inlock(s, t);
		pInfo->flags = s->flags;
		pInfo->ulDeviceError = 0;
	}
	mod_unlock();
	return rv;
}

CK_RV
C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
	CK_ULONG ulPinLen)
{
	session *s;
	token *t;
	CK_RV rv;
	size_t i;

	CHECK_INIT();
	if (pPin == NULL && ulPinLen > 0)
		return CKR_ARGUMENTS_BAD;
	if (userType != CKU_USER && userType != CKU_SO &&
	    userType != CKU_CONTEXT_SPECIFIC)
		return CKR_USER_TYPE_INVALID;
	if (pPin == NULL) /* no protected authentication path */
		return CKR_ARGUMENTS_BAD;
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if (userType == CKU_CONTEXT_SPECIFIC) {
		/* No key here needs CKA_ALWAYS_AUTHENTICATE. */
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	if (t->login == userType) {
		rv = CKR_USER_ALREADY_LOGGED_IN;
		goto out;
	}
	if (t->login != TOKEN_NOBODY) {
		rv = CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
		goto out;
	}
	if (userType == CKU_USER && (t->rec.flags & TOKEN_REC_USER_PIN_UNSET)) {
		rv = CKR_USER_PIN_NOT_INITIALIZED;
		goto out;
	}
	if (userType == CKU_SO) {
		for (i = 0; i < mod.nsessions; i++) {
			if (mod.sessions[i]->slot == s->slot &&
			    !(mod.sessions[i]->flags & CKF_RW_SESSION)) {
				rv = CKR_SESSION_READ_ONLY_EXISTS;
				goto out;
			}
		}
	}
	rv = token_login(mod.c, t, userType, (const char *)pPin, ulPinLen);
	if (rv != CKR_OK)
		log_debug("C_Login: %s", mod.c->err);
out:
	mod_unlock();
	LOG_RV("C_Login", rv);
	return rv;
}

CK_RV
C_Logout(CK_SESSION_HANDLE hSession)
{
	session *s;
	token *t;
	CK_RV rv;
	size_t i;

	CHECK_INIT();
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if (t->login == TOKEN_NOBODY) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	/* Operations that needed the login end with it. */
	for (i = 0; i < mod.nsessions; i++)
		if (mod.sessions[i]->slot == s->slot)
			session_end_ops(mod.sessions[i]);
	/* v2.40 5.6 C_Logout: the application's private session objects
	 * of this token are destroyed. */
	for (i = mod.nsobjs; i-- > 0;) {
		token_obj *o = mod.sobjs[i];

		if (o->token_id == t->rec.id && o->is_private) {
			mod.sobjs[i] = mod.sobjs[--mod.nsobjs];
			sobj_free(o);
		}
	}
	token_logout(mod.c, t);
out:
	mod_unlock();
	return rv;
}

CK_RV
C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pRandomData,
		 CK_ULONG ulRandomLen)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if (pRandomData == NULL && ulRandomLen > 0)
		return CKR_ARGUMENTS_BAD;
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) == CKR_OK &&
	    ulRandomLen > 0 && (rv = core_tpm(mod.c)) == CKR_OK)
		rv = tpm_random(mod.c->tpm, pRandomData, ulRandomLen);
	mod_unlock();
	LOG_RV("C_GenerateRandom", rv);
	return rv;
}

CK_RV
C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	if (pSeed == NULL && ulSeedLen > 0)
		return CKR_ARGUMENTS_BAD;
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) == CKR_OK &&
	    ulSeedLen > 0 && (rv = core_tpm(mod.c)) == CKR_OK)
		rv = tpm_stir_random(mod.c->tpm, pSeed, ulSeedLen);
	mod_unlock();
	return rv;
}

/* PKCS#11 v3.0 5.6.5: C_LoginUser. Tokens here have no user names: with
 * none given it is C_Login; a name is not something we can check. */
CK_RV
C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
	    CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername,
	    CK_ULONG ulUsernameLen)
{
	CHECK_INIT();
	if (pUsername == NULL && ulUsernameLen > 0)
		return CKR_ARGUMENTS_BAD;
	if (ulUsernameLen > 0)
		return CKR_ARGUMENTS_BAD;
	return C_Login(hSession, userType, pPin, ulPinLen);
}

/* v3.0 5.6.? C_SessionCancel: ends the session's active operations named in
 * flags (CKF_SIGN, CKF_FIND_OBJECTS, ...). */
CK_RV
C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
	session *s;
	token *t;
	CK_RV rv;

	CHECK_INIT();
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) == CKR_OK) {
		/* Only the operation named; others stay (v3.0 5.6.x). */
		if ((s->op == OP_SIGN && (flags & CKF_SIGN)) ||
		    (s->op == OP_VERIFY && (flags & CKF_VERIFY)) ||
		    (s->op == OP_DIGEST && (flags & CKF_DIGEST)) ||
		    (s->op == OP_DECRYPT && (flags & CKF_DECRYPT)) ||
		    (s->op == OP_ENCRYPT && (flags & CKF_ENCRYPT)))
			session_end_ops(s);
		if (flags & 0x00800000UL /* CKF_FIND_OBJECTS */) {
			free(s->found);
			s->found = NULL;
			s->nfound = s->find_pos = 0;
			s->find_active = false;
		}
	}
	mod_unlock();
	return rv;
}
