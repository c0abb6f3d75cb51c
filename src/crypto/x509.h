/* X.509 for tpm11 (OpenSSL 3): reading certificates into the attributes a
 * PKCS#11 certificate object carries, checking that a certificate belongs
 * to a token key, and building a PKCS#10 request or a self-signed
 * certificate whose signature is made elsewhere (in the TPM) through a
 * callback. No private key ever passes through here. */
#ifndef TPM11_CRYPTO_X509_H
#define TPM11_CRYPTO_X509_H

#include "util/check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "crypto/ec.h"
#include "crypto/hash.h"

/* A public key as the token keeps it. EC: x and y are field-length
 * coordinates of a P-256 or P-384 point. RSA: big-endian n (leading zeros
 * allowed) and the public exponent. */
typedef struct {
	enum { X509_KEY_EC = 1, X509_KEY_RSA } kind;
	ec_curve curve;
	const uint8_t *x, *y;
	const uint8_t *n;
	size_t n_len;
	uint32_t e;
} x509_key;

/* A parsed certificate and the values of its PKCS#11 attributes
 * (v2.40 4.6.3 and 4.6.4). Every pointer is malloc'd and owned; free with
 * x509_cert_clear(). */
typedef struct {
	uint8_t *der; /* CKA_VALUE: the certificate, DER */
	size_t der_len;
	uint8_t *subject; /* CKA_SUBJECT: DER Name */
	size_t subject_len;
	uint8_t *issuer; /* CKA_ISSUER: DER Name */
	size_t issuer_len;
	uint8_t *serial; /* CKA_SERIAL_NUMBER: DER INTEGER, tag included */
	size_t serial_len;
	uint8_t check_value[3]; /* CKA_CHECK_VALUE: SHA-1(der)[0..2] */
	char start_date[8];     /* CKA_START_DATE, CK_DATE "YYYYMMDD" */
	char end_date[8];       /* CKA_END_DATE */
	time_t not_before, not_after;
	char *subject_str; /* RFC 2253 text, UTF-8, for people */
	char *issuer_str;
	bool is_ca;       /* basicConstraints cA */
	bool self_issued; /* issuer == subject */
} x509_cert;

/* Parses one certificate, PEM ("-----BEGIN CERTIFICATE-----", the first
 * one when there are several) or DER. Trailing bytes after a DER
 * certificate are refused. 0 ok; -1 with a sentence in err. */
T11_MUST_CHECK int x509_cert_parse(const uint8_t *data, size_t len,
				   x509_cert *out, char *err, size_t errlen);
void x509_cert_clear(x509_cert *c);

/* 1 when the certificate's subject public key is key, 0 when it is
 * another key (err says which kind the certificate holds), -1 on error. */
T11_MUST_CHECK int x509_cert_matches_key(const x509_cert *c,
					 const x509_key *key, char *err,
					 size_t errlen);

/* How the signature is made. */
typedef enum {
	X509_SIG_ECDSA = 1, /* ECDSA; SHA-256 for P-256, SHA-384 for P-384 */
	X509_SIG_RSA_PKCS1, /* sha256WithRSAEncryption */
	X509_SIG_RSA_PSS,   /* RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32 */
} x509_sig_scheme;

/* The operation that only the key's holder can do.
 *   ECDSA: in is the message digest; out receives r||s (field-length
 *          halves), *outlen its length.
 *   RSA:   in is the encoded block, modulus length; out receives the raw
 *          private-key operation on it (modulus length).
 * out holds 512 bytes. Returns 0 ok, -1 error (the callback keeps its own
 * message). */
typedef int (*x509_sign_fn)(void *ctx, const uint8_t *in, size_t inlen,
			    uint8_t *out, size_t *outlen);

typedef struct {
	x509_key key;
	x509_sig_scheme scheme;
	x509_sign_fn sign;
	void *ctx;
} x509_signer;

/* What goes into a request or a self-signed certificate. Extension values
 * use OpenSSL's configuration syntax (x509v3_config(5)); NULL takes the
 * default, "none" leaves the extension out. */
typedef struct {
	const char *subject;   /* "/CN=alice/O=Example"; "\/" escapes '/' */
	const char *san;       /* "DNS:x,email:y,URI:z,IP:1.2.3.4" or NULL */
	const char *key_usage; /* default "critical,digitalSignature" */
	const char *eku;       /* default "clientAuth" */
	unsigned days;         /* self-signed validity (certificates only) */
} x509_spec;

/* PKCS#10 request (RFC 2986) for signer's key, signed through signer,
 * checked with the public key before it is returned. *pem: malloc'd,
 * NUL-terminated PEM. 0 ok; -1 with a sentence in err. */
T11_MUST_CHECK int x509_make_csr(const x509_spec *spec,
				 const x509_signer *signer, char **pem,
				 char *err, size_t errlen);

/* Self-signed X.509 v3 certificate (random 128-bit serial, notBefore now,
 * notAfter now + spec->days, basicConstraints cA false, subject key
 * identifier), signed through signer and checked. *der: malloc'd DER.
 * 0 ok; -1 with a sentence in err. */
T11_MUST_CHECK int x509_make_selfsigned(const x509_spec *spec,
					const x509_signer *signer,
					uint8_t **der, size_t *der_len,
					char *err, size_t errlen);

/* PEM text of a DER certificate, malloc'd; NULL on error. */
char *x509_cert_pem(const uint8_t *der, size_t len);

#endif
