/*
 * Fuzz target for nt_time_parse and nt_duration_parse (src/civil.c).  The
 * input is used as a NUL-terminated string.  Whatever parses must format and
 * parse back to the same value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[512], out[128];
    int64_t v, back;
    nt_diag d;

    if (size >= sizeof(s))
        size = sizeof(s) - 1;
    memcpy(s, data, size);
    s[size] = '\0';

    if (nt_time_parse(s, &v, &d) == NT_OK) {
        nt_time_format_utc(v, out, sizeof(out));
        if (nt_time_parse(out, &back, &d) != NT_OK || back != v)
            abort();
        nt_time_format_rfc5322(v, out, sizeof(out));
        nt_time_format_local(nt_tz_utc(), v, out, sizeof(out));
    } else if (!d.msg[0]) {
        abort();
    }

    if (nt_duration_parse(s, &v, &d) == NT_OK) {
        if (v < 0 || v > INT64_C(315576000))
            abort();
        nt_duration_format(v, out, sizeof(out));
        if (nt_duration_parse(out, &back, &d) != NT_OK || back != v)
            abort();
    } else if (!d.msg[0]) {
        abort();
    }
    return 0;
}
