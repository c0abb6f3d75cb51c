/* Unit tests for the mechanism table (src/pkcs11/mech.c): every operation
 * a row's CKF_* flags name has its hook (else a C_*Init that takes the
 * mechanism would call NULL); each type is in the table once; the sizes and
 * the offer follow the TPM's TPM_HAS_* bits as C_GetMechanismInfo reports
 * them (issue 14). No TPM: the table and mech_info only. Run with
 * CMOCKA_MESSAGE_OUTPUT=TAP. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pkcs11/mech.h"

/* The minimal chip profile (tests/tcti/profiles/minimal.profile): SHA-256,
 * P-256, RSA-2048, no EncryptDecrypt. */
#define HAS_MINIMAL                                                        \
	(TPM_HAS_SHA256 | TPM_HAS_P256 | TPM_HAS_RSA2048 | TPM_HAS_AES128 | \
	 TPM_HAS_HMAC | TPM_HAS_ECDH | TPM_HAS_RSA_DECRYPT)

static void
test_every_flag_has_its_hook(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < mech_count(); i++) {
		const mech_row *m = mech_at(i);
		CK_FLAGS f = m->flags;

		assert_non_null(m->ops);
		if (f & (CKF_SIGN | CKF_VERIFY | CKF_DECRYPT | CKF_ENCRYPT |
			 CKF_DIGEST))
			assert_non_null(m->ops->params);
		if (f & CKF_SIGN)
			assert_non_null(m->ops->sign);
		if (f & CKF_VERIFY)
			assert_non_null(m->ops->verify);
		if (f & (CKF_DECRYPT | CKF_ENCRYPT))
			assert_non_null(m->ops->crypt);
		if ((f & CKF_DECRYPT) && m->key_type == CKK_RSA)
			assert_non_null(m->ops->unpad);
		/* The hashing mechanisms sign and verify only. */
		if (m->hash != HASH_NONE && m->kind != MECH_DIGEST &&
		    m->kind != MECH_HMAC)
			assert_int_equal(f & (CKF_DECRYPT | CKF_ENCRYPT), 0);
	}
}

static void
test_each_type_once(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < mech_count(); i++) {
		assert_ptr_equal(mech_find(mech_at(i)->type), mech_at(i));
		for (j = i + 1; j < mech_count(); j++)
			assert_int_not_equal(mech_at(i)->type, mech_at(j)->type);
	}
	assert_null(mech_find(CKM_MD5));
	assert_int_equal(mech_hmac_type(HASH_SHA384), CKM_SHA384_HMAC);
	assert_int_equal(mech_hmac_type(HASH_SHA224), CKM_VENDOR_DEFINED);
}

static void
test_info_follows_the_tpm(void **state)
{
	CK_MECHANISM_INFO info;

	(void)state;
	assert_int_equal(mech_info(CKM_ECDSA, TPM_HAS_ALL, &info), CKR_OK);
	assert_int_equal(info.ulMinKeySize, 256);
	assert_int_equal(info.ulMaxKeySize, 384);
	assert_int_equal(info.flags, CKF_HW | CKF_SIGN | CKF_VERIFY |
					     CKF_EC_F_P | CKF_EC_NAMEDCURVE |
					     CKF_EC_UNCOMPRESS);
	assert_int_equal(mech_info(CKM_ECDSA, HAS_MINIMAL, &info), CKR_OK);
	assert_int_equal(info.ulMaxKeySize, 256);
	assert_int_equal(mech_info(CKM_RSA_PKCS, TPM_HAS_ALL, &info), CKR_OK);
	assert_int_equal(info.flags,
			 CKF_HW | CKF_SIGN | CKF_VERIFY | CKF_DECRYPT);
	assert_int_equal(mech_info(CKM_SHA256_RSA_PKCS, HAS_MINIMAL, &info),
			 CKR_OK);
	assert_int_equal(info.flags, CKF_HW | CKF_SIGN | CKF_VERIFY);
	assert_int_equal(info.ulMaxKeySize, 2048);
	/* No EncryptDecrypt: no AES mode; no SHA-384: no HMAC with it. */
	assert_int_equal(mech_info(CKM_AES_CBC, HAS_MINIMAL, &info),
			 CKR_MECHANISM_INVALID);
	assert_int_equal(mech_info(CKM_SHA384_HMAC, HAS_MINIMAL, &info),
			 CKR_MECHANISM_INVALID);
	assert_int_equal(mech_info(CKM_SHA256_HMAC, HAS_MINIMAL, &info),
			 CKR_OK);
	assert_int_equal(info.ulMaxKeySize, HMAC_KEY_MAX);
	/* Without TPM2_RSA_Decrypt no RSA mechanism but key generation. */
	assert_int_equal(mech_info(CKM_RSA_PKCS, TPM_HAS_ALL &
				   ~TPM_HAS_RSA_DECRYPT, &info),
			 CKR_MECHANISM_INVALID);
	assert_int_equal(mech_info(CKM_RSA_PKCS_KEY_PAIR_GEN, TPM_HAS_ALL &
				   ~TPM_HAS_RSA_DECRYPT, &info),
			 CKR_OK);
	/* Digests are the host's. */
	assert_int_equal(mech_info(CKM_SHA512, 0, &info), CKR_OK);
	assert_int_equal(info.flags, CKF_DIGEST);
	assert_int_equal(mech_info(CKM_MD5, TPM_HAS_ALL, &info),
			 CKR_MECHANISM_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_flag_has_its_hook),
		cmocka_unit_test(test_each_type_once),
		cmocka_unit_test(test_info_follows_the_tpm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
