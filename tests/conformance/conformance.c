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
 * token's keys; C_Finalize always ends a run). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <p11-kit/pkcs11.h>

#include "t11test.h"

/* --- v3.0 names p11-kit 0.24's header lacks ------------------------------ */

#ifndef CKA_UNIQUE_ID
#define CKA_UNIQUE_ID 0x00000004UL
#endif
#ifndef CKR_OPERATION_CANCEL_FAILED
#define CKR_OPERATION_CANCEL_FAILED 0x00000202UL
#endif
#ifndef CKF_INTERFACE_FORK_SAFE
#define CKF_INTERFACE_FORK_SAFE 0x00000001UL
#endif
#define CONF_CKF_MESSAGE_ENCRYPT 0x00000002UL
#define CONF_CKF_MESSAGE_DECRYPT 0x00000004UL
#define CONF_CKF_MESSAGE_SIGN 0x00000008UL
#define CONF_CKF_MESSAGE_VERIFY 0x00000010UL
#define CONF_CKF_MULTI_MESSAGE 0x00000020UL

typedef struct {
	CK_UTF8CHAR *pInterfaceName;
	CK_VOID_PTR pFunctionList;
	CK_FLAGS flags;
} conf_interface;

typedef CK_RV (*get_interface_list_fn)(conf_interface *, CK_ULONG *);
typedef CK_RV (*get_interface_fn)(CK_UTF8CHAR *, CK_VERSION *,
				  conf_interface **, CK_FLAGS);

/* CK_FUNCTION_LIST_3_0: the v2.40 list followed by 24 more pointers
 * (pkcs11f.h of v3.0, in this order). */
typedef struct {
	CK_FUNCTION_LIST v2;
	get_interface_list_fn C_GetInterfaceList;
	get_interface_fn C_GetInterface;
	CK_RV (*C_LoginUser)(CK_SESSION_HANDLE, CK_USER_TYPE, CK_UTF8CHAR *,
			     CK_ULONG, CK_UTF8CHAR *, CK_ULONG);
	CK_RV (*C_SessionCancel)(CK_SESSION_HANDLE, CK_FLAGS);
	CK_RV (*C_MessageEncryptInit)(CK_SESSION_HANDLE, CK_MECHANISM *,
				      CK_OBJECT_HANDLE);
	CK_RV (*C_EncryptMessage)(CK_SESSION_HANDLE, void *, CK_ULONG,
				  CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG,
				  CK_BYTE *, CK_ULONG *);
	CK_RV (*C_EncryptMessageBegin)(CK_SESSION_HANDLE, void *, CK_ULONG,
				       CK_BYTE *, CK_ULONG);
	CK_RV (*C_EncryptMessageNext)(CK_SESSION_HANDLE, void *, CK_ULONG,
				      CK_BYTE *, CK_ULONG, CK_BYTE *,
				      CK_ULONG *, CK_FLAGS);
	CK_RV (*C_MessageEncryptFinal)(CK_SESSION_HANDLE);
	CK_RV (*C_MessageDecryptInit)(CK_SESSION_HANDLE, CK_MECHANISM *,
				      CK_OBJECT_HANDLE);
	CK_RV (*C_DecryptMessage)(CK_SESSION_HANDLE, void *, CK_ULONG,
				  CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG,
				  CK_BYTE *, CK_ULONG *);
	CK_RV (*C_DecryptMessageBegin)(CK_SESSION_HANDLE, void *, CK_ULONG,
				       CK_BYTE *, CK_ULONG);
	CK_RV (*C_DecryptMessageNext)(CK_SESSION_HANDLE, void *, CK_ULONG,
				      CK_BYTE *, CK_ULONG, CK_BYTE *,
				      CK_ULONG *, CK_FLAGS);
	CK_RV (*C_MessageDecryptFinal)(CK_SESSION_HANDLE);
	CK_RV (*C_MessageSignInit)(CK_SESSION_HANDLE, CK_MECHANISM *,
				   CK_OBJECT_HANDLE);
	CK_RV (*C_SignMessage)(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *,
			       CK_ULONG, CK_BYTE *, CK_ULONG *);
	CK_RV (*C_SignMessageBegin)(CK_SESSION_HANDLE, void *, CK_ULONG);
	CK_RV (*C_SignMessageNext)(CK_SESSION_HANDLE, void *, CK_ULONG,
				   CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *);
	CK_RV (*C_MessageSignFinal)(CK_SESSION_HANDLE);
	CK_RV (*C_MessageVerifyInit)(CK_SESSION_HANDLE, CK_MECHANISM *,
				     CK_OBJECT_HANDLE);
	CK_RV (*C_VerifyMessage)(CK_SESSION_HANDLE, void *, CK_ULONG,
				 CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG);
	CK_RV (*C_VerifyMessageBegin)(CK_SESSION_HANDLE, void *, CK_ULONG);
	CK_RV (*C_VerifyMessageNext)(CK_SESSION_HANDLE, void *, CK_ULONG,
				     CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG);
	CK_RV (*C_MessageVerifyFinal)(CK_SESSION_HANDLE);
} conf_function_list_3_0;

#define BOGUS_HANDLE 0x7eadbeefUL
#define BOGUS_SLOT 0x7eadbeefUL
#define BOGUS_ATTRIBUTE 0x7ffffff0UL /* below CKA_VENDOR_DEFINED, unassigned */
#define BOGUS_MECHANISM (CKM_VENDOR_DEFINED + 0x7e11UL)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* --- TAP: tests/lib/t11test.h, under the short names used throughout ----- */

#define tap t11_ok
#define tap_skip t11_skip
#define diag t11_diag
#define rv_name t11_rv_name
#define expect_rv t11_expect_rv
#define expect_rv_in t11_expect_rv_in
#define EXPECT_IN T11_EXPECT_IN

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
static void
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
static void
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

/* --- the v2.40 function list, and a tracking copy ----------------------- */

/* Every v2.40 function: name, parameters, arguments. */
#define FUNCS(X)                                                              \
	X(C_Initialize, (CK_VOID_PTR a), (a))                                 \
	X(C_Finalize, (CK_VOID_PTR a), (a))                                   \
	X(C_GetInfo, (CK_INFO_PTR a), (a))                                    \
	X(C_GetFunctionList, (CK_FUNCTION_LIST_PTR_PTR a), (a))               \
	X(C_GetSlotList, (CK_BBOOL a, CK_SLOT_ID_PTR b, CK_ULONG_PTR c),      \
	  (a, b, c))                                                          \
	X(C_GetSlotInfo, (CK_SLOT_ID a, CK_SLOT_INFO_PTR b), (a, b))          \
	X(C_GetTokenInfo, (CK_SLOT_ID a, CK_TOKEN_INFO_PTR b), (a, b))        \
	X(C_GetMechanismList,                                                 \
	  (CK_SLOT_ID a, CK_MECHANISM_TYPE_PTR b, CK_ULONG_PTR c), (a, b, c)) \
	X(C_GetMechanismInfo,                                                 \
	  (CK_SLOT_ID a, CK_MECHANISM_TYPE b, CK_MECHANISM_INFO_PTR c),       \
	  (a, b, c))                                                          \
	X(C_InitToken,                                                        \
	  (CK_SLOT_ID a, CK_UTF8CHAR_PTR b, CK_ULONG c, CK_UTF8CHAR_PTR d),   \
	  (a, b, c, d))                                                       \
	X(C_InitPIN, (CK_SESSION_HANDLE a, CK_UTF8CHAR_PTR b, CK_ULONG c),    \
	  (a, b, c))                                                          \
	X(C_SetPIN,                                                           \
	  (CK_SESSION_HANDLE a, CK_UTF8CHAR_PTR b, CK_ULONG c,                \
	   CK_UTF8CHAR_PTR d, CK_ULONG e),                                    \
	  (a, b, c, d, e))                                                    \
	X(C_OpenSession,                                                      \
	  (CK_SLOT_ID a, CK_FLAGS b, CK_VOID_PTR c, CK_NOTIFY d,              \
	   CK_SESSION_HANDLE_PTR e),                                          \
	  (a, b, c, d, e))                                                    \
	X(C_CloseSession, (CK_SESSION_HANDLE a), (a))                         \
	X(C_CloseAllSessions, (CK_SLOT_ID a), (a))                            \
	X(C_GetSessionInfo, (CK_SESSION_HANDLE a, CK_SESSION_INFO_PTR b),     \
	  (a, b))                                                             \
	X(C_GetOperationState,                                                \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c), (a, b, c))    \
	X(C_SetOperationState,                                                \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,                    \
	   CK_OBJECT_HANDLE d, CK_OBJECT_HANDLE e),                           \
	  (a, b, c, d, e))                                                    \
	X(C_Login,                                                            \
	  (CK_SESSION_HANDLE a, CK_USER_TYPE b, CK_UTF8CHAR_PTR c,            \
	   CK_ULONG d),                                                       \
	  (a, b, c, d))                                                       \
	X(C_Logout, (CK_SESSION_HANDLE a), (a))                               \
	X(C_CreateObject,                                                     \
	  (CK_SESSION_HANDLE a, CK_ATTRIBUTE_PTR b, CK_ULONG c,               \
	   CK_OBJECT_HANDLE_PTR d),                                           \
	  (a, b, c, d))                                                       \
	X(C_CopyObject,                                                       \
	  (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR c,       \
	   CK_ULONG d, CK_OBJECT_HANDLE_PTR e),                               \
	  (a, b, c, d, e))                                                    \
	X(C_DestroyObject, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b), (a, b)) \
	X(C_GetObjectSize,                                                    \
	  (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ULONG_PTR c),          \
	  (a, b, c))                                                          \
	X(C_GetAttributeValue,                                                \
	  (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR c,       \
	   CK_ULONG d),                                                       \
	  (a, b, c, d))                                                       \
	X(C_SetAttributeValue,                                                \
	  (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR c,       \
	   CK_ULONG d),                                                       \
	  (a, b, c, d))                                                       \
	X(C_FindObjectsInit,                                                  \
	  (CK_SESSION_HANDLE a, CK_ATTRIBUTE_PTR b, CK_ULONG c), (a, b, c))   \
	X(C_FindObjects,                                                      \
	  (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE_PTR b, CK_ULONG c,           \
	   CK_ULONG_PTR d),                                                   \
	  (a, b, c, d))                                                       \
	X(C_FindObjectsFinal, (CK_SESSION_HANDLE a), (a))                     \
	X(C_EncryptInit,                                                      \
	  (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c),      \
	  (a, b, c))                                                          \
	X(C_Encrypt,                                                          \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,     \
	   CK_ULONG_PTR e),                                                   \
	  (a, b, c, d, e))                                                    \
	X(C_EncryptUpdate,                                                    \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,     \
	   CK_ULONG_PTR e),                                                   \
	  (a, b, c, d, e))                                                    \
	X(C_EncryptFinal,                                                     \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c), (a, b, c))    \
	X(C_DecryptInit,                                                      \
	  (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c),      \
	  (a, b, c))                                                          \
	X(C_Decrypt,                                                          \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,     \
	   CK_ULONG_PTR e),                                                   \
	  (a, b, c, d, e))                                                    \
	X(C_DecryptUpdate,                                                    \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,     \
	   CK_ULONG_PTR e),                                                   \
	  (a, b, c, d, e))                                                    \
	X(C_DecryptFinal,                                                     \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c), (a, b, c))    \
	X(C_DigestInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b), (a, b))    \
	X(C_Digest,                                                           \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,     \
	   CK_ULONG_PTR e),                                                   \
	  (a, b, c, d, e))                                                    \
	X(C_DigestUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c),   \
	  (a, b, c))                                                          \
	X(C_DigestKey, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b), (a, b))     \
	X(C_DigestFinal,                                                      \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c), (a, b, c))    \
	X(C_SignInit,                                                         \
	  (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c),      \
	  (a, b, c))                                                          \
	X(C_Sign,                                                             \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,     \
	   CK_ULONG_PTR e),                                                   \
	  (a, b, c, d, e))                                                    \
	X(C_SignUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c),     \
	  (a, b, c))                                                          \
	X(C_SignFinal,                                                        \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c), (a, b, c))    \
	X(C_SignRecoverInit,                                                  \
	  (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c),      \
	  (a, b, c))                                                          \
	X(C_SignRecover,                                                      \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,     \
	   CK_ULONG_PTR e),                                                   \
	  (a, b, c, d, e))                                                    \
	X(C_VerifyInit,                                                       \
	  (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c),      \
	  (a, b, c))                                                          \
	X(C_Verify,                                                           \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,     \
	   CK_ULONG e),                                                       \
	  (a, b, c, d, e))                                                    \
	X(C_VerifyUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c),   \
	  (a, b, c))                                                          \
	X(C_VerifyFinal, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c),    \
	  (a, b, c))                                                          \
	X(C_VerifyRecoverInit,                                                \
	  (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c),      \
	  (a, b, c))                                                          \
	X(C_VerifyRecover,                                                    \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,     \
	   CK_ULONG_PTR e),                                                   \
	  (a, b, c, d, e))                                                    \
	X(C_DigestEncryptUpdate,                                              \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,     \
	   CK_ULONG_PTR e),                                                   \
	  (a, b, c, d, e))                                                    \
	X(C_DecryptDigestUpdate,                                              \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,     \
	   CK_ULONG_PTR e),                                                   \
	  (a, b, c, d, e))                                                    \
	X(C_SignEncryptUpdate,                                                \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,     \
	   CK_ULONG_PTR e),                                                   \
	  (a, b, c, d, e))                                                    \
	X(C_DecryptVerifyUpdate,                                              \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,     \
	   CK_ULONG_PTR e),                                                   \
	  (a, b, c, d, e))                                                    \
	X(C_GenerateKey,                                                      \
	  (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_ATTRIBUTE_PTR c,       \
	   CK_ULONG d, CK_OBJECT_HANDLE_PTR e),                               \
	  (a, b, c, d, e))                                                    \
	X(C_GenerateKeyPair,                                                  \
	  (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_ATTRIBUTE_PTR c,       \
	   CK_ULONG d, CK_ATTRIBUTE_PTR e, CK_ULONG f,                        \
	   CK_OBJECT_HANDLE_PTR g, CK_OBJECT_HANDLE_PTR h),                   \
	  (a, b, c, d, e, f, g, h))                                           \
	X(C_WrapKey,                                                          \
	  (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c,       \
	   CK_OBJECT_HANDLE d, CK_BYTE_PTR e, CK_ULONG_PTR f),                \
	  (a, b, c, d, e, f))                                                 \
	X(C_UnwrapKey,                                                        \
	  (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c,       \
	   CK_BYTE_PTR d, CK_ULONG e, CK_ATTRIBUTE_PTR f, CK_ULONG g,         \
	   CK_OBJECT_HANDLE_PTR h),                                           \
	  (a, b, c, d, e, f, g, h))                                           \
	X(C_DeriveKey,                                                        \
	  (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c,       \
	   CK_ATTRIBUTE_PTR d, CK_ULONG e, CK_OBJECT_HANDLE_PTR f),           \
	  (a, b, c, d, e, f))                                                 \
	X(C_SeedRandom, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c),     \
	  (a, b, c))                                                          \
	X(C_GenerateRandom,                                                   \
	  (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c), (a, b, c))        \
	X(C_GetFunctionStatus, (CK_SESSION_HANDLE a), (a))                    \
	X(C_CancelFunction, (CK_SESSION_HANDLE a), (a))                       \
	X(C_WaitForSlotEvent,                                                 \
	  (CK_FLAGS a, CK_SLOT_ID_PTR b, CK_VOID_PTR c), (a, b, c))

enum {
#define E(name, p, a) FN_##name,
	FUNCS(E)
#undef E
	FN_COUNT
};

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

static void
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

static CK_FUNCTION_LIST *real;       /* the module's own list */
static CK_FUNCTION_LIST track;       /* calls through it are counted */
static CK_FUNCTION_LIST *p11 = &track;
static conf_function_list_3_0 *p30;  /* the v3.0 list, when offered */

#define W(name, params, args)                                    \
	static CK_RV w_##name params                             \
	{                                                        \
		CK_RV rv_ = real->name args;                     \
		fn_record(FN_##name, rv_);                       \
		return rv_;                                      \
	}
FUNCS(W)
#undef W

static void
track_setup(void)
{
	track.version = real->version;
#define T(name, p, a) track.name = real->name ? w_##name : NULL;
	FUNCS(T)
#undef T
}

/* --- state shared by the sections -------------------------------------- */

static const char *user_pin;
static const char *so_pin;
static const char *token_label = "CONF";
static CK_SLOT_ID slot;             /* the token the script made */
static bool have_slot;
static CK_SLOT_ID empty_slot;       /* a slot whose token is not initialised */
static bool have_empty;
static CK_TOKEN_INFO tinfo;         /* of `slot`, read at the start */
static bool fork_safe_claimed;
static bool have_v3_interface;
static bool have_v2_interface;
static CK_VERSION info_version;

static CK_MECHANISM_TYPE mechs[256];
static CK_ULONG nmechs;
static CK_MECHANISM_INFO mech_infos[256];

static const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

enum { K_P256, K_P384, K_RSA, NKEYS };

struct key {
	const char *label;
	CK_KEY_TYPE type;
	unsigned bits;
	const char *group;
	CK_OBJECT_HANDLE pub, priv;
	EVP_PKEY *pkey;
	bool ok;
};

static struct key keys[NKEYS] = {
	{ "p256", CKK_EC, 256, "P-256", 0, 0, NULL, false },
	{ "p384", CKK_EC, 384, "P-384", 0, 0, NULL, false },
	{ "rsa2048", CKK_RSA, 2048, NULL, 0, 0, NULL, false },
};

/* DER of the curves' OBJECT IDENTIFIERs (CKA_EC_PARAMS, namedCurve). */
static const unsigned char oid_p192[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
					  0x3d, 0x03, 0x01, 0x01 };
static const unsigned char oid_p224[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
					  0x21 };
static const unsigned char oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
					  0x3d, 0x03, 0x01, 0x07 };
static const unsigned char oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
					  0x22 };
static const unsigned char oid_p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
					  0x23 };
static const unsigned char oid_k256[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
					  0x0a };
static const unsigned char oid_bp256[] = { 0x06, 0x09, 0x2b, 0x24, 0x03, 0x03,
					   0x02, 0x08, 0x01, 0x01, 0x07 };

struct curve {
	const char *name;       /* OpenSSL group name */
	const char *tpm_name;   /* as tpm2_getcap ecc-curves prints it */
	unsigned bits;
	const unsigned char *oid;
	size_t oid_len;
};

static const struct curve curves[] = {
	{ "P-192", "TPM2_ECC_NIST_P192", 192, oid_p192, sizeof(oid_p192) },
	{ "P-224", "TPM2_ECC_NIST_P224", 224, oid_p224, sizeof(oid_p224) },
	{ "P-256", "TPM2_ECC_NIST_P256", 256, oid_p256, sizeof(oid_p256) },
	{ "P-384", "TPM2_ECC_NIST_P384", 384, oid_p384, sizeof(oid_p384) },
	{ "P-521", "TPM2_ECC_NIST_P521", 521, oid_p521, sizeof(oid_p521) },
};

static const struct curve *
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

static bool
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

static bool
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

static void
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

static void
check_field(const char *fn, const char *what, const CK_UTF8CHAR *p, size_t n,
	    bool must_be_set)
{
	if (!tap(field_ok(p, n) && (!must_be_set || !all_blank(p, n)),
		 "%s: %s is blank-padded text without NUL bytes%s", fn, what,
		 must_be_set ? " and not empty" : ""))
		diag_field(what, p, n);
}

static void
pad_label(CK_UTF8CHAR out[32], const char *s)
{
	size_t l = strlen(s);

	memset(out, ' ', 32);
	memcpy(out, s, l > 32 ? 32 : l);
}

static void
hex(const unsigned char *p, size_t n, char *out, size_t cap)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < n && 2 * i + 3 <= cap; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* --- attributes, objects, sessions --------------------------------------- */

static CK_RV
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
static CK_RV
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

static bool
get_ulong(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	  CK_ULONG *v)
{
	CK_ULONG len = 0;

	*v = 0xeeeeeeeeUL;
	return get_attr(s, h, type, v, sizeof(*v), &len) == CKR_OK &&
	       len == sizeof(*v);
}

/* CKA_ type has value (v, n)? */
static bool
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

static bool
bool_is(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	CK_BBOOL want)
{
	CK_BBOOL v;

	return get_bool(s, h, type, &v) && v == want;
}

static CK_RV
set_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	 const void *v, CK_ULONG n)
{
	CK_ATTRIBUTE a = { type, (void *)v, n };

	return p11->C_SetAttributeValue(s, h, &a, 1);
}

static CK_RV
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

static CK_ULONG
count_found(CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_ULONG found = 0;

	if (find_objects(s, tmpl, n, NULL, 0, &found) != CKR_OK)
		return (CK_ULONG)-1;
	return found;
}

static CK_OBJECT_HANDLE
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
static CK_ULONG
count_label(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};

	return count_found(s, t, 2);
}

static CK_RV
open_session(CK_SLOT_ID sl, CK_FLAGS flags, CK_SESSION_HANDLE *s)
{
	*s = CK_INVALID_HANDLE;
	return p11->C_OpenSession(sl, flags | CKF_SERIAL_SESSION, NULL, NULL, s);
}

static CK_RV
login(CK_SESSION_HANDLE s, CK_USER_TYPE who, const char *pin)
{
	return p11->C_Login(s, who, (CK_UTF8CHAR *)pin, strlen(pin));
}

static CK_STATE
session_state(CK_SESSION_HANDLE s)
{
	CK_SESSION_INFO info;

	memset(&info, 0, sizeof(info));
	if (p11->C_GetSessionInfo(s, &info) != CKR_OK)
		return (CK_STATE)-1;
	return info.state;
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
	default: return "(no state)";
	}
}

static bool
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
static CK_SESSION_HANDLE
user_session(bool rw)
{
	CK_SESSION_HANDLE s;
	CK_RV rv;

	if (open_session(slot, rw ? CKF_RW_SESSION : 0, &s) != CKR_OK)
		return CK_INVALID_HANDLE;
	rv = login(s, CKU_USER, user_pin);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		diag("C_Login as user: %s", rv_name(rv));
		p11->C_CloseSession(s);
		return CK_INVALID_HANDLE;
	}
	return s;
}

static bool
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

/* --- DER ------------------------------------------------------------------ */

/* Length of a DER TLV's header (tag + length) and the content length. */
static bool
der_tlv(const unsigned char *p, size_t n, unsigned char tag, size_t *hdr,
	size_t *len)
{
	size_t l, k, i;

	if (n < 2 || p[0] != tag)
		return false;
	if (p[1] < 0x80) {
		l = p[1];
		*hdr = 2;
	} else {
		k = p[1] & 0x7f;
		if (k == 0 || k > 3 || n < 2 + k)
			return false;
		for (l = 0, i = 0; i < k; i++)
			l = (l << 8) | p[2 + i];
		*hdr = 2 + k;
	}
	if (*hdr + l != n)
		return false;
	*len = l;
	return true;
}

static size_t
der_put_len(unsigned char *out, size_t l)
{
	if (l < 0x80) {
		out[0] = (unsigned char)l;
		return 1;
	}
	if (l < 0x100) {
		out[0] = 0x81;
		out[1] = (unsigned char)l;
		return 2;
	}
	out[0] = 0x82;
	out[1] = (unsigned char)(l >> 8);
	out[2] = (unsigned char)l;
	return 3;
}

/* OCTET STRING around (p, n). */
static size_t
der_octet_string(const unsigned char *p, size_t n, unsigned char *out)
{
	size_t o = 0;

	out[o++] = 0x04;
	o += der_put_len(out + o, n);
	memcpy(out + o, p, n);
	return o + n;
}

/* --- OpenSSL ---------------------------------------------------------------- */

static void
diag_openssl(void)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		diag("openssl: %s", buf);
	}
}

static EVP_PKEY *
pkey_from_params(const char *type, OSSL_PARAM_BLD *b)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pk = NULL;

	if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

static EVP_PKEY *
ec_pkey(const char *group, const unsigned char *point, size_t len)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY *pk = NULL;

	if (b &&
	    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
					    group, 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point,
					     len) == 1)
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

	if (b && bn && be &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be) == 1)
		pk = pkey_from_params("RSA", b);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	return pk;
}

/* The public key of a key-pair object in the module, as OpenSSL sees it. */
static EVP_PKEY *
pkey_of(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub)
{
	CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
	unsigned char *a = NULL, *b = NULL;
	CK_ULONG al = 0, bl = 0;
	EVP_PKEY *pk = NULL;
	size_t hdr, len, i;

	if (!get_ulong(s, pub, CKA_KEY_TYPE, &kt))
		return NULL;
	if (kt == CKK_RSA) {
		if (get_attr_alloc(s, pub, CKA_MODULUS, &a, &al) == CKR_OK &&
		    get_attr_alloc(s, pub, CKA_PUBLIC_EXPONENT, &b, &bl) ==
			    CKR_OK)
			pk = rsa_pkey(a, al, b, bl);
	} else if (kt == CKK_EC) {
		if (get_attr_alloc(s, pub, CKA_EC_PARAMS, &a, &al) == CKR_OK &&
		    get_attr_alloc(s, pub, CKA_EC_POINT, &b, &bl) == CKR_OK &&
		    der_tlv(b, bl, 0x04, &hdr, &len)) {
			for (i = 0; i < NELEM(curves); i++)
				if (curves[i].oid_len == al &&
				    memcmp(curves[i].oid, a, al) == 0)
					pk = ec_pkey(curves[i].name, b + hdr,
						     len);
		}
	}
	free(a);
	free(b);
	return pk;
}

static const EVP_MD *
md_of(CK_MECHANISM_TYPE hash)
{
	switch (hash) {
	case CKM_SHA_1: return EVP_sha1();
	case CKM_SHA224: return EVP_sha224();
	case CKM_SHA256: return EVP_sha256();
	case CKM_SHA384: return EVP_sha384();
	case CKM_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

static CK_RSA_PKCS_MGF_TYPE
mgf_of(CK_MECHANISM_TYPE hash)
{
	switch (hash) {
	case CKM_SHA_1: return CKG_MGF1_SHA1;
	case CKM_SHA224: return CKG_MGF1_SHA224;
	case CKM_SHA256: return CKG_MGF1_SHA256;
	case CKM_SHA384: return CKG_MGF1_SHA384;
	default: return CKG_MGF1_SHA512;
	}
}

static size_t
digest(const EVP_MD *md, const void *data, size_t len, unsigned char *out)
{
	unsigned n = 0;

	if (EVP_Digest(data, len, out, &n, md, NULL) != 1)
		return 0;
	return n;
}

/* ECDSA: raw r||s from PKCS#11 checked by OpenSSL over a digest. */
static bool
ecdsa_verify(EVP_PKEY *pk, const unsigned char *dgst, size_t dlen,
	     const unsigned char *sig, size_t slen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r, *s;
	unsigned char *der = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int derlen, ok = 0;

	if (es == NULL || slen == 0 || slen % 2)
		goto out;
	r = BN_bin2bn(sig, (int)(slen / 2), NULL);
	s = BN_bin2bn(sig + slen / 2, (int)(slen / 2), NULL);
	if (r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	derlen = i2d_ECDSA_SIG(es, &der);
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	if (derlen > 0 && ctx && EVP_PKEY_verify_init(ctx) == 1)
		ok = EVP_PKEY_verify(ctx, der, (size_t)derlen, dgst, dlen);
out:
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return ok == 1;
}

/* Field size in bytes of an EC key. */
static size_t
ec_field_bytes(EVP_PKEY *pk)
{
	return (size_t)(EVP_PKEY_get_bits(pk) + 7) / 8;
}

/* OpenSSL signs dgst with an EC private key; out is raw r||s. */
static size_t
ecdsa_sign_raw(EVP_PKEY *pk, const unsigned char *dgst, size_t dlen,
	       unsigned char *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
	unsigned char der[256];
	const unsigned char *p = der;
	size_t derlen = sizeof(der), fb = ec_field_bytes(pk);
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	size_t n = 0;

	if (ctx && EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_sign(ctx, der, &derlen, dgst, dlen) == 1 &&
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) != NULL) {
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, out, (int)fb) > 0 &&
		    BN_bn2binpad(s, out + fb, (int)fb) > 0)
			n = 2 * fb;
	}
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	return n;
}

/* RSA with padding pad (RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING,
 * RSA_NO_PADDING): verify_recover for raw mechanisms, verify otherwise. */
static bool
rsa_verify(EVP_PKEY *pk, int pad, const EVP_MD *md, int saltlen,
	   const unsigned char *tbs, size_t tbslen, const unsigned char *sig,
	   size_t siglen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
	int ok = 0;

	if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, pad) != 1)
		goto out;
	if (md && EVP_PKEY_CTX_set_signature_md(ctx, md) != 1)
		goto out;
	if (pad == RSA_PKCS1_PSS_PADDING &&
	    (EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, saltlen) != 1))
		goto out;
	if (md == NULL) {
		unsigned char rec[1024];
		size_t reclen = sizeof(rec);

		EVP_PKEY_CTX_free(ctx);
		ctx = EVP_PKEY_CTX_new(pk, NULL);
		if (ctx == NULL || EVP_PKEY_verify_recover_init(ctx) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(ctx, pad) != 1)
			goto out;
		if (EVP_PKEY_verify_recover(ctx, rec, &reclen, sig, siglen) ==
			    1 &&
		    reclen >= tbslen &&
		    memcmp(rec + reclen - tbslen, tbs, tbslen) == 0) {
			size_t i;

			ok = 1;
			for (i = 0; i < reclen - tbslen; i++)
				if (rec[i] != 0)
					ok = 0;
		}
		goto out;
	}
	ok = EVP_PKEY_verify(ctx, sig, siglen, tbs, tbslen);
out:
	EVP_PKEY_CTX_free(ctx);
	return ok == 1;
}

/* OpenSSL encrypts for the module to decrypt. pad: RSA_PKCS1_PADDING,
 * RSA_PKCS1_OAEP_PADDING (md/mgf1 md, label) or RSA_NO_PADDING. */
static size_t
rsa_encrypt(EVP_PKEY *pk, int pad, const EVP_MD *md, const void *label,
	    size_t labellen, const unsigned char *in, size_t inlen,
	    unsigned char *out, size_t cap)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
	size_t n = cap;

	if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, pad) != 1)
		goto fail;
	if (pad == RSA_PKCS1_OAEP_PADDING) {
		if (EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1)
			goto fail;
		if (labellen > 0) {
			void *l = OPENSSL_memdup(label, labellen);

			if (l == NULL ||
			    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l,
							     (int)labellen) != 1) {
				OPENSSL_free(l);
				goto fail;
			}
		}
	}
	if (EVP_PKEY_encrypt(ctx, out, &n, in, inlen) != 1)
		goto fail;
	EVP_PKEY_CTX_free(ctx);
	return n;
fail:
	diag_openssl();
	EVP_PKEY_CTX_free(ctx);
	return 0;
}

static EVP_PKEY *
gen_openssl_key(const char *type, const char *group_or_null, unsigned bits)
{
	EVP_PKEY *pk = NULL;

	if (strcmp(type, "EC") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group_or_null);
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	if (pk == NULL)
		diag_openssl();
	return pk;
}

/* Uncompressed point of an OpenSSL EC key. */
static size_t
ec_point_of(EVP_PKEY *pk, unsigned char *out, size_t cap)
{
	size_t n = 0;

	if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, out,
					    cap, &n) != 1)
		return 0;
	return n;
}

static size_t
bn_param(EVP_PKEY *pk, const char *name, unsigned char *out, size_t cap)
{
	BIGNUM *bn = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
		return 0;
	n = BN_num_bytes(bn);
	if (n <= 0 || (size_t)n > cap) {
		BN_free(bn);
		return 0;
	}
	BN_bn2bin(bn, out);
	BN_free(bn);
	return (size_t)n;
}

static const unsigned char digestinfo_sha256[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};

/* === 1. the function list and the v3.0 interfaces ======================== */

static bool
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

static void
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

static void
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

static bool
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

static void
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

static void
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
static void
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
static void
refresh_keys(CK_SESSION_HANDLE s)
{
	int k;

	for (k = 0; k < NKEYS; k++) {
		keys[k].pub = find_one(s, CKO_PUBLIC_KEY, keys[k].label);
		keys[k].priv = find_one(s, CKO_PRIVATE_KEY, keys[k].label);
	}
}

/* A session data object; private or not, token or session object. */
static CK_RV
create_data(CK_SESSION_HANDLE s, const char *label, bool token, bool priv,
	    CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	static const char app[] = "tpm11 conformance";
	static const unsigned char val[] = "conformance data value";
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, (void *)(priv ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_APPLICATION, (void *)app, sizeof(app) - 1 },
		{ CKA_VALUE, (void *)val, sizeof(val) - 1 },
	};

	*h = CK_INVALID_HANDLE;
	return p11->C_CreateObject(s, t, NELEM(t), h);
}

/* === 3. sessions and login (v2.40 5.6) ==================================== */

static void
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
	expect_rv(login(ro, CKU_CONTEXT_SPECIFIC, user_pin),
		  CKR_OPERATION_NOT_INITIALIZED,
		  "C_Login: CKU_CONTEXT_SPECIFIC with no operation -> "
		  "CKR_OPERATION_NOT_INITIALIZED");
	expect_rv(login(rw, CKU_SO, so_pin), CKR_SESSION_READ_ONLY_EXISTS,
		  "C_Login: SO while a read-only session is open -> "
		  "CKR_SESSION_READ_ONLY_EXISTS");
	expect_state(rw, CKS_RW_PUBLIC_SESSION,
		     "C_Login: a refused SO login leaves the sessions public");
	expect_rv(login(ro, CKU_USER, "wrong-pin-0000"), CKR_PIN_INCORRECT,
		  "C_Login: wrong user PIN -> CKR_PIN_INCORRECT");
	if (!(tinfo.flags & CKF_PROTECTED_AUTHENTICATION_PATH))
		expect_rv(p11->C_Login(ro, CKU_USER, NULL, 4),
			  CKR_ARGUMENTS_BAD,
			  "C_Login: NULL PIN without a protected "
			  "authentication path -> CKR_ARGUMENTS_BAD");
	tap(count_found(ro, tpriv, 1) == 0,
	    "C_FindObjects: no private object is visible before login");
	if (!expect_rv(login(ro, CKU_USER, user_pin), CKR_OK,
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
	expect_rv(login(rw, CKU_USER, user_pin), CKR_USER_ALREADY_LOGGED_IN,
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
	expect_rv(login(rw, CKU_SO, so_pin), CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
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
		login(rw, CKU_USER, user_pin);
		tap(count_label(rw, CKO_DATA, lbl) == 0,
		    "C_Logout: the private session object is gone after "
		    "logging in again");
		p11->C_Logout(rw);
	}

	/* SO: R/W SO functions, no R/O session beside it, no user login. */
	rv = login(rw, CKU_SO, so_pin);
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
		expect_rv(login(rw, CKU_USER, user_pin),
			  CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
			  "C_Login: user while the SO is logged in -> "
			  "CKR_USER_ANOTHER_ALREADY_LOGGED_IN");
		expect_rv(login(rw, CKU_SO, so_pin), CKR_USER_ALREADY_LOGGED_IN,
			  "C_Login: SO again -> CKR_USER_ALREADY_LOGGED_IN");
		tap(count_found(rw, tpriv, 1) == 0,
		    "C_FindObjects: the SO sees no private object");
		expect_rv(p11->C_Logout(rw), CKR_OK, "C_Logout: SO -> CKR_OK");
	}
	expect_rv(login(rw, CKU_SO, "wrong-so-pin-0000"), CKR_PIN_INCORRECT,
		  "C_Login: wrong SO PIN -> CKR_PIN_INCORRECT");

	/* C_CloseAllSessions logs out. */
	login(rw, CKU_USER, user_pin);
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
		login(rw, CKU_USER, user_pin);
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
static void
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

/* === 4. objects (v2.40 4, 5.7) ============================================ */

/* A self-signed X.509 certificate made by OpenSSL, DER, with its subject,
 * issuer and serial number. */
struct cert {
	unsigned char der[2048], subject[512], issuer[512], serial[64];
	size_t der_len, subject_len, issuer_len, serial_len;
};

static bool
make_cert(struct cert *c)
{
	EVP_PKEY *pk = gen_openssl_key("EC", "P-256", 0);
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *p;
	int n;
	bool ok = false;

	memset(c, 0, sizeof(*c));
	if (pk == NULL || x == NULL || name == NULL)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x5eed);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"tpm11 conformance",
				   -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 30);
	X509_set_pubkey(x, pk);
	if (X509_sign(x, pk, EVP_sha256()) <= 0)
		goto out;
	n = i2d_X509(x, NULL);
	if (n <= 0 || (size_t)n > sizeof(c->der))
		goto out;
	p = c->der;
	c->der_len = (size_t)i2d_X509(x, &p);
	n = i2d_X509_NAME(X509_get_subject_name(x), NULL);
	if (n <= 0 || (size_t)n > sizeof(c->subject))
		goto out;
	p = c->subject;
	c->subject_len = (size_t)i2d_X509_NAME(X509_get_subject_name(x), &p);
	p = c->issuer;
	c->issuer_len = (size_t)i2d_X509_NAME(X509_get_issuer_name(x), &p);
	p = c->serial;
	c->serial_len =
		(size_t)i2d_ASN1_INTEGER(X509_get_serialNumber(x), &p);
	ok = true;
out:
	if (!ok)
		diag_openssl();
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(pk);
	return ok;
}

static CK_RV
create_cert(CK_SESSION_HANDLE s, const struct cert *c, const char *label,
	    bool token, CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	static const unsigned char id[] = { 0xce, 0x57 };
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, (void *)&no, sizeof(no) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, sizeof(id) },
		{ CKA_SUBJECT, (void *)c->subject, c->subject_len },
		{ CKA_ISSUER, (void *)c->issuer, c->issuer_len },
		{ CKA_SERIAL_NUMBER, (void *)c->serial, c->serial_len },
		{ CKA_VALUE, (void *)c->der, c->der_len },
	};

	*h = CK_INVALID_HANDLE;
	return p11->C_CreateObject(s, t, NELEM(t), h);
}

/* A secret key object with a known value. */
static CK_RV
create_secret(CK_SESSION_HANDLE s, CK_KEY_TYPE kt, const unsigned char *val,
	      size_t len, const char *label, bool token, bool sensitive,
	      bool extractable, CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, (void *)&yes, sizeof(yes) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_SENSITIVE, (void *)(sensitive ? &yes : &no),
		  sizeof(CK_BBOOL) },
		{ CKA_EXTRACTABLE, (void *)(extractable ? &yes : &no),
		  sizeof(CK_BBOOL) },
		{ CKA_VALUE, (void *)val, len },
		{ CKA_ENCRYPT, (void *)(kt == CKK_AES ? &yes : &no),
		  sizeof(CK_BBOOL) },
		{ CKA_DECRYPT, (void *)(kt == CKK_AES ? &yes : &no),
		  sizeof(CK_BBOOL) },
		{ CKA_SIGN, (void *)(kt == CKK_AES ? &no : &yes),
		  sizeof(CK_BBOOL) },
		{ CKA_VERIFY, (void *)(kt == CKK_AES ? &no : &yes),
		  sizeof(CK_BBOOL) },
	};

	*h = CK_INVALID_HANDLE;
	return p11->C_CreateObject(s, t, NELEM(t), h);
}

static CK_RV
create_ec_public(CK_SESSION_HANDLE s, EVP_PKEY *pk, const struct curve *c,
		 const char *label, bool token, bool wrap, CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_KEY_TYPE kt = CKK_EC;
	unsigned char pt[200], der[210];
	size_t ptlen = ec_point_of(pk, pt, sizeof(pt));
	size_t derlen = der_octet_string(pt, ptlen, der);
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_VERIFY, (void *)&yes, sizeof(yes) },
		{ CKA_EC_PARAMS, (void *)c->oid, c->oid_len },
		{ CKA_EC_POINT, der, derlen },
		{ CKA_WRAP, (void *)(wrap ? &yes : &no), sizeof(CK_BBOOL) },
	};

	*h = CK_INVALID_HANDLE;
	return p11->C_CreateObject(s, t, NELEM(t), h);
}

static CK_RV
create_rsa_public(CK_SESSION_HANDLE s, EVP_PKEY *pk, const char *label,
		  bool token, bool wrap, CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_KEY_TYPE kt = CKK_RSA;
	unsigned char n[1024], e[16];
	size_t nl = bn_param(pk, OSSL_PKEY_PARAM_RSA_N, n, sizeof(n));
	size_t el = bn_param(pk, OSSL_PKEY_PARAM_RSA_E, e, sizeof(e));
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_VERIFY, (void *)&yes, sizeof(yes) },
		{ CKA_ENCRYPT, (void *)&yes, sizeof(yes) },
		{ CKA_WRAP, (void *)(wrap ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_MODULUS, n, nl },
		{ CKA_PUBLIC_EXPONENT, e, el },
	};

	*h = CK_INVALID_HANDLE;
	return p11->C_CreateObject(s, t, NELEM(t), h);
}

static bool secret_create_ok;       /* C_CreateObject takes secret keys */

/* The rules every newly created key object follows (v3.0 5.7). */
static void
check_created_key(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const char *what,
		  bool secret_or_private)
{
	CK_ULONG mech = 0;

	tap(bool_is(s, h, CKA_LOCAL, CK_FALSE),
	    "C_CreateObject: %s has CKA_LOCAL false", what);
	if (!tap(get_ulong(s, h, CKA_KEY_GEN_MECHANISM, &mech) &&
			 mech == CK_UNAVAILABLE_INFORMATION,
		 "C_CreateObject: %s has CKA_KEY_GEN_MECHANISM "
		 "CK_UNAVAILABLE_INFORMATION (not generated)", what))
		diag("CKA_KEY_GEN_MECHANISM 0x%lx", (unsigned long)mech);
	if (secret_or_private) {
		tap(bool_is(s, h, CKA_ALWAYS_SENSITIVE, CK_FALSE) &&
			    bool_is(s, h, CKA_NEVER_EXTRACTABLE, CK_FALSE),
		    "C_CreateObject: %s has CKA_ALWAYS_SENSITIVE and "
		    "CKA_NEVER_EXTRACTABLE false (v3.0 5.7)", what);
	}
}

/* Issue 13 item 3: a readable (non-sensitive) session secret key keeps
 * its value in its attributes; copied to a token object it would reach
 * the store in clear, readable without login when CKA_PRIVATE is false.
 * The copy must be refused, and the value must be nowhere in the store's
 * files. */
static bool
file_holds(const char *path, const void *needle, size_t n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long len;
	bool found = false;

	if (f == NULL)
		return false;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len)) != NULL &&
	    fread(buf, 1, (size_t)len, f) == (size_t)len)
		found = memmem(buf, (size_t)len, needle, n) != NULL;
	free(buf);
	fclose(f);
	return found;
}

static void
copy_readable_secret(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
		     const void *value, size_t n)
{
	static const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE t[] = {
		{ CKA_TOKEN, (void *)&yes, sizeof(yes) },
		{ CKA_PRIVATE, (void *)&no, sizeof(no) },
	};
	const char *dir = getenv("TPM11_STORE");
	char path[1024];
	CK_OBJECT_HANDLE copy = 0;
	CK_RV rv;

	rv = p11->C_CopyObject(s, key, t, 2, &copy);
	tap(rv != CKR_OK,
	    "C_CopyObject: a readable session secret key to a public token "
	    "object is refused (got %s)", rv_name(rv));
	if (dir == NULL) {
		tap_skip("TPM11_STORE is not set", "the store holds no secret key value");
		if (rv == CKR_OK)
			p11->C_DestroyObject(s, copy);
		return;
	}
	snprintf(path, sizeof(path), "%s/tpm11.sqlite3", dir);
	tap(!file_holds(path, value, n),
	    "C_CopyObject: the secret key's value is not in the store's database");
	snprintf(path, sizeof(path), "%s/tpm11.sqlite3-wal", dir);
	tap(!file_holds(path, value, n),
	    "C_CopyObject: the secret key's value is not in the store's WAL");
	if (rv == CKR_OK)
		p11->C_DestroyObject(s, copy);
}

static void
test_objects(void)
{
	CK_SESSION_HANDLE s = user_session(true), pub = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE cert = 0, data = 0, pdata = 0, ec = 0, rsa = 0, aes = 0;
	CK_OBJECT_HANDLE h = 0, copy = 0;
	struct cert c;
	char lbl[64], buf[256], dlabel[64];
	CK_ULONG ul = 0;
	CK_RV rv;
	pid_t pid = getpid();

	if (!tap(s != CK_INVALID_HANDLE, "objects: a read/write user session"))
		return;
	open_session(slot, 0, &pub);

	/* Certificate, token object, with a real DER certificate. */
	if (!tap(make_cert(&c), "set-up: OpenSSL makes a DER certificate"))
		goto out;
	snprintf(lbl, sizeof(lbl), "conf-cert-%ld", (long)pid);
	rv = create_cert(s, &c, lbl, true, &cert);
	expect_rv(rv, CKR_OK, "C_CreateObject: X.509 certificate, token "
			      "object -> CKR_OK");
	if (rv == CKR_OK) {
		CK_ULONG cat = 99;

		tap(attr_equals(s, cert, CKA_VALUE, c.der, c.der_len),
		    "C_GetAttributeValue: the certificate's CKA_VALUE is the "
		    "DER given");
		tap(attr_equals(s, cert, CKA_SUBJECT, c.subject, c.subject_len),
		    "C_GetAttributeValue: the certificate's CKA_SUBJECT");
		{
			/* v2.40 4.6.3-4.6.4, filled in from the DER by the
			 * builder the tool's addcert uses too */
			unsigned char sha[SHA_DIGEST_LENGTH], *sd = NULL,
							      *ed = NULL;
			CK_ULONG sl = 0, el = 0;

			SHA1(c.der, c.der_len, sha);
			tap(attr_equals(s, cert, CKA_ISSUER, c.issuer,
					c.issuer_len) &&
				    attr_equals(s, cert, CKA_SERIAL_NUMBER,
						c.serial, c.serial_len),
			    "C_GetAttributeValue: CKA_ISSUER and "
			    "CKA_SERIAL_NUMBER come from the DER");
			tap(attr_equals(s, cert, CKA_CHECK_VALUE, sha, 3),
			    "C_GetAttributeValue: CKA_CHECK_VALUE is the first "
			    "3 bytes of SHA-1 of the DER");
			tap(get_attr_alloc(s, cert, CKA_START_DATE, &sd, &sl) ==
					    CKR_OK && sl == 8 &&
				    get_attr_alloc(s, cert, CKA_END_DATE, &ed,
						   &el) == CKR_OK && el == 8 &&
				    memcmp(sd, ed, 8) < 0,
			    "C_GetAttributeValue: CKA_START_DATE and "
			    "CKA_END_DATE are the validity's dates (YYYYMMDD)");
			free(sd);
			free(ed);
			tap(get_ulong(s, cert, CKA_NAME_HASH_ALGORITHM, &ul) &&
				    ul == CKM_SHA_1,
			    "C_GetAttributeValue: CKA_NAME_HASH_ALGORITHM is "
			    "CKM_SHA_1 (the default)");
		}
		tap(get_ulong(s, cert, CKA_CERTIFICATE_TYPE, &ul) &&
			    ul == CKC_X_509,
		    "C_GetAttributeValue: CKA_CERTIFICATE_TYPE is CKC_X_509");
		tap(bool_is(s, cert, CKA_TOKEN, CK_TRUE) &&
			    bool_is(s, cert, CKA_PRIVATE, CK_FALSE) &&
			    bool_is(s, cert, CKA_MODIFIABLE, CK_TRUE),
		    "C_GetAttributeValue: the certificate is a public, "
		    "modifiable token object");
		tap(bool_is(s, cert, CKA_TRUSTED, CK_FALSE),
		    "C_GetAttributeValue: CKA_TRUSTED defaults to false");
		if (!tap(get_ulong(s, cert, CKA_CERTIFICATE_CATEGORY, &cat) &&
				 cat == 0,
			 "C_GetAttributeValue: CKA_CERTIFICATE_CATEGORY "
			 "defaults to 0 (unspecified)"))
			diag("category %lu", (unsigned long)cat);
		if (pub != CK_INVALID_HANDLE)
			tap(count_label(pub, CKO_CERTIFICATE, lbl) == 1,
			    "C_FindObjects: the public certificate is visible "
			    "without login");
	}
	{
		CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
		CK_CERTIFICATE_TYPE ct = CKC_X_509;
		CK_ATTRIBUTE novalue[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
			{ CKA_SUBJECT, c.subject, c.subject_len },
		};
		CK_ATTRIBUTE notype[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_SUBJECT, c.subject, c.subject_len },
			{ CKA_VALUE, c.der, c.der_len },
		};
		CK_ATTRIBUTE trusted[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
			{ CKA_SUBJECT, c.subject, c.subject_len },
			{ CKA_VALUE, c.der, c.der_len },
			{ CKA_TRUSTED, (void *)&yes, sizeof(yes) },
		};
		CK_ATTRIBUTE noclass[] = {
			{ CKA_VALUE, c.der, c.der_len },
			{ CKA_LABEL, "x", 1 },
		};

		expect_rv(p11->C_CreateObject(s, novalue, 3, &h),
			  CKR_TEMPLATE_INCOMPLETE,
			  "C_CreateObject: certificate without CKA_VALUE -> "
			  "CKR_TEMPLATE_INCOMPLETE");
		expect_rv(p11->C_CreateObject(s, notype, 3, &h),
			  CKR_TEMPLATE_INCOMPLETE,
			  "C_CreateObject: certificate without "
			  "CKA_CERTIFICATE_TYPE -> CKR_TEMPLATE_INCOMPLETE");
		expect_rv(p11->C_CreateObject(s, noclass, 2, &h),
			  CKR_TEMPLATE_INCOMPLETE,
			  "C_CreateObject: no CKA_CLASS -> "
			  "CKR_TEMPLATE_INCOMPLETE");
		rv = p11->C_CreateObject(s, trusted, 5, &h);
		if (!tap(rv != CKR_OK, "C_CreateObject: CKA_TRUSTED true by the "
				       "normal user is refused (only the SO "
				       "may set it)")) {
			p11->C_DestroyObject(s, h);
		} else {
			diag("returned %s", rv_name(rv));
		}
	}

	/* Data objects. */
	snprintf(dlabel, sizeof(dlabel), "conf-data-%ld", (long)pid);
	rv = create_data(s, dlabel, true, false, &data);
	expect_rv(rv, CKR_OK, "C_CreateObject: data object, public token "
			      "object -> CKR_OK");
	if (rv == CKR_OK) {
		static const unsigned char nv[] = "changed value";

		tap(attr_equals(s, data, CKA_VALUE, "conformance data value",
				22) &&
			    attr_equals(s, data, CKA_APPLICATION,
					"tpm11 conformance", 17),
		    "C_GetAttributeValue: the data object's CKA_VALUE and "
		    "CKA_APPLICATION");
		expect_rv(set_attr(s, data, CKA_VALUE, nv, sizeof(nv) - 1),
			  CKR_OK,
			  "C_SetAttributeValue: a data object's CKA_VALUE -> "
			  "CKR_OK");
		tap(attr_equals(s, data, CKA_VALUE, nv, sizeof(nv) - 1),
		    "C_SetAttributeValue: the new CKA_VALUE reads back");
	}
	snprintf(buf, sizeof(buf), "conf-pdata-%ld", (long)pid);
	rv = create_data(s, buf, true, true, &pdata);
	expect_rv(rv, CKR_OK, "C_CreateObject: data object, private token "
			      "object -> CKR_OK");
	if (rv == CKR_OK && pub != CK_INVALID_HANDLE) {
		p11->C_Logout(s);
		tap(count_label(pub, CKO_DATA, buf) == 0,
		    "C_FindObjects: a private token object is invisible when "
		    "logged out");
		expect_rv(get_attr(pub, pdata, CKA_LABEL, lbl, sizeof(lbl), NULL),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_GetAttributeValue: a private object's handle is "
			  "invalid when logged out");
		login(s, CKU_USER, user_pin);
		pdata = find_one(s, CKO_DATA, buf);
		tap(pdata != CK_INVALID_HANDLE,
		    "C_FindObjects: the private token object is visible again "
		    "after login");
	}

	/* Public keys from OpenSSL, verified through the module. */
	{
		EVP_PKEY *ek = gen_openssl_key("EC", "P-256", 0);
		EVP_PKEY *rk = gen_openssl_key("RSA", NULL, 2048);
		unsigned char dg[32], sig[512];
		size_t sl;
		CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };

		snprintf(lbl, sizeof(lbl), "conf-ecpub-%ld", (long)pid);
		rv = ek ? create_ec_public(s, ek, curve_by_bits(256), lbl, false,
					   false, &ec)
			: CKR_GENERAL_ERROR;
		expect_rv(rv, CKR_OK, "C_CreateObject: EC P-256 public key, "
				      "session object -> CKR_OK");
		if (rv == CKR_OK) {
			check_created_key(s, ec, "an EC public key", false);
			digest(EVP_sha256(), "verify me", 9, dg);
			sl = ecdsa_sign_raw(ek, dg, 32, sig);
			rv = p11->C_VerifyInit(s, &m, ec);
			if (rv == CKR_OK)
				rv = p11->C_Verify(s, dg, 32, sig, sl);
			expect_rv(rv, CKR_OK, "C_Verify: CKM_ECDSA with an "
					      "imported EC public key accepts "
					      "OpenSSL's signature");
			sig[5] ^= 1;
			rv = p11->C_VerifyInit(s, &m, ec);
			if (rv == CKR_OK)
				rv = p11->C_Verify(s, dg, 32, sig, sl);
			expect_rv(rv, CKR_SIGNATURE_INVALID,
				  "C_Verify: a changed signature -> "
				  "CKR_SIGNATURE_INVALID");
		}
		snprintf(lbl, sizeof(lbl), "conf-rsapub-%ld", (long)pid);
		rv = rk ? create_rsa_public(s, rk, lbl, true, false, &rsa)
			: CKR_GENERAL_ERROR;
		expect_rv(rv, CKR_OK, "C_CreateObject: RSA 2048 public key, "
				      "token object -> CKR_OK");
		if (rv == CKR_OK) {
			EVP_MD_CTX *mc = EVP_MD_CTX_new();
			CK_MECHANISM m2 = { CKM_SHA256_RSA_PKCS, NULL, 0 };

			check_created_key(s, rsa, "an RSA public key", false);
			if (!tap(get_ulong(s, rsa, CKA_MODULUS_BITS, &ul) &&
					 ul == 2048,
				 "C_GetAttributeValue: CKA_MODULUS_BITS of an "
				 "imported RSA key is 2048"))
				diag("CKA_MODULUS_BITS %lu", (unsigned long)ul);
			sl = sizeof(sig);
			if (mc && EVP_DigestSignInit(mc, NULL, EVP_sha256(), NULL,
						     rk) == 1 &&
			    EVP_DigestSign(mc, sig, &sl,
					   (const unsigned char *)"verify me",
					   9) == 1) {
				rv = p11->C_VerifyInit(s, &m2, rsa);
				if (rv == CKR_OK)
					rv = p11->C_Verify(
						s, (CK_BYTE *)"verify me", 9,
						sig, sl);
				expect_rv(rv, CKR_OK,
					  "C_Verify: CKM_SHA256_RSA_PKCS with an "
					  "imported RSA public key accepts "
					  "OpenSSL's signature");
			}
			EVP_MD_CTX_free(mc);
		}
		EVP_PKEY_free(ek);
		EVP_PKEY_free(rk);
	}

	/* Secret keys. */
	{
		static const unsigned char k16[16] = "0123456789abcdef";
		static const unsigned char k32[32] =
			"0123456789abcdef0123456789abcdef";
		CK_OBJECT_HANDLE t1 = 0, t2 = 0, bad = 0;

		snprintf(lbl, sizeof(lbl), "conf-aes-%ld", (long)pid);
		rv = create_secret(s, CKK_AES, k16, 16, lbl, false, false, true,
				   &aes);
		secret_create_ok = rv == CKR_OK;
		expect_rv(rv, CKR_OK, "C_CreateObject: AES-128 secret key, "
				      "session object, not sensitive -> CKR_OK");
		if (rv == CKR_OK) {
			tap(get_ulong(s, aes, CKA_VALUE_LEN, &ul) && ul == 16,
			    "C_GetAttributeValue: CKA_VALUE_LEN of the AES key "
			    "is 16");
			tap(attr_equals(s, aes, CKA_VALUE, k16, 16),
			    "C_GetAttributeValue: a non-sensitive, extractable "
			    "secret key's CKA_VALUE is readable");
			check_created_key(s, aes, "an AES key", true);
			copy_readable_secret(s, aes, k16, sizeof(k16));
		}
		rv = create_secret(s, CKK_AES, k16, 16, lbl, true, true, false,
				   &t1);
		expect_rv(rv, CKR_OK, "C_CreateObject: AES-128 secret key, "
				      "token object, sensitive -> CKR_OK");
		if (rv == CKR_OK) {
			CK_ATTRIBUTE a = { CKA_VALUE, buf, sizeof(buf) };

			rv = p11->C_GetAttributeValue(s, t1, &a, 1);
			tap(rv == CKR_ATTRIBUTE_SENSITIVE &&
				    a.ulValueLen == CK_UNAVAILABLE_INFORMATION,
			    "C_GetAttributeValue: a sensitive key's CKA_VALUE "
			    "-> CKR_ATTRIBUTE_SENSITIVE, length "
			    "CK_UNAVAILABLE_INFORMATION");
			p11->C_DestroyObject(s, t1);
		}
		rv = create_secret(s, CKK_GENERIC_SECRET, k32, 32, lbl, false,
				   true, false, &t2);
		expect_rv(rv, CKR_OK, "C_CreateObject: generic secret key "
				      "(32 bytes), session object -> CKR_OK");
		if (rv == CKR_OK)
			p11->C_DestroyObject(s, t2);
		expect_rv(create_secret(s, CKK_AES, k16, 15, lbl, false, false,
					true, &bad),
			  CKR_ATTRIBUTE_VALUE_INVALID,
			  "C_CreateObject: an AES key of 15 bytes -> "
			  "CKR_ATTRIBUTE_VALUE_INVALID");
	}

	/* Template errors (v2.40 4.1.1). */
	{
		CK_OBJECT_CLASS cls = CKO_DATA, badcls = 0x7fff0000UL;
		CK_BYTE small = 0;
		CK_ULONG four = 1;
		unsigned char uid[] = "x";
		CK_ATTRIBUTE bogus[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ BOGUS_ATTRIBUTE, "x", 1 },
		};
		CK_ATTRIBUTE badval[] = { { CKA_CLASS, &badcls, sizeof(badcls) } };
		CK_ATTRIBUTE badlen[] = { { CKA_CLASS, &small, 1 } };
		CK_ATTRIBUTE badbool[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_TOKEN, &four, sizeof(four) },
		};
		CK_ATTRIBUTE ronly[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_UNIQUE_ID, uid, 1 },
		};

		expect_rv(p11->C_CreateObject(s, bogus, 2, &h),
			  CKR_ATTRIBUTE_TYPE_INVALID,
			  "C_CreateObject: an unknown attribute type -> "
			  "CKR_ATTRIBUTE_TYPE_INVALID");
		expect_rv(p11->C_CreateObject(s, badval, 1, &h),
			  CKR_ATTRIBUTE_VALUE_INVALID,
			  "C_CreateObject: an unknown CKA_CLASS value -> "
			  "CKR_ATTRIBUTE_VALUE_INVALID");
		expect_rv(p11->C_CreateObject(s, badlen, 1, &h),
			  CKR_ATTRIBUTE_VALUE_INVALID,
			  "C_CreateObject: CKA_CLASS of 1 byte -> "
			  "CKR_ATTRIBUTE_VALUE_INVALID");
		expect_rv(p11->C_CreateObject(s, badbool, 2, &h),
			  CKR_ATTRIBUTE_VALUE_INVALID,
			  "C_CreateObject: CK_BBOOL CKA_TOKEN of sizeof(CK_ULONG) "
			  "bytes -> CKR_ATTRIBUTE_VALUE_INVALID");
		expect_rv(p11->C_CreateObject(s, ronly, 2, &h),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_CreateObject: CKA_UNIQUE_ID given -> "
			  "CKR_ATTRIBUTE_READ_ONLY (v3.0 4.4.1)");
		expect_rv(p11->C_CreateObject(s, NULL, 1, &h), CKR_ARGUMENTS_BAD,
			  "C_CreateObject: NULL template -> CKR_ARGUMENTS_BAD");
		if (secret_create_ok) {
			static const unsigned char k16[16] = "0123456789abcdef";
			CK_OBJECT_CLASS sc = CKO_SECRET_KEY;
			CK_KEY_TYPE kt = CKK_AES;
			CK_ATTRIBUTE local[] = {
				{ CKA_CLASS, &sc, sizeof(sc) },
				{ CKA_KEY_TYPE, &kt, sizeof(kt) },
				{ CKA_VALUE, (void *)k16, 16 },
				{ CKA_LOCAL, (void *)&yes, sizeof(yes) },
			};
			CK_ATTRIBUTE asens[] = {
				{ CKA_CLASS, &sc, sizeof(sc) },
				{ CKA_KEY_TYPE, &kt, sizeof(kt) },
				{ CKA_VALUE, (void *)k16, 16 },
				{ CKA_ALWAYS_SENSITIVE, (void *)&yes,
				  sizeof(yes) },
			};

			expect_rv(p11->C_CreateObject(s, local, 4, &h),
				  CKR_ATTRIBUTE_READ_ONLY,
				  "C_CreateObject: CKA_LOCAL given -> "
				  "CKR_ATTRIBUTE_READ_ONLY");
			expect_rv(p11->C_CreateObject(s, asens, 4, &h),
				  CKR_ATTRIBUTE_READ_ONLY,
				  "C_CreateObject: CKA_ALWAYS_SENSITIVE given -> "
				  "CKR_ATTRIBUTE_READ_ONLY");
		}
	}

	/* CKA_UNIQUE_ID (v3.0 4.4.1). */
	if (data && cert) {
		unsigned char *u1 = NULL, *u2 = NULL;
		CK_ULONG l1 = 0, l2 = 0;
		CK_RV r1 = get_attr_alloc(s, data, CKA_UNIQUE_ID, &u1, &l1);
		CK_RV r2 = get_attr_alloc(s, cert, CKA_UNIQUE_ID, &u2, &l2);

		if (!tap(r1 == CKR_OK && r2 == CKR_OK && l1 > 0 && l2 > 0 &&
				 (l1 != l2 || memcmp(u1, u2, l1) != 0),
			 "C_GetAttributeValue: every object has a CKA_UNIQUE_ID, "
			 "different between objects (v3.0 4.4.1)"))
			diag("%s / %s", rv_name(r1), rv_name(r2));
		if (r1 == CKR_OK)
			expect_rv(set_attr(s, data, CKA_UNIQUE_ID, "zz", 2),
				  CKR_ATTRIBUTE_READ_ONLY,
				  "C_SetAttributeValue: CKA_UNIQUE_ID -> "
				  "CKR_ATTRIBUTE_READ_ONLY");
		free(u1);
		free(u2);
	}

	/* C_GetObjectSize. */
	if (data) {
		rv = p11->C_GetObjectSize(s, data, &ul);
		if (!tap((rv == CKR_OK && ul > 0) ||
				 rv == CKR_INFORMATION_SENSITIVE,
			 "C_GetObjectSize: a data object -> CKR_OK with a size "
			 "(or CKR_INFORMATION_SENSITIVE)"))
			diag("%s, size %lu", rv_name(rv), (unsigned long)ul);
	}
	if (keys[K_P256].ok) {
		refresh_keys(s);
		rv = p11->C_GetObjectSize(s, keys[K_P256].priv, &ul);
		if (!tap(rv == CKR_OK || rv == CKR_INFORMATION_SENSITIVE,
			 "C_GetObjectSize: a TPM private key -> CKR_OK or "
			 "CKR_INFORMATION_SENSITIVE"))
			diag("%s", rv_name(rv));
	}
	expect_rv(p11->C_GetObjectSize(s, BOGUS_HANDLE, &ul),
		  CKR_OBJECT_HANDLE_INVALID,
		  "C_GetObjectSize: unknown handle -> CKR_OBJECT_HANDLE_INVALID");
	if (data)
		expect_rv(p11->C_GetObjectSize(s, data, NULL), CKR_ARGUMENTS_BAD,
			  "C_GetObjectSize: NULL -> CKR_ARGUMENTS_BAD");

	/* C_SetAttributeValue: what may change and what may not. */
	if (cert) {
		static const unsigned char nid[] = { 1, 2, 3, 4 };
		CK_SESSION_HANDLE s2 = CK_INVALID_HANDLE;

		snprintf(lbl, sizeof(lbl), "conf-cert-new-%ld", (long)pid);
		expect_rv(set_attr(s, cert, CKA_LABEL, lbl, strlen(lbl)), CKR_OK,
			  "C_SetAttributeValue: CKA_LABEL -> CKR_OK");
		expect_rv(set_attr(s, cert, CKA_ID, nid, sizeof(nid)), CKR_OK,
			  "C_SetAttributeValue: CKA_ID -> CKR_OK");
		if (open_session(slot, 0, &s2) == CKR_OK) {
			h = find_one(s2, CKO_CERTIFICATE, lbl);
			tap(h != CK_INVALID_HANDLE &&
				    attr_equals(s2, h, CKA_ID, nid, sizeof(nid)),
			    "C_SetAttributeValue: the new CKA_LABEL and CKA_ID "
			    "of a token object are seen by another session");
			p11->C_CloseSession(s2);
		}
		ul = CKO_DATA;
		expect_rv(set_attr(s, cert, CKA_CLASS, &ul, sizeof(ul)),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_CLASS -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
		ul = 1;
		expect_rv(set_attr(s, cert, CKA_CERTIFICATE_TYPE, &ul, sizeof(ul)),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_CERTIFICATE_TYPE -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
		expect_rv(set_bool(s, cert, CKA_TOKEN, CK_FALSE),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_TOKEN -> "
			  "CKR_ATTRIBUTE_READ_ONLY (only C_CopyObject may change "
			  "it)");
		expect_rv(set_bool(s, cert, CKA_PRIVATE, CK_TRUE),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_PRIVATE -> "
			  "CKR_ATTRIBUTE_READ_ONLY (only C_CopyObject may change "
			  "it)");
		expect_rv(set_attr(s, cert, BOGUS_ATTRIBUTE, "x", 1),
			  CKR_ATTRIBUTE_TYPE_INVALID,
			  "C_SetAttributeValue: an unknown attribute -> "
			  "CKR_ATTRIBUTE_TYPE_INVALID");
		expect_rv(set_attr(s, BOGUS_HANDLE, CKA_LABEL, "x", 1),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_SetAttributeValue: unknown handle -> "
			  "CKR_OBJECT_HANDLE_INVALID");
	}
	if (aes) {
		ul = CKK_GENERIC_SECRET;
		expect_rv(set_attr(s, aes, CKA_KEY_TYPE, &ul, sizeof(ul)),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_KEY_TYPE -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
		expect_rv(set_bool(s, aes, CKA_LOCAL, CK_TRUE),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_LOCAL -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
	}
	if (ec) {
		expect_rv(set_attr(s, ec, CKA_EC_PARAMS, oid_p384,
				   sizeof(oid_p384)),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_EC_PARAMS -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
	}
	if (rsa) {
		unsigned char one = 1;

		expect_rv(set_attr(s, rsa, CKA_MODULUS, &one, 1),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_MODULUS -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
	}
	if (keys[K_P256].ok) {
		CK_OBJECT_HANDLE pk = find_one(s, CKO_PRIVATE_KEY, "p256");

		expect_rv(set_attr(s, pk, CKA_LABEL, "p256-renamed", 12), CKR_OK,
			  "C_SetAttributeValue: CKA_LABEL of a TPM private key "
			  "-> CKR_OK");
		set_attr(s, pk, CKA_LABEL, "p256", 4);
		tap(find_one(s, CKO_PRIVATE_KEY, "p256") == pk,
		    "C_SetAttributeValue: the TPM key's label is back");
		ul = CKK_RSA;
		expect_rv(set_attr(s, pk, CKA_KEY_TYPE, &ul, sizeof(ul)),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: a TPM key's CKA_KEY_TYPE -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
		expect_rv(set_attr(s, pk, CKA_EC_PARAMS, oid_p384,
				   sizeof(oid_p384)),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: a TPM key's CKA_EC_PARAMS -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
	}

	/* CKA_MODIFIABLE, CKA_COPYABLE, CKA_DESTROYABLE false. */
	{
		CK_OBJECT_CLASS cls = CKO_DATA;
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_LABEL, "conf-fixed", 10 },
			{ CKA_MODIFIABLE, (void *)&no, sizeof(no) },
			{ CKA_COPYABLE, (void *)&no, sizeof(no) },
			{ CKA_DESTROYABLE, (void *)&no, sizeof(no) },
		};

		rv = p11->C_CreateObject(s, t, NELEM(t), &h);
		expect_rv(rv, CKR_OK, "C_CreateObject: a data object with "
				      "CKA_MODIFIABLE, CKA_COPYABLE and "
				      "CKA_DESTROYABLE false -> CKR_OK");
		if (rv == CKR_OK) {
			EXPECT_IN(set_attr(s, h, CKA_LABEL, "x", 1),
				  "C_SetAttributeValue: an object with "
				  "CKA_MODIFIABLE false -> CKR_ACTION_PROHIBITED "
				  "(v3.0) or CKR_ATTRIBUTE_READ_ONLY (v2.40)",
				  CKR_ACTION_PROHIBITED, CKR_ATTRIBUTE_READ_ONLY);
			expect_rv(p11->C_CopyObject(s, h, NULL, 0, &copy),
				  CKR_ACTION_PROHIBITED,
				  "C_CopyObject: an object with CKA_COPYABLE "
				  "false -> CKR_ACTION_PROHIBITED");
			expect_rv(p11->C_DestroyObject(s, h),
				  CKR_ACTION_PROHIBITED,
				  "C_DestroyObject: an object with "
				  "CKA_DESTROYABLE false -> "
				  "CKR_ACTION_PROHIBITED");
		}
	}

	/* C_CopyObject. */
	if (data) {
		CK_ATTRIBUTE t[] = {
			{ CKA_LABEL, "conf-copy", 9 },
			{ CKA_TOKEN, (void *)&no, sizeof(no) },
		};
		CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
		CK_ATTRIBUTE tc[] = { { CKA_CLASS, &cls, sizeof(cls) } };

		rv = p11->C_CopyObject(s, data, t, 2, &copy);
		expect_rv(rv, CKR_OK, "C_CopyObject: a token data object to a "
				      "session object with a new label -> "
				      "CKR_OK");
		if (rv == CKR_OK) {
			tap(copy != data && bool_is(s, copy, CKA_TOKEN, CK_FALSE) &&
				    attr_equals(s, copy, CKA_LABEL, "conf-copy",
						9) &&
				    attr_equals(s, copy, CKA_VALUE,
						"changed value", 13),
			    "C_CopyObject: the copy is a new session object with "
			    "the new label and the original's value");
			tap(attr_equals(s, data, CKA_LABEL, dlabel,
					strlen(dlabel)),
			    "C_CopyObject: the original keeps its label");
			p11->C_DestroyObject(s, copy);
		}
		EXPECT_IN(p11->C_CopyObject(s, data, tc, 1, &copy),
			  "C_CopyObject: changing CKA_CLASS -> "
			  "CKR_ATTRIBUTE_READ_ONLY or CKR_TEMPLATE_INCONSISTENT",
			  CKR_ATTRIBUTE_READ_ONLY, CKR_TEMPLATE_INCONSISTENT);
		expect_rv(p11->C_CopyObject(s, BOGUS_HANDLE, NULL, 0, &copy),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_CopyObject: unknown handle -> "
			  "CKR_OBJECT_HANDLE_INVALID");
	}
	if (ec) {
		CK_ATTRIBUTE t[] = { { CKA_TOKEN, (void *)&yes, sizeof(yes) } };

		rv = p11->C_CopyObject(s, ec, t, 1, &copy);
		expect_rv(rv, CKR_OK, "C_CopyObject: a session public key to a "
				      "token object -> CKR_OK");
		if (rv == CKR_OK) {
			CK_SESSION_HANDLE s2;

			tap(bool_is(s, copy, CKA_TOKEN, CK_TRUE),
			    "C_CopyObject: the copy is a token object");
			if (open_session(slot, 0, &s2) == CKR_OK) {
				snprintf(lbl, sizeof(lbl), "conf-ecpub-%ld",
					 (long)pid);
				tap(count_label(s2, CKO_PUBLIC_KEY, lbl) == 2,
				    "C_FindObjects: another session sees the "
				    "original and the token copy");
				p11->C_CloseSession(s2);
			}
			p11->C_DestroyObject(s, copy);
		}
	}

	/* C_DestroyObject. */
	if (cert) {
		CK_SESSION_HANDLE s2;

		expect_rv(p11->C_DestroyObject(s, cert), CKR_OK,
			  "C_DestroyObject: the certificate -> CKR_OK");
		snprintf(lbl, sizeof(lbl), "conf-cert-new-%ld", (long)pid);
		if (open_session(slot, 0, &s2) == CKR_OK) {
			tap(count_label(s2, CKO_CERTIFICATE, lbl) == 0,
			    "C_DestroyObject: the token object is gone for "
			    "other sessions");
			p11->C_CloseSession(s2);
		}
		expect_rv(get_attr(s, cert, CKA_LABEL, buf, sizeof(buf), NULL),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_DestroyObject: the handle is invalid afterwards");
	}
	expect_rv(p11->C_DestroyObject(s, BOGUS_HANDLE), CKR_OBJECT_HANDLE_INVALID,
		  "C_DestroyObject: unknown handle -> CKR_OBJECT_HANDLE_INVALID");
	if (data)
		p11->C_DestroyObject(s, data);
	if (pdata)
		p11->C_DestroyObject(s, pdata);
	if (rsa)
		p11->C_DestroyObject(s, rsa);
out:
	p11->C_CloseAllSessions(slot);
}

/* === 5. C_GetAttributeValue's cases (v2.40 5.7) ========================== */

static void
test_get_attribute(void)
{
	CK_SESSION_HANDLE s = user_session(false);
	CK_OBJECT_HANDLE pk, pub;
	char label[64];
	unsigned char value[128], tiny[1], big[64];
	CK_BBOOL sign = 0;
	CK_ATTRIBUTE t[6];
	CK_RV rv;

	if (s == CK_INVALID_HANDLE || !keys[K_P256].ok) {
		tap(false, "C_GetAttributeValue: a user session and key p256");
		goto out;
	}
	refresh_keys(s);
	pk = keys[K_P256].priv;
	pub = keys[K_P256].pub;

	memset(label, 0, sizeof(label));
	t[0] = (CK_ATTRIBUTE){ CKA_LABEL, label, sizeof(label) };
	t[1] = (CK_ATTRIBUTE){ CKA_VALUE, value, sizeof(value) };
	t[2] = (CK_ATTRIBUTE){ BOGUS_ATTRIBUTE, big, sizeof(big) };
	t[3] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, tiny, sizeof(tiny) };
	t[4] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, NULL, 0 };
	t[5] = (CK_ATTRIBUTE){ CKA_SIGN, &sign, sizeof(sign) };
	rv = p11->C_GetAttributeValue(s, pk, t, 6);
	EXPECT_IN(rv, "C_GetAttributeValue: sensitive, invalid, too-small and "
		      "good attributes at once -> CKR_ATTRIBUTE_SENSITIVE, "
		      "CKR_ATTRIBUTE_TYPE_INVALID or CKR_BUFFER_TOO_SMALL",
		  CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID,
		  CKR_BUFFER_TOO_SMALL);
	if (!tap(t[0].ulValueLen == 4 && memcmp(label, "p256", 4) == 0,
		 "C_GetAttributeValue: mixed call: CKA_LABEL is still filled"))
		diag("length %lu", (unsigned long)t[0].ulValueLen);
	tap(t[1].ulValueLen == CK_UNAVAILABLE_INFORMATION,
	    "C_GetAttributeValue: mixed call: the sensitive CKA_VALUE has "
	    "length CK_UNAVAILABLE_INFORMATION");
	tap(t[2].ulValueLen == CK_UNAVAILABLE_INFORMATION,
	    "C_GetAttributeValue: mixed call: the invalid attribute has length "
	    "CK_UNAVAILABLE_INFORMATION");
	tap(t[3].ulValueLen == CK_UNAVAILABLE_INFORMATION,
	    "C_GetAttributeValue: mixed call: the too-small CKA_EC_PARAMS has "
	    "length CK_UNAVAILABLE_INFORMATION");
	if (!tap(t[4].ulValueLen == sizeof(CK_KEY_TYPE),
		 "C_GetAttributeValue: mixed call: NULL pValue gives "
		 "CKA_KEY_TYPE's exact length"))
		diag("length %lu", (unsigned long)t[4].ulValueLen);
	tap(t[5].ulValueLen == 1 && sign == CK_TRUE,
	    "C_GetAttributeValue: mixed call: CKA_SIGN is still filled (true)");

	t[0] = (CK_ATTRIBUTE){ CKA_VALUE, value, sizeof(value) };
	rv = p11->C_GetAttributeValue(s, pk, t, 1);
	expect_rv(rv, CKR_ATTRIBUTE_SENSITIVE,
		  "C_GetAttributeValue: an EC private key's CKA_VALUE -> "
		  "CKR_ATTRIBUTE_SENSITIVE");
	t[0] = (CK_ATTRIBUTE){ BOGUS_ATTRIBUTE, big, sizeof(big) };
	expect_rv(p11->C_GetAttributeValue(s, pk, t, 1),
		  CKR_ATTRIBUTE_TYPE_INVALID,
		  "C_GetAttributeValue: an unknown attribute -> "
		  "CKR_ATTRIBUTE_TYPE_INVALID");
	t[0] = (CK_ATTRIBUTE){ CKA_MODULUS, big, sizeof(big) };
	expect_rv(p11->C_GetAttributeValue(s, pub, t, 1),
		  CKR_ATTRIBUTE_TYPE_INVALID,
		  "C_GetAttributeValue: CKA_MODULUS of an EC key -> "
		  "CKR_ATTRIBUTE_TYPE_INVALID");
	t[0] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, tiny, sizeof(tiny) };
	expect_rv(p11->C_GetAttributeValue(s, pub, t, 1), CKR_BUFFER_TOO_SMALL,
		  "C_GetAttributeValue: a buffer too small -> "
		  "CKR_BUFFER_TOO_SMALL");
	t[0] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, NULL, 0 };
	t[1] = (CK_ATTRIBUTE){ CKA_LABEL, label, sizeof(label) };
	rv = p11->C_GetAttributeValue(s, pub, t, 2);
	if (!tap(rv == CKR_OK && t[0].ulValueLen == sizeof(oid_p256) &&
			 t[1].ulValueLen == 4,
		 "C_GetAttributeValue: NULL pValue and a big enough buffer -> "
		 "CKR_OK with exact lengths"))
		diag("%s, lengths %lu %lu", rv_name(rv),
		     (unsigned long)t[0].ulValueLen,
		     (unsigned long)t[1].ulValueLen);
	expect_rv(p11->C_GetAttributeValue(s, BOGUS_HANDLE, t, 1),
		  CKR_OBJECT_HANDLE_INVALID,
		  "C_GetAttributeValue: unknown handle -> "
		  "CKR_OBJECT_HANDLE_INVALID");
	expect_rv(p11->C_GetAttributeValue(s, pub, NULL, 1), CKR_ARGUMENTS_BAD,
		  "C_GetAttributeValue: NULL template -> CKR_ARGUMENTS_BAD");
	if (keys[K_RSA].ok) {
		CK_ATTRIBUTE r[] = {
			{ CKA_PRIVATE_EXPONENT, NULL, 0 },
			{ CKA_PRIME_1, NULL, 0 },
			{ CKA_MODULUS, NULL, 0 },
		};

		rv = p11->C_GetAttributeValue(s, keys[K_RSA].priv, r, 3);
		tap(rv == CKR_ATTRIBUTE_SENSITIVE &&
			    r[0].ulValueLen == CK_UNAVAILABLE_INFORMATION &&
			    r[1].ulValueLen == CK_UNAVAILABLE_INFORMATION &&
			    r[2].ulValueLen > 0 &&
			    r[2].ulValueLen != CK_UNAVAILABLE_INFORMATION,
		    "C_GetAttributeValue: an RSA private key: "
		    "CKA_PRIVATE_EXPONENT and CKA_PRIME_1 sensitive, "
		    "CKA_MODULUS readable");
	}
	/* The attributes every private key has. */
	{
		CK_BBOOL b[6];
		CK_ATTRIBUTE a[] = {
			{ CKA_SENSITIVE, &b[0], 1 },
			{ CKA_EXTRACTABLE, &b[1], 1 },
			{ CKA_ALWAYS_SENSITIVE, &b[2], 1 },
			{ CKA_NEVER_EXTRACTABLE, &b[3], 1 },
			{ CKA_LOCAL, &b[4], 1 },
			{ CKA_PRIVATE, &b[5], 1 },
		};

		rv = p11->C_GetAttributeValue(s, pk, a, NELEM(a));
		if (!tap(rv == CKR_OK && b[0] && !b[1] && b[2] && b[3] && b[4] &&
				 b[5],
			 "C_GetAttributeValue: a TPM key made in the TPM is "
			 "sensitive, not extractable, always sensitive, never "
			 "extractable, local and private"))
			diag("%s: %d %d %d %d %d %d", rv_name(rv), b[0], b[1],
			     b[2], b[3], b[4], b[5]);
	}
out:
	p11->C_CloseAllSessions(slot);
}

/* === 6. latching and key extraction (v2.40 4.1.2, 4.9, 5.18) ============= */

static void
latch_rules(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const char *what)
{
	expect_rv(set_bool(s, h, CKA_SENSITIVE, CK_FALSE),
		  CKR_ATTRIBUTE_READ_ONLY,
		  "C_SetAttributeValue: %s: CKA_SENSITIVE true -> false -> "
		  "CKR_ATTRIBUTE_READ_ONLY", what);
	tap(bool_is(s, h, CKA_SENSITIVE, CK_TRUE),
	    "C_SetAttributeValue: %s: CKA_SENSITIVE is still true", what);
	expect_rv(set_bool(s, h, CKA_EXTRACTABLE, CK_TRUE),
		  CKR_ATTRIBUTE_READ_ONLY,
		  "C_SetAttributeValue: %s: CKA_EXTRACTABLE false -> true -> "
		  "CKR_ATTRIBUTE_READ_ONLY", what);
	tap(bool_is(s, h, CKA_EXTRACTABLE, CK_FALSE),
	    "C_SetAttributeValue: %s: CKA_EXTRACTABLE is still false", what);
	expect_rv(set_bool(s, h, CKA_ALWAYS_SENSITIVE, CK_TRUE),
		  CKR_ATTRIBUTE_READ_ONLY,
		  "C_SetAttributeValue: %s: CKA_ALWAYS_SENSITIVE -> "
		  "CKR_ATTRIBUTE_READ_ONLY", what);
	expect_rv(set_bool(s, h, CKA_ALWAYS_SENSITIVE, CK_FALSE),
		  CKR_ATTRIBUTE_READ_ONLY,
		  "C_SetAttributeValue: %s: CKA_ALWAYS_SENSITIVE false -> "
		  "CKR_ATTRIBUTE_READ_ONLY", what);
	expect_rv(set_bool(s, h, CKA_NEVER_EXTRACTABLE, CK_TRUE),
		  CKR_ATTRIBUTE_READ_ONLY,
		  "C_SetAttributeValue: %s: CKA_NEVER_EXTRACTABLE -> "
		  "CKR_ATTRIBUTE_READ_ONLY", what);
	expect_rv(set_bool(s, h, CKA_NEVER_EXTRACTABLE, CK_FALSE),
		  CKR_ATTRIBUTE_READ_ONLY,
		  "C_SetAttributeValue: %s: CKA_NEVER_EXTRACTABLE false -> "
		  "CKR_ATTRIBUTE_READ_ONLY", what);
}

/* Copies must not relax CKA_SENSITIVE / CKA_EXTRACTABLE. */
static void
copy_rules(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const char *what)
{
	CK_ATTRIBUTE ts[] = { { CKA_SENSITIVE, (void *)&no, sizeof(no) } };
	CK_ATTRIBUTE te[] = { { CKA_EXTRACTABLE, (void *)&yes, sizeof(yes) } };
	CK_OBJECT_HANDLE c = CK_INVALID_HANDLE;
	char name[300];
	CK_RV rv;

	rv = p11->C_CopyObject(s, h, ts, 1, &c);
	snprintf(name, sizeof(name),
		 "C_CopyObject: %s: a copy cannot be non-sensitive -> "
		 "CKR_ATTRIBUTE_READ_ONLY or CKR_TEMPLATE_INCONSISTENT (or "
		 "CKR_ACTION_PROHIBITED if not copyable)", what);
	if (!EXPECT_IN(rv, name, CKR_ATTRIBUTE_READ_ONLY,
		       CKR_TEMPLATE_INCONSISTENT, CKR_ACTION_PROHIBITED) &&
	    rv == CKR_OK)
		p11->C_DestroyObject(s, c);
	rv = p11->C_CopyObject(s, h, te, 1, &c);
	snprintf(name, sizeof(name),
		 "C_CopyObject: %s: a copy cannot be extractable -> "
		 "CKR_ATTRIBUTE_READ_ONLY or CKR_TEMPLATE_INCONSISTENT (or "
		 "CKR_ACTION_PROHIBITED if not copyable)", what);
	if (!EXPECT_IN(rv, name, CKR_ATTRIBUTE_READ_ONLY,
		       CKR_TEMPLATE_INCONSISTENT, CKR_ACTION_PROHIBITED) &&
	    rv == CKR_OK)
		p11->C_DestroyObject(s, c);
	if (rv == CKR_ACTION_PROHIBITED)
		tap(bool_is(s, h, CKA_COPYABLE, CK_FALSE),
		    "C_CopyObject: %s: CKR_ACTION_PROHIBITED only with "
		    "CKA_COPYABLE false", what);
}

static void
test_latching(void)
{
	CK_SESSION_HANDLE s = user_session(true);
	static const unsigned char k16[16] = "latch-key-16byte";
	static const unsigned char k32[32] = "a wrapping key of 32 bytes......";
	CK_OBJECT_HANDLE h = 0, c = 0, wk = 0;
	unsigned char wrapped[4096];
	CK_ULONG wl;
	CK_RV rv;

	if (s == CK_INVALID_HANDLE) {
		tap(false, "latching: a read/write user session");
		return;
	}
	refresh_keys(s);
	/* A secret key that starts non-sensitive and extractable. */
	rv = create_secret(s, CKK_AES, k16, 16, "conf-latch", false, false, true,
			   &h);
	if (expect_rv(rv, CKR_OK, "C_CreateObject: a non-sensitive, extractable "
				  "AES session key for the latching rules")) {
		CK_ATTRIBUTE ts[] = { { CKA_SENSITIVE, (void *)&yes, 1 } };
		CK_ATTRIBUTE tx[] = { { CKA_EXTRACTABLE, (void *)&no, 1 } };

		/* Copies may strengthen, and the history stays true. */
		rv = p11->C_CopyObject(s, h, ts, 1, &c);
		if (expect_rv(rv, CKR_OK, "C_CopyObject: CKA_SENSITIVE false -> "
					  "true in the copy -> CKR_OK")) {
			tap(bool_is(s, c, CKA_SENSITIVE, CK_TRUE) &&
				    bool_is(s, c, CKA_ALWAYS_SENSITIVE,
					    CK_FALSE),
			    "C_CopyObject: the copy is sensitive, and its "
			    "CKA_ALWAYS_SENSITIVE is the original's (false)");
			p11->C_DestroyObject(s, c);
		}
		rv = p11->C_CopyObject(s, h, tx, 1, &c);
		if (expect_rv(rv, CKR_OK, "C_CopyObject: CKA_EXTRACTABLE true -> "
					  "false in the copy -> CKR_OK")) {
			tap(bool_is(s, c, CKA_EXTRACTABLE, CK_FALSE) &&
				    bool_is(s, c, CKA_NEVER_EXTRACTABLE,
					    CK_FALSE),
			    "C_CopyObject: the copy is not extractable, and "
			    "CKA_NEVER_EXTRACTABLE is false");
			p11->C_DestroyObject(s, c);
		}
		expect_rv(set_bool(s, h, CKA_SENSITIVE, CK_TRUE), CKR_OK,
			  "C_SetAttributeValue: CKA_SENSITIVE false -> true -> "
			  "CKR_OK");
		{
			unsigned char v[32];
			CK_ATTRIBUTE a = { CKA_VALUE, v, sizeof(v) };

			rv = p11->C_GetAttributeValue(s, h, &a, 1);
			tap(rv == CKR_ATTRIBUTE_SENSITIVE &&
				    a.ulValueLen == CK_UNAVAILABLE_INFORMATION,
			    "C_GetAttributeValue: CKA_VALUE is hidden once "
			    "CKA_SENSITIVE is true");
		}
		expect_rv(set_bool(s, h, CKA_EXTRACTABLE, CK_FALSE), CKR_OK,
			  "C_SetAttributeValue: CKA_EXTRACTABLE true -> false -> "
			  "CKR_OK");
		tap(bool_is(s, h, CKA_ALWAYS_SENSITIVE, CK_FALSE) &&
			    bool_is(s, h, CKA_NEVER_EXTRACTABLE, CK_FALSE),
		    "C_GetAttributeValue: CKA_ALWAYS_SENSITIVE and "
		    "CKA_NEVER_EXTRACTABLE stay false (the key was once "
		    "exposed)");
		latch_rules(s, h, "a latched AES key");
		copy_rules(s, h, "a latched AES key");
	}
	if (keys[K_P256].ok) {
		latch_rules(s, keys[K_P256].priv, "a TPM EC private key");
		copy_rules(s, keys[K_P256].priv, "a TPM EC private key");
	}
	if (keys[K_RSA].ok)
		latch_rules(s, keys[K_RSA].priv, "a TPM RSA private key");

	/* Wrapping a non-extractable key. */
	rv = create_secret(s, CKK_AES, k32, 32, "conf-wrapper", false, true,
			   false, &wk);
	if (rv == CKR_OK)
		set_bool(s, wk, CKA_WRAP, CK_TRUE);
	{
		CK_MECHANISM m = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
		CK_RV r1;

		wl = sizeof(wrapped);
		r1 = p11->C_WrapKey(s, &m, wk, keys[K_P256].priv, wrapped, &wl);
		if (r1 == CKR_FUNCTION_NOT_SUPPORTED) {
			tap(true, "C_WrapKey: wrapping is not supported "
				  "(CKR_FUNCTION_NOT_SUPPORTED): a "
				  "non-extractable key cannot leave");
			table_put("key wrapping",
				  "not supported: C_WrapKey -> "
				  "CKR_FUNCTION_NOT_SUPPORTED");
		} else {
			expect_rv(r1, CKR_KEY_UNEXTRACTABLE,
				  "C_WrapKey: a non-extractable TPM key -> "
				  "CKR_KEY_UNEXTRACTABLE");
			if (h) {
				wl = sizeof(wrapped);
				expect_rv(p11->C_WrapKey(s, &m, wk, h, wrapped,
							 &wl),
					  CKR_KEY_UNEXTRACTABLE,
					  "C_WrapKey: an AES key latched "
					  "non-extractable -> "
					  "CKR_KEY_UNEXTRACTABLE");
			}
			table_put("key wrapping", "supported; non-extractable "
						  "keys -> %s", rv_name(r1));
		}
		/* Wrap-then-decrypt with one key (the known attack). */
		if (r1 != CKR_FUNCTION_NOT_SUPPORTED) {
			static const unsigned char k2v[16] = "victim-key-value";
			CK_OBJECT_HANDLE k2 = 0, both = 0;
			CK_MECHANISM cbc;
			unsigned char iv[16] = { 0 }, out[64];
			CK_ULONG ol = sizeof(out);
			bool leaked = false;
			CK_RV r2;

			cbc.mechanism = CKM_AES_CBC_PAD;
			cbc.pParameter = iv;
			cbc.ulParameterLen = 16;
			create_secret(s, CKK_AES, k2v, 16, "conf-victim", false,
				      true, true, &k2);
			r2 = create_secret(s, CKK_AES, k32, 32, "conf-both",
					   false, true, false, &both);
			if (r2 == CKR_OK)
				r2 = set_bool(s, both, CKA_WRAP, CK_TRUE);
			if (r2 == CKR_OK) {
				wl = sizeof(wrapped);
				r2 = p11->C_WrapKey(s, &cbc, both, k2, wrapped,
						    &wl);
				if (r2 == CKR_OK &&
				    p11->C_DecryptInit(s, &cbc, both) == CKR_OK &&
				    p11->C_Decrypt(s, wrapped, wl, out, &ol) ==
					    CKR_OK &&
				    ol >= 16 && memcmp(out, k2v, 16) == 0)
					leaked = true;
			}
			tap(!leaked, "C_WrapKey/C_Decrypt: a key that wraps and "
				     "decrypts cannot reveal a sensitive key "
				     "it wrapped");
			if (k2)
				p11->C_DestroyObject(s, k2);
			if (both)
				p11->C_DestroyObject(s, both);
		}
	}
	if (wk)
		p11->C_DestroyObject(s, wk);
	if (h)
		p11->C_DestroyObject(s, h);
	p11->C_CloseAllSessions(slot);
}

/* === 7. key generation (v2.40 5.18, mechanisms 2.1.5, 2.3.?) ============== */

struct kp {
	CK_OBJECT_HANDLE pub, priv;
};

static CK_RV
gen_ec(CK_SESSION_HANDLE s, const unsigned char *oid, size_t oid_len,
       const char *label, bool token, bool sign, bool derive, struct kp *kp)
{
	CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	static const unsigned char id[] = { 0xc0, 0x4f, 0x01 };
	CK_ATTRIBUTE pubt[] = {
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, sizeof(id) },
		{ CKA_VERIFY, (void *)&yes, sizeof(yes) },
		{ CKA_EC_PARAMS, (void *)oid, oid_len },
	};
	CK_ATTRIBUTE privt[] = {
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, (void *)&yes, sizeof(yes) },
		{ CKA_SENSITIVE, (void *)&yes, sizeof(yes) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, sizeof(id) },
		{ CKA_SIGN, (void *)(sign ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_DERIVE, (void *)(derive ? &yes : &no), sizeof(CK_BBOOL) },
	};

	kp->pub = kp->priv = CK_INVALID_HANDLE;
	return p11->C_GenerateKeyPair(s, &m, pubt, oid ? NELEM(pubt)
						       : NELEM(pubt) - 1,
				      privt, NELEM(privt), &kp->pub, &kp->priv);
}

static CK_RV
gen_rsa(CK_SESSION_HANDLE s, CK_ULONG bits, const unsigned char *e,
	size_t elen, const char *label, bool token, bool decrypt,
	struct kp *kp)
{
	CK_MECHANISM m = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	static const unsigned char id[] = { 0x45, 0xa0 };
	CK_ATTRIBUTE pubt[] = {
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, sizeof(id) },
		{ CKA_VERIFY, (void *)&yes, sizeof(yes) },
		{ CKA_ENCRYPT, (void *)&yes, sizeof(yes) },
		{ CKA_PUBLIC_EXPONENT, (void *)e, elen },
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
	};
	CK_ATTRIBUTE privt[] = {
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, (void *)&yes, sizeof(yes) },
		{ CKA_SENSITIVE, (void *)&yes, sizeof(yes) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, sizeof(id) },
		{ CKA_SIGN, (void *)&yes, sizeof(yes) },
		{ CKA_DECRYPT, (void *)(decrypt ? &yes : &no),
		  sizeof(CK_BBOOL) },
	};

	kp->pub = kp->priv = CK_INVALID_HANDLE;
	return p11->C_GenerateKeyPair(s, &m, pubt,
				      bits ? NELEM(pubt) : NELEM(pubt) - 1,
				      privt, NELEM(privt), &kp->pub, &kp->priv);
}

static void
destroy_kp(CK_SESSION_HANDLE s, struct kp *kp)
{
	if (kp->pub)
		p11->C_DestroyObject(s, kp->pub);
	if (kp->priv)
		p11->C_DestroyObject(s, kp->priv);
	kp->pub = kp->priv = CK_INVALID_HANDLE;
}

/* Signs with the module, verifies with OpenSSL (and C_Verify). */
static bool
sign_check(CK_SESSION_HANDLE s, struct kp *kp, CK_KEY_TYPE kt, CK_RV *rvp)
{
	unsigned char dg[32], tbs[64], sig[1024];
	CK_ULONG sl = sizeof(sig), tl;
	CK_MECHANISM m = { kt == CKK_EC ? CKM_ECDSA : CKM_RSA_PKCS, NULL, 0 };
	EVP_PKEY *pk = pkey_of(s, kp->pub);
	bool ok = false;
	CK_RV rv;

	digest(EVP_sha256(), "generated key", 13, dg);
	if (kt == CKK_EC) {
		memcpy(tbs, dg, 32);
		tl = 32;
	} else {
		memcpy(tbs, digestinfo_sha256, sizeof(digestinfo_sha256));
		memcpy(tbs + sizeof(digestinfo_sha256), dg, 32);
		tl = sizeof(digestinfo_sha256) + 32;
	}
	rv = p11->C_SignInit(s, &m, kp->priv);
	if (rv == CKR_OK)
		rv = p11->C_Sign(s, tbs, tl, sig, &sl);
	if (rv == CKR_OK && pk != NULL)
		ok = kt == CKK_EC ? ecdsa_verify(pk, dg, 32, sig, sl)
				  : rsa_verify(pk, RSA_PKCS1_PADDING, NULL, 0,
					       tbs, tl, sig, sl);
	if (rvp)
		*rvp = rv;
	EVP_PKEY_free(pk);
	return ok;
}

static void
check_generated(CK_SESSION_HANDLE s, struct kp *kp, CK_KEY_TYPE kt,
		const char *what, const char *label, bool token)
{
	CK_ULONG mech = 0, cls = 0;
	CK_RV rv;

	tap(kp->pub != CK_INVALID_HANDLE && kp->priv != CK_INVALID_HANDLE &&
		    kp->pub != kp->priv,
	    "C_GenerateKeyPair: %s: two distinct handles", what);
	tap(get_ulong(s, kp->pub, CKA_CLASS, &cls) && cls == CKO_PUBLIC_KEY &&
		    get_ulong(s, kp->priv, CKA_CLASS, &cls) &&
		    cls == CKO_PRIVATE_KEY,
	    "C_GenerateKeyPair: %s: a public and a private key object", what);
	tap(attr_equals(s, kp->pub, CKA_LABEL, label, strlen(label)) &&
		    attr_equals(s, kp->priv, CKA_LABEL, label, strlen(label)),
	    "C_GenerateKeyPair: %s: CKA_LABEL from the templates", what);
	tap(attr_equals(s, kp->pub, CKA_ID, kt == CKK_EC ? "\xc0\x4f\x01" : "\x45\xa0",
			kt == CKK_EC ? 3 : 2) &&
		    attr_equals(s, kp->priv, CKA_ID,
				kt == CKK_EC ? "\xc0\x4f\x01" : "\x45\xa0",
				kt == CKK_EC ? 3 : 2),
	    "C_GenerateKeyPair: %s: CKA_ID from the templates", what);
	tap(bool_is(s, kp->pub, CKA_TOKEN, token ? CK_TRUE : CK_FALSE) &&
		    bool_is(s, kp->priv, CKA_TOKEN, token ? CK_TRUE : CK_FALSE),
	    "C_GenerateKeyPair: %s: CKA_TOKEN %s as asked", what,
	    token ? "true" : "false");
	tap(bool_is(s, kp->priv, CKA_SIGN, CK_TRUE) &&
		    bool_is(s, kp->pub, CKA_VERIFY, CK_TRUE),
	    "C_GenerateKeyPair: %s: CKA_SIGN / CKA_VERIFY as asked", what);
	tap(bool_is(s, kp->pub, CKA_LOCAL, CK_TRUE) &&
		    bool_is(s, kp->priv, CKA_LOCAL, CK_TRUE),
	    "C_GenerateKeyPair: %s: CKA_LOCAL true on both keys", what);
	if (!tap(get_ulong(s, kp->priv, CKA_KEY_GEN_MECHANISM, &mech) &&
			 mech == (kt == CKK_EC ? CKM_EC_KEY_PAIR_GEN
					       : CKM_RSA_PKCS_KEY_PAIR_GEN),
		 "C_GenerateKeyPair: %s: CKA_KEY_GEN_MECHANISM is the "
		 "mechanism used", what))
		diag("CKA_KEY_GEN_MECHANISM 0x%lx", (unsigned long)mech);
	tap(bool_is(s, kp->priv, CKA_SENSITIVE, CK_TRUE) &&
		    bool_is(s, kp->priv, CKA_ALWAYS_SENSITIVE, CK_TRUE) &&
		    bool_is(s, kp->priv, CKA_EXTRACTABLE, CK_FALSE) &&
		    bool_is(s, kp->priv, CKA_NEVER_EXTRACTABLE, CK_TRUE),
	    "C_GenerateKeyPair: %s: private key sensitive, always sensitive, "
	    "not extractable, never extractable", what);
	if (kt == CKK_EC) {
		unsigned char *pt = NULL, *p1 = NULL, *p2 = NULL;
		CK_ULONG pl = 0, l1 = 0, l2 = 0;
		size_t hdr = 0, len = 0;

		get_attr_alloc(s, kp->pub, CKA_EC_POINT, &pt, &pl);
		tap(pt != NULL && der_tlv(pt, pl, 0x04, &hdr, &len) && len > 1 &&
			    pt[hdr] == 0x04 && len % 2 == 1,
		    "C_GenerateKeyPair: %s: CKA_EC_POINT is a DER OCTET STRING "
		    "holding an uncompressed point", what);
		get_attr_alloc(s, kp->pub, CKA_EC_PARAMS, &p1, &l1);
		get_attr_alloc(s, kp->priv, CKA_EC_PARAMS, &p2, &l2);
		tap(p1 && p2 && l1 == l2 && memcmp(p1, p2, l1) == 0,
		    "C_GenerateKeyPair: %s: both keys carry the CKA_EC_PARAMS",
		    what);
		free(pt);
		free(p1);
		free(p2);
	} else {
		CK_ULONG bits = 0;
		unsigned char *n = NULL;
		CK_ULONG nl = 0;

		get_ulong(s, kp->pub, CKA_MODULUS_BITS, &bits);
		get_attr_alloc(s, kp->pub, CKA_MODULUS, &n, &nl);
		tap(n != NULL && nl * 8 == bits && (n[0] & 0x80),
		    "C_GenerateKeyPair: %s: CKA_MODULUS has CKA_MODULUS_BITS "
		    "bits", what);
		free(n);
	}
	{
		unsigned char v[16];
		CK_ATTRIBUTE a = { kt == CKK_EC ? CKA_VALUE
						: CKA_PRIVATE_EXPONENT,
				   v, sizeof(v) };

		rv = p11->C_GetAttributeValue(s, kp->priv, &a, 1);
		expect_rv(rv, CKR_ATTRIBUTE_SENSITIVE,
			  "C_GenerateKeyPair: %s: the private value is "
			  "CKR_ATTRIBUTE_SENSITIVE", what);
	}
	if (!tap(sign_check(s, kp, kt, &rv),
		 "C_Sign: %s: the new key signs, OpenSSL verifies", what))
		diag("C_Sign: %s", rv_name(rv));
}

/* Issue 13 item 16: CKA_TOKEN defaults to CK_FALSE (v2.40 4.4, storage
 * objects), for C_GenerateKeyPair as for C_GenerateKey: templates that do
 * not say make session keys, also in a read-only session. A private key
 * template that asks for a token object gets one. */
static void
keygen_token_default(CK_SESSION_HANDLE s)
{
	CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE pubt[] = {
		{ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) },
		{ CKA_VERIFY, (void *)&yes, sizeof(yes) },
	};
	CK_ATTRIBUTE privt[] = {
		{ CKA_SIGN, (void *)&yes, sizeof(yes) },
		{ CKA_TOKEN, (void *)&yes, sizeof(yes) },
	};
	CK_SESSION_HANDLE ro = CK_INVALID_HANDLE;
	struct kp kp;
	CK_RV rv;

	if (open_session(slot, 0, &ro) == CKR_OK) {
		kp.pub = kp.priv = CK_INVALID_HANDLE;
		rv = p11->C_GenerateKeyPair(ro, &m, pubt, NELEM(pubt), privt,
					    NELEM(privt) - 1, &kp.pub, &kp.priv);
		if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: templates without "
				     "CKA_TOKEN in a read-only session -> "
				     "CKR_OK (session keys)")) {
			tap(bool_is(ro, kp.pub, CKA_TOKEN, CK_FALSE) &&
				    bool_is(ro, kp.priv, CKA_TOKEN, CK_FALSE),
			    "C_GenerateKeyPair: CKA_TOKEN defaults to false "
			    "(read-only session)");
			destroy_kp(ro, &kp);
		}
		p11->C_CloseSession(ro);
	}
	kp.pub = kp.priv = CK_INVALID_HANDLE;
	rv = p11->C_GenerateKeyPair(s, &m, pubt, NELEM(pubt), privt,
				    NELEM(privt) - 1, &kp.pub, &kp.priv);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: templates without "
			     "CKA_TOKEN in a read/write session -> CKR_OK")) {
		tap(bool_is(s, kp.pub, CKA_TOKEN, CK_FALSE) &&
			    bool_is(s, kp.priv, CKA_TOKEN, CK_FALSE),
		    "C_GenerateKeyPair: CKA_TOKEN defaults to false, as in "
		    "C_GenerateKey (read/write session: no persistent key "
		    "nobody asked for)");
		destroy_kp(s, &kp);
	}
	kp.pub = kp.priv = CK_INVALID_HANDLE;
	rv = p11->C_GenerateKeyPair(s, &m, pubt, NELEM(pubt), privt,
				    NELEM(privt), &kp.pub, &kp.priv);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: CKA_TOKEN true in the "
			     "private key template only -> CKR_OK")) {
		tap(bool_is(s, kp.priv, CKA_TOKEN, CK_TRUE),
		    "C_GenerateKeyPair: the private key is a token object, "
		    "as its template asks");
		destroy_kp(s, &kp);
	}
}

static void
test_keygen(void)
{
	CK_SESSION_HANDLE s = user_session(true), ro = CK_INVALID_HANDLE;
	CK_SESSION_HANDLE pub = CK_INVALID_HANDLE;
	CK_MECHANISM_INFO mi = { 0 };
	static const unsigned char f4[] = { 0x01, 0x00, 0x01 };
	struct kp kp;
	char lbl[64];
	CK_RV rv;
	size_t i;
	bool have_ec = mech_advertised(CKM_EC_KEY_PAIR_GEN, &mi);
	CK_MECHANISM_INFO ec_mi = mi;
	bool have_rsa;
	CK_MECHANISM_INFO rsa_mi = { 0 };

	have_rsa = mech_advertised(CKM_RSA_PKCS_KEY_PAIR_GEN, &rsa_mi);
	if (s == CK_INVALID_HANDLE) {
		tap(false, "key generation: a read/write user session");
		return;
	}
	tap(have_ec, "C_GetMechanismList: CKM_EC_KEY_PAIR_GEN is advertised");
	tap(have_rsa,
	    "C_GetMechanismList: CKM_RSA_PKCS_KEY_PAIR_GEN is advertised");

	/* EC: P-256 as a token key pair, P-384 as session keys. */
	snprintf(lbl, sizeof(lbl), "conf-gen-p256-%ld", (long)getpid());
	rv = gen_ec(s, oid_p256, sizeof(oid_p256), lbl, true, true, false, &kp);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: EC P-256, token objects "
				  "-> CKR_OK")) {
		CK_SESSION_HANDLE s2;

		check_generated(s, &kp, CKK_EC, "EC P-256", lbl, true);
		if (open_session(slot, 0, &s2) == CKR_OK) {
			tap(count_label(s2, CKO_PRIVATE_KEY, lbl) == 1,
			    "C_GenerateKeyPair: the token key is seen from "
			    "another session");
			p11->C_CloseSession(s2);
		}
		destroy_kp(s, &kp);
	}
	snprintf(lbl, sizeof(lbl), "conf-gen-p384-%ld", (long)getpid());
	rv = gen_ec(s, oid_p384, sizeof(oid_p384), lbl, true, true, false, &kp);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: EC P-384, token objects "
				  "-> CKR_OK")) {
		check_generated(s, &kp, CKK_EC, "EC P-384", lbl, true);
		destroy_kp(s, &kp);
	}
	snprintf(lbl, sizeof(lbl), "conf-gen-p256s-%ld", (long)getpid());
	rv = gen_ec(s, oid_p256, sizeof(oid_p256), lbl, false, true, false, &kp);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: EC P-256, session objects "
				  "-> CKR_OK")) {
		check_generated(s, &kp, CKK_EC, "EC P-256 session keys", lbl,
				false);
		destroy_kp(s, &kp);
	}
	keygen_token_default(s);
	/* Other curves the TPM has: generated, or refused consistently. */
	for (i = 0; i < NELEM(curves); i++) {
		const struct curve *c = &curves[i];
		bool in_range = have_ec && c->bits >= ec_mi.ulMinKeySize &&
				c->bits <= ec_mi.ulMaxKeySize;

		if (c->bits == 256 || c->bits == 384 || !tpm_has_curve(c))
			continue;
		snprintf(lbl, sizeof(lbl), "conf-gen-%s", c->name);
		rv = gen_ec(s, c->oid, c->oid_len, lbl, true, true, false, &kp);
		if (rv == CKR_OK) {
			tap(in_range, "C_GenerateKeyPair: EC %s (the TPM has "
				      "it) works, and CKM_EC_KEY_PAIR_GEN's key "
				      "sizes include %u", c->name, c->bits);
			check_generated(s, &kp, CKK_EC, c->name, lbl, true);
			destroy_kp(s, &kp);
			table_put(c->name, "supported (C_GenerateKeyPair)");
		} else {
			if (!tap(rv == CKR_CURVE_NOT_SUPPORTED && !in_range,
				 "C_GenerateKeyPair: EC %s (the TPM has it) "
				 "refused -> CKR_CURVE_NOT_SUPPORTED, outside "
				 "CKM_EC_KEY_PAIR_GEN's key sizes", c->name))
				diag("got %s; sizes %lu..%lu", rv_name(rv),
				     (unsigned long)ec_mi.ulMinKeySize,
				     (unsigned long)ec_mi.ulMaxKeySize);
			table_put(c->name, "%s (C_GenerateKeyPair)",
				  rv_name(rv));
		}
	}
	table_put("P-256", "supported (C_GenerateKeyPair)");
	table_put("P-384", "supported (C_GenerateKeyPair)");
	expect_rv(gen_ec(s, oid_k256, sizeof(oid_k256), "conf-k256", true, true,
			 false, &kp),
		  CKR_CURVE_NOT_SUPPORTED,
		  "C_GenerateKeyPair: secp256k1 (not in a TPM) -> "
		  "CKR_CURVE_NOT_SUPPORTED");
	expect_rv(gen_ec(s, oid_bp256, sizeof(oid_bp256), "conf-bp256", true,
			 true, false, &kp),
		  CKR_CURVE_NOT_SUPPORTED,
		  "C_GenerateKeyPair: brainpoolP256r1 -> CKR_CURVE_NOT_SUPPORTED");
	{
		static const unsigned char junk[] = { 0x13, 0x02, 0x41, 0x42 };

		EXPECT_IN(gen_ec(s, junk, sizeof(junk), "conf-junk", true, true,
				 false, &kp),
			  "C_GenerateKeyPair: CKA_EC_PARAMS that is not a curve "
			  "-> CKR_ATTRIBUTE_VALUE_INVALID or "
			  "CKR_DOMAIN_PARAMS_INVALID",
			  CKR_ATTRIBUTE_VALUE_INVALID, CKR_DOMAIN_PARAMS_INVALID,
			  CKR_CURVE_NOT_SUPPORTED);
	}
	expect_rv(gen_ec(s, NULL, 0, "conf-noparams", true, true, false, &kp),
		  CKR_TEMPLATE_INCOMPLETE,
		  "C_GenerateKeyPair: EC without CKA_EC_PARAMS -> "
		  "CKR_TEMPLATE_INCOMPLETE");
	{
		CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
		CK_KEY_TYPE rsat = CKK_RSA;
		CK_OBJECT_CLASS sec = CKO_SECRET_KEY;
		CK_ATTRIBUTE p1[] = {
			{ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) },
			{ CKA_KEY_TYPE, &rsat, sizeof(rsat) },
		};
		CK_ATTRIBUTE p2[] = {
			{ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) },
			{ CKA_CLASS, &sec, sizeof(sec) },
		};
		CK_ATTRIBUTE p3[] = {
			{ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) },
			{ CKA_LOCAL, (void *)&no, sizeof(no) },
		};
		CK_ATTRIBUTE q[] = { { CKA_SIGN, (void *)&yes, 1 } };
		CK_ATTRIBUTE qext[] = { { CKA_EXTRACTABLE, (void *)&yes, 1 },
					{ CKA_SENSITIVE, (void *)&no, 1 } };
		struct kp k2;

		expect_rv(p11->C_GenerateKeyPair(s, &m, p1, 2, q, 1, &k2.pub,
						 &k2.priv),
			  CKR_TEMPLATE_INCONSISTENT,
			  "C_GenerateKeyPair: CKA_KEY_TYPE CKK_RSA with "
			  "CKM_EC_KEY_PAIR_GEN -> CKR_TEMPLATE_INCONSISTENT");
		expect_rv(p11->C_GenerateKeyPair(s, &m, p2, 2, q, 1, &k2.pub,
						 &k2.priv),
			  CKR_TEMPLATE_INCONSISTENT,
			  "C_GenerateKeyPair: CKA_CLASS CKO_SECRET_KEY in the "
			  "public template -> CKR_TEMPLATE_INCONSISTENT");
		EXPECT_IN(p11->C_GenerateKeyPair(s, &m, p3, 2, q, 1, &k2.pub,
						 &k2.priv),
			  "C_GenerateKeyPair: CKA_LOCAL in a template -> "
			  "CKR_ATTRIBUTE_READ_ONLY or CKR_TEMPLATE_INCONSISTENT",
			  CKR_ATTRIBUTE_READ_ONLY, CKR_TEMPLATE_INCONSISTENT);
		rv = p11->C_GenerateKeyPair(s, &m, p1, 1, qext, 2, &k2.pub,
					    &k2.priv);
		if (rv == CKR_OK) {
			unsigned char v[80];
			CK_ATTRIBUTE a = { CKA_VALUE, v, sizeof(v) };

			/* Honoured: then the value must really come out. */
			tap(p11->C_GetAttributeValue(s, k2.priv, &a, 1) == CKR_OK,
			    "C_GenerateKeyPair: a private key asked "
			    "non-sensitive and extractable either is refused "
			    "or reveals CKA_VALUE");
			table_put("extractable private key", "honoured");
			destroy_kp(s, &k2);
		} else {
			EXPECT_IN(rv,
				  "C_GenerateKeyPair: a private key asked "
				  "non-sensitive and extractable (impossible in "
				  "a TPM) -> CKR_TEMPLATE_INCONSISTENT or "
				  "CKR_ATTRIBUTE_VALUE_INVALID",
				  CKR_TEMPLATE_INCONSISTENT,
				  CKR_ATTRIBUTE_VALUE_INVALID);
			table_put("extractable private key", "refused: %s",
				  rv_name(rv));
		}
		expect_rv(p11->C_GenerateKeyPair(s, &m, p1, 1, q, 1, NULL, NULL),
			  CKR_ARGUMENTS_BAD,
			  "C_GenerateKeyPair: NULL handle pointers -> "
			  "CKR_ARGUMENTS_BAD");
	}
	/* CKA_SIGN false is honoured. */
	rv = gen_ec(s, oid_p256, sizeof(oid_p256), "conf-nosign", true, false,
		    false, &kp);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: P-256 with CKA_SIGN false "
				  "-> CKR_OK")) {
		CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };

		tap(bool_is(s, kp.priv, CKA_SIGN, CK_FALSE),
		    "C_GenerateKeyPair: CKA_SIGN false is kept");
		expect_rv(p11->C_SignInit(s, &m, kp.priv),
			  CKR_KEY_FUNCTION_NOT_PERMITTED,
			  "C_SignInit: a key with CKA_SIGN false -> "
			  "CKR_KEY_FUNCTION_NOT_PERMITTED");
		destroy_kp(s, &kp);
	}
	/* Sessions: read-only user session makes session keys only; a
	 * public session makes no private key. */
	if (open_session(slot, 0, &ro) == CKR_OK) {
		expect_rv(gen_ec(ro, oid_p256, sizeof(oid_p256),
				 "conf-ro-token", true, true, false, &kp),
			  CKR_SESSION_READ_ONLY,
			  "C_GenerateKeyPair: token keys in a read-only session "
			  "-> CKR_SESSION_READ_ONLY");
		rv = gen_ec(ro, oid_p256, sizeof(oid_p256), "conf-ro-session",
			    false, true, false, &kp);
		expect_rv(rv, CKR_OK, "C_GenerateKeyPair: session keys in a "
				      "read-only user session -> CKR_OK");
		if (rv == CKR_OK) {
			p11->C_CloseSession(ro);
			ro = CK_INVALID_HANDLE;
			tap(count_label(s, CKO_PRIVATE_KEY, "conf-ro-session") ==
				    0,
			    "C_CloseSession: the generated session keys are "
			    "gone with their session");
		}
		if (ro)
			p11->C_CloseSession(ro);
	}

	/* RSA. */
	snprintf(lbl, sizeof(lbl), "conf-gen-rsa2048-%ld", (long)getpid());
	rv = gen_rsa(s, 2048, f4, sizeof(f4), lbl, true, true, &kp);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: RSA 2048, e=65537, "
				  "token objects -> CKR_OK")) {
		check_generated(s, &kp, CKK_RSA, "RSA 2048", lbl, true);
		tap(attr_equals(s, kp.pub, CKA_PUBLIC_EXPONENT, f4, 3),
		    "C_GenerateKeyPair: RSA 2048: CKA_PUBLIC_EXPONENT is 65537");
		destroy_kp(s, &kp);
	}
	snprintf(lbl, sizeof(lbl), "conf-gen-rsa3072-%ld", (long)getpid());
	rv = gen_rsa(s, 3072, f4, sizeof(f4), lbl, true, false, &kp);
	if (expect_rv(rv, CKR_OK, "C_GenerateKeyPair: RSA 3072, token objects, "
				  "CKA_DECRYPT false -> CKR_OK")) {
		CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };

		check_generated(s, &kp, CKK_RSA, "RSA 3072", lbl, true);
		tap(bool_is(s, kp.priv, CKA_DECRYPT, CK_FALSE),
		    "C_GenerateKeyPair: CKA_DECRYPT false is kept");
		expect_rv(p11->C_DecryptInit(s, &m, kp.priv),
			  CKR_KEY_FUNCTION_NOT_PERMITTED,
			  "C_DecryptInit: a key with CKA_DECRYPT false -> "
			  "CKR_KEY_FUNCTION_NOT_PERMITTED");
		destroy_kp(s, &kp);
	}
	expect_rv(gen_rsa(s, 2049, f4, sizeof(f4), "conf-odd", true, true, &kp),
		  CKR_KEY_SIZE_RANGE,
		  "C_GenerateKeyPair: RSA 2049 bits -> CKR_KEY_SIZE_RANGE");
	{
		static const CK_ULONG sizes[] = { 1024, 4096, 8192 };

		for (i = 0; i < NELEM(sizes); i++) {
			bool in = have_rsa && sizes[i] >= rsa_mi.ulMinKeySize &&
				  sizes[i] <= rsa_mi.ulMaxKeySize;

			rv = gen_rsa(s, sizes[i], f4, sizeof(f4), "conf-size",
				     true, true, &kp);
			if (in)
				expect_rv(rv, CKR_OK,
					  "C_GenerateKeyPair: RSA %lu (inside "
					  "the advertised sizes) -> CKR_OK",
					  (unsigned long)sizes[i]);
			else
				expect_rv(rv, CKR_KEY_SIZE_RANGE,
					  "C_GenerateKeyPair: RSA %lu (outside "
					  "the advertised sizes) -> "
					  "CKR_KEY_SIZE_RANGE",
					  (unsigned long)sizes[i]);
			table_put(sizes[i] == 1024 ? "RSA 1024"
				  : sizes[i] == 4096 ? "RSA 4096"
						     : "RSA 8192",
				  "%s", rv == CKR_OK ? "supported"
						     : rv_name(rv));
			if (rv == CKR_OK)
				destroy_kp(s, &kp);
		}
		table_put("RSA 2048", "supported");
		table_put("RSA 3072", "supported");
	}
	expect_rv(gen_rsa(s, 0, f4, sizeof(f4), "conf-nobits", true, true, &kp),
		  CKR_TEMPLATE_INCOMPLETE,
		  "C_GenerateKeyPair: RSA without CKA_MODULUS_BITS -> "
		  "CKR_TEMPLATE_INCOMPLETE");
	{
		static const unsigned char e3[] = { 0x03 };

		rv = gen_rsa(s, 2048, e3, 1, "conf-e3", true, true, &kp);
		if (rv == CKR_OK) {
			tap(attr_equals(s, kp.pub, CKA_PUBLIC_EXPONENT, e3, 1),
			    "C_GenerateKeyPair: RSA with e=3 honours the "
			    "exponent");
			destroy_kp(s, &kp);
		} else {
			EXPECT_IN(rv, "C_GenerateKeyPair: RSA with e=3 is "
				      "honoured or refused -> "
				      "CKR_ATTRIBUTE_VALUE_INVALID or "
				      "CKR_TEMPLATE_INCONSISTENT",
				  CKR_ATTRIBUTE_VALUE_INVALID,
				  CKR_TEMPLATE_INCONSISTENT);
		}
		table_put("RSA e=3", "%s",
			  rv == CKR_OK ? "supported" : rv_name(rv));
	}
	/* A public session cannot make private keys. */
	p11->C_Logout(s);
	if (open_session(slot, CKF_RW_SESSION, &pub) == CKR_OK) {
		expect_rv(gen_ec(pub, oid_p256, sizeof(oid_p256), "conf-public",
				 true, true, false, &kp),
			  CKR_USER_NOT_LOGGED_IN,
			  "C_GenerateKeyPair: a private key in a public session "
			  "-> CKR_USER_NOT_LOGGED_IN");
	}
	login(s, CKU_USER, user_pin);

	/* C_GenerateKey. */
	{
		CK_MECHANISM aes = { CKM_AES_KEY_GEN, NULL, 0 };
		CK_MECHANISM gs = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
		static const CK_ULONG lens[] = { 16, 24, 32 };
		CK_MECHANISM_INFO ami;
		bool have_aes = mech_advertised(CKM_AES_KEY_GEN, &ami);
		CK_OBJECT_HANDLE k;

		for (i = 0; i < NELEM(lens); i++) {
			CK_ULONG l = lens[i];
			CK_ATTRIBUTE t[] = {
				{ CKA_VALUE_LEN, &l, sizeof(l) },
				{ CKA_ENCRYPT, (void *)&yes, 1 },
				{ CKA_DECRYPT, (void *)&yes, 1 },
				{ CKA_LABEL, "conf-aes-gen", 12 },
			};
			CK_ULONG got = 0, mech = 0;

			k = CK_INVALID_HANDLE;
			rv = p11->C_GenerateKey(s, &aes, t, NELEM(t), &k);
			if (!have_aes) {
				EXPECT_IN(rv, "C_GenerateKey: CKM_AES_KEY_GEN "
					      "not advertised -> "
					      "CKR_MECHANISM_INVALID (or "
					      "CKR_FUNCTION_NOT_SUPPORTED)",
					  CKR_MECHANISM_INVALID,
					  CKR_FUNCTION_NOT_SUPPORTED);
				break;
			}
			if (l == 24 && rv != CKR_OK) {
				/* Issue 5 asks for AES-128 and -256 only. */
				EXPECT_IN(rv, "C_GenerateKey: AES-192 works or is "
					      "refused -> CKR_KEY_SIZE_RANGE",
					  CKR_KEY_SIZE_RANGE);
				table_put("AES-192 keys", "%s", rv_name(rv));
				continue;
			}
			if (l == 24)
				table_put("AES-192 keys", "supported");
			if (!expect_rv(rv, CKR_OK, "C_GenerateKey: AES, "
						   "CKA_VALUE_LEN %lu -> CKR_OK",
				       (unsigned long)l))
				continue;
			tap(get_ulong(s, k, CKA_VALUE_LEN, &got) && got == l,
			    "C_GenerateKey: AES-%lu: CKA_VALUE_LEN is %lu",
			    (unsigned long)l * 8, (unsigned long)l);
			tap(bool_is(s, k, CKA_LOCAL, CK_TRUE) &&
				    get_ulong(s, k, CKA_KEY_GEN_MECHANISM,
					      &mech) &&
				    mech == CKM_AES_KEY_GEN,
			    "C_GenerateKey: AES-%lu: CKA_LOCAL true, "
			    "CKA_KEY_GEN_MECHANISM CKM_AES_KEY_GEN",
			    (unsigned long)l * 8);
			tap(bool_is(s, k, CKA_TOKEN, CK_FALSE) &&
				    attr_equals(s, k, CKA_LABEL, "conf-aes-gen",
						12),
			    "C_GenerateKey: AES-%lu: template honoured (label, "
			    "session object)", (unsigned long)l * 8);
			p11->C_DestroyObject(s, k);
		}
		if (have_aes) {
			CK_ULONG l = 17;
			CK_ATTRIBUTE t[] = { { CKA_VALUE_LEN, &l, sizeof(l) } };

			EXPECT_IN(p11->C_GenerateKey(s, &aes, t, 1, &k),
				  "C_GenerateKey: AES with CKA_VALUE_LEN 17 -> "
				  "CKR_ATTRIBUTE_VALUE_INVALID or "
				  "CKR_KEY_SIZE_RANGE",
				  CKR_ATTRIBUTE_VALUE_INVALID, CKR_KEY_SIZE_RANGE);
			expect_rv(p11->C_GenerateKey(s, &aes, NULL, 0, &k),
				  CKR_TEMPLATE_INCOMPLETE,
				  "C_GenerateKey: AES without CKA_VALUE_LEN -> "
				  "CKR_TEMPLATE_INCOMPLETE");
		}
		if (mech_advertised(CKM_GENERIC_SECRET_KEY_GEN, NULL)) {
			CK_ULONG l = 32;
			CK_ATTRIBUTE t[] = {
				{ CKA_VALUE_LEN, &l, sizeof(l) },
				{ CKA_SIGN, (void *)&yes, 1 },
				{ CKA_VERIFY, (void *)&yes, 1 },
			};

			rv = p11->C_GenerateKey(s, &gs, t, NELEM(t), &k);
			if (expect_rv(rv, CKR_OK, "C_GenerateKey: generic "
						  "secret, 32 bytes -> CKR_OK"))
				p11->C_DestroyObject(s, k);
		} else {
			CK_ULONG l = 32;
			CK_ATTRIBUTE t[] = { { CKA_VALUE_LEN, &l, sizeof(l) } };

			EXPECT_IN(p11->C_GenerateKey(s, &gs, t, 1, &k),
				  "C_GenerateKey: CKM_GENERIC_SECRET_KEY_GEN "
				  "not advertised -> CKR_MECHANISM_INVALID (or "
				  "CKR_FUNCTION_NOT_SUPPORTED)",
				  CKR_MECHANISM_INVALID,
				  CKR_FUNCTION_NOT_SUPPORTED);
		}
	}
	p11->C_CloseAllSessions(slot);
}

/* === 8. mechanisms (v2.40 current mechanisms) ============================ */

enum mkind {
	MK_DIGEST, MK_ECDSA, MK_RSA_SIGN, MK_RSA_OAEP, MK_KEYPAIR, MK_KEYGEN,
	MK_AES, MK_HMAC, MK_ECDH
};

struct mdef {
	CK_MECHANISM_TYPE type;
	const char *name;
	enum mkind kind;
	CK_MECHANISM_TYPE hash;     /* CK_UNAVAILABLE_INFORMATION: none */
	CK_FLAGS need;              /* flags issue 5 asks for */
	const char *tpm;            /* NULL: always required; "": optional;
				       else: required when the TPM has all
				       these algorithms */
};

#define NOHASH CK_UNAVAILABLE_INFORMATION
#define SV (CKF_SIGN | CKF_VERIFY)
#define ED (CKF_ENCRYPT | CKF_DECRYPT)

static const struct mdef mdefs[] = {
	{ CKM_SHA_1, "CKM_SHA_1", MK_DIGEST, CKM_SHA_1, CKF_DIGEST, NULL },
	{ CKM_SHA224, "CKM_SHA224", MK_DIGEST, CKM_SHA224, CKF_DIGEST, NULL },
	{ CKM_SHA256, "CKM_SHA256", MK_DIGEST, CKM_SHA256, CKF_DIGEST, NULL },
	{ CKM_SHA384, "CKM_SHA384", MK_DIGEST, CKM_SHA384, CKF_DIGEST, NULL },
	{ CKM_SHA512, "CKM_SHA512", MK_DIGEST, CKM_SHA512, CKF_DIGEST, NULL },
	{ CKM_ECDSA, "CKM_ECDSA", MK_ECDSA, NOHASH, SV, NULL },
	{ CKM_ECDSA_SHA1, "CKM_ECDSA_SHA1", MK_ECDSA, CKM_SHA_1, SV, NULL },
	{ CKM_ECDSA_SHA224, "CKM_ECDSA_SHA224", MK_ECDSA, CKM_SHA224, SV, NULL },
	{ CKM_ECDSA_SHA256, "CKM_ECDSA_SHA256", MK_ECDSA, CKM_SHA256, SV, NULL },
	{ CKM_ECDSA_SHA384, "CKM_ECDSA_SHA384", MK_ECDSA, CKM_SHA384, SV, NULL },
	{ CKM_ECDSA_SHA512, "CKM_ECDSA_SHA512", MK_ECDSA, CKM_SHA512, SV, NULL },
	{ CKM_RSA_PKCS, "CKM_RSA_PKCS", MK_RSA_SIGN, NOHASH,
	  SV | CKF_DECRYPT, NULL },
	{ CKM_RSA_PKCS_PSS, "CKM_RSA_PKCS_PSS", MK_RSA_SIGN, NOHASH, SV, NULL },
	{ CKM_RSA_X_509, "CKM_RSA_X_509", MK_RSA_SIGN, NOHASH, SV | CKF_DECRYPT,
	  NULL },
	{ CKM_SHA1_RSA_PKCS, "CKM_SHA1_RSA_PKCS", MK_RSA_SIGN, CKM_SHA_1, SV,
	  NULL },
	{ CKM_SHA224_RSA_PKCS, "CKM_SHA224_RSA_PKCS", MK_RSA_SIGN, CKM_SHA224,
	  SV, NULL },
	{ CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS", MK_RSA_SIGN, CKM_SHA256,
	  SV, NULL },
	{ CKM_SHA384_RSA_PKCS, "CKM_SHA384_RSA_PKCS", MK_RSA_SIGN, CKM_SHA384,
	  SV, NULL },
	{ CKM_SHA512_RSA_PKCS, "CKM_SHA512_RSA_PKCS", MK_RSA_SIGN, CKM_SHA512,
	  SV, NULL },
	{ CKM_SHA1_RSA_PKCS_PSS, "CKM_SHA1_RSA_PKCS_PSS", MK_RSA_SIGN, CKM_SHA_1,
	  SV, NULL },
	{ CKM_SHA224_RSA_PKCS_PSS, "CKM_SHA224_RSA_PKCS_PSS", MK_RSA_SIGN,
	  CKM_SHA224, SV, NULL },
	{ CKM_SHA256_RSA_PKCS_PSS, "CKM_SHA256_RSA_PKCS_PSS", MK_RSA_SIGN,
	  CKM_SHA256, SV, NULL },
	{ CKM_SHA384_RSA_PKCS_PSS, "CKM_SHA384_RSA_PKCS_PSS", MK_RSA_SIGN,
	  CKM_SHA384, SV, NULL },
	{ CKM_SHA512_RSA_PKCS_PSS, "CKM_SHA512_RSA_PKCS_PSS", MK_RSA_SIGN,
	  CKM_SHA512, SV, NULL },
	{ CKM_RSA_PKCS_OAEP, "CKM_RSA_PKCS_OAEP", MK_RSA_OAEP, NOHASH,
	  CKF_DECRYPT, NULL },
	{ CKM_EC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN", MK_KEYPAIR, NOHASH,
	  CKF_GENERATE_KEY_PAIR, NULL },
	{ CKM_RSA_PKCS_KEY_PAIR_GEN, "CKM_RSA_PKCS_KEY_PAIR_GEN", MK_KEYPAIR,
	  NOHASH, CKF_GENERATE_KEY_PAIR, NULL },
	{ CKM_ECDH1_DERIVE, "CKM_ECDH1_DERIVE", MK_ECDH, NOHASH, CKF_DERIVE,
	  "ecdh" },
	{ CKM_AES_KEY_GEN, "CKM_AES_KEY_GEN", MK_KEYGEN, NOHASH, CKF_GENERATE,
	  "aes" },
	{ CKM_GENERIC_SECRET_KEY_GEN, "CKM_GENERIC_SECRET_KEY_GEN", MK_KEYGEN,
	  NOHASH, CKF_GENERATE, "keyedhash hmac" },
	{ CKM_AES_ECB, "CKM_AES_ECB", MK_AES, NOHASH, ED, "aes ecb" },
	{ CKM_AES_CBC, "CKM_AES_CBC", MK_AES, NOHASH, ED, "aes cbc" },
	{ CKM_AES_CBC_PAD, "CKM_AES_CBC_PAD", MK_AES, NOHASH, ED, "aes cbc" },
	{ CKM_AES_CTR, "CKM_AES_CTR", MK_AES, NOHASH, ED, "aes ctr" },
	{ CKM_AES_CFB128, "CKM_AES_CFB128", MK_AES, NOHASH, ED, "aes cfb" },
	{ CKM_AES_OFB, "CKM_AES_OFB", MK_AES, NOHASH, ED, "" },
	{ CKM_AES_CFB8, "CKM_AES_CFB8", MK_AES, NOHASH, ED, "" },
	{ CKM_SHA_1_HMAC, "CKM_SHA_1_HMAC", MK_HMAC, CKM_SHA_1, SV,
	  "hmac sha1" },
	{ CKM_SHA224_HMAC, "CKM_SHA224_HMAC", MK_HMAC, CKM_SHA224, SV, "" },
	{ CKM_SHA256_HMAC, "CKM_SHA256_HMAC", MK_HMAC, CKM_SHA256, SV,
	  "hmac sha256" },
	{ CKM_SHA384_HMAC, "CKM_SHA384_HMAC", MK_HMAC, CKM_SHA384, SV,
	  "hmac sha384" },
	{ CKM_SHA512_HMAC, "CKM_SHA512_HMAC", MK_HMAC, CKM_SHA512, SV,
	  "hmac sha512" },
};

static const struct mdef *
mdef_of(CK_MECHANISM_TYPE t)
{
	size_t i;

	for (i = 0; i < NELEM(mdefs); i++)
		if (mdefs[i].type == t)
			return &mdefs[i];
	return NULL;
}

static bool
mdef_required(const struct mdef *d)
{
	char words[64], *w, *save = NULL;

	if (d->tpm == NULL)
		return true;
	if (d->tpm[0] == '\0')
		return false;
	snprintf(words, sizeof(words), "%s", d->tpm);
	for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (!tpm_has_alg(w))
			return false;
	return true;
}

static void
flags_text(CK_FLAGS f, char *out, size_t cap)
{
	static const struct {
		CK_FLAGS f;
		const char *n;
	} names[] = {
		{ CKF_HW, "HW" }, { CKF_ENCRYPT, "ENCRYPT" },
		{ CKF_DECRYPT, "DECRYPT" }, { CKF_DIGEST, "DIGEST" },
		{ CKF_SIGN, "SIGN" }, { CKF_SIGN_RECOVER, "SIGN_RECOVER" },
		{ CKF_VERIFY, "VERIFY" }, { CKF_VERIFY_RECOVER, "VERIFY_RECOVER" },
		{ CKF_GENERATE, "GENERATE" },
		{ CKF_GENERATE_KEY_PAIR, "GENERATE_KEY_PAIR" },
		{ CKF_WRAP, "WRAP" }, { CKF_UNWRAP, "UNWRAP" },
		{ CKF_DERIVE, "DERIVE" }, { CKF_EC_F_P, "EC_F_P" },
		{ CKF_EC_NAMEDCURVE, "EC_NAMEDCURVE" },
		{ CKF_EC_UNCOMPRESS, "EC_UNCOMPRESS" },
		{ CKF_EC_COMPRESS, "EC_COMPRESS" },
	};
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < NELEM(names); i++)
		if ((f & names[i].f) && o + 24 < cap)
			o += (size_t)snprintf(out + o, cap - o, "%s%s",
					      o ? "|" : "", names[i].n);
}

/* Known answers (FIPS 180-4 examples) for "abc". */
static const struct {
	CK_MECHANISM_TYPE m;
	const char *hex;
} kat_abc[] = {
	{ CKM_SHA_1, "a9993e364706816aba3e25717850c26c9cd0d89d" },
	{ CKM_SHA224,
	  "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7" },
	{ CKM_SHA256,
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ CKM_SHA384,
	  "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
	  "8086072ba1e7cc2358baeca134c825a7" },
	{ CKM_SHA512,
	  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
};

static void
ex_digest(CK_SESSION_HANDLE s, const struct mdef *d)
{
	CK_MECHANISM m = { d->type, NULL, 0 };
	const EVP_MD *md = md_of(d->type);
	unsigned char out[64], want[64], big[100000];
	char h[129];
	CK_ULONG ol, mdlen = (CK_ULONG)EVP_MD_get_size(md), i;
	size_t k;
	CK_RV rv;

	/* single-part, known answer, length protocol */
	rv = p11->C_DigestInit(s, &m);
	expect_rv(rv, CKR_OK, "C_DigestInit: %s in a public session (no login) "
			      "-> CKR_OK", d->name);
	expect_rv(p11->C_DigestInit(s, &m), CKR_OPERATION_ACTIVE,
		  "C_DigestInit: %s while a digest is active -> "
		  "CKR_OPERATION_ACTIVE", d->name);
	ol = 0;
	rv = p11->C_Digest(s, (CK_BYTE *)"abc", 3, NULL, &ol);
	if (!tap(rv == CKR_OK && ol == mdlen,
		 "C_Digest: %s: NULL output gives the length (%lu)", d->name,
		 (unsigned long)mdlen))
		diag("%s, %lu", rv_name(rv), (unsigned long)ol);
	ol = 1;
	rv = p11->C_Digest(s, (CK_BYTE *)"abc", 3, out, &ol);
	if (!tap(rv == CKR_BUFFER_TOO_SMALL && ol == mdlen,
		 "C_Digest: %s: a buffer too small -> CKR_BUFFER_TOO_SMALL with "
		 "the length, operation still active", d->name))
		diag("%s, %lu", rv_name(rv), (unsigned long)ol);
	ol = sizeof(out);
	rv = p11->C_Digest(s, (CK_BYTE *)"abc", 3, out, &ol);
	hex(out, ol, h, sizeof(h));
	for (k = 0; k < NELEM(kat_abc); k++)
		if (kat_abc[k].m == d->type)
			break;
	if (!tap(rv == CKR_OK && k < NELEM(kat_abc) &&
			 strcmp(h, kat_abc[k].hex) == 0,
		 "C_Digest: %s(\"abc\") is the FIPS 180-4 answer", d->name))
		diag("%s, got %s", rv_name(rv), h);
	expect_rv(p11->C_DigestUpdate(s, (CK_BYTE *)"x", 1),
		  CKR_OPERATION_NOT_INITIALIZED,
		  "C_DigestUpdate: %s after C_Digest finished -> "
		  "CKR_OPERATION_NOT_INITIALIZED", d->name);
	/* empty message */
	ol = sizeof(out);
	rv = p11->C_DigestInit(s, &m);
	if (rv == CKR_OK)
		rv = p11->C_Digest(s, (CK_BYTE *)"", 0, out, &ol);
	digest(md, "", 0, want);
	tap(rv == CKR_OK && ol == mdlen && memcmp(out, want, mdlen) == 0,
	    "C_Digest: %s of the empty message is OpenSSL's", d->name);
	/* multi-part, 100000 bytes in uneven parts */
	RAND_bytes(big, sizeof(big));
	digest(md, big, sizeof(big), want);
	rv = p11->C_DigestInit(s, &m);
	for (i = 0; rv == CKR_OK && i < sizeof(big);) {
		CK_ULONG part = (i % 7 + 1) * 997;

		if (part > sizeof(big) - i)
			part = sizeof(big) - i;
		rv = p11->C_DigestUpdate(s, big + i, part);
		i += part;
	}
	if (rv == CKR_OK)
		rv = p11->C_DigestUpdate(s, big, 0);
	ol = 0;
	if (rv == CKR_OK) {
		rv = p11->C_DigestFinal(s, NULL, &ol);
		tap(rv == CKR_OK && ol == mdlen,
		    "C_DigestFinal: %s: NULL output gives the length", d->name);
		ol = sizeof(out);
		rv = p11->C_DigestFinal(s, out, &ol);
	}
	if (!tap(rv == CKR_OK && ol == mdlen && memcmp(out, want, mdlen) == 0,
		 "C_DigestUpdate/C_DigestFinal: %s of 100000 bytes in parts is "
		 "OpenSSL's", d->name))
		diag("%s", rv_name(rv));
}

/* Signing material for one mechanism and key. */
struct sigcase {
	CK_MECHANISM m;
	CK_RSA_PKCS_PSS_PARAMS pss;
	unsigned char msg[600];
	size_t msglen;
	unsigned char tbs[600];     /* what OpenSSL checks: digest or raw */
	size_t tbslen;
	const EVP_MD *md;           /* for RSA verify, NULL for raw */
	int saltlen;
	bool multipart;             /* hashing mechanism */
};

static bool
sig_check(struct key *k, const struct mdef *d, struct sigcase *c,
	  const unsigned char *sig, size_t sl)
{
	if (k->type == CKK_EC)
		return ecdsa_verify(k->pkey, c->tbs, c->tbslen, sig, sl);
	if (d->type == CKM_RSA_X_509)
		return rsa_verify(k->pkey, RSA_NO_PADDING, NULL, 0, c->tbs,
				  c->tbslen, sig, sl);
	if (c->m.ulParameterLen) /* PSS */
		return rsa_verify(k->pkey, RSA_PKCS1_PSS_PADDING, c->md,
				  c->saltlen, c->tbs, c->tbslen, sig, sl);
	return rsa_verify(k->pkey, RSA_PKCS1_PADDING, c->md, 0, c->tbs,
			  c->tbslen, sig, sl);
}

/* Fills c for mechanism d with key k. raw_hash: the hash of the input of
 * CKM_ECDSA / CKM_RSA_PKCS_PSS (CKM_SHA256 etc). salt: PSS salt length,
 * or -1 for the hash length. */
static void
sigcase_init(struct sigcase *c, struct key *k, const struct mdef *d,
	     CK_MECHANISM_TYPE raw_hash, int salt)
{
	size_t modlen = (size_t)EVP_PKEY_get_size(k->pkey);
	const EVP_MD *hmd;

	memset(c, 0, sizeof(*c));
	c->m.mechanism = d->type;
	c->msglen = 300;
	RAND_bytes(c->msg, c->msglen);
	c->multipart = d->hash != NOHASH;
	if (d->hash != NOHASH) {
		hmd = md_of(d->hash);
		c->tbslen = digest(hmd, c->msg, c->msglen, c->tbs);
		c->md = hmd;
	} else if (d->type == CKM_ECDSA) {
		hmd = md_of(raw_hash);
		c->msglen = digest(hmd, c->msg, c->msglen, c->msg);
		memcpy(c->tbs, c->msg, c->msglen);
		c->tbslen = c->msglen;
	} else if (d->type == CKM_RSA_PKCS) {
		unsigned char dg[32];

		digest(EVP_sha256(), c->msg, c->msglen, dg);
		memcpy(c->msg, digestinfo_sha256, sizeof(digestinfo_sha256));
		memcpy(c->msg + sizeof(digestinfo_sha256), dg, 32);
		c->msglen = sizeof(digestinfo_sha256) + 32;
		memcpy(c->tbs, c->msg, c->msglen);
		c->tbslen = c->msglen;
	} else if (d->type == CKM_RSA_X_509) {
		c->msglen = modlen;
		c->msg[0] = 0x00;
		c->msg[1] &= 0x7f;
		c->msg[1] |= 0x01;
		memcpy(c->tbs, c->msg, c->msglen);
		c->tbslen = c->msglen;
	} else if (d->type == CKM_RSA_PKCS_PSS) {
		hmd = md_of(raw_hash);
		c->msglen = digest(hmd, c->msg, c->msglen, c->msg);
		memcpy(c->tbs, c->msg, c->msglen);
		c->tbslen = c->msglen;
		c->md = hmd;
	}
	if (d->kind == MK_RSA_SIGN &&
	    (d->type == CKM_RSA_PKCS_PSS ||
	     strstr(d->name, "_PSS") != NULL)) {
		CK_MECHANISM_TYPE h = d->hash != NOHASH ? d->hash : raw_hash;

		c->pss.hashAlg = h;
		c->pss.mgf = mgf_of(h);
		c->saltlen = salt >= 0 ? salt : EVP_MD_get_size(md_of(h));
		c->pss.sLen = (CK_ULONG)c->saltlen;
		c->m.pParameter = &c->pss;
		c->m.ulParameterLen = sizeof(c->pss);
	}
}

/* The RSA key for decryption: the tool's, when it has CKA_DECRYPT, else
 * one made here (dec_key_setup). Raw RSA signing (CKM_RSA_X_509) uses it
 * too: that is the private-key operation itself. */
static struct key dec_key;
static struct kp dec_made;

/* Issue 13 item 1: CKM_RSA_X_509 signing is the raw private-key
 * operation, i.e. RSA decryption. On a key with CKA_SIGN true and
 * CKA_DECRYPT false (the tool's keys) it must be refused, else C_Sign
 * over a ciphertext made for the key returns its plaintext. PKCS#1 v1.5
 * and PSS signing with host-built padding stay allowed (they are tested
 * with this very key in ex_sign). */
static void
ex_rsa_raw_oracle(CK_SESSION_HANDLE s)
{
	struct key *k = &keys[K_RSA];
	CK_MECHANISM m = { CKM_RSA_X_509, NULL, 0 };
	unsigned char pt[512], ct[512], out[512];
	size_t modlen, ctlen;
	CK_ULONG ol = sizeof(out);
	CK_RV rv;

	if (!k->ok || !bool_is(s, k->priv, CKA_SIGN, CK_TRUE) ||
	    !bool_is(s, k->priv, CKA_DECRYPT, CK_FALSE)) {
		tap(false, "set-up: the tool's rsa2048 key is sign-only "
			   "(CKA_SIGN true, CKA_DECRYPT false)");
		return;
	}
	modlen = (size_t)EVP_PKEY_get_size(k->pkey);
	RAND_bytes(pt, modlen);
	pt[0] = 0x00;
	pt[1] |= 0x01;
	ctlen = rsa_encrypt(k->pkey, RSA_NO_PADDING, NULL, NULL, 0, pt, modlen,
			    ct, sizeof(ct));
	if (!tap(ctlen == modlen, "set-up: OpenSSL encrypts a block (raw RSA) "
				  "for the sign-only key"))
		return;
	rv = p11->C_SignInit(s, &m, k->priv);
	expect_rv(rv, CKR_MECHANISM_INVALID,
		  "C_SignInit: CKM_RSA_X_509 on a key with CKA_DECRYPT false "
		  "-> CKR_MECHANISM_INVALID (raw signing decrypts; not a "
		  "mechanism for this key)");
	if (rv == CKR_OK)
		rv = p11->C_Sign(s, ct, ctlen, out, &ol);
	if (!tap(!(rv == CKR_OK && ol == modlen &&
		   memcmp(out, pt, modlen) == 0),
		 "C_Sign: CKM_RSA_X_509 on a sign-only key is no decryption "
		 "oracle (the plaintext of a ciphertext for the key does not "
		 "come back)"))
		diag("C_Sign returned the plaintext");
}

static CK_MECHANISM_TYPE once_per_mech = (CK_MECHANISM_TYPE)-1;

static void
ex_sign_one(CK_SESSION_HANDLE s, struct key *k, const struct mdef *d,
	    CK_MECHANISM_INFO *mi, struct sigcase *c, const char *what)
{
	unsigned char sig[1024];
	CK_ULONG sl, need;
	size_t modlen = (size_t)EVP_PKEY_get_size(k->pkey);
	CK_RV rv;

	need = k->type == CKK_EC ? 2 * ec_field_bytes(k->pkey) : modlen;
	rv = p11->C_SignInit(s, &c->m, k->priv);
	if (!expect_rv(rv, CKR_OK, "C_SignInit: %s %s -> CKR_OK", d->name,
		       what))
		return;
	sl = 0;
	rv = p11->C_Sign(s, c->msg, c->msglen, NULL, &sl);
	if (!tap(rv == CKR_OK && sl >= need,
		 "C_Sign: %s %s: NULL output gives a length >= %lu", d->name,
		 what, (unsigned long)need))
		diag("%s, %lu", rv_name(rv), (unsigned long)sl);
	sl = 8;
	rv = p11->C_Sign(s, c->msg, c->msglen, sig, &sl);
	if (!tap(rv == CKR_BUFFER_TOO_SMALL && sl >= need,
		 "C_Sign: %s %s: a buffer too small -> CKR_BUFFER_TOO_SMALL "
		 "with the length", d->name, what))
		diag("%s, %lu", rv_name(rv), (unsigned long)sl);
	sl = sizeof(sig);
	rv = p11->C_Sign(s, c->msg, c->msglen, sig, &sl);
	if (!tap(rv == CKR_OK && sl == need && sig_check(k, d, c, sig, sl),
		 "C_Sign: %s %s: the signature verifies with OpenSSL", d->name,
		 what)) {
		diag("%s, length %lu (expected %lu)", rv_name(rv),
		     (unsigned long)sl, (unsigned long)need);
		diag_openssl();
	}
	expect_rv(p11->C_Sign(s, c->msg, c->msglen, sig, &sl),
		  CKR_OPERATION_NOT_INITIALIZED,
		  "C_Sign: %s %s: after the signature -> "
		  "CKR_OPERATION_NOT_INITIALIZED", d->name, what);
	if (rv == CKR_OK && (mi->flags & CKF_VERIFY)) {
		CK_RV r2;

		r2 = p11->C_VerifyInit(s, &c->m, k->pub);
		if (r2 == CKR_OK)
			r2 = p11->C_Verify(s, c->msg, c->msglen, sig, sl);
		expect_rv(r2, CKR_OK, "C_Verify: %s %s: the module verifies its "
				      "signature", d->name, what);
		sig[sl / 2] ^= 0x40;
		r2 = p11->C_VerifyInit(s, &c->m, k->pub);
		if (r2 == CKR_OK)
			r2 = p11->C_Verify(s, c->msg, c->msglen, sig, sl);
		expect_rv(r2, CKR_SIGNATURE_INVALID,
			  "C_Verify: %s %s: a changed signature -> "
			  "CKR_SIGNATURE_INVALID", d->name, what);
		sig[sl / 2] ^= 0x40;
		if (once_per_mech != d->type) {
			/* These two once per mechanism. */
			once_per_mech = d->type;
			expect_rv(p11->C_Verify(s, c->msg, c->msglen, sig, sl),
				  CKR_OPERATION_NOT_INITIALIZED,
				  "C_Verify: %s: CKR_SIGNATURE_INVALID ended the "
				  "operation (-> CKR_OPERATION_NOT_INITIALIZED)",
				  d->name);
			r2 = p11->C_VerifyInit(s, &c->m, k->pub);
			if (r2 == CKR_OK)
				r2 = p11->C_Verify(s, c->msg, c->msglen, sig,
						   sl - 1);
			expect_rv(r2, CKR_SIGNATURE_LEN_RANGE,
				  "C_Verify: %s: a signature one byte short -> "
				  "CKR_SIGNATURE_LEN_RANGE", d->name);
		}
	}
	if (c->multipart) {
		size_t a = c->msglen / 3;

		rv = p11->C_SignInit(s, &c->m, k->priv);
		if (rv == CKR_OK)
			rv = p11->C_SignUpdate(s, c->msg, a);
		if (rv == CKR_OK)
			rv = p11->C_SignUpdate(s, c->msg + a, 0);
		if (rv == CKR_OK)
			rv = p11->C_SignUpdate(s, c->msg + a, c->msglen - a);
		sl = 0;
		if (rv == CKR_OK) {
			rv = p11->C_SignFinal(s, NULL, &sl);
			tap(rv == CKR_OK && sl >= need,
			    "C_SignFinal: %s %s: NULL output gives the length",
			    d->name, what);
			sl = sizeof(sig);
			rv = p11->C_SignFinal(s, sig, &sl);
		}
		if (!tap(rv == CKR_OK && sig_check(k, d, c, sig, sl),
			 "C_SignUpdate/C_SignFinal: %s %s: multi-part "
			 "signature verifies with OpenSSL", d->name, what))
			diag("%s", rv_name(rv));
		if (rv == CKR_OK && (mi->flags & CKF_VERIFY)) {
			rv = p11->C_VerifyInit(s, &c->m, k->pub);
			if (rv == CKR_OK)
				rv = p11->C_VerifyUpdate(s, c->msg, a);
			if (rv == CKR_OK)
				rv = p11->C_VerifyUpdate(s, c->msg + a,
							 c->msglen - a);
			if (rv == CKR_OK)
				rv = p11->C_VerifyFinal(s, sig, sl);
			expect_rv(rv, CKR_OK,
				  "C_VerifyUpdate/C_VerifyFinal: %s %s -> "
				  "CKR_OK", d->name, what);
		}
	} else {
		/* Single-part only: an update fails and ends the operation. */
		rv = p11->C_SignInit(s, &c->m, k->priv);
		if (rv == CKR_OK) {
			CK_RV r2 = p11->C_SignUpdate(s, c->msg, c->msglen);

			if (!tap(r2 != CKR_OK, "C_SignUpdate: %s (single-part "
					       "only) is refused", d->name))
				p11->C_SignFinal(s, sig, &sl);
			else
				diag("%s", rv_name(r2));
			r2 = p11->C_SignInit(s, &c->m, k->priv);
			expect_rv(r2, CKR_OK,
				  "C_SignUpdate: a failed call ends the "
				  "operation (C_SignInit works again)");
			sl = sizeof(sig);
			if (r2 == CKR_OK)
				p11->C_Sign(s, c->msg, c->msglen, sig, &sl);
		}
	}
}

static void
ex_sign(CK_SESSION_HANDLE s, const struct mdef *d, CK_MECHANISM_INFO *mi)
{
	struct sigcase c;
	CK_RV rv;

	if (d->kind == MK_ECDSA) {
		if (!keys[K_P256].ok || !keys[K_P384].ok) {
			tap(false, "%s: the EC keys are there", d->name);
			return;
		}
		sigcase_init(&c, &keys[K_P256], d, CKM_SHA256, 0);
		ex_sign_one(s, &keys[K_P256], d, mi, &c, "with P-256");
		sigcase_init(&c, &keys[K_P384], d, CKM_SHA384, 0);
		ex_sign_one(s, &keys[K_P384], d, mi, &c, "with P-384");
		if (d->type == CKM_ECDSA) {
			sigcase_init(&c, &keys[K_P256], d, CKM_SHA512, 0);
			ex_sign_one(s, &keys[K_P256], d, mi, &c,
				    "with P-256 over a 64-byte input "
				    "(truncated)");
			sigcase_init(&c, &keys[K_P384], d, CKM_SHA_1, 0);
			ex_sign_one(s, &keys[K_P384], d, mi, &c,
				    "with P-384 over a 20-byte input");
		}
		{
			CK_MECHANISM m = { d->type, NULL, 0 };

			if (keys[K_RSA].ok)
				expect_rv(p11->C_SignInit(s, &m,
							  keys[K_RSA].priv),
					  CKR_KEY_TYPE_INCONSISTENT,
					  "C_SignInit: %s with an RSA key -> "
					  "CKR_KEY_TYPE_INCONSISTENT", d->name);
		}
		return;
	}
	if (!keys[K_RSA].ok) {
		tap(false, "%s: the RSA key is there", d->name);
		return;
	}
	if (d->type == CKM_RSA_X_509) {
		/* Raw signing needs a key that may decrypt (item 1). */
		ex_rsa_raw_oracle(s);
		if (!dec_key.ok) {
			tap(false, "%s: an RSA key with CKA_DECRYPT", d->name);
			return;
		}
		sigcase_init(&c, &dec_key, d, CKM_SHA256, -1);
		ex_sign_one(s, &dec_key, d, mi, &c,
			    "with RSA 2048 (sign and decrypt)");
	} else {
		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA256, -1);
		ex_sign_one(s, &keys[K_RSA], d, mi, &c, "with RSA 2048");
	}
	if (d->type == CKM_RSA_PKCS_PSS) {
		int maxsalt = EVP_PKEY_get_size(keys[K_RSA].pkey) - 32 - 2;

		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA256, 0);
		ex_sign_one(s, &keys[K_RSA], d, mi, &c, "SHA-256, salt 0");
		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA256, maxsalt);
		ex_sign_one(s, &keys[K_RSA], d, mi, &c,
			    "SHA-256, maximum salt");
		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA384, 48);
		ex_sign_one(s, &keys[K_RSA], d, mi, &c, "SHA-384, salt 48");
		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA_1, 20);
		ex_sign_one(s, &keys[K_RSA], d, mi, &c, "SHA-1, salt 20");
		c.m.pParameter = NULL;
		c.m.ulParameterLen = 0;
		expect_rv(p11->C_SignInit(s, &c.m, keys[K_RSA].priv),
			  CKR_MECHANISM_PARAM_INVALID,
			  "C_SignInit: CKM_RSA_PKCS_PSS without parameters -> "
			  "CKR_MECHANISM_PARAM_INVALID");
		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA256, maxsalt + 1);
		rv = p11->C_SignInit(s, &c.m, keys[K_RSA].priv);
		if (rv == CKR_OK) {
			unsigned char sig[512];
			CK_ULONG sl = sizeof(sig);

			rv = p11->C_Sign(s, c.msg, c.msglen, sig, &sl);
		}
		if (!tap(rv != CKR_OK, "C_Sign: CKM_RSA_PKCS_PSS with a salt "
				       "too long for the key is refused"))
			diag("got %s", rv_name(rv));
	} else if (strstr(d->name, "_PSS") != NULL) {
		int maxsalt = EVP_PKEY_get_size(keys[K_RSA].pkey) -
			      EVP_MD_get_size(md_of(d->hash)) - 2;

		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA256, 0);
		ex_sign_one(s, &keys[K_RSA], d, mi, &c, "salt 0");
		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA256, maxsalt);
		ex_sign_one(s, &keys[K_RSA], d, mi, &c, "maximum salt");
		sigcase_init(&c, &keys[K_RSA], d, CKM_SHA256, -1);
		c.pss.hashAlg = d->hash == CKM_SHA_1 ? CKM_SHA256 : CKM_SHA_1;
		c.pss.mgf = mgf_of(c.pss.hashAlg);
		expect_rv(p11->C_SignInit(s, &c.m, keys[K_RSA].priv),
			  CKR_MECHANISM_PARAM_INVALID,
			  "C_SignInit: %s with hashAlg of another hash -> "
			  "CKR_MECHANISM_PARAM_INVALID", d->name);
	} else if (d->type == CKM_RSA_PKCS) {
		unsigned char big[300], sig[512];
		CK_ULONG sl = sizeof(sig);
		size_t k = (size_t)EVP_PKEY_get_size(keys[K_RSA].pkey);

		memset(big, 0x11, sizeof(big));
		rv = p11->C_SignInit(s, &c.m, keys[K_RSA].priv);
		if (rv == CKR_OK)
			rv = p11->C_Sign(s, big, k - 10, sig, &sl);
		expect_rv(rv, CKR_DATA_LEN_RANGE,
			  "C_Sign: CKM_RSA_PKCS with more than k-11 bytes -> "
			  "CKR_DATA_LEN_RANGE");
	}
	if (keys[K_P256].ok) {
		CK_MECHANISM m = { d->type, NULL, 0 };

		if (strstr(d->name, "PSS") == NULL)
			expect_rv(p11->C_SignInit(s, &m, keys[K_P256].priv),
				  CKR_KEY_TYPE_INCONSISTENT,
				  "C_SignInit: %s with an EC key -> "
				  "CKR_KEY_TYPE_INCONSISTENT", d->name);
	}
}


static void
dec_key_setup(CK_SESSION_HANDLE s)
{
	static const unsigned char f4[] = { 0x01, 0x00, 0x01 };

	memset(&dec_key, 0, sizeof(dec_key));
	memset(&dec_made, 0, sizeof(dec_made));
	if (!keys[K_RSA].ok)
		return;
	if (bool_is(s, keys[K_RSA].priv, CKA_DECRYPT, CK_TRUE)) {
		dec_key = keys[K_RSA];
		return;
	}
	diag("the tool's rsa2048 key has CKA_DECRYPT false; decryption is "
	     "tested with a key made by C_GenerateKeyPair");
	if (gen_rsa(s, 2048, f4, sizeof(f4), "conf-decrypt", true, true,
		    &dec_made) != CKR_OK)
		return;
	dec_key = keys[K_RSA];
	dec_key.label = "conf-decrypt";
	dec_key.pub = dec_made.pub;
	dec_key.priv = dec_made.priv;
	dec_key.pkey = pkey_of(s, dec_made.pub);
	dec_key.ok = dec_key.pkey != NULL;
}

static void
dec_key_cleanup(CK_SESSION_HANDLE s)
{
	if (dec_made.priv) {
		EVP_PKEY_free(dec_key.pkey);
		destroy_kp(s, &dec_made);
	}
	memset(&dec_key, 0, sizeof(dec_key));
}

/* RSA decryption of what OpenSSL encrypted. */
static void
dec_case(CK_SESSION_HANDLE s, CK_MECHANISM *m, int pad, const EVP_MD *md,
	 const char *label, const char *what)
{
	struct key *k = &dec_key;
	size_t modlen = (size_t)EVP_PKEY_get_size(k->pkey);
	unsigned char pt[512], ct[512], out[512];
	size_t ptlen = pad == RSA_NO_PADDING ? modlen : 48, ctlen;
	CK_ULONG ol;
	CK_RV rv;

	RAND_bytes(pt, ptlen);
	if (pad == RSA_NO_PADDING)
		pt[0] = 0x00, pt[1] |= 0x01;
	ctlen = rsa_encrypt(k->pkey, pad, md, label, label ? strlen(label) : 0,
			    pt, ptlen, ct, sizeof(ct));
	if (!tap(ctlen == modlen, "set-up: OpenSSL encrypts for %s", what))
		return;
	rv = p11->C_DecryptInit(s, m, k->priv);
	if (!expect_rv(rv, CKR_OK, "C_DecryptInit: %s -> CKR_OK", what))
		return;
	ol = 0;
	rv = p11->C_Decrypt(s, ct, ctlen, NULL, &ol);
	if (!tap(rv == CKR_OK && ol >= ptlen,
		 "C_Decrypt: %s: NULL output gives a length >= %zu", what,
		 ptlen))
		diag("%s, %lu", rv_name(rv), (unsigned long)ol);
	ol = 1;
	rv = p11->C_Decrypt(s, ct, ctlen, out, &ol);
	if (!tap(rv == CKR_BUFFER_TOO_SMALL,
		 "C_Decrypt: %s: a buffer too small -> CKR_BUFFER_TOO_SMALL",
		 what))
		diag("%s", rv_name(rv));
	ol = sizeof(out);
	rv = p11->C_Decrypt(s, ct, ctlen, out, &ol);
	if (!tap(rv == CKR_OK && ol == ptlen && memcmp(out, pt, ptlen) == 0,
		 "C_Decrypt: %s: OpenSSL's ciphertext decrypts to the "
		 "plaintext", what))
		diag("%s, length %lu (expected %zu)", rv_name(rv),
		     (unsigned long)ol, ptlen);
	rv = p11->C_DecryptInit(s, m, k->priv);
	ol = sizeof(out);
	if (rv == CKR_OK)
		rv = p11->C_Decrypt(s, ct, ctlen - 1, out, &ol);
	expect_rv(rv, CKR_ENCRYPTED_DATA_LEN_RANGE,
		  "C_Decrypt: %s: a ciphertext one byte short -> "
		  "CKR_ENCRYPTED_DATA_LEN_RANGE", what);
	/* RSA decryption is single-part: an update fails and ends the
	 * operation. */
	rv = p11->C_DecryptInit(s, m, k->priv);
	if (rv == CKR_OK) {
		CK_RV r2;

		ol = sizeof(out);
		r2 = p11->C_DecryptUpdate(s, ct, ctlen, out, &ol);
		if (!tap(r2 != CKR_OK, "C_DecryptUpdate: %s (single-part "
				       "only) is refused", what))
			p11->C_DecryptFinal(s, out, &ol);
		else
			diag("%s", rv_name(r2));
		r2 = p11->C_DecryptInit(s, m, k->priv);
		expect_rv(r2, CKR_OK, "C_DecryptUpdate: %s: a failed call "
				      "ends the operation (C_DecryptInit "
				      "works again)", what);
		ol = sizeof(out);
		if (r2 == CKR_OK)
			p11->C_Decrypt(s, ct, ctlen, out, &ol);
	}
	if (pad == RSA_PKCS1_OAEP_PADDING) {
		ct[ctlen / 2] ^= 0x01;
		rv = p11->C_DecryptInit(s, m, k->priv);
		ol = sizeof(out);
		if (rv == CKR_OK)
			rv = p11->C_Decrypt(s, ct, ctlen, out, &ol);
		expect_rv(rv, CKR_ENCRYPTED_DATA_INVALID,
			  "C_Decrypt: %s: a changed ciphertext -> "
			  "CKR_ENCRYPTED_DATA_INVALID", what);
	}
}

static void
ex_rsa_enc(CK_SESSION_HANDLE s, const struct mdef *d, CK_MECHANISM_INFO *mi)
{
	CK_MECHANISM m = { d->type, NULL, 0 };
	CK_RSA_PKCS_OAEP_PARAMS op;
	static const char label[] = "tpm11 label";
	EVP_PKEY *ok = NULL;
	CK_OBJECT_HANDLE pubk = 0;
	CK_RV rv;

	if (!dec_key.ok) {
		tap(false, "%s: an RSA key with CKA_DECRYPT", d->name);
		return;
	}
	if (!(mi->flags & CKF_DECRYPT) && d->type != CKM_RSA_PKCS_OAEP)
		goto encrypt;
	if (d->type == CKM_RSA_PKCS) {
		dec_case(s, &m, RSA_PKCS1_PADDING, NULL, NULL,
			 "CKM_RSA_PKCS (PKCS#1 v1.5)");
	} else if (d->type == CKM_RSA_X_509) {
		dec_case(s, &m, RSA_NO_PADDING, NULL, NULL, "CKM_RSA_X_509");
	} else {
		static const struct {
			CK_MECHANISM_TYPE h;
			bool label;
			const char *what;
		} v[] = {
			{ CKM_SHA_1, false, "CKM_RSA_PKCS_OAEP SHA-1, no label" },
			{ CKM_SHA_1, true, "CKM_RSA_PKCS_OAEP SHA-1, label" },
			{ CKM_SHA256, false,
			  "CKM_RSA_PKCS_OAEP SHA-256, no label" },
			{ CKM_SHA256, true, "CKM_RSA_PKCS_OAEP SHA-256, label" },
		};
		size_t i;

		m.pParameter = &op;
		m.ulParameterLen = sizeof(op);
		for (i = 0; i < NELEM(v); i++) {
			memset(&op, 0, sizeof(op));
			op.hashAlg = v[i].h;
			op.mgf = mgf_of(v[i].h);
			op.source = CKZ_DATA_SPECIFIED;
			op.pSourceData = v[i].label ? (void *)label : NULL;
			op.ulSourceDataLen = v[i].label ? strlen(label) : 0;
			dec_case(s, &m, RSA_PKCS1_OAEP_PADDING, md_of(v[i].h),
				 v[i].label ? label : NULL, v[i].what);
		}
		/* the wrong label */
		{
			/* (pt initialised: valgrind saw OpenSSL encrypt
			 * uninitialised bytes) */
			unsigned char pt[32] = { 0x5a }, ct[512], out[512];
			CK_ULONG ol = sizeof(out);
			size_t cl = rsa_encrypt(dec_key.pkey,
						RSA_PKCS1_OAEP_PADDING,
						EVP_sha256(), "other", 5, pt,
						sizeof(pt), ct, sizeof(ct));

			memset(&op, 0, sizeof(op));
			op.hashAlg = CKM_SHA256;
			op.mgf = CKG_MGF1_SHA256;
			op.source = CKZ_DATA_SPECIFIED;
			op.pSourceData = (void *)label;
			op.ulSourceDataLen = strlen(label);
			rv = p11->C_DecryptInit(s, &m, dec_key.priv);
			if (rv == CKR_OK)
				rv = p11->C_Decrypt(s, ct, cl, out, &ol);
			expect_rv(rv, CKR_ENCRYPTED_DATA_INVALID,
				  "C_Decrypt: CKM_RSA_PKCS_OAEP with another "
				  "label than the sender's -> "
				  "CKR_ENCRYPTED_DATA_INVALID");
		}
		m.pParameter = NULL;
		m.ulParameterLen = 0;
		expect_rv(p11->C_DecryptInit(s, &m, dec_key.priv),
			  CKR_MECHANISM_PARAM_INVALID,
			  "C_DecryptInit: CKM_RSA_PKCS_OAEP without parameters "
			  "-> CKR_MECHANISM_PARAM_INVALID");
		memset(&op, 0, sizeof(op));
		op.hashAlg = CKM_SHA256;
		op.mgf = CKG_MGF1_SHA256;
		op.source = CKZ_DATA_SPECIFIED;
		m.pParameter = &op;
		m.ulParameterLen = sizeof(op);
	}
	if (keys[K_P256].ok)
		expect_rv(p11->C_DecryptInit(s, &m, keys[K_P256].priv),
			  CKR_KEY_TYPE_INCONSISTENT,
			  "C_DecryptInit: %s with an EC key -> "
			  "CKR_KEY_TYPE_INCONSISTENT", d->name);
encrypt:
	/* Encryption with a public key: works if advertised, else refused. */
	ok = gen_openssl_key("RSA", NULL, 2048);
	if (ok == NULL ||
	    create_rsa_public(s, ok, "conf-enc", false, false, &pubk) != CKR_OK) {
		EVP_PKEY_free(ok);
		return;
	}
	rv = p11->C_EncryptInit(s, &m, pubk);
	if (mi->flags & CKF_ENCRYPT) {
		unsigned char pt[32], ct[512], back[512];
		CK_ULONG cl = sizeof(ct);
		size_t bl = sizeof(back);
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(ok, NULL);
		int pad = d->type == CKM_RSA_PKCS ? RSA_PKCS1_PADDING
			  : d->type == CKM_RSA_X_509 ? RSA_NO_PADDING
						     : RSA_PKCS1_OAEP_PADDING;
		size_t ptl = pad == RSA_NO_PADDING ? 256 : sizeof(pt);
		unsigned char raw[256];

		RAND_bytes(pt, sizeof(pt));
		memset(raw, 0, sizeof(raw));
		memcpy(raw + 256 - sizeof(pt), pt, sizeof(pt));
		if (rv == CKR_OK)
			rv = p11->C_Encrypt(s, pad == RSA_NO_PADDING ? raw : pt,
					    ptl, ct, &cl);
		if (rv == CKR_OK && ctx && EVP_PKEY_decrypt_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, pad) == 1 &&
		    (pad != RSA_PKCS1_OAEP_PADDING ||
		     (EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
		      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1)) &&
		    EVP_PKEY_decrypt(ctx, back, &bl, ct, cl) == 1) {
			tap(bl == ptl && memcmp(back,
						pad == RSA_NO_PADDING ? raw : pt,
						ptl) == 0,
			    "C_Encrypt: %s (advertised CKF_ENCRYPT): OpenSSL "
			    "decrypts the module's ciphertext", d->name);
		} else {
			tap(false, "C_Encrypt: %s (advertised CKF_ENCRYPT) "
				   "works", d->name);
			diag("%s", rv_name(rv));
		}
		EVP_PKEY_CTX_free(ctx);
	} else {
		char name[200];

		snprintf(name, sizeof(name),
			 "C_EncryptInit: %s (no CKF_ENCRYPT in its info) -> "
			 "CKR_MECHANISM_INVALID (or CKR_FUNCTION_NOT_SUPPORTED)",
			 d->name);
		EXPECT_IN(rv, name, CKR_MECHANISM_INVALID,
			  CKR_FUNCTION_NOT_SUPPORTED);
		if (rv == CKR_OK) {
			unsigned char ct[512];
			CK_ULONG cl = sizeof(ct);

			p11->C_Encrypt(s, (CK_BYTE *)"x", 1, ct, &cl);
		}
	}
	p11->C_DestroyObject(s, pubk);
	EVP_PKEY_free(ok);
}

/* ANSI X9.63 KDF, spelled out here so the module's is checked against an
 * independent computation: H(Z || counter || info) for counter = 1, 2, ...
 * (32-bit big endian), concatenated and cut to outlen. */
static bool
x963_expected(const EVP_MD *md, const unsigned char *z, size_t zl,
	      const unsigned char *info, size_t il, unsigned char *out,
	      size_t outlen)
{
	unsigned char blk[EVP_MAX_MD_SIZE];
	unsigned int bl = 0;
	uint32_t c;
	size_t n;

	for (c = 1; outlen > 0; c++) {
		unsigned char cb[4] = { c >> 24, c >> 16, c >> 8, c };
		EVP_MD_CTX *x = EVP_MD_CTX_new();
		bool good = x && EVP_DigestInit_ex(x, md, NULL) == 1 &&
			    EVP_DigestUpdate(x, z, zl) == 1 &&
			    EVP_DigestUpdate(x, cb, 4) == 1 &&
			    (il == 0 || EVP_DigestUpdate(x, info, il) == 1) &&
			    EVP_DigestFinal_ex(x, blk, &bl) == 1;

		EVP_MD_CTX_free(x);
		if (!good)
			return false;
		n = outlen < bl ? outlen : bl;
		memcpy(out, blk, n);
		out += n;
		outlen -= n;
	}
	return true;
}

/* C_DeriveKey with the X9.63 KDFs: the derived value is the KDF of
 * OpenSSL's shared secret Z (want), with and without shared data, for
 * lengths within one hash block and across two. */
static void
ecdh_kdf_cases(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_ECDH1_DERIVE_PARAMS *ep,
	       CK_OBJECT_HANDLE priv, CK_ATTRIBUTE *t, CK_ULONG nt,
	       CK_ULONG *lenp, const unsigned char *z, size_t zl,
	       unsigned char *ppt, size_t ppl)
{
	static const struct {
		CK_ULONG kdf;
		const char *name, *md;
		CK_ULONG len;
		const char *info;
	} cases[] = {
		{ CKD_SHA1_KDF, "CKD_SHA1_KDF", "SHA1", 16, NULL },
		{ CKD_SHA256_KDF, "CKD_SHA256_KDF", "SHA256", 32, "conf-info" },
		{ CKD_SHA256_KDF, "CKD_SHA256_KDF", "SHA256", 48, NULL },
		{ CKD_SHA384_KDF, "CKD_SHA384_KDF", "SHA384", 80, "x" },
		{ CKD_SHA512_KDF, "CKD_SHA512_KDF", "SHA512", 64, "conf-info" },
	};
	CK_ULONG keep = *lenp;
	size_t i;

	/* t: ex_ecdh's template for a session generic secret, whose
	 * CKA_VALUE_LEN points at *lenp */
	for (i = 0; i < NELEM(cases); i++) {
		CK_ULONG len = cases[i].len, vl = 0;
		const char *info = cases[i].info;
		size_t il = info ? strlen(info) : 0;
		unsigned char want[128], *v = NULL;
		CK_OBJECT_HANDLE dk = 0;
		char name[200];
		CK_RV rv;

		snprintf(name, sizeof(name), "C_DeriveKey: CKM_ECDH1_DERIVE, %s, "
			 "%lu bytes, %s shared data: the value is the X9.63 KDF "
			 "of OpenSSL's shared secret", cases[i].name,
			 (unsigned long)len, info ? "with" : "no");
		if (!x963_expected(EVP_get_digestbyname(cases[i].md), z, zl,
				   (const unsigned char *)info, il, want, len)) {
			tap(false, "%s (set-up: the expected value)", name);
			continue;
		}
		memset(ep, 0, sizeof(*ep));
		ep->kdf = cases[i].kdf;
		ep->pSharedData = (CK_BYTE *)info;
		ep->ulSharedDataLen = il;
		ep->pPublicData = ppt;
		ep->ulPublicDataLen = ppl;
		*lenp = len;
		rv = p11->C_DeriveKey(s, m, priv, t, nt, &dk);
		if (rv == CKR_OK)
			rv = get_attr_alloc(s, dk, CKA_VALUE, &v, &vl);
		if (!tap(rv == CKR_OK && vl == len && memcmp(v, want, len) == 0,
			 "%s", name))
			diag("%s, length %lu", rv_name(rv), (unsigned long)vl);
		free(v);
		if (dk)
			p11->C_DestroyObject(s, dk);
	}
	*lenp = keep;
	memset(ep, 0, sizeof(*ep));
	ep->kdf = CKD_NULL;
	ep->pPublicData = ppt;
	ep->ulPublicDataLen = ppl;
}

static void
ex_ecdh(CK_SESSION_HANDLE s, const struct mdef *d)
{
	struct kp kp;
	EVP_PKEY *peer = gen_openssl_key("EC", "P-256", 0), *tpub = NULL;
	unsigned char ppt[133], der[140], want[66], *v = NULL;
	size_t ppl, wl = sizeof(want), dl;
	CK_ULONG vl = 0, len = 32;
	CK_OBJECT_CLASS sc = CKO_SECRET_KEY;
	CK_KEY_TYPE gk = CKK_GENERIC_SECRET;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &sc, sizeof(sc) },
		{ CKA_KEY_TYPE, &gk, sizeof(gk) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_SENSITIVE, (void *)&no, 1 },
		{ CKA_EXTRACTABLE, (void *)&yes, 1 },
		{ CKA_TOKEN, (void *)&no, 1 },
	};
	CK_ECDH1_DERIVE_PARAMS ep;
	CK_MECHANISM m = { d->type, &ep, sizeof(ep) };
	CK_OBJECT_HANDLE dk = 0;
	EVP_PKEY_CTX *ctx = NULL;
	CK_RV rv;

	if (peer == NULL)
		return;
	rv = gen_ec(s, oid_p256, sizeof(oid_p256), "conf-ecdh", true, false,
		    true, &kp);
	if (!expect_rv(rv, CKR_OK, "C_GenerateKeyPair: P-256 with CKA_DERIVE "
				   "for ECDH -> CKR_OK"))
		goto out;
	ppl = ec_point_of(peer, ppt, sizeof(ppt));
	tpub = pkey_of(s, kp.pub);
	ctx = tpub ? EVP_PKEY_CTX_new(peer, NULL) : NULL;
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, tpub) != 1 ||
	    EVP_PKEY_derive(ctx, want, &wl) != 1) {
		tap(false, "set-up: OpenSSL derives the ECDH secret");
		diag_openssl();
		goto out;
	}
	memset(&ep, 0, sizeof(ep));
	ep.kdf = CKD_NULL;
	ep.pPublicData = ppt;
	ep.ulPublicDataLen = ppl;
	rv = p11->C_DeriveKey(s, &m, kp.priv, t, NELEM(t), &dk);
	if (expect_rv(rv, CKR_OK, "C_DeriveKey: CKM_ECDH1_DERIVE, CKD_NULL, "
				  "raw peer point -> CKR_OK")) {
		rv = get_attr_alloc(s, dk, CKA_VALUE, &v, &vl);
		if (!tap(rv == CKR_OK && vl == wl && memcmp(v, want, wl) == 0,
			 "C_DeriveKey: CKM_ECDH1_DERIVE: the shared secret is "
			 "OpenSSL's"))
			diag("%s, length %lu", rv_name(rv), (unsigned long)vl);
		tap(bool_is(s, dk, CKA_LOCAL, CK_FALSE) &&
			    bool_is(s, dk, CKA_ALWAYS_SENSITIVE, CK_FALSE),
		    "C_DeriveKey: the derived key has CKA_LOCAL false and "
		    "CKA_ALWAYS_SENSITIVE false (it was derived non-sensitive)");
		free(v);
		p11->C_DestroyObject(s, dk);
	}
	ecdh_kdf_cases(s, &m, &ep, kp.priv, t, NELEM(t), &len, want, wl, ppt,
		       ppl);
	dl = der_octet_string(ppt, ppl, der);
	ep.pPublicData = der;
	ep.ulPublicDataLen = dl;
	rv = p11->C_DeriveKey(s, &m, kp.priv, t, NELEM(t), &dk);
	table_put("CKM_ECDH1_DERIVE (DER peer point)", "%s",
		  rv == CKR_OK ? "supported" : rv_name(rv));
	if (rv == CKR_OK)
		p11->C_DestroyObject(s, dk);
	if (keys[K_P256].ok && !bool_is(s, keys[K_P256].priv, CKA_DERIVE,
					CK_TRUE)) {
		ep.pPublicData = ppt;
		ep.ulPublicDataLen = ppl;
		expect_rv(p11->C_DeriveKey(s, &m, keys[K_P256].priv, t,
					   NELEM(t), &dk),
			  CKR_KEY_FUNCTION_NOT_PERMITTED,
			  "C_DeriveKey: a key with CKA_DERIVE false -> "
			  "CKR_KEY_FUNCTION_NOT_PERMITTED");
	}
	m.pParameter = NULL;
	m.ulParameterLen = 0;
	expect_rv(p11->C_DeriveKey(s, &m, kp.priv, t, NELEM(t), &dk),
		  CKR_MECHANISM_PARAM_INVALID,
		  "C_DeriveKey: CKM_ECDH1_DERIVE without parameters -> "
		  "CKR_MECHANISM_PARAM_INVALID");
	destroy_kp(s, &kp);
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(tpub);
	EVP_PKEY_free(peer);
}

static const EVP_CIPHER *
aes_cipher(CK_MECHANISM_TYPE m, size_t keylen)
{
	bool k16 = keylen == 16;

	switch (m) {
	case CKM_AES_ECB: return k16 ? EVP_aes_128_ecb() : EVP_aes_256_ecb();
	case CKM_AES_CBC:
	case CKM_AES_CBC_PAD: return k16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
	case CKM_AES_CTR: return k16 ? EVP_aes_128_ctr() : EVP_aes_256_ctr();
	case CKM_AES_CFB128:
		return k16 ? EVP_aes_128_cfb128() : EVP_aes_256_cfb128();
	case CKM_AES_CFB8: return k16 ? EVP_aes_128_cfb8() : EVP_aes_256_cfb8();
	case CKM_AES_OFB: return k16 ? EVP_aes_128_ofb() : EVP_aes_256_ofb();
	default: return NULL;
	}
}

static size_t
openssl_aes(CK_MECHANISM_TYPE m, const unsigned char *key, size_t keylen,
	    const unsigned char *iv, const unsigned char *in, size_t inlen,
	    unsigned char *out, int enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;
	size_t n = 0;

	if (c && EVP_CipherInit_ex(c, aes_cipher(m, keylen), NULL, key,
				   m == CKM_AES_ECB ? NULL : iv, enc) == 1 &&
	    EVP_CIPHER_CTX_set_padding(c, m == CKM_AES_CBC_PAD) == 1 &&
	    EVP_CipherUpdate(c, out, &l1, in, (int)inlen) == 1 &&
	    EVP_CipherFinal_ex(c, out + l1, &l2) == 1)
		n = (size_t)(l1 + l2);
	EVP_CIPHER_CTX_free(c);
	return n;
}

static void
aes_mech(CK_MECHANISM *m, CK_MECHANISM_TYPE t, unsigned char *iv,
	 CK_AES_CTR_PARAMS *ctr)
{
	m->mechanism = t;
	m->pParameter = NULL;
	m->ulParameterLen = 0;
	if (t == CKM_AES_ECB)
		return;
	if (t == CKM_AES_CTR) {
		ctr->ulCounterBits = 128;
		memcpy(ctr->cb, iv, 16);
		m->pParameter = ctr;
		m->ulParameterLen = sizeof(*ctr);
		return;
	}
	m->pParameter = iv;
	m->ulParameterLen = 16;
}

/* Encrypts (and decrypts) pt with the module, in one part and in parts;
 * want: the expected ciphertext or NULL. */
static void
aes_round(CK_SESSION_HANDLE s, const struct mdef *d, CK_OBJECT_HANDLE key,
	  const unsigned char *pt, size_t ptlen, const unsigned char *want,
	  size_t wantlen, const char *what)
{
	unsigned char iv[16], ct[256], ct2[256], back[256];
	CK_AES_CTR_PARAMS ctr;
	CK_MECHANISM m;
	CK_ULONG cl, l, o;
	size_t parts[] = { 5, 27, 256 }, i, off;
	CK_RV rv;

	memset(iv, 0xa5, sizeof(iv));
	aes_mech(&m, d->type, iv, &ctr);
	rv = p11->C_EncryptInit(s, &m, key);
	if (!expect_rv(rv, CKR_OK, "C_EncryptInit: %s %s -> CKR_OK", d->name,
		       what))
		return;
	cl = 0;
	rv = p11->C_Encrypt(s, (CK_BYTE *)pt, ptlen, NULL, &cl);
	if (!tap(rv == CKR_OK && cl >= ptlen,
		 "C_Encrypt: %s %s: NULL output gives the length", d->name,
		 what))
		diag("%s %lu", rv_name(rv), (unsigned long)cl);
	cl = sizeof(ct);
	rv = p11->C_Encrypt(s, (CK_BYTE *)pt, ptlen, ct, &cl);
	if (want)
		tap(rv == CKR_OK && cl == wantlen &&
			    memcmp(ct, want, wantlen) == 0,
		    "C_Encrypt: %s %s: the ciphertext is the expected one", d->name,
		    what);
	else
		tap(rv == CKR_OK && cl >= ptlen && cl < ptlen + 17,
		    "C_Encrypt: %s %s -> CKR_OK", d->name, what);
	if (rv != CKR_OK) {
		diag("%s", rv_name(rv));
		return;
	}
	/* the same in parts */
	rv = p11->C_EncryptInit(s, &m, key);
	for (off = 0, o = 0, i = 0; rv == CKR_OK && off < ptlen; i++) {
		size_t n = parts[i] > ptlen - off ? ptlen - off : parts[i];

		l = sizeof(ct2) - o;
		rv = p11->C_EncryptUpdate(s, (CK_BYTE *)pt + off, n, ct2 + o, &l);
		o += l;
		off += n;
	}
	if (rv == CKR_OK) {
		l = sizeof(ct2) - o;
		rv = p11->C_EncryptFinal(s, ct2 + o, &l);
		o += l;
	}
	if (!tap(rv == CKR_OK && o == cl && memcmp(ct, ct2, cl) == 0,
		 "C_EncryptUpdate/C_EncryptFinal: %s %s: multi-part gives the "
		 "same ciphertext", d->name, what))
		diag("%s, %lu bytes", rv_name(rv), (unsigned long)o);
	/* decrypt, single and multi-part */
	rv = p11->C_DecryptInit(s, &m, key);
	l = sizeof(back);
	if (rv == CKR_OK)
		rv = p11->C_Decrypt(s, ct, cl, back, &l);
	if (!tap(rv == CKR_OK && l == ptlen && memcmp(back, pt, ptlen) == 0,
		 "C_Decrypt: %s %s: gives the plaintext back", d->name, what))
		diag("%s, %lu bytes", rv_name(rv), (unsigned long)l);
	rv = p11->C_DecryptInit(s, &m, key);
	for (off = 0, o = 0, i = 0; rv == CKR_OK && off < cl; i++) {
		size_t n = parts[i] > cl - off ? cl - off : parts[i];

		l = sizeof(back) - o;
		rv = p11->C_DecryptUpdate(s, ct + off, n, back + o, &l);
		o += l;
		off += n;
	}
	if (rv == CKR_OK) {
		l = sizeof(back) - o;
		rv = p11->C_DecryptFinal(s, back + o, &l);
		o += l;
	}
	if (!tap(rv == CKR_OK && o == ptlen && memcmp(back, pt, ptlen) == 0,
		 "C_DecryptUpdate/C_DecryptFinal: %s %s: multi-part gives the "
		 "plaintext back", d->name, what))
		diag("%s, %lu bytes", rv_name(rv), (unsigned long)o);
}

static CK_OBJECT_HANDLE aes_known, aes_gen;
static const unsigned char aes_known_value[16] = {
	0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
	0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c
};

/* One AES block through the module's CKM_AES_ECB. */
static bool
ecb_block(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const unsigned char *in,
	  unsigned char *out)
{
	CK_MECHANISM m = { CKM_AES_ECB, NULL, 0 };
	CK_ULONG l = 16;

	return p11->C_EncryptInit(s, &m, key) == CKR_OK &&
	       p11->C_Encrypt(s, (CK_BYTE *)in, 16, out, &l) == CKR_OK &&
	       l == 16;
}

/* Without a key of known value, the modes are checked against the
 * module's own AES block (CKM_AES_ECB): what each mode must give follows
 * from it (SP 800-38A). */
static size_t
mode_from_ecb(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE m,
	      const unsigned char *iv, const unsigned char *pt, size_t n,
	      unsigned char *out)
{
	unsigned char prev[16], blk[16], x[16], buf[96];
	size_t i, k, len = n;

	if (m == CKM_AES_CBC_PAD) {
		size_t pad = 16 - n % 16;

		memcpy(buf, pt, n);
		memset(buf + n, (int)pad, pad);
		pt = buf;
		len = n + pad;
	}
	memcpy(prev, iv, 16);
	for (i = 0; i < len; i += 16) {
		size_t b = len - i < 16 ? len - i : 16;

		switch (m) {
		case CKM_AES_CBC:
		case CKM_AES_CBC_PAD:
			for (k = 0; k < 16; k++)
				x[k] = pt[i + k] ^ prev[k];
			if (!ecb_block(s, key, x, out + i))
				return 0;
			memcpy(prev, out + i, 16);
			break;
		case CKM_AES_CFB128:
			if (!ecb_block(s, key, prev, blk))
				return 0;
			for (k = 0; k < b; k++)
				out[i + k] = pt[i + k] ^ blk[k];
			memcpy(prev, out + i, b);
			break;
		case CKM_AES_OFB:
			if (!ecb_block(s, key, prev, blk))
				return 0;
			for (k = 0; k < b; k++)
				out[i + k] = pt[i + k] ^ blk[k];
			memcpy(prev, blk, 16);
			break;
		case CKM_AES_CTR:
			if (!ecb_block(s, key, prev, blk))
				return 0;
			for (k = 0; k < b; k++)
				out[i + k] = pt[i + k] ^ blk[k];
			for (k = 16; k-- > 0;)
				if (++prev[k] != 0)
					break;
			break;
		default:
			return 0;
		}
	}
	return len;
}

static void
ex_aes(CK_SESSION_HANDLE s, const struct mdef *d)
{
	unsigned char pt[64], want[96], iv[16];
	size_t wl;
	bool block = d->type == CKM_AES_ECB || d->type == CKM_AES_CBC;
	CK_AES_CTR_PARAMS ctr;
	CK_MECHANISM m;
	CK_ULONG l;
	CK_RV rv;

	RAND_bytes(pt, sizeof(pt));
	memset(iv, 0xa5, sizeof(iv));
	if (aes_known) {
		wl = openssl_aes(d->type, aes_known_value, 16, iv, pt, 64, want,
				 1);
		aes_round(s, d, aes_known, pt, 64, want, wl,
			  "(known key, 64 bytes)");
		if (!block) {
			wl = openssl_aes(d->type, aes_known_value, 16, iv, pt,
					 61, want, 1);
			aes_round(s, d, aes_known, pt, 61, want, wl,
				  "(known key, 61 bytes)");
		}
	}
	if (aes_gen) {
		size_t n = block ? 64 : 61;

		wl = 0;
		if (d->type != CKM_AES_ECB && d->type != CKM_AES_CFB8 &&
		    mech_advertised(CKM_AES_ECB, NULL))
			wl = mode_from_ecb(s, aes_gen, d->type, iv, pt, n, want);
		aes_round(s, d, aes_gen, pt, n, wl ? want : NULL, wl,
			  wl ? "(generated key, checked against CKM_AES_ECB)"
			     : "(generated key)");
	}
	if (!aes_known && !aes_gen) {
		tap(false, "%s: an AES key to test with", d->name);
		return;
	}
	aes_mech(&m, d->type, iv, &ctr);
	if (block) {
		unsigned char out[96];

		rv = p11->C_EncryptInit(s, &m, aes_known ? aes_known : aes_gen);
		l = sizeof(out);
		if (rv == CKR_OK)
			rv = p11->C_Encrypt(s, pt, 61, out, &l);
		expect_rv(rv, CKR_DATA_LEN_RANGE,
			  "C_Encrypt: %s of 61 bytes (not whole blocks) -> "
			  "CKR_DATA_LEN_RANGE", d->name);
		rv = p11->C_DecryptInit(s, &m, aes_known ? aes_known : aes_gen);
		l = sizeof(out);
		if (rv == CKR_OK)
			rv = p11->C_Decrypt(s, pt, 61, out, &l);
		expect_rv(rv, CKR_ENCRYPTED_DATA_LEN_RANGE,
			  "C_Decrypt: %s of 61 bytes -> "
			  "CKR_ENCRYPTED_DATA_LEN_RANGE", d->name);
	}
	if (d->type == CKM_AES_CBC_PAD &&
	    (aes_known || mech_advertised(CKM_AES_CBC, NULL))) {
		/* A last block that ends in 0x00 is bad padding. */
		unsigned char bad[32], ct[48], out[64];
		CK_ULONG ol = sizeof(out);
		CK_OBJECT_HANDLE key = aes_known ? aes_known : aes_gen;
		size_t cl = 0;

		memset(bad, 0x33, sizeof(bad));
		bad[31] = 0x00;
		if (aes_known) {
			cl = openssl_aes(CKM_AES_CBC, aes_known_value, 16, iv,
					 bad, 32, ct, 1);
		} else {
			CK_MECHANISM cbc = { CKM_AES_CBC, iv, 16 };
			CK_ULONG l2 = sizeof(ct);

			if (p11->C_EncryptInit(s, &cbc, key) == CKR_OK &&
			    p11->C_Encrypt(s, bad, 32, ct, &l2) == CKR_OK)
				cl = l2;
		}
		rv = p11->C_DecryptInit(s, &m, key);
		if (rv == CKR_OK)
			rv = p11->C_Decrypt(s, ct, cl, out, &ol);
		expect_rv(rv, CKR_ENCRYPTED_DATA_INVALID,
			  "C_Decrypt: CKM_AES_CBC_PAD with bad padding -> "
			  "CKR_ENCRYPTED_DATA_INVALID");
	}
	if (d->type != CKM_AES_ECB) {
		m.ulParameterLen = d->type == CKM_AES_CTR ? 8 : 8;
		EXPECT_IN(p11->C_EncryptInit(s, &m,
					     aes_known ? aes_known : aes_gen),
			  "C_EncryptInit: an AES mode with a parameter of the "
			  "wrong length -> CKR_MECHANISM_PARAM_INVALID",
			  CKR_MECHANISM_PARAM_INVALID);
	}
}

/* Issue 13 item 17: any allowed key length works with the HMAC mechanism
 * the key is made for (CKA_ALLOWED_MECHANISMS in the template), also keys
 * longer than the hash's block and than the 128 bytes the TPM holds
 * (RFC 2104: hashed first), and the key says which mechanism it serves. */
static void
ex_hmac_lengths(CK_SESSION_HANDLE s, const struct mdef *d)
{
	static const size_t lens[] = { 20, 100, 200 };
	const EVP_MD *md = md_of(d->hash);
	CK_MECHANISM m = { d->type, NULL, 0 };
	CK_MECHANISM_TYPE allowed = d->type, back = 0;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	unsigned char val[200], msg[64], mac[64], want[64];
	unsigned wl = 0;
	size_t i;

	RAND_bytes(val, sizeof(val));
	RAND_bytes(msg, sizeof(msg));
	for (i = 0; i < NELEM(lens); i++) {
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_TOKEN, (void *)&no, sizeof(no) },
			{ CKA_SIGN, (void *)&yes, sizeof(yes) },
			{ CKA_VALUE, val, lens[i] },
			{ CKA_ALLOWED_MECHANISMS, &allowed, sizeof(allowed) },
		};
		CK_ATTRIBUTE a = { CKA_ALLOWED_MECHANISMS, &back, sizeof(back) };
		CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;
		CK_ULONG ml = sizeof(mac);
		CK_RV rv;

		rv = p11->C_CreateObject(s, t, NELEM(t), &k);
		if (!expect_rv(rv, CKR_OK, "C_CreateObject: a %zu-byte HMAC key "
			       "for %s -> CKR_OK", lens[i], d->name))
			continue;
		tap(p11->C_GetAttributeValue(s, k, &a, 1) == CKR_OK &&
			    a.ulValueLen == sizeof(back) && back == d->type,
		    "%s: the %zu-byte key's CKA_ALLOWED_MECHANISMS names it",
		    d->name, lens[i]);
		HMAC(md, val, (int)lens[i], msg, sizeof(msg), want, &wl);
		rv = p11->C_SignInit(s, &m, k);
		if (rv == CKR_OK)
			rv = p11->C_Sign(s, msg, sizeof(msg), mac, &ml);
		tap(rv == CKR_OK && ml == wl && memcmp(mac, want, wl) == 0,
		    "C_Sign: %s with a %zu-byte key is OpenSSL's HMAC (%s)",
		    d->name, lens[i], rv_name(rv));
		p11->C_DestroyObject(s, k);
	}
}

static CK_OBJECT_HANDLE hmac_known, hmac_gen;
static const unsigned char hmac_known_value[32] =
	"HMAC key for tpm11 conformance!";

static void
ex_hmac(CK_SESSION_HANDLE s, const struct mdef *d)
{
	CK_MECHANISM m = { d->type, NULL, 0 };
	const EVP_MD *md = md_of(d->hash);
	unsigned char msg[200], mac[64], want[64];
	unsigned wl = 0;
	CK_ULONG ml, hl = (CK_ULONG)EVP_MD_get_size(md);
	/* A TPM HMAC key names its hash (docs/design.md): tpm11 makes a
	 * generic secret of the hash's length an HMAC key for that hash, and
	 * refuses other pairings with CKR_KEY_TYPE_INCONSISTENT. So each
	 * mechanism is tested with a known key of its own digest length. */
	static const unsigned char val64[64] =
		"HMAC key for tpm11 conformance, sixty-four bytes long, padded!";
	CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;
	CK_RV rv;

	if (create_secret(s, CKK_GENERIC_SECRET, val64, hl, "conf-hmac-len",
			  false, true, false, &k) != CKR_OK) {
		tap(false, "%s: a generic secret key of %lu bytes to test with",
		    d->name, (unsigned long)hl);
		return;
	}
	if (hmac_known != CK_INVALID_HANDLE && hl != 32)
		expect_rv(p11->C_SignInit(s, &m, hmac_known),
			  CKR_KEY_TYPE_INCONSISTENT,
			  "C_SignInit: %s with a 32-byte (SHA-256) HMAC key -> "
			  "CKR_KEY_TYPE_INCONSISTENT (a TPM HMAC key names its "
			  "hash)", d->name);
	RAND_bytes(msg, sizeof(msg));
	HMAC(md, val64, (int)hl, msg, sizeof(msg), want, &wl);
	rv = p11->C_SignInit(s, &m, k);
	if (!expect_rv(rv, CKR_OK, "C_SignInit: %s -> CKR_OK", d->name))
		return;
	ml = 0;
	rv = p11->C_Sign(s, msg, sizeof(msg), NULL, &ml);
	tap(rv == CKR_OK && ml == hl,
	    "C_Sign: %s: NULL output gives the MAC length", d->name);
	ml = 4;
	rv = p11->C_Sign(s, msg, sizeof(msg), mac, &ml);
	tap(rv == CKR_BUFFER_TOO_SMALL,
	    "C_Sign: %s: a buffer too small -> CKR_BUFFER_TOO_SMALL", d->name);
	ml = sizeof(mac);
	rv = p11->C_Sign(s, msg, sizeof(msg), mac, &ml);
	tap(rv == CKR_OK && ml == wl && memcmp(mac, want, wl) == 0,
	    "C_Sign: %s with a known key is OpenSSL's HMAC", d->name);
	rv = p11->C_SignInit(s, &m, k);
	if (rv == CKR_OK)
		rv = p11->C_SignUpdate(s, msg, 77);
	if (rv == CKR_OK)
		rv = p11->C_SignUpdate(s, msg + 77, sizeof(msg) - 77);
	{
		unsigned char mac2[64];
		CK_ULONG l2 = sizeof(mac2);

		if (rv == CKR_OK)
			rv = p11->C_SignFinal(s, mac2, &l2);
		tap(rv == CKR_OK && l2 == ml && memcmp(mac, mac2, ml) == 0,
		    "C_SignUpdate/C_SignFinal: %s multi-part gives the same MAC",
		    d->name);
	}
	rv = p11->C_VerifyInit(s, &m, k);
	if (rv == CKR_OK)
		rv = p11->C_Verify(s, msg, sizeof(msg), mac, ml);
	expect_rv(rv, CKR_OK, "C_Verify: %s of its own MAC -> CKR_OK", d->name);
	mac[0] ^= 1;
	rv = p11->C_VerifyInit(s, &m, k);
	if (rv == CKR_OK)
		rv = p11->C_Verify(s, msg, sizeof(msg), mac, ml);
	expect_rv(rv, CKR_SIGNATURE_INVALID,
		  "C_Verify: %s: a changed MAC -> CKR_SIGNATURE_INVALID",
		  d->name);
	expect_rv(p11->C_Verify(s, msg, sizeof(msg), mac, ml),
		  CKR_OPERATION_NOT_INITIALIZED,
		  "C_Verify: %s: CKR_SIGNATURE_INVALID ended the operation",
		  d->name);
	rv = p11->C_VerifyInit(s, &m, k);
	if (rv == CKR_OK)
		rv = p11->C_Verify(s, msg, sizeof(msg), mac, ml - 1);
	expect_rv(rv, CKR_SIGNATURE_LEN_RANGE,
		  "C_Verify: %s: a MAC one byte short -> "
		  "CKR_SIGNATURE_LEN_RANGE", d->name);
}

/* The Init function that uses a mechanism of this kind, for the refusal
 * of mechanisms that are not advertised. */
static CK_RV
init_unadvertised(CK_SESSION_HANDLE s, const struct mdef *d,
		  CK_OBJECT_HANDLE *aeskey, const char **fn)
{
	CK_MECHANISM m = { d->type, NULL, 0 };
	unsigned char iv[16] = { 0 };
	CK_OBJECT_HANDLE h;
	CK_RV rv;

	switch (d->kind) {
	case MK_DIGEST:
		*fn = "C_DigestInit";
		rv = p11->C_DigestInit(s, &m);
		if (rv == CKR_OK)
			p11->C_DigestFinal(s, iv, &(CK_ULONG){ 0 });
		return rv;
	case MK_ECDSA:
	case MK_RSA_SIGN:
	case MK_HMAC:
		*fn = "C_SignInit";
		h = d->kind == MK_ECDSA ? keys[K_P256].priv
		    : d->kind == MK_HMAC ? (hmac_known ? hmac_known : hmac_gen)
					 : keys[K_RSA].priv;
		return p11->C_SignInit(s, &m, h);
	case MK_RSA_OAEP:
		*fn = "C_DecryptInit";
		return p11->C_DecryptInit(s, &m, keys[K_RSA].priv);
	case MK_AES:
		*fn = "C_EncryptInit";
		if (d->type != CKM_AES_ECB) {
			m.pParameter = iv;
			m.ulParameterLen = 16;
		}
		return p11->C_EncryptInit(s, &m, *aeskey ? *aeskey
							  : keys[K_P256].priv);
	case MK_ECDH:
		*fn = "C_DeriveKey";
		return p11->C_DeriveKey(s, &m, keys[K_P256].priv, NULL, 0, &h);
	case MK_KEYGEN:
		*fn = "C_GenerateKey";
		return p11->C_GenerateKey(s, &m, NULL, 0, &h);
	case MK_KEYPAIR:
	default:
		*fn = "C_GenerateKeyPair";
		return p11->C_GenerateKeyPair(s, &m, NULL, 0, NULL, 0, &h, &h);
	}
}

static void make_secret_keys(CK_SESSION_HANDLE s);

static void
test_mechanism_list(void)
{
	CK_SESSION_HANDLE s = user_session(true);
	CK_MECHANISM_TYPE list[256];
	CK_MECHANISM_INFO mi;
	CK_ULONG n = 0, n1, i, j;
	CK_RV rv;
	char fl[200];

	if (s == CK_INVALID_HANDLE) {
		tap(false, "mechanisms: a read/write user session");
		return;
	}

	/* The list and the info. */
	expect_rv(p11->C_GetMechanismList(slot, NULL, NULL), CKR_ARGUMENTS_BAD,
		  "C_GetMechanismList: NULL count -> CKR_ARGUMENTS_BAD");
	expect_rv(p11->C_GetMechanismList(BOGUS_SLOT, NULL, &n),
		  CKR_SLOT_ID_INVALID,
		  "C_GetMechanismList: unknown slot -> CKR_SLOT_ID_INVALID");
	rv = p11->C_GetMechanismList(slot, NULL, &n);
	if (!tap(rv == CKR_OK && n > 0 && n <= NELEM(list),
		 "C_GetMechanismList: NULL list gives the count"))
		goto out;
	n1 = 1;
	expect_rv(p11->C_GetMechanismList(slot, list, &n1), CKR_BUFFER_TOO_SMALL,
		  "C_GetMechanismList: a list too short -> "
		  "CKR_BUFFER_TOO_SMALL");
	tap(n1 == n, "C_GetMechanismList: CKR_BUFFER_TOO_SMALL sets the count");
	rv = p11->C_GetMechanismList(slot, list, &n);
	expect_rv(rv, CKR_OK, "C_GetMechanismList: fills the list");
	nmechs = 0;
	for (i = 0; rv == CKR_OK && i < n; i++) {
		bool dup = false;

		for (j = 0; j < i; j++)
			dup |= list[j] == list[i];
		if (dup) {
			tap(false, "C_GetMechanismList: 0x%lx listed twice",
			    (unsigned long)list[i]);
			continue;
		}
		memset(&mi, 0, sizeof(mi));
		if (p11->C_GetMechanismInfo(slot, list[i], &mi) != CKR_OK) {
			tap(false, "C_GetMechanismInfo: listed mechanism 0x%lx "
				   "-> CKR_OK", (unsigned long)list[i]);
			continue;
		}
		mechs[nmechs] = list[i];
		mech_infos[nmechs++] = mi;
	}
	expect_rv(p11->C_GetMechanismInfo(slot, BOGUS_MECHANISM, &mi),
		  CKR_MECHANISM_INVALID,
		  "C_GetMechanismInfo: a mechanism not listed -> "
		  "CKR_MECHANISM_INVALID");
	expect_rv(p11->C_GetMechanismInfo(BOGUS_SLOT, CKM_SHA256, &mi),
		  CKR_SLOT_ID_INVALID,
		  "C_GetMechanismInfo: unknown slot -> CKR_SLOT_ID_INVALID");
	expect_rv(p11->C_GetMechanismInfo(slot, CKM_SHA256, NULL),
		  CKR_ARGUMENTS_BAD,
		  "C_GetMechanismInfo: NULL -> CKR_ARGUMENTS_BAD");

	for (i = 0; i < nmechs; i++) {
		const struct mdef *d = mdef_of(mechs[i]);
		const char *name = d ? d->name : NULL;
		char nb[32];
		CK_FLAGS fn = CKF_ENCRYPT | CKF_DECRYPT | CKF_DIGEST | CKF_SIGN |
			      CKF_SIGN_RECOVER | CKF_VERIFY |
			      CKF_VERIFY_RECOVER | CKF_GENERATE |
			      CKF_GENERATE_KEY_PAIR | CKF_WRAP | CKF_UNWRAP |
			      CKF_DERIVE | CONF_CKF_MESSAGE_ENCRYPT |
			      CONF_CKF_MESSAGE_DECRYPT | CONF_CKF_MESSAGE_SIGN |
			      CONF_CKF_MESSAGE_VERIFY;

		mi = mech_infos[i];
		if (name == NULL) {
			snprintf(nb, sizeof(nb), "mechanism 0x%lx",
				 (unsigned long)mechs[i]);
			name = nb;
		}
		if (!tap(mi.ulMinKeySize <= mi.ulMaxKeySize && (mi.flags & fn),
			 "C_GetMechanismInfo: %s: ulMinKeySize <= ulMaxKeySize "
			 "and a function flag", name))
			diag("min %lu max %lu flags 0x%lx",
			     (unsigned long)mi.ulMinKeySize,
			     (unsigned long)mi.ulMaxKeySize,
			     (unsigned long)mi.flags);
		if (d == NULL) {
			tap_skip("no conformance test for this mechanism",
				 "%s is advertised", name);
			flags_text(mi.flags, fl, sizeof(fl));
			table_put(name, "advertised (%s), not exercised", fl);
		}
	}
out:
	p11->C_CloseAllSessions(slot);
}

static void
test_mechanisms(void)
{
	CK_SESSION_HANDLE s = user_session(true), pub = CK_INVALID_HANDLE;
	CK_MECHANISM_INFO mi;
	size_t i;
	char fl[200];

	if (s == CK_INVALID_HANDLE) {
		tap(false, "mechanisms: a read/write user session");
		return;
	}
	refresh_keys(s);
	make_secret_keys(s);
	dec_key_setup(s);
	open_session(slot, 0, &pub);

	/* Every mechanism this program knows. */
	for (i = 0; i < NELEM(mdefs); i++) {
		const struct mdef *d = &mdefs[i];
		bool adv = mech_advertised(d->type, &mi);
		bool req = mdef_required(d);
		int failed_before = t11_count(T11_FAILED);

		if (!adv) {
			const char *fnn = "";
			CK_OBJECT_HANDLE ak;
			CK_RV r;

			if (req)
				tap(false, "C_GetMechanismList: %s is "
					   "advertised (issue 5 item 7%s)",
				    d->name, d->tpm ? "; the TPM has it" : "");
			ak = aes_known ? aes_known : aes_gen;
			r = init_unadvertised(s, d, &ak, &fnn);
			if (d->kind == MK_AES && !ak) {
				char nm[200];

				snprintf(nm, sizeof(nm),
					 "%s: %s (not advertised; no AES key "
					 "to try) -> CKR_MECHANISM_INVALID or "
					 "CKR_KEY_TYPE_INCONSISTENT", fnn,
					 d->name);
				EXPECT_IN(r, nm, CKR_MECHANISM_INVALID,
					  CKR_FUNCTION_NOT_SUPPORTED,
					  CKR_KEY_TYPE_INCONSISTENT);
			}
			else if (!tap(r == CKR_MECHANISM_INVALID ||
					      r == CKR_FUNCTION_NOT_SUPPORTED,
				      "%s: %s (not advertised) -> "
				      "CKR_MECHANISM_INVALID", fnn, d->name))
				diag("got %s", rv_name(r));
			table_put(d->name, "not advertised: %s -> %s", fnn,
				  rv_name(r));
			continue;
		}
		flags_text(mi.flags, fl, sizeof(fl));
		if (!tap((mi.flags & d->need) == d->need,
			 "C_GetMechanismInfo: %s flags include what it must do",
			 d->name)) {
			char want[200];

			flags_text(d->need, want, sizeof(want));
			diag("flags %s, expected at least %s", fl, want);
		}
		switch (d->kind) {
		case MK_ECDSA:
		case MK_ECDH:
		case MK_KEYPAIR:
			if (d->type == CKM_RSA_PKCS_KEY_PAIR_GEN)
				goto rsa_sizes;
			if (!tap(mi.ulMinKeySize <= 256 &&
					 mi.ulMaxKeySize >= 384 &&
					 mi.ulMinKeySize >= 160 &&
					 mi.ulMaxKeySize <= 571,
				 "C_GetMechanismInfo: %s key sizes are field "
				 "bits covering 256 and 384", d->name))
				diag("%lu..%lu", (unsigned long)mi.ulMinKeySize,
				     (unsigned long)mi.ulMaxKeySize);
			if (!tap((mi.flags & CKF_EC_F_P) &&
					 (mi.flags & CKF_EC_NAMEDCURVE) &&
					 (mi.flags & CKF_EC_UNCOMPRESS),
				 "C_GetMechanismInfo: %s has CKF_EC_F_P, "
				 "CKF_EC_NAMEDCURVE and CKF_EC_UNCOMPRESS",
				 d->name))
				diag("flags %s", fl);
			break;
		case MK_RSA_SIGN:
		case MK_RSA_OAEP:
		rsa_sizes:
			if (!tap(mi.ulMinKeySize <= 2048 &&
					 mi.ulMaxKeySize >= 3072 &&
					 mi.ulMinKeySize >= 512 &&
					 mi.ulMaxKeySize <= 16384,
				 "C_GetMechanismInfo: %s key sizes are modulus "
				 "bits covering 2048 and 3072", d->name))
				diag("%lu..%lu", (unsigned long)mi.ulMinKeySize,
				     (unsigned long)mi.ulMaxKeySize);
			break;
		case MK_AES:
		case MK_KEYGEN:
			if (d->type == CKM_GENERIC_SECRET_KEY_GEN)
				break;
			if (!tap(mi.ulMinKeySize == 16 &&
					 (mi.ulMaxKeySize == 16 ||
					  mi.ulMaxKeySize == 24 ||
					  mi.ulMaxKeySize == 32),
				 "C_GetMechanismInfo: %s key sizes are bytes "
				 "(16..32)", d->name))
				diag("%lu..%lu", (unsigned long)mi.ulMinKeySize,
				     (unsigned long)mi.ulMaxKeySize);
			break;
		default:
			break;
		}
		switch (d->kind) {
		case MK_DIGEST:
			if (pub != CK_INVALID_HANDLE)
				ex_digest(pub, d);
			break;
		case MK_ECDSA:
			ex_sign(s, d, &mi);
			break;
		case MK_RSA_SIGN:
			ex_sign(s, d, &mi);
			if (d->type == CKM_RSA_PKCS || d->type == CKM_RSA_X_509)
				ex_rsa_enc(s, d, &mi);
			break;
		case MK_RSA_OAEP:
			ex_rsa_enc(s, d, &mi);
			break;
		case MK_ECDH:
			ex_ecdh(s, d);
			break;
		case MK_AES:
			ex_aes(s, d);
			break;
		case MK_HMAC:
			ex_hmac(s, d);
			ex_hmac_lengths(s, d);
			break;
		case MK_KEYGEN:
		case MK_KEYPAIR:
			/* exercised in the key generation section */
			break;
		}
		if (t11_count(T11_FAILED) == failed_before)
			table_put(d->name, "supported (%s; sizes %lu..%lu)", fl,
				  (unsigned long)mi.ulMinKeySize,
				  (unsigned long)mi.ulMaxKeySize);
		else
			table_put(d->name, "advertised (%s) but %d rule(s) "
					   "failed", fl,
				  t11_count(T11_FAILED) - failed_before);
	}
	if (pub != CK_INVALID_HANDLE)
		p11->C_CloseSession(pub);
	dec_key_cleanup(s);
	p11->C_CloseAllSessions(slot);
}

/* Keys for the AES and HMAC mechanisms, made before the mechanism walk. */
static void
make_secret_keys(CK_SESSION_HANDLE s)
{
	CK_MECHANISM ag = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_MECHANISM gg = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
	CK_ULONG l16 = 16, l32 = 32;
	CK_ATTRIBUTE at[] = {
		{ CKA_VALUE_LEN, &l16, sizeof(l16) },
		{ CKA_ENCRYPT, (void *)&yes, 1 },
		{ CKA_DECRYPT, (void *)&yes, 1 },
	};
	CK_ATTRIBUTE gt[] = {
		{ CKA_VALUE_LEN, &l32, sizeof(l32) },
		{ CKA_SIGN, (void *)&yes, 1 },
		{ CKA_VERIFY, (void *)&yes, 1 },
	};

	aes_known = aes_gen = hmac_known = hmac_gen = CK_INVALID_HANDLE;
	if (create_secret(s, CKK_AES, aes_known_value, 16, "conf-aes-known",
			  false, true, false, &aes_known) != CKR_OK)
		aes_known = CK_INVALID_HANDLE;
	if (create_secret(s, CKK_GENERIC_SECRET, hmac_known_value, 32,
			  "conf-hmac-known", false, true, false,
			  &hmac_known) != CKR_OK)
		hmac_known = CK_INVALID_HANDLE;
	if (mech_advertised(CKM_AES_KEY_GEN, NULL) &&
	    p11->C_GenerateKey(s, &ag, at, NELEM(at), &aes_gen) != CKR_OK)
		aes_gen = CK_INVALID_HANDLE;
	if (mech_advertised(CKM_GENERIC_SECRET_KEY_GEN, NULL) &&
	    p11->C_GenerateKey(s, &gg, gt, NELEM(gt), &hmac_gen) != CKR_OK)
		hmac_gen = CK_INVALID_HANDLE;
}

/* === 9. digest protocol, C_DigestKey, dual functions, state =============== */

static void
test_function_misc(void)
{
	CK_SESSION_HANDLE s = user_session(true);
	CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
	unsigned char out[64], buf[16];
	CK_ULONG ol, sl;
	CK_SLOT_ID ev;
	CK_RV rv;

	if (s == CK_INVALID_HANDLE) {
		tap(false, "misc functions: a user session");
		return;
	}
	refresh_keys(s);
	expect_rv(p11->C_DigestInit(s, NULL), CKR_ARGUMENTS_BAD,
		  "C_DigestInit: NULL mechanism -> CKR_ARGUMENTS_BAD");
	expect_rv(p11->C_DigestUpdate(s, (CK_BYTE *)"x", 1),
		  CKR_OPERATION_NOT_INITIALIZED,
		  "C_DigestUpdate: without C_DigestInit -> "
		  "CKR_OPERATION_NOT_INITIALIZED");
	ol = sizeof(out);
	expect_rv(p11->C_DigestFinal(s, out, &ol), CKR_OPERATION_NOT_INITIALIZED,
		  "C_DigestFinal: without C_DigestInit -> "
		  "CKR_OPERATION_NOT_INITIALIZED");
	expect_rv(p11->C_DigestInit(BOGUS_HANDLE, &sha),
		  CKR_SESSION_HANDLE_INVALID,
		  "C_DigestInit: unknown session -> CKR_SESSION_HANDLE_INVALID");

	/* C_DigestKey: a TPM key cannot be digested; a secret key may. */
	rv = p11->C_DigestInit(s, &sha);
	if (rv == CKR_OK && keys[K_P256].ok) {
		rv = p11->C_DigestKey(s, keys[K_P256].priv);
		if (rv == CKR_FUNCTION_NOT_SUPPORTED) {
			tap(true, "C_DigestKey: not supported "
				  "(CKR_FUNCTION_NOT_SUPPORTED)");
		} else {
			expect_rv(rv, CKR_KEY_INDIGESTIBLE,
				  "C_DigestKey: a TPM private key -> "
				  "CKR_KEY_INDIGESTIBLE");
		}
		ol = sizeof(out);
		p11->C_DigestFinal(s, out, &ol);
		ol = sizeof(out);
		p11->C_DigestFinal(s, out, &ol);
	}

	/* Parallel-function legacy. */
	expect_rv(p11->C_GetFunctionStatus(s), CKR_FUNCTION_NOT_PARALLEL,
		  "C_GetFunctionStatus: -> CKR_FUNCTION_NOT_PARALLEL");
	expect_rv(p11->C_CancelFunction(s), CKR_FUNCTION_NOT_PARALLEL,
		  "C_CancelFunction: -> CKR_FUNCTION_NOT_PARALLEL");

	/* Operation state: saved and restored, or refused by name. */
	sl = 0;
	rv = p11->C_GetOperationState(s, NULL, &sl);
	if (rv == CKR_FUNCTION_NOT_SUPPORTED) {
		tap(true, "C_GetOperationState: not supported "
			  "(CKR_FUNCTION_NOT_SUPPORTED)");
	} else {
		expect_rv(rv, CKR_OPERATION_NOT_INITIALIZED,
			  "C_GetOperationState: no active operation -> "
			  "CKR_OPERATION_NOT_INITIALIZED");
	}
	rv = p11->C_DigestInit(s, &sha);
	if (rv == CKR_OK)
		rv = p11->C_DigestUpdate(s, (CK_BYTE *)"abc", 3);
	if (rv == CKR_OK) {
		unsigned char state[4096];

		sl = sizeof(state);
		rv = p11->C_GetOperationState(s, state, &sl);
		if (rv == CKR_OK) {
			unsigned char want[32];

			p11->C_DigestUpdate(s, (CK_BYTE *)"zzz", 3);
			rv = p11->C_SetOperationState(s, state, sl, 0, 0);
			if (rv == CKR_OK)
				rv = p11->C_DigestUpdate(s, (CK_BYTE *)"def",
							 3);
			ol = sizeof(out);
			if (rv == CKR_OK)
				rv = p11->C_DigestFinal(s, out, &ol);
			digest(EVP_sha256(), "abcdef", 6, want);
			tap(rv == CKR_OK && ol == 32 &&
				    memcmp(out, want, 32) == 0,
			    "C_GetOperationState/C_SetOperationState: a "
			    "digest continues from the saved state");
		} else {
			EXPECT_IN(rv, "C_GetOperationState: a digest in progress "
				      "-> CKR_OK, CKR_STATE_UNSAVEABLE or "
				      "CKR_FUNCTION_NOT_SUPPORTED",
				  CKR_STATE_UNSAVEABLE,
				  CKR_FUNCTION_NOT_SUPPORTED);
			ol = sizeof(out);
			p11->C_DigestFinal(s, out, &ol);
		}
	}
	rv = p11->C_SetOperationState(s, buf, 4, 0, 0);
	EXPECT_IN(rv, "C_SetOperationState: a state it never made -> "
		      "CKR_SAVED_STATE_INVALID or CKR_FUNCTION_NOT_SUPPORTED",
		  CKR_SAVED_STATE_INVALID, CKR_FUNCTION_NOT_SUPPORTED);

	/* Dual-function updates: no operation is active. */
	{
		static const char *names[] = {
			"C_DigestEncryptUpdate", "C_DecryptDigestUpdate",
			"C_SignEncryptUpdate", "C_DecryptVerifyUpdate",
		};
		unsigned char o2[32];
		CK_ULONG l2;
		int i;

		for (i = 0; i < 4; i++) {
			char name[200];

			l2 = sizeof(o2);
			switch (i) {
			case 0: rv = p11->C_DigestEncryptUpdate(s, buf, 16, o2, &l2); break;
			case 1: rv = p11->C_DecryptDigestUpdate(s, buf, 16, o2, &l2); break;
			case 2: rv = p11->C_SignEncryptUpdate(s, buf, 16, o2, &l2); break;
			default: rv = p11->C_DecryptVerifyUpdate(s, buf, 16, o2, &l2); break;
			}
			snprintf(name, sizeof(name),
				 "%s: with no operation active -> "
				 "CKR_OPERATION_NOT_INITIALIZED (or "
				 "CKR_FUNCTION_NOT_SUPPORTED)", names[i]);
			EXPECT_IN(rv, name, CKR_OPERATION_NOT_INITIALIZED,
				  CKR_FUNCTION_NOT_SUPPORTED);
		}
	}

	/* Recover: supported when a mechanism says CKF_SIGN_RECOVER. */
	{
		CK_MECHANISM m = { CKM_RSA_X_509, NULL, 0 };
		CK_MECHANISM_INFO mi;
		bool adv = mech_advertised(CKM_RSA_X_509, &mi) &&
			   (mi.flags & CKF_SIGN_RECOVER);
		CK_MECHANISM_TYPE rm = CKM_RSA_PKCS;
		CK_MECHANISM_INFO mi2;

		if (!adv && mech_advertised(CKM_RSA_PKCS, &mi2) &&
		    (mi2.flags & CKF_SIGN_RECOVER)) {
			adv = true;
			m.mechanism = rm;
		}
		rv = keys[K_RSA].ok
			     ? p11->C_SignRecoverInit(s, &m, keys[K_RSA].priv)
			     : CKR_GENERAL_ERROR;
		if (adv) {
			unsigned char in[32], sig[512], back[512];
			CK_ULONG sl2 = sizeof(sig), bl = sizeof(back);

			RAND_bytes(in, sizeof(in));
			in[0] = 0x01;
			if (rv == CKR_OK)
				rv = p11->C_SignRecover(s, in, sizeof(in), sig,
							&sl2);
			if (rv == CKR_OK)
				rv = p11->C_VerifyRecoverInit(
					s, &m, keys[K_RSA].pub);
			if (rv == CKR_OK)
				rv = p11->C_VerifyRecover(s, sig, sl2, back,
							  &bl);
			tap(rv == CKR_OK && bl >= sizeof(in) &&
				    memcmp(back + bl - sizeof(in), in,
					   sizeof(in)) == 0,
			    "C_SignRecover/C_VerifyRecover: advertised, and the "
			    "data comes back");
		} else {
			EXPECT_IN(rv, "C_SignRecoverInit: no mechanism has "
				      "CKF_SIGN_RECOVER -> "
				      "CKR_FUNCTION_NOT_SUPPORTED or "
				      "CKR_MECHANISM_INVALID",
				  CKR_FUNCTION_NOT_SUPPORTED,
				  CKR_MECHANISM_INVALID);
			rv = keys[K_RSA].ok ? p11->C_VerifyRecoverInit(
						      s, &m, keys[K_RSA].pub)
					    : CKR_GENERAL_ERROR;
			EXPECT_IN(rv, "C_VerifyRecoverInit: no mechanism has "
				      "CKF_VERIFY_RECOVER -> "
				      "CKR_FUNCTION_NOT_SUPPORTED or "
				      "CKR_MECHANISM_INVALID",
				  CKR_FUNCTION_NOT_SUPPORTED,
				  CKR_MECHANISM_INVALID);
		}
	}

	/* Slot events: none to wait for without blocking. */
	rv = p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL);
	EXPECT_IN(rv, "C_WaitForSlotEvent: CKF_DONT_BLOCK -> CKR_NO_EVENT or "
		      "CKR_FUNCTION_NOT_SUPPORTED",
		  CKR_NO_EVENT, CKR_FUNCTION_NOT_SUPPORTED);

	/* Unwrapping. */
	{
		CK_MECHANISM m = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
		CK_OBJECT_HANDLE h;
		unsigned char junk[40];

		memset(junk, 0x5a, sizeof(junk));
		rv = p11->C_UnwrapKey(s, &m, keys[K_P256].priv, junk,
				      sizeof(junk), NULL, 0, &h);
		if (rv == CKR_FUNCTION_NOT_SUPPORTED)
			tap(true, "C_UnwrapKey: not supported "
				  "(CKR_FUNCTION_NOT_SUPPORTED)");
		else
			tap(rv != CKR_OK, "C_UnwrapKey: junk with an EC key as "
					  "unwrapping key is refused");
		table_put("key unwrapping", "%s",
			  rv == CKR_OK ? "implemented" : rv_name(rv));
	}
	p11->C_CloseAllSessions(slot);
}

/* --- operation rules (issue 13 item 14) -------------------------------------
 *
 * PKCS#11 v2.40 5.2 and the function descriptions of 5.8-5.12 (C_Encrypt,
 * C_EncryptUpdate, C_EncryptFinal, C_Decrypt*, C_Digest*, C_Sign*,
 * C_Verify*): a call that returns anything but CKR_BUFFER_TOO_SMALL, or a
 * successful length query, ends the active operation. A bad argument
 * (CKR_ARGUMENTS_BAD) is such a return. Each case runs in a session of
 * its own; whether the operation ended is asked with the family's update
 * call, which must say CKR_OPERATION_NOT_INITIALIZED. */

enum op_family { OPF_DIGEST, OPF_SIGN, OPF_VERIFY, OPF_ENCRYPT, OPF_DECRYPT };

static CK_RV
op_probe(CK_SESSION_HANDLE c, enum op_family f)
{
	unsigned char in[16] = { 0 }, out[64];
	CK_ULONG ol = sizeof(out);

	switch (f) {
	case OPF_DIGEST: return p11->C_DigestUpdate(c, in, 1);
	case OPF_SIGN: return p11->C_SignUpdate(c, in, 1);
	case OPF_VERIFY: return p11->C_VerifyUpdate(c, in, 1);
	case OPF_ENCRYPT:
		return p11->C_EncryptUpdate(c, in, sizeof(in), out, &ol);
	default: return p11->C_DecryptUpdate(c, in, sizeof(in), out, &ol);
	}
}

/* A session of its own with an operation of family f begun with m (and
 * key, for the families that take one). */
static CK_SESSION_HANDLE
op_begun(enum op_family f, CK_MECHANISM *m, CK_OBJECT_HANDLE key)
{
	CK_SESSION_HANDLE c = CK_INVALID_HANDLE;
	CK_RV rv;

	open_session(slot, CKF_RW_SESSION, &c);
	switch (f) {
	case OPF_DIGEST: rv = p11->C_DigestInit(c, m); break;
	case OPF_SIGN: rv = p11->C_SignInit(c, m, key); break;
	case OPF_VERIFY: rv = p11->C_VerifyInit(c, m, key); break;
	case OPF_ENCRYPT: rv = p11->C_EncryptInit(c, m, key); break;
	default: rv = p11->C_DecryptInit(c, m, key); break;
	}
	if (rv != CKR_OK)
		diag("operation rules: the init call: %s", rv_name(rv));
	return c;
}

/* The end of a case: the call (what) returned got, want was expected, and
 * the operation of family f must be over afterwards: the next update says
 * CKR_OPERATION_NOT_INITIALIZED. Closes c. */
static void
op_case(CK_SESSION_HANDLE c, enum op_family f, CK_RV got, CK_RV want,
	const char *what)
{
	CK_RV rv;

	expect_rv(got, want, "%s -> %s", what, rv_name(want));
	rv = op_probe(c, f);
	if (!tap(rv == CKR_OPERATION_NOT_INITIALIZED,
		 "%s: %s ends the operation (the next update -> "
		 "CKR_OPERATION_NOT_INITIALIZED)", what, rv_name(want)))
		diag("got %s: the operation is still active", rv_name(rv));
	p11->C_CloseSession(c);
}

static void
op_rules_digest(void)
{
	CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
	unsigned char out[64], want[32], empty[32];
	CK_ULONG ol = sizeof(out);
	CK_SESSION_HANDLE c;
	CK_RV rv;

	digest(EVP_sha256(), "abc", 3, want);
	digest(EVP_sha256(), "", 0, empty);

	c = op_begun(OPF_DIGEST, &m, 0);
	op_case(c, OPF_DIGEST, p11->C_Digest(c, (CK_BYTE *)"abc", 3, out, NULL),
		CKR_ARGUMENTS_BAD, "C_Digest: pulDigestLen NULL");
	c = op_begun(OPF_DIGEST, &m, 0);
	op_case(c, OPF_DIGEST, p11->C_Digest(c, NULL, 3, out, &ol),
		CKR_ARGUMENTS_BAD, "C_Digest: NULL data of length 3");
	c = op_begun(OPF_DIGEST, &m, 0);
	op_case(c, OPF_DIGEST, p11->C_DigestUpdate(c, NULL, 3),
		CKR_ARGUMENTS_BAD, "C_DigestUpdate: NULL part of length 3");
	c = op_begun(OPF_DIGEST, &m, 0);
	p11->C_DigestUpdate(c, (CK_BYTE *)"abc", 3);
	op_case(c, OPF_DIGEST, p11->C_DigestFinal(c, out, NULL),
		CKR_ARGUMENTS_BAD, "C_DigestFinal: pulDigestLen NULL");
	c = op_begun(OPF_DIGEST, &m, 0);
	p11->C_DigestUpdate(c, (CK_BYTE *)"abc", 3);
	op_case(c, OPF_DIGEST, p11->C_Digest(c, (CK_BYTE *)"abc", 3, out, &ol),
		CKR_OPERATION_ACTIVE, "C_Digest after C_DigestUpdate");

	/* After its length query, C_DigestFinal gives the digest of the
	 * data given. */
	c = op_begun(OPF_DIGEST, &m, 0);
	p11->C_DigestUpdate(c, (CK_BYTE *)"abc", 3);
	ol = 0;
	rv = p11->C_DigestFinal(c, NULL, &ol);
	tap(rv == CKR_OK && ol == 32, "C_DigestFinal: a length query "
	    "(NULL output) -> CKR_OK, 32, operation still active");
	ol = sizeof(out);
	rv = p11->C_DigestFinal(c, out, &ol);
	if (!tap(rv == CKR_OK && ol == 32 && memcmp(out, want, 32) == 0,
		 "C_DigestFinal after its length query returns SHA-256(\"abc\")"))
		diag("%s, %lu bytes", rv_name(rv), (unsigned long)ol);
	op_case(c, OPF_DIGEST, rv, CKR_OK, "C_DigestFinal with the digest");

	/* C_Digest's length query starts a single-part digest: its data
	 * is not taken (the caller gives it again), so a C_DigestFinal now
	 * has nothing to digest. It must not answer with the digest of the
	 * empty message as if that had been the data. */
	c = op_begun(OPF_DIGEST, &m, 0);
	ol = 0;
	rv = p11->C_Digest(c, (CK_BYTE *)"abc", 3, NULL, &ol);
	tap(rv == CKR_OK && ol == 32, "C_Digest: a length query -> CKR_OK, 32");
	ol = sizeof(out);
	rv = p11->C_DigestFinal(c, out, &ol);
	if (!tap(!(rv == CKR_OK && ol == 32 && memcmp(out, empty, 32) == 0),
		 "C_DigestFinal after C_Digest's length query does not return "
		 "the digest of the empty message"))
		diag("got SHA-256(\"\") for data \"abc\"");
	op_case(c, OPF_DIGEST, rv, CKR_OPERATION_ACTIVE,
		"C_DigestFinal after C_Digest started a single-part digest");
}

/* Signing and verifying, with the P-256 key. */
static void
op_rules_sign_verify(void)
{
	CK_MECHANISM raw = { CKM_ECDSA, NULL, 0 };
	CK_MECHANISM hashing = { CKM_ECDSA_SHA256, NULL, 0 };
	struct key *k = &keys[K_P256];
	unsigned char h[32] = { 1 }, sig[128] = { 1 };
	CK_ULONG sl = sizeof(sig);
	CK_SESSION_HANDLE c;
	CK_RV rv;

	if (!k->ok) {
		tap(false, "operation rules: the P-256 key is there");
		return;
	}
	c = op_begun(OPF_SIGN, &raw, k->priv);
	op_case(c, OPF_SIGN, p11->C_Sign(c, h, sizeof(h), sig, NULL),
		CKR_ARGUMENTS_BAD, "C_Sign: pulSignatureLen NULL");
	c = op_begun(OPF_SIGN, &hashing, k->priv);
	op_case(c, OPF_SIGN, p11->C_SignUpdate(c, NULL, 3), CKR_ARGUMENTS_BAD,
		"C_SignUpdate: NULL part of length 3");
	c = op_begun(OPF_SIGN, &hashing, k->priv);
	p11->C_SignUpdate(c, (CK_BYTE *)"abc", 3);
	op_case(c, OPF_SIGN, p11->C_SignFinal(c, sig, NULL), CKR_ARGUMENTS_BAD,
		"C_SignFinal: pulSignatureLen NULL");
	c = op_begun(OPF_SIGN, &hashing, k->priv);
	p11->C_SignUpdate(c, (CK_BYTE *)"abc", 3);
	op_case(c, OPF_SIGN, p11->C_Sign(c, (CK_BYTE *)"abc", 3, sig, &sl),
		CKR_OPERATION_ACTIVE, "C_Sign after C_SignUpdate");
	c = op_begun(OPF_SIGN, &hashing, k->priv);
	sl = 0;
	rv = p11->C_Sign(c, (CK_BYTE *)"abc", 3, NULL, &sl);
	tap(rv == CKR_OK && sl == 64, "C_Sign: a length query -> CKR_OK, 64");
	sl = sizeof(sig);
	op_case(c, OPF_SIGN, p11->C_SignFinal(c, sig, &sl),
		CKR_OPERATION_ACTIVE, "C_SignFinal after C_Sign started a "
		"single-part signature (no signature over no data)");

	c = op_begun(OPF_VERIFY, &raw, k->pub);
	op_case(c, OPF_VERIFY, p11->C_Verify(c, h, sizeof(h), NULL, 64),
		CKR_ARGUMENTS_BAD, "C_Verify: NULL signature");
	c = op_begun(OPF_VERIFY, &hashing, k->pub);
	op_case(c, OPF_VERIFY, p11->C_VerifyUpdate(c, NULL, 3),
		CKR_ARGUMENTS_BAD, "C_VerifyUpdate: NULL part of length 3");
	c = op_begun(OPF_VERIFY, &hashing, k->pub);
	p11->C_VerifyUpdate(c, (CK_BYTE *)"abc", 3);
	op_case(c, OPF_VERIFY, p11->C_VerifyFinal(c, NULL, 64),
		CKR_ARGUMENTS_BAD, "C_VerifyFinal: NULL signature");
	c = op_begun(OPF_VERIFY, &hashing, k->pub);
	p11->C_VerifyUpdate(c, (CK_BYTE *)"abc", 3);
	op_case(c, OPF_VERIFY,
		p11->C_Verify(c, (CK_BYTE *)"abc", 3, sig, 64),
		CKR_OPERATION_ACTIVE, "C_Verify after C_VerifyUpdate");
}

static void
op_rules_cipher(CK_SESSION_HANDLE s)
{
	CK_MECHANISM gen = { CKM_AES_KEY_GEN, NULL, 0 };
	unsigned char iv[16] = { 0 }, in[32] = { 0 }, out[64];
	CK_MECHANISM cbc = { CKM_AES_CBC_PAD, iv, sizeof(iv) };
	CK_MECHANISM ecb = { CKM_AES_ECB, NULL, 0 };
	CK_ULONG len = 16, ol = sizeof(out);
	CK_ATTRIBUTE t[] = {
		{ CKA_TOKEN, (void *)&no, sizeof(no) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_ENCRYPT, (void *)&yes, sizeof(yes) },
		{ CKA_DECRYPT, (void *)&yes, sizeof(yes) },
	};
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_SESSION_HANDLE c;

	if (!expect_rv(p11->C_GenerateKey(s, &gen, t, NELEM(t), &key), CKR_OK,
		       "operation rules: an AES-128 session key "
		       "(C_GenerateKey)"))
		return;
	c = op_begun(OPF_ENCRYPT, &cbc, key);
	op_case(c, OPF_ENCRYPT, p11->C_Encrypt(c, in, 16, out, NULL),
		CKR_ARGUMENTS_BAD, "C_Encrypt: pulEncryptedDataLen NULL");
	c = op_begun(OPF_ENCRYPT, &cbc, key);
	op_case(c, OPF_ENCRYPT, p11->C_EncryptUpdate(c, NULL, 16, out, &ol),
		CKR_ARGUMENTS_BAD, "C_EncryptUpdate: NULL part of length 16");
	c = op_begun(OPF_ENCRYPT, &cbc, key);
	p11->C_EncryptUpdate(c, in, 16, out, &ol);
	op_case(c, OPF_ENCRYPT, p11->C_EncryptFinal(c, out, NULL),
		CKR_ARGUMENTS_BAD, "C_EncryptFinal: pulLastEncryptedPartLen "
		"NULL");
	c = op_begun(OPF_ENCRYPT, &ecb, key);
	ol = sizeof(out);
	op_case(c, OPF_ENCRYPT, p11->C_Encrypt(c, in, 15, out, &ol),
		CKR_DATA_LEN_RANGE, "C_Encrypt: CKM_AES_ECB over 15 bytes");
	c = op_begun(OPF_ENCRYPT, &cbc, key);
	ol = sizeof(out);
	p11->C_EncryptUpdate(c, in, 16, out, &ol);
	ol = sizeof(out);
	op_case(c, OPF_ENCRYPT, p11->C_Encrypt(c, in, 16, out, &ol),
		CKR_OPERATION_ACTIVE, "C_Encrypt after C_EncryptUpdate");
	c = op_begun(OPF_DECRYPT, &cbc, key);
	ol = sizeof(out);
	op_case(c, OPF_DECRYPT, p11->C_Decrypt(c, NULL, 16, out, &ol),
		CKR_ARGUMENTS_BAD, "C_Decrypt: NULL ciphertext");
	c = op_begun(OPF_DECRYPT, &cbc, key);
	ol = sizeof(out);
	op_case(c, OPF_DECRYPT, p11->C_DecryptUpdate(c, NULL, 16, out, &ol),
		CKR_ARGUMENTS_BAD, "C_DecryptUpdate: NULL part of length 16");
	c = op_begun(OPF_DECRYPT, &cbc, key);
	ol = sizeof(out);
	p11->C_DecryptUpdate(c, in, 32, out, &ol);
	op_case(c, OPF_DECRYPT, p11->C_DecryptFinal(c, out, NULL),
		CKR_ARGUMENTS_BAD, "C_DecryptFinal: pulLastPartLen NULL");
	p11->C_DestroyObject(s, key);
}

static void
test_operation_rules(void)
{
	CK_SESSION_HANDLE s = user_session(true);

	if (s == CK_INVALID_HANDLE) {
		tap(false, "operation rules: a read/write user session");
		return;
	}
	refresh_keys(s);
	op_rules_digest();
	op_rules_sign_verify();
	op_rules_cipher(s);
	p11->C_CloseSession(s);
}

/* --- error precedence (issue 13 item 15) -------------------------------------
 *
 * PKCS#11 v2.40 5.1.7: the errors of 5.1.2 (functions that use a session
 * handle: CKR_SESSION_HANDLE_INVALID, ...) take precedence over those of
 * 5.1.6 (templates, mechanisms). So a call with an invalid session handle
 * and a bad template or mechanism says CKR_SESSION_HANDLE_INVALID. Both a
 * handle never issued and one just closed are tried. */
static void
test_error_precedence(void)
{
	CK_MECHANISM bogus = { BOGUS_MECHANISM, NULL, 0 };
	CK_MECHANISM aesgen = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_MECHANISM ecgen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM ecdh = { CKM_ECDH1_DERIVE, NULL, 0 };
	CK_BBOOL badlen[4] = { CK_TRUE };
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
	CK_ULONG vlen = 16;
	CK_ATTRIBUTE badbool[] = {
		{ CKA_TOKEN, badlen, sizeof(badlen) }, /* a CK_BBOOL of 4 bytes */
	};
	CK_ATTRIBUTE noclass[] = {
		{ CKA_LABEL, (void *)"x", 1 },
	};
	CK_ATTRIBUTE privkey[] = {
		{ CKA_CLASS, &priv, sizeof(priv) },
	};
	CK_ATTRIBUTE aes_ok[] = {
		{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },
	};
	CK_ATTRIBUTE ec_noparams[] = {
		{ CKA_VERIFY, (void *)&yes, sizeof(yes) },
	};
	CK_ATTRIBUTE ec_ok[] = {
		{ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) },
	};
	CK_SESSION_HANDLE handles[2] = { BOGUS_HANDLE, CK_INVALID_HANDLE };
	const char *hname[2] = { "a handle never issued", "a closed session" };
	CK_OBJECT_HANDLE h, h2;
	int i;

	if (open_session(slot, CKF_RW_SESSION, &handles[1]) != CKR_OK) {
		tap(false, "error precedence: a session to close");
		return;
	}
	p11->C_CloseSession(handles[1]);
	for (i = 0; i < 2; i++) {
		CK_SESSION_HANDLE x = handles[i];

		expect_rv(p11->C_GenerateKey(x, &bogus, aes_ok, NELEM(aes_ok),
					     &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_GenerateKey: %s and an unknown mechanism -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_GenerateKey(x, &aesgen, noclass,
					     NELEM(noclass), &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_GenerateKey: %s and a template without "
			  "CKA_VALUE_LEN -> CKR_SESSION_HANDLE_INVALID",
			  hname[i]);
		expect_rv(p11->C_GenerateKey(x, &aesgen, badbool,
					     NELEM(badbool), &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_GenerateKey: %s and a malformed template -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_GenerateKeyPair(x, &bogus, ec_ok, NELEM(ec_ok),
						 NULL, 0, &h, &h2),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_GenerateKeyPair: %s and an unknown mechanism -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_GenerateKeyPair(x, &ecgen, ec_noparams,
						 NELEM(ec_noparams), NULL, 0,
						 &h, &h2),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_GenerateKeyPair: %s and no CKA_EC_PARAMS -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_GenerateKeyPair(x, &ecgen, ec_ok, NELEM(ec_ok),
						 badbool, NELEM(badbool), &h,
						 &h2),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_GenerateKeyPair: %s and a malformed template -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_CreateObject(x, noclass, NELEM(noclass), &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_CreateObject: %s and no CKA_CLASS -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_CreateObject(x, privkey, NELEM(privkey), &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_CreateObject: %s and a private key template -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_CreateObject(x, badbool, NELEM(badbool), &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_CreateObject: %s and a malformed template -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_DeriveKey(x, &bogus, 1, aes_ok, NELEM(aes_ok),
					   &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_DeriveKey: %s and an unknown mechanism -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_DeriveKey(x, &ecdh, 1, aes_ok, NELEM(aes_ok),
					   &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_DeriveKey: %s and CKM_ECDH1_DERIVE without "
			  "parameters -> CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_CopyObject(x, 1, badbool, NELEM(badbool), &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_CopyObject: %s and a malformed template -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_SetAttributeValue(x, 1, badbool,
						   NELEM(badbool)),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_SetAttributeValue: %s and a malformed template -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_FindObjectsInit(x, badbool, NELEM(badbool)),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_FindObjectsInit: %s and a malformed template -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_DigestInit(x, &bogus),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_DigestInit: %s and an unknown mechanism -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_SignInit(x, &bogus, 1),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_SignInit: %s and an unknown mechanism -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
	}
}

/* === 10. random numbers =================================================== */

static bool
looks_random(const unsigned char *p, size_t n)
{
	size_t i, same = 0;

	if (n < 16)
		return true;
	for (i = 1; i < n; i++)
		same += p[i] == p[i - 1];
	return same < n / 16 + 4;
}

static void
test_random(void)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	static unsigned char a[70000], b[70000];
	static const CK_ULONG lens[] = { 1, 16, 32, 33, 48, 64, 65, 100, 1000,
					 1024, 4097, 65536 };
	size_t i;
	CK_RV rv;

	if (open_session(slot, 0, &s) != CKR_OK) {
		tap(false, "C_GenerateRandom: a public session");
		return;
	}
	for (i = 0; i < NELEM(lens); i++) {
		memset(a, 0, lens[i] + 16);
		memset(b, 0, lens[i] + 16);
		rv = p11->C_GenerateRandom(s, a, lens[i]);
		if (rv == CKR_OK)
			rv = p11->C_GenerateRandom(s, b, lens[i]);
		if (!tap(rv == CKR_OK && a[lens[i]] == 0 &&
				 (lens[i] < 8 || memcmp(a, b, lens[i]) != 0) &&
				 looks_random(a, lens[i]) &&
				 looks_random(a + lens[i] - (lens[i] < 16 ? lens[i] : 16),
					      lens[i] < 16 ? lens[i] : 16),
			 "C_GenerateRandom: %lu bytes in a public session, "
			 "filled to the end, different each call",
			 (unsigned long)lens[i]))
			diag("%s", rv_name(rv));
	}
	rv = p11->C_GenerateRandom(s, a, 0);
	expect_rv(rv, CKR_OK, "C_GenerateRandom: 0 bytes -> CKR_OK");
	expect_rv(p11->C_GenerateRandom(s, NULL, 16), CKR_ARGUMENTS_BAD,
		  "C_GenerateRandom: NULL buffer -> CKR_ARGUMENTS_BAD");
	expect_rv(p11->C_GenerateRandom(BOGUS_HANDLE, a, 16),
		  CKR_SESSION_HANDLE_INVALID,
		  "C_GenerateRandom: unknown session -> "
		  "CKR_SESSION_HANDLE_INVALID");
	memset(a, 0x42, 32);
	rv = p11->C_SeedRandom(s, a, 32);
	expect_rv(rv, CKR_OK, "C_SeedRandom: 32 bytes (stirs the TPM's "
			      "generator) -> CKR_OK");
	expect_rv(p11->C_SeedRandom(s, a, 1000), CKR_OK,
		  "C_SeedRandom: 1000 bytes (more than TPM2_StirRandom takes "
		  "at once) -> CKR_OK");
	expect_rv(p11->C_SeedRandom(s, NULL, 4), CKR_ARGUMENTS_BAD,
		  "C_SeedRandom: NULL seed -> CKR_ARGUMENTS_BAD");
	rv = p11->C_GenerateRandom(s, b, 64);
	tap(rv == CKR_OK && looks_random(b, 64),
	    "C_GenerateRandom: still works after C_SeedRandom");
	p11->C_CloseSession(s);
}

/* === 11. v3.0 functions ==================================================== */

static void
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
		login(s, CKU_USER, user_pin);
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

static void
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

static void
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
	expect_rv(login(s, CKU_USER, "anything-1234"),
		  CKR_USER_PIN_NOT_INITIALIZED,
		  "C_Login: user before C_InitPIN -> "
		  "CKR_USER_PIN_NOT_INITIALIZED");
	expect_rv(p11->C_InitPIN(s, (CK_UTF8CHAR *)upin2, strlen(upin2)),
		  CKR_USER_NOT_LOGGED_IN,
		  "C_InitPIN: in a public session -> CKR_USER_NOT_LOGGED_IN");
	if (!expect_rv(login(s, CKU_SO, sopin2), CKR_OK,
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
	expect_rv(login(s, CKU_USER, pin), CKR_OK,
		  "C_Login: with the PIN of ulMaxPinLen bytes -> CKR_OK");
	p11->C_Logout(s);
	login(s, CKU_SO, sopin2);
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
	expect_rv(login(s, CKU_USER, upin2), CKR_PIN_INCORRECT,
		  "C_SetPIN: the old user PIN no longer logs in");
	expect_rv(login(s, CKU_USER, pin), CKR_OK,
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
	expect_rv(login(s, CKU_SO, sopin2), CKR_OK, "C_Login: SO again");
	expect_rv(p11->C_SetPIN(s, (CK_UTF8CHAR *)sopin2, strlen(sopin2),
				(CK_UTF8CHAR *)"conf-so-2-8642", 14),
		  CKR_OK, "C_SetPIN: the SO changes the SO PIN -> CKR_OK");
	p11->C_Logout(s);
	expect_rv(login(s, CKU_SO, sopin2), CKR_PIN_INCORRECT,
		  "C_SetPIN: the old SO PIN no longer logs in");
	expect_rv(login(s, CKU_SO, "conf-so-2-8642"), CKR_OK,
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
			expect_rv(login(s, CKU_USER, upin2),
				  CKR_USER_PIN_NOT_INITIALIZED,
				  "C_InitToken: user login -> "
				  "CKR_USER_PIN_NOT_INITIALIZED");
			expect_rv(login(s, CKU_SO, sopin2), CKR_OK,
				  "C_InitToken: the SO PIN given logs in");
			p11->C_Logout(s);
		}
		p11->C_CloseAllSessions(rs);
	}
out:
	if (s != CK_INVALID_HANDLE)
		p11->C_CloseAllSessions(ns);
}

/* === 14. C_Finalize ========================================================== */

static void
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

static void test_privkey_import(void);

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

/* === private keys from their values, C_UnwrapKey (issue 17) ===================
 *
 * C_CreateObject with CKO_PRIVATE_KEY (PKCS#11 v2.40 2.3.4 EC, 2.1.3 RSA):
 * keys made here with OpenSSL go into the token; each then signs, and
 * OpenSSL verifies with the original public key. The objects say the
 * key was known outside the token (CKA_LOCAL, CKA_ALWAYS_SENSITIVE,
 * CKA_NEVER_EXTRACTABLE false; sensitive, unextractable), session
 * objects and CKA_PRIVATE false work, and every template error gets the
 * code of 5.7 with the object count unchanged (the script checks the TPM
 * holds nothing afterwards). RSA keys come from $CONF_IMPORT_KEYS/rsaN.pem
 * (N = 1024, 2048, 3072) when conformance.sh made them. C_UnwrapKey refuses every wrapping
 * mechanism: the TPM cannot unwrap without the key appearing in the
 * clear outside it (docs/design.md). */

/* A key made with OpenSSL and its parts. EC: v[0] = d. RSA: v[0..7] = n,
 * e, d, p, q, dP, dQ, qInv. */
struct imp_key {
	const char *name;
	CK_KEY_TYPE kt;
	const struct curve *curve;
	unsigned bits;
	EVP_PKEY *pk;
	unsigned char v[8][400];
	CK_ULONG vl[8];
};

static const CK_ATTRIBUTE_TYPE imp_rsa_types[8] = {
	CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
	CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT
};

static bool
imp_key_make(struct imp_key *k)
{
	static const char *const rsa_names[8] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E,
		OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
		OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
		OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1
	};
	const char *dir = getenv("CONF_IMPORT_KEYS");
	char path[512];
	FILE *f;
	int i;

	/* RSA keys from conformance.sh when it made them (the valgrind pass
	 * runs this program under memcheck, where making RSA-3072 primes
	 * takes long); else made here. */
	if (k->kt == CKK_RSA && dir != NULL && *dir != '\0') {
		snprintf(path, sizeof(path), "%s/rsa%u.pem", dir, k->bits);
		if ((f = fopen(path, "r")) != NULL) {
			k->pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
			fclose(f);
		}
		if (k->pk == NULL)
			diag("cannot read %s", path);
	}
	if (k->pk == NULL)
		k->pk = k->kt == CKK_EC
				? gen_openssl_key("EC", k->curve->name, 0)
				: gen_openssl_key("RSA", NULL, k->bits);
	if (k->pk == NULL)
		return false;
	if (k->kt == CKK_EC)
		return (k->vl[0] = bn_param(k->pk, OSSL_PKEY_PARAM_PRIV_KEY,
					    k->v[0], sizeof(k->v[0]))) != 0;
	for (i = 0; i < 8; i++)
		if ((k->vl[i] = bn_param(k->pk, rsa_names[i], k->v[i],
					 sizeof(k->v[i]))) == 0)
			return false;
	return true;
}

/* The template of k: class, key type, token, private, sign, label, id
 * and the parts; room for 4 more. Returns the count. */
static CK_ULONG
imp_template(struct imp_key *k, CK_ATTRIBUTE *t, const CK_BBOOL *tok,
	     const CK_BBOOL *priv, const char *label, const unsigned char *id)
{
	static const CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ULONG n = 0;
	int i;

	t[n++] = (CK_ATTRIBUTE){ CKA_CLASS, (void *)&cls, sizeof(cls) };
	t[n++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &k->kt, sizeof(k->kt) };
	t[n++] = (CK_ATTRIBUTE){ CKA_TOKEN, (void *)tok, sizeof(*tok) };
	t[n++] = (CK_ATTRIBUTE){ CKA_PRIVATE, (void *)priv, sizeof(*priv) };
	t[n++] = (CK_ATTRIBUTE){ CKA_SIGN, (void *)&yes, sizeof(yes) };
	t[n++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, strlen(label) };
	t[n++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, 2 };
	if (k->kt == CKK_EC) {
		t[n++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)k->curve->oid,
					 k->curve->oid_len };
		t[n++] = (CK_ATTRIBUTE){ CKA_VALUE, k->v[0], k->vl[0] };
	} else {
		for (i = 0; i < 8; i++)
			t[n++] = (CK_ATTRIBUTE){ imp_rsa_types[i], k->v[i],
						 k->vl[i] };
	}
	return n;
}

/* Takes attribute type out of t. */
static void
imp_drop(CK_ATTRIBUTE *t, CK_ULONG *n, CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG i;

	for (i = 0; i < *n; i++)
		if (t[i].type == type) {
			t[i] = t[--*n];
			return;
		}
}

/* Sets (replaces or adds) attribute type in t. */
static void
imp_set(CK_ATTRIBUTE *t, CK_ULONG *n, CK_ATTRIBUTE_TYPE type, const void *v,
	CK_ULONG len)
{
	CK_ULONG i;

	for (i = 0; i < *n && t[i].type != type; i++)
		;
	if (i == *n)
		(*n)++;
	t[i] = (CK_ATTRIBUTE){ type, (void *)v, len };
}

/* Every object the session sees. */
static CK_ULONG
imp_count(CK_SESSION_HANDLE s)
{
	return count_found(s, NULL, 0);
}

/* The key signs: ECDSA over a SHA-256 digest, or SHA256-RSA-PKCS; OpenSSL
 * verifies with the original public key. */
static bool
imp_signs(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, struct imp_key *k)
{
	CK_MECHANISM m = { k->kt == CKK_EC ? CKM_ECDSA : CKM_SHA256_RSA_PKCS,
			   NULL, 0 };
	unsigned char data[64], dg[32], sig[512];
	CK_ULONG siglen = sizeof(sig);
	CK_RV rv;

	RAND_bytes(data, sizeof(data));
	digest(EVP_sha256(), data, sizeof(data), dg);
	if ((rv = p11->C_SignInit(s, &m, h)) == CKR_OK)
		rv = k->kt == CKK_EC
			     ? p11->C_Sign(s, dg, sizeof(dg), sig, &siglen)
			     : p11->C_Sign(s, data, sizeof(data), sig, &siglen);
	if (rv != CKR_OK) {
		diag("C_Sign with the imported %s key: %s", k->name,
		     rv_name(rv));
		return false;
	}
	return k->kt == CKK_EC
		       ? ecdsa_verify(k->pk, dg, sizeof(dg), sig, siglen)
		       : rsa_verify(k->pk, RSA_PKCS1_PADDING, EVP_sha256(), 0,
				    dg, sizeof(dg), sig, siglen);
}

/* A template error: the code, and no object made. */
static void
imp_refused(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n, CK_RV want,
	    const char *what)
{
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ULONG before = imp_count(s);
	CK_RV rv = p11->C_CreateObject(s, t, n, &h);

	expect_rv(rv, want, "C_CreateObject: private key, %s -> %s", what,
		  rv_name(want));
	if (!tap(imp_count(s) == before,
		 "C_CreateObject: private key, %s: no object left", what))
		diag("%lu objects before, %lu after", (unsigned long)before,
		     (unsigned long)imp_count(s));
	if (rv == CKR_OK)
		p11->C_DestroyObject(s, h);
}

/* The private object h and its public companion (found by label): the
 * attributes of a key known outside the token, the public key OpenSSL's,
 * a signature that verifies. Destroys both when done if destroy. */
static void
imp_check(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, struct imp_key *k,
	  const char *label, CK_BBOOL tok, bool destroy)
{
	CK_OBJECT_HANDLE pub = find_one(s, CKO_PUBLIC_KEY, label);
	EVP_PKEY *pp = pub != CK_INVALID_HANDLE ? pkey_of(s, pub) : NULL;
	unsigned char buf[16];
	CK_ATTRIBUTE secret = { k->kt == CKK_EC ? CKA_VALUE
						: CKA_PRIVATE_EXPONENT,
				buf, sizeof(buf) };
	CK_RV rv;
	char what[80];

	snprintf(what, sizeof(what), "%s %s key", k->name,
		 tok ? "token" : "session");
	tap(find_one(s, CKO_PRIVATE_KEY, label) == h,
	    "C_CreateObject: the imported %s is found by its label", what);
	if (!tap(pp != NULL && EVP_PKEY_eq(pp, k->pk) == 1,
		 "C_CreateObject: the imported %s has a public-key object "
		 "with the original public key", what))
		diag("public object %lu", (unsigned long)pub);
	check_created_key(s, h, what, true);
	if (pub != CK_INVALID_HANDLE)
		tap(bool_is(s, pub, CKA_LOCAL, CK_FALSE),
		    "C_CreateObject: the %s's public-key object has CKA_LOCAL "
		    "false", what);
	tap(bool_is(s, h, CKA_SENSITIVE, CK_TRUE) &&
		    bool_is(s, h, CKA_EXTRACTABLE, CK_FALSE),
	    "C_CreateObject: the imported %s is sensitive and not "
	    "extractable", what);
	tap(bool_is(s, h, CKA_TOKEN, tok) &&
		    (pub == CK_INVALID_HANDLE || bool_is(s, pub, CKA_TOKEN, tok)),
	    "C_CreateObject: the imported %s and its public key have "
	    "CKA_TOKEN %s", what, tok ? "true" : "false");
	rv = p11->C_GetAttributeValue(s, h, &secret, 1);
	tap(rv == CKR_ATTRIBUTE_SENSITIVE &&
		    secret.ulValueLen == CK_UNAVAILABLE_INFORMATION,
	    "C_GetAttributeValue: the imported %s's private value -> "
	    "CKR_ATTRIBUTE_SENSITIVE", what);
	tap(imp_signs(s, h, k), "C_Sign: the imported %s signs; OpenSSL "
				"verifies with the original public key", what);
	EVP_PKEY_free(pp);
	if (destroy) {
		p11->C_DestroyObject(s, h);
		if (pub != CK_INVALID_HANDLE)
			p11->C_DestroyObject(s, pub);
	}
}

static void
test_privkey_import(void)
{
	struct imp_key ks[] = {
		{ "P-256", CKK_EC, curve_by_bits(256), 256, NULL, { { 0 } }, { 0 } },
		{ "P-384", CKK_EC, curve_by_bits(384), 384, NULL, { { 0 } }, { 0 } },
		{ "RSA-2048", CKK_RSA, NULL, 2048, NULL, { { 0 } }, { 0 } },
		{ "RSA-3072", CKK_RSA, NULL, 3072, NULL, { { 0 } }, { 0 } },
	};
	struct imp_key *ec = &ks[0], *rsa = &ks[2];
	CK_SESSION_HANDLE s, ro, pub_s;
	CK_ATTRIBUTE t[24];
	CK_OBJECT_HANDLE h;
	CK_ULONG n, before, i;
	CK_RV rv;
	unsigned char id[2] = { 0x17, 0 }, zero[32] = { 0 }, big[48];
	char label[32];
	size_t k;

	if ((s = user_session(true)) == CK_INVALID_HANDLE) {
		tap(false, "C_CreateObject (private keys): a user session");
		return;
	}
	before = imp_count(s);

	/* --- each key type: a token key, checked, then destroyed ---------- */
	for (k = 0; k < NELEM(ks); k++) {
		struct imp_key *ik = &ks[k];

		if (ik->kt == CKK_EC && !tpm_has_curve(ik->curve)) {
			tap_skip("the TPM has no such curve", "C_CreateObject: "
				 "a %s private key", ik->name);
			continue;
		}
		if (!tap(imp_key_make(ik), "C_CreateObject (private keys): "
					   "OpenSSL makes a %s key", ik->name))
			continue;
		snprintf(label, sizeof(label), "imp-%s", ik->name);
		id[1] = (unsigned char)k;
		n = imp_template(ik, t, &yes, &yes, label, id);
		rv = p11->C_CreateObject(s, t, n, &h);
		if (!expect_rv(rv, CKR_OK, "C_CreateObject: a %s private key "
			       "(token object) -> CKR_OK", ik->name))
			continue;
		tap(imp_count(s) == before + 2, "C_CreateObject: the %s key "
		    "is a private and a public key object", ik->name);
		imp_check(s, h, ik, label, CK_TRUE, true);
	}
	tap(imp_count(s) == before, "C_DestroyObject: the imported keys are "
				    "gone");
	if (ec->pk == NULL || rsa->pk == NULL) {
		tap(false, "C_CreateObject (private keys): the P-256 and "
			   "RSA-2048 keys for the remaining cases");
		goto out;
	}

	/* --- P-384 on a TPM without it ------------------------------------ */
	if (!tpm_has_curve(curve_by_bits(384))) {
		struct imp_key p384 = { "P-384", CKK_EC, curve_by_bits(384),
					384, NULL, { { 0 } }, { 0 } };

		if (imp_key_make(&p384)) {
			n = imp_template(&p384, t, &yes, &yes, "imp-nop384", id);
			imp_refused(s, t, n, CKR_CURVE_NOT_SUPPORTED,
				    "P-384 on a TPM without the curve");
		}
		EVP_PKEY_free(p384.pk);
	}

	/* --- a session object --------------------------------------------- */
	n = imp_template(ec, t, &no, &yes, "imp-session", id);
	if (expect_rv(p11->C_CreateObject(s, t, n, &h), CKR_OK,
		      "C_CreateObject: a P-256 private key as a session "
		      "object -> CKR_OK")) {
		imp_check(s, h, ec, "imp-session", CK_FALSE, false);
		/* gone with its session */
		if (open_session(slot, CKF_RW_SESSION, &pub_s) == CKR_OK) {
			p11->C_CloseSession(s);
			tap(count_label(pub_s, CKO_PRIVATE_KEY, "imp-session") ==
					0 &&
				    count_label(pub_s, CKO_PUBLIC_KEY,
						"imp-session") == 0,
			    "C_CloseSession: the imported session key pair is "
			    "gone with its session");
			s = pub_s;
		}
	}

	/* --- CKA_PRIVATE false: made and used without login --------------- */
	p11->C_Logout(s);
	n = imp_template(ec, t, &yes, &yes, "imp-nologin", id);
	imp_refused(s, t, n, CKR_USER_NOT_LOGGED_IN,
		    "CKA_PRIVATE true without login");
	n = imp_template(ec, t, &yes, &no, "imp-nologin", id);
	if (expect_rv(p11->C_CreateObject(s, t, n, &h), CKR_OK,
		      "C_CreateObject: a P-256 private key with CKA_PRIVATE "
		      "false, not logged in -> CKR_OK")) {
		tap(bool_is(s, h, CKA_PRIVATE, CK_FALSE),
		    "C_CreateObject: the key has CKA_PRIVATE false");
		tap(imp_signs(s, h, ec), "C_Sign: the CKA_PRIVATE false key "
			     "signs without login; OpenSSL verifies it");
		p11->C_DestroyObject(s, h);
		p11->C_DestroyObject(s, find_one(s, CKO_PUBLIC_KEY,
						 "imp-nologin"));
	}
	p11->C_CloseSession(s);
	if ((s = user_session(true)) == CK_INVALID_HANDLE) {
		tap(false, "C_CreateObject (private keys): a user session "
			   "again");
		goto out;
	}
	before = imp_count(s);

	/* --- template errors: the code of v2.40 5.7, nothing made --------- */
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_drop(t, &n, CKA_KEY_TYPE);
	imp_refused(s, t, n, CKR_TEMPLATE_INCOMPLETE, "no CKA_KEY_TYPE");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_drop(t, &n, CKA_VALUE);
	imp_refused(s, t, n, CKR_TEMPLATE_INCOMPLETE, "EC without CKA_VALUE");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_drop(t, &n, CKA_EC_PARAMS);
	imp_refused(s, t, n, CKR_TEMPLATE_INCOMPLETE,
		    "EC without CKA_EC_PARAMS");
	n = imp_template(rsa, t, &yes, &yes, "imp-bad", id);
	imp_drop(t, &n, CKA_PRIVATE_EXPONENT);
	imp_refused(s, t, n, CKR_TEMPLATE_INCOMPLETE,
		    "RSA without CKA_PRIVATE_EXPONENT");
	n = imp_template(rsa, t, &yes, &yes, "imp-bad", id);
	imp_drop(t, &n, CKA_PRIME_1);
	imp_drop(t, &n, CKA_PRIME_2);
	imp_refused(s, t, n, CKR_TEMPLATE_INCOMPLETE,
		    "RSA without its primes");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_EXTRACTABLE, &yes, sizeof(yes));
	imp_refused(s, t, n, CKR_TEMPLATE_INCONSISTENT, "CKA_EXTRACTABLE true");
	n = imp_template(rsa, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_SENSITIVE, &no, sizeof(no));
	imp_refused(s, t, n, CKR_TEMPLATE_INCONSISTENT, "CKA_SENSITIVE false");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_EC_PARAMS, oid_k256, sizeof(oid_k256));
	imp_refused(s, t, n, CKR_CURVE_NOT_SUPPORTED, "secp256k1");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_EC_PARAMS, oid_bp256, sizeof(oid_bp256));
	imp_refused(s, t, n, CKR_CURVE_NOT_SUPPORTED, "brainpoolP256r1");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_VALUE, zero, sizeof(zero));
	imp_refused(s, t, n, CKR_ATTRIBUTE_VALUE_INVALID, "EC d = 0");
	memset(big, 0xff, sizeof(big));
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_VALUE, big, 32);
	imp_refused(s, t, n, CKR_ATTRIBUTE_VALUE_INVALID,
		    "EC d above the curve's order");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_DERIVE, &yes, sizeof(yes));
	imp_refused(s, t, n, CKR_ATTRIBUTE_VALUE_INVALID,
		    "EC with CKA_DERIVE true (ECDH needs a key made in the TPM)");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_MODULUS, rsa->v[0], rsa->vl[0]);
	imp_refused(s, t, n, CKR_TEMPLATE_INCONSISTENT, "EC with CKA_MODULUS");
	n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
	imp_set(t, &n, CKA_LOCAL, &yes, sizeof(yes));
	imp_refused(s, t, n, CKR_ATTRIBUTE_READ_ONLY, "CKA_LOCAL given");
	{
		CK_KEY_TYPE dsa = CKK_DSA;

		n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
		imp_set(t, &n, CKA_KEY_TYPE, &dsa, sizeof(dsa));
		imp_refused(s, t, n, CKR_ATTRIBUTE_VALUE_INVALID, "CKK_DSA");
	}
	/* RSA parts that do not form one key */
	{
		struct imp_key r1024 = { "RSA-1024", CKK_RSA, NULL, 1024, NULL,
					 { { 0 } }, { 0 } };
		unsigned char d2[400];

		if (imp_key_make(&r1024)) {
			n = imp_template(&r1024, t, &yes, &yes, "imp-bad", id);
			imp_refused(s, t, n, CKR_ATTRIBUTE_VALUE_INVALID,
				    "RSA-1024 (the TPM holds 2048 and 3072)");
		}
		EVP_PKEY_free(r1024.pk);
		memcpy(d2, rsa->v[2], rsa->vl[2]);
		d2[rsa->vl[2] - 1] ^= 0x02;
		n = imp_template(rsa, t, &yes, &yes, "imp-bad", id);
		imp_set(t, &n, CKA_PRIVATE_EXPONENT, d2, rsa->vl[2]);
		imp_refused(s, t, n, CKR_TEMPLATE_INCONSISTENT,
			    "RSA with a private exponent of another key");
		n = imp_template(rsa, t, &yes, &yes, "imp-bad", id);
		imp_set(t, &n, CKA_COEFFICIENT, d2, rsa->vl[7]);
		imp_refused(s, t, n, CKR_TEMPLATE_INCONSISTENT,
			    "RSA with a wrong CKA_COEFFICIENT");
		n = imp_template(rsa, t, &yes, &yes, "imp-bad", id);
		imp_set(t, &n, CKA_PRIME_1, ks[3].v[3], ks[3].vl[3]);
		imp_set(t, &n, CKA_PRIME_2, ks[3].v[4], ks[3].vl[4]);
		if (ks[3].pk != NULL)
			imp_refused(s, t, n, CKR_TEMPLATE_INCONSISTENT,
				    "RSA-2048 with the primes of another key");
		/* the CRT values left out: computed */
		n = imp_template(rsa, t, &yes, &yes, "imp-crt", id);
		imp_drop(t, &n, CKA_EXPONENT_1);
		imp_drop(t, &n, CKA_EXPONENT_2);
		imp_drop(t, &n, CKA_COEFFICIENT);
		if (expect_rv(p11->C_CreateObject(s, t, n, &h), CKR_OK,
			      "C_CreateObject: RSA private key without the "
			      "optional CRT values -> CKR_OK")) {
			tap(imp_signs(s, h, rsa), "C_Sign: it signs; OpenSSL "
						  "verifies");
			p11->C_DestroyObject(s, h);
			p11->C_DestroyObject(s, find_one(s, CKO_PUBLIC_KEY,
							 "imp-crt"));
		}
	}
	/* a read-only session cannot make a token object */
	if (open_session(slot, 0, &ro) == CKR_OK) {
		n = imp_template(ec, t, &yes, &yes, "imp-bad", id);
		imp_refused(ro, t, n, CKR_SESSION_READ_ONLY,
			    "a token key in a read-only session");
		p11->C_CloseSession(ro);
	}
	/* the same key twice: one object per key (as `tpm11 import`) */
	n = imp_template(ec, t, &yes, &yes, "imp-twice", id);
	if (expect_rv(p11->C_CreateObject(s, t, n, &h), CKR_OK,
		      "C_CreateObject: a P-256 private key -> CKR_OK")) {
		n = imp_template(ec, t, &yes, &yes, "imp-twice2", id);
		imp_refused(s, t, n, CKR_ATTRIBUTE_VALUE_INVALID,
			    "the same key again");
		p11->C_DestroyObject(s, h);
		p11->C_DestroyObject(s, find_one(s, CKO_PUBLIC_KEY,
						 "imp-twice"));
	}
	tap(imp_count(s) == before, "C_CreateObject (private keys): the "
				    "token holds what it held before the "
				    "error cases");

	/* --- C_UnwrapKey: listed, every wrapping mechanism refused -------- */
	refresh_keys(s);
	{
		static const CK_MECHANISM_TYPE wrap[] = {
			CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD,
			CKM_RSA_PKCS_OAEP, CKM_RSA_PKCS, CKM_AES_CBC_PAD,
			CKM_AES_ECB
		};
		static const char *const wrap_name[] = {
			"CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD",
			"CKM_RSA_PKCS_OAEP", "CKM_RSA_PKCS", "CKM_AES_CBC_PAD",
			"CKM_AES_ECB"
		};
		static const CK_OBJECT_CLASS pcls = CKO_PRIVATE_KEY;
		CK_KEY_TYPE kt = CKK_EC;
		CK_ATTRIBUTE ut[] = {
			{ CKA_CLASS, (void *)&pcls, sizeof(pcls) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_TOKEN, (void *)&yes, sizeof(yes) },
		};
		CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA256, CKG_MGF1_SHA256,
						 CKZ_DATA_SPECIFIED, NULL, 0 };
		unsigned char wrapped[256];
		CK_MECHANISM_TYPE *ml = NULL;
		CK_ULONG nm = 0;
		bool flag = false;

		tap(real->C_UnwrapKey != NULL, "C_UnwrapKey: in the function "
					       "list");
		memset(wrapped, 0x5a, sizeof(wrapped));
		before = imp_count(s);
		for (i = 0; i < NELEM(wrap); i++) {
			CK_MECHANISM m = { wrap[i], NULL, 0 };

			if (wrap[i] == CKM_RSA_PKCS_OAEP) {
				m.pParameter = &oaep;
				m.ulParameterLen = sizeof(oaep);
			}
			h = CK_INVALID_HANDLE;
			rv = p11->C_UnwrapKey(s, &m, keys[K_RSA].priv, wrapped,
					      wrap[i] == CKM_RSA_PKCS ||
							      wrap[i] ==
								      CKM_RSA_PKCS_OAEP
						      ? 256
						      : 40,
					      ut, NELEM(ut), &h);
			expect_rv(rv, CKR_MECHANISM_INVALID,
				  "C_UnwrapKey: %s -> CKR_MECHANISM_INVALID (the "
				  "TPM cannot unwrap into itself)",
				  wrap_name[i]);
		}
		tap(imp_count(s) == before, "C_UnwrapKey: no object made");
		expect_rv(p11->C_UnwrapKey(BOGUS_HANDLE,
					   &(CK_MECHANISM){ CKM_AES_KEY_WRAP,
							    NULL, 0 },
					   keys[K_RSA].priv, wrapped, 40, ut,
					   NELEM(ut), &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_UnwrapKey: an invalid session -> "
			  "CKR_SESSION_HANDLE_INVALID");
		/* no mechanism claims CKF_UNWRAP */
		if (p11->C_GetMechanismList(slot, NULL, &nm) == CKR_OK &&
		    (ml = calloc(nm + 1, sizeof(*ml))) != NULL &&
		    p11->C_GetMechanismList(slot, ml, &nm) == CKR_OK) {
			for (i = 0; i < nm; i++) {
				CK_MECHANISM_INFO mi;

				if (p11->C_GetMechanismInfo(slot, ml[i], &mi) ==
					    CKR_OK &&
				    (mi.flags & CKF_UNWRAP))
					flag = true;
			}
			tap(!flag, "C_GetMechanismInfo: no mechanism has "
				   "CKF_UNWRAP");
		}
		free(ml);
		table_put("C_UnwrapKey", "listed, CKR_MECHANISM_INVALID");
	}
	table_put("private key import (C_CreateObject)", "EC P-256/P-384, "
		  "RSA-2048/3072");
out:
	for (k = 0; k < NELEM(ks); k++)
		EVP_PKEY_free(ks[k].pk);
	p11->C_CloseSession(s);
}
