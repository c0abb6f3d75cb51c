#!/usr/bin/env bash
# tpm11 import (issue 17): existing P-256, P-384 and RSA-2048 keys from
# PEM PKCS#8, traditional PEM ("EC/RSA PRIVATE KEY") and OpenSSH files go
# into the TPM with TPM2_Import. For each: `ssh-keygen -D` prints the
# same public key as `ssh-keygen -y` of the original file, a signature
# made through pkcs11-tool verifies with the original public key
# (openssl), the private object says it was not made in the token
# (CKA_LOCAL, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE false); an ssh
# login through PKCS11Provider with one imported key. swtpm logs every byte
# of the run: no 16-byte piece of any private scalar or prime appears in
# it, and TPM2_Import has a session that encrypts its first parameter
# (the inner wrapper's key). Bad input (a truncated PEM or OpenSSH file,
# a public key, Ed25519 in both formats, a passphrase-protected OpenSSH
# key, a wrong --label, the same key twice): one line on stderr, the
# token's objects unchanged, the TPM clean. --shred removes the file after
# the import. A PKCS#12 file: the key and its certificate (with the key's
# CKA_ID), a wrong password refused. Runs once per TPM mode (tests/run, T11_TPM_MODE).
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

T=$TPM11_TOOL
M=$TPM11_MODULE
BUS="python3 $T11_SRC/tests/lib/tpmbus.py"
UP=imp-user-pin-3141
SO=imp-so-pin-2718
L=IMP
K=$T11_TMP/keys
mkdir -p "$K" && chmod 700 "$K"

T11_SWTPM_LOGLEVEL=20 t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
LOG=$T11_TMP/tpm/swtpm.log
check_clean "tpm11 init" "$T" init
check_clean "tpm11 addtoken" "$T" addtoken --label "$L" --sopin "$SO" --userpin "$UP"

# --- the keys, in their files ----------------------------------------------
# NAME TYPE FORMAT ID: TYPE p256|p384|rsa2048, FORMAT pkcs8|trad|openssh.
KEYS=(
	"p256-p8 p256 pkcs8 01" "p256-trad p256 trad 02" "p256-ssh p256 openssh 03"
	"p384-p8 p384 pkcs8 04" "p384-trad p384 trad 05" "p384-ssh p384 openssh 06"
	"rsa-p8 rsa2048 pkcs8 07" "rsa-trad rsa2048 trad 08" "rsa-ssh rsa2048 openssh 09"
)
mkkey() { # NAME TYPE FORMAT
	local f=$K/$1 gen st
	case $2 in
	p256) gen=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256); st=(-t ecdsa -b 256) ;;
	p384) gen=(-algorithm EC -pkeyopt ec_paramgen_curve:P-384); st=(-t ecdsa -b 384) ;;
	rsa2048) gen=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048); st=(-t rsa -b 2048) ;;
	esac
	case $3 in
	pkcs8) openssl genpkey "${gen[@]}" -out "$f" 2>/dev/null ;;
	trad) openssl genpkey "${gen[@]}" 2>/dev/null | {
		if [ "$2" = rsa2048 ]; then openssl rsa -traditional -out "$f" 2>/dev/null
		else openssl ec -out "$f" 2>/dev/null; fi; } ;;
	openssh) ssh-keygen -q "${st[@]}" -N '' -C "$1" -f "$f" </dev/null && rm -f "$f.pub" ;;
	esac
	chmod 600 "$f"
	# the original public key: OpenSSH line and PEM
	ssh-keygen -y -f "$f" >"$f.sshpub" </dev/null
	ssh-keygen -e -m PKCS8 -f "$f.sshpub" >"$f.pub.pem"
}
made=1
for k in "${KEYS[@]}"; do
	set -- $k
	mkkey "$1" "$2" "$3" || made=0
done
# the private scalars (EC) and the primes and d (RSA), hex, one per line
# in NAME.secret, for the bus check
python3 - "$K" "${KEYS[@]}" <<'PY' || made=0
import sys
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ec
for spec in sys.argv[2:]:
    name = spec.split()[0]
    path = sys.argv[1] + '/' + name
    data = open(path, 'rb').read()
    k = (s.load_ssh_private_key if b'OPENSSH' in data else s.load_pem_private_key)(data, None)
    with open(path + '.secret', 'w') as out:
        if isinstance(k, ec.EllipticCurvePrivateKey):
            n = (k.curve.key_size + 7) // 8
            vals = [k.private_numbers().private_value.to_bytes(n, 'big')]
        else:
            p = k.private_numbers()
            vals = [v.to_bytes((v.bit_length() + 7) // 8, 'big') for v in (p.p, p.q, p.d)]
        for v in vals:
            out.write(v.hex().upper() + '\n')
    # the public x or n: it does cross the bus (positive control)
    pn = k.public_key().public_numbers()
    v = pn.x.to_bytes(n, 'big') if isinstance(k, ec.EllipticCurvePrivateKey) else \
        pn.n.to_bytes((pn.n.bit_length() + 7) // 8, 'big')
    open(path + '.public', 'w').write(v.hex().upper() + '\n')
PY
grep -q "BEGIN PRIVATE KEY" "$K/p256-p8" && grep -q "BEGIN EC PRIVATE KEY" "$K/p384-trad" &&
	grep -q "BEGIN RSA PRIVATE KEY" "$K/rsa-trad" && grep -q "BEGIN OPENSSH PRIVATE KEY" "$K/rsa-ssh" || made=0
if [ "$made" = 1 ]; then ok "9 keys in PKCS#8, traditional PEM and OpenSSH files"
else not_ok "9 keys in PKCS#8, traditional PEM and OpenSSH files"; fi

objects() { "$T" listobjects --label "$L" 2>&1 </dev/null; }

# What this TPM can take: a P-384 key needs the curve (the minimal chip
# profile has none); each key left out is one skipped result naming why.
IMPORT_KEYS=()
for k in "${KEYS[@]}"; do
	set -- $k
	alg=$2; [ "$alg" = p384 ] && alg=ecc384
	if t11_tpm_has_alg "$alg"; then IMPORT_KEYS+=("$k")
	else t11_skip "import $1 ($2 from $3)" "$alg"; fi
done
NK=${#IMPORT_KEYS[@]}

# --- import ----------------------------------------------------------------
for k in "${IMPORT_KEYS[@]}"; do
	set -- $k
	if "$T" import --label "$L" --key-label "$1" --id "$4" --privkey "$K/$1" \
		--userpin "$UP" >"$T11_TMP/imp.out" 2>"$T11_TMP/imp.err" </dev/null &&
		grep -q "^key: $1 (id $4, " "$T11_TMP/imp.out" &&
		grep -q "existed outside" "$T11_TMP/imp.err"; then
		ok "import $1 ($2 from $3): imported, and told to destroy the file"
	else
		not_ok "import $1 ($2 from $3)"; sed 's/^/# /' "$T11_TMP/imp.out" "$T11_TMP/imp.err"
	fi
	t11_clean "import $1"
done
n=$(objects | grep -c "^- label:")
if [ "$n" = $((2 * NK)) ]; then ok "the token holds $((2 * NK)) objects ($NK key pairs)"
else not_ok "the token holds $((2 * NK)) objects ($NK key pairs), not $n"; objects | sed 's/^/# /'; fi

# --- the same public keys ----------------------------------------------------
timeout 60 ssh-keygen -D "$M" >"$T11_TMP/keygen.out" 2>"$T11_TMP/keygen.err" </dev/null ||
	sed 's/^/# /' "$T11_TMP/keygen.err"
t11_clean "ssh-keygen -D"
for k in "${IMPORT_KEYS[@]}"; do
	set -- $k
	want=$(cut -d' ' -f1,2 "$K/$1.sshpub")
	if grep -qxF "$want $1" "$T11_TMP/keygen.out"; then
		ok "ssh-keygen -D prints $1's public key, the same as ssh-keygen -y of its file"
	else
		not_ok "ssh-keygen -D prints $1's public key, the same as ssh-keygen -y of its file"
		diag "want: $want $1"; sed 's/^/# /' "$T11_TMP/keygen.out"
	fi
done

# --- signatures verify with the original public key --------------------------
head -c 1000 /dev/urandom >"$T11_TMP/data"
# sign_verify NAME MECH ID PUBPEM: pkcs11-tool signs $T11_TMP/data with the
# key ID (logged in), openssl verifies it with PUBPEM; then TPM clean.
sign_verify() {
	rm -f "$T11_TMP/sig"
	if pkcs11-tool --module "$M" --token-label "$L" --login --pin "$UP" --sign \
		-m "$2" --id "$3" --signature-format openssl -i "$T11_TMP/data" \
		-o "$T11_TMP/sig" >"$T11_TMP/sign.out" 2>&1 </dev/null &&
		openssl dgst -sha256 -verify "$4" -signature "$T11_TMP/sig" \
			"$T11_TMP/data" >>"$T11_TMP/sign.out" 2>&1; then
		ok "$1"
	else
		not_ok "$1"; sed 's/^/# /' "$T11_TMP/sign.out" | tail -n 10
	fi
	t11_clean "pkcs11-tool --sign ($1)"
}
for k in "${IMPORT_KEYS[@]}"; do
	set -- $k
	case $2 in rsa*) mech=SHA256-RSA-PKCS ;; *) mech=ECDSA-SHA256 ;; esac
	sign_verify "pkcs11-tool $mech with $1 verifies with the original public key" \
		"$mech" "$4" "$K/$1.pub.pem"
done

# --- attributes of a key known outside the token -----------------------------
pkcs11-tool --module "$M" --token-label "$L" --login --pin "$UP" --list-objects \
	--type privkey --id 01 >"$T11_TMP/attrs" 2>&1 </dev/null
if grep -q "Access:.*sensitive" "$T11_TMP/attrs" &&
	! grep -Eq "always sensitive|never extractable|local" "$T11_TMP/attrs"; then
	ok "imported private key: sensitive, not always sensitive, not never extractable, not local"
else
	not_ok "imported private key: sensitive, not always sensitive, not never extractable, not local"
	sed 's/^/# /' "$T11_TMP/attrs"
fi
t11_clean "pkcs11-tool --list-objects"

# --- ssh login with an imported key --------------------------------------------
sshd_start "$T11_TMP/sshd" || not_ok "sshd starts"
if [ -n "${T11_SSHD_DIR:-}" ]; then
	t11_askpass "$T11_TMP/askpass" "$UP"
	cp "$K/p256-ssh.sshpub" "$T11_SSHD_DIR/authorized_keys"
	out=$(SSH_ASKPASS=$T11_TMP/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
		t11_ssh -o PKCS11Provider="$M" -o IdentityFile=none -o IdentityAgent=none \
		-- echo LOGGED_IN 2>"$T11_TMP/ssh.err")
	if [ "$out" = LOGGED_IN ]; then
		ok "ssh -o PKCS11Provider logs in with the imported OpenSSH key p256-ssh"
	else
		not_ok "ssh -o PKCS11Provider logs in with the imported OpenSSH key p256-ssh ('$out')"
		sed 's/^/# /' "$T11_TMP/ssh.err" | tail -n 10
	fi
	t11_clean "ssh with an imported key"
fi

# --- bad input: one line, nothing written, TPM clean ---------------------------
before=$(objects)
printf %s "$UP" >"$T11_TMP/pin"; chmod 600 "$T11_TMP/pin"
printf %s not-the-pin >"$T11_TMP/badpin"; chmod 600 "$T11_TMP/badpin"
bad() { # NAME EXPECTED-RE ARGS...
	local name=$1 re=$2 rc
	shift 2
	"$T" import "$@" >"$T11_TMP/bad.out" 2>"$T11_TMP/bad.err" </dev/null; rc=$?
	if [ "$rc" != 0 ] && [ "$(wc -l <"$T11_TMP/bad.err")" = 1 ] &&
		grep -Eq "$re" "$T11_TMP/bad.err" && [ "$(objects)" = "$before" ]; then
		ok "$name: refused in one line, nothing written ($(cat "$T11_TMP/bad.err"))"
	else
		not_ok "$name: refused in one line matching /$re/, nothing written (rc $rc)"
		sed 's/^/# /' "$T11_TMP/bad.out" "$T11_TMP/bad.err"
	fi
	t11_clean "$name"
}
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/new.pem" 2>/dev/null
head -c 150 "$K/new.pem" >"$K/trunc.pem"
head -c 300 "$K/p256-ssh" >"$K/trunc.ssh"
# an OpenSSH key whose base64 is whole but whose body is cut short
python3 - "$K/p256-ssh" "$K/short.ssh" <<'PY'
import base64, sys
lines = open(sys.argv[1]).read().split('\n')
body = base64.b64decode(''.join(l for l in lines if l and not l.startswith('-----')))
b64 = base64.b64encode(body[:len(body) - 40]).decode()
out = '-----BEGIN OPENSSH PRIVATE KEY-----\n' + '\n'.join(b64[i:i+70] for i in range(0, len(b64), 70))
open(sys.argv[2], 'w').write(out + '\n-----END OPENSSH PRIVATE KEY-----\n')
PY
openssl genpkey -algorithm ED25519 -out "$K/ed.pem" 2>/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$K/ed.ssh" </dev/null
ssh-keygen -q -t ecdsa -b 256 -N 'a passphrase' -f "$K/enc.ssh" </dev/null
bad "a truncated PEM file" "damaged or cut short" --label "$L" --privkey "$K/trunc.pem" --userpin-file "$T11_TMP/pin"
bad "a truncated OpenSSH file" "damaged or cut short" --label "$L" --privkey "$K/trunc.ssh" --userpin-file "$T11_TMP/pin"
bad "an OpenSSH file with its body cut short" "damaged or cut short" --label "$L" --privkey "$K/short.ssh" --userpin-file "$T11_TMP/pin"
bad "a PEM public key given as the private key" "public key" --label "$L" --privkey "$K/p256-p8.pub.pem" --userpin-file "$T11_TMP/pin"
bad "an OpenSSH public key given as the private key" "public key" --label "$L" --privkey "$K/p256-ssh.sshpub" --userpin-file "$T11_TMP/pin"
bad "an Ed25519 PKCS#8 key" "ED25519 is not a TPM 2.0 algorithm" --label "$L" --privkey "$K/ed.pem" --userpin-file "$T11_TMP/pin"
bad "an Ed25519 OpenSSH key" "Ed25519 is not a TPM 2.0 algorithm" --label "$L" --privkey "$K/ed.ssh" --userpin-file "$T11_TMP/pin"
bad "a passphrase-protected OpenSSH key" "ssh-keygen -p -m PEM" --label "$L" --privkey "$K/enc.ssh" --userpin-file "$T11_TMP/pin"
bad "a wrong --label" "no token labelled" --label NOPE --privkey "$K/new.pem" --userpin-file "$T11_TMP/pin"
bad "a wrong user PIN" "PIN" --label "$L" --privkey "$K/new.pem" --userpin-file "$T11_TMP/badpin"
bad "the same key imported twice" "already holds this key" --label "$L" --privkey "$K/p256-p8" --userpin-file "$T11_TMP/pin"
bad "a key label that is taken" "already has a key" --label "$L" --key-label p256-p8 --privkey "$K/new.pem" --userpin-file "$T11_TMP/pin"
bad "a missing file" "cannot open" --label "$L" --privkey "$K/nonexistent" --userpin-file "$T11_TMP/pin"
# a curve this TPM lacks (the minimal chip profile: no P-384)
t11_tpm_has ecc384 ||
	bad "a P-384 key on a TPM without NIST P-384" "no NIST P-384" --label "$L" --privkey "$K/p384-p8" --userpin-file "$T11_TMP/pin"

# --- --no-login and --shred ----------------------------------------------------
cp "$K/new.pem" "$K/shred.pem"
if "$T" import --label "$L" --key-label svc --id 0a --privkey "$K/shred.pem" --no-login --shred \
	>"$T11_TMP/imp.out" 2>"$T11_TMP/imp.err" </dev/null && [ ! -e "$K/shred.pem" ]; then
	ok "import --no-login --shred: imported, the file overwritten and removed"
else
	not_ok "import --no-login --shred"; sed 's/^/# /' "$T11_TMP/imp.out" "$T11_TMP/imp.err"
fi
t11_clean "import --no-login --shred"
openssl pkey -in "$K/new.pem" -pubout -out "$K/new.pub.pem" 2>/dev/null
# (pkcs11-tool logs in for any --sign; tests/security/public.sh signs
# with a --no-login key without logging in)
sign_verify "the --no-login key signs; the signature verifies with the original public key" \
	ECDSA-SHA256 0a "$K/new.pub.pem"

# --- PKCS#12: the key and its certificate -------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$K/alice.key" \
	-subj /CN=alice -days 30 -out "$K/alice.crt" 2>/dev/null
printf 'p12 pass word\n' >"$K/p12pass"
openssl pkcs12 -export -inkey "$K/alice.key" -in "$K/alice.crt" -passout 'pass:p12 pass word' \
	-out "$K/alice.p12" 2>/dev/null
before=$(objects)
bad "a PKCS#12 file with a wrong password" "wrong PKCS#12 password" --label "$L" --pkcs12 "$K/alice.p12" \
	--userpin-file "$T11_TMP/pin"
if "$T" import --label "$L" --key-label alice --pkcs12 "$K/alice.p12" --passphrase-file "$K/p12pass" \
	--userpin-file "$T11_TMP/pin" >"$T11_TMP/imp.out" 2>"$T11_TMP/imp.err" </dev/null &&
	grep -q "^certificate: alice (subject CN=alice)" "$T11_TMP/imp.out"; then
	ok "import --pkcs12: the key and its certificate"
else
	not_ok "import --pkcs12: the key and its certificate"; sed 's/^/# /' "$T11_TMP/imp.out" "$T11_TMP/imp.err"
fi
t11_clean "import --pkcs12"
ids=$(objects | awk '/^- label: alice$/ { on = 1; next } /^- / { on = 0 } on && /^  id: / { print $2 }' | sort | uniq -c)
if [ "$(wc -l <<<"$ids")" = 1 ] && [ "$(awk '{ print $1 }' <<<"$ids")" = 3 ]; then
	ok "the certificate has the key's CKA_ID (private key, public key and certificate share one id)"
else not_ok "the certificate has the key's CKA_ID"; objects | sed 's/^/# /'; fi
openssl x509 -in "$K/alice.crt" -outform DER -out "$K/alice.der"
if pkcs11-tool --module "$M" --token-label "$L" --read-object --type cert --label alice \
	-o "$T11_TMP/cert.der" >/dev/null 2>&1 </dev/null && cmp -s "$K/alice.der" "$T11_TMP/cert.der"; then
	ok "pkcs11-tool reads the PKCS#12's certificate back from the token"
else not_ok "pkcs11-tool reads the PKCS#12's certificate back from the token"; fi
t11_clean "pkcs11-tool --read-object"
openssl pkey -in "$K/alice.key" -pubout -out "$K/alice.pub.pem" 2>/dev/null
aid=$(objects | awk '/^- label: alice$/ { on = 1; next } on && /^  id: / { print $2; exit }')
sign_verify "the PKCS#12 key signs; the signature verifies with the certificate's key" \
	ECDSA-SHA256 "$aid" "$K/alice.pub.pem"

# --- the bus -------------------------------------------------------------------
cp "$LOG" "$T11_TMP/bus.log"
$BUS "$T11_TMP/bus.log" hex >"$T11_TMP/bus.hex"
size=$(wc -c <"$T11_TMP/bus.hex")
if [ "$size" -gt 1000 ] && grep -q "53572020" "$T11_TMP/bus.hex"; then
	ok "the swtpm log holds the traffic ($((size / 2)) bytes)"
else not_ok "the swtpm log holds the traffic ($size hex digits)"; fi
# every 16-byte piece (at 8-byte steps) of every private value
d=$(openssl pkey -in "$K/alice.key" -noout -text 2>/dev/null |
	awk '/^priv:/ { on = 1; next } /^pub:/ { on = 0 } on' | tr -d ' :\n' | tr a-f A-F)
[ ${#d} = 66 ] && d=${d#00}
echo "$d" >"$K/alice.secret"
pieces=0; found=""
for k in "${IMPORT_KEYS[@]}" alice; do
	set -- $k
	while read -r v; do
		for ((i = 0; i + 32 <= ${#v}; i += 16)); do
			pieces=$((pieces + 1))
			grep -q "${v:i:32}" "$T11_TMP/bus.hex" && found="$found $1@$i"
		done
	done <"$K/$1.secret"
done
seen=0
for k in "${IMPORT_KEYS[@]}"; do
	set -- $k
	grep -q "$(cat "$K/$1.public")" "$T11_TMP/bus.hex" && seen=$((seen + 1))
done
if [ "$seen" = "$NK" ]; then ok "each imported key's public x or n is in the bus log (the search finds key material that crosses)"
else not_ok "each imported key's public x or n is in the bus log (found $seen of $NK)"; fi
if [ -z "$found" ] && [ "$pieces" -gt 100 ]; then
	ok "no piece of any private scalar or prime crossed the bus ($pieces 16-byte pieces checked)"
else not_ok "no piece of any private scalar or prime crossed the bus (found:$found)"; fi
$BUS "$T11_TMP/bus.log" encrypted 156 in >"$T11_TMP/enc.out"; rc=$?
if [ "$rc" = 0 ] && [ "$(wc -l <"$T11_TMP/enc.out")" -ge $((NK + 1)) ]; then
	ok "every TPM2_Import has its encryptionKey encrypted by a session ($(wc -l <"$T11_TMP/enc.out") commands)"
else not_ok "every TPM2_Import has its encryptionKey encrypted by a session (exit $rc)"; sed 's/^/# /' "$T11_TMP/enc.out"; fi

check "TPM clean at the end" tpm_is_clean
t11_done
