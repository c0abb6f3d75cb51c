#!/usr/bin/env bash
# fuzz/make-corpus.sh — (re)make the seed corpus in fuzz/corpus/ from real
# data. Run it by hand when a format changes, and commit the result; CI
# only reads the corpus (fuzz/run.sh).
#
#   fuzz/make-corpus.sh
#
# Needs the tpm11 tool built ($TPM11_BUILD, default build/), swtpm,
# sqlite3, openssl and xxd. What it does:
# 1. a private swtpm and a store made with the real tool: a token, EC
#    P-256/P-384 and RSA-2048 keys (one of them --no-login);
# 2. from that store: each object's attrs blob    -> corpus/fuzz_attr,
#    each key's and token's TPM2B_PUBLIC          -> corpus/fuzz_tpmpub;
# 3. OpenSSL: DigestInfo blocks recovered from real RSA signatures of
#    each hash                                    -> corpus/fuzz_der,
#    self-signed certificates, DER and PEM        -> corpus/fuzz_x509;
# 4. fuzz/seedgen (built by fuzz/run.sh --build-only): the store's records as
#    templates -> corpus/fuzz_template, their EC values -> corpus/fuzz_der,
#    and application call sequences              -> corpus/fuzz_module.
# The corpus stays small (checked: under 200 KB).
set -euo pipefail

FUZZ_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tests/lib/common.sh
. "$FUZZ_SRC/tests/lib/common.sh"
set -e
CORPUS=$FUZZ_SRC/fuzz/corpus
: "${FUZZ_BUILD:=$FUZZ_SRC/build-fuzz}"
export FUZZ_BUILD

for c in swtpm sqlite3 openssl xxd; do
	command -v "$c" >/dev/null || { echo "make-corpus: $c is needed" >&2; exit 1; }
done
[ -x "$TPM11_TOOL" ] || { echo "make-corpus: build the tool first ($TPM11_TOOL)" >&2; exit 1; }
"$FUZZ_SRC/fuzz/run.sh" --build-only >/dev/null

W=$T11_TMP/work
mkdir -p "$W"
swtpm_start "$T11_TMP/tpm"
T=$TPM11_TOOL
SO=so-pin-1234
PIN=user-1234
"$T" init >/dev/null
"$T" addtoken --label fuzz --sopin "$SO" --userpin "$PIN" >/dev/null
"$T" addkey --label fuzz --algorithm ecc256 --key-label ssh --userpin "$PIN" >/dev/null
"$T" addkey --label fuzz --algorithm ecc384 --key-label p384 --id 0a0b --userpin "$PIN" >/dev/null
"$T" addkey --label fuzz --algorithm rsa2048 --key-label rsa --userpin "$PIN" >/dev/null
"$T" addkey --label fuzz --algorithm ecc256 --key-label service --no-login --userpin "$PIN" >/dev/null
DB=$TPM11_STORE/tpm11.sqlite3

rm -rf "$CORPUS.new"
mkdir -p "$CORPUS.new"/{fuzz_attr,fuzz_tpmpub,fuzz_der,fuzz_template,fuzz_module,fuzz_x509,fuzz_verifier}
# fuzz_verifier: the hand-written seeds stay (one per parser: the first
# byte picks it, fuzz/fuzz_verifier.c); the keys' TPMT_PUBLICs join below.
[ -d "$CORPUS/fuzz_verifier" ] && cp "$CORPUS/fuzz_verifier/"* "$CORPUS.new/fuzz_verifier/" 2>/dev/null

# --- 2. stored records ------------------------------------------------------
attrs=()
while IFS='|' read -r id a p; do
	printf '%s' "$a" | xxd -r -p >"$CORPUS.new/fuzz_attr/object-$id"
	attrs+=("$CORPUS.new/fuzz_attr/object-$id")
	if [ -n "$p" ]; then
		printf '%s' "$p" | xxd -r -p >"$CORPUS.new/fuzz_tpmpub/object-$id"
		# TPM2B_PUBLIC without its size: a TPMT_PUBLIC, parser 4
		{ printf '\004'; tail -c +3 "$CORPUS.new/fuzz_tpmpub/object-$id"; } \
			>"$CORPUS.new/fuzz_verifier/public-$id"
	fi
done < <(sqlite3 "$DB" "SELECT id, hex(attrs), hex(tpm_pub) FROM objects ORDER BY id;")
# An attrs record cut short, and one with a byte more: the refusals.
head -c 20 "${attrs[0]}" >"$CORPUS.new/fuzz_attr/truncated"
{ cat "${attrs[0]}"; printf '\0'; } >"$CORPUS.new/fuzz_attr/trailing-byte"

# --- 3. OpenSSL -------------------------------------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/rsa.pem" 2>/dev/null
printf 'tpm11 fuzz seed' >"$W/msg"
for h in sha1 sha224 sha256 sha384 sha512; do
	openssl dgst -"$h" -sign "$W/rsa.pem" -out "$W/sig" "$W/msg"
	openssl pkeyutl -verifyrecover -inkey "$W/rsa.pem" -in "$W/sig" \
		-pkeyopt rsa_padding_mode:pkcs1 -out "$CORPUS.new/fuzz_der/digestinfo-$h" 2>/dev/null
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$W/ec.key" -subj "/CN=tpm11 fuzz/O=tpm11" -days 30 \
	-addext "subjectAltName=DNS:example.test,email:a@example.test" \
	-outform DER -out "$CORPUS.new/fuzz_x509/ec256.der" 2>/dev/null
openssl req -x509 -key "$W/rsa.pem" -subj "/CN=tpm11 rsa" -days 30 \
	-addext "basicConstraints=critical,CA:true" \
	-out "$CORPUS.new/fuzz_x509/rsa-ca.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes \
	-keyout "$W/ec384.key" -subj "/CN=p384" -days 1 \
	-outform DER -out "$CORPUS.new/fuzz_x509/ec384.der" 2>/dev/null

# --- 4. seedgen ---------------------------------------------------------------
"$FUZZ_BUILD/fuzz/seedgen" "$CORPUS.new" "${attrs[@]}"

size=$(du -sb "$CORPUS.new" | cut -f1)
if [ "$size" -gt 204800 ]; then
	echo "make-corpus: the corpus would be $size bytes (limit 200 KB)" >&2
	rm -rf "$CORPUS.new"
	exit 1
fi
rm -rf "$CORPUS"
mv "$CORPUS.new" "$CORPUS"
for d in "$CORPUS"/*/; do
	printf '%-16s %3d files\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)"
done
echo "make-corpus: $size bytes in $CORPUS"
