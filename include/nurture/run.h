/*
 * One tick of the engine: what `nurture run` does.
 *
 * A run sends what is due, at most once per lead x campaign version x step,
 * whatever overlaps, crashes or SMTP failures happen.  The order of work is
 * what makes that true:
 *
 *   1. sends left claimed by a run that died become `unknown`: they may have
 *      gone out, so they are reported and never re-sent blindly;
 *   2. leads are enrolled, and the due set is computed (plan.h);
 *   3. a batch is claimed: one send row per message, unique, committed
 *      before any SMTP traffic; each claimed enrollment is parked;
 *   4. the batch is sent over one or more SMTP sessions, outside any
 *      transaction;
 *   5. each server answer is recorded: 2xx sent (the enrollment moves to its
 *      next step), 4xx deferred with backoff, 5xx failed (5.1.x suppresses
 *      the address like a hard bounce).
 *
 * The caller holds the run lock, so no other run is between steps 3 and 5.
 */
#ifndef NURTURE_RUN_H
#define NURTURE_RUN_H

#include <stdint.h>

#include "nurture/campaign.h"
#include "nurture/config.h"
#include "nurture/store.h"
#include "nurture/token.h"

typedef struct nt_run_opts {
    int64_t now;          /* the run time */
    int dry_run;          /* decide, send nothing, change nothing */
    int64_t limit;        /* at most this many messages (0 = no limit) */
    const char *campaign; /* only this campaign, or NULL */
    const char *password; /* SMTP password (NULL = no AUTH); borrowed */
} nt_run_opts;

typedef struct nt_run_stats {
    int64_t orphans;     /* claimed sends of a dead run, now unknown */
    int64_t enrolled;    /* leads enrolled by this run */
    int64_t due;         /* steps due now */
    int64_t retries;     /* deferred sends retried */
    int64_t sent;        /* accepted by the server (2xx) */
    int64_t deferred;    /* 4xx or no answer: retried later */
    int64_t failed;      /* 5xx, or given up after retrying */
    int64_t suppressed;  /* addresses suppressed because of a 5.1.x answer */
    int64_t capped;      /* due, but over a sender's cap: left for a later run */
    int64_t paused;      /* due, but its sender is paused after a policy block */
    int64_t skipped;     /* due, but suppressed, left the audience, moved... */
    int64_t conn_errors; /* sessions that could not talk to the server */
} nt_run_stats;

/* Called after each batch, for a progress display; may be NULL. */
typedef void (*nt_run_progress_fn)(void *ctx, const nt_run_stats *st, int64_t total);

/*
 * Run once.  Returns an error only when the run could not go on (database,
 * configuration, no secret); SMTP trouble is counted in stats.  When
 * dry_run, `item_cb` (may be NULL) sees each message that would be sent.
 */
nt_err nt_run(nt_store *st, const nt_config *cfg, const nt_campaign_set *cs,
              const nt_token_key *key, const nt_run_opts *o, nt_run_progress_fn progress,
              void *progress_ctx, nt_run_stats *stats, nt_diag *d);

#endif
