#!/usr/bin/env bash
# What real TPMs do to a client (issue 14 item 3), injected by the
# chip-profile TCTI (tests/tcti/tcti-profile.c) in front of a direct swtpm:
#  - "not now" answers (TPM_RC_RETRY, YIELDED, TESTING at 5/5/2 %): the
#    threaded signing test (16 threads, every signature verified) and ssh
#    logins through PKCS11Provider and ssh-agent see no failure at all;
#  - lost connections and responses cut short (1 % and 0.5 % more): still
#    no failed signature or login: the module connects again and sends
#    an operation that changes nothing in the TPM once more;
#  - NV_RATE on the NV writes of addtoken and changepin: the tool waits,
#    says so, and succeeds;
#  - attestation (ak create under the EK, attest) with 80 % of commands
#    answered "not now": it succeeds and the result verifies;
#  - afterwards the store passes sqlite's integrity check, every key still
#    signs, and the TPM holds nothing (what a lost connection had loaded is
#    flushed by the next one).
# The faults the profile injected are counted from its log, so the test
# cannot pass because none happened.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../reliability/rel-lib.bash"
t11_require_build

if [ "${T11_SANITIZE:-}" = asan ]; then
	echo "1..0 # SKIP third-party clients (ssh, pkcs11-tool) cannot load the ASan build's profile TCTI; the plain and valgrind passes run this"
	exit 0
fi
LIB=$TPM11_BUILD/tests/tcti/libtss2-tcti-tpmprofile.so
[ -e "$LIB" ] || { not_ok "built: $LIB exists"; t11_done; exit 1; }
rel_require_prog THREADS threads
rel_require_prog P11CHECK p11check
T=$TPM11_TOOL
swtpm_start "$T11_TMP/tpm" || { not_ok "swtpm starts"; t11_done; exit 1; }
DIRECT=$TPM11_TCTI
# A profile that hides nothing: only faults (from TPM11_PROFILE_FAULTS).
printf 'seed 7\n' >"$T11_TMP/faults.profile"
FAULTY=$LIB:$T11_TMP/faults.profile:$DIRECT
export TPM11_PROFILE_LOG=$T11_TMP/profile.log
export T11_TOKEN=REL T11_PIN=rel-user-1234
if [ "${T11_SANITIZE:-}" = valgrind ]; then N=5; else N=${T11_FAULTS_N:-40}; fi
injected() { grep -c "$1" "$TPM11_PROFILE_LOG" 2>/dev/null || echo 0; }

check "tpm11 init" "$T" init
rel_make_token REL rel-so-1234 "$T11_PIN" "p256 ecc256" "p384 ecc384" "rsa2048 rsa2048"

# 1. "Not now" answers.
export TPM11_TCTI=$FAULTY TPM11_PROFILE_FAULTS=retry:0.05,yielded:0.05,testing:0.02
: >"$TPM11_PROFILE_LOG"
diag "16 signing threads x $N signatures, 12 % of commands answered RETRY/YIELDED/TESTING"
rel_run_tap "retry: " 600 "$THREADS" -t 16 -n "$N" --no-churn-token
n=$(( $(injected retry) + $(injected yielded) + $(injected testing) ))
[ "$n" -gt 10 ] && ok "retry: the profile answered $n commands RETRY/YIELDED/TESTING" ||
	not_ok "retry: the profile answered only $n commands RETRY/YIELDED/TESTING"

# 2. Lost connections and cut responses on top.
export TPM11_PROFILE_FAULTS=retry:0.05,yielded:0.05,testing:0.02,drop:0.01,cut:0.005
: >"$TPM11_PROFILE_LOG"
diag "the same with 1 % lost connections and 0.5 % responses cut short"
rel_run_tap "drop: " 600 "$THREADS" -t 16 -n "$N" --no-churn-token
n=$(( $(injected drop) + $(injected cut) ))
[ "$n" -gt 0 ] && ok "drop: the profile lost $n connections or cut responses" ||
	not_ok "drop: the profile lost no connection (nothing was tested)"
check "drop: p11check (a fresh process) logs in and every key signs" \
	"$P11CHECK" --token REL --pin "$T11_PIN" --rounds 20 --variants

# 3. ssh, directly and through the agent, with every fault.
check "ssh: a key for ssh" env TPM11_TCTI="$DIRECT" "$T" addkey --label REL \
	--algorithm ecc256 --key-label ssh --userpin "$T11_PIN"
if sshd_start "$T11_TMP/sshd"; then
	ssh-keygen -D "$TPM11_MODULE" >"$T11_SSHD_DIR/authorized_keys" 2>/dev/null
	t11_askpass "$T11_TMP/askpass" "$T11_PIN"
	export SSH_ASKPASS=$T11_TMP/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0
	good=0
	for i in 1 2 3 4 5; do
		t11_ssh -o PKCS11Provider="$TPM11_MODULE" -- echo "ok-$i" 2>/dev/null |
			grep -q "^ok-$i$" && good=$((good + 1))
	done
	[ "$good" = 5 ] && ok "ssh: 5 of 5 logins through PKCS11Provider" ||
		not_ok "ssh: $good of 5 logins through PKCS11Provider"
	if agent_start "$T11_TMP/agent" && ssh-add -s "$TPM11_MODULE" </dev/null >/dev/null 2>&1; then
		good=0
		for i in 1 2 3 4 5; do
			t11_ssh -- echo "ag-$i" 2>/dev/null | grep -q "^ag-$i$" && good=$((good + 1))
		done
		[ "$good" = 5 ] && ok "ssh: 5 of 5 logins through ssh-agent" ||
			not_ok "ssh: $good of 5 logins through ssh-agent"
		ssh-add -e "$TPM11_MODULE" >/dev/null 2>&1
		kill "$SSH_AGENT_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$SSH_AGENT_PID" 2>/dev/null || break; sleep 0.1; done
	else
		not_ok "ssh: ssh-agent takes the key (ssh-add -s)"
	fi
	unset SSH_ASKPASS SSH_ASKPASS_REQUIRE DISPLAY
else
	not_ok "ssh: a loopback sshd starts"
fi

# 4. NV_RATE on NV writes: the tool waits and says so.
export TPM11_PROFILE_FAULTS=nv_rate:0.6
: >"$TPM11_PROFILE_LOG"
check "nv_rate: addtoken succeeds" "$T" addtoken --label NVR --sopin nvr-so-1234 --userpin nvr-user-1234
grep -q "limits how often its NV memory is written" "$T11_TMP/last.out" &&
	ok "nv_rate: the tool says it waits for the TPM" || not_ok "nv_rate: the tool says it waits for the TPM"
check "nv_rate: changepin succeeds" "$T" changepin --label NVR --user user --old nvr-user-1234 --new nvr-user-5678
n=$(injected nv_rate)
[ "$n" -gt 0 ] && ok "nv_rate: the profile answered $n NV writes NV_RATE" ||
	not_ok "nv_rate: the profile answered no NV write NV_RATE"
check "nv_rate: the new PIN works" "$T" verify --label NVR --userpin nvr-user-5678

# 5. Attestation (src/tpm/attest.c: NV reads, the EK and its PolicySecret
# session, the AK, TPM2_Certify and TPM2_CertifyCreation) with "not now"
# answers to 80 % of commands: after ESAPI's own five resubmissions about
# one command in four still fails, so each is asked again (TPM_CALL). The
# result verifies against a test AK CA (made with openssl, as in
# tests/e2e/attest.sh).
NOT_NOW=retry:0.5,yielded:0.2,testing:0.1
export TPM11_PROFILE_FAULTS=none
: >"$TPM11_PROFILE_LOG"
check "attest: ak create --ek-parent (P-256 EK, its policy session) with 80 % not-now answers" \
	env TPM11_PROFILE_FAULTS=$NOT_NOW "$T" ak create --name fk --ek-parent --pub-out "$T11_TMP/fk.pem"
printf '%s\n' 'openssl_conf = openssl_init' '[openssl_init]' 'oid_section = tcg' '[tcg]' \
	'tcgTpmManufacturer = 2.23.133.2.1' 'tcgTpmModel = 2.23.133.2.2' 'tcgTpmVersion = 2.23.133.2.3' \
	>"$T11_TMP/oids.cnf"
printf '%s\n' '[ext]' 'basicConstraints = critical,CA:FALSE' 'keyUsage = critical,digitalSignature' \
	'extendedKeyUsage = 2.23.133.8.3' 'subjectAltName = critical,dirName:tpm_dn' '[tpm_dn]' \
	'tcgTpmManufacturer = id:49424D00' 'tcgTpmModel = swtpm' 'tcgTpmVersion = id:20191023' \
	>"$T11_TMP/akext.cnf"
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T11_TMP/ca.key" \
	-out "$T11_TMP/ca.pem" -subj "/CN=tpm11 faults AK CA" -days 2 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign >/dev/null 2>&1 &&
	OPENSSL_CONF=$T11_TMP/oids.cnf openssl x509 -new -force_pubkey "$T11_TMP/fk.pem" -subj / \
		-CA "$T11_TMP/ca.pem" -CAkey "$T11_TMP/ca.key" -days 2 -extfile "$T11_TMP/akext.cnf" \
		-extensions ext -out "$T11_TMP/fk-cert.pem" >/dev/null 2>&1; then
	ok "attest: a test AK CA certifies the AK"
else
	not_ok "attest: a test AK CA certifies the AK"
fi
check "attest: the AK certificate goes in (ak import-cert)" "$T" ak import-cert --name fk \
	--cert "$T11_TMP/fk-cert.pem"
N=$(openssl rand -hex 32)
check "attest: attest (the AK under the EK, Certify, CertifyCreation) with 80 % not-now answers" \
	env TPM11_PROFILE_FAULTS=$NOT_NOW "$T" attest --label REL --key-label p256 --ak fk \
	--nonce "$N" --userpin "$T11_PIN" --out "$T11_TMP/fk.json"
n=$(grep -cE ' (CreatePrimary|StartAuthSession|PolicySecret|Create|Load|Certify|CertifyCreation|NV_Read|NV_ReadPublic) (retry|yielded|testing)$' "$TPM11_PROFILE_LOG")
[ "$n" -gt 10 ] && ok "attest: the profile answered $n of attestation's commands not now" ||
	not_ok "attest: the profile answered only $n of attestation's commands not now"
check "attest: the attestation made with not-now answers verifies" \
	"$T" verify-attestation "$T11_TMP/fk.json" --nonce "$N" --ak-ca "$T11_TMP/ca.pem"

# 6. Nothing damaged, nothing left.
export TPM11_TCTI=$DIRECT
unset TPM11_PROFILE_FAULTS
[ "$(sqlite3 "$TPM11_STORE/tpm11.sqlite3" 'PRAGMA integrity_check;')" = ok ] &&
	ok "the store passes sqlite's integrity check" || not_ok "the store passes sqlite's integrity check"
check "every key still signs (p11check, no faults)" "$P11CHECK" --token REL --pin "$T11_PIN" --min-keys 4
check "TPM clean" tpm_is_clean
t11_done
