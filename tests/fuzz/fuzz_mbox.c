/*
 * Fuzz target for the mbox splitter and unescaper (src/mbox.c), which read
 * mbox files of any origin.  Any input must split into spans that lie
 * inside it, in order, each starting at its "From " line, with progress on
 * every step; unescaping a span never makes it longer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nt_mbox_span s;
    nt_buf out;
    size_t pos = 0, before, steps = 0;
    char *p;
    int r;

    /* An exact-size copy, so that ASan sees any read past the end. */
    p = malloc(size ? size : 1);
    if (!p)
        return 0;
    if (size)
        memcpy(p, data, size);
    nt_buf_init(&out, NT_BUF_DEFAULT_LIMIT);
    for (;;) {
        before = pos;
        r = nt_mbox_next(p, size, &pos, &s);
        if (r == 0) {
            if (pos != size)
                abort();
            break;
        }
        if (r < 0) {
            if (pos != before || (before == 0 && size >= 5 && memcmp(p, "From ", 5) == 0))
                abort();
            break;
        }
        if (r != 1 || s.from != before || memcmp(p + s.from, "From ", 5) != 0)
            abort();
        if (s.start <= s.from || s.start > size || s.len > size - s.start)
            abort();
        if (pos <= before || pos > size || pos < s.start + s.len)
            abort();
        if (pos < size && (size - pos < 5 || memcmp(p + pos, "From ", 5) != 0))
            abort();
        nt_buf_reset(&out);
        nt_mbox_unescape(p + s.start, s.len, &out);
        if (out.err != NT_OK || out.len > s.len)
            abort();
        if (++steps > size + 1)
            abort();
    }
    nt_buf_release(&out);
    free(p);
    return 0;
}
