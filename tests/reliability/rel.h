/* Shared by the reliability and security test programs (threads, fork,
 * tpmgone, p11check, victim, pubobj, attacker), beside the harness in
 * tests/lib/t11test.h (TAP output, loading the module): finding a token and
 * its key pairs, signing with every mechanism family the module offers and
 * verifying each signature with OpenSSL against the public key the module
 * reports. Thread-safe where noted. */
#ifndef TPM11_TESTS_REL_H
#define TPM11_TESTS_REL_H

#include <stdbool.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

#include <openssl/evp.h>

#include "t11test.h"

/* --- the token --------------------------------------------------------------- */

/* The slot whose token label is label; false if there is none. */
bool rel_find_slot(CK_FUNCTION_LIST_PTR p11, const char *label,
		   CK_SLOT_ID *slot);

/* --- keys ------------------------------------------------------------------ */

enum rel_kind { REL_P256, REL_P384, REL_RSA, REL_OTHER };

typedef struct rel_key {
	char label[256];
	unsigned char id[128];
	CK_ULONG id_len;
	CK_KEY_TYPE type;
	enum rel_kind kind;
	unsigned bits;
	CK_OBJECT_HANDLE priv, pub;
	EVP_PKEY *pkey; /* from the public key object's attributes */
} rel_key;

/* After C_Login: every private key on the session's token whose label
 * starts with prefix (NULL: all), each paired by CKA_ID with its public key
 * object and an EVP_PKEY built from that object's attributes. *keys is
 * malloc'd. Returns CKR_OK, or the first failing call's rv (with a
 * diagnostic); a private key without a public key, or an unparsable public
 * key, is CKR_GENERAL_ERROR. With a prefix, a private key that vanishes
 * between the search and the reading of its attributes (deleted by another
 * process) is skipped. */
CK_RV rel_load_keys(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s,
		    const char *prefix, rel_key **keys, size_t *n);
void rel_free_keys(rel_key *keys, size_t n);

/* Object counts by class on the session's token (what the caller can see). */
CK_RV rel_count_objects(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s,
			CK_OBJECT_CLASS cls, CK_ULONG *count);

/* --- signing ------------------------------------------------------------ */

/* Mechanism variants: for EC keys CKM_ECDSA on a hash of the curve's size,
 * CKM_ECDSA_SHA256 in one part and in several; for RSA CKM_RSA_PKCS on a
 * caller-built DigestInfo, CKM_SHA256_RSA_PKCS in one and several parts,
 * CKM_RSA_PKCS_PSS (salt = hash length) and CKM_SHA256_RSA_PKCS_PSS. */
#define REL_NVARIANTS 5
/* The variant's name for messages, e.g. "CKM_ECDSA/SHA-384". */
const char *rel_variant_name(const rel_key *k, unsigned variant);

/* Signs random data with key k in session s using variant (taken modulo
 * the number the key type has) and verifies the signature with OpenSSL.
 * Returns the first failing PKCS#11 rv; CKR_OK with *verified=false when
 * the module succeeded but the signature does not verify. Thread-safe when
 * each thread uses its own session. */
CK_RV rel_sign_verify(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s,
		      const rel_key *k, unsigned variant, bool *verified);

/* For a program that forks while its threads call rel_sign_verify: the
 * OpenSSL calls rel_sign_verify makes outside the module (random data,
 * digest, verification) take a lock that is held across fork(), so that no
 * thread is inside OpenSSL when another one forks. OpenSSL 3.0 keeps its
 * locks (the DRBGs', the method stores') across fork as they were: a child
 * forked while a thread held one blocks for ever on its first use of it
 * (seen: the private DRBG's lock, in the child's C_Login). POSIX leaves
 * this to the program; the module does the same for its own OpenSSL calls,
 * which run under its lock (src/pkcs11/module.c). */
void rel_fork_guard_openssl(void);

#endif
