# minimal: the smallest chip issue 14 asks the project to work on.
# SHA-256 only, NIST P-256 and RSA-2048 only, no TPM2_EncryptDecrypt or
# TPM2_EncryptDecrypt2 (export rules), 3 transient objects and 3 loaded
# sessions (the minimum of the OPTIGA TPM SLB 9670 data sheet rev. 1.4,
# "Up to 3 loaded sessions (TPM_PT_HR_LOADED_MIN)", "Up to 3 loaded
# transient Objects (TPM_PT_HR_TRANSIENT_MIN)"). AES stays, in CFB mode
# only: parameter encryption and storage keys need it. No latency, no
# faults: a functional profile (tests/tcti/profile.sh; the e2e suite).
# Format: tests/tcti/tcti-profile.c.

hide-algorithm sha1 sha384 sha512 sm3_256 sha3_256 sha3_384 sha3_512
hide-algorithm tdes camellia sm4 ctr ofb cbc ecb
hide-algorithm sm2 ecdaa ecschnorr ecmqv kdf2
ecc-curves nist_p256
rsa-key-bits 2048
hide-command EncryptDecrypt EncryptDecrypt2
max-transient 3
max-sessions 3
