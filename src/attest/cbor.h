/* A small CBOR (RFC 8949) writer and reader for the WebAuthn / ACME
 * attestation objects and COSE keys. Why not a library: the objects use
 * five major types (unsigned and negative integers, byte and text strings,
 * arrays, maps) with definite lengths; the writer emits CTAP2 canonical
 * form when the caller adds map members in canonical order (shorter keys
 * first, then bytewise), and the reader refuses everything else:
 * indefinite lengths, tags, floats, non-minimal heads, nesting deeper than
 * 16, trailing bytes. libcbor would have to be checked for exactly these
 * limits anyway. */
#ifndef TPM11_ATTEST_CBOR_H
#define TPM11_ATTEST_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint8_t *buf;
	size_t len, cap;
	bool failed;
} cbor_writer;

void cbor_w_init(cbor_writer *w);
void cbor_w_free(cbor_writer *w);
void cbor_w_uint(cbor_writer *w, uint64_t v);
/* Any integer: negative values use major type 1. */
void cbor_w_int(cbor_writer *w, int64_t v);
void cbor_w_bytes(cbor_writer *w, const uint8_t *p, size_t n);
void cbor_w_text(cbor_writer *w, const char *s);
void cbor_w_array(cbor_writer *w, size_t n);
void cbor_w_map(cbor_writer *w, size_t n);
/* Appends already-encoded CBOR. */
void cbor_w_raw(cbor_writer *w, const uint8_t *p, size_t n);

typedef enum {
	CBOR_UINT,
	CBOR_NINT, /* value -1 - u */
	CBOR_BYTES,
	CBOR_TEXT,
	CBOR_ARRAY,
	CBOR_MAP,
	CBOR_SIMPLE, /* false (20), true (21), null (22) */
} cbor_type;

typedef struct cbor_item cbor_item;
struct cbor_item {
	cbor_type type;
	uint64_t u;          /* UINT, NINT (as encoded), SIMPLE value */
	const uint8_t *data; /* BYTES, TEXT: points into the input */
	size_t len;
	cbor_item **items; /* ARRAY elements; MAP keys and values paired */
	size_t n;          /* ARRAY: elements; MAP: pairs */
};

/* Parses exactly one item filling the whole input. NULL on error. The
 * result points into in: keep in alive while using it. */
cbor_item *cbor_parse(const uint8_t *in, size_t len, char *err, size_t errlen);
/* Parses one item at the start of in and reports its encoded length. */
cbor_item *cbor_parse_prefix(const uint8_t *in, size_t len, size_t *used,
			     char *err, size_t errlen);
void cbor_free(cbor_item *it);

/* Map value for a text key / an integer key, or NULL. */
const cbor_item *cbor_map_text(const cbor_item *map, const char *key);
const cbor_item *cbor_map_int(const cbor_item *map, int64_t key);
/* The integer value of an item (UINT or NINT) when it fits int64. */
bool cbor_int(const cbor_item *it, int64_t *out);
/* True when a TEXT item equals s. */
bool cbor_text_is(const cbor_item *it, const char *s);

#endif
