/* A small JSON writer and reader for tpm11's own attestation files
 * (RFC 8259). Why not a library: the files hold only objects, arrays,
 * strings, integers and booleans, and the reader must be strict about
 * exactly that; ~400 lines we can read in one sitting beat a dependency
 * the server-side verifier would have to carry.
 *
 * Reader limits: nesting depth 32; numbers are integers that fit in
 * int64 (no fraction, no exponent); duplicate keys in an object are an
 * error; strings may not hold NUL (\u0000) and are returned as UTF-8. */
#ifndef TPM11_ATTEST_JSON_H
#define TPM11_ATTEST_JSON_H

#include "util/check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- writer: pretty-printed, two-space indent, one member per line ---- */

typedef struct {
	char *buf;
	size_t len, cap;
	int depth;
	bool first;     /* no member yet in the open container */
	bool after_key; /* the next value is a member's value */
	bool failed;    /* out of memory: everything after is dropped */
} json_writer;

void json_w_init(json_writer *w);
/* json_w_init, then the top object opened with its first member,
 * "format": format (every tpm11 file starts so). */
void json_w_doc_begin(json_writer *w, const char *format);
void json_w_free(json_writer *w);
void json_w_obj_begin(json_writer *w);
void json_w_obj_end(json_writer *w);
void json_w_arr_begin(json_writer *w);
void json_w_arr_end(json_writer *w);
/* Member name inside an object; the value call follows. */
void json_w_key(json_writer *w, const char *key);
void json_w_str(json_writer *w, const char *s);
void json_w_int(json_writer *w, int64_t v);
void json_w_bool(json_writer *w, bool v);
/* Binary as base64 / lower-case hex strings. */
void json_w_b64(json_writer *w, const uint8_t *p, size_t n);
void json_w_hex(json_writer *w, const uint8_t *p, size_t n);
/* The text with a final newline, malloc'd (NULL when out of memory);
 * the writer is left empty. */
char *json_w_finish(json_writer *w, size_t *len);

/* --- reader -------------------------------------------------------------- */

typedef enum {
	JSON_NULL,
	JSON_BOOL,
	JSON_INT,
	JSON_STR,
	JSON_ARR,
	JSON_OBJ,
} json_type;

typedef struct json_value json_value;
struct json_value {
	json_type type;
	bool b;
	int64_t i;
	char *s; /* JSON_STR */
	size_t slen;
	json_value **items; /* JSON_ARR elements, JSON_OBJ values */
	char **keys;        /* JSON_OBJ member names */
	size_t n;
};

/* Parses a whole document (leading/trailing white space allowed). NULL on
 * any error, with a short reason in err. */
json_value *json_parse(const char *text, size_t len, char *err, size_t errlen);
void json_free(json_value *v);

/* Member of an object, or NULL. */
const json_value *json_get(const json_value *obj, const char *key);
/* The string of a member, or NULL when absent or not a string. */
const char *json_get_str(const json_value *obj, const char *key);
/* Decodes a base64 / hex string member. 0 ok, -1 absent or malformed.
 * *out is malloc'd. */
T11_MUST_CHECK int json_get_b64(const json_value *obj, const char *key,
				uint8_t **out, size_t *len);
T11_MUST_CHECK int json_get_hex(const json_value *obj, const char *key,
				uint8_t **out, size_t *len);

#endif
