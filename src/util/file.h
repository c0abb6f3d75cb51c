/* Whole files in and out: the tool's inputs and outputs, and the
 * verifier's challenge state. */
#ifndef TPM11_UTIL_FILE_H
#define TPM11_UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The largest file read: attestation files, certificates, keys. */
#define FILE_READ_MAX (1 << 20)

/* A file (or stdin for "-"), at most FILE_READ_MAX bytes, NUL-terminated
 * (*out malloc'd). -1 with a sentence naming the file in err. */
int file_read(const char *path, uint8_t **out, size_t *len, char *err,
	      size_t errlen);
/* Writes data to path (or stdout for NULL / "-"); mode for new files. A
 * regular file is replaced through a temporary in the same directory, so
 * a reader never sees half of it; anything else that exists (/dev/null, a
 * pipe) is written in place, never replaced. -1 with a sentence in err. */
int file_write(const char *path, const void *data, size_t len, mode_t mode,
	       char *err, size_t errlen);

#endif
