/* The one table from TPM and TSS return codes to CKR codes. */
#ifndef TPM11_TPM_RC_H
#define TPM11_TPM_RC_H

#include <p11-kit/pkcs11.h>
#include <tss2/tss2_common.h>

/* The TPM's own code with the layer stripped: responses relayed by a
 * resource manager carry its layer, and format-one codes carry the handle,
 * session or parameter number (TPM 2.0 Part 2, 6.6). Other layers' codes
 * are returned as they are. */
TSS2_RC tpm_rc_base(TSS2_RC rc);
/* Any TPM/TSS code -> CKR (CKR_DEVICE_ERROR unless the table says other). */
CK_RV tpm_rc_to_ckr(TSS2_RC rc);
/* The same, for a command that proves a PIN: an authorisation failure is
 * CKR_PIN_INCORRECT, the TPM's lockout CKR_PIN_LOCKED. */
CK_RV tpm_rc_to_ckr_auth(TSS2_RC rc);

#endif
