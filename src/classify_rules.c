/*
 * The inbound rules file (classify_rules.h): its kinds for rules.c, and the
 * checks rules.c cannot make because they depend on the kind: a month rule
 * must be named 1 to 12, a weekday rule 0 to 6, a return-date rule must
 * capture a day with a month, or a weekday, and nothing it captures may be
 * a group this module does not know.  A typo would otherwise make a rule
 * silently useless.
 */
#include <stdlib.h>
#include <string.h>

#include "classify_rules.h"

#include "banned.h"

static const char *const kind_names[NT_CK_COUNT + 1] = {
    "auto-subject", "auto-body",   "return-cue", "return-date", "month",
    "weekday",      "unsubscribe", "intent",     NULL,
};

const char *const nt_classify_intent_names[] = {
    "none",           "interested",   "meeting",     "pricing",
    "not-interested", "wrong-person", "unsubscribe", NULL,
};

static const nt_rules_spec spec = {
    .kinds = kind_names,
    .kinds_hint = "auto-subject, auto-body, return-cue, return-date, month, weekday, "
                  "unsubscribe or intent",
    .named = 1,
    .caseless = 1,
    .valued_kind = NT_CK_INTENT,
    .values = nt_classify_intent_names,
    .values_what = "intent",
    .values_hint = "interested, meeting, pricing, not-interested, wrong-person, unsubscribe "
                   "or none",
    .capture_kind = -1,
};

void
nt_classify_rules_free(nt_classify_rules *r)
{
    if (!r)
        return;
    nt_rules_free(r->rules);
    free(r->x);
    free(r);
}

/* NAME as a number in [lo, hi], or -1. */
static int
name_number(const char *name, int lo, int hi)
{
    int v = 0;

    if (!name || !*name || strlen(name) > 2)
        return -1;
    for (; *name; name++) {
        if (*name < '0' || *name > '9')
            return -1;
        v = v * 10 + (*name - '0');
    }
    return v >= lo && v <= hi ? v : -1;
}

static void
check_number(nt_classify_rules *r, size_t i, const char *file, int lo, int hi, nt_diags *diags)
{
    int v = name_number(nt_rules_name(r->rules, i), lo, hi);

    if (v < 0)
        nt_diags_add(diags, NT_SEV_ERROR, file, nt_rules_line(r->rules, i), 0,
                     "a %s rule is named by its number, %d to %d, not '%s'",
                     kind_names[nt_rules_kind(r->rules, i)], lo, hi, nt_rules_name(r->rules, i));
    else
        r->x[i].num = v;
}

static void
check_date(nt_classify_rules *r, size_t i, const char *file, nt_diags *diags)
{
    nt_crule *x = &r->x[i];
    int line = nt_rules_line(r->rules, i);

    x->g_d = nt_rules_group_number(r->rules, i, "d");
    x->g_m = nt_rules_group_number(r->rules, i, "m");
    x->g_mon = nt_rules_group_number(r->rules, i, "mon");
    x->g_y = nt_rules_group_number(r->rules, i, "y");
    x->g_wd = nt_rules_group_number(r->rules, i, "wd");
    if (x->g_d >= 0 && x->g_m < 0 && x->g_mon < 0)
        nt_diags_add(diags, NT_SEV_ERROR, file, line, 0,
                     "a return-date rule with a day (?<d>) needs a month: (?<m>) or (?<mon>)");
    else if (x->g_d < 0 && x->g_wd < 0)
        nt_diags_add(diags, NT_SEV_ERROR, file, line, 0,
                     "a return-date rule needs a day (?<d>) with a month, or a weekday (?<wd>)");
}

nt_err
nt_classify_rules_parse(const char *file, const char *src, size_t len, nt_classify_rules **out,
                        nt_diags *diags)
{
    nt_classify_rules *r;
    nt_diags local;
    size_t i, n, before;
    nt_err err;

    *out = NULL;
    nt_diags_init(&local, 1);
    if (!diags)
        diags = &local;
    if (!(r = calloc(1, sizeof(*r)))) {
        nt_diags_release(&local);
        return NT_ENOMEM;
    }
    before = diags->errors;
    err = nt_rules_parse(&spec, file, src, len, &r->rules, diags);
    n = r->rules ? nt_rules_count(r->rules) : 0;
    if (err == NT_OK && !(r->x = calloc(n ? n : 1, sizeof(*r->x))))
        err = NT_ENOMEM;
    for (i = 0; err == NT_OK && i < n; i++) {
        int k = nt_rules_kind(r->rules, i);
        if (k == NT_CK_MONTH)
            check_number(r, i, file, 1, 12, diags);
        else if (k == NT_CK_WEEKDAY)
            check_number(r, i, file, 0, 6, diags);
        else if (k == NT_CK_RETURN_DATE)
            check_date(r, i, file, diags);
    }
    if (err == NT_OK && diags->errors > before)
        err = NT_EINVAL;
    nt_diags_release(&local);
    if (err != NT_OK) {
        nt_classify_rules_free(r);
        return err;
    }
    *out = r;
    return NT_OK;
}

/* Is `lang` one of the comma-separated words of `list`? */
static int
in_list(const char *list, const char *lang)
{
    size_t n = strlen(lang);

    while (*list) {
        const char *comma = strchr(list, ',');
        size_t len = comma ? (size_t)(comma - list) : strlen(list);
        if (len == n && strncmp(list, lang, n) == 0)
            return 1;
        if (!comma)
            break;
        list = comma + 1;
    }
    return 0;
}

int
nt_classify_rules_lang_ok(const nt_classify_rules *r, size_t date, size_t cue)
{
    const char *langs = nt_rules_name(r->rules, date);

    return strcmp(langs, "any") == 0 || in_list(langs, nt_rules_name(r->rules, cue));
}
