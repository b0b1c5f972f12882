/*
 * Header blocks and multipart boundaries read in place (see mime_scan.h).
 * The rules follow GMime's parser for mail that is well-formed; where
 * GMime has a special case (an invalid first line, a part without
 * headers, a boundary inside a longer line, a multipart that never
 * closes), these functions decline and GMime reads the message.
 */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "mime_scan.h"

#include "banned.h"

static int
is_blank(int c)
{
    return c == ' ' || c == '\t';
}

/* GMime's linear white space: what may follow a boundary on its line. */
static int
is_lwsp(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
nt_mscan_push(nt_mscan_fields *f, const char *name, size_t nlen, const char *raw, size_t rlen)
{
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 32;
        nt_mscan_field *t = realloc(f->v, nc * sizeof(*t));

        if (!t)
            return 0;
        f->v = t;
        f->cap = nc;
    }
    f->v[f->n++] = (nt_mscan_field){name, nlen, raw, rlen};
    return 1;
}

/* The length of the field name that starts line[0..len), or 0 when the
 * line is not a field: GMime allows blanks between the name and ':' but
 * none inside the name, and no control characters. */
static size_t
field_name(const char *line, size_t len, size_t *colon)
{
    size_t j = 0, nlen;
    int blank = 0;

    for (; j < len && line[j] != ':'; j++) {
        unsigned char c = (unsigned char)line[j];

        if (is_blank(c))
            blank = 1;
        else if (blank || c < 0x20 || c == 0x7f)
            return 0;
    }
    if (j == len || j == 0)
        return 0;
    nlen = j;
    while (nlen > 0 && is_blank((unsigned char)line[nlen - 1]))
        nlen--;
    *colon = j;
    return nlen;
}

/* A line GMime does not take for a field: a blank or a control character
 * (the line break included) comes before any colon, or a blank is
 * followed by anything but a colon. */
static int
junk(const char *line, size_t len)
{
    int blank = 0;

    for (size_t j = 0; j < len; j++) {
        unsigned char c = (unsigned char)line[j];

        if (c == ':')
            return 0;
        if (is_blank(c))
            blank = 1;
        else if (blank || c < 0x20 || c == 0x7f)
            return 1;
    }
    return 1;
}

/* An mbox "From " line (or a munged ">From "), which GMime skips before
 * the first field of a message. */
static int
from_line(const char *line, size_t len)
{
    if (len > 0 && line[0] == '>') {
        line++;
        len--;
    }
    return len >= 5 && memcmp(line, "From ", 5) == 0;
}

nt_mscan_rc
nt_mscan_headers(const char *s, size_t n, int flags, nt_mscan_fields *out, size_t *body)
{
    size_t i = 0, first = out->n;
    int to_end = (flags & NT_MSCAN_TO_END) != 0;

    while (i < n) {
        const char *line = s + i, *nl = memchr(line, '\n', n - i);
        size_t len = nl ? (size_t)(nl - line) : n - i;
        size_t next = nl ? i + len + 1 : n;
        size_t nlen, colon;

        if (memchr(line, '\0', len) || (!nl && !to_end))
            return NT_MSCAN_DECLINE;
        if (len == 0 || (len == 1 && line[0] == '\r')) {
            if (!nl || (out->n == first && !(flags & NT_MSCAN_SKIP_JUNK)))
                return NT_MSCAN_DECLINE;
            *body = next;
            return NT_MSCAN_OK;
        }
        if (out->n == first && (flags & NT_MSCAN_SKIP_JUNK) && junk(line, len)) {
            i = next; /* GMime skips what comes before a part's first field */
            continue;
        }
        if (is_blank((unsigned char)line[0])) { /* a fold of the field before */
            nt_mscan_field *f;

            if (out->n == first)
                return NT_MSCAN_DECLINE;
            f = &out->v[out->n - 1];
            f->rlen = (size_t)(s + next - f->raw);
        } else {
            if ((nlen = field_name(line, len, &colon)) == 0) {
                if (!(flags & NT_MSCAN_FROM_LINES) || out->n > first || !from_line(line, len))
                    return NT_MSCAN_DECLINE;
                i = next; /* GMime keeps it aside as the mbox marker */
                continue;
            }
            if (!nt_mscan_push(out, line, nlen, line + colon + 1, next - (i + colon + 1)))
                return NT_MSCAN_NOMEM;
        }
        i = next;
    }
    if (!to_end || (out->n == first && !(flags & NT_MSCAN_SKIP_JUNK)))
        return NT_MSCAN_DECLINE;
    *body = n;
    return NT_MSCAN_OK;
}

/* What the line at s[o..) that starts with "--boundary" is: 2 the close,
 * 1 a delimiter, 0 neither (a longer line). le is the end of the line. */
static int
boundary_line(const char *s, size_t o, size_t le, size_t blen)
{
    size_t after = o + 2 + blen, k;

    if (after + 2 <= le && s[after] == '-' && s[after + 1] == '-') {
        for (k = after + 2; k < le && is_lwsp((unsigned char)s[k]); k++)
            ;
        if (k == le)
            return 2;
    }
    for (k = after; k < le && is_lwsp((unsigned char)s[k]); k++)
        ;
    return k == le ? 1 : 0;
}

static int
push_part(nt_mscan_part **v, size_t *n, size_t *cap, nt_mscan_part p)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        nt_mscan_part *t = realloc(*v, nc * sizeof(*t));

        if (!t)
            return 0;
        *v = t;
        *cap = nc;
    }
    (*v)[(*n)++] = p;
    return 1;
}

/* The next "--boundary" in s[from..n), as an offset, or n. */
static size_t
next_dash_boundary(const char *s, size_t n, size_t from, const char *b, size_t blen)
{
    while (from + 2 + blen <= n) {
        const char *p = memmem(s + from + 2, n - from - 2, b, blen);
        size_t o;

        if (!p)
            break;
        o = (size_t)(p - s) - 2;
        if (s[o] == '-' && s[o + 1] == '-')
            return o;
        from = o + 1;
    }
    return n;
}

nt_mscan_rc
nt_mscan_split(const char *s, size_t n, const char *boundary, size_t blen, nt_mscan_part **parts,
               size_t *nparts)
{
    nt_mscan_part *v = NULL, cur = {0, 0, 0};
    size_t nv = 0, cap = 0, o = 0;
    int open = 0;

    *parts = NULL;
    *nparts = 0;
    if (blen == 0 || is_lwsp((unsigned char)boundary[blen - 1]) || memchr(boundary, '\n', blen))
        return NT_MSCAN_DECLINE;
    for (;;) {
        const char *nl;
        size_t le;
        int kind;

        if ((o = next_dash_boundary(s, n, o, boundary, blen)) >= n)
            break;
        if (o > 0 && s[o - 1] != '\n')
            goto decline; /* inside a line: GMime may see it either way */
        nl = memchr(s + o, '\n', n - o);
        le = nl ? (size_t)(nl - s) : n;
        if ((kind = boundary_line(s, o, le, blen)) == 0)
            goto decline;
        if (open) {
            cur.end = o;
            cur.trim = le > o && s[le - 1] == '\r' ? 2 : 1;
            if (!push_part(&v, &nv, &cap, cur)) {
                free(v);
                return NT_MSCAN_NOMEM;
            }
        }
        if (kind == 2) {
            if (!open)
                goto decline; /* closed before any part */
            *parts = v;
            *nparts = nv;
            return NT_MSCAN_OK;
        }
        if (!nl)
            goto decline;
        cur.off = le + 1;
        open = 1;
        o = le + 1;
    }
decline:
    free(v);
    return NT_MSCAN_DECLINE;
}

int
nt_mscan_has(const char *s, size_t n, const char *needle, size_t m)
{
    return memmem(s, n, needle, m) != NULL;
}

static int
lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

size_t
nt_mscan_count_ci(const char *s, size_t n, const char *needle, size_t m, size_t max)
{
    size_t i, j, c = 0;

    if (m == 0)
        return max;
    for (i = 0; i + m <= n && c < max; i++) {
        if (lower((unsigned char)s[i]) != lower((unsigned char)needle[0]))
            continue;
        for (j = 1; j < m && lower((unsigned char)s[i + j]) == lower((unsigned char)needle[j]); j++)
            ;
        c += j == m;
    }
    return c;
}
