/* The RSA unpadding functions of OpenSSL 3 that work on a bare block are
 * deprecated (they predate EVP) but are the constant-time implementations
 * we want; nothing else offers them for a block decrypted elsewhere. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "crypto/pkey.h"

#include <stdbool.h>

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

static const EVP_MD *
md_of(hash_algo a)
{
	switch (a) {
	case HASH_SHA1:
		return EVP_sha1();
	case HASH_SHA224:
		return EVP_sha224();
	case HASH_SHA256:
		return EVP_sha256();
	case HASH_SHA384:
		return EVP_sha384();
	case HASH_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

static pkey *
pkey_fromdata(const char *type, OSSL_PARAM_BLD *b)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *k = NULL;

	if (params && ctx && EVP_PKEY_fromdata_init(ctx) > 0)
		EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return k;
}

pkey *
pkey_ec(ec_curve c, const uint8_t *x, const uint8_t *y)
{
	uint8_t pt[1 + 2 * EC_MAX_FIELD_LEN];
	size_t fl = ec_field_len(c);
	OSSL_PARAM_BLD *b;
	pkey *k = NULL;

	if (fl == 0 || (b = OSSL_PARAM_BLD_new()) == NULL)
		return NULL;
	pt[0] = 0x04;
	memcpy(pt + 1, x, fl);
	memcpy(pt + 1 + fl, y, fl);
	if (OSSL_PARAM_BLD_push_utf8_string(
		    b, OSSL_PKEY_PARAM_GROUP_NAME,
		    c == CURVE_P256 ? "prime256v1" : "secp384r1", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt,
					     1 + 2 * fl))
		k = pkey_fromdata("EC", b);
	OSSL_PARAM_BLD_free(b);
	return k;
}

pkey *
pkey_rsa(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen)
{
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL);
	BIGNUM *be = BN_bin2bn(e, (int)elen, NULL);
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	pkey *k = NULL;

	if (bn && be && b &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be))
		k = pkey_fromdata("RSA", b);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	return k;
}

void
pkey_free(pkey *k)
{
	EVP_PKEY_free(k);
}

int
pkey_verify_ecdsa(pkey *k, ec_curve c, const uint8_t *dig, size_t dlen,
		  const uint8_t *sig, size_t siglen)
{
	size_t fl = ec_field_len(c);
	ECDSA_SIG *es = NULL;
	BIGNUM *r, *s;
	unsigned char *der = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int len, ret = -1;

	if (siglen != 2 * fl)
		return 0;
	r = BN_bin2bn(sig, (int)fl, NULL);
	s = BN_bin2bn(sig + fl, (int)fl, NULL);
	if (r == NULL || s == NULL || (es = ECDSA_SIG_new()) == NULL ||
	    !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	if ((len = i2d_ECDSA_SIG(es, &der)) <= 0)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new(k, NULL)) == NULL ||
	    EVP_PKEY_verify_init(ctx) <= 0)
		goto out;
	ret = EVP_PKEY_verify(ctx, der, (size_t)len, dig, dlen) == 1;
out:
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return ret;
}

static EVP_PKEY_CTX *
rsa_ctx(pkey *k, int padding, bool recover)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);

	if (ctx == NULL)
		return NULL;
	if ((recover ? EVP_PKEY_verify_recover_init(ctx)
		     : EVP_PKEY_verify_init(ctx)) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, padding) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
pkey_verify_rsa_pkcs1(pkey *k, hash_algo alg, const uint8_t *dig, size_t dlen,
		      const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX *ctx;
	uint8_t rec[512];
	size_t rlen = sizeof(rec);
	int ret = -1;

	if (siglen != (size_t)EVP_PKEY_get_size(k))
		return 0;
	if (alg != HASH_NONE) {
		if ((ctx = rsa_ctx(k, RSA_PKCS1_PADDING, false)) == NULL)
			return -1;
		if (EVP_PKEY_CTX_set_signature_md(ctx, md_of(alg)) > 0)
			ret = EVP_PKEY_verify(ctx, sig, siglen, dig, dlen) == 1;
		EVP_PKEY_CTX_free(ctx);
		return ret;
	}
	if ((ctx = rsa_ctx(k, RSA_PKCS1_PADDING, true)) == NULL)
		return -1;
	if (EVP_PKEY_verify_recover(ctx, rec, &rlen, sig, siglen) == 1)
		ret = rlen == dlen && memcmp(rec, dig, dlen) == 0;
	else
		ret = 0;
	EVP_PKEY_CTX_free(ctx);
	return ret;
}

int
pkey_verify_rsa_pss(pkey *k, hash_algo alg, hash_algo mgf, size_t salt,
		    const uint8_t *dig, size_t dlen, const uint8_t *sig,
		    size_t siglen)
{
	EVP_PKEY_CTX *ctx;
	int ret = -1;

	if (siglen != (size_t)EVP_PKEY_get_size(k))
		return 0;
	if (salt > 4096) /* never cast a huge length into OpenSSL's specials */
		return -1;
	if ((ctx = rsa_ctx(k, RSA_PKCS1_PSS_PADDING, false)) == NULL)
		return -1;
	if (EVP_PKEY_CTX_set_signature_md(ctx, md_of(alg)) > 0 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md_of(mgf)) > 0 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)salt) > 0)
		ret = EVP_PKEY_verify(ctx, sig, siglen, dig, dlen) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ret;
}

int
pkey_verify_rsa_raw(pkey *k, const uint8_t *in, size_t inlen,
		    const uint8_t *sig, size_t siglen)
{
	size_t mod = (size_t)EVP_PKEY_get_size(k), rlen;
	uint8_t rec[512], want[512];
	EVP_PKEY_CTX *ctx;
	int ret = 0;

	if (siglen != mod || inlen > mod || mod > sizeof(rec))
		return 0;
	if ((ctx = rsa_ctx(k, RSA_NO_PADDING, true)) == NULL)
		return -1;
	rlen = sizeof(rec);
	if (EVP_PKEY_verify_recover(ctx, rec, &rlen, sig, siglen) == 1 &&
	    rlen == mod) {
		memset(want, 0, mod - inlen);
		memcpy(want + mod - inlen, in, inlen);
		ret = memcmp(rec, want, mod) == 0;
	}
	EVP_PKEY_CTX_free(ctx);
	return ret;
}

/* EME-PKCS1-v1_5 and EME-OAEP decoding (RFC 8017 7.2.2, 7.1.2), by
 * OpenSSL's constant-time routines. The whole block goes in, its leading
 * byte included (flen = num = modlen): both routines then check that byte
 * is 00 with the same constant-time masks as the rest of the padding
 * (7.2.2 step 3 "EM = 0x00 || 0x02 || PS || 0x00 || M", 7.1.2 step 3g
 * "Y is nonzero -> decryption error"), so a block with another first byte
 * fails like any other bad padding, with no early exit. tlen = cap. */
int
rsa_unpad_pkcs1(const uint8_t *em, size_t modlen, uint8_t *out, size_t cap)
{
	if (modlen < 11)
		return -1;
	return RSA_padding_check_PKCS1_type_2(out, (int)cap, em, (int)modlen,
					      (int)modlen);
}

int
rsa_unpad_oaep(const uint8_t *em, size_t modlen, hash_algo alg, hash_algo mgf,
	       const uint8_t *label, size_t llen, uint8_t *out, size_t cap)
{
	if (md_of(alg) == NULL || md_of(mgf) == NULL)
		return -1;
	return RSA_padding_check_PKCS1_OAEP_mgf1(out, (int)cap, em, (int)modlen,
						 (int)modlen, label, (int)llen,
						 md_of(alg), md_of(mgf));
}
