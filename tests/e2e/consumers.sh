#!/usr/bin/env bash
# Real PKCS#11 consumers against the module (issue 5 item 9, TLS aside):
#  - OpenSC pkcs11-tool: --test, --test-ec and --test-fork;
#  - GnuTLS: p11tool --provider lists the token and its objects by pkcs11:
#    URI (private keys after --login), certtool --provider makes a
#    self-signed certificate and a request with token keys, p11tool writes
#    the certificate to the token, exports and deletes it;
#  - OpenSSL through the libp11 engine (libengine-pkcs11-openssl): ECDSA,
#    RSA PKCS#1 and RSA-PSS signatures and a self-signed certificate made
#    with token keys, checked by OpenSSL itself, and a verification through
#    the engine.
# Every signature is checked by software that does not use the module.
# The TPM is clean after every client run. Runs once per TPM mode
# (tests/run, T11_TPM_MODE): on a direct swtpm the clients follow one
# another with nothing in between to clean up after them; in minimal mode
# the P-384 case skips (and --test-ec's signature of a SHA-1 hash must
# work on a TPM without SHA-1).
# shellcheck source=tests/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

SO_PIN=consumer-so-8642
USER_PIN=consumer-user-1357
LABEL=CONSUMER
TOK="pkcs11:token=$LABEL"
W=$T11_TMP/work
mkdir -p "$W"

t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
check_clean "tpm11 init" "$TPM11_TOOL" init
check_clean "tpm11 addtoken --label $LABEL" "$TPM11_TOOL" addtoken --label "$LABEL" \
	--sopin "$SO_PIN" --userpin "$USER_PIN"
check_clean "tpm11 addkey ecc256 (ec1, id 01)" "$TPM11_TOOL" addkey --label "$LABEL" \
	--algorithm ecc256 --key-label ec1 --id 01 --userpin "$USER_PIN"
check_clean "tpm11 addkey rsa2048 (rsa1, id 02)" "$TPM11_TOOL" addkey --label "$LABEL" \
	--algorithm rsa2048 --key-label rsa1 --id 02 --userpin "$USER_PIN"

# run_out NAME FILE CMD...: runs CMD (stdin from /dev/null) with its output
# in FILE; true when it exits 0.
run_out() {
	local file=$2
	shift 2
	"$@" </dev/null >"$file" 2>&1
}
show() { sed 's/^/# /' "$1" | tail -n "${2:-30}"; }

# --- OpenSC pkcs11-tool ------------------------------------------------------------
P11=(timeout 300 pkcs11-tool --module "$TPM11_MODULE" --token-label "$LABEL")
if run_out test "$W/test.out" "${P11[@]}" --login --pin "$USER_PIN" --test &&
	grep -q '^No errors' "$W/test.out"; then
	ok "pkcs11-tool --test: No errors"
else
	not_ok "pkcs11-tool --test: No errors"; show "$W/test.out" 60
fi
t11_clean "pkcs11-tool --test"
grep -E '^(warning|error):' "$W/test.out" | sed 's/^/# pkcs11-tool --test: /'

# --test-ec generates a token key pair, so it needs a read/write session;
# without --session-rw pkcs11-tool opens a read-only one and a conforming
# module answers CKR_SESSION_READ_ONLY.
for kt in "03 EC:prime256v1" "04 EC:secp384r1"; do
	read -r id keytype <<<"$kt"
	if [ "$id" = 04 ] && ! t11_tpm_has ecc384; then
		t11_skip "pkcs11-tool --test-ec --key-type $keytype" ecc384; continue
	fi
	if run_out test-ec "$W/test-ec.$id" "${P11[@]}" --login --pin "$USER_PIN" \
		--session-rw --test-ec --id "$id" --key-type "$keytype" &&
		grep -q '==> OK' "$W/test-ec.$id"; then
		ok "pkcs11-tool --test-ec --key-type $keytype: ==> OK"
	else
		not_ok "pkcs11-tool --test-ec --key-type $keytype: ==> OK"; show "$W/test-ec.$id"
	fi
	t11_clean "pkcs11-tool --test-ec --key-type $keytype"
done
if run_out test-fork "$W/test-fork.out" "${P11[@]}" --login --pin "$USER_PIN" --test-fork; then
	ok "pkcs11-tool --test-fork"
else
	not_ok "pkcs11-tool --test-fork"; show "$W/test-fork.out"
fi
t11_clean "pkcs11-tool --test-fork"
if "${P11[@]}" -O </dev/null 2>/dev/null | grep -qE 'ID: +0[34]$'; then
	not_ok "pkcs11-tool --test-ec removed the key pairs it made"
else
	ok "pkcs11-tool --test-ec removed the key pairs it made"
fi
t11_clean "pkcs11-tool -O"

# --- GnuTLS: p11tool and certtool --------------------------------------------------
P11TOOL=(timeout 120 p11tool --provider "$TPM11_MODULE")
CERTTOOL=(timeout 120 certtool --provider "$TPM11_MODULE")
if run_out p11tool "$W/tokens" "${P11TOOL[@]}" --list-tokens &&
	grep -qE "URL: pkcs11:.*token=$LABEL" "$W/tokens"; then
	ok "p11tool --list-tokens: a pkcs11: URL with token=$LABEL"
else
	not_ok "p11tool --list-tokens: a pkcs11: URL with token=$LABEL"; show "$W/tokens"
fi
t11_clean "p11tool --list-tokens"
run_out p11tool "$W/all" "${P11TOOL[@]}" --list-all "$TOK"
t11_clean "p11tool --list-all"
for o in ec1 rsa1; do
	if grep -qE "URL: pkcs11:.*token=$LABEL;.*object=$o;type=public" "$W/all"; then
		ok "p11tool --list-all $TOK: public key $o, with its URL"
	else
		not_ok "p11tool --list-all $TOK: public key $o, with its URL"; show "$W/all"
	fi
done
if grep -q 'type=private' "$W/all"; then
	not_ok "p11tool --list-all without --login lists no private key"; show "$W/all"
else
	ok "p11tool --list-all without --login lists no private key"
fi
GNUTLS_PIN=$USER_PIN run_out p11tool "$W/priv" "${P11TOOL[@]}" --login \
	--list-all-privkeys "$TOK"
t11_clean "p11tool --login --list-all-privkeys"
for o in ec1 rsa1; do
	if grep -qE "URL: pkcs11:.*object=$o;type=private" "$W/priv"; then
		ok "p11tool --login --list-all-privkeys $TOK: private key $o"
	else
		not_ok "p11tool --login --list-all-privkeys $TOK: private key $o"; show "$W/priv"
	fi
done
if grep -A4 "object=ec1;type=private" "$W/priv" | grep -q 'CKA_SENSITIVE'; then
	ok "p11tool: the private key is CKA_SENSITIVE"
else
	not_ok "p11tool: the private key is CKA_SENSITIVE"; show "$W/priv"
fi
if GNUTLS_PIN=wrong-pin-0000 run_out p11tool "$W/badpin" "${P11TOOL[@]}" --login \
	--list-all-privkeys "$TOK"; then
	not_ok "p11tool --login with a wrong PIN fails"; show "$W/badpin"
else
	ok "p11tool --login with a wrong PIN fails"
fi
t11_clean "p11tool --login with a wrong PIN"

cat >"$W/tmpl" <<'EOF'
cn = "tpm11 consumer test"
serial = 7
expiration_days = 30
ca
signing_key
cert_signing_key
EOF
for o in ec1 rsa1; do
	if GNUTLS_PIN=$USER_PIN run_out certtool "$W/certtool.$o" "${CERTTOOL[@]}" \
		--generate-self-signed --template "$W/tmpl" \
		--load-privkey "$TOK;object=$o;type=private" \
		--load-pubkey "$TOK;object=$o;type=public" --outfile "$W/$o.pem" &&
		openssl verify -check_ss_sig -CAfile "$W/$o.pem" "$W/$o.pem" >"$W/verify.$o" 2>&1; then
		ok "certtool --provider --generate-self-signed with $o: OpenSSL verifies the certificate"
	else
		not_ok "certtool --provider --generate-self-signed with $o: OpenSSL verifies the certificate"
		show "$W/certtool.$o"; show "$W/verify.$o" 2>/dev/null
	fi
	t11_clean "certtool --provider --generate-self-signed with $o"
done
if "${P11TOOL[@]}" --export "$TOK;object=ec1;type=public" </dev/null 2>/dev/null |
	openssl pkey -pubin -outform DER -out "$W/ec1.tok.der" 2>/dev/null &&
	openssl x509 -in "$W/ec1.pem" -pubkey -noout 2>/dev/null |
	openssl pkey -pubin -outform DER -out "$W/ec1.cert.der" 2>/dev/null &&
	cmp -s "$W/ec1.tok.der" "$W/ec1.cert.der"; then
	ok "p11tool --export: the token's public key is the certificate's"
else
	not_ok "p11tool --export: the token's public key is the certificate's"
fi
t11_clean "p11tool --export (public key)"
if GNUTLS_PIN=$USER_PIN run_out certtool "$W/csr.out" "${CERTTOOL[@]}" --generate-request \
	--template "$W/tmpl" --load-privkey "$TOK;object=rsa1;type=private" \
	--load-pubkey "$TOK;object=rsa1;type=public" --outfile "$W/rsa1.csr" &&
	openssl req -in "$W/rsa1.csr" -verify -noout >"$W/csr.verify" 2>&1; then
	ok "certtool --provider --generate-request with rsa1: OpenSSL verifies the request"
else
	not_ok "certtool --provider --generate-request with rsa1: OpenSSL verifies the request"
	show "$W/csr.out"; show "$W/csr.verify" 2>/dev/null
fi
t11_clean "certtool --provider --generate-request"
if GNUTLS_PIN=$USER_PIN run_out p11tool "$W/write" "${P11TOOL[@]}" --login --write \
	--load-certificate "$W/ec1.pem" --label ec1 --id 01 "$TOK"; then
	ok "p11tool --write: the certificate is stored on the token"
else
	not_ok "p11tool --write: the certificate is stored on the token"; show "$W/write"
fi
t11_clean "p11tool --write"
run_out p11tool "$W/certs" "${P11TOOL[@]}" --list-all-certs "$TOK"
if grep -qE "URL: pkcs11:.*id=%01;object=ec1;type=cert" "$W/certs"; then
	ok "p11tool --list-all-certs: the certificate, id 01, label ec1"
else
	not_ok "p11tool --list-all-certs: the certificate, id 01, label ec1"; show "$W/certs"
fi
t11_clean "p11tool --list-all-certs"
if "${P11TOOL[@]}" --export "$TOK;object=ec1;type=cert" </dev/null 2>/dev/null |
	openssl x509 -outform DER -out "$W/ec1.back.der" 2>/dev/null &&
	openssl x509 -in "$W/ec1.pem" -outform DER -out "$W/ec1.der" &&
	cmp -s "$W/ec1.der" "$W/ec1.back.der"; then
	ok "p11tool --export: the stored certificate comes back unchanged"
else
	not_ok "p11tool --export: the stored certificate comes back unchanged"
fi
t11_clean "p11tool --export (certificate)"
if GNUTLS_PIN=$USER_PIN run_out p11tool "$W/delete" "${P11TOOL[@]}" --login --batch \
	--delete "$TOK;object=ec1;type=cert" &&
	! "${P11TOOL[@]}" --list-all-certs "$TOK" </dev/null 2>/dev/null | grep -q 'type=cert'; then
	ok "p11tool --delete: the certificate is gone"
else
	not_ok "p11tool --delete: the certificate is gone"; show "$W/delete"
fi
t11_clean "p11tool --delete"

# --- OpenSSL through the libp11 engine -----------------------------------------------
ENGINES_DIR=$(openssl version -e 2>/dev/null | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
ENGINE_SO=$ENGINES_DIR/pkcs11.so
if [ ! -e "$ENGINE_SO" ]; then
	not_ok "libengine-pkcs11-openssl is installed ($ENGINE_SO)"
	tpm_is_clean >/dev/null
	t11_done
	exit 1
fi
# `openssl -engine pkcs11` makes the engine OpenSSL's default for every
# algorithm in the process, and then tpm2-tss's own OpenSSL calls (the
# ephemeral key of the salted session at C_Login) land in the engine and
# fail (tpm2-tss 3.2; docs/browser.md). The way for OpenSSL programs: the
# module in its own process with `p11-kit server`, OpenSSL loading
# p11-kit-client.so. The engine, p11-kit and tpm11 are all real here.
# p11-kit server serves each client from a process of its own, which may
# exit without C_Finalize; the module must leave nothing behind all the
# same (on a direct swtpm nobody else cleans up).
P11KIT_CLIENT="$(pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null || echo /usr/lib/x86_64-linux-gnu/pkcs11)/p11-kit-client.so"
p11-kit server -f --provider "$TPM11_MODULE" -n "$W/p11kit.sock" "$TOK" \
	</dev/null >"$W/p11kit-server.log" 2>&1 &
P11KIT_SERVER_PID=$!
t11_own_pid $P11KIT_SERVER_PID
for _ in $(seq 100); do [ -S "$W/p11kit.sock" ] && break; sleep 0.05; done
export P11_KIT_SERVER_ADDRESS="unix:path=$W/p11kit.sock"
served() { t11_clean_served "$P11KIT_SERVER_PID" "$1"; }
cat >"$W/openssl.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE_SO
MODULE_PATH = $P11KIT_CLIENT
init = 0
EOF
# Only the commands that use the engine get this configuration.
ENG=(env OPENSSL_CONF="$W/openssl.cnf" timeout 120 openssl)
KEY_EC="$TOK;object=ec1;type=private;pin-value=$USER_PIN"
KEY_RSA="$TOK;object=rsa1;type=private;pin-value=$USER_PIN"
head -c 1000 /dev/urandom >"$W/msg"
openssl dgst -sha256 -binary -out "$W/msg.sha256" "$W/msg"

if run_out engine "$W/eng.pub" "${ENG[@]}" pkey -engine pkcs11 -inform engine -pubin \
	-in "$TOK;object=rsa1;type=public" -pubout -out "$W/rsa1.pub"; then
	ok "openssl pkey -engine pkcs11: reads the RSA public key by URI"
else
	not_ok "openssl pkey -engine pkcs11: reads the RSA public key by URI"; show "$W/eng.pub"
fi
run_out engine "$W/eng.pub2" "${ENG[@]}" pkey -engine pkcs11 -inform engine -pubin \
	-in "$TOK;object=ec1;type=public" -pubout -out "$W/ec1.pub"
served "openssl pkey -engine pkcs11 (RSA and EC public keys)"

if run_out engine "$W/eng.ec" "${ENG[@]}" pkeyutl -engine pkcs11 -keyform engine \
	-inkey "$KEY_EC" -sign -in "$W/msg.sha256" -out "$W/ec.sig" &&
	openssl pkeyutl -verify -pubin -inkey "$W/ec1.pub" -in "$W/msg.sha256" \
		-sigfile "$W/ec.sig" >"$W/ec.verify" 2>&1; then
	ok "openssl pkeyutl -engine pkcs11 -sign (ECDSA P-256): OpenSSL verifies the signature"
else
	not_ok "openssl pkeyutl -engine pkcs11 -sign (ECDSA P-256): OpenSSL verifies the signature"
	show "$W/eng.ec"
fi
served "openssl pkeyutl -engine pkcs11 -sign (ECDSA P-256)"
# A signature made without the engine (pkcs11-tool, DER as OpenSSL wants
# it), verified through the engine with the token's public key.
if run_out sign "$W/tool.sign" "${P11[@]}" --login --pin "$USER_PIN" --sign --id 01 \
	-m ECDSA --signature-format openssl -i "$W/msg.sha256" -o "$W/ec.tool.sig" &&
	run_out engine "$W/eng.ecv" "${ENG[@]}" pkeyutl -engine pkcs11 \
		-keyform engine -verify -pubin -inkey "$TOK;object=ec1;type=public" \
		-in "$W/msg.sha256" -sigfile "$W/ec.tool.sig" &&
	grep -q 'Signature Verified Successfully' "$W/eng.ecv"; then
	ok "openssl pkeyutl -engine pkcs11 -verify: the token's public key verifies a token signature"
else
	not_ok "openssl pkeyutl -engine pkcs11 -verify: the token's public key verifies a token signature"
	show "$W/tool.sign"; show "$W/eng.ecv" 2>/dev/null
fi
served "pkcs11-tool --sign, openssl pkeyutl -engine pkcs11 -verify"
if run_out engine "$W/eng.rsa" "${ENG[@]}" dgst -engine pkcs11 -keyform engine \
	-sign "$KEY_RSA" -sha256 -out "$W/rsa.sig" "$W/msg" &&
	openssl dgst -sha256 -verify "$W/rsa1.pub" -signature "$W/rsa.sig" "$W/msg" \
		>"$W/rsa.verify" 2>&1; then
	ok "openssl dgst -engine pkcs11 -sign (RSA PKCS#1 v1.5, SHA-256): OpenSSL verifies"
else
	not_ok "openssl dgst -engine pkcs11 -sign (RSA PKCS#1 v1.5, SHA-256): OpenSSL verifies"
	show "$W/eng.rsa"
fi
served "openssl dgst -engine pkcs11 -sign (RSA PKCS#1 v1.5)"
if run_out engine "$W/eng.pss" "${ENG[@]}" pkeyutl -engine pkcs11 -keyform engine \
	-inkey "$KEY_RSA" -sign -in "$W/msg.sha256" -out "$W/pss.sig" \
	-pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32 &&
	openssl pkeyutl -verify -pubin -inkey "$W/rsa1.pub" -in "$W/msg.sha256" \
		-sigfile "$W/pss.sig" -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss \
		-pkeyopt rsa_pss_saltlen:32 >"$W/pss.verify" 2>&1; then
	ok "openssl pkeyutl -engine pkcs11 -sign (RSA-PSS, SHA-256, salt 32): OpenSSL verifies"
else
	not_ok "openssl pkeyutl -engine pkcs11 -sign (RSA-PSS, SHA-256, salt 32): OpenSSL verifies"
	show "$W/eng.pss"
fi
served "openssl pkeyutl -engine pkcs11 -sign (RSA-PSS)"
if run_out engine "$W/eng.req" "${ENG[@]}" req -new -x509 -days 1 -subj "/CN=tpm11 engine" \
	-engine pkcs11 -keyform engine -key "$KEY_EC" -sha256 -out "$W/engine.pem" &&
	openssl verify -check_ss_sig -CAfile "$W/engine.pem" "$W/engine.pem" >"$W/req.verify" 2>&1; then
	ok "openssl req -engine pkcs11 -x509 with ec1: OpenSSL verifies the certificate"
else
	not_ok "openssl req -engine pkcs11 -x509 with ec1: OpenSSL verifies the certificate"
	show "$W/eng.req"
fi
served "openssl req -engine pkcs11 -x509"

# Stop the server, then look at the TPM (the swtpm itself, in both modes).
t11_stop_pid "$P11KIT_SERVER_PID"
check "after the consumers the TPM holds no transient objects or sessions" tpm_is_clean
t11_done
