#include "util/secure.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void
secure_zero(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void
secure_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	secure_zero(p, n);
	free(p);
}

void
secure_free_str(char *s)
{
	if (s != NULL)
		secure_free(s, strlen(s));
}

int
secure_memcmp(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d != 0;
}

void *
secure_alloc(size_t n)
{
	void *p;

	if (n == 0)
		return NULL;
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Each is best effort: an old kernel lacks WIPEONFORK, a low
	 * RLIMIT_MEMLOCK refuses mlock; the secret is still wiped on
	 * release. */
	(void)madvise(p, n, MADV_DONTDUMP);
#ifdef MADV_WIPEONFORK
	(void)madvise(p, n, MADV_WIPEONFORK);
#endif
	(void)mlock(p, n);
	return p;
}

void
secure_release(void *p, size_t n)
{
	if (p == NULL)
		return;
	secure_zero(p, n);
	(void)munlock(p, n);
	munmap(p, n);
}
