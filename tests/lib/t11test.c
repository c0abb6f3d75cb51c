/* The C test programs' harness; see t11test.h. */
#include "t11test.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* v3.0 (p11-kit 0.24's header lacks it) */
#ifndef CKR_OPERATION_CANCEL_FAILED
#define CKR_OPERATION_CANCEL_FAILED 0x00000202UL
#endif

/* --- TAP ------------------------------------------------------------------- */

static pthread_mutex_t tap_mutex = PTHREAD_MUTEX_INITIALIZER;
static int tap_n;		/* the last number printed */
static int tap_counts[3];	/* by enum t11_outcome */
static bool tap_own_plan = true;
static const char *tap_prefix = "";

void
t11_init(void)
{
	const char *s = getenv("TAP_START");
	const char *p = getenv("TAP_PREFIX");

	if (s != NULL && *s != '\0') {
		tap_n = atoi(s) - 1;
		if (tap_n < 0)
			tap_n = 0;
		tap_own_plan = false;
	}
	if (p != NULL)
		tap_prefix = p;
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* One result line; directive is NULL or "SKIP why". */
static void
tap_line(bool pass, const char *directive, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&tap_mutex);
	tap_n++;
	tap_counts[directive != NULL ? T11_SKIPPED
				     : pass ? T11_PASSED : T11_FAILED]++;
	printf("%sok %d - %s", pass ? "" : "not ", tap_n, tap_prefix);
	vprintf(fmt, ap);
	if (directive != NULL)
		printf(" # %s", directive);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&tap_mutex);
}

void
t11_ok_(bool pass, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_line(pass, NULL, fmt, ap);
	va_end(ap);
}

void
t11_skip(const char *why, const char *fmt, ...)
{
	char directive[300];
	va_list ap;

	snprintf(directive, sizeof(directive), "SKIP %s", why);
	va_start(ap, fmt);
	tap_line(true, directive, fmt, ap);
	va_end(ap);
}

/* A line "lead..." of free text. */
static void
tap_text(const char *lead, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&tap_mutex);
	fputs(lead, stdout);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&tap_mutex);
}

void
t11_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_text("# ", fmt, ap);
	va_end(ap);
}

void
t11_bail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_text("Bail out! ", fmt, ap);
	va_end(ap);
}

/* ok if got is one of the n codes in set; else a comment says what came
 * back and what was expected. */
static bool
expect_rv_v(CK_RV got, const CK_RV *set, size_t n, const char *fmt,
	    va_list ap)
{
	char name[600], want[400];
	size_t i, o = 0;

	vsnprintf(name, sizeof(name), fmt, ap);
	for (i = 0; i < n; i++)
		if (got == set[i])
			return t11_ok(true, "%s", name);
	t11_ok(false, "%s", name);
	want[0] = '\0';
	for (i = 0; i < n && o < sizeof(want) - 40; i++)
		o += (size_t)snprintf(want + o, sizeof(want) - o, "%s%s",
				      i ? " or " : "", t11_rv_name(set[i]));
	t11_diag("expected %s, got %s", want, t11_rv_name(got));
	return false;
}

bool
t11_expect_rv(CK_RV got, CK_RV want, const char *fmt, ...)
{
	va_list ap;
	bool pass;

	va_start(ap, fmt);
	pass = expect_rv_v(got, &want, 1, fmt, ap);
	va_end(ap);
	return pass;
}

bool
t11_expect_rv_in(CK_RV got, const CK_RV *set, size_t n, const char *fmt, ...)
{
	va_list ap;
	bool pass;

	va_start(ap, fmt);
	pass = expect_rv_v(got, set, n, fmt, ap);
	va_end(ap);
	return pass;
}

int
t11_count(enum t11_outcome outcome)
{
	int v;

	pthread_mutex_lock(&tap_mutex);
	v = tap_counts[outcome];
	pthread_mutex_unlock(&tap_mutex);
	return v;
}

bool
t11_test_pins(const char **user_pin, const char **so_pin)
{
	*user_pin = getenv("TPM11_TEST_PIN");
	*so_pin = getenv("TPM11_TEST_SOPIN");
	if (*user_pin != NULL && **user_pin != '\0' && *so_pin != NULL &&
	    **so_pin != '\0')
		return true;
	t11_bail("TPM11_TEST_PIN and TPM11_TEST_SOPIN must be set");
	return false;
}

void
t11_plan(void)
{
	pthread_mutex_lock(&tap_mutex);
	if (tap_own_plan)
		printf("1..%d\n", tap_n);
	fflush(stdout);
	pthread_mutex_unlock(&tap_mutex);
}

int
t11_done(void)
{
	t11_plan();
	if (t11_count(T11_FAILED) > 0)
		return 1;
	return t11_count(T11_PASSED) + t11_count(T11_SKIPPED) > 0 ? 0 : 1;
}

const char *
t11_rv_name(CK_RV rv)
{
	static const struct {
		CK_RV rv;
		const char *name;
	} names[] = {
#define N(x) { x, #x }
		N(CKR_OK), N(CKR_CANCEL), N(CKR_HOST_MEMORY), N(CKR_SLOT_ID_INVALID),
		N(CKR_GENERAL_ERROR), N(CKR_FUNCTION_FAILED), N(CKR_ARGUMENTS_BAD),
		N(CKR_NO_EVENT), N(CKR_NEED_TO_CREATE_THREADS), N(CKR_CANT_LOCK),
		N(CKR_ATTRIBUTE_READ_ONLY), N(CKR_ATTRIBUTE_SENSITIVE),
		N(CKR_ATTRIBUTE_TYPE_INVALID), N(CKR_ATTRIBUTE_VALUE_INVALID),
		N(CKR_ACTION_PROHIBITED), N(CKR_DATA_INVALID), N(CKR_DATA_LEN_RANGE),
		N(CKR_DEVICE_ERROR), N(CKR_DEVICE_MEMORY), N(CKR_DEVICE_REMOVED),
		N(CKR_ENCRYPTED_DATA_INVALID), N(CKR_ENCRYPTED_DATA_LEN_RANGE),
		N(CKR_FUNCTION_CANCELED), N(CKR_FUNCTION_NOT_PARALLEL),
		N(CKR_FUNCTION_NOT_SUPPORTED), N(CKR_KEY_HANDLE_INVALID),
		N(CKR_KEY_SIZE_RANGE), N(CKR_KEY_TYPE_INCONSISTENT),
		N(CKR_KEY_NOT_NEEDED), N(CKR_KEY_CHANGED), N(CKR_KEY_NEEDED),
		N(CKR_KEY_INDIGESTIBLE), N(CKR_KEY_FUNCTION_NOT_PERMITTED),
		N(CKR_KEY_NOT_WRAPPABLE), N(CKR_KEY_UNEXTRACTABLE),
		N(CKR_MECHANISM_INVALID), N(CKR_MECHANISM_PARAM_INVALID),
		N(CKR_OBJECT_HANDLE_INVALID), N(CKR_OPERATION_ACTIVE),
		N(CKR_OPERATION_NOT_INITIALIZED), N(CKR_PIN_INCORRECT),
		N(CKR_PIN_INVALID), N(CKR_PIN_LEN_RANGE), N(CKR_PIN_EXPIRED),
		N(CKR_PIN_LOCKED), N(CKR_SESSION_CLOSED), N(CKR_SESSION_COUNT),
		N(CKR_SESSION_HANDLE_INVALID), N(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
		N(CKR_SESSION_READ_ONLY), N(CKR_SESSION_EXISTS),
		N(CKR_SESSION_READ_ONLY_EXISTS), N(CKR_SESSION_READ_WRITE_SO_EXISTS),
		N(CKR_SIGNATURE_INVALID), N(CKR_SIGNATURE_LEN_RANGE),
		N(CKR_TEMPLATE_INCOMPLETE), N(CKR_TEMPLATE_INCONSISTENT),
		N(CKR_TOKEN_NOT_PRESENT), N(CKR_TOKEN_NOT_RECOGNIZED),
		N(CKR_TOKEN_WRITE_PROTECTED), N(CKR_UNWRAPPING_KEY_SIZE_RANGE),
		N(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT),
		N(CKR_USER_ALREADY_LOGGED_IN), N(CKR_USER_NOT_LOGGED_IN),
		N(CKR_USER_PIN_NOT_INITIALIZED), N(CKR_USER_TYPE_INVALID),
		N(CKR_USER_ANOTHER_ALREADY_LOGGED_IN), N(CKR_USER_TOO_MANY_TYPES),
		N(CKR_WRAPPED_KEY_INVALID), N(CKR_WRAPPED_KEY_LEN_RANGE),
		N(CKR_WRAPPING_KEY_HANDLE_INVALID), N(CKR_WRAPPING_KEY_SIZE_RANGE),
		N(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
		N(CKR_RANDOM_SEED_NOT_SUPPORTED), N(CKR_RANDOM_NO_RNG),
		N(CKR_DOMAIN_PARAMS_INVALID), N(CKR_CURVE_NOT_SUPPORTED),
		N(CKR_BUFFER_TOO_SMALL), N(CKR_SAVED_STATE_INVALID),
		N(CKR_INFORMATION_SENSITIVE), N(CKR_STATE_UNSAVEABLE),
		N(CKR_CRYPTOKI_NOT_INITIALIZED), N(CKR_CRYPTOKI_ALREADY_INITIALIZED),
		N(CKR_MUTEX_BAD), N(CKR_MUTEX_NOT_LOCKED), N(CKR_PIN_TOO_WEAK),
		N(CKR_PUBLIC_KEY_INVALID), N(CKR_FUNCTION_REJECTED),
		N(CKR_OPERATION_CANCEL_FAILED),
#undef N
	};
	static __thread char buf[4][24];
	static __thread unsigned next;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].rv == rv)
			return names[i].name;
	next = (next + 1) % 4;
	snprintf(buf[next], sizeof(buf[next]), "0x%08lx", (unsigned long)rv);
	return buf[next];
}

/* --- the module ------------------------------------------------------------ */

static void *module_dl;

void *
t11_module_sym(const char *name)
{
	return module_dl != NULL ? dlsym(module_dl, name) : NULL;
}

/* The C_GetFunctionList of the module at path, or NULL; *why says why. */
static CK_C_GetFunctionList
module_open(const char *path, const char **why)
{
	CK_C_GetFunctionList get;

	/* Never dlclose'd: the tests end with the process. */
	module_dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (module_dl == NULL) {
		*why = dlerror();
		return NULL;
	}
	*(void **)&get = dlsym(module_dl, "C_GetFunctionList");
	*why = "no C_GetFunctionList";
	return get;
}

CK_FUNCTION_LIST_PTR
t11_load_module(const char *path)
{
	CK_C_GetFunctionList get;
	CK_FUNCTION_LIST_PTR fl = NULL;
	const char *why;
	CK_RV rv;

	if (path == NULL && (path = getenv("T11_REL_MODULE")) != NULL &&
	    *path == '\0')
		path = NULL;
	if (path == NULL)
		path = getenv("TPM11_MODULE");
	if (path == NULL) {
		t11_diag("no module: set TPM11_MODULE (or T11_REL_MODULE)");
		return NULL;
	}
	if ((get = module_open(path, &why)) == NULL) {
		t11_diag("dlopen %s: %s", path, why);
		return NULL;
	}
	if ((rv = get(&fl)) != CKR_OK || fl == NULL) {
		t11_diag("C_GetFunctionList -> %s", t11_rv_name(rv));
		return NULL;
	}
	return fl;
}

CK_FUNCTION_LIST_PTR
t11_load_module_checked(CK_RV *get_rv)
{
	const char *path = getenv("TPM11_MODULE");
	CK_C_GetFunctionList get;
	CK_FUNCTION_LIST_PTR fl = NULL;
	const char *why;

	if (path == NULL || *path == '\0') {
		t11_bail("TPM11_MODULE is not set");
		return NULL;
	}
	get = module_open(path, &why);
	if (!t11_ok(module_dl != NULL, "dlopen(TPM11_MODULE) loads the module")) {
		t11_diag("%s", why);
		return NULL;
	}
	if (!t11_ok(get != NULL, "C_GetFunctionList: exported by the module"))
		return NULL;
	t11_expect_rv(get(NULL), CKR_ARGUMENTS_BAD,
		      "C_GetFunctionList: NULL -> CKR_ARGUMENTS_BAD");
	*get_rv = get(&fl);
	if (!t11_ok(*get_rv == CKR_OK && fl != NULL,
		    "C_GetFunctionList: returns the function list before "
		    "C_Initialize")) {
		t11_diag("got %s", t11_rv_name(*get_rv));
		return NULL;
	}
	if (!t11_ok(fl->version.major == 2 && fl->version.minor == 40,
		    "C_GetFunctionList: the list's version is 2.40"))
		t11_diag("version %u.%u", fl->version.major, fl->version.minor);
	return fl;
}

/* --- cases ----------------------------------------------------------------- */

#define MAX_CASES 128

/* Per case: picked (run it), ran, and whether it succeeded. */
static bool picked[MAX_CASES], ran[MAX_CASES];

static int
case_index(const t11_case *cases, size_t n, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(cases[i].name) == len &&
		    strncmp(cases[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

/* The index of each case named in c's needs, in turn, through fn; false as
 * soon as fn says so. */
static bool
each_need(const t11_case *cases, size_t n, const t11_case *c,
	  bool (*fn)(const t11_case *cases, size_t n, const t11_case *c, int k))
{
	const char *p = c->needs;
	size_t len;
	int k;

	while (p != NULL && *(p += strspn(p, " ")) != '\0') {
		len = strcspn(p, " ");
		k = case_index(cases, n, p, len);
		if (k < 0 || &cases[k] >= c) {
			t11_bail("case %s needs \"%.*s\", not an earlier case",
				 c->name, (int)len, p);
			exit(2);
		}
		if (!fn(cases, n, c, k))
			return false;
		p += len;
	}
	return true;
}

static bool
pick(const t11_case *cases, size_t n, const t11_case *c, int k)
{
	(void)c;
	if (!picked[k]) {
		picked[k] = true;
		each_need(cases, n, &cases[k], pick);
	}
	return true;
}

/* Whether case k, which c needs, ran and succeeded; says so when c was
 * picked and cannot run. */
static bool
need_met(const t11_case *cases, size_t n, const t11_case *c, int k)
{
	if (ran[k] && (cases[k].ok == NULL || *cases[k].ok))
		return true;
	if (picked[c - cases])
		t11_diag("case %s not run: case %s %s", c->name, cases[k].name,
			 ran[k] ? "did not succeed" : "did not run");
	(void)n;
	return false;
}

int
t11_cases_args(const t11_case *cases, size_t n, int argc, char **argv)
{
	bool any = false;
	size_t i;
	int a, k;

	if (n > MAX_CASES) {
		t11_bail("more than %d cases", MAX_CASES);
		return 2;
	}
	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--list") == 0) {
			for (i = 0; i < n; i++)
				printf("%s\n", cases[i].name);
			return 0;
		}
		if (argv[a][0] == '-') {
			bool help = strcmp(argv[a], "--help") == 0;

			fprintf(help ? stdout : stderr,
				"usage: %s [--list | NAME...]\n"
				"  --list  the cases' names, in the order they run\n"
				"  NAME    run only these cases (and the cases "
				"they need); none: all\n",
				argv[0]);
			return help ? 0 : 2;
		}
		k = case_index(cases, n, argv[a], strlen(argv[a]));
		if (k < 0) {
			fprintf(stderr, "%s: no case \"%s\" (--list shows "
					"them)\n", argv[0], argv[a]);
			return 2;
		}
		pick(cases, n, NULL, k);
		any = true;
	}
	for (i = 0; !any && i < n; i++)
		picked[i] = true;
	return -1;
}

void
t11_cases_run(const t11_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < MAX_CASES; i++) {
		/* A case that always runs comes in once what it needs ran. */
		if (!picked[i] && !(cases[i].flags & T11_CASE_ALWAYS))
			continue;
		if (!each_need(cases, n, &cases[i], need_met))
			continue;
		cases[i].run();
		ran[i] = true;
	}
}
