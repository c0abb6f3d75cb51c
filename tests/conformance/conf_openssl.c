/* The reference side of the conformance program (conf.h): DER pieces,
 * the token's public keys as OpenSSL keys, and the OpenSSL signatures,
 * verifications and encryptions that the module's results are checked
 * against. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "conf.h"

/* --- DER ------------------------------------------------------------------ */

/* Length of a DER TLV's header (tag + length) and the content length. */
bool
der_tlv(const unsigned char *p, size_t n, unsigned char tag, size_t *hdr,
	size_t *len)
{
	size_t l, k, i;

	if (n < 2 || p[0] != tag)
		return false;
	if (p[1] < 0x80) {
		l = p[1];
		*hdr = 2;
	} else {
		k = p[1] & 0x7f;
		if (k == 0 || k > 3 || n < 2 + k)
			return false;
		for (l = 0, i = 0; i < k; i++)
			l = (l << 8) | p[2 + i];
		*hdr = 2 + k;
	}
	if (*hdr + l != n)
		return false;
	*len = l;
	return true;
}

static size_t
der_put_len(unsigned char *out, size_t l)
{
	if (l < 0x80) {
		out[0] = (unsigned char)l;
		return 1;
	}
	if (l < 0x100) {
		out[0] = 0x81;
		out[1] = (unsigned char)l;
		return 2;
	}
	out[0] = 0x82;
	out[1] = (unsigned char)(l >> 8);
	out[2] = (unsigned char)l;
	return 3;
}

/* OCTET STRING around (p, n). */
size_t
der_octet_string(const unsigned char *p, size_t n, unsigned char *out)
{
	size_t o = 0;

	out[o++] = 0x04;
	o += der_put_len(out + o, n);
	memcpy(out + o, p, n);
	return o + n;
}

/* --- OpenSSL ---------------------------------------------------------------- */

void
diag_openssl(void)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		diag("openssl: %s", buf);
	}
}

static EVP_PKEY *
pkey_from_params(const char *type, OSSL_PARAM_BLD *b)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pk = NULL;

	if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

static EVP_PKEY *
ec_pkey(const char *group, const unsigned char *point, size_t len)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY *pk = NULL;

	if (b &&
	    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
					    group, 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point,
					     len) == 1)
		pk = pkey_from_params("EC", b);
	OSSL_PARAM_BLD_free(b);
	return pk;
}

static EVP_PKEY *
rsa_pkey(const unsigned char *n, size_t nlen, const unsigned char *e,
	 size_t elen)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL);
	BIGNUM *be = BN_bin2bn(e, (int)elen, NULL);
	EVP_PKEY *pk = NULL;

	if (b && bn && be &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be) == 1)
		pk = pkey_from_params("RSA", b);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	return pk;
}

/* The public key of a key-pair object in the module, as OpenSSL sees it. */
EVP_PKEY *
pkey_of(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub)
{
	CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
	unsigned char *a = NULL, *b = NULL;
	CK_ULONG al = 0, bl = 0;
	EVP_PKEY *pk = NULL;
	size_t hdr, len, i;

	if (!get_ulong(s, pub, CKA_KEY_TYPE, &kt))
		return NULL;
	if (kt == CKK_RSA) {
		if (get_attr_alloc(s, pub, CKA_MODULUS, &a, &al) == CKR_OK &&
		    get_attr_alloc(s, pub, CKA_PUBLIC_EXPONENT, &b, &bl) ==
			    CKR_OK)
			pk = rsa_pkey(a, al, b, bl);
	} else if (kt == CKK_EC) {
		if (get_attr_alloc(s, pub, CKA_EC_PARAMS, &a, &al) == CKR_OK &&
		    get_attr_alloc(s, pub, CKA_EC_POINT, &b, &bl) == CKR_OK &&
		    der_tlv(b, bl, 0x04, &hdr, &len)) {
			for (i = 0; i < NELEM(curves); i++)
				if (curves[i].oid_len == al &&
				    memcmp(curves[i].oid, a, al) == 0)
					pk = ec_pkey(curves[i].name, b + hdr,
						     len);
		}
	}
	free(a);
	free(b);
	return pk;
}

const EVP_MD *
md_of(CK_MECHANISM_TYPE hash)
{
	switch (hash) {
	case CKM_SHA_1: return EVP_sha1();
	case CKM_SHA224: return EVP_sha224();
	case CKM_SHA256: return EVP_sha256();
	case CKM_SHA384: return EVP_sha384();
	case CKM_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

CK_RSA_PKCS_MGF_TYPE
mgf_of(CK_MECHANISM_TYPE hash)
{
	switch (hash) {
	case CKM_SHA_1: return CKG_MGF1_SHA1;
	case CKM_SHA224: return CKG_MGF1_SHA224;
	case CKM_SHA256: return CKG_MGF1_SHA256;
	case CKM_SHA384: return CKG_MGF1_SHA384;
	default: return CKG_MGF1_SHA512;
	}
}

size_t
digest(const EVP_MD *md, const void *data, size_t len, unsigned char *out)
{
	unsigned n = 0;

	if (EVP_Digest(data, len, out, &n, md, NULL) != 1)
		return 0;
	return n;
}

/* ECDSA: raw r||s from PKCS#11 checked by OpenSSL over a digest. */
bool
ecdsa_verify(EVP_PKEY *pk, const unsigned char *dgst, size_t dlen,
	     const unsigned char *sig, size_t slen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r, *s;
	unsigned char *der = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int derlen, ok = 0;

	if (es == NULL || slen == 0 || slen % 2)
		goto out;
	r = BN_bin2bn(sig, (int)(slen / 2), NULL);
	s = BN_bin2bn(sig + slen / 2, (int)(slen / 2), NULL);
	if (r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	derlen = i2d_ECDSA_SIG(es, &der);
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	if (derlen > 0 && ctx && EVP_PKEY_verify_init(ctx) == 1)
		ok = EVP_PKEY_verify(ctx, der, (size_t)derlen, dgst, dlen);
out:
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return ok == 1;
}

/* Field size in bytes of an EC key. */
size_t
ec_field_bytes(EVP_PKEY *pk)
{
	return (size_t)(EVP_PKEY_get_bits(pk) + 7) / 8;
}

/* OpenSSL signs dgst with an EC private key; out is raw r||s. */
size_t
ecdsa_sign_raw(EVP_PKEY *pk, const unsigned char *dgst, size_t dlen,
	       unsigned char *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
	unsigned char der[256];
	const unsigned char *p = der;
	size_t derlen = sizeof(der), fb = ec_field_bytes(pk);
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	size_t n = 0;

	if (ctx && EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_sign(ctx, der, &derlen, dgst, dlen) == 1 &&
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) != NULL) {
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, out, (int)fb) > 0 &&
		    BN_bn2binpad(s, out + fb, (int)fb) > 0)
			n = 2 * fb;
	}
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	return n;
}

/* RSA with padding pad (RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING,
 * RSA_NO_PADDING): verify_recover for raw mechanisms, verify otherwise. */
bool
rsa_verify(EVP_PKEY *pk, int pad, const EVP_MD *md, int saltlen,
	   const unsigned char *tbs, size_t tbslen, const unsigned char *sig,
	   size_t siglen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
	int ok = 0;

	if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, pad) != 1)
		goto out;
	if (md && EVP_PKEY_CTX_set_signature_md(ctx, md) != 1)
		goto out;
	if (pad == RSA_PKCS1_PSS_PADDING &&
	    (EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, saltlen) != 1))
		goto out;
	if (md == NULL) {
		unsigned char rec[1024];
		size_t reclen = sizeof(rec);

		EVP_PKEY_CTX_free(ctx);
		ctx = EVP_PKEY_CTX_new(pk, NULL);
		if (ctx == NULL || EVP_PKEY_verify_recover_init(ctx) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(ctx, pad) != 1)
			goto out;
		if (EVP_PKEY_verify_recover(ctx, rec, &reclen, sig, siglen) ==
			    1 &&
		    reclen >= tbslen &&
		    memcmp(rec + reclen - tbslen, tbs, tbslen) == 0) {
			size_t i;

			ok = 1;
			for (i = 0; i < reclen - tbslen; i++)
				if (rec[i] != 0)
					ok = 0;
		}
		goto out;
	}
	ok = EVP_PKEY_verify(ctx, sig, siglen, tbs, tbslen);
out:
	EVP_PKEY_CTX_free(ctx);
	return ok == 1;
}

/* OpenSSL encrypts for the module to decrypt. pad: RSA_PKCS1_PADDING,
 * RSA_PKCS1_OAEP_PADDING (md/mgf1 md, label) or RSA_NO_PADDING. */
size_t
rsa_encrypt(EVP_PKEY *pk, int pad, const EVP_MD *md, const void *label,
	    size_t labellen, const unsigned char *in, size_t inlen,
	    unsigned char *out, size_t cap)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
	size_t n = cap;

	if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, pad) != 1)
		goto fail;
	if (pad == RSA_PKCS1_OAEP_PADDING) {
		if (EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1)
			goto fail;
		if (labellen > 0) {
			void *l = OPENSSL_memdup(label, labellen);

			if (l == NULL ||
			    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l,
							     (int)labellen) != 1) {
				OPENSSL_free(l);
				goto fail;
			}
		}
	}
	if (EVP_PKEY_encrypt(ctx, out, &n, in, inlen) != 1)
		goto fail;
	EVP_PKEY_CTX_free(ctx);
	return n;
fail:
	diag_openssl();
	EVP_PKEY_CTX_free(ctx);
	return 0;
}

EVP_PKEY *
gen_openssl_key(const char *type, const char *group_or_null, unsigned bits)
{
	EVP_PKEY *pk = NULL;

	if (strcmp(type, "EC") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group_or_null);
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	if (pk == NULL)
		diag_openssl();
	return pk;
}

/* Uncompressed point of an OpenSSL EC key. */
size_t
ec_point_of(EVP_PKEY *pk, unsigned char *out, size_t cap)
{
	size_t n = 0;

	if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, out,
					    cap, &n) != 1)
		return 0;
	return n;
}

size_t
bn_param(EVP_PKEY *pk, const char *name, unsigned char *out, size_t cap)
{
	BIGNUM *bn = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
		return 0;
	n = BN_num_bytes(bn);
	if (n <= 0 || (size_t)n > cap) {
		BN_free(bn);
		return 0;
	}
	BN_bn2bin(bn, out);
	BN_free(bn);
	return (size_t)n;
}

const unsigned char digestinfo_sha256[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};
