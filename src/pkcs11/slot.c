/* Slots and tokens: C_GetSlotList, C_GetSlotInfo, C_GetTokenInfo,
 * C_GetMechanismList, C_GetMechanismInfo, C_InitToken, C_InitPIN,
 * C_SetPIN. Every token of the store is a slot (slot ID = its row id);
 * slot 0 is the empty slot where C_InitToken makes a new token. None of
 * these send a TPM command except the PIN functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11/mech.h"
#include "util/secure.h"

CK_RV
C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList,
	      CK_ULONG_PTR pulCount)
{
	CK_ULONG n, i;
	CK_RV rv = CKR_OK;

	(void)tokenPresent; /* every slot has a token, the empty one too */
	CHECK_INIT();
	if (pulCount == NULL)
		return CKR_ARGUMENTS_BAD;
	mod_lock();
	T11_IGNORE(core_refresh(
		mod.c)); /* unreadable now: the loaded tokens serve */
	n = mod.c->ntokens + 1;
	if (pSlotList == NULL) {
		*pulCount = n;
	} else if (*pulCount < n) {
		*pulCount = n;
		rv = CKR_BUFFER_TOO_SMALL;
	} else {
		for (i = 0; i < mod.c->ntokens; i++)
			pSlotList[i] = (CK_SLOT_ID)mod.c->tokens[i]->rec.id;
		pSlotList[i] = EMPTY_SLOT_ID;
		*pulCount = n;
	}
	mod_unlock();
	return rv;
}

CK_RV
C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	token *t;
	CK_RV rv = CKR_OK;

	CHECK_INIT();
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	mod_lock();
	T11_IGNORE(core_refresh(
		mod.c)); /* unreadable now: the loaded tokens serve */
	t = slot_token_inlock(slotID);
	if (t == NULL && slotID != EMPTY_SLOT_ID) {
		rv = CKR_SLOT_ID_INVALID;
		goto out;
	}
	memset(pInfo, 0, sizeof(*pInfo));
	pad_string(pInfo->slotDescription, sizeof(pInfo->slotDescription),
		   t ? t->rec.label : "tpm11 new token");
	pad_string(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
		   t ? t->rec.manufacturer : "tpm11");
	pInfo->flags = CKF_TOKEN_PRESENT | CKF_HW_SLOT;
	if (t) {
		pInfo->hardwareVersion.major = t->rec.hw_major;
		pInfo->hardwareVersion.minor = t->rec.hw_minor;
		pInfo->firmwareVersion.major = t->rec.fw_major;
		pInfo->firmwareVersion.minor = t->rec.fw_minor;
	}
out:
	mod_unlock();
	return rv;
}

static CK_ULONG
token_session_count_inlock(CK_SLOT_ID slot, bool rw_only)
{
	CK_ULONG n = 0;
	size_t i;

	for (i = 0; i < mod.nsessions; i++)
		if (mod.sessions[i]->slot == slot &&
		    (!rw_only || (mod.sessions[i]->flags & CKF_RW_SESSION)))
			n++;
	return n;
}

CK_RV
C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	token *t;
	CK_RV rv = CKR_OK;

	CHECK_INIT();
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	mod_lock();
	T11_IGNORE(core_refresh(
		mod.c)); /* unreadable now: the loaded tokens serve */
	t = slot_token_inlock(slotID);
	if (t == NULL && slotID != EMPTY_SLOT_ID) {
		rv = CKR_SLOT_ID_INVALID;
		goto out;
	}
	memset(pInfo, 0, sizeof(*pInfo));
	pad_string(pInfo->label, sizeof(pInfo->label), t ? t->rec.label : "");
	pad_string(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
		   t ? t->rec.manufacturer : "tpm11");
	pad_string(pInfo->model, sizeof(pInfo->model),
		   t ? t->rec.model : "TPM 2.0");
	pad_string(pInfo->serialNumber, sizeof(pInfo->serialNumber),
		   t ? t->rec.serial : "");
	pInfo->flags = CKF_RNG;
	if (t != NULL) {
		pInfo->flags |= CKF_LOGIN_REQUIRED | CKF_TOKEN_INITIALIZED;
		if (!(t->rec.flags & TOKEN_REC_USER_PIN_UNSET))
			pInfo->flags |= CKF_USER_PIN_INITIALIZED;
		/* The TPM's dictionary-attack state, as last seen (no TPM
		 * command here; it is refreshed at each login). */
		if (t->lockout_known) {
			tpm_lockout *l = &t->lockout;

			if (l->in_lockout)
				pInfo->flags |=
					CKF_USER_PIN_LOCKED | CKF_SO_PIN_LOCKED;
			else if (l->max_tries && l->counter + 1 == l->max_tries)
				pInfo->flags |= CKF_USER_PIN_FINAL_TRY |
						CKF_SO_PIN_FINAL_TRY;
			else if (l->counter > 0)
				pInfo->flags |= CKF_USER_PIN_COUNT_LOW |
						CKF_SO_PIN_COUNT_LOW;
		}
		pInfo->hardwareVersion.major = t->rec.hw_major;
		pInfo->hardwareVersion.minor = t->rec.hw_minor;
		pInfo->firmwareVersion.major = t->rec.fw_major;
		pInfo->firmwareVersion.minor = t->rec.fw_minor;
	}
	pInfo->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
	pInfo->ulSessionCount = token_session_count_inlock(slotID, false);
	pInfo->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
	pInfo->ulRwSessionCount = token_session_count_inlock(slotID, true);
	pInfo->ulMaxPinLen = TOKEN_MAX_PIN;
	pInfo->ulMinPinLen = TOKEN_MIN_PIN;
	pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	memset(pInfo->utcTime, ' ', sizeof(pInfo->utcTime));
out:
	mod_unlock();
	return rv;
}

static CK_RV
slot_check(CK_SLOT_ID slotID)
{
	CK_RV rv = CKR_OK;

	mod_lock();
	T11_IGNORE(core_refresh(
		mod.c)); /* unreadable now: the loaded tokens serve */
	if (slotID != EMPTY_SLOT_ID && slot_token_inlock(slotID) == NULL)
		rv = CKR_SLOT_ID_INVALID;
	mod_unlock();
	return rv;
}

/* What the TPM offers, from the store's copy (no TPM command): every
 * token of a store sits on the same TPM. */
static uint32_t
mech_tpm_has(void)
{
	uint32_t has;

	mod_lock();
	has = mod.c != NULL ? mod.c->caps.has : TPM_HAS_ALL;
	mod_unlock();
	return has;
}

CK_RV
C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pList,
		   CK_ULONG_PTR pulCount)
{
	CK_ULONG n = 0, i, lo, hi;
	uint32_t has;
	CK_RV rv;

	CHECK_INIT();
	if (pulCount == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = slot_check(slotID)) != CKR_OK)
		return rv;
	has = mech_tpm_has();
	for (i = 0; i < mech_count(); i++) {
		if (!mech_offered(mech_at(i), has, &lo, &hi))
			continue;
		if (pList != NULL && n < *pulCount)
			pList[n] = mech_at(i)->type;
		n++;
	}
	/* v2.40 5.5 C_GetMechanismList: a NULL list asks the count. */
	rv = pList != NULL && *pulCount < n ? CKR_BUFFER_TOO_SMALL : CKR_OK;
	*pulCount = n;
	return rv;
}

CK_RV
C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
		   CK_MECHANISM_INFO_PTR pInfo)
{
	CK_RV rv;

	CHECK_INIT();
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = slot_check(slotID)) != CKR_OK)
		return rv;
	return mech_info(type, mech_tpm_has(), pInfo);
}

/* A PIN from a caller: a NUL-terminated copy, wiped by the caller. */
static char *
pin_dup(CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		return NULL;
	if (len)
		memcpy(s, pin, len);
	s[len] = '\0';
	return s;
}

static void
label_from_padded(const CK_UTF8CHAR *in, char out[TOKEN_LABEL_MAX + 1])
{
	int n = TOKEN_LABEL_MAX;

	memcpy(out, in, TOKEN_LABEL_MAX);
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\0'))
		n--;
	out[n] = '\0';
}

/* PKCS#11 v2.40 5.6 C_InitToken. On the empty slot: a new token with this
 * SO PIN and no user PIN (C_InitPIN sets it). On an existing token: the SO
 * PIN must be right; its keys are destroyed and the token made anew. */
CK_RV
C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
	    CK_UTF8CHAR_PTR pLabel)
{
	char label[TOKEN_LABEL_MAX + 1], *pin = NULL;
	token *t;
	CK_RV rv;
	size_t i;

	CHECK_INIT();
	if (pLabel == NULL || (pPin == NULL && ulPinLen > 0))
		return CKR_ARGUMENTS_BAD;
	if (pPin == NULL) /* no protected authentication path */
		return CKR_ARGUMENTS_BAD;
	if (ulPinLen < TOKEN_MIN_PIN || ulPinLen > TOKEN_MAX_PIN)
		return CKR_PIN_LEN_RANGE;
	label_from_padded(pLabel, label);
	if (label[0] == '\0')
		return CKR_ARGUMENTS_BAD;
	if ((pin = pin_dup(pPin, ulPinLen)) == NULL)
		return CKR_HOST_MEMORY;
	mod_lock();
	for (i = 0; i < mod.nsessions; i++) {
		if (mod.sessions[i]->slot == slotID) {
			rv = CKR_SESSION_EXISTS;
			goto out;
		}
	}
	if ((rv = core_create_store(mod.c)) != CKR_OK)
		goto out;
	/* A store that does not read back whole is not written to. */
	if ((rv = core_reload(mod.c)) != CKR_OK) {
		log_error("C_InitToken: %s", mod.c->err);
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	if (slotID != EMPTY_SLOT_ID) {
		if ((t = slot_token_inlock(slotID)) == NULL) {
			rv = CKR_SLOT_ID_INVALID;
			goto out;
		}
		rv = token_login(mod.c, t, CKU_SO, pin, ulPinLen);
		if (rv != CKR_OK)
			goto out;
		token_logout(mod.c, t);
		if ((rv = token_delete(mod.c, t)) != CKR_OK)
			goto out;
	}
	if (core_find_token(mod.c, label) != NULL) {
		log_error("C_InitToken: a token labelled \"%s\" exists", label);
		rv = CKR_FUNCTION_FAILED;
		goto out;
	}
	if (mod.c->primary_name.len == 0 && core_tpm(mod.c) != CKR_OK) {
		/* No primary yet: do what `tpm11 init` does. */
		if ((rv = core_init_primary(mod.c, TPM_DEFAULT_PRIMARY)) !=
		    CKR_OK)
			goto out;
	}
	rv = token_create(mod.c, label, pin, NULL, NULL);
	if (rv != CKR_OK)
		log_error("C_InitToken: %s", mod.c->err);
out:
	mod_unlock();
	secure_free(pin, ulPinLen + 1);
	LOG_RV("C_InitToken", rv);
	return rv;
}

CK_RV
C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	session *s;
	token *t;
	char *pin;
	CK_RV rv;

	CHECK_INIT();
	if (pPin == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((pin = pin_dup(pPin, ulPinLen)) == NULL)
		return CKR_HOST_MEMORY;
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if (t->login != CKU_SO) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	rv = token_init_pin(mod.c, t, NULL, 0, pin, ulPinLen);
out:
	mod_unlock();
	secure_free(pin, ulPinLen + 1);
	LOG_RV("C_InitPIN", rv);
	return rv;
}

CK_RV
C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
	 CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
	session *s;
	token *t;
	char *oldp = NULL, *newp = NULL;
	CK_RV rv;

	CHECK_INIT();
	if (pOldPin == NULL || pNewPin == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((oldp = pin_dup(pOldPin, ulOldLen)) == NULL ||
	    (newp = pin_dup(pNewPin, ulNewLen)) == NULL) {
		secure_free(oldp, ulOldLen + 1);
		return CKR_HOST_MEMORY;
	}
	mod_lock();
	if ((rv = session_get_inlock(hSession, &s, &t)) != CKR_OK)
		goto out;
	if (!(s->flags & CKF_RW_SESSION)) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	rv = token_change_pin(mod.c, t, t->login == CKU_SO ? CKU_SO : CKU_USER,
			      oldp, ulOldLen, newp, ulNewLen);
out:
	mod_unlock();
	secure_free(oldp, ulOldLen + 1);
	secure_free(newp, ulNewLen + 1);
	LOG_RV("C_SetPIN", rv);
	return rv;
}
