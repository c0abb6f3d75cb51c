# Timeouts that say where a hung test was (sourced by tests/run and
# tests/lib/common.sh). A test killed at its timeout used to leave only
# "timed out after 300s"; a hang seen once in CI (a forked child blocked on
# an OpenSSL lock, tests/reliability/fork.c) needs the stacks to be found.

# t11_dump_stacks PID: prints, as TAP comments starting "# hang:" (tests/run
# shows them whether or not a test failed before), the thread stacks of PID's
# descendants (not shells, sleep or timeout), at most 8 processes, with
# gdb when it is installed (scripts/install-deps installs it for tests).
t11_dump_stacks() {
	local root=$1 pids=() queue=("$1") p kids n=0 comm
	while [ ${#queue[@]} -gt 0 ]; do
		p=${queue[0]}; queue=("${queue[@]:1}")
		kids=$(ps -o pid= --ppid "$p" 2>/dev/null) || kids=""
		for k in $kids; do queue+=("$k"); pids+=("$k"); done
	done
	[ "$root" != "" ] && pids=("$root" "${pids[@]}")
	if ! command -v gdb >/dev/null 2>&1; then
		echo "# hang: (gdb is not installed: no stacks of the hung processes)"
		return 0
	fi
	for p in "${pids[@]}"; do
		comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		case $comm in bash | sh | sleep | timeout | tee | cat) continue ;; esac
		n=$((n + 1)); [ "$n" -gt 8 ] && break
		# the program, not its arguments (a test may pass a PIN there);
		# frame arguments left out for the same reason
		echo "# hang: stacks of pid $p ($(readlink "/proc/$p/exe" 2>/dev/null || echo "$comm")):"
		timeout -k 5 30 gdb -q -batch -nx -p "$p" -ex "set print frame-arguments none" \
			-ex "thread apply all bt 25" \
			</dev/null 2>/dev/null | grep -E '^(Thread|#)' | cut -c1-200 |
			sed 's/^/# hang:   /' | head -n 120
	done
}

# t11_timeout SECS CMD...: `timeout -k 10 SECS CMD` (the same exit
# status: 124 when it timed out), and a few seconds before the kill the
# stacks of what CMD still runs, on standard error (t11_dump_stacks).
t11_timeout() {
	local secs=$1 tp wp rc
	shift
	timeout -k 10 "$secs" "$@" &
	tp=$!
	(
		n=0 lim=$((secs > 10 ? secs - 5 : secs))
		while [ "$n" -lt "$lim" ]; do
			sleep 1
			kill -0 "$tp" 2>/dev/null || exit 0
			n=$((n + 1))
		done
		echo "# hang: $1 still runs after ${lim}s (timeout ${secs}s); where it is:" >&2
		t11_dump_stacks "$tp" >&2
	) &
	wp=$!
	wait "$tp"
	rc=$?
	kill "$wp" 2>/dev/null
	wait "$wp" 2>/dev/null
	return "$rc"
}
