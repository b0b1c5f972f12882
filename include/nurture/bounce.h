/*
 * What a bounce says: which recipients failed, with what status, why, and
 * whether it is permanent (hard) or temporary (soft).
 *
 * RFC 3464 delivery-status fields are read first (mime.h has them parsed);
 * the notices of MTAs that do not send DSNs (qmail, old Exchange, Yahoo,
 * AOL...) are read with PCRE2 rules from a data file that users extend
 * without recompiling (contrib/rules/bounce.rules).  The reason comes from a
 * fixed list, decided by the enhanced status code (RFC 3463) and then by
 * rules over the diagnostic text, so that a reputation block is never taken
 * for an unknown user.
 */
#ifndef NURTURE_BOUNCE_H
#define NURTURE_BOUNCE_H

#include <stddef.h>

#include "nurture/error.h"
#include "nurture/mime.h"

typedef enum nt_bounce_reason {
    NT_BOUNCE_UNKNOWN_REASON = 0,
    NT_BOUNCE_USER_UNKNOWN, /* 5.1.1 and friends */
    NT_BOUNCE_HOST_UNKNOWN, /* 5.1.2, 5.4.4 */
    NT_BOUNCE_MAILBOX_FULL, /* 4.2.2 / 5.2.2 */
    NT_BOUNCE_DISABLED,     /* 5.2.1: mailbox disabled */
    NT_BOUNCE_TOO_LARGE,    /* 5.3.4 / 5.2.3 */
    NT_BOUNCE_POLICY,       /* 5.7.x not spam: DMARC, SPF, reputation, blocklists */
    NT_BOUNCE_SPAM,         /* content judged spam */
    NT_BOUNCE_RATE_LIMITED, /* 4.7.x / 4.2.1 throttling */
    NT_BOUNCE_EXPIRED,      /* 4.4.7 / 5.4.7: gave up retrying */
    NT_BOUNCE_NETWORK,      /* 4.4.x: could not connect */
    NT_BOUNCE_OTHER,
} nt_bounce_reason;

/* "user-unknown", "mailbox-full"...: stable names for storage and reports. */
const char *nt_bounce_reason_name(nt_bounce_reason r);

typedef struct nt_bounced {
    char *recipient;  /* normalised address, owned */
    char status[16];  /* "5.1.1", or "" when none was given or found */
    char *diagnostic; /* the server's words, owned, may be NULL */
    nt_bounce_reason reason;
    int hard;         /* 1 permanent, 0 temporary */
    const char *rule; /* name of the rule that decided (borrowed from the rules) or "dsn" */
} nt_bounced;

typedef struct nt_bounce_result {
    int is_bounce;     /* the message is a delivery failure notice at all */
    nt_bounced *items; /* owned */
    size_t n;
} nt_bounce_result;

typedef struct nt_bounce_rules nt_bounce_rules;

/* As for reply.h: a file with any bad line is refused, every bad line
 * reported with file:line:col.  *out owned by the caller. */
nt_err nt_bounce_rules_load(const char *path, nt_bounce_rules **out, nt_diags *diags);
nt_err nt_bounce_rules_parse(const char *name, const char *src, size_t len, nt_bounce_rules **out,
                             nt_diags *diags);
void nt_bounce_rules_free(nt_bounce_rules *r);

/* Analyse m; out owned by the caller: nt_bounce_result_release(). */
nt_err nt_bounce_analyze(const nt_bounce_rules *r, const nt_inmsg *m, nt_bounce_result *out,
                         nt_diag *d);
void nt_bounce_result_release(nt_bounce_result *res);

#endif
