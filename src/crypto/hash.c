/* Host-side message digests over OpenSSL 3 EVP.
 *
 * Every EVP_MD is fetched once per process, the first time any digest is
 * asked for, and kept until exit. An implicit fetch (EVP_sha256() passed to
 * EVP_DigestInit_ex) goes through the provider store on every call and costs
 * far more than hashing a digest-sized input. pthread_once makes the first
 * use thread-safe; afterwards the table is only read. */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "crypto/hash.h"

struct hash_ctx {
	EVP_MD_CTX *md_ctx;
	size_t len;
	int finished; /* hash_ctx_final() was called */
};

static const struct {
	hash_algo alg;
	const char *name; /* OpenSSL 3 fetch name */
	size_t len;
} hash_table[] = {
	{HASH_SHA1, "SHA1", 20},       {HASH_SHA224, "SHA2-224", 28},
	{HASH_SHA256, "SHA2-256", 32}, {HASH_SHA384, "SHA2-384", 48},
	{HASH_SHA512, "SHA2-512", 64},
};
#define HASH_TABLE_N (sizeof(hash_table) / sizeof(hash_table[0]))

static pthread_once_t hash_once = PTHREAD_ONCE_INIT;
/* Written only inside hash_fetch_all(); read-only after pthread_once. */
static EVP_MD *hash_mds[HASH_TABLE_N];

static void
hash_fetch_all(void)
{
	size_t i;

	/* A fetch that fails (e.g. SHA-1 absent from a restricted provider
	 * configuration) leaves NULL; only that algorithm is unavailable. */
	for (i = 0; i < HASH_TABLE_N; i++)
		hash_mds[i] = EVP_MD_fetch(NULL, hash_table[i].name, NULL);
}

static int
hash_index(hash_algo alg)
{
	size_t i;

	for (i = 0; i < HASH_TABLE_N; i++)
		if (hash_table[i].alg == alg)
			return (int)i;
	return -1;
}

/* The cached EVP_MD for alg, NULL if unknown or unavailable. */
static const EVP_MD *
hash_md(hash_algo alg)
{
	int i;

	if ((i = hash_index(alg)) < 0)
		return NULL;
	if (pthread_once(&hash_once, hash_fetch_all) != 0)
		return NULL;
	return hash_mds[i];
}

size_t
hash_len(hash_algo alg)
{
	int i;

	if ((i = hash_index(alg)) < 0)
		return 0;
	return hash_table[i].len;
}

hash_algo
hash_by_len(size_t len)
{
	size_t i;

	for (i = 0; i < HASH_TABLE_N; i++)
		if (hash_table[i].len == len)
			return hash_table[i].alg;
	return HASH_NONE;
}

int
hash_digest(hash_algo alg, const void *data, size_t len, uint8_t *out)
{
	const EVP_MD *md;
	EVP_MD_CTX *ctx = NULL;
	unsigned int olen = 0;
	int r = -1;

	if (out == NULL || (data == NULL && len != 0))
		return -1;
	if ((md = hash_md(alg)) == NULL)
		return -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, data, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &olen) != 1)
		goto out;
	if (olen != hash_len(alg))
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(ctx); /* cleanses the digest state */
	return r;
}

hash_ctx *
hash_ctx_new(hash_algo alg)
{
	const EVP_MD *md;
	hash_ctx *c;

	if ((md = hash_md(alg)) == NULL)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->len = hash_len(alg);
	if ((c->md_ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex2(c->md_ctx, md, NULL) != 1) {
		hash_ctx_free(c);
		return NULL;
	}
	return c;
}

int
hash_ctx_update(hash_ctx *c, const void *data, size_t len)
{
	if (c == NULL || c->md_ctx == NULL || c->finished ||
	    (data == NULL && len != 0))
		return -1;
	if (EVP_DigestUpdate(c->md_ctx, data, len) != 1)
		return -1;
	return 0;
}

int
hash_ctx_final(hash_ctx *c, uint8_t *out)
{
	unsigned int olen = 0;

	if (c == NULL || c->md_ctx == NULL || c->finished || out == NULL)
		return -1;
	c->finished = 1;
	if (EVP_DigestFinal_ex(c->md_ctx, out, &olen) != 1 || olen != c->len)
		return -1;
	return 0;
}

void
hash_ctx_free(hash_ctx *c)
{
	if (c == NULL)
		return;
	EVP_MD_CTX_free(c->md_ctx);
	free(c);
}

int
hash_x963_kdf(hash_algo alg, const uint8_t *z, size_t zlen, const uint8_t *info,
	      size_t ilen, uint8_t *out, size_t outlen)
{
	int i = hash_index(alg), rc = -1;
	EVP_KDF *kdf;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM p[4], *q = p;

	if (i < 0 || outlen == 0)
		return -1;
	if ((kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_X963KDF, NULL)) == NULL)
		return -1;
	*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)hash_table[i].name, 0);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z,
						 zlen);
	if (ilen > 0)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
							 (void *)info, ilen);
	*q = OSSL_PARAM_construct_end();
	if ((ctx = EVP_KDF_CTX_new(kdf)) != NULL &&
	    EVP_KDF_derive(ctx, out, outlen, p) == 1)
		rc = 0;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}
