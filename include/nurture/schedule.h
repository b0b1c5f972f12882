/*
 * When a step goes out: pure functions of (window, zone, times).
 *
 * Nothing here reads a clock or the database; the current time is an
 * argument, so tests can move time freely, across daylight-saving changes
 * included.
 *
 * The rules:
 *  - a step is due at the previous step's send time (or the enrollment time,
 *    for the first step) plus its delay;
 *  - it goes out at the first instant at or after that which is inside the
 *    send window, in the lead's local time (or the campaign's fixed zone);
 *  - a step that has been sendable for longer than `stale_after` of open
 *    window time without going out (cron was down) is stale: it is not sent
 *    in the middle of whatever moment cron comes back, but moved to the next
 *    opening of the window.
 */
#ifndef NURTURE_SCHEDULE_H
#define NURTURE_SCHEDULE_H

#include <stdint.h>

#include "nurture/campaign.h"
#include "nurture/tz.h"

/* Whether the window is open at instant t. */
int nt_window_open(const nt_window *w, const nt_tz *tz, int64_t t);

/* The earliest instant >= t at which the window is open; -1 when the window
 * has no days. */
int64_t nt_window_next(const nt_window *w, const nt_tz *tz, int64_t t);

/* The first opening (start of a window period) strictly after t; -1 when the
 * window has no days. */
int64_t nt_window_next_opening(const nt_window *w, const nt_tz *tz, int64_t t);

/* Seconds of open window in [a, b); stops counting past `cap`. */
int64_t nt_window_open_between(const nt_window *w, const nt_tz *tz, int64_t a, int64_t b,
                               int64_t cap);

/* When a step with delay `after` following `prev` (send or enrollment time)
 * goes out: nt_window_next(prev + after). */
int64_t nt_step_time(const nt_window *w, const nt_tz *tz, int64_t prev, int64_t after);

typedef enum nt_due_status {
    NT_DUE_SEND = 0, /* send now */
    NT_DUE_WAITING,  /* its time has not come: `when` */
    NT_DUE_WINDOW,   /* its time has come but the window is closed: `when` it opens */
    NT_DUE_STALE,    /* late beyond stale_after: moved to the opening at `when` */
} nt_due_status;

/*
 * Decide what a run at `now` does with a step scheduled for `next_at`.
 * *when is set to now for NT_DUE_SEND, else to the instant it will go.
 */
nt_due_status nt_schedule_decide(const nt_window *w, const nt_tz *tz, int64_t next_at,
                                 int64_t stale_after, int64_t now, int64_t *when);

const char *nt_due_status_name(nt_due_status s);

#endif
