/*
 * Strict UTF-8 decoding (see utf8.h): one definition of "valid text" for
 * the importer, the template engine and the message composer.
 */
#include "nurture/utf8.h"

#include "banned.h"

size_t
nt_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* Past the ASCII run of u[i..n): most mail text is all ASCII, and one
 * comparison a byte is much cheaper than a call. */
static size_t
skip_ascii(const unsigned char *u, size_t i, size_t n)
{
    while (i < n && u[i] < 0x80)
        i++;
    return i;
}

int
nt_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;

    for (size_t i = skip_ascii(u, 0, n); i < n; i = skip_ascii(u, i, n)) {
        size_t l = nt_utf8_seq(u + i, n - i);
        if (!l)
            return 0;
        i += l;
    }
    return 1;
}

void
nt_utf8_add_valid(nt_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, start = 0;

    while ((i = skip_ascii(u, i, n)) < n) {
        size_t l = nt_utf8_seq(u + i, n - i);
        if (l) {
            i += l;
            continue;
        }
        nt_buf_add(b, s + start, i - start);
        nt_buf_adds(b, "\xef\xbf\xbd");
        i++;
        start = i;
    }
    nt_buf_add(b, s + start, n - start);
}
