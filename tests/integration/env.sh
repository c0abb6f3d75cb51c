#!/usr/bin/env bash
# The module and a host's environment (issue 13 item 8): tpm2-tss reads its
# log level only from TSS2_LOG, and setting it from a library races the
# host's threads. The module sets it only in a one-thread process (where
# that is safe and keeps tpm2-tss quiet), never changes it in a process
# with other threads, and never overrides a value the host chose.
. "$(dirname "$0")/../lib/common.sh"
t11_require_build
ENVCHECK=$(t11_prog "$TPM11_BUILD/tests/integration/envcheck")
PIN=env-user-1234

swtpm_start "$T11_TMP/tpm"
check "init" "$TPM11_TOOL" init
check "addtoken" "$TPM11_TOOL" addtoken --label ENV --sopin env-so-1234 --userpin "$PIN"
run() { env -u TSS2_LOG "$@" >"$T11_TMP/env.out" 2>"$T11_TMP/env.err"; }

if run "$ENVCHECK" ENV "$PIN" --threads && grep -q "^TSS2_LOG unset$" "$T11_TMP/env.out" &&
	grep -q "^threads: 2" "$T11_TMP/env.out"; then
	ok "a host with two threads: the module leaves its environment unchanged (wrong and right PIN)"
else not_ok "a host with two threads: the module leaves its environment unchanged"; sed 's/^/# /' "$T11_TMP/env.out"; fi

if run "$ENVCHECK" ENV "$PIN" && grep -q "^TSS2_LOG=all+NONE$" "$T11_TMP/env.out"; then
	ok "a one-thread host: the module quiets tpm2-tss (TSS2_LOG=all+NONE)"
else not_ok "a one-thread host: the module quiets tpm2-tss"; sed 's/^/# /' "$T11_TMP/env.out"; fi
if [ ! -s "$T11_TMP/env.err" ]; then ok "a one-thread host: nothing on stderr after a wrong PIN"
else not_ok "a one-thread host: nothing on stderr after a wrong PIN"; sed 's/^/# /' "$T11_TMP/env.err"; fi

if TSS2_LOG=all+ERROR "$ENVCHECK" ENV "$PIN" >"$T11_TMP/env.out" 2>/dev/null &&
	grep -q "^TSS2_LOG=all+ERROR$" "$T11_TMP/env.out"; then
	ok "a TSS2_LOG the host set is kept"
else not_ok "a TSS2_LOG the host set is kept"; sed 's/^/# /' "$T11_TMP/env.out"; fi
check "TPM clean" tpm_is_clean
t11_done
