#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer) run
# (issue 4, item 10): builds the module, the tool and the test programs
# with -Db_sanitize=address,undefined into $TPM11_ASAN_BUILD (default
# <TPM11_BUILD>-asan) and runs
#   - tests/integration/module.sh (module_test, ASan-built, drives the
#     ASan module directly and through tpm2-abrmd),
#   - tests/e2e/tool.sh with the ASan tool (its one pkcs11-tool step gets
#     the plain module: an uninstrumented program cannot load an ASan
#     library).
# Every report goes to a log file (log_path); the run fails on any report,
# on any leak (detect_leaks=1; suppressions in lsan.supp are for
# third-party code only) and on any failing test.
# The reliability programs under the same build: sanitize-rel.sh.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/rel-lib.bash"

PLAIN_BUILD=$TPM11_BUILD
ASAN_BUILD=${TPM11_ASAN_BUILD:-$TPM11_BUILD-asan}
if rel_san_build "$ASAN_BUILD" -Db_sanitize=address,undefined -Dc_args=-fno-omit-frame-pointer; then
	ok "ASan+UBSan build in $ASAN_BUILD"
else
	not_ok "ASan+UBSan build in $ASAN_BUILD"; t11_done; exit 1
fi

SANLOG=$T11_TMP/sanlogs
mkdir -p "$SANLOG"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:log_path=$SANLOG/asan"
export LSAN_OPTIONS="suppressions=$T11_REL_DIR/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$SANLOG/ubsan"

if ldd "$ASAN_BUILD/src/libtpm11.so" | grep -q libasan; then ok "the module is ASan-instrumented"
else not_ok "the module is ASan-instrumented"; fi

TPM11_BUILD=$ASAN_BUILD TPM11_MODULE=$ASAN_BUILD/src/libtpm11.so TPM11_TOOL=$ASAN_BUILD/tools/tpm11/tpm11 \
	rel_run_script "asan: " "$T11_SRC/tests/integration/module.sh"
TPM11_BUILD=$ASAN_BUILD TPM11_MODULE=$PLAIN_BUILD/src/libtpm11.so TPM11_TOOL=$ASAN_BUILD/tools/tpm11/tpm11 \
	rel_run_script "asan: " "$T11_SRC/tests/e2e/tool.sh"

rel_san_logs "$SANLOG" "AddressSanitizer/LeakSanitizer/UBSan"
t11_done
