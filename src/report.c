/*
 * The shared report (report.h): the store's figures collected into
 * campaigns, steps and totals, and rendered for people (an aligned text
 * table, one HTML page) and for programs (JSON, CSV).
 *
 * The store emits each figure at the level it belongs to (step, campaign,
 * everything), because counts of distinct leads do not add up across
 * steps; this file only places them, orders them, takes the medians and
 * draws.  The HTML page is self-contained on purpose: it is mailed around
 * and opened from disk, so it has inline CSS, inline SVG, no script, and a
 * Content-Security-Policy that forbids fetching anything.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/report.h"
#include "nurture/tz.h"
#include "nurture/utf8.h"

#include "banned.h"

static const struct fig_info {
    const char *name;  /* JSON, CSV, store rows */
    const char *label; /* people */
    const char *help;  /* the definition, as in the README */
} fig_info[NT_RF_COUNT] = {
    [NT_RF_ENROLLED] = {"enrolled", "enrolled",
                        "Leads that entered the campaign in the period (once per lead and "
                        "campaign; not counted per step)."},
    [NT_RF_SENT] = {"sent", "sent", "Emails the relay accepted, at the time it accepted them."},
    [NT_RF_REACHED] = {"reached", "leads sent to",
                       "Distinct leads among the emails sent (at a step, the same as sent)."},
    [NT_RF_DEFERRED] = {"deferred", "deferred",
                        "Emails refused for now (a 4xx answer or none) whose last attempt was "
                        "in the period and that still wait for a retry."},
    [NT_RF_FAILED] = {"failed", "failed",
                      "Emails refused for good (5xx) or retried for too long, by the time of "
                      "the last attempt."},
    [NT_RF_UNKNOWN] = {"unknown", "in doubt",
                       "Emails a crashed run left unknown (maybe sent) by the time of the "
                       "crash, until someone requeues them."},
    [NT_RF_BOUNCED_HARD] = {"bounced_hard", "bounced hard",
                            "Leads whose email of this step came back as a permanent bounce "
                            "(unknown user or domain, disabled mailbox...), by the time the "
                            "bounce arrived."},
    [NT_RF_BOUNCED_SOFT] = {"bounced_soft", "bounced soft",
                            "Leads whose email came back as a temporary bounce (mailbox full, "
                            "delayed, rate-limited...)."},
    [NT_RF_BLOCKED] = {"blocked", "blocked",
                       "Leads whose email was refused for reasons about the sender (5.7.x "
                       "policy, reputation, DMARC, content judged spam): not a bounce of the "
                       "lead."},
    [NT_RF_OUT_OF_OFFICE] = {"out_of_office", "out-of-office",
                             "Leads who answered with an automatic reply (out-of-office, "
                             "RFC 3834)."},
    [NT_RF_REPLIED] = {"replied", "replied",
                       "Leads who answered an email of the step in person, whatever the "
                       "intent but unsubscribe; once per lead and step."},
    [NT_RF_UNSUBSCRIBED] = {"unsubscribed", "unsubscribed",
                            "Leads who asked by mail to stop (the unsubscribe address, a "
                            "request, or a reply whose intent is to unsubscribe)."},
    [NT_RF_COMPLAINED] = {"complained", "complained",
                          "Leads who reported the email as spam (an ARF complaint)."},
    [NT_RF_ENGAGED] = {"engaged", "engaged",
                       "Distinct leads whose timeline got a reply engagement (the 'replied' "
                       "event scoring reads), intent not unsubscribe."},
    [NT_RF_HANDED_OFF] = {"handed_off", "handed off",
                          "Hand-offs to sales (queue entries) created in the period, under the "
                          "campaign and step of the reply that triggered them."},
    [NT_RF_CLAIMED] = {"claimed", "claimed", "Hand-offs a rep pulled in the period."},
    [NT_RF_ACCEPTED] = {"accepted", "accepted", "Hand-offs sales accepted in the period."},
    [NT_RF_REJECTED] = {"rejected", "rejected",
                        "Hand-offs sales rejected in the period, in total and by reason."},
    [NT_RF_RECYCLED] = {"recycled", "recycled",
                        "Rejected hand-offs sent back into a nurture campaign (also counted "
                        "in rejected)."},
};

const char *
nt_report_fig_name(nt_report_fig f)
{
    return (unsigned)f < NT_RF_COUNT ? fig_info[f].name : NULL;
}

const char *
nt_report_fig_label(nt_report_fig f)
{
    return (unsigned)f < NT_RF_COUNT ? fig_info[f].label : NULL;
}

double
nt_report_reply_rate(const nt_report_figs *f, int step_level)
{
    int64_t base = step_level ? f->v[NT_RF_SENT] : f->v[NT_RF_REACHED];

    return base > 0 ? (double)f->v[NT_RF_REPLIED] / (double)base : -1.0;
}

/* ---- collecting ---- */

/* v (n used, *cap allocated, of `size` each) with room for one more, which
 * is zeroed; NULL on OOM (v untouched).  The caller stores the result. */
static void *
room(void *v, size_t n, size_t *cap, size_t size)
{
    if (n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        if (!(v = realloc(v, ncap * size)))
            return NULL;
        *cap = ncap;
    }
    memset((char *)v + n * size, 0, size);
    return v;
}

/* Append a zeroed element to the array `arr` of count `n`; the new element,
 * or NULL on OOM. */
#define PUSH(arr, n, cap)                                                                          \
    ((tmp_ = room((arr), (n), (cap), sizeof(*(arr)))) ? ((arr) = tmp_, &(arr)[(n)++]) : NULL)

typedef struct claim {
    char *rep; /* owned, or NULL */
    int64_t secs;
} claim;

typedef struct collector {
    nt_report *r;
    size_t ccap, scap; /* capacities of r->campaigns and r->senders */
    claim *claims;
    size_t nclaims, clcap;
    nt_err err;
} collector;

static void
figs_release(nt_report_figs *f)
{
    for (size_t i = 0; i < f->nrejects; i++)
        free(f->rejects[i].reason);
    free(f->rejects);
}

static nt_report_campaign *
campaign_get(collector *c, const char *name)
{
    nt_report *r = c->r;
    nt_report_campaign *cp;
    void *tmp_;

    for (size_t i = 0; i < r->ncampaigns; i++)
        if (!strcmp(r->campaigns[i].name, name))
            return &r->campaigns[i];
    cp = PUSH(r->campaigns, r->ncampaigns, &c->ccap);
    if (!cp)
        return NULL;
    if (!(cp->name = strdup(name))) {
        r->ncampaigns--;
        return NULL;
    }
    return cp;
}

/* Steps are few: grown one at a time. */
static nt_report_step *
step_get(nt_report_campaign *cp, const char *id)
{
    nt_report_step *v;

    for (size_t i = 0; i < cp->nsteps; i++)
        if (!strcmp(cp->steps[i].id, id))
            return &cp->steps[i];
    if (!(v = realloc(cp->steps, (cp->nsteps + 1) * sizeof(*v))))
        return NULL;
    cp->steps = v;
    v += cp->nsteps;
    memset(v, 0, sizeof(*v));
    v->position = -1;
    if (!(v->id = strdup(id)))
        return NULL;
    cp->nsteps++;
    return v;
}

static nt_err
reason_add(nt_report_figs *f, const char *reason, int64_t n)
{
    nt_report_reason *nr;

    for (size_t i = 0; i < f->nrejects; i++)
        if (!strcmp(f->rejects[i].reason, reason)) {
            f->rejects[i].count += n;
            return NT_OK;
        }
    nr = realloc(f->rejects, (f->nrejects + 1) * sizeof(*nr));
    if (!nr)
        return NT_ENOMEM;
    f->rejects = nr;
    if (!(nr[f->nrejects].reason = strdup(reason)))
        return NT_ENOMEM;
    nr[f->nrejects++].count = n;
    return NT_OK;
}

static nt_report_sender *
sender_get(collector *c, const char *id)
{
    nt_report *r = c->r;
    nt_report_sender *s;
    void *tmp_;

    for (size_t i = 0; i < r->nsenders; i++)
        if (!strcmp(r->senders[i].id, id))
            return &r->senders[i];
    s = PUSH(r->senders, r->nsenders, &c->scap);
    if (!s)
        return NULL;
    if (!(s->id = strdup(id))) {
        r->nsenders--;
        return NULL;
    }
    return s;
}

static int
fig_from(const char *name)
{
    for (int i = 0; i < NT_RF_COUNT; i++)
        if (!strcmp(fig_info[i].name, name))
            return i;
    return -1;
}

/* Where a row of figures goes: a step, a campaign, or the total. */
static nt_report_figs *
figs_for(collector *c, const nt_report_row *row, nt_report_step **step)
{
    nt_report_campaign *cp;

    *step = NULL;
    if (!row->campaign)
        return row->step_id ? NULL : &c->r->total;
    if (!(cp = campaign_get(c, row->campaign))) {
        c->err = NT_ENOMEM;
        return NULL;
    }
    if (!row->step_id)
        return &cp->f;
    if (!(*step = step_get(cp, row->step_id))) {
        c->err = NT_ENOMEM;
        return NULL;
    }
    return &(*step)->f;
}

static nt_err
add_claim(collector *c, const nt_report_row *row)
{
    void *tmp_;
    claim *cl = PUSH(c->claims, c->nclaims, &c->clcap);

    if (!cl)
        return NT_ENOMEM;
    cl->secs = row->value < 0 ? 0 : row->value;
    if (row->key && !(cl->rep = strdup(row->key))) {
        c->nclaims--;
        return NT_ENOMEM;
    }
    return NT_OK;
}

static int
collect(void *ctx, const nt_report_row *row)
{
    collector *c = ctx;
    nt_report_step *step;
    nt_report_figs *f;
    int fig;

    if (!row->metric)
        return 0;
    if (!strcmp(row->metric, "claim_seconds")) {
        c->err = add_claim(c, row);
    } else if (!strcmp(row->metric, "sender_sent") || !strcmp(row->metric, "sender_24h")) {
        nt_report_sender *s = row->key ? sender_get(c, row->key) : NULL;
        if (row->key && !s)
            c->err = NT_ENOMEM;
        else if (s && row->metric[7] == 's')
            s->sent += row->value;
        else if (s)
            s->last_24h += row->value;
    } else if (!strcmp(row->metric, "step_position")) {
        f = figs_for(c, row, &step);
        if (step)
            step->position = row->value;
    } else if ((fig = fig_from(row->metric)) >= 0 && (f = figs_for(c, row, &step)) != NULL) {
        if (fig == NT_RF_REJECTED && row->key)
            c->err = reason_add(f, row->key, row->value);
        else if (!row->key)
            f->v[fig] += row->value;
    }
    return c->err != NT_OK;
}

/* ---- finishing: order, medians, caps ---- */

/* qsort, which must not be handed a NULL array even when it is empty. */
static void
sort(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(v, n, size, cmp);
}

static int
cmp_reason(const void *a, const void *b)
{
    const nt_report_reason *x = a, *y = b;

    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->reason, y->reason);
}

static int
cmp_step(const void *a, const void *b)
{
    const nt_report_step *x = a, *y = b;

    /* Steps never sent (position -1) after the others. */
    if ((x->position < 0) != (y->position < 0))
        return x->position < 0 ? 1 : -1;
    if (x->position != y->position)
        return x->position < y->position ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int
cmp_campaign(const void *a, const void *b)
{
    return strcmp(((const nt_report_campaign *)a)->name, ((const nt_report_campaign *)b)->name);
}

static int
cmp_claim(const void *a, const void *b)
{
    const claim *x = a, *y = b;
    /* By rep (no rep last), then by time. */
    int c = (!x->rep || !y->rep) ? (!x->rep) - (!y->rep) : strcmp(x->rep, y->rep);

    if (c)
        return c;
    return x->secs < y->secs ? -1 : x->secs > y->secs;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* The middle of v[0..n) sorted; with an even n, the mean of the two
 * middle values rounded down; -1 when n is 0. */
static int64_t
median(const int64_t *v, size_t n)
{
    if (!n)
        return -1;
    if (n % 2)
        return v[n / 2];
    return v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2;
}

static nt_err
finish_claims(collector *c)
{
    nt_report *r = c->r;
    int64_t *v;
    size_t i, j, cap = 0;
    void *tmp_;

    r->claims.claims = (int64_t)c->nclaims;
    r->claims.median_seconds = -1;
    if (!c->nclaims)
        return NT_OK;
    if (!(v = malloc(c->nclaims * sizeof(*v))))
        return NT_ENOMEM;
    for (i = 0; i < c->nclaims; i++)
        v[i] = c->claims[i].secs;
    sort(v, c->nclaims, sizeof(*v), cmp_i64);
    r->claims.median_seconds = median(v, c->nclaims);
    /* Then per rep: sorted by rep and, within a rep, by time. */
    sort(c->claims, c->nclaims, sizeof(*c->claims), cmp_claim);
    for (i = 0; i < c->nclaims; i = j) {
        const char *rep = c->claims[i].rep;
        nt_report_claims *rc;
        for (j = i; j < c->nclaims; j++) {
            const char *other = c->claims[j].rep;
            if ((!rep) != (!other) || (rep && strcmp(rep, other)))
                break;
            v[j - i] = c->claims[j].secs;
        }
        rc = PUSH(r->rep_claims, r->nrep_claims, &cap);
        if (!rc) {
            free(v);
            return NT_ENOMEM;
        }
        rc->claims = (int64_t)(j - i);
        rc->median_seconds = median(v, j - i);
        rc->rep = c->claims[i].rep; /* moved: the others are freed with the collector */
        c->claims[i].rep = NULL;
    }
    free(v);
    return NT_OK;
}

static int
figs_any(const nt_report_figs *f)
{
    for (int i = 0; i < NT_RF_COUNT; i++)
        if (f->v[i])
            return 1;
    return f->nrejects > 0;
}

static int
campaign_any(const nt_report_campaign *cp)
{
    if (figs_any(&cp->f))
        return 1;
    for (size_t i = 0; i < cp->nsteps; i++)
        if (figs_any(&cp->steps[i].f))
            return 1;
    return 0;
}

static void
campaign_release(nt_report_campaign *cp)
{
    free(cp->name);
    figs_release(&cp->f);
    for (size_t i = 0; i < cp->nsteps; i++) {
        free(cp->steps[i].id);
        figs_release(&cp->steps[i].f);
    }
    free(cp->steps);
}

static int
cmp_sender(const void *a, const void *b)
{
    return strcmp(((const nt_report_sender *)a)->id, ((const nt_report_sender *)b)->id);
}

/* Configured senders first, in the config's order and even when quiet,
 * then the ones only the data knows, by id. */
static nt_err
finish_senders(collector *c, const nt_config *cfg)
{
    nt_report *r = c->r;
    size_t nconf = cfg ? cfg->nsenders : 0, n = 0;
    nt_report_sender *v;

    sort(r->senders, r->nsenders, sizeof(*r->senders), cmp_sender);
    if (!nconf)
        return NT_OK;
    if (!(v = calloc(nconf + r->nsenders, sizeof(*v))))
        return NT_ENOMEM;
    for (size_t i = 0; i < nconf; i++) {
        const nt_sender *cs = &cfg->senders[i];
        for (size_t k = 0; k < r->nsenders; k++)
            if (r->senders[k].id && !strcmp(r->senders[k].id, cs->id)) {
                v[n] = r->senders[k];
                r->senders[k].id = NULL; /* moved */
            }
        if (!v[n].id && !(v[n].id = strdup(cs->id))) {
            for (size_t k = 0; k < n; k++)
                free(v[k].id);
            free(v);
            return NT_ENOMEM;
        }
        v[n].configured = 1;
        v[n++].daily_cap = cs->daily_cap;
    }
    for (size_t k = 0; k < r->nsenders; k++)
        if (r->senders[k].id)
            v[n++] = r->senders[k];
    free(r->senders);
    r->senders = v;
    r->nsenders = n;
    return NT_OK;
}

static nt_err
finish(collector *c, const nt_config *cfg)
{
    nt_report *r = c->r;
    size_t n = 0;
    nt_err err;

    /* A campaign asked for by name is shown even when quiet; others only
     * when something happened in the period. */
    if (r->campaign && !campaign_get(c, r->campaign))
        return NT_ENOMEM;
    for (size_t i = 0; i < r->ncampaigns; i++) {
        nt_report_campaign *cp = &r->campaigns[i];
        if (!campaign_any(cp) && !(r->campaign && !strcmp(r->campaign, cp->name))) {
            campaign_release(cp);
            continue;
        }
        r->campaigns[n++] = *cp;
    }
    r->ncampaigns = n;
    sort(r->campaigns, r->ncampaigns, sizeof(*r->campaigns), cmp_campaign);
    sort(r->total.rejects, r->total.nrejects, sizeof(nt_report_reason), cmp_reason);
    for (size_t i = 0; i < r->ncampaigns; i++) {
        nt_report_campaign *cp = &r->campaigns[i];
        sort(cp->steps, cp->nsteps, sizeof(*cp->steps), cmp_step);
        sort(cp->f.rejects, cp->f.nrejects, sizeof(nt_report_reason), cmp_reason);
        for (size_t k = 0; k < cp->nsteps; k++)
            sort(cp->steps[k].f.rejects, cp->steps[k].f.nrejects, sizeof(nt_report_reason),
                 cmp_reason);
    }
    if ((err = finish_claims(c)) != NT_OK)
        return err;
    return finish_senders(c, cfg);
}

void
nt_report_release(nt_report *r)
{
    if (!r)
        return;
    free(r->campaign);
    figs_release(&r->total);
    for (size_t i = 0; i < r->ncampaigns; i++)
        campaign_release(&r->campaigns[i]);
    free(r->campaigns);
    for (size_t i = 0; i < r->nsenders; i++)
        free(r->senders[i].id);
    free(r->senders);
    free(r->claims.rep);
    for (size_t i = 0; i < r->nrep_claims; i++)
        free(r->rep_claims[i].rep);
    free(r->rep_claims);
    memset(r, 0, sizeof(*r));
}

nt_err
nt_report_build(nt_store *st, const nt_config *cfg, const nt_report_opts *o, nt_report *out,
                nt_diag *d)
{
    collector c;
    nt_err err;

    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    c.r = out;
    out->since = o->since;
    out->until = o->until ? o->until : o->now;
    out->generated = o->now;
    out->claims.median_seconds = -1;
    if (o->campaign && !(out->campaign = strdup(o->campaign)))
        return NT_ENOMEM;
    err = nt_store_report_rows(st, out->since, out->until, o->campaign, collect, &c, d);
    if (err == NT_OK && c.err != NT_OK)
        err = nt_diag_set(d, c.err, NULL, 0, 0, "building the report: %s", nt_strerror(c.err));
    if (err == NT_OK && (err = finish(&c, cfg)) != NT_OK)
        nt_diag_set(d, err, NULL, 0, 0, "building the report: %s", nt_strerror(err));
    for (size_t i = 0; i < c.nclaims; i++)
        free(c.claims[i].rep);
    free(c.claims);
    return err;
}

/* ---- shared by the renderings ---- */

/* One column of figures: a step, a campaign, or the total. */
typedef struct col {
    const char *head;
    const nt_report_figs *f;
    int step; /* a step: no enrolled, rate over sent */
} col;

/* The rows of a figure table: each figure, the reply rate after replied,
 * and each reject reason after rejected. */
typedef enum rowkind { ROW_FIG, ROW_RATE, ROW_REASON } rowkind;

typedef struct rowspec {
    rowkind kind;
    int fig;            /* ROW_FIG */
    const char *reason; /* ROW_REASON, borrowed from a column */
} rowspec;

/* The rows for cols[0..n): at most NT_RF_COUNT + 1 + the distinct reasons.
 * *rows owned by the caller (free); NULL on OOM. */
static rowspec *
table_rows(const col *cols, size_t n, size_t *nrows)
{
    size_t nreasons = 0, k = 0;
    rowspec *v;

    for (size_t i = 0; i < n; i++)
        nreasons += cols[i].f->nrejects;
    if (!(v = calloc(NT_RF_COUNT + 1 + nreasons, sizeof(*v))))
        return NULL;
    for (int fig = 0; fig < NT_RF_COUNT; fig++) {
        v[k].kind = ROW_FIG;
        v[k++].fig = fig;
        if (fig == NT_RF_REPLIED)
            v[k++].kind = ROW_RATE;
        if (fig != NT_RF_REJECTED)
            continue;
        /* The aggregate column (last) first: its order is by count. */
        for (size_t i = n; i-- > 0;)
            for (size_t r = 0; r < cols[i].f->nrejects; r++) {
                const char *reason = cols[i].f->rejects[r].reason;
                size_t j;
                for (j = 0; j < k; j++)
                    if (v[j].kind == ROW_REASON && !strcmp(v[j].reason, reason))
                        break;
                if (j == k) {
                    v[k].kind = ROW_REASON;
                    v[k++].reason = reason;
                }
            }
    }
    *nrows = k;
    return v;
}

static int64_t
reason_count(const nt_report_figs *f, const char *reason)
{
    for (size_t i = 0; i < f->nrejects; i++)
        if (!strcmp(f->rejects[i].reason, reason))
            return f->rejects[i].count;
    return 0;
}

/* The cell of row r in column c, as text. */
static void
cell_text(const col *c, const rowspec *r, char *out, size_t outsz)
{
    double rate;

    switch (r->kind) {
    case ROW_FIG:
        if (c->step && r->fig == NT_RF_ENROLLED)
            snprintf(out, outsz, "-");
        else
            snprintf(out, outsz, "%lld", (long long)c->f->v[r->fig]);
        break;
    case ROW_RATE:
        rate = nt_report_reply_rate(c->f, c->step);
        if (rate < 0)
            snprintf(out, outsz, "-");
        else
            snprintf(out, outsz, "%.1f%%", rate * 100.0);
        break;
    case ROW_REASON:
        snprintf(out, outsz, "%lld", (long long)reason_count(c->f, r->reason));
        break;
    }
}

static const char *
row_label(const rowspec *r)
{
    if (r->kind == ROW_FIG)
        return fig_info[r->fig].label;
    if (r->kind == ROW_RATE)
        return "reply rate";
    return r->reason;
}

/* A time for people and programs; "" for 0 when open is allowed. */
static void
when(int64_t t, char out[32])
{
    nt_time_format_utc(t, out, 32);
}

/* A duration for people: "45s", "1h30m", "2d3h". */
static void
span(int64_t secs, char *out, size_t outsz)
{
    if (secs < 0)
        snprintf(out, outsz, "-");
    else if (secs < 60)
        snprintf(out, outsz, "%llds", (long long)secs);
    else
        nt_duration_format(secs, out, outsz);
}

/* s as valid UTF-8 without control characters (a name from the data must
 * not move a terminal's cursor), into tmp; borrowed until tmp changes. */
static const char *
clean(nt_buf *tmp, const char *s)
{
    nt_buf_reset(tmp);
    if (!s)
        return "";
    nt_utf8_add_valid(tmp, s, strlen(s));
    for (size_t i = 0; i < tmp->len; i++)
        if ((unsigned char)tmp->data[i] < 0x20 || tmp->data[i] == 0x7f)
            tmp->data[i] = '?';
    return nt_buf_cstr(tmp);
}

/* The columns of the overview (each campaign, then all) or of one
 * campaign (each step, then the campaign); *cols owned by the caller. */
static col *
overview_cols(const nt_report *r, size_t *n)
{
    col *v = calloc(r->ncampaigns + 1, sizeof(*v));

    if (!v)
        return NULL;
    for (size_t i = 0; i < r->ncampaigns; i++)
        v[i] = (col){r->campaigns[i].name, &r->campaigns[i].f, 0};
    v[r->ncampaigns] = (col){"all campaigns", &r->total, 0};
    *n = r->ncampaigns + 1;
    return v;
}

static col *
campaign_cols(const nt_report_campaign *cp, size_t *n)
{
    col *v = calloc(cp->nsteps + 1, sizeof(*v));

    if (!v)
        return NULL;
    for (size_t i = 0; i < cp->nsteps; i++)
        v[i] = (col){cp->steps[i].id, &cp->steps[i].f, 1};
    v[cp->nsteps] = (col){"campaign", &cp->f, 0};
    *n = cp->nsteps + 1;
    return v;
}

/* ---- text ---- */

/* An aligned table: cells row by row, ncols a row; the first column left
 * aligned, the others right aligned. */
typedef struct ttable {
    size_t ncols;
    char **cells;
    size_t n, cap;
    int oom;
} ttable;

static void
tcell(ttable *t, const char *s)
{
    void *tmp_;
    char **slot;

    if (t->oom)
        return;
    if (!(slot = PUSH(t->cells, t->n, &t->cap)) || !(*slot = strdup(s)))
        t->oom = 1;
}

static void tcellf(ttable *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
tcellf(ttable *t, const char *fmt, ...)
{
    char cell[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cell, sizeof(cell), fmt, ap);
    va_end(ap);
    tcell(t, cell);
}

/* Characters shown, counting a UTF-8 sequence as one. */
static size_t
width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void
pad(nt_buf *out, size_t n)
{
    while (n--)
        nt_buf_addc(out, ' ');
}

static void
trender(ttable *t, nt_buf *out)
{
    size_t *w = calloc(t->ncols, sizeof(*w));

    if (!w || t->oom) {
        free(w);
        out->err = out->err ? out->err : NT_ENOMEM;
        return;
    }
    for (size_t i = 0; i < t->n; i++)
        if (width(t->cells[i]) > w[i % t->ncols])
            w[i % t->ncols] = width(t->cells[i]);
    for (size_t i = 0; i < t->n; i++) {
        size_t c = i % t->ncols, cw = width(t->cells[i]);
        if (c == 0) {
            nt_buf_adds(out, "  ");
            nt_buf_adds(out, t->cells[i]);
            if (t->ncols > 1)
                pad(out, w[0] - cw);
        } else {
            pad(out, 2 + w[c] - cw);
            nt_buf_adds(out, t->cells[i]);
        }
        if (c == t->ncols - 1)
            nt_buf_addc(out, '\n');
    }
    free(w);
}

static void
tfree(ttable *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->cells[i]);
    free(t->cells);
}

/* A figure table over cols[0..n), rendered into out. */
static void
text_figs(nt_buf *out, const col *cols, size_t n, nt_buf *tmp)
{
    ttable t = {n + 1, NULL, 0, 0, 0};
    size_t nrows = 0;
    rowspec *rows = table_rows(cols, n, &nrows);
    char cell[64];

    if (!rows) {
        out->err = out->err ? out->err : NT_ENOMEM;
        return;
    }
    tcell(&t, "");
    for (size_t i = 0; i < n; i++)
        tcell(&t, clean(tmp, cols[i].head));
    for (size_t r = 0; r < nrows; r++) {
        if (rows[r].kind == ROW_REASON) {
            const char *reason = clean(tmp, rows[r].reason);
            char *label = malloc(strlen(reason) + 3);
            if (label) {
                memcpy(label, "  ", 2);
                memcpy(label + 2, reason, strlen(reason) + 1);
                tcell(&t, label);
                free(label);
            } else {
                t.oom = 1;
            }
        } else {
            tcell(&t, row_label(&rows[r]));
        }
        for (size_t i = 0; i < n; i++) {
            cell_text(&cols[i], &rows[r], cell, sizeof(cell));
            tcell(&t, cell);
        }
    }
    trender(&t, out);
    tfree(&t);
    free(rows);
}

static void
text_senders(nt_buf *out, const nt_report *r, nt_buf *tmp)
{
    ttable t = {5, NULL, 0, 0, 0};

    tcell(&t, "sender");
    tcell(&t, "sent");
    tcell(&t, "last 24 h");
    tcell(&t, "daily cap");
    tcell(&t, "of cap");
    for (size_t i = 0; i < r->nsenders; i++) {
        const nt_report_sender *s = &r->senders[i];
        tcell(&t, clean(tmp, s->id));
        tcellf(&t, "%lld", (long long)s->sent);
        tcellf(&t, "%lld", (long long)s->last_24h);
        if (!s->configured)
            tcell(&t, "not configured");
        else if (!s->daily_cap)
            tcell(&t, "none");
        else
            tcellf(&t, "%lld", s->daily_cap);
        if (s->configured && s->daily_cap)
            tcellf(&t, "%.0f%%", 100.0 * (double)s->last_24h / (double)s->daily_cap);
        else
            tcell(&t, "-");
    }
    trender(&t, out);
    tfree(&t);
}

static void
text_claims(nt_buf *out, const nt_report *r, nt_buf *tmp)
{
    ttable t = {3, NULL, 0, 0, 0};
    char d[32];

    tcell(&t, "rep");
    tcell(&t, "claims");
    tcell(&t, "median wait");
    for (size_t i = 0; i < r->nrep_claims; i++) {
        const nt_report_claims *c = &r->rep_claims[i];
        tcell(&t, c->rep ? clean(tmp, c->rep) : "(no rep)");
        tcellf(&t, "%lld", (long long)c->claims);
        span(c->median_seconds, d, sizeof(d));
        tcell(&t, d);
    }
    tcell(&t, "everyone");
    tcellf(&t, "%lld", (long long)r->claims.claims);
    span(r->claims.median_seconds, d, sizeof(d));
    tcell(&t, d);
    trender(&t, out);
    tfree(&t);
}

static void
period_text(const nt_report *r, char *out, size_t outsz)
{
    char a[32], b[32];

    when(r->until, b);
    if (r->since) {
        when(r->since, a);
        snprintf(out, outsz, "%s to %s", a, b);
    } else {
        snprintf(out, outsz, "from the beginning to %s", b);
    }
}

nt_err
nt_report_text(const nt_report *r, nt_buf *out)
{
    char period[96], gen[32];
    nt_buf tmp;
    size_t n = 0;
    col *cols;

    nt_buf_init(&tmp, 0);
    period_text(r, period, sizeof(period));
    when(r->generated, gen);
    nt_buf_addf(out, "Report for %s (end exclusive), ", period);
    if (r->campaign) {
        nt_buf_adds(out, "campaign ");
        nt_buf_adds(out, clean(&tmp, r->campaign));
    } else {
        nt_buf_adds(out, "all campaigns");
    }
    nt_buf_addf(out, "; generated %s\n\nOverview\n", gen);
    if ((cols = overview_cols(r, &n)) != NULL)
        text_figs(out, cols, n, &tmp);
    else
        out->err = out->err ? out->err : NT_ENOMEM;
    free(cols);
    for (size_t i = 0; i < r->ncampaigns; i++) {
        nt_buf_adds(out, "\nCampaign ");
        nt_buf_adds(out, clean(&tmp, r->campaigns[i].name));
        nt_buf_adds(out, ", by step\n");
        if ((cols = campaign_cols(&r->campaigns[i], &n)) != NULL)
            text_figs(out, cols, n, &tmp);
        else
            out->err = out->err ? out->err : NT_ENOMEM;
        free(cols);
    }
    nt_buf_adds(out, "\nSenders (all campaigns): sent in the period, and in the 24 hours "
                     "before its end against the daily cap\n");
    text_senders(out, r, &tmp);
    nt_buf_adds(out, "\nTime from hand-off to claim (claims in the period)\n");
    text_claims(out, r, &tmp);
    if (tmp.err && !out->err)
        out->err = tmp.err;
    nt_buf_release(&tmp);
    return out->err;
}

/* ---- JSON ---- */

static void
json_str(nt_buf *out, const char *s, nt_buf *tmp)
{
    if (!s) {
        nt_buf_adds(out, "null");
        return;
    }
    nt_buf_reset(tmp);
    nt_utf8_add_valid(tmp, s, strlen(s));
    nt_buf_add_json(out, nt_buf_cstr(tmp), tmp->len);
}

static void
json_time(nt_buf *out, int64_t t)
{
    char w[32];

    when(t, w);
    nt_buf_addf(out, "\"%s\"", w);
}

static void
json_figs(nt_buf *out, const nt_report_figs *f, int step, nt_buf *tmp)
{
    double rate = nt_report_reply_rate(f, step);
    int first = 1;

    nt_buf_addc(out, '{');
    for (int i = 0; i < NT_RF_COUNT; i++) {
        if (step && i == NT_RF_ENROLLED)
            continue;
        nt_buf_addf(out, "%s\"%s\":%lld", first ? "" : ",", fig_info[i].name, (long long)f->v[i]);
        first = 0;
    }
    if (rate < 0)
        nt_buf_adds(out, ",\"reply_rate\":null");
    else
        nt_buf_addf(out, ",\"reply_rate\":%.4f", rate);
    nt_buf_adds(out, ",\"rejected_by_reason\":{");
    for (size_t i = 0; i < f->nrejects; i++) {
        if (i)
            nt_buf_addc(out, ',');
        json_str(out, f->rejects[i].reason, tmp);
        nt_buf_addf(out, ":%lld", (long long)f->rejects[i].count);
    }
    nt_buf_adds(out, "}}");
}

static void
json_claims(nt_buf *out, const nt_report_claims *c, nt_buf *tmp)
{
    nt_buf_adds(out, "{\"rep\":");
    json_str(out, c->rep, tmp);
    nt_buf_addf(out, ",\"claims\":%lld,\"median_seconds\":", (long long)c->claims);
    if (c->median_seconds < 0)
        nt_buf_adds(out, "null}");
    else
        nt_buf_addf(out, "%lld}", (long long)c->median_seconds);
}

nt_err
nt_report_json(const nt_report *r, nt_buf *out)
{
    nt_buf tmp;

    nt_buf_init(&tmp, 0);
    nt_buf_adds(out, "{\"since\":");
    if (r->since)
        json_time(out, r->since);
    else
        nt_buf_adds(out, "null");
    nt_buf_adds(out, ",\"until\":");
    json_time(out, r->until);
    nt_buf_adds(out, ",\"generated\":");
    json_time(out, r->generated);
    nt_buf_adds(out, ",\"campaign\":");
    json_str(out, r->campaign, &tmp);
    nt_buf_adds(out, ",\"total\":");
    json_figs(out, &r->total, 0, &tmp);
    nt_buf_adds(out, ",\"campaigns\":[");
    for (size_t i = 0; i < r->ncampaigns; i++) {
        const nt_report_campaign *cp = &r->campaigns[i];
        nt_buf_adds(out, i ? ",{\"name\":" : "{\"name\":");
        json_str(out, cp->name, &tmp);
        nt_buf_adds(out, ",\"figures\":");
        json_figs(out, &cp->f, 0, &tmp);
        nt_buf_adds(out, ",\"steps\":[");
        for (size_t k = 0; k < cp->nsteps; k++) {
            nt_buf_adds(out, k ? ",{\"id\":" : "{\"id\":");
            json_str(out, cp->steps[k].id, &tmp);
            if (cp->steps[k].position < 0)
                nt_buf_adds(out, ",\"position\":null");
            else
                nt_buf_addf(out, ",\"position\":%lld", (long long)cp->steps[k].position);
            nt_buf_adds(out, ",\"figures\":");
            json_figs(out, &cp->steps[k].f, 1, &tmp);
            nt_buf_addc(out, '}');
        }
        nt_buf_adds(out, "]}");
    }
    nt_buf_adds(out, "],\"senders\":[");
    for (size_t i = 0; i < r->nsenders; i++) {
        const nt_report_sender *s = &r->senders[i];
        nt_buf_adds(out, i ? ",{\"id\":" : "{\"id\":");
        json_str(out, s->id, &tmp);
        nt_buf_addf(out, ",\"configured\":%s,\"daily_cap\":", s->configured ? "true" : "false");
        if (s->configured)
            nt_buf_addf(out, "%lld", s->daily_cap);
        else
            nt_buf_adds(out, "null");
        nt_buf_addf(out, ",\"sent\":%lld,\"last_24h\":%lld}", (long long)s->sent,
                    (long long)s->last_24h);
    }
    nt_buf_adds(out, "],\"claims\":{\"claims\":");
    nt_buf_addf(out, "%lld,\"median_seconds\":", (long long)r->claims.claims);
    if (r->claims.median_seconds < 0)
        nt_buf_adds(out, "null");
    else
        nt_buf_addf(out, "%lld", (long long)r->claims.median_seconds);
    nt_buf_adds(out, ",\"by_rep\":[");
    for (size_t i = 0; i < r->nrep_claims; i++) {
        if (i)
            nt_buf_addc(out, ',');
        json_claims(out, &r->rep_claims[i], &tmp);
    }
    nt_buf_adds(out, "]}}\n");
    if (tmp.err && !out->err)
        out->err = tmp.err;
    nt_buf_release(&tmp);
    return out->err;
}

/* ---- CSV ---- */

/* One RFC 4180 field: quoted when it holds a comma, a quote or a line
 * break; a text that a spreadsheet would take for a formula is prefixed
 * with a quote mark. */
static void
csv_field(nt_buf *out, const char *s, nt_buf *tmp)
{
    const char *p;

    if (!s || !*s)
        return;
    nt_buf_reset(tmp);
    nt_utf8_add_valid(tmp, s, strlen(s));
    p = nt_buf_cstr(tmp);
    if (strchr("=+-@\t\r", *p) && !(*p == '-' && p[1] >= '0' && p[1] <= '9')) {
        nt_buf_adds(out, "\"'");
    } else if (strpbrk(p, ",\"\r\n")) {
        nt_buf_addc(out, '"');
    } else {
        nt_buf_adds(out, p);
        return;
    }
    for (; *p; p++) {
        if (*p == '"')
            nt_buf_addc(out, '"');
        nt_buf_addc(out, *p);
    }
    nt_buf_addc(out, '"');
}

static void
csv_line(nt_buf *out, const char *level, const char *campaign, const char *step, const char *figure,
         const char *key, const char *value, nt_buf *tmp)
{
    csv_field(out, level, tmp);
    nt_buf_addc(out, ',');
    csv_field(out, campaign, tmp);
    nt_buf_addc(out, ',');
    csv_field(out, step, tmp);
    nt_buf_addc(out, ',');
    csv_field(out, figure, tmp);
    nt_buf_addc(out, ',');
    csv_field(out, key, tmp);
    nt_buf_addc(out, ',');
    csv_field(out, value, tmp);
    nt_buf_adds(out, "\r\n");
}

static void
csv_figs(nt_buf *out, const char *level, const char *campaign, const char *step,
         const nt_report_figs *f, nt_buf *tmp)
{
    char v[32];
    double rate = nt_report_reply_rate(f, step != NULL);

    for (int i = 0; i < NT_RF_COUNT; i++) {
        if (step && i == NT_RF_ENROLLED)
            continue;
        snprintf(v, sizeof(v), "%lld", (long long)f->v[i]);
        csv_line(out, level, campaign, step, fig_info[i].name, NULL, v, tmp);
        if (i == NT_RF_REPLIED && rate >= 0) {
            snprintf(v, sizeof(v), "%.4f", rate);
            csv_line(out, level, campaign, step, "reply_rate", NULL, v, tmp);
        }
    }
    for (size_t i = 0; i < f->nrejects; i++) {
        snprintf(v, sizeof(v), "%lld", (long long)f->rejects[i].count);
        csv_line(out, level, campaign, step, "rejected", f->rejects[i].reason, v, tmp);
    }
}

static void
csv_claims(nt_buf *out, const nt_report_claims *c, int per_rep, nt_buf *tmp)
{
    const char *key = per_rep && !c->rep ? "(no rep)" : c->rep;
    char v[32];

    snprintf(v, sizeof(v), "%lld", (long long)c->claims);
    csv_line(out, "claims", NULL, NULL, "claims", key, v, tmp);
    if (c->median_seconds >= 0) {
        snprintf(v, sizeof(v), "%lld", (long long)c->median_seconds);
        csv_line(out, "claims", NULL, NULL, "median_seconds", key, v, tmp);
    }
}

nt_err
nt_report_csv(const nt_report *r, nt_buf *out)
{
    char v[32];
    nt_buf tmp;

    nt_buf_init(&tmp, 0);
    nt_buf_adds(out, "level,campaign,step,figure,key,value\r\n");
    if (r->since) {
        when(r->since, v);
        csv_line(out, "period", NULL, NULL, "since", NULL, v, &tmp);
    }
    when(r->until, v);
    csv_line(out, "period", NULL, NULL, "until", NULL, v, &tmp);
    csv_figs(out, "total", NULL, NULL, &r->total, &tmp);
    for (size_t i = 0; i < r->ncampaigns; i++) {
        const nt_report_campaign *cp = &r->campaigns[i];
        csv_figs(out, "campaign", cp->name, NULL, &cp->f, &tmp);
        for (size_t k = 0; k < cp->nsteps; k++)
            csv_figs(out, "step", cp->name, cp->steps[k].id, &cp->steps[k].f, &tmp);
    }
    for (size_t i = 0; i < r->nsenders; i++) {
        const nt_report_sender *s = &r->senders[i];
        snprintf(v, sizeof(v), "%lld", (long long)s->sent);
        csv_line(out, "sender", NULL, NULL, "sent", s->id, v, &tmp);
        snprintf(v, sizeof(v), "%lld", (long long)s->last_24h);
        csv_line(out, "sender", NULL, NULL, "last_24h", s->id, v, &tmp);
        if (s->configured) {
            snprintf(v, sizeof(v), "%lld", s->daily_cap);
            csv_line(out, "sender", NULL, NULL, "daily_cap", s->id, v, &tmp);
        }
    }
    csv_claims(out, &r->claims, 0, &tmp);
    for (size_t i = 0; i < r->nrep_claims; i++)
        csv_claims(out, &r->rep_claims[i], 1, &tmp);
    if (tmp.err && !out->err)
        out->err = tmp.err;
    nt_buf_release(&tmp);
    return out->err;
}

/* ---- HTML ---- */

static const char html_style[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "color:#1f2933;background:#fff;margin:0 auto;max-width:1200px;padding:24px}"
    "h1{font-size:26px;margin:0 0 4px}"
    "h2{font-size:19px;margin:32px 0 8px;padding-bottom:4px;border-bottom:1px solid #d9e2ec}"
    ".meta{color:#52606d;margin:0}"
    ".wrap{overflow-x:auto}"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:4px 0 8px}"
    "th,td{padding:4px 10px;border-bottom:1px solid #e4e7eb;text-align:right;white-space:nowrap}"
    "th:first-child,td:first-child{text-align:left}"
    "thead th{background:#f0f4f8;font-weight:600}"
    "td.k{cursor:help}"
    "tr.sub td:first-child{padding-left:28px;color:#52606d}"
    "tr.rate td{color:#1d4ed8;font-weight:600}"
    "td.agg,th.agg{background:#f7f9fb;font-weight:600}"
    ".meter{display:inline-block;width:120px;height:10px;background:#e4e7eb;border-radius:5px;"
    "overflow:hidden;vertical-align:middle;margin-right:8px}"
    ".meter span{display:block;height:100%;background:#2f9e44}"
    ".meter.hot span{background:#e03131}"
    "svg{max-width:100%;height:auto}"
    "svg text{font-family:inherit;font-size:13px;fill:#1f2933}"
    "svg text.n{font-weight:600}"
    "svg text.p{fill:#52606d}"
    ".empty{color:#52606d;font-style:italic}"
    "dl{margin:0}dt{font-weight:600;margin-top:8px}dd{margin:0 0 0 16px;color:#3e4c59}"
    "@media print{body{padding:0}h2{break-after:avoid}table,svg{break-inside:avoid}}";

/* s escaped for HTML (text or attribute), as valid UTF-8 without control
 * characters. */
static void
h(nt_buf *out, const char *s, nt_buf *tmp)
{
    clean(tmp, s);
    nt_buf_add_html(out, nt_buf_cstr(tmp), tmp->len);
}

/* The same, cut to at most max characters (with an ellipsis). */
static void
h_cut(nt_buf *out, const char *s, size_t max, nt_buf *tmp)
{
    size_t i = 0, chars = 0;

    clean(tmp, s);
    for (i = 0; i < tmp->len; i++)
        if (((unsigned char)tmp->data[i] & 0xC0) != 0x80 && chars++ == max)
            break;
    nt_buf_add_html(out, nt_buf_cstr(tmp), i);
    if (i < tmp->len)
        nt_buf_adds(out, "\xe2\x80\xa6");
}

static void
html_figs(nt_buf *out, const col *cols, size_t n, nt_buf *tmp)
{
    size_t nrows = 0;
    rowspec *rows = table_rows(cols, n, &nrows);
    char cell[64];

    if (!rows) {
        out->err = out->err ? out->err : NT_ENOMEM;
        return;
    }
    nt_buf_adds(out, "<div class=\"wrap\"><table>\n<thead><tr><th>figure</th>");
    for (size_t i = 0; i < n; i++) {
        nt_buf_adds(out, i == n - 1 ? "<th class=\"agg\">" : "<th>");
        h(out, cols[i].head, tmp);
        nt_buf_adds(out, "</th>");
    }
    nt_buf_adds(out, "</tr></thead>\n<tbody>\n");
    for (size_t r = 0; r < nrows; r++) {
        const rowspec *row = &rows[r];
        nt_buf_adds(out, row->kind == ROW_REASON ? "<tr class=\"sub\">"
                         : row->kind == ROW_RATE ? "<tr class=\"rate\">"
                                                 : "<tr>");
        if (row->kind == ROW_FIG) {
            nt_buf_adds(out, "<td class=\"k\" title=\"");
            h(out, fig_info[row->fig].help, tmp);
            nt_buf_adds(out, "\">");
        } else {
            nt_buf_adds(out, "<td>");
        }
        h(out, row_label(row), tmp);
        nt_buf_adds(out, "</td>");
        for (size_t i = 0; i < n; i++) {
            cell_text(&cols[i], row, cell, sizeof(cell));
            nt_buf_adds(out, i == n - 1 ? "<td class=\"agg\">" : "<td>");
            nt_buf_adds(out, cell);
            nt_buf_adds(out, "</td>");
        }
        nt_buf_adds(out, "</tr>\n");
    }
    nt_buf_adds(out, "</tbody></table></div>\n");
    free(rows);
}

/* The funnel over everything in the report: leads enrolled, sent to,
 * replied, handed off, accepted. */
static void
html_funnel(nt_buf *out, const nt_report *r)
{
    static const struct {
        nt_report_fig fig;
        const char *label;
        const char *color;
    } stages[] = {
        {NT_RF_ENROLLED, "enrolled", "#1c7ed6"}, {NT_RF_REACHED, "sent to", "#228be6"},
        {NT_RF_REPLIED, "replied", "#339af0"},   {NT_RF_HANDED_OFF, "handed off", "#4dabf7"},
        {NT_RF_ACCEPTED, "accepted", "#74c0fc"},
    };
    const size_t n = sizeof(stages) / sizeof(stages[0]);
    int64_t max = 0;

    for (size_t i = 0; i < n; i++)
        if (r->total.v[stages[i].fig] > max)
            max = r->total.v[stages[i].fig];
    nt_buf_addf(out,
                "<svg class=\"funnel\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 900 %d\" "
                "width=\"900\" height=\"%d\" role=\"img\" aria-label=\"Funnel",
                (int)(n * 46 + 8), (int)(n * 46 + 8));
    for (size_t i = 0; i < n; i++)
        nt_buf_addf(out, "%s %s %lld", i ? "," : ":", stages[i].label,
                    (long long)r->total.v[stages[i].fig]);
    nt_buf_adds(out, "\">\n");
    for (size_t i = 0; i < n; i++) {
        int64_t v = r->total.v[stages[i].fig];
        int y = 4 + (int)i * 46;
        int w = max > 0 ? (int)(480.0 * (double)v / (double)max + 0.5) : 0;
        if (v > 0 && w < 2)
            w = 2;
        nt_buf_addf(out, "<text x=\"0\" y=\"%d\">%s</text>\n", y + 23, stages[i].label);
        nt_buf_addf(out,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"36\" rx=\"4\" fill=\"%s\">"
                    "<title>%s: %lld</title></rect>\n",
                    130 + (480 - w) / 2, y, w, stages[i].color, stages[i].label, (long long)v);
        nt_buf_addf(out, "<text class=\"n\" x=\"626\" y=\"%d\">%lld</text>\n", y + 23,
                    (long long)v);
        if (i > 0 && r->total.v[stages[i - 1].fig] > 0)
            nt_buf_addf(out, "<text class=\"p\" x=\"690\" y=\"%d\">%.1f%% of %s</text>\n", y + 23,
                        100.0 * (double)v / (double)r->total.v[stages[i - 1].fig],
                        stages[i - 1].label);
    }
    nt_buf_adds(out, "</svg>\n");
}

/* Replies per step, as horizontal bars, every campaign's steps in order. */
static void
html_replies(nt_buf *out, const nt_report *r, nt_buf *tmp)
{
    size_t nsteps = 0, k = 0;
    int64_t max = 0;

    for (size_t i = 0; i < r->ncampaigns; i++)
        for (size_t j = 0; j < r->campaigns[i].nsteps; j++) {
            nsteps++;
            if (r->campaigns[i].steps[j].f.v[NT_RF_REPLIED] > max)
                max = r->campaigns[i].steps[j].f.v[NT_RF_REPLIED];
        }
    if (!nsteps) {
        nt_buf_adds(out, "<p class=\"empty\">No step sent email or got a reply in this "
                         "period.</p>\n");
        return;
    }
    nt_buf_addf(out,
                "<svg class=\"replies\" xmlns=\"http://www.w3.org/2000/svg\" "
                "viewBox=\"0 0 900 %d\" width=\"900\" height=\"%d\" role=\"img\" "
                "aria-label=\"Replies per step\">\n",
                (int)(nsteps * 30 + 6), (int)(nsteps * 30 + 6));
    for (size_t i = 0; i < r->ncampaigns; i++)
        for (size_t j = 0; j < r->campaigns[i].nsteps; j++, k++) {
            const nt_report_step *st = &r->campaigns[i].steps[j];
            int64_t v = st->f.v[NT_RF_REPLIED];
            double rate = nt_report_reply_rate(&st->f, 1);
            int y = 3 + (int)k * 30;
            int w = max > 0 ? (int)(300.0 * (double)v / (double)max + 0.5) : 0;
            if (v > 0 && w < 2)
                w = 2;
            nt_buf_addf(out, "<text x=\"0\" y=\"%d\">", y + 17);
            h_cut(out, r->campaigns[i].name, 20, tmp);
            nt_buf_adds(out, " \xc2\xb7 ");
            h_cut(out, st->id, 22, tmp);
            nt_buf_adds(out, "<title>");
            h(out, r->campaigns[i].name, tmp);
            nt_buf_adds(out, " / ");
            h(out, st->id, tmp);
            nt_buf_adds(out, "</title></text>\n");
            nt_buf_addf(out,
                        "<rect x=\"330\" y=\"%d\" width=\"%d\" height=\"22\" rx=\"3\" "
                        "fill=\"#339af0\"/>\n",
                        y, w);
            nt_buf_addf(out, "<text class=\"n\" x=\"%d\" y=\"%d\">%lld</text>", 338 + w, y + 16,
                        (long long)v);
            if (rate >= 0)
                nt_buf_addf(out, "<text class=\"p\" x=\"%d\" y=\"%d\">%.1f%% of %lld sent</text>",
                            372 + w, y + 16, rate * 100.0, (long long)st->f.v[NT_RF_SENT]);
            nt_buf_addc(out, '\n');
        }
    nt_buf_adds(out, "</svg>\n");
}

static void
html_senders(nt_buf *out, const nt_report *r, nt_buf *tmp)
{
    if (!r->nsenders) {
        nt_buf_adds(out, "<p class=\"empty\">No sender is configured or sent in this "
                         "period.</p>\n");
        return;
    }
    nt_buf_adds(out, "<div class=\"wrap\"><table>\n<thead><tr><th>sender</th><th>sent</th>"
                     "<th>last 24 h</th><th>daily cap</th><th>use of the cap</th></tr></thead>"
                     "\n<tbody>\n");
    for (size_t i = 0; i < r->nsenders; i++) {
        const nt_report_sender *s = &r->senders[i];
        nt_buf_adds(out, "<tr><td>");
        h(out, s->id, tmp);
        nt_buf_addf(out, "</td><td>%lld</td><td>%lld</td><td>", (long long)s->sent,
                    (long long)s->last_24h);
        if (!s->configured)
            nt_buf_adds(out, "not configured</td><td>-</td></tr>\n");
        else if (!s->daily_cap)
            nt_buf_adds(out, "none</td><td>-</td></tr>\n");
        else {
            double use = 100.0 * (double)s->last_24h / (double)s->daily_cap;
            nt_buf_addf(out,
                        "%lld</td><td><span class=\"meter%s\"><span style=\"width:%.0f%%\">"
                        "</span></span>%.0f%%</td></tr>\n",
                        s->daily_cap, use >= 90.0 ? " hot" : "", use > 100.0 ? 100.0 : use, use);
        }
    }
    nt_buf_adds(out, "</tbody></table></div>\n");
}

static void
html_claims(nt_buf *out, const nt_report *r, nt_buf *tmp)
{
    char d[32];

    nt_buf_adds(out, "<div class=\"wrap\"><table>\n<thead><tr><th>rep</th><th>claims</th>"
                     "<th>median wait</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < r->nrep_claims; i++) {
        const nt_report_claims *c = &r->rep_claims[i];
        nt_buf_adds(out, "<tr><td>");
        if (c->rep)
            h(out, c->rep, tmp);
        else
            nt_buf_adds(out, "(no rep)");
        span(c->median_seconds, d, sizeof(d));
        nt_buf_addf(out, "</td><td>%lld</td><td>%s</td></tr>\n", (long long)c->claims, d);
    }
    span(r->claims.median_seconds, d, sizeof(d));
    nt_buf_addf(out,
                "<tr><td class=\"agg\">everyone</td><td class=\"agg\">%lld</td>"
                "<td class=\"agg\">%s</td></tr>\n</tbody></table></div>\n",
                (long long)r->claims.claims, d);
}

nt_err
nt_report_html(const nt_report *r, nt_buf *out)
{
    char period[96], gen[32];
    nt_buf tmp;
    size_t n = 0;
    col *cols;

    nt_buf_init(&tmp, 0);
    period_text(r, period, sizeof(period));
    when(r->generated, gen);
    nt_buf_adds(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                     "'none'; style-src 'unsafe-inline'; img-src data:\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<link rel=\"icon\" href=\"data:,\">\n<title>nurture report: ");
    nt_buf_adds(out, period);
    nt_buf_adds(out, "</title>\n<style>");
    nt_buf_adds(out, html_style);
    nt_buf_adds(out, "</style>\n</head>\n<body>\n<header>\n<h1>Lead funnel report</h1>\n"
                     "<p class=\"meta\">");
    nt_buf_adds(out, period);
    nt_buf_adds(out, " (end exclusive) \xc2\xb7 ");
    if (r->campaign) {
        nt_buf_adds(out, "campaign <strong>");
        h(out, r->campaign, &tmp);
        nt_buf_adds(out, "</strong>");
    } else {
        nt_buf_adds(out, "all campaigns");
    }
    nt_buf_addf(out, " \xc2\xb7 generated %s</p>\n</header>\n", gen);

    nt_buf_adds(out, "<section>\n<h2>Funnel</h2>\n");
    html_funnel(out, r);
    nt_buf_adds(out, "</section>\n<section>\n<h2>Replies per step</h2>\n");
    html_replies(out, r, &tmp);
    nt_buf_adds(out, "</section>\n<section>\n<h2>Overview</h2>\n");
    if ((cols = overview_cols(r, &n)) != NULL)
        html_figs(out, cols, n, &tmp);
    else
        out->err = out->err ? out->err : NT_ENOMEM;
    free(cols);
    nt_buf_adds(out, "</section>\n");
    for (size_t i = 0; i < r->ncampaigns; i++) {
        nt_buf_adds(out, "<section>\n<h2>Campaign ");
        h(out, r->campaigns[i].name, &tmp);
        nt_buf_adds(out, ", by step</h2>\n");
        if ((cols = campaign_cols(&r->campaigns[i], &n)) != NULL)
            html_figs(out, cols, n, &tmp);
        else
            out->err = out->err ? out->err : NT_ENOMEM;
        free(cols);
        nt_buf_adds(out, "</section>\n");
    }
    nt_buf_adds(out, "<section>\n<h2>Senders</h2>\n<p class=\"meta\">All campaigns: emails sent "
                     "in the period, and in the 24 hours before its end against the daily "
                     "cap.</p>\n");
    html_senders(out, r, &tmp);
    nt_buf_adds(out, "</section>\n<section>\n<h2>Time from hand-off to claim</h2>\n"
                     "<p class=\"meta\">Median wait of the hand-offs claimed in the "
                     "period.</p>\n");
    html_claims(out, r, &tmp);
    nt_buf_adds(out, "</section>\n<section>\n<h2>What each figure means</h2>\n<dl>\n");
    for (int i = 0; i < NT_RF_COUNT; i++) {
        nt_buf_adds(out, "<dt>");
        h(out, fig_info[i].label, &tmp);
        nt_buf_adds(out, "</dt><dd>");
        h(out, fig_info[i].help, &tmp);
        nt_buf_adds(out, "</dd>\n");
    }
    nt_buf_adds(out, "<dt>reply rate</dt><dd>Replied divided by sent at a step; above a step, "
                     "leads who replied divided by leads sent to. Both in the same period, so "
                     "a short period can count a reply to an email sent before it.</dd>\n"
                     "</dl>\n</section>\n</body>\n</html>\n");
    if (tmp.err && !out->err)
        out->err = tmp.err;
    nt_buf_release(&tmp);
    return out->err;
}
