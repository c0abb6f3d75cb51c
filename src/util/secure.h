/* Secrets in memory: wipe before free, compare in constant time. */
#ifndef TPM11_UTIL_SECURE_H
#define TPM11_UTIL_SECURE_H

#include <stddef.h>

void secure_zero(void *p, size_t n);
/* Wipes n bytes at p, then frees p. NULL is fine. */
void secure_free(void *p, size_t n);
/* Wipes a NUL-terminated string, then frees it. NULL is fine. */
void secure_free_str(char *s);
/* Memory for secrets that must stay out of core dumps, swap and forked
 * children: a private anonymous mapping with MADV_DONTDUMP and
 * MADV_WIPEONFORK (a child of fork sees zeros), locked in memory when the
 * limit allows. Zeroed; NULL when it cannot be had. */
void *secure_alloc(size_t n);
/* Wipes and unmaps what secure_alloc gave. NULL is fine. */
void secure_release(void *p, size_t n);
/* 0 when equal; time depends only on n. */
int secure_memcmp(const void *a, const void *b, size_t n);

#endif
