/*
 * Engagement (see engage.h): scoring a lead from its timeline and handing
 * it to sales when it qualifies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/buf.h"
#include "nurture/engage.h"
#include "nurture/json.h"
#include "nurture/queue.h"

#include "banned.h"

/* The lead's engagement events, with their strings. */
typedef struct evlist {
    const nt_config *cfg;
    nt_score_event *v;
    char **strs; /* kind and intent copies, freed with the list */
    size_t n, cap, nstrs;
    nt_buf tmp;
    nt_err err;
} evlist;

static int
scored_kind(const nt_config *cfg, const char *kind)
{
    for (size_t i = 0; i < cfg->scoring.nrules; i++)
        if (cfg->scoring.rules[i].engagement && cfg->scoring.rules[i].on &&
            strcmp(cfg->scoring.rules[i].on, kind) == 0)
            return 1;
    return 0;
}

static char *
keep(evlist *x, const char *s, size_t n)
{
    char *c = strndup(s, n);

    if (!c)
        return NULL;
    x->strs[x->nstrs++] = c;
    return c;
}

static int
collect_event(void *ctx, const nt_event *ev)
{
    evlist *x = ctx;
    int found = 0;

    if (!scored_kind(x->cfg, ev->kind))
        return 0;
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 16;
        nt_score_event *v = realloc(x->v, cap * sizeof(*v));
        char **s = realloc(x->strs, 2 * cap * sizeof(*s));
        if (v)
            x->v = v;
        if (s)
            x->strs = s;
        if (!v || !s) {
            x->err = NT_ENOMEM;
            return 1;
        }
        x->cap = cap;
    }
    memset(&x->v[x->n], 0, sizeof(x->v[0]));
    x->v[x->n].at = ev->at;
    if (!(x->v[x->n].kind = keep(x, ev->kind, strlen(ev->kind))) ||
        (x->err = nt_json_get_str(ev->detail, "intent", &x->tmp, &found)) != NT_OK ||
        (found && !(x->v[x->n].intent = keep(x, x->tmp.data, x->tmp.len)))) {
        x->err = x->err ? x->err : NT_ENOMEM;
        return 1;
    }
    x->n++;
    return 0;
}

static void
evlist_release(evlist *x)
{
    for (size_t i = 0; i < x->nstrs; i++)
        free(x->strs[i]);
    free(x->strs);
    free(x->v);
    nt_buf_release(&x->tmp);
}

nt_err
nt_engage_score(nt_store *st, const nt_config *cfg, const nt_lead *l, int64_t now, nt_score *out,
                nt_diag *d)
{
    evlist x = {.cfg = cfg};
    nt_err err;

    memset(out, 0, sizeof(*out));
    nt_buf_init(&x.tmp, 0);
    err = nt_store_event_list(st, l->id, collect_event, &x, d);
    if (err == NT_OK)
        err = x.err;
    if (err == NT_OK)
        err = nt_score_compute(&cfg->scoring, l, x.v, x.n, now, out);
    evlist_release(&x);
    return err;
}

/* {"score":..,"rules":[..],"fields":{..}}: what the rep sees next to the
 * reply. */
static void
context_json(nt_buf *b, const nt_lead *l, const nt_score *sc)
{
    static const char *const std[] = {"first_name", "last_name", "company", "title",
                                      "phone",      "owner",     "source",  NULL};
    int first = 1;

    nt_buf_addf(b, "{\"score\":%.1f,\"rules\":[", sc->total);
    for (size_t i = 0; i < sc->nparts; i++) {
        const nt_score_part *p = &sc->parts[i];
        nt_buf_adds(b, i ? ",{\"rule\":" : "{\"rule\":");
        nt_buf_add_json(b, p->rule->id, strlen(p->rule->id));
        nt_buf_addf(b, ",\"points\":%.1f,\"events\":%d,\"last_at\":%lld}", p->points, p->events,
                    (long long)p->last_at);
    }
    nt_buf_adds(b, "],\"fields\":{");
    for (size_t i = 0; std[i]; i++) {
        const char *v = nt_lead_get(l, std[i]);
        if (!v)
            continue;
        nt_buf_addf(b, "%s\"%s\":", first ? "" : ",", std[i]);
        nt_buf_add_json(b, v, strlen(v));
        first = 0;
    }
    for (size_t i = 0; i < l->nfields; i++) {
        nt_buf_adds(b, first ? "" : ",");
        nt_buf_add_json(b, l->fields[i].name, strlen(l->fields[i].name));
        nt_buf_addc(b, ':');
        nt_buf_add_json(b, l->fields[i].value, strlen(l->fields[i].value));
        first = 0;
    }
    nt_buf_adds(b, "}}");
}

/* The rule that hands off at once on ev, or NULL. */
static const nt_score_rule *
handoff_rule(const nt_scoring *sc, const nt_engagement *ev)
{
    nt_score_event se = {.kind = ev->kind, .intent = ev->intent};

    for (size_t i = 0; i < sc->nrules; i++)
        if (sc->rules[i].handoff && nt_score_event_matches(&sc->rules[i], &se))
            return &sc->rules[i];
    return NULL;
}

static void
describe(nt_buf *b, const nt_engagement *ev, const nt_score_rule *now_rule, double score,
         double threshold)
{
    nt_buf_adds(b, ev->kind);
    if (ev->intent && strcmp(ev->intent, "none") != 0)
        nt_buf_addf(b, " (%s)", ev->intent);
    if (ev->campaign)
        nt_buf_addf(b, " to %s/%s", ev->campaign, ev->step_id ? ev->step_id : "?");
    if (now_rule)
        nt_buf_addf(b, "; rule %s hands off at once; score %.1f", now_rule->id, score);
    else
        nt_buf_addf(b, "; score %.1f reached the threshold %.1f", score, threshold);
}

nt_err
nt_engage(nt_store *st, const nt_config *cfg, int64_t lead_id, const nt_engagement *ev, int64_t now,
          int64_t *entry_id, char *reason, size_t reasonsz, nt_diag *d)
{
    const nt_score_rule *at_once = handoff_rule(&cfg->scoring, ev);
    nt_buf why, ctx;
    nt_score sc;
    nt_lead l;
    int added = 0;
    nt_err err;

    *entry_id = 0;
    if (reason && reasonsz)
        reason[0] = '\0';
    if (!cfg->scoring.nrules)
        return NT_OK;
    nt_lead_init(&l);
    if ((err = nt_store_lead_get(st, lead_id, NULL, &l, d)) != NT_OK)
        return err;
    if ((err = nt_engage_score(st, cfg, &l, now, &sc, d)) != NT_OK) {
        nt_lead_release(&l);
        return err;
    }
    nt_buf_init(&why, 0);
    nt_buf_init(&ctx, 0);
    if (at_once || (cfg->scoring.threshold > 0 && sc.total >= cfg->scoring.threshold)) {
        int64_t id = 0;
        nt_handoff h = {
            .trigger = at_once ? at_once->id : "threshold",
            .score = sc.total,
            .inbound_id = ev->inbound_id,
            .campaign = ev->campaign,
            .step_id = ev->step_id,
            .intent = ev->intent,
            .reply_text = ev->text,
        };
        describe(&why, ev, at_once, sc.total, cfg->scoring.threshold);
        context_json(&ctx, &l, &sc);
        h.reason = nt_buf_cstr(&why);
        h.context = nt_buf_cstr(&ctx);
        if (why.err || ctx.err)
            err = NT_ENOMEM;
        else
            err = nt_queue_handoff(st, cfg, &l, &h, now, &id, &added, d);
        if (err == NT_OK && added) {
            *entry_id = id;
            if (reason && reasonsz)
                snprintf(reason, reasonsz, "%s", h.reason);
        }
    }
    nt_buf_release(&why);
    nt_buf_release(&ctx);
    nt_score_release(&sc);
    nt_lead_release(&l);
    return err;
}
