/* OpenSSH's private-key format, openssh-key-v1 (PROTOCOL.key in
 * OpenSSH), unencrypted or protected by a passphrase (bcrypt_pbkdf and
 * the ciphers ssh-keygen -Z offers). */
#ifndef TPM11_CRYPTO_SSHPRIV_H
#define TPM11_CRYPTO_SSHPRIV_H

#include "util/check.h"

#include <stddef.h>
#include <stdint.h>

#include "crypto/privkey.h"

/* The decoded body of a "-----BEGIN OPENSSH PRIVATE KEY-----" block;
 * pass[passlen] opens an encrypted one (NULL: none at hand). 0, -1 with
 * a sentence in err, PRIVKEY_NEED_PASSPHRASE (encrypted and pass NULL)
 * or PRIVKEY_WRONG_PASSPHRASE. */
T11_MUST_CHECK int sshpriv_parse(const uint8_t *blob, size_t len,
				 const char *pass, size_t passlen, privkey *out,
				 char *err, size_t errlen);

#endif
