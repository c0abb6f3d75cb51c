#include "tpm/tpm_rc.h"

#include <tss2/tss2_tpm2_types.h>

TSS2_RC
tpm_rc_base(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;

	if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER)
		return rc;
	rc &= 0xfff;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);
	return rc;
}

static const struct {
	TSS2_RC tpm;
	CK_RV ckr;
} rc_table[] = {
	{TPM2_RC_OBJECT_MEMORY, CKR_DEVICE_MEMORY},
	{TPM2_RC_SESSION_MEMORY, CKR_DEVICE_MEMORY},
	{TPM2_RC_MEMORY, CKR_DEVICE_MEMORY},
	{TPM2_RC_NV_SPACE, CKR_DEVICE_MEMORY},
	{TPM2_RC_RETRY, CKR_DEVICE_ERROR},
	{TPM2_RC_LOCKOUT, CKR_PIN_LOCKED},
	{TPM2_RC_KEY_SIZE, CKR_KEY_SIZE_RANGE},
	{TPM2_RC_CURVE, CKR_DOMAIN_PARAMS_INVALID},
	{TPM2_RC_HASH, CKR_MECHANISM_INVALID},
	{TPM2_RC_SCHEME, CKR_MECHANISM_INVALID},
	{TPM2_RC_VALUE, CKR_DATA_INVALID},
	{TPM2_RC_SIZE, CKR_DATA_LEN_RANGE},
	{TPM2_RC_KEY, CKR_DATA_INVALID},
	{TPM2_RC_ECC_POINT, CKR_DATA_INVALID},
};

CK_RV
tpm_rc_to_ckr(TSS2_RC rc)
{
	TSS2_RC base, layer = rc & TSS2_RC_LAYER_MASK;
	size_t i;

	if (rc == TSS2_RC_SUCCESS)
		return CKR_OK;
	if (layer == TSS2_TCTI_RC_LAYER || layer == TSS2_RESMGR_RC_LAYER)
		return CKR_DEVICE_REMOVED;
	if (layer == TSS2_ESAPI_RC_LAYER) {
		switch (rc & 0xffff) {
		case TSS2_BASE_RC_MEMORY:
			return CKR_HOST_MEMORY;
		case TSS2_BASE_RC_IO_ERROR:
		case TSS2_BASE_RC_NO_CONNECTION:
		case TSS2_BASE_RC_TRY_AGAIN:
			return CKR_DEVICE_REMOVED;
		default:
			return CKR_DEVICE_ERROR;
		}
	}
	base = tpm_rc_base(rc);
	for (i = 0; i < sizeof(rc_table) / sizeof(rc_table[0]); i++)
		if (rc_table[i].tpm == base)
			return rc_table[i].ckr;
	return CKR_DEVICE_ERROR;
}

CK_RV
tpm_rc_to_ckr_auth(TSS2_RC rc)
{
	switch (tpm_rc_base(rc)) {
	case TPM2_RC_AUTH_FAIL:
	case TPM2_RC_BAD_AUTH:
		return CKR_PIN_INCORRECT;
	case TPM2_RC_LOCKOUT:
		return CKR_PIN_LOCKED;
	default:
		return tpm_rc_to_ckr(rc);
	}
}
