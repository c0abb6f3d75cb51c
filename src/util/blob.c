#include "util/blob.h"

#include <stdlib.h>
#include <string.h>

#include "util/secure.h"

void
blob_free(blob *b)
{
	if (b == NULL)
		return;
	secure_free(b->data, b->len);
	b->data = NULL;
	b->len = 0;
}

int
blob_set(blob *b, const void *data, size_t len)
{
	uint8_t *p = NULL;

	if (len > 0) {
		if ((p = malloc(len)) == NULL)
			return -1;
		memcpy(p, data, len);
	}
	blob_free(b);
	b->data = p;
	b->len = len;
	return 0;
}
