#!/usr/bin/env bash
# t11-modes: direct -- Firefox loads the same module through the same NSS calls as Chromium in browser.sh, which runs in both modes; one mode keeps the CI budget
# Real Firefox ESR presents a client certificate whose key is in the TPM.
#
# The script re-executes itself under `unshare --net`: only a loopback
# interface exists, so Firefox reaches nothing else. Inside: a swtpm on a
# Unix socket, one token with P-256, P-384 and RSA-2048 keys and a
# --no-login key, four test CAs (A signs p256's certificate, B nologin's,
# C p384's, D rsa2048's), for each CA an
# `openssl s_server -Verify 1 -www -tls1_3` on 127.0.0.1 that names only
# that CA in its certificate request (so Firefox, which offers only
# certificates from a named CA, has exactly one to pick), Xvfb, and for
# each case Firefox (firefox-esr) on a fresh profile in the temporary
# directory:
#   - cert9.db with the test CAs, and the module registered with
#     `modutil -dbdir sql:PROFILE -add tpm11 -mechanisms FRIENDLY` (the
#     profile's pkcs11.txt). modutil rather than the enterprise policy
#     "SecurityDevices": a policy is read only from system places
#     (/etc/firefox-esr/policies, the install's distribution/ directory),
#     which a test must not write, while modutil is what docs/browser.md
#     tells users and touches only the profile;
#   - user.js: security.default_personal_cert = "Select Automatically" (no
#     certificate chooser), no first-run or welcome pages, no telemetry,
#     updates, studies, safe browsing, GMP downloads, captive-portal or
#     connectivity checks, push, DoH, OCSP or remote settings, and an
#     HTTP(S) proxy on 127.0.0.1 that only logs what it is asked for: a
#     request for any host but localhost goes there, and the test fails if
#     one did. Firefox runs with MOZ_DISABLE_NONLOCAL_CONNECTIONS=1, its own
#     guard (the one its test harness uses) against non-local connections;
#     it is also what lets remote settings take the dummy server from the
#     prefs (a release build ignores services.settings.server otherwise);
#   - --remote-debugging-port: the page is read over WebDriver BiDi
#     (python3-websocket), only after any PIN was typed, so that no
#     automation session is open while Firefox's dialog is up.
#
# Cases: the P-256 key with the PIN typed by xdotool into Firefox's own
# "Password Required" dialog (the page names CN=p256), then in the same
# Firefox server B: the --no-login key is presented with no second
# dialog; the same for the P-384 key (server C) and the RSA-2048 key
# (server D; s_server's page says the signature was RSA-PSS, the only RSA
# signature TLS 1.3 allows), each in a fresh Firefox; the --no-login key
# in a fresh Firefox --headless (no dialog can show): NSS signs with it
# and no login happens, but the page is a TODO (see the case below:
# Firefox stalls); a wrong PIN (the dialog asks
# again, then cancelled: an error page, no certificate). After each Firefox
# run the TPM is clean, or what Firefox left (it exits without
# C_Finalize) is of no use without the PIN (t11_clean_abrupt). Every wait
# is bounded and says what it waits for; on a failure the case's events,
# windows, page, s_server and Firefox log tails are printed (and a
# screenshot is kept when xwd or ImageMagick's import is installed).
# Runs in the plain pass only: Firefox cannot run under valgrind or with
# an ASan runtime, so it would test the plain module there too.
# T11_FIREFOX_CASES="p256 nologin" runs only some cases (p256, p384,
# rsa2048, nologin, wrongpin); T11_KEEP=1 keeps
# the temporary directory (pages, logs, profiles).
set -u
if [ -n "${T11_SANITIZE:-}" ]; then
	# Firefox cannot run under valgrind or with an ASan runtime preloaded;
	# it would load the plain module, which the plain pass tests already.
	echo "ok 1 - Firefox # SKIP Firefox runs natively with the plain module; this test runs in the plain pass"
	echo "1..1"; exit 0
fi
. "$(dirname "$0")/../lib/browser.sh"
t11_netns_exec T11_FIREFOX_NS --net -- "$@"
. "$(dirname "$0")/../lib/common.sh"
t11_require_build
T11_FF_T0=$(date +%s)

FIREFOX=$(command -v firefox-esr || command -v firefox || echo firefox-esr)
PY=/usr/bin/python3 T=$TPM11_TOOL D=$T11_TMP
# One token: a P-256 key that needs the PIN, and a --no-login key.
LABEL=WEB SO_PIN=firefox-so-97531 USER_PIN=firefox-user-2468

t11_browser_needs "$FIREFOX" Xvfb xdotool certutil modutil openssl ip stdbuf || { t11_done; exit 1; }
t11_loopback_only || { t11_done; exit 1; }

# --- TPM, token, keys, certificates ----------------------------------------------
t11_tpm_start "$D/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
check_clean "tpm11 init" "$T" init
check_clean "tpm11 addtoken" "$T" addtoken --label "$LABEL" --sopin "$SO_PIN" --userpin "$USER_PIN"
# KEYS: each key that needs the PIN, its algorithm and its test CA.
KEYS=(p256:ecc256:A p384:ecc384:C rsa2048:rsa2048:D)
for k in "${KEYS[@]}"; do
	IFS=: read -r name alg _ <<<"$k"
	check_clean "addkey $name" "$T" addkey --label "$LABEL" --algorithm "$alg" --key-label "$name" --userpin "$USER_PIN"
done
check_clean "addkey nologin (--no-login)" "$T" addkey --label "$LABEL" --algorithm ecc256 --key-label nologin \
	--no-login --userpin "$USER_PIN"

# A CA for each key, and a server for each CA that asks for certificates
# from it only (s_server sends -CAfile's names in its CertificateRequest):
# Firefox, which offers only certificates from a CA the server names, then
# has exactly one to pick: p256's from CA A, nologin's from B, p384's from
# C, rsa2048's from D.
CAS="A B C D"
for ca in $CAS; do t11_test_ca "ca$ca" "Test CA $ca"; done
t11_server_cert caA
certs_ok=1
for k in "${KEYS[@]}"; do
	IFS=: read -r name _ ca <<<"$k"
	t11_token_cert "$LABEL" "$name" "ca$ca" "$USER_PIN" || certs_ok=0
done
t11_token_cert "$LABEL" nologin caB || certs_ok=0
if [ "$certs_ok" = 1 ]; then
	ok "certificates for p256 (Test CA A), nologin (B), p384 (C), rsa2048 (D): tpm11 csr/addcert"
else
	not_ok "certificates for p256 (Test CA A), nologin (B), p384 (C), rsa2048 (D): tpm11 csr/addcert"
fi
t11_clean "tpm11 csr/addcert"

# --- the server, the logging proxy, X ---------------------------------------------
# server_start CA: the s_server of t11_tls_server that trusts and names CA
# (A, B, C or D) only; its log in $D/s_server-CA.log. Sets PORT_CA.
server_start() {
	t11_tls_server "ca$1" "$D/s_server-$1.log"
	printf -v "PORT_$1" %s "$T11_TLS_PORT"
}
for ca in $CAS; do server_start "$ca"; done
if timeout 10 openssl s_client -connect "127.0.0.1:$PORT_A" -CAfile "$D/caA.pem" </dev/null 2>&1 |
	grep -A2 "Acceptable client certificate CA names" | grep -q "CN = Test CA A"; then
	ok "s_server A names Test CA A as acceptable client CA"
else
	not_ok "s_server A names Test CA A as acceptable client CA"
fi

# The proxy Firefox is told to use for every host but localhost: it
# answers 403 and logs the request line ("CONNECT host:443 HTTP/1.1").
: >"$D/proxy.log"
"$PY" - "$D/proxy.port" "$D/proxy.log" <<'PYEOF' &
import socket, sys, threading
port_file, log = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
open(port_file + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(port_file + ".tmp", port_file)
lock = threading.Lock()
def serve(c):
    c.settimeout(5)
    data = b""
    try:
        while b"\n" not in data and len(data) < 4096:
            d = c.recv(4096)
            if not d:
                break
            data += d
        c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    c.close()
    with lock, open(log, "a") as f:
        f.write(data.split(b"\r\n")[0].decode("latin1") + "\n")
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PYEOF
t11_own_pid $!
for _ in $(seq 100); do [ -s "$D/proxy.port" ] && break; sleep 0.05; done
PROXY_PORT=$(cat "$D/proxy.port" 2>/dev/null)
[ -n "$PROXY_PORT" ] || { not_ok "the logging proxy starts"; t11_done; exit 1; }

t11_xvfb_start || { t11_done; exit 1; }

# --- the profile ------------------------------------------------------------------
export HOME=$D/home
mkdir -p "$HOME"
cat >"$D/user.js" <<EOP
// The certificate: no chooser.
user_pref("security.default_personal_cert", "Select Automatically");
// No first-run, welcome, what's-new or session-restore pages.
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.startup.page", 0);
user_pref("browser.startup.homepage", "about:blank");
user_pref("startup.homepage_welcome_url", "");
user_pref("startup.homepage_welcome_url.additional", "");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("trailhead.firstrun.didSeeAboutWelcome", true);
user_pref("browser.newtabpage.enabled", false);
user_pref("browser.sessionstore.resume_from_crash", false);
user_pref("toolkit.startup.max_resumed_crashes", -1);
user_pref("browser.tabs.warnOnClose", false);
user_pref("browser.warnOnQuit", false);
user_pref("dom.ipc.processPrelaunch.enabled", false);
// Nothing to Mozilla or anyone else: telemetry, studies, updates, remote
// settings, safe browsing, captive portal, connectivity, push, DoH, OCSP,
// speculative connections, region, add-on and search updates, accounts.
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("datareporting.usage.uploadEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("toolkit.telemetry.archive.enabled", false);
user_pref("toolkit.telemetry.server", "");
user_pref("toolkit.coverage.endpoint.base", "");
user_pref("browser.ping-centre.telemetry", false);
user_pref("browser.newtabpage.activity-stream.feeds.telemetry", false);
user_pref("browser.newtabpage.activity-stream.telemetry", false);
user_pref("browser.newtabpage.activity-stream.feeds.system.topstories", false);
user_pref("browser.newtabpage.activity-stream.feeds.section.topstories", false);
user_pref("browser.newtabpage.activity-stream.showSponsoredTopSites", false);
user_pref("browser.topsites.contile.enabled", false);
user_pref("app.update.auto", false);
user_pref("app.update.checkInstallTime", false);
user_pref("app.update.disabledForTesting", true);
user_pref("app.normandy.enabled", false);
user_pref("app.normandy.api_url", "");
user_pref("app.shield.optoutstudies.enabled", false);
user_pref("messaging-system.rsexperimentloader.enabled", false);
user_pref("services.settings.server", "data:,#remote-settings-dummy/v1");
user_pref("extensions.update.enabled", false);
user_pref("extensions.update.autoUpdateDefault", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("extensions.systemAddon.update.enabled", false);
user_pref("extensions.blocklist.enabled", false);
user_pref("browser.search.update", false);
user_pref("browser.region.update.enabled", false);
user_pref("browser.region.network.url", "");
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.downloads.remote.enabled", false);
user_pref("browser.safebrowsing.blockedURIs.enabled", false);
user_pref("browser.safebrowsing.provider.mozilla.updateURL", "");
user_pref("browser.safebrowsing.provider.google4.updateURL", "");
user_pref("browser.safebrowsing.provider.google.updateURL", "");
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.trr.mode", 5);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("browser.urlbar.speculativeConnect.enabled", false);
user_pref("browser.places.speculativeConnect.enabled", false);
user_pref("security.OCSP.enabled", 0);
user_pref("security.remote_settings.crlite_filters.enabled", false);
user_pref("security.remote_settings.intermediates.enabled", false);
user_pref("security.certerrors.mitm.priming.enabled", false);
user_pref("dom.push.connection.enabled", false);
user_pref("dom.push.serverURL", "");
user_pref("geo.provider.network.url", "");
user_pref("identity.fxaccounts.enabled", false);
user_pref("media.gmp-manager.url", "");
user_pref("media.gmp-gmpopenh264.enabled", false);
user_pref("media.gmp-widevinecdm.enabled", false);
user_pref("media.gmp-provider.enabled", false);
user_pref("media.gmp-manager.chromium-update-url", "");
// The background update timers (add-ons, search, remote settings) first
// fire after this long (ms), well after a run here has ended.
user_pref("app.update.timerFirstInterval", 3600000);
user_pref("browser.discovery.enabled", false);
user_pref("browser.translations.enable", false);
user_pref("browser.ml.enable", false);
user_pref("browser.urlbar.quicksuggest.enabled", false);
user_pref("browser.contentblocking.report.monitor.enabled", false);
// Our prefs, not the remote agent's own set, keep Firefox quiet: had we
// missed one, the proxy below would log it.
user_pref("remote.prefs.recommended", false);
// Every host but localhost goes to the logging proxy (localhost and
// 127.0.0.1 are never proxied: network.proxy.allow_hijacking_localhost).
user_pref("network.proxy.type", 1);
user_pref("network.proxy.http", "127.0.0.1");
user_pref("network.proxy.http_port", $PROXY_PORT);
user_pref("network.proxy.ssl", "127.0.0.1");
user_pref("network.proxy.ssl_port", $PROXY_PORT);
user_pref("network.proxy.no_proxies_on", "");
EOP

# make_profile DIR: a fresh Firefox profile: an NSS database with the
# test CAs and the module (modutil), and user.js.
make_profile() {
	local ca
	mkdir -p "$1" && certutil -N -d "sql:$1" --empty-password || return 1
	for ca in $CAS; do certutil -A -d "sql:$1" -n "testca$ca" -t "CT,," -i "$D/ca$ca.pem" || return 1; done
	timeout 60 modutil -dbdir "sql:$1" -add tpm11 -libfile "$TPM11_MODULE" -mechanisms FRIENDLY \
		-force </dev/null &&
		cp "$D/user.js" "$1/user.js"
}
PROFILE=$D/profile
if make_profile "$PROFILE" >"$D/profile.out" 2>&1 && grep -q "library=$TPM11_MODULE" "$PROFILE/pkcs11.txt"; then
	ok "a profile with the module: modutil -dbdir sql:PROFILE -add tpm11 -mechanisms FRIENDLY"
else
	not_ok "a profile with the module: modutil -dbdir sql:PROFILE -add tpm11"
	sed 's/^/# /' "$D/profile.out" "$PROFILE/pkcs11.txt"
fi
t11_clean "modutil -add"
timeout 60 certutil -L -d "sql:$PROFILE" -h all </dev/null >"$D/certutil.L" 2>&1
user_certs=0
for name in p256 p384 rsa2048 nologin; do
	grep -qE "^$LABEL:$name +u,u,u" "$D/certutil.L" && user_certs=$((user_certs + 1))
done
if [ "$user_certs" = 4 ]; then
	ok "certutil -L -h all on the profile: $LABEL:p256, p384, rsa2048 and nologin are user certificates (u,u,u)"
else
	not_ok "certutil -L -h all on the profile: $LABEL:p256, p384, rsa2048 and nologin are user certificates"
	sed 's/^/# /' "$D/certutil.L"
fi
t11_clean "certutil -L"

# --- Firefox ------------------------------------------------------------------------
# T11_FIREFOX_CASES="p256 wrongpin" runs only those cases (while debugging).
want() { [ -z "${T11_FIREFOX_CASES:-}" ] || [[ " $T11_FIREFOX_CASES " == *" $1 "* ]]; }

CASE_T0=0
case_start() { CASE_T0=$(date +%s%N); }
since() { echo "$(( ($(date +%s%N) - CASE_T0) / 1000000 )) ms"; }
case_time() { diag "$1: $(since)"; }
# event NAME TEXT: a line in $D/NAME.events (printed on failure).
event() { echo "$(since): $2" >>"$D/$1.events"; }
# waiting NAME WHAT SECONDS: says what the next bounded wait is for.
waiting() { diag "$1: waiting up to $3 s for $2"; event "$1" "waiting up to $3 s for $2"; }

# screenshot NAME: the X screen into $D/NAME.xwd (xwd) or $D/NAME.png
# (ImageMagick's import), when either is installed; else nothing.
screenshot() {
	if command -v xwd >/dev/null; then
		timeout 10 xwd -root -silent >"$D/$1.xwd" 2>/dev/null && event "$1" "screenshot $D/$1.xwd"
	elif command -v import >/dev/null && import -version 2>/dev/null | grep -q ImageMagick; then
		timeout 10 import -window root "$D/$1.png" 2>/dev/null && event "$1" "screenshot $D/$1.png"
	fi
}

# ff_launch NAME SECONDS CA [--headless] [VAR=VALUE...]: Firefox on a
# fresh profile, on the page of server CA, bounded by SECONDS, with the
# WebDriver BiDi server on a free port and the variables in its
# environment. Its output goes to $D/NAME.firefox.log. Sets FF_PID (the
# `timeout` process, Firefox's parent); 1 if the profile could not be made.
ff_launch() {
	local name=$1 secs=$2 port=PORT_$3 headless=()
	shift 3
	[ "${1:-}" = --headless ] && { headless=(--headless); shift; }
	rm -rf "$D/profile-$name"
	FF_BIDI=
	make_profile "$D/profile-$name" >>"$D/$name.firefox.log" 2>&1 ||
		{ event "$name" "the profile could not be made (see the log)"; FF_PID=; return 1; }
	env MOZ_DISABLE_NONLOCAL_CONNECTIONS=1 MOZ_CRASHREPORTER_DISABLE=1 "$@" \
		timeout -k 5 "$secs" "$FIREFOX" --no-remote --new-instance --profile "$D/profile-$name" \
		"${headless[@]}" --remote-debugging-port 0 "https://localhost:${!port}/" </dev/null \
		>>"$D/$name.firefox.log" 2>&1 &
	FF_PID=$!
}

# ff_up NAME SECONDS: waits until the Firefox of ff_launch says "WebDriver
# BiDi listening on ws://127.0.0.1:PORT" (early in its start, before the
# page loads) and sets FF_BIDI to PORT. 1 if it exited or did not start
# in time.
ff_up() {
	local log=$D/$1.firefox.log end=$((SECONDS + $2))
	[ -n "$FF_PID" ] || return 1
	waiting "$1" "Firefox to start (its \"WebDriver BiDi listening\" line)" "$2"
	while [ $SECONDS -lt $end ]; do
		FF_BIDI=$(sed -n 's|.*WebDriver BiDi listening on ws://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log" | head -1)
		[ -n "$FF_BIDI" ] && { event "$1" "Firefox started (BiDi port $FF_BIDI)"; return 0; }
		grep -q "cannot open display" "$log" && { event "$1" "Firefox could not open the display $DISPLAY"; return 1; }
		kill -0 "$FF_PID" 2>/dev/null || { wait "$FF_PID"; event "$1" "Firefox exited at start (status $?)"; return 1; }
		sleep 0.2
	done
	event "$1" "Firefox had not started after $2 s"
	screenshot "$1"
	return 1
}

# read_page NAME SECONDS [URL]: (after navigating the tab to URL) the
# tab's address and text over WebDriver BiDi into $D/NAME.page, once it
# shows a loaded page from localhost or an error page.
read_page() {
	waiting "$1" "the page${3:+ $3} (WebDriver BiDi on port $FF_BIDI)" "$2"
	"$PY" - "$FF_BIDI" "$2" "$D/$1.page" "${3:-}" <<'PYEOF'
import json, sys, time, websocket
port, limit, out, url = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
end = time.time() + limit
text, ws, n = "", None, 0
def call(method, params):
    global n
    n += 1
    ws.send(json.dumps({"id": n, "method": method, "params": params}))
    while True:
        m = json.loads(ws.recv())
        if m.get("id") == n:
            if m.get("type") == "error":
                raise RuntimeError(f"{method}: {m.get('error')}: {m.get('message')}")
            return m["result"]
done = False
while not done and time.time() < end:
    try:
        if ws is None:
            ws = websocket.create_connection(f"ws://127.0.0.1:{port}/session", timeout=5,
                                             suppress_origin=True)
            call("session.new", {"capabilities": {"alwaysMatch": {
                "unhandledPromptBehavior": {"default": "ignore"}}}})
        ctx = call("browsingContext.getTree", {})["contexts"][0]["context"]
        if url:
            call("browsingContext.navigate", {"context": ctx, "url": url, "wait": "none"})
            url = ""
            time.sleep(0.3)
        r = call("script.evaluate", {"target": {"context": ctx}, "awaitPromise": False,
            "expression": "document.readyState + '\\n' + document.documentURI + '\\n' + "
                          "(document.body ? document.body.innerText : '')"})
        v = r.get("result", {}).get("value", "") or ""
        state, uri = (v.split("\n") + ["", ""])[:2]
        text = v.split("\n", 1)[1] if "\n" in v else v
        done = (state == "complete" and uri.startswith("https://localhost")) or \
            uri.startswith(("about:neterror", "about:certerror"))
    except Exception as e:
        text = text or f"(bidi: {e})"
        try:
            ws and ws.close()
        except Exception:
            pass
        ws = None
    if not done:
        time.sleep(0.3)
if ws is not None:
    try:
        call("session.end", {})
    except Exception:
        pass
open(out, "w").write(text)
sys.exit(0 if done else 1)
PYEOF
	local rc=$?
	if [ "$rc" = 0 ]; then event "$1" "page read: $(head -1 "$D/$1.page")"
	else event "$1" "no page after $2 s: $(head -c 200 "$D/$1.page")"; screenshot "$1"; fi
	return "$rc"
}

DIALOG='^Password Required'
# dialog_wait NAME SECONDS: a visible "Password Required - Mozilla
# Firefox"; its window id in DIALOG_W.
dialog_wait() {
	waiting "$1" "Firefox's \"Password Required\" dialog" "$2"
	if t11_window_wait "$DIALOG" "$2"; then
		# Mapped is not ready for keys yet: on a loaded machine the
		# password field may take a moment.
		DIALOG_W=$T11_WINDOW
		sleep 1
		return 0
	fi
	event "$1" "no dialog after $2 s"
	screenshot "$1"
	return 1
}
# dialog_type NAME WHAT TEXT KEY: types TEXT (if any) into the dialog
# DIALOG_W, then the key KEY (noted in the events as "dialog W: WHAT");
# waits (10 s) for the dialog to close.
dialog_type() {
	local w=$DIALOG_W
	event "$1" "dialog $w: $2"
	[ -n "$3" ] && t11_window_keys "$w" type --delay 20 "$3"
	t11_window_keys "$w" key "$4"
	t11_window_gone "$DIALOG" "$w" 10 || event "$1" "dialog $w still open after 10 s"
}

# page_has_cert NAME CN: the page of the run NAME shows certificate CN.
page_has_cert() { t11_page_has_cert "$D/$1.page" "$2"; }
# no_cert_count CA: how often server CA saw a client without certificate.
no_cert_count() { grep -c "peer did not return a certificate" "$D/s_server-$1.log"; }

# show_failure NAME CA
show_failure() {
	local name=$1 f
	diag "events:"; sed 's/^/#   /' "$D/$name.events" 2>/dev/null
	diag "windows:"; sed 's/^/#   /' "$D/$name.windows" 2>/dev/null
	diag "page:"; head -c 1500 "$D/$name.page" 2>/dev/null | sed 's/^/#   /'
	diag "s_server $2:"; tail -n 5 "$D/s_server-$2.log" | sed 's/^/#   /'
	diag "Firefox's log (last lines, without NSS's PKCS#11 trace):"
	grep -vE '^-?[0-9]+\[[0-9a-f]+\]: |^\s*$' "$D/$name.firefox.log" 2>/dev/null | tail -n 15 | sed 's/^/#   /'
	for f in "$D/$name.xwd" "$D/$name.png"; do
		[ -s "$f" ] || continue
		T11_KEEP=1
		diag "screenshot: $f (the temporary directory is kept)"
	done
}

ff_files() { : >"$D/$1.events"; : >"$D/$1.firefox.log"; : >"$D/$1.page"; : >"$D/$1.windows"; }

# Limits: a run 90 s in all, its start 40 s, a dialog 30 s, the page 20 s.
FF_SECS=90 FF_START=40 FF_DIALOG=30 FF_PAGE=20

# pin_case NAME CA [--then-b]: Firefox on server CA, the PIN typed into
# its "Password Required" dialog; the page names CN=NAME. With --then-b,
# then in the same Firefox the page of server B: the --no-login key's
# certificate (same token, CA B) is presented with no second dialog.
pin_case() {
	local name=$1 ca=$2 then_b=${3:-} pid up
	case_start
	ff_files "$name"
	: >"$D/$name-b.page"
	ff_launch "$name" "$FF_SECS" "$ca"
	pid=$FF_PID
	# Seen once in a row of GUI runs under load: Firefox started right
	# after the previous one was stopped says "cannot open display" (and
	# does not exit), while Xvfb answers before and after. Once more then.
	ff_up "$name" "$FF_START"
	up=$?
	if [ "$up" != 0 ] && grep -q "could not open the display" "$D/$name.events"; then
		t11_stop_tree "$pid" 10
		diag "firefox $name: Firefox could not open the display; launched once more"
		xdotool getmouselocation >/dev/null 2>&1 || event "$name" "xdotool cannot reach $DISPLAY either"
		mv "$D/$name.firefox.log" "$D/$name.firefox-1.log"
		ff_launch "$name" "$FF_SECS" "$ca"
		pid=$FF_PID
		ff_up "$name" "$FF_START"
		up=$?
	fi
	if [ "$up" = 0 ] && dialog_wait "$name" "$FF_DIALOG"; then
		dialog_type "$name" "typed the PIN" "$USER_PIN" Return
		read_page "$name" "$FF_PAGE" && page_has_cert "$name" "$name" && [ -n "$then_b" ] &&
			{ read_page "$name-b" "$FF_PAGE" "https://localhost:$PORT_B/"; cat "$D/$name-b.events" >>"$D/$name.events"; }
	elif [ -n "${FF_BIDI:-}" ] && grep -q "Firefox started" "$D/$name.events"; then
		read_page "$name" 5 # what Firefox shows instead, for show_failure
	fi
	t11_windows "$D/$name.windows"
	grep -q "$DIALOG" "$D/$name.windows" && event "$name" "a \"Password Required\" dialog is open at the end"
	t11_stop_tree "$pid" 10
	case_time "firefox $name with the PIN dialog${then_b:+, then server B}"
	if grep -q "typed the PIN" "$D/$name.events" && page_has_cert "$name" "$name"; then
		ok "firefox $name: PIN typed into \"Password Required\", certificate presented (the page names CN=$name)"
	else
		not_ok "firefox $name: PIN typed into \"Password Required\", certificate presented"; show_failure "$name" "$ca"
	fi
	if [ -n "$then_b" ]; then
		if page_has_cert "$name-b" nologin && ! grep -q "dialog is open at the end" "$D/$name.events"; then
			ok "firefox, token logged in: the --no-login key is presented to server B, no second dialog"
		else
			not_ok "firefox, token logged in: the --no-login key is presented to server B, no second dialog"
			cp "$D/$name-b.page" "$D/$name.page"; show_failure "$name" B
		fi
	fi
	t11_clean_abrupt "firefox $name" --public nologin
}

want p256 && pin_case p256 A --then-b
want p384 && pin_case p384 C
if want rsa2048; then
	pin_case rsa2048 D
	# TLS 1.3 signs with RSA-PSS only (RFC 8446 4.2.3): s_server's page
	# names the signature the client's CertificateVerify used.
	if grep -q "Peer signature type: RSA-PSS" "$D/rsa2048.page"; then
		ok "firefox rsa2048: signed with RSA-PSS (TLS 1.3)"
	else
		not_ok "firefox rsa2048: signed with RSA-PSS (TLS 1.3)"; grep -i "signature" "$D/rsa2048.page" | sed 's/^/# /'
	fi
fi

# A fresh Firefox, headless (no dialog can show), on server B: the
# --no-login key, with the token not logged in. Firefox ESR 153 (its
# bundled NSS 3.125) gets the signature from the module (NSS's own PKCS#11
# log, NSS_DEBUG_PKCS11_MODULE: C_SignFinal CKR_OK, no C_Login) and then
# never sends its handshake flight: s_server waits for it, the tab stays
# on about:blank, no further PKCS#11 call is made. Under Xvfb it is the
# same (no dialog either); once the token is logged in (the p256 case)
# the same key is presented at once, and Chromium presents it headless
# (browser.sh). The same stall after a signature without login is
# reported with other PKCS#11 modules (OpenSC issue 2987, Mozilla bug
# 1872998). So the page check is a TODO while the signature is checked;
# should Firefox be fixed, the TODO shows as "ok" and can go.
if want nologin; then
	case_start
	ff_files nologin
	b0=$(wc -l <"$D/s_server-B.log")
	ff_launch nologin "$FF_SECS" B --headless NSS_DEBUG_PKCS11_MODULE=tpm11 NSPR_LOG_MODULES=nss_mod_log:4
	pid=$FF_PID
	if ff_up nologin "$FF_START"; then
		# The signature comes soon after the start; a fixed Firefox would
		# then show the page within a second or two.
		waiting nologin "the signature (C_SignFinal in NSS's PKCS#11 log)" 20
		for _ in $(seq 100); do
			grep -q ": C_SignFinal$" "$D/nologin.firefox.log" && break
			kill -0 "$FF_PID" 2>/dev/null || break
			sleep 0.2
		done
		read_page nologin 5
	fi
	t11_stop_tree "$pid" 10
	case_time "firefox --headless nologin"
	# NSS's log: "C_SignFinal" then "  rv = CKR_OK" (each line after a
	# thread prefix "NNN[ADDR]: ").
	sed -E 's/^-?[0-9]+\[[0-9a-f]+\]: //' "$D/nologin.firefox.log" |
		awk '/^C_[A-Za-z]+$/ {c = $1} /^  rv = / {print c, $3}' >"$D/nologin.calls"
	if grep -qx "C_SignFinal CKR_OK" "$D/nologin.calls" && ! grep -q "^C_Login " "$D/nologin.calls"; then
		ok "firefox --headless nologin: NSS signed with the --no-login key, no login (C_SignFinal CKR_OK, no C_Login)"
	else
		not_ok "firefox --headless nologin: NSS signed with the --no-login key, no login"
		diag "PKCS#11 calls (last):"; tail -n 12 "$D/nologin.calls" | sed 's/^/#   /'
		show_failure nologin B
	fi
	if page_has_cert nologin nologin; then
		ok "firefox --headless: the --no-login key is presented with no PIN asked (the page names CN=nologin) # TODO Firefox ESR 153 stalls after the signature while the token is not logged in (see firefox.sh)"
	elif grep -qx "C_SignFinal CKR_OK" "$D/nologin.calls" && grep -q "no page after" "$D/nologin.events" &&
		! tail -n +"$((b0 + 1))" "$D/s_server-B.log" | grep -q "CN = nologin"; then
		# The known stall: signed, but the certificate never reached
		# s_server; the tab stays on about:blank (or BiDi, waiting for
		# the load, does not answer).
		echo "not ok $((T11_TAP_N += 1)) - firefox --headless: the --no-login key is presented with no PIN asked # TODO Firefox ESR 153 stalls after the signature while the token is not logged in (see firefox.sh)"
	else
		not_ok "firefox --headless: the --no-login key is presented with no PIN asked"; show_failure nologin B
	fi
	t11_clean_abrupt "firefox nologin" --public nologin
fi

# A wrong PIN: the dialog asks again; cancelled; no certificate.
if want wrongpin; then
	case_start
	ff_files wrongpin
	n0=$(no_cert_count A)
	ff_launch wrongpin "$FF_SECS" A
	pid=$FF_PID
	if ff_up wrongpin "$FF_START" && dialog_wait wrongpin "$FF_DIALOG"; then
		dialog_type wrongpin "typed a wrong PIN" wrong-pin-0000 Return
		dialog_wait wrongpin 15 && dialog_type wrongpin "asked again; cancelled" "" Escape
		read_page wrongpin "$FF_PAGE"
	fi
	t11_windows "$D/wrongpin.windows"
	t11_stop_tree "$pid" 10
	case_time "firefox wrong PIN"
	if grep -q "typed a wrong PIN" "$D/wrongpin.events" && grep -q "asked again; cancelled" "$D/wrongpin.events" &&
		grep -q "page read" "$D/wrongpin.events" && ! grep -q "Client certificate" "$D/wrongpin.page" &&
		[ "$(no_cert_count A)" -gt "$n0" ]; then
		ok "firefox: a wrong PIN is refused (the dialog asks again; cancelled: $(head -1 "$D/wrongpin.page" | cut -c1-40)..., s_server: peer did not return a certificate)"
	else
		not_ok "firefox: a wrong PIN is refused (the dialog asks again), no certificate presented"; show_failure wrongpin A
	fi
	t11_clean_abrupt "firefox with a wrong PIN" --public nologin
fi

if [ -s "$D/proxy.log" ]; then
	not_ok "Firefox asked for no host but localhost (the logging proxy saw $(wc -l <"$D/proxy.log") requests)"
	sort "$D/proxy.log" | uniq -c | sed 's/^/# /'
else
	ok "Firefox asked for no host but localhost (the logging proxy saw no request)"
fi
diag "firefox.sh: $(($(date +%s) - T11_FF_T0)) s"
[ -n "${T11_KEEP:-}" ] && diag "kept: $D"
t11_done
