/*
 * Enrollment: leads enter a campaign when their stage (and the campaign's
 * field conditions) match.  Only leads changed since the campaign last
 * looked are read, so a run over a million leads costs what changed since
 * the previous run.  A lead enters a campaign once: leaving the stage and
 * coming back does not restart the sequence.
 */
#include <stdio.h>
#include <string.h>

#include "nurture/plan.h"

#include "banned.h"

typedef struct enroll_ctx {
    nt_store *st;
    const nt_config *cfg;
    const nt_campaign *c;
    nt_tzcache *zones;
    int64_t now;
    nt_enroll_stats *stats;
    nt_diag *d;
    nt_err err;
} enroll_ctx;

static int
enroll_one(void *vctx, const nt_lead *l)
{
    enroll_ctx *x = vctx;
    const nt_campaign *c = x->c;
    const nt_tz *tz;
    nt_enrollment e;
    int added;

    x->stats->scanned++;
    if (!nt_campaign_matches(c, l))
        return 0;
    if ((x->err = nt_plan_zone(x->cfg, c, l, x->zones, &tz, x->d)) != NT_OK)
        return 1;
    memset(&e, 0, sizeof(e));
    e.lead_id = l->id;
    e.campaign = c->name;
    e.version = (char *)c->version;
    e.state = NT_ENROLL_ACTIVE;
    e.step = 0;
    e.enrolled_at = x->now;
    e.due_at = x->now + c->steps[0].after;
    e.next_at = nt_window_next(&c->window, tz, e.due_at);
    if ((x->err = nt_store_enrollment_add(x->st, &e, &added, x->d)) != NT_OK)
        return 1;
    if (added) {
        char detail[300];
        snprintf(detail, sizeof(detail), "{\"campaign\":\"%s\",\"version\":\"%s\"}", c->name,
                 c->version);
        if ((x->err = nt_store_event_add(x->st, l->id, x->now, "enrolled", detail, x->d)))
            return 1;
        x->stats->enrolled++;
    }
    return 0;
}

nt_err
nt_enroll(nt_store *st, const nt_config *cfg, const nt_campaign_set *cs, const char *only,
          int64_t now, nt_tzcache *zones, nt_enroll_stats *stats, nt_diag *d)
{
    memset(stats, 0, sizeof(*stats));
    for (size_t i = 0; i < cs->n; i++) {
        const nt_campaign *c = cs->items[i];
        enroll_ctx x = {st, cfg, c, zones, now, stats, d, NT_OK};
        int64_t rev, max_rev;
        nt_err err;

        if (c->paused || c->nsteps == 0 || (only && strcmp(only, c->name) != 0))
            continue;
        if ((err = nt_store_watermark_get(st, c->name, &rev, d)) != NT_OK)
            return err;
        err = nt_store_lead_changed_since(st, rev, &max_rev, enroll_one, &x, d);
        if (err == NT_OK)
            err = x.err;
        if (err != NT_OK)
            return err;
        if (max_rev != rev && (err = nt_store_watermark_set(st, c->name, max_rev, d)) != NT_OK)
            return err;
    }
    return NT_OK;
}
