/* Attribute lists: the one object representation every part shares.
 * Values are owned copies; ulong and bool values are kept in the host's
 * CK_ULONG / CK_BBOOL form, exactly as C_GetAttributeValue returns them. */
#ifndef TPM11_ATTR_ATTR_H
#define TPM11_ATTR_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

typedef struct {
	CK_ATTRIBUTE *v;
	size_t n;
	size_t cap;
} attr_list;

void attr_list_init(attr_list *l);
/* Wipes every value (keys' attributes may be secret) and frees them. */
void attr_list_clear(attr_list *l);

/* Adds or replaces; copies len bytes of val. 0 ok, -1 out of memory. */
int attr_set(attr_list *l, CK_ATTRIBUTE_TYPE t, const void *val, size_t len);
int attr_set_bool(attr_list *l, CK_ATTRIBUTE_TYPE t, bool v);
int attr_set_ulong(attr_list *l, CK_ATTRIBUTE_TYPE t, CK_ULONG v);
int attr_set_str(attr_list *l, CK_ATTRIBUTE_TYPE t, const char *s);
void attr_remove(attr_list *l, CK_ATTRIBUTE_TYPE t);

const CK_ATTRIBUTE *attr_find(const attr_list *l, CK_ATTRIBUTE_TYPE t);
/* Typed, length-checked getters: true when present with the right size. */
bool attr_get_bool(const attr_list *l, CK_ATTRIBUTE_TYPE t, bool *out);
bool attr_get_ulong(const attr_list *l, CK_ATTRIBUTE_TYPE t, CK_ULONG *out);
/* Bool attribute, or def when absent or malformed. */
bool attr_bool_or(const attr_list *l, CK_ATTRIBUTE_TYPE t, bool def);
/* Copies the value into a NUL-terminated malloc'd string (NULL if absent). */
char *attr_dup_str(const attr_list *l, CK_ATTRIBUTE_TYPE t);

int attr_list_copy(attr_list *dst, const attr_list *src);

/* True when every attribute of the template is present in l with an equal
 * value (C_FindObjects matching). */
bool attr_list_match(const attr_list *l, const CK_ATTRIBUTE *tmpl, CK_ULONG n);

/* PKCS#11 v2.40 5.2: a template from a caller. NULL pTemplate with n > 0,
 * or an attribute with NULL pValue and a non-zero length, is
 * CKR_ARGUMENTS_BAD; a bool or ulong attribute of the wrong size is
 * CKR_ATTRIBUTE_VALUE_INVALID. Returns CKR_OK otherwise. */
CK_RV attr_template_check(const CK_ATTRIBUTE *tmpl, CK_ULONG n);
/* Copies a checked caller template into an attr_list (replacing duplicates
 * would hide a conflicting template: CKR_TEMPLATE_INCONSISTENT). */
CK_RV attr_list_from_template(attr_list *l, const CK_ATTRIBUTE *tmpl,
			      CK_ULONG n);

/* A type PKCS#11 defines (v2.40, and v3.0's CKA_UNIQUE_ID). */
bool attr_type_known(CK_ATTRIBUTE_TYPE t);
#ifndef CKA_UNIQUE_ID
#define CKA_UNIQUE_ID 0x4UL
#endif

/* Kind of value a known attribute holds, for size checks. */
typedef enum { ATTR_KIND_BYTES, ATTR_KIND_BOOL, ATTR_KIND_ULONG } attr_kind;
attr_kind attr_kind_of(CK_ATTRIBUTE_TYPE t);

/* Serialised form, as stored (little-endian, independent of the host):
 *   "TA1" 00 | u32 count | count × ( u64 type | u32 len | len bytes )
 * bool values are stored as one byte, ulong values as a u64. Parsing is
 * strict: any length that does not add up is an error. */
int attr_list_serialise(const attr_list *l, uint8_t **out, size_t *len);
int attr_list_deserialise(const uint8_t *buf, size_t len, attr_list *out);

#endif
