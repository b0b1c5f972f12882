/*
 * Fuzz target for the TZif reader (src/tz.c).  Each input is parsed twice:
 * as a whole TZif file, and as the POSIX TZ footer of a minimal version 2
 * file, so that the rule parser gets explored directly.  When a zone comes
 * out, a few conversions must stay sane: calendar fields in range, and
 * from_local never further from the local time than any real offset.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
exercise(const nt_tz *tz, const uint8_t *data, size_t size)
{
    int64_t ts[12] = {INT64_MIN,  -(INT64_C(1) << 40), -2208988800,      0,        1775000000,
                      2224000000, 4102444800,          INT64_C(1) << 40, INT64_MAX};
    size_t n = 9;

    /* A few instants picked by the input, to reach odd corners. */
    for (size_t i = 0; i + 8 <= size && n < 12; i += size / 3 + 8) {
        uint64_t v = 0;
        for (int k = 0; k < 8; k++)
            v = v << 8 | data[i + (size_t)k];
        ts[n++] = (int64_t)v;
    }
    for (size_t i = 0; i < n; i++) {
        nt_civil c;
        int64_t local, back;

        nt_tz_to_local(tz, ts[i], &c);
        if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31 || c.hour < 0 || c.hour > 23 ||
            c.min < 0 || c.min > 59 || c.sec < 0 || c.sec > 59 || c.wday < 0 || c.wday > 6 ||
            c.abbrev[sizeof(c.abbrev) - 1] != '\0')
            abort();
        if (nt_tz_offset(tz, ts[i]) != c.utc_offset)
            abort();
        back = nt_tz_from_local(tz, &c);
        local =
            nt_days_from_civil(c.year, c.month, c.day) * 86400 + c.hour * 3600 + c.min * 60 + c.sec;
        if (back - local > 2 * 93600 || local - back > 2 * 93600)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A version 2 file with no transitions, one type, and a footer. */
    static const unsigned char head[] = {'T', 'Z', 'i', 'f', '2', 0, 0, 0, 0,   0,   0,   0, 0, 0,
                                         0,   0,   0,   0,   0,   0, 0, 0, 0,   0,   0,   0, 0, 0,
                                         0,   0,   0,   0,   0,   0, 0, 0, 0,   0,   0,   1, 0, 0,
                                         0,   4,   0,   0,   0,   0, 0, 0, 'L', 'M', 'T', 0};
    unsigned char file[2 * sizeof(head) + 2 + 256];
    nt_tz *tz = NULL;
    nt_diag d;

    if (nt_tz_parse("Fuzz/Zone", data, size, &tz, &d) == NT_OK) {
        exercise(tz, data, size);
        nt_tz_free(tz);
    }

    if (size <= 256 && !memchr(data, '\n', size)) {
        memcpy(file, head, sizeof(head));
        memcpy(file + sizeof(head), head, sizeof(head));
        file[2 * sizeof(head)] = '\n';
        memcpy(file + 2 * sizeof(head) + 1, data, size);
        file[2 * sizeof(head) + 1 + size] = '\n';
        if (nt_tz_parse("Fuzz/Rule", file, 2 * sizeof(head) + 2 + size, &tz, &d) == NT_OK) {
            exercise(tz, data, size);
            nt_tz_free(tz);
        }
    }
    return 0;
}
