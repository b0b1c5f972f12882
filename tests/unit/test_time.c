/*
 * Tests for src/civil.c: calendar arithmetic, parsing and formatting of
 * times and durations.  glibc's gmtime_r/timegm/strftime serve as oracles
 * here (the library itself may not use them).
 */
#include <limits.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nurture/tz.h"

#include "t.h"

static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
    return nt_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static void
test_days(void)
{
    int y, m, d, bad = 0;

    CHECK_INT(nt_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(nt_days_from_civil(1969, 12, 31), -1);
    CHECK_INT(nt_days_from_civil(2000, 3, 1), 11017);
    CHECK_INT(nt_days_from_civil(2026, 11, 22), 20779);
    CHECK_INT(nt_days_from_civil(1, 1, 1), -719162);
    CHECK_INT(nt_days_from_civil(0, 3, 1), -719468);
    CHECK_INT(nt_days_from_civil(9999, 12, 31), 2932896);
    CHECK_INT(nt_days_from_civil(2024, 2, 29) + 1, nt_days_from_civil(2024, 3, 1));
    CHECK_INT(nt_days_from_civil(2100, 2, 28) + 1, nt_days_from_civil(2100, 3, 1));
    CHECK_INT(nt_days_from_civil(2000, 2, 29) + 1, nt_days_from_civil(2000, 3, 1));
    /* Out-of-range months and days roll over. */
    CHECK_INT(nt_days_from_civil(2026, 13, 1), nt_days_from_civil(2027, 1, 1));
    CHECK_INT(nt_days_from_civil(2026, 0, 1), nt_days_from_civil(2025, 12, 1));
    CHECK_INT(nt_days_from_civil(2026, -11, 1), nt_days_from_civil(2025, 1, 1));
    CHECK_INT(nt_days_from_civil(2026, 3, 0), nt_days_from_civil(2026, 2, 28));
    CHECK_INT(nt_days_from_civil(2026, 1, 32), nt_days_from_civil(2026, 2, 1));
    CHECK_INT(nt_days_from_civil(2026, 25, 1), nt_days_from_civil(2028, 1, 1));

    nt_civil_from_days(0, &y, &m, &d);
    CHECK(y == 1970 && m == 1 && d == 1);
    nt_civil_from_days(-1, &y, &m, &d);
    CHECK(y == 1969 && m == 12 && d == 31);
    nt_civil_from_days(20779, &y, &m, &d);
    CHECK(y == 2026 && m == 11 && d == 22);
    /* Huge inputs are clamped, not overflowed. */
    nt_civil_from_days(INT64_MAX, &y, &m, &d);
    CHECK(y > 1000000000 && m >= 1 && m <= 12);
    nt_civil_from_days(INT64_MIN, &y, &m, &d);
    CHECK(y < -1000000000 && m >= 1 && m <= 12);

    CHECK_INT(nt_weekday_from_days(0), 4);  /* Thursday */
    CHECK_INT(nt_weekday_from_days(-1), 3); /* Wednesday */
    CHECK_INT(nt_weekday_from_days(20779), 0);
    CHECK_INT(nt_weekday_from_days(-719162), 1); /* 0001-01-01 was a Monday */
    CHECK(nt_weekday_from_days(INT64_MIN) >= 0 && nt_weekday_from_days(INT64_MIN) < 7);

    /* Every day from year 1 to 9999 round-trips and agrees with glibc. */
    for (int64_t days = -719162; days <= 2932896; days++) {
        struct tm tm;
        time_t t = (time_t)(days * 86400);

        nt_civil_from_days(days, &y, &m, &d);
        if (nt_days_from_civil(y, m, d) != days)
            bad++;
        if (days % 7 == 0 || days % 31 == 0) {
            gmtime_r(&t, &tm);
            if (tm.tm_year + 1900 != y || tm.tm_mon + 1 != m || tm.tm_mday != d ||
                tm.tm_wday != nt_weekday_from_days(days))
                bad++;
        }
    }
    CHECK_INT(bad, 0);
}

static void
check_parse(const char *s, int64_t want)
{
    int64_t got = -42;
    nt_diag d;
    nt_err err;

    nt_diag_clear(&d);
    err = nt_time_parse(s, &got, &d);
    if (err != NT_OK)
        fprintf(stderr, "  \"%s\": %s\n", s, d.msg);
    CHECK_INT(err, NT_OK);
    CHECK_INT(got, want);
}

static void
check_parse_bad(const char *s, const char *msg)
{
    int64_t got = -42;
    nt_diag d;

    nt_diag_clear(&d);
    CHECK_INT(nt_time_parse(s, &got, &d), NT_EINVAL);
    CHECK_INT(got, -42);
    CHECK_CONTAINS(d.msg, msg);
}

static void
test_time_parse(void)
{
    /* The documented forms. */
    check_parse("2026-11-22T09:30:00Z", utc(2026, 11, 22, 9, 30, 0));
    check_parse("2026-11-22T09:30:00+01:00", utc(2026, 11, 22, 8, 30, 0));
    check_parse("2026-11-22 09:30", utc(2026, 11, 22, 9, 30, 0));
    check_parse("2026-11-22", utc(2026, 11, 22, 0, 0, 0));
    check_parse("@1790000000", 1790000000);
    /* Variations that RFC 3339 and ISO 8601 writers produce. */
    check_parse("2026-11-22t09:30:00z", utc(2026, 11, 22, 9, 30, 0));
    check_parse("2026-11-22T09:30:00-05:00", utc(2026, 11, 22, 14, 30, 0));
    check_parse("2026-11-22T09:30:00+0530", utc(2026, 11, 22, 4, 0, 0));
    check_parse("2026-11-22T09:30+01", utc(2026, 11, 22, 8, 30, 0));
    check_parse("2026-11-22T09:30:15.123456Z", utc(2026, 11, 22, 9, 30, 15));
    check_parse("2026-11-22 09:30:59", utc(2026, 11, 22, 9, 30, 59));
    check_parse("2026-11-22T00:30:00+01:00", utc(2026, 11, 21, 23, 30, 0));
    check_parse("2024-02-29", utc(2024, 2, 29, 0, 0, 0));
    check_parse("2000-02-29", utc(2000, 2, 29, 0, 0, 0));
    check_parse("1970-01-01T00:00:00Z", 0);
    check_parse("1969-12-31T23:59:59Z", -1);
    check_parse("0001-01-01", utc(1, 1, 1, 0, 0, 0));
    check_parse("9999-12-31T23:59:59Z", utc(9999, 12, 31, 23, 59, 59));
    check_parse("@0", 0);
    check_parse("@-86400", -86400);

    check_parse_bad("2026-13-01", "month 13 out of range");
    check_parse_bad("2026-00-01", "month 00 out of range");
    check_parse_bad("2026-02-30", "day 30 out of range for 2026-02 (01 to 28)");
    check_parse_bad("2025-02-29", "day 29 out of range");
    check_parse_bad("2100-02-29", "day 29 out of range");
    check_parse_bad("2026-04-31", "day 31 out of range");
    check_parse_bad("2026-04-00", "day 00 out of range");
    check_parse_bad("yesterday", "invalid time 'yesterday': expected YYYY-MM-DD");
    check_parse_bad("", "empty time");
    check_parse_bad("2026-1-01", "month");
    check_parse_bad("2026-01-1", "day");
    check_parse_bad("26-01-01", "expected YYYY-MM-DD");
    check_parse_bad("0000-01-01", "year 0000 out of range");
    check_parse_bad("2026-11-22T24:00", "hour 24 out of range");
    check_parse_bad("2026-11-22T09:60", "minute 60 out of range");
    check_parse_bad("2026-11-22T09:30:60", "second 60 out of range");
    check_parse_bad("2026-11-22T9:30", "expected HH:MM");
    check_parse_bad("2026-11-22T09", "expected HH:MM");
    check_parse_bad("2026-11-22T09:3", "two-digit minutes");
    check_parse_bad("2026-11-22T09:30:0", "two-digit seconds");
    check_parse_bad("2026-11-22T09:30:00X", "unexpected 'X' at column 20");
    check_parse_bad("2026-11-22T09:30:00+25:00", "offset out of range");
    check_parse_bad("2026-11-22T09:30:00+01:60", "offset out of range");
    check_parse_bad("2026-11-22T09:30:00+1", "UTC offset");
    check_parse_bad("2026-11-22T09:30:00+01:0", "expected offset minutes");
    check_parse_bad("2026-11-22 ", "expected HH:MM");
    check_parse_bad("2026-11-22x", "unexpected 'x'");
    check_parse_bad(" 2026-11-22", "expected YYYY-MM-DD");
    check_parse_bad("2026-11-22T09:30:00Z ", "unexpected ' '");
    check_parse_bad("2026-11-22T09:30:00ZZ", "unexpected 'Z'");
    check_parse_bad("@", "expected seconds");
    check_parse_bad("@abc", "expected seconds");
    check_parse_bad("@12x", "unexpected 'x'");
    check_parse_bad("@99999999999999999999999", "out of range");
    check_parse_bad("@253402300800", "out of range");
    check_parse_bad("@-62135596801", "out of range");
    check_parse_bad("0001-01-01T00:00:00+01:00", "out of range");
    check_parse_bad("9999-12-31T23:59:59-00:01", "out of range");
    check_parse_bad("\x1b[31m2026", "invalid time '?[31m2026'");
    {
        /* A long input is quoted only in part. */
        char long_in[300];
        memset(long_in, 'x', sizeof(long_in) - 1);
        long_in[sizeof(long_in) - 1] = '\0';
        check_parse_bad(long_in, "...");
    }
    {
        int64_t t;
        nt_diag d;
        CHECK_INT(nt_time_parse(NULL, &t, &d), NT_EINVAL);
        /* A NULL diag is allowed. */
        CHECK_INT(nt_time_parse("nope", &t, NULL), NT_EINVAL);
    }
}

static void
test_time_format(void)
{
    char buf[64];
    int bad = 0;
    nt_tz *berlin = NULL;
    nt_diag d;

    nt_time_format_utc(utc(2026, 11, 22, 9, 30, 0), buf, sizeof(buf));
    CHECK_STR(buf, "2026-11-22T09:30:00Z");
    nt_time_format_utc(0, buf, sizeof(buf));
    CHECK_STR(buf, "1970-01-01T00:00:00Z");
    nt_time_format_utc(-1, buf, sizeof(buf));
    CHECK_STR(buf, "1969-12-31T23:59:59Z");
    nt_time_format_utc(utc(2026, 11, 22, 9, 30, 0), buf, 21);
    CHECK_STR(buf, "2026-11-22T09:30:00Z");
    nt_time_format_utc(utc(2026, 11, 22, 9, 30, 0), buf, 5);
    CHECK_STR(buf, "2026");
    nt_time_format_utc(0, NULL, 0);
    nt_time_format_utc(INT64_MAX, buf, sizeof(buf));
    nt_time_format_utc(INT64_MIN, buf, sizeof(buf));

    nt_time_format_rfc5322(utc(2026, 11, 22, 9, 30, 0), buf, sizeof(buf));
    CHECK_STR(buf, "Sun, 22 Nov 2026 09:30:00 +0000");
    nt_time_format_rfc5322(utc(2026, 3, 2, 7, 5, 9), buf, sizeof(buf));
    CHECK_STR(buf, "Mon, 02 Mar 2026 07:05:09 +0000");
    nt_time_format_rfc5322(INT64_MIN, buf, sizeof(buf));
    nt_time_format_rfc5322(INT64_MAX, buf, sizeof(buf));

    CHECK_INT(nt_tz_load("Europe/Berlin", &berlin, &d), NT_OK);
    if (berlin) {
        nt_time_format_local(berlin, utc(2026, 11, 22, 9, 30, 0), buf, sizeof(buf));
        CHECK_STR(buf, "2026-11-22 10:30 CET");
        nt_time_format_local(berlin, utc(2026, 7, 1, 9, 30, 0), buf, sizeof(buf));
        CHECK_STR(buf, "2026-07-01 11:30 CEST");
        nt_tz_free(berlin);
    }
    nt_time_format_local(nt_tz_utc(), utc(2026, 11, 22, 9, 30, 0), buf, sizeof(buf));
    CHECK_STR(buf, "2026-11-22 09:30 UTC");

    /* Round trips and agreement with strftime across the whole range. */
    setlocale(LC_TIME, "C");
    for (int64_t t = utc(1, 1, 1, 0, 0, 0); t <= utc(9999, 12, 31, 23, 59, 59);
         t += INT64_C(86400) * 37 + 3671) {
        int64_t back = -1;
        char ref[64];
        struct tm tm;
        time_t tt = (time_t)t;

        nt_time_format_utc(t, buf, sizeof(buf));
        if (nt_time_parse(buf, &back, NULL) != NT_OK || back != t)
            bad++;
        gmtime_r(&tt, &tm);
        /* glibc's %Y does not pad years before 1000; compare from there. */
        strftime(ref, sizeof(ref), "%a, %d %b %Y %H:%M:%S +0000", &tm);
        nt_time_format_rfc5322(t, buf, sizeof(buf));
        if (tm.tm_year + 1900 >= 1000 && strcmp(ref, buf) != 0) {
            if (bad < 5)
                fprintf(stderr, "  %s != %s\n", buf, ref);
            bad++;
        }
    }
    CHECK_INT(bad, 0);
}

static void
check_dur(const char *s, int64_t want)
{
    int64_t got = -42;
    nt_diag d;
    nt_err err;

    nt_diag_clear(&d);
    err = nt_duration_parse(s, &got, &d);
    if (err != NT_OK)
        fprintf(stderr, "  \"%s\": %s\n", s, d.msg);
    CHECK_INT(err, NT_OK);
    CHECK_INT(got, want);
}

static void
check_dur_bad(const char *s, const char *msg)
{
    int64_t got = -42;
    nt_diag d;

    nt_diag_clear(&d);
    CHECK_INT(nt_duration_parse(s, &got, &d), NT_EINVAL);
    CHECK_INT(got, -42);
    CHECK_CONTAINS(d.msg, msg);
}

static void
test_duration_parse(void)
{
    check_dur("3d", 3 * 86400);
    check_dur("1d12h", 36 * 3600);
    check_dur("90m", 90 * 60);
    check_dur("2w", 14 * 86400);
    check_dur("0d", 0);
    check_dur("1 d 2 h", 26 * 3600);
    check_dur("  1d  ", 86400);
    check_dur("30s", 30);
    check_dur("1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
    check_dur("1h1h", 7200);
    check_dur("007m", 7 * 60);
    check_dur("3652d", INT64_C(3652) * 86400);
    check_dur("315576000s", INT64_C(315576000));

    check_dur_bad("3", "no unit");
    check_dur_bad("1d3", "no unit");
    check_dur_bad("3x", "unknown unit 'x' at column 2");
    check_dur_bad("3D", "unknown unit 'D'");
    check_dur_bad("3 days", "unknown unit 'days' at column 3");
    check_dur_bad("2hours", "unknown unit 'hours'");
    check_dur_bad("5 min", "unknown unit 'min'");
    check_dur_bad("5ms", "unknown unit 'ms'");
    check_dur_bad("1.5h", "unknown unit '.'");
    check_dur_bad("-1d", "negative");
    check_dur_bad("1d-2h", "negative");
    check_dur_bad("+1d", "expected a number at column 1");
    check_dur_bad("", "empty duration");
    check_dur_bad("   ", "empty duration");
    check_dur_bad("d", "expected a number");
    check_dur_bad("3653d", "longer than 10 years");
    check_dur_bad("522w", "longer than 10 years");
    check_dur_bad("315576001s", "longer than 10 years");
    check_dur_bad("3000d1000d", "longer than 10 years");
    check_dur_bad("99999999999999999999999999d", "longer than 10 years");
    check_dur_bad("1d\n", "expected a number at column 3");
    {
        int64_t v;
        CHECK_INT(nt_duration_parse(NULL, &v, NULL), NT_EINVAL);
        CHECK_INT(nt_duration_parse("3", &v, NULL), NT_EINVAL);
    }
}

static void
check_fmt(int64_t secs, const char *want)
{
    char buf[64];

    nt_duration_format(secs, buf, sizeof(buf));
    CHECK_STR(buf, want);
}

static void
test_duration_format(void)
{
    char buf[64];
    int bad = 0;

    check_fmt(0, "0s");
    check_fmt(3 * 86400, "3d");
    check_fmt(36 * 3600, "1d12h");
    check_fmt(90 * 60, "1h30m");
    check_fmt(14 * 86400, "2w");
    check_fmt(7 * 86400, "1w");
    check_fmt(86400, "1d");
    check_fmt(3600, "1h");
    check_fmt(60, "1m");
    check_fmt(59, "59s");
    check_fmt(61, "1m1s");
    /* Largest unit first from days down; weeks only when whole. */
    check_fmt(86400 + 3600 + 60 + 1, "1d1h1m1s");
    check_fmt(86400 + 3600, "1d1h");
    check_fmt(2 * 604800 + 86400 + 3600, "15d1h");
    check_fmt(13 * 86400 + 600, "13d10m");
    check_fmt(INT64_C(10) * 604800 + 1, "70d1s");
    check_fmt(8 * 86400, "8d");
    check_fmt(10 * 86400 + 12 * 3600, "10d12h");
    check_fmt(INT64_C(315576000), "3652d12h");
    check_fmt(-3600, "-1h");
    nt_duration_format(INT64_MIN, buf, sizeof(buf));
    CHECK(buf[0] == '-');
    nt_duration_format(INT64_C(10) * 604800 + 1, buf, 4);
    CHECK_STR(buf, "70d");
    nt_duration_format(1, buf, 1);
    CHECK_STR(buf, "");

    /* Whatever we write, we read back. */
    for (int64_t v = 0; v <= INT64_C(315576000); v += (v < 100000 ? 1 : 9973)) {
        int64_t back = -1;
        nt_duration_format(v, buf, sizeof(buf));
        if (nt_duration_parse(buf, &back, NULL) != NT_OK || back != v) {
            if (bad < 5)
                fprintf(stderr, "  %lld -> \"%s\" -> %lld\n", (long long)v, buf, (long long)back);
            bad++;
        }
        if (strlen(buf) > 18)
            bad++;
    }
    CHECK_INT(bad, 0);
}

int
main(void)
{
    RUN(test_days);
    RUN(test_time_parse);
    RUN(test_time_format);
    RUN(test_duration_parse);
    RUN(test_duration_format);
    return t_done();
}
