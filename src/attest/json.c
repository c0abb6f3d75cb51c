#include "attest/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/codec.h"

#define JSON_MAX_DEPTH 32

/* --- writer ---------------------------------------------------------------- */

void
json_w_init(json_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->first = true;
}

void
json_w_doc_begin(json_writer *w, const char *format)
{
	json_w_init(w);
	json_w_obj_begin(w);
	json_w_key(w, "format");
	json_w_str(w, format);
}

void
json_w_free(json_writer *w)
{
	free(w->buf);
	json_w_init(w);
}

static void
jw_put(json_writer *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		char *nb;

		while (cap < w->len + n + 1)
			cap *= 2;
		if ((nb = realloc(w->buf, cap)) == NULL) {
			w->failed = true;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void
jw_puts(json_writer *w, const char *s)
{
	jw_put(w, s, strlen(s));
}

static void
jw_newline(json_writer *w)
{
	int i;

	jw_puts(w, "\n");
	for (i = 0; i < w->depth; i++)
		jw_puts(w, "  ");
}

/* Before a value: a separator unless it is a member's value. */
static void
jw_before_value(json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0) {
		if (!w->first)
			jw_puts(w, ",");
		jw_newline(w);
	}
	w->first = false;
}

static void
jw_string(json_writer *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	jw_puts(w, "\"");
	for (; *p; p++) {
		char esc[8];

		switch (*p) {
		case '"':
			jw_puts(w, "\\\"");
			break;
		case '\\':
			jw_puts(w, "\\\\");
			break;
		case '\n':
			jw_puts(w, "\\n");
			break;
		case '\r':
			jw_puts(w, "\\r");
			break;
		case '\t':
			jw_puts(w, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				jw_puts(w, esc);
			} else {
				jw_put(w, (const char *)p, 1);
			}
		}
	}
	jw_puts(w, "\"");
}

void
json_w_obj_begin(json_writer *w)
{
	jw_before_value(w);
	jw_puts(w, "{");
	w->depth++;
	w->first = true;
}

void
json_w_obj_end(json_writer *w)
{
	w->depth--;
	if (!w->first)
		jw_newline(w);
	jw_puts(w, "}");
	w->first = false;
}

void
json_w_arr_begin(json_writer *w)
{
	jw_before_value(w);
	jw_puts(w, "[");
	w->depth++;
	w->first = true;
}

void
json_w_arr_end(json_writer *w)
{
	json_w_obj_end(w);
	/* the same layout; fix the bracket */
	if (!w->failed)
		w->buf[w->len - 1] = ']';
}

void
json_w_key(json_writer *w, const char *key)
{
	if (!w->first)
		jw_puts(w, ",");
	jw_newline(w);
	w->first = false;
	jw_string(w, key);
	jw_puts(w, ": ");
	w->after_key = true;
}

void
json_w_str(json_writer *w, const char *s)
{
	jw_before_value(w);
	jw_string(w, s);
}

void
json_w_int(json_writer *w, int64_t v)
{
	char b[24];

	jw_before_value(w);
	snprintf(b, sizeof(b), "%" PRId64, v);
	jw_puts(w, b);
}

void
json_w_bool(json_writer *w, bool v)
{
	jw_before_value(w);
	jw_puts(w, v ? "true" : "false");
}

void
json_w_b64(json_writer *w, const uint8_t *p, size_t n)
{
	char *s = b64_encode(p, n, false);

	if (s == NULL) {
		w->failed = true;
		return;
	}
	json_w_str(w, s);
	free(s);
}

void
json_w_hex(json_writer *w, const uint8_t *p, size_t n)
{
	char *s = hex_encode(p, n);

	if (s == NULL) {
		w->failed = true;
		return;
	}
	json_w_str(w, s);
	free(s);
}

char *
json_w_finish(json_writer *w, size_t *len)
{
	char *out;

	jw_puts(w, "\n");
	w->after_key = false;
	if (w->failed) {
		json_w_free(w);
		return NULL;
	}
	out = w->buf;
	if (len)
		*len = w->len;
	w->buf = NULL;
	json_w_init(w);
	return out;
}

/* --- reader ---------------------------------------------------------------- */

typedef struct {
	const char *p, *end;
	char *err;
	size_t errlen;
	int depth;
} jr;

static void
jr_fail(jr *r, const char *what)
{
	if (r->err[0] == '\0')
		snprintf(r->err, r->errlen, "%s", what);
}

static void
jr_ws(jr *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
				 *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

void
json_free(json_value *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n; i++) {
		json_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->s);
	free(v);
}

static int
jr_hex4(jr *r, unsigned *out)
{
	unsigned v = 0;
	int i;

	if (r->end - r->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		char c = r->p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	r->p += 4;
	*out = v;
	return 0;
}

static void
utf8_put(char *o, size_t *n, unsigned cp)
{
	if (cp < 0x80) {
		o[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		o[(*n)++] = (char)(0xc0 | cp >> 6);
		o[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		o[(*n)++] = (char)(0xe0 | cp >> 12);
		o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		o[(*n)++] = (char)(0xf0 | cp >> 18);
		o[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* A string; r->p at the opening quote. The result is at most as long as
 * the source text (an escape never expands). */
static char *
jr_string(jr *r, size_t *outlen)
{
	const char *start = ++r->p;
	char *o;
	size_t n = 0;

	while (r->p < r->end && *r->p != '"') {
		if (*r->p == '\\')
			r->p++;
		r->p++;
	}
	if (r->p >= r->end) {
		jr_fail(r, "unterminated string");
		return NULL;
	}
	if ((o = malloc((size_t)(r->p - start) + 1)) == NULL) {
		jr_fail(r, "out of memory");
		return NULL;
	}
	r->p = start;
	while (*r->p != '"') {
		unsigned char c = (unsigned char)*r->p++;

		if (c < 0x20) {
			jr_fail(r, "control character in a string");
			goto bad;
		}
		if (c != '\\') {
			o[n++] = (char)c;
			continue;
		}
		switch (*r->p++) {
		case '"':
			o[n++] = '"';
			break;
		case '\\':
			o[n++] = '\\';
			break;
		case '/':
			o[n++] = '/';
			break;
		case 'b':
			o[n++] = '\b';
			break;
		case 'f':
			o[n++] = '\f';
			break;
		case 'n':
			o[n++] = '\n';
			break;
		case 'r':
			o[n++] = '\r';
			break;
		case 't':
			o[n++] = '\t';
			break;
		case 'u': {
			unsigned cp, lo;

			if (jr_hex4(r, &cp) != 0)
				goto badesc;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (r->end - r->p < 6 || r->p[0] != '\\' ||
				    r->p[1] != 'u')
					goto badesc;
				r->p += 2;
				if (jr_hex4(r, &lo) != 0 || lo < 0xdc00 ||
				    lo > 0xdfff)
					goto badesc;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				goto badesc;
			}
			if (cp == 0) {
				jr_fail(r, "\\u0000 in a string");
				goto bad;
			}
			/* 6 source characters give at most 3 bytes, 12 give 4. */
			utf8_put(o, &n, cp);
			break;
		}
		default:
			goto badesc;
		}
	}
	r->p++;
	o[n] = '\0';
	*outlen = n;
	return o;
badesc:
	jr_fail(r, "bad escape in a string");
bad:
	free(o);
	return NULL;
}

static json_value *jr_value(jr *r);

static int
jr_push(json_value *v, json_value *item, char *key)
{
	json_value **ni;

	if ((ni = realloc(v->items, (v->n + 1) * sizeof(*ni))) == NULL)
		return -1;
	v->items = ni;
	if (v->type == JSON_OBJ) {
		char **nk = realloc(v->keys, (v->n + 1) * sizeof(*nk));

		if (nk == NULL)
			return -1;
		v->keys = nk;
		v->keys[v->n] = key;
	}
	v->items[v->n++] = item;
	return 0;
}

static json_value *
jr_container(jr *r, json_value *v)
{
	bool obj = v->type == JSON_OBJ;
	char close = obj ? '}' : ']';

	if (++r->depth > JSON_MAX_DEPTH) {
		jr_fail(r, "nested too deeply");
		goto bad;
	}
	r->p++;
	jr_ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		r->depth--;
		return v;
	}
	for (;;) {
		char *key = NULL;
		size_t klen, i;
		json_value *item;

		jr_ws(r);
		if (obj) {
			if (r->p >= r->end || *r->p != '"') {
				jr_fail(r, "expected a member name");
				goto bad;
			}
			if ((key = jr_string(r, &klen)) == NULL)
				goto bad;
			for (i = 0; i < v->n; i++)
				if (strcmp(v->keys[i], key) == 0) {
					jr_fail(r, "duplicate member name");
					free(key);
					goto bad;
				}
			jr_ws(r);
			if (r->p >= r->end || *r->p != ':') {
				jr_fail(r, "expected ':'");
				free(key);
				goto bad;
			}
			r->p++;
		}
		if ((item = jr_value(r)) == NULL) {
			free(key);
			goto bad;
		}
		if (jr_push(v, item, key) != 0) {
			json_free(item);
			free(key);
			jr_fail(r, "out of memory");
			goto bad;
		}
		jr_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			break;
		}
		jr_fail(r, obj ? "expected ',' or '}'" : "expected ',' or ']'");
		goto bad;
	}
	r->depth--;
	return v;
bad:
	json_free(v);
	return NULL;
}

static bool
jr_word(jr *r, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(r->end - r->p) >= n && memcmp(r->p, w, n) == 0) {
		r->p += n;
		return true;
	}
	return false;
}

static json_value *
jr_value(jr *r)
{
	json_value *v;

	jr_ws(r);
	if (r->p >= r->end) {
		jr_fail(r, "unexpected end");
		return NULL;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		jr_fail(r, "out of memory");
		return NULL;
	}
	switch (*r->p) {
	case '{':
		v->type = JSON_OBJ;
		return jr_container(r, v);
	case '[':
		v->type = JSON_ARR;
		return jr_container(r, v);
	case '"':
		v->type = JSON_STR;
		if ((v->s = jr_string(r, &v->slen)) == NULL)
			goto bad;
		return v;
	case 't':
	case 'f':
	case 'n':
		if (jr_word(r, "true")) {
			v->type = JSON_BOOL;
			v->b = true;
		} else if (jr_word(r, "false")) {
			v->type = JSON_BOOL;
		} else if (jr_word(r, "null")) {
			v->type = JSON_NULL;
		} else {
			jr_fail(r, "unknown word");
			goto bad;
		}
		return v;
	default: {
		bool neg = false;
		uint64_t mag = 0;
		const char *d;

		if (*r->p == '-') {
			neg = true;
			r->p++;
		}
		d = r->p;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
			unsigned dig = (unsigned)(*r->p - '0');

			if (mag > (UINT64_MAX - dig) / 10) {
				jr_fail(r, "number too large");
				goto bad;
			}
			mag = mag * 10 + dig;
			r->p++;
		}
		if (r->p == d || (d[0] == '0' && r->p - d > 1)) {
			jr_fail(r, "bad number");
			goto bad;
		}
		if (r->p < r->end &&
		    (*r->p == '.' || *r->p == 'e' || *r->p == 'E')) {
			jr_fail(r, "only integers are accepted");
			goto bad;
		}
		if (mag > (uint64_t)INT64_MAX + (neg ? 1 : 0)) {
			jr_fail(r, "number too large");
			goto bad;
		}
		v->type = JSON_INT;
		v->i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
		return v;
	}
	}
bad:
	json_free(v);
	return NULL;
}

json_value *
json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	jr r = {text, text + len, err, errlen, 0};
	json_value *v;

	err[0] = '\0';
	if ((v = jr_value(&r)) == NULL) {
		jr_fail(&r, "not JSON");
		return NULL;
	}
	jr_ws(&r);
	if (r.p != r.end) {
		jr_fail(&r, "trailing characters after the JSON value");
		json_free(v);
		return NULL;
	}
	return v;
}

const json_value *
json_get(const json_value *obj, const char *key)
{
	size_t i;

	if (obj == NULL || obj->type != JSON_OBJ)
		return NULL;
	for (i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return obj->items[i];
	return NULL;
}

const char *
json_get_str(const json_value *obj, const char *key)
{
	const json_value *v = json_get(obj, key);

	return v && v->type == JSON_STR ? v->s : NULL;
}

int
json_get_b64(const json_value *obj, const char *key, uint8_t **out, size_t *len)
{
	const json_value *v = json_get(obj, key);

	*out = NULL;
	*len = 0;
	if (v == NULL || v->type != JSON_STR)
		return -1;
	return b64_decode(v->s, v->slen, false, out, len);
}

int
json_get_hex(const json_value *obj, const char *key, uint8_t **out, size_t *len)
{
	const json_value *v = json_get(obj, key);

	*out = NULL;
	*len = 0;
	if (v == NULL || v->type != JSON_STR)
		return -1;
	return hex_decode_alloc(v->s, out, len);
}
