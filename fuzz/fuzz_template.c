/* fuzz_template: caller templates (src/attr/attr.c), as C_FindObjectsInit,
 * C_SetAttributeValue and C_GenerateKeyPair receive them.
 *
 * Input: a template in the fuzz_input.h encoding (counts, types, lengths,
 * NULL pointers with non-zero lengths, huge counts with a NULL pointer),
 * and then, with what is left, a second template used as a search over
 * the list the first one built. Checks, each against PKCS#11 v2.40 5.2
 * and 4.1 as stated in attr.h:
 * - attr_template_check returns CKR_ARGUMENTS_BAD when the array is NULL
 *   with a count, or some attribute has a NULL pValue and a length;
 *   CKR_ATTRIBUTE_VALUE_INVALID when a bool or ulong attribute has the
 *   wrong size (either of the two when both happen); else CKR_OK;
 * - attr_list_from_template gives the same code for a template that fails
 *   the check, an empty list on every error, CKR_TEMPLATE_INCONSISTENT
 *   exactly when one type is given twice with different values, and
 *   otherwise a list holding each type once with its value, which matches
 *   the template, survives a serialise/deserialise round trip, and agrees
 *   with the typed getters;
 * - attr_list_match of the second template over that list is what a
 *   straightforward comparison says. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attr/attr.h"
#include "fuzz_input.h"

/* What attr_template_check may return, from the rules alone. When a
 * template breaks both rules PKCS#11 does not say which code wins, so
 * either is accepted (*alt). */
static CK_RV
expect_check(const fz_template *t, CK_RV *alt)
{
	bool null_len = false, bad_size = false;
	size_t i;

	*alt = CKR_OK;
	if (t->v == NULL)
		return t->n > 0 ? CKR_ARGUMENTS_BAD : CKR_OK;
	for (i = 0; i < t->n; i++) {
		const CK_ATTRIBUTE *a = &t->v[i];

		if (a->pValue == NULL && a->ulValueLen > 0)
			null_len = true;
		if ((attr_kind_of(a->type) == ATTR_KIND_BOOL &&
		     a->ulValueLen != sizeof(CK_BBOOL)) ||
		    (attr_kind_of(a->type) == ATTR_KIND_ULONG &&
		     a->ulValueLen != sizeof(CK_ULONG)))
			bad_size = true;
	}
	if (null_len && bad_size)
		*alt = CKR_ATTRIBUTE_VALUE_INVALID;
	if (null_len)
		return CKR_ARGUMENTS_BAD;
	if (bad_size)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	return CKR_OK;
}

static bool
same_value(const CK_ATTRIBUTE *a, const CK_ATTRIBUTE *b)
{
	return a->ulValueLen == b->ulValueLen &&
	       (a->ulValueLen == 0 ||
		memcmp(a->pValue, b->pValue, a->ulValueLen) == 0);
}

static bool
expect_inconsistent(const fz_template *t)
{
	size_t i, j;

	for (i = 0; i < t->n; i++)
		for (j = 0; j < i; j++)
			if (t->v[i].type == t->v[j].type &&
			    !same_value(&t->v[i], &t->v[j]))
				return true;
	return false;
}

static void
check_list(const attr_list *l, const fz_template *t)
{
	uint8_t *ser = NULL;
	size_t len = 0, i, distinct = 0;
	attr_list back;

	for (i = 0; i < t->n; i++) {
		const CK_ATTRIBUTE *a = attr_find(l, t->v[i].type);
		size_t j;
		bool first = true;

		if (a == NULL || !same_value(a, &t->v[i]))
			fz_fail("template attribute %zu (0x%lx) not kept", i,
				(unsigned long)t->v[i].type);
		for (j = 0; j < i; j++)
			if (t->v[j].type == t->v[i].type)
				first = false;
		distinct += first;
	}
	if (l->n != distinct)
		fz_fail("list has %zu attributes, template %zu distinct", l->n,
			distinct);
	if (!attr_list_match(l, t->v, t->n))
		fz_fail("a list does not match the template it came from");

	/* Stored form: bools are normalised to 0/1, all else kept. */
	if (attr_list_serialise(l, &ser, &len) != 0)
		fz_fail("a checked template does not serialise");
	if (attr_list_deserialise(ser, len, &back) != 0)
		fz_fail("a serialised template does not parse back");
	if (back.n != l->n)
		fz_fail("round trip: %zu attributes became %zu", l->n, back.n);
	for (i = 0; i < l->n; i++) {
		const CK_ATTRIBUTE *a = &l->v[i], *b = attr_find(&back, a->type);
		bool x, y;

		if (b == NULL)
			fz_fail("round trip lost 0x%lx", (unsigned long)a->type);
		if (attr_kind_of(a->type) == ATTR_KIND_BOOL) {
			if (!attr_get_bool(l, a->type, &x) ||
			    !attr_get_bool(&back, a->type, &y) || x != y)
				fz_fail("bool 0x%lx changed", (unsigned long)a->type);
		} else if (!same_value(a, b)) {
			fz_fail("value of 0x%lx changed", (unsigned long)a->type);
		}
	}
	attr_list_clear(&back);
	free(ser);
}

static bool
expect_match(const attr_list *l, const fz_template *q)
{
	size_t i, j;

	for (i = 0; i < q->n; i++) {
		bool found = false;

		for (j = 0; j < l->n && !found; j++)
			found = l->v[j].type == q->v[i].type &&
				same_value(&l->v[j], &q->v[i]);
		if (!found)
			return false;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_reader r = {data, size};
	fz_template t, q;
	attr_list l;
	CK_RV want, alt, rv;

	fz_template_decode(&r, &t);
	want = expect_check(&t, &alt);
	rv = attr_template_check(t.v, t.n);
	if (rv != want && (alt == CKR_OK || rv != alt))
		fz_fail("attr_template_check: 0x%lx, the rules say 0x%lx",
			(unsigned long)rv, (unsigned long)want);
	want = rv;

	rv = attr_list_from_template(&l, t.v, t.n);
	if (want != CKR_OK) {
		if (rv != want)
			fz_fail("attr_list_from_template: 0x%lx after a check of "
				"0x%lx", (unsigned long)rv, (unsigned long)want);
	} else if (expect_inconsistent(&t)) {
		if (rv != CKR_TEMPLATE_INCONSISTENT)
			fz_fail("conflicting duplicates gave 0x%lx",
				(unsigned long)rv);
	} else if (rv != CKR_OK) {
		fz_fail("a valid template was refused: 0x%lx", (unsigned long)rv);
	}
	if (rv != CKR_OK) {
		if (l.n != 0 || l.v != NULL)
			fz_fail("a refused template left %zu attributes", l.n);
		goto out;
	}
	check_list(&l, &t);

	/* A search over what the first template built. */
	fz_template_decode(&r, &q);
	if (attr_template_check(q.v, q.n) == CKR_OK &&
	    attr_list_match(&l, q.v, q.n) != expect_match(&l, &q))
		fz_fail("attr_list_match disagrees with a plain comparison");
	fz_template_free(&q);
	attr_list_clear(&l);
out:
	fz_template_free(&t);
	return 0;
}
