/*
 * The classifier's own rules file (contrib/rules/inbound.rules documents
 * its format): what rules.c reads, plus what this module checks and works
 * out once when the file is read, so that classifying does no name lookups:
 * the number of each month and weekday rule, the capture groups of each
 * return-date rule, the languages of cues and dates.  Internal to
 * classify.c and classify_date.c.
 */
#ifndef NURTURE_CLASSIFY_RULES_H
#define NURTURE_CLASSIFY_RULES_H

#include <stddef.h>

#include "nurture/error.h"
#include "nurture/rules.h"

enum nt_ckind {
    NT_CK_AUTO_SUBJECT = 0,
    NT_CK_AUTO_BODY,
    NT_CK_RETURN_CUE,
    NT_CK_RETURN_DATE,
    NT_CK_MONTH,
    NT_CK_WEEKDAY,
    NT_CK_UNSUBSCRIBE,
    NT_CK_INTENT,
    NT_CK_COUNT,
};

/* The intent names in the order of nt_intent (classify.h), so that an
 * intent rule's value is its nt_intent; NULL-terminated. */
extern const char *const nt_classify_intent_names[];

/* What a rule carries besides its pattern. */
typedef struct nt_crule {
    int num;                        /* month 1-12, weekday 0-6; else 0 */
    int g_d, g_m, g_mon, g_y, g_wd; /* return-date groups, -1 when absent */
} nt_crule;

typedef struct nt_classify_rules {
    nt_rules *rules;
    nt_crule *x; /* one per rule */
} nt_classify_rules;

/*
 * Read an inbound rules file from src[0..len) (borrowed for the call);
 * `file` names it in messages.  Every bad line goes into diags (may be
 * NULL) and the file is then refused with NT_EINVAL.  On NT_OK *out is
 * owned by the caller: nt_classify_rules_free().
 */
nt_err nt_classify_rules_parse(const char *file, const char *src, size_t len,
                               nt_classify_rules **out, nt_diags *diags);
void nt_classify_rules_free(nt_classify_rules *r);

/* Does return-date rule `date` apply after return-cue rule `cue`?  Its LANGS
 * is `any` or lists the cue's language. */
int nt_classify_rules_lang_ok(const nt_classify_rules *r, size_t date, size_t cue);

#endif
