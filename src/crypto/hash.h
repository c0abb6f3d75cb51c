/* Host-side message digests (OpenSSL 3), with each algorithm fetched once
 * per process: EVP_MD_fetch is expensive and must stay off hot paths. */
#ifndef TPM11_CRYPTO_HASH_H
#define TPM11_CRYPTO_HASH_H

#include "util/check.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
	HASH_NONE = 0,
	HASH_SHA1,
	HASH_SHA224,
	HASH_SHA256,
	HASH_SHA384,
	HASH_SHA512,
} hash_algo;

#define HASH_MAX_LEN 64

/* Digest length in bytes; 0 for HASH_NONE or an unknown value. */
size_t hash_len(hash_algo alg);

/* The hash whose digest length is len (20, 28, 32, 48, 64), else HASH_NONE. */
hash_algo hash_by_len(size_t len);

/* One-shot digest. out must hold hash_len(alg) bytes. 0 on success, -1 on
 * error. */
T11_MUST_CHECK int hash_digest(hash_algo alg, const void *data, size_t len,
			       uint8_t *out);

/* Multi-part digest. */
typedef struct hash_ctx hash_ctx;
hash_ctx *hash_ctx_new(hash_algo alg); /* NULL on error */
T11_MUST_CHECK int hash_ctx_update(hash_ctx *c, const void *data, size_t len);
T11_MUST_CHECK int hash_ctx_final(
	hash_ctx *c, uint8_t *out); /* then the ctx may only be freed */
void hash_ctx_free(hash_ctx *c);

/* ANSI X9.63 KDF (OpenSSL's "X963KDF") with hash alg over the shared
 * secret z and the shared info: outlen bytes into out. 0 on success, -1 on
 * error. */
T11_MUST_CHECK int hash_x963_kdf(hash_algo alg, const uint8_t *z, size_t zlen,
				 const uint8_t *info, size_t ilen, uint8_t *out,
				 size_t outlen);

#endif
