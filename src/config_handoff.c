/*
 * The sales side of nurture.yaml: how leads are scored, who the reps are,
 * how the queue behaves and which webhooks hear about it.
 *
 *   scoring:
 *     threshold: 50
 *     engagement:
 *       - {rule: replied, on: replied, points: 20, repeat: yes, half_life: 30d}
 *       - {rule: meeting, on: replied, intent: meeting, points: 40, handoff: yes}
 *     fit:
 *       - {rule: senior, field: title, contains: [VP, Director, Head], points: 15}
 *       - {rule: size, field: employees, at_least: 50, points: 10}
 *   reps:
 *     - {name: ana, email: ana@example.com, weight: 2}
 *     - {name: ben, away: yes}
 *   queue:
 *     sla: 24h
 *     handoff_stage: MQL
 *     accept_stage: SQL
 *     reject_reasons: [not-a-fit, {reason: bad-timing, recycle: long-nurture}]
 *   webhooks:
 *     - {name: crm, url: "https://crm.example.com/hook", secret: {env: CRM_HOOK_KEY}}
 *     - {name: slack, url: "https://hooks.slack.com/...", format: slack, events: [handoff, sla]}
 *
 * Every section is optional.  A rule that cannot be read is reported with
 * its line and nothing is half-configured: the config does not load.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nurture/config.h"
#include "nurture/lead.h"
#include "nurture/yamldoc.h"

#include "config_reader.h"

#include "banned.h"

static const char *const scoring_keys[] = {"threshold", "engagement", "fit", NULL};
static const char *const engagement_keys[] = {
    "rule", "on", "intent", "points", "repeat", "half_life", "handoff", NULL,
};
static const char *const fit_keys[] = {
    "rule", "field", "equals", "contains", "at_least", "at_most", "present", "points", NULL,
};
static const char *const rep_keys[] = {"name", "email", "weight", "away", NULL};
static const char *const queue_keys[] = {
    "sla", "handoff_stage", "accept_stage", "reject_reasons", NULL,
};
static const char *const reason_keys[] = {"reason", "recycle", NULL};
static const char *const webhook_keys[] = {
    "name", "url", "format", "secret", "events", "timeout", "ca_file", NULL,
};

static const char *const default_reasons[] = {
    "not-a-fit", "no-budget", "bad-timing", "wrong-person", "duplicate", "other", NULL,
};

static const char *const hook_event_names[] = {
    "handoff", "claim", "accept", "reject", "recycle", "sla", NULL,
};

const char *
nt_hook_event_name(unsigned ev)
{
    for (int i = 0; hook_event_names[i]; i++)
        if (ev == 1u << i)
            return hook_event_names[i];
    return NULL;
}

unsigned
nt_hook_event_from(const char *name)
{
    for (int i = 0; hook_event_names[i]; i++)
        if (!strcmp(name, hook_event_names[i]))
            return 1u << i;
    return 0;
}

#define error_at(r, n, ...)                                                                        \
    nt_diags_add((r)->diags, NT_SEV_ERROR, (r)->doc->file, (n) ? (n)->line : 0,                    \
                 (n) ? (n)->col : 0, __VA_ARGS__)

/* A number (points, thresholds, field bounds); def when absent or wrong. */
static double
get_number(nt_cfg_reader *r, const nt_ynode *m, const char *key, double def)
{
    const nt_ynode *n = nt_ymap_get(m, key);
    char *end;
    double v;

    if (!n)
        return def;
    if (n->kind != NT_Y_SCALAR || n->quoted || !n->len) {
        error_at(r, n, "'%s' must be a number such as 10 or -2.5", key);
        return def;
    }
    v = strtod(n->str, &end);
    if (*end || !isfinite(v) || fabs(v) > 1e9) {
        error_at(r, n, "'%s' must be a number such as 10 or -2.5", key);
        return def;
    }
    return v;
}

static int
get_bool(nt_cfg_reader *r, const nt_ynode *m, const char *key)
{
    const nt_ynode *n = nt_ymap_get(m, key);
    int v = 0;
    nt_diag d;

    if (n && nt_ynode_bool(r->doc, n, key, &v, &d) != NT_OK) {
        nt_cfg_report(r, &d);
        return 0;
    }
    return v;
}

/* A scalar or a list of scalars, as an array of strings. */
static void
get_strings(nt_cfg_reader *r, const nt_ynode *n, const char *key, char ***out, size_t *nout)
{
    size_t count = n->kind == NT_Y_SEQ ? n->n : 1;

    if (n->kind == NT_Y_MAP) {
        error_at(r, n, "'%s' must be a value or a list of values", key);
        return;
    }
    if (!(*out = calloc(count, sizeof(char *)))) {
        r->oom = 1;
        return;
    }
    for (size_t i = 0; i < count; i++) {
        const nt_ynode *v = n->kind == NT_Y_SEQ ? n->vals[i] : n;
        if (v->kind != NT_Y_SCALAR || !v->len) {
            error_at(r, v, "each value of '%s' must be non-empty text", key);
            continue;
        }
        (*out)[(*nout)++] = nt_cfg_dup(r, v->str);
    }
}

static int
known_field(const nt_config *cfg, const char *name)
{
    for (size_t i = 0; nt_lead_std_fields[i]; i++)
        if (!strcmp(nt_lead_std_fields[i], name))
            return 1;
    for (size_t i = 0; i < cfg->nlead_fields; i++)
        if (!strcmp(cfg->lead_fields[i], name))
            return 1;
    return 0;
}

static void
read_engagement(nt_cfg_reader *r, const nt_ynode *m, nt_score_rule *rule)
{
    nt_ymap_check_keys(r->doc, m, engagement_keys, "an engagement rule", r->diags);
    rule->engagement = 1;
    rule->id = nt_cfg_str(r, m, "rule", 1, "an engagement rule");
    rule->on = nt_cfg_str(r, m, "on", 1, "an engagement rule");
    rule->intent = nt_cfg_str(r, m, "intent", 0, "an engagement rule");
    rule->points = get_number(r, m, "points", 0);
    rule->repeat = get_bool(r, m, "repeat");
    rule->handoff = get_bool(r, m, "handoff");
    rule->half_life = nt_cfg_duration(r, m, "half_life", 0);
    if (!nt_ymap_get(m, "points") && !rule->handoff)
        error_at(r, m, "an engagement rule needs 'points' (or 'handoff: yes')");
    if (rule->intent && rule->on && strcmp(rule->on, "replied") != 0)
        error_at(r, nt_ymap_get(m, "intent"),
                 "'intent' applies only to rules 'on: replied', not 'on: %s'", rule->on);
}

static void
read_fit(nt_cfg_reader *r, const nt_ynode *m, nt_score_rule *rule)
{
    static const char *const ops[] = {"equals", "contains", "at_least", "at_most", "present"};
    int nops = 0;

    nt_ymap_check_keys(r->doc, m, fit_keys, "a fit rule", r->diags);
    rule->id = nt_cfg_str(r, m, "rule", 1, "a fit rule");
    rule->field = nt_cfg_str(r, m, "field", 1, "a fit rule");
    rule->points = get_number(r, m, "points", 0);
    if (!nt_ymap_get(m, "points"))
        error_at(r, m, "a fit rule needs 'points'");
    if (rule->field && !known_field(r->cfg, rule->field))
        error_at(r, nt_ymap_get(m, "field"),
                 "unknown lead field '%s': use a standard field (title, company, ...) or one "
                 "listed in lead_fields",
                 rule->field);
    for (int i = 0; i < 5; i++) {
        const nt_ynode *v = nt_ymap_get(m, ops[i]);
        if (!v)
            continue;
        nops++;
        rule->op = (nt_fit_op)i;
        if (i <= NT_FIT_CONTAINS)
            get_strings(r, v, ops[i], &rule->values, &rule->nvalues);
        else if (i <= NT_FIT_AT_MOST)
            rule->number = get_number(r, m, ops[i], 0);
        else if (!get_bool(r, m, "present"))
            error_at(r, v, "'present' can only be 'yes'");
    }
    if (nops != 1)
        error_at(r, m,
                 "a fit rule needs exactly one condition: equals, contains, at_least, at_most "
                 "or present");
}

static void
read_rules(nt_cfg_reader *r, const nt_ynode *seq, int engagement)
{
    nt_scoring *sc = &r->cfg->scoring;
    const char *what = engagement ? "engagement" : "fit";
    nt_score_rule *grown;

    if (!nt_cfg_is_seq(r, seq, what))
        return;
    grown = realloc(sc->rules, (sc->nrules + seq->n + 1) * sizeof(*grown));
    if (!grown) {
        r->oom = 1;
        return;
    }
    sc->rules = grown;
    for (size_t i = 0; i < seq->n; i++) {
        const nt_ynode *m = seq->vals[i];
        nt_score_rule *rule = &sc->rules[sc->nrules];
        if (!nt_cfg_is_map(r, m, engagement ? "each engagement rule" : "each fit rule"))
            continue;
        memset(rule, 0, sizeof(*rule));
        rule->line = m->line;
        if (engagement)
            read_engagement(r, m, rule);
        else
            read_fit(r, m, rule);
        for (size_t j = 0; rule->id && j < sc->nrules; j++)
            if (sc->rules[j].id && !strcmp(sc->rules[j].id, rule->id))
                error_at(r, m, "score rule '%s' is named twice", rule->id);
        sc->nrules++;
    }
}

static void
read_scoring(nt_cfg_reader *r, const nt_ynode *m)
{
    if (!m || !nt_cfg_is_map(r, m, "scoring"))
        return;
    nt_ymap_check_keys(r->doc, m, scoring_keys, "scoring", r->diags);
    r->cfg->scoring.threshold = get_number(r, m, "threshold", 0);
    if (r->cfg->scoring.threshold < 0)
        error_at(r, nt_ymap_get(m, "threshold"), "'threshold' must not be negative");
    if (nt_ymap_get(m, "engagement"))
        read_rules(r, nt_ymap_get(m, "engagement"), 1);
    if (nt_ymap_get(m, "fit"))
        read_rules(r, nt_ymap_get(m, "fit"), 0);
}

static void
read_reps(nt_cfg_reader *r, const nt_ynode *seq)
{
    nt_config *cfg = r->cfg;

    if (!seq || !nt_cfg_is_seq(r, seq, "reps"))
        return;
    if (!(cfg->reps = calloc(seq->n + 1, sizeof(*cfg->reps)))) {
        r->oom = 1;
        return;
    }
    for (size_t i = 0; i < seq->n; i++) {
        const nt_ynode *m = seq->vals[i];
        nt_rep *rep = &cfg->reps[cfg->nreps];
        if (!nt_cfg_is_map(r, m, "each rep"))
            continue;
        nt_ymap_check_keys(r->doc, m, rep_keys, "a rep", r->diags);
        rep->name = nt_cfg_str(r, m, "name", 1, "a rep");
        rep->email = nt_cfg_str(r, m, "email", 0, "a rep");
        rep->weight = nt_cfg_int(r, m, "weight", 1, 1, 1000);
        rep->away = get_bool(r, m, "away");
        if (rep->name && nt_config_rep(cfg, rep->name))
            error_at(r, m, "rep '%s' is listed twice", rep->name);
        cfg->nreps++;
    }
}

static void
add_reason(nt_cfg_reader *r, const nt_ynode *at, const char *id, const char *recycle)
{
    nt_queue_config *q = &r->cfg->queue;

    if (nt_config_reject_reason(r->cfg, id)) {
        error_at(r, at, "reject reason '%s' is listed twice", id);
        return;
    }
    q->reasons[q->nreasons].id = nt_cfg_dup(r, id);
    q->reasons[q->nreasons].recycle = recycle ? nt_cfg_dup(r, recycle) : NULL;
    q->nreasons++;
}

static void
read_reasons(nt_cfg_reader *r, const nt_ynode *seq)
{
    nt_queue_config *q = &r->cfg->queue;
    size_t n = 0;

    if (seq && !nt_cfg_is_seq(r, seq, "reject_reasons"))
        return;
    while (!seq && default_reasons[n])
        n++;
    if (!(q->reasons = calloc((seq ? seq->n : n) + 1, sizeof(*q->reasons)))) {
        r->oom = 1;
        return;
    }
    for (size_t i = 0; !seq && i < n; i++)
        add_reason(r, NULL, default_reasons[i], NULL);
    for (size_t i = 0; seq && i < seq->n; i++) {
        const nt_ynode *v = seq->vals[i];
        char *id, *recycle;
        if (v->kind == NT_Y_SCALAR && v->len) {
            add_reason(r, v, v->str, NULL);
            continue;
        }
        if (!nt_cfg_is_map(r, v, "each reject reason"))
            continue;
        nt_ymap_check_keys(r->doc, v, reason_keys, "a reject reason", r->diags);
        id = nt_cfg_str(r, v, "reason", 1, "a reject reason");
        recycle = nt_cfg_str(r, v, "recycle", 0, "a reject reason");
        if (id)
            add_reason(r, v, id, recycle);
        free(id);
        free(recycle);
    }
    if (seq && seq->n == 0)
        error_at(r, seq, "'reject_reasons' must list at least one reason");
}

static void
check_stage(nt_cfg_reader *r, const nt_ynode *m, const char *key, const char *stage)
{
    if (stage && nt_config_stage_index(r->cfg, stage) < 0)
        error_at(r, nt_ymap_get(m, key), "'%s' is not one of the stages", stage);
}

static void
read_queue(nt_cfg_reader *r, const nt_ynode *m)
{
    nt_queue_config *q = &r->cfg->queue;

    if (m && !nt_cfg_is_map(r, m, "queue"))
        m = NULL;
    if (m) {
        nt_ymap_check_keys(r->doc, m, queue_keys, "queue", r->diags);
        q->sla = nt_cfg_duration(r, m, "sla", 0);
        q->handoff_stage = nt_cfg_str(r, m, "handoff_stage", 0, "queue");
        q->accept_stage = nt_cfg_str(r, m, "accept_stage", 0, "queue");
        check_stage(r, m, "handoff_stage", q->handoff_stage);
        check_stage(r, m, "accept_stage", q->accept_stage);
    }
    read_reasons(r, m ? nt_ymap_get(m, "reject_reasons") : NULL);
}

static void
read_events(nt_cfg_reader *r, const nt_ynode *n, nt_webhook *w)
{
    char **names = NULL;
    size_t count = 0;

    get_strings(r, n, "events", &names, &count);
    w->events = 0;
    for (size_t i = 0; i < count; i++) {
        unsigned ev = nt_hook_event_from(names[i]);
        if (!ev)
            error_at(r, n,
                     "unknown webhook event '%s': use handoff, claim, accept, reject, recycle "
                     "or sla",
                     names[i]);
        w->events |= ev;
        free(names[i]);
    }
    free(names);
}

static void
read_webhook(nt_cfg_reader *r, const nt_ynode *m, nt_webhook *w)
{
    char *format, *ca;

    nt_ymap_check_keys(r->doc, m, webhook_keys, "a webhook", r->diags);
    w->name = nt_cfg_str(r, m, "name", 1, "a webhook");
    w->url = nt_cfg_str(r, m, "url", 1, "a webhook");
    if (w->url && strncmp(w->url, "https://", 8) && strncmp(w->url, "http://", 7))
        error_at(r, nt_ymap_get(m, "url"), "webhook url '%s' must start with https:// or http://",
                 w->url);
    format = nt_cfg_str(r, m, "format", 0, "a webhook");
    if (format && !strcmp(format, "slack"))
        w->format = NT_HOOK_SLACK;
    else if (format && strcmp(format, "json") != 0)
        error_at(r, nt_ymap_get(m, "format"), "webhook format '%s' must be 'json' or 'slack'",
                 format);
    free(format);
    if (nt_ymap_get(m, "secret"))
        nt_cfg_secret(r, nt_ymap_get(m, "secret"), "webhook secret", &w->secret);
    else if (w->format == NT_HOOK_JSON)
        error_at(r, m,
                 "a json webhook needs 'secret: {env: NAME}' or '{file: PATH}': receivers check "
                 "its HMAC signature");
    w->events = NT_HOOK_ALL;
    if (nt_ymap_get(m, "events"))
        read_events(r, nt_ymap_get(m, "events"), w);
    w->timeout = nt_cfg_int(r, m, "timeout", 10, 1, 300);
    ca = nt_cfg_str(r, m, "ca_file", 0, "a webhook");
    w->ca_file = nt_cfg_resolve(r, ca);
    free(ca);
}

static void
read_webhooks(nt_cfg_reader *r, const nt_ynode *seq)
{
    nt_config *cfg = r->cfg;

    if (!seq || !nt_cfg_is_seq(r, seq, "webhooks"))
        return;
    if (!(cfg->webhooks = calloc(seq->n + 1, sizeof(*cfg->webhooks)))) {
        r->oom = 1;
        return;
    }
    for (size_t i = 0; i < seq->n; i++) {
        const nt_ynode *m = seq->vals[i];
        nt_webhook *w = &cfg->webhooks[cfg->nwebhooks];
        if (!nt_cfg_is_map(r, m, "each webhook"))
            continue;
        read_webhook(r, m, w);
        for (size_t j = 0; w->name && j < cfg->nwebhooks; j++)
            if (cfg->webhooks[j].name && !strcmp(cfg->webhooks[j].name, w->name))
                error_at(r, m, "webhook name '%s' is used twice", w->name);
        cfg->nwebhooks++;
    }
}

void
nt_cfg_read_handoff(nt_cfg_reader *r, const nt_ynode *top)
{
    read_scoring(r, nt_ymap_get(top, "scoring"));
    read_reps(r, nt_ymap_get(top, "reps"));
    read_queue(r, nt_ymap_get(top, "queue"));
    read_webhooks(r, nt_ymap_get(top, "webhooks"));
}

void
nt_cfg_release_handoff(nt_config *cfg)
{
    for (size_t i = 0; i < cfg->scoring.nrules; i++) {
        nt_score_rule *s = &cfg->scoring.rules[i];
        free(s->id);
        free(s->on);
        free(s->intent);
        free(s->field);
        for (size_t j = 0; j < s->nvalues; j++)
            free(s->values[j]);
        free(s->values);
    }
    free(cfg->scoring.rules);
    for (size_t i = 0; i < cfg->nreps; i++) {
        free(cfg->reps[i].name);
        free(cfg->reps[i].email);
    }
    free(cfg->reps);
    for (size_t i = 0; i < cfg->queue.nreasons; i++) {
        free(cfg->queue.reasons[i].id);
        free(cfg->queue.reasons[i].recycle);
    }
    free(cfg->queue.reasons);
    free(cfg->queue.handoff_stage);
    free(cfg->queue.accept_stage);
    for (size_t i = 0; i < cfg->nwebhooks; i++) {
        nt_webhook *w = &cfg->webhooks[i];
        free(w->name);
        free(w->url);
        nt_cfg_free_secret(&w->secret);
        free(w->ca_file);
    }
    free(cfg->webhooks);
}

const nt_rep *
nt_config_rep(const nt_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nreps; i++)
        if (cfg->reps[i].name && strcasecmp(cfg->reps[i].name, name) == 0)
            return &cfg->reps[i];
    return NULL;
}

const nt_reject_reason *
nt_config_reject_reason(const nt_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->queue.nreasons; i++)
        if (cfg->queue.reasons[i].id && strcmp(cfg->queue.reasons[i].id, id) == 0)
            return &cfg->queue.reasons[i];
    return NULL;
}
