/* fuzz_tpmpub: tpm_pub_parse (src/tpm/tpm.c) on a stored TPM2B_PUBLIC,
 * the tpm_pub column of the objects table, which the module parses for
 * every key at load time (C_Initialize, every store reload).
 *
 * Checks: never crash; an accepted blob describes one of the key types
 * of tpm.h with consistent fields (curve and bit size for EC, a non-empty
 * modulus and an exponent for RSA, 128 or 256 bits for AES), and its EC
 * point encodes as CKA_EC_POINT. The blob is an exact-size heap copy so that ASan sees any
 * read beyond it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ec.h"
#include "fuzz_input.h"
#include "tpm/tpm.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	blob b = {NULL, 0};
	tpm_pubkey pk;
	uint8_t der[3 + 1 + 2 * EC_MAX_FIELD_LEN];
	size_t len, fl;

	if (size > 0) {
		if ((b.data = malloc(size)) == NULL)
			abort();
		memcpy(b.data, data, size);
		b.len = size;
	}
	if (tpm_pub_parse(&b, &pk) != 0)
		goto out;
	switch (pk.type) {
	case TPM_KEY_ECC_P256:
	case TPM_KEY_ECC_P384:
		if (pk.curve != (pk.type == TPM_KEY_ECC_P256 ? CURVE_P256
							      : CURVE_P384) ||
		    pk.bits != ec_bits(pk.curve))
			fz_fail("EC key: curve %d, %u bits", (int)pk.curve,
				pk.bits);
		fl = ec_field_len(pk.curve);
		if (ec_point_der(pk.curve, pk.x, fl, pk.y, fl, der, sizeof(der),
				 &len) != 0)
			fz_fail("EC point does not encode");
		break;
	case TPM_KEY_RSA_2048:
	case TPM_KEY_RSA_3072:
		if (pk.curve != CURVE_NONE || pk.n_len == 0 ||
		    pk.n_len > sizeof(pk.n) || pk.exponent == 0 ||
		    pk.bits != (pk.type == TPM_KEY_RSA_2048 ? 2048u : 3072u))
			fz_fail("RSA key: n %zu bytes, e %u, %u bits", pk.n_len,
				pk.exponent, pk.bits);
		break;
	case TPM_KEY_AES_128:
	case TPM_KEY_AES_256:
		if (pk.curve != CURVE_NONE || pk.n_len != 0 ||
		    pk.bits != (pk.type == TPM_KEY_AES_128 ? 128u : 256u))
			fz_fail("AES key: %u bits", pk.bits);
		break;
	case TPM_KEY_HMAC_SHA1:
	case TPM_KEY_HMAC:
	case TPM_KEY_HMAC_SHA384:
	case TPM_KEY_HMAC_SHA512:
		if (pk.curve != CURVE_NONE || pk.n_len != 0 ||
		    pk.bits != 8 * hash_len(pk.hmac_hash) ||
		    tpm_hmac_type(pk.hmac_hash) != pk.type)
			fz_fail("HMAC key: %u bits, hash %d", pk.bits,
				(int)pk.hmac_hash);
		break;
	default:
		/* A type added to tpm.h after this harness: teach it here. */
		fz_fail("accepted a blob of key type %d, unknown to fuzz_tpmpub",
			(int)pk.type);
	}
out:
	free(b.data);
	return 0;
}
