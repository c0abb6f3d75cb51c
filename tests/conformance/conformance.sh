#!/usr/bin/env bash
# PKCS#11 conformance of libtpm11.so (issue 5): a fresh swtpm and store,
# token CONF with keys p256 (ecc256), p384 (ecc384) and rsa2048 made by the
# tool, then tests/conformance/conformance walks the Cryptoki API function
# by function against PKCS#11 v2.40/v3.0 and checks every mechanism the
# module advertises. Facts about the TPM (manufacturer, firmware, revision,
# algorithms, curves) are read with tpm2_getcap and handed over, so the
# program can check that the token reports them truly and offers what the
# TPM can do. Ends by checking the TPM holds no transient objects or
# sessions.
#
# One TAP stream: the program numbers its tests from TAP_START and prints
# no plan; this script counts them and prints the single final plan.
# The support table (function/mechanism -> supported | CKR code) is
# written to $CONFORMANCE_TABLE (default:
# $TPM11_BUILD/tests/conformance/support-table.txt) and shown as TAP
# comments.
#
#   tests/conformance/conformance.sh [NAME...]
#
# NAME...: run only those cases of the program (and the cases they need),
# e.g. `TPM11_BUILD=build bash tests/conformance/conformance.sh objects`;
# `build/tests/conformance/conformance --list` names them. tests/run runs
# them all.
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
t11_require_build

PROG=$TPM11_BUILD/tests/conformance/conformance
if [ ! -x "$PROG" ]; then
	not_ok "built: $PROG exists (tests/meson.build needs subdir('conformance'))"
	t11_done
	exit 1
fi
PROG=$(t11_prog "$PROG")

export TPM11_TEST_PIN=conf-user-8642
export TPM11_TEST_SOPIN=conf-so-97531
export CONF_TOKEN=CONF
: "${CONFORMANCE_TABLE:=$TPM11_BUILD/tests/conformance/support-table.txt}"
export CONFORMANCE_TABLE
KEYS=("p256 ecc256" "p384 ecc384" "rsa2048 rsa2048")

if ! swtpm_start "$T11_TMP/tpm"; then
	not_ok "swtpm starts"
	t11_done
	exit 1
fi

# --- what the TPM is and has -------------------------------------------------
# prop NAME: the raw value of a fixed property.
prop() {
	tpm2_getcap properties-fixed 2>/dev/null |
		awk -v p="$1:" '$1 == p { getline; print $2; exit }'
}
CONF_TPM_MANUFACTURER=$(tpm2_getcap properties-fixed 2>/dev/null |
	awk '$1 == "TPM2_PT_MANUFACTURER:" { getline; getline; gsub(/"/, "", $2); print $2; exit }')
CONF_TPM_FW1=$(prop TPM2_PT_FIRMWARE_VERSION_1)
CONF_TPM_REVISION=$(( $(prop TPM2_PT_REVISION) ))
CONF_TPM_ALGS=$(tpm2_getcap algorithms 2>/dev/null | sed -n 's/^\([a-z0-9_]*\):.*/\1/p' | tr '\n' ' ')
CONF_TPM_CURVES=$(tpm2_getcap ecc-curves 2>/dev/null | sed -n 's/^\([A-Z0-9_]*\):.*/\1/p' | tr '\n' ' ')
CONF_LIB_VERSION=$(sed -n "s/^ *version *: *'\([0-9.]*\)'.*/\1/p" "$T11_SRC/meson.build" | head -1)
export CONF_TPM_MANUFACTURER CONF_TPM_FW1 CONF_TPM_REVISION CONF_TPM_ALGS \
	CONF_TPM_CURVES CONF_LIB_VERSION
if [ -n "$CONF_TPM_MANUFACTURER" ] && [ -n "$CONF_TPM_ALGS" ] && [ -n "$CONF_TPM_CURVES" ]; then
	ok "tpm2_getcap: the TPM's manufacturer, algorithms and curves are known"
else
	not_ok "tpm2_getcap: the TPM's manufacturer, algorithms and curves are known"
fi
diag "TPM: $CONF_TPM_MANUFACTURER fw $CONF_TPM_FW1 rev $CONF_TPM_REVISION"
diag "TPM algorithms: $CONF_TPM_ALGS"
diag "TPM curves: $CONF_TPM_CURVES"

# --- set-up with the tool --------------------------------------------------------
check "tpm11 init" "$TPM11_TOOL" init
check "tpm11 addtoken --label $CONF_TOKEN" "$TPM11_TOOL" addtoken --label "$CONF_TOKEN" \
	--sopin "$TPM11_TEST_SOPIN" --userpin "$TPM11_TEST_PIN"
for k in "${KEYS[@]}"; do
	read -r key_label key_alg <<<"$k"
	check "tpm11 addkey --algorithm $key_alg --key-label $key_label" \
		"$TPM11_TOOL" addkey --label "$CONF_TOKEN" --algorithm "$key_alg" \
		--key-label "$key_label" --userpin "$TPM11_TEST_PIN"
done
check "after the tool's set-up the TPM holds no transient objects or sessions" \
	tpm_is_clean

# RSA keys for the private-key import cases (C_CreateObject), made here:
# the valgrind pass runs the program under memcheck, where finding
# RSA-3072 primes takes long.
export CONF_IMPORT_KEYS=$T11_TMP/import-keys
mkdir -p "$CONF_IMPORT_KEYS" && chmod 700 "$CONF_IMPORT_KEYS"
for b in 1024 2048 3072; do
	openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$b" \
		-out "$CONF_IMPORT_KEYS/rsa$b.pem" 2>/dev/null
done

# --- the conformance program ---------------------------------------------------------
out=$T11_TMP/conformance.out
err=$T11_TMP/conformance.err
mkdir -p "$(dirname "$CONFORMANCE_TABLE")"
TAP_START=$((T11_TAP_N + 1)) timeout -k 10 "${T11_CONF_TIMEOUT:-900}" "$PROG" \
	"$@" 2>"$err" | tee "$out"
rc=${PIPESTATUS[0]}
tap_merged conformance "$out" "$err" "$rc" "${T11_CONF_TIMEOUT:-900}" \
	'^[0-9]+ passed, [0-9]+ failed$'
if [ -s "$CONFORMANCE_TABLE" ]; then
	diag "support table ($CONFORMANCE_TABLE):"
	sed 's/^/#   /' "$CONFORMANCE_TABLE"
fi
check "after the conformance program the TPM holds no transient objects or sessions" \
	tpm_is_clean

t11_done
