#include "attest/cbor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CBOR_MAX_DEPTH 16
/* Attestation objects are small: a bound keeps duplicate checks cheap. */
#define CBOR_MAX_ITEMS 64

void
cbor_w_init(cbor_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void
cbor_w_free(cbor_writer *w)
{
	free(w->buf);
	cbor_w_init(w);
}

void
cbor_w_raw(cbor_writer *w, const uint8_t *p, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *nb;

		while (cap < w->len + n)
			cap *= 2;
		if ((nb = realloc(w->buf, cap)) == NULL) {
			w->failed = true;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* RFC 8949 3.1: the initial byte is major type << 5 | additional info;
 * the argument is in the shortest of: the 5 bits (< 24), 1, 2, 4, 8
 * following bytes. */
static void
cbor_head(cbor_writer *w, unsigned major, uint64_t v)
{
	uint8_t h[9];
	size_t n, i;

	if (v < 24) {
		h[0] = (uint8_t)(major << 5 | v);
		n = 0;
	} else if (v <= 0xff) {
		h[0] = (uint8_t)(major << 5 | 24);
		n = 1;
	} else if (v <= 0xffff) {
		h[0] = (uint8_t)(major << 5 | 25);
		n = 2;
	} else if (v <= 0xffffffffu) {
		h[0] = (uint8_t)(major << 5 | 26);
		n = 4;
	} else {
		h[0] = (uint8_t)(major << 5 | 27);
		n = 8;
	}
	for (i = 0; i < n; i++)
		h[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	cbor_w_raw(w, h, 1 + n);
}

void
cbor_w_uint(cbor_writer *w, uint64_t v)
{
	cbor_head(w, 0, v);
}

void
cbor_w_int(cbor_writer *w, int64_t v)
{
	if (v >= 0)
		cbor_head(w, 0, (uint64_t)v);
	else
		cbor_head(w, 1, (uint64_t)(-(v + 1)));
}

void
cbor_w_bytes(cbor_writer *w, const uint8_t *p, size_t n)
{
	cbor_head(w, 2, n);
	cbor_w_raw(w, p, n);
}

void
cbor_w_text(cbor_writer *w, const char *s)
{
	size_t n = strlen(s);

	cbor_head(w, 3, n);
	cbor_w_raw(w, (const uint8_t *)s, n);
}

void
cbor_w_array(cbor_writer *w, size_t n)
{
	cbor_head(w, 4, n);
}

void
cbor_w_map(cbor_writer *w, size_t n)
{
	cbor_head(w, 5, n);
}

/* --- reader -------------------------------------------------------------- */

typedef struct {
	const uint8_t *p, *end;
	char *err;
	size_t errlen;
} cr;

static void
cr_fail(cr *r, const char *what)
{
	if (r->err[0] == '\0')
		snprintf(r->err, r->errlen, "%s", what);
}

void
cbor_free(cbor_item *it)
{
	size_t i, n;

	if (it == NULL)
		return;
	n = it->type == CBOR_MAP ? 2 * it->n : it->n;
	for (i = 0; i < n && it->items; i++)
		cbor_free(it->items[i]);
	free(it->items);
	free(it);
}

static int
cr_head(cr *r, unsigned *major, uint64_t *arg)
{
	uint8_t ib;
	unsigned ai;
	size_t n, i;
	uint64_t v = 0;

	if (r->p >= r->end) {
		cr_fail(r, "truncated CBOR");
		return -1;
	}
	ib = *r->p++;
	*major = ib >> 5;
	ai = ib & 31;
	if (ai < 24) {
		*arg = ai;
		return 0;
	}
	if (ai > 27) {
		cr_fail(r, "indefinite length or reserved CBOR head");
		return -1;
	}
	n = (size_t)1 << (ai - 24);
	if ((size_t)(r->end - r->p) < n) {
		cr_fail(r, "truncated CBOR");
		return -1;
	}
	for (i = 0; i < n; i++)
		v = v << 8 | *r->p++;
	/* Minimal encoding only (deterministic CBOR, RFC 8949 4.2.1). */
	if ((n == 1 && v < 24) || (n == 2 && v <= 0xff) ||
	    (n == 4 && v <= 0xffff) || (n == 8 && v <= 0xffffffffu)) {
		cr_fail(r, "non-minimal CBOR integer");
		return -1;
	}
	*arg = v;
	return 0;
}

static bool
cbor_same(const cbor_item *a, const cbor_item *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case CBOR_UINT:
	case CBOR_NINT:
	case CBOR_SIMPLE:
		return a->u == b->u;
	case CBOR_BYTES:
	case CBOR_TEXT:
		return a->len == b->len &&
		       memcmp(a->data, b->data, a->len) == 0;
	default:
		return false; /* containers as keys: never ours, never equal */
	}
}

static bool
cbor_dup_keys(const cbor_item *map)
{
	size_t i, j;

	for (i = 0; i < map->n; i++)
		for (j = i + 1; j < map->n; j++)
			if (cbor_same(map->items[2 * i], map->items[2 * j]))
				return true;
	return false;
}

static cbor_item *
cr_item(cr *r, int depth)
{
	cbor_item *it;
	unsigned major;
	uint64_t arg, i, count;

	if (depth > CBOR_MAX_DEPTH) {
		cr_fail(r, "CBOR nested too deeply");
		return NULL;
	}
	if (cr_head(r, &major, &arg) != 0)
		return NULL;
	if ((it = calloc(1, sizeof(*it))) == NULL) {
		cr_fail(r, "out of memory");
		return NULL;
	}
	switch (major) {
	case 0:
	case 1:
		it->type = major == 0 ? CBOR_UINT : CBOR_NINT;
		it->u = arg;
		return it;
	case 2:
	case 3:
		if (arg > (uint64_t)(r->end - r->p)) {
			cr_fail(r, "truncated CBOR string");
			goto bad;
		}
		it->type = major == 2 ? CBOR_BYTES : CBOR_TEXT;
		it->data = r->p;
		it->len = (size_t)arg;
		r->p += arg;
		return it;
	case 4:
	case 5:
		it->type = major == 4 ? CBOR_ARRAY : CBOR_MAP;
		count = major == 5 ? 2 * arg : arg;
		/* Every item takes at least one byte: a cheap bound that
		 * stops huge allocations from a short input. */
		if (arg > (uint64_t)(r->end - r->p) ||
		    count > (uint64_t)(r->end - r->p)) {
			cr_fail(r, "truncated CBOR container");
			goto bad;
		}
		if (count && (it->items = calloc((size_t)count,
						 sizeof(*it->items))) == NULL) {
			cr_fail(r, "out of memory");
			goto bad;
		}
		if (arg > CBOR_MAX_ITEMS) {
			cr_fail(r, "CBOR container too large");
			goto bad;
		}
		it->n = (size_t)arg;
		for (i = 0; i < count; i++)
			if ((it->items[i] = cr_item(r, depth + 1)) == NULL)
				goto bad;
		if (major == 5 && cbor_dup_keys(it)) {
			cr_fail(r, "duplicate key in a CBOR map");
			goto bad;
		}
		return it;
	case 7:
		if (arg >= 20 && arg <= 22) {
			it->type = CBOR_SIMPLE;
			it->u = arg;
			return it;
		}
		cr_fail(r, "CBOR float or unknown simple value");
		goto bad;
	default:
		cr_fail(r, "CBOR tag");
		goto bad;
	}
bad:
	cbor_free(it);
	return NULL;
}

cbor_item *
cbor_parse_prefix(const uint8_t *in, size_t len, size_t *used, char *err,
		  size_t errlen)
{
	cr r = {in, in + len, err, errlen};
	cbor_item *it;

	err[0] = '\0';
	it = cr_item(&r, 0);
	if (it && used)
		*used = (size_t)(r.p - in);
	return it;
}

cbor_item *
cbor_parse(const uint8_t *in, size_t len, char *err, size_t errlen)
{
	size_t used;
	cbor_item *it = cbor_parse_prefix(in, len, &used, err, errlen);

	if (it && used != len) {
		snprintf(err, errlen, "trailing bytes after the CBOR item");
		cbor_free(it);
		return NULL;
	}
	return it;
}

bool
cbor_text_is(const cbor_item *it, const char *s)
{
	return it && it->type == CBOR_TEXT && it->len == strlen(s) &&
	       memcmp(it->data, s, it->len) == 0;
}

bool
cbor_int(const cbor_item *it, int64_t *out)
{
	if (it == NULL || it->u > (uint64_t)INT64_MAX)
		return false;
	if (it->type == CBOR_UINT)
		*out = (int64_t)it->u;
	else if (it->type == CBOR_NINT)
		*out = -1 - (int64_t)it->u;
	else
		return false;
	return true;
}

const cbor_item *
cbor_map_text(const cbor_item *map, const char *key)
{
	size_t i;

	if (map == NULL || map->type != CBOR_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (cbor_text_is(map->items[2 * i], key))
			return map->items[2 * i + 1];
	return NULL;
}

const cbor_item *
cbor_map_int(const cbor_item *map, int64_t key)
{
	size_t i;
	int64_t k;

	if (map == NULL || map->type != CBOR_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (cbor_int(map->items[2 * i], &k) && k == key)
			return map->items[2 * i + 1];
	return NULL;
}
