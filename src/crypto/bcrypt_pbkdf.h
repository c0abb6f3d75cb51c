/* bcrypt_pbkdf: the key derivation OpenSSH uses for passphrase-protected
 * private keys (kdfname "bcrypt" in openssh-key-v1). OpenSSL 3 has none,
 * so it is written here from its published description (OpenBSD's
 * bcrypt_pbkdf(3)): SHA-512 and the expensive Blowfish key schedule. */
#ifndef TPM11_CRYPTO_BCRYPT_PBKDF_H
#define TPM11_CRYPTO_BCRYPT_PBKDF_H

#include "util/check.h"

#include <stddef.h>
#include <stdint.h>

/* At most 32 blocks of 32 bytes. */
#define BCRYPT_PBKDF_MAX_OUT 1024

/* keylen bytes derived from the passphrase and salt with rounds rounds
 * into key. 0, or -1 for an empty passphrase or salt, rounds 0, a keylen
 * of 0 or above BCRYPT_PBKDF_MAX_OUT, a salt above 1 MiB, or no memory
 * (key then holds zeros). */
T11_MUST_CHECK int bcrypt_pbkdf(const uint8_t *pass, size_t passlen,
				const uint8_t *salt, size_t saltlen,
				uint8_t *key, size_t keylen, uint32_t rounds)
	__attribute__((warn_unused_result));

/* Blowfish's initial state is the fraction of pi in hex: word i of it
 * (0 <= i < 1042; P-array then the four S-boxes). For the unit tests;
 * 0 when it cannot be computed. */
uint32_t bcrypt_pi_word(size_t i);

#endif
