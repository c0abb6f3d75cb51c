#!/usr/bin/env bash
# t11-modes: direct,minimal -- the no-resource-manager test itself (many keys through 3 object slots)
# No resource manager (issue 4, item 4): the TPM reached directly through
# the swtpm: TCTI, which holds 3 transient objects; in minimal mode through
# the minimal chip profile as well (3 objects, 3 sessions, no P-384 or
# RSA-3072: those keys are made P-256 and RSA-2048, and say so as skipped
# results). Twelve keys of mixed
# types on one token, each made with the tool; the module signs with each
# in turn, several rounds and every mechanism family (so keys are evicted
# and brought back all the time); every tool command and the module as
# pkcs11-tool and ssh-keygen use it. After every step the TPM holds no
# transient object and no session (tpm_is_clean).
#
# Long mode (T11_LONG=1): 24 keys and more signing rounds.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/rel-lib.bash"
t11_require_build
rel_require_prog P11CHECK p11check

T=$TPM11_TOOL
SO=direct-so-1234
PIN=direct-user-1234
PIN2=direct-user-5678
if t11_long; then REPEAT=2; ROUNDS=10; else REPEAT=1; ROUNDS=3; fi
ALGS=()
for _ in $(seq "$REPEAT"); do
	ALGS+=(ecc256 ecc384 rsa2048 ecc256 ecc384 rsa2048 ecc256 ecc384 ecc256 rsa2048 ecc384 rsa3072)
done

# step NAME CMD...: the command succeeds and leaves the TPM clean.
# The command's output stays in $T11_TMP/step.out.
step() {
	local name=$1; shift
	check "$name" "$@"
	cp "$T11_TMP/last.out" "$T11_TMP/step.out"
	check "TPM clean after: $name" tpm_is_clean
}
# step_fails NAME CMD...: the command fails (as it should) and leaves the
# TPM clean.
step_fails() {
	local name=$1; shift
	check_fails "$name" "$@"
	check "TPM clean after: $name" tpm_is_clean
}

[ "$(t11_tpm_mode)" = minimal ] || export T11_TPM_MODE=direct
t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
case $TPM11_TCTI in
swtpm:* | *:minimal:swtpm:*) ok "TCTI is direct: $TPM11_TCTI" ;;
*) not_ok "TCTI is direct: $TPM11_TCTI" ;;
esac
# What the TPM lacks is made with the algorithm of the same family it has,
# so that there are as many keys (and evictions) all the same.
for a in ecc384:ecc256 rsa3072:rsa2048; do
	if ! t11_tpm_has_alg "${a%:*}"; then
		t11_skip "$(printf '%s\n' "${ALGS[@]}" | grep -cx "${a%:*}") of the keys as ${a%:*} (made ${a#*:} instead)" "${a%:*}"
		ALGS=("${ALGS[@]/#${a%:*}/${a#*:}}")
	fi
done

step "tpm11 init" "$T" init
step "tpm11 init again" "$T" init
step "tpm11 addtoken MANY" "$T" addtoken --label MANY --sopin "$SO" --userpin "$PIN"
step "tpm11 addtoken OTHER" "$T" addtoken --label OTHER --sopin "$SO" --userpin "$PIN"
step "tpm11 addkey OTHER ecc256" "$T" addkey --label OTHER --algorithm ecc256 --key-label o1 --userpin "$PIN"

i=0
for alg in "${ALGS[@]}"; do
	i=$((i + 1))
	step "tpm11 addkey MANY k$i ($alg)" "$T" addkey --label MANY --algorithm "$alg" \
		--key-label "k$i" --userpin "$PIN"
done
NKEYS=$i

# The module: every key in turn, several rounds, then every mechanism
# variant of every key.
step "module: $NKEYS keys sign in turn, $ROUNDS rounds" \
	"$P11CHECK" --token MANY --pin "$PIN" --rounds "$ROUNDS" --min-keys "$NKEYS"
step "module: every key with every mechanism variant" \
	"$P11CHECK" --token MANY --pin "$PIN" --variants --min-keys "$NKEYS"
step "module: the other token's key" "$P11CHECK" --token OTHER --pin "$PIN" --min-keys 1

# Every tool command.
step "tpm11 listtokens" "$T" listtokens
step "tpm11 listobjects" "$T" listobjects --label MANY
if [ "$(grep -c 'class: private-key' "$T11_TMP/step.out")" = "$NKEYS" ] &&
	[ "$(grep -c 'class: public-key' "$T11_TMP/step.out")" = "$NKEYS" ]; then
	ok "listobjects lists $NKEYS key pairs"
else
	not_ok "listobjects lists $NKEYS key pairs"; sed 's/^/# /' "$T11_TMP/step.out" | head -20
fi
step "tpm11 verify (user and SO)" "$T" verify --label MANY --userpin "$PIN" --sopin "$SO"
step_fails "tpm11 verify with a wrong PIN" "$T" verify --label MANY --userpin wrong-pin-0
step "tpm11 changepin (user)" "$T" changepin --label MANY --user user --old "$PIN" --new "$PIN2"
step "tpm11 initpin" "$T" initpin --label MANY --sopin "$SO" --userpin "$PIN"
step "tpm11 changepin (SO)" "$T" changepin --label MANY --user so --old "$SO" --new "$SO-2"
step "tpm11 changepin (SO) back" "$T" changepin --label MANY --user so --old "$SO-2" --new "$SO"
step "tpm11 ssh-pubkey (all)" "$T" ssh-pubkey
step "tpm11 ssh-pubkey --key-label k1" "$T" ssh-pubkey --label MANY --key-label k1
step "tpm11 csr" "$T" csr --label MANY --key-label k1 --subject /CN=direct --userpin "$PIN"
step "tpm11 selfsign --store-cert (RSA, PSS)" "$T" selfsign --label MANY --key-label k3 \
	--subject /CN=direct-rsa --pss --store-cert --userpin "$PIN"
step "tpm11 selfsign" "$T" selfsign --label MANY --key-label k2 --subject /CN=direct-k2 --userpin "$PIN"
cp "$T11_TMP/step.out" "$T11_TMP/k2.pem"
step "tpm11 addcert" "$T" addcert --label MANY --key-label k2 "$T11_TMP/k2.pem"
step "tpm11 rmcert" "$T" rmcert --label MANY --key-label k2
step "tpm11 rmkey --key-label k1" "$T" rmkey --label MANY --key-label k1
# key_id LABEL: the CKA_ID (hex) of key LABEL on MANY.
key_id() { "$T" listobjects --label MANY | awk -v l="$1" '$0 == "- label: " l {f=1} f && /id:/ {print $2; exit}'; }
id2=$(key_id k2)
step "tpm11 objdel --id (k2)" "$T" objdel --label MANY --id "$id2"
step "tpm11 rmtoken OTHER" "$T" rmtoken --label OTHER
step "tpm11 addtoken OTHER again" "$T" addtoken --label OTHER --sopin "$SO" --userpin "$PIN"
step "module: the remaining keys sign after all that" \
	"$P11CHECK" --token MANY --pin "$PIN" --rounds 2 --min-keys $((NKEYS - 2))

# The module as real programs use it.
P11=(timeout 120 pkcs11-tool --module "$TPM11_MODULE")
step "pkcs11-tool -L" "${P11[@]}" -L
step "pkcs11-tool -O --login" "${P11[@]}" --token-label MANY --login --pin "$PIN" -O
head -c 32 /dev/urandom >"$T11_TMP/h32"
# (pkcs11-tool 0.23 picks the key for --sign by --id, not by --label.)
step "pkcs11-tool --sign (ECDSA, k4)" "${P11[@]}" --token-label MANY --login --pin "$PIN" \
	--sign -m ECDSA --id "$(key_id k4)" -i "$T11_TMP/h32" -o "$T11_TMP/sig"
step "pkcs11-tool --sign (SHA256-RSA-PKCS-PSS, k6)" "${P11[@]}" --token-label MANY --login --pin "$PIN" \
	--sign -m SHA256-RSA-PKCS-PSS --id "$(key_id k6)" -i "$T11_TMP/h32" -o "$T11_TMP/sig"
step "pkcs11-tool --keypairgen (EC P-256)" "${P11[@]}" --token-label MANY --login --pin "$PIN" \
	--keypairgen --key-type EC:prime256v1 --label gen1
step "pkcs11-tool --keypairgen (RSA 2048)" "${P11[@]}" --token-label MANY --login --pin "$PIN" \
	--keypairgen --key-type rsa:2048 --label gen2
step "ssh-keygen -D" timeout 120 ssh-keygen -D "$TPM11_MODULE"
step "module: every key, including the generated ones" \
	"$P11CHECK" --token MANY --pin "$PIN" --min-keys "$NKEYS"
step "tpm11 rmtoken MANY" "$T" rmtoken --label MANY

t11_done
