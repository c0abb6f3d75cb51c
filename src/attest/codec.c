#include "attest/codec.h"

#include <stdlib.h>
#include <string.h>

char *
hex_encode(const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * len + 1);
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		s[2 * i] = digits[in[i] >> 4];
		s[2 * i + 1] = digits[in[i] & 15];
	}
	s[2 * len] = '\0';
	return s;
}

static int
hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode_alloc(const char *s, uint8_t **out, size_t *len)
{
	size_t n = strlen(s), i;
	uint8_t *b;

	*out = NULL;
	*len = 0;
	if (n % 2)
		return -1;
	if ((b = malloc(n / 2 + 1)) == NULL)
		return -1;
	for (i = 0; i < n / 2; i++) {
		int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(b);
			return -1;
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = b;
	*len = n / 2;
	return 0;
}

static const char b64_std[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
b64_encode(const uint8_t *in, size_t len, bool url)
{
	const char *a = url ? b64_url : b64_std;
	char *s = malloc(4 * ((len + 2) / 3) + 1), *p = s;
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | in[i + 1] << 8 | in[i + 2];

		*p++ = a[v >> 18];
		*p++ = a[(v >> 12) & 63];
		*p++ = a[(v >> 6) & 63];
		*p++ = a[v & 63];
	}
	if (len - i == 1) {
		*p++ = a[in[i] >> 2];
		*p++ = a[(in[i] & 3) << 4];
		if (!url) {
			*p++ = '=';
			*p++ = '=';
		}
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		*p++ = a[v >> 10];
		*p++ = a[(v >> 4) & 63];
		*p++ = a[(v & 15) << 2];
		if (!url)
			*p++ = '=';
	}
	*p = '\0';
	return s;
}

static int
b64_val(char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

int
b64_decode(const char *s, size_t n, bool url, uint8_t **out, size_t *len)
{
	size_t pad = 0, full, i, o = 0;
	uint8_t *b;

	*out = NULL;
	*len = 0;
	if (!url) {
		if (n % 4)
			return -1;
		while (pad < 2 && n > pad && s[n - 1 - pad] == '=')
			pad++;
		n -= pad;
	} else if (n % 4 == 1) {
		return -1;
	}
	/* n characters of data: n/4 full groups and a tail of 0, 2 or 3. */
	if (!url && ((n % 4 == 2 && pad != 2) || (n % 4 == 3 && pad != 1) ||
		     (n % 4 == 0 && pad != 0)))
		return -1;
	if ((b = malloc(n / 4 * 3 + 3)) == NULL)
		return -1;
	full = n - n % 4;
	for (i = 0; i < full; i += 4) {
		int v0 = b64_val(s[i], url), v1 = b64_val(s[i + 1], url),
		    v2 = b64_val(s[i + 2], url), v3 = b64_val(s[i + 3], url);

		if (v0 < 0 || v1 < 0 || v2 < 0 || v3 < 0)
			goto bad;
		b[o++] = (uint8_t)(v0 << 2 | v1 >> 4);
		b[o++] = (uint8_t)(v1 << 4 | v2 >> 2);
		b[o++] = (uint8_t)(v2 << 6 | v3);
	}
	if (n % 4 >= 2) {
		int v0 = b64_val(s[i], url), v1 = b64_val(s[i + 1], url);

		if (v0 < 0 || v1 < 0)
			goto bad;
		b[o++] = (uint8_t)(v0 << 2 | v1 >> 4);
		if (n % 4 == 3) {
			int v2 = b64_val(s[i + 2], url);

			if (v2 < 0 || (v2 & 3))
				goto bad;
			b[o++] = (uint8_t)(v1 << 4 | v2 >> 2);
		} else if (v1 & 15) {
			goto bad;
		}
	}
	*out = b;
	*len = o;
	return 0;
bad:
	free(b);
	return -1;
}
