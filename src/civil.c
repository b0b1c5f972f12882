/*
 * Civil-calendar arithmetic and the text forms of times and durations.
 *
 * Everything here is pure integer arithmetic on the proleptic Gregorian
 * calendar (Howard Hinnant's days_from_civil / civil_from_days), so it reads
 * no clock, no TZ variable and no C library time state: the scheduler can
 * call it with any instant, and tests can move time freely.  The parsers
 * take text from command lines and campaign files, so they are strict and say
 * exactly what is wrong.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nurture/tz.h"

#include "banned.h"

/*
 * Beyond about 2^31 years a year no longer fits in an int; clamp day counts
 * well inside that so that no caller can make us overflow.
 */
#define DAYS_LIMIT INT64_C(700000000000)

/* The documented range of nt_time_parse: years 0001 to 9999. */
#define TIME_MIN INT64_C(-62135596800)
#define TIME_MAX INT64_C(253402300799)

/* "At most 10 years", counting a year as 365.25 days. */
#define DURATION_MAX INT64_C(315576000)

static int64_t
floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t
nt_days_from_civil(int y, int m, int d)
{
    /* Months outside 1..12 roll into neighbouring years, days outside the
     * month roll into neighbouring months: handy for "the 35th of March". */
    int64_t yy = (int64_t)y + floordiv((int64_t)m - 1, 12);
    int64_t mm = (int64_t)m - 1 - floordiv((int64_t)m - 1, 12) * 12 + 1;
    int64_t era, yoe, doy, doe;

    yy -= mm <= 2;
    era = (yy >= 0 ? yy : yy - 399) / 400;
    yoe = yy - era * 400;
    doy = (153 * (mm > 2 ? mm - 3 : mm + 9) + 2) / 5 + (int64_t)d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void
nt_civil_from_days(int64_t days, int *y, int *m, int *d)
{
    int64_t z, era, doe, yoe, doy, mp, yy;

    if (days > DAYS_LIMIT)
        days = DAYS_LIMIT;
    if (days < -DAYS_LIMIT)
        days = -DAYS_LIMIT;
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    yy = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

int
nt_weekday_from_days(int64_t days)
{
    /* 1970-01-01 was a Thursday. */
    return (int)(((days % 7) + 7 + 4) % 7);
}

static int
is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/*
 * Copy at most 48 bytes of untrusted text for a message, replacing anything
 * that is not printable ASCII so that a diagnostic cannot carry terminal
 * escapes.
 */
static void
quote(const char *s, char *out, size_t outsz)
{
    size_t i, n = 0;

    for (i = 0; s[i] && n + 4 < outsz && i < 48; i++)
        out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i] && n + 4 < outsz) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static nt_err bad(nt_diag *d, const char *what, const char *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static nt_err
bad(nt_diag *d, const char *what, const char *s, const char *fmt, ...)
{
    char q[64], why[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    quote(s, q, sizeof(q));
    return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "invalid %s '%s': %s", what, q, why);
}

static int
isdig(char c)
{
    return c >= '0' && c <= '9';
}

static int
isalpha_ascii(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Exactly n digits at s[*i]; advances *i. */
static int
fixed(const char *s, size_t *i, int n, int *out)
{
    int v = 0;

    for (int k = 0; k < n; k++) {
        if (!isdig(s[*i + (size_t)k]))
            return 0;
        v = v * 10 + (s[*i + (size_t)k] - '0');
    }
    *i += (size_t)n;
    *out = v;
    return 1;
}

#define TIME_FORMS "expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM] or @SECONDS"

static nt_err
parse_epoch(const char *s, int64_t *out, nt_diag *d)
{
    size_t i = 1;
    int neg = 0;
    int64_t v = 0;

    if (s[i] == '-') {
        neg = 1;
        i++;
    }
    if (!isdig(s[i]))
        return bad(d, "time", s, "expected seconds since 1970 after '@'");
    for (; isdig(s[i]); i++) {
        v = v * 10 + (s[i] - '0');
        if (v > TIME_MAX + 1)
            return bad(d, "time", s, "out of range (years 0001 to 9999)");
    }
    if (s[i])
        return bad(d, "time", s, "unexpected '%c' at column %zu", s[i], i + 1);
    if (neg)
        v = -v;
    if (v < TIME_MIN || v > TIME_MAX)
        return bad(d, "time", s, "out of range (years 0001 to 9999)");
    *out = v;
    return NT_OK;
}

nt_err
nt_time_parse(const char *s, int64_t *out, nt_diag *d)
{
    size_t i = 0;
    int y, mo, dd, h = 0, mi = 0, se = 0, oh = 0, om = 0, sign = 0;
    int64_t t;

    if (!s || !*s)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "empty time; " TIME_FORMS);
    if (s[0] == '@')
        return parse_epoch(s, out, d);
    if (!fixed(s, &i, 4, &y) || s[i] != '-')
        return bad(d, "time", s, TIME_FORMS);
    i++;
    if (!fixed(s, &i, 2, &mo) || s[i] != '-')
        return bad(d, "time", s, "expected a two-digit month and '-' at column 6; " TIME_FORMS);
    i++;
    if (!fixed(s, &i, 2, &dd))
        return bad(d, "time", s, "expected a two-digit day at column 9; " TIME_FORMS);
    if (y < 1)
        return bad(d, "time", s, "year %04d out of range (0001 to 9999)", y);
    if (mo < 1 || mo > 12)
        return bad(d, "time", s, "month %02d out of range (01 to 12)", mo);
    if (dd < 1 || dd > month_days(y, mo))
        return bad(d, "time", s, "day %02d out of range for %04d-%02d (01 to %02d)", dd, y, mo,
                   month_days(y, mo));
    if (s[i] == 'T' || s[i] == 't' || s[i] == ' ') {
        i++;
        if (!fixed(s, &i, 2, &h) || s[i] != ':')
            return bad(d, "time", s, "expected HH:MM at column %zu", i + 1);
        i++;
        if (!fixed(s, &i, 2, &mi))
            return bad(d, "time", s, "expected two-digit minutes at column %zu", i + 1);
        if (s[i] == ':') {
            i++;
            if (!fixed(s, &i, 2, &se))
                return bad(d, "time", s, "expected two-digit seconds at column %zu", i + 1);
            /* Fractions of a second (RFC 3339 allows them) are dropped. */
            if (s[i] == '.' && isdig(s[i + 1]))
                for (i++; isdig(s[i]); i++)
                    ;
        }
        if (h > 23)
            return bad(d, "time", s, "hour %02d out of range (00 to 23)", h);
        if (mi > 59)
            return bad(d, "time", s, "minute %02d out of range (00 to 59)", mi);
        if (se > 59)
            return bad(d, "time", s, "second %02d out of range (00 to 59)", se);
        if (s[i] == 'Z' || s[i] == 'z') {
            i++;
        } else if (s[i] == '+' || s[i] == '-') {
            sign = s[i] == '-' ? -1 : 1;
            i++;
            if (!fixed(s, &i, 2, &oh))
                return bad(d, "time", s, "expected a UTC offset +HH:MM at column %zu", i + 1);
            if (s[i] == ':')
                i++;
            if (isdig(s[i]) && !fixed(s, &i, 2, &om))
                return bad(d, "time", s, "expected offset minutes at column %zu", i + 1);
            if (oh > 23 || om > 59)
                return bad(d, "time", s, "UTC offset out of range (at most 23:59)");
        }
    }
    if (s[i])
        return bad(d, "time", s, "unexpected '%c' at column %zu; " TIME_FORMS, s[i], i + 1);
    t = nt_days_from_civil(y, mo, dd) * 86400 + h * 3600 + mi * 60 + se;
    t -= (int64_t)sign * (oh * 3600 + om * 60);
    if (t < TIME_MIN || t > TIME_MAX)
        return bad(d, "time", s, "out of range (years 0001 to 9999)");
    *out = t;
    return NT_OK;
}

/* Split t into whole days since the epoch and seconds into that day. */
static void
split(int64_t t, nt_civil *c)
{
    int64_t days = t / 86400, secs = t % 86400;

    /* Floor division without t - days * 86400, which overflows near
     * INT64_MIN. */
    if (secs < 0) {
        secs += 86400;
        days--;
    }

    nt_civil_from_days(days, &c->year, &c->month, &c->day);
    c->hour = (int)(secs / 3600);
    c->min = (int)(secs / 60 % 60);
    c->sec = (int)(secs % 60);
    c->wday = nt_weekday_from_days(days);
}

void
nt_time_format_utc(int64_t t, char *out, size_t outsz)
{
    nt_civil c;

    if (!out || !outsz)
        return;
    split(t, &c);
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day, c.hour, c.min,
             c.sec);
}

void
nt_time_format_local(const nt_tz *tz, int64_t t, char *out, size_t outsz)
{
    nt_civil c;

    if (!out || !outsz)
        return;
    nt_tz_to_local(tz, t, &c);
    snprintf(out, outsz, "%04d-%02d-%02d %02d:%02d %s", c.year, c.month, c.day, c.hour, c.min,
             c.abbrev);
}

void
nt_time_format_rfc5322(int64_t t, char *out, size_t outsz)
{
    static const char wdays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    nt_civil c;

    if (!out || !outsz)
        return;
    split(t, &c);
    snprintf(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d +0000", wdays[c.wday], c.day,
             months[c.month - 1], c.year, c.hour, c.min, c.sec);
}

static const struct unit {
    char name;
    int64_t secs;
} units[] = {{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};

#define NUNITS (sizeof(units) / sizeof(units[0]))

nt_err
nt_duration_parse(const char *s, int64_t *out, nt_diag *d)
{
    size_t i = 0, u;
    int64_t total = 0;
    int groups = 0;

    if (!s)
        s = "";
    for (;;) {
        int64_t v = 0;
        size_t start;

        while (s[i] == ' ' || s[i] == '\t')
            i++;
        if (!s[i])
            break;
        if (s[i] == '-')
            return bad(d, "duration", s, "durations cannot be negative");
        if (!isdig(s[i]))
            return bad(d, "duration", s,
                       "expected a number at column %zu (a duration looks like 3d, "
                       "1d12h or 90m)",
                       i + 1);
        start = i;
        for (; isdig(s[i]); i++) {
            v = v * 10 + (s[i] - '0');
            if (v > DURATION_MAX)
                return bad(d, "duration", s, "longer than 10 years");
        }
        while (s[i] == ' ' || s[i] == '\t')
            i++;
        if (!s[i])
            return bad(d, "duration", s,
                       "the number at column %zu has no unit (use w, d, h, m or s)", start + 1);
        for (u = 0; u < NUNITS; u++)
            if (units[u].name == s[i])
                break;
        if (u == NUNITS || isalpha_ascii(s[i + 1])) {
            /* Name the whole word: "3 days" is clearer as 'days' than 'a'. */
            size_t w = i + 1;
            while (isalpha_ascii(s[w]) && w - i < 16)
                w++;
            return bad(d, "duration", s, "unknown unit '%.*s' at column %zu (use w, d, h, m or s)",
                       (s[i] > 0x20 && s[i] < 0x7f) ? (int)(w - i) : 1,
                       (s[i] > 0x20 && s[i] < 0x7f) ? s + i : "?", i + 1);
        }
        i++;
        if (v > (DURATION_MAX - total) / units[u].secs)
            return bad(d, "duration", s, "longer than 10 years");
        total += v * units[u].secs;
        groups++;
    }
    if (!groups)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                           "empty duration (a duration looks like 3d, 1d12h or 90m)");
    *out = total;
    return NT_OK;
}

void
nt_duration_format(int64_t secs, char *out, size_t outsz)
{
    size_t pos = 0;

    if (!out || !outsz)
        return;
    out[0] = '\0';
    if (secs < 0) {
        /* Not something the parser reads back, but say it plainly. */
        if (secs < -DURATION_MAX * 1000)
            secs = -DURATION_MAX * 1000;
        snprintf(out, outsz, "-");
        pos = 1;
        secs = -secs;
    }
    if (secs == 0) {
        snprintf(out + pos, outsz > pos ? outsz - pos : 0, "0s");
        return;
    }
    /*
     * Written the way a person reads a campaign: whole weeks as weeks,
     * anything else largest unit first from days down ("13d10m", "1d12h"),
     * never a pile of hours or seconds.
     */
    for (size_t u = secs % units[0].secs == 0 ? 0 : 1; u < NUNITS; u++) {
        int64_t n = secs / units[u].secs;
        int w;

        secs %= units[u].secs;
        if (!n)
            continue;
        if (pos >= outsz)
            return;
        w = snprintf(out + pos, outsz - pos, "%lld%c", (long long)n, units[u].name);
        if (w < 0)
            return;
        pos += (size_t)w;
    }
}
