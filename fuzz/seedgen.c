/* seedgen: writes seed inputs for the fuzz targets whose input is an
 * encoding of our own (fuzz_template, fuzz_module), and the DER values
 * fuzz_der starts from, taking real data from the files it is given.
 *
 *   seedgen OUTDIR [ATTRS...]
 *
 * ATTRS are stored attribute records (the attrs column of a store made by
 * `tpm11 addkey`, see make-corpus.sh). From each: a fuzz_template seed
 * that hands the key's own attributes back as a template, and its
 * CKA_EC_PARAMS / CKA_EC_POINT values as fuzz_der seeds. The fuzz_module
 * seeds are the calls an application makes (pkcs11-tool, ssh, a TLS
 * library) against the fuzz store of fuzz_store.h; the ECDSA one carries a
 * signature made here with that store's key, so C_Verify succeeds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "attr/attr.h"
#include "crypto/ec.h"
#include "fuzz_input.h"
#include "fuzz_module.h"
#include "fuzz_store.h"

static const char *outdir;
static int nwritten;

static void
save(const char *target, const char *name, const fz_writer *w)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	if (fz_writer_save(w, path) != 0) {
		fprintf(stderr, "seedgen: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	nwritten++;
}

static void
save_raw(const char *target, const char *name, const void *p, size_t n)
{
	fz_writer w = {0};

	fz_put_bytes(&w, p, n);
	save(target, name, &w);
	fz_writer_free(&w);
}

/* --- encoders matching fuzz_module's decoders --------------------------- */

/* A template of n attributes given as (type, value, len) triples. */
static void
put_template(fz_writer *w, const CK_ATTRIBUTE *a, size_t n)
{
	size_t i;

	fz_put_u8(w, (uint8_t)n);
	for (i = 0; i < n; i++)
		fz_put_attr(w, a[i].type, a[i].pValue, a[i].ulValueLen);
}

/* pick_session: index 0, the first session opened. */
#define SESSION0 0x00
static uint8_t
object_sel(int id)
{
	return (uint8_t)(id - 1); /* the pool starts with ids 1..FZ_OBJ_COUNT */
}

/* fz_buf_decode: a buffer of len bytes. */
static void
put_buf(fz_writer *w, const void *p, size_t len)
{
	if (len > 255) {
		fz_put_u8(w, 3);
		fz_put_u16(w, (uint16_t)len);
	} else {
		fz_put_u8(w, 2);
		fz_put_u8(w, (uint8_t)len);
	}
	fz_put_bytes(w, p, len);
}

/* out_buf: a buffer of len bytes with these contents (or zeros). */
static void
put_out(fz_writer *w, const void *p, size_t len)
{
	uint8_t zero[1024] = {0};

	fz_put_u8(w, 1);
	fz_put_u16(w, (uint16_t)len);
	fz_put_bytes(w, p ? p : zero, len);
}

static void
put_open(fz_writer *w, bool rw)
{
	fz_put_u8(w, FZ_OP_OPEN);
	fz_put_u8(w, 1); /* slot: the "fuzz" token */
	fz_put_u8(w, rw ? 1 : 0);
}

static void
put_mech_pss(fz_writer *w, CK_MECHANISM_TYPE m, uint8_t hash_idx,
	     uint8_t mgf_idx, uint8_t slen)
{
	fz_put_mech_type(w, m);
	fz_put_u8(w, FZ_PAR_PSS);
	fz_put_u8(w, hash_idx);
	fz_put_u8(w, mgf_idx);
	fz_put_u8(w, slen); /* fz_slen: < 0xc0 is the value itself */
}

static void
put_mech_plain(fz_writer *w, CK_MECHANISM_TYPE m)
{
	fz_put_mech_type(w, m);
	fz_put_u8(w, FZ_PAR_NONE);
}

static void
put_init(fz_writer *w, int which, int key)
{
	fz_put_u8(w, FZ_OP_INIT);
	fz_put_u8(w, (uint8_t)which);
	fz_put_u8(w, SESSION0);
	fz_put_u8(w, object_sel(key));
}

static void
put_run(fz_writer *w, int which, const void *in, size_t inlen,
	const void *out, size_t outlen)
{
	fz_put_u8(w, FZ_OP_RUN);
	fz_put_u8(w, (uint8_t)which);
	fz_put_u8(w, SESSION0);
	put_buf(w, in, inlen);
	put_out(w, out, outlen);
}

/* ECDSA with the fuzz store's P-256 key: r||s over digest. */
static int
ecdsa_sign_p256(const uint8_t digest[32], uint8_t rs[64])
{
	uint8_t d[32], x[32], y[32], pt[65], der[80];
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL), *sctx = NULL;
	EVP_PKEY *k = NULL;
	BIGNUM *bd;
	ECDSA_SIG *sig = NULL;
	const unsigned char *p;
	size_t dlen = sizeof(der);
	int r = -1;

	fz_ec_scalar(CURVE_P256, d);
	if (fz_ec_point(CURVE_P256, x, y) != 0)
		return -1;
	pt[0] = 4;
	memcpy(pt + 1, x, 32);
	memcpy(pt + 33, y, 32);
	bd = BN_bin2bn(d, 32, NULL);
	if (b && ctx && bd &&
	    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
					    "prime256v1", 0) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, bd) &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt,
					     sizeof(pt)) &&
	    (params = OSSL_PARAM_BLD_to_param(b)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) > 0 &&
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, params) > 0 &&
	    (sctx = EVP_PKEY_CTX_new(k, NULL)) != NULL &&
	    EVP_PKEY_sign_init(sctx) > 0 &&
	    EVP_PKEY_sign(sctx, der, &dlen, digest, 32) > 0) {
		p = der;
		if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) != NULL &&
		    BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32) == 32 &&
		    BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32) == 32)
			r = 0;
	}
	ECDSA_SIG_free(sig);
	EVP_PKEY_CTX_free(sctx);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(k);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	BN_free(bd);
	return r;
}

/* --- fuzz_module seeds ------------------------------------------------------ */

/* Exits when a helper that builds a seed fails (it never should). */
static void
need(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "seedgen: %s failed\n", what);
		exit(1);
	}
}

static void
module_seeds(void)
{
	static const uint8_t msg[] = "hello from a tpm11 seed";
	uint8_t digest[32], rs[64], label[32];
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY, data = CKO_DATA,
			pubc = CKO_PUBLIC_KEY;
	CK_KEY_TYPE ec = CKK_EC, rsa = CKK_RSA;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = 2048;
	uint8_t id1 = 1, e[3] = {1, 0, 1};
	uint8_t params[16], x[32], y[32], point[80];
	size_t plen, ptlen;
	fz_writer w = {0};

	SHA256(msg, sizeof(msg) - 1, digest);
	need(ec_params_der(CURVE_P256, params, sizeof(params), &plen),
	     "ec_params_der");
	fz_ec_point(CURVE_P256, x, y);
	need(ec_point_der(CURVE_P256, x, 32, y, 32, point, sizeof(point),
			  &ptlen),
	     "ec_point_der");

	/* pkcs11-tool -O: every object, then its attributes. */
	{
		CK_ATTRIBUTE get[] = {
			{CKA_CLASS, NULL, 0}, {CKA_LABEL, NULL, 0},
			{CKA_ID, NULL, 0}, {CKA_EC_POINT, NULL, 0},
			{CKA_MODULUS, NULL, 0}, {CKA_PRIVATE_EXPONENT, NULL, 0},
			{CKA_VALUE, NULL, 0},
		};
		size_t i;

		fz_put_u8(&w, 0);
		put_open(&w, false);
		fz_put_u8(&w, FZ_OP_FIND);
		fz_put_u8(&w, FZ_FIND_INIT);
		fz_put_u8(&w, SESSION0);
		fz_put_u8(&w, 0); /* empty template */
		fz_put_u8(&w, FZ_OP_FIND);
		fz_put_u8(&w, FZ_FIND_FIND);
		fz_put_u8(&w, SESSION0);
		fz_put_u8(&w, 19);
		fz_put_u8(&w, 0);
		fz_put_u8(&w, FZ_OP_FIND);
		fz_put_u8(&w, FZ_FIND_FINAL);
		fz_put_u8(&w, SESSION0);
		for (int o = 1; o <= FZ_OBJ_COUNT; o += 4) {
			/* Length query, then the values. */
			fz_put_u8(&w, FZ_OP_GET_ATTRS);
			fz_put_u8(&w, SESSION0);
			fz_put_u8(&w, object_sel(o));
			fz_put_u8(&w, (uint8_t)(sizeof(get) / sizeof(get[0])));
			for (i = 0; i < sizeof(get) / sizeof(get[0]); i++) {
				fz_put_attr_type(&w, get[i].type);
				fz_put_u8(&w, FZ_VAL_NULL_0);
			}
			fz_put_u8(&w, FZ_OP_GET_ATTRS);
			fz_put_u8(&w, SESSION0);
			fz_put_u8(&w, object_sel(o));
			fz_put_u8(&w, 3);
			fz_put_attr_type(&w, CKA_LABEL);
			fz_put_u8(&w, FZ_VAL_LEN8);
			fz_put_u8(&w, 32);
			fz_put_bytes(&w, label, 0);
			fz_put_attr_type(&w, CKA_EC_POINT);
			fz_put_u8(&w, FZ_VAL_LEN8);
			fz_put_u8(&w, 67);
			fz_put_attr_type(&w, CKA_KEY_TYPE);
			fz_put_u8(&w, FZ_VAL_NATURAL);
		}
		save("fuzz_module", "list-objects", &w);
		fz_writer_free(&w);
	}

	/* ssh: find the private keys by class, sign with RSA-PSS and ECDSA
	 * (the TPM is absent: CKR_DEVICE_ERROR), verify on the public keys. */
	{
		CK_ATTRIBUTE t[] = {{CKA_CLASS, &priv, sizeof(priv)},
				    {CKA_ID, &id1, 1}};

		fz_put_u8(&w, 0);
		put_open(&w, false);
		fz_put_u8(&w, FZ_OP_FIND);
		fz_put_u8(&w, FZ_FIND_INIT);
		fz_put_u8(&w, SESSION0);
		put_template(&w, t, 1);
		put_init(&w, FZ_INIT_SIGN, FZ_OBJ_RSA2048_PRIV);
		put_mech_pss(&w, CKM_RSA_PKCS_PSS, 2, 2, 32);
		put_run(&w, FZ_RUN_SIGN, digest, 32, NULL, 256);
		put_init(&w, FZ_INIT_SIGN, FZ_OBJ_EC384_PRIV);
		put_mech_plain(&w, CKM_ECDSA_SHA384);
		put_run(&w, FZ_RUN_SIGN_UPDATE, msg, sizeof(msg) - 1, NULL, 0);
		put_run(&w, FZ_RUN_SIGN_FINAL, NULL, 0, NULL, 96);
		save("fuzz_module", "sign-pss-ecdsa", &w);
		fz_writer_free(&w);
	}
	{
		fz_put_u8(&w, 0);
		put_open(&w, false);
		put_init(&w, FZ_INIT_VERIFY, FZ_OBJ_RSA2048_PUB);
		put_mech_pss(&w, CKM_SHA256_RSA_PKCS_PSS, 2, 2, 32);
		put_run(&w, FZ_RUN_VERIFY, msg, sizeof(msg) - 1, NULL, 256);
		put_init(&w, FZ_INIT_VERIFY, FZ_OBJ_RSA2048_PUB);
		put_mech_plain(&w, CKM_SHA256_RSA_PKCS);
		put_run(&w, FZ_RUN_VERIFY_UPDATE, msg, sizeof(msg) - 1, NULL, 0);
		put_run(&w, FZ_RUN_VERIFY_FINAL, NULL, 0, NULL, 256);
		save("fuzz_module", "verify-rsa", &w);
		fz_writer_free(&w);
	}
	if (ecdsa_sign_p256(digest, rs) == 0) {
		fz_put_u8(&w, 0);
		put_open(&w, false);
		put_init(&w, FZ_INIT_VERIFY, FZ_OBJ_EC256_PUB);
		put_mech_plain(&w, CKM_ECDSA);
		put_run(&w, FZ_RUN_VERIFY, digest, 32, rs, 64);
		put_init(&w, FZ_INIT_VERIFY, FZ_OBJ_EC256_PUB);
		put_mech_plain(&w, CKM_ECDSA_SHA256);
		put_run(&w, FZ_RUN_VERIFY, msg, sizeof(msg) - 1, rs, 64);
		save("fuzz_module", "verify-ecdsa-valid", &w);
		fz_writer_free(&w);
	}

	/* Regression: PSS salt lengths near ULONG_MAX wrap sLen + hLen + 2
	 * around in mech_pss_params (src/pkcs11/sign.c) and were accepted;
	 * cast to int for OpenSSL they become -1 (salt = digest length) and
	 * -2 (any salt length). PKCS#11 names CKR_MECHANISM_PARAM_INVALID. */
	{
		fz_put_u8(&w, 0);
		put_open(&w, false);
		put_init(&w, FZ_INIT_VERIFY, FZ_OBJ_RSA2048_PUB);
		put_mech_pss(&w, CKM_RSA_PKCS_PSS, 2, 2, 0xfe);
		fz_put_u8(&w, 1); /* fz_slen 0xfe: ULONG_MAX - 1 */
		put_run(&w, FZ_RUN_VERIFY, digest, 32, NULL, 256);
		put_init(&w, FZ_INIT_SIGN, FZ_OBJ_RSA2048_PRIV);
		put_mech_pss(&w, CKM_SHA256_RSA_PKCS_PSS, 2, 2, 0xd0);
		put_run(&w, FZ_RUN_SIGN, msg, sizeof(msg) - 1, NULL, 256);
		save("fuzz_module", "pss-slen-wrap", &w);
		fz_writer_free(&w);
	}

	/* RSA decryption with OAEP and a label; digests. */
	{
		uint8_t ct[256];

		memset(ct, 0x42, sizeof(ct));
		fz_put_u8(&w, 0);
		put_open(&w, false);
		put_init(&w, FZ_INIT_DECRYPT, FZ_OBJ_RSA2048_PRIV);
		fz_put_mech_type(&w, CKM_RSA_PKCS_OAEP);
		fz_put_u8(&w, FZ_PAR_OAEP);
		fz_put_u8(&w, 2);    /* SHA-256 */
		fz_put_u8(&w, 2);    /* MGF1-SHA-256 */
		fz_put_u8(&w, 1);    /* CKZ_DATA_SPECIFIED */
		put_buf(&w, "label", 5);
		put_run(&w, FZ_RUN_DECRYPT, ct, sizeof(ct), NULL, 256);
		put_init(&w, FZ_INIT_DIGEST, FZ_OBJ_DATA);
		put_mech_plain(&w, CKM_SHA256);
		put_run(&w, FZ_RUN_DIGEST, msg, sizeof(msg) - 1, NULL, 32);
		save("fuzz_module", "decrypt-digest", &w);
		fz_writer_free(&w);
	}

	/* Session and token objects: create, copy, relabel, destroy. */
	{
		CK_ATTRIBUTE d[] = {
			{CKA_CLASS, &data, sizeof(data)}, {CKA_TOKEN, &no, 1},
			{CKA_LABEL, "note", 4}, {CKA_VALUE, "abc", 3},
		};
		CK_ATTRIBUTE pk[] = {
			{CKA_CLASS, &pubc, sizeof(pubc)}, {CKA_KEY_TYPE, &ec, sizeof(ec)},
			{CKA_TOKEN, &yes, 1}, {CKA_EC_PARAMS, params, plen},
			{CKA_EC_POINT, point, ptlen}, {CKA_LABEL, "imported", 8},
		};
		CK_ATTRIBUTE lab[] = {{CKA_LABEL, "renamed", 7}};

		fz_put_u8(&w, 0);
		put_open(&w, true);
		fz_put_u8(&w, FZ_OP_SET_ATTRS);
		fz_put_u8(&w, FZ_SET_CREATE);
		fz_put_u8(&w, SESSION0);
		fz_put_u8(&w, 0);
		put_template(&w, d, 4);
		fz_put_u8(&w, FZ_OP_SET_ATTRS);
		fz_put_u8(&w, FZ_SET_CREATE);
		fz_put_u8(&w, SESSION0);
		fz_put_u8(&w, 0);
		put_template(&w, pk, 6);
		fz_put_u8(&w, FZ_OP_SET_ATTRS);
		fz_put_u8(&w, FZ_SET_SET);
		fz_put_u8(&w, SESSION0);
		fz_put_u8(&w, object_sel(FZ_OBJ_EC256_PUB));
		put_template(&w, lab, 1);
		fz_put_u8(&w, FZ_OP_SET_ATTRS);
		fz_put_u8(&w, FZ_SET_COPY);
		fz_put_u8(&w, SESSION0);
		fz_put_u8(&w, FZ_OBJ_COUNT + 3); /* first created object */
		put_template(&w, lab, 1);
		fz_put_u8(&w, FZ_OP_SET_ATTRS);
		fz_put_u8(&w, FZ_SET_DESTROY);
		fz_put_u8(&w, SESSION0);
		fz_put_u8(&w, object_sel(FZ_OBJ_EC256_PUB));
		save("fuzz_module", "objects", &w);
		fz_writer_free(&w);
	}

	/* Key generation templates (refused: no login, no TPM). */
	{
		CK_ATTRIBUTE pub[] = {
			{CKA_TOKEN, &yes, 1}, {CKA_VERIFY, &yes, 1},
			{CKA_EC_PARAMS, params, plen}, {CKA_LABEL, "new", 3},
		};
		CK_ATTRIBUTE rpub[] = {
			{CKA_MODULUS_BITS, &bits, sizeof(bits)},
			{CKA_PUBLIC_EXPONENT, e, 3}, {CKA_KEY_TYPE, &rsa, sizeof(rsa)},
		};
		CK_ATTRIBUTE prv[] = {
			{CKA_TOKEN, &yes, 1}, {CKA_SIGN, &yes, 1},
			{CKA_SENSITIVE, &yes, 1}, {CKA_PRIVATE, &yes, 1},
		};

		fz_put_u8(&w, 0);
		put_open(&w, true);
		fz_put_u8(&w, FZ_OP_KEYGEN);
		fz_put_u8(&w, SESSION0);
		fz_put_u8(&w, 0);
		put_mech_plain(&w, CKM_EC_KEY_PAIR_GEN);
		put_template(&w, pub, 4);
		put_template(&w, prv, 4);
		fz_put_u8(&w, FZ_OP_KEYGEN);
		fz_put_u8(&w, SESSION0);
		fz_put_u8(&w, 0);
		put_mech_plain(&w, CKM_RSA_PKCS_KEY_PAIR_GEN);
		put_template(&w, rpub, 3);
		put_template(&w, prv, 4);
		save("fuzz_module", "keygen", &w);
		fz_writer_free(&w);
	}

	/* Login, PINs, a token on the empty slot, random numbers. */
	{
		memset(label, ' ', sizeof(label));
		memcpy(label, "new token", 9);
		fz_put_u8(&w, 0);
		put_open(&w, true);
		fz_put_u8(&w, FZ_OP_LOGIN);
		fz_put_u8(&w, 0); /* C_Login */
		fz_put_u8(&w, SESSION0);
		fz_put_u8(&w, 0); /* CKU_USER */
		put_buf(&w, "123456", 6);
		fz_put_u8(&w, FZ_OP_LOGIN);
		fz_put_u8(&w, 0);
		fz_put_u8(&w, SESSION0);
		fz_put_u8(&w, 1); /* CKU_SO */
		put_buf(&w, "12", 2);
		fz_put_u8(&w, FZ_OP_PINS);
		fz_put_u8(&w, 0); /* C_InitToken */
		fz_put_u8(&w, 0); /* slot 0 */
		fz_put_u8(&w, SESSION0);
		put_buf(&w, "so-pin-1234", 11);
		put_buf(&w, "", 0);
		fz_put_bytes(&w, label, sizeof(label));
		fz_put_u8(&w, FZ_OP_PINS);
		fz_put_u8(&w, 2); /* C_SetPIN */
		fz_put_u8(&w, 1);
		fz_put_u8(&w, SESSION0);
		put_buf(&w, "123456", 6);
		put_buf(&w, "654321", 6);
		fz_put_u8(&w, FZ_OP_MISC);
		fz_put_u8(&w, 0); /* C_GenerateRandom */
		fz_put_u8(&w, SESSION0);
		put_buf(&w, label, 16);
		fz_put_u8(&w, 2);
		fz_put_u8(&w, 40);
		save("fuzz_module", "login-pins", &w);
		fz_writer_free(&w);
	}

	/* The application's own mutexes; functions after C_Finalize. */
	{
		fz_put_u8(&w, FZ_SETUP_NO_INIT);
		fz_put_u8(&w, FZ_OP_LISTS);
		fz_put_u8(&w, 1);
		fz_put_u8(&w, 4);
		fz_put_u8(&w, 0);
		fz_put_u8(&w, 1);
		fz_put_u8(&w, FZ_OP_INITIALIZE);
		fz_put_u8(&w, 3);
		fz_put_u8(&w, FZ_OP_LISTS);
		fz_put_u8(&w, 1);
		fz_put_u8(&w, 4);
		fz_put_u8(&w, 0);
		fz_put_u8(&w, 1);
		put_open(&w, false);
		fz_put_u8(&w, FZ_OP_INFO);
		fz_put_u8(&w, 2); /* C_GetTokenInfo */
		fz_put_u8(&w, 0);
		fz_put_u8(&w, 1);
		fz_put_u8(&w, FZ_OP_FINALIZE);
		fz_put_u8(&w, 0);
		put_open(&w, false);
		save("fuzz_module", "init-mutexes", &w);
		fz_writer_free(&w);
	}
}

/* --- fuzz_template seeds ----------------------------------------------------- */

static void
template_seeds(void)
{
	uint8_t params[16];
	size_t plen;
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
	CK_KEY_TYPE ec = CKK_EC;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG four = 4;
	fz_writer w = {0};

	need(ec_params_der(CURVE_P256, params, sizeof(params), &plen),
	     "ec_params_der");
	{
		CK_ATTRIBUTE t[] = {
			{CKA_CLASS, &priv, sizeof(priv)}, {CKA_KEY_TYPE, &ec, sizeof(ec)},
			{CKA_TOKEN, &yes, 1}, {CKA_SIGN, &yes, 1},
			{CKA_EC_PARAMS, params, plen}, {CKA_LABEL, "ssh", 3},
		};
		CK_ATTRIBUTE q[] = {{CKA_CLASS, &priv, sizeof(priv)},
				    {CKA_LABEL, "ssh", 3}};

		put_template(&w, t, 6);
		put_template(&w, q, 2);
		save("fuzz_template", "keygen-ec", &w);
		fz_writer_free(&w);
	}
	/* CKR_ARGUMENTS_BAD: NULL pValue with a length. */
	fz_put_u8(&w, 2);
	fz_put_attr(&w, CKA_LABEL, "x", 1);
	fz_put_attr_type(&w, CKA_ID);
	fz_put_u8(&w, FZ_VAL_NULL_LEN);
	fz_put_u8(&w, 20);
	save("fuzz_template", "null-value-with-length", &w);
	fz_writer_free(&w);
	/* CKR_ATTRIBUTE_VALUE_INVALID: a bool of four bytes. */
	fz_put_u8(&w, 1);
	fz_put_attr(&w, CKA_TOKEN, &four, 4);
	save("fuzz_template", "bool-of-four-bytes", &w);
	fz_writer_free(&w);
	/* CKR_TEMPLATE_INCONSISTENT: the same bool twice, different. */
	fz_put_u8(&w, 3);
	fz_put_attr_bool(&w, CKA_SIGN, true);
	fz_put_attr(&w, CKA_ID, "\x01", 1);
	fz_put_attr(&w, CKA_SIGN, &no, 1);
	save("fuzz_template", "conflicting-duplicates", &w);
	fz_writer_free(&w);
	/* A NULL template with a huge count; unknown and vendor types. */
	fz_put_u8(&w, 0xff);
	fz_put_u8(&w, 12); /* fz_huge: ULONG_MAX */
	save("fuzz_template", "null-huge-count", &w);
	fz_writer_free(&w);
	fz_put_u8(&w, 3);
	fz_put_attr(&w, CKA_VENDOR_DEFINED | 0x1234, "v", 1);
	fz_put_attr(&w, 0x7ffffffe, "", 0);
	fz_put_attr_ulong(&w, CKA_MODULUS_BITS, 2048);
	save("fuzz_template", "unknown-types", &w);
	fz_writer_free(&w);
}

/* From a real stored record: its attributes as a template, and its EC
 * values for fuzz_der. */
static void
record_seeds(const char *path, int n)
{
	uint8_t buf[65536];
	char name[64];
	size_t len, i;
	attr_list l;
	fz_writer w = {0};
	const CK_ATTRIBUTE *a;
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		fprintf(stderr, "seedgen: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (attr_list_deserialise(buf, len, &l) != 0) {
		fprintf(stderr, "seedgen: %s: not a stored attribute record\n",
			path);
		exit(1);
	}
	fz_put_u8(&w, (uint8_t)(l.n > FZ_MAX_ATTRS ? FZ_MAX_ATTRS : l.n));
	for (i = 0; i < l.n && i < FZ_MAX_ATTRS; i++)
		fz_put_attr(&w, l.v[i].type, l.v[i].pValue, l.v[i].ulValueLen);
	fz_put_u8(&w, 2);
	if ((a = attr_find(&l, CKA_CLASS)) != NULL)
		fz_put_attr(&w, a->type, a->pValue, a->ulValueLen);
	if ((a = attr_find(&l, CKA_ID)) != NULL)
		fz_put_attr(&w, a->type, a->pValue, a->ulValueLen);
	snprintf(name, sizeof(name), "record-%d", n);
	save("fuzz_template", name, &w);
	fz_writer_free(&w);

	if ((a = attr_find(&l, CKA_EC_PARAMS)) != NULL) {
		snprintf(name, sizeof(name), "ec-params-%d", n);
		save_raw("fuzz_der", name, a->pValue, a->ulValueLen);
	}
	if ((a = attr_find(&l, CKA_EC_POINT)) != NULL) {
		snprintf(name, sizeof(name), "ec-point-der-%d", n);
		save_raw("fuzz_der", name, a->pValue, a->ulValueLen);
		if (a->ulValueLen > 2) { /* the bare 04||X||Y form */
			snprintf(name, sizeof(name), "ec-point-bare-%d", n);
			save_raw("fuzz_der", name, (uint8_t *)a->pValue + 2,
				 a->ulValueLen - 2);
		}
	}
	attr_list_clear(&l);
}

int
main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: seedgen OUTDIR [ATTRS...]\n");
		return 2;
	}
	outdir = argv[1];
	mkdir(outdir, 0755);
	module_seeds();
	template_seeds();
	for (i = 2; i < argc; i++)
		record_seeds(argv[i], i - 1);
	fprintf(stderr, "seedgen: %d seeds in %s\n", nwritten, outdir);
	return 0;
}
