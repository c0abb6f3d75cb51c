#!/usr/bin/env bash
# Integration test of libtpm11.so: a fresh swtpm and store, token ITEST
# with keys p256 (ecc256), p384 (ecc384) and rsa2048 made by the tool, then
# tests/integration/module_test drives the module through every C_* call
# with the TPM reached directly (swtpm: TCTI), checks the TPM is left with
# no transient objects or sessions, and runs again through tpm2-abrmd
# (tests named "abrmd: ...").
#
# One TAP stream: module_test numbers its tests from TAP_START and prints no
# plan; this script counts them and prints the single final plan.
#
#   tests/integration/module.sh [NAME...]
#
# NAME...: run only those cases of module_test (and the cases they need),
# both times, e.g. `TPM11_BUILD=build bash tests/integration/module.sh rsa`;
# `build/tests/integration/module_test --list` names them. tests/run runs
# them all.
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
t11_require_build

MODULE_TEST=$TPM11_BUILD/tests/integration/module_test
if [ ! -x "$MODULE_TEST" ]; then
	not_ok "built: $MODULE_TEST exists"
	t11_done
	exit 1
fi
MODULE_TEST=$(t11_prog "$MODULE_TEST")

export TPM11_TEST_PIN=itest-user-8642
export TPM11_TEST_SOPIN=itest-so-97531
LABEL=ITEST
KEYS=("p256 ecc256" "p384 ecc384" "rsa2048 rsa2048")

# run_module_test PREFIX TAG [NAME...]: runs module_test (its cases NAME...,
# or all), merges its tests into our numbering, and adds one test that it
# ran to completion.
run_module_test() {
	local prefix=$1 tag=$2 out err rc
	shift 2
	out=$T11_TMP/module_test.$tag.out
	err=$T11_TMP/module_test.$tag.err
	TAP_START=$((T11_TAP_N + 1)) TAP_PREFIX=$prefix \
		timeout -k 10 600 "$MODULE_TEST" "$@" 2>"$err" | tee "$out"
	rc=${PIPESTATUS[0]}
	tap_merged "${prefix}module_test" "$out" "$err" "$rc" 600
}

# --- set-up with the tool, TPM reached directly --------------------------------
if ! swtpm_start "$T11_TMP/tpm"; then
	not_ok "swtpm starts"
	t11_done
	exit 1
fi
check "tpm11 init" "$TPM11_TOOL" init
check "tpm11 addtoken --label $LABEL" "$TPM11_TOOL" addtoken --label "$LABEL" \
	--sopin "$TPM11_TEST_SOPIN" --userpin "$TPM11_TEST_PIN"
for k in "${KEYS[@]}"; do
	read -r key_label key_alg <<<"$k"
	check "tpm11 addkey --algorithm $key_alg --key-label $key_label" \
		"$TPM11_TOOL" addkey --label "$LABEL" --algorithm "$key_alg" \
		--key-label "$key_label" --userpin "$TPM11_TEST_PIN"
done
check "after the tool's set-up the TPM holds no transient objects or sessions" \
	tpm_is_clean

# --- the module, TPM reached directly --------------------------------------------
run_module_test "" direct "$@"
check "after module_test the TPM holds no transient objects or sessions" \
	tpm_is_clean

# --- the module through tpm2-abrmd ---------------------------------------------
if abrmd_start "$T11_TMP/tpm"; then
	run_module_test "abrmd: " abrmd "$@"
	# abrmd keeps its own view per connection; stop it and look at the TPM
	# directly.
	pid=$(cat "$T11_TMP/tpm/abrmd.pid")
	kill "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	export TPM11_TCTI="swtpm:path=$T11_TMP/tpm/tpm.sock"
	export TPM2TOOLS_TCTI=$TPM11_TCTI
	check "abrmd: after module_test and abrmd's exit the TPM holds no transient objects or sessions" \
		tpm_is_clean
else
	not_ok "abrmd: tpm2-abrmd starts in front of the swtpm"
	sed 's/^/# /' "$T11_TMP/tpm/abrmd.log" 2>/dev/null | tail -n 20
fi

t11_done
