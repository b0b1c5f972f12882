/*
 * Lead scoring: how engaged a lead is, and how well it fits.
 *
 * A score is the sum of what each configured rule (config.h, nt_scoring)
 * contributes at a given time:
 *
 *   engagement rule  its points for the first matching event, or for every
 *                    one when `repeat`; each event's points halve every
 *                    `half_life` after it happened, so old engagement fades;
 *   fit rule         its points when the lead's field meets the condition.
 *
 * Pure: the events and the time are given; nothing is read or stored here
 * (engage.h does that).  Events after `now` do not count.
 */
#ifndef NURTURE_SCORE_H
#define NURTURE_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "nurture/config.h"
#include "nurture/error.h"
#include "nurture/lead.h"

/* One engagement event as scoring sees it; strings borrowed. */
typedef struct nt_score_event {
    const char *kind; /* "replied", "clicked", ... */
    int64_t at;
    const char *intent; /* for replies, or NULL */
} nt_score_event;

/* What one rule contributed. */
typedef struct nt_score_part {
    const nt_score_rule *rule; /* borrowed from the config */
    int events;                /* events counted (0 for a fit rule) */
    int64_t first_at;          /* oldest and newest event counted; 0 for fit */
    int64_t last_at;
    double points; /* after fading, at `now` */
} nt_score_part;

typedef struct nt_score {
    double total;
    nt_score_part *parts; /* rules that contributed, in config order */
    size_t nparts;
} nt_score;

/*
 * Score lead l with events ev[0..n) (any order) at `now`.  out owned by
 * the caller: nt_score_release().  NT_ENOMEM is the only error.
 */
nt_err nt_score_compute(const nt_scoring *sc, const nt_lead *l, const nt_score_event *ev, size_t n,
                        int64_t now, nt_score *out);
void nt_score_release(nt_score *s);

/* Whether engagement rule r counts event ev. */
int nt_score_event_matches(const nt_score_rule *r, const nt_score_event *ev);
/* Whether fit rule r holds for lead l. */
int nt_score_fit_matches(const nt_score_rule *r, const nt_lead *l);
/* points faded over age seconds with half-life hl (0: no fading). */
double nt_score_fade(double points, int64_t age, long long hl);

#endif
