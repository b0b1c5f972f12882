/*
 * Bounce analysis: which recipients of a delivery failure notice failed,
 * with which status and reason, and whether for good.
 *
 * RFC 3464 delivery-status blocks (parsed by mime.c) are trusted first; the
 * enhanced status code (RFC 3463) gives the reason, which `reason` rules
 * over the diagnostic then refine.  Notices without a DSN are read with the
 * PCRE2 rules of a data file (contrib/rules/bounce.rules documents the
 * syntax; rules.c reads it): `notice` rules say whether the message is a bounce at all,
 * `recipient` rules capture the failed addresses, `temporary` rules mark a
 * delay warning, `reason` rules name the cause.  Rules and mail are both
 * untrusted: every match runs under a match and a depth limit, the text
 * scanned and the number of recipients are capped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nurture/bounce.h"
#include "nurture/buf.h"
#include "nurture/lead.h"
#include "nurture/rules.h"
#include "nurture/utf8.h"

#include "banned.h"

#define MAX_RECIPIENTS 1000
#define MAX_TEXT ((size_t)256 << 10) /* of the body, scanned by the rules */
#define MAX_MATCHES 10000            /* per recipient rule and message */
#define MAX_DIAG 1000                /* bytes of a diagnostic kept */

enum kind { K_NOTICE = 0, K_RECIPIENT, K_TEMPORARY, K_REASON, K_COUNT };

static const char *const kind_names[K_COUNT + 1] = {"notice", "recipient", "temporary", "reason",
                                                    NULL};

static const char *const reason_names[] = {
    "unknown", "user-unknown", "host-unknown", "mailbox-full", "disabled", "too-large", "policy",
    "spam",    "rate-limited", "expired",      "network",      "other",    NULL,
};
#define NREASONS (sizeof(reason_names) / sizeof(reason_names[0]) - 1)

static const nt_rules_spec spec = {
    .kinds = kind_names,
    .kinds_hint = "notice, recipient, temporary or reason",
    .named = 1,
    .caseless = 1,
    .valued_kind = K_REASON,
    .values = reason_names,
    .values_what = "reason",
    .values_hint = "user-unknown, host-unknown, mailbox-full, disabled, too-large, policy, "
                   "spam, rate-limited, expired, network or other",
    .capture_kind = K_RECIPIENT,
    .capture_error = "a recipient rule needs a capture group around the address(es)",
};

struct nt_bounce_rules {
    nt_rules *rules;
};

const char *
nt_bounce_reason_name(nt_bounce_reason r)
{
    if ((size_t)r >= NREASONS)
        return "unknown";
    return reason_names[r];
}

void
nt_bounce_rules_free(nt_bounce_rules *r)
{
    if (!r)
        return;
    nt_rules_free(r->rules);
    free(r);
}

static nt_err
wrap(nt_err err, nt_rules *rules, nt_bounce_rules **out)
{
    if (err != NT_OK)
        return err;
    if (!(*out = malloc(sizeof(**out)))) {
        nt_rules_free(rules);
        return NT_ENOMEM;
    }
    (*out)->rules = rules;
    return NT_OK;
}

nt_err
nt_bounce_rules_parse(const char *name, const char *src, size_t len, nt_bounce_rules **out,
                      nt_diags *diags)
{
    nt_rules *rules = NULL;
    nt_err err;

    *out = NULL;
    err = nt_rules_parse(&spec, name, src, len, &rules, diags);
    return wrap(err, rules, out);
}

nt_err
nt_bounce_rules_load(const char *path, nt_bounce_rules **out, nt_diags *diags)
{
    nt_rules *rules = NULL;
    nt_err err;

    *out = NULL;
    err = nt_rules_load(&spec, path, &rules, diags);
    return wrap(err, rules, out);
}

void
nt_bounce_result_release(nt_bounce_result *res)
{
    size_t i;

    if (!res)
        return;
    for (i = 0; i < res->n; i++) {
        free(res->items[i].recipient);
        free(res->items[i].diagnostic);
    }
    free(res->items);
    res->items = NULL;
    res->n = 0;
    res->is_bounce = 0;
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* State of one nt_bounce_analyze call. */
struct run {
    const nt_rules *r;
    nt_rules_match *md;
    int limited; /* a rule hit its limit (it only made that rule miss) */
    size_t cap;
};

/* The first rule of kind k matching s[0..n), or -1. */
static long
first_match(struct run *x, enum kind k, const char *s, size_t n)
{
    if (!s)
        return -1;
    return nt_rules_first(x->r, (int)k, x->md, s, n, &x->limited);
}

/* Valid UTF-8 with "\n" line ends, at most MAX_TEXT bytes of s. */
static void
clean_text(nt_buf *out, const char *s)
{
    nt_buf fixed;
    size_t n = s ? strlen(s) : 0, i;

    if (n > MAX_TEXT)
        n = MAX_TEXT;
    /* Mostly there is nothing to repair: one copy. */
    if (!memchr(s ? s : "", '\r', n) && nt_utf8_valid(s ? s : "", n)) {
        nt_buf_add(out, s ? s : "", n);
        (void)nt_buf_cstr(out);
        return;
    }
    nt_buf_init(&fixed, 0);
    nt_utf8_add_valid(&fixed, s ? s : "", n);
    for (i = 0; i < fixed.len; i++) {
        if (fixed.data[i] == '\r') {
            nt_buf_addc(out, '\n');
            if (i + 1 < fixed.len && fixed.data[i + 1] == '\n')
                i++;
        } else if (fixed.data[i] != '\0') {
            nt_buf_addc(out, fixed.data[i]);
        }
    }
    if (fixed.err && !out->err)
        out->err = fixed.err;
    (void)nt_buf_cstr(out);
    nt_buf_release(&fixed);
}

/* Add one failed recipient unless already there (case-insensitive).  Takes
 * ownership of addr and diag. */
static nt_err
add_item(nt_bounce_result *res, struct run *x, char *addr, const char *status, char *diag,
         nt_bounce_reason reason, int hard, const char *rule)
{
    size_t i;
    nt_bounced *it;

    for (i = 0; i < res->n; i++) {
        if (strcasecmp(res->items[i].recipient, addr) == 0) {
            free(addr);
            free(diag);
            return NT_OK;
        }
    }
    if (res->n >= MAX_RECIPIENTS) {
        free(addr);
        free(diag);
        x->limited = 1;
        return NT_OK;
    }
    if (res->n == x->cap) {
        size_t ncap = x->cap ? x->cap * 2 : 4;
        nt_bounced *nv = realloc(res->items, ncap * sizeof(*nv));
        if (!nv) {
            free(addr);
            free(diag);
            return NT_ENOMEM;
        }
        res->items = nv;
        x->cap = ncap;
    }
    it = &res->items[res->n++];
    memset(it, 0, sizeof(*it));
    it->recipient = addr;
    snprintf(it->status, sizeof(it->status), "%s", status ? status : "");
    it->diagnostic = diag;
    it->reason = reason;
    it->hard = hard;
    it->rule = rule;
    return NT_OK;
}

/* "5.1.1" into its three numbers; 0 when it is not a status code. */
static int
parse_status(const char *s, int *cls, int *sub, int *det)
{
    char *end;
    long a, b, c;

    if (!s)
        return 0;
    while (is_blank(*s))
        s++;
    if (*s < '2' || *s > '5' || s[1] != '.')
        return 0;
    a = *s - '0';
    b = strtol(s + 2, &end, 10);
    if (end == s + 2 || *end != '.' || b < 0 || b > 999)
        return 0;
    s = end + 1;
    c = strtol(s, &end, 10);
    if (end == s || c < 0 || c > 999)
        return 0;
    *cls = (int)a;
    *sub = (int)b;
    *det = (int)c;
    return 1;
}

/* The reason an enhanced status code (RFC 3463) gives on its own. */
static nt_bounce_reason
status_reason(int cls, int sub, int det)
{
    if (sub == 1 && (det == 0 || det == 1 || det == 6 || det == 10))
        return NT_BOUNCE_USER_UNKNOWN;
    if ((sub == 1 && det == 2) || (cls == 5 && sub == 4 && det == 4))
        return NT_BOUNCE_HOST_UNKNOWN;
    if (sub == 2 && det == 2)
        return NT_BOUNCE_MAILBOX_FULL;
    if (sub == 2 && det == 1)
        return cls == 5 ? NT_BOUNCE_DISABLED : NT_BOUNCE_RATE_LIMITED;
    if ((sub == 3 && det == 4) || (sub == 2 && det == 3))
        return NT_BOUNCE_TOO_LARGE;
    if (sub == 4 && det == 7)
        return NT_BOUNCE_EXPIRED;
    if (sub == 7)
        return cls == 5 ? NT_BOUNCE_POLICY : NT_BOUNCE_RATE_LIMITED;
    if (cls == 4 && sub == 4)
        return NT_BOUNCE_NETWORK;
    return NT_BOUNCE_OTHER;
}

static char *
dup_capped(const char *s)
{
    size_t n;
    char *p;
    nt_buf b;

    if (!s || !*s)
        return NULL;
    n = strlen(s);
    if (n > MAX_DIAG)
        n = MAX_DIAG;
    nt_buf_init(&b, 0);
    nt_utf8_add_valid(&b, s, n);
    p = nt_buf_detach(&b, NULL);
    nt_buf_release(&b);
    return p;
}

/* Path (1): the failed and delayed blocks of a delivery-status part. */
static nt_err
from_dsn(struct run *x, const nt_inmsg *m, nt_bounce_result *res)
{
    size_t i;
    nt_err err;

    for (i = 0; i < m->ndsn; i++) {
        const nt_dsn_rcpt *b = &m->dsn[i];
        const char *addr = b->final_recipient;
        int cls = 0, sub = 0, det = 0, has = parse_status(b->status, &cls, &sub, &det);
        int failed = b->action && strncmp(b->action, "fail", 4) == 0;
        int delayed = b->action && strcmp(b->action, "delayed") == 0;
        nt_bounce_reason reason = NT_BOUNCE_UNKNOWN_REASON;
        const char *rule = "dsn";
        long ru;
        char *norm = NULL, *diag;
        nt_buf clean;
        char status[16];

        /* No action but a failure status: still a failure. */
        if (!b->action && has && (cls == 4 || cls == 5)) {
            failed = cls == 5;
            delayed = cls == 4;
        }
        if (!failed && !delayed)
            continue;
        /* The final recipient may be an internal name ("user@daemon");
         * then the original one is what was sent to. */
        if (!addr || nt_email_normalize(addr, strlen(addr), &norm, NULL) != NT_OK ||
            !strchr(norm, '.')) {
            free(norm);
            norm = NULL;
            addr = b->original_recipient;
            if (!addr || nt_email_normalize(addr, strlen(addr), &norm, NULL) != NT_OK)
                continue;
        }
        status[0] = '\0';
        if (has)
            snprintf(status, sizeof(status), "%d.%d.%d", cls, sub, det);
        if (has)
            reason = status_reason(cls, sub, det);
        diag = dup_capped(b->diagnostic);
        if (diag) {
            nt_buf_init(&clean, 0);
            clean_text(&clean, diag);
            if (!clean.err &&
                (ru = first_match(x, K_REASON, clean.data ? clean.data : "", clean.len)) >= 0) {
                reason = (nt_bounce_reason)nt_rules_value(x->r, (size_t)ru);
                rule = nt_rules_name(x->r, (size_t)ru);
            }
            nt_buf_release(&clean);
        }
        err = add_item(res, x, norm, status, diag, reason, has ? cls == 5 : failed, rule);
        if (err)
            return err;
    }
    return NT_OK;
}

static int
addr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80 || (c && strchr("._%+-=/!#$&'*?^`{|}~", c) != NULL);
}

/* Every address-looking word of s[0..n) into res. */
static nt_err
scan_addresses(struct run *x, const char *s, size_t n, nt_bounce_result *res, int hard,
               nt_bounce_reason reason, const char *rule)
{
    size_t i = 0, a, e;
    nt_err err;

    while (i < n) {
        const char *at = memchr(s + i, '@', n - i);
        char *norm = NULL;

        if (!at)
            break;
        a = e = (size_t)(at - s);
        while (a > i && addr_char((unsigned char)s[a - 1]))
            a--;
        e++;
        while (e < n && addr_char((unsigned char)s[e]) && s[e] != '@')
            e++;
        i = e;
        while (e > a && (s[e - 1] == '.' || s[e - 1] == '\''))
            e--;
        while (a < e && (s[a] == '\'' || s[a] == '.'))
            a++;
        if (s + a == at || s + e == at + 1)
            continue;
        if (nt_email_normalize(s + a, e - a, &norm, NULL) != NT_OK || !strchr(norm, '.')) {
            free(norm);
            continue;
        }
        err = add_item(res, x, norm, NULL, NULL, reason, hard, rule);
        if (err)
            return err;
        if (res->n >= MAX_RECIPIENTS)
            break;
    }
    return NT_OK;
}

/* Path (2): a notice without DSN, read with the rules. */
static nt_err
from_rules(struct run *x, const nt_inmsg *m, nt_bounce_result *res)
{
    nt_buf head, body;
    long ru;
    nt_bounce_reason reason = NT_BOUNCE_UNKNOWN_REASON;
    int hard;
    size_t i;
    nt_err err = NT_OK;

    nt_buf_init(&head, 0);
    nt_buf_init(&body, 0);
    nt_buf_addf(&head, "From: %s <%s>\nSubject: %s\n", m->from_name ? m->from_name : "",
                m->from_addr ? m->from_addr : "", m->subject ? m->subject : "");
    if (m->return_path)
        nt_buf_addf(&head, "Return-Path: <%s>\n", m->return_path);
    if (m->auto_submitted)
        nt_buf_addf(&head, "Auto-Submitted: %s\n", m->auto_submitted);
    {
        nt_buf t;
        nt_buf_init(&t, 0);
        clean_text(&t, nt_buf_cstr(&head));
        nt_buf_reset(&head);
        nt_buf_add(&head, t.data ? t.data : "", t.len);
        nt_buf_release(&t);
    }
    if (head.err) {
        err = head.err;
        goto out;
    }
    (void)nt_buf_cstr(&head);
    /* A delivery-status report is a notice even when its fields could not
     * be read ("Message removed", a vendor's own layout). */
    if (!(m->report_type && strcmp(m->report_type, "delivery-status") == 0) &&
        first_match(x, K_NOTICE, head.data ? head.data : "", head.len) < 0)
        goto out;
    /* Only a notice's body is read: most mail is not one. */
    clean_text(&body, m->text);
    if (body.err) {
        err = body.err;
        goto out;
    }
    res->is_bounce = 1;
    hard = first_match(x, K_TEMPORARY, body.data ? body.data : "", body.len) < 0 &&
           first_match(x, K_TEMPORARY, head.data, head.len) < 0;
    ru = first_match(x, K_REASON, body.data ? body.data : "", body.len);
    if (ru >= 0)
        reason = (nt_bounce_reason)nt_rules_value(x->r, (size_t)ru);
    for (i = 0; i < nt_rules_count(x->r) && res->n < MAX_RECIPIENTS; i++) {
        size_t start = 0, ov[4];
        int rc, count = 0;

        if (nt_rules_kind(x->r, i) != K_RECIPIENT)
            continue;
        while (start <= body.len && count++ < MAX_MATCHES) {
            rc = nt_rules_exec(x->r, i, x->md, body.data, body.len, start, ov);
            if (rc != 1) {
                x->limited |= rc < 0;
                break;
            }
            if (ov[2] != NT_RULES_UNSET && ov[3] > ov[2]) {
                err = scan_addresses(x, body.data + ov[2], ov[3] - ov[2], res, hard, reason,
                                     nt_rules_name(x->r, i));
                if (err)
                    goto out;
            }
            if (ov[1] > start)
                start = ov[1];
            else {
                /* Empty match: step one UTF-8 character. */
                start++;
                while (start < body.len && ((unsigned char)body.data[start] & 0xC0) == 0x80)
                    start++;
            }
        }
        /* The first recipient rule that finds addresses decides. */
        if (res->n)
            break;
    }
out:
    nt_buf_release(&head);
    nt_buf_release(&body);
    return err;
}

nt_err
nt_bounce_analyze(const nt_bounce_rules *r, const nt_inmsg *m, nt_bounce_result *out, nt_diag *d)
{
    struct run x;
    nt_err err;

    nt_diag_clear(d);
    memset(out, 0, sizeof(*out));
    x.r = r->rules;
    x.limited = 0;
    x.cap = 0;
    x.md = nt_rules_match_new();
    if (!x.md)
        return NT_ENOMEM;
    err = from_dsn(&x, m, out);
    if (!err && out->n > 0)
        out->is_bounce = 1;
    else if (!err)
        err = from_rules(&x, m, out);
    nt_rules_match_free(x.md);
    if (err) {
        nt_bounce_result_release(out);
        return err;
    }
    /* x.limited: a limit hit only made a rule miss; the result stands. */
    return NT_OK;
}
