/* Decoding fuzz input into PKCS#11 call arguments, and the matching
 * encoder that fuzz/seedgen.c uses to write seed inputs.
 *
 * The decoder never fails: when the input runs out every read gives
 * zeros, so each byte string is some valid sequence of arguments. It
 * builds arguments the way a careless but not malicious caller would:
 * a buffer it passes is really as long as the length beside it (else the
 * caller, not the module, would be at fault), while NULL pointers with
 * non-zero lengths, huge counts with a NULL template, wrong sizes for
 * bool and ulong attributes, unknown attribute types and duplicate types
 * are all produced. Every buffer is its own exact-size malloc, so ASan
 * sees a module read or write one byte past the caller's length. */
#ifndef TPM11_FUZZ_FUZZ_INPUT_H
#define TPM11_FUZZ_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

/* --- reading -------------------------------------------------------------- */

typedef struct {
	const uint8_t *p;
	size_t n;
} fz_reader;

uint8_t fz_u8(fz_reader *r);
uint16_t fz_u16(fz_reader *r);
uint64_t fz_u64(fz_reader *r);
/* Copies up to n bytes of input into out, zero-filling the rest. */
void fz_fill(fz_reader *r, void *out, size_t n);
bool fz_empty(const fz_reader *r);

/* An attribute length or count worth trying at the edges: 0, 1, the sizes
 * of CK_BBOOL and CK_ULONG, 2^31, 2^32, ULONG_MAX and its neighbours. */
CK_ULONG fz_huge(fz_reader *r);

/* --- templates ------------------------------------------------------------ */

/* Encoding (all little-endian):
 *   count byte c: 0xff = NULL template with count fz_huge(); 0xfe = NULL
 *   template, count 0; else c % (FZ_MAX_ATTRS + 1) attributes follow.
 *   Per attribute: type byte (an index into fz_attr_types, or 0xff and a
 *   u64 type, or 0xfe and a small raw type byte), then a mode byte:
 *     FZ_VAL_NATURAL  value of the natural size for the type (1 for a bool,
 *                     8 for a ulong, else a length byte), bytes follow
 *     FZ_VAL_LEN8     length byte, bytes follow
 *     FZ_VAL_LEN16    u16 length (at most FZ_MAX_VALUE), bytes follow
 *     FZ_VAL_NULL_LEN NULL pValue, length byte
 *     FZ_VAL_NULL_HUGE NULL pValue, fz_huge() length
 *     FZ_VAL_NULL_0   NULL pValue, length 0
 *     FZ_VAL_EMPTY    non-NULL pValue, length 0
 *   Bytes missing from the input are zeros. */
enum {
	FZ_VAL_NATURAL = 0,
	FZ_VAL_LEN8,
	FZ_VAL_LEN16,
	FZ_VAL_NULL_LEN,
	FZ_VAL_NULL_HUGE,
	FZ_VAL_NULL_0,
	FZ_VAL_EMPTY,
	FZ_VAL_MODES
};
#define FZ_MAX_ATTRS 32
#define FZ_MAX_VALUE 4096

typedef struct {
	CK_ATTRIBUTE *v;      /* what the caller passes; NULL or n entries */
	CK_ULONG n;           /* the count the caller passes */
	size_t nalloc;        /* entries really allocated */
	CK_ULONG *cap;        /* each entry's real buffer size (0 for NULL) */
} fz_template;

void fz_template_decode(fz_reader *r, fz_template *t);
/* Restores ulValueLen from cap (a C_GetAttributeValue call changes it). */
void fz_template_reset_lens(fz_template *t);
void fz_template_free(fz_template *t);

extern const CK_ATTRIBUTE_TYPE fz_attr_types[];
extern const size_t fz_attr_types_n;

/* --- mechanisms ------------------------------------------------------------ */

/* Encoding: selector byte (0xff: NULL CK_MECHANISM pointer; 0xfe: a u64
 * mechanism type follows; else an index into fz_mech_types), then a
 * parameter mode byte:
 *   FZ_PAR_NONE      NULL, 0
 *   FZ_PAR_NULL_LEN  NULL, fz_huge() length
 *   FZ_PAR_PSS       CK_RSA_PKCS_PSS_PARAMS, exact size: hash byte, mgf
 *                    byte (indices into the tables below), fz_slen()
 *   FZ_PAR_PSS_SHORT / FZ_PAR_PSS_LONG  same fields, a buffer one byte
 *                    shorter / longer than the struct
 *   FZ_PAR_BYTES     length byte, bytes
 *   FZ_PAR_EMPTY     non-NULL, 0
 *   FZ_PAR_OAEP      CK_RSA_PKCS_OAEP_PARAMS, exact size: hash byte, mgf
 *                    byte, source byte (0, CKZ_DATA_SPECIFIED, or other),
 *                    then the label as fz_buf_decode reads it */
enum {
	FZ_PAR_NONE = 0,
	FZ_PAR_NULL_LEN,
	FZ_PAR_PSS,
	FZ_PAR_PSS_SHORT,
	FZ_PAR_PSS_LONG,
	FZ_PAR_BYTES,
	FZ_PAR_EMPTY,
	FZ_PAR_OAEP,
	FZ_PAR_MODES
};

typedef struct {
	CK_MECHANISM m;
	CK_MECHANISM *ptr;    /* &m, or NULL */
	void *param;          /* owned */
	void *label;          /* owned: an OAEP label */
} fz_mech;

void fz_mech_decode(fz_reader *r, fz_mech *m);
void fz_mech_free(fz_mech *m);

extern const CK_MECHANISM_TYPE fz_mech_types[];
extern const size_t fz_mech_types_n;
extern const CK_MECHANISM_TYPE fz_pss_hashes[];
extern const size_t fz_pss_hashes_n;
extern const CK_RSA_PKCS_MGF_TYPE fz_pss_mgfs[];
extern const size_t fz_pss_mgfs_n;

/* A PSS salt length: small values, the hash sizes, and values near
 * ULONG_MAX that overflow careless arithmetic. */
CK_ULONG fz_slen(fz_reader *r);

/* --- byte strings (PINs, data) ---------------------------------------------- */

/* Encoding: mode byte: 0 NULL with length byte, 1 NULL with fz_huge(),
 * 3 a buffer of u16 % (FZ_MAX_VALUE + 1) bytes, else a buffer of length
 * byte bytes; the bytes follow. *len gets the length to pass; the return
 * value is the pointer (owned, or NULL). */
void *fz_buf_decode(fz_reader *r, CK_ULONG *len);

/* --- checks ------------------------------------------------------------------- */

/* True when rv is a return value PKCS#11 v2.40 defines. */
bool fz_ckr_known(CK_RV rv);
/* Prints why and aborts: the fuzzer records the input as a crash. */
void fz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* --- writing seeds ---------------------------------------------------------- */

typedef struct {
	uint8_t *p;
	size_t n, cap;
} fz_writer;

void fz_put_u8(fz_writer *w, uint8_t v);
void fz_put_u16(fz_writer *w, uint16_t v);
void fz_put_u64(fz_writer *w, uint64_t v);
void fz_put_bytes(fz_writer *w, const void *p, size_t n);
/* A type byte (table index, else 0xff + u64). */
void fz_put_attr_type(fz_writer *w, CK_ATTRIBUTE_TYPE t);
/* One attribute in FZ_VAL_LEN16 form (value of len bytes). */
void fz_put_attr(fz_writer *w, CK_ATTRIBUTE_TYPE t, const void *v,
		 size_t len);
void fz_put_attr_bool(fz_writer *w, CK_ATTRIBUTE_TYPE t, bool v);
void fz_put_attr_ulong(fz_writer *w, CK_ATTRIBUTE_TYPE t, CK_ULONG v);
/* A mechanism selector for type (index, else 0xfe + u64). */
void fz_put_mech_type(fz_writer *w, CK_MECHANISM_TYPE t);
int fz_writer_save(const fz_writer *w, const char *path);
void fz_writer_free(fz_writer *w);

#endif
