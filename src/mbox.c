/*
 * The mbox format: where messages begin and end, and the mboxrd ">From "
 * escapes (see mbox.h).  A separator is "\nFrom " whose line is preceded by
 * an empty line ("\n" or "\r\n"); the search goes from line end to line
 * end with memchr, so a large file costs one pass.
 */
#include <string.h>

#include "mbox.h"

#include "banned.h"

/* Where a message that starts at `start` ends if the blank line before
 * offset k (the start of a "From " line) is a separator; 0 if it is not.
 * The '\n' that ends the envelope line, at start - 1, may serve as the end
 * of the line before the blank one (an empty message). */
static size_t
separator_end(const char *p, size_t start, size_t k)
{
    /* p[k - 1] == '\n' ends the line before "From ". */
    if (k >= start + 1 && p[k - 2] == '\n')
        return k - 1;
    if (k >= start + 2 && p[k - 2] == '\r' && p[k - 3] == '\n')
        return k - 2;
    return 0;
}

/* The end of the last message: the file's end less one trailing blank
 * line, which mbox writers add after every message. */
static size_t
last_end(const char *p, size_t start, size_t n)
{
    if (n >= start + 1 && p[n - 1] == '\n') {
        if (p[n - 2] == '\n')
            return n - 1;
        if (n >= start + 2 && p[n - 2] == '\r' && p[n - 3] == '\n')
            return n - 2;
    }
    return n;
}

int
nt_mbox_next(const char *p, size_t n, size_t *pos, nt_mbox_span *out)
{
    size_t from = *pos, start, s, k, end;
    const char *nl, *q;

    if (from >= n)
        return 0;
    if (n - from < 5 || memcmp(p + from, "From ", 5) != 0)
        return -1;
    nl = memchr(p + from, '\n', n - from);
    if (!nl) {
        out->from = from;
        out->start = n;
        out->len = 0;
        *pos = n;
        return 1;
    }
    start = (size_t)(nl - p) + 1;
    for (s = start - 1; s < n; s = k) {
        q = memchr(p + s, '\n', n - s);
        if (!q)
            break;
        k = (size_t)(q - p) + 1;
        if (n - k < 5 || memcmp(p + k, "From ", 5) != 0)
            continue;
        end = separator_end(p, start, k);
        if (end) {
            out->from = from;
            out->start = start;
            out->len = end - start;
            *pos = k;
            return 1;
        }
    }
    out->from = from;
    out->start = start;
    out->len = last_end(p, start, n) - start;
    *pos = n;
    return 1;
}

void
nt_mbox_unescape(const char *p, size_t n, nt_buf *out)
{
    size_t i = 0, j, eol;
    const char *nl;

    while (i < n) {
        nl = memchr(p + i, '\n', n - i);
        eol = nl ? (size_t)(nl - p) + 1 : n;
        for (j = i; j < eol && p[j] == '>'; j++)
            ;
        if (j > i && eol - j >= 5 && memcmp(p + j, "From ", 5) == 0)
            i++;
        nt_buf_add(out, p + i, eol - i);
        i = eol;
    }
}
