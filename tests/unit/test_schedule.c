/*
 * Send windows and due times: business hours in the lead's zone, weekends,
 * both daylight-saving changes, half-hour zones, stale steps, and a
 * multi-step sequence walked across a DST change whose every send must land
 * inside local business hours.
 */
#include "nurture/schedule.h"
#include "nurture/tz.h"
#include "t.h"

static int64_t
utc(const char *s)
{
    int64_t t = 0;
    nt_diag d;
    if (nt_time_parse(s, &t, &d) != NT_OK) {
        fprintf(stderr, "bad test time %s: %s\n", s, d.msg);
        abort();
    }
    return t;
}

static nt_tz *
zone(const char *name)
{
    nt_tz *tz = NULL;
    nt_diag d;
    if (nt_tz_load(name, &tz, &d) != NT_OK) {
        fprintf(stderr, "cannot load %s: %s\n", name, d.msg);
        abort();
    }
    return tz;
}

/* Mon-Fri 09:00-17:00 */
static nt_window
business(void)
{
    nt_window w = {0x3e, 9 * 60, 17 * 60, NULL};
    return w;
}

static void
test_inside_and_weekend(void)
{
    nt_tz *ny = zone("America/New_York");
    nt_window w = business();

    /* Wednesday 2026-11-18 10:00 EST = 15:00Z: open, unchanged */
    CHECK_INT(nt_window_next(&w, ny, utc("2026-11-18T15:00:00Z")), utc("2026-11-18T15:00:00Z"));
    CHECK(nt_window_open(&w, ny, utc("2026-11-18T15:00:00Z")));
    /* 08:59 local -> 09:00 local */
    CHECK_INT(nt_window_next(&w, ny, utc("2026-11-18T13:59:00Z")), utc("2026-11-18T14:00:00Z"));
    /* 17:00 local is closed (end exclusive) -> next day 09:00 */
    CHECK(!nt_window_open(&w, ny, utc("2026-11-18T22:00:00Z")));
    CHECK_INT(nt_window_next(&w, ny, utc("2026-11-18T22:00:00Z")), utc("2026-11-19T14:00:00Z"));
    /* Friday 18:00 -> Monday 09:00 */
    CHECK_INT(nt_window_next(&w, ny, utc("2026-11-20T23:00:00Z")), utc("2026-11-23T14:00:00Z"));
    /* Saturday noon -> Monday 09:00 */
    CHECK_INT(nt_window_next(&w, ny, utc("2026-11-21T17:00:00Z")), utc("2026-11-23T14:00:00Z"));
    /* 03:00 UTC Thursday is 22:00 Wednesday in New York: closed */
    CHECK(!nt_window_open(&w, ny, utc("2026-11-19T03:00:00Z")));
    nt_tz_free(ny);
}

static void
test_dst_fall_back(void)
{
    nt_tz *ny = zone("America/New_York");
    nt_window w = business();

    /* US DST ends Sunday 2026-11-01.  Friday 2026-10-30 18:00 EDT (22:00Z)
     * -> Monday 2026-11-02 09:00 EST, which is 14:00Z, not 13:00Z. */
    CHECK_INT(nt_window_next(&w, ny, utc("2026-10-30T22:00:00Z")), utc("2026-11-02T14:00:00Z"));
    /* Friday 09:00 EDT is 13:00Z */
    CHECK_INT(nt_window_next(&w, ny, utc("2026-10-30T12:00:00Z")), utc("2026-10-30T13:00:00Z"));
    /* Three days after Friday 10:00 EDT (14:00Z) is Monday 14:00Z, which is
     * now 09:00 EST: inside the window, exactly on its opening. */
    CHECK_INT(nt_step_time(&w, ny, utc("2026-10-30T14:00:00Z"), 3 * 86400),
              utc("2026-11-02T14:00:00Z"));
    nt_tz_free(ny);
}

static void
test_dst_spring_forward(void)
{
    nt_tz *ny = zone("America/New_York");
    nt_tz *berlin = zone("Europe/Berlin");
    nt_window w = business();
    nt_window night = {0x7f, 60, 4 * 60, NULL}; /* 01:00-04:00 every day */

    /* US DST starts Sunday 2026-03-08: Friday 18:00 EST (23:00Z) -> Monday
     * 09:00 EDT = 13:00Z. */
    CHECK_INT(nt_window_next(&w, ny, utc("2026-03-06T23:00:00Z")), utc("2026-03-09T13:00:00Z"));
    /* Berlin springs forward 2026-03-29 02:00 -> 03:00: the 01:00-04:00
     * window lasts two hours that night, three the night before. */
    CHECK_INT(nt_window_open_between(&night, berlin, utc("2026-03-28T22:00:00Z"),
                                     utc("2026-03-29T22:00:00Z"), 86400),
              2 * 3600);
    CHECK_INT(nt_window_open_between(&night, berlin, utc("2026-03-27T22:00:00Z"),
                                     utc("2026-03-28T22:00:00Z"), 86400),
              3 * 3600);
    /* ... and four hours on the night the clocks go back (2026-10-25). */
    CHECK_INT(nt_window_open_between(&night, berlin, utc("2026-10-24T21:00:00Z"),
                                     utc("2026-10-25T21:00:00Z"), 86400),
              4 * 3600);
    /* A window that opens in the gap: 02:30 does not exist that night; the
     * window opens when the clock shows 03:30. */
    nt_window gap = {0x7f, 150, 240, NULL};
    CHECK_INT(nt_window_next(&gap, berlin, utc("2026-03-28T23:00:00Z")),
              utc("2026-03-29T01:30:00Z"));
    nt_tz_free(ny);
    nt_tz_free(berlin);
}

static void
test_fixed_and_odd_zones(void)
{
    nt_tz *lh = zone("Australia/Lord_Howe");
    nt_tz *kol = zone("Asia/Kolkata");
    nt_window w = business();

    /* Kolkata is UTC+05:30 all year: 09:00 local = 03:30Z */
    CHECK_INT(nt_window_next(&w, kol, utc("2026-11-18T00:00:00Z")), utc("2026-11-18T03:30:00Z"));
    /* Lord Howe in November is +11:00 (DST, 30-minute shift): 09:00 = 22:00Z
     * the day before */
    CHECK_INT(nt_window_next(&w, lh, utc("2026-11-17T12:00:00Z")), utc("2026-11-17T22:00:00Z"));
    /* and +10:30 in June */
    CHECK_INT(nt_window_next(&w, lh, utc("2026-06-16T12:00:00Z")), utc("2026-06-16T22:30:00Z"));
    nt_tz_free(lh);
    nt_tz_free(kol);
}

static void
test_empty_window(void)
{
    nt_tz *utcz = nt_tz_utc();
    nt_window none = {0, 9 * 60, 17 * 60, NULL};
    nt_window nohours = {0x3e, 9 * 60, 9 * 60, NULL};

    CHECK_INT(nt_window_next(&none, utcz, 0), -1);
    CHECK_INT(nt_window_next(&nohours, utcz, 0), -1);
    CHECK_INT(nt_window_next_opening(&none, utcz, 0), -1);
    CHECK_INT(nt_window_open_between(&none, utcz, 0, 86400 * 30, 1 << 30), 0);
    nt_tz_free(utcz);
}

static void
test_decide(void)
{
    nt_tz *ny = zone("America/New_York");
    nt_window w = business();
    int64_t when = 0;
    int64_t mon10 = utc("2026-11-16T15:00:00Z"); /* Monday 10:00 EST */
    int64_t stale = 4 * 3600;

    /* not yet due */
    CHECK_INT(nt_schedule_decide(&w, ny, mon10, stale, mon10 - 60, &when), NT_DUE_WAITING);
    CHECK_INT(when, mon10);
    /* due, window open, a little late: send now */
    CHECK_INT(nt_schedule_decide(&w, ny, mon10, stale, mon10 + 7200, &when), NT_DUE_SEND);
    CHECK_INT(when, mon10 + 7200);
    /* due at 16:59, cron at 17:01: wait for Tuesday 09:00 */
    CHECK_INT(nt_schedule_decide(&w, ny, utc("2026-11-16T21:59:00Z"), stale,
                                 utc("2026-11-16T22:01:00Z"), &when),
              NT_DUE_WINDOW);
    CHECK_INT(when, utc("2026-11-17T14:00:00Z"));
    /* ... and on Tuesday 09:00 it is sent: one minute of open window missed */
    CHECK_INT(nt_schedule_decide(&w, ny, utc("2026-11-16T21:59:00Z"), stale,
                                 utc("2026-11-17T14:00:00Z"), &when),
              NT_DUE_SEND);
    /* Friday 16:59 to Monday 09:05 is six minutes of open window, not stale */
    CHECK_INT(nt_schedule_decide(&w, ny, utc("2026-11-20T21:59:00Z"), stale,
                                 utc("2026-11-23T14:05:00Z"), &when),
              NT_DUE_SEND);
    /* cron down from Monday 10:00 to Tuesday 11:00: 9 open hours late ->
     * stale, moved to Wednesday 09:00, not sent at 11:00 */
    CHECK_INT(nt_schedule_decide(&w, ny, mon10, stale, utc("2026-11-17T16:00:00Z"), &when),
              NT_DUE_STALE);
    CHECK_INT(when, utc("2026-11-18T14:00:00Z"));
    /* cron comes back Wednesday 20:00 (closed): stale, moved to Thursday
     * 09:00, and once moved it is sent then, not moved again */
    CHECK_INT(nt_schedule_decide(&w, ny, mon10, stale, utc("2026-11-19T01:00:00Z"), &when),
              NT_DUE_STALE);
    CHECK_INT(when, utc("2026-11-19T14:00:00Z"));
    CHECK_INT(nt_schedule_decide(&w, ny, when, stale, when, &when), NT_DUE_SEND);
    nt_tz_free(ny);
}

/* Walk a five-step sequence across the US fall-back weekend, one step at a
 * time, sending each at its scheduled instant: every send is in local
 * business hours on a weekday and no earlier than its delay allows. */
static void
test_sequence_across_dst(void)
{
    static const int64_t delays[] = {600, 2 * 86400, 3 * 86400, 4 * 86400, 4 * 86400};
    static const char *const zones[] = {"America/New_York", "Europe/Berlin", "Australia/Sydney",
                                        "Asia/Kolkata", "America/Sao_Paulo"};
    nt_window w = business();

    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        nt_tz *tz = zone(zones[z]);
        /* enroll at every hour of a week around the change */
        for (int64_t enrolled = utc("2026-10-22T00:00:00Z"); enrolled < utc("2026-10-29T00:00:00Z");
             enrolled += 3600) {
            int64_t prev = enrolled;
            for (size_t k = 0; k < 5; k++) {
                int64_t t = nt_step_time(&w, tz, prev, delays[k]);
                nt_civil c;
                nt_tz_to_local(tz, t, &c);
                if (!(t >= prev + delays[k] && c.wday >= 1 && c.wday <= 5 && c.hour >= 9 &&
                      c.hour < 17)) {
                    CHECK(!"send outside local business hours");
                    fprintf(stderr,
                            "zone %s enrolled %lld step %zu at %lld: %04d-%02d-%02d %02d:%02d wday "
                            "%d\n",
                            zones[z], (long long)enrolled, k, (long long)t, c.year, c.month, c.day,
                            c.hour, c.min, c.wday);
                    nt_tz_free(tz);
                    return;
                }
                prev = t;
            }
        }
        CHECK(1);
        nt_tz_free(tz);
    }
}

int
main(void)
{
    RUN(test_inside_and_weekend);
    RUN(test_dst_fall_back);
    RUN(test_dst_spring_forward);
    RUN(test_fixed_and_odd_zones);
    RUN(test_empty_window);
    RUN(test_decide);
    RUN(test_sequence_across_dst);
    return t_done();
}
