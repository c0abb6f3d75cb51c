/* What the files of tpm11's PKCS#11 conformance program share
 * (conformance.c says what the program checks and which file holds which
 * function family): the v3.0 names p11-kit's header lacks, the short TAP
 * names, the tracked function list, the state the cases share, the helpers
 * used by more than one file (by the file that defines them) and the cases
 * the table in conformance.c runs. Private to tests/conformance. */
#ifndef TPM11_TESTS_CONFORMANCE_CONF_H
#define TPM11_TESTS_CONFORMANCE_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

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

/* --- the v2.40 function list, and a tracking copy (conformance.c) -------- */

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

extern CK_FUNCTION_LIST *real; /* the module's own list */
extern CK_FUNCTION_LIST *p11;  /* its copy: calls through it are counted */
void fn_record(int i, CK_RV rv);
void track_setup(void);

/* --- the support table (conformance.c) ---------------------------------- */

void table_set(const char *name, const char *fmt, ...);
void table_put(const char *name, const char *fmt, ...);

/* --- state shared by the sections (conformance.c) ----------------------- */

extern const char *user_pin;
extern const char *so_pin;
extern const char *token_label;
extern CK_SLOT_ID slot;       /* the token the script made */
extern bool have_slot;
extern CK_SLOT_ID empty_slot; /* a slot whose token is not initialised */
extern bool have_empty;
extern CK_TOKEN_INFO tinfo;   /* of `slot`, read at the start */

extern CK_MECHANISM_TYPE mechs[256];
extern CK_ULONG nmechs;
extern CK_MECHANISM_INFO mech_infos[256];

extern const CK_BBOOL yes, no;

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

extern struct key keys[NKEYS];

/* DER of the curves' OBJECT IDENTIFIERs (CKA_EC_PARAMS, namedCurve). */
extern const unsigned char oid_p256[10], oid_p384[7], oid_k256[7],
	oid_bp256[11];

struct curve {
	const char *name;       /* OpenSSL group name */
	const char *tpm_name;   /* as tpm2_getcap ecc-curves prints it */
	unsigned bits;
	const unsigned char *oid;
	size_t oid_len;
};

extern const struct curve curves[5];

/* --- helpers (conformance.c) --------------------------------------------- */

/* Curves, and what the TPM has ($CONF_TPM_ALGS, $CONF_TPM_CURVES). */
const struct curve *curve_by_bits(unsigned bits);
bool tpm_has_alg(const char *alg);
bool tpm_has_curve(const struct curve *c);
/* Strings. */
bool padded_equals(const CK_UTF8CHAR *p, size_t n, const char *s);
void diag_field(const char *what, const CK_UTF8CHAR *p, size_t n);
void check_field(const char *fn, const char *what, const CK_UTF8CHAR *p,
		 size_t n, bool must_be_set);
void pad_label(CK_UTF8CHAR out[32], const char *s);
void hex(const unsigned char *p, size_t n, char *out, size_t cap);
/* Attributes, objects, sessions. */
CK_RV get_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	       void *buf, CK_ULONG cap, CK_ULONG *len);
CK_RV get_attr_alloc(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
		     CK_ATTRIBUTE_TYPE type, unsigned char **out,
		     CK_ULONG *len);
bool get_ulong(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	       CK_ULONG *v);
bool attr_equals(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
		 CK_ATTRIBUTE_TYPE type, const void *v, size_t n);
bool bool_is(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	     CK_BBOOL want);
CK_RV set_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	       const void *v, CK_ULONG n);
CK_RV set_bool(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	       CK_BBOOL v);
CK_ULONG count_found(CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_OBJECT_HANDLE find_one(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
			  const char *label);
CK_ULONG count_label(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
		     const char *label);
CK_RV open_session(CK_SLOT_ID sl, CK_FLAGS flags, CK_SESSION_HANDLE *s);
CK_RV conf_login(CK_SESSION_HANDLE s, CK_USER_TYPE who, const char *pin);
CK_STATE session_state(CK_SESSION_HANDLE s);
const char *state_name(CK_STATE st);
bool expect_state(CK_SESSION_HANDLE s, CK_STATE want, const char *fmt, ...);
CK_SESSION_HANDLE user_session(bool rw);
bool mech_advertised(CK_MECHANISM_TYPE m, CK_MECHANISM_INFO *info);

/* --- DER and OpenSSL (conf_openssl.c) ------------------------------------ */

bool der_tlv(const unsigned char *p, size_t n, unsigned char tag, size_t *hdr,
	     size_t *len);
size_t der_octet_string(const unsigned char *p, size_t n, unsigned char *out);
void diag_openssl(void);
EVP_PKEY *pkey_of(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub);
const EVP_MD *md_of(CK_MECHANISM_TYPE hash);
CK_RSA_PKCS_MGF_TYPE mgf_of(CK_MECHANISM_TYPE hash);
size_t digest(const EVP_MD *md, const void *data, size_t len,
	      unsigned char *out);
bool ecdsa_verify(EVP_PKEY *pk, const unsigned char *dgst, size_t dlen,
		  const unsigned char *sig, size_t slen);
size_t ec_field_bytes(EVP_PKEY *pk);
size_t ecdsa_sign_raw(EVP_PKEY *pk, const unsigned char *dgst, size_t dlen,
		      unsigned char *out);
bool rsa_verify(EVP_PKEY *pk, int pad, const EVP_MD *md, int saltlen,
		const unsigned char *tbs, size_t tbslen,
		const unsigned char *sig, size_t siglen);
size_t rsa_encrypt(EVP_PKEY *pk, int pad, const EVP_MD *md, const void *label,
		   size_t labellen, const unsigned char *in, size_t inlen,
		   unsigned char *out, size_t cap);
EVP_PKEY *gen_openssl_key(const char *type, const char *group_or_null,
			  unsigned bits);
size_t ec_point_of(EVP_PKEY *pk, unsigned char *out, size_t cap);
size_t bn_param(EVP_PKEY *pk, const char *name, unsigned char *out, size_t cap);
/* DigestInfo of SHA-256 (RFC 8017 9.2) without the digest. */
extern const unsigned char digestinfo_sha256[19];

/* --- objects and keys the cases make ------------------------------------- */

/* conf_general.c */
void refresh_keys(CK_SESSION_HANDLE s);

/* conf_objects.c */
CK_RV create_data(CK_SESSION_HANDLE s, const char *label, bool token, bool priv,
		  CK_OBJECT_HANDLE *h);
CK_RV create_secret(CK_SESSION_HANDLE s, CK_KEY_TYPE kt,
		    const unsigned char *val, size_t len, const char *label,
		    bool token, bool sensitive, bool extractable,
		    CK_OBJECT_HANDLE *h);
CK_RV create_rsa_public(CK_SESSION_HANDLE s, EVP_PKEY *pk, const char *label,
			bool token, bool wrap, CK_OBJECT_HANDLE *h);
void check_created_key(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
		       const char *what, bool secret_or_private);

/* conf_keygen.c */
struct kp {
	CK_OBJECT_HANDLE pub, priv;
};

CK_RV gen_ec(CK_SESSION_HANDLE s, const unsigned char *oid, size_t oid_len,
	     const char *label, bool token, bool sign, bool derive,
	     struct kp *kp);
CK_RV gen_rsa(CK_SESSION_HANDLE s, CK_ULONG bits, const unsigned char *e,
	      size_t elen, const char *label, bool token, bool decrypt,
	      struct kp *kp);
void destroy_kp(CK_SESSION_HANDLE s, struct kp *kp);

/* --- mechanisms: the table (conf_mech.c), exercised by conf_sign.c and
 * conf_crypt.c ------------------------------------------------------------- */

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

/* conf_sign.c */
void ex_sign(CK_SESSION_HANDLE s, const struct mdef *d, CK_MECHANISM_INFO *mi);
void ex_hmac_lengths(CK_SESSION_HANDLE s, const struct mdef *d);
void ex_hmac(CK_SESSION_HANDLE s, const struct mdef *d);
extern CK_OBJECT_HANDLE hmac_known, hmac_gen;
extern const unsigned char hmac_known_value[32];

/* conf_crypt.c */
void ex_digest(CK_SESSION_HANDLE s, const struct mdef *d);
void dec_key_setup(CK_SESSION_HANDLE s);
void dec_key_cleanup(CK_SESSION_HANDLE s);
void ex_rsa_enc(CK_SESSION_HANDLE s, const struct mdef *d,
		CK_MECHANISM_INFO *mi);
void ex_ecdh(CK_SESSION_HANDLE s, const struct mdef *d);
void ex_aes(CK_SESSION_HANDLE s, const struct mdef *d);
extern struct key dec_key; /* the RSA key for decryption (dec_key_setup) */
extern CK_OBJECT_HANDLE aes_known, aes_gen;
extern const unsigned char aes_known_value[16];

/* --- the cases, by file (the table `cases` in conformance.c runs them) --- */

/* conf_general.c */
bool test_load(void);
void test_interfaces(void);
void test_before_initialize(void);
bool test_initialize(void);
void test_info(void);
void test_slots(void);
void load_keys(void);
void test_v3(void);
void test_fork(void);
void test_finalize(void);

/* conf_session.c */
void test_sessions(void);
void test_session_objects(void);
void test_token_admin(void);

/* conf_objects.c */
void test_objects(void);
void test_get_attribute(void);
void test_latching(void);

/* conf_keygen.c */
void test_keygen(void);
void test_privkey_import(void);

/* conf_mech.c */
void test_mechanism_list(void);
void test_mechanisms(void);

/* conf_crypt.c */
void test_random(void);

/* conf_ops.c */
void test_function_misc(void);
void test_operation_rules(void);
void test_error_precedence(void);

#endif
