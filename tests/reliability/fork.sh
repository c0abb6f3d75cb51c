#!/usr/bin/env bash
# fork (issue 4, item 2): tests/reliability/fork (fork.c). The parent
# reaches the TPM directly or through tpm2-abrmd (tests/run runs the script
# once per TPM mode, T11_TPM_MODE), initialises, logs in, signs in two
# threads and forks: a child that skips C_Initialize gets
# CKR_CRYPTOKI_NOT_INITIALIZED for every call, including on the parent's
# session; children that call C_Initialize see no inherited login, log in
# and sign while the parent signs; every signature is verified with
# OpenSSL; the TPM holds nothing afterwards.
#
# Where the children's TPM connection goes:
#  1. Each initialising child sets TPM11_TCTI to its own swtpm started on a
#     copy of the parent TPM's state (same seeds, so the store's blobs
#     load there; in minimal mode seen through the same profile). A direct
#     swtpm cannot be shared by two processes (3 object slots), and see 2
#     for tpm2-abrmd.
#  2. In abrmd mode: the children use tpm2-abrmd like the parent. Known
#     limit, reported as TODO: the tabrmd TCTI cannot be set up again in
#     a forked child once the parent has used it (GLib's cached
#     session-bus connection has lost its worker thread; the D-Bus call
#     times out after 25 s and the child gets CKR_DEVICE_ERROR). The
#     child must still end normally and the parent must not notice.
#
# ssh-agent's `ssh-add -s` path (ssh-agent forks and execs
# ssh-pkcs11-helper, which loads the module) is covered by
# tests/e2e/agent.sh and not repeated here.
#
# Children: 3 (CI) or 8 with T11_LONG=1; signatures per child: 40 or 300.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/rel-lib.bash"
t11_require_build
rel_require_prog FORK fork

if t11_long; then C=8; N=300; else C=3; N=40; fi
export T11_TOKEN=REL T11_PIN=fork-user-1234

t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
KEYS=("p256 ecc256" "p384 ecc384" "rsa2048 rsa2048")
t11_keys_offered KEYS "a key the parent and the children sign with"
check_clean "tpm11 init" "$TPM11_TOOL" init
rel_make_token REL fork-so-1234 "$T11_PIN" "${KEYS[@]}"

# One swtpm per initialising child (children 1..C sign and finalise, child
# C+1 exits without C_Finalize), each on a copy of the TPM's state.
clones_ok=1
for i in $(seq 1 $((C + 1))); do
	mkdir -p "$T11_TMP/clone$i"
	cp -a "$T11_TMP/tpm/state" "$T11_TMP/clone$i/state"
	swtpm_start "$T11_TMP/clone$i" || clones_ok=0
done
t11_tpm_use "$T11_TMP/tpm"
if [ "$clones_ok" = 1 ]; then ok "$((C + 1)) swtpm copies for the children"
else not_ok "$((C + 1)) swtpm copies for the children"; fi

# In minimal mode the children see their copy through the profile too.
CHILD_TCTI="swtpm:path=$T11_TMP/clone%u/tpm.sock"
[ "$(t11_tpm_mode)" = minimal ] && CHILD_TCTI="$T11_PROFILE_TCTI:minimal:$CHILD_TCTI"
# (under tests/run's 300 s per script, so that a hang is reported with
# the stacks of the hung processes, tests/lib/hang.bash)
if t11_long; then SECS=900; else SECS=240; fi
rel_run_tap "children on their own TPM: " "$SECS" "$FORK" -c "$C" -n "$N" \
	--child-tcti "$CHILD_TCTI"
# The known limit: it waits 25 s for the D-Bus timeout, so it runs in the
# long mode (T11_LONG=1, tests/run --long) or with T11_FORK_TABRMD_CHILD=1;
# T11_FORK_SKIP_TABRMD_CHILD=1 skips it even then.
if [ "$(t11_tpm_mode)" = abrmd ]; then
	if [ "${T11_FORK_SKIP_TABRMD_CHILD:-0}" != 1 ] &&
		{ t11_long || [ "${T11_FORK_TABRMD_CHILD:-0}" = 1 ]; }; then
		rel_run_tap "children through tpm2-abrmd: " 120 "$FORK" -c 1 -n 5 \
			--todo-children "tabrmd TCTI cannot be re-created in a forked child (GLib D-Bus singleton)"
	else
		T11_TAP_N=$((T11_TAP_N + 1))
		echo "ok $T11_TAP_N - children through tpm2-abrmd (a known limit: the tabrmd TCTI cannot be set up again in a forked child; 25 s of D-Bus timeout) # SKIP long mode only (T11_LONG=1 or T11_FORK_TABRMD_CHILD=1)"
	fi
fi
check "TPM clean after the forks" tpm_is_clean
for i in $(seq 1 "$C"); do
	check "child $i's TPM clean after its C_Finalize" tpm_is_clean "$T11_TMP/clone$i"
done

t11_done
