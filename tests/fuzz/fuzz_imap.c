/*
 * Fuzz target for the IMAP response reader (src/imap_resp.c), which reads
 * whatever an IMAP server sends back.  The input is taken as one complete
 * response (literals included) and as a FETCH item list: every span the
 * reader returns must lie inside the input, numbers must parse without
 * reading past the end, and nothing may crash or recurse without bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap_resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lo, *hi;

static void
inside(nt_imap_span s)
{
    if (s.n && (s.p < lo || s.p > hi || s.n > (size_t)(hi - s.p)))
        abort();
}

static void
fetch(nt_imap_span rest)
{
    nt_imap_fetch f;

    if (nt_imap_parse_fetch(rest, &f) == 0 && f.has_body) {
        if (f.body_nil && f.body.n != 0)
            abort();
        inside(f.body);
    }
}

static void
numbers(nt_imap_span rest)
{
    const char *p = rest.p, *end = rest.p + rest.n;
    uint64_t v;
    size_t steps = 0;

    while (nt_imap_next_number(&p, end, &v) == 1)
        if (++steps > rest.n || p > end)
            abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nt_imap_resp r;
    nt_imap_span all;
    uint64_t v;
    char *p;

    p = malloc(size ? size : 1);
    if (!p)
        return 0;
    if (size)
        memcpy(p, data, size);
    lo = p;
    hi = p + size;
    (void)nt_imap_line_literal(p, size, 1, &v);
    if (nt_imap_line_literal(p, size, 0, &v) && v > NT_IMAP_LITERAL_MAX)
        abort();
    if (nt_imap_parse(p, size, &r) == 0) {
        inside(r.tag);
        inside(r.code);
        inside(r.text);
        inside(r.name);
        inside(r.rest);
        (void)nt_imap_code_number(r.code, "UIDVALIDITY", &v);
        (void)nt_imap_has_atom(r.rest, "MOVE");
        numbers(r.rest);
        fetch(r.rest);
    }
    all.p = p;
    all.n = size;
    fetch(all);
    free(p);
    return 0;
}
