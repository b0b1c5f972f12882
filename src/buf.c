/*
 * nt_buf: the one growable buffer.  Errors are sticky so that a message can
 * be composed with many appends and checked once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/buf.h"

#include "banned.h"

void
nt_buf_init(nt_buf *b, size_t limit)
{
    memset(b, 0, sizeof(*b));
    b->limit = limit ? limit : NT_BUF_DEFAULT_LIMIT;
}

void
nt_buf_release(nt_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = NT_OK;
}

void
nt_buf_reset(nt_buf *b)
{
    b->len = 0;
    b->err = NT_OK;
    if (b->data)
        b->data[0] = '\0';
}

static int
grow(nt_buf *b, size_t extra)
{
    size_t need, ncap;
    char *n;

    if (b->err)
        return 0;
    if (extra > b->limit - b->len) {
        b->err = NT_ELIMIT;
        return 0;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 1;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
    n = realloc(b->data, ncap);
    if (!n) {
        b->err = NT_ENOMEM;
        return 0;
    }
    b->data = n;
    b->cap = ncap;
    return 1;
}

char *
nt_buf_detach(nt_buf *b, size_t *len_out)
{
    char *p;

    if (b->err) {
        nt_buf_release(b);
        return NULL;
    }
    if (!b->data && !grow(b, 0))
        return NULL;
    b->data[b->len] = '\0';
    p = b->data;
    if (len_out)
        *len_out = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void
nt_buf_add(nt_buf *b, const void *p, size_t n)
{
    if (!grow(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
nt_buf_adds(nt_buf *b, const char *s)
{
    nt_buf_add(b, s, strlen(s));
}

void
nt_buf_addc(nt_buf *b, char c)
{
    nt_buf_add(b, &c, 1);
}

void
nt_buf_vaddf(nt_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    if (b->err)
        return;
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || !grow(b, (size_t)n))
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void
nt_buf_addf(nt_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    nt_buf_vaddf(b, fmt, ap);
    va_end(ap);
}

const char *
nt_buf_cstr(nt_buf *b)
{
    if (!b->data)
        return "";
    return b->data;
}

void
nt_buf_add_html(nt_buf *b, const char *s, size_t n)
{
    size_t i, start = 0;

    for (i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            continue;
        }
        nt_buf_add(b, s + start, i - start);
        nt_buf_adds(b, rep);
        start = i + 1;
    }
    nt_buf_add(b, s + start, n - start);
}

void
nt_buf_add_json(nt_buf *b, const char *s, size_t n)
{
    size_t i;

    nt_buf_addc(b, '"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            nt_buf_addc(b, '\\');
            nt_buf_addc(b, (char)c);
        } else if (c == '\n') {
            nt_buf_adds(b, "\\n");
        } else if (c == '\r') {
            nt_buf_adds(b, "\\r");
        } else if (c == '\t') {
            nt_buf_adds(b, "\\t");
        } else if (c < 0x20) {
            nt_buf_addf(b, "\\u%04x", c);
        } else {
            nt_buf_addc(b, (char)c);
        }
    }
    nt_buf_addc(b, '"');
}
