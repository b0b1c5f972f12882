/*
 * The due set (see plan.h): for each enrollment whose next step is due, the
 * lead, the campaign version it is on, its exit rules, the suppression list
 * and the send window decide what a run does, and the reason is kept so
 * that `nurture plan` can say why.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nurture/plan.h"

#include "banned.h"

const char *
nt_plan_status_name(nt_plan_status s)
{
    static const char *const names[] = {
        "send", "waiting", "outside-window", "stale",       "suppressed",
        "exit", "paused",  "complete",       "no-campaign",
    };
    return (unsigned)s <= NT_PLAN_NO_CAMPAIGN ? names[s] : "?";
}

nt_err
nt_plan_zone(const nt_config *cfg, const nt_campaign *c, const nt_lead *l, nt_tzcache *zones,
             const nt_tz **out, nt_diag *d)
{
    const char *name = c->window.timezone;

    if (!name)
        name = l->timezone ? l->timezone : cfg->timezone;
    if (nt_tzcache_get(zones, name, out, NULL) == NT_OK)
        return NT_OK;
    /* A zone that vanished from the system falls back to the default. */
    return nt_tzcache_get(zones, cfg->timezone, out, d);
}

typedef struct due_ctx {
    nt_store *st;
    const nt_config *cfg;
    const nt_campaign_set *cs;
    const nt_plan_opts *o;
    nt_tzcache *zones;
    nt_plan_cb cb;
    void *ctx;
    nt_plan_stats *stats;
    nt_diag *d;
    nt_err err;
} due_ctx;

/*
 * Where an enrollment on an older version of the campaign continues: after
 * the step it last received (matched by id), skipping any step of the new
 * version it already received.
 */
static nt_err
migrate_step(due_ctx *x, const nt_campaign *c, const nt_enrollment *e, int *step)
{
    int i = e->last_step_id ? nt_campaign_step_index(c, e->last_step_id) + 1 : 0;

    for (; i < (int)c->nsteps; i++) {
        int sent;
        nt_err err = nt_store_step_sent(x->st, e->lead_id, c->name, c->steps[i].id, &sent, x->d);
        if (err != NT_OK)
            return err;
        if (!sent)
            break;
    }
    *step = i;
    return NT_OK;
}

static int
emit(due_ctx *x, nt_plan_item *it)
{
    x->stats->by_status[it->status]++;
    return x->cb(x->ctx, it);
}

/* Later steps of the same lead that fall before `until`. */
static int
project(due_ctx *x, nt_plan_item *it, int64_t from)
{
    const nt_campaign *c = it->campaign;
    int64_t t = from;

    for (int k = it->step + 1; k < (int)c->nsteps; k++) {
        t = nt_step_time(&c->window, it->tz, t, c->steps[k].after);
        if (t < 0 || t > x->o->until)
            break;
        it->step = k;
        it->status = NT_PLAN_WAITING;
        it->when = it->scheduled = t;
        it->reason = "scheduled after the previous step";
        it->projected = 1;
        if (emit(x, it))
            return 1;
    }
    return 0;
}

static int
decide(due_ctx *x, const nt_enrollment *e, const nt_lead *l)
{
    const nt_campaign *c = nt_campaign_set_find(x->cs, e->campaign);
    nt_plan_item it;
    char reason[300];
    int step = e->step, supp = 0;
    nt_due_status ds;

    memset(&it, 0, sizeof(it));
    it.lead = l;
    it.enrollment = e;
    it.campaign = c;
    it.step = -1;
    it.scheduled = it.when = e->next_at;
    it.reason = reason;
    if (!c) {
        it.status = NT_PLAN_NO_CAMPAIGN;
        snprintf(reason, sizeof(reason),
                 "campaign '%s' is missing or fails lint; its leads wait where they are",
                 e->campaign);
        return emit(x, &it);
    }
    if (c->paused) {
        it.status = NT_PLAN_PAUSED;
        snprintf(reason, sizeof(reason), "the campaign is paused");
        return emit(x, &it);
    }
    if (strcmp(e->version, c->version) != 0 && (x->err = migrate_step(x, c, e, &step)) != NT_OK)
        return 1;
    if (step >= (int)c->nsteps) {
        it.status = NT_PLAN_COMPLETE;
        snprintf(reason, sizeof(reason), "no step left in version %s", c->version);
        return emit(x, &it);
    }
    it.step = step;
    if ((x->err = nt_plan_zone(x->cfg, c, l, x->zones, &it.tz, x->d)) != NT_OK)
        return 1;
    if ((c->exits & NT_EXIT_ON_STAGE_CHANGE) && strcasecmp(l->stage, c->stage) != 0) {
        it.status = NT_PLAN_EXIT;
        snprintf(reason, sizeof(reason), "the lead moved from %s to %s", c->stage, l->stage);
        return emit(x, &it);
    }
    if ((x->err = nt_store_suppressed(x->st, l->email, reason + 12, sizeof(reason) - 12, &supp,
                                      x->d)) != NT_OK)
        return 1;
    if (supp) {
        memcpy(reason, "suppressed: ", 12);
        it.status = NT_PLAN_SUPPRESSED;
        return emit(x, &it);
    }
    ds = nt_schedule_decide(&c->window, it.tz, e->next_at, c->stale_after, x->o->at, &it.when);
    switch (ds) {
    case NT_DUE_SEND:
        it.status = NT_PLAN_SEND;
        snprintf(reason, sizeof(reason), "due, inside the send window");
        break;
    case NT_DUE_WAITING:
        it.status = NT_PLAN_WAITING;
        snprintf(reason, sizeof(reason), "waiting for its delay");
        break;
    case NT_DUE_WINDOW:
        it.status = NT_PLAN_WINDOW;
        snprintf(reason, sizeof(reason), "outside the send window; goes when it opens");
        break;
    case NT_DUE_STALE:
        it.status = NT_PLAN_STALE;
        snprintf(reason, sizeof(reason),
                 "became due long ago (was cron down?); moved to the next window");
        break;
    }
    if (emit(x, &it))
        return 1;
    return x->o->until > x->o->at && project(x, &it, it.when);
}

static int
due_one(void *vctx, const nt_enrollment *e)
{
    due_ctx *x = vctx;
    nt_lead l;
    int stop;

    x->stats->enrollments++;
    if ((x->err = nt_store_lead_get(x->st, e->lead_id, NULL, &l, x->d)) != NT_OK)
        return 1;
    stop = decide(x, e, &l);
    nt_lead_release(&l);
    return stop || x->err != NT_OK;
}

nt_err
nt_plan_due(nt_store *st, const nt_config *cfg, const nt_campaign_set *cs, const nt_plan_opts *o,
            nt_tzcache *zones, nt_plan_cb cb, void *ctx, nt_plan_stats *stats, nt_diag *d)
{
    due_ctx x = {st, cfg, cs, o, zones, cb, ctx, stats, d, NT_OK};
    int64_t until = o->until > o->at ? o->until : o->at;
    nt_err err;

    memset(stats, 0, sizeof(*stats));
    err = nt_store_enrollment_due(st, o->campaign, until, o->limit, due_one, &x, d);
    return err != NT_OK ? err : x.err;
}
