/* EC encodings that PKCS#11 and OpenSSH use. */
#ifndef TPM11_CRYPTO_EC_H
#define TPM11_CRYPTO_EC_H

#include "util/check.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
	CURVE_NONE = 0,
	CURVE_P256,
	CURVE_P384,
} ec_curve;

#define EC_MAX_FIELD_LEN 66

/* Field (and scalar) size in bytes: 32 for P-256, 48 for P-384; 0 else. */
size_t ec_field_len(ec_curve c);
/* Key size in bits as CK_MECHANISM_INFO counts it: 256, 384. */
unsigned ec_bits(ec_curve c);
/* OpenSSH's curve name: "nistp256", "nistp384"; NULL for unknown. */
const char *ec_ssh_name(ec_curve c);

/* CKA_EC_PARAMS: the DER OBJECT IDENTIFIER of the named curve
 * (06 08 2A 86 48 CE 3D 03 01 07 for P-256, 06 05 2B 81 04 00 22 for P-384).
 * Writes at most cap bytes; *len gets the length. 0 ok, -1 error. */
T11_MUST_CHECK int ec_params_der(ec_curve c, uint8_t *out, size_t cap,
				 size_t *len);
/* Parses CKA_EC_PARAMS (a named-curve OID; nothing else is accepted).
 * Returns the curve, or CURVE_NONE when it is not a supported curve. */
ec_curve ec_params_parse(const uint8_t *der, size_t len);

/* CKA_EC_POINT: DER OCTET STRING around 04||X||Y, X and Y left-padded with
 * zeros to the field length. x and y may be shorter than the field (a TPM
 * strips leading zeros) but never longer. 0 ok, -1 error. */
T11_MUST_CHECK int ec_point_der(ec_curve c, const uint8_t *x, size_t xlen,
				const uint8_t *y, size_t ylen, uint8_t *out,
				size_t cap, size_t *len);
/* Parses CKA_EC_POINT, either the DER OCTET STRING form or a bare
 * 04||X||Y; x and y receive field-length coordinates. 0 ok, -1 error. */
T11_MUST_CHECK int ec_point_parse(ec_curve c, const uint8_t *in, size_t len,
				  uint8_t *x, uint8_t *y);

/* ECDSA signature as PKCS#11 returns it: r||s, each left-padded with zeros
 * to the field length. out holds 2*ec_field_len(c). 0 ok, -1 when r or s is
 * longer than the field. */
T11_MUST_CHECK int ec_sig_rs(ec_curve c, const uint8_t *r, size_t rlen,
			     const uint8_t *s, size_t slen, uint8_t *out);

#endif
