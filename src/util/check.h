/* T11_MUST_CHECK on a function whose result says whether it worked (a
 * CK_RV, 0/-1): the compiler warns where a caller drops it, and the CI
 * build (-Dwerror_ci=true) fails. A caller that really has nothing to do
 * on failure (an undo on an error path, a best-effort refresh) says so
 * with T11_IGNORE and a comment: GCC does not take a cast to void. */
#ifndef TPM11_UTIL_CHECK_H
#define TPM11_UTIL_CHECK_H

#define T11_MUST_CHECK __attribute__((warn_unused_result))
#define T11_IGNORE(expr)    \
	do {                \
		if (expr) { \
		}           \
	} while (0)

#endif
