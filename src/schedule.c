/*
 * Send windows and due times (see schedule.h).  Every function is pure:
 * the window is evaluated day by day in local civil time and each day's
 * opening and closing are turned into instants through the zone, so a day
 * that is 23 or 25 hours long is handled by the zone, not by arithmetic on
 * seconds.
 */
#include "nurture/schedule.h"

#include "banned.h"

/* Look at most this many local days ahead: a window has at least one day a
 * week, so 8 always finds an opening. */
#define LOOKAHEAD_DAYS 8

static int64_t
local_days(const nt_tz *tz, int64_t t)
{
    nt_civil c;

    nt_tz_to_local(tz, t, &c);
    return nt_days_from_civil(c.year, c.month, c.day);
}

static int64_t
at_minute(const nt_tz *tz, int64_t days, int minute)
{
    nt_civil c = {0};

    days += minute / 1440;
    minute %= 1440;
    nt_civil_from_days(days, &c.year, &c.month, &c.day);
    c.hour = minute / 60;
    c.min = minute % 60;
    return nt_tz_from_local(tz, &c);
}

static int
day_allowed(const nt_window *w, int64_t days)
{
    return (w->days >> nt_weekday_from_days(days)) & 1u;
}

/* Opening and closing instants of the window on local day `days`. */
static void
period(const nt_window *w, const nt_tz *tz, int64_t days, int64_t *open, int64_t *close)
{
    *open = at_minute(tz, days, w->start_min);
    *close = at_minute(tz, days, w->end_min);
}

int
nt_window_open(const nt_window *w, const nt_tz *tz, int64_t t)
{
    return nt_window_next(w, tz, t) == t;
}

/*
 * Walk the window's periods from the local day before t (a period reaching
 * midnight can still be open just after a zone shift) and return the first
 * that is still open at t (as t, or its opening if later) or, with
 * `opening_only`, the first that opens after t.
 */
static int64_t
scan(const nt_window *w, const nt_tz *tz, int64_t t, int opening_only)
{
    int64_t d0;

    if (!(w->days & 0x7f) || w->end_min <= w->start_min)
        return -1;
    d0 = local_days(tz, t) - 1;
    for (int k = 0; k <= LOOKAHEAD_DAYS; k++) {
        int64_t open, close;
        if (!day_allowed(w, d0 + k))
            continue;
        period(w, tz, d0 + k, &open, &close);
        if (opening_only ? open > t : t < close)
            return t > open ? t : open;
    }
    return -1;
}

int64_t
nt_window_next(const nt_window *w, const nt_tz *tz, int64_t t)
{
    return scan(w, tz, t, 0);
}

int64_t
nt_window_next_opening(const nt_window *w, const nt_tz *tz, int64_t t)
{
    return scan(w, tz, t, 1);
}

int64_t
nt_window_open_between(const nt_window *w, const nt_tz *tz, int64_t a, int64_t b, int64_t cap)
{
    int64_t total = 0, d, last;

    if (b <= a || !(w->days & 0x7f) || w->end_min <= w->start_min)
        return 0;
    d = local_days(tz, a) - 1;
    last = local_days(tz, b);
    for (; d <= last && total <= cap; d++) {
        int64_t open, close, lo, hi;
        if (!day_allowed(w, d))
            continue;
        period(w, tz, d, &open, &close);
        lo = open > a ? open : a;
        hi = close < b ? close : b;
        if (hi > lo)
            total += hi - lo;
    }
    return total;
}

int64_t
nt_step_time(const nt_window *w, const nt_tz *tz, int64_t prev, int64_t after)
{
    return nt_window_next(w, tz, prev + after);
}

nt_due_status
nt_schedule_decide(const nt_window *w, const nt_tz *tz, int64_t next_at, int64_t stale_after,
                   int64_t now, int64_t *when)
{
    if (now < next_at) {
        *when = next_at;
        return NT_DUE_WAITING;
    }
    /* Staleness first: a step found late while the window is closed must
     * not be judged again, and moved again, when the window opens. */
    if (nt_window_open_between(w, tz, next_at, now, stale_after) > stale_after) {
        *when = nt_window_next_opening(w, tz, now);
        return NT_DUE_STALE;
    }
    if (!nt_window_open(w, tz, now)) {
        *when = nt_window_next(w, tz, now);
        return NT_DUE_WINDOW;
    }
    *when = now;
    return NT_DUE_SEND;
}

const char *
nt_due_status_name(nt_due_status s)
{
    switch (s) {
    case NT_DUE_SEND:
        return "send";
    case NT_DUE_WAITING:
        return "waiting";
    case NT_DUE_WINDOW:
        return "outside-window";
    case NT_DUE_STALE:
        return "stale";
    }
    return "?";
}
