/*
 * IMAP response reading (see imap_resp.h): a hand-written scanner for the
 * few shapes the mailbox source meets.  Every read is bounds-checked
 * against the end of the input; nesting of parenthesised lists is capped,
 * so a hostile server cannot make the scanner recurse without end.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "imap_resp.h"

#include "banned.h"

#define MAX_DEPTH 32

/* The end of the line that starts at p: the offset of its "\r\n" or "\n". */
static size_t
line_end(const char *p, size_t n)
{
    const char *nl = memchr(p, '\n', n);
    size_t e = nl ? (size_t)(nl - p) : n;

    if (e > 0 && p[e - 1] == '\r')
        e--;
    return e;
}

static int
span_is(nt_imap_span s, const char *word)
{
    return s.n == strlen(word) && strncasecmp(s.p, word, s.n) == 0;
}

static int
parse_u64(const char *p, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    size_t i;

    if (n == 0 || n > 19)
        return -1;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(p[i] - '0');
    }
    *v = x;
    return 0;
}

/* A run of bytes up to a space or the end (e), from p. */
static nt_imap_span
word(const char *p, const char *e)
{
    nt_imap_span s = {p, 0};

    while (p + s.n < e && p[s.n] != ' ')
        s.n++;
    return s;
}

static nt_imap_status
status_of(nt_imap_span w)
{
    if (span_is(w, "OK"))
        return NT_IMAP_OK;
    if (span_is(w, "NO"))
        return NT_IMAP_NO;
    if (span_is(w, "BAD"))
        return NT_IMAP_BAD;
    if (span_is(w, "BYE"))
        return NT_IMAP_BYE;
    if (span_is(w, "PREAUTH"))
        return NT_IMAP_PREAUTH;
    return NT_IMAP_NONE;
}

/* After a status word: " [code] text" or " text" or nothing. */
static void
status_text(const char *p, const char *e, nt_imap_resp *r)
{
    const char *close;

    if (p < e && *p == ' ')
        p++;
    if (p < e && *p == '[' && (close = memchr(p, ']', (size_t)(e - p))) != NULL) {
        r->code.p = p + 1;
        r->code.n = (size_t)(close - p - 1);
        p = close + 1;
        if (p < e && *p == ' ')
            p++;
    }
    r->text.p = p;
    r->text.n = (size_t)(e - p);
}

int
nt_imap_line_literal(const char *line, size_t n, int first, uint64_t *len)
{
    size_t e = line_end(line, n), i;
    const char *p;
    nt_imap_span w;

    if (e == 0 || line[e - 1] != '}')
        return 0;
    if (first) {
        const char *end = line + e;
        if (line[0] == '+')
            return 0;
        w = word(line, end); /* tag or "*" */
        p = line + w.n + (w.n < e ? 1 : 0);
        w = word(p, end);
        if (w.n && isdigit((unsigned char)w.p[0])) { /* "* 3 FETCH" */
            p = w.p + w.n + (w.p + w.n < end ? 1 : 0);
            w = word(p, end);
        }
        if (status_of(w) != NT_IMAP_NONE)
            return 0;
    }
    i = e - 1;
    if (i > 0 && line[i - 1] == '+')
        i--;
    p = line + i;
    while (p > line && isdigit((unsigned char)p[-1]))
        p--;
    if (p == line + i || p == line || p[-1] != '{')
        return 0;
    if (parse_u64(p, (size_t)(line + i - p), len) != 0 || *len > NT_IMAP_LITERAL_MAX)
        return 0;
    return 1;
}

static int
parse_untagged(const char *p, const char *e, nt_imap_resp *r)
{
    nt_imap_span w = word(p, e);

    if (w.n && isdigit((unsigned char)w.p[0])) {
        if (parse_u64(w.p, w.n, &r->number) != 0)
            return -1;
        r->has_number = 1;
        p = w.p + w.n;
        if (p >= e || *p != ' ')
            return -1;
        w = word(p + 1, e);
    }
    if (w.n == 0)
        return -1;
    r->status = r->has_number ? NT_IMAP_NONE : status_of(w);
    p = w.p + w.n;
    if (r->status != NT_IMAP_NONE) {
        status_text(p, e, r);
        return 0;
    }
    r->name = w;
    if (p < e && *p == ' ')
        p++;
    r->rest.p = p;
    r->rest.n = (size_t)(e - p);
    return 0;
}

int
nt_imap_parse(const char *p, size_t n, nt_imap_resp *r)
{
    size_t first = line_end(p, n), end = n;
    nt_imap_span w;

    memset(r, 0, sizeof(*r));
    if (n == 0 || p[n - 1] != '\n')
        return -1;
    end = n - 1;
    if (end > 0 && p[end - 1] == '\r')
        end--;
    if (p[0] == '+') {
        r->kind = NT_IMAP_CONTINUE;
        status_text(p + 1, p + first, r);
        return 0;
    }
    if (first >= 2 && p[0] == '*' && p[1] == ' ') {
        r->kind = NT_IMAP_UNTAGGED;
        return parse_untagged(p + 2, p + end, r);
    }
    r->kind = NT_IMAP_TAGGED;
    w = word(p, p + first);
    if (w.n == 0 || w.n >= first)
        return -1;
    r->tag = w;
    w = word(p + w.n + 1, p + first);
    r->status = status_of(w);
    if (r->status != NT_IMAP_OK && r->status != NT_IMAP_NO && r->status != NT_IMAP_BAD)
        return -1;
    status_text(w.p + w.n, p + first, r);
    return 0;
}

int
nt_imap_next_number(const char **s, const char *end, uint64_t *v)
{
    const char *p = *s, *q;

    while (p < end && *p == ' ')
        p++;
    if (p == end) {
        *s = p;
        return 0;
    }
    for (q = p; q < end && *q != ' '; q++)
        ;
    if (parse_u64(p, (size_t)(q - p), v) != 0)
        return -1;
    *s = q;
    return 1;
}

int
nt_imap_has_atom(nt_imap_span list, const char *atom)
{
    const char *p = list.p, *end = list.p + list.n;
    nt_imap_span w;

    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        w = word(p, end);
        if (w.n && span_is(w, atom))
            return 1;
        p = w.p + w.n;
    }
    return 0;
}

int
nt_imap_code_number(nt_imap_span code, const char *name, uint64_t *v)
{
    nt_imap_span w = word(code.p, code.p + code.n);
    const char *p;

    if (!span_is(w, name))
        return 0;
    p = w.p + w.n;
    if (p >= code.p + code.n || *p != ' ')
        return 0;
    w = word(p + 1, code.p + code.n);
    return parse_u64(w.p, w.n, v) == 0;
}

/* --- FETCH item lists -------------------------------------------------- */

typedef struct scan {
    const char *p;
    const char *end;
} scan;

/* A value's extent (for BODY[]: what is inside, and how it was written). */
typedef struct value {
    nt_imap_span s;
    int nil;
    int quoted;
} value;

static int skip_value(scan *sc, int depth, value *out);

static int
read_quoted(scan *sc, value *out)
{
    const char *start = ++sc->p;

    while (sc->p < sc->end && *sc->p != '"') {
        if (*sc->p == '\r' || *sc->p == '\n')
            return -1;
        if (*sc->p == '\\')
            sc->p++;
        sc->p++;
    }
    if (sc->p >= sc->end)
        return -1;
    out->s.p = start;
    out->s.n = (size_t)(sc->p - start);
    out->quoted = 1;
    sc->p++;
    return 0;
}

static int
read_literal(scan *sc, value *out)
{
    const char *close = memchr(sc->p, '}', (size_t)(sc->end - sc->p));
    const char *digits = sc->p + 1;
    size_t nd;
    uint64_t len;

    if (!close)
        return -1;
    nd = (size_t)(close - digits);
    if (nd > 0 && digits[nd - 1] == '+')
        nd--;
    if (parse_u64(digits, nd, &len) != 0)
        return -1;
    sc->p = close + 1;
    if (sc->p < sc->end && *sc->p == '\r')
        sc->p++;
    if (sc->p >= sc->end || *sc->p != '\n')
        return -1;
    sc->p++;
    if (len > (uint64_t)(sc->end - sc->p))
        return -1;
    out->s.p = sc->p;
    out->s.n = (size_t)len;
    sc->p += len;
    return 0;
}

static int
read_list(scan *sc, int depth)
{
    value ignored;

    if (depth >= MAX_DEPTH)
        return -1;
    sc->p++;
    for (;;) {
        while (sc->p < sc->end && *sc->p == ' ')
            sc->p++;
        if (sc->p >= sc->end)
            return -1;
        if (*sc->p == ')') {
            sc->p++;
            return 0;
        }
        if (skip_value(sc, depth + 1, &ignored) != 0)
            return -1;
    }
}

/* An atom, number, NIL or flag: up to a delimiter; brackets may hold
 * spaces and parentheses ("BODY[HEADER.FIELDS (FROM)]"). */
static int
read_atom(scan *sc, value *out)
{
    const char *start = sc->p;
    int in_bracket = 0;

    while (sc->p < sc->end) {
        char c = *sc->p;
        if (c == '[')
            in_bracket = 1;
        else if (c == ']')
            in_bracket = 0;
        else if (!in_bracket && (c == ' ' || c == '(' || c == ')' || c == '"' || c == '{'))
            break;
        else if (c == '\r' || c == '\n')
            break;
        sc->p++;
    }
    if (sc->p == start || in_bracket)
        return -1;
    out->s.p = start;
    out->s.n = (size_t)(sc->p - start);
    out->nil = span_is(out->s, "NIL");
    return 0;
}

static int
skip_value(scan *sc, int depth, value *out)
{
    memset(out, 0, sizeof(*out));
    if (sc->p >= sc->end)
        return -1;
    switch (*sc->p) {
    case '"':
        return read_quoted(sc, out);
    case '{':
        return read_literal(sc, out);
    case '(':
        out->s.p = sc->p;
        if (read_list(sc, depth) != 0)
            return -1;
        out->s.n = (size_t)(sc->p - out->s.p);
        return 0;
    default:
        return read_atom(sc, out);
    }
}

/* Take note of one "NAME value" pair. */
static int
fetch_item(const value *name, const value *v, nt_imap_fetch *f)
{
    if (span_is(name->s, "UID")) {
        if (v->quoted || parse_u64(v->s.p, v->s.n, &f->uid) != 0)
            return -1;
        f->has_uid = 1;
    } else if (span_is(name->s, "BODY[]")) {
        f->has_body = 1;
        f->body_nil = v->nil;
        f->body_quoted = v->quoted;
        f->body = v->nil ? (nt_imap_span){"", 0} : v->s;
    }
    return 0;
}

int
nt_imap_parse_fetch(nt_imap_span rest, nt_imap_fetch *f)
{
    scan sc = {rest.p, rest.p + rest.n};
    value name, v;

    memset(f, 0, sizeof(*f));
    if (sc.p >= sc.end || *sc.p != '(')
        return -1;
    sc.p++;
    for (;;) {
        while (sc.p < sc.end && *sc.p == ' ')
            sc.p++;
        if (sc.p >= sc.end)
            return -1;
        if (*sc.p == ')')
            return 0;
        if (read_atom(&sc, &name) != 0 || sc.p >= sc.end || *sc.p != ' ')
            return -1;
        sc.p++;
        if (skip_value(&sc, 0, &v) != 0 || fetch_item(&name, &v, f) != 0)
            return -1;
    }
}
