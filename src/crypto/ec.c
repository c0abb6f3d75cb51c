/* EC encodings that PKCS#11 and OpenSSH use: the curve OID in
 * CKA_EC_PARAMS, the uncompressed point in CKA_EC_POINT and the r||s form
 * of an ECDSA signature. Only named curves P-256 and P-384 are known here.
 *
 * Nothing in this file handles secrets: curve parameters, public points and
 * signatures are all public, so neither lengths nor branches need to be
 * constant time. */

#include <string.h>

#include "crypto/ec.h"

/* X9.62 uncompressed point marker, SEC 1 2.3.3. */
#define EC_POINT_UNCOMPRESSED 0x04
/* DER tag of OCTET STRING. */
#define EC_DER_OCTET_STRING 0x04

/* ansi-X9-62 prime256v1, 1.2.840.10045.3.1.7 */
static const uint8_t ec_oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
};
/* certicom secp384r1, 1.3.132.0.34 */
static const uint8_t ec_oid_p384[] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22,
};

static const struct {
	ec_curve curve;
	size_t field_len;
	unsigned bits;
	const char *ssh_name;
	const uint8_t *oid_der;
	size_t oid_der_len;
} ec_table[] = {
	{CURVE_P256, 32, 256, "nistp256", ec_oid_p256, sizeof(ec_oid_p256)},
	{CURVE_P384, 48, 384, "nistp384", ec_oid_p384, sizeof(ec_oid_p384)},
};
#define EC_TABLE_N (sizeof(ec_table) / sizeof(ec_table[0]))

static int
ec_index(ec_curve c)
{
	size_t i;

	for (i = 0; i < EC_TABLE_N; i++)
		if (ec_table[i].curve == c)
			return (int)i;
	return -1;
}

size_t
ec_field_len(ec_curve c)
{
	int i;

	if ((i = ec_index(c)) < 0)
		return 0;
	return ec_table[i].field_len;
}

unsigned
ec_bits(ec_curve c)
{
	int i;

	if ((i = ec_index(c)) < 0)
		return 0;
	return ec_table[i].bits;
}

const char *
ec_ssh_name(ec_curve c)
{
	int i;

	if ((i = ec_index(c)) < 0)
		return NULL;
	return ec_table[i].ssh_name;
}

int
ec_params_der(ec_curve c, uint8_t *out, size_t cap, size_t *len)
{
	int i;

	if (out == NULL || len == NULL)
		return -1;
	if ((i = ec_index(c)) < 0)
		return -1;
	if (cap < ec_table[i].oid_der_len)
		return -1;
	memcpy(out, ec_table[i].oid_der, ec_table[i].oid_der_len);
	*len = ec_table[i].oid_der_len;
	return 0;
}

ec_curve
ec_params_parse(const uint8_t *der, size_t len)
{
	size_t i;

	/* PKCS#11 v2.40 2.3.3: CKA_EC_PARAMS is DER of ECParameters, which
	 * may be ecParameters, namedCurve or implicitlyCA. Only namedCurve is
	 * accepted, and only as the exact DER of a known OID: the encoding is
	 * unique, so a byte compare is a complete check. */
	if (der == NULL)
		return CURVE_NONE;
	for (i = 0; i < EC_TABLE_N; i++) {
		if (len == ec_table[i].oid_der_len &&
		    memcmp(der, ec_table[i].oid_der, len) == 0)
			return ec_table[i].curve;
	}
	return CURVE_NONE;
}

/* Length of the DER length field for a content of n bytes (n < 65536). */
static size_t
ec_der_len_len(size_t n)
{
	if (n < 0x80)
		return 1;
	if (n < 0x100)
		return 2;
	return 3;
}

int
ec_point_der(ec_curve c, const uint8_t *x, size_t xlen, const uint8_t *y,
	     size_t ylen, uint8_t *out, size_t cap, size_t *len)
{
	size_t fl, plen, hdr, p;

	if (x == NULL || y == NULL || out == NULL || len == NULL)
		return -1;
	if ((fl = ec_field_len(c)) == 0)
		return -1;
	if (xlen > fl || ylen > fl)
		return -1;

	/*
	 * 04 L 04 || X || Y
	 * OCTET STRING around the uncompressed point, L = 1 + 2 * fl, X and
	 * Y each left-padded with zeros to fl bytes. L is 65 or 97 here, so
	 * the short length form; the long form is written for completeness.
	 */
	plen = 1 + 2 * fl;
	hdr = 1 + ec_der_len_len(plen);
	if (cap < hdr + plen)
		return -1;

	p = 0;
	out[p++] = EC_DER_OCTET_STRING;
	if (plen >= 0x100) {
		out[p++] = 0x82;
		out[p++] = (uint8_t)(plen >> 8);
		out[p++] = (uint8_t)plen;
	} else if (plen >= 0x80) {
		out[p++] = 0x81;
		out[p++] = (uint8_t)plen;
	} else
		out[p++] = (uint8_t)plen;

	out[p++] = EC_POINT_UNCOMPRESSED;
	memset(out + p, 0, fl - xlen);
	if (xlen != 0)
		memcpy(out + p + fl - xlen, x, xlen);
	p += fl;
	memset(out + p, 0, fl - ylen);
	if (ylen != 0)
		memcpy(out + p + fl - ylen, y, ylen);
	p += fl;

	*len = p;
	return 0;
}

int
ec_point_parse(ec_curve c, const uint8_t *in, size_t len, uint8_t *x,
	       uint8_t *y)
{
	size_t fl, plen, hdr;

	if (in == NULL || x == NULL || y == NULL)
		return -1;
	if ((fl = ec_field_len(c)) == 0)
		return -1;
	plen = 1 + 2 * fl;

	/*
	 * Either the DER form 04 L 04 || X || Y (what PKCS#11 v2.40 specifies)
	 * or the bare point 04 || X || Y that some applications pass. The two
	 * differ in length, so the length decides; the DER length must be in
	 * its minimal form.
	 */
	if (len == plen) {
		hdr = 0;
	} else {
		hdr = 1 + ec_der_len_len(plen);
		if (len != hdr + plen || in[0] != EC_DER_OCTET_STRING)
			return -1;
		if (hdr == 2 && in[1] != plen)
			return -1;
		if (hdr == 3 && (in[1] != 0x81 || in[2] != plen))
			return -1;
		if (hdr == 4 && (in[1] != 0x82 || in[2] != (plen >> 8) ||
				 in[3] != (plen & 0xff)))
			return -1;
	}
	if (in[hdr] != EC_POINT_UNCOMPRESSED)
		return -1;
	memcpy(x, in + hdr + 1, fl);
	memcpy(y, in + hdr + 1 + fl, fl);
	return 0;
}

int
ec_sig_rs(ec_curve c, const uint8_t *r, size_t rlen, const uint8_t *s,
	  size_t slen, uint8_t *out)
{
	size_t fl;

	if (r == NULL || s == NULL || out == NULL)
		return -1;
	if ((fl = ec_field_len(c)) == 0)
		return -1;
	/* PKCS#11 v2.40 2.3.1: r and s each exactly fl bytes, big-endian.
	 * A longer input is refused even when its extra bytes are zero:
	 * the TPM never produces one, so it means a caller bug. */
	if (rlen > fl || slen > fl)
		return -1;

	/* r padded to fl || s padded to fl */
	memset(out, 0, 2 * fl);
	if (rlen != 0)
		memcpy(out + fl - rlen, r, rlen);
	if (slen != 0)
		memcpy(out + 2 * fl - slen, s, slen);
	return 0;
}
