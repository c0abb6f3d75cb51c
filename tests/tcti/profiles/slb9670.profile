# Infineon OPTIGA TPM SLB 9670 (TPM 2.0): a discrete TPM on SPI, common in
# PCs and on Raspberry Pi add-on boards. Format: tests/tcti/tcti-profile.c.
#
# Sources (numbers below cite them by letter):
#  [D] OPTIGA TPM SLB 9670 TPM2.0 data sheet, revision 1.4, 2018-12-07:
#      "Up to 3 loaded sessions (TPM_PT_HR_LOADED_MIN)", "Up to 3 loaded
#      transient Objects (TPM_PT_HR_TRANSIENT_MIN)", "24 PCRs (SHA-1 or
#      SHA-256)".
#  [S] OPTIGA TPM SLM 9670 TPM2.0 data sheet, revision 1.0, 2019-04-08 (the
#      industrial version, "Pin compatible to OPTIGA TPM SLB9670"):
#      "RSA-1024 and RSA-2048, SHA-1 and SHA-256, ECC NIST P256, ECC BN256".
#      The SLB 9670 data sheet [D] found lists no algorithms; this set is
#      taken from its industrial twin.
#  [W] wolfTPM README.md (github.com/wolfSSL/wolfTPM), "TPM2 Benchmarks",
#      "Run on Infineon OPTIGA SLB9670 at 43MHz", chip shown there as "Mfg
#      IFX (1), Vendor SLB9670, Fw 7.85 (4555)": each operation repeated for
#      about 1 s through the wrapper API, mean time per operation. Every AES
#      mode there reads "Benchmark symmetric AES-... not supported!".
#  [G] google/go-tpm-tools pull request #28, "8 CPU Real Machine - Real
#      TPM" (chip not named): 3.1 ms per operation for finding a persisted
#      SRK (BenchmarkRSAKeyCreation/SRK-Cached, 3089347 ns/op).

hide-algorithm sha384 sha512 sm3_256 sha3_256 sha3_384 sha3_512   # [S], [D]
hide-algorithm tdes camellia sm4 sm2 ecschnorr ecmqv              # [S]
ecc-curves nist_p256 bn_p256                                      # [S]
rsa-key-bits 1024 2048                                            # [S]
# [W]: no AES mode works on this chip through TPM2_EncryptDecrypt(2); AES
# itself stays (sessions and storage keys need AES-128-CFB).
hide-command EncryptDecrypt EncryptDecrypt2
max-transient 3                                                   # [D]
max-sessions 3                                                    # [D]

# Latency in ms, measured [W] unless marked:
latency Sign/ecc 69                # ECDSA 256 sign 68.865 ms
latency VerifySignature/ecc 114    # ECDSA 256 verify 113.539 ms
latency RSA_Decrypt 163            # RSA 2048 Private 163.207 ms (OAEP: 167.399)
latency Sign/rsa 163               # estimate: the same private-key operation as
                                   # RSA 2048 Private
latency RSA_Encrypt 9              # RSA 2048 Public 8.893 ms (OAEP: 13.848)
latency VerifySignature/rsa 9      # estimate: as RSA 2048 Public
latency Create/rsa 2196            # RSA 2048 key gen 2196.230 ms (create and
latency CreateLoaded/rsa 2196      #   load under a primary; all put on the
latency CreatePrimary/rsa 2196     #   key generation; estimate for primaries)
latency Create/ecc 231             # ECC 256 key gen 231.350 ms (likewise)
latency CreateLoaded/ecc 231
latency CreatePrimary/ecc 231
latency ECDH_ZGen 232              # estimate, upper bound: ECDHE 256 agree
latency ECDH_KeyGen 232            #   232.144 ms (ephemeral key and Z together)
latency GetRandom 3                # estimate: RNG 14.033 KB/s, 32 bytes = 2.3 ms
latency SequenceUpdate 8           # estimate: SHA256 136.763 KB/s, 1 KB = 7.3 ms
latency Hash 8                     # estimate: likewise
latency default 3                  # estimate for every other command [G]
