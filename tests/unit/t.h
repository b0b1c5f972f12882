/*
 * A minimal test harness: CHECK records a failure and goes on, REQUIRE stops
 * the test function.  Each tests/unit/test_*.c is one program; main() calls
 * RUN(fn) for each test function and returns t_done().
 */
#ifndef NT_TEST_H
#define NT_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failures;
static int t_checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        t_checks++;                                                                                \
        if (!(cond)) {                                                                             \
            t_failures++;                                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        t_checks++;                                                                                \
        if (!(cond)) {                                                                             \
            t_failures++;                                                                          \
            fprintf(stderr, "%s:%d: requirement failed: %s\n", __FILE__, __LINE__, #cond);         \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *t_a_ = (a), *t_b_ = (b);                                                       \
        t_checks++;                                                                                \
        if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0) {                                           \
            t_failures++;                                                                          \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,      \
                    t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");                               \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                                    \
        t_checks++;                                                                                \
        if (t_a_ != t_b_) {                                                                        \
            t_failures++;                                                                          \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, t_a_,    \
                    t_b_);                                                                         \
        }                                                                                          \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *t_h_ = (hay), *t_n_ = (needle);                                                \
        t_checks++;                                                                                \
        if (!t_h_ || !strstr(t_h_, t_n_)) {                                                        \
            t_failures++;                                                                          \
            fprintf(stderr, "%s:%d: %s does not contain \"%s\": \"%s\"\n", __FILE__, __LINE__,     \
                    #hay, t_n_, t_h_ ? t_h_ : "(null)");                                           \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int t_before_ = t_failures;                                                                \
        fn();                                                                                      \
        fprintf(stderr, "%s %s\n", t_failures == t_before_ ? "ok  " : "FAIL", #fn);                \
    } while (0)

static inline int
t_done(void)
{
    fprintf(stderr, "%d checks, %d failed\n", t_checks, t_failures);
    if (t_checks == 0) {
        fprintf(stderr, "no checks ran\n");
        return 1;
    }
    return t_failures ? 1 : 0;
}

#endif
