/* p11check: log in to a token through the module and sign with every key
 * pair, verifying each signature with OpenSSL against the public key the
 * module reports. Used by the reliability scripts after faults and in
 * load loops.
 *
 *   p11check --token LABEL --pin PIN [--prefix P] [--rounds R]
 *            [--variants] [--min-keys N]
 *   p11check --token LABEL --write-data BYTES
 *
 * --prefix: only keys whose label starts with P. --rounds: sign with the
 * keys in turn R times (default 1; with --variants every key signs with
 * every mechanism variant each round). Also checks that every private key
 * has exactly one public key with its CKA_ID and that there are as many
 * public keys as private keys (no half-written pair). The module comes
 * from $TPM11_MODULE.
 *
 * --write-data: instead, without login, C_CreateObject of a public token
 * data object of BYTES zero bytes; prints "C_CreateObject -> CKR_..." and
 * exits 0 when it was made, 5 when it was refused.
 *
 * Exit status: 0 all signed and verified; 1 a failure (printed on
 * stderr); 2 usage; 3 C_Login failed; 4 the token is not there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rel.h"

int
main(int argc, char **argv)
{
	const char *token = NULL, *pin = NULL, *prefix = NULL;
	long write_data = -1;
	unsigned rounds = 1, min_keys = 1, r, v, nv = 1, nsig = 0;
	bool variants = false, good;
	CK_FUNCTION_LIST_PTR p11;
	CK_SESSION_HANDLE s;
	CK_ULONG npub = 0;
	CK_SLOT_ID slot;
	rel_key *keys = NULL;
	size_t nkeys = 0, i;
	int i_arg, ret = 0;
	CK_RV rv;

	for (i_arg = 1; i_arg < argc; i_arg++) {
		const char *a = argv[i_arg];
		const char *val = i_arg + 1 < argc ? argv[i_arg + 1] : NULL;

		if (strcmp(a, "--variants") == 0) {
			variants = true;
			continue;
		}
		if (val == NULL)
			goto usage;
		if (strcmp(a, "--token") == 0)
			token = val;
		else if (strcmp(a, "--pin") == 0)
			pin = val;
		else if (strcmp(a, "--prefix") == 0)
			prefix = val;
		else if (strcmp(a, "--rounds") == 0)
			rounds = (unsigned)atoi(val);
		else if (strcmp(a, "--min-keys") == 0)
			min_keys = (unsigned)atoi(val);
		else if (strcmp(a, "--write-data") == 0)
			write_data = atol(val);
		else
			goto usage;
		i_arg++;
	}
	if (token == NULL || (pin == NULL && write_data < 0))
		goto usage;
	if (variants)
		nv = REL_NVARIANTS;
	/* t11_diag prints "# ..." on stdout; keep stdout for that. */
	if ((p11 = t11_load_module(NULL)) == NULL)
		return 1;
	if ((rv = p11->C_Initialize(NULL)) != CKR_OK) {
		fprintf(stderr, "p11check: C_Initialize -> %s\n",
			t11_rv_name(rv));
		return 1;
	}
	if (!rel_find_slot(p11, token, &slot)) {
		fprintf(stderr, "p11check: no token %s\n", token);
		p11->C_Finalize(NULL);
		return 4;
	}
	rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				NULL, NULL, &s);
	if (rv != CKR_OK) {
		fprintf(stderr, "p11check: C_OpenSession -> %s\n",
			t11_rv_name(rv));
		p11->C_Finalize(NULL);
		return 1;
	}
	if (write_data >= 0) {
		CK_OBJECT_CLASS cls = CKO_DATA;
		CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
		CK_OBJECT_HANDLE h;
		void *val = calloc(1, (size_t)write_data + 1);
		CK_ATTRIBUTE t[] = {
			{CKA_CLASS, &cls, sizeof(cls)},
			{CKA_TOKEN, &yes, sizeof(yes)},
			{CKA_PRIVATE, &no, sizeof(no)},
			{CKA_LABEL, "p11check data", 13},
			{CKA_VALUE, val, (CK_ULONG)write_data},
		};

		rv = val ? p11->C_CreateObject(s, t, 5, &h) : CKR_HOST_MEMORY;
		printf("C_CreateObject -> %s\n", t11_rv_name(rv));
		free(val);
		p11->C_Finalize(NULL);
		return rv == CKR_OK ? 0 : 5;
	}
	rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv != CKR_OK) {
		fprintf(stderr, "p11check: C_Login(%s) -> %s\n", token,
			t11_rv_name(rv));
		p11->C_Finalize(NULL);
		return 3;
	}
	if ((rv = rel_load_keys(p11, s, prefix, &keys, &nkeys)) != CKR_OK) {
		fprintf(stderr, "p11check: reading the key pairs of %s -> %s\n",
			token, t11_rv_name(rv));
		ret = 1;
		goto out;
	}
	if (prefix == NULL) {
		rv = rel_count_objects(p11, s, CKO_PUBLIC_KEY, &npub);
		if (rv != CKR_OK || npub != nkeys) {
			fprintf(stderr, "p11check: %s: %lu public keys, %zu "
				"private keys (%s)\n", token,
				(unsigned long)npub, nkeys, t11_rv_name(rv));
			ret = 1;
		}
	}
	if (nkeys < min_keys) {
		fprintf(stderr, "p11check: %s: %zu keys, expected at least %u\n",
			token, nkeys, min_keys);
		ret = 1;
	}
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < nkeys; i++) {
			for (v = 0; v < nv; v++) {
				unsigned var = variants ? v : r + (unsigned)i;

				rv = rel_sign_verify(p11, s, &keys[i], var,
						     &good);
				if (rv != CKR_OK || !good) {
					fprintf(stderr, "p11check: %s: key "
						"\"%s\" %s: %s\n", token,
						keys[i].label,
						rel_variant_name(&keys[i], var),
						rv != CKR_OK ? t11_rv_name(rv) :
						"signature does not verify");
					ret = 1;
					continue;
				}
				nsig++;
			}
		}
	}
	printf("p11check: %s: %zu keys, %u signatures verified\n", token,
	       nkeys, nsig);
out:
	rel_free_keys(keys, nkeys);
	if ((rv = p11->C_Logout(s)) != CKR_OK) {
		fprintf(stderr, "p11check: C_Logout -> %s\n", t11_rv_name(rv));
		ret = 1;
	}
	if ((rv = p11->C_Finalize(NULL)) != CKR_OK) {
		fprintf(stderr, "p11check: C_Finalize -> %s\n", t11_rv_name(rv));
		ret = 1;
	}
	return ret;
usage:
	fprintf(stderr, "usage: p11check --token LABEL --pin PIN [--prefix P] "
		"[--rounds R] [--variants] [--min-keys N]\n");
	return 2;
}
