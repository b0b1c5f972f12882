/*
 * Bounce analysis: which recipients of a delivery failure notice failed,
 * with which status and reason, and whether for good.
 *
 * RFC 3464 delivery-status blocks (parsed by mime.c) are trusted first; the
 * enhanced status code (RFC 3463) gives the reason, which `reason` rules
 * over the diagnostic then refine.  Notices without a DSN are read with the
 * PCRE2 rules of a data file (contrib/rules/bounce.rules documents the
 * syntax): `notice` rules say whether the message is a bounce at all,
 * `recipient` rules capture the failed addresses, `temporary` rules mark a
 * delay warning, `reason` rules name the cause.  Rules and mail are both
 * untrusted: every match runs under a match and a depth limit, the text
 * scanned and the number of recipients are capped.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nurture/bounce.h"
#include "nurture/buf.h"
#include "nurture/lead.h"
#include "nurture/utf8.h"

#include "banned.h"

#define MATCH_LIMIT 100000u
#define DEPTH_LIMIT 10000u
#define RULES_MAX_SIZE ((size_t)1 << 20)
#define MAX_RECIPIENTS 1000
#define MAX_TEXT ((size_t)256 << 10) /* of the body, scanned by the rules */
#define MAX_MATCHES 10000            /* per recipient rule and message */
#define MAX_DIAG 1000                /* bytes of a diagnostic kept */

enum kind { K_NOTICE = 0, K_RECIPIENT, K_TEMPORARY, K_REASON, K_COUNT };

static const char *const kind_names[K_COUNT] = {"notice", "recipient", "temporary", "reason"};

static const char *const reason_names[] = {
    "unknown", "user-unknown", "host-unknown", "mailbox-full", "disabled", "too-large",
    "policy",  "spam",         "rate-limited", "expired",      "network",  "other",
};
#define NREASONS (sizeof(reason_names) / sizeof(reason_names[0]))

struct rule {
    enum kind kind;
    nt_bounce_reason reason; /* K_REASON only */
    char *name;
    pcre2_code *code;
};

struct nt_bounce_rules {
    struct rule *v;
    size_t n;
    size_t cap;
    pcre2_match_context *mctx;
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
    size_t i;

    if (!r)
        return;
    for (i = 0; i < r->n; i++) {
        pcre2_code_free(r->v[i].code);
        free(r->v[i].name);
    }
    free(r->v);
    pcre2_match_context_free(r->mctx);
    free(r);
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The next blank-separated word of p[0..n) from *i: its start and length. */
static size_t
word(const char *p, size_t n, size_t *i, size_t *start)
{
    while (*i < n && is_blank(p[*i]))
        (*i)++;
    *start = *i;
    while (*i < n && !is_blank(p[*i]))
        (*i)++;
    return *i - *start;
}

/* Parse one line [p, p+n): `KIND NAME REGEX`; positions are 1-based. */
static void
parse_line(nt_bounce_rules *r, const char *name, int lineno, const char *p, size_t n,
           nt_diags *diags, int *nomem)
{
    size_t i = 0, kstart, klen, nstart, nlen, rstart;
    int k, errcode;
    size_t reason = 0;
    PCRE2_SIZE erroff;
    pcre2_code *code;
    PCRE2_UCHAR emsg[256];
    char *rname;

    while (i < n && is_blank(p[i]))
        i++;
    if (i == n || p[i] == '#')
        return;
    klen = word(p, n, &i, &kstart);
    for (k = 0; k < K_COUNT; k++)
        if (strlen(kind_names[k]) == klen && memcmp(kind_names[k], p + kstart, klen) == 0)
            break;
    if (k == K_COUNT) {
        nt_diags_add(diags, NT_SEV_ERROR, name, lineno, (int)kstart + 1,
                     "unknown rule kind '%.*s' (expected notice, recipient, temporary or reason)",
                     (int)(klen > 64 ? 64 : klen), p + kstart);
        return;
    }
    nlen = word(p, n, &i, &nstart);
    if (nlen == 0) {
        nt_diags_add(diags, NT_SEV_ERROR, name, lineno, (int)nstart + 1, "rule '%s' has no name",
                     kind_names[k]);
        return;
    }
    if (k == K_REASON) {
        for (reason = 1; reason < NREASONS; reason++)
            if (strlen(reason_names[reason]) == nlen &&
                memcmp(reason_names[reason], p + nstart, nlen) == 0)
                break;
        if (reason == NREASONS) {
            nt_diags_add(diags, NT_SEV_ERROR, name, lineno, (int)nstart + 1,
                         "unknown reason '%.*s' (expected user-unknown, host-unknown, "
                         "mailbox-full, disabled, too-large, policy, spam, rate-limited, "
                         "expired, network or other)",
                         (int)(nlen > 64 ? 64 : nlen), p + nstart);
            return;
        }
    }
    while (i < n && is_blank(p[i]))
        i++;
    rstart = i;
    if (rstart == n) {
        nt_diags_add(diags, NT_SEV_ERROR, name, lineno, (int)rstart + 1,
                     "rule '%s' has no regular expression", kind_names[k]);
        return;
    }
    code = pcre2_compile((PCRE2_SPTR)(p + rstart), n - rstart,
                         PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE | PCRE2_CASELESS, &errcode,
                         &erroff, NULL);
    if (!code) {
        if (errcode == PCRE2_ERROR_NOMEMORY) {
            *nomem = 1;
            return;
        }
        if (pcre2_get_error_message(errcode, emsg, sizeof(emsg)) < 0)
            snprintf((char *)emsg, sizeof(emsg), "error %d", errcode);
        nt_diags_add(diags, NT_SEV_ERROR, name, lineno, (int)(rstart + erroff) + 1,
                     "bad regular expression: %s", (const char *)emsg);
        return;
    }
    if (k == K_RECIPIENT) {
        uint32_t ncap = 0;

        (void)pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ncap);
        if (ncap < 1) {
            pcre2_code_free(code);
            nt_diags_add(diags, NT_SEV_ERROR, name, lineno, (int)rstart + 1,
                         "a recipient rule needs a capture group around the address(es)");
            return;
        }
    }
    /* JIT is an optimisation: the interpreter runs the same pattern. */
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 32;
        struct rule *nv = realloc(r->v, ncap * sizeof(*nv));
        if (!nv) {
            pcre2_code_free(code);
            *nomem = 1;
            return;
        }
        r->v = nv;
        r->cap = ncap;
    }
    rname = malloc(nlen + 1);
    if (!rname) {
        pcre2_code_free(code);
        *nomem = 1;
        return;
    }
    memcpy(rname, p + nstart, nlen);
    rname[nlen] = '\0';
    r->v[r->n].kind = (enum kind)k;
    r->v[r->n].reason = (nt_bounce_reason)reason;
    r->v[r->n].name = rname;
    r->v[r->n].code = code;
    r->n++;
}

nt_err
nt_bounce_rules_parse(const char *name, const char *src, size_t len, nt_bounce_rules **out,
                      nt_diags *diags)
{
    nt_bounce_rules *r;
    size_t pos = 0, before = diags ? diags->errors : 0;
    int lineno = 0, nomem = 0;
    nt_diags local;

    *out = NULL;
    if (!name)
        name = "";
    if (!diags) {
        nt_diags_init(&local, 1);
        diags = &local;
        before = 0;
    }
    r = calloc(1, sizeof(*r));
    if (!r || !(r->mctx = pcre2_match_context_create(NULL))) {
        free(r);
        if (diags == &local)
            nt_diags_release(&local);
        return NT_ENOMEM;
    }
    pcre2_set_match_limit(r->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(r->mctx, DEPTH_LIMIT);

    while (pos < len && !nomem) {
        const char *nl = memchr(src + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - src) : len, n = end - pos;

        lineno++;
        if (n && src[pos + n - 1] == '\r')
            n--;
        if (!nt_utf8_valid(src + pos, n))
            nt_diags_add(diags, NT_SEV_ERROR, name, lineno, 1, "line is not valid UTF-8");
        else
            parse_line(r, name, lineno, src + pos, n, diags, &nomem);
        pos = end + 1;
    }
    if (nomem || diags->errors > before) {
        nt_bounce_rules_free(r);
        if (diags == &local)
            nt_diags_release(&local);
        return nomem ? NT_ENOMEM : NT_EINVAL;
    }
    if (diags == &local)
        nt_diags_release(&local);
    *out = r;
    return NT_OK;
}

nt_err
nt_bounce_rules_load(const char *path, nt_bounce_rules **out, nt_diags *diags)
{
    FILE *f;
    nt_buf b;
    char chunk[8192];
    size_t n;
    nt_err err;

    *out = NULL;
    f = fopen(path, "rb");
    if (!f) {
        if (diags)
            nt_diags_add(diags, NT_SEV_ERROR, path, 0, 0, "cannot open rules file");
        return NT_EIO;
    }
    nt_buf_init(&b, RULES_MAX_SIZE);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        nt_buf_add(&b, chunk, n);
    if (ferror(f)) {
        fclose(f);
        nt_buf_release(&b);
        if (diags)
            nt_diags_add(diags, NT_SEV_ERROR, path, 0, 0, "cannot read rules file");
        return NT_EIO;
    }
    fclose(f);
    if (b.err) {
        err = b.err;
        nt_buf_release(&b);
        if (diags)
            nt_diags_add(diags, NT_SEV_ERROR, path, 0, 0, "rules file too large");
        return err;
    }
    err = nt_bounce_rules_parse(path, nt_buf_cstr(&b), b.len, out, diags);
    nt_buf_release(&b);
    return err;
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

/* State of one nt_bounce_analyze call. */
struct run {
    const nt_bounce_rules *r;
    pcre2_match_data *md;
    nt_err err; /* NT_ELIMIT once a rule hit its limit */
    size_t cap;
};

static int
limit_hit(int rc)
{
    return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
           rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT;
}

/* The first rule of kind k matching s[0..n), or NULL.  Limit hits count as
 * no match. */
static const struct rule *
first_match(struct run *x, enum kind k, const char *s, size_t n)
{
    size_t i;
    int rc;

    if (!s)
        return NULL;
    for (i = 0; i < x->r->n; i++) {
        if (x->r->v[i].kind != k)
            continue;
        rc = pcre2_match(x->r->v[i].code, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, x->md,
                         x->r->mctx);
        if (rc >= 0)
            return &x->r->v[i];
        if (limit_hit(rc))
            x->err = NT_ELIMIT;
    }
    return NULL;
}

/* Valid UTF-8 with "\n" line ends, at most MAX_TEXT bytes of s. */
static void
clean_text(nt_buf *out, const char *s)
{
    nt_buf fixed;
    size_t n = s ? strlen(s) : 0, i;

    if (n > MAX_TEXT)
        n = MAX_TEXT;
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
        x->err = NT_ELIMIT;
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
        const struct rule *ru;
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
                (ru = first_match(x, K_REASON, clean.data ? clean.data : "", clean.len)) != NULL) {
                reason = ru->reason;
                rule = ru->name;
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
    const struct rule *ru;
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
    clean_text(&body, m->text);
    if (head.err || body.err) {
        err = head.err ? head.err : body.err;
        goto out;
    }
    (void)nt_buf_cstr(&head);
    if (!first_match(x, K_NOTICE, head.data ? head.data : "", head.len))
        goto out;
    res->is_bounce = 1;
    hard = !first_match(x, K_TEMPORARY, body.data ? body.data : "", body.len) &&
           !first_match(x, K_TEMPORARY, head.data, head.len);
    ru = first_match(x, K_REASON, body.data ? body.data : "", body.len);
    if (ru)
        reason = ru->reason;
    for (i = 0; i < x->r->n && res->n < MAX_RECIPIENTS; i++) {
        const struct rule *rr = &x->r->v[i];
        PCRE2_SIZE start = 0, *ov;
        int rc, count = 0;

        if (rr->kind != K_RECIPIENT)
            continue;
        while (start <= body.len && count++ < MAX_MATCHES) {
            rc = pcre2_match(rr->code, (PCRE2_SPTR)(body.data ? body.data : ""), body.len, start,
                             PCRE2_NO_UTF_CHECK, x->md, x->r->mctx);
            if (rc < 0) {
                if (limit_hit(rc))
                    x->err = NT_ELIMIT;
                break;
            }
            ov = pcre2_get_ovector_pointer(x->md);
            if (rc >= 2 && ov[2] != PCRE2_UNSET && ov[3] > ov[2]) {
                err = scan_addresses(x, body.data + ov[2], ov[3] - ov[2], res, hard, reason,
                                     rr->name);
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
    x.r = r;
    x.err = NT_OK;
    x.cap = 0;
    x.md = pcre2_match_data_create(4, NULL);
    if (!x.md)
        return NT_ENOMEM;
    err = from_dsn(&x, m, out);
    if (!err && out->n > 0)
        out->is_bounce = 1;
    else if (!err)
        err = from_rules(&x, m, out);
    pcre2_match_data_free(x.md);
    if (err) {
        nt_bounce_result_release(out);
        return err;
    }
    (void)x.err; /* a limit hit only makes a rule miss; the result stands */
    return NT_OK;
}
