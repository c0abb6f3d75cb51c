/* Functions this version does not offer. Each returns what PKCS#11 v2.40
 * names for that case: CKR_FUNCTION_NOT_SUPPORTED (5.1), and for the
 * legacy parallel functions CKR_FUNCTION_NOT_PARALLEL (5.20); C_UnwrapKey
 * refuses every mechanism (CKR_MECHANISM_INVALID, the reason below). The table
 * in docs/design.md says which come with the conformance work. */
#include "pkcs11/module.h"

#define NOT_SUPPORTED(name, params)                \
	CK_RV name params                          \
	{                                          \
		CHECK_INIT();                      \
		return CKR_FUNCTION_NOT_SUPPORTED; \
	}

/* Parameters are unused by design here. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

NOT_SUPPORTED(C_GetOperationState,
	      (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
	       CK_ULONG_PTR pulOperationStateLen))
NOT_SUPPORTED(C_SetOperationState,
	      (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
	       CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
	       CK_OBJECT_HANDLE hAuthenticationKey))
NOT_SUPPORTED(C_SignRecoverInit,
	      (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	       CK_OBJECT_HANDLE hKey))
NOT_SUPPORTED(C_SignRecover, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData,
			      CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
			      CK_ULONG_PTR pulSignatureLen))
NOT_SUPPORTED(C_VerifyRecoverInit,
	      (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	       CK_OBJECT_HANDLE hKey))
NOT_SUPPORTED(C_VerifyRecover, (CK_SESSION_HANDLE hSession,
				CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen,
				CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen))
NOT_SUPPORTED(C_DigestEncryptUpdate,
	      (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
	       CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
	       CK_ULONG_PTR pulEncryptedPartLen))
NOT_SUPPORTED(C_DecryptDigestUpdate,
	      (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
	       CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
	       CK_ULONG_PTR pulPartLen))
NOT_SUPPORTED(C_SignEncryptUpdate,
	      (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
	       CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
	       CK_ULONG_PTR pulEncryptedPartLen))
NOT_SUPPORTED(C_DecryptVerifyUpdate,
	      (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
	       CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
	       CK_ULONG_PTR pulPartLen))
NOT_SUPPORTED(C_WrapKey,
	      (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	       CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey,
	       CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen))
NOT_SUPPORTED(C_WaitForSlotEvent,
	      (CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved))

/* PKCS#11 v3.0 message-based functions. */
NOT_SUPPORTED(C_MessageEncryptInit,
	      (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	       CK_OBJECT_HANDLE hKey))
NOT_SUPPORTED(C_EncryptMessage,
	      (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
	       CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
	       CK_ULONG ulAssociatedDataLen, CK_BYTE_PTR pPlaintext,
	       CK_ULONG ulPlaintextLen, CK_BYTE_PTR pCiphertext,
	       CK_ULONG_PTR pulCiphertextLen))
NOT_SUPPORTED(C_EncryptMessageBegin,
	      (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
	       CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
	       CK_ULONG ulAssociatedDataLen))
NOT_SUPPORTED(C_EncryptMessageNext,
	      (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
	       CK_ULONG ulParameterLen, CK_BYTE_PTR pPlaintextPart,
	       CK_ULONG ulPlaintextPartLen, CK_BYTE_PTR pCiphertextPart,
	       CK_ULONG_PTR pulCiphertextPartLen, CK_FLAGS flags))
NOT_SUPPORTED(C_MessageEncryptFinal, (CK_SESSION_HANDLE hSession))
NOT_SUPPORTED(C_MessageDecryptInit,
	      (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	       CK_OBJECT_HANDLE hKey))
NOT_SUPPORTED(C_DecryptMessage,
	      (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
	       CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
	       CK_ULONG ulAssociatedDataLen, CK_BYTE_PTR pCiphertext,
	       CK_ULONG ulCiphertextLen, CK_BYTE_PTR pPlaintext,
	       CK_ULONG_PTR pulPlaintextLen))
NOT_SUPPORTED(C_DecryptMessageBegin,
	      (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
	       CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
	       CK_ULONG ulAssociatedDataLen))
NOT_SUPPORTED(C_DecryptMessageNext,
	      (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
	       CK_ULONG ulParameterLen, CK_BYTE_PTR pCiphertextPart,
	       CK_ULONG ulCiphertextPartLen, CK_BYTE_PTR pPlaintextPart,
	       CK_ULONG_PTR pulPlaintextPartLen, CK_FLAGS flags))
NOT_SUPPORTED(C_MessageDecryptFinal, (CK_SESSION_HANDLE hSession))
NOT_SUPPORTED(C_MessageSignInit,
	      (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	       CK_OBJECT_HANDLE hKey))
NOT_SUPPORTED(C_SignMessage,
	      (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
	       CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	       CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen))
NOT_SUPPORTED(C_SignMessageBegin,
	      (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
	       CK_ULONG ulParameterLen))
NOT_SUPPORTED(C_SignMessageNext,
	      (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
	       CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	       CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen))
NOT_SUPPORTED(C_MessageSignFinal, (CK_SESSION_HANDLE hSession))
NOT_SUPPORTED(C_MessageVerifyInit,
	      (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	       CK_OBJECT_HANDLE hKey))
NOT_SUPPORTED(C_VerifyMessage,
	      (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
	       CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	       CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen))
NOT_SUPPORTED(C_VerifyMessageBegin,
	      (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
	       CK_ULONG ulParameterLen))
NOT_SUPPORTED(C_VerifyMessageNext,
	      (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
	       CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	       CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen))
NOT_SUPPORTED(C_MessageVerifyFinal, (CK_SESSION_HANDLE hSession))

/* C_UnwrapKey (v2.40 5.16) is listed, and refuses every mechanism with
 * CKR_MECHANISM_INVALID: no unwrapping key held by this token can unwrap
 * without the new key's private part appearing in the clear outside the
 * TPM. The TPM has no AES key wrap (RFC 3394/5649; TPM2_EncryptDecrypt's
 * modes give their plaintext back to the caller), and TPM2_RSA_Decrypt
 * (RSA-OAEP, PKCS#1) returns the plaintext to the host. Either way the
 * key would be plaintext in this process before TPM2_Import takes it in:
 * no better than C_CreateObject with its values, while claiming more.
 * docs/design.md ("Imported keys"). */
CK_RV
C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	    CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
	    CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
	    CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	CK_RV rv;

	CHECK_INIT();
	if (pMechanism == NULL || phKey == NULL ||
	    (pWrappedKey == NULL && ulWrappedKeyLen > 0) ||
	    (pTemplate == NULL && ulAttributeCount > 0))
		return CKR_ARGUMENTS_BAD;
	if ((rv = session_check(hSession)) != CKR_OK)
		return rv;
	log_error("C_UnwrapKey: mechanism 0x%lx refused: the TPM cannot "
		  "unwrap a key without its private part appearing in the "
		  "clear outside the TPM (no AES key wrap; RSA decryption "
		  "returns the plaintext to the host); import a key with "
		  "C_CreateObject or `tpm11 import` instead",
		  (unsigned long)pMechanism->mechanism);
	return CKR_MECHANISM_INVALID;
}

CK_RV
C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
	CHECK_INIT();
	return CKR_FUNCTION_NOT_PARALLEL;
}

CK_RV
C_CancelFunction(CK_SESSION_HANDLE hSession)
{
	CHECK_INIT();
	return CKR_FUNCTION_NOT_PARALLEL;
}
