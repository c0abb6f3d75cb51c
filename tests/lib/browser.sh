# What the browser tests (tests/e2e/browser.sh, firefox.sh) share: a
# private network namespace, a test CA and certificates, an
# `openssl s_server` that asks for a client certificate, Xvfb, windows
# found by title, and stopping a browser's process tree by PID. Functions
# only; source it before tests/lib/common.sh (t11_netns_exec must run
# first), call the others after.

# t11_netns_exec VAR UNSHARE-FLAG... -- ARG...: unless VAR is set,
# re-executes the script with VAR=1 under `unshare FLAGS` (with a user
# namespace when not root), with ARGs. Only loopback exists in a new
# network namespace: a browser there reaches nothing else.
t11_netns_exec() {
	local var=$1 flags=() ns
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do flags+=("$1"); shift; done
	shift
	[ -n "${!var:-}" ] && return 0
	ns=(unshare "${flags[@]}")
	[ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user "${flags[@]}")
	exec env "$var=1" "${ns[@]}" -- bash "$0" "$@"
	echo "not ok 1 - unshare ${flags[*]} (needs root or user namespaces)"; echo "1..1"; exit 1
}

# t11_browser_needs CMD...: each CMD and python3-websocket (for
# /usr/bin/python3) are installed; a failed test for each one missing.
t11_browser_needs() {
	local cmd missing=0
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null || { not_ok "$cmd is installed (scripts/install-deps browser)"; missing=1; }
	done
	/usr/bin/python3 -c 'import websocket' 2>/dev/null || { not_ok "python3-websocket is installed"; missing=1; }
	[ "$missing" = 0 ]
}

# t11_loopback_only: loopback up; a test that it is the only interface.
# 1 if it cannot be brought up.
t11_loopback_only() {
	ip link set lo up || { not_ok "loopback up in the private network namespace"; return 1; }
	if ip -o link | grep -v ': lo:' | grep -q .; then
		not_ok "only loopback in the namespace"; ip -o link | sed 's/^/# /'
	else
		ok "private network namespace: only loopback"
	fi
}

# A random positive serial: NSS treats two certificates with the same
# issuer and serial as one.
t11_rand_serial() { echo "0x4$(openssl rand -hex 15)"; }

# t11_test_ca NAME CN: a P-256 CA, $T11_TMP/NAME.key and NAME.pem.
t11_test_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T11_TMP/$1.key" \
		-out "$T11_TMP/$1.pem" -subj "/CN=$2" -days 30 -set_serial "$(t11_rand_serial)" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" >/dev/null 2>&1
}

# t11_server_cert CA: $T11_TMP/server.key and server.pem for localhost and
# 127.0.0.1, signed by the CA of t11_test_ca CA.
t11_server_cert() {
	local d=$T11_TMP
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/server.key" \
		-subj "/CN=localhost" -out "$d/server.csr" >/dev/null 2>&1
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/$1.pem" -CAkey "$d/$1.key" -set_serial "$(t11_rand_serial)" \
		-days 30 -extfile "$d/server.ext" -out "$d/server.pem" >/dev/null 2>&1
}

# t11_token_cert TOKEN KEY CA [PIN]: a certificate CN=KEY, O=Example for
# the token key KEY (`tpm11 csr`, with --userpin PIN when given), signed by
# CA, stored next to the key (`tpm11 addcert`); $T11_TMP/KEY.pem. Output
# in $T11_TMP/KEY.err, shown on failure.
t11_token_cert() {
	local d=$T11_TMP pin=()
	[ -n "${4:-}" ] && pin=(--userpin "$4")
	"$TPM11_TOOL" csr --label "$1" --key-label "$2" --subject "/CN=$2/O=Example" "${pin[@]}" \
		>"$d/$2.csr" 2>"$d/$2.err" &&
		openssl x509 -req -in "$d/$2.csr" -CA "$d/$3.pem" -CAkey "$d/$3.key" \
			-set_serial "$(t11_rand_serial)" -days 30 -copy_extensions copy \
			-out "$d/$2.pem" >>"$d/$2.err" 2>&1 &&
		"$TPM11_TOOL" addcert --label "$1" --key-label "$2" "$d/$2.pem" >>"$d/$2.err" 2>&1 &&
		return 0
	sed 's/^/# /' "$d/$2.err"
	return 1
}

# t11_tls_server CA LOG: `openssl s_server -Verify 1 -www -tls1_3` on a
# free port of 127.0.0.1 with $T11_TMP/server.pem, trusting and naming (in
# its certificate request) $T11_TMP/CA.pem; its output, unbuffered (it can
# be read while the server runs), in LOG. Its page shows "Client
# certificate" and the subject when one was presented. Sets T11_TLS_PORT.
t11_tls_server() {
	T11_TLS_PORT=$(t11_free_port)
	stdbuf -o0 -e0 openssl s_server -accept "127.0.0.1:$T11_TLS_PORT" -cert "$T11_TMP/server.pem" \
		-key "$T11_TMP/server.key" -CAfile "$T11_TMP/$1.pem" -Verify 1 -www -tls1_3 </dev/null >"$2" 2>&1 &
	t11_own_pid $!
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$T11_TLS_PORT") 2>/dev/null && break; sleep 0.05; done
}

# t11_page_has_cert PAGE CN: the s_server page text in the file PAGE shows
# a client certificate CN=CN, O=Example.
t11_page_has_cert() {
	grep -q "Client certificate" "$1" && grep -qE "Subject: ?CN ?= ?$2, O ?= ?Example" "$1"
}

# t11_xvfb_start: Xvfb on a free display (exported as DISPLAY); a test that
# xdotool reaches it. 1 if it does not.
t11_xvfb_start() {
	exec 5>"$T11_TMP/displayfd"
	Xvfb -displayfd 5 -screen 0 1280x1024x24 -nolisten tcp >"$T11_TMP/xvfb.log" 2>&1 &
	t11_own_pid $!
	for _ in $(seq 100); do [ -s "$T11_TMP/displayfd" ] && break; sleep 0.05; done
	exec 5>&-
	DISPLAY=":$(head -1 "$T11_TMP/displayfd")"
	export DISPLAY
	if [ "$DISPLAY" != ":" ] && xdotool getmouselocation >/dev/null 2>&1; then
		ok "Xvfb on $DISPLAY"
	else
		not_ok "Xvfb starts"; sed 's/^/# /' "$T11_TMP/xvfb.log"; return 1
	fi
}

# t11_window_wait TITLE-RE SECONDS: a visible window whose title matches;
# its id in T11_WINDOW. 1 if none came in time.
t11_window_wait() {
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		T11_WINDOW=$(xdotool search --onlyvisible --name "$1" 2>/dev/null | head -1)
		[ -n "$T11_WINDOW" ] && return 0
		sleep 0.2
	done
	return 1
}

# t11_window_gone TITLE-RE WINDOW SECONDS: WINDOW (of that title) is no
# longer visible; 1 if it still is after SECONDS.
t11_window_gone() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		xdotool search --onlyvisible --name "$1" 2>/dev/null | grep -qx "$2" || return 0
		sleep 0.2
	done
	return 1
}

# t11_window_keys WINDOW XDOTOOL-ARGS...: focus WINDOW (no window manager
# runs: windowactivate may fail, windowfocus then does it), then
# `xdotool ARGS`.
t11_window_keys() {
	local w=$1
	shift
	xdotool windowactivate --sync "$w" 2>/dev/null || xdotool windowfocus --sync "$w" 2>/dev/null
	xdotool "$@"
}

# t11_windows FILE: the visible windows, "ID TITLE" a line, into FILE.
t11_windows() {
	xdotool search --onlyvisible --name '.' 2>/dev/null | while read -r w; do
		echo "$w $(xdotool getwindowname "$w" 2>/dev/null)"
	done >"$1"
}

# t11_stop_tree PID SECONDS: SIGTERM to PID (a process we started) and
# every process under it, up to SECONDS for PID to end, then SIGKILL to
# each of them still there; each by its PID.
t11_stop_tree() {
	local root=$1 all=() kids=() p queue=("$1")
	[ -n "$root" ] || return 0
	while [ ${#queue[@]} -gt 0 ]; do
		p=${queue[0]}; queue=("${queue[@]:1}"); all+=("$p")
		read -ra kids <<<"$(ps -o pid= --ppid "$p" 2>/dev/null | tr '\n' ' ')"
		queue+=("${kids[@]}")
	done
	for p in "${all[@]}"; do kill "$p" 2>/dev/null; done
	for _ in $(seq $(($2 * 10))); do kill -0 "$root" 2>/dev/null || break; sleep 0.1; done
	for p in "${all[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait "$root" 2>/dev/null
}
