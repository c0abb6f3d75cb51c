/* A byte string the process owns (a TPM blob, a salt, a Name): the type
 * the store, the TPM layer and attestation pass between them, so that
 * none of them needs another's header for it. */
#ifndef TPM11_UTIL_BLOB_H
#define TPM11_UTIL_BLOB_H

#include "util/check.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint8_t *data;
	size_t len;
} blob;

/* Wipes and frees b's bytes; b is empty after (NULL is fine). */
void blob_free(blob *b);
/* b = a copy of data; 0, or -1 out of memory (b unchanged). */
T11_MUST_CHECK int blob_set(blob *b, const void *data, size_t len);

#endif
