#!/usr/bin/env bash
# tpm11 import (issue 17): existing P-256, P-384 and RSA-2048 keys from
# PEM PKCS#8, traditional PEM ("EC/RSA PRIVATE KEY") and OpenSSH files,
# plain and passphrase-protected (ssh-keygen -N: its default aes256-ctr
# and bcrypt rounds for a P-256 and an RSA key; -Z aes256-gcm@openssh.com
# and -Z chacha20-poly1305@openssh.com, 4 rounds, the last one's
# passphrase typed at the prompt on a pty, not echoed; the others from
# --passphrase-file) go into the TPM with TPM2_Import. For each: `ssh-keygen -D` prints the
# same public key as `ssh-keygen -y` of the original file, a signature
# made through pkcs11-tool verifies with the original public key
# (openssl), the private object says it was not made in the token
# (CKA_LOCAL, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE false); an ssh
# login through PKCS11Provider with one imported key, and through
# ssh-agent (`ssh-add -s`) with the passphrase-protected RSA key. swtpm logs every byte
# of the run: no 16-byte piece of any private scalar or prime appears in
# it, and TPM2_Import has a session that encrypts its first parameter
# (the inner wrapper's key). Bad input (a truncated PEM or OpenSSH file,
# a public key, Ed25519 in both formats, a passphrase-protected OpenSSH
# key with a wrong passphrase, with none and no terminal, with a
# passphrase file others may read, an encrypted Ed25519 key, a wrong
# --label, the same key twice): one line on stderr, the
# token's objects unchanged, the TPM clean. --shred removes the file after
# the import. A PKCS#12 file: the key and its CA-signed certificate (with
# the key's CKA_ID), a wrong password refused; then a TLS 1.3 handshake
# with client authentication (openssl s_server -Verify on 127.0.0.1,
# gnutls-cli with the token's key and certificate). Runs once per TPM mode (tests/run, T11_TPM_MODE).
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
# the passphrase of the protected OpenSSH keys, and a wrong one
PASS="an import pass phrase"
printf '%s\n' "$PASS" >"$K/pass"; printf 'not the pass phrase\n' >"$K/badpass"
printf '%s\n' "$UP" >"$K/pin"
chmod 600 "$K/pass" "$K/badpass" "$K/pin"

T11_SWTPM_LOGLEVEL=20 t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
LOG=$T11_TMP/tpm/swtpm.log
check_clean "tpm11 init" "$T" init
check_clean "tpm11 addtoken" "$T" addtoken --label "$L" --sopin "$SO" --userpin "$UP"

# --- the keys, in their files ----------------------------------------------
# NAME TYPE FORMAT ID: TYPE p256|p384|rsa2048, FORMAT pkcs8|trad|openssh
# or a passphrase-protected OpenSSH file: sshpw (ssh-keygen's defaults:
# aes256-ctr, 16 bcrypt rounds), sshgcm, sshchacha (-Z, 4 rounds: the CI
# budget; sshchacha's passphrase is typed at the prompt).
KEYS=(
	"p256-p8 p256 pkcs8 01" "p256-trad p256 trad 02" "p256-ssh p256 openssh 03"
	"p384-p8 p384 pkcs8 04" "p384-trad p384 trad 05" "p384-ssh p384 openssh 06"
	"rsa-p8 rsa2048 pkcs8 07" "rsa-trad rsa2048 trad 08" "rsa-ssh rsa2048 openssh 09"
	"p256-sshpw p256 sshpw 11" "rsa-sshpw rsa2048 sshpw 12"
	"p256-sshgcm p256 sshgcm 13" "p256-sshchacha p256 sshchacha 14"
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
	sshpw) ssh-keygen -q "${st[@]}" -N "$PASS" -C "$1" -f "$f" </dev/null && rm -f "$f.pub" ;;
	sshgcm|sshchacha)
		ssh-keygen -q "${st[@]}" -N "$PASS" -a 4 -C "$1" -f "$f" </dev/null \
			-Z "$([ "$3" = sshgcm ] && echo aes256-gcm || echo chacha20-poly1305)@openssh.com" &&
			rm -f "$f.pub" ;;
	esac
	chmod 600 "$f"
	# the original public key: OpenSSH line and PEM
	ssh-keygen -y -P "$PASS" -f "$f" >"$f.sshpub" </dev/null
	# a decrypted copy of a protected key, for the bus check's secrets
	case $3 in ssh?*) cp "$f" "$f.plain" && ssh-keygen -q -p -P "$PASS" -N '' -f "$f.plain" >/dev/null </dev/null ;; esac
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
import os, sys
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ec
for spec in sys.argv[2:]:
    name = spec.split()[0]
    path = sys.argv[1] + '/' + name
    data = open(path + '.plain' if os.path.exists(path + '.plain') else path, 'rb').read()
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
# the protected files are what they should be (ssh-keygen -y without the
# passphrase fails on them)
for f in p256-sshpw rsa-sshpw p256-sshgcm p256-sshchacha; do
	ssh-keygen -y -P '' -f "$K/$f" >/dev/null 2>&1 </dev/null && made=0
done
if [ "$made" = 1 ]; then ok "${#KEYS[@]} keys in PKCS#8, traditional PEM, OpenSSH and passphrase-protected OpenSSH files"
else not_ok "${#KEYS[@]} keys in PKCS#8, traditional PEM, OpenSSH and passphrase-protected OpenSSH files"; fi

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

# on_pty PASS CMD...: runs CMD on a new pseudo-terminal (its controlling
# terminal: /dev/tty), types PASS when it asks "Passphrase for"; what the
# terminal showed goes to stdout. Fails unless CMD asked, exited 0, and
# PASS never showed (echo off).
on_pty() {
	python3 - "$@" <<'PY'
import os, pty, select, sys, time
pw = sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out, sent, end = b'', False, time.time() + 300
while time.time() < end:
    if not select.select([fd], [], [], 1)[0]:
        continue
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
    if not sent and b'Passphrase for' in out:
        os.write(fd, pw + b'\n')
        sent = True
st = os.waitpid(pid, 0)[1]
sys.stdout.buffer.write(out)
sys.exit(0 if sent and os.waitstatus_to_exitcode(st) == 0 and pw not in out else 1)
PY
}

# --- import ----------------------------------------------------------------
for k in "${IMPORT_KEYS[@]}"; do
	set -- $k
	pp=(); [[ $3 == sshpw || $3 == sshgcm ]] && pp=(--passphrase-file "$K/pass")
	if [ "$3" = sshchacha ]; then
		if on_pty "$PASS" "$T" import --label "$L" --key-label "$1" --id "$4" --privkey "$K/$1" \
			--userpin-file "$K/pin" >"$T11_TMP/imp.out" 2>&1 </dev/null &&
			grep -q "^key: $1 (id $4, " "$T11_TMP/imp.out"; then
			ok "import $1 ($2 from $3): the passphrase asked on the terminal, not echoed; imported"
		else
			not_ok "import $1 ($2 from $3): the passphrase asked on the terminal, not echoed"
			sed 's/^/# /' "$T11_TMP/imp.out"
		fi
	elif "$T" import --label "$L" --key-label "$1" --id "$4" --privkey "$K/$1" "${pp[@]}" \
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

	# through ssh-agent: `ssh-add -s` loads the token's keys, ssh offers
	# the passphrase-protected RSA key that went in (IdentityFile names
	# its public half, IdentitiesOnly: only that one of the agent's keys)
	if agent_start "$T11_TMP/agent"; then
		cp "$K/rsa-sshpw.sshpub" "$T11_SSHD_DIR/authorized_keys"
		fp=$(ssh-keygen -lf "$K/rsa-sshpw.sshpub" | awk '{ print $2 }')
		SSH_ASKPASS=$T11_TMP/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
			timeout 60 ssh-add -s "$M" </dev/null >"$T11_TMP/add.out" 2>&1
		out=$(t11_ssh -o BatchMode=yes -o IdentityAgent="$SSH_AUTH_SOCK" -o IdentitiesOnly=yes \
			-o IdentityFile="$K/rsa-sshpw.sshpub" -- echo LOGGED_IN 2>"$T11_TMP/ssh.err")
		if [ "$out" = LOGGED_IN ] && grep 'Accepted publickey' "$T11_SSHD_DIR/sshd.log" | grep -qF "$fp"; then
			ok "ssh through ssh-agent (ssh-add -s) logs in with the imported passphrase-protected key rsa-sshpw"
		else
			not_ok "ssh through ssh-agent (ssh-add -s) logs in with the imported passphrase-protected key rsa-sshpw ('$out')"
			sed 's/^/# /' "$T11_TMP/add.out" "$T11_TMP/ssh.err" | tail -n 10
		fi
		timeout 30 ssh-add -e "$M" </dev/null >/dev/null 2>&1
		kill "$SSH_AGENT_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$SSH_AGENT_PID" 2>/dev/null || break; sleep 0.1; done
		t11_clean "ssh-agent stopped"
	else
		not_ok "ssh-agent starts"
	fi
fi

# --- bad input: one line, nothing written, TPM clean ---------------------------
before=$(objects)
printf %s "$UP" >"$T11_TMP/pin"; chmod 600 "$T11_TMP/pin"
printf %s not-the-pin >"$T11_TMP/badpin"; chmod 600 "$T11_TMP/badpin"
# (setsid: no controlling terminal, so nothing can be asked on /dev/tty
# even when the tests run from one)
bad() { # NAME EXPECTED-RE ARGS...
	local name=$1 re=$2 rc
	shift 2
	setsid -w "$T" import "$@" >"$T11_TMP/bad.out" 2>"$T11_TMP/bad.err" </dev/null; rc=$?
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
ssh-keygen -q -t ed25519 -N "$PASS" -a 4 -f "$K/ed-enc.ssh" </dev/null
cp "$K/pass" "$K/pass-644"; chmod 644 "$K/pass-644"
bad "a truncated PEM file" "damaged or cut short" --label "$L" --privkey "$K/trunc.pem" --userpin-file "$T11_TMP/pin"
bad "a truncated OpenSSH file" "damaged or cut short" --label "$L" --privkey "$K/trunc.ssh" --userpin-file "$T11_TMP/pin"
bad "an OpenSSH file with its body cut short" "damaged or cut short" --label "$L" --privkey "$K/short.ssh" --userpin-file "$T11_TMP/pin"
bad "a PEM public key given as the private key" "public key" --label "$L" --privkey "$K/p256-p8.pub.pem" --userpin-file "$T11_TMP/pin"
bad "an OpenSSH public key given as the private key" "public key" --label "$L" --privkey "$K/p256-ssh.sshpub" --userpin-file "$T11_TMP/pin"
bad "an Ed25519 PKCS#8 key" "ED25519 is not a TPM 2.0 algorithm" --label "$L" --privkey "$K/ed.pem" --userpin-file "$T11_TMP/pin"
bad "an Ed25519 OpenSSH key" "Ed25519 is not a TPM 2.0 algorithm" --label "$L" --privkey "$K/ed.ssh" --userpin-file "$T11_TMP/pin"
bad "a passphrase-protected OpenSSH key with a wrong passphrase" "^tpm11: wrong passphrase for $K/p256-sshpw\$" \
	--label "$L" --key-label wrongpass --privkey "$K/p256-sshpw" --passphrase-file "$K/badpass" --userpin-file "$T11_TMP/pin"
bad "the same with a wrong passphrase, aes256-gcm (the tag tells)" "^tpm11: wrong passphrase for $K/p256-sshgcm\$" \
	--label "$L" --key-label wrongpass --privkey "$K/p256-sshgcm" --passphrase-file "$K/badpass" --userpin-file "$T11_TMP/pin"
bad "a passphrase-protected OpenSSH key, no passphrase file and no terminal" "no terminal.*--passphrase-file FILE" \
	--label "$L" --key-label nopass --privkey "$K/rsa-sshpw" --userpin-file "$T11_TMP/pin"
bad "a passphrase file that others may read" "passphrase-file .* is readable by other users" \
	--label "$L" --key-label nopass --privkey "$K/rsa-sshpw" --passphrase-file "$K/pass-644" --userpin-file "$T11_TMP/pin"
bad "a passphrase-protected Ed25519 OpenSSH key (refused before any passphrase is asked)" "Ed25519 is not a TPM 2.0 algorithm" \
	--label "$L" --privkey "$K/ed-enc.ssh" --userpin-file "$T11_TMP/pin"
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
# A CA of this test signs alice's client certificate and the server's.
ec_req() { # KEY-OUT CN CSR-OUT
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1" \
		-subj "/CN=$2" -out "$3" 2>/dev/null
}
ca_sign() { # CSR EXT-LINES CERT-OUT
	printf '%b' "$2" >"$3.ext"
	openssl x509 -req -in "$1" -CA "$K/ca.crt" -CAkey "$K/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
		-days 30 -extfile "$3.ext" -out "$3" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$K/ca.key" \
	-subj "/CN=import test CA" -days 30 -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign" -out "$K/ca.crt" 2>/dev/null
ec_req "$K/alice.key" alice "$K/alice.csr"
ca_sign "$K/alice.csr" 'extendedKeyUsage=clientAuth\n' "$K/alice.crt"
ec_req "$K/server.key" localhost "$K/server.csr"
ca_sign "$K/server.csr" 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' "$K/server.crt"
if openssl verify -CAfile "$K/ca.crt" "$K/alice.crt" "$K/server.crt" >/dev/null 2>&1; then
	ok "a test CA, alice's client certificate and the server's"
else not_ok "a test CA, alice's client certificate and the server's"; fi
printf 'p12 pass word\n' >"$K/p12pass"; chmod 600 "$K/p12pass"
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

# TLS 1.3 with client authentication: s_server wants a certificate from
# the test CA (-Verify), gnutls-cli presents alice's from the token and
# signs the handshake with the imported key (the PIN from GNUTLS_PIN).
PORT=$(t11_free_port)
openssl s_server -accept "127.0.0.1:$PORT" -cert "$K/server.crt" -key "$K/server.key" \
	-CAfile "$K/ca.crt" -Verify 1 -verify_return_error -www -tls1_3 </dev/null >"$T11_TMP/s_server.log" 2>&1 &
SPID=$!
t11_own_pid "$SPID"
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
printf 'GET / HTTP/1.0\r\n\r\n' | GNUTLS_PIN=$UP timeout 60 gnutls-cli --provider="$M" \
	--x509cafile="$K/ca.crt" --x509certfile="pkcs11:token=$L;object=alice;type=cert" \
	--x509keyfile="pkcs11:token=$L;object=alice;type=private" -p "$PORT" localhost \
	>"$T11_TMP/tls.out" 2>&1
if grep -q "^Client certificate" "$T11_TMP/tls.out" && grep -qE "Subject: ?CN ?= ?alice" "$T11_TMP/tls.out" &&
	grep -qE "Issuer: ?CN ?= ?import test CA" "$T11_TMP/tls.out"; then
	ok "TLS 1.3 client authentication with the key and certificate imported from the PKCS#12 (gnutls-cli to openssl s_server -Verify)"
else
	not_ok "TLS 1.3 client authentication with the key and certificate imported from the PKCS#12"
	tail -n 25 "$T11_TMP/tls.out" | sed 's/^/# /'; tail -n 5 "$T11_TMP/s_server.log" | sed 's/^/# s_server: /'
fi
kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null
t11_clean "gnutls-cli with the imported key"

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
