/* Reading a private-key file for `tpm11 import`. PEM (PKCS#8 and the
 * traditional "EC PRIVATE KEY" / "RSA PRIVATE KEY" forms) and DER go
 * through OpenSSL's decoders; an OpenSSH block (passphrase-protected or
 * not) through crypto/sshpriv.c.
 * The parts come out in the fixed-width form a TPM's sensitive area
 * takes. */
#include "crypto/privkey.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "crypto/sshpriv.h"
#include "util/secure.h"

void
privkey_clear(privkey *k)
{
	secure_zero(k, sizeof(*k));
}

int
privkey_check_rsa(privkey *k, size_t plen, char *err, size_t errlen)
{
	size_t half = k->n_len / 2;

	if (k->n_len != 256 && k->n_len != 384) {
		snprintf(err, errlen,
			 "RSA-%zu: tpm11 imports RSA-2048 and "
			 "RSA-3072 keys (what TPMs hold)",
			 k->n_len * 8);
		return -1;
	}
	if (k->e < 3 || (k->e & 1) == 0) {
		snprintf(err, errlen,
			 "RSA public exponent %u is not one a TPM "
			 "takes",
			 k->e);
		return -1;
	}
	if (plen > half) {
		snprintf(err, errlen,
			 "the RSA key's primes are not half the "
			 "modulus long; a TPM cannot hold it");
		return -1;
	}
	/* p was written right-aligned in p[256]: half bytes at the front */
	memmove(k->p, k->p + sizeof(k->p) - half, half);
	memset(k->p + half, 0, sizeof(k->p) - half);
	return 0;
}

/* A BIGNUM parameter of pk, right-aligned in out[len]; *nat (may be
 * NULL) gets its length without leading zeros. */
static int
privkey_bn(EVP_PKEY *pk, const char *name, uint8_t *out, size_t len,
	   size_t *nat)
{
	BIGNUM *bn = NULL;
	int r = -1;

	if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
		return -1;
	if ((size_t)BN_num_bytes(bn) <= len &&
	    BN_bn2binpad(bn, out, (int)len) == (int)len) {
		if (nat)
			*nat = (size_t)BN_num_bytes(bn);
		r = 0;
	}
	BN_clear_free(bn);
	return r;
}

static int
privkey_from_evp(EVP_PKEY *pk, privkey *k, char *err, size_t errlen)
{
	char group[64] = "";
	size_t fl, plen = 0;
	BIGNUM *e = NULL;

	if (EVP_PKEY_is_a(pk, "ED25519") || EVP_PKEY_is_a(pk, "ED448") ||
	    EVP_PKEY_is_a(pk, "X25519") || EVP_PKEY_is_a(pk, "X448")) {
		snprintf(
			err, errlen,
			"%s is not a TPM 2.0 algorithm (TPMs do "
			"NIST P-256/P-384 and RSA); keep this key as it is, or "
			"make a new one with `tpm11 addkey`",
			EVP_PKEY_get0_type_name(pk));
		return -1;
	}
	if (EVP_PKEY_is_a(pk, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(
			    pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
			    sizeof(group), NULL) != 1)
			group[0] = '\0';
		if (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "P-256") == 0)
			k->curve = CURVE_P256;
		else if (strcmp(group, "secp384r1") == 0 ||
			 strcmp(group, "P-384") == 0)
			k->curve = CURVE_P384;
		else {
			snprintf(err, errlen,
				 "EC curve %s: tpm11 imports P-256 "
				 "and P-384 keys (the NIST curves TPMs offer)",
				 group[0] ? group : "(explicit parameters)");
			return -1;
		}
		fl = ec_field_len(k->curve);
		k->kind = PRIVKEY_EC;
		if (privkey_bn(pk, OSSL_PKEY_PARAM_PRIV_KEY, k->d, fl, NULL) ||
		    privkey_bn(pk, OSSL_PKEY_PARAM_EC_PUB_X, k->x, fl, NULL) ||
		    privkey_bn(pk, OSSL_PKEY_PARAM_EC_PUB_Y, k->y, fl, NULL)) {
			snprintf(err, errlen,
				 "the EC key lacks its private or "
				 "public part");
			return -1;
		}
		return 0;
	}
	if (EVP_PKEY_is_a(pk, "RSA")) {
		k->kind = PRIVKEY_RSA;
		if (privkey_bn(pk, OSSL_PKEY_PARAM_RSA_N, k->n, sizeof(k->n),
			       &k->n_len) != 0 ||
		    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
		    privkey_bn(pk, OSSL_PKEY_PARAM_RSA_FACTOR1, k->p,
			       sizeof(k->p), &plen) != 0) {
			BN_free(e);
			snprintf(err, errlen,
				 "the RSA key lacks its primes "
				 "(tpm11 needs them)");
			return -1;
		}
		memmove(k->n, k->n + sizeof(k->n) - k->n_len, k->n_len);
		if (BN_num_bytes(e) > 4) {
			BN_free(e);
			snprintf(err, errlen,
				 "RSA public exponent too large for "
				 "a TPM (at most 32 bits)");
			return -1;
		}
		k->e = (uint32_t)BN_get_word(e);
		BN_free(e);
		return privkey_check_rsa(k, plen, err, errlen);
	}
	snprintf(err, errlen,
		 "a %s key cannot go into a TPM; tpm11 imports "
		 "EC P-256/P-384 and RSA-2048/3072 keys",
		 EVP_PKEY_get0_type_name(pk));
	return -1;
}

/* Whether data decodes as a public key alone (said apart from garbage
 * for a clearer message). */
static bool
privkey_is_public(const uint8_t *data, size_t len)
{
	OSSL_DECODER_CTX *dc;
	EVP_PKEY *pk = NULL;
	const unsigned char *p = data;
	size_t left = len;
	bool r = false;

	if (len >= 4 &&
	    (memcmp(data, "ssh-", 4) == 0 || memcmp(data, "ecdsa-", 6) == 0))
		return true; /* an OpenSSH public-key line */
	dc = OSSL_DECODER_CTX_new_for_pkey(&pk, NULL, NULL, NULL,
					   EVP_PKEY_PUBLIC_KEY, NULL, NULL);
	if (dc != NULL && OSSL_DECODER_from_data(dc, &p, &left) == 1 &&
	    pk != NULL)
		r = true;
	OSSL_DECODER_CTX_free(dc);
	EVP_PKEY_free(pk);
	return r;
}

/* The OpenSSH block: its PEM armour read by OpenSSL's generic PEM reader,
 * the body by crypto/sshpriv.c. */
static int
privkey_openssh(const uint8_t *data, size_t len, const char *pass, privkey *k,
		char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	char *name = NULL, *header = NULL;
	unsigned char *body = NULL;
	long blen = 0;
	int r = -1;

	if (bio == NULL ||
	    PEM_read_bio(bio, &name, &header, &body, &blen) != 1 ||
	    strcmp(name, "OPENSSH PRIVATE KEY") != 0) {
		snprintf(err, errlen,
			 "the OpenSSH private key is damaged or "
			 "cut short (its base64 does not decode)");
		goto out;
	}
	r = sshpriv_parse(body, (size_t)blen, pass, pass ? strlen(pass) : 0, k,
			  err, errlen);
out:
	if (body)
		OPENSSL_clear_free(body, (size_t)blen);
	OPENSSL_free(name);
	OPENSSL_free(header);
	BIO_free(bio);
	return r;
}

int
privkey_read(const uint8_t *data, size_t len, const char *pass, privkey *out,
	     char *err, size_t errlen)
{
	OSSL_DECODER_CTX *dc = NULL;
	EVP_PKEY *pk = NULL;
	const unsigned char *p = data;
	size_t left = len;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (data == NULL || len == 0) {
		snprintf(err, errlen, "the file is empty");
		return -1;
	}
	if (memmem(data, len, "-----BEGIN OPENSSH PRIVATE KEY-----", 35) !=
	    NULL)
		return privkey_openssh(data, len, pass, out, err, errlen);
	if (memmem(data, len, "-----BEGIN ENCRYPTED PRIVATE KEY", 32) != NULL) {
		snprintf(err, errlen,
			 "the key is passphrase-protected "
			 "(encrypted PKCS#8), which tpm11 does not open; "
			 "decrypt it to a temporary file with `openssl pkey`, "
			 "import that, and destroy it");
		return -1;
	}
	dc = OSSL_DECODER_CTX_new_for_pkey(&pk, NULL, NULL, NULL,
					   EVP_PKEY_KEYPAIR, NULL, NULL);
	if (dc == NULL) {
		snprintf(err, errlen, "OpenSSL has no key decoder");
		goto out;
	}
	/* no passphrase: an encrypted key fails here instead of prompting */
	OSSL_DECODER_CTX_set_passphrase(dc, (const unsigned char *)"", 0);
	if (OSSL_DECODER_from_data(dc, &p, &left) != 1 || pk == NULL) {
		if (privkey_is_public(data, len))
			snprintf(err, errlen,
				 "this is a public key; import needs "
				 "the private key file");
		else
			snprintf(err, errlen,
				 "not a private key OpenSSL or "
				 "tpm11 can read (PEM PKCS#8, \"EC/RSA PRIVATE "
				 "KEY\", OpenSSH), or damaged or cut short");
		goto out;
	}
	r = privkey_from_evp(pk, out, err, errlen);
out:
	if (r != 0)
		privkey_clear(out);
	EVP_PKEY_free(pk);
	OSSL_DECODER_CTX_free(dc);
	return r;
}

int
privkey_read_pkcs12(const uint8_t *data, size_t len, const char *pass,
		    privkey *out, uint8_t **cert, size_t *cert_len, char *err,
		    size_t errlen)
{
	const unsigned char *p = data;
	PKCS12 *p12 = NULL;
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	unsigned char *der = NULL;
	int n, r = -1;

	memset(out, 0, sizeof(*out));
	*cert = NULL;
	*cert_len = 0;
	if (len > LONG_MAX || (p12 = d2i_PKCS12(NULL, &p, (long)len)) == NULL) {
		snprintf(err, errlen,
			 "not a PKCS#12 file, or damaged or cut "
			 "short");
		goto out;
	}
	if (PKCS12_verify_mac(p12, pass, -1) != 1) {
		snprintf(err, errlen,
			 "wrong PKCS#12 password (give it with "
			 "--passphrase-file), or a damaged file");
		r = PRIVKEY_WRONG_PASSPHRASE;
		goto out;
	}
	/* also checks that the certificate is the key's */
	if (PKCS12_parse(p12, pass, &pk, &x, NULL) != 1 || pk == NULL) {
		snprintf(err, errlen,
			 "the PKCS#12 file holds no private key "
			 "tpm11 can read (or one that does not match its "
			 "certificate)");
		goto out;
	}
	if (privkey_from_evp(pk, out, err, errlen) != 0)
		goto out;
	if (x != NULL) {
		if ((n = i2d_X509(x, &der)) <= 0) {
			snprintf(err, errlen,
				 "the PKCS#12 certificate does not "
				 "encode");
			goto out;
		}
		if ((*cert = malloc((size_t)n)) == NULL) {
			OPENSSL_free(der);
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		memcpy(*cert, der, (size_t)n);
		OPENSSL_free(der);
		*cert_len = (size_t)n;
	}
	r = 0;
out:
	if (r != 0)
		privkey_clear(out);
	EVP_PKEY_free(pk);
	X509_free(x);
	PKCS12_free(p12);
	return r;
}

/* --- a key from its parts (C_CreateObject) ---------------------------------- */

/* A part as a BIGNUM in OpenSSL's secure heap (private values are wiped
 * there when freed); NULL when absent, empty or absurdly long. */
static BIGNUM *
parts_bn(const privkey_part *p)
{
	BIGNUM *bn;

	if (p->v == NULL || p->len == 0 || p->len > 1024)
		return NULL;
	if ((bn = BN_secure_new()) == NULL)
		return NULL;
	BN_set_flags(bn, BN_FLG_CONSTTIME);
	if (BN_bin2bn(p->v, (int)p->len, bn) == NULL) {
		BN_clear_free(bn);
		return NULL;
	}
	return bn;
}

#define PARTS_PUB_MAX (1 + 2 * EC_MAX_FIELD_LEN)

/* EC: the public point is d*G, computed here into pub (a PKCS#11
 * private-key template carries no point), so the pair check below proves
 * d's range and the point's place on the curve. pub must live until the
 * parameters are built: OSSL_PARAM_BLD copies it only then. */
static int
parts_ec(const privkey_parts *in, OSSL_PARAM_BLD *b, BIGNUM **d,
	 uint8_t pub[PARTS_PUB_MAX], char *err, size_t errlen)
{
	EC_GROUP *g;
	EC_POINT *pt = NULL;
	size_t publen;
	int r = PRIVKEY_BAD_VALUE;

	g = EC_GROUP_new_by_curve_name(
		in->curve == CURVE_P256 ? NID_X9_62_prime256v1 : NID_secp384r1);
	if (g == NULL || (*d = parts_bn(&in->d)) == NULL) {
		snprintf(err, errlen,
			 "the EC private value (CKA_VALUE) is "
			 "empty or too long");
		goto out;
	}
	/* v2.40 2.3.4: d is an integer in [1, n - 1] */
	if (BN_is_zero(*d) || BN_cmp(*d, EC_GROUP_get0_order(g)) >= 0) {
		snprintf(err, errlen,
			 "the EC private value (CKA_VALUE) is not "
			 "between 1 and the curve's order - 1");
		goto out;
	}
	if ((pt = EC_POINT_new(g)) == NULL ||
	    EC_POINT_mul(g, pt, *d, NULL, NULL, NULL) != 1 ||
	    (publen = EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED,
					 pub, PARTS_PUB_MAX, NULL)) == 0) {
		snprintf(err, errlen, "cannot compute the EC public point");
		goto out;
	}
	if (OSSL_PARAM_BLD_push_utf8_string(
		    b, OSSL_PKEY_PARAM_GROUP_NAME,
		    in->curve == CURVE_P256 ? "P-256" : "P-384", 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, *d) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub,
					     publen) != 1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	r = 0;
out:
	EC_POINT_free(pt);
	EC_GROUP_free(g);
	return r;
}

/* RSA: n, e, d, p, q given (the caller checks that), the CRT values
 * computed where absent (v2.40 2.1.3 makes them optional). bn[8] receive
 * n, e, d, p, q, dP, dQ, qInv for the caller to free. */
static int
parts_rsa(const privkey_parts *in, OSSL_PARAM_BLD *b, BIGNUM *bn[8], char *err,
	  size_t errlen)
{
	static const char *const names[8] = {OSSL_PKEY_PARAM_RSA_N,
					     OSSL_PKEY_PARAM_RSA_E,
					     OSSL_PKEY_PARAM_RSA_D,
					     OSSL_PKEY_PARAM_RSA_FACTOR1,
					     OSSL_PKEY_PARAM_RSA_FACTOR2,
					     OSSL_PKEY_PARAM_RSA_EXPONENT1,
					     OSSL_PKEY_PARAM_RSA_EXPONENT2,
					     OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
	const privkey_part *part[8] = {&in->n, &in->e,  &in->d,  &in->p,
				       &in->q, &in->dp, &in->dq, &in->qinv};
	BN_CTX *cx = NULL;
	BIGNUM *t = NULL;
	int i, nb, r = PRIVKEY_BAD_VALUE;

	for (i = 0; i < 8; i++) {
		if (part[i]->v != NULL && (bn[i] = parts_bn(part[i])) == NULL) {
			snprintf(err, errlen,
				 "an RSA value is empty or too "
				 "long");
			return r;
		}
		if (i < 5 && bn[i] == NULL) {
			snprintf(err, errlen, "the RSA key lacks a part");
			return r;
		}
	}
	/* Sizes and exponent before the (slow) pair check. */
	nb = BN_num_bytes(bn[0]);
	if (nb != 256 && nb != 384) {
		snprintf(err, errlen,
			 "RSA-%d: tpm11 imports RSA-2048 and "
			 "RSA-3072 keys (what TPMs hold)",
			 nb * 8);
		return r;
	}
	if (BN_num_bits(bn[1]) > 32 || !BN_is_odd(bn[1]) ||
	    BN_get_word(bn[1]) < 3) {
		snprintf(err, errlen,
			 "the RSA public exponent is not one a TPM "
			 "takes (odd, 3 to 2^32 - 1)");
		return r;
	}
	if ((cx = BN_CTX_secure_new()) == NULL || (t = BN_secure_new()) == NULL)
		goto oom;
	for (i = 5; i < 7; i++) {
		/* dP = d mod (p - 1), dQ = d mod (q - 1) */
		if (bn[i] != NULL)
			continue;
		if ((bn[i] = BN_secure_new()) == NULL ||
		    BN_copy(t, bn[i - 2]) == NULL || BN_sub_word(t, 1) != 1 ||
		    BN_mod(bn[i], bn[2], t, cx) != 1)
			goto oom;
	}
	/* qInv = q^-1 mod p; none when p and q are not coprime */
	if (bn[7] == NULL && (bn[7] = BN_secure_new()) == NULL)
		goto oom;
	if (part[7]->v == NULL &&
	    BN_mod_inverse(bn[7], bn[4], bn[3], cx) == NULL) {
		snprintf(err, errlen, "the RSA primes do not form a key");
		r = PRIVKEY_MISMATCH;
		goto out;
	}
	for (i = 0; i < 8; i++)
		if (OSSL_PARAM_BLD_push_BN(b, names[i], bn[i]) != 1)
			goto oom;
	r = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	BN_clear_free(t);
	BN_CTX_free(cx);
	return r;
}

int
privkey_from_parts(const privkey_parts *in, privkey *out, char *err,
		   size_t errlen)
{
	OSSL_PARAM_BLD *b = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *cx = NULL, *chk = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *bn[8] = {NULL};
	uint8_t pub[PARTS_PUB_MAX];
	int i, r = PRIVKEY_BAD_VALUE;

	memset(out, 0, sizeof(*out));
	if ((in->kind == PRIVKEY_EC && in->curve != CURVE_P256 &&
	     in->curve != CURVE_P384) ||
	    (in->kind != PRIVKEY_EC && in->kind != PRIVKEY_RSA)) {
		snprintf(err, errlen, "not an EC P-256/P-384 or RSA key");
		return r;
	}
	if ((b = OSSL_PARAM_BLD_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((r = in->kind == PRIVKEY_EC
			 ? parts_ec(in, b, &bn[0], pub, err, errlen)
			 : parts_rsa(in, b, bn, err, errlen)) != 0)
		goto out;
	r = PRIVKEY_BAD_VALUE;
	if ((params = OSSL_PARAM_BLD_to_param(b)) == NULL ||
	    (cx = EVP_PKEY_CTX_new_from_name(
		     NULL, in->kind == PRIVKEY_EC ? "EC" : "RSA", NULL)) ==
		    NULL ||
	    EVP_PKEY_fromdata_init(cx) != 1 ||
	    EVP_PKEY_fromdata(cx, &pk, EVP_PKEY_KEYPAIR, params) != 1) {
		snprintf(err, errlen, "OpenSSL does not take the key's parts");
		goto out;
	}
	/* The public part matches the private one (RSA: n = p*q, p and q
	 * prime, e*d = 1 mod lcm(p-1, q-1), dP, dQ, qInv right). */
	if ((chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL ||
	    EVP_PKEY_pairwise_check(chk) != 1) {
		snprintf(err, errlen,
			 "the key's parts do not belong together "
			 "(the public part does not match the private one)");
		r = PRIVKEY_MISMATCH;
		goto out;
	}
	r = privkey_from_evp(pk, out, err, errlen) == 0 ? 0 : PRIVKEY_BAD_VALUE;
out:
	if (r != 0)
		privkey_clear(out);
	ERR_clear_error();
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(cx);
	EVP_PKEY_free(pk);
	/* the secure BNs went to a block it frees with OPENSSL_secure_clear_free */
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	for (i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	return r;
}
