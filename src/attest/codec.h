/* Text encodings of binary fields in attestation files: hex, base64
 * (RFC 4648 section 4, with padding) and base64url (section 5, without
 * padding, as ACME and WebAuthn use it). Decoders are strict: a character
 * outside the alphabet, bad padding or stray bits are errors. */
#ifndef TPM11_ATTEST_CODEC_H
#define TPM11_ATTEST_CODEC_H

#include "util/check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lower-case hex, malloc'd and NUL-terminated; NULL when out of memory. */
char *hex_encode(const uint8_t *in, size_t len);
/* Hex (either case) of exactly 2*len digits into a malloc'd buffer. 0 ok,
 * -1 on a bad digit or odd length. An empty string gives len 0. */
T11_MUST_CHECK int hex_decode_alloc(const char *s, uint8_t **out, size_t *len);

/* base64 (url: base64url without padding), malloc'd, NUL-terminated. */
char *b64_encode(const uint8_t *in, size_t len, bool url);
/* Decodes base64 (padding required) or base64url (padding refused). 0 ok,
 * -1 on any malformation. *out is malloc'd (also for len 0). */
T11_MUST_CHECK int b64_decode(const char *s, size_t slen, bool url,
			      uint8_t **out, size_t *len);

#endif
