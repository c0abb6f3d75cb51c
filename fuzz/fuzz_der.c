/* fuzz_der: the encodings a caller hands to the module (src/crypto/).
 *
 * The whole input is given, as it is, to each parser:
 * - ec_params_parse (CKA_EC_PARAMS of a C_GenerateKeyPair template):
 *   accepts only the exact DER of a curve we know, so an accepted input
 *   must equal what ec_params_der writes for that curve;
 * - ec_point_parse for P-256 and P-384 (CKA_EC_POINT, DER or bare): an
 *   accepted input must equal ec_point_der of the coordinates it gave,
 *   either whole (DER form) or after the two header bytes (bare form);
 * - rsa_digestinfo_parse (CKM_RSA_PKCS input): an accepted input must be
 *   rsa_digestinfo of the hash it names and the digest it points at, and
 *   that digest must lie inside the input;
 * - rsa_pkcs1_sig_pad of the input for 2048- and 3072-bit moduli: the
 *   block is 00 01 FF.. 00 || input, or refused when it does not fit;
 * - rsa_unpad_pkcs1 and rsa_unpad_oaep (C_Decrypt) of the input as a
 *   decrypted block (a caller who knows the public key chooses it): the
 *   message fits the output buffer and is the block's tail, at most
 *   modlen - 11 (PKCS#1) or modlen - 2 hLen - 2 (OAEP) bytes.
 * Output buffers are exact-size heap allocations so that ASan sees a
 * write past what the header promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ec.h"
#include "crypto/pkey.h"
#include "crypto/rsapad.h"
#include "fuzz_input.h"

static void
check_params(const uint8_t *data, size_t size)
{
	uint8_t der[32];
	size_t len;
	ec_curve c = ec_params_parse(data, size);

	if (c == CURVE_NONE)
		return;
	if (ec_params_der(c, der, sizeof(der), &len) != 0)
		fz_fail("curve %d has no DER", (int)c);
	if (len != size || memcmp(der, data, size) != 0)
		fz_fail("EC params accepted but not the canonical DER");
}

static void
check_point(ec_curve c, const uint8_t *data, size_t size)
{
	size_t fl = ec_field_len(c), len;
	uint8_t *x = malloc(fl), *y = malloc(fl);
	uint8_t der[3 + 1 + 2 * EC_MAX_FIELD_LEN];

	if (x == NULL || y == NULL)
		abort();
	if (ec_point_parse(c, data, size, x, y) == 0) {
		if (ec_point_der(c, x, fl, y, fl, der, sizeof(der), &len) != 0)
			fz_fail("parsed point does not re-encode");
		if (!(len == size && memcmp(der, data, size) == 0) &&
		    !(len == size + 2 && memcmp(der + 2, data, size) == 0))
			fz_fail("EC point accepted (%zu bytes) but re-encodes "
				"to %zu different bytes", size, len);
	}
	free(x);
	free(y);
}

static void
check_digestinfo(const uint8_t *data, size_t size)
{
	const uint8_t *digest = NULL;
	size_t dlen = 0, len;
	uint8_t di[128];
	hash_algo h = rsa_digestinfo_parse(data, size, &digest, &dlen);

	if (h == HASH_NONE)
		return;
	if (dlen != hash_len(h) || digest < data || digest + dlen != data + size)
		fz_fail("DigestInfo digest outside the input or wrong length");
	if (rsa_digestinfo(h, digest, di, sizeof(di), &len) != 0 ||
	    len != size || memcmp(di, data, size) != 0)
		fz_fail("DigestInfo accepted but not the canonical encoding");
}

static void
check_pkcs1(const uint8_t *data, size_t size, size_t modlen)
{
	uint8_t *block = malloc(modlen);
	size_t i;

	if (block == NULL)
		abort();
	if (rsa_pkcs1_sig_pad(data, size, block, modlen) == 0) {
		if (size + 11 > modlen)
			fz_fail("PKCS#1 padding of %zu bytes fits %zu?", size,
				modlen);
		if (block[0] != 0 || block[1] != 1 ||
		    block[modlen - size - 1] != 0 ||
		    memcmp(block + modlen - size, data, size) != 0)
			fz_fail("PKCS#1 block layout");
		for (i = 2; i < modlen - size - 1; i++)
			if (block[i] != 0xff)
				fz_fail("PKCS#1 padding byte %zu", i);
	} else if (size + 11 <= modlen) {
		fz_fail("PKCS#1 padding refused %zu bytes for %zu", size,
			modlen);
	}
	free(block);
}

static void
check_unpad(const uint8_t *data, size_t size)
{
	static const hash_algo oaep[] = {HASH_SHA1, HASH_SHA256, HASH_SHA512};
	size_t caps[2], cap, i, k;
	uint8_t *out;
	int n;

	if (size < 11 || size > 512)
		return;
	/* A buffer as long as the block, and a short one. */
	caps[0] = size;
	caps[1] = size / 4 + 1;
	for (k = 0; k < 2; k++) {
		cap = caps[k];
		if ((out = malloc(cap)) == NULL)
			abort();
		n = rsa_unpad_pkcs1(data, size, out, cap);
		if (n >= 0 && ((size_t)n > cap || (size_t)n > size - 11 ||
			       memcmp(out, data + size - n, (size_t)n) != 0))
			fz_fail("PKCS#1 unpadding: %d bytes of %zu, cap %zu", n,
				size, cap);
		for (i = 0; i < sizeof(oaep) / sizeof(oaep[0]); i++) {
			size_t h = hash_len(oaep[i]);

			n = rsa_unpad_oaep(data, size, oaep[i], oaep[i],
					   (const uint8_t *)"", 0, out, cap);
			if (n >= 0 && ((size_t)n > cap || 2 * h + 2 > size ||
				       (size_t)n > size - 2 * h - 2))
				fz_fail("OAEP unpadding: %d bytes of %zu", n,
					size);
		}
		free(out);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_params(data, size);
	check_point(CURVE_P256, data, size);
	check_point(CURVE_P384, data, size);
	check_digestinfo(data, size);
	check_pkcs1(data, size, 256);
	check_pkcs1(data, size, 384);
	check_unpad(data, size);
	return 0;
}
