/*
 * Tests for rules.c's groups: rules of one kind run as one alternation
 * first, and nt_rules_first must still give the first rule in file order
 * that matches on its own.  Each case is a rule that would change meaning
 * inside an alternation (a top-level '|' after \b, group numbers, verbs,
 * comments, quoting), or that hits its limit; each answer is checked
 * against the rules run one by one with nt_rules_exec.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/rules.h"
#include "t.h"

static const char *const kinds[] = {"a", "b", NULL};

static const nt_rules_spec spec = {
    .kinds = kinds,
    .kinds_hint = "a or b",
    .valued_kind = -1,
    .capture_kind = -1,
};

/* The first rule of kind k matching s, one by one; *limited as
 * nt_rules_first sets it. */
static long
one_by_one(const nt_rules *r, int k, nt_rules_match *m, const char *s, int *limited)
{
    size_t span[4];

    for (size_t i = 0; i < nt_rules_count(r); i++) {
        int rc;
        if (nt_rules_kind(r, i) != k)
            continue;
        rc = nt_rules_exec(r, i, m, s, strlen(s), 0, span);
        if (rc == 1)
            return (long)i;
        if (rc < 0)
            *limited = 1;
    }
    return -1;
}

/* rules (kind a unless written), then each subject with the rule index
 * expected for kind a. */
static void
check(const char *rules, const char *const *subjects, const long *want)
{
    nt_rules *r = NULL;
    nt_rules_match *m = nt_rules_match_new();
    nt_diags ds;

    nt_diags_init(&ds, 8);
    CHECK(nt_rules_parse(&spec, "t.rules", rules, strlen(rules), &r, &ds) == NT_OK);
    if (!r || !m) {
        fprintf(stderr, "rules: %s\n", rules);
        goto out;
    }
    for (int i = 0; subjects[i]; i++) {
        int lim1 = 0, lim2 = 0;
        long got = nt_rules_first(r, 0, m, subjects[i], strlen(subjects[i]), &lim1);
        long ref = one_by_one(r, 0, m, subjects[i], &lim2);
        if (got != want[i] || ref != want[i] || lim1 != lim2)
            fprintf(stderr, "'%s' on '%s': %ld (limit %d), one by one %ld (limit %d), want %ld\n",
                    rules, subjects[i], got, lim1, ref, lim2, want[i]);
        CHECK(got == want[i]);
        CHECK(ref == want[i]);
        CHECK(lim1 == lim2);
    }
out:
    nt_rules_free(r);
    nt_rules_match_free(m);
    nt_diags_release(&ds);
}

/* A \b in front of the whole rule applies to its first alternative only. */
static void
test_top_level_alternation(void)
{
    static const char *const s[] = {"xbar", "baz", "xbaz", "foo", NULL};
    static const long want[] = {0, 1, -1, 0};

    check("a \\bfoo|bar\na \\bbaz\n", s, want);
}

/* \1 of the second rule is its own group, not the first rule's. */
static void
test_backreference(void)
{
    static const char *const s[] = {"bb", "ab", "aa", NULL};
    static const long want[] = {1, -1, 0};

    check("a (a)\\1\na (b)\\1\n", s, want);
}

static void
test_same_names(void)
{
    static const char *const s[] = {"12y", "12x", "12z", NULL};
    static const long want[] = {1, 0, -1};

    check("a (?<d>\\d+)x\na (?<d>\\d+)y\n", s, want);
}

/* (*COMMIT) would end the whole alternation, not only its rule. */
static void
test_verbs(void)
{
    static const char *const s[] = {"ac", "ab", "xy", NULL};
    static const long want[] = {1, 0, -1};

    check("a a(*COMMIT)b\na ac\na xy(*SKIP)z\n", s, want);
}

/* A comment or a quote to the end of a rule would swallow the rules after
 * it in an alternation. */
static void
test_comments_and_quotes(void)
{
    static const char *const s[] = {"bar", "foo", "c", "a|b", "x)y", NULL};
    static const long want[] = {1, 0, 3, 2, -1};

    check("a (?x) foo # a comment\na bar\na \\Qa|b\na c\n", s, want);
}

/* Rules that need the same byte, and rules of another kind between. */
static void
test_required_byte(void)
{
    static const char *const s[] = {"y:", "x:", "z", "x", ":", NULL};
    static const long want[] = {2, 0, -1, -1, -1};

    check("a ^x:\nb ^y:\na ^y:\na ^w:\n", s, want);
}

/* A rule that hits its limit only misses, and says so, as alone. */
static void
test_limit(void)
{
    static const char *const s[] = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "zzz", NULL};
    static const char *const s2[] = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b", "zzz", NULL};
    static const long want[] = {1, -1};

    check("a (a+)+$\na b\n", s, want);
    check("a \\b(a+)+$\na \\bb\n", s2, want);
}

int
main(void)
{
    RUN(test_top_level_alternation);
    RUN(test_backreference);
    RUN(test_same_names);
    RUN(test_verbs);
    RUN(test_comments_and_quotes);
    RUN(test_required_byte);
    RUN(test_limit);
    return t_done();
}
