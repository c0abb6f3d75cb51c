#include "util/secure.h"

#include <stdlib.h>
#include <string.h>

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
