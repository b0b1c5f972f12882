/*
 * Rules files: regular expressions that users extend without recompiling.
 *
 * A rules file holds one rule per line, `KIND REGEX`, or `KIND NAME REGEX`
 * for modules whose rules are named; '#' starts a comment line; blank
 * lines are ignored.  Each module (reply.c, bounce.c) says which kinds it
 * has; this module reads the file, reports every bad line with
 * file:line:column (for a bad pattern, the column PCRE2 points at), and
 * refuses a file with any bad line, so a typo never silently disables a
 * rule.  Patterns are PCRE2 (UTF, Unicode properties, multi-line), compiled
 * with JIT where the platform allows, and always run under a match and a
 * depth limit, since both the rules and the mail are untrusted.  The only
 * module that includes <pcre2.h>.
 */
#ifndef NURTURE_RULES_H
#define NURTURE_RULES_H

#include <stddef.h>

#include "nurture/error.h"

/* What one module's rules files look like. */
typedef struct nt_rules_spec {
    const char *const *kinds; /* NULL-terminated kind names */
    const char *kinds_hint;   /* "a, b or c", for the unknown-kind message */
    int named;                /* 1: a NAME word stands between KIND and REGEX */
    int caseless;             /* 1: patterns ignore case */
    /* Optional: for rules of kind `valued_kind`, NAME must be one of
     * `values` (NULL-terminated; its index becomes the rule's value). */
    int valued_kind; /* -1 for none */
    const char *const *values;
    const char *values_what; /* "reason" */
    const char *values_hint;
    /* Optional: rules of kind `capture_kind` need a capture group. */
    int capture_kind; /* -1 for none */
    const char *capture_error;
} nt_rules_spec;

typedef struct nt_rules nt_rules;

/* Parse src[0..len) (borrowed for the call); `file` names it in messages.
 * On NT_OK *out is owned by the caller: nt_rules_free().  diags may be
 * NULL.  spec is borrowed for the rules' lifetime. */
nt_err nt_rules_parse(const nt_rules_spec *spec, const char *file, const char *src, size_t len,
                      nt_rules **out, nt_diags *diags);
/* Read a file (at most 1 MiB) and parse it. */
nt_err nt_rules_load(const nt_rules_spec *spec, const char *path, nt_rules **out, nt_diags *diags);
void nt_rules_free(nt_rules *r);

size_t nt_rules_count(const nt_rules *r);
int nt_rules_kind(const nt_rules *r, size_t i);
/* NAME as written (NULL for unnamed rules); borrowed from r. */
const char *nt_rules_name(const nt_rules *r, size_t i);
/* Index into spec->values for valued rules, else 0. */
int nt_rules_value(const nt_rules *r, size_t i);
/* The line of the file rule i was read from (1-based), for messages. */
int nt_rules_line(const nt_rules *r, size_t i);
/* The number of rule i's capture group named `name` (NUL-terminated), or
 * -1 when it has none (or one beyond what a match reports, 16). */
int nt_rules_group_number(const nt_rules *r, size_t i, const char *name);

/* Match scratch space: one per concurrent caller.  NULL on out of memory. */
typedef struct nt_rules_match nt_rules_match;
nt_rules_match *nt_rules_match_new(void);
void nt_rules_match_free(nt_rules_match *m);

#define NT_RULES_UNSET ((size_t)-1)

/*
 * Run rule i on s[0..n) (valid UTF-8, not checked again) from offset start.
 * 1 when it matched: span[0], span[1] bound the match and span[2], span[3]
 * the first capture group (NT_RULES_UNSET when it took no part); 0 when it
 * did not; -1 when it hit its match or depth limit (treat as no match).
 */
int nt_rules_exec(const nt_rules *r, size_t i, nt_rules_match *m, const char *s, size_t n,
                  size_t start, size_t span[4]);

/*
 * After nt_rules_exec returned 1 on m: the span of capture group k (as
 * given by nt_rules_group_number) in span[0], span[1]; 1 when the group
 * took part in the match, else 0 with both NT_RULES_UNSET.
 */
int nt_rules_group(const nt_rules_match *m, int k, size_t span[2]);

/* The first rule of kind `kind` that matches s[0..n), or -1.  *limited is
 * set to 1 when some rule hit its limit on the way. */
long nt_rules_first(const nt_rules *r, int kind, nt_rules_match *m, const char *s, size_t n,
                    int *limited);

#endif
