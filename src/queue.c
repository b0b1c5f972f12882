/*
 * The sales queue's life cycle (see queue.h): hand-off, assignment, pull,
 * accept, reject, recycle and escalation.
 *
 * Each operation is one store transaction that changes the entry, appends
 * the lead's timeline event and queues the webhooks together.  The rules
 * that must hold across processes (one open entry per lead, one claimant
 * per entry) are enforced by the store itself; this file decides what
 * happens and records it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nurture/buf.h"
#include "nurture/plan.h"
#include "nurture/queue.h"
#include "nurture/schedule.h"
#include "nurture/webhook.h"

#include "banned.h"

/* ---- assignment ---- */

/*
 * Smooth weighted round-robin (as nginx balances upstreams): each eligible
 * rep's counter grows by its weight, the largest counter wins and gives
 * back the total.  Weights 2:1 give ana, ben, ana, ana, ben, ana, ... and a
 * rep back from being away rejoins the rotation without a catch-up burst,
 * since counters only move for reps that take part.
 */
nt_err
nt_queue_assign(nt_store *st, const nt_config *cfg, const nt_lead *l, const char **rep,
                const char **how, nt_diag *d)
{
    int64_t cur[256], total = 0, best_cur = 0;
    const nt_rep *best = NULL;
    size_t n = cfg->nreps < 256 ? cfg->nreps : 256;
    nt_err err;

    *rep = NULL;
    *how = "none";
    if (l->owner && *l->owner) {
        const nt_rep *r = nt_config_rep(cfg, l->owner);
        *rep = r ? r->name : l->owner;
        *how = "owner";
        return NT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        const nt_rep *r = &cfg->reps[i];
        if (r->away || !r->name)
            continue;
        if ((err = nt_store_rotation_get(st, r->name, &cur[i], d)) != NT_OK)
            return err;
        cur[i] += r->weight;
        total += r->weight;
        if (!best || cur[i] > best_cur) {
            best = r;
            best_cur = cur[i];
        }
    }
    if (!best)
        return NT_OK;
    for (size_t i = 0; i < n; i++) {
        const nt_rep *r = &cfg->reps[i];
        if (r->away || !r->name)
            continue;
        if (r == best)
            cur[i] -= total;
        if ((err = nt_store_rotation_set(st, r->name, cur[i], d)) != NT_OK)
            return err;
    }
    *rep = best->name;
    *how = "round-robin";
    return NT_OK;
}

/* ---- shared steps ---- */

/* Append the timeline event `kind` about entry e, with `extra` (JSON
 * members, may be NULL) after the entry's id. */
static nt_err
entry_event(nt_store *st, const nt_qentry *e, const char *kind, int64_t now, const char *extra,
            nt_diag *d)
{
    nt_buf b;
    nt_err err;

    nt_buf_init(&b, 0);
    nt_buf_addf(&b, "{\"entry\":%lld", (long long)e->id);
    if (e->rep) {
        nt_buf_adds(&b, ",\"rep\":");
        nt_buf_add_json(&b, e->rep, strlen(e->rep));
    }
    if (extra)
        nt_buf_adds(&b, extra);
    nt_buf_addc(&b, '}');
    err = b.err ? NT_ENOMEM : nt_store_event_add(st, e->lead_id, now, kind, nt_buf_cstr(&b), d);
    nt_buf_release(&b);
    return err;
}

/* JSON members `,"name":"value"` for each non-NULL pair; NULL-terminated. */
static void
add_members(nt_buf *b, const char *name, const char *value, ...)
{
    va_list ap;

    va_start(ap, value);
    while (name) {
        if (value) {
            nt_buf_addf(b, ",\"%s\":", name);
            nt_buf_add_json(b, value, strlen(value));
        }
        name = va_arg(ap, const char *);
        if (name)
            value = va_arg(ap, const char *);
    }
    va_end(ap);
}

/* Commit when err is NT_OK, else roll back; returns err or the commit's. */
static nt_err
finish(nt_store *st, nt_err err, nt_diag *d)
{
    if (err == NT_OK)
        return nt_store_commit(st, d);
    nt_store_rollback(st);
    return err;
}

/* Move lead l to `stage` unless it is there already. */
static nt_err
move_stage(nt_store *st, const nt_lead *l, const char *stage, int64_t now, nt_diag *d)
{
    if (!stage || (l->stage && strcasecmp(l->stage, stage) == 0))
        return NT_OK;
    return nt_store_lead_set_stage(st, l->id, stage, now, d);
}

/* ---- hand-off ---- */

nt_err
nt_queue_handoff(nt_store *st, const nt_config *cfg, const nt_lead *l, const nt_handoff *h,
                 int64_t now, int64_t *entry_id, int *added, nt_diag *d)
{
    const char *rep, *how;
    nt_qentry e;
    nt_buf extra;
    nt_err err;

    *added = 0;
    if ((err = nt_store_queue_open_for_lead(st, l->id, entry_id, d)) != NT_OK || *entry_id)
        return err;
    if ((err = nt_queue_assign(st, cfg, l, &rep, &how, d)) != NT_OK)
        return err;
    memset(&e, 0, sizeof(e));
    e.lead_id = l->id;
    e.rep = (char *)rep;
    e.assigned_by = (char *)how;
    e.trigger = (char *)h->trigger;
    e.reason = (char *)h->reason;
    e.score = h->score;
    e.inbound_id = h->inbound_id;
    e.campaign = (char *)h->campaign;
    e.step_id = (char *)h->step_id;
    e.intent = (char *)h->intent;
    e.reply_text = (char *)h->reply_text;
    e.context = (char *)h->context;
    e.created_at = now;
    if ((err = nt_store_queue_add(st, &e, added, d)) != NT_OK || !*added) {
        *entry_id = e.id;
        return err;
    }
    *entry_id = e.id;
    nt_buf_init(&extra, 0);
    add_members(&extra, "assigned_by", how, "trigger", h->trigger, "reason", h->reason, NULL);
    nt_buf_addf(&extra, ",\"score\":%.1f", h->score);
    err = extra.err ? NT_ENOMEM : entry_event(st, &e, "handoff", now, nt_buf_cstr(&extra), d);
    nt_buf_release(&extra);
    if (err == NT_OK && cfg->queue.handoff_stage) {
        int want = nt_config_stage_index(cfg, cfg->queue.handoff_stage);
        int have = l->stage ? nt_config_stage_index(cfg, l->stage) : -1;
        /* A hand-off never moves a lead back (a customer who replies stays
         * a customer). */
        if (want > have)
            err = move_stage(st, l, cfg->queue.handoff_stage, now, d);
    }
    if (err == NT_OK)
        err = nt_webhook_enqueue(st, cfg, NT_HOOK_HANDOFF, &e, l, now, d);
    return err;
}

/* ---- pull ---- */

nt_err
nt_queue_pull(nt_store *st, const nt_config *cfg, const char *rep, int64_t now, nt_qentry *out,
              int *got, nt_diag *d)
{
    const nt_rep *r = nt_config_rep(cfg, rep);
    nt_lead l;
    int64_t id;
    nt_err err;

    *got = 0;
    memset(out, 0, sizeof(*out));
    if (!r)
        return nt_diag_set(d, NT_EINVAL, cfg->path, 0, 0,
                           "'%s' is not a rep in the config: add it under 'reps:'", rep);
    if ((err = nt_store_begin(st, d)) != NT_OK)
        return err;
    nt_lead_init(&l);
    err = nt_store_queue_claim(st, r->name, now, &id, d);
    if (err == NT_OK && id) {
        if ((err = nt_store_queue_get(st, id, out, d)) == NT_OK &&
            (err = nt_store_lead_get(st, out->lead_id, NULL, &l, d)) == NT_OK &&
            (err = entry_event(st, out, "claimed", now, NULL, d)) == NT_OK)
            err = nt_webhook_enqueue(st, cfg, NT_HOOK_CLAIM, out, &l, now, d);
    }
    nt_lead_release(&l);
    if ((err = finish(st, err, d)) != NT_OK) {
        nt_qentry_release(out);
        return err;
    }
    *got = id != 0;
    return NT_OK;
}

/* ---- decisions ---- */

/* Read entry id and its lead for a decision; NT_EINVAL unless the entry is
 * in one of the states `allowed` (bit per nt_qstate). */
static nt_err
load_for_decision(nt_store *st, int64_t id, unsigned allowed, const char *verb, nt_qentry *e,
                  nt_lead *l, nt_diag *d)
{
    nt_err err;

    if ((err = nt_store_queue_get(st, id, e, d)) != NT_OK)
        return err;
    if (!(allowed & (1u << e->state))) {
        char by[160] = "";
        if (e->claimed_by)
            snprintf(by, sizeof(by), " (claimed by %s)", e->claimed_by);
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "queue entry %lld is %s%s: it cannot be %s",
                           (long long)id, nt_qstate_name(e->state), by, verb);
    }
    return nt_store_lead_get(st, e->lead_id, NULL, l, d);
}

static const char *
next_stage(const nt_config *cfg, const nt_lead *l)
{
    int i;

    if (cfg->queue.accept_stage)
        return cfg->queue.accept_stage;
    i = l->stage ? nt_config_stage_index(cfg, l->stage) : -1;
    if (i >= 0 && (size_t)i + 1 < cfg->nstages)
        return cfg->stages[i + 1].name;
    return NULL; /* the last stage: nowhere further to go */
}

/* Record who decided when the entry was never pulled. */
static nt_err
set_decider(nt_qentry *e, const char *rep, int64_t now)
{
    if (e->claimed_by || !rep)
        return NT_OK;
    if (!(e->claimed_by = strdup(rep)))
        return NT_ENOMEM;
    e->claimed_at = now;
    return NT_OK;
}

static nt_err
replace(char **field, const char *value)
{
    char *v = value ? strdup(value) : NULL;

    if (value && !v)
        return NT_ENOMEM;
    free(*field);
    *field = v;
    return NT_OK;
}

nt_err
nt_queue_accept(nt_store *st, const nt_config *cfg, int64_t id, const char *rep, const char *note,
                int64_t now, nt_qentry *out, nt_diag *d)
{
    nt_qentry e = {0};
    nt_lead l;
    const char *stage;
    nt_buf extra;
    nt_err err;

    nt_lead_init(&l);
    nt_buf_init(&extra, 0);
    if (rep && !nt_config_rep(cfg, rep))
        return nt_diag_set(d, NT_EINVAL, cfg->path, 0, 0,
                           "'%s' is not a rep in the config: add it under 'reps:'", rep);
    if ((err = nt_store_begin(st, d)) != NT_OK)
        return err;
    err = load_for_decision(st, id, 1u << NT_Q_OPEN | 1u << NT_Q_CLAIMED, "accepted", &e, &l, d);
    if (err == NT_OK && (err = set_decider(&e, rep, now)) == NT_OK &&
        (err = replace(&e.note, note)) == NT_OK) {
        e.state = NT_Q_ACCEPTED;
        e.decided_at = now;
        stage = next_stage(cfg, &l);
        add_members(&extra, "by", e.claimed_by, "note", note, "stage", stage, NULL);
        if ((err = nt_store_queue_update(st, &e, d)) == NT_OK &&
            (err = move_stage(st, &l, stage, now, d)) == NT_OK)
            err = extra.err ? NT_ENOMEM
                            : entry_event(st, &e, "accepted", now, nt_buf_cstr(&extra), d);
        if (err == NT_OK)
            err = nt_webhook_enqueue(st, cfg, NT_HOOK_ACCEPT, &e, &l, now, d);
    }
    nt_buf_release(&extra);
    nt_lead_release(&l);
    err = finish(st, err, d);
    if (err == NT_OK && out)
        *out = e;
    else
        nt_qentry_release(&e);
    return err;
}

/* ---- recycling ---- */

/* Put lead l back into campaign c: its audience stage, and its enrollment
 * active again from the next step not sent (a new one when it never was
 * in c).  *what says what happened, for the timeline. */
static nt_err
reenroll(nt_store *st, const nt_config *cfg, const nt_campaign *c, const nt_lead *l, int64_t now,
         nt_diag *d)
{
    nt_enrollment e;
    nt_tzcache *zones;
    const nt_tz *tz;
    int added;
    nt_err err;

    if ((err = move_stage(st, l, c->stage, now, d)) != NT_OK)
        return err;
    err = nt_store_enrollment_get(st, l->id, c->name, &e, d);
    if (err == NT_OK) {
        if (e.step >= (int)c->nsteps) {
            nt_enrollment_release(&e);
            return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                               "%s has already been sent every step of campaign %s: recycle "
                               "into another campaign",
                               l->email, c->name);
        }
        e.state = NT_ENROLL_ACTIVE;
        e.next_at = now;
        free(e.exit_reason);
        e.exit_reason = NULL;
        err = nt_store_enrollment_update(st, &e, d);
        nt_enrollment_release(&e);
        return err;
    }
    if (err != NT_ENOTFOUND)
        return err;
    if (!(zones = nt_tzcache_new()))
        return NT_ENOMEM;
    if ((err = nt_plan_zone(cfg, c, l, zones, &tz, d)) == NT_OK) {
        memset(&e, 0, sizeof(e));
        e.lead_id = l->id;
        e.campaign = c->name;
        e.version = (char *)c->version;
        e.state = NT_ENROLL_ACTIVE;
        e.enrolled_at = now;
        e.due_at = now + c->steps[0].after;
        e.next_at = nt_window_next(&c->window, tz, e.due_at);
        err = nt_store_enrollment_add(st, &e, &added, d);
    }
    nt_tzcache_free(zones);
    return err;
}

static const nt_campaign *
find_campaign(const nt_campaign_set *cs, const char *name, nt_diag *d)
{
    const nt_campaign *c = cs ? nt_campaign_set_find(cs, name) : NULL;

    if (!c)
        nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                    "no campaign named '%s': `nurture campaign list` shows them", name);
    else if (c->nsteps == 0)
        nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "campaign '%s' has no steps to send", name);
    else
        return c;
    return NULL;
}

/* Recycle e (loaded, lead l) into campaign c: entry, lead, event, webhook. */
static nt_err
recycle_entry(nt_store *st, const nt_config *cfg, const nt_campaign *c, nt_qentry *e,
              const nt_lead *l, int64_t now, nt_diag *d)
{
    nt_buf extra;
    nt_err err;

    if ((err = replace(&e->recycle_campaign, c->name)) != NT_OK)
        return err;
    e->state = NT_Q_RECYCLED;
    if (!e->decided_at)
        e->decided_at = now;
    if ((err = nt_store_queue_update(st, e, d)) != NT_OK ||
        (err = reenroll(st, cfg, c, l, now, d)) != NT_OK)
        return err;
    nt_buf_init(&extra, 0);
    add_members(&extra, "campaign", c->name, "stage", c->stage, NULL);
    err = extra.err ? NT_ENOMEM : entry_event(st, e, "recycled", now, nt_buf_cstr(&extra), d);
    nt_buf_release(&extra);
    if (err == NT_OK)
        err = nt_webhook_enqueue(st, cfg, NT_HOOK_RECYCLE, e, l, now, d);
    return err;
}

static nt_err
unknown_reason(const nt_config *cfg, const char *reason, nt_diag *d)
{
    nt_buf b;
    nt_err err;

    nt_buf_init(&b, 0);
    for (size_t i = 0; i < cfg->queue.nreasons; i++)
        nt_buf_addf(&b, "%s%s", i ? ", " : "", cfg->queue.reasons[i].id);
    err = nt_diag_set(d, NT_EINVAL, cfg->path, 0, 0,
                      "'%s' is not a reject reason; use one of: %s (queue.reject_reasons in the "
                      "config)",
                      reason, b.err ? "?" : nt_buf_cstr(&b));
    nt_buf_release(&b);
    return err;
}

nt_err
nt_queue_reject(nt_store *st, const nt_config *cfg, const nt_campaign_set *cs, int64_t id,
                const char *rep, const char *reason, const char *note, int64_t now, nt_qentry *out,
                nt_diag *d)
{
    const nt_reject_reason *why = reason ? nt_config_reject_reason(cfg, reason) : NULL;
    const nt_campaign *c = NULL;
    nt_qentry e = {0};
    nt_lead l;
    nt_buf extra;
    nt_err err;

    if (!why)
        return unknown_reason(cfg, reason ? reason : "", d);
    if (rep && !nt_config_rep(cfg, rep))
        return nt_diag_set(d, NT_EINVAL, cfg->path, 0, 0,
                           "'%s' is not a rep in the config: add it under 'reps:'", rep);
    if (why->recycle && !(c = find_campaign(cs, why->recycle, d)))
        return NT_EINVAL;
    nt_lead_init(&l);
    nt_buf_init(&extra, 0);
    if ((err = nt_store_begin(st, d)) != NT_OK)
        return err;
    err = load_for_decision(st, id, 1u << NT_Q_OPEN | 1u << NT_Q_CLAIMED, "rejected", &e, &l, d);
    if (err == NT_OK && (err = set_decider(&e, rep, now)) == NT_OK &&
        (err = replace(&e.note, note)) == NT_OK &&
        (err = replace(&e.reject_reason, why->id)) == NT_OK) {
        e.state = NT_Q_REJECTED;
        e.decided_at = now;
        add_members(&extra, "by", e.claimed_by, "reason", why->id, "note", note, NULL);
        if ((err = nt_store_queue_update(st, &e, d)) == NT_OK)
            err = extra.err ? NT_ENOMEM
                            : entry_event(st, &e, "rejected", now, nt_buf_cstr(&extra), d);
        if (err == NT_OK)
            err = nt_webhook_enqueue(st, cfg, NT_HOOK_REJECT, &e, &l, now, d);
        if (err == NT_OK && c)
            err = recycle_entry(st, cfg, c, &e, &l, now, d);
    }
    nt_buf_release(&extra);
    nt_lead_release(&l);
    err = finish(st, err, d);
    if (err == NT_OK && out)
        *out = e;
    else
        nt_qentry_release(&e);
    return err;
}

nt_err
nt_queue_recycle(nt_store *st, const nt_config *cfg, const nt_campaign_set *cs, int64_t id,
                 const char *campaign, const char *rep, int64_t now, nt_qentry *out, nt_diag *d)
{
    const nt_campaign *c = find_campaign(cs, campaign, d);
    unsigned allowed =
        1u << NT_Q_OPEN | 1u << NT_Q_CLAIMED | 1u << NT_Q_ACCEPTED | 1u << NT_Q_REJECTED;
    nt_qentry e = {0};
    nt_lead l;
    nt_err err;

    if (!c)
        return NT_EINVAL;
    if (rep && !nt_config_rep(cfg, rep))
        return nt_diag_set(d, NT_EINVAL, cfg->path, 0, 0,
                           "'%s' is not a rep in the config: add it under 'reps:'", rep);
    nt_lead_init(&l);
    if ((err = nt_store_begin(st, d)) != NT_OK)
        return err;
    err = load_for_decision(st, id, allowed, "recycled", &e, &l, d);
    if (err == NT_OK && (err = set_decider(&e, rep, now)) == NT_OK)
        err = recycle_entry(st, cfg, c, &e, &l, now, d);
    nt_lead_release(&l);
    err = finish(st, err, d);
    if (err == NT_OK && out)
        *out = e;
    else
        nt_qentry_release(&e);
    return err;
}

/* ---- escalation ---- */

/* The ids of the entries past the SLA, read before any is changed. */
typedef struct late {
    int64_t *ids;
    size_t n, cap;
    int oom;
} late;

static int
collect_late(void *ctx, const nt_qentry *e)
{
    late *x = ctx;

    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 16;
        int64_t *v = realloc(x->ids, cap * sizeof(*v));
        if (!v) {
            x->oom = 1;
            return 1;
        }
        x->ids = v;
        x->cap = cap;
    }
    x->ids[x->n++] = e->id;
    return 0;
}

static nt_err
escalate_one(nt_store *st, const nt_config *cfg, int64_t id, int64_t now, nt_diag *d)
{
    nt_qentry e;
    nt_lead l;
    char extra[96];
    nt_err err;

    nt_lead_init(&l);
    if ((err = nt_store_queue_get(st, id, &e, d)) != NT_OK)
        return err;
    e.escalated_at = now;
    snprintf(extra, sizeof(extra), ",\"waited\":%lld", (long long)(now - e.created_at));
    if ((err = nt_store_queue_update(st, &e, d)) == NT_OK &&
        (err = nt_store_lead_get(st, e.lead_id, NULL, &l, d)) == NT_OK &&
        (err = entry_event(st, &e, "escalated", now, extra, d)) == NT_OK)
        err = nt_webhook_enqueue(st, cfg, NT_HOOK_SLA, &e, &l, now, d);
    nt_lead_release(&l);
    nt_qentry_release(&e);
    return err;
}

nt_err
nt_queue_escalate(nt_store *st, const nt_config *cfg, int64_t now, int64_t *count, nt_diag *d)
{
    late x = {0};
    nt_err err;

    *count = 0;
    if (cfg->queue.sla <= 0)
        return NT_OK;
    if ((err = nt_store_begin(st, d)) != NT_OK)
        return err;
    err = nt_store_queue_unescalated(st, now - cfg->queue.sla, collect_late, &x, d);
    if (err == NT_OK && x.oom)
        err = NT_ENOMEM;
    for (size_t i = 0; err == NT_OK && i < x.n; i++)
        err = escalate_one(st, cfg, x.ids[i], now, d);
    free(x.ids);
    if ((err = finish(st, err, d)) == NT_OK)
        *count = (int64_t)x.n;
    return err;
}
