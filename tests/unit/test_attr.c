/* Unit tests for attribute lists (src/attr/attr.c): the typed getters,
 * caller templates as PKCS#11 v2.40 5.2 and attr.h say they are checked,
 * and the stored record format, which must refuse every damaged record
 * (truncated, trailing bytes, duplicate types, bad magic, huge counts and
 * lengths) rather than guess. Run with CMOCKA_MESSAGE_OUTPUT=TAP. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attr/attr.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* --- helpers --------------------------------------------------------------- */

static void
put_le(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A record written by hand, as attr.h specifies it:
 *   "TA1" 00 | u32 count | count x ( u64 type | u32 len | len bytes ) */
typedef struct {
	uint8_t b[512];
	size_t n;
} rec;

static void
rec_begin(rec *r, uint32_t count)
{
	memcpy(r->b, "TA1", 4);
	put_le(r->b + 4, count, 4);
	r->n = 8;
}

static void
rec_add(rec *r, uint64_t type, const void *v, uint32_t len)
{
	put_le(r->b + r->n, type, 8);
	put_le(r->b + r->n + 8, len, 4);
	if (len)
		memcpy(r->b + r->n + 12, v, len);
	r->n += 12 + len;
}

static void
assert_refused(const uint8_t *b, size_t n)
{
	attr_list l;

	assert_int_equal(attr_list_deserialise(b, n, &l), -1);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
}

/* A key's attributes as the token writes them. */
static void
make_key(attr_list *l)
{
	static const uint8_t id[] = {0x0a, 0x0b};
	static const uint8_t point[] = {0x04, 0x41, 0x04, 0x01, 0x02};

	attr_list_init(l);
	assert_int_equal(attr_set_ulong(l, CKA_CLASS, CKO_PRIVATE_KEY), 0);
	assert_int_equal(attr_set_ulong(l, CKA_KEY_TYPE, CKK_EC), 0);
	assert_int_equal(attr_set_bool(l, CKA_TOKEN, true), 0);
	assert_int_equal(attr_set_bool(l, CKA_PRIVATE, true), 0);
	assert_int_equal(attr_set_bool(l, CKA_EXTRACTABLE, false), 0);
	assert_int_equal(attr_set_str(l, CKA_LABEL, "ssh"), 0);
	assert_int_equal(attr_set(l, CKA_ID, id, sizeof(id)), 0);
	assert_int_equal(attr_set(l, CKA_EC_POINT, point, sizeof(point)), 0);
	assert_int_equal(attr_set(l, CKA_SUBJECT, NULL, 0), 0);
}

/* --- lists and typed getters ------------------------------------------------- */

static void
test_attr_set_find_replace(void **state)
{
	attr_list l;
	const CK_ATTRIBUTE *a;

	(void)state;
	attr_list_init(&l);
	assert_null(attr_find(&l, CKA_LABEL));
	assert_int_equal(attr_set_str(&l, CKA_LABEL, "one"), 0);
	assert_int_equal(attr_set_str(&l, CKA_LABEL, "second"), 0);
	assert_int_equal(l.n, 1);
	assert_non_null(a = attr_find(&l, CKA_LABEL));
	assert_int_equal(a->ulValueLen, 6);
	assert_memory_equal(a->pValue, "second", 6);
	/* An empty value has no buffer and length 0. */
	assert_int_equal(attr_set(&l, CKA_ID, NULL, 0), 0);
	assert_non_null(a = attr_find(&l, CKA_ID));
	assert_int_equal(a->ulValueLen, 0);
	attr_remove(&l, CKA_LABEL);
	assert_null(attr_find(&l, CKA_LABEL));
	assert_non_null(attr_find(&l, CKA_ID));
	attr_remove(&l, CKA_LABEL); /* absent: nothing happens */
	assert_int_equal(l.n, 1);
	attr_list_clear(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
}

static void
test_attr_many_grow(void **state)
{
	attr_list l;
	CK_ULONG i, v;

	(void)state;
	attr_list_init(&l);
	for (i = 0; i < 100; i++)
		assert_int_equal(attr_set_ulong(&l, CKA_VENDOR_DEFINED + i, i), 0);
	assert_int_equal(l.n, 100);
	for (i = 0; i < 100; i++) {
		const CK_ATTRIBUTE *a = attr_find(&l, CKA_VENDOR_DEFINED + i);

		assert_non_null(a);
		assert_int_equal(a->ulValueLen, sizeof(CK_ULONG));
		memcpy(&v, a->pValue, sizeof(v));
		assert_int_equal(v, i);
	}
	attr_list_clear(&l);
}

static void
test_attr_typed_getters_check_size(void **state)
{
	attr_list l;
	CK_ULONG ul = 0;
	CK_BBOOL four[4] = {1, 1, 1, 1};
	bool b = false;
	char *s;

	(void)state;
	attr_list_init(&l);
	assert_int_equal(attr_set_bool(&l, CKA_SIGN, true), 0);
	assert_int_equal(attr_set_ulong(&l, CKA_MODULUS_BITS, 2048), 0);
	assert_true(attr_get_bool(&l, CKA_SIGN, &b));
	assert_true(b);
	assert_true(attr_get_ulong(&l, CKA_MODULUS_BITS, &ul));
	assert_int_equal(ul, 2048);
	/* Absent: false, and the output is left alone. */
	b = false;
	assert_false(attr_get_bool(&l, CKA_DECRYPT, &b));
	assert_false(b);
	assert_false(attr_get_ulong(&l, CKA_CLASS, &ul));
	assert_int_equal(ul, 2048);
	/* Wrong size: not read as a bool or a ulong. */
	assert_int_equal(attr_set(&l, CKA_DECRYPT, four, sizeof(four)), 0);
	assert_false(attr_get_bool(&l, CKA_DECRYPT, &b));
	assert_int_equal(attr_set(&l, CKA_CLASS, four, 1), 0);
	assert_false(attr_get_ulong(&l, CKA_CLASS, &ul));
	assert_false(attr_get_ulong(&l, CKA_SIGN, &ul));
	assert_false(attr_get_bool(&l, CKA_MODULUS_BITS, &b));
	/* attr_bool_or: the default for absent or malformed. */
	assert_true(attr_bool_or(&l, CKA_SIGN, false));
	assert_true(attr_bool_or(&l, CKA_DECRYPT, true));
	assert_false(attr_bool_or(&l, CKA_VERIFY, false));
	/* Any non-zero byte is true. */
	four[0] = 0x80;
	assert_int_equal(attr_set(&l, CKA_VERIFY, four, 1), 0);
	assert_true(attr_get_bool(&l, CKA_VERIFY, &b));
	assert_true(b);
	/* Strings: a NUL-terminated copy, NULL when absent. */
	assert_int_equal(attr_set(&l, CKA_LABEL, "ab\0c", 4), 0);
	assert_non_null(s = attr_dup_str(&l, CKA_LABEL));
	assert_memory_equal(s, "ab\0c", 5);
	free(s);
	assert_null(attr_dup_str(&l, CKA_APPLICATION));
	attr_list_clear(&l);
}

static void
test_attr_kinds(void **state)
{
	(void)state;
	assert_int_equal(attr_kind_of(CKA_TOKEN), ATTR_KIND_BOOL);
	assert_int_equal(attr_kind_of(CKA_ALWAYS_AUTHENTICATE), ATTR_KIND_BOOL);
	assert_int_equal(attr_kind_of(CKA_CLASS), ATTR_KIND_ULONG);
	assert_int_equal(attr_kind_of(CKA_MODULUS_BITS), ATTR_KIND_ULONG);
	assert_int_equal(attr_kind_of(CKA_LABEL), ATTR_KIND_BYTES);
	assert_int_equal(attr_kind_of(CKA_VENDOR_DEFINED | 7), ATTR_KIND_BYTES);
	assert_int_equal(attr_kind_of((CK_ATTRIBUTE_TYPE)-1), ATTR_KIND_BYTES);
}

static void
test_attr_copy_and_match(void **state)
{
	attr_list l, c;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY, other = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
			    {CKA_LABEL, "ssh", 3}};
	CK_ATTRIBUTE wrong[] = {{CKA_CLASS, &other, sizeof(other)}};
	CK_ATTRIBUTE shorter[] = {{CKA_LABEL, "ss", 2}};
	CK_ATTRIBUTE absent[] = {{CKA_APPLICATION, "x", 1}};
	CK_ATTRIBUTE empty[] = {{CKA_SUBJECT, NULL, 0}};

	(void)state;
	make_key(&l);
	assert_int_equal(attr_list_copy(&c, &l), 0);
	assert_int_equal(c.n, l.n);
	assert_true(attr_list_match(&c, l.v, l.n));
	assert_true(attr_list_match(&l, c.v, c.n));
	/* C_FindObjects: an empty template matches everything. */
	assert_true(attr_list_match(&l, NULL, 0));
	assert_true(attr_list_match(&l, t, ARRAY_LEN(t)));
	assert_false(attr_list_match(&l, wrong, 1));
	assert_false(attr_list_match(&l, shorter, 1));
	assert_false(attr_list_match(&l, absent, 1));
	assert_true(attr_list_match(&l, empty, 1));
	attr_list_clear(&c);
	attr_list_clear(&l);
}

/* --- caller templates: PKCS#11 v2.40 5.2 -------------------------------------------- */

static void
test_template_valid(void **state)
{
	CK_BBOOL yes = CK_TRUE;
	CK_ULONG bits = 3072;
	CK_ATTRIBUTE t[] = {
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_MODULUS_BITS, &bits, sizeof(bits)},
		{CKA_LABEL, "k", 1},
		{CKA_ID, NULL, 0},                     /* empty value: fine */
		{CKA_VENDOR_DEFINED | 0x55, "v", 1},   /* unknown: kept as bytes */
		{0x7ffffffeUL, NULL, 0},
	};
	attr_list l;

	(void)state;
	assert_int_equal(attr_template_check(t, ARRAY_LEN(t)), CKR_OK);
	assert_int_equal(attr_template_check(NULL, 0), CKR_OK);
	assert_int_equal(attr_list_from_template(&l, t, ARRAY_LEN(t)), CKR_OK);
	assert_int_equal(l.n, ARRAY_LEN(t));
	assert_true(attr_list_match(&l, t, ARRAY_LEN(t)));
	attr_list_clear(&l);
	assert_int_equal(attr_list_from_template(&l, NULL, 0), CKR_OK);
	assert_int_equal(l.n, 0);
}

static void
test_template_null_value_with_length_is_arguments_bad(void **state)
{
	CK_ATTRIBUTE t[] = {{CKA_LABEL, "ok", 2}, {CKA_ID, NULL, 20}};
	CK_ATTRIBUTE huge[] = {{CKA_VALUE, NULL, (CK_ULONG)-1}};
	attr_list l;

	(void)state;
	assert_int_equal(attr_template_check(t, 2), CKR_ARGUMENTS_BAD);
	assert_int_equal(attr_template_check(huge, 1), CKR_ARGUMENTS_BAD);
	assert_int_equal(attr_list_from_template(&l, t, 2), CKR_ARGUMENTS_BAD);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
}

static void
test_template_null_array_with_count_is_arguments_bad(void **state)
{
	attr_list l;

	(void)state;
	/* Huge counts with no array must never be walked. */
	assert_int_equal(attr_template_check(NULL, 1), CKR_ARGUMENTS_BAD);
	assert_int_equal(attr_template_check(NULL, (CK_ULONG)-1),
			 CKR_ARGUMENTS_BAD);
	assert_int_equal(attr_template_check(NULL, (CK_ULONG)-1 / sizeof(CK_ATTRIBUTE) + 1),
			 CKR_ARGUMENTS_BAD);
	assert_int_equal(attr_list_from_template(&l, NULL, 0x80000000UL),
			 CKR_ARGUMENTS_BAD);
	assert_int_equal(l.n, 0);
}

static void
test_template_wrong_sizes_are_value_invalid(void **state)
{
	uint32_t four = 1;
	CK_BBOOL yes = CK_TRUE;
	uint32_t cls32 = CKO_DATA;
	CK_ATTRIBUTE bool4[] = {{CKA_TOKEN, &four, 4}};
	CK_ATTRIBUTE bool0[] = {{CKA_SIGN, NULL, 0}};
	CK_ATTRIBUTE ulong4[] = {{CKA_CLASS, &cls32, sizeof(cls32)}};
	CK_ATTRIBUTE ulong1[] = {{CKA_KEY_TYPE, &yes, 1}};
	attr_list l;

	(void)state;
	assert_int_equal(attr_template_check(bool4, 1), CKR_ATTRIBUTE_VALUE_INVALID);
	assert_int_equal(attr_template_check(bool0, 1), CKR_ATTRIBUTE_VALUE_INVALID);
	assert_int_equal(attr_template_check(ulong4, 1), CKR_ATTRIBUTE_VALUE_INVALID);
	assert_int_equal(attr_template_check(ulong1, 1), CKR_ATTRIBUTE_VALUE_INVALID);
	assert_int_equal(attr_list_from_template(&l, bool4, 1),
			 CKR_ATTRIBUTE_VALUE_INVALID);
	assert_int_equal(l.n, 0);
}

static void
test_template_duplicates(void **state)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE same[] = {{CKA_SIGN, &yes, 1}, {CKA_LABEL, "a", 1},
			       {CKA_SIGN, &yes, 1}};
	CK_ATTRIBUTE conflict[] = {{CKA_SIGN, &yes, 1}, {CKA_LABEL, "a", 1},
				   {CKA_SIGN, &no, 1}};
	CK_ATTRIBUTE longer[] = {{CKA_LABEL, "a", 1}, {CKA_LABEL, "ab", 2}};
	attr_list l;

	(void)state;
	/* The same value twice says one thing: accepted, stored once. */
	assert_int_equal(attr_list_from_template(&l, same, 3), CKR_OK);
	assert_int_equal(l.n, 2);
	attr_list_clear(&l);
	/* Two values for one attribute: PKCS#11 v2.40 5.7 (C_CreateObject)
	 * names CKR_TEMPLATE_INCONSISTENT. */
	assert_int_equal(attr_list_from_template(&l, conflict, 3),
			 CKR_TEMPLATE_INCONSISTENT);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
	assert_int_equal(attr_list_from_template(&l, longer, 2),
			 CKR_TEMPLATE_INCONSISTENT);
	assert_int_equal(l.n, 0);
}

/* --- the stored record ------------------------------------------------------------ */

static void
test_serialise_roundtrip(void **state)
{
	attr_list l, back;
	uint8_t *buf = NULL, *again = NULL;
	size_t len = 0, len2 = 0, i;

	(void)state;
	make_key(&l);
	assert_int_equal(attr_list_serialise(&l, &buf, &len), 0);
	assert_int_equal(attr_list_deserialise(buf, len, &back), 0);
	assert_int_equal(back.n, l.n);
	for (i = 0; i < l.n; i++) {
		const CK_ATTRIBUTE *a = attr_find(&back, l.v[i].type);

		assert_non_null(a);
		assert_int_equal(a->ulValueLen, l.v[i].ulValueLen);
		if (a->ulValueLen)
			assert_memory_equal(a->pValue, l.v[i].pValue,
					    a->ulValueLen);
	}
	/* One encoding per list: writing it again gives the same bytes. */
	assert_int_equal(attr_list_serialise(&back, &again, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, buf, len);
	free(buf);
	free(again);
	attr_list_clear(&back);
	attr_list_clear(&l);
}

static void
test_serialise_layout_is_host_independent(void **state)
{
	attr_list l;
	uint8_t *buf = NULL;
	size_t len = 0;
	rec want;
	uint8_t one = 1, bits[8];

	(void)state;
	attr_list_init(&l);
	assert_int_equal(attr_set_bool(&l, CKA_TOKEN, true), 0);
	assert_int_equal(attr_set_ulong(&l, CKA_MODULUS_BITS, 2048), 0);
	assert_int_equal(attr_set(&l, CKA_ID, "\xaa", 1), 0);
	assert_int_equal(attr_list_serialise(&l, &buf, &len), 0);
	/* bool: one byte; ulong: u64 little-endian; bytes as they are. */
	put_le(bits, 2048, 8);
	rec_begin(&want, 3);
	rec_add(&want, CKA_TOKEN, &one, 1);
	rec_add(&want, CKA_MODULUS_BITS, bits, 8);
	rec_add(&want, CKA_ID, "\xaa", 1);
	assert_int_equal(len, want.n);
	assert_memory_equal(buf, want.b, want.n);
	free(buf);
	attr_list_clear(&l);
}

static void
test_serialise_refuses_malformed_in_memory(void **state)
{
	attr_list l;
	uint8_t *buf = NULL;
	size_t len = 0;
	uint32_t four = 1;

	(void)state;
	attr_list_init(&l);
	assert_int_equal(attr_set(&l, CKA_TOKEN, &four, sizeof(four)), 0);
	assert_int_equal(attr_list_serialise(&l, &buf, &len), -1);
	assert_null(buf);
	attr_list_clear(&l);
}

static void
test_deserialise_empty_and_minimal(void **state)
{
	rec r;
	attr_list l;

	(void)state;
	rec_begin(&r, 0);
	assert_int_equal(attr_list_deserialise(r.b, r.n, &l), 0);
	assert_int_equal(l.n, 0);
	attr_list_clear(&l);
	assert_refused(NULL, 0);
	assert_refused(r.b, 0);
	assert_refused(r.b, 7);
}

static void
test_deserialise_refuses_every_truncation(void **state)
{
	attr_list l;
	uint8_t *buf = NULL;
	size_t len = 0, cut;

	(void)state;
	make_key(&l);
	assert_int_equal(attr_list_serialise(&l, &buf, &len), 0);
	attr_list_clear(&l);
	for (cut = 0; cut < len; cut++)
		assert_refused(buf, cut);
	free(buf);
}

static void
test_deserialise_refuses_trailing_bytes(void **state)
{
	rec r;

	(void)state;
	rec_begin(&r, 1);
	rec_add(&r, CKA_LABEL, "x", 1);
	r.b[r.n++] = 0;
	assert_refused(r.b, r.n);
	/* A count smaller than what follows is trailing data too. */
	rec_begin(&r, 1);
	rec_add(&r, CKA_LABEL, "x", 1);
	rec_add(&r, CKA_ID, "y", 1);
	assert_refused(r.b, r.n);
}

static void
test_deserialise_refuses_duplicate_types(void **state)
{
	rec r;

	(void)state;
	rec_begin(&r, 2);
	rec_add(&r, CKA_LABEL, "x", 1);
	rec_add(&r, CKA_LABEL, "x", 1);
	assert_refused(r.b, r.n);
}

static void
test_deserialise_refuses_bad_magic(void **state)
{
	rec r;

	(void)state;
	rec_begin(&r, 1);
	rec_add(&r, CKA_LABEL, "x", 1);
	r.b[0] = 'X';
	assert_refused(r.b, r.n);
	rec_begin(&r, 0);
	r.b[3] = '1'; /* "TA11": the NUL is part of the magic */
	assert_refused(r.b, r.n);
}

static void
test_deserialise_refuses_huge_counts_and_lengths(void **state)
{
	rec r;

	(void)state;
	/* A count that the bytes cannot hold, up to 2^32 - 1. */
	rec_begin(&r, 2);
	rec_add(&r, CKA_LABEL, "x", 1);
	assert_refused(r.b, r.n);
	rec_begin(&r, 0xffffffffu);
	rec_add(&r, CKA_LABEL, "x", 1);
	assert_refused(r.b, r.n);
	rec_begin(&r, 5000);
	assert_refused(r.b, r.n);
	/* A value length past the end, and one near 2^32. */
	rec_begin(&r, 1);
	rec_add(&r, CKA_LABEL, "x", 1);
	put_le(r.b + 8 + 8, 2, 4);
	assert_refused(r.b, r.n);
	put_le(r.b + 8 + 8, 0xffffffffu, 4);
	assert_refused(r.b, r.n);
	put_le(r.b + 8 + 8, 0xfffffff4u, 4); /* 12 + len wraps a u32 */
	assert_refused(r.b, r.n);
}

static void
test_deserialise_refuses_bad_bool_and_ulong(void **state)
{
	rec r;
	uint8_t two = 2, zero8[8] = {0};

	(void)state;
	rec_begin(&r, 1);
	rec_add(&r, CKA_TOKEN, &two, 1); /* only 0 and 1 are stored */
	assert_refused(r.b, r.n);
	rec_begin(&r, 1);
	rec_add(&r, CKA_TOKEN, zero8, 8);
	assert_refused(r.b, r.n);
	rec_begin(&r, 1);
	rec_add(&r, CKA_CLASS, zero8, 4);
	assert_refused(r.b, r.n);
	rec_begin(&r, 1);
	rec_add(&r, CKA_CLASS, zero8, 0);
	assert_refused(r.b, r.n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attr_set_find_replace),
		cmocka_unit_test(test_attr_many_grow),
		cmocka_unit_test(test_attr_typed_getters_check_size),
		cmocka_unit_test(test_attr_kinds),
		cmocka_unit_test(test_attr_copy_and_match),
		cmocka_unit_test(test_template_valid),
		cmocka_unit_test(test_template_null_value_with_length_is_arguments_bad),
		cmocka_unit_test(test_template_null_array_with_count_is_arguments_bad),
		cmocka_unit_test(test_template_wrong_sizes_are_value_invalid),
		cmocka_unit_test(test_template_duplicates),
		cmocka_unit_test(test_serialise_roundtrip),
		cmocka_unit_test(test_serialise_layout_is_host_independent),
		cmocka_unit_test(test_serialise_refuses_malformed_in_memory),
		cmocka_unit_test(test_deserialise_empty_and_minimal),
		cmocka_unit_test(test_deserialise_refuses_every_truncation),
		cmocka_unit_test(test_deserialise_refuses_trailing_bytes),
		cmocka_unit_test(test_deserialise_refuses_duplicate_types),
		cmocka_unit_test(test_deserialise_refuses_bad_magic),
		cmocka_unit_test(test_deserialise_refuses_huge_counts_and_lengths),
		cmocka_unit_test(test_deserialise_refuses_bad_bool_and_ulong),
	};

	return cmocka_run_group_tests_name("attr", tests, NULL, NULL);
}
