/* OpenSSH public-key lines, exactly as `ssh-keygen -D` prints them:
 * "<type> <base64 blob> <comment>" (RFC 4253 6.6, RFC 5656 3.1). */
#ifndef TPM11_CRYPTO_SSHKEY_H
#define TPM11_CRYPTO_SSHKEY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/ec.h"

/* "ecdsa-sha2-nistp256 AAAA... comment". x, y are field-length
 * coordinates. comment may be NULL or empty (then no trailing space); a
 * comment holding CR or LF is refused (NULL), as it would split the line.
 * Returns a malloc'd NUL-terminated line without newline, NULL on error. */
char *ssh_pubkey_line_ec(ec_curve c, const uint8_t *x, const uint8_t *y,
			 const char *comment);

/* "ssh-rsa AAAA... comment" from big-endian n and e (leading zeros allowed;
 * mpint encoding is done here). NULL when n or e is zero or, without its
 * leading zeros, longer than OpenSSH's 16384-bit limit; comment as above. */
char *ssh_pubkey_line_rsa(const uint8_t *n, size_t nlen, const uint8_t *e,
			  size_t elen, const char *comment);

#endif
