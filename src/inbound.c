/*
 * Processing one inbound message: dedupe, classify, attribute, act, store
 * (inbound.h).  Every change for one message is one transaction.
 */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/attribute.h"
#include "nurture/buf.h"
#include "nurture/engage.h"
#include "nurture/inbound.h"
#include "nurture/mime.h"
#include "nurture/tz.h"

#include "banned.h"

/* Longest visible reply text kept in the engagement event. */
#define EXCERPT_MAX 2000

void
nt_inbound_body_hash(const char *raw, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t start = 0, i, run;

    for (i = 0; i + 1 < len; i++) {
        if (raw[i] == '\n' && raw[i + 1] == '\n') {
            start = i + 2;
            break;
        }
        if (raw[i] == '\n' && raw[i + 1] == '\r' && i + 2 < len && raw[i + 2] == '\n') {
            start = i + 3;
            break;
        }
    }
    if (i + 1 >= len)
        start = len;
    out[0] = '\0';
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return;
    }
    /* Hash runs of bytes between the CRs that precede LFs. */
    for (i = run = start; i < len; i++) {
        if (raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n') {
            EVP_DigestUpdate(ctx, raw + run, i - run);
            run = i + 1;
        }
    }
    EVP_DigestUpdate(ctx, raw + run, len - run);
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (unsigned int k = 0; k < mdlen && k < 32; k++) {
        out[2 * k] = hex[md[k] >> 4];
        out[2 * k + 1] = hex[md[k] & 15];
    }
    out[64] = '\0';
}

/* ---- one message's work ---- */

typedef struct job {
    const nt_inbound_env *env;
    const nt_inbound_src *src;
    nt_diag *d;
    nt_inmsg m;
    int parsed;
    nt_classification cl;
    int classified;
    nt_attribution at;
    nt_send send; /* the attributed send, when send.id */
    nt_lead lead; /* the attributed lead, when lead.id */
    nt_inbound row;
    nt_buf action; /* what was done, for people */
    nt_buf detail; /* JSON for the row */
} job;

static void
job_release(job *j)
{
    if (j->parsed)
        nt_inmsg_release(&j->m);
    if (j->classified)
        nt_classification_release(&j->cl);
    nt_send_release(&j->send);
    nt_lead_release(&j->lead);
    nt_buf_release(&j->action);
    nt_buf_release(&j->detail);
}

static void say(job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append one clause to what was done. */
static void
say(job *j, const char *fmt, ...)
{
    va_list ap;

    if (j->action.len)
        nt_buf_adds(&j->action, "; ");
    va_start(ap, fmt);
    nt_buf_vaddf(&j->action, fmt, ap);
    va_end(ap);
}

/* The lead and send a verified token names, or the lead whose address sent
 * a reply, an auto-reply or an unsubscribe request. */
static nt_err
find_lead(job *j)
{
    nt_store *st = j->env->st;
    nt_err err;

    if (j->at.send_id) {
        err = nt_store_send_get(st, j->at.send_id, &j->send, j->d);
        if (err == NT_ENOTFOUND) {
            j->at.by = NT_ATTR_NONE;
            j->at.send_id = 0;
            return NT_OK;
        }
        if (err != NT_OK)
            return err;
        err = nt_store_lead_get(st, j->send.lead_id, NULL, &j->lead, j->d);
        return err == NT_ENOTFOUND ? NT_OK : err;
    }
    if (!j->classified || !j->m.from_addr || !*j->m.from_addr)
        return NT_OK;
    if (j->cl.kind != NT_IN_REPLY && j->cl.kind != NT_IN_AUTOREPLY &&
        j->cl.kind != NT_IN_UNSUBSCRIBE)
        return NT_OK;
    err = nt_store_lead_get(st, 0, j->m.from_addr, &j->lead, j->d);
    if (err == NT_OK)
        j->at.by = NT_ATTR_SENDER;
    return err == NT_ENOTFOUND ? NT_OK : err;
}

/* The address the lead is reached at: where the send went, else the
 * lead's. */
static const char *
lead_address(const job *j)
{
    return j->send.id && j->send.email ? j->send.email : j->lead.email;
}

/* An event on the lead's timeline, with the message and send named. */
static nt_err
lead_event(job *j, const char *kind, const char *extra)
{
    nt_buf b;
    nt_err err;

    nt_buf_init(&b, 0);
    nt_buf_addf(&b, "{\"inbound\":%lld", (long long)j->row.id);
    if (j->send.id) {
        nt_buf_addf(&b, ",\"send\":%lld,\"campaign\":", (long long)j->send.id);
        nt_buf_add_json(&b, j->send.campaign, strlen(j->send.campaign));
        nt_buf_adds(&b, ",\"step\":");
        nt_buf_add_json(&b, j->send.step_id, strlen(j->send.step_id));
    }
    if (extra)
        nt_buf_adds(&b, extra);
    nt_buf_addc(&b, '}');
    if (b.err)
        err = NT_ENOMEM;
    else
        err = nt_store_event_add(j->env->st, j->lead.id, j->env->now, kind, nt_buf_cstr(&b), j->d);
    nt_buf_release(&b);
    return err;
}

static nt_err
end_sequences(job *j, const char *why)
{
    char reason[160];

    snprintf(reason, sizeof(reason), "inbound #%lld: %s", (long long)j->row.id, why);
    return nt_store_enrollment_exit_all(j->env->st, j->lead.id, reason, j->env->now, j->d);
}

static nt_err
suppress(job *j, const char *why)
{
    char reason[200];
    nt_err err;

    snprintf(reason, sizeof(reason), "%s (inbound #%lld)", why, (long long)j->row.id);
    if ((err = nt_store_suppress(j->env->st, lead_address(j), reason, j->env->now, j->d)) != NT_OK)
        return err;
    say(j, "suppressed %s", lead_address(j));
    if ((err = end_sequences(j, why)) == NT_OK)
        say(j, "ended its campaigns");
    return err;
}

/* The bounced item about our recipient, else the first. */
static const nt_bounced *
our_item(const job *j)
{
    const char *addr = lead_address(j);

    for (size_t i = 0; addr && i < j->cl.bounce.n; i++)
        if (j->cl.bounce.items[i].recipient && !strcmp(j->cl.bounce.items[i].recipient, addr))
            return &j->cl.bounce.items[i];
    return j->cl.bounce.n ? &j->cl.bounce.items[0] : NULL;
}

static nt_err
act_policy(job *j, const nt_bounced *b)
{
    char why[200];
    nt_err err;

    snprintf(why, sizeof(why), "%s %s by the receiving server", b->status[0] ? b->status : "",
             nt_bounce_reason_name(b->reason));
    if (j->send.sender) {
        err = nt_store_sender_pause(j->env->st, j->send.sender, j->env->now + NT_POLICY_PAUSE, why,
                                    j->env->now, j->d);
        if (err != NT_OK)
            return err;
        say(j, "paused sender %s for a day: the block is about the sender, not the lead",
            j->send.sender);
    } else {
        say(j, "reported a block about the sender, not the lead");
    }
    return lead_event(j, "policy-block", NULL);
}

static nt_err
act_bounce(job *j)
{
    const nt_bounced *b = our_item(j);
    const nt_inbound_config *ic = &j->env->cfg->inbound;
    int64_t n = 0;
    char why[200];
    nt_err err;

    if (!b)
        return NT_OK;
    if (b->reason == NT_BOUNCE_POLICY || b->reason == NT_BOUNCE_SPAM)
        return act_policy(j, b);
    snprintf(why, sizeof(why), "%s bounce %s %s", b->hard ? "hard" : "soft", b->status,
             nt_bounce_reason_name(b->reason));
    if (b->hard) {
        if ((err = lead_event(j, "bounced", NULL)) != NT_OK)
            return err;
        return suppress(j, why);
    }
    if ((err = lead_event(j, "soft-bounce", NULL)) != NT_OK ||
        (err = nt_store_event_count(j->env->st, j->lead.id, "soft-bounce",
                                    j->env->now - ic->soft_bounce_window + 1, &n, j->d)) != NT_OK)
        return err;
    if (n < ic->soft_bounce_limit) {
        say(j, "recorded soft bounce %lld of %lld before suppressing", (long long)n,
            (long long)ic->soft_bounce_limit);
        return NT_OK;
    }
    snprintf(why, sizeof(why), "%lld soft bounces, the last %s %s", (long long)n, b->status,
             nt_bounce_reason_name(b->reason));
    return suppress(j, why);
}

/* The instant a held sequence resumes: the start of the day after the
 * stated return date in the lead's zone, else now + away_pause; at most
 * NT_AWAY_MAX away. */
static int64_t
away_until(job *j)
{
    const nt_config *cfg = j->env->cfg;
    int64_t now = j->env->now, until = now + cfg->inbound.away_pause;
    int y, mo, da;

    if (sscanf(j->cl.return_date, "%4d-%2d-%2d", &y, &mo, &da) == 3) {
        const char *zone = j->lead.timezone ? j->lead.timezone : cfg->timezone;
        nt_tz *tz = NULL;
        nt_civil c = {0};
        nt_civil_from_days(nt_days_from_civil(y, mo, da) + 1, &c.year, &c.month, &c.day);
        if (zone && nt_tz_load(zone, &tz, NULL) == NT_OK) {
            until = nt_tz_from_local(tz, &c);
            nt_tz_free(tz);
        } else {
            until = nt_days_from_civil(c.year, c.month, c.day) * 86400;
        }
    }
    if (until > now + NT_AWAY_MAX)
        until = now + NT_AWAY_MAX;
    return until;
}

typedef struct holds {
    nt_enrollment *v;
    size_t n;
    int oom;
} holds;

static int
collect_active(void *ctx, const nt_enrollment *e)
{
    holds *h = ctx;
    nt_enrollment *nv;

    if (e->state != NT_ENROLL_ACTIVE)
        return 0;
    nv = realloc(h->v, (h->n + 1) * sizeof(*nv));
    if (!nv) {
        h->oom = 1;
        return 1;
    }
    h->v = nv;
    if (nt_enrollment_copy(&nv[h->n], e) != NT_OK) {
        h->oom = 1;
        return 1;
    }
    h->n++;
    return 0;
}

static nt_err
act_away(job *j)
{
    int64_t until = away_until(j);
    holds h = {0};
    char note[160], when[40];
    nt_err err;
    size_t held = 0;

    err = nt_store_enrollment_list(j->env->st, j->lead.id, collect_active, &h, j->d);
    if (err == NT_OK && h.oom)
        err = NT_ENOMEM;
    for (size_t i = 0; err == NT_OK && i < h.n; i++) {
        if (h.v[i].next_at >= until)
            continue;
        h.v[i].next_at = until;
        if (h.v[i].due_at < until)
            h.v[i].due_at = until;
        err = nt_store_enrollment_update(j->env->st, &h.v[i], j->d);
        held++;
    }
    for (size_t i = 0; i < h.n; i++)
        nt_enrollment_release(&h.v[i]);
    free(h.v);
    if (err != NT_OK)
        return err;
    nt_time_format_utc(until, when, sizeof(when));
    say(j, "held %zu sequence(s) until %s", held, when);
    snprintf(note, sizeof(note), ",\"until\":%lld,\"return_date\":\"%s\"", (long long)until,
             j->cl.return_date);
    return lead_event(j, "away", note);
}

/* Score the lead after its reply and hand it to sales when it qualifies. */
static nt_err
hand_off(job *j, const char *text, size_t n)
{
    char *excerpt = strndup(text, n);
    char why[300];
    int64_t entry;
    nt_engagement ev = {
        .kind = "replied",
        .intent = nt_intent_name(j->cl.intent),
        .inbound_id = j->row.id,
        .campaign = j->send.id ? j->send.campaign : NULL,
        .step_id = j->send.id ? j->send.step_id : NULL,
        .text = excerpt,
    };
    nt_err err;

    if (!excerpt)
        return NT_ENOMEM;
    err = nt_engage(j->env->st, j->env->cfg, j->lead.id, &ev, j->env->now, &entry, why, sizeof(why),
                    j->d);
    free(excerpt);
    if (err == NT_OK && entry)
        say(j, "handed to sales: queue entry %lld (%s)", (long long)entry, why);
    return err;
}

static nt_err
act_reply(job *j)
{
    nt_buf extra;
    const char *text = j->cl.visible ? j->cl.visible : "";
    size_t n = strlen(text);
    nt_err err;

    if (j->cl.intent == NT_INTENT_UNSUBSCRIBE) {
        if ((err = lead_event(j, "unsubscribed", NULL)) != NT_OK)
            return err;
        return suppress(j, "asked to unsubscribe in a reply");
    }
    if (n > EXCERPT_MAX) {
        n = EXCERPT_MAX;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--; /* do not cut a UTF-8 sequence */
    }
    nt_buf_init(&extra, 0);
    nt_buf_adds(&extra, ",\"intent\":");
    nt_buf_add_json(&extra, nt_intent_name(j->cl.intent), strlen(nt_intent_name(j->cl.intent)));
    nt_buf_adds(&extra, ",\"text\":");
    nt_buf_add_json(&extra, text, n);
    err = extra.err ? NT_ENOMEM : lead_event(j, "replied", nt_buf_cstr(&extra));
    nt_buf_release(&extra);
    if (err == NT_OK && (err = end_sequences(j, "replied")) == NT_OK)
        say(j, "engaged (intent %s); ended its sequences", nt_intent_name(j->cl.intent));
    if (err == NT_OK)
        err = hand_off(j, text, n);
    return err;
}

static nt_err
act(job *j)
{
    nt_err err;

    if (!j->classified || j->cl.kind == NT_IN_UNKNOWN) {
        say(j, "kept for review");
        return NT_OK;
    }
    if (!j->lead.id) {
        say(j,
            j->at.forged ? "nothing done: its token did not verify (%s)"
                         : "nothing done: not attributed to a lead%s",
            j->at.forged ? j->at.forged_where : NULL);
        return NT_OK;
    }
    switch (j->cl.kind) {
    case NT_IN_COMPLAINT:
        if ((err = lead_event(j, "complaint", NULL)) != NT_OK)
            return err;
        return suppress(j, "spam complaint");
    case NT_IN_BOUNCE:
        return act_bounce(j);
    case NT_IN_AUTOREPLY:
        return act_away(j);
    case NT_IN_UNSUBSCRIBE:
        if ((err = lead_event(j, "unsubscribed", NULL)) != NT_OK)
            return err;
        return suppress(j, "asked to unsubscribe");
    case NT_IN_REPLY:
        return act_reply(j);
    default:
        return NT_OK;
    }
}

/* ---- the stored row ---- */

static void
detail_json(job *j)
{
    nt_buf *b = &j->detail;
    const nt_classification *cl = &j->cl;

    nt_buf_adds(b, "{");
    if (j->classified && cl->kind == NT_IN_BOUNCE) {
        nt_buf_adds(b, "\"recipients\":[");
        for (size_t i = 0; i < cl->bounce.n; i++) {
            const nt_bounced *it = &cl->bounce.items[i];
            const char *reason = nt_bounce_reason_name(it->reason);
            nt_buf_adds(b, i ? ",{\"address\":" : "{\"address\":");
            nt_buf_add_json(b, it->recipient ? it->recipient : "",
                            it->recipient ? strlen(it->recipient) : 0);
            nt_buf_adds(b, ",\"status\":");
            nt_buf_add_json(b, it->status, strlen(it->status));
            nt_buf_adds(b, ",\"reason\":");
            nt_buf_add_json(b, reason, strlen(reason));
            nt_buf_addf(b, ",\"hard\":%s,\"diagnostic\":", it->hard ? "true" : "false");
            nt_buf_add_json(b, it->diagnostic ? it->diagnostic : "",
                            it->diagnostic ? strlen(it->diagnostic) : 0);
            nt_buf_adds(b, "}");
        }
        nt_buf_adds(b, "],");
    }
    if (j->classified && cl->visible) {
        nt_buf_adds(b, "\"visible\":");
        nt_buf_add_json(b, cl->visible, strlen(cl->visible));
        nt_buf_adds(b, ",");
    }
    if (j->classified && cl->feedback_type) {
        nt_buf_adds(b, "\"feedback_type\":");
        nt_buf_add_json(b, cl->feedback_type, strlen(cl->feedback_type));
        nt_buf_adds(b, ",");
    }
    if (j->parsed && j->m.returned_message_id) {
        nt_buf_adds(b, "\"original_message_id\":");
        nt_buf_add_json(b, j->m.returned_message_id, strlen(j->m.returned_message_id));
        nt_buf_adds(b, ",");
    }
    if (j->at.token[0]) {
        nt_buf_adds(b, "\"token\":");
        nt_buf_add_json(b, j->at.token, strlen(j->at.token));
        nt_buf_adds(b, ",\"token_in\":");
        nt_buf_add_json(b, j->at.where, strlen(j->at.where));
        nt_buf_adds(b, ",");
    }
    if (j->at.forged) {
        nt_buf_adds(b, "\"forged_token\":");
        nt_buf_add_json(b, j->at.forged_token, strlen(j->at.forged_token));
        nt_buf_adds(b, ",\"forged_in\":");
        nt_buf_add_json(b, j->at.forged_where, strlen(j->at.forged_where));
        nt_buf_adds(b, ",");
    }
    if (j->src->envelope_rcpt) {
        nt_buf_adds(b, "\"envelope_to\":");
        nt_buf_add_json(b, j->src->envelope_rcpt, strlen(j->src->envelope_rcpt));
        nt_buf_adds(b, ",");
    }
    if (b->len > 1)
        b->len--; /* the last comma */
    nt_buf_adds(b, "}");
}

/* Fill the decision columns of j->row from the classification (strings
 * borrowed from j; the row is never released through nt_inbound_release). */
static void
fill_decision(job *j)
{
    nt_inbound *r = &j->row;

    r->kind = (char *)nt_inkind_name(j->classified ? j->cl.kind : NT_IN_UNKNOWN);
    r->rule = (char *)(j->classified ? j->cl.rule : (j->parsed ? NULL : "unparseable"));
    r->reason = NULL;
    r->status = NULL;
    r->hard = 0;
    if (j->classified && j->cl.kind == NT_IN_BOUNCE && j->cl.bounce.n) {
        const nt_bounced *b = our_item(j);
        r->reason = (char *)nt_bounce_reason_name(b->reason);
        r->status = b->status[0] ? (char *)b->status : NULL;
        r->hard = b->hard;
    }
    r->intent = j->classified && j->cl.intent ? (char *)nt_intent_name(j->cl.intent) : NULL;
    r->return_date = j->classified && j->cl.return_date[0] ? j->cl.return_date : NULL;
    r->attributed_by = j->lead.id ? (char *)nt_attr_method_name(j->at.by) : NULL;
    r->lead_id = j->lead.id;
    r->send_id = j->send.id;
    r->forged = j->at.forged;
    r->classified_at = j->env->now;
    nt_buf_reset(&j->detail);
    detail_json(j);
    r->detail = (char *)nt_buf_cstr(&j->detail);
}

/* Parse, classify and attribute raw; never fails on content. */
static nt_err
decide(job *j, const char *raw, size_t len)
{
    nt_diag pd;
    nt_err err;

    j->parsed = nt_inmsg_parse(raw, len, &j->m, &pd) == NT_OK;
    if (!j->parsed)
        return NT_OK;
    if ((err = nt_classify(j->env->cls, &j->m, &j->cl, j->d)) != NT_OK)
        return err;
    j->classified = 1;
    nt_attribute(j->env->key, &j->m, j->src->envelope_rcpt, j->env->cfg->bounce_local, &j->at);
    return find_lead(j);
}

static void
outcome(const job *j, nt_inbound_outcome *out)
{
    out->id = j->row.id;
    out->kind = j->classified ? j->cl.kind : NT_IN_UNKNOWN;
    out->lead_id = j->lead.id;
    out->forged = j->at.forged;
    snprintf(out->action, sizeof(out->action), "%s",
             j->action.len ? nt_buf_cstr((nt_buf *)&j->action) : "");
}

static nt_err
duplicate(const nt_inbound_env *env, int64_t id, nt_inbound_outcome *out, nt_diag *d)
{
    nt_inbound old;
    nt_err err = nt_store_inbound_get(env->st, id, 0, &old, d);

    if (err != NT_OK)
        return err;
    out->id = id;
    out->duplicate = 1;
    out->kind = (nt_inkind)(nt_inkind_from(old.kind) < 0 ? 0 : nt_inkind_from(old.kind));
    out->lead_id = old.lead_id;
    out->forged = old.forged;
    snprintf(out->action, sizeof(out->action), "already processed as #%lld", (long long)id);
    nt_inbound_release(&old);
    return NT_OK;
}

static nt_err
store_and_act(job *j)
{
    nt_store *st = j->env->st;
    nt_err err;

    if ((err = nt_store_inbound_add(st, &j->row, j->d)) != NT_OK)
        return err;
    if ((err = act(j)) != NT_OK)
        return err;
    if (j->action.err)
        return NT_ENOMEM;
    j->row.action = (char *)nt_buf_cstr(&j->action);
    return nt_store_inbound_update(st, &j->row, j->d);
}

nt_err
nt_inbound_process(const nt_inbound_env *env, const nt_inbound_src *src, const char *raw,
                   size_t len, nt_inbound_outcome *out, nt_diag *d)
{
    job j;
    char hash[65];
    int64_t seen = 0;
    nt_err err;

    memset(&j, 0, sizeof(j));
    memset(out, 0, sizeof(*out));
    j.env = env;
    j.src = src;
    j.d = d;
    nt_buf_init(&j.action, 0);
    nt_buf_init(&j.detail, 0);
    nt_inbound_body_hash(raw, len, hash);
    err = decide(&j, raw, len);
    if (err == NT_OK)
        err =
            nt_store_inbound_find(env->st, j.parsed ? j.m.message_id : NULL, hash, NULL, &seen, d);
    if (err == NT_OK && seen) {
        err = duplicate(env, seen, out, d);
        job_release(&j);
        return err;
    }
    if (err == NT_OK) {
        j.row.received_at = env->now;
        j.row.source = (char *)src->source;
        j.row.source_key = (char *)src->key;
        j.row.message_id = j.parsed ? j.m.message_id : NULL;
        j.row.content_hash = hash;
        j.row.raw = (char *)raw;
        j.row.rawlen = len;
        j.row.from_addr = j.parsed ? j.m.from_addr : NULL;
        j.row.subject = j.parsed ? j.m.subject : NULL;
        fill_decision(&j);
        err = nt_store_begin(env->st, d);
        if (err == NT_OK) {
            err = store_and_act(&j);
            if (err == NT_OK)
                err = nt_store_commit(env->st, d);
            else
                nt_store_rollback(env->st);
        }
        if (err == NT_EEXIST) {
            /* Stored meanwhile by a concurrent reader of another mailbox. */
            err = nt_store_inbound_find(env->st, j.row.message_id, hash, NULL, &seen, d);
            if (err == NT_OK)
                err = seen ? duplicate(env, seen, out, d) : NT_ESTORE;
            job_release(&j);
            return err;
        }
    }
    if (err == NT_OK)
        outcome(&j, out);
    job_release(&j);
    return err;
}

nt_err
nt_inbound_reclassify(const nt_inbound_env *env, int64_t id, int apply, nt_inkind *before,
                      nt_inbound_outcome *out, nt_diag *d)
{
    nt_inbound old;
    nt_inbound_src src = {0};
    job j;
    nt_err err;

    memset(out, 0, sizeof(*out));
    if ((err = nt_store_inbound_get(env->st, id, 1, &old, d)) != NT_OK)
        return err;
    *before = (nt_inkind)(nt_inkind_from(old.kind) < 0 ? 0 : nt_inkind_from(old.kind));
    memset(&j, 0, sizeof(j));
    j.env = env;
    j.src = &src;
    j.d = d;
    src.source = old.source;
    src.key = old.source_key;
    nt_buf_init(&j.action, 0);
    nt_buf_init(&j.detail, 0);
    err = decide(&j, old.raw, old.rawlen);
    if (err == NT_OK) {
        j.row = old;
        j.row.raw = NULL;
        fill_decision(&j);
        j.row.id = id;
        if (apply && (j.classified ? j.cl.kind : NT_IN_UNKNOWN) != *before) {
            err = nt_store_begin(env->st, d);
            if (err == NT_OK && (err = act(&j)) == NT_OK && !j.action.err) {
                j.row.action = (char *)nt_buf_cstr(&j.action);
                err = nt_store_inbound_update(env->st, &j.row, d);
            }
            if (err == NT_OK && j.action.err)
                err = NT_ENOMEM;
            if (err == NT_OK)
                err = nt_store_commit(env->st, d);
            else
                nt_store_rollback(env->st);
        } else if (!apply || !j.action.len) {
            say(&j, "%s", apply ? "unchanged" : "not applied");
        }
    }
    if (err == NT_OK) {
        outcome(&j, out);
        out->id = id;
    }
    j.row.id = 0;
    nt_inbound_release(&old);
    job_release(&j);
    return err;
}
