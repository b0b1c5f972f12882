/*
 * The run (see run.h): claim, send, record, in batches, so that every
 * message is accounted for whatever happens between the steps.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nurture/buf.h"
#include "nurture/compose.h"
#include "nurture/plan.h"
#include "nurture/run.h"
#include "nurture/schedule.h"
#include "nurture/smtp.h"

#include "banned.h"

/* ---- the work of one run ---- */

typedef struct job {
    const nt_campaign *c;
    int step;        /* index of the step to send */
    nt_enrollment e; /* owned copy; for new sends */
    nt_send retry;   /* owned copy; for retries (retry.id != 0) */
    /* filled while sending */
    nt_lead lead;
    nt_send send; /* the claimed row (strings borrowed) */
    int claimed;
    int capped; /* over a sender's cap: left due for a later run */
    char msgid[NT_TOKEN_ADDR_MAX];
    char verp[NT_TOKEN_ADDR_MAX];
    char mailto[NT_TOKEN_ADDR_MAX];
    char url[1200];
    nt_buf data;
    nt_outmsg out;
    int composed;
    char why[600]; /* why it failed before any SMTP */
} job;

typedef struct jobs {
    job *v;
    size_t n, cap;
} jobs;

typedef struct sender_count {
    const char *sender;
    int64_t day, minute; /* counted before the run */
    int64_t run;         /* claimed by this run */
    int64_t paused;      /* held back until then (a policy block), or 0 */
} sender_count;

typedef struct runner {
    nt_store *st;
    const nt_config *cfg;
    const nt_campaign_set *cs;
    const nt_token_key *key;
    const nt_run_opts *o;
    nt_run_stats *stats;
    nt_diag *d;
    nt_tzcache *zones;
    jobs work;
    /* status changes found in the due set, applied after it is read */
    nt_enrollment *moves;
    size_t nmoves, capmoves;
    sender_count *counts;
    size_t ncounts;
    nt_smtp **smtp;
    size_t nsmtp;
    int64_t claimed_total;
    nt_err err;
} runner;

static job *
push_job(runner *r)
{
    if (r->work.n == r->work.cap) {
        size_t ncap = r->work.cap ? r->work.cap * 2 : 64;
        job *nv = realloc(r->work.v, ncap * sizeof(*nv));
        if (!nv)
            return NULL;
        r->work.v = nv;
        r->work.cap = ncap;
    }
    job *j = &r->work.v[r->work.n++];
    memset(j, 0, sizeof(*j));
    nt_buf_init(&j->data, 1 << 20);
    return j;
}

static void
release_job(job *j)
{
    nt_enrollment_release(&j->e);
    nt_send_release(&j->retry);
    nt_lead_release(&j->lead);
    nt_buf_release(&j->data);
}

static int
add_move(runner *r, const nt_enrollment *e, nt_enroll_state state, int64_t next_at,
         const char *reason)
{
    nt_enrollment *m;

    if (r->nmoves == r->capmoves) {
        size_t ncap = r->capmoves ? r->capmoves * 2 : 64;
        nt_enrollment *nv = realloc(r->moves, ncap * sizeof(*nv));
        if (!nv)
            return 0;
        r->moves = nv;
        r->capmoves = ncap;
    }
    m = &r->moves[r->nmoves];
    if (nt_enrollment_copy(m, e) != NT_OK)
        return 0;
    m->state = state;
    m->next_at = next_at;
    free(m->exit_reason);
    m->exit_reason = reason ? strdup(reason) : NULL;
    r->nmoves++;
    return 1;
}

/* ---- reading the due set ---- */

static int
take_due(void *ctx, const nt_plan_item *it)
{
    runner *r = ctx;
    job *j;
    int ok = 1;

    if (it->projected)
        return 0;
    switch (it->status) {
    case NT_PLAN_SEND:
        r->stats->due++;
        if (!(j = push_job(r)) || nt_enrollment_copy(&j->e, it->enrollment) != NT_OK) {
            r->err = NT_ENOMEM;
            return 1;
        }
        j->c = it->campaign;
        j->step = it->step;
        return 0;
    case NT_PLAN_WINDOW:
    case NT_PLAN_STALE:
        /* Remember the move, so that a stale step is judged once. */
        ok = add_move(r, it->enrollment, NT_ENROLL_ACTIVE, it->when, NULL);
        break;
    case NT_PLAN_EXIT:
    case NT_PLAN_SUPPRESSED:
        r->stats->skipped++;
        ok = add_move(r, it->enrollment, NT_ENROLL_EXITED, NT_NEVER, it->reason);
        break;
    case NT_PLAN_COMPLETE:
        ok = add_move(r, it->enrollment, NT_ENROLL_COMPLETED, NT_NEVER, NULL);
        break;
    default:
        break;
    }
    if (!ok)
        r->err = NT_ENOMEM;
    return !ok;
}

static int
take_retry(void *ctx, const nt_send *s)
{
    runner *r = ctx;
    job *j;

    if (!(j = push_job(r))) {
        r->err = NT_ENOMEM;
        return 1;
    }
    j->retry = *s;
    j->retry.campaign = strdup(s->campaign);
    j->retry.version = strdup(s->version);
    j->retry.step_id = strdup(s->step_id);
    j->retry.sender = s->sender ? strdup(s->sender) : NULL;
    j->retry.email = s->email ? strdup(s->email) : NULL;
    j->retry.smtp_text = s->smtp_text ? strdup(s->smtp_text) : NULL;
    j->retry.message_id = s->message_id ? strdup(s->message_id) : NULL;
    /* The step by its id: the campaign may have been edited since the
     * first attempt, and an index would then name another email. */
    j->c = nt_campaign_set_find(r->cs, s->campaign);
    j->step = j->c ? nt_campaign_step_index(j->c, s->step_id) : -1;
    if (!j->retry.campaign || !j->retry.version || !j->retry.step_id) {
        r->err = NT_ENOMEM;
        return 1;
    }
    r->stats->retries++;
    return 0;
}

static nt_err
apply_moves(runner *r)
{
    nt_err err = nt_store_begin(r->st, r->d);

    for (size_t i = 0; i < r->nmoves && err == NT_OK; i++)
        err = nt_store_enrollment_update(r->st, &r->moves[i], r->d);
    if (err == NT_OK)
        return nt_store_commit(r->st, r->d);
    nt_store_rollback(r->st);
    return err;
}

/* ---- the governor ---- */

static sender_count *
count_for(runner *r, const char *sender)
{
    sender_count *sc;

    for (size_t i = 0; i < r->ncounts; i++)
        if (!strcmp(r->counts[i].sender, sender))
            return &r->counts[i];
    sc = realloc(r->counts, (r->ncounts + 1) * sizeof(*sc));
    if (!sc)
        return NULL;
    r->counts = sc;
    sc = &r->counts[r->ncounts];
    memset(sc, 0, sizeof(*sc));
    sc->sender = sender;
    if (nt_store_send_count_since(r->st, sender, r->o->now - 86400 + 1, &sc->day, r->d) != NT_OK ||
        nt_store_send_count_since(r->st, sender, r->o->now - 60 + 1, &sc->minute, r->d) != NT_OK ||
        nt_store_sender_paused(r->st, sender, r->o->now, &sc->paused, NULL, 0, r->d) != NT_OK)
        return NULL;
    r->ncounts++;
    return sc;
}

/* 1 when one more message from this sender fits its caps. */
static int
under_caps(const nt_sender *s, const sender_count *sc)
{
    if (s->daily_cap && sc->day + sc->run >= s->daily_cap)
        return 0;
    if (s->per_minute_cap && sc->minute + sc->run >= s->per_minute_cap)
        return 0;
    return 1;
}

/* ---- claiming ---- */

static const nt_sender *
sender_of(runner *r, const job *j)
{
    return j->c && j->c->sender ? nt_config_sender(r->cfg, j->c->sender) : NULL;
}

/* Claim jobs[from..to) in one transaction; returns how many were claimed. */
static nt_err
claim(runner *r, size_t from, size_t to)
{
    nt_err err = nt_store_begin(r->st, r->d);

    for (size_t i = from; i < to && err == NT_OK; i++) {
        job *j = &r->work.v[i];
        int64_t lead_id = j->retry.id ? j->retry.lead_id : j->e.lead_id;

        if (j->capped)
            continue;
        if ((err = nt_store_lead_get(r->st, lead_id, NULL, &j->lead, r->d)) != NT_OK)
            break;
        if (j->retry.id) {
            err = nt_store_send_reclaim(r->st, j->retry.id, r->o->now, &j->claimed, r->d);
            j->send = j->retry;
            j->send.attempts++;
            continue;
        }
        j->send.lead_id = lead_id;
        j->send.campaign = j->c->name;
        j->send.version = (char *)j->c->version;
        j->send.step_id = j->c->steps[j->step].id;
        j->send.step = j->step;
        j->send.sender = j->c->sender;
        j->send.email = j->lead.email;
        j->send.created_at = r->o->now;
        if ((err = nt_store_send_claim(r->st, &j->send, &j->claimed, r->d)) != NT_OK || !j->claimed)
            continue;
        /* Park the enrollment until the server has answered. */
        free(j->e.version);
        free(j->e.last_step_id);
        j->e.version = strdup(j->c->version);
        j->e.last_step_id = strdup(j->c->steps[j->step].id);
        if (!j->e.version || !j->e.last_step_id) {
            err = NT_ENOMEM;
            break;
        }
        j->e.step = j->step + 1;
        j->e.next_at = NT_NEVER;
        err = nt_store_enrollment_update(r->st, &j->e, r->d);
    }
    if (err == NT_OK)
        return nt_store_commit(r->st, r->d);
    nt_store_rollback(r->st);
    return err;
}

/* ---- composing ---- */

static void
compose(runner *r, job *j)
{
    const nt_sender *s = sender_of(r, j);
    const char *domain;
    nt_send_ids ids;
    nt_diag d;

    if (!j->c || !s || j->step < 0 || (size_t)j->step >= j->c->nsteps) {
        snprintf(j->why, sizeof(j->why), "campaign '%s' or its step is gone", j->send.campaign);
        return;
    }
    domain = nt_email_domain(s->address);
    memset(&ids, 0, sizeof(ids));
    if (nt_token_message_id(r->key, j->send.id, domain, j->msgid, sizeof(j->msgid)) ||
        nt_token_verp(r->key, j->send.id, r->cfg->bounce_local,
                      r->cfg->bounce_domain ? r->cfg->bounce_domain : domain, j->verp,
                      sizeof(j->verp)) ||
        nt_token_unsub_mailto(r->key, j->send.id,
                              r->cfg->bounce_domain ? r->cfg->bounce_domain : domain, j->mailto,
                              sizeof(j->mailto))) {
        snprintf(j->why, sizeof(j->why), "could not make the send's tokens");
        return;
    }
    ids.message_id = j->msgid;
    ids.list_unsubscribe_mailto = j->mailto;
    if (r->cfg->unsubscribe_url && nt_token_unsub_url(r->key, j->send.id, r->cfg->unsubscribe_url,
                                                      j->url, sizeof(j->url)) == NT_OK) {
        ids.unsubscribe_url = j->url;
        ids.list_unsubscribe_url = j->url;
    } else {
        snprintf(j->url, sizeof(j->url), "mailto:%s?subject=unsubscribe", j->mailto);
        ids.unsubscribe_url = j->url;
    }
    nt_diag_clear(&d);
    if (nt_compose_message(r->cfg, j->c, (size_t)j->step, &j->lead, r->o->now, &ids, &j->data,
                           &d) != NT_OK) {
        snprintf(j->why, sizeof(j->why), "could not compose the message: %s", d.msg);
        return;
    }
    j->out.envelope_from = j->verp;
    j->out.rcpt = j->lead.email;
    j->out.data = j->data.data;
    j->out.len = j->data.len;
    j->composed = 1;
}

/* ---- sending: one thread per SMTP session ---- */

typedef struct session_work {
    nt_smtp *smtp;
    nt_outmsg *msgs;
    size_t n;
    nt_err err;
    nt_diag d;
} session_work;

static void *
session_main(void *arg)
{
    session_work *w = arg;

    nt_diag_clear(&w->d);
    w->err = nt_smtp_send(w->smtp, w->msgs, w->n, &w->d);
    return NULL;
}

static void
deliver(runner *r, size_t from, size_t to)
{
    size_t n = 0, per, k = 0;
    nt_outmsg *msgs;
    session_work w[64];
    pthread_t th[64];
    int started[64] = {0};

    for (size_t i = from; i < to; i++)
        n += r->work.v[i].claimed && r->work.v[i].composed;
    if (!n)
        return;
    msgs = calloc(n, sizeof(*msgs));
    if (!msgs) {
        r->err = NT_ENOMEM;
        return;
    }
    for (size_t i = from; i < to; i++)
        if (r->work.v[i].claimed && r->work.v[i].composed)
            msgs[k++] = r->work.v[i].out;
    per = (n + r->nsmtp - 1) / r->nsmtp;
    for (size_t s = 0; s < r->nsmtp && s * per < n; s++) {
        w[s].smtp = r->smtp[s];
        w[s].msgs = msgs + s * per;
        w[s].n = (s + 1) * per <= n ? per : n - s * per;
        if (r->nsmtp == 1)
            session_main(&w[s]);
        else
            started[s] = pthread_create(&th[s], NULL, session_main, &w[s]) == 0;
        if (r->nsmtp > 1 && !started[s])
            session_main(&w[s]);
    }
    for (size_t s = 0; s < r->nsmtp && s * per < n; s++) {
        if (started[s])
            pthread_join(th[s], NULL);
        if (w[s].err != NT_OK) {
            r->stats->conn_errors++;
            if (r->d && !r->d->msg[0])
                *r->d = w[s].d;
        }
    }
    k = 0;
    for (size_t i = from; i < to; i++)
        if (r->work.v[i].claimed && r->work.v[i].composed)
            r->work.v[i].out = msgs[k++];
    free(msgs);
}

/* ---- recording ---- */

static int64_t
backoff(const runner *r, int attempts)
{
    int64_t t = r->cfg->smtp.retry_after;

    for (int i = 1; i < attempts && t < r->cfg->smtp.retry_for; i++)
        t *= 2;
    return t;
}

static nt_err
event(runner *r, const job *j, const char *kind, const char *extra)
{
    nt_buf b;
    nt_err err;

    nt_buf_init(&b, 4096);
    nt_buf_adds(&b, "{\"campaign\":");
    nt_buf_add_json(&b, j->send.campaign, strlen(j->send.campaign));
    nt_buf_adds(&b, ",\"step\":");
    nt_buf_add_json(&b, j->send.step_id, strlen(j->send.step_id));
    nt_buf_addf(&b, ",\"send_id\":%lld", (long long)j->send.id);
    if (j->out.code)
        nt_buf_addf(&b, ",\"smtp_code\":%d", j->out.code);
    if (extra) {
        nt_buf_adds(&b, ",\"detail\":");
        nt_buf_add_json(&b, extra, strlen(extra));
    }
    nt_buf_addc(&b, '}');
    err = b.err ? b.err : nt_store_event_add(r->st, j->send.lead_id, r->o->now, kind, b.data, r->d);
    nt_buf_release(&b);
    return err;
}

/* The enrollment after its step went out: the next step's time, or done. */
static nt_err
advance(runner *r, const job *j)
{
    nt_enrollment e;
    const nt_tz *tz;
    nt_err err = nt_store_enrollment_get(r->st, j->send.lead_id, j->send.campaign, &e, r->d);

    if (err == NT_ENOTFOUND)
        return NT_OK;
    if (err != NT_OK)
        return err;
    e.last_sent_at = r->o->now;
    if (e.state != NT_ENROLL_ACTIVE || !j->c) {
        /* left while the message was in flight: nothing to schedule */
    } else if (e.step >= (int)j->c->nsteps) {
        e.state = NT_ENROLL_COMPLETED;
        e.next_at = NT_NEVER;
    } else if ((err = nt_plan_zone(r->cfg, j->c, &j->lead, r->zones, &tz, r->d)) == NT_OK) {
        e.due_at = r->o->now + j->c->steps[e.step].after;
        e.next_at = nt_window_next(&j->c->window, tz, e.due_at);
        if (e.next_at < 0)
            e.next_at = NT_NEVER;
    }
    if (err == NT_OK)
        err = nt_store_enrollment_update(r->st, &e, r->d);
    nt_enrollment_release(&e);
    return err;
}

static int
bad_address(const nt_outmsg *m)
{
    return m->code >= 500 && m->code < 600 && !strncmp(m->enhanced, "5.1.", 4);
}

static nt_err
record_one(runner *r, job *j)
{
    nt_send *s = &j->send;
    char text[400];
    nt_err err;

    s->updated_at = r->o->now;
    s->message_id = j->composed ? j->msgid : NULL;
    if (!j->composed) {
        s->state = NT_SEND_FAILED;
        s->smtp_text = j->why;
        r->stats->failed++;
        if ((err = nt_store_send_mark(r->st, s, r->d)) == NT_OK)
            err = event(r, j, "send_failed", j->why);
        return err;
    }
    snprintf(text, sizeof(text), "%s%s%s", j->out.enhanced, j->out.enhanced[0] ? " " : "",
             j->out.text);
    s->smtp_code = j->out.code;
    s->smtp_text = text;
    if (j->out.code >= 200 && j->out.code < 300) {
        s->state = NT_SEND_SENT;
        s->sent_at = r->o->now;
        r->stats->sent++;
        if ((err = nt_store_send_mark(r->st, s, r->d)) == NT_OK &&
            (err = event(r, j, "sent", j->msgid)) == NT_OK)
            err = advance(r, j);
        return err;
    }
    if (j->out.code >= 500 && j->out.stage == NT_SMTP_STAGE_MAIL) {
        /* The relay refused our sender, not the lead: a configuration
         * problem to fix, so the send waits for it like a 4xx. */
        r->stats->conn_errors++;
    } else if (j->out.code >= 500) {
        s->state = NT_SEND_FAILED;
        r->stats->failed++;
        if ((err = nt_store_send_mark(r->st, s, r->d)) != NT_OK ||
            (err = event(r, j, "send_failed", text)) != NT_OK)
            return err;
        if (bad_address(&j->out)) {
            char reason[450];
            snprintf(reason, sizeof(reason), "hard bounce at send: %d %s", j->out.code, text);
            r->stats->suppressed++;
            if ((err = nt_store_suppress(r->st, s->email, reason, r->o->now, r->d)) != NT_OK)
                return err;
            return nt_store_enrollment_exit_all(r->st, s->lead_id, reason, r->o->now, r->d);
        }
        nt_enrollment e;
        if (nt_store_enrollment_get(r->st, s->lead_id, s->campaign, &e, NULL) == NT_OK) {
            char reason[450];
            snprintf(reason, sizeof(reason), "send failed: %d %s", j->out.code, text);
            e.state = NT_ENROLL_EXITED;
            e.next_at = NT_NEVER;
            free(e.exit_reason);
            e.exit_reason = strdup(reason);
            err = nt_store_enrollment_update(r->st, &e, r->d);
            nt_enrollment_release(&e);
        }
        return err;
    }
    /* 4xx, or no answer: try again later, up to retry_for after the first try */
    if (r->o->now + backoff(r, s->attempts) - s->created_at > r->cfg->smtp.retry_for) {
        s->state = NT_SEND_FAILED;
        r->stats->failed++;
        snprintf(text + strlen(text), sizeof(text) - strlen(text), " (gave up after %d attempts)",
                 s->attempts);
        if ((err = nt_store_send_mark(r->st, s, r->d)) == NT_OK)
            err = event(r, j, "send_failed", text);
        return err;
    }
    s->state = NT_SEND_DEFERRED;
    s->next_attempt_at = r->o->now + backoff(r, s->attempts);
    if (!j->out.code)
        snprintf(text, sizeof(text), "no answer from the server");
    r->stats->deferred++;
    if ((err = nt_store_send_mark(r->st, s, r->d)) == NT_OK)
        err = event(r, j, "deferred", text);
    return err;
}

static nt_err
record(runner *r, size_t from, size_t to)
{
    nt_err err = nt_store_begin(r->st, r->d);

    for (size_t i = from; i < to && err == NT_OK; i++)
        if (r->work.v[i].claimed)
            err = record_one(r, &r->work.v[i]);
    if (err == NT_OK)
        return nt_store_commit(r->st, r->d);
    nt_store_rollback(r->st);
    return err;
}

/* ---- pacing for the global rate limit ---- */

static double
mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
pace(runner *r, double started, int64_t done)
{
    double want, now;

    if (!r->cfg->smtp.rate_limit)
        return;
    want = started + (double)done / (double)r->cfg->smtp.rate_limit;
    now = mono();
    if (want > now) {
        struct timespec ts;
        ts.tv_sec = (time_t)(want - now);
        ts.tv_nsec = (long)((want - now - (double)ts.tv_sec) * 1e9);
        nanosleep(&ts, NULL);
    }
}

/* ---- the run ---- */

/* Select the jobs of the next round into [from, *to): claimable ones under
 * the caps; the rest stay due for a later run. */
static size_t
select_round(runner *r, size_t from, size_t max)
{
    size_t to = from, taken = 0;

    while (to < r->work.n && taken < max) {
        job *j = &r->work.v[to];
        const nt_sender *s = sender_of(r, j);
        sender_count *sc = s ? count_for(r, s->id) : NULL;

        if (r->o->limit && r->claimed_total >= r->o->limit)
            break;
        if (!j->retry.id && sc && sc->paused) {
            j->capped = 1;
            r->stats->paused++;
        } else if (!j->retry.id && s && sc && !under_caps(s, sc)) {
            j->capped = 1;
            r->stats->capped++;
        } else {
            if (sc)
                sc->run++;
            r->claimed_total++;
            taken++;
        }
        to++;
    }
    return to;
}

static nt_err
open_sessions(runner *r)
{
    size_t n = (size_t)r->cfg->smtp.sessions;

    if (n < 1)
        n = 1;
    if (n > 64)
        n = 64;
    r->smtp = calloc(n, sizeof(*r->smtp));
    if (!r->smtp)
        return NT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        nt_err err = nt_smtp_new(&r->cfg->smtp, r->o->password, &r->smtp[i], r->d);
        if (err != NT_OK)
            return err;
        r->nsmtp++;
    }
    return NT_OK;
}

static nt_err
run_rounds(runner *r, nt_run_progress_fn progress, void *pctx)
{
    size_t round = (size_t)(r->cfg->smtp.batch * (r->nsmtp ? (long long)r->nsmtp : 1));
    double started = mono();
    int64_t done = 0;
    nt_err err = NT_OK;

    for (size_t from = 0; from < r->work.n && err == NT_OK;) {
        size_t to = select_round(r, from, round);
        if (to == from)
            break;
        if ((err = claim(r, from, to)) != NT_OK)
            break;
        for (size_t i = from; i < to; i++)
            if (r->work.v[i].claimed == 1)
                compose(r, &r->work.v[i]);
        deliver(r, from, to);
        if (r->err) {
            err = r->err;
            break;
        }
        err = record(r, from, to);
        for (size_t i = from; i < to; i++) {
            done += r->work.v[i].claimed == 1;
            nt_buf_release(&r->work.v[i].data);
        }
        if (progress)
            progress(pctx, r->stats, (int64_t)r->work.n);
        pace(r, started, done);
        from = to;
    }
    return err;
}

/*
 * Steps held back by a cap were due and ready: they are not late because of
 * cron, so their lateness counts from this run, and they are not judged
 * stale while the governor holds them.
 */
static nt_err
touch_capped(runner *r)
{
    for (size_t i = 0; i < r->nmoves; i++)
        nt_enrollment_release(&r->moves[i]);
    r->nmoves = 0;
    for (size_t i = 0; i < r->work.n; i++) {
        job *j = &r->work.v[i];
        if (j->capped && !j->retry.id && !add_move(r, &j->e, NT_ENROLL_ACTIVE, r->o->now, NULL))
            return NT_ENOMEM;
    }
    return r->nmoves ? apply_moves(r) : NT_OK;
}

static nt_err
collect(runner *r)
{
    nt_plan_opts po = {r->o->now, r->o->now, r->o->campaign, 0};
    nt_plan_stats ps;
    nt_err err;

    err = nt_store_send_retry_due(r->st, r->o->now, 0, take_retry, r, r->d);
    if (err == NT_OK)
        err = r->err;
    if (err == NT_OK)
        err = nt_plan_due(r->st, r->cfg, r->cs, &po, r->zones, take_due, r, &ps, r->d);
    if (err == NT_OK)
        err = r->err;
    if (err == NT_OK)
        err = apply_moves(r);
    return err;
}

nt_err
nt_run(nt_store *st, const nt_config *cfg, const nt_campaign_set *cs, const nt_token_key *key,
       const nt_run_opts *o, nt_run_progress_fn progress, void *progress_ctx, nt_run_stats *stats,
       nt_diag *d)
{
    runner r;
    nt_enroll_stats es = {0};
    nt_err err;

    memset(stats, 0, sizeof(*stats));
    memset(&r, 0, sizeof(r));
    r.st = st;
    r.cfg = cfg;
    r.cs = cs;
    r.key = key;
    r.o = o;
    r.stats = stats;
    r.d = d;
    if (!(r.zones = nt_tzcache_new()))
        return NT_ENOMEM;
    if (!o->dry_run)
        err = nt_store_send_orphans_to_unknown(st, o->now, &stats->orphans, d);
    else
        err = NT_OK;
    if (err == NT_OK)
        err = nt_store_begin(st, d);
    if (err == NT_OK)
        err = nt_enroll(st, cfg, cs, o->campaign, o->now, r.zones, &es, d);
    stats->enrolled = es.enrolled;
    if (err == NT_OK && o->dry_run) {
        nt_plan_opts po = {o->now, o->now, o->campaign, 0};
        nt_plan_stats ps;
        err = nt_plan_due(st, cfg, cs, &po, r.zones, take_due, &r, &ps, d);
        nt_store_rollback(st);
        goto out;
    }
    if (err == NT_OK)
        err = nt_store_commit(st, d);
    else
        nt_store_rollback(st);
    if (err == NT_OK)
        err = collect(&r);
    if (err == NT_OK && r.work.n)
        err = open_sessions(&r);
    if (err == NT_OK)
        err = run_rounds(&r, progress, progress_ctx);
    if (err == NT_OK)
        err = touch_capped(&r);
out:
    for (size_t i = 0; i < r.work.n; i++)
        release_job(&r.work.v[i]);
    free(r.work.v);
    for (size_t i = 0; i < r.nmoves; i++)
        nt_enrollment_release(&r.moves[i]);
    free(r.moves);
    free(r.counts);
    for (size_t i = 0; i < r.nsmtp; i++)
        nt_smtp_free(r.smtp[i]);
    free(r.smtp);
    nt_tzcache_free(r.zones);
    return err;
}
