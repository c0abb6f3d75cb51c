/* OpenSSH's private-key format, openssh-key-v1 (PROTOCOL.key in
 * OpenSSH), unencrypted keys only. */
#ifndef TPM11_CRYPTO_SSHPRIV_H
#define TPM11_CRYPTO_SSHPRIV_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/privkey.h"

/* The decoded body of a "-----BEGIN OPENSSH PRIVATE KEY-----" block.
 * 0, or -1 with a sentence in err. */
int sshpriv_parse(const uint8_t *blob, size_t len, privkey *out, char *err,
		  size_t errlen);

#endif
