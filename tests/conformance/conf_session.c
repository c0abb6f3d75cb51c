/* Conformance checks of sessions, login and PINs (conf.h; the cases run
 * from the table in conformance.c): C_OpenSession, C_GetSessionInfo,
 * C_Login, C_Logout, session objects, C_InitToken, C_InitPIN and
 * C_SetPIN. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

/* === 3. sessions and login (v2.40 5.6) ==================================== */

void
test_sessions(void)
{
	CK_SESSION_HANDLE ro = CK_INVALID_HANDLE, rw = CK_INVALID_HANDLE, s2;
	CK_SESSION_INFO info;
	CK_OBJECT_HANDLE h, priv;
	CK_OBJECT_CLASS pk = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tpriv[] = { { CKA_CLASS, &pk, sizeof(pk) } };
	CK_RV rv;
	CK_ULONG n;
	char lbl[64];

	p11->C_CloseAllSessions(slot);
	expect_rv(p11->C_OpenSession(slot, 0, NULL, NULL, &s2),
		  CKR_SESSION_PARALLEL_NOT_SUPPORTED,
		  "C_OpenSession: without CKF_SERIAL_SESSION -> "
		  "CKR_SESSION_PARALLEL_NOT_SUPPORTED");
	expect_rv(p11->C_OpenSession(BOGUS_SLOT, CKF_SERIAL_SESSION, NULL, NULL,
				     &s2),
		  CKR_SLOT_ID_INVALID,
		  "C_OpenSession: unknown slot -> CKR_SLOT_ID_INVALID");
	expect_rv(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, NULL),
		  CKR_ARGUMENTS_BAD,
		  "C_OpenSession: NULL phSession -> CKR_ARGUMENTS_BAD");
	if (!expect_rv(open_session(slot, 0, &ro), CKR_OK,
		       "C_OpenSession: read-only session -> CKR_OK") ||
	    !expect_rv(open_session(slot, CKF_RW_SESSION, &rw), CKR_OK,
		       "C_OpenSession: read/write session -> CKR_OK"))
		goto out;
	tap(ro != rw && ro != CK_INVALID_HANDLE && rw != CK_INVALID_HANDLE,
	    "C_OpenSession: distinct, valid handles");
	memset(&info, 0, sizeof(info));
	rv = p11->C_GetSessionInfo(ro, &info);
	if (!tap(rv == CKR_OK && info.slotID == slot &&
			 info.state == CKS_RO_PUBLIC_SESSION &&
			 (info.flags & CKF_SERIAL_SESSION) &&
			 !(info.flags & CKF_RW_SESSION),
		 "C_GetSessionInfo: read-only session: slot, "
		 "CKS_RO_PUBLIC_SESSION, CKF_SERIAL_SESSION without "
		 "CKF_RW_SESSION"))
		diag("%s state %s flags 0x%lx slot %lu", rv_name(rv),
		     state_name(info.state), (unsigned long)info.flags,
		     (unsigned long)info.slotID);
	memset(&info, 0, sizeof(info));
	rv = p11->C_GetSessionInfo(rw, &info);
	if (!tap(rv == CKR_OK && info.state == CKS_RW_PUBLIC_SESSION &&
			 (info.flags & CKF_RW_SESSION) &&
			 (info.flags & CKF_SERIAL_SESSION),
		 "C_GetSessionInfo: read/write session: CKS_RW_PUBLIC_SESSION, "
		 "CKF_RW_SESSION|CKF_SERIAL_SESSION"))
		diag("%s state %s flags 0x%lx", rv_name(rv),
		     state_name(info.state), (unsigned long)info.flags);
	expect_rv(p11->C_GetSessionInfo(BOGUS_HANDLE, &info),
		  CKR_SESSION_HANDLE_INVALID,
		  "C_GetSessionInfo: unknown handle -> "
		  "CKR_SESSION_HANDLE_INVALID");
	expect_rv(p11->C_GetSessionInfo(ro, NULL), CKR_ARGUMENTS_BAD,
		  "C_GetSessionInfo: NULL -> CKR_ARGUMENTS_BAD");

	/* Login rules. */
	expect_rv(p11->C_Logout(ro), CKR_USER_NOT_LOGGED_IN,
		  "C_Logout: nobody logged in -> CKR_USER_NOT_LOGGED_IN");
	expect_rv(p11->C_Login(ro, 0x55, (CK_UTF8CHAR *)user_pin,
			       strlen(user_pin)),
		  CKR_USER_TYPE_INVALID,
		  "C_Login: unknown user type -> CKR_USER_TYPE_INVALID");
	expect_rv(conf_login(ro, CKU_CONTEXT_SPECIFIC, user_pin),
		  CKR_OPERATION_NOT_INITIALIZED,
		  "C_Login: CKU_CONTEXT_SPECIFIC with no operation -> "
		  "CKR_OPERATION_NOT_INITIALIZED");
	expect_rv(conf_login(rw, CKU_SO, so_pin), CKR_SESSION_READ_ONLY_EXISTS,
		  "C_Login: SO while a read-only session is open -> "
		  "CKR_SESSION_READ_ONLY_EXISTS");
	expect_state(rw, CKS_RW_PUBLIC_SESSION,
		     "C_Login: a refused SO login leaves the sessions public");
	expect_rv(conf_login(ro, CKU_USER, "wrong-pin-0000"), CKR_PIN_INCORRECT,
		  "C_Login: wrong user PIN -> CKR_PIN_INCORRECT");
	if (!(tinfo.flags & CKF_PROTECTED_AUTHENTICATION_PATH))
		expect_rv(p11->C_Login(ro, CKU_USER, NULL, 4),
			  CKR_ARGUMENTS_BAD,
			  "C_Login: NULL PIN without a protected "
			  "authentication path -> CKR_ARGUMENTS_BAD");
	tap(count_found(ro, tpriv, 1) == 0,
	    "C_FindObjects: no private object is visible before login");
	if (!expect_rv(conf_login(ro, CKU_USER, user_pin), CKR_OK,
		       "C_Login: user PIN through the read-only session -> "
		       "CKR_OK"))
		goto out;
	expect_state(ro, CKS_RO_USER_FUNCTIONS,
		     "C_GetSessionInfo: the read-only session is in "
		     "CKS_RO_USER_FUNCTIONS");
	expect_state(rw, CKS_RW_USER_FUNCTIONS,
		     "C_GetSessionInfo: the other (read/write) session is in "
		     "CKS_RW_USER_FUNCTIONS too (login state is shared)");
	if (open_session(slot, 0, &s2) == CKR_OK) {
		expect_state(s2, CKS_RO_USER_FUNCTIONS,
			     "C_OpenSession: a session opened after login is "
			     "logged in");
		p11->C_CloseSession(s2);
	}
	expect_rv(conf_login(rw, CKU_USER, user_pin),
		  CKR_USER_ALREADY_LOGGED_IN,
		  "C_Login: user again -> CKR_USER_ALREADY_LOGGED_IN");
	n = count_found(rw, tpriv, 1);
	if (!tap(n >= NKEYS && n != (CK_ULONG)-1,
		 "C_FindObjects: the private keys are visible after login"))
		diag("%lu private keys", (unsigned long)n);
	expect_rv(p11->C_CloseSession(ro), CKR_OK,
		  "C_CloseSession: the read-only session -> CKR_OK");
	expect_rv(p11->C_CloseSession(ro), CKR_SESSION_HANDLE_INVALID,
		  "C_CloseSession: closed handle -> CKR_SESSION_HANDLE_INVALID");
	ro = CK_INVALID_HANDLE;
	expect_rv(conf_login(rw, CKU_SO, so_pin),
		  CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
		  "C_Login: SO while the user is logged in -> "
		  "CKR_USER_ANOTHER_ALREADY_LOGGED_IN");

	/* Private objects: visible logged in, not after logout; a private
	 * session object is destroyed by logout. */
	priv = find_one(rw, CKO_PRIVATE_KEY, keys[K_P256].label);
	snprintf(lbl, sizeof(lbl), "conf-priv-session-%ld", (long)getpid());
	rv = create_data(rw, lbl, false, true, &h);
	expect_rv(rv, CKR_OK, "C_CreateObject: private session data object "
			      "while logged in -> CKR_OK");
	expect_rv(p11->C_Logout(rw), CKR_OK, "C_Logout: -> CKR_OK");
	expect_state(rw, CKS_RW_PUBLIC_SESSION,
		     "C_Logout: the session is public again");
	tap(count_found(rw, tpriv, 1) == 0,
	    "C_FindObjects: no private key is visible after C_Logout");
	if (priv != CK_INVALID_HANDLE) {
		char buf[64];

		expect_rv(get_attr(rw, priv, CKA_LABEL, buf, sizeof(buf), NULL),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_GetAttributeValue: a private key's handle is "
			  "invalid after C_Logout");
	}
	if (rv == CKR_OK) {
		char buf[64];

		expect_rv(get_attr(rw, h, CKA_LABEL, buf, sizeof(buf), NULL),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_Logout: destroys private session objects (handle "
			  "invalid)");
		conf_login(rw, CKU_USER, user_pin);
		tap(count_label(rw, CKO_DATA, lbl) == 0,
		    "C_Logout: the private session object is gone after "
		    "logging in again");
		p11->C_Logout(rw);
	}

	/* SO: R/W SO functions, no R/O session beside it, no user login. */
	rv = conf_login(rw, CKU_SO, so_pin);
	if (expect_rv(rv, CKR_OK, "C_Login: SO with only a read/write session "
				  "open -> CKR_OK")) {
		expect_state(rw, CKS_RW_SO_FUNCTIONS,
			     "C_GetSessionInfo: SO session is "
			     "CKS_RW_SO_FUNCTIONS");
		expect_rv(open_session(slot, 0, &s2),
			  CKR_SESSION_READ_WRITE_SO_EXISTS,
			  "C_OpenSession: read-only while the SO is logged in -> "
			  "CKR_SESSION_READ_WRITE_SO_EXISTS");
		if (s2 != CK_INVALID_HANDLE && session_state(s2) != (CK_STATE)-1)
			p11->C_CloseSession(s2);
		if (open_session(slot, CKF_RW_SESSION, &s2) == CKR_OK) {
			expect_state(s2, CKS_RW_SO_FUNCTIONS,
				     "C_OpenSession: a new read/write session "
				     "is an SO session too");
			p11->C_CloseSession(s2);
		}
		expect_rv(conf_login(rw, CKU_USER, user_pin),
			  CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
			  "C_Login: user while the SO is logged in -> "
			  "CKR_USER_ANOTHER_ALREADY_LOGGED_IN");
		expect_rv(conf_login(rw, CKU_SO, so_pin),
			  CKR_USER_ALREADY_LOGGED_IN,
			  "C_Login: SO again -> CKR_USER_ALREADY_LOGGED_IN");
		tap(count_found(rw, tpriv, 1) == 0,
		    "C_FindObjects: the SO sees no private object");
		expect_rv(p11->C_Logout(rw), CKR_OK, "C_Logout: SO -> CKR_OK");
	}
	expect_rv(conf_login(rw, CKU_SO, "wrong-so-pin-0000"),
		  CKR_PIN_INCORRECT,
		  "C_Login: wrong SO PIN -> CKR_PIN_INCORRECT");

	/* C_CloseAllSessions logs out. */
	conf_login(rw, CKU_USER, user_pin);
	open_session(slot, 0, &s2);
	expect_rv(p11->C_CloseAllSessions(slot), CKR_OK,
		  "C_CloseAllSessions: -> CKR_OK");
	expect_rv(p11->C_GetSessionInfo(rw, &info), CKR_SESSION_HANDLE_INVALID,
		  "C_CloseAllSessions: the handles are invalid afterwards");
	rw = CK_INVALID_HANDLE;
	if (open_session(slot, CKF_RW_SESSION, &rw) == CKR_OK)
		expect_state(rw, CKS_RW_PUBLIC_SESSION,
			     "C_CloseAllSessions: logs out (a new session is "
			     "public)");
	expect_rv(p11->C_CloseAllSessions(BOGUS_SLOT), CKR_SLOT_ID_INVALID,
		  "C_CloseAllSessions: unknown slot -> CKR_SLOT_ID_INVALID");

	/* Closing the last session logs out. */
	if (rw != CK_INVALID_HANDLE) {
		conf_login(rw, CKU_USER, user_pin);
		p11->C_CloseSession(rw);
		rw = CK_INVALID_HANDLE;
		if (open_session(slot, 0, &ro) == CKR_OK)
			expect_state(ro, CKS_RO_PUBLIC_SESSION,
				     "C_CloseSession: closing the last session "
				     "logs out");
	}
out:
	p11->C_CloseAllSessions(slot);
}

/* Session objects in a read-only session; token objects refused there. */
void
test_session_objects(void)
{
	CK_SESSION_HANDLE ro = CK_INVALID_HANDLE, other = CK_INVALID_HANDLE;
	CK_SESSION_HANDLE rw = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE, tok = CK_INVALID_HANDLE, h2;
	char lbl[64], buf[64];
	CK_RV rv;

	p11->C_CloseAllSessions(slot);
	if (open_session(slot, 0, &ro) != CKR_OK ||
	    open_session(slot, 0, &other) != CKR_OK) {
		tap(false, "session objects: two read-only sessions open");
		goto out;
	}
	snprintf(lbl, sizeof(lbl), "conf-ro-session-%ld", (long)getpid());
	rv = create_data(ro, lbl, false, false, &h);
	expect_rv(rv, CKR_OK, "C_CreateObject: a public session object in a "
			      "read-only public session -> CKR_OK");
	expect_rv(create_data(ro, "conf-ro-token", true, false, &h2),
		  CKR_SESSION_READ_ONLY,
		  "C_CreateObject: a token object in a read-only session -> "
		  "CKR_SESSION_READ_ONLY");
	expect_rv(create_data(ro, "conf-ro-private", false, true, &h2),
		  CKR_USER_NOT_LOGGED_IN,
		  "C_CreateObject: a private object while not logged in -> "
		  "CKR_USER_NOT_LOGGED_IN");
	if (rv == CKR_OK) {
		tap(count_label(other, CKO_DATA, lbl) == 1,
		    "C_FindObjects: another session of the application sees "
		    "the session object");
		expect_rv(set_attr(ro, h, CKA_LABEL, "conf-renamed", 12), CKR_OK,
			  "C_SetAttributeValue: a session object in a read-only "
			  "session -> CKR_OK");
		set_attr(ro, h, CKA_LABEL, lbl, strlen(lbl));
		expect_rv(p11->C_CloseSession(ro), CKR_OK,
			  "C_CloseSession: the session that made the object");
		ro = CK_INVALID_HANDLE;
		expect_rv(get_attr(other, h, CKA_LABEL, buf, sizeof(buf), NULL),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_CloseSession: destroys the session's objects "
			  "(handle invalid in another session)");
		tap(count_label(other, CKO_DATA, lbl) == 0,
		    "C_CloseSession: the session object is not found any more");
	}
	/* C_DestroyObject of a session object in a read-only session. */
	if (create_data(other, lbl, false, false, &h) == CKR_OK) {
		expect_rv(p11->C_DestroyObject(other, h), CKR_OK,
			  "C_DestroyObject: a session object in a read-only "
			  "session -> CKR_OK");
		expect_rv(p11->C_DestroyObject(other, h),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_DestroyObject: twice -> CKR_OBJECT_HANDLE_INVALID");
	}

	/* Token objects cannot be changed through a read-only session. */
	rw = user_session(true);
	snprintf(lbl, sizeof(lbl), "conf-token-data-%ld", (long)getpid());
	if (rw == CK_INVALID_HANDLE ||
	    create_data(rw, lbl, true, false, &tok) != CKR_OK) {
		tap(false, "C_CreateObject: a public token data object in a "
			   "read/write user session");
		goto out;
	}
	p11->C_Logout(rw);
	p11->C_CloseSession(rw);
	rw = CK_INVALID_HANDLE;
	tok = find_one(other, CKO_DATA, lbl);
	tap(tok != CK_INVALID_HANDLE,
	    "C_FindObjects: a public token object is visible in a read-only "
	    "public session");
	expect_rv(set_attr(other, tok, CKA_LABEL, "x", 1), CKR_SESSION_READ_ONLY,
		  "C_SetAttributeValue: a token object in a read-only session "
		  "-> CKR_SESSION_READ_ONLY");
	expect_rv(p11->C_DestroyObject(other, tok), CKR_SESSION_READ_ONLY,
		  "C_DestroyObject: a token object in a read-only session -> "
		  "CKR_SESSION_READ_ONLY");
	{
		CK_ATTRIBUTE tt[] = { { CKA_TOKEN, (void *)&yes, sizeof(yes) } };
		CK_ATTRIBUTE ts[] = { { CKA_TOKEN, (void *)&no, sizeof(no) } };

		expect_rv(p11->C_CopyObject(other, tok, tt, 1, &h2),
			  CKR_SESSION_READ_ONLY,
			  "C_CopyObject: to a token object in a read-only "
			  "session -> CKR_SESSION_READ_ONLY");
		rv = p11->C_CopyObject(other, tok, ts, 1, &h2);
		expect_rv(rv, CKR_OK, "C_CopyObject: a token object to a session "
				      "object in a read-only session -> CKR_OK");
		if (rv == CKR_OK) {
			tap(bool_is(other, h2, CKA_TOKEN, CK_FALSE),
			    "C_CopyObject: the copy is a session object");
			p11->C_DestroyObject(other, h2);
		}
	}
	rw = user_session(true);
	if (rw != CK_INVALID_HANDLE)
		expect_rv(p11->C_DestroyObject(rw, tok), CKR_OK,
			  "C_DestroyObject: the token object in a read/write "
			  "session -> CKR_OK");
out:
	p11->C_CloseAllSessions(slot);
}

/* === 13. C_InitToken, C_InitPIN, C_SetPIN (v2.40 5.6) ===================== */

static bool
slot_by_label(const char *label, CK_SLOT_ID *out)
{
	CK_SLOT_ID list[64];
	CK_ULONG n = NELEM(list), i;
	CK_TOKEN_INFO ti;

	if (p11->C_GetSlotList(CK_TRUE, list, &n) != CKR_OK)
		return false;
	for (i = 0; i < n; i++)
		if (p11->C_GetTokenInfo(list[i], &ti) == CKR_OK &&
		    (ti.flags & CKF_TOKEN_INITIALIZED) &&
		    padded_equals(ti.label, sizeof(ti.label), label)) {
			*out = list[i];
			return true;
		}
	return false;
}

static void
make_pin(char *out, size_t len, char c)
{
	memset(out, c, len);
	out[len] = '\0';
}

void
test_token_admin(void)
{
	CK_UTF8CHAR label[32];
	CK_SLOT_ID ns = 0;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE, ro = CK_INVALID_HANDLE;
	CK_TOKEN_INFO ti;
	CK_ULONG minp = tinfo.ulMinPinLen, maxp = tinfo.ulMaxPinLen;
	static char pin[300], pin2[300];
	const char *sopin2 = "conf-new-so-1357";
	const char *upin2 = "conf-new-user-2468";
	char newlabel[40];
	CK_OBJECT_HANDLE h;
	CK_RV rv;

	if (!have_empty) {
		tap(false, "C_InitToken: an empty slot to make a token in");
		return;
	}
	if (maxp > 255)
		maxp = 255;
	snprintf(newlabel, sizeof(newlabel), "CONF-NEW-%ld", (long)getpid() % 100000);
	pad_label(label, newlabel);
	if (minp > 1) {
		make_pin(pin, minp - 1, 's');
		expect_rv(p11->C_InitToken(empty_slot, (CK_UTF8CHAR *)pin,
					   minp - 1, label),
			  CKR_PIN_LEN_RANGE,
			  "C_InitToken: an SO PIN shorter than ulMinPinLen -> "
			  "CKR_PIN_LEN_RANGE");
	}
	make_pin(pin, maxp + 1, 's');
	expect_rv(p11->C_InitToken(empty_slot, (CK_UTF8CHAR *)pin, maxp + 1,
				   label),
		  CKR_PIN_LEN_RANGE,
		  "C_InitToken: an SO PIN longer than ulMaxPinLen -> "
		  "CKR_PIN_LEN_RANGE");
	expect_rv(p11->C_InitToken(empty_slot, (CK_UTF8CHAR *)sopin2,
				   strlen(sopin2), NULL),
		  CKR_ARGUMENTS_BAD,
		  "C_InitToken: NULL label -> CKR_ARGUMENTS_BAD");
	rv = p11->C_InitToken(empty_slot, (CK_UTF8CHAR *)sopin2, strlen(sopin2),
			      label);
	if (!expect_rv(rv, CKR_OK, "C_InitToken: the empty slot -> CKR_OK"))
		return;
	if (!tap(slot_by_label(newlabel, &ns),
		 "C_InitToken: the new token is listed with its label"))
		return;
	memset(&ti, 0, sizeof(ti));
	p11->C_GetTokenInfo(ns, &ti);
	tap((ti.flags & CKF_TOKEN_INITIALIZED) &&
		    !(ti.flags & CKF_USER_PIN_INITIALIZED),
	    "C_GetTokenInfo: the new token is initialised, its user PIN not");
	check_field("C_GetTokenInfo (new token)", "serialNumber",
		    ti.serialNumber, sizeof(ti.serialNumber), true);
	if (open_session(ns, CKF_RW_SESSION, &s) != CKR_OK) {
		tap(false, "C_OpenSession: on the new token");
		return;
	}
	expect_rv(conf_login(s, CKU_USER, "anything-1234"),
		  CKR_USER_PIN_NOT_INITIALIZED,
		  "C_Login: user before C_InitPIN -> "
		  "CKR_USER_PIN_NOT_INITIALIZED");
	expect_rv(p11->C_InitPIN(s, (CK_UTF8CHAR *)upin2, strlen(upin2)),
		  CKR_USER_NOT_LOGGED_IN,
		  "C_InitPIN: in a public session -> CKR_USER_NOT_LOGGED_IN");
	if (!expect_rv(conf_login(s, CKU_SO, sopin2), CKR_OK,
		       "C_Login: SO on the new token -> CKR_OK"))
		goto out;
	if (minp > 1) {
		make_pin(pin, minp - 1, 'u');
		expect_rv(p11->C_InitPIN(s, (CK_UTF8CHAR *)pin, minp - 1),
			  CKR_PIN_LEN_RANGE,
			  "C_InitPIN: shorter than ulMinPinLen -> "
			  "CKR_PIN_LEN_RANGE");
	}
	make_pin(pin, maxp + 1, 'u');
	expect_rv(p11->C_InitPIN(s, (CK_UTF8CHAR *)pin, maxp + 1),
		  CKR_PIN_LEN_RANGE,
		  "C_InitPIN: longer than ulMaxPinLen -> CKR_PIN_LEN_RANGE");
	make_pin(pin, minp, 'm');
	expect_rv(p11->C_InitPIN(s, (CK_UTF8CHAR *)pin, minp), CKR_OK,
		  "C_InitPIN: exactly ulMinPinLen (%lu) -> CKR_OK",
		  (unsigned long)minp);
	make_pin(pin, maxp, 'M');
	expect_rv(p11->C_InitPIN(s, (CK_UTF8CHAR *)pin, maxp), CKR_OK,
		  "C_InitPIN: exactly ulMaxPinLen (%lu) -> CKR_OK",
		  (unsigned long)maxp);
	p11->C_Logout(s);
	expect_rv(conf_login(s, CKU_USER, pin), CKR_OK,
		  "C_Login: with the PIN of ulMaxPinLen bytes -> CKR_OK");
	p11->C_Logout(s);
	conf_login(s, CKU_SO, sopin2);
	expect_rv(p11->C_InitPIN(s, (CK_UTF8CHAR *)upin2, strlen(upin2)), CKR_OK,
		  "C_InitPIN: the SO resets the user PIN -> CKR_OK");
	p11->C_GetTokenInfo(ns, &ti);
	tap(ti.flags & CKF_USER_PIN_INITIALIZED,
	    "C_GetTokenInfo: CKF_USER_PIN_INITIALIZED after C_InitPIN");
	p11->C_Logout(s);

	/* C_SetPIN */
	if (open_session(ns, 0, &ro) == CKR_OK) {
		expect_rv(p11->C_SetPIN(ro, (CK_UTF8CHAR *)upin2, strlen(upin2),
					(CK_UTF8CHAR *)"conf-x-9999", 11),
			  CKR_SESSION_READ_ONLY,
			  "C_SetPIN: in a read-only session -> "
			  "CKR_SESSION_READ_ONLY");
		p11->C_CloseSession(ro);
	}
	expect_rv(p11->C_SetPIN(s, (CK_UTF8CHAR *)"wrong-old-0000", 14,
				(CK_UTF8CHAR *)"conf-x-9999", 11),
		  CKR_PIN_INCORRECT,
		  "C_SetPIN: a wrong old PIN -> CKR_PIN_INCORRECT");
	if (minp > 1) {
		make_pin(pin, minp - 1, 'n');
		expect_rv(p11->C_SetPIN(s, (CK_UTF8CHAR *)upin2, strlen(upin2),
					(CK_UTF8CHAR *)pin, minp - 1),
			  CKR_PIN_LEN_RANGE,
			  "C_SetPIN: a new PIN shorter than ulMinPinLen -> "
			  "CKR_PIN_LEN_RANGE");
	}
	make_pin(pin, maxp + 1, 'n');
	expect_rv(p11->C_SetPIN(s, (CK_UTF8CHAR *)upin2, strlen(upin2),
				(CK_UTF8CHAR *)pin, maxp + 1),
		  CKR_PIN_LEN_RANGE,
		  "C_SetPIN: a new PIN longer than ulMaxPinLen -> "
		  "CKR_PIN_LEN_RANGE");
	make_pin(pin, minp, 'k');
	expect_rv(p11->C_SetPIN(s, (CK_UTF8CHAR *)upin2, strlen(upin2),
				(CK_UTF8CHAR *)pin, minp),
		  CKR_OK,
		  "C_SetPIN: public R/W session changes the user PIN, new PIN "
		  "of ulMinPinLen -> CKR_OK");
	expect_rv(conf_login(s, CKU_USER, upin2), CKR_PIN_INCORRECT,
		  "C_SetPIN: the old user PIN no longer logs in");
	expect_rv(conf_login(s, CKU_USER, pin), CKR_OK,
		  "C_SetPIN: the new user PIN logs in");
	make_pin(pin2, maxp, 'K');
	expect_rv(p11->C_SetPIN(s, (CK_UTF8CHAR *)pin, minp, (CK_UTF8CHAR *)pin2,
				maxp),
		  CKR_OK,
		  "C_SetPIN: logged-in user changes the PIN to one of "
		  "ulMaxPinLen -> CKR_OK");
	expect_rv(p11->C_SetPIN(s, (CK_UTF8CHAR *)pin2, maxp,
				(CK_UTF8CHAR *)upin2, strlen(upin2)),
		  CKR_OK, "C_SetPIN: and back -> CKR_OK");
	/* a public object for C_InitToken to wipe */
	rv = create_data(s, "conf-wipe-me", true, false, &h);
	expect_rv(rv, CKR_OK, "C_CreateObject: a token object on the new "
			      "token");
	p11->C_Logout(s);
	expect_rv(conf_login(s, CKU_SO, sopin2), CKR_OK, "C_Login: SO again");
	expect_rv(p11->C_SetPIN(s, (CK_UTF8CHAR *)sopin2, strlen(sopin2),
				(CK_UTF8CHAR *)"conf-so-2-8642", 14),
		  CKR_OK, "C_SetPIN: the SO changes the SO PIN -> CKR_OK");
	p11->C_Logout(s);
	expect_rv(conf_login(s, CKU_SO, sopin2), CKR_PIN_INCORRECT,
		  "C_SetPIN: the old SO PIN no longer logs in");
	expect_rv(conf_login(s, CKU_SO, "conf-so-2-8642"), CKR_OK,
		  "C_SetPIN: the new SO PIN logs in");
	p11->C_Logout(s);
	sopin2 = "conf-so-2-8642";

	/* C_InitToken on an existing token. */
	expect_rv(p11->C_InitToken(ns, (CK_UTF8CHAR *)sopin2, strlen(sopin2),
				   label),
		  CKR_SESSION_EXISTS,
		  "C_InitToken: with a session open on the token -> "
		  "CKR_SESSION_EXISTS");
	p11->C_CloseAllSessions(ns);
	s = CK_INVALID_HANDLE;
	expect_rv(p11->C_InitToken(ns, (CK_UTF8CHAR *)"wrong-so-0000", 13,
				   label),
		  CKR_PIN_INCORRECT,
		  "C_InitToken: an existing token with a wrong SO PIN -> "
		  "CKR_PIN_INCORRECT");
	snprintf(newlabel, sizeof(newlabel), "CONF-RE-%ld",
		 (long)getpid() % 100000);
	pad_label(label, newlabel);
	rv = p11->C_InitToken(ns, (CK_UTF8CHAR *)sopin2, strlen(sopin2), label);
	if (expect_rv(rv, CKR_OK, "C_InitToken: an existing token with the "
				  "right SO PIN -> CKR_OK (re-initialised)")) {
		CK_SLOT_ID rs = 0;

		tap(slot_by_label(newlabel, &rs),
		    "C_InitToken: the token has its new label");
		p11->C_GetTokenInfo(rs, &ti);
		tap(!(ti.flags & CKF_USER_PIN_INITIALIZED),
		    "C_InitToken: the user PIN is no longer initialised");
		if (open_session(rs, CKF_RW_SESSION, &s) == CKR_OK) {
			tap(count_label(s, CKO_DATA, "conf-wipe-me") == 0,
			    "C_InitToken: the token's objects are destroyed");
			expect_rv(conf_login(s, CKU_USER, upin2),
				  CKR_USER_PIN_NOT_INITIALIZED,
				  "C_InitToken: user login -> "
				  "CKR_USER_PIN_NOT_INITIALIZED");
			expect_rv(conf_login(s, CKU_SO, sopin2), CKR_OK,
				  "C_InitToken: the SO PIN given logs in");
			p11->C_Logout(s);
		}
		p11->C_CloseAllSessions(rs);
	}
out:
	if (s != CK_INVALID_HANDLE)
		p11->C_CloseAllSessions(ns);
}
