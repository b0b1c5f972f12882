/*
 * Webhooks: the signature against HMACs computed independently (Python's
 * hmac module), the backoff schedule, the payloads (parsed back with
 * jansson: valid JSON whatever the lead wrote, the fields receivers rely
 * on, Slack text that cannot mention @channel), enqueuing the same event
 * twice adding once, and delivery against a refused port (retried on
 * schedule, never lost), a missing secret, and a one-shot local HTTP server
 * (the headers sent, a 2xx delivers, a 404 retries and says why, a body
 * past the read limit still gives the status).
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nurture/store.h"
#include "nurture/webhook.h"
#include "t.h"

static char path[256];
static nt_store *st;

static void
fresh(void)
{
    nt_diag d;
    int fd;

    snprintf(path, sizeof(path), "/tmp/nt-test-webhook-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        abort();
    close(fd);
    unlink(path);
    if (nt_store_open_sqlite(path, &st, &d) != NT_OK) {
        fprintf(stderr, "open: %s\n", d.msg);
        abort();
    }
}

static void
cleanup(void)
{
    char p[300];

    nt_store_close(st);
    st = NULL;
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

/* A lead and an open queue entry for it; e's strings are literals. */
static void
make_entry(const char *email, nt_lead *l, nt_qentry *e)
{
    nt_diag d;
    int created, added;

    nt_lead_init(l);
    nt_lead_set(l, "email", email);
    nt_lead_set(l, "first_name", "Jane");
    nt_lead_set(l, "last_name", "Doe \"JD\"");
    nt_lead_set(l, "company", "Acme & Sons");
    nt_lead_set(l, "employees", "120");
    if (nt_store_lead_upsert(st, l, "MQL", 1000, &created, &d) != NT_OK)
        abort();
    memset(e, 0, sizeof(*e));
    e->lead_id = l->id;
    e->rep = "ana";
    e->assigned_by = "round-robin";
    e->trigger = "meeting";
    e->reason = "replied with intent meeting; score 72 >= 50";
    e->score = 72.5;
    e->campaign = "welcome";
    e->step_id = "day-3";
    e->intent = "meeting";
    e->reply_text = "Sure, let's talk <!channel>\nTuesday?\n\xff";
    e->created_at = 1790000000;
    if (nt_store_queue_add(st, e, &added, &d) != NT_OK || !added)
        abort();
}

static char hook_crm[] = "crm", hook_slack[] = "team chat/sales";
static char env_crm[] = "NT_TEST_HOOK_KEY";
static char url_refused[] = "http://127.0.0.1:1/hook";

static void
make_config(nt_config *cfg, nt_webhook *w, char *url)
{
    memset(cfg, 0, sizeof(*cfg));
    memset(w, 0, 2 * sizeof(*w));
    w[0].name = hook_crm;
    w[0].url = url;
    w[0].format = NT_HOOK_JSON;
    w[0].secret.env = env_crm;
    w[0].events = NT_HOOK_ALL;
    w[0].timeout = 5;
    w[1].name = hook_slack;
    w[1].url = url;
    w[1].format = NT_HOOK_SLACK;
    w[1].events = NT_HOOK_HANDOFF | NT_HOOK_SLA;
    w[1].timeout = 5;
    cfg->webhooks = w;
    cfg->nwebhooks = 2;
}

typedef struct rows {
    int n;
    char keys[8][128];
    char payloads[8][4096];
    char errors[8][800];
    int attempts[8];
    int64_t next[8];
    int64_t delivered[8];
    int status[8];
} rows;

static int
take_row(void *ctx, const nt_outbox_msg *m)
{
    rows *r = ctx;

    if (r->n >= 8)
        return 1;
    snprintf(r->keys[r->n], sizeof(r->keys[0]), "%s", m->key);
    snprintf(r->payloads[r->n], sizeof(r->payloads[0]), "%s", m->payload);
    snprintf(r->errors[r->n], sizeof(r->errors[0]), "%s", m->last_error ? m->last_error : "");
    r->attempts[r->n] = m->attempts;
    r->next[r->n] = m->next_attempt_at;
    r->delivered[r->n] = m->delivered_at;
    r->status[r->n] = m->last_status;
    r->n++;
    return 0;
}

/* The outbox, oldest first. */
static void
read_outbox(rows *r)
{
    rows tmp;
    nt_diag d;

    memset(&tmp, 0, sizeof(tmp));
    memset(r, 0, sizeof(*r));
    if (nt_store_outbox_list(st, 0, 0, take_row, &tmp, &d) != NT_OK)
        abort();
    for (int i = 0; i < tmp.n; i++) {
        int j = tmp.n - 1 - i;
        memcpy(r->keys[i], tmp.keys[j], sizeof(r->keys[0]));
        memcpy(r->payloads[i], tmp.payloads[j], sizeof(r->payloads[0]));
        memcpy(r->errors[i], tmp.errors[j], sizeof(r->errors[0]));
        r->attempts[i] = tmp.attempts[j];
        r->next[i] = tmp.next[j];
        r->delivered[i] = tmp.delivered[j];
        r->status[i] = tmp.status[j];
    }
    r->n = tmp.n;
}

static void
test_sign(void)
{
    char sig[NT_WEBHOOK_SIG_SIZE];

    /* python3 -c "import hmac,hashlib; print(hmac.new(KEY, MSG, hashlib.sha256).hexdigest())" */
    REQUIRE(nt_webhook_sign("whsec_test", 10, 1790000000, "{\"a\":1}", 7, sig) == NT_OK);
    CHECK_STR(sig, "sha256=f08690bbaaecbd1607eb9af71f092a9f7054e2b83f8b9d6a0690744d24fc6059");
    REQUIRE(nt_webhook_sign("key", 3, 1700000000, "The quick brown fox jumps over the lazy dog", 43,
                            sig) == NT_OK);
    CHECK_STR(sig, "sha256=2f658d6aef4f246e91cd741bbcded7479e9605f9d41c9e248122a117e0e1765b");
    /* an empty body signs "<timestamp>." */
    REQUIRE(nt_webhook_sign("Jefe", 4, 0, "", 0, sig) == NT_OK);
    CHECK_STR(sig, "sha256=813f643c8863ba9754215e64cdab172f2e96c1a413d772978aba7398cc864e55");
    CHECK_INT(strlen(sig), NT_WEBHOOK_SIG_SIZE - 1);
}

static void
test_backoff(void)
{
    static const int64_t want[] = {30, 60, 120, 240, 480, 960, 1920, 3600, 3600};

    for (int i = 0; i < 9; i++)
        CHECK_INT(nt_webhook_backoff(i + 1), want[i]);
    CHECK_INT(nt_webhook_backoff(0), 30);
    CHECK_INT(nt_webhook_backoff(1000000), 3600);
}

static void
test_enqueue(void)
{
    nt_config cfg;
    nt_webhook w[2];
    nt_lead l;
    nt_qentry e;
    nt_diag d;
    rows r;
    json_t *j, *entry, *lead;
    json_error_t jerr;

    fresh();
    make_config(&cfg, w, url_refused);
    make_entry("jane@acme.example", &l, &e);
    /* the lead as stored, with its default stage */
    nt_lead_release(&l);
    REQUIRE(nt_store_lead_get(st, e.lead_id, NULL, &l, &d) == NT_OK);
    REQUIRE(nt_store_begin(st, &d) == NT_OK);
    CHECK(nt_webhook_enqueue(st, &cfg, NT_HOOK_HANDOFF, &e, &l, 1790000100, &d) == NT_OK);
    CHECK(nt_store_commit(st, &d) == NT_OK);
    /* again, as a retried transaction would: nothing more */
    CHECK(nt_webhook_enqueue(st, &cfg, NT_HOOK_HANDOFF, &e, &l, 1790000200, &d) == NT_OK);
    /* an event the slack webhook does not take */
    CHECK(nt_webhook_enqueue(st, &cfg, NT_HOOK_CLAIM, &e, &l, 1790000300, &d) == NT_OK);
    read_outbox(&r);
    REQUIRE(r.n == 3);
    CHECK_STR(r.keys[0], "q1-handoff-crm");
    CHECK_STR(r.keys[1], "q1-handoff-team%20chat%2Fsales");
    CHECK_STR(r.keys[2], "q1-claim-crm");
    CHECK_INT(r.next[0], 1790000100);

    j = json_loads(r.payloads[0], 0, &jerr);
    REQUIRE(j != NULL);
    CHECK_STR(json_string_value(json_object_get(j, "id")), "q1-handoff-crm");
    CHECK_STR(json_string_value(json_object_get(j, "event")), "handoff");
    CHECK_STR(json_string_value(json_object_get(j, "occurred_at")), "2026-09-21T14:15:00Z");
    entry = json_object_get(j, "entry");
    lead = json_object_get(j, "lead");
    CHECK_INT(json_integer_value(json_object_get(entry, "id")), 1);
    CHECK_STR(json_string_value(json_object_get(entry, "state")), "open");
    CHECK_STR(json_string_value(json_object_get(entry, "rep")), "ana");
    CHECK_STR(json_string_value(json_object_get(entry, "assigned_by")), "round-robin");
    CHECK_STR(json_string_value(json_object_get(entry, "trigger")), "meeting");
    CHECK(json_real_value(json_object_get(entry, "score")) == 72.5);
    CHECK_STR(json_string_value(json_object_get(entry, "campaign")), "welcome");
    CHECK_STR(json_string_value(json_object_get(entry, "step")), "day-3");
    /* invalid UTF-8 in the reply became U+FFFD, so the payload parses */
    CHECK_STR(json_string_value(json_object_get(entry, "reply_text")),
              "Sure, let's talk <!channel>\nTuesday?\n\xef\xbf\xbd");
    CHECK_STR(json_string_value(json_object_get(entry, "created_at")), "2026-09-21T14:13:20Z");
    CHECK(json_is_null(json_object_get(entry, "claimed_at")));
    CHECK(json_is_null(json_object_get(entry, "claimed_by")));
    CHECK(json_is_null(json_object_get(entry, "reject_reason")));
    CHECK(json_is_null(json_object_get(entry, "note")));
    CHECK(json_is_null(json_object_get(entry, "recycle_campaign")));
    CHECK_INT(json_integer_value(json_object_get(lead, "id")), l.id);
    CHECK_STR(json_string_value(json_object_get(lead, "email")), "jane@acme.example");
    CHECK_STR(json_string_value(json_object_get(lead, "last_name")), "Doe \"JD\"");
    CHECK_STR(json_string_value(json_object_get(lead, "company")), "Acme & Sons");
    CHECK_STR(json_string_value(json_object_get(lead, "stage")), "MQL");
    CHECK(json_is_null(json_object_get(lead, "owner")));
    CHECK_STR(json_string_value(json_object_get(json_object_get(lead, "fields"), "employees")),
              "120");
    json_decref(j);

    j = json_loads(r.payloads[1], 0, &jerr);
    REQUIRE(j != NULL);
    CHECK_INT(json_object_size(j), 1);
    {
        const char *text = json_string_value(json_object_get(j, "text"));
        CHECK_CONTAINS(text, ":incoming_envelope: New hand-off for ana: Jane Doe \"JD\" "
                             "(Acme &amp; Sons) &lt;jane@acme.example&gt; replied \"Sure, let's "
                             "talk &lt;!channel&gt; Tuesday? ");
        CHECK_CONTAINS(text, "\" \xe2\x80\x94 replied with intent meeting; score 72 &gt;= 50");
        CHECK(text && !strchr(text, '\n') && !strstr(text, "<!channel>"));
    }
    json_decref(j);

    nt_lead_release(&l);
    cleanup();
}

static void
test_slack_events(void)
{
    nt_config cfg;
    nt_webhook w[2];
    nt_lead l;
    nt_qentry e;
    nt_diag d;
    rows r;
    json_t *j;

    fresh();
    make_config(&cfg, w, url_refused);
    w[1].events = NT_HOOK_ALL;
    make_entry("jane@acme.example", &l, &e);
    e.state = NT_Q_REJECTED;
    e.claimed_by = "ben";
    e.reject_reason = "no-budget";
    e.note = "call back in Q3";
    cfg.webhooks = &w[1];
    cfg.nwebhooks = 1;
    CHECK(nt_webhook_enqueue(st, &cfg, NT_HOOK_REJECT, &e, &l, 1790000100, &d) == NT_OK);
    e.rep = NULL;
    CHECK(nt_webhook_enqueue(st, &cfg, NT_HOOK_SLA, &e, &l, 1790000100, &d) == NT_OK);
    CHECK(nt_webhook_enqueue(st, &cfg, (nt_hook_event)0x40, &e, &l, 1790000100, &d) == NT_EINVAL);
    read_outbox(&r);
    REQUIRE(r.n == 2);
    j = json_loads(r.payloads[0], 0, NULL);
    CHECK_STR(json_string_value(json_object_get(j, "text")),
              ":x: ben rejected Jane Doe \"JD\" (Acme &amp; Sons) &lt;jane@acme.example&gt;: "
              "no-budget \xe2\x80\x94 call back in Q3");
    json_decref(j);
    j = json_loads(r.payloads[1], 0, NULL);
    CHECK_CONTAINS(json_string_value(json_object_get(j, "text")),
                   ":alarm_clock: Waiting too long: Jane Doe");
    CHECK_CONTAINS(json_string_value(json_object_get(j, "text")), "nobody (no rep available)");
    json_decref(j);
    nt_lead_release(&l);
    cleanup();
}

/* A port refuses: every pass retries on the schedule and nothing is lost. */
static void
test_deliver_refused(void)
{
    nt_config cfg;
    nt_webhook w[2];
    nt_webhook_stats s;
    nt_lead l;
    nt_qentry e;
    nt_diag d;
    rows r;
    int64_t t = 1790000000;

    fresh();
    setenv(env_crm, "s3cr3t-value-never-shown", 1);
    make_config(&cfg, w, url_refused);
    cfg.nwebhooks = 1;
    make_entry("jane@acme.example", &l, &e);
    CHECK(nt_webhook_enqueue(st, &cfg, NT_HOOK_HANDOFF, &e, &l, t, &d) == NT_OK);

    REQUIRE(nt_webhook_deliver(st, &cfg, t, 0, &s, &d) == NT_OK);
    CHECK_INT(s.attempted, 1);
    CHECK_INT(s.delivered, 0);
    CHECK_INT(s.retrying, 1);
    CHECK_INT(s.pending, 1);
    read_outbox(&r);
    CHECK_INT(r.attempts[0], 1);
    CHECK_INT(r.next[0], t + 30);
    CHECK_INT(r.status[0], 0);
    CHECK_CONTAINS(r.errors[0], "no answer: http://127.0.0.1:1: ");

    /* not due yet */
    REQUIRE(nt_webhook_deliver(st, &cfg, t + 29, 0, &s, &d) == NT_OK);
    CHECK_INT(s.attempted, 0);
    CHECK_INT(s.pending, 1);
    /* then 60 s, 120 s, ... later */
    t += 30;
    for (int i = 2; i <= 9; i++) {
        REQUIRE(nt_webhook_deliver(st, &cfg, t, 0, &s, &d) == NT_OK);
        CHECK_INT(s.attempted, 1);
        read_outbox(&r);
        CHECK_INT(r.attempts[0], i);
        CHECK_INT(r.next[0] - t, nt_webhook_backoff(i));
        t = r.next[0];
    }
    CHECK_INT(nt_webhook_backoff(9), 3600); /* the cap reached */
    CHECK(!strstr(r.errors[0], "s3cr3t") && !strstr(r.payloads[0], "s3cr3t"));

    /* --limit */
    CHECK(nt_webhook_enqueue(st, &cfg, NT_HOOK_CLAIM, &e, &l, t, &d) == NT_OK);
    REQUIRE(nt_webhook_deliver(st, &cfg, t, 1, &s, &d) == NT_OK);
    CHECK_INT(s.attempted, 1);
    CHECK_INT(s.pending, 2);

    /* the secret cannot be read: a configuration error, nothing POSTed,
     * the message kept and tried again later */
    unsetenv(env_crm);
    t += 7200;
    CHECK(nt_webhook_deliver(st, &cfg, t, 0, &s, &d) == NT_ECONFIG);
    CHECK_CONTAINS(d.msg, "NT_TEST_HOOK_KEY");
    CHECK_INT(s.attempted, 0);
    CHECK_INT(s.retrying, 2);
    CHECK_INT(s.pending, 2);
    read_outbox(&r);
    CHECK_CONTAINS(r.errors[0], "not sent: ");

    /* a webhook taken out of the configuration: kept, and said so */
    cfg.nwebhooks = 0;
    t += 7200;
    CHECK(nt_webhook_deliver(st, &cfg, t, 0, &s, &d) == NT_OK);
    read_outbox(&r);
    CHECK_CONTAINS(r.errors[0], "not in the configuration any more");
    CHECK_INT(s.pending, 2);
    nt_lead_release(&l);
    cleanup();
}

/* A server that answers one request with `response` and writes what it
 * received into fd_out.  Returns its pid; *port is where it listens. */
static pid_t
one_shot(const char *response, size_t resplen, size_t pad, int fd_out, int *port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    pid_t pid;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 1) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &alen) != 0)
        abort();
    *port = ntohs(a.sin_port);
    if ((pid = fork()) < 0)
        abort();
    if (pid == 0) {
        char buf[65536];
        size_t got = 0;
        int c = accept(s, NULL, NULL);
        /* the request: headers, then Content-Length bytes */
        for (;;) {
            ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);
            char *end, *cl;
            if (n <= 0)
                break;
            got += (size_t)n;
            buf[got] = '\0';
            if ((end = strstr(buf, "\r\n\r\n")) && (cl = strstr(buf, "Content-Length: ")) &&
                got >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10))
                break;
        }
        if (write(fd_out, buf, got) < 0)
            _exit(1);
        if (write(c, response, resplen) < 0)
            _exit(1);
        for (size_t sent = 0; sent < pad;) {
            static const char zeros[8192];
            ssize_t n = write(c, zeros, sizeof(zeros));
            if (n <= 0)
                break;
            sent += (size_t)n;
        }
        close(c);
        _exit(0);
    }
    close(s);
    return pid;
}

static void
test_deliver_http(void)
{
    static const char ok[] = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
    static const char notfound[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 27\r\n"
                                   "Connection: close\r\n\r\n\r\nno such hook\x01\nsecond line";
    static const char huge[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nstart";
    nt_config cfg;
    nt_webhook w[2];
    nt_webhook_stats s;
    nt_lead l;
    nt_qentry e;
    nt_diag d;
    rows r;
    char url[64], req[65536], sig[NT_WEBHOOK_SIG_SIZE], hdr[128];
    const char *body;
    int port, pfd[2], status;
    ssize_t n;
    pid_t pid;
    int64_t t = 1790000000;

    fresh();
    setenv(env_crm, "whsec_unit", 1);
    make_config(&cfg, w, url);
    cfg.nwebhooks = 1;
    make_entry("jane@acme.example", &l, &e);
    CHECK(nt_webhook_enqueue(st, &cfg, NT_HOOK_HANDOFF, &e, &l, t, &d) == NT_OK);

    /* 404 first: retried, and the message says why */
    REQUIRE(pipe(pfd) == 0);
    pid = one_shot(notfound, sizeof(notfound) - 1, 0, pfd[1], &port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
    REQUIRE(nt_webhook_deliver(st, &cfg, t, 0, &s, &d) == NT_OK);
    waitpid(pid, &status, 0);
    close(pfd[1]);
    n = read(pfd[0], req, sizeof(req) - 1);
    close(pfd[0]);
    REQUIRE(n > 0);
    req[n] = '\0';
    CHECK_INT(s.retrying, 1);
    read_outbox(&r);
    CHECK_INT(r.status[0], 404);
    CHECK_CONTAINS(r.errors[0], "HTTP 404: no such hook? (the endpoint refused the message");
    CHECK(!strstr(r.errors[0], "second line"));
    CHECK_INT(r.next[0], t + 30);

    /* what was sent */
    CHECK_CONTAINS(req, "POST /hook HTTP/1.1\r\n");
    CHECK_CONTAINS(req, "\r\nContent-Type: application/json\r\n");
    CHECK_CONTAINS(req, "\r\nUser-Agent: nurture/");
    CHECK_CONTAINS(req, "\r\nIdempotency-Key: q1-handoff-crm\r\n");
    CHECK_CONTAINS(req, "\r\nX-Nurture-Event: handoff\r\n");
    CHECK_CONTAINS(req, "\r\nX-Nurture-Timestamp: 1790000000\r\n");
    body = strstr(req, "\r\n\r\n");
    REQUIRE(body != NULL);
    body += 4;
    CHECK_STR(body, r.payloads[0]);
    REQUIRE(nt_webhook_sign("whsec_unit", 10, t, body, strlen(body), sig) == NT_OK);
    snprintf(hdr, sizeof(hdr), "\r\nX-Nurture-Signature: %s\r\n", sig);
    CHECK_CONTAINS(req, hdr);
    CHECK(!strstr(req, "whsec_unit"));

    /* then 2xx: delivered, the same key */
    t += 30;
    REQUIRE(pipe(pfd) == 0);
    pid = one_shot(ok, sizeof(ok) - 1, 0, pfd[1], &port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
    REQUIRE(nt_webhook_deliver(st, &cfg, t, 0, &s, &d) == NT_OK);
    waitpid(pid, &status, 0);
    close(pfd[1]);
    n = read(pfd[0], req, sizeof(req) - 1);
    close(pfd[0]);
    REQUIRE(n > 0);
    req[n] = '\0';
    CHECK_CONTAINS(req, "\r\nIdempotency-Key: q1-handoff-crm\r\n");
    CHECK_CONTAINS(req, "\r\nX-Nurture-Timestamp: 1790000030\r\n");
    CHECK_INT(s.delivered, 1);
    CHECK_INT(s.pending, 0);
    read_outbox(&r);
    CHECK_INT(r.delivered[0], t);
    CHECK_INT(r.status[0], 204);
    CHECK_INT(r.attempts[0], 2);
    /* delivered messages are not sent again */
    REQUIRE(nt_webhook_deliver(st, &cfg, t + 86400, 0, &s, &d) == NT_OK);
    CHECK_INT(s.attempted, 0);

    /* an unsigned slack webhook: no signature header; a body of 2 MiB is
     * cut off at the read limit and the 200 still counts */
    cfg.webhooks = &w[1];
    CHECK(nt_webhook_enqueue(st, &cfg, NT_HOOK_HANDOFF, &e, &l, t, &d) == NT_OK);
    REQUIRE(pipe(pfd) == 0);
    pid = one_shot(huge, sizeof(huge) - 1, (size_t)2 << 20, pfd[1], &port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
    REQUIRE(nt_webhook_deliver(st, &cfg, t, 0, &s, &d) == NT_OK);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    close(pfd[1]);
    n = read(pfd[0], req, sizeof(req) - 1);
    close(pfd[0]);
    REQUIRE(n > 0);
    req[n] = '\0';
    CHECK(!strstr(req, "X-Nurture-Signature"));
    CHECK_CONTAINS(req, "\r\nIdempotency-Key: q1-handoff-team%20chat%2Fsales\r\n");
    CHECK_INT(s.delivered, 1);
    nt_lead_release(&l);
    cleanup();
}

int
main(void)
{
    RUN(test_sign);
    RUN(test_backoff);
    RUN(test_enqueue);
    RUN(test_slack_events);
    RUN(test_deliver_refused);
    RUN(test_deliver_http);
    return t_done();
}
