/* fuzz_x509: certificates from outside (src/crypto/x509.c), as
 * C_CreateObject's CKA_VALUE and the tool's certificate files give them:
 * PEM (the first CERTIFICATE block) or DER, nothing trailing.
 *
 * Checks: never crash or leak; an accepted certificate has every attribute
 * PKCS#11 v2.40 4.6.3 asks for (value, subject, issuer, serial number),
 * CK_DATE dates of eight digits, CKA_CHECK_VALUE equal to the first three
 * bytes of SHA-1 over the DER; and its DER parses again to the same
 * attributes (what the store keeps is what a reader gets back). */
#include <stdint.h>
#include <string.h>

#include <openssl/sha.h>

#include "crypto/x509.h"
#include "fuzz_input.h"

static void
check_date(const char d[8], const char *which)
{
	int i;

	for (i = 0; i < 8; i++)
		if (d[i] < '0' || d[i] > '9')
			fz_fail("%s date is not YYYYMMDD", which);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	x509_cert c, again;
	uint8_t sha1[SHA_DIGEST_LENGTH];
	char err[256];

	if (x509_cert_parse(data, size, &c, err, sizeof(err)) != 0) {
		if (c.der != NULL || c.subject != NULL || c.subject_str != NULL)
			fz_fail("a refused certificate left data behind");
		if (err[0] == '\0')
			fz_fail("refused without a message");
		return 0;
	}
	if (c.der == NULL || c.der_len == 0 || c.subject == NULL ||
	    c.subject_len == 0 || c.issuer == NULL || c.issuer_len == 0 ||
	    c.serial == NULL || c.serial_len == 0 || c.subject_str == NULL ||
	    c.issuer_str == NULL)
		fz_fail("an accepted certificate lacks an attribute");
	check_date(c.start_date, "start");
	check_date(c.end_date, "end");
	SHA1(c.der, c.der_len, sha1);
	if (memcmp(sha1, c.check_value, sizeof(c.check_value)) != 0)
		fz_fail("CKA_CHECK_VALUE is not SHA-1(value)[0..2]");
	if (x509_cert_parse(c.der, c.der_len, &again, err, sizeof(err)) != 0)
		fz_fail("the DER of an accepted certificate does not parse: %s",
			err);
	if (again.der_len != c.der_len ||
	    memcmp(again.der, c.der, c.der_len) != 0 ||
	    again.subject_len != c.subject_len ||
	    memcmp(again.subject, c.subject, c.subject_len) != 0 ||
	    again.serial_len != c.serial_len ||
	    memcmp(again.serial, c.serial, c.serial_len) != 0 ||
	    memcmp(again.start_date, c.start_date, 8) != 0 ||
	    memcmp(again.end_date, c.end_date, 8) != 0)
		fz_fail("a certificate's DER reads back differently");
	x509_cert_clear(&again);
	x509_cert_clear(&c);
	return 0;
}
