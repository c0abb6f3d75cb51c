/* PKCS#11 v3.0 interface discovery types (v3.0 section 3.6). p11-kit 0.24's
 * pkcs11.h predates them. */
#ifndef TPM11_PKCS11_INTERFACE_H
#define TPM11_PKCS11_INTERFACE_H

#include <p11-kit/pkcs11.h>

#ifndef CKF_INTERFACE_FORK_SAFE
typedef struct CK_INTERFACE {
	CK_UTF8CHAR *pInterfaceName;
	CK_VOID_PTR pFunctionList;
	CK_FLAGS flags;
} CK_INTERFACE;
typedef CK_INTERFACE *CK_INTERFACE_PTR;
typedef CK_INTERFACE_PTR *CK_INTERFACE_PTR_PTR;
#define CKF_INTERFACE_FORK_SAFE 0x00000001UL
#endif

CK_RV C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count);
CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
		     CK_INTERFACE_PTR_PTR iface, CK_FLAGS flags);

void module_register_atfork(void);

#endif
