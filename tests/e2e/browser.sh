#!/usr/bin/env bash
# Real Chromium presents a client certificate whose key is in the TPM.
#
# Everything runs in a private network and mount namespace (the script
# re-executes itself under `unshare --net --mount`): only a loopback
# interface exists, so the browser reaches nothing else, and a private copy
# of /etc/chromium (bind-mounted) holds the AutoSelectCertificateForUrls
# policy; the real /etc is never written. Inside: a swtpm on a Unix socket
# (reached directly, or through tpm2-abrmd: tests/run runs the script once
# per TPM mode, T11_TPM_MODE), a test CA, `openssl s_server -Verify 1 -www
# -tls1_3` on 127.0.0.1, a fresh NSS database in a temporary $HOME with the
# module registered by modutil (-mechanisms FRIENDLY), and Chromium under
# Xvfb.
#
# Cases: EC P-256, EC P-384 (skipped in minimal mode: the TPM has no
# P-384) and RSA-2048 (TLS 1.3, so RSA-PSS) with the PIN
# typed by xdotool into Chromium's own "Unlock Security Device" dialog and
# the page read over the DevTools protocol; a --no-login key with Chromium
# fully headless (--dump-dom); refusals: a wrong PIN (the dialog comes
# back; then cancelled), no module registered (headless), a certificate on
# a token without a key of its CKA_ID (headless; that token is in a store
# of its own, so that no other certificate is offered). Each Chromium run
# is bounded by a timeout; the time of each case is printed. The TPM is
# clean after every client run (the tool, pkcs11-tool, the NSS tools, each
# Chromium).
# T11_BROWSER_CASES="p256 orphan" runs only some cases; T11_KEEP=1 keeps
# the temporary directory (pages, dialog timings, Chromium logs);
# T11_CHROME_START_SECS (45) is how long a start may take before it is
# tried once more (see chrome_start).
set -u
. "$(dirname "$0")/../lib/browser.sh"
t11_netns_exec T11_BROWSER_NS --net --mount --propagation private -- "$@"
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

SO_PIN=browser-so-97531
USER_PIN=browser-user-2468
LABEL=WEB
T=$TPM11_TOOL
D=$T11_TMP
PY=/usr/bin/python3
CHROME=/usr/lib/chromium/chromium
[ -x "$CHROME" ] || CHROME=$(command -v chromium || command -v chromium-browser || echo chromium)

t11_browser_needs "$CHROME" Xvfb xdotool certutil modutil openssl tpm2-abrmd pkcs11-tool ip stdbuf ||
	{ t11_done; exit 1; }

# --- the namespace ------------------------------------------------------------
t11_loopback_only || { t11_done; exit 1; }
mkdir -p "$D/etc-chromium"
[ -d /etc/chromium ] && cp -a /etc/chromium/. "$D/etc-chromium/" 2>/dev/null
mkdir -p "$D/etc-chromium/policies/managed"
if [ -d /etc/chromium ] && mount --bind "$D/etc-chromium" /etc/chromium; then
	ok "private /etc/chromium (bind mount in the mount namespace)"
else
	not_ok "private /etc/chromium (bind mount in the mount namespace)"; t11_done; exit 1
fi
browser_cleanup() {
	umount /etc/chromium 2>/dev/null
	t11_cleanup
}
trap browser_cleanup EXIT

# --- TPM, token, keys -----------------------------------------------------------
t11_tpm_start "$D/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
KEYS=("p256 ecc256" "p384 ecc384" "rsa2048 rsa2048")
t11_keys_offered KEYS "addkey, certificate, Chromium presents it after the PIN dialog"
KL=$(for k in "${KEYS[@]}"; do echo "${k%% *}"; done | tr '\n' ' ')
check_clean "tpm11 init" "$T" init
check_clean "tpm11 addtoken" "$T" addtoken --label "$LABEL" --sopin "$SO_PIN" --userpin "$USER_PIN"
for k in "${KEYS[@]}"; do
	set -- $k
	check_clean "addkey $1" "$T" addkey --label "$LABEL" --algorithm "$2" --key-label "$1" --userpin "$USER_PIN"
done
check_clean "addkey nologin (--no-login)" "$T" addkey --label "$LABEL" --algorithm ecc256 --key-label nologin \
	--no-login --userpin "$USER_PIN"

t11_test_ca ca "Test CA"
t11_server_cert ca

certs_ok=1
for k in $KL nologin; do
	pin=$USER_PIN; [ "$k" = nologin ] && pin=
	t11_token_cert "$LABEL" "$k" ca "$pin" || certs_ok=0
done
# A certificate from Test CA whose key is not on the token (written with
# C_CreateObject through pkcs11-tool, as any PKCS#11 program could).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/orphan.key" \
	-subj "/CN=orphan/O=Example" -addext "extendedKeyUsage=clientAuth" -out "$D/orphan.csr" >/dev/null 2>&1
openssl x509 -req -in "$D/orphan.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -set_serial "$(t11_rand_serial)" \
	-days 30 -copy_extensions copy -outform der -out "$D/orphan.der" >/dev/null 2>&1
timeout 60 pkcs11-tool --module "$TPM11_MODULE" --token-label "$LABEL" --login --pin "$USER_PIN" \
	--write-object "$D/orphan.der" --type cert --id 0badc0de --label orphan </dev/null >>"$D/orphan.err" 2>&1 ||
	{ certs_ok=0; sed 's/^/# /' "$D/orphan.err"; }
ORPHAN_STORE=$D/store-orphan
TPM11_STORE=$ORPHAN_STORE "$T" addtoken --label ORPHAN --sopin "$SO_PIN" --userpin "$USER_PIN" \
	>>"$D/orphan.err" 2>&1 &&
	TPM11_STORE=$ORPHAN_STORE "$T" addkey --label ORPHAN --algorithm ecc256 --key-label k \
		--userpin "$USER_PIN" >>"$D/orphan.err" 2>&1 &&
	TPM11_STORE=$ORPHAN_STORE timeout 60 pkcs11-tool --module "$TPM11_MODULE" --token-label ORPHAN \
		--login --pin "$USER_PIN" --write-object "$D/orphan.der" --type cert --id 0badc0de \
		--label orphan </dev/null >>"$D/orphan.err" 2>&1 ||
	{ certs_ok=0; sed 's/^/# /' "$D/orphan.err"; }
if [ "$certs_ok" = 1 ]; then ok "certificates for ${KL}nologin (tpm11 csr/addcert) and orphan"
else not_ok "certificates for ${KL}nologin (tpm11 csr/addcert) and orphan"; fi
t11_clean "tpm11 csr/addcert, pkcs11-tool --write-object"

# --- NSS: a fresh database with the module ----------------------------------
export HOME=$D/home
NSSDB=sql:$HOME/.pki/nssdb
mkdir -p "$HOME/.pki/nssdb"
certutil -N -d "$NSSDB" --empty-password >/dev/null 2>&1
certutil -A -d "$NSSDB" -n testca -t "CT,," -i "$D/ca.pem"
if timeout 60 modutil -dbdir "$NSSDB" -add tpm11 -libfile "$TPM11_MODULE" -mechanisms FRIENDLY \
	-force </dev/null >"$D/modutil.out" 2>&1; then
	ok "modutil -add tpm11 -mechanisms FRIENDLY"
else
	not_ok "modutil -add tpm11 -mechanisms FRIENDLY"; sed 's/^/# /' "$D/modutil.out"
fi
t11_clean "modutil -add"
timeout 60 certutil -L -d "$NSSDB" -h all </dev/null >"$D/certutil.L" 2>&1
if grep -qE "^$LABEL:p256 +u,u,u" "$D/certutil.L" && grep -qE "^$LABEL:rsa2048 +u,u,u" "$D/certutil.L"; then
	ok "certutil -L -h all: token certificates are user certificates (u,u,u)"
else
	not_ok "certutil -L -h all: token certificates are user certificates (u,u,u)"; sed 's/^/# /' "$D/certutil.L"
fi
if grep -qE "^$LABEL:orphan +u,u,u" "$D/certutil.L"; then
	not_ok "certutil: the certificate without a key is not a user certificate"
else
	ok "certutil: the certificate without a key is not a user certificate"
fi
t11_clean "certutil -L"
# The asan pass of tests/run: Chromium cannot run with an ASan runtime
# (preloaded, it hangs at start), so it loads the plain build's module
# (T11_CHROMIUM_MODULE); modutil and certutil above used the ASan one.
# In the valgrind pass Chromium runs natively too (it cannot run under
# valgrind); the plain module it loads is the same build.
CHROME_MODULE=${T11_CHROMIUM_MODULE:-$TPM11_MODULE}
# Nor are its time limits scaled like a sanitized program's (`timeout` is
# a scaling wrapper in those passes, tests/lib/sanitize.bash).
CHROME_TIMEOUT=timeout
if [ -n "${T11_SANITIZE:-}" ]; then
	diag "Chromium itself is not sanitized ($T11_SANITIZE pass); it loads $CHROME_MODULE"
	CHROME_TIMEOUT=$(t11_san_real_path timeout)
fi
if [ "$CHROME_MODULE" != "$TPM11_MODULE" ]; then
	if timeout 60 modutil -dbdir "$NSSDB" -delete tpm11 -force </dev/null >"$D/modutil2.out" 2>&1 &&
		timeout 60 modutil -dbdir "$NSSDB" -add tpm11 -libfile "$CHROME_MODULE" -mechanisms FRIENDLY \
			-force </dev/null >>"$D/modutil2.out" 2>&1; then
		ok "Chromium gets the plain module $CHROME_MODULE (it cannot load an ASan one)"
	else
		not_ok "Chromium gets the plain module $CHROME_MODULE"; sed 's/^/# /' "$D/modutil2.out"
	fi
	t11_clean "modutil -delete, -add"
fi
# The same, without the module: for the "no module registered" case.
HOME_NOMOD=$D/home-nomod
mkdir -p "$HOME_NOMOD/.pki/nssdb"
certutil -N -d "sql:$HOME_NOMOD/.pki/nssdb" --empty-password >/dev/null 2>&1
certutil -A -d "sql:$HOME_NOMOD/.pki/nssdb" -n testca -t "CT,," -i "$D/ca.pem"

# --- the server -----------------------------------------------------------------
t11_tls_server ca "$D/s_server.log"
PORT=$T11_TLS_PORT
URL=https://localhost:$PORT/

# --- X ----------------------------------------------------------------------------
t11_xvfb_start || { t11_done; exit 1; }

# --- Chromium ---------------------------------------------------------------------
# policy SUBJECT_CN: auto-select the certificate from Test CA with this CN.
policy() {
	printf '{"AutoSelectCertificateForUrls": ["{\\"pattern\\":\\"https://localhost:%s\\",\\"filter\\":{\\"ISSUER\\":{\\"CN\\":\\"Test CA\\"},\\"SUBJECT\\":{\\"CN\\":\\"%s\\"}}}"]}\n' \
		"$PORT" "$1" >/etc/chromium/policies/managed/tpm11-test.json
}

CHROME_FLAGS=(--no-sandbox --disable-gpu --disable-quic --no-first-run --no-default-browser-check
	--disable-background-networking --disable-component-update --disable-sync
	--disable-dev-shm-usage --password-store=basic --disable-features=MediaRouter,OptimizationHints
	"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost" --window-size=1024,768)

# Stops a Chromium and every process under it, each by its PID.
chrome_stop() { t11_stop_tree "$1" 5; }

# read_page PORT URL_PREFIX SECONDS OUT: the page's text over the DevTools
# protocol, once it shows the s_server page or an error page.
read_page() {
	"$PY" - "$@" <<'EOF'
import json, sys, time, urllib.request, websocket
port, prefix, limit, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
end = time.time() + limit
text = ""
while time.time() < end:
    try:
        pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5))
        page = next((p for p in pages if p.get("type") == "page"), None)
        if page:
            ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=5,
                                             suppress_origin=True)
            ws.send(json.dumps({"id": 1, "method": "Runtime.evaluate", "params": {
                "expression": "location.href + '\\n' + (document.body ? document.body.innerText : '')"}}))
            while True:
                m = json.loads(ws.recv())
                if m.get("id") == 1:
                    break
            ws.close()
            text = m.get("result", {}).get("result", {}).get("value", "") or ""
            if ("Client certificate" in text or "ERR_" in text or "Ciphers supported" in text):
                break
    except Exception as e:
        text = text or f"(devtools: {e})"
    time.sleep(0.3)
else:
    # Timed out: keep a screenshot for whoever debugs it (T11_KEEP=1).
    try:
        ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=5,
                                         suppress_origin=True)
        ws.send(json.dumps({"id": 2, "method": "Page.captureScreenshot"}))
        while True:
            m = json.loads(ws.recv())
            if m.get("id") == 2:
                break
        import base64
        open(out + ".png", "wb").write(base64.b64decode(m["result"]["data"]))
    except Exception:
        pass
open(out, "w").write(text)
EOF
}

DIALOG='^Unlock Security Device$'
# dialog_wait SECONDS: the window id of a visible "Unlock Security Device".
dialog_wait() { t11_window_wait "$DIALOG" "$1" && echo "$T11_WINDOW"; }
# dialog_gone WINDOW SECONDS
dialog_gone() { t11_window_gone "$DIALOG" "$1" "$2"; }

# T11_BROWSER_CASES="p256 orphan" runs only those cases (while debugging).
want() { [ -z "${T11_BROWSER_CASES:-}" ] || [[ " $T11_BROWSER_CASES " == *" $1 "* ]]; }

CASE_T0=0
case_start() { CASE_T0=$(date +%s%N); }
since() { echo "$(( ($(date +%s%N) - CASE_T0) / 1000000 )) ms"; }
case_time() { diag "$1: $(since)"; }

# chrome_launch NAME SECONDS: starts Chromium under Xvfb on $URL in the
# background, bounded by SECONDS, with a DevTools port; its output goes to
# $D/NAME.chrome.log (appended, so a second start keeps the first one's
# lines). Sets CHROME_PID and CHROME_DPORT.
chrome_launch() {
	CHROME_DPORT=$(t11_free_port)
	"$CHROME_TIMEOUT" -k 5 "$2" "$CHROME" "${CHROME_FLAGS[@]}" --user-data-dir="$D/profile-$1" \
		--remote-debugging-address=127.0.0.1 --remote-debugging-port="$CHROME_DPORT" \
		"$URL" </dev/null >>"$D/$1.chrome.log" 2>&1 &
	CHROME_PID=$!
}

# chrome_up NAME SECONDS: waits until the Chromium of chrome_launch has
# started, i.e. says "DevTools listening" (early, before it loads the
# page). Returns 0 when it has, 1 when it exited first (a failed start),
# 2 when it still runs but has not started after SECONDS (a slow start, or
# a hang: with gdb installed, the browser process's main stack goes to its
# log to tell which).
chrome_up() {
	local log=$D/$1.chrome.log end=$((SECONDS + $2)) from
	from=$(grep -c 'DevTools listening on' "$log" 2>/dev/null)
	while [ $SECONDS -lt $end ]; do
		[ "$(grep -c 'DevTools listening on' "$log" 2>/dev/null)" -gt "$from" ] && return 0
		kill -0 "$CHROME_PID" 2>/dev/null || return 1
		sleep 0.2
	done
	if command -v gdb >/dev/null; then
		echo "--- not started after $2 s; the browser process's stack:" >>"$log"
		timeout 30 gdb -p "$(ps -o pid= --ppid "$CHROME_PID" | head -1)" -batch \
			-ex 'thread 1' -ex bt </dev/null >>"$log" 2>&1
	fi
	return 2
}

# chrome_start NAME SECONDS: chrome_launch, and wait for the start. On a
# loaded machine Chromium can be slow to start (seen: DevTools refused
# connections for 80 s): a start that has not come up in 45 s
# ($T11_CHROME_START_SECS) is stopped and tried once more, with twice the
# time. One that exited is a failure, not retried. Sets CHROME_UP (0/1/2
# as chrome_up) and notes what happened in $D/NAME.dialogs.
chrome_start() {
	local name=$1 secs=$2 try wait
	for try in 1 2; do
		wait=$((${T11_CHROME_START_SECS:-45} * try))
		chrome_launch "$name" $((secs + wait))
		chrome_up "$name" "$wait"; CHROME_UP=$?
		[ "$CHROME_UP" = 2 ] || break
		echo "$(since): chromium not started after $wait s (a slow start, or a hang: see the stack in $name.chrome.log)" >>"$D/$name.dialogs"
		chrome_stop "$CHROME_PID"
	done
	case $CHROME_UP in
	0) [ "$try" = 1 ] || echo "$(since): chromium started on the second try" >>"$D/$name.dialogs" ;;
	1) wait "$CHROME_PID"; echo "$(since): chromium exited at start (status $?)" >>"$D/$name.dialogs" ;;
	2) echo "$(since): chromium did not start (two tries)" >>"$D/$name.dialogs" ;;
	esac
}

# chrome_files NAME: a fresh dialogs file and log for a Chromium run.
chrome_files() { : >"$D/$1.dialogs"; : >"$D/$1.chrome.log"; }

# chrome_gui NAME SUBJECT_CN ACTION...: Chromium under Xvfb on $URL with
# the certificate CN=SUBJECT_CN auto-selected; ACTIONs answer PIN dialogs
# in order: "pin:P" types P, "cancel" presses Escape, "none" expects no
# dialog. Leaves the page text in $D/NAME.page and dialog events in
# $D/NAME.dialogs.
chrome_gui() {
	local name=$1 cn=$2 pid a w
	shift 2
	chrome_files "$name"
	policy "$cn"
	chrome_start "$name" 120
	pid=$CHROME_PID
	[ "$CHROME_UP" = 0 ] || set --
	for a in "$@"; do
		case $a in
		pin:*)
			if w=$(dialog_wait 40); then
				echo "$(since): dialog $w: typed a PIN" >>"$D/$name.dialogs"
				t11_window_keys "$w" type --delay 20 "${a#pin:}"
				xdotool key Return
				dialog_gone "$w" 10 || echo "dialog $w: still open" >>"$D/$name.dialogs"
			else
				echo "no dialog" >>"$D/$name.dialogs"
			fi ;;
		cancel)
			if w=$(dialog_wait 20); then
				echo "$(since): dialog $w: cancelled" >>"$D/$name.dialogs"
				t11_window_keys "$w" key Escape
			else
				echo "no dialog" >>"$D/$name.dialogs"
			fi ;;
		esac
	done
	if [ "$CHROME_UP" = 0 ]; then
		read_page "$CHROME_DPORT" "$URL" 40 "$D/$name.page"
		echo "$(since): page read" >>"$D/$name.dialogs"
	else
		: >"$D/$name.page"
	fi
	t11_windows "$D/$name.windows"
	for a in "$@"; do
		if [ "$a" = none ] && xdotool search --onlyvisible --name "$DIALOG" >/dev/null 2>&1; then
			echo "unexpected dialog" >>"$D/$name.dialogs"
		fi
	done
	chrome_stop "$pid"
	echo "$(since): chromium stopped" >>"$D/$name.dialogs"
}

# chrome_headless NAME SUBJECT_CN [VAR=VALUE...]: --headless=new
# --dump-dom, with the variables in its environment. (It cannot wait for
# the DevTools port as chrome_start does: with one, --dump-dom does not
# exit.) A run that timed out (60 s) before the browser process had even
# taken its profile (SingletonLock) was a slow start on a loaded machine:
# it is tried once more with 90 s. One that started, or ended by itself,
# is not. Either shows in $D/NAME.dialogs.
chrome_headless() {
	local name=$1 cn=$2 secs rc pid started lock
	shift 2
	chrome_files "$name"
	policy "$cn"
	lock=$D/profile-$name/SingletonLock
	for secs in 60 90; do
		rm -f "$lock"
		env "$@" "$CHROME_TIMEOUT" -k 5 "$secs" "$CHROME" --headless=new "${CHROME_FLAGS[@]}" \
			--user-data-dir="$D/profile-$name" --dump-dom "$URL" </dev/null \
			>"$D/$name.page" 2>>"$D/$name.chrome.log" &
		pid=$!
		started=0
		while kill -0 "$pid" 2>/dev/null; do
			[ -L "$lock" ] && started=1
			sleep 0.2
		done
		wait "$pid"; rc=$?
		echo "exit $rc" >>"$D/$name.chrome.log"
		{ [ "$rc" = 124 ] || [ "$rc" = 137 ]; } || break
		if [ "$started" = 1 ]; then
			echo "$(since): chromium started but printed no page in $secs s" >>"$D/$name.dialogs"
			break
		fi
		echo "$(since): chromium had not started after $secs s" >>"$D/$name.dialogs"
	done
}

page_has_cert() { t11_page_has_cert "$@"; }
show_failure() {
	local name=$1
	diag "dialogs:"; sed 's/^/#   /' "$D/$name.dialogs" 2>/dev/null
	diag "windows:"; sed 's/^/#   /' "$D/$name.windows" 2>/dev/null
	diag "page:"; head -c 1500 "$D/$name.page" 2>/dev/null | sed 's/^/#   /'
	diag "s_server:"; tail -n 5 "$D/s_server.log" | sed 's/^/#   /'
	diag "chromium:"; grep -v "^\[.*:INFO:" "$D/$name.chrome.log" 2>/dev/null | tail -n 8 | sed 's/^/#   /'
	awk '/^--- not started after/ {n = 30} n-- > 0 && /^(---|#[0-9])/' "$D/$name.chrome.log" 2>/dev/null |
		head -n 40 | sed 's/^/#   /'
}

for k in $KL; do
	want "$k" || continue
	case_start
	chrome_gui "$k" "$k" "pin:$USER_PIN"
	case_time "chromium $k with PIN dialog"
	if grep -q "typed a PIN" "$D/$k.dialogs" && page_has_cert "$D/$k.page" "$k"; then
		ok "chromium $k: PIN typed into \"Unlock Security Device\", certificate presented"
	else
		not_ok "chromium $k: PIN typed into \"Unlock Security Device\", certificate presented"; show_failure "$k"
	fi
	t11_clean_abrupt "chromium $k" --public nologin
done
if want rsa2048; then
	if grep -q "Peer signature type: RSA-PSS" "$D/rsa2048.page"; then
		ok "chromium rsa2048: signed with RSA-PSS (TLS 1.3)"
	else
		not_ok "chromium rsa2048: signed with RSA-PSS (TLS 1.3)"; grep -i "signature" "$D/rsa2048.page" | sed 's/^/# /'
	fi
fi

if want nologin; then
	case_start
	chrome_headless nologin nologin
	case_time "chromium nologin, headless"
	if page_has_cert "$D/nologin.page" nologin; then
		ok "chromium --headless: --no-login key needs no PIN"
	else
		not_ok "chromium --headless: --no-login key needs no PIN"; show_failure nologin
	fi
	t11_clean_abrupt "chromium nologin" --public nologin
fi

# --- refusals ----------------------------------------------------------------------
no_cert_count() { grep -c "peer did not return a certificate" "$D/s_server.log"; }

if want wrongpin; then
	case_start
	chrome_gui wrongpin p256 "pin:wrong-pin-0000" cancel
	case_time "chromium wrong PIN"
	if grep -q "typed a PIN" "$D/wrongpin.dialogs" && grep -q "cancelled" "$D/wrongpin.dialogs" &&
		! grep -q "Client certificate" "$D/wrongpin.page"; then
		ok "chromium: a wrong PIN is refused (the dialog asks again), no certificate presented"
	else
		not_ok "chromium: a wrong PIN is refused (the dialog asks again), no certificate presented"; show_failure wrongpin
	fi
	t11_clean_abrupt "chromium with a wrong PIN" --public nologin
fi

if want nomodule; then
	case_start
	n0=$(no_cert_count)
	chrome_headless nomodule p256 HOME="$HOME_NOMOD"
	case_time "chromium without the module, headless"
	if ! grep -q "Client certificate" "$D/nomodule.page" && [ "$(no_cert_count)" -gt "$n0" ]; then
		ok "chromium without the module registered: no certificate (s_server: peer did not return a certificate)"
	else
		not_ok "chromium without the module registered: no certificate"; show_failure nomodule
	fi
	t11_clean_abrupt "chromium without the module" --public nologin
fi

# The orphan certificate matches the policy but no key has its CKA_ID. On a
# token of its own (another store), next to a key without certificate, so
# that no other certificate is offered either: Chromium would ask which one
# to use.
if want orphan; then
	case_start
	n0=$(no_cert_count)
	chrome_headless orphan orphan TPM11_STORE="$ORPHAN_STORE"
	case_time "chromium certificate without a key, headless"
	if ! grep -q "Client certificate" "$D/orphan.page" && [ "$(no_cert_count)" -gt "$n0" ]; then
		ok "chromium: a certificate without a matching key is not presented"
	else
		not_ok "chromium: a certificate without a matching key is not presented"; show_failure orphan
	fi
	t11_clean_abrupt "chromium orphan" --public nologin
fi

t11_clean_abrupt "the browser cases" --public nologin
t11_done
