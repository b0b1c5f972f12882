/*
 * Enrollment and the due set: what a run at a given time does.
 *
 * nt_enroll puts leads into campaigns by stage; nt_plan_due walks the
 * enrollments whose next step is due and says, for each, what happens and
 * why.  `nurture plan` runs both inside a transaction it rolls back;
 * `nurture run` runs the same code and commits, so the plan is what the run
 * does.
 *
 * Both cost what changed, not what exists: enrollment reads only leads
 * changed since the campaign last looked (a revision watermark), and the due
 * set is read through an index over active enrollments by due time.
 */
#ifndef NURTURE_PLAN_H
#define NURTURE_PLAN_H

#include <stdint.h>

#include "nurture/campaign.h"
#include "nurture/config.h"
#include "nurture/schedule.h"
#include "nurture/store.h"
#include "nurture/tz.h"

typedef struct nt_enroll_stats {
    int64_t scanned;  /* leads looked at */
    int64_t enrolled; /* enrollments created */
} nt_enroll_stats;

/*
 * Enroll leads changed since each campaign's watermark that match its
 * audience (campaigns not paused; only `only` when not NULL), with the first
 * step scheduled from `now`.  Must run inside a store transaction.
 */
nt_err nt_enroll(nt_store *st, const nt_config *cfg, const nt_campaign_set *cs, const char *only,
                 int64_t now, nt_tzcache *zones, nt_enroll_stats *stats, nt_diag *d);

typedef enum nt_plan_status {
    NT_PLAN_SEND = 0,    /* a run now sends it */
    NT_PLAN_WAITING,     /* not yet due */
    NT_PLAN_WINDOW,      /* due, window closed: goes when it opens */
    NT_PLAN_STALE,       /* late (cron was down): moved to the next opening */
    NT_PLAN_SUPPRESSED,  /* the address is on the suppression list */
    NT_PLAN_EXIT,        /* the lead left the audience: the enrollment ends */
    NT_PLAN_PAUSED,      /* the campaign is paused */
    NT_PLAN_COMPLETE,    /* no step left (after a campaign edit) */
    NT_PLAN_NO_CAMPAIGN, /* the campaign file is gone or fails lint */
} nt_plan_status;

const char *nt_plan_status_name(nt_plan_status s);

/* One step of one lead, as the callback sees it; everything borrowed for the
 * duration of the call. */
typedef struct nt_plan_item {
    const nt_lead *lead;
    const nt_campaign *campaign; /* NULL for NT_PLAN_NO_CAMPAIGN */
    const nt_enrollment *enrollment;
    int step; /* index into campaign->steps, -1 when none */
    nt_plan_status status;
    int64_t when;       /* when it goes (the run time for NT_PLAN_SEND) */
    int64_t scheduled;  /* the time it was scheduled for */
    const nt_tz *tz;    /* zone of the send window */
    const char *reason; /* for people: why (not) */
    int projected;      /* a later step, assuming the earlier ones go on time */
} nt_plan_item;

typedef int (*nt_plan_cb)(void *ctx, const nt_plan_item *item);

typedef struct nt_plan_opts {
    int64_t at;           /* the run time */
    int64_t until;        /* list steps scheduled up to here (>= at) */
    const char *campaign; /* only this campaign, or NULL */
    int64_t limit;        /* at most this many enrollments, 0 = all */
} nt_plan_opts;

typedef struct nt_plan_stats {
    int64_t enrollments; /* due enrollments looked at */
    int64_t by_status[NT_PLAN_NO_CAMPAIGN + 1];
} nt_plan_stats;

/*
 * Call cb for each step scheduled up to o->until, soonest enrollment first.
 * Reads only; the caller persists what a run decides.
 */
nt_err nt_plan_due(nt_store *st, const nt_config *cfg, const nt_campaign_set *cs,
                   const nt_plan_opts *o, nt_tzcache *zones, nt_plan_cb cb, void *ctx,
                   nt_plan_stats *stats, nt_diag *d);

/* The zone a campaign's window uses for lead l: the window's fixed zone, the
 * lead's, or the configured default.  Borrowed from zones. */
nt_err nt_plan_zone(const nt_config *cfg, const nt_campaign *c, const nt_lead *l, nt_tzcache *zones,
                    const nt_tz **out, nt_diag *d);

#endif
