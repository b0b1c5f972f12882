/*
 * Engagement: what happens after a lead does something that counts (a
 * human reply now; clicks later).  The lead is scored (score.h) with all
 * its events, and handed to sales (queue.h) when a rule that hands off at
 * once matches the event (a reply asking for a meeting or for pricing),
 * or when its score reaches the configured threshold.
 */
#ifndef NURTURE_ENGAGE_H
#define NURTURE_ENGAGE_H

#include <stdint.h>

#include "nurture/config.h"
#include "nurture/error.h"
#include "nurture/lead.h"
#include "nurture/score.h"
#include "nurture/store.h"

/* The event just recorded on the lead's timeline; strings borrowed, any
 * may be NULL but kind. */
typedef struct nt_engagement {
    const char *kind;     /* the event kind: "replied" */
    const char *intent;   /* a reply's intent */
    int64_t inbound_id;   /* the message, or 0 */
    const char *campaign; /* campaign and step it answered */
    const char *step_id;
    const char *text; /* a reply's visible text */
} nt_engagement;

/*
 * Score lead `lead_id` after `ev` was recorded (inside the caller's
 * transaction) and hand it off when it qualifies.  *entry_id is the new
 * queue entry, or 0 when the lead was not handed off (or already had an
 * open entry).  reason (may be NULL) receives what decided, for people.
 */
nt_err nt_engage(nt_store *st, const nt_config *cfg, int64_t lead_id, const nt_engagement *ev,
                 int64_t now, int64_t *entry_id, char *reason, size_t reasonsz, nt_diag *d);

/*
 * The score of lead l at `now` from its stored events.  out owned by the
 * caller: nt_score_release().
 */
nt_err nt_engage_score(nt_store *st, const nt_config *cfg, const nt_lead *l, int64_t now,
                       nt_score *out, nt_diag *d);

#endif
