/*
 * The sales queue: engaged leads handed to a rep, with the reason, and
 * what the rep decided.
 *
 *   hand-off   a lead enters once (never again while an entry is open or
 *              claimed), with the reply that engaged it and its score; it
 *              is assigned to its owner when it has one, otherwise by
 *              weighted round-robin among the reps not away; the lead moves
 *              to queue.handoff_stage when set;
 *   pull       a rep claims the next entry: escalated ones first, then
 *              their own, oldest first; atomically, so two reps pulling at
 *              the same moment never get the same lead;
 *   accept     the lead moves to queue.accept_stage (by default the stage
 *              after the one it is in);
 *   reject     with a reason from the configured list and a note; a reason
 *              configured with `recycle: CAMPAIGN` sends the lead back;
 *   recycle    the lead goes back to a nurture campaign: it moves to the
 *              campaign's audience stage and its enrollment there restarts
 *              at the next step it has not been sent;
 *   escalate   an entry left unclaimed past queue.sla is marked escalated,
 *              and any rep's pull takes it.
 *
 * Every change is one transaction that also appends the lead's timeline
 * event ("handoff", "claimed", "accepted", "rejected", "recycled",
 * "escalated") and queues the webhooks (webhook.h), so a crash leaves all
 * of it or none of it.  Times come from the caller.
 */
#ifndef NURTURE_QUEUE_H
#define NURTURE_QUEUE_H

#include <stdint.h>

#include "nurture/campaign.h"
#include "nurture/config.h"
#include "nurture/error.h"
#include "nurture/lead.h"
#include "nurture/store.h"

/* Why and with what a lead is handed off; all borrowed, any may be NULL
 * but trigger and reason. */
typedef struct nt_handoff {
    const char *trigger;  /* the score rule that handed off, or "threshold" */
    const char *reason;   /* for the rep: "replied (meeting); score 72 >= 50" */
    double score;         /* the lead's score at the time */
    int64_t inbound_id;   /* the reply, or 0 */
    const char *campaign; /* campaign and step the reply answered */
    const char *step_id;
    const char *intent;     /* the reply's intent */
    const char *reply_text; /* its visible text */
    const char *context;    /* JSON object: fields, score contributions */
} nt_handoff;

/*
 * Hand lead `l` off inside the caller's transaction.  *added = 0 (and
 * *entry_id the open entry) when the lead already has an open or claimed
 * entry: nothing is changed then.
 */
nt_err nt_queue_handoff(nt_store *st, const nt_config *cfg, const nt_lead *l, const nt_handoff *h,
                        int64_t now, int64_t *entry_id, int *added, nt_diag *d);

/*
 * The rep who gets the next entry of lead `l`: its owner when set,
 * otherwise the weighted round-robin choice among reps not away (the
 * rotation state is advanced in the store, so call inside the hand-off's
 * transaction).  *rep = NULL when no rep is configured or all are away;
 * *how = "owner", "round-robin" or "none".  *rep borrowed from cfg or l.
 */
nt_err nt_queue_assign(nt_store *st, const nt_config *cfg, const nt_lead *l, const char **rep,
                       const char **how, nt_diag *d);

/*
 * Claim the next entry for `rep` (a rep in the config: NT_EINVAL
 * otherwise).  *got = 0 when there is none.  On success out is filled
 * (owned by the caller: nt_qentry_release).  Runs its own transaction.
 */
nt_err nt_queue_pull(nt_store *st, const nt_config *cfg, const char *rep, int64_t now,
                     nt_qentry *out, int *got, nt_diag *d);

/*
 * Decide entry `id`.  `rep` (may be NULL) is who decides, recorded with
 * the decision.  Accept and reject take an open or claimed entry; an entry
 * decided before is NT_EINVAL with a diag saying what became of it.
 * reject: `reason` must be one of the configured reasons (NT_EINVAL
 * otherwise, listing them).  recycle takes any entry not already recycled;
 * `campaign` must be in cs.  Each runs its own transaction; out (may be
 * NULL) receives the entry as it now is (nt_qentry_release).
 */
nt_err nt_queue_accept(nt_store *st, const nt_config *cfg, int64_t id, const char *rep,
                       const char *note, int64_t now, nt_qentry *out, nt_diag *d);
nt_err nt_queue_reject(nt_store *st, const nt_config *cfg, const nt_campaign_set *cs, int64_t id,
                       const char *rep, const char *reason, const char *note, int64_t now,
                       nt_qentry *out, nt_diag *d);
nt_err nt_queue_recycle(nt_store *st, const nt_config *cfg, const nt_campaign_set *cs, int64_t id,
                        const char *campaign, const char *rep, int64_t now, nt_qentry *out,
                        nt_diag *d);

/* Mark every open entry older than the SLA as escalated (an "escalated"
 * event and the sla webhook each); *count says how many.  Nothing when no
 * SLA is configured.  Runs its own transaction. */
nt_err nt_queue_escalate(nt_store *st, const nt_config *cfg, int64_t now, int64_t *count,
                         nt_diag *d);

#endif
