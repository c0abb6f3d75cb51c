#!/usr/bin/env bash
# Key attestation (issue 7, docs/attestation.md), end to end on a swtpm
# whose EK certificates come from a private swtpm_localca (playing the TPM
# vendor), with an AK CA made here with openssl.
#
# Positive: every format (json, webauthn, acme) verifies for P-256, P-384
# and RSA keys, both in the challenge-response mode (MakeCredential on the
# host, ActivateCredential in the TPM) and with an AK certificate; the RSA
# (low range, PolicySecret) and P-384 (high range) EKs; an AK under the
# EK; --expect-ssh-key and --expect-csr; the attestation as a PKCS#11
# CKO_DATA object; python3-fido2 (when installed) accepts the WebAuthn
# objects. Negative, each refused with its own reason: a key imported
# into the TPM, one flipped bit in certInfo, another key's public area, a
# wrong / replayed / expired challenge, untrusted EK and AK CAs, and a
# non-restricted key posing as the AK. verify-attestation needs no TPM.
# Without a resource manager, attestation in a TPM full of a dead client's
# objects flushes those and keeps its own EK.
# The TPM holds no transient object or session after every run of the tool
# or pkcs11-tool; nothing flushes what tpm11 left. Runs once per TPM mode
# (tests/run, T11_TPM_MODE). In minimal mode (no P-384) the P-384 key and
# EK cases skip, ak export must leave the P-384 EK's certificate out, and
# the RSA key stands in where a second key is needed.
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

T=$TPM11_TOOL
SO_PIN=attest-so-pin-2718
USER_PIN=attest-user-pin-3141
LABEL=ATT
KEYS="k256:ecc256 k384:ecc384 krsa:rsa2048"
W=$T11_TMP/w
mkdir -p "$W"

# run CMD...: stdout in $W/out, stderr in $W/err, status in $rc.
run() { "$@" </dev/null >"$W/out" 2>"$W/err"; rc=$?; }
show() { sed 's/^/# out: /' "$W/out" | head -n 15; sed 's/^/# err: /' "$W/err" | head -n 15; }
# expect_ok NAME CMD...: exit 0, then the TPM is clean.
expect_ok() {
	local name=$1; shift; run "$@"
	if [ "$rc" = 0 ]; then ok "$name"; else not_ok "$name (exit $rc)"; show; fi
	t11_clean "$name"
}
# expect_refused NAME REGEX CMD...: non-zero exit and a line matching REGEX,
# then the TPM is clean.
expect_refused() {
	local name=$1 re=$2; shift 2; run "$@"
	if [ "$rc" = 0 ]; then not_ok "$name (accepted)"; show
	elif ! grep -qiE -- "$re" "$W/err" "$W/out"; then not_ok "$name (no line /$re/)"; show
	else ok "$name"; grep -iE -- "$re" "$W/err" | head -n 1 | sed 's/^/# /'; fi
	t11_clean "$name"
}

# JSON members of tpm11's files sit one per line: "  "key": "value","
jget() { sed -n "s/^  \"$2\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" "$1"; }
jset() { sed -i "s|^  \"$2\": \".*\"\\(,\\{0,1\\}\\)\$|  \"$2\": \"$3\"\\1|" "$1"; }
jdel() { sed -i "/^  \"$2\": /d" "$1"; }
b64() { base64 -w0 "$1"; }
# flip_bit FILE OFFSET: flips bit 0 of the byte at OFFSET.
flip_bit() {
	local v
	v=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((v ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
nonce() { openssl rand -hex 32; }
# tt CMD...: a tpm2-tools command of the test's own (not tpm11). With no
# resource manager every object a tpm2-tools command loads stays in the TPM
# (3 slots), so the transient handles that this command added are flushed
# after it, by handle. Only those: whatever tpm11 left stays, for
# tpm_is_clean to find.
tt() {
	local before h rc
	before=$(tpm2_getcap handles-transient 2>/dev/null)
	"$@"; rc=$?
	for h in $(tpm2_getcap handles-transient 2>/dev/null | sed 's/^- //'); do
		grep -qx -- "- $h" <<<"$before" || tpm2_flushcontext "$h" >/dev/null 2>&1
	done
	return "$rc"
}

# --- a TPM with EK certificates from a private local CA ------------------------
for p in swtpm_setup swtpm_localca certtool; do
	if ! command -v "$p" >/dev/null; then not_ok "$p is installed (swtpm-tools, gnutls-bin)"; t11_done; exit 1; fi
done
# scripts/swtpm-ek-certs provisions it, with private configuration only:
# never the system's /etc/swtpm* or /var/lib/swtpm-localca.
D=$T11_TMP/tpm
if "$T11_SRC/scripts/swtpm-ek-certs" "$D" </dev/null >"$T11_TMP/ek-certs.out" 2>&1; then
	ok "swtpm_setup provisions EK certificates from a private swtpm_localca (scripts/swtpm-ek-certs)"
else
	not_ok "swtpm_setup provisions EK certificates (scripts/swtpm-ek-certs)"
	sed 's/^/# /' "$T11_TMP/ek-certs.out" | tail -n 20
	t11_done; exit 1
fi
t11_tpm_start "$D" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
# The keys the TPM can make (minimal mode: no P-384). K2: a second key for
# the cases that need another key than k256 (k384, else krsa).
if t11_tpm_has ecc384; then K2=k384
else
	KEYS=${KEYS/ k384:ecc384/}; K2=krsa
	t11_skip "k384 (ecc384): addkey, attestation in every format in both modes, through the P-384 EK" ecc384
fi
EK_CA=$W/ek-ca.pem   # the local CA's intermediate and root: the "vendor"
cp "$D/ek-ca.pem" "$EK_CA"

# --- a token, keys, an AK ----------------------------------------------------
check_clean "tpm11 init" "$T" init
check_clean "tpm11 addtoken" "$T" addtoken --label "$LABEL" --sopin "$SO_PIN" --userpin "$USER_PIN"
for kv in $KEYS; do
	check_clean "addkey ${kv#*:} ${kv%%:*}" "$T" addkey --label "$LABEL" --algorithm "${kv#*:}" \
		--key-label "${kv%%:*}" --userpin "$USER_PIN"
done
for c in ak attest verify-attestation; do
	run "$T" $c --help
	if [ "$rc" = 0 ] && grep -qi usage "$W/out"; then ok "tpm11 $c --help"; else not_ok "tpm11 $c --help"; show; fi
done
t11_clean "tpm11 --help"
expect_ok "ak create (ECDSA P-256, owner hierarchy)" "$T" ak create --pub-out "$W/ak.pub.pem"
if grep -q "owner hierarchy" "$W/out" && grep -qE '^name: 000b[0-9a-f]{64}$' "$W/out"; then
	ok "ak create prints the hierarchy and the AK's Name"
else not_ok "ak create prints the hierarchy and the AK's Name"; show; fi
expect_refused "ak create refuses to replace an AK without --force" "exists" "$T" ak create
expect_ok "ak create --ek-parent (endorsement hierarchy)" "$T" ak create --name ekak --ek-parent
check "no transient object or session left (ak create)" tpm_is_clean

# The request: AK public area and EK certificates from every TCG index.
expect_ok "ak export" "$T" ak export --out "$W/request.json"
for idx in 0x01c00002 0x01c00016; do
	if [ "$idx" = 0x01c00016 ] && [ "$K2" != k384 ]; then
		# The certificate is in NV, but a TPM without P-384 cannot make
		# its EK: a verifier must not choose it.
		if ! grep -q "\"nv_index\": \"$idx\"" "$W/request.json" &&
			grep -q "EK certificate at $idx is left out: this TPM has no NIST P-384" "$W/err"; then
			ok "ak export leaves out the EK certificate at $idx and says why ($(t11_tpm_lacks ecc384))"
		else not_ok "ak export leaves out the EK certificate at $idx and says why"; show; fi
		continue
	fi
	if grep -q "\"nv_index\": \"$idx\"" "$W/request.json"; then ok "ak export reads the EK certificate at $idx"
	else not_ok "ak export reads the EK certificate at $idx"; fi
done

# --- the AK CA (a small test CA made with openssl) -------------------------------
AK_CA=$W/ak-ca.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ak-ca.key" \
	-out "$AK_CA" -subj "/CN=tpm11 test AK CA" -days 30 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign >/dev/null 2>&1
# OpenSSL names TCG's attribute OIDs only through an oid_section.
cat >"$W/oids.cnf" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
oid_section = tcg_oids
[tcg_oids]
tcgTpmManufacturer = 2.23.133.2.1
tcgTpmModel = 2.23.133.2.2
tcgTpmVersion = 2.23.133.2.3
EOF
# WebAuthn 8.3.1 AK certificate: empty subject, TPM identity in a critical
# subjectAltName, tcg-kp-AIKCertificate, not a CA. The manufacturer is the
# TPM's own TPM_PT_MANUFACTURER as "id:" and 8 hex digits (TCG EK Credential
# Profile 3.2.9), which the TCG vendor registry must list (issue 13 item
# 13): swtpm says 0x49424D00, "IBM".
TPM_MANUF=id:$(printf '%08X' "$(tpm2_getcap properties-fixed 2>/dev/null |
	awk '$1 == "TPM2_PT_MANUFACTURER:" { getline; print $2; exit }')")
diag "the TPM's manufacturer: $TPM_MANUF"
# akext MANUFACTURER OUT: the AK certificate's extensions.
akext() {
	cat >"$2" <<EOF
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = 2.23.133.8.3
subjectAltName = critical,dirName:tpm_dn
[tpm_dn]
tcgTpmManufacturer = $1
tcgTpmModel = swtpm
tcgTpmVersion = id:20191023
EOF
}
akext "$TPM_MANUF" "$W/akext.cnf"
# ak_cert PUBKEY.pem OUT.pem [EXTFILE]: the AK CA certifies a key.
ak_cert() {
	OPENSSL_CONF=$W/oids.cnf openssl x509 -new -force_pubkey "$1" -subj / -CA "$AK_CA" \
		-CAkey "$W/ak-ca.key" -days 30 -extfile "${3:-$W/akext.cnf}" -extensions ext -out "$2" 2>"$W/err"
}
if ak_cert "$W/ak.pub.pem" "$W/ak-cert.pem"; then ok "the test AK CA certifies the AK"
else not_ok "the test AK CA certifies the AK"; show; fi
expect_ok "ak import-cert" "$T" ak import-cert --cert "$W/ak-cert.pem"
expect_refused "ak import-cert refuses another key's certificate" "not for the AK" \
	"$T" ak import-cert --name ekak --cert "$W/ak-cert.pem"

# --- positive: every format, every key type, both modes --------------------------
# attest_cr KEY FORMAT OUT [AK] [EK-INDEX]: challenge, response; state in OUT.state
attest_cr() {
	local ak=${4:-ak} idx=()
	[ -n "${5:-}" ] && idx=(--ek-index "$5")
	"$T" ak export --name "$ak" --out "$3.req" >/dev/null 2>&1 &&
	"$T" verify-attestation --make-challenge --request "$3.req" --ek-ca "$EK_CA" \
		--state-out "$3.state" --challenge-out "$3.chal" "${idx[@]}" 2>/dev/null &&
	"$T" attest --label "$LABEL" --key-label "$1" --ak "$ak" --respond "$3.chal" \
		--format "$2" --userpin "$USER_PIN" --out "$3"
}
for kv in $KEYS; do
	k=${kv%%:*}
	for f in json webauthn acme; do
		attest_cr "$k" "$f" "$W/cr-$f-$k" >"$W/out" 2>"$W/err"; rc=$?
		t11_clean "challenge-response, $f, $k: attest"
		if [ "$rc" = 0 ]; then
			expect_ok "challenge-response, $f, $k: verifies" \
				"$T" verify-attestation "$W/cr-$f-$k" --challenge-state "$W/cr-$f-$k.state" --ek-ca "$EK_CA"
		else not_ok "challenge-response, $f, $k: attest"; show; fi
		N=$(nonce)
		echo "$N" >"$W/ac-$f-$k.nonce"
		"$T" attest --label "$LABEL" --key-label "$k" --nonce "$N" --format "$f" \
			--userpin "$USER_PIN" --out "$W/ac-$f-$k" >"$W/out" 2>"$W/err"; rc=$?
		t11_clean "AK certificate, $f, $k: attest"
		if [ "$rc" = 0 ]; then
			ekca=(); [ "$f" = json ] && ekca=(--ek-ca "$EK_CA")
			expect_ok "AK certificate, $f, $k: verifies" \
				"$T" verify-attestation "$W/ac-$f-$k" --nonce "$N" --ak-ca "$AK_CA" "${ekca[@]}"
		else not_ok "AK certificate, $f, $k: attest"; show; fi
	done
done
check "no transient object or session left (attest)" tpm_is_clean

# What the verifier prints: the TPM's identity and the authorized_keys line.
run "$T" verify-attestation "$W/ac-json-k256" --nonce "$(cat "$W/ac-json-k256.nonce")" --ak-ca "$AK_CA" --ek-ca "$EK_CA"
"$T" ssh-pubkey --label "$LABEL" --key-label k256 >"$W/k256.pub"
t11_clean "verify-attestation and ssh-pubkey"
if grep -q "^# TPM: manufacturer $TPM_MANUF (IBM), model swtpm.*(from the AK certificate)" "$W/out" &&
	[ "$(grep -v '^#' "$W/out" | cut -d' ' -f1,2)" = "$(cut -d' ' -f1,2 "$W/k256.pub")" ]; then
	ok "verify-attestation prints the TPM's manufacturer and model (from the AK certificate) and the authorized_keys line"
else not_ok "verify-attestation prints the TPM's manufacturer and model (from the AK certificate) and the authorized_keys line"; show; fi
if grep -q "^# created: in this TPM" "$W/out"; then ok "TPM2_CertifyCreation proves where the key was made"
else not_ok "TPM2_CertifyCreation proves where the key was made"; show; fi
sed 's/^/# /' "$W/out"
if grep -q "^# key policy: none; its authValue authorizes its use" "$W/out"; then
	ok "verify-attestation says a plain key has no policy"
else not_ok "verify-attestation says a plain key has no policy"; show; fi

# A PCR-bound key (issue 18): the verifier reports its policy, and a relying
# party can require it (--require-policy, the digest listobjects prints).
check_clean "addkey kpcr --pcrs sha256:7" "$T" addkey --label "$LABEL" --algorithm ecc256 \
	--key-label kpcr --pcrs sha256:7 --userpin "$USER_PIN"
POL=$("$T" listobjects --label "$LABEL" | awk '/^- label: kpcr$/ { on = 1; next } /^- / { on = 0 } on && $1 == "policy:" { print $2 }')
N=$(nonce)
run "$T" attest --label "$LABEL" --key-label kpcr --nonce "$N" --format json --userpin "$USER_PIN" --out "$W/ac-json-kpcr"
if [ "$rc" = 0 ]; then ok "attest a PCR-bound key"; else not_ok "attest a PCR-bound key (exit $rc)"; show; fi
t11_clean "attest kpcr"
run "$T" verify-attestation "$W/ac-json-kpcr" --nonce "$N" --ak-ca "$AK_CA"
if [ "$rc" = 0 ] && [ ${#POL} = 64 ] &&
	grep -q "^# key policy: authPolicy $POL; every use must satisfy it (userWithAuth clear)" "$W/out"; then
	ok "verify-attestation reports the PCR-bound key's policy, the digest listobjects prints ($POL)"
else not_ok "verify-attestation reports the PCR-bound key's policy (listobjects: '$POL')"; show; fi
expect_ok "--require-policy with the key's policy" \
	"$T" verify-attestation "$W/ac-json-kpcr" --nonce "$N" --ak-ca "$AK_CA" --require-policy "$POL"
expect_refused "--require-policy with another digest" "not the required" \
	"$T" verify-attestation "$W/ac-json-kpcr" --nonce "$N" --ak-ca "$AK_CA" --require-policy "$(printf '%064d' 0)"
expect_refused "--require-policy on a key without a policy" "authPolicy is empty" \
	"$T" verify-attestation "$W/ac-json-k256" --nonce "$(cat "$W/ac-json-k256.nonce")" --ak-ca "$AK_CA" --require-policy "$POL"

# The AK certificate names the TPM's own manufacturer, a registered one.
run "$T" verify-attestation "$W/ac-webauthn-k256" --nonce "$(cat "$W/ac-webauthn-k256.nonce")" --ak-ca "$AK_CA"
if [ "$rc" = 0 ] && grep -q "^# TPM: manufacturer $TPM_MANUF (IBM), model swtpm.*(from the AK certificate)" "$W/out"; then
	ok "the AK certificate carries the TPM's TPM_PT_MANUFACTURER ($TPM_MANUF, IBM)"
else not_ok "the AK certificate carries the TPM's TPM_PT_MANUFACTURER ($TPM_MANUF, IBM)"; show; fi
# An AK certificate naming a manufacturer the TCG TPM Vendor ID Registry
# does not list (swtpm's PCI-style id:00001014 of its EK certificates) is
# refused, as WebAuthn 8.3.1 and strict verifiers do.
akext id:00001014 "$W/akext-unreg.cnf"
if "$T" ak create --name unreg --pub-out "$W/unreg.pub.pem" >/dev/null 2>&1 &&
	ak_cert "$W/unreg.pub.pem" "$W/unreg-cert.pem" "$W/akext-unreg.cnf"; then
	run "$T" ak import-cert --name unreg --cert "$W/unreg-cert.pem"
	if [ "$rc" = 0 ] && grep -qi "warning:.*registry" "$W/err"; then ok "ak import-cert warns about an unregistered TPM manufacturer"
	else not_ok "ak import-cert warns about an unregistered TPM manufacturer (exit $rc)"; show; fi
	for f in webauthn json; do
		N=$(nonce)
		if "$T" attest --label "$LABEL" --key-label k256 --ak unreg --nonce "$N" --format "$f" \
			--userpin "$USER_PIN" --out "$W/unreg-$f" >/dev/null 2>"$W/err"; then
			expect_refused "refused: an AK certificate with an unregistered TPM manufacturer ($f)" \
				"id:00001014.*not in the TCG TPM Vendor ID Registry" \
				"$T" verify-attestation "$W/unreg-$f" --nonce "$N" --ak-ca "$AK_CA"
		else not_ok "attest with the AK \"unreg\" ($f)"; show; fi
	done
else not_ok "an AK certified with an unregistered manufacturer"; show; fi
check "no transient object or session left (unregistered manufacturer)" tpm_is_clean

# AK-certificate mode: nothing binds the EK certificates the attestation
# carries to the AK (issue 13 item 4). Swap in another vendor's EK
# certificate (from a CA that --ek-ca trusts too): the verifier must still
# name the TPM from the AK certificate (IBM, swtpm, with the software-TPM
# warning), never from that EK certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/v2-ca.key" \
	-out "$W/v2-ca.pem" -subj "/CN=Another TPM Vendor EK CA" -days 30 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign >/dev/null 2>&1
openssl ecparam -name prime256v1 -genkey -noout -out "$W/v2-ek.key" 2>/dev/null
openssl ec -in "$W/v2-ek.key" -pubout -out "$W/v2-ek.pub" 2>/dev/null
cat >"$W/v2-ek.cnf" <<'EOF'
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyAgreement
subjectAltName = critical,dirName:tpm_dn
[tpm_dn]
tcgTpmManufacturer = id:49465800
tcgTpmModel = SLB9670
tcgTpmVersion = id:00070055
EOF
cat "$EK_CA" "$W/v2-ca.pem" >"$W/ek-ca-2.pem"
if OPENSSL_CONF=$W/oids.cnf openssl x509 -new -force_pubkey "$W/v2-ek.pub" -subj / -CA "$W/v2-ca.pem" \
	-CAkey "$W/v2-ca.key" -days 30 -extfile "$W/v2-ek.cnf" -extensions ext -outform DER \
	-out "$W/v2-ek.der" 2>"$W/err" &&
	/usr/bin/python3 - "$W/ac-json-k256" "$W/v2-ek.der" "$W/swapped.json" <<'EOF'
import base64, json, sys
att = json.load(open(sys.argv[1]))
der = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
att["ek_certificates"] = [{"nv_index": "0x01c0000a", "der": der}]
open(sys.argv[3], "w").write(json.dumps(att, indent=2) + "\n")
EOF
then
	run "$T" verify-attestation "$W/swapped.json" --nonce "$(cat "$W/ac-json-k256.nonce")" \
		--ak-ca "$AK_CA" --ek-ca "$W/ek-ca-2.pem"
	if [ "$rc" = 0 ] && grep -q "^# TPM: manufacturer $TPM_MANUF (IBM), model swtpm.*(from the AK certificate)" "$W/out" &&
		! grep -qiE "49465800|Infineon|SLB9670" "$W/out"; then
		ok "a swapped-in EK certificate of another vendor does not name the TPM (AK certificate mode)"
	else not_ok "a swapped-in EK certificate of another vendor does not name the TPM (AK certificate mode)"; show; fi
	if grep -q "^# warning: swtpm is a software TPM" "$W/out"; then ok "  ...and the software-TPM warning stays"
	else not_ok "  ...and the software-TPM warning stays"; fi
	if grep -qi "^# EK certificate: .*not bound to the AK" "$W/out"; then ok "  ...and the output says the EK certificate is not bound to the AK"
	else not_ok "  ...and the output says the EK certificate is not bound to the AK"; fi
else not_ok "another vendor's EK certificate swapped into an attestation"; show; fi

# The RSA EK (low range: PolicySecret on the endorsement hierarchy), the
# P-384 EK (high range), and an AK that is the EK's child.
for idx in 0x01c00002 0x01c00016; do
	if [ "$idx" = 0x01c00016 ] && [ "$K2" != k384 ]; then
		t11_skip "challenge-response through the P-384 EK at $idx" ecc384; continue
	fi
	for ak in ak ekak; do
		attest_cr "$K2" json "$W/ek-$idx-$ak" "$ak" "$idx" >"$W/out" 2>"$W/err"; rc=$?
		t11_clean "challenge-response through the EK at $idx, AK \"$ak\": attest"
		if [ "$rc" = 0 ]; then
			expect_ok "challenge-response through the EK at $idx, AK \"$ak\"" \
				"$T" verify-attestation "$W/ek-$idx-$ak" --challenge-state "$W/ek-$idx-$ak.state" --ek-ca "$EK_CA"
		else not_ok "challenge-response through the EK at $idx, AK \"$ak\": attest"; show; fi
	done
done

# The very key being enrolled: --expect-ssh-key, --expect-csr.
N=$(cat "$W/ac-json-k256.nonce")
"$T" ssh-pubkey --label "$LABEL" --key-label "$K2" >"$W/$K2.pub"
t11_clean "ssh-pubkey $K2"
expect_ok "--expect-ssh-key with the attested key" \
	"$T" verify-attestation "$W/ac-json-k256" --nonce "$N" --ak-ca "$AK_CA" --expect-ssh-key "$W/k256.pub"
expect_refused "--expect-ssh-key with another key" "not the key in" \
	"$T" verify-attestation "$W/ac-json-k256" --nonce "$N" --ak-ca "$AK_CA" --expect-ssh-key "$W/$K2.pub"
if "$T" csr --help >/dev/null 2>&1; then
	"$T" csr --label "$LABEL" --key-label k256 --subject /CN=attested --userpin "$USER_PIN" >"$W/k256.csr" 2>/dev/null
	"$T" csr --label "$LABEL" --key-label "$K2" --subject /CN=other --userpin "$USER_PIN" >"$W/$K2.csr" 2>/dev/null
	t11_clean "tpm11 csr (k256, $K2)"
	expect_ok "--expect-csr with a CSR of the attested key" \
		"$T" verify-attestation "$W/ac-json-k256" --nonce "$N" --ak-ca "$AK_CA" --expect-csr "$W/k256.csr"
	expect_refused "--expect-csr with a CSR of another key" "not the key in" \
		"$T" verify-attestation "$W/ac-json-k256" --nonce "$N" --ak-ca "$AK_CA" --expect-csr "$W/$K2.csr"
else
	ok "--expect-csr # SKIP no \`tpm11 csr\` in this build"
fi

# ACME: the challenge is the key authorization; no TPM on the verifier's side.
# RFC 8555 8.1: token "." base64url(SHA-256 JWK thumbprint); a token of 256
# bits gives the usual 87 characters (issue 13 item 12: 64 was the cap).
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
N=$(openssl rand 32 | b64url).$(printf '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' \
	"$(openssl rand 32 | b64url)" "$(openssl rand 32 | b64url)" | openssl dgst -sha256 -binary | b64url)
[ ${#N} = 87 ] && ok "a key authorization of 87 characters (token.thumbprint)" || not_ok "a key authorization of 87 characters (is ${#N})"
"$T" attest --label "$LABEL" --key-label k256 --key-authorization "$N" --format acme \
	--userpin "$USER_PIN" --out "$W/acme-kauth" >/dev/null 2>"$W/err"; rc=$?
t11_clean "attest --key-authorization"
if [ "$rc" = 0 ]; then
	ok "attest --key-authorization with 87 characters"
	expect_ok "acme with an ACME key authorization verifies, without a TPM" \
		env TPM11_TCTI="swtpm:path=$T11_TMP/no-such.sock" TPM11_STORE="$T11_TMP/no-store" \
		"$T" verify-attestation "$W/acme-kauth" --key-authorization "$N" --ak-ca "$AK_CA"
	expect_refused "refused: the acme object checked against another key authorization" \
		"extraData does not match the challenge" \
		"$T" verify-attestation "$W/acme-kauth" --key-authorization "${N%.*}.$(openssl rand 32 | b64url)" --ak-ca "$AK_CA"
else not_ok "attest --key-authorization with 87 characters"; show; fi
N1024=$(head -c 980 /dev/zero | tr '\0' A).${N#*.}
expect_ok "attest --key-authorization with 1024 characters (the limit)" \
	"$T" attest --label "$LABEL" --key-label k256 --key-authorization "$N1024" --format acme \
	--userpin "$USER_PIN" --out "$W/acme-kauth1024"
expect_ok "...and it verifies" \
	"$T" verify-attestation "$W/acme-kauth1024" --key-authorization "$N1024" --ak-ca "$AK_CA"
# What is not a key authorization is refused with the reason, on both sides.
LONGTOK=$(head -c 1100 /dev/zero | tr '\0' A)
for bad in "kauth-$(openssl rand -hex 8)" "${N%.*}" "${N}=" "${N%.*}.short" "a.${N#*.}" "${LONGTOK}.${N#*.}"; do
	expect_refused "attest refuses --key-authorization '${bad:0:24}...' (${#bad} characters)" "key.authorization" \
		"$T" attest --label "$LABEL" --key-label k256 --key-authorization "$bad" --format acme --userpin "$USER_PIN"
done
expect_refused "verify-attestation refuses a malformed --key-authorization" "key.authorization" \
	"$T" verify-attestation "$W/acme-kauth" --key-authorization "${N%.*}" --ak-ca "$AK_CA"

# WebAuthn bound to a real registration (issue 13 item 11): the
# clientDataJSON is longer than any --nonce (64 bytes); clientDataHash =
# SHA-256 of its bytes (--client-data FILE) or given as is
# (--client-data-hash HEX, 32 bytes).
printf '{"type":"webauthn.create","challenge":"%s","origin":"https://tpm11.example","crossOrigin":false}' \
	"$(openssl rand 32 | b64url)" >"$W/clientdata.json"
printf '{"type":"webauthn.create","challenge":"%s","origin":"https://tpm11.example","crossOrigin":false}' \
	"$(openssl rand 32 | b64url)" >"$W/clientdata2.json"
CDH=$(openssl dgst -sha256 -binary "$W/clientdata.json" | xxd -p -c 64)
diag "clientDataJSON: $(wc -c <"$W/clientdata.json") bytes"
expect_ok "attest --format webauthn --client-data FILE ($(wc -c <"$W/clientdata.json") bytes of clientDataJSON)" \
	"$T" attest --label "$LABEL" --key-label k256 --format webauthn --client-data "$W/clientdata.json" \
	--userpin "$USER_PIN" --out "$W/wa-cd"
expect_ok "verify-attestation --client-data FILE" \
	"$T" verify-attestation "$W/wa-cd" --client-data "$W/clientdata.json" --ak-ca "$AK_CA"
expect_ok "verify-attestation --client-data-hash HEX (SHA-256 of the clientDataJSON)" \
	"$T" verify-attestation "$W/wa-cd" --client-data-hash "$CDH" --ak-ca "$AK_CA"
expect_refused "refused: checked against another clientDataJSON" "extraData does not match the challenge" \
	"$T" verify-attestation "$W/wa-cd" --client-data "$W/clientdata2.json" --ak-ca "$AK_CA"
expect_ok "attest --client-data-hash HEX" \
	"$T" attest --label "$LABEL" --key-label krsa --format webauthn --client-data-hash "$CDH" \
	--userpin "$USER_PIN" --out "$W/wa-cdh"
expect_ok "...verifies with --client-data FILE" \
	"$T" verify-attestation "$W/wa-cdh" --client-data "$W/clientdata.json" --ak-ca "$AK_CA"
expect_refused "attest refuses a --client-data-hash of 31 bytes" "32 bytes" \
	"$T" attest --label "$LABEL" --key-label k256 --format webauthn --client-data-hash "${CDH:2}" --userpin "$USER_PIN"
expect_refused "attest refuses --client-data outside the webauthn format" "webauthn" \
	"$T" attest --label "$LABEL" --key-label k256 --format json --client-data "$W/clientdata.json" --userpin "$USER_PIN"
expect_refused "verify-attestation refuses --client-data for a json attestation" "webauthn" \
	"$T" verify-attestation "$W/ac-json-k256" --client-data "$W/clientdata.json" --ak-ca "$AK_CA"

# An independent verifier: python3-fido2's TPM attestation check (0.9.1
# mishandles ECC public areas and lacks ES384; patched / left out here).
if /usr/bin/python3 -c 'import fido2.attestation' 2>/dev/null; then
	cat >"$W/fido2check.py" <<'EOF'
import sys, base64, hashlib
from fido2.ctap2 import AttestationObject
from fido2.attestation import TpmAttestation
import fido2.attestation.tpm as t
if not hasattr(t.TpmsEccParms, "to_curve"):
    t.TpmsEccParms.to_curve = lambda self: t.TpmEccCurve(self.curve_id).to_curve()
    def _point(self, x, y):
        self.x, self.y = x, y
    t.TpmsEccPoint.__init__ = _point
text = open(sys.argv[1]).read().strip()
obj = AttestationObject(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
TpmAttestation().verify(obj.att_statement, obj.auth_data,
                        hashlib.sha256(bytes.fromhex(sys.argv[2])).digest())
EOF
	for k in k256 krsa; do
		expect_ok "python3-fido2 accepts the webauthn object ($k)" \
			/usr/bin/python3 "$W/fido2check.py" "$W/ac-webauthn-$k" "$(cat "$W/ac-webauthn-$k.nonce")"
	done
	# the script hashes the bytes it is given: here the clientDataJSON
	expect_ok "python3-fido2 accepts the webauthn object bound to a clientDataJSON" \
		/usr/bin/python3 "$W/fido2check.py" "$W/wa-cd" "$(xxd -p "$W/clientdata.json" | tr -d '\n')"
	expect_refused "python3-fido2 refuses it for another challenge" "does not sign" \
		/usr/bin/python3 "$W/fido2check.py" "$W/ac-webauthn-k256" "$(nonce)"
else
	ok "python3-fido2 cross-check # SKIP python3-fido2 not installed"
fi

# --- PKCS#11: the attestation as a CKO_DATA object --------------------------------
N=$(nonce)
expect_ok "attest --store-object" "$T" attest --label "$LABEL" --key-label "$K2" --nonce "$N" \
	--userpin "$USER_PIN" --store-object --out "$W/stored.json"
P11=(timeout 120 pkcs11-tool --module "$TPM11_MODULE" --token-label "$LABEL")
if "${P11[@]}" -O --type data </dev/null >"$W/O" 2>&1 && grep -q "tpm11-attestation" "$W/O"; then
	ok "pkcs11-tool lists the attestation data object without login"
else not_ok "pkcs11-tool lists the attestation data object without login"; sed 's/^/# /' "$W/O" | head -n 20; fi
t11_clean "pkcs11-tool -O --type data"
if "${P11[@]}" --read-object --type data --application-label tpm11-attestation \
	--output-file "$W/read.json" </dev/null >/dev/null 2>&1 && cmp -s "$W/read.json" "$W/stored.json"; then
	ok "pkcs11-tool reads the attestation (CKA_VALUE) back"
else not_ok "pkcs11-tool reads the attestation (CKA_VALUE) back"; fi
t11_clean "pkcs11-tool --read-object"
expect_ok "the attestation read over PKCS#11 verifies" \
	"$T" verify-attestation "$W/read.json" --nonce "$N" --ak-ca "$AK_CA" --ek-ca "$EK_CA"
"$T" attest --label "$LABEL" --key-label "$K2" --nonce "$N" --userpin "$USER_PIN" --store-object \
	--out /dev/null >/dev/null 2>&1
t11_clean "attest --store-object again"
if [ "$("${P11[@]}" -O --type data </dev/null 2>/dev/null | grep -c 'tpm11-attestation')" = 1 ]; then
	ok "a newer attestation replaces the key's older data object"
else not_ok "a newer attestation replaces the key's older data object"; fi
t11_clean "pkcs11-tool -O --type data (again)"

# --- negative cases ------------------------------------------------------------------
J=$W/ac-json-k256
NJ=$(cat "$J.nonce")

# A key imported into the TPM from outside (tpm2_import): not generated
# there, and duplicable.
openssl ecparam -name prime256v1 -genkey -noout -out "$W/outside.pem" 2>/dev/null
if tt tpm2_createprimary -C o -g sha256 -G ecc -c "$W/prim.ctx" -Q &&
	tt tpm2_import -C "$W/prim.ctx" -G ecc -i "$W/outside.pem" -u "$W/imp.pub" -r "$W/imp.priv" -Q &&
	tt tpm2_load -C "$W/prim.ctx" -u "$W/imp.pub" -r "$W/imp.priv" -c "$W/imp.ctx" -Q &&
	tt tpm2_evictcontrol -C o -c "$W/imp.ctx" 0x81000100 -Q; then
	N=$(nonce)
	"$T" attest --key-handle 0x81000100 --nonce "$N" --out "$W/imported.json" >/dev/null 2>"$W/err"; rc=$?
	t11_clean "attest --key-handle (an imported key)"
	if [ "$rc" = 0 ]; then
		expect_refused "refused: a key imported from outside the TPM" "not generated inside the TPM" \
			"$T" verify-attestation "$W/imported.json" --nonce "$N" --ak-ca "$AK_CA"
		grep -q "not fixedTPM" "$W/err" && ok "  ...and it is not fixedTPM" || not_ok "  ...and it is not fixedTPM"
	else not_ok "attest --key-handle of an imported key"; show; fi
	# A TPM full of what a dead client left: two primaries tpm2-tools
	# does not flush (no resource manager) and the EK that ekak's Load
	# needs fill its three object slots. The AK's Load, answered 0x902,
	# flushes the two leftovers and not attestation's own EK, then runs
	# again (TPM_CALL_ROOM).
	if t11_tpm_no_rm; then
		tpm2_createprimary -C o -g sha256 -G ecc -c "$W/left1.ctx" -Q 2>/dev/null
		tpm2_createprimary -C o -g sha256 -G ecc -c "$W/left2.ctx" -Q 2>/dev/null
		left=$(tpm2_getcap handles-transient 2>/dev/null | sed -n 's/^- //p' | tr '\n' ' ')
		N=$(nonce)
		run "$T" attest --key-handle 0x81000100 --ak ekak --nonce "$N" --out "$W/full.json"
		if [ "$(wc -w <<<"$left")" = 2 ] && [ "$rc" = 0 ]; then
			ok "attest --key-handle --ak ekak with two leftovers in the TPM (the AK's Load flushes them, not the EK)"
		else not_ok "attest --key-handle --ak ekak with leftovers '$left' in the TPM (exit $rc)"; show; fi
		t11_clean "attest with two leftovers (they are flushed)"
		# Should they still be there, they go, so later cases run as before.
		for h in $left; do tpm2_flushcontext "$h" >/dev/null 2>&1; done
	fi
	tt tpm2_evictcontrol -C o -c 0x81000100 -Q
else
	not_ok "tpm2_import a key made outside"
fi

# One flipped bit in certInfo (in clockInfo.clock: the structure still
# parses, the signature does not hold).
cp "$J" "$W/flip.json"
jget "$J" certify_info | base64 -d >"$W/ci.bin"
flip_bit "$W/ci.bin" 80
jset "$W/flip.json" certify_info "$(b64 "$W/ci.bin")"
expect_refused "refused: one flipped bit in certInfo" "signature over the exact TPMS_ATTEST bytes does not verify" \
	"$T" verify-attestation "$W/flip.json" --nonce "$NJ" --ak-ca "$AK_CA"
if [ "$(grep -c 'refused:' "$W/err")" = 1 ]; then ok "  ...and that is the only check that fails"
else not_ok "  ...and that is the only check that fails"; show; fi
# ...and trailing bytes after it.
cp "$J" "$W/trail.json"
jget "$J" certify_info | base64 -d >"$W/ci.bin"; printf '\0' >>"$W/ci.bin"
jset "$W/trail.json" certify_info "$(b64 "$W/ci.bin")"
expect_refused "refused: trailing bytes after certInfo" "trailing bytes" \
	"$T" verify-attestation "$W/trail.json" --nonce "$NJ" --ak-ca "$AK_CA"

# Another key's public area.
cp "$J" "$W/other.json"
jset "$W/other.json" key_public "$(jget "$W/ac-json-$K2" key_public)"
expect_refused "refused: another key's public area" "another key's public area" \
	"$T" verify-attestation "$W/other.json" --nonce "$NJ" --ak-ca "$AK_CA"

# A wrong challenge; a replayed one; an expired one; another challenge's state.
expect_refused "refused: a wrong challenge (nonce)" "extraData does not match the challenge" \
	"$T" verify-attestation "$J" --nonce "$(nonce)" --ak-ca "$AK_CA"
expect_refused "refused: a replayed challenge-response answer" "already answered" \
	"$T" verify-attestation "$W/cr-json-k256" --challenge-state "$W/cr-json-k256.state" --ek-ca "$EK_CA"
attest_cr k256 json "$W/cr5" >/dev/null 2>&1
t11_clean "attest_cr k256 json (cr5)"
expect_refused "refused: an answer checked against another challenge (json)" "another challenge" \
	"$T" verify-attestation "$W/cr-json-$K2" --challenge-state "$W/cr5.state" --ek-ca "$EK_CA"
attest_cr k256 webauthn "$W/cr2" >/dev/null 2>&1
t11_clean "attest_cr k256 webauthn (cr2)"
attest_cr k256 webauthn "$W/cr3" >/dev/null 2>&1
t11_clean "attest_cr k256 webauthn (cr3)"
expect_refused "refused: an answer checked against another challenge (webauthn)" "extraData does not match the challenge" \
	"$T" verify-attestation "$W/cr2" --challenge-state "$W/cr3.state" --ek-ca "$EK_CA"
"$T" ak export --out "$W/ttl.req" >/dev/null 2>&1
"$T" verify-attestation --make-challenge --request "$W/ttl.req" --ek-ca "$EK_CA" --ttl 1 \
	--state-out "$W/ttl.state" --challenge-out "$W/ttl.chal" 2>/dev/null
"$T" attest --label "$LABEL" --key-label k256 --respond "$W/ttl.chal" --userpin "$USER_PIN" \
	--out "$W/ttl.json" >/dev/null 2>&1
t11_clean "attest --respond (ttl 1)"
sleep 2
expect_refused "refused: an expired challenge" "expired" \
	"$T" verify-attestation "$W/ttl.json" --challenge-state "$W/ttl.state" --ek-ca "$EK_CA"
expect_refused "attest --respond refuses a challenge made for another AK" "another AK" \
	"$T" attest --label "$LABEL" --key-label k256 --ak ekak --respond "$W/ttl.chal" --userpin "$USER_PIN"

# An EK certificate from an untrusted CA; an AK certificate from an
# untrusted CA.
expect_refused "refused: make-challenge with an untrusted EK CA" "no EK certificate .* trusted EK CA" \
	"$T" verify-attestation --make-challenge --request "$W/request.json" --ek-ca "$AK_CA" \
	--state-out "$W/x.state" --challenge-out "$W/x.chal"
attest_cr k256 json "$W/cr4" >/dev/null 2>&1
t11_clean "attest_cr k256 json (cr4)"
expect_refused "refused: a challenge-response answer with an untrusted EK CA" "EK certificate is not issued by a trusted EK CA" \
	"$T" verify-attestation "$W/cr4" --challenge-state "$W/cr4.state" --ek-ca "$AK_CA"
expect_refused "refused: EK certificates from an untrusted CA (AK certificate mode)" "no EK certificate is issued by a trusted EK CA" \
	"$T" verify-attestation "$J" --nonce "$NJ" --ak-ca "$AK_CA" --ek-ca "$AK_CA"
for f in json webauthn acme; do
	expect_refused "refused: an AK certificate from an untrusted CA ($f)" "AK certificate is not issued by a trusted AK CA" \
		"$T" verify-attestation "$W/ac-$f-k256" --nonce "$(cat "$W/ac-$f-k256.nonce")" --ak-ca "$EK_CA"
done

# A non-restricted key posing as the AK: it signs anything, so it can sign
# a TPMS_ATTEST made up outside the TPM. (1) a verifier will not make a
# challenge for it; (2) a certInfo signed by such a key, even with an AK
# certificate from a CA that was fooled, is refused.
cp "$W/request.json" "$W/fake.req"
jset "$W/fake.req" ak_public "$(jget "$J" key_public)"
expect_refused "refused: make-challenge for a non-restricted key posing as the AK" "not a restricted signing key" \
	"$T" verify-attestation --make-challenge --request "$W/fake.req" --ek-ca "$EK_CA" \
	--state-out "$W/y.state" --challenge-out "$W/y.chal"
jget "$J" certify_info | base64 -d >"$W/ci.bin"
if tt tpm2_create -C "$W/prim.ctx" -G ecc256:ecdsa-sha256 \
	-a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign" \
	-u "$W/fake.pub" -r "$W/fake.priv" -Q &&
	tt tpm2_load -C "$W/prim.ctx" -u "$W/fake.pub" -r "$W/fake.priv" -c "$W/fake.ctx" -Q &&
	tt tpm2_readpublic -c "$W/fake.ctx" -f pem -o "$W/fake.pem" -Q &&
	tt tpm2_sign -c "$W/fake.ctx" -g sha256 -o "$W/fake.sig" "$W/ci.bin" &&
	ak_cert "$W/fake.pem" "$W/fake-cert.pem"; then
	tail -c +3 "$W/fake.pub" >"$W/fake.tpmt"
	cp "$J" "$W/fake.json"
	jdel "$W/fake.json" creation_data; jdel "$W/fake.json" creation_info; jdel "$W/fake.json" creation_signature
	jset "$W/fake.json" ak_public "$(b64 "$W/fake.tpmt")"
	jset "$W/fake.json" certify_signature "$(b64 "$W/fake.sig")"
	openssl x509 -in "$W/fake-cert.pem" -outform DER -out "$W/fake-cert.der"
	sed -i "/^  \"ak_certificates\": \[/{n;s|^    \".*\"|    \"$(b64 "$W/fake-cert.der")\"|}" "$W/fake.json"
	expect_refused "refused: a certInfo signed by a non-restricted key posing as the AK" "not a restricted signing key" \
		"$T" verify-attestation "$W/fake.json" --nonce "$NJ" --ak-ca "$AK_CA"
	# Its signature and its certificate hold: that check alone stops it.
	if [ "$(grep -c 'refused:' "$W/err")" = 1 ]; then ok "  ...and that is the only check that fails"
	else not_ok "  ...and that is the only check that fails"; show; fi
else
	not_ok "make a non-restricted signing key with tpm2-tools"
fi

check "no transient object or session left" tpm_is_clean
t11_done
