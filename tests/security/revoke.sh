#!/usr/bin/env bash
# A PIN change revokes the old PIN for every copy of the store (issue 12;
# DESIGN.md property 8). An attacker who once knew a PIN and kept a copy
# of the store (a backup, `cp -a`) must get nothing once the PIN changed:
#
#  (a) user PIN U1 -> U2 (changepin): the copy with U1 fails `tpm11
#      verify` and pkcs11-tool --login --sign; the current store with U2
#      works;
#  (b) a key k2 made after the change, its objects rows merged into the
#      old copy with sqlite3: the old copy with U1 still cannot sign with
#      it (the copy does list it: the merge worked);
#  (c) the SO resets the user PIN to U3 (initpin): a copy taken before,
#      with U2, fails; the current store with U3 works;
#  (d) SO PIN SO1 -> SO2 (changepin --user so): a copy taken before, with
#      SO1, cannot reset the user PIN (initpin), and the PIN such a reset
#      would have set opens nothing; the current store with SO2 can.
# Before each change, the copy is shown to work with the PIN it has, and
# each refusal must be a PIN refusal (the tool's "wrong ... PIN",
# CKR_PIN_INCORRECT), so that the copy's failures are the change's doing.
# Each assertion is its own test. Run on a direct swtpm and behind tpm2-abrmd, each with its
# own store. common.sh's dictionary-attack parameters (1000 tries, 1 s
# recovery) keep the wrong PINs from locking the TPM.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/sec-lib.bash"
t11_require_build

T=$TPM11_TOOL
D=$T11_TMP/tpm
SO1=revoke-so-1111 SO2=revoke-so-2222
U1=revoke-user-1111 U2=revoke-user-2222 U3=revoke-user-3333
U4=revoke-user-4444 U5=revoke-user-5555
head -c 32 /dev/urandom >"$T11_TMP/h32"
# How a refused PIN shows: the tool's "wrong user PIN" / "wrong SO PIN",
# PKCS#11's CKR_PIN_INCORRECT.
WRONG='wrong (user |SO )?PIN|CKR_PIN_INCORRECT'

# with_store STORE CMD...: CMD with TPM11_STORE=STORE.
with_store() {
	local store=$1
	shift
	TPM11_STORE=$store "$@"
}

# sign STORE PIN ID: pkcs11-tool logs in to token REV of STORE with PIN
# and signs with key ID (ECDSA); a 64-byte signature is success.
sign() {
	rm -f "$T11_TMP/sig"
	with_store "$1" timeout "$SEC_SECS" pkcs11-tool --module "$TPM11_MODULE" --token-label REV \
		--login --pin "$2" --sign -m ECDSA --id "$3" \
		-i "$T11_TMP/h32" -o "$T11_TMP/sig" </dev/null &&
		[ "$(stat -c %s "$T11_TMP/sig")" = 64 ]
}

# run WHERE: the four revocations in a fresh store.
run() {
	local w="[$1]" cur=$T11_TMP/store-$1 old=$T11_TMP/copy0-$1
	local copy1=$T11_TMP/copy1-$1 copy2=$T11_TMP/copy2-$1
	export TPM11_STORE=$cur
	check "$w tpm11 init" "$T" init
	check "$w tpm11 addtoken REV (SO1, U1)" "$T" addtoken --label REV --sopin "$SO1" --userpin "$U1"
	check "$w tpm11 addkey k1 (id 01)" "$T" addkey --label REV --algorithm ecc256 \
		--key-label k1 --id 01 --userpin "$U1"
	cp -a "$cur" "$old"
	check "$w the old copy works with U1 before the change (verify)" with_store "$old" "$T" verify --label REV --userpin "$U1"
	check "$w the old copy works with U1 before the change (sign with k1)" sign "$old" "$U1" 01

	# (a) user PIN change
	check "$w (a) changepin user U1 -> U2" "$T" changepin --label REV --user user --old "$U1" --new "$U2"
	check_refused "$w (a) old copy + old PIN U1: tpm11 verify fails" "$WRONG" with_store "$old" "$T" verify --label REV --userpin "$U1"
	check_refused "$w (a) old copy + old PIN U1: pkcs11-tool --login --sign with k1 fails" "$WRONG" sign "$old" "$U1" 01
	check_refused "$w (a) current store + old PIN U1: tpm11 verify fails" "$WRONG" "$T" verify --label REV --userpin "$U1"
	check "$w (a) current store + U2: tpm11 verify works" "$T" verify --label REV --userpin "$U2"
	check "$w (a) current store + U2: pkcs11-tool --login --sign with k1 works" sign "$cur" "$U2" 01

	# (b) a key made after the change, merged into the old copy
	check "$w (b) tpm11 addkey k2-after-change (id 02) with U2" "$T" addkey --label REV \
		--algorithm ecc256 --key-label k2-after-change --id 02 --userpin "$U2"
	check "$w (b) the attacker merges k2's objects rows into the old copy (sqlite3)" \
		sqlite3 "$old/tpm11.sqlite3" "ATTACH '$cur/tpm11.sqlite3' AS cur;
		INSERT OR REPLACE INTO objects SELECT * FROM cur.objects
		WHERE instr(attrs, CAST('k2-after-change' AS BLOB)) > 0;"
	if with_store "$old" "$T" listobjects --label REV 2>&1 | grep -q 'k2-after-change'; then
		ok "$w (b) the old copy now lists k2-after-change (the merge worked)"
	else
		not_ok "$w (b) the old copy now lists k2-after-change (the merge worked)"
		with_store "$old" "$T" listobjects --label REV 2>&1 | sed 's/^/# /'
	fi
	check_refused "$w (b) old copy + old PIN U1: pkcs11-tool --login --sign with k2 fails" "$WRONG" sign "$old" "$U1" 02
	check "$w (b) current store + U2: pkcs11-tool --login --sign with k2 works" sign "$cur" "$U2" 02

	# (c) the SO resets the user PIN
	cp -a "$cur" "$copy1"
	check "$w (c) the copy works with U2 before the reset" with_store "$copy1" "$T" verify --label REV --userpin "$U2"
	check "$w (c) initpin by SO1: user PIN U3" "$T" initpin --label REV --sopin "$SO1" --userpin "$U3"
	check_refused "$w (c) copy before the reset + U2: tpm11 verify fails" "$WRONG" with_store "$copy1" "$T" verify --label REV --userpin "$U2"
	check_refused "$w (c) copy before the reset + U2: pkcs11-tool --login --sign with k1 fails" "$WRONG" sign "$copy1" "$U2" 01
	check_refused "$w (c) copy before the reset + U2: pkcs11-tool --login --sign with k2 fails" "$WRONG" sign "$copy1" "$U2" 02
	check "$w (c) current store + U3: tpm11 verify works" "$T" verify --label REV --userpin "$U3"
	check "$w (c) current store + U3: pkcs11-tool --login --sign with k1 works" sign "$cur" "$U3" 01

	# (d) SO PIN change
	cp -a "$cur" "$copy2"
	check "$w (d) the copy works with SO1 before the change" with_store "$copy2" "$T" verify --label REV --sopin "$SO1"
	check "$w (d) changepin --user so SO1 -> SO2" "$T" changepin --label REV --user so --old "$SO1" --new "$SO2"
	check_refused "$w (d) copy before the change + old SO PIN SO1: tpm11 verify --sopin fails" "$WRONG" \
		with_store "$copy2" "$T" verify --label REV --sopin "$SO1"
	check_refused "$w (d) copy before the change + old SO PIN SO1: initpin fails" "$WRONG" \
		with_store "$copy2" "$T" initpin --label REV --sopin "$SO1" --userpin "$U4"
	check_refused "$w (d) copy before the change + the PIN that initpin tried (U4): sign with k1 fails" "$WRONG" \
		sign "$copy2" "$U4" 01
	check_refused "$w (d) current store + old SO PIN SO1: initpin fails" "$WRONG" \
		"$T" initpin --label REV --sopin "$SO1" --userpin "$U4"
	check "$w (d) current store + SO2: initpin works (user PIN U5)" \
		"$T" initpin --label REV --sopin "$SO2" --userpin "$U5"
	check "$w (d) current store + U5: pkcs11-tool --login --sign with k1 works" sign "$cur" "$U5" 01
	check "$w TPM clean after the run" tpm_is_clean
}

swtpm_start "$D" || { not_ok "swtpm starts"; t11_done; exit 1; }
diag "run 1: direct swtpm, no resource manager ($TPM11_TCTI)"
run direct

sec_rm_run "run 2: behind tpm2-abrmd" || { t11_done; exit $?; }
diag "run 2: behind tpm2-abrmd"
abrmd_start "$D" || { not_ok "tpm2-abrmd starts"; t11_done; exit 1; }
ok "tpm2-abrmd on a private bus in front of the swtpm"
run abrmd

t11_done
