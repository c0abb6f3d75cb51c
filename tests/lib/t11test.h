/* The test harness of tpm11's C test programs (conformance, module_test,
 * the reliability and security programs): TAP output, loading the module
 * under test, and cases registered by name in a table and picked on the
 * command line. All of it is thread-safe but t11_cases_*.
 *
 * TAP: one line per check, "ok N - NAME" or "not ok N - NAME", comments
 * "# ...", a plan "1..N" at the end. Environment:
 *   TAP_START   number of the first check; when set, no plan is printed, so
 *               that a wrapper script can merge the lines into its own
 *               stream (and print the one plan itself)
 *   TAP_PREFIX  text put in front of every check's name (e.g. "abrmd: ")
 * The module: $TPM11_MODULE, or $T11_REL_MODULE where a script gives the
 * test programs a module of their own (an instrumented one, say) while
 * other programs it runs get $TPM11_MODULE. */
#ifndef TPM11_TESTS_T11TEST_H
#define TPM11_TESTS_T11TEST_H

#include <stdbool.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

/* --- TAP ------------------------------------------------------------------- */

/* Reads TAP_START and TAP_PREFIX; makes stdout line-buffered. Call first. */
void t11_init(void);
/* One check; returns pass (a macro, so that the compiler sees it does). */
#define t11_ok(pass, ...)                                                  \
	({                                                                 \
		bool t11_pass_ = (pass);                                   \
		t11_ok_(t11_pass_, __VA_ARGS__);                           \
		t11_pass_;                                                 \
	})
void t11_ok_(bool pass, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A check that cannot be made here: "ok N - NAME # SKIP why". */
void t11_skip(const char *why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A comment line "# ...". */
void t11_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "Bail out! ...": the program cannot go on. */
void t11_bail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ok if got == want; else a comment says what came back. */
bool t11_expect_rv(CK_RV got, CK_RV want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* ok if got is one of the n codes in set (the spec allows each). */
bool t11_expect_rv_in(CK_RV got, const CK_RV *set, size_t n,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define T11_EXPECT_IN(got, name, ...)                                     \
	t11_expect_rv_in((got), (const CK_RV[]){ __VA_ARGS__ },             \
			 sizeof((const CK_RV[]){ __VA_ARGS__ }) / sizeof(CK_RV), \
			 "%s", (name))
/* Checks so far, by outcome (skips count apart from passes). */
enum t11_outcome { T11_PASSED, T11_FAILED, T11_SKIPPED };
int t11_count(enum t11_outcome outcome);
/* Prints the plan "1..N" if this program owns the numbering. */
void t11_plan(void);
/* t11_plan, then the exit status: 0 when no check failed and at least one
 * ran, else 1. */
int t11_done(void);
/* The PINs of the token under test, $TPM11_TEST_PIN and $TPM11_TEST_SOPIN;
 * false (after a Bail out) if either is unset or empty. */
bool t11_test_pins(const char **user_pin, const char **so_pin);
/* CKR_FOO for a return value, or its hex form (a few per thread stay
 * valid at once). */
const char *t11_rv_name(CK_RV rv);

/* --- the module ------------------------------------------------------------ */

/* Loads the module quietly (never unloaded: the tests end with the
 * process): path, or $T11_REL_MODULE, or $TPM11_MODULE. Returns its
 * C_GetFunctionList list, or NULL with a comment saying why. */
CK_FUNCTION_LIST_PTR t11_load_module(const char *path);
/* Loads $TPM11_MODULE as a test of its own: checks that dlopen loads it,
 * that it exports C_GetFunctionList, that C_GetFunctionList(NULL) is
 * CKR_ARGUMENTS_BAD and that it returns a list of version 2.40 before
 * C_Initialize. Returns the list (NULL: Bail out or a failed check, the
 * program cannot go on); *get_rv gets what C_GetFunctionList(&list)
 * returned, and is left alone if it was not called. */
CK_FUNCTION_LIST_PTR t11_load_module_checked(CK_RV *get_rv);
/* A symbol of the module t11_load_module* loaded (C_GetInterface, ...),
 * NULL if it has none. */
void *t11_module_sym(const char *name);

/* --- cases ----------------------------------------------------------------- */

/* A named group of checks. The table runs in its order. */
typedef struct t11_case {
	const char *name;
	void (*run)(void);
	/* Space-separated names of earlier cases this one needs: whenever it
	 * runs they run first, and it runs only if they all succeeded. */
	const char *needs;
	/* Where the case says it succeeded (NULL: it always does). */
	const bool *ok;
	unsigned flags;
} t11_case;
/* Runs whenever the cases it needs ran, even when not named (clean-up such
 * as C_Finalize, so that one case alone leaves the TPM clean). */
#define T11_CASE_ALWAYS 0x1u

/* Reads the command line: "--list" prints the case names, one a line;
 * "NAME..." picks those cases (and what they need); nothing picks all.
 * Returns -1 to go on, or the status to exit with (0 after --list or
 * --help, 2 for an unknown name or option). */
int t11_cases_args(const t11_case *cases, size_t n, int argc, char **argv);
/* Runs the picked cases in table order. */
void t11_cases_run(const t11_case *cases, size_t n);

#endif
