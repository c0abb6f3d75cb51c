/* fuzz_attr: the stored attribute record (src/attr/attr.c).
 *
 * Input: the attrs column of the objects table, as a damaged or hostile
 * store would hold it:
 *   "TA1" 00 | u32 count | count x ( u64 type | u32 len | len bytes )
 * Checks, beyond "never crash, never leak":
 * - a refused record leaves an empty list;
 * - an accepted record serialises back to exactly the same bytes (the
 *   format has one encoding per list, so anything else is a parser that
 *   accepted more than it should or a writer that lost something);
 * - every accepted attribute passes the caller-template check, the typed
 *   getters agree with the stored sizes, and the list matches itself as a
 *   C_FindObjects template, and a copy of it equals it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attr/attr.h"
#include "fuzz_input.h"

static void
check_accepted(const attr_list *l, const uint8_t *data, size_t size)
{
	uint8_t *out = NULL;
	size_t len = 0, i;
	attr_list copy, again;
	CK_RV rv;

	if (attr_list_serialise(l, &out, &len) != 0)
		fz_fail("an accepted record (%zu attributes) does not serialise",
			l->n);
	if (len != size || memcmp(out, data, size) != 0)
		fz_fail("round trip differs: %zu bytes in, %zu out", size, len);
	if (attr_list_deserialise(out, len, &again) != 0 || again.n != l->n)
		fz_fail("re-serialised record does not parse");
	attr_list_clear(&again);
	free(out);

	for (i = 0; i < l->n; i++) {
		const CK_ATTRIBUTE *a = &l->v[i];
		CK_ULONG ul;
		bool b;

		if (a->ulValueLen > 0 && a->pValue == NULL)
			fz_fail("attribute 0x%lx: length %lu, no value",
				(unsigned long)a->type, (unsigned long)a->ulValueLen);
		if (attr_find(l, a->type) != a)
			fz_fail("attribute 0x%lx is not the first of its type",
				(unsigned long)a->type);
		switch (attr_kind_of(a->type)) {
		case ATTR_KIND_BOOL:
			if (!attr_get_bool(l, a->type, &b))
				fz_fail("bool 0x%lx unreadable", (unsigned long)a->type);
			break;
		case ATTR_KIND_ULONG:
			if (!attr_get_ulong(l, a->type, &ul))
				fz_fail("ulong 0x%lx unreadable", (unsigned long)a->type);
			break;
		default:
			break;
		}
	}
	/* What is stored is a valid template, and matches itself. */
	if ((rv = attr_template_check(l->v, l->n)) != CKR_OK)
		fz_fail("stored attributes fail the template check: 0x%lx",
			(unsigned long)rv);
	if (!attr_list_match(l, l->v, l->n))
		fz_fail("a list does not match itself");
	if (attr_list_copy(&copy, l) != 0)
		fz_fail("copy failed");
	if (copy.n != l->n || !attr_list_match(&copy, l->v, l->n) ||
	    !attr_list_match(l, copy.v, copy.n))
		fz_fail("copy differs");
	attr_list_clear(&copy);
	if ((rv = attr_list_from_template(&copy, l->v, l->n)) != CKR_OK)
		fz_fail("stored attributes refused as a template: 0x%lx",
			(unsigned long)rv);
	attr_list_clear(&copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	attr_list l;

	if (attr_list_deserialise(data, size, &l) != 0) {
		if (l.n != 0 || l.v != NULL)
			fz_fail("a refused record left %zu attributes", l.n);
		return 0;
	}
	check_accepted(&l, data, size);
	attr_list_clear(&l);
	return 0;
}
