/* The store fuzz_module runs against: made once per process with the
 * store API (no TPM), the way `tpm11 addtoken` and `addkey` leave one,
 * plus the oddities a damaged or hand-edited store may hold. Its key
 * material is derived from fixed numbers, so every run (and seedgen,
 * which signs with the EC keys to make seeds whose C_Verify succeeds)
 * sees the same store. */
#ifndef TPM11_FUZZ_FUZZ_STORE_H
#define TPM11_FUZZ_FUZZ_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/ec.h"

/* Object handles (store row ids, in insertion order) of the fuzz store. */
enum {
	FZ_OBJ_EC256_PUB = 1,   /* CKO_PUBLIC_KEY, P-256, CKA_VERIFY */
	FZ_OBJ_EC256_PRIV,      /* private, CKA_PRIVATE true: needs login */
	FZ_OBJ_RSA2048_PUB,     /* CKA_VERIFY */
	FZ_OBJ_RSA2048_PRIV,    /* CKA_PRIVATE false (addkey --no-login):
				   visible, C_SignInit/C_DecryptInit reach
				   the TPM call */
	FZ_OBJ_EC384_PRIV,      /* CKA_PRIVATE false */
	FZ_OBJ_EC384_PUB,
	FZ_OBJ_RSA_NOSIGN,      /* CKA_PRIVATE false, CKA_SIGN/DECRYPT false */
	FZ_OBJ_DATA,            /* CKO_DATA, not modifiable, not destroyable */
	FZ_OBJ_CERT,            /* CKO_CERTIFICATE */
	FZ_OBJ_MISMATCH,        /* says CKK_RSA, TPM blob is P-256 */
	FZ_OBJ_BADPUB,          /* TPM blob that does not parse */
	FZ_OBJ_RSA_TINY_PUB,    /* CKA_MODULUS of one byte, CKA_VERIFY */
	FZ_OBJ_UNINIT_DATA,     /* the data object of the second token */
	FZ_OBJ_COUNT = FZ_OBJ_UNINIT_DATA
};

#define FZ_TOKEN_ID 1           /* "fuzz": user PIN set */
#define FZ_TOKEN_UNINIT_ID 2    /* "fuzz-uninit": made by C_InitToken */
#define FZ_TOKEN_LABEL "fuzz"
#define FZ_RSA_BYTES 256

/* Makes the store in dir (which must exist). 0 ok, -1 error (printed). */
int fz_store_build(const char *dir);

/* The fixed EC private scalar of curve c (field length bytes) and its
 * public point; the RSA moduli are fixed bytes (not real keys: nothing
 * here needs their private half). */
void fz_ec_scalar(ec_curve c, uint8_t *d);
int fz_ec_point(ec_curve c, uint8_t *x, uint8_t *y);
void fz_rsa_modulus(uint8_t n[FZ_RSA_BYTES]);

#endif
