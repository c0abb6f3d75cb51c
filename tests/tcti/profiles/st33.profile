# STMicroelectronics ST33TP (TPM 2.0) on SPI: a discrete TPM found in many
# business laptops. Format: tests/tcti/tcti-profile.c.
#
# Sources:
#  [W] wolfTPM README.md (github.com/wolfSSL/wolfTPM), "TPM2 Benchmarks",
#      "Run on ST ST33TP SPI at 33MHz", chip shown there as "Mfg STM (2),
#      Vendor , Fw 74.8": each operation repeated for about 1 s through the
#      wrapper API, mean time per operation. AES-CBC, -CTR and -CFB at 128
#      and 256 bits all work there, so TPM2_EncryptDecrypt stays.
#  [G] google/go-tpm-tools pull request #28, "8 CPU Real Machine - Real
#      TPM" (chip not named): 3.1 ms per operation for finding a persisted
#      SRK (BenchmarkRSAKeyCreation/SRK-Cached, 3089347 ns/op).
# No source found gives this chip's algorithm set or its object and session
# limits: nothing is hidden, and the limits are those of the TPM behind.

latency Sign/ecc 42                # ECDSA 256 sign 42.338 ms
latency VerifySignature/ecc 74     # ECDSA 256 verify 74.026 ms
latency RSA_Decrypt 248            # RSA 2048 Private 247.752 ms (OAEP: 251.780)
latency Sign/rsa 248               # estimate: as RSA 2048 Private
latency RSA_Encrypt 9              # RSA 2048 Public 9.122 ms (OAEP: 12.364)
latency VerifySignature/rsa 9      # estimate: as RSA 2048 Public
latency Create/rsa 7455            # RSA 2048 key gen 7455.036 ms (one run;
latency CreateLoaded/rsa 7455      #   create and load under a primary)
latency CreatePrimary/rsa 7455     #   estimate for primaries
latency Create/ecc 220             # ECC 256 key gen 219.770 ms
latency CreateLoaded/ecc 220
latency CreatePrimary/ecc 220      # estimate for primaries
latency ECDH_ZGen 247              # estimate, upper bound: ECDHE 256 agree
latency ECDH_KeyGen 247            #   247.085 ms
latency EncryptDecrypt2 26         # estimate: AES-128-CFB-enc 40.201 KB/s, 1 KB
latency EncryptDecrypt 26          #   = 25 ms
latency GetRandom 3                # estimate: RNG 13.763 KB/s, 32 bytes = 2.3 ms
latency SequenceUpdate 12          # estimate: SHA256 82.467 KB/s, 1 KB = 12 ms
latency Hash 12                    # estimate: likewise
latency default 3                  # estimate for every other command [G]
