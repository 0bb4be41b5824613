/* check.h: the one CHECK harness of the C unit tests (tests/c/test_*.c).
 *
 * A failed CHECK prints file:line and the expression and counts; the test goes on, so one run
 * reports every failure, and main ends with `return check_result("test_name");`, which exits
 * non-zero if anything failed. Helpers with their own messages (operand dumps, bad test input)
 * count into the same `failures`. Each test is one translation unit, so the counter is its own. */
#ifndef WR_TESTS_CHECK_H
#define WR_TESTS_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                         \
            failures++;                                                                                      \
        }                                                                                                    \
    } while (0)

/* The test's exit status: 1 after any failure (and how many, on stderr), else 0 and "NAME: ok". */
static inline int check_result(const char *test)
{
    if (failures) {
        fprintf(stderr, "%s: %d failure(s)\n", test, failures);
        return 1;
    }
    printf("%s: ok\n", test);
    return 0;
}

#endif /* WR_TESTS_CHECK_H */
