/*
 * Attribution of inbound mail to the send it answers, by verified tokens
 * (attribute.h).  Untrusted input throughout: every header is bounded by
 * what nt_token_find accepts, and a candidate that fails to verify is only
 * ever reported.
 */
#include <string.h>
#include <strings.h>

#include "nurture/attribute.h"

#include "banned.h"

static const char *const method_names[] = {
    "none",   "verp", "unsubscribe-token", "in-reply-to", "references", "returned-message-id",
    "sender",
};

const char *
nt_attr_method_name(nt_attr_method m)
{
    return (unsigned)m < sizeof(method_names) / sizeof(method_names[0]) ? method_names[m] : "?";
}

/* Headers that may hold the address the message was delivered to, most
 * specific first. */
static const char *const rcpt_headers[] = {
    "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To", "Cc", NULL,
};

static int
is_b32(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
}

/* Copy s[0..n) into out (size NT_TOKEN_MAX), truncated. */
static void
copy_token(char *out, const char *s, size_t n)
{
    if (n > NT_TOKEN_MAX - 1)
        n = NT_TOKEN_MAX - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

static void
copy_where(char *out, const char *where)
{
    size_t n = strlen(where);

    if (n > 31)
        n = 31;
    memcpy(out, where, n);
    out[n] = '\0';
}

typedef struct finder {
    const nt_token_key *k;
    nt_attribution *out;
} finder;

/*
 * Try one candidate: the text handed to nt_token_find (`text`) and the
 * token inside it (`tok`, for the record).  1 when it verified.
 */
static int
try_candidate(finder *f, nt_token_kind kind, nt_attr_method by, const char *where, const char *text,
              size_t len, const char *tok, size_t toklen)
{
    nt_attribution *out = f->out;
    int64_t id = 0;
    nt_err err;

    if (!f->k || !f->k->ready) {
        if (!out->token[0]) {
            copy_token(out->token, tok, toklen);
            copy_where(out->where, where);
        }
        return 0;
    }
    err = nt_token_find(f->k, kind, text, len, &id);
    if (err == NT_OK) {
        out->by = by;
        out->send_id = id;
        copy_token(out->token, tok, toklen);
        copy_where(out->where, where);
        return 1;
    }
    if (err == NT_EINVAL && !out->forged) {
        out->forged = 1;
        copy_where(out->forged_where, where);
        copy_token(out->forged_token, tok, toklen);
    }
    return 0;
}

/* The address inside one comma-separated element [s, e): within <> when
 * present, else trimmed. */
static void
element_address(const char *s, const char *e, const char **as, const char **ae)
{
    const char *lt = memchr(s, '<', (size_t)(e - s));

    if (lt) {
        const char *gt = memchr(lt, '>', (size_t)(e - lt));
        s = lt + 1;
        e = gt ? gt : e;
    }
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        e--;
    *as = s;
    *ae = e;
}

/* One address: a VERP or unsubscribe candidate when its local part is
 * "<bounce_local>+..." or "unsubscribe+...".  1 when it verified. */
static int
try_address(finder *f, const char *where, const char *s, const char *e, const char *bounce_local)
{
    size_t bl = strlen(bounce_local), len = (size_t)(e - s);
    const char *plus = memchr(s, '+', len), *at = NULL;

    for (const char *p = e; p > s; p--)
        if (p[-1] == '@') {
            at = p - 1;
            break;
        }
    if (!plus || !at || plus > at || len >= NT_TOKEN_FIND_MAX)
        return 0;
    if ((size_t)(plus - s) == bl && !strncasecmp(s, bounce_local, bl))
        return try_candidate(f, NT_TOKEN_BOUNCE, NT_ATTR_VERP, where, s, len, plus + 1,
                             (size_t)(at - plus - 1));
    if (plus - s == 11 && !strncasecmp(s, "unsubscribe", 11))
        return try_candidate(f, NT_TOKEN_UNSUB, NT_ATTR_UNSUB_TOKEN, where, s, len, plus + 1,
                             (size_t)(at - plus - 1));
    return 0;
}

/* Every address of a header value.  1 when one verified. */
static int
try_addresses(finder *f, const char *where, const char *v, const char *bounce_local)
{
    const char *s = v;

    while (*s) {
        const char *e = strchr(s, ','), *as, *ae;
        if (!e)
            e = s + strlen(s);
        element_address(s, e, &as, &ae);
        if (ae > as && try_address(f, where, as, ae, bounce_local))
            return 1;
        s = *e ? e + 1 : e;
    }
    return 0;
}

/* A Message-ID "<left@right>" (or bare) [s, e): a candidate when its left
 * part has a token's shape.  1 when it verified. */
static int
try_msgid(finder *f, nt_attr_method by, const char *where, const char *s, const char *e)
{
    const char *at = memchr(s, '@', (size_t)(e - s));
    size_t n;

    if (*s == '<')
        s++;
    if (!at || at <= s)
        return 0;
    n = (size_t)(at - s);
    if (n < NT_TOKEN_MIN_LEN || n > NT_TOKEN_MAX - 1)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_b32(s[i]))
            return 0;
    return try_candidate(f, NT_TOKEN_MSGID, by, where, s, (size_t)(e - s), s, n);
}

/* Each <id> of a References-like list, newest (last) first. */
static int
try_msgid_list(finder *f, nt_attr_method by, const char *where, const char *v)
{
    const char *end = v + strlen(v);

    while (end > v) {
        const char *gt = NULL, *lt = NULL;
        for (const char *p = end; p > v; p--)
            if (p[-1] == '>') {
                gt = p - 1;
                break;
            }
        if (!gt)
            break;
        for (const char *p = gt; p > v; p--)
            if (p[-1] == '<') {
                lt = p - 1;
                break;
            }
        if (!lt)
            break;
        if (try_msgid(f, by, where, lt, gt + 1))
            return 1;
        end = lt;
    }
    return 0;
}

/* A bare id (In-Reply-To without <>, or the DSN's returned id). */
static int
try_bare_or_list(finder *f, nt_attr_method by, const char *where, const char *v)
{
    if (strchr(v, '<'))
        return try_msgid_list(f, by, where, v);
    return try_msgid(f, by, where, v, v + strlen(v));
}

static int
try_delivery(finder *f, const nt_inmsg *m, const char *envelope_rcpt, const char *bounce_local)
{
    if (envelope_rcpt && try_addresses(f, "envelope", envelope_rcpt, bounce_local))
        return 1;
    for (size_t i = 0; i < m->nheaders; i++)
        for (const char *const *h = rcpt_headers; *h; h++)
            if (m->headers[i].name && m->headers[i].value && !strcasecmp(m->headers[i].name, *h) &&
                try_addresses(f, *h, m->headers[i].value, bounce_local))
                return 1;
    return 0;
}

void
nt_attribute(const nt_token_key *k, const nt_inmsg *m, const char *envelope_rcpt,
             const char *bounce_local, nt_attribution *out)
{
    finder f = {k, out};

    memset(out, 0, sizeof(*out));
    if (!bounce_local || !*bounce_local)
        bounce_local = "bounces";
    if (try_delivery(&f, m, envelope_rcpt, bounce_local))
        return;
    if (m->in_reply_to && try_bare_or_list(&f, NT_ATTR_IN_REPLY_TO, "In-Reply-To", m->in_reply_to))
        return;
    if (m->references && try_msgid_list(&f, NT_ATTR_REFERENCES, "References", m->references))
        return;
    if (m->returned_message_id)
        try_bare_or_list(&f, NT_ATTR_RETURNED_ID, "returned Message-ID", m->returned_message_id);
}
