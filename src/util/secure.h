/* Secrets in memory: wipe before free, compare in constant time. */
#ifndef TPM11_UTIL_SECURE_H
#define TPM11_UTIL_SECURE_H

#include <stddef.h>

void secure_zero(void *p, size_t n);
/* Wipes n bytes at p, then frees p. NULL is fine. */
void secure_free(void *p, size_t n);
/* Wipes a NUL-terminated string, then frees it. NULL is fine. */
void secure_free_str(char *s);
/* 0 when equal; time depends only on n. */
int secure_memcmp(const void *a, const void *b, size_t n);

#endif
