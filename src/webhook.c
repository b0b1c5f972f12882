/*
 * Webhooks (webhook.h): queue events written to the outbox in the caller's
 * transaction, and delivered later by POST, signed, with retries.
 *
 * The payload is built once, when the event happens, so a retry days later
 * still says what the entry looked like then; the signature and its
 * timestamp are made at each attempt, so receivers can refuse stale or
 * replayed requests.  A message is delivered when the endpoint answers
 * 2xx.  Anything else is retried with exponential backoff, without end:
 * a 4xx usually means a misconfigured endpoint, and losing the events
 * while it gets fixed would be worse than retrying once an hour.
 *
 * Secrets are read per pass (nt_secret_read), kept only in memory wiped
 * after use, and never written into a message or the outbox.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "nurture/buf.h"
#include "nurture/http.h"
#include "nurture/tz.h"
#include "nurture/utf8.h"
#include "nurture/webhook.h"

#include "banned.h"

#ifndef NT_VERSION
#define NT_VERSION "dev"
#endif

#define BACKOFF_FIRST 30
#define BACKOFF_MAX 3600
#define PAYLOAD_LIMIT ((size_t)4 << 20)
#define REPLY_MAX 4000  /* bytes of reply text in a JSON payload */
#define SLACK_QUOTE 140 /* bytes of reply text quoted in a Slack line */
#define BATCH 100       /* due messages read at a time */

int64_t
nt_webhook_backoff(int attempts)
{
    int64_t s = BACKOFF_FIRST;

    for (int i = 1; i < attempts && s < BACKOFF_MAX; i++)
        s *= 2;
    return s < BACKOFF_MAX ? s : BACKOFF_MAX;
}

nt_err
nt_webhook_sign(const char *key, size_t keylen, int64_t timestamp, const char *body, size_t bodylen,
                char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    nt_buf msg;
    nt_err err = NT_ENOMEM;

    out[0] = '\0';
    nt_buf_init(&msg, PAYLOAD_LIMIT + 32);
    nt_buf_addf(&msg, "%" PRId64 ".", timestamp);
    nt_buf_add(&msg, body, bodylen);
    if (msg.err)
        goto out;
    /* HMAC allows an empty key; OpenSSL wants a non-NULL pointer for it. */
    if (!HMAC(EVP_sha256(), keylen ? key : "", (int)keylen, (const unsigned char *)msg.data,
              msg.len, mac, &maclen) ||
        maclen != 32)
        goto out;
    memcpy(out, "sha256=", 7);
    for (unsigned int i = 0; i < maclen; i++) {
        out[7 + 2 * i] = hex[mac[i] >> 4];
        out[8 + 2 * i] = hex[mac[i] & 15];
    }
    out[7 + 2 * maclen] = '\0';
    err = NT_OK;
out:
    nt_buf_release(&msg);
    return err;
}

/* ---- payloads ---- */

/* s as a JSON string (null when NULL), at most max bytes of it (0 = all),
 * cut on a character boundary; invalid UTF-8 becomes U+FFFD so the JSON
 * stays valid. */
static void
json_str(nt_buf *b, const char *s, size_t max)
{
    size_t n;

    if (!s) {
        nt_buf_adds(b, "null");
        return;
    }
    n = strlen(s);
    if (max && n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    if (nt_utf8_valid(s, n)) {
        nt_buf_add_json(b, s, n);
    } else {
        nt_buf clean;
        nt_buf_init(&clean, PAYLOAD_LIMIT);
        nt_utf8_add_valid(&clean, s, n);
        if (clean.err)
            b->err = b->err ? b->err : clean.err;
        else
            nt_buf_add_json(b, nt_buf_cstr(&clean), clean.len);
        nt_buf_release(&clean);
    }
}

static void
field_str(nt_buf *b, const char *name, const char *s)
{
    nt_buf_addf(b, ",\"%s\":", name);
    json_str(b, s, 0);
}

static void
field_time(nt_buf *b, const char *name, int64_t t)
{
    char when[32];

    if (!t) {
        nt_buf_addf(b, ",\"%s\":null", name);
        return;
    }
    nt_time_format_utc(t, when, sizeof(when));
    nt_buf_addf(b, ",\"%s\":\"%s\"", name, when);
}

static void
entry_json(nt_buf *b, const nt_qentry *e)
{
    nt_buf_addf(b, "{\"id\":%" PRId64, e->id);
    field_str(b, "state", nt_qstate_name(e->state));
    field_str(b, "rep", e->rep);
    field_str(b, "assigned_by", e->assigned_by);
    field_str(b, "trigger", e->trigger);
    field_str(b, "reason", e->reason);
    if (isfinite(e->score))
        nt_buf_addf(b, ",\"score\":%.10g", e->score);
    else
        nt_buf_adds(b, ",\"score\":null");
    field_str(b, "campaign", e->campaign);
    field_str(b, "step", e->step_id);
    field_str(b, "intent", e->intent);
    nt_buf_adds(b, ",\"reply_text\":");
    json_str(b, e->reply_text, REPLY_MAX);
    field_time(b, "created_at", e->created_at);
    field_time(b, "claimed_at", e->claimed_at);
    field_str(b, "claimed_by", e->claimed_by);
    field_time(b, "escalated_at", e->escalated_at);
    field_time(b, "decided_at", e->decided_at);
    field_str(b, "reject_reason", e->reject_reason);
    field_str(b, "note", e->note);
    field_str(b, "recycle_campaign", e->recycle_campaign);
    nt_buf_addc(b, '}');
}

static void
lead_json(nt_buf *b, const nt_lead *l)
{
    if (!l) {
        nt_buf_adds(b, "null");
        return;
    }
    nt_buf_addf(b, "{\"id\":%" PRId64, l->id);
    field_str(b, "email", l->email);
    field_str(b, "first_name", l->first_name);
    field_str(b, "last_name", l->last_name);
    field_str(b, "company", l->company);
    field_str(b, "title", l->title);
    field_str(b, "phone", l->phone);
    field_str(b, "stage", l->stage);
    field_str(b, "owner", l->owner);
    nt_buf_adds(b, ",\"fields\":{");
    for (size_t i = 0; i < l->nfields; i++) {
        if (i)
            nt_buf_addc(b, ',');
        json_str(b, l->fields[i].name, 0);
        nt_buf_addc(b, ':');
        json_str(b, l->fields[i].value, 0);
    }
    nt_buf_adds(b, "}}");
}

static void
json_payload(nt_buf *b, const char *key, const char *event, const nt_qentry *e, const nt_lead *l,
             int64_t now)
{
    nt_buf_adds(b, "{\"id\":");
    json_str(b, key, 0);
    field_str(b, "event", event);
    field_time(b, "occurred_at", now);
    nt_buf_adds(b, ",\"entry\":");
    entry_json(b, e);
    nt_buf_adds(b, ",\"lead\":");
    lead_json(b, l);
    nt_buf_adds(b, "}");
}

/*
 * Text for a Slack-compatible message, one line: control characters become
 * spaces, and &, < and > are escaped as Slack asks, which also keeps a
 * lead's text from making a mention such as <!channel>.  At most max bytes
 * of s (0 = all), cut on a character boundary with "..." after it.
 */
static void
slack_text(nt_buf *b, const char *s, size_t max)
{
    size_t n = strlen(s), cut = n;

    if (max && n > max) {
        cut = max;
        while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
            cut--;
    }
    for (size_t i = 0; i < cut; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '&')
            nt_buf_adds(b, "&amp;");
        else if (c == '<')
            nt_buf_adds(b, "&lt;");
        else if (c == '>')
            nt_buf_adds(b, "&gt;");
        else if (c < 0x20 || c == 0x7f)
            nt_buf_addc(b, ' ');
        else
            nt_buf_addc(b, (char)c);
    }
    if (cut < n)
        nt_buf_adds(b, "...");
}

/* "Jane Doe (Acme) <jane@acme.com>", with whatever parts the lead has. */
static void
slack_who(nt_buf *b, const nt_lead *l)
{
    int named = 0;

    if (!l) {
        nt_buf_adds(b, "a lead");
        return;
    }
    if (l->first_name && *l->first_name) {
        slack_text(b, l->first_name, 100);
        named = 1;
    }
    if (l->last_name && *l->last_name) {
        if (named)
            nt_buf_addc(b, ' ');
        slack_text(b, l->last_name, 100);
        named = 1;
    }
    if (l->company && *l->company) {
        nt_buf_adds(b, named ? " (" : "(");
        slack_text(b, l->company, 100);
        nt_buf_addc(b, ')');
        named = 1;
    }
    if (l->email) {
        nt_buf_adds(b, named ? " &lt;" : "");
        slack_text(b, l->email, 0);
        nt_buf_adds(b, named ? "&gt;" : "");
    }
}

static void
slack_line(nt_buf *t, nt_hook_event ev, const nt_qentry *e, const nt_lead *l)
{
    const char *rep = e->rep ? e->rep : "nobody (no rep available)";
    const char *by = e->claimed_by ? e->claimed_by : e->rep ? e->rep : "a rep";

    switch (ev) {
    case NT_HOOK_HANDOFF:
        nt_buf_adds(t, ":incoming_envelope: New hand-off for ");
        slack_text(t, rep, 0);
        nt_buf_adds(t, ": ");
        slack_who(t, l);
        if (e->reply_text && *e->reply_text) {
            nt_buf_adds(t, " replied \"");
            slack_text(t, e->reply_text, SLACK_QUOTE);
            nt_buf_addc(t, '"');
        }
        if (e->reason && *e->reason) {
            nt_buf_adds(t, " \xe2\x80\x94 "); /* an em dash */
            slack_text(t, e->reason, 0);
        }
        break;
    case NT_HOOK_CLAIM:
        nt_buf_adds(t, ":raising_hand: ");
        slack_text(t, by, 0);
        nt_buf_adds(t, " is working on ");
        slack_who(t, l);
        break;
    case NT_HOOK_ACCEPT:
        nt_buf_adds(t, ":white_check_mark: ");
        slack_text(t, by, 0);
        nt_buf_adds(t, " accepted ");
        slack_who(t, l);
        break;
    case NT_HOOK_REJECT:
        nt_buf_adds(t, ":x: ");
        slack_text(t, by, 0);
        nt_buf_adds(t, " rejected ");
        slack_who(t, l);
        if (e->reject_reason) {
            nt_buf_adds(t, ": ");
            slack_text(t, e->reject_reason, 0);
        }
        break;
    case NT_HOOK_RECYCLE:
        nt_buf_adds(t, ":recycle: ");
        slack_who(t, l);
        nt_buf_adds(t, " went back to nurturing");
        if (e->recycle_campaign) {
            nt_buf_adds(t, " in ");
            slack_text(t, e->recycle_campaign, 0);
        }
        break;
    case NT_HOOK_SLA:
        nt_buf_adds(t, ":alarm_clock: Waiting too long: ");
        slack_who(t, l);
        nt_buf_adds(t, " (for ");
        slack_text(t, rep, 0);
        nt_buf_adds(t, ") is still unclaimed; any rep may pull it");
        break;
    }
    if (e->note && *e->note && (ev == NT_HOOK_ACCEPT || ev == NT_HOOK_REJECT)) {
        nt_buf_adds(t, " \xe2\x80\x94 ");
        slack_text(t, e->note, SLACK_QUOTE);
    }
}

static void
slack_payload(nt_buf *b, nt_hook_event ev, const nt_qentry *e, const nt_lead *l)
{
    nt_buf t;

    nt_buf_init(&t, PAYLOAD_LIMIT);
    slack_line(&t, ev, e, l);
    nt_buf_adds(b, "{\"text\":");
    if (t.err)
        b->err = b->err ? b->err : t.err;
    else
        json_str(b, nt_buf_cstr(&t), 0);
    nt_buf_adds(b, "}");
    nt_buf_release(&t);
}

/* "q<id>-<event>-<name>", the name percent-encoded outside [A-Za-z0-9._~-]
 * so that the key is one header-safe token and different names stay
 * different keys. */
static void
make_key(nt_buf *k, int64_t entry_id, const char *event, const char *name)
{
    nt_buf_addf(k, "q%" PRId64 "-%s-", entry_id, event);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '.' || *p == '_' || *p == '~' || *p == '-')
            nt_buf_addc(k, (char)*p);
        else
            nt_buf_addf(k, "%%%02X", *p);
    }
}

nt_err
nt_webhook_enqueue(nt_store *st, const nt_config *cfg, nt_hook_event ev, const nt_qentry *e,
                   const nt_lead *lead, int64_t now, nt_diag *d)
{
    const char *event = nt_hook_event_name((unsigned)ev);
    nt_buf key, body;
    nt_err err = NT_OK;

    if (!event)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "unknown webhook event %u", (unsigned)ev);
    nt_buf_init(&key, 4096);
    nt_buf_init(&body, PAYLOAD_LIMIT);
    for (size_t i = 0; i < cfg->nwebhooks && err == NT_OK; i++) {
        const nt_webhook *w = &cfg->webhooks[i];
        nt_outbox_msg m;
        int added = 0;

        if (!(w->events & (unsigned)ev))
            continue;
        nt_buf_reset(&key);
        nt_buf_reset(&body);
        make_key(&key, e->id, event, w->name);
        if (w->format == NT_HOOK_SLACK)
            slack_payload(&body, ev, e, lead);
        else
            json_payload(&body, nt_buf_cstr(&key), event, e, lead, now);
        if (key.err || body.err) {
            err = nt_diag_set(d, key.err ? key.err : body.err, NULL, 0, 0,
                              "webhook %s: the %s message of queue entry %" PRId64
                              " is too large or memory ran out",
                              w->name, event, e->id);
            break;
        }
        memset(&m, 0, sizeof(m));
        m.webhook = w->name;
        m.event = event;
        m.key = nt_buf_cstr(&key);
        m.payload = nt_buf_cstr(&body);
        m.created_at = now;
        m.next_attempt_at = now;
        err = nt_store_outbox_add(st, &m, &added, d);
    }
    nt_buf_release(&key);
    nt_buf_release(&body);
    return err;
}

/* ---- delivery ---- */

/* A due message, copied out of the store's callback. */
typedef struct due_msg {
    int64_t id;
    char *webhook;
    char *event;
    char *key;
    char *payload;
    int attempts;
} due_msg;

typedef struct due_list {
    due_msg *items;
    size_t n, cap;
    int oom;
} due_list;

static void
due_clear(due_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].webhook);
        free(l->items[i].event);
        free(l->items[i].key);
        free(l->items[i].payload);
    }
    l->n = 0;
}

static int
collect_due(void *ctx, const nt_outbox_msg *m)
{
    due_list *l = ctx;
    due_msg *x;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        due_msg *p = realloc(l->items, cap * sizeof(*p));
        if (!p) {
            l->oom = 1;
            return 1;
        }
        l->items = p;
        l->cap = cap;
    }
    x = &l->items[l->n];
    x->id = m->id;
    x->attempts = m->attempts;
    x->webhook = strdup(m->webhook);
    x->event = strdup(m->event);
    x->key = strdup(m->key);
    x->payload = strdup(m->payload);
    l->n++;
    if (!x->webhook || !x->event || !x->key || !x->payload) {
        l->oom = 1;
        return 1;
    }
    return 0;
}

/* The secret of each configured webhook, read at most once per pass. */
typedef struct secrets {
    nt_buf *bufs;
    signed char *state; /* 0 not read yet, 1 read, -1 unreadable, 2 unsigned */
    nt_diag *why;       /* for state -1 */
    size_t n;
} secrets;

static void
secrets_release(secrets *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->bufs[i].data)
            OPENSSL_cleanse(s->bufs[i].data, s->bufs[i].cap);
        nt_buf_release(&s->bufs[i]);
    }
    free(s->bufs);
    free(s->state);
    free(s->why);
}

/* *key = NULL for an unsigned webhook; NT_ECONFIG (why in d) when its
 * secret cannot be read. */
static nt_err
secret_for(secrets *s, size_t i, const nt_webhook *w, const nt_buf **key, nt_diag *d)
{
    *key = NULL;
    if (s->state[i] == 0) {
        if (!w->secret.env && !w->secret.file) {
            s->state[i] = 2;
        } else {
            char what[300];
            snprintf(what, sizeof(what), "secret of webhook '%s'", w->name);
            nt_diag_clear(&s->why[i]);
            s->state[i] =
                nt_secret_read(&w->secret, what, &s->bufs[i], &s->why[i]) == NT_OK ? 1 : -1;
        }
    }
    if (s->state[i] == -1) {
        *d = s->why[i];
        return NT_ECONFIG;
    }
    if (s->state[i] == 1)
        *key = &s->bufs[i];
    return NT_OK;
}

static const nt_webhook *
find_webhook(const nt_config *cfg, const char *name, size_t *index)
{
    for (size_t i = 0; i < cfg->nwebhooks; i++)
        if (!strcmp(cfg->webhooks[i].name, name)) {
            *index = i;
            return &cfg->webhooks[i];
        }
    return NULL;
}

/* Why a non-2xx answer failed, for last_error. */
static void
describe_status(char *out, size_t outsz, const nt_http_response *r)
{
    const char *hint = "";
    int s = r->status;

    if (s >= 300 && s < 400)
        hint = " (redirects are not followed: point the webhook at the final URL; retried)";
    else if (s >= 400 && s < 500 && s != 408 && s != 429)
        hint = " (the endpoint refused the message: check its URL and secret; retried anyway so "
               "that no event is lost)";
    if (r->excerpt[0])
        snprintf(out, outsz, "HTTP %d: %s%s", s, r->excerpt, hint);
    else
        snprintf(out, outsz, "HTTP %d%s", s, hint);
}

static nt_err
post_one(const nt_webhook *w, const nt_buf *secret, const due_msg *m, int64_t now,
         nt_http_response *resp, nt_diag *d)
{
    char sig[NT_WEBHOOK_SIG_SIZE];
    nt_buf h[6];
    const char *hdrs[8];
    size_t nh = 0, bodylen = strlen(m->payload);
    nt_http_request req;
    nt_err err = NT_OK;

    for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
        nt_buf_init(&h[i], 1024);
    nt_buf_adds(&h[0], "Content-Type: application/json");
    nt_buf_adds(&h[1], "User-Agent: nurture/" NT_VERSION);
    nt_buf_addf(&h[2], "Idempotency-Key: %s", m->key);
    nt_buf_addf(&h[3], "X-Nurture-Event: %s", m->event);
    nt_buf_addf(&h[4], "X-Nurture-Timestamp: %" PRId64, now);
    if (secret) {
        if ((err = nt_webhook_sign(secret->data, secret->len, now, m->payload, bodylen, sig)) !=
            NT_OK) {
            nt_diag_set(d, err, NULL, 0, 0, "could not compute the signature");
            goto out;
        }
        nt_buf_addf(&h[5], "X-Nurture-Signature: %s", sig);
    }
    for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
        if (h[i].err) {
            err = nt_diag_set(d, h[i].err, NULL, 0, 0, "a header is too long");
            goto out;
        }
        if (h[i].len)
            hdrs[nh++] = nt_buf_cstr(&h[i]);
    }
    hdrs[nh] = NULL;
    memset(&req, 0, sizeof(req));
    req.url = w->url;
    req.headers = hdrs;
    req.body = m->payload;
    req.bodylen = bodylen;
    req.timeout_sec = (long)w->timeout;
    req.ca_file = w->ca_file;
    err = nt_http_post(&req, resp, d);
out:
    for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
        nt_buf_release(&h[i]);
    return err;
}

/* Count what is still undelivered. */
static int
count_pending(void *ctx, const nt_outbox_msg *m)
{
    (void)m;
    (*(int64_t *)ctx)++;
    return 0;
}

nt_err
nt_webhook_deliver(nt_store *st, const nt_config *cfg, int64_t now, int64_t limit,
                   nt_webhook_stats *stats, nt_diag *d)
{
    due_list due = {NULL, 0, 0, 0};
    secrets sec = {NULL, NULL, NULL, cfg->nwebhooks};
    nt_diag config_diag;
    nt_err err = NT_OK, config_err = NT_OK;
    int64_t done = 0;

    memset(stats, 0, sizeof(*stats));
    nt_diag_clear(&config_diag);
    if (cfg->nwebhooks) {
        sec.bufs = calloc(cfg->nwebhooks, sizeof(*sec.bufs));
        sec.state = calloc(cfg->nwebhooks, sizeof(*sec.state));
        sec.why = calloc(cfg->nwebhooks, sizeof(*sec.why));
        if (!sec.bufs || !sec.state || !sec.why) {
            sec.n = 0;
            err = nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < cfg->nwebhooks; i++)
            nt_buf_init(&sec.bufs[i], 8192);
    }
    /* In batches: each message handled is delivered or moved into the
     * future, so the next batch is new messages. */
    while (limit <= 0 || done < limit) {
        int64_t want = limit > 0 && limit - done < BATCH ? limit - done : BATCH;
        due_clear(&due);
        if ((err = nt_store_outbox_due(st, now, want, collect_due, &due, d)) != NT_OK)
            goto out;
        if (due.oom) {
            err = nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "out of memory");
            goto out;
        }
        if (due.n == 0)
            break;
        for (size_t i = 0; i < due.n; i++) {
            const due_msg *m = &due.items[i];
            const nt_webhook *w;
            const nt_buf *secret = NULL;
            nt_http_response resp;
            char why[700];
            nt_diag hd;
            size_t wi = 0;
            int status = 0;

            nt_diag_clear(&hd);
            done++;
            memset(&resp, 0, sizeof(resp));
            if (!(w = find_webhook(cfg, m->webhook, &wi))) {
                snprintf(why, sizeof(why),
                         "webhook '%s' is not in the configuration any more; kept until it is",
                         m->webhook);
            } else if (secret_for(&sec, wi, w, &secret, &hd) != NT_OK) {
                if (config_err == NT_OK) {
                    config_err = NT_ECONFIG;
                    config_diag = hd;
                }
                snprintf(why, sizeof(why), "not sent: %s", hd.msg);
            } else {
                nt_err perr = post_one(w, secret, m, now, &resp, &hd);
                if (perr == NT_ENOMEM) {
                    err = nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "out of memory");
                    goto out;
                }
                stats->attempted++;
                if (perr == NT_OK && resp.status >= 200 && resp.status < 300) {
                    if ((err = nt_store_outbox_mark(st, m->id, now, now, resp.status, NULL, d)) !=
                        NT_OK)
                        goto out;
                    stats->delivered++;
                    continue;
                }
                if (perr == NT_OK) {
                    status = resp.status;
                    describe_status(why, sizeof(why), &resp);
                } else {
                    char line[600];
                    nt_diag_format(&hd, line, sizeof(line));
                    snprintf(why, sizeof(why), "%s: %s", perr == NT_EIO ? "no answer" : "not sent",
                             line);
                }
            }
            if ((err = nt_store_outbox_mark(st, m->id, 0, now + nt_webhook_backoff(m->attempts + 1),
                                            status, why, d)) != NT_OK)
                goto out;
            stats->retrying++;
        }
        if ((int64_t)due.n < want)
            break;
    }
    err = nt_store_outbox_list(st, 1, 0, count_pending, &stats->pending, d);
out:
    due_clear(&due);
    free(due.items);
    secrets_release(&sec);
    if (err == NT_OK && config_err != NT_OK) {
        if (d)
            *d = config_diag;
        err = config_err;
    }
    return err;
}
