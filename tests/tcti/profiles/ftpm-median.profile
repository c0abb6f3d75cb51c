# A firmware TPM (Intel PTT, AMD fTPM) of a laptop, at the field data's
# median (50th percentile). Format: tests/tcti/tcti-profile.c.
#
# No published per-command timing of a firmware TPM was found; this profile
# is built from field data over many machines, and says so:
#  [C] "Is TPM performance good enough to sign every request?"
#      (stiankri.substack.com/p/tpm-performance): "Chrome ran a study on TPM
#      signatures, using ECDSA P256. The latency was 200ms for 50th
#      percentile and 600ms for the 95th percentile", and, from its own
#      benchmark over volunteers' machines, "single digit signatures per
#      second on most systems". A population of Chrome users' TPMs, firmware
#      and discrete alike: an estimate for one firmware TPM.
#  [P] tpm2-software/tpm2-tools issue #3604: the Intel firmware TPM of a
#      ThinkCentre M920x (Core i5-8500) answers TPM2_CreateLoaded with
#      "command code not supported".
#  [G] google/go-tpm-tools pull request #28, "8 CPU Real Machine - Real
#      TPM" (chip not named): 3.1 ms per operation for finding a persisted
#      SRK (SRK-Cached), 2325 ms for creating the RSA-2048 SRK
#      (SRK-Uncached, 2324773609 ns/op).

hide-command CreateLoaded          # [P]
max-transient 3                    # estimate: as the discrete chips'
max-sessions 3                     #   data sheets (slb9670.profile)

latency Sign 200                   # [C]: ECDSA P-256, median (50th percentile)
latency CreatePrimary/rsa 2325     # [G], estimate for this TPM
latency Create/rsa 2325            # estimate: as CreatePrimary/rsa [G]
latency default 3                  # estimate for every other command [G]
