/*
 * Tests for src/tz.c: the TZif reader, the POSIX TZ footer rules, local and
 * UTC conversions across DST changes, zone loading and the zone cache.
 *
 * glibc is the oracle: inside this test only, setenv("TZ") + tzset() +
 * localtime_r() tell us what the system thinks, and we check that our own
 * reader agrees over 1970..2060 for many zones and for hand-written POSIX
 * TZ strings.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nurture/tz.h"

#include "t.h"

#define ZONEINFO "/usr/share/zoneinfo"

/* Seconds since the epoch of a UTC civil time. */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
    return nt_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static nt_civil
civil(int y, int mo, int d, int h, int mi, int s)
{
    nt_civil c;

    memset(&c, 0, sizeof(c));
    c.year = y;
    c.month = mo;
    c.day = d;
    c.hour = h;
    c.min = mi;
    c.sec = s;
    return c;
}

static int64_t
from_local(const nt_tz *tz, int y, int mo, int d, int h, int mi, int s)
{
    nt_civil c = civil(y, mo, d, h, mi, s);

    return nt_tz_from_local(tz, &c);
}

static unsigned char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc(n > 0 ? (size_t)n : 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* tests/fuzz/corpus/tzif/<name>: the seed corpus doubles as test data. */
static unsigned char *
corpus_file(const char *name, size_t *len)
{
    char path[4096];
    const char *src = getenv("NT_SOURCE_DIR");

    if (src) {
        snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/tzif/%s", src, name);
    } else {
        /* Run by hand: find the corpus next to this source file. */
        const char *slash = strrchr(__FILE__, '/');
        int dirlen = slash ? (int)(slash - __FILE__) : 1;
        snprintf(path, sizeof(path), "%.*s/../fuzz/corpus/tzif/%s", dirlen, slash ? __FILE__ : ".",
                 name);
    }
    return slurp(path, len);
}

static void
oracle_zone(const char *tzenv)
{
    setenv("TZ", tzenv, 1);
    tzset();
}

/* Check our zone against glibc's idea of TZ at instant t; 1 when equal. */
static int
agrees(const nt_tz *tz, int64_t t, int verbose)
{
    time_t tt = (time_t)t;
    struct tm tm;
    nt_civil c;
    int ok;

    if (!localtime_r(&tt, &tm))
        return 0;
    nt_tz_to_local(tz, t, &c);
    ok = c.utc_offset == tm.tm_gmtoff && c.is_dst == (tm.tm_isdst > 0) &&
         c.year == tm.tm_year + 1900 && c.month == tm.tm_mon + 1 && c.day == tm.tm_mday &&
         c.hour == tm.tm_hour && c.min == tm.tm_min && c.sec == tm.tm_sec && c.wday == tm.tm_wday &&
         strncmp(c.abbrev, tm.tm_zone, 7) == 0 && nt_tz_offset(tz, t) == c.utc_offset;
    if (!ok && verbose)
        fprintf(stderr,
                "  %s at %lld: ours %04d-%02d-%02d %02d:%02d:%02d off %d dst %d %s, "
                "glibc %04d-%02d-%02d %02d:%02d:%02d off %ld dst %d %s\n",
                nt_tz_name(tz), (long long)t, c.year, c.month, c.day, c.hour, c.min, c.sec,
                (int)c.utc_offset, c.is_dst, c.abbrev, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_gmtoff, tm.tm_isdst, tm.tm_zone);
    return ok;
}

/*
 * from_local(to_local(t)) must give t back, or an earlier instant with the
 * same local time (the earlier side of an overlap).
 */
static int
round_trips(const nt_tz *tz, int64_t t)
{
    nt_civil c, c2;
    int64_t t2;

    nt_tz_to_local(tz, t, &c);
    t2 = nt_tz_from_local(tz, &c);
    if (t2 == t)
        return 1;
    nt_tz_to_local(tz, t2, &c2);
    if (t2 < t && c2.year == c.year && c2.month == c.month && c2.day == c.day &&
        c2.hour == c.hour && c2.min == c.min && c2.sec == c.sec)
        return 1;
    fprintf(stderr, "  %s: %lld -> local -> %lld\n", nt_tz_name(tz), (long long)t, (long long)t2);
    return 0;
}

/* Compare tz with glibc's TZ=tzenv from year y0 to y1; returns mismatches. */
static int
compare_span(const nt_tz *tz, const char *tzenv, int y0, int y1)
{
    int64_t t, t0 = utc(y0, 1, 1, 0, 0, 0), t1 = utc(y1, 12, 31, 23, 59, 59);
    int bad = 0, shown = 0;

    oracle_zone(tzenv);
    /* A step that is not a whole number of hours or days, so that the
     * samples drift across every time of day. */
    for (t = t0; t <= t1; t += 86400 * 2 + 3607) {
        if (!agrees(tz, t, shown < 5)) {
            bad++;
            shown++;
        }
        if (!round_trips(tz, t))
            bad++;
    }
    return bad;
}

/* Every change of offset glibc sees in [t0, t1], checked from both sides. */
static int
compare_transitions(const nt_tz *tz, const char *tzenv, int y0, int y1, int *count)
{
    int64_t t, t0 = utc(y0, 1, 1, 0, 0, 0), t1 = utc(y1, 12, 31, 0, 0, 0);
    int bad = 0;

    oracle_zone(tzenv);
    *count = 0;
    for (t = t0; t < t1; t += 3600) {
        time_t a = (time_t)t, b = (time_t)(t + 3600);
        struct tm ta, tb;

        localtime_r(&a, &ta);
        localtime_r(&b, &tb);
        if (ta.tm_gmtoff == tb.tm_gmtoff && ta.tm_isdst == tb.tm_isdst)
            continue;
        /* Find the exact second of the change by bisection on glibc. */
        int64_t lo = t, hi = t + 3600;
        while (hi - lo > 1) {
            int64_t mid = lo + (hi - lo) / 2;
            time_t m = (time_t)mid;
            struct tm tmm;
            localtime_r(&m, &tmm);
            if (tmm.tm_gmtoff == ta.tm_gmtoff && tmm.tm_isdst == ta.tm_isdst)
                lo = mid;
            else
                hi = mid;
        }
        (*count)++;
        for (int64_t k = hi - 2; k <= hi + 1; k++) {
            if (!agrees(tz, k, bad < 5))
                bad++;
            if (!round_trips(tz, k))
                bad++;
        }
    }
    return bad;
}

static nt_tz *
load(const char *name)
{
    nt_tz *tz = NULL;
    nt_diag d;

    nt_diag_clear(&d);
    if (nt_tz_load(name, &tz, &d) != NT_OK) {
        fprintf(stderr, "  cannot load %s: %s\n", name, d.msg);
        return NULL;
    }
    return tz;
}

static void
test_name_ok(void)
{
    CHECK(nt_tz_name_ok("Europe/Berlin"));
    CHECK(nt_tz_name_ok("America/Argentina/Buenos_Aires"));
    CHECK(nt_tz_name_ok("Etc/GMT+5"));
    CHECK(nt_tz_name_ok("Etc/GMT-14"));
    CHECK(nt_tz_name_ok("UTC"));
    CHECK(nt_tz_name_ok("America/Port-au-Prince"));
    CHECK(!nt_tz_name_ok(NULL));
    CHECK(!nt_tz_name_ok(""));
    CHECK(!nt_tz_name_ok("../etc/passwd"));
    CHECK(!nt_tz_name_ok("Europe/../../etc/passwd"));
    CHECK(!nt_tz_name_ok("/etc/passwd"));
    CHECK(!nt_tz_name_ok("Europe/"));
    CHECK(!nt_tz_name_ok("Europe//Berlin"));
    CHECK(!nt_tz_name_ok("zone.tab"));
    CHECK(!nt_tz_name_ok("Europe/Berlin "));
    CHECK(!nt_tz_name_ok("Europe\\Berlin"));
    CHECK(!nt_tz_name_ok("Europe/Berlin\n"));
    CHECK(!nt_tz_name_ok("Eur%pe"));
    CHECK(nt_tz_name_ok("A234567890123456789012345678901234567890123456789012345678901234"));
    CHECK(!nt_tz_name_ok("A2345678901234567890123456789012345678901234567890123456789012345"));
}

static void
test_load_errors(void)
{
    static const char *rejected[] = {"../etc/passwd",           "/etc/passwd",    "",
                                     "Europe/../../etc/passwd", "Europe//Berlin", "a\033[31mred"};
    nt_tz *tz = (nt_tz *)1;
    nt_diag d;

    nt_diag_clear(&d);
    CHECK_INT(nt_tz_load("Mars/Olympus_Mons", &tz, &d), NT_ENOTFOUND);
    CHECK(tz == NULL);
    CHECK_CONTAINS(d.msg, "unknown time zone 'Mars/Olympus_Mons'");

    for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++) {
        tz = (nt_tz *)1;
        nt_diag_clear(&d);
        CHECK_INT(nt_tz_load(rejected[i], &tz, &d), NT_ENOTFOUND);
        CHECK(tz == NULL);
        CHECK_CONTAINS(d.msg, "invalid time zone name");
        /* No raw control characters reach a message. */
        CHECK(strchr(d.msg, '\033') == NULL);
    }

    /* A directory is not a zone. */
    nt_diag_clear(&d);
    CHECK_INT(nt_tz_load("Europe", &tz, &d), NT_ENOTFOUND);
    CHECK(tz == NULL);

    /* A file in the zone directory that is not TZif. */
    nt_diag_clear(&d);
    CHECK_INT(nt_tz_load("leapseconds", &tz, &d), NT_EINVAL);
    CHECK(tz == NULL);
    CHECK_CONTAINS(d.msg, "bad magic");
}

/* A private TZDIR: over-large files, garbage, and UTC without tzdata. */
static void
test_tzdir(void)
{
    char dir[] = "/tmp/nt_test_tz_XXXXXX", path[4200];
    const char *old = getenv("TZDIR");
    char *saved = old ? strdup(old) : NULL;
    nt_tz *tz = NULL;
    nt_diag d;
    FILE *f;
    size_t len;
    unsigned char *berlin = slurp(ZONEINFO "/Europe/Berlin", &len);

    REQUIRE(berlin != NULL);
    REQUIRE(mkdtemp(dir) != NULL);
    setenv("TZDIR", dir, 1);

    /* UTC is built in when the system has no tz database. */
    nt_diag_clear(&d);
    CHECK_INT(nt_tz_load("UTC", &tz, &d), NT_OK);
    if (tz) {
        CHECK_STR(nt_tz_name(tz), "UTC");
        CHECK_INT(nt_tz_offset(tz, utc(2026, 7, 1, 0, 0, 0)), 0);
        nt_tz_free(tz);
    }
    CHECK_INT(nt_tz_load("Etc/UTC", &tz, &d), NT_OK);
    if (tz) {
        CHECK_STR(nt_tz_name(tz), "Etc/UTC");
        nt_tz_free(tz);
    }
    CHECK_INT(nt_tz_load("Europe/Berlin", &tz, &d), NT_ENOTFOUND);

    /* Our own copy under another name loads from TZDIR. */
    snprintf(path, sizeof(path), "%s/Home", dir);
    f = fopen(path, "wb");
    REQUIRE(f != NULL);
    fwrite(berlin, 1, len, f);
    fclose(f);
    tz = NULL;
    CHECK_INT(nt_tz_load("Home", &tz, &d), NT_OK);
    if (tz) {
        CHECK_STR(nt_tz_name(tz), "Home");
        CHECK_INT(nt_tz_offset(tz, utc(2026, 7, 1, 0, 0, 0)), 7200);
        nt_tz_free(tz);
    }

    /* Larger than 1 MiB: refused before parsing. */
    snprintf(path, sizeof(path), "%s/Big", dir);
    f = fopen(path, "wb");
    REQUIRE(f != NULL);
    fwrite(berlin, 1, len, f);
    for (int i = 0; i < (1 << 20) / 1024 + 1; i++) {
        char zeros[1024] = {0};
        fwrite(zeros, 1, sizeof(zeros), f);
    }
    fclose(f);
    nt_diag_clear(&d);
    CHECK_INT(nt_tz_load("Big", &tz, &d), NT_EINVAL);
    CHECK(tz == NULL);
    CHECK_CONTAINS(d.msg, "larger than");
    unlink(path);

    /* Garbage. */
    snprintf(path, sizeof(path), "%s/Junk", dir);
    f = fopen(path, "wb");
    REQUIRE(f != NULL);
    fputs("not a zone\n", f);
    fclose(f);
    nt_diag_clear(&d);
    CHECK_INT(nt_tz_load("Junk", &tz, &d), NT_EINVAL);
    CHECK_CONTAINS(d.msg, "time zone 'Junk'");
    unlink(path);

    snprintf(path, sizeof(path), "%s/Home", dir);
    unlink(path);
    rmdir(dir);
    if (saved)
        setenv("TZDIR", saved, 1);
    else
        unsetenv("TZDIR");
    free(saved);
    free(berlin);
}

static void
test_utc(void)
{
    nt_tz *u = nt_tz_utc(), *f = load("UTC");
    nt_civil c;

    REQUIRE(u != NULL);
    CHECK_STR(nt_tz_name(u), "UTC");
    CHECK_INT(nt_tz_offset(u, 0), 0);
    CHECK_INT(nt_tz_offset(u, utc(2040, 7, 1, 12, 0, 0)), 0);
    nt_tz_to_local(u, utc(2026, 11, 22, 9, 30, 0), &c);
    CHECK_INT(c.year, 2026);
    CHECK_INT(c.month, 11);
    CHECK_INT(c.day, 22);
    CHECK_INT(c.hour, 9);
    CHECK_INT(c.min, 30);
    CHECK_INT(c.wday, 0);
    CHECK_INT(c.is_dst, 0);
    CHECK_STR(c.abbrev, "UTC");
    CHECK_INT(from_local(u, 2026, 11, 22, 9, 30, 0), utc(2026, 11, 22, 9, 30, 0));
    nt_tz_free(u); /* a no-op for the built-in zone, but allowed */
    u = nt_tz_utc();
    CHECK_INT(nt_tz_offset(u, 12345), 0);
    nt_tz_free(u);

    REQUIRE(f != NULL);
    CHECK_STR(nt_tz_name(f), "UTC");
    nt_tz_to_local(f, utc(2050, 1, 1, 0, 0, 0), &c);
    CHECK_STR(c.abbrev, "UTC");
    CHECK_INT(c.utc_offset, 0);
    CHECK_INT(compare_span(f, ":UTC", 1970, 2060), 0);
    nt_tz_free(f);

    /* A NULL zone is treated as UTC rather than crashing. */
    CHECK_INT(nt_tz_offset(NULL, 1000), 0);
    CHECK_STR(nt_tz_name(NULL), "UTC");
}

static void
check_local(const nt_tz *tz, int64_t t, int y, int mo, int d, int h, int mi, int s, int32_t off,
            int dst, const char *abbr)
{
    nt_civil c;

    nt_tz_to_local(tz, t, &c);
    CHECK_INT(c.year, y);
    CHECK_INT(c.month, mo);
    CHECK_INT(c.day, d);
    CHECK_INT(c.hour, h);
    CHECK_INT(c.min, mi);
    CHECK_INT(c.sec, s);
    CHECK_INT(c.utc_offset, off);
    CHECK_INT(c.is_dst, dst);
    CHECK_STR(c.abbrev, abbr);
    CHECK_INT(nt_tz_offset(tz, t), off);
}

static void
test_berlin_2026(void)
{
    nt_tz *tz = load("Europe/Berlin");
    int64_t spring = utc(2026, 3, 29, 1, 0, 0), fall = utc(2026, 10, 25, 1, 0, 0);

    REQUIRE(tz != NULL);
    CHECK_STR(nt_tz_name(tz), "Europe/Berlin");
    check_local(tz, spring - 1, 2026, 3, 29, 1, 59, 59, 3600, 0, "CET");
    check_local(tz, spring, 2026, 3, 29, 3, 0, 0, 7200, 1, "CEST");
    check_local(tz, fall - 1, 2026, 10, 25, 2, 59, 59, 7200, 1, "CEST");
    check_local(tz, fall, 2026, 10, 25, 2, 0, 0, 3600, 0, "CET");

    /* Spring forward: 02:00-03:00 does not exist; 02:30 becomes 03:30 CEST. */
    CHECK_INT(from_local(tz, 2026, 3, 29, 2, 30, 0), utc(2026, 3, 29, 1, 30, 0));
    CHECK_INT(from_local(tz, 2026, 3, 29, 2, 0, 0), spring);
    CHECK_INT(from_local(tz, 2026, 3, 29, 3, 0, 0), spring);
    CHECK_INT(from_local(tz, 2026, 3, 29, 1, 59, 59), spring - 1);
    CHECK_INT(from_local(tz, 2026, 3, 29, 3, 30, 0), utc(2026, 3, 29, 1, 30, 0));
    /* Fall back: 02:00-03:00 happens twice; the earlier (CEST) wins. */
    CHECK_INT(from_local(tz, 2026, 10, 25, 2, 30, 0), utc(2026, 10, 25, 0, 30, 0));
    CHECK_INT(from_local(tz, 2026, 10, 25, 2, 0, 0), utc(2026, 10, 25, 0, 0, 0));
    CHECK_INT(from_local(tz, 2026, 10, 25, 3, 0, 0), utc(2026, 10, 25, 2, 0, 0));
    CHECK_INT(from_local(tz, 2026, 10, 25, 1, 59, 59), utc(2026, 10, 24, 23, 59, 59));
    /* Ordinary times. */
    CHECK_INT(from_local(tz, 2026, 11, 22, 10, 30, 0), utc(2026, 11, 22, 9, 30, 0));
    CHECK_INT(from_local(tz, 2026, 7, 1, 9, 0, 0), utc(2026, 7, 1, 7, 0, 0));
    /* Fields out of range roll over like mktime's. */
    CHECK_INT(from_local(tz, 2026, 13, 1, 9, 0, 0), utc(2027, 1, 1, 8, 0, 0));
    CHECK_INT(from_local(tz, 2026, 7, 0, 9, 0, 0), utc(2026, 6, 30, 7, 0, 0));
    CHECK_INT(from_local(tz, 2026, 7, 1, 9, 90, 0), utc(2026, 7, 1, 8, 30, 0));

    /* 2040 is past the last transition in the file: the footer rule says. */
    check_local(tz, utc(2040, 3, 25, 0, 59, 59), 2040, 3, 25, 1, 59, 59, 3600, 0, "CET");
    check_local(tz, utc(2040, 3, 25, 1, 0, 0), 2040, 3, 25, 3, 0, 0, 7200, 1, "CEST");
    check_local(tz, utc(2040, 7, 1, 12, 0, 0), 2040, 7, 1, 14, 0, 0, 7200, 1, "CEST");
    check_local(tz, utc(2040, 10, 28, 1, 0, 0), 2040, 10, 28, 2, 0, 0, 3600, 0, "CET");
    CHECK_INT(from_local(tz, 2040, 3, 25, 2, 30, 0), utc(2040, 3, 25, 1, 30, 0));
    CHECK_INT(from_local(tz, 2040, 10, 28, 2, 30, 0), utc(2040, 10, 28, 0, 30, 0));
    nt_tz_free(tz);
}

static void
test_new_york_2026(void)
{
    nt_tz *tz = load("America/New_York");
    int64_t spring = utc(2026, 3, 8, 7, 0, 0), fall = utc(2026, 11, 1, 6, 0, 0);

    REQUIRE(tz != NULL);
    check_local(tz, spring - 1, 2026, 3, 8, 1, 59, 59, -18000, 0, "EST");
    check_local(tz, spring, 2026, 3, 8, 3, 0, 0, -14400, 1, "EDT");
    check_local(tz, fall - 1, 2026, 11, 1, 1, 59, 59, -14400, 1, "EDT");
    check_local(tz, fall, 2026, 11, 1, 1, 0, 0, -18000, 0, "EST");
    CHECK_INT(from_local(tz, 2026, 3, 8, 2, 30, 0), utc(2026, 3, 8, 7, 30, 0));
    CHECK_INT(from_local(tz, 2026, 3, 8, 2, 0, 0), spring);
    CHECK_INT(from_local(tz, 2026, 11, 1, 1, 30, 0), utc(2026, 11, 1, 5, 30, 0));
    CHECK_INT(from_local(tz, 2026, 11, 1, 1, 0, 0), utc(2026, 11, 1, 5, 0, 0));
    CHECK_INT(from_local(tz, 2026, 11, 1, 2, 0, 0), utc(2026, 11, 1, 7, 0, 0));
    CHECK_INT(from_local(tz, 2026, 11, 1, 0, 59, 59), utc(2026, 11, 1, 4, 59, 59));

    /* 2040 from the footer "EST5EDT,M3.2.0,M11.1.0". */
    check_local(tz, utc(2040, 3, 11, 7, 0, 0) - 1, 2040, 3, 11, 1, 59, 59, -18000, 0, "EST");
    check_local(tz, utc(2040, 3, 11, 7, 0, 0), 2040, 3, 11, 3, 0, 0, -14400, 1, "EDT");
    check_local(tz, utc(2040, 11, 4, 6, 0, 0), 2040, 11, 4, 1, 0, 0, -18000, 0, "EST");
    nt_tz_free(tz);
}

static void
test_lord_howe(void)
{
    nt_tz *tz = load("Australia/Lord_Howe");
    int64_t end = utc(2026, 4, 4, 15, 0, 0), start = utc(2026, 10, 3, 15, 30, 0);

    REQUIRE(tz != NULL);
    /* Half-hour DST: +11 in the southern summer, +10:30 otherwise. */
    check_local(tz, end - 1, 2026, 4, 5, 1, 59, 59, 39600, 1, "+11");
    check_local(tz, end, 2026, 4, 5, 1, 30, 0, 37800, 0, "+1030");
    check_local(tz, start - 1, 2026, 10, 4, 1, 59, 59, 37800, 0, "+1030");
    check_local(tz, start, 2026, 10, 4, 2, 30, 0, 39600, 1, "+11");
    /* 02:15 does not exist: half an hour later it is 02:45. */
    CHECK_INT(from_local(tz, 2026, 10, 4, 2, 15, 0), start + 15 * 60);
    /* 01:45 happens twice in April: the earlier is still DST. */
    CHECK_INT(from_local(tz, 2026, 4, 5, 1, 45, 0), end - 15 * 60);
    nt_tz_free(tz);
}

static void
test_kolkata(void)
{
    nt_tz *tz = load("Asia/Kolkata");

    REQUIRE(tz != NULL);
    check_local(tz, utc(2026, 11, 22, 9, 30, 0), 2026, 11, 22, 15, 0, 0, 19800, 0, "IST");
    check_local(tz, utc(2045, 1, 1, 0, 0, 0), 2045, 1, 1, 5, 30, 0, 19800, 0, "IST");
    CHECK_INT(from_local(tz, 2026, 11, 22, 15, 0, 0), utc(2026, 11, 22, 9, 30, 0));
    nt_tz_free(tz);
}

/* Many zones, many instants, 1970..2060: we must agree with glibc. */
static void
test_against_glibc(void)
{
    static const char *zones[] = {
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "UTC",
        "Europe/London",
        "Europe/Dublin",
        "America/Sao_Paulo",
        "America/St_Johns",
        "Pacific/Chatham",
        "Asia/Tehran",
        "Africa/Casablanca",
        "Antarctica/Troll",
        "Pacific/Apia",
        "America/Santiago",
        "Australia/Sydney",
        "Pacific/Kiritimati",
        "America/Godthab",
        "Asia/Gaza",
        "Europe/Moscow",
        "America/Los_Angeles",
        "Pacific/Auckland",
        "Asia/Tokyo",
        "Europe/Lisbon",
        "America/Scoresbysund",
        "posixrules",
    };
    char env[128];
    int transitions = 0;

    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        nt_tz *tz = load(zones[i]);
        int n = 0, bad;

        if (!tz) {
            /* Not every tzdata release has every name; the core ones must load. */
            CHECK(i >= 5);
            continue;
        }
        snprintf(env, sizeof(env), ":%s", zones[i]);
        bad = compare_span(tz, env, 1970, 2060);
        if (bad)
            fprintf(stderr, "  %s: %d mismatches\n", zones[i], bad);
        CHECK_INT(bad, 0);
        bad = compare_transitions(tz, env, 2020, 2045, &n);
        if (bad)
            fprintf(stderr, "  %s: %d mismatches at transitions\n", zones[i], bad);
        CHECK_INT(bad, 0);
        transitions += n;
        nt_tz_free(tz);
    }
    fprintf(stderr, "  checked %d transitions against glibc\n", transitions);
    CHECK(transitions > 500);
}

/* Slim files (zic -b slim) carry almost no transitions: the footer does it all. */
static void
test_slim(void)
{
    static const char *files[][2] = {
        {"slim_Europe_Berlin", "Europe/Berlin"},
        {"slim_America_New_York", "America/New_York"},
        {"slim_Australia_Lord_Howe", "Australia/Lord_Howe"},
    };

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len;
        unsigned char *data = corpus_file(files[i][0], &len);
        nt_tz *tz = NULL;
        nt_diag d;
        char env[64];
        int n;

        REQUIRE(data != NULL);
        nt_diag_clear(&d);
        CHECK_INT(nt_tz_parse(files[i][1], data, len, &tz, &d), NT_OK);
        free(data);
        if (!tz)
            continue;
        snprintf(env, sizeof(env), ":%s", files[i][1]);
        CHECK_INT(compare_span(tz, env, 1970, 2060), 0);
        CHECK_INT(compare_transitions(tz, env, 2000, 2050, &n), 0);
        CHECK(n >= 90);
        nt_tz_free(tz);
    }
}

/* A version 1 file has only 32-bit data and no footer. */
static void
test_v1(void)
{
    size_t len;
    unsigned char *data = corpus_file("v1_Europe_Berlin", &len);
    nt_tz *tz = NULL;
    nt_diag d;

    REQUIRE(data != NULL);
    CHECK_INT(data[4], 0);
    nt_diag_clear(&d);
    CHECK_INT(nt_tz_parse("Europe/Berlin", data, len, &tz, &d), NT_OK);
    free(data);
    REQUIRE(tz != NULL);
    CHECK_INT(compare_span(tz, ":Europe/Berlin", 1970, 2037), 0);
    nt_tz_free(tz);
}

/* right/ zones count leap seconds; we must still answer in POSIX time. */
static void
test_leap_seconds(void)
{
    nt_tz *right = load("right/Europe/Berlin"), *posix = load("Europe/Berlin");
    int64_t spring = utc(2026, 3, 29, 1, 0, 0);
    int bad = 0;

    if (!right) {
        fprintf(stderr, "  no right/ zones here, skipped\n");
        nt_tz_free(posix);
        CHECK(1);
        return;
    }
    REQUIRE(posix != NULL);
    CHECK_INT(nt_tz_offset(right, spring - 1), 3600);
    CHECK_INT(nt_tz_offset(right, spring), 7200);
    /* zic writes no footer for right/ zones, and their table ends in 2027. */
    for (int64_t t = utc(1972, 1, 1, 0, 0, 0); t < utc(2027, 1, 1, 0, 0, 0); t += 86400 + 3541)
        if (nt_tz_offset(right, t) != nt_tz_offset(posix, t))
            bad++;
    CHECK_INT(bad, 0);
    nt_tz_free(right);
    nt_tz_free(posix);
}

/* ---- hand-made TZif ---- */

struct ty {
    int32_t off;
    unsigned char isdst, ai;
};

struct tzb {
    int version;
    const int64_t *times;
    const unsigned char *idx;
    uint32_t ntimes;
    const struct ty *types;
    uint32_t ntypes;
    const char *chars;
    uint32_t nchars;
    const int64_t *leaps; /* pairs: occurrence, correction */
    uint32_t nleaps;
    const char *footer; /* NULL: none at all (v1) */
};

static void
put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static size_t
put_block(unsigned char *p, const struct tzb *b, int tsz)
{
    size_t n = 0;

    memcpy(p, "TZif", 4);
    p[4] = b->version == 1 ? 0 : (unsigned char)('0' + b->version);
    memset(p + 5, 0, 15);
    put32(p + 20, 0);
    put32(p + 24, 0);
    put32(p + 28, b->nleaps);
    put32(p + 32, b->ntimes);
    put32(p + 36, b->ntypes);
    put32(p + 40, b->nchars);
    n = 44;
    for (uint32_t i = 0; i < b->ntimes; i++) {
        if (tsz == 8) {
            put32(p + n, (uint32_t)((uint64_t)b->times[i] >> 32));
            n += 4;
        }
        put32(p + n, (uint32_t)b->times[i]);
        n += 4;
    }
    for (uint32_t i = 0; i < b->ntimes; i++)
        p[n++] = b->idx[i];
    for (uint32_t i = 0; i < b->ntypes; i++) {
        put32(p + n, (uint32_t)b->types[i].off);
        p[n + 4] = b->types[i].isdst;
        p[n + 5] = b->types[i].ai;
        n += 6;
    }
    memcpy(p + n, b->chars, b->nchars);
    n += b->nchars;
    for (uint32_t i = 0; i < b->nleaps; i++) {
        if (tsz == 8) {
            put32(p + n, (uint32_t)((uint64_t)b->leaps[2 * i] >> 32));
            n += 4;
        }
        put32(p + n, (uint32_t)b->leaps[2 * i]);
        put32(p + n + 4, (uint32_t)b->leaps[2 * i + 1]);
        n += 8;
    }
    return n;
}

static size_t
build(unsigned char *out, const struct tzb *b)
{
    size_t n = put_block(out, b, 4);

    if (b->version >= 2) {
        n += put_block(out + n, b, 8);
        if (b->footer) {
            size_t fl = strlen(b->footer);
            out[n++] = '\n';
            memcpy(out + n, b->footer, fl);
            n += fl;
            out[n++] = '\n';
        }
    }
    return n;
}

static nt_err
parse_built(const struct tzb *b, nt_tz **tz, nt_diag *d)
{
    unsigned char buf[8192];
    size_t n = build(buf, b);

    nt_diag_clear(d);
    return nt_tz_parse("Test/Zone", buf, n, tz, d);
}

/* A zone with no transitions: only the footer speaks. */
static nt_err
footer_zone(const char *footer, nt_tz **tz, nt_diag *d)
{
    static const struct ty types[] = {{0, 0, 0}};
    struct tzb b = {2, NULL, NULL, 0, types, 1, "LMT", 4, NULL, 0, footer};

    return parse_built(&b, tz, d);
}

static void
test_posix_rules(void)
{
    /* Each is read by our footer parser and by glibc straight from TZ. */
    static const char *rules[] = {
        "CET-1CEST,M3.5.0,M10.5.0/3",
        "<+0330>-3:30",
        "EST5EDT,M3.2.0,M11.1.0",
        "AAA3BBB,J60/2,J300/2",
        "AAA3BBB,59,299",
        "AAA-3BBB,0/3,365/1",
        "NZST-12NZDT,M9.5.0,M4.1.0/3",
        "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
        "IST-1GMT0,M10.5.0,M3.5.0/1",
        "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
        "<-0230>2:30<-0130>,M3.5.0/-1:30,M10.5.0/-0:30",
        "AAA-5:45:30BBB-6,M4.1.3/5:30:10,M9.5.6/26",
        "ABC+12",
        "<+14>-14",
        "XXX-2YYY-4,M2.5.0,M8.3.1",
    };
    char env[128];

    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        nt_tz *tz = NULL;
        nt_diag d;
        int n = 0, bad;

        CHECK_INT(footer_zone(rules[i], &tz, &d), NT_OK);
        if (!tz) {
            fprintf(stderr, "  %s: %s\n", rules[i], d.msg);
            continue;
        }
        snprintf(env, sizeof(env), "%s", rules[i]);
        bad = compare_span(tz, env, 1970, 2060) + compare_transitions(tz, env, 2024, 2030, &n);
        if (bad)
            fprintf(stderr, "  rule %s: %d mismatches\n", rules[i], bad);
        CHECK_INT(bad, 0);
        nt_tz_free(tz);
    }

    {
        /* The abbreviation in angle brackets loses its brackets. */
        nt_tz *tz = NULL;
        nt_diag d;
        nt_civil c;

        REQUIRE(footer_zone("<+0330>-3:30", &tz, &d) == NT_OK);
        nt_tz_to_local(tz, utc(2040, 1, 1, 0, 0, 0), &c);
        CHECK_STR(c.abbrev, "+0330");
        CHECK_INT(c.utc_offset, 12600);
        CHECK_INT(c.hour, 3);
        CHECK_INT(c.min, 30);
        nt_tz_free(tz);
    }
    {
        /* DST with no rule given: the US rule, as glibc does. */
        nt_tz *tz = NULL;
        nt_diag d;

        REQUIRE(footer_zone("AAA5BBB", &tz, &d) == NT_OK);
        CHECK_INT(nt_tz_offset(tz, utc(2026, 3, 8, 7, 0, 0) - 1), -18000);
        CHECK_INT(nt_tz_offset(tz, utc(2026, 3, 8, 7, 0, 0)), -14400);
        CHECK_INT(nt_tz_offset(tz, utc(2026, 11, 1, 6, 0, 0) - 1), -14400);
        CHECK_INT(nt_tz_offset(tz, utc(2026, 11, 1, 6, 0, 0)), -18000);
        nt_tz_free(tz);
    }
    {
        /*
         * DST that ends near New Year.  glibc picks the rule year from the
         * UTC date, so it gets these hours wrong and is no oracle here:
         * "J365/23" is 23:00 DST on 31 December, which is 01:00 UTC on
         * 1 January for a zone at UTC-3 with DST at UTC-2; "J1/0" starts
         * DST again at 00:00 standard time, 03:00 UTC.
         */
        nt_tz *tz = NULL;
        nt_diag d;

        REQUIRE(footer_zone("AAA3BBB,J1/0,J365/23", &tz, &d) == NT_OK);
        CHECK_INT(nt_tz_offset(tz, utc(2030, 1, 1, 0, 59, 59)), -7200);
        CHECK_INT(nt_tz_offset(tz, utc(2030, 1, 1, 1, 0, 0)), -10800);
        CHECK_INT(nt_tz_offset(tz, utc(2030, 1, 1, 2, 59, 59)), -10800);
        CHECK_INT(nt_tz_offset(tz, utc(2030, 1, 1, 3, 0, 0)), -7200);
        CHECK_INT(nt_tz_offset(tz, utc(2030, 7, 1, 0, 0, 0)), -7200);
        nt_tz_free(tz);

        /* The last Saturday of December at 24:00 DST. */
        REQUIRE(footer_zone("XXX4YYY3,M1.1.0/0,M12.5.6/24", &tz, &d) == NT_OK);
        CHECK_INT(nt_tz_offset(tz, utc(2017, 1, 1, 2, 59, 59)), -10800);
        CHECK_INT(nt_tz_offset(tz, utc(2017, 1, 1, 3, 0, 0)), -14400);
        nt_tz_free(tz);
    }
    {
        /* "0/0,J365/25" is DST all year (tzfile(5)). */
        nt_tz *tz = NULL;
        nt_diag d;

        REQUIRE(footer_zone("EST5EDT,0/0,J365/25", &tz, &d) == NT_OK);
        for (int y = 2030; y < 2040; y++) {
            CHECK_INT(nt_tz_offset(tz, utc(y, 1, 1, 0, 0, 0)), -14400);
            CHECK_INT(nt_tz_offset(tz, utc(y, 1, 1, 5, 0, 0)), -14400);
            CHECK_INT(nt_tz_offset(tz, utc(y, 7, 1, 0, 0, 0)), -14400);
            CHECK_INT(nt_tz_offset(tz, utc(y, 12, 31, 23, 59, 59)), -14400);
        }
        CHECK_INT(from_local(tz, 2035, 6, 1, 12, 0, 0), utc(2035, 6, 1, 16, 0, 0));
        nt_tz_free(tz);
    }

    {
        static const char *bad[] = {
            "AB-1",                         /* name too short */
            "<AB>-1",                       /* quoted name too short */
            "CET",                          /* no offset */
            "CET-25",                       /* offset hours */
            "CET-1:60",                     /* offset minutes */
            "CET-1:5",                      /* one-digit minutes */
            "CET-1CEST,M3.5.0",             /* one date only */
            "CET-1CEST,M3.5.0,M10.5.0/168", /* rule time hours */
            "CET-1CEST,J0,J365",            /* Jn starts at 1 */
            "CET-1CEST,366,1",              /* n ends at 365 */
            "CET-1CEST,M13.5.0,M10.5.0",    /* month */
            "CET-1CEST,M3.6.0,M10.5.0",     /* week */
            "CET-1CEST,M3.5.7,M10.5.0",     /* weekday */
            "CET-1CEST,M3.5.0,M10.5.0/3 ",  /* trailing junk */
            "CET-1CEST,M3.5,M10.5.0",       /* short M form */
            "<CET-1",                       /* unterminated < */
            "CET-1CEST,",                   /* nothing after the comma */
            "CET-1CEST-2-3",                /* junk after dst offset */
            ":Europe/Berlin",               /* not a rule */
            "CET-1 CEST",                   /* space */
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            nt_tz *tz = (nt_tz *)1;
            nt_diag d;

            if (footer_zone(bad[i], &tz, &d) != NT_EINVAL) {
                fprintf(stderr, "  footer accepted: \"%s\"\n", bad[i]);
                CHECK(0);
                nt_tz_free(tz);
                continue;
            }
            CHECK(tz == NULL);
            CHECK_CONTAINS(d.msg, "footer");
        }
    }
}

static void
test_built(void)
{
    static const struct ty types[] = {{3600, 0, 0}, {7200, 1, 4}, {3600, 0, 0}};
    static const char chars[] = "CET\0CEST\0";
    /* 2030-03-31 01:00Z and 2030-10-27 01:00Z. */
    int64_t times[] = {1901149200, 1919293200};
    unsigned char idx[] = {1, 2};
    struct tzb b = {2, times, idx, 2, types, 3, chars, 10, NULL, 0, "CET-1CEST,M3.5.0,M10.5.0/3"};
    nt_tz *tz = NULL;
    nt_diag d;

    for (int v = 2; v <= 4; v++) {
        b.version = v;
        CHECK_INT(parse_built(&b, &tz, &d), NT_OK);
        if (!tz)
            continue;
        CHECK_INT(nt_tz_offset(tz, 0), 3600);
        CHECK_INT(nt_tz_offset(tz, times[0] - 1), 3600);
        CHECK_INT(nt_tz_offset(tz, times[0]), 7200);
        CHECK_INT(nt_tz_offset(tz, times[1]), 3600);
        /* After the last transition the footer takes over. */
        CHECK_INT(nt_tz_offset(tz, utc(2031, 7, 1, 0, 0, 0)), 7200);
        CHECK_INT(nt_tz_offset(tz, utc(2031, 12, 1, 0, 0, 0)), 3600);
        /* A gap right at the boundary of table and footer. */
        CHECK_INT(from_local(tz, 2031, 3, 30, 2, 30, 0), utc(2031, 3, 30, 1, 30, 0));
        nt_tz_free(tz);
        tz = NULL;
    }

    /* Version 1: no footer, the last type stays for ever. */
    b.version = 1;
    CHECK_INT(parse_built(&b, &tz, &d), NT_OK);
    if (tz) {
        CHECK_INT(nt_tz_offset(tz, utc(2031, 7, 1, 0, 0, 0)), 3600);
        nt_tz_free(tz);
        tz = NULL;
    }

    /* An empty footer: the same. */
    b.version = 2;
    b.footer = "";
    CHECK_INT(parse_built(&b, &tz, &d), NT_OK);
    if (tz) {
        CHECK_INT(nt_tz_offset(tz, utc(2031, 7, 1, 0, 0, 0)), 3600);
        nt_tz_free(tz);
        tz = NULL;
    }

    /* Leap seconds: transitions in the file's clock are 27 s ahead. */
    {
        int64_t lt[] = {times[0] + 27, times[1] + 27};
        int64_t leaps[] = {78796800, 1, 1483228826, 27};
        struct tzb lb = b;

        lb.times = lt;
        lb.leaps = leaps;
        lb.nleaps = 2;
        lb.footer = "CET-1CEST,M3.5.0,M10.5.0/3";
        CHECK_INT(parse_built(&lb, &tz, &d), NT_OK);
        if (tz) {
            CHECK_INT(nt_tz_offset(tz, times[0] - 1), 3600);
            CHECK_INT(nt_tz_offset(tz, times[0]), 7200);
            CHECK_INT(nt_tz_offset(tz, times[1] - 1), 7200);
            CHECK_INT(nt_tz_offset(tz, times[1]), 3600);
            nt_tz_free(tz);
            tz = NULL;
        }
        /* Leap records out of order are corrupt. */
        leaps[2] = 1000;
        CHECK_INT(parse_built(&lb, &tz, &d), NT_EINVAL);
        CHECK_CONTAINS(d.msg, "leap");
    }

    /* Corruptions, one at a time, each with its own message. */
    {
        struct ty bt[3];
        struct tzb c;
        unsigned char bidx[2];
        int64_t bt2[2];

        memcpy(bt, types, sizeof(bt));
        c = b;
        c.footer = "CET-1CEST,M3.5.0,M10.5.0/3";
        c.ntypes = 0;
        c.ntimes = 0;
        CHECK_INT(parse_built(&c, &tz, &d), NT_EINVAL);
        CHECK_CONTAINS(d.msg, "no local time types");

        c = b;
        c.nchars = 0;
        CHECK_INT(parse_built(&c, &tz, &d), NT_EINVAL);

        c = b;
        c.types = bt;
        bt[1].ai = 10;
        CHECK_INT(parse_built(&c, &tz, &d), NT_EINVAL);
        CHECK_CONTAINS(d.msg, "abbreviation index");
        memcpy(bt, types, sizeof(bt));

        c = b;
        c.nchars = 7; /* "CEST" loses its NUL */
        CHECK_INT(parse_built(&c, &tz, &d), NT_EINVAL);
        CHECK_CONTAINS(d.msg, "not terminated");

        c = b;
        c.types = bt;
        bt[1].isdst = 2;
        CHECK_INT(parse_built(&c, &tz, &d), NT_EINVAL);
        CHECK_CONTAINS(d.msg, "DST flag");
        memcpy(bt, types, sizeof(bt));

        c = b;
        c.types = bt;
        bt[2].off = 100000;
        CHECK_INT(parse_built(&c, &tz, &d), NT_EINVAL);
        CHECK_CONTAINS(d.msg, "offset");
        bt[2].off = INT32_MIN;
        CHECK_INT(parse_built(&c, &tz, &d), NT_EINVAL);
        memcpy(bt, types, sizeof(bt));

        c = b;
        bidx[0] = 1;
        bidx[1] = 3;
        c.idx = bidx;
        CHECK_INT(parse_built(&c, &tz, &d), NT_EINVAL);
        CHECK_CONTAINS(d.msg, "type index");

        c = b;
        bt2[0] = times[1];
        bt2[1] = times[0];
        c.times = bt2;
        CHECK_INT(parse_built(&c, &tz, &d), NT_EINVAL);
        CHECK_CONTAINS(d.msg, "ascending");
        bt2[0] = bt2[1] = times[0];
        CHECK_INT(parse_built(&c, &tz, &d), NT_EINVAL);

        c = b;
        c.footer = NULL;
        CHECK_INT(parse_built(&c, &tz, &d), NT_EINVAL);
        CHECK_CONTAINS(d.msg, "footer");
        CHECK(tz == NULL);
    }

    /* Bad magic and versions. */
    {
        unsigned char buf[8192];
        size_t n;

        b.footer = "CET-1CEST,M3.5.0,M10.5.0/3";
        n = build(buf, &b);
        buf[4] = '5';
        nt_diag_clear(&d);
        CHECK_INT(nt_tz_parse("X", buf, n, &tz, &d), NT_EINVAL);
        CHECK_CONTAINS(d.msg, "version");
        buf[4] = '2';
        buf[0] = 'X';
        CHECK_INT(nt_tz_parse("X", buf, n, &tz, &d), NT_EINVAL);
        CHECK_CONTAINS(d.msg, "magic");
        CHECK_INT(nt_tz_parse("X", NULL, 0, &tz, &d), NT_EINVAL);
        CHECK_INT(nt_tz_parse(NULL, buf, 0, &tz, &d), NT_EINVAL);
        /* Counts that promise far more data than there is. */
        buf[0] = 'T';
        put32(buf + 32, 0xffffffffu);
        CHECK_INT(nt_tz_parse("X", buf, n, &tz, &d), NT_EINVAL);
        CHECK_CONTAINS(d.msg, "truncated");
    }
}

/* Cut real files at every length and flip bytes: clean errors, no crashes. */
static void
test_corrupt(void)
{
    static const char *files[] = {"Europe_Berlin", "America_New_York", "slim_Europe_Berlin",
                                  "v1_Europe_Berlin", "UTC"};
    long ok_after_flip = 0, rejected = 0;

    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        size_t len;
        unsigned char *data = corpus_file(files[f], &len), *copy;

        REQUIRE(data != NULL);
        copy = malloc(len);
        REQUIRE(copy != NULL);
        for (size_t cut = 0; cut < len; cut++) {
            nt_tz *tz = (nt_tz *)1;
            nt_diag d;
            nt_err err;
            unsigned char *exact = malloc(cut ? cut : 1);

            /* An exact-size copy so that ASan sees any read past the end. */
            memcpy(exact, data, cut);
            nt_diag_clear(&d);
            err = nt_tz_parse(files[f], exact, cut, &tz, &d);
            free(exact);
            if (err != NT_EINVAL || tz != NULL || !d.msg[0]) {
                fprintf(stderr, "  %s cut at %zu: err %d\n", files[f], cut, (int)err);
                CHECK(0);
            }
        }
        for (size_t i = 0; i < len; i++) {
            static const unsigned char masks[] = {0x01, 0x80, 0xff, 0x10};
            for (size_t m = 0; m < sizeof(masks); m++) {
                nt_tz *tz = NULL;
                nt_diag d;

                memcpy(copy, data, len);
                copy[i] ^= masks[m];
                if (nt_tz_parse(files[f], copy, len, &tz, &d) != NT_OK) {
                    rejected++;
                    continue;
                }
                ok_after_flip++;
                for (int64_t t = -INT64_C(4000000000); t < INT64_C(4000000000);
                     t += INT64_C(987654321)) {
                    nt_civil c;
                    nt_tz_to_local(tz, t, &c);
                    (void)nt_tz_from_local(tz, &c);
                }
                nt_tz_free(tz);
            }
        }
        free(copy);
        free(data);
    }
    fprintf(stderr, "  byte flips: %ld parsed, %ld rejected\n", ok_after_flip, rejected);
    CHECK(rejected > 0);
}

/* Instants and local times far outside any sensible range must not overflow. */
static void
test_extremes(void)
{
    nt_tz *tz = load("Europe/Berlin");
    static const int64_t ts[] = {INT64_MIN, INT64_MIN + 1,    -(INT64_C(1) << 59), -1,
                                 0,         INT64_C(1) << 59, INT64_MAX - 1,       INT64_MAX};
    nt_civil c;

    REQUIRE(tz != NULL);
    for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
        nt_tz_to_local(tz, ts[i], &c);
        CHECK(c.month >= 1 && c.month <= 12);
        CHECK(c.utc_offset == 3600 || c.utc_offset == 7200 || c.utc_offset == 3208);
        (void)nt_tz_offset(tz, ts[i]);
        (void)nt_tz_from_local(tz, &c);
    }
    c = civil(INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX);
    (void)nt_tz_from_local(tz, &c);
    c = civil(INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN);
    (void)nt_tz_from_local(tz, &c);
    /* Before the first transition: local mean time. */
    nt_tz_to_local(tz, utc(1850, 1, 1, 0, 0, 0), &c);
    CHECK_INT(c.utc_offset, 3208);
    CHECK_STR(c.abbrev, "LMT");
    nt_tz_free(tz);
}

static void
test_cache(void)
{
    nt_tzcache *c = nt_tzcache_new();
    const nt_tz *a = NULL, *b = NULL, *z;
    nt_diag d;
    char name[64];

    REQUIRE(c != NULL);
    nt_diag_clear(&d);
    CHECK_INT(nt_tzcache_get(c, "Europe/Berlin", &a, &d), NT_OK);
    CHECK_INT(nt_tzcache_get(c, "Europe/Berlin", &b, &d), NT_OK);
    REQUIRE(a != NULL);
    CHECK(a == b);
    CHECK_STR(nt_tz_name(a), "Europe/Berlin");

    z = (const nt_tz *)1;
    nt_diag_clear(&d);
    CHECK_INT(nt_tzcache_get(c, "Nowhere/Atlantis", &z, &d), NT_ENOTFOUND);
    CHECK(z == NULL);
    CHECK_CONTAINS(d.msg, "Nowhere/Atlantis");
    nt_diag_clear(&d);
    CHECK_INT(nt_tzcache_get(c, "Nowhere/Atlantis", &z, &d), NT_ENOTFOUND);
    CHECK_CONTAINS(d.msg, "unknown time zone 'Nowhere/Atlantis'");

    nt_diag_clear(&d);
    CHECK_INT(nt_tzcache_get(c, "../etc/passwd", &z, &d), NT_ENOTFOUND);
    CHECK_CONTAINS(d.msg, "invalid time zone name");
    CHECK_INT(nt_tzcache_get(c, "", &z, &d), NT_ENOTFOUND);

    CHECK_INT(nt_tzcache_get(c, "leapseconds", &z, &d), NT_EINVAL);
    CHECK_INT(nt_tzcache_get(c, "leapseconds", &z, &d), NT_EINVAL);

    /* Enough names to make the table grow several times, and to pass the
     * limit on remembered failures. */
    for (int i = -14; i <= 12; i++) {
        if (i == 0)
            continue;
        snprintf(name, sizeof(name), "Etc/GMT%+d", i);
        z = NULL;
        CHECK_INT(nt_tzcache_get(c, name, &z, &d), NT_OK);
        if (z)
            CHECK_INT(nt_tz_offset(z, 0), -i * 3600);
    }
    for (int i = 0; i < 1500; i++) {
        snprintf(name, sizeof(name), "Nowhere/Place_%d", i);
        if (nt_tzcache_get(c, name, &z, &d) != NT_ENOTFOUND)
            CHECK(0);
    }
    CHECK_INT(nt_tzcache_get(c, "Europe/Berlin", &b, &d), NT_OK);
    CHECK(a == b);
    CHECK_INT(nt_tzcache_get(c, "Etc/GMT-5", &z, &d), NT_OK);
    CHECK_INT(nt_tz_offset(z, 0), 5 * 3600);
    CHECK_INT(nt_tzcache_get(c, "Nowhere/Place_7", &z, &d), NT_ENOTFOUND);
    CHECK_INT(nt_tzcache_get(c, "Nowhere/Place_1400", &z, &d), NT_ENOTFOUND);
    nt_tzcache_free(c);
    nt_tzcache_free(NULL);
}

/* Not a benchmark, but a guard against an accidentally slow lookup. */
static void
test_speed(void)
{
    nt_tz *tz = load("Europe/Berlin");
    struct timespec a, b;
    int64_t sum = 0;
    double secs;
    const int n = 1000000;

    REQUIRE(tz != NULL);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        int64_t t = utc(2026, 1, 1, 0, 0, 0) + (int64_t)i * 997;
        nt_civil c;
        if (i & 1)
            t += INT64_C(20) * 365 * 86400; /* the footer too */
        nt_tz_to_local(tz, t, &c);
        sum += nt_tz_from_local(tz, &c) - t;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    fprintf(stderr, "  %d to_local+from_local pairs in %.3f s\n", n, secs);
    CHECK(sum <= 0);
    CHECK(secs < 20.0);
    nt_tz_free(tz);
}

int
main(void)
{
    RUN(test_name_ok);
    RUN(test_load_errors);
    RUN(test_tzdir);
    RUN(test_utc);
    RUN(test_berlin_2026);
    RUN(test_new_york_2026);
    RUN(test_lord_howe);
    RUN(test_kolkata);
    RUN(test_against_glibc);
    RUN(test_slim);
    RUN(test_v1);
    RUN(test_leap_seconds);
    RUN(test_posix_rules);
    RUN(test_built);
    RUN(test_corrupt);
    RUN(test_extremes);
    RUN(test_cache);
    RUN(test_speed);
    return t_done();
}
