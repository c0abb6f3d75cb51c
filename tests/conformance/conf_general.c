/* Conformance checks of the general-purpose, slot and token functions
 * (conf.h; the cases run from the table in conformance.c): the function
 * list and the v3.0 interfaces, C_Initialize, C_GetInfo, slots and tokens,
 * the token's keys, the v3.0 functions, fork and C_Finalize. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"

/* What test_interfaces and test_info find, for the checks after them. */
static conf_function_list_3_0 *p30; /* the v3.0 list, when offered */
static bool fork_safe_claimed;
static bool have_v3_interface;
static bool have_v2_interface;
static CK_VERSION info_version;

/* === 1. the function list and the v3.0 interfaces ======================== */

bool
test_load(void)
{
	CK_RV rv = (CK_RV)-1;

	real = t11_load_module_checked(&rv);
	if (rv != (CK_RV)-1)
		fn_record(FN_C_GetFunctionList, rv);
	if (real == NULL)
		return false;
#define P(name, p, a)                                                     \
	tap(real->name != NULL,                                           \
	    "function list: " #name " is present (not NULL)");
	FUNCS(P)
#undef P
	if (real->C_Initialize == NULL || real->C_Finalize == NULL ||
	    real->C_GetSlotList == NULL || real->C_OpenSession == NULL) {
		t11_bail("the function list lacks basic functions");
		return false;
	}
	track_setup();
	return true;
}

static bool
version_is(const CK_VERSION *v, int major, int minor)
{
	return v->major == major && v->minor == minor;
}

void
test_interfaces(void)
{
	get_interface_list_fn list_fn =
		(get_interface_list_fn)t11_module_sym("C_GetInterfaceList");
	get_interface_fn get_fn =
		(get_interface_fn)t11_module_sym("C_GetInterface");
	conf_interface ifs[16], *iface = NULL;
	CK_ULONG n = 0, n1, i;
	CK_VERSION v;
	CK_RV rv;

	table_set("C_GetInterfaceList", list_fn ? "supported" : "not exported");
	table_set("C_GetInterface", get_fn ? "supported" : "not exported");
	if (!tap(list_fn != NULL,
		 "C_GetInterfaceList: exported by the module (v3.0 5.4)") ||
	    !tap(get_fn != NULL,
		 "C_GetInterface: exported by the module (v3.0 5.4)"))
		return;
	expect_rv(list_fn(NULL, NULL), CKR_ARGUMENTS_BAD,
		  "C_GetInterfaceList: NULL count -> CKR_ARGUMENTS_BAD");
	rv = list_fn(NULL, &n);
	if (!tap(rv == CKR_OK && n >= 2 && n <= NELEM(ifs),
		 "C_GetInterfaceList: NULL list gives the number of interfaces "
		 "(at least 2: v3.0 and v2.40)")) {
		diag("got %s, count %lu", rv_name(rv), (unsigned long)n);
		if (rv != CKR_OK || n == 0 || n > NELEM(ifs))
			return;
	}
	n1 = n - 1;
	expect_rv(list_fn(ifs, &n1), CKR_BUFFER_TOO_SMALL,
		  "C_GetInterfaceList: a list one too short -> "
		  "CKR_BUFFER_TOO_SMALL");
	tap(n1 == n, "C_GetInterfaceList: CKR_BUFFER_TOO_SMALL sets the "
		     "needed count");
	memset(ifs, 0, sizeof(ifs));
	rv = list_fn(ifs, &n);
	expect_rv(rv, CKR_OK, "C_GetInterfaceList: fills the list");
	if (rv != CKR_OK)
		return;
	for (i = 0; i < n; i++) {
		CK_VERSION *fv = ifs[i].pFunctionList;
		bool std = ifs[i].pInterfaceName != NULL &&
			   strcmp((char *)ifs[i].pInterfaceName, "PKCS 11") == 0;

		diag("interface %lu: \"%s\" %u.%u flags 0x%lx", (unsigned long)i,
		     ifs[i].pInterfaceName ? (char *)ifs[i].pInterfaceName
					   : "(null)",
		     fv ? fv->major : 0, fv ? fv->minor : 0,
		     (unsigned long)ifs[i].flags);
		if (!std || fv == NULL)
			continue;
		if (version_is(fv, 3, 0)) {
			have_v3_interface = true;
			p30 = (conf_function_list_3_0 *)fv;
		}
		if (version_is(fv, 2, 40))
			have_v2_interface = true;
		if (ifs[i].flags & CKF_INTERFACE_FORK_SAFE)
			fork_safe_claimed = true;
		tap((ifs[i].flags & ~CKF_INTERFACE_FORK_SAFE) == 0,
		    "C_GetInterfaceList: \"PKCS 11\" %u.%u has no flags but "
		    "CKF_INTERFACE_FORK_SAFE",
		    fv->major, fv->minor);
	}
	tap(have_v3_interface,
	    "C_GetInterfaceList: offers \"PKCS 11\" version 3.0");
	tap(have_v2_interface,
	    "C_GetInterfaceList: offers \"PKCS 11\" version 2.40");
	table_put("CKF_INTERFACE_FORK_SAFE",
		  fork_safe_claimed ? "claimed" : "not claimed");

	v.major = 3;
	v.minor = 0;
	iface = NULL;
	rv = get_fn((CK_UTF8CHAR *)"PKCS 11", &v, &iface, 0);
	if (!tap(rv == CKR_OK && iface && iface->pFunctionList &&
			 version_is(iface->pFunctionList, 3, 0),
		 "C_GetInterface: (\"PKCS 11\", 3.0) returns the v3.0 list"))
		diag("got %s", rv_name(rv));
	else
		p30 = iface->pFunctionList;
	v.major = 2;
	v.minor = 40;
	iface = NULL;
	rv = get_fn((CK_UTF8CHAR *)"PKCS 11", &v, &iface, 0);
	if (!tap(rv == CKR_OK && iface && iface->pFunctionList &&
			 version_is(iface->pFunctionList, 2, 40),
		 "C_GetInterface: (\"PKCS 11\", 2.40) returns a v2.40 list"))
		diag("got %s", rv_name(rv));
	iface = NULL;
	rv = get_fn(NULL, NULL, &iface, 0);
	if (!tap(rv == CKR_OK && iface && iface->pFunctionList &&
			 iface->pInterfaceName &&
			 strcmp((char *)iface->pInterfaceName, "PKCS 11") == 0,
		 "C_GetInterface: (NULL, NULL) returns the default "
		 "\"PKCS 11\" interface"))
		diag("got %s", rv_name(rv));
	iface = NULL;
	rv = get_fn((CK_UTF8CHAR *)"Vendor NoSuch", NULL, &iface, 0);
	if (!tap(rv != CKR_OK,
		 "C_GetInterface: an interface name it does not have is "
		 "refused"))
		diag("got %s", rv_name(rv));
	v.major = 9;
	v.minor = 9;
	rv = get_fn((CK_UTF8CHAR *)"PKCS 11", &v, &iface, 0);
	if (!tap(rv != CKR_OK, "C_GetInterface: a version it does not have "
			       "(9.9) is refused"))
		diag("got %s", rv_name(rv));
	expect_rv(get_fn((CK_UTF8CHAR *)"PKCS 11", NULL, NULL, 0),
		  CKR_ARGUMENTS_BAD,
		  "C_GetInterface: NULL ppInterface -> CKR_ARGUMENTS_BAD");
	iface = NULL;
	rv = get_fn((CK_UTF8CHAR *)"PKCS 11", NULL, &iface,
		    CKF_INTERFACE_FORK_SAFE);
	if (fork_safe_claimed)
		tap(rv == CKR_OK && iface &&
			    (iface->flags & CKF_INTERFACE_FORK_SAFE),
		    "C_GetInterface: asking for CKF_INTERFACE_FORK_SAFE "
		    "returns a fork-safe interface (one is listed)");
	else if (!tap(rv != CKR_OK,
		      "C_GetInterface: asking for CKF_INTERFACE_FORK_SAFE is "
		      "refused (none is listed as fork-safe)"))
		diag("got %s", rv_name(rv));

	if (p30 == NULL)
		return;
	{
		/* The v3.0 list: the v2.40 part and the 24 new pointers. */
		CK_FUNCTION_LIST *v2 = &p30->v2;
		int missing = 0;

#define M(name, p, a)                                                     \
	if (v2->name == NULL) {                                           \
		diag("v3.0 list: " #name " is NULL");                     \
		missing++;                                                \
	}
		FUNCS(M)
#undef M
		tap(missing == 0, "v3.0 function list: every v2.40 function "
				  "is present");
#define P3(name)                                                          \
	tap(p30->name != NULL, "v3.0 function list: " #name " is present");
		P3(C_GetInterfaceList) P3(C_GetInterface) P3(C_LoginUser)
		P3(C_SessionCancel) P3(C_MessageEncryptInit)
		P3(C_EncryptMessage) P3(C_EncryptMessageBegin)
		P3(C_EncryptMessageNext) P3(C_MessageEncryptFinal)
		P3(C_MessageDecryptInit) P3(C_DecryptMessage)
		P3(C_DecryptMessageBegin) P3(C_DecryptMessageNext)
		P3(C_MessageDecryptFinal) P3(C_MessageSignInit)
		P3(C_SignMessage) P3(C_SignMessageBegin) P3(C_SignMessageNext)
		P3(C_MessageSignFinal) P3(C_MessageVerifyInit)
		P3(C_VerifyMessage) P3(C_VerifyMessageBegin)
		P3(C_VerifyMessageNext) P3(C_MessageVerifyFinal)
#undef P3
	}
}

/* === 2. C_Initialize, C_GetInfo, slots and tokens ======================= */

void
test_before_initialize(void)
{
	CK_INFO info;
	CK_ULONG n = 0;
	CK_SESSION_HANDLE s;
	CK_C_INITIALIZE_ARGS args;
	CK_BYTE reserved = 0;

	expect_rv(p11->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED,
		  "C_GetInfo: before C_Initialize -> "
		  "CKR_CRYPTOKI_NOT_INITIALIZED");
	expect_rv(p11->C_GetSlotList(CK_FALSE, NULL, &n),
		  CKR_CRYPTOKI_NOT_INITIALIZED,
		  "C_GetSlotList: before C_Initialize -> "
		  "CKR_CRYPTOKI_NOT_INITIALIZED");
	expect_rv(p11->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s),
		  CKR_CRYPTOKI_NOT_INITIALIZED,
		  "C_OpenSession: before C_Initialize -> "
		  "CKR_CRYPTOKI_NOT_INITIALIZED");
	expect_rv(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED,
		  "C_Finalize: before C_Initialize -> "
		  "CKR_CRYPTOKI_NOT_INITIALIZED");
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	args.pReserved = &reserved;
	expect_rv(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD,
		  "C_Initialize: pReserved not NULL -> CKR_ARGUMENTS_BAD");
}

bool
test_initialize(void)
{
	CK_C_INITIALIZE_ARGS args;

	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	if (!expect_rv(p11->C_Initialize(&args), CKR_OK,
		       "C_Initialize: CKF_OS_LOCKING_OK -> CKR_OK"))
		return false;
	expect_rv(p11->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED,
		  "C_Initialize: twice -> CKR_CRYPTOKI_ALREADY_INITIALIZED");
	return true;
}

void
test_info(void)
{
	CK_INFO info;
	const char *lv = getenv("CONF_LIB_VERSION");
	CK_RV rv;

	memset(&info, 0, sizeof(info));
	rv = p11->C_GetInfo(&info);
	expect_rv(rv, CKR_OK, "C_GetInfo: -> CKR_OK");
	info_version = info.cryptokiVersion;
	if (!tap(version_is(&info.cryptokiVersion, 2, 40) ||
			 (have_v3_interface &&
			  version_is(&info.cryptokiVersion, 3, 0)),
		 "C_GetInfo: cryptokiVersion is a version the module offers "
		 "(2.40, or 3.0 with a v3.0 interface)"))
		diag("cryptokiVersion %u.%u", info.cryptokiVersion.major,
		     info.cryptokiVersion.minor);
	check_field("C_GetInfo", "manufacturerID", info.manufacturerID,
		    sizeof(info.manufacturerID), true);
	check_field("C_GetInfo", "libraryDescription", info.libraryDescription,
		    sizeof(info.libraryDescription), true);
	tap(info.flags == 0, "C_GetInfo: flags are 0 (none defined)");
	if (lv != NULL) {
		unsigned maj = 0, min = 0;

		sscanf(lv, "%u.%u", &maj, &min);
		if (!tap(info.libraryVersion.major == maj &&
				 info.libraryVersion.minor == min,
			 "C_GetInfo: libraryVersion is the project's version "
			 "(%u.%u)", maj, min))
			diag("libraryVersion %u.%u", info.libraryVersion.major,
			     info.libraryVersion.minor);
	}
	expect_rv(p11->C_GetInfo(NULL), CKR_ARGUMENTS_BAD,
		  "C_GetInfo: NULL -> CKR_ARGUMENTS_BAD");
}

static void
check_token_versions(const char *fn, const CK_VERSION *hw,
		     const CK_VERSION *fw)
{
	const char *rev = getenv("CONF_TPM_REVISION");
	const char *fw1 = getenv("CONF_TPM_FW1");

	if (rev != NULL) {
		unsigned r = (unsigned)strtoul(rev, NULL, 0);

		if (!tap(hw->major == r / 100 && hw->minor == r % 100,
			 "%s: hardwareVersion is the TPM's specification "
			 "revision (%u.%02u)", fn, r / 100, r % 100))
			diag("hardwareVersion %u.%u", hw->major, hw->minor);
	}
	if (fw1 != NULL) {
		unsigned long f = strtoul(fw1, NULL, 16);
		unsigned long maj = f >> 16, min = f & 0xffff;

		if (maj <= 255 && min <= 255) {
			if (!tap(fw->major == maj && fw->minor == min,
				 "%s: firmwareVersion is the TPM's "
				 "FIRMWARE_VERSION_1 (%lu.%lu)", fn, maj, min))
				diag("firmwareVersion %u.%u", fw->major,
				     fw->minor);
		} else {
			diag("%s: TPM firmware 0x%08lx does not fit CK_VERSION; "
			     "module says %u.%u", fn, f, fw->major, fw->minor);
		}
	}
}

void
test_slots(void)
{
	CK_SLOT_ID list[64];
	CK_ULONG n = 0, n2, i;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_RV rv;

	expect_rv(p11->C_GetSlotList(CK_FALSE, NULL, NULL), CKR_ARGUMENTS_BAD,
		  "C_GetSlotList: NULL count -> CKR_ARGUMENTS_BAD");
	rv = p11->C_GetSlotList(CK_TRUE, NULL, &n);
	if (!tap(rv == CKR_OK && n >= 1 && n <= NELEM(list),
		 "C_GetSlotList: NULL list gives the number of slots")) {
		diag("got %s, %lu", rv_name(rv), (unsigned long)n);
		return;
	}
	if (n > 1) {
		n2 = 1;
		expect_rv(p11->C_GetSlotList(CK_TRUE, list, &n2),
			  CKR_BUFFER_TOO_SMALL,
			  "C_GetSlotList: a list too short -> "
			  "CKR_BUFFER_TOO_SMALL");
		tap(n2 == n, "C_GetSlotList: CKR_BUFFER_TOO_SMALL sets the "
			     "needed count");
	}
	rv = p11->C_GetSlotList(CK_TRUE, list, &n);
	expect_rv(rv, CKR_OK, "C_GetSlotList: fills the list");
	for (i = 0; rv == CKR_OK && i < n; i++) {
		if (p11->C_GetTokenInfo(list[i], &ti) != CKR_OK)
			continue;
		if (!(ti.flags & CKF_TOKEN_INITIALIZED)) {
			if (!have_empty) {
				empty_slot = list[i];
				have_empty = true;
			}
		} else if (padded_equals(ti.label, sizeof(ti.label),
					 token_label)) {
			slot = list[i];
			have_slot = true;
		}
	}
	if (!tap(have_slot, "C_GetSlotList/C_GetTokenInfo: token \"%s\" is "
			    "listed", token_label))
		return;
	tap(have_empty, "C_GetSlotList/C_GetTokenInfo: a slot with an "
			"uninitialised token is listed (for C_InitToken)");

	expect_rv(p11->C_GetSlotInfo(BOGUS_SLOT, &si), CKR_SLOT_ID_INVALID,
		  "C_GetSlotInfo: unknown slot -> CKR_SLOT_ID_INVALID");
	expect_rv(p11->C_GetSlotInfo(slot, NULL), CKR_ARGUMENTS_BAD,
		  "C_GetSlotInfo: NULL -> CKR_ARGUMENTS_BAD");
	memset(&si, 0, sizeof(si));
	expect_rv(p11->C_GetSlotInfo(slot, &si), CKR_OK,
		  "C_GetSlotInfo: -> CKR_OK");
	check_field("C_GetSlotInfo", "slotDescription", si.slotDescription,
		    sizeof(si.slotDescription), true);
	check_field("C_GetSlotInfo", "manufacturerID", si.manufacturerID,
		    sizeof(si.manufacturerID), true);
	tap(si.flags & CKF_TOKEN_PRESENT,
	    "C_GetSlotInfo: CKF_TOKEN_PRESENT is set");
	tap((si.flags & ~(CKF_TOKEN_PRESENT | CKF_REMOVABLE_DEVICE |
			  CKF_HW_SLOT)) == 0,
	    "C_GetSlotInfo: only defined flags are set");
	check_token_versions("C_GetSlotInfo", &si.hardwareVersion,
			     &si.firmwareVersion);

	expect_rv(p11->C_GetTokenInfo(BOGUS_SLOT, &ti), CKR_SLOT_ID_INVALID,
		  "C_GetTokenInfo: unknown slot -> CKR_SLOT_ID_INVALID");
	expect_rv(p11->C_GetTokenInfo(slot, NULL), CKR_ARGUMENTS_BAD,
		  "C_GetTokenInfo: NULL -> CKR_ARGUMENTS_BAD");
	memset(&tinfo, 0, sizeof(tinfo));
	expect_rv(p11->C_GetTokenInfo(slot, &tinfo), CKR_OK,
		  "C_GetTokenInfo: -> CKR_OK");
	check_field("C_GetTokenInfo", "label", tinfo.label,
		    sizeof(tinfo.label), true);
	check_field("C_GetTokenInfo", "manufacturerID", tinfo.manufacturerID,
		    sizeof(tinfo.manufacturerID), true);
	check_field("C_GetTokenInfo", "model", tinfo.model,
		    sizeof(tinfo.model), true);
	check_field("C_GetTokenInfo", "serialNumber", tinfo.serialNumber,
		    sizeof(tinfo.serialNumber), true);
	check_field("C_GetTokenInfo", "utcTime", tinfo.utcTime,
		    sizeof(tinfo.utcTime), false);
	if (getenv("CONF_TPM_MANUFACTURER") != NULL) {
		const char *m = getenv("CONF_TPM_MANUFACTURER");

		if (!tap(padded_equals(tinfo.manufacturerID,
				       sizeof(tinfo.manufacturerID), m),
			 "C_GetTokenInfo: manufacturerID is the TPM's "
			 "manufacturer (\"%s\")", m))
			diag_field("manufacturerID", tinfo.manufacturerID,
				   sizeof(tinfo.manufacturerID));
	}
	check_token_versions("C_GetTokenInfo", &tinfo.hardwareVersion,
			     &tinfo.firmwareVersion);
	tap((tinfo.flags & CKF_TOKEN_INITIALIZED) &&
		    (tinfo.flags & CKF_USER_PIN_INITIALIZED) &&
		    (tinfo.flags & CKF_LOGIN_REQUIRED) && (tinfo.flags & CKF_RNG),
	    "C_GetTokenInfo: CKF_TOKEN_INITIALIZED, CKF_USER_PIN_INITIALIZED, "
	    "CKF_LOGIN_REQUIRED and CKF_RNG are set");
	tap(!(tinfo.flags & CKF_WRITE_PROTECTED),
	    "C_GetTokenInfo: the token is not write-protected");
	if (!tap(tinfo.ulMinPinLen >= 1 &&
			 tinfo.ulMinPinLen <= tinfo.ulMaxPinLen,
		 "C_GetTokenInfo: 1 <= ulMinPinLen <= ulMaxPinLen"))
		diag("min %lu max %lu", (unsigned long)tinfo.ulMinPinLen,
		     (unsigned long)tinfo.ulMaxPinLen);
	if (!(tinfo.flags & CKF_CLOCK_ON_TOKEN))
		diag("no CKF_CLOCK_ON_TOKEN: utcTime is not meaningful");

	/* Session counts are the application's, true at each moment. */
	{
		CK_SESSION_HANDLE a, b;
		CK_TOKEN_INFO t2;

		p11->C_CloseAllSessions(slot);
		if (open_session(slot, 0, &a) == CKR_OK &&
		    open_session(slot, CKF_RW_SESSION, &b) == CKR_OK &&
		    p11->C_GetTokenInfo(slot, &t2) == CKR_OK) {
			if (!tap((t2.ulSessionCount == 2 ||
				  t2.ulSessionCount ==
					  CK_UNAVAILABLE_INFORMATION) &&
					 (t2.ulRwSessionCount == 1 ||
					  t2.ulRwSessionCount ==
						  CK_UNAVAILABLE_INFORMATION),
				 "C_GetTokenInfo: ulSessionCount and "
				 "ulRwSessionCount count this application's "
				 "open sessions (2 and 1)"))
				diag("ulSessionCount %lu ulRwSessionCount %lu",
				     (unsigned long)t2.ulSessionCount,
				     (unsigned long)t2.ulRwSessionCount);
		} else {
			tap(false, "C_GetTokenInfo: session counts (sessions "
				   "open)");
		}
		p11->C_CloseAllSessions(slot);
	}

	if (have_empty) {
		memset(&ti, 0, sizeof(ti));
		expect_rv(p11->C_GetTokenInfo(empty_slot, &ti), CKR_OK,
			  "C_GetTokenInfo: empty slot -> CKR_OK");
		check_field("C_GetTokenInfo (empty slot)", "label", ti.label,
			    sizeof(ti.label), false);
		check_field("C_GetTokenInfo (empty slot)", "manufacturerID",
			    ti.manufacturerID, sizeof(ti.manufacturerID), true);
		check_field("C_GetTokenInfo (empty slot)", "model", ti.model,
			    sizeof(ti.model), true);
		check_field("C_GetTokenInfo (empty slot)", "serialNumber",
			    ti.serialNumber, sizeof(ti.serialNumber), false);
		memset(&si, 0, sizeof(si));
		expect_rv(p11->C_GetSlotInfo(empty_slot, &si), CKR_OK,
			  "C_GetSlotInfo: empty slot -> CKR_OK");
		check_field("C_GetSlotInfo (empty slot)", "slotDescription",
			    si.slotDescription, sizeof(si.slotDescription),
			    true);
	}
}

/* The tool's keys: handles and OpenSSL public keys. */
void
load_keys(void)
{
	CK_SESSION_HANDLE s = user_session(false);
	int k;

	if (!tap(s != CK_INVALID_HANDLE, "set-up: a user session on \"%s\"",
		 token_label))
		return;
	for (k = 0; k < NKEYS; k++) {
		struct key *key = &keys[k];

		key->pub = find_one(s, CKO_PUBLIC_KEY, key->label);
		key->priv = find_one(s, CKO_PRIVATE_KEY, key->label);
		key->pkey = key->pub ? pkey_of(s, key->pub) : NULL;
		key->ok = key->pub && key->priv && key->pkey;
		if (!tap(key->ok, "set-up: key \"%s\" (public, private, "
				  "OpenSSL public key) is found", key->label))
			diag("pub %lu priv %lu pkey %p",
			     (unsigned long)key->pub, (unsigned long)key->priv,
			     (void *)key->pkey);
	}
	p11->C_CloseSession(s);
}

/* Handles of private objects do not outlive a logout (v2.40 5.6
 * C_Logout), so sections look their keys up again. */
void
refresh_keys(CK_SESSION_HANDLE s)
{
	int k;

	for (k = 0; k < NKEYS; k++) {
		keys[k].pub = find_one(s, CKO_PUBLIC_KEY, keys[k].label);
		keys[k].priv = find_one(s, CKO_PRIVATE_KEY, keys[k].label);
	}
}

/* === 11. v3.0 functions ==================================================== */

void
test_v3(void)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_RV rv;

	if (p30 == NULL) {
		tap(false, "v3.0: a v3.0 function list to test");
		return;
	}
	p11->C_CloseAllSessions(slot);
	if (open_session(slot, CKF_RW_SESSION, &s) != CKR_OK)
		return;
	rv = p30->C_LoginUser(s, CKU_USER, (CK_UTF8CHAR *)"wrong-pin-0000", 14,
			      NULL, 0);
	expect_rv(rv, CKR_PIN_INCORRECT,
		  "C_LoginUser: wrong PIN -> CKR_PIN_INCORRECT");
	rv = p30->C_LoginUser(s, CKU_USER, (CK_UTF8CHAR *)user_pin,
			      strlen(user_pin), NULL, 0);
	expect_rv(rv, CKR_OK, "C_LoginUser: CKU_USER, right PIN, no user name "
			      "-> CKR_OK");
	table_put("C_LoginUser", "%s", rv == CKR_OK ? "supported" : rv_name(rv));
	expect_state(s, CKS_RW_USER_FUNCTIONS,
		     "C_LoginUser: the session is in CKS_RW_USER_FUNCTIONS");
	expect_rv(p30->C_LoginUser(s, CKU_USER, (CK_UTF8CHAR *)user_pin,
				   strlen(user_pin), NULL, 0),
		  CKR_USER_ALREADY_LOGGED_IN,
		  "C_LoginUser: again -> CKR_USER_ALREADY_LOGGED_IN");
	p11->C_Logout(s);
	rv = p30->C_LoginUser(s, CKU_USER, (CK_UTF8CHAR *)user_pin,
			      strlen(user_pin), (CK_UTF8CHAR *)"user", 4);
	diag("C_LoginUser with user name \"user\": %s", rv_name(rv));
	table_put("C_LoginUser with a user name", "%s",
		  rv == CKR_OK ? "accepted (ignored)" : rv_name(rv));
	if (rv != CKR_OK)
		conf_login(s, CKU_USER, user_pin);
	refresh_keys(s);

	/* C_SessionCancel */
	if (keys[K_P256].ok) {
		CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
		unsigned char dg[32] = { 1 }, sig[128];
		CK_ULONG sl = sizeof(sig);

		rv = p11->C_SignInit(s, &m, keys[K_P256].priv);
		rv = p30->C_SessionCancel(s, CKF_SIGN);
		expect_rv(rv, CKR_OK,
			  "C_SessionCancel: CKF_SIGN with a signature active -> "
			  "CKR_OK");
		table_put("C_SessionCancel", "%s",
			  rv == CKR_OK ? "supported" : rv_name(rv));
		expect_rv(p11->C_Sign(s, dg, 32, sig, &sl),
			  CKR_OPERATION_NOT_INITIALIZED,
			  "C_SessionCancel: the signature operation is gone "
			  "(C_Sign -> CKR_OPERATION_NOT_INITIALIZED)");
		expect_rv(p11->C_SignInit(s, &m, keys[K_P256].priv), CKR_OK,
			  "C_SessionCancel: C_SignInit works again");
		expect_rv(p30->C_SessionCancel(s, 0), CKR_OK,
			  "C_SessionCancel: no flags -> CKR_OK");
		if (expect_rv(p11->C_SignInit(s, &m, keys[K_P256].priv),
			      CKR_OPERATION_ACTIVE,
			      "C_SessionCancel: no flags leaves the signature "
			      "active (C_SignInit -> CKR_OPERATION_ACTIVE)") ==
		    false)
			p11->C_SignInit(s, &m, keys[K_P256].priv);
		expect_rv(p30->C_SessionCancel(s, CKF_DECRYPT), CKR_OK,
			  "C_SessionCancel: a flag with no such operation -> "
			  "CKR_OK");
		if (expect_rv(p11->C_SignInit(s, &m, keys[K_P256].priv),
			      CKR_OPERATION_ACTIVE,
			      "C_SessionCancel: CKF_DECRYPT leaves the signature "
			      "active (C_SignInit -> CKR_OPERATION_ACTIVE)") ==
		    false)
			p11->C_SignInit(s, &m, keys[K_P256].priv);
		sl = sizeof(sig);
		expect_rv(p11->C_Sign(s, dg, 32, sig, &sl), CKR_OK,
			  "C_SessionCancel: the signature still completes");
	}
	expect_rv(p30->C_SessionCancel(BOGUS_HANDLE, CKF_SIGN),
		  CKR_SESSION_HANDLE_INVALID,
		  "C_SessionCancel: unknown session -> "
		  "CKR_SESSION_HANDLE_INVALID");

	/* Message-based functions: supported only with a mechanism that
	 * says so. */
	{
		CK_FLAGS mf = 0;
		CK_ULONG i;
		CK_MECHANISM m = { CKM_AES_GCM, NULL, 0 };
		unsigned char b[64];
		CK_ULONG bl = sizeof(b);
		struct {
			const char *name;
			CK_RV rv;
		} r[20];
		int k = 0, j;

		for (i = 0; i < nmechs; i++)
			mf |= mech_infos[i].flags;
		mf &= CONF_CKF_MESSAGE_ENCRYPT | CONF_CKF_MESSAGE_DECRYPT |
		      CONF_CKF_MESSAGE_SIGN | CONF_CKF_MESSAGE_VERIFY |
		      CONF_CKF_MULTI_MESSAGE;
#define R(fname, call) r[k].name = #fname, r[k++].rv = p30->call
		R(C_MessageEncryptInit, C_MessageEncryptInit(s, &m, keys[0].priv));
		R(C_EncryptMessage, C_EncryptMessage(s, b, 12, NULL, 0, b, 16, b, &bl));
		R(C_EncryptMessageBegin, C_EncryptMessageBegin(s, b, 12, NULL, 0));
		R(C_EncryptMessageNext, C_EncryptMessageNext(s, b, 12, b, 16, b, &bl, 0));
		R(C_MessageEncryptFinal, C_MessageEncryptFinal(s));
		R(C_MessageDecryptInit, C_MessageDecryptInit(s, &m, keys[0].priv));
		R(C_DecryptMessage, C_DecryptMessage(s, b, 12, NULL, 0, b, 16, b, &bl));
		R(C_DecryptMessageBegin, C_DecryptMessageBegin(s, b, 12, NULL, 0));
		R(C_DecryptMessageNext, C_DecryptMessageNext(s, b, 12, b, 16, b, &bl, 0));
		R(C_MessageDecryptFinal, C_MessageDecryptFinal(s));
		R(C_MessageSignInit, C_MessageSignInit(s, &m, keys[0].priv));
		R(C_SignMessage, C_SignMessage(s, NULL, 0, b, 16, b, &bl));
		R(C_SignMessageBegin, C_SignMessageBegin(s, NULL, 0));
		R(C_SignMessageNext, C_SignMessageNext(s, NULL, 0, b, 16, b, &bl));
		R(C_MessageSignFinal, C_MessageSignFinal(s));
		R(C_MessageVerifyInit, C_MessageVerifyInit(s, &m, keys[0].priv));
		R(C_VerifyMessage, C_VerifyMessage(s, NULL, 0, b, 16, b, 16));
		R(C_VerifyMessageBegin, C_VerifyMessageBegin(s, NULL, 0));
		R(C_VerifyMessageNext, C_VerifyMessageNext(s, NULL, 0, b, 16, b, 16));
		R(C_MessageVerifyFinal, C_MessageVerifyFinal(s));
#undef R
		for (j = 0; j < k; j++) {
			if (mf == 0) {
				if (!tap(r[j].rv == CKR_FUNCTION_NOT_SUPPORTED ||
						 r[j].rv == CKR_MECHANISM_INVALID ||
						 r[j].rv ==
							 CKR_OPERATION_NOT_INITIALIZED,
					 "%s: no mechanism has a CKF_MESSAGE_* "
					 "flag -> CKR_FUNCTION_NOT_SUPPORTED",
					 r[j].name))
					diag("got %s", rv_name(r[j].rv));
			}
			table_put(r[j].name, "%s",
				  r[j].rv == CKR_FUNCTION_NOT_SUPPORTED
					  ? "CKR_FUNCTION_NOT_SUPPORTED"
					  : "implemented");
		}
		if (mf != 0)
			diag("message-based mechanisms advertised (flags 0x%lx): "
			     "not exercised here", (unsigned long)mf);
	}
	p11->C_CloseAllSessions(slot);
}

/* === 12. fork ================================================================ */

void
test_fork(void)
{
	CK_SESSION_HANDLE s = user_session(true);
	pid_t pid;
	int st = 0;

	if (s == CK_INVALID_HANDLE)
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* The child: exit code bit 0 = parent's session usable (or
		 * not), bit 1 = C_Initialize works, bit 2 = a new session
		 * generates random bytes. */
		CK_SESSION_INFO info;
		CK_SESSION_HANDLE c;
		unsigned char r[16];
		int code = 0;
		CK_RV rv = p11->C_GetSessionInfo(s, &info);

		if (rv == CKR_OK && info.state == CKS_RW_USER_FUNCTIONS)
			code |= 1;
		if (rv == CKR_CRYPTOKI_NOT_INITIALIZED || rv == CKR_OK) {
			if (rv != CKR_OK)
				rv = p11->C_Initialize(NULL);
			if (rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
				code |= 2;
			if (open_session(slot, 0, &c) == CKR_OK &&
			    p11->C_GenerateRandom(c, r, sizeof(r)) == CKR_OK)
				code |= 4;
			p11->C_Finalize(NULL);
		}
		_exit(code);
	}
	if (!tap(pid > 0, "fork: works"))
		return;
	waitpid(pid, &st, 0);
	if (fork_safe_claimed)
		tap(WIFEXITED(st) && (WEXITSTATUS(st) & 1),
		    "fork: the interface is CKF_INTERFACE_FORK_SAFE, so the "
		    "child can use the parent's session and login");
	tap(WIFEXITED(st) && (WEXITSTATUS(st) & 6) == 6,
	    "fork: the child can C_Initialize and use the token (v2.40 6.7.7)");
	diag("child exit status 0x%x", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	{
		unsigned char r[16];

		expect_rv(p11->C_GenerateRandom(s, r, sizeof(r)), CKR_OK,
			  "fork: the parent's session still works after the "
			  "child");
		expect_state(s, CKS_RW_USER_FUNCTIONS,
			     "fork: the parent is still logged in");
	}
	p11->C_CloseAllSessions(slot);
}

/* === 14. C_Finalize ========================================================== */

void
test_finalize(void)
{
	CK_SESSION_HANDLE s;
	CK_BYTE dummy = 0;

	open_session(slot, 0, &s);
	expect_rv(p11->C_Finalize(&dummy), CKR_ARGUMENTS_BAD,
		  "C_Finalize: pReserved not NULL -> CKR_ARGUMENTS_BAD");
	expect_rv(p11->C_Finalize(NULL), CKR_OK,
		  "C_Finalize: with a session open -> CKR_OK");
	expect_rv(p11->C_GetSessionInfo(s, &(CK_SESSION_INFO){ 0 }),
		  CKR_CRYPTOKI_NOT_INITIALIZED,
		  "C_Finalize: calls afterwards -> "
		  "CKR_CRYPTOKI_NOT_INITIALIZED");
	expect_rv(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED,
		  "C_Finalize: twice -> CKR_CRYPTOKI_NOT_INITIALIZED");
}
