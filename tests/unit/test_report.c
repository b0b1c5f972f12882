/*
 * The shared report against a real SQLite store: leads, enrollments,
 * sends, inbound messages, timeline events and queue entries inserted
 * through the store's interface with known counts, then every figure
 * checked number by number at step, campaign and total level (inside the
 * period and at its edges), the medians of claim times, senders against
 * their caps, the campaign filter, and the text, JSON, CSV and HTML
 * renderings, including names from the data that try to break out of them.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nurture/report.h"
#include "nurture/store.h"
#include "t.h"

#define DAY INT64_C(86400)
#define T0 INT64_C(1800000000) /* 2027-01-15T08:00:00Z */
#define T1 (T0 + 7 * DAY)

static char path[256];
static nt_store *st;
static int64_t L[11]; /* L[1]..L[10] */

static void
die(const char *what, const nt_diag *d)
{
    fprintf(stderr, "%s: %s\n", what, d->msg);
    abort();
}

static void
open_store(void)
{
    nt_diag d;
    int fd;

    snprintf(path, sizeof(path), "/tmp/nt-test-report-XXXXXX");
    if ((fd = mkstemp(path)) < 0)
        abort();
    close(fd);
    unlink(path);
    if (nt_store_open_sqlite(path, &st, &d) != NT_OK)
        die("open", &d);
}

static void
close_store(void)
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

static int64_t
lead(const char *email)
{
    nt_lead l;
    nt_diag d;
    int created;
    int64_t id;

    nt_lead_init(&l);
    nt_lead_set(&l, "email", email);
    if (nt_store_lead_upsert(st, &l, "lead", T0 - 30 * DAY, &created, &d) != NT_OK)
        die("lead", &d);
    id = l.id;
    nt_lead_release(&l);
    return id;
}

static void
enroll(int64_t lead_id, const char *campaign, int64_t at)
{
    nt_enrollment e = {0};
    nt_diag d;
    int added;

    e.lead_id = lead_id;
    e.campaign = (char *)campaign;
    e.version = "v1";
    e.state = NT_ENROLL_ACTIVE;
    e.enrolled_at = at;
    e.due_at = e.next_at = at + DAY;
    if (nt_store_enrollment_add(st, &e, &added, &d) != NT_OK || !added)
        die("enroll", &d);
}

/* A send claimed at `created`, then (unless it stays claimed) marked
 * `state` at `at`. */
static int64_t
send_(int64_t lead_id, const char *campaign, const char *step_id, int step, const char *sender,
      nt_send_state state, int64_t created, int64_t at)
{
    nt_send s = {0};
    nt_diag d;
    int claimed;

    s.lead_id = lead_id;
    s.campaign = (char *)campaign;
    s.version = "v1";
    s.step_id = (char *)step_id;
    s.step = step;
    s.sender = (char *)sender;
    s.email = "x@example.com";
    s.created_at = created;
    if (nt_store_send_claim(st, &s, &claimed, &d) != NT_OK || !claimed)
        die("claim", &d);
    if (state == NT_SEND_CLAIMED)
        return s.id;
    s.state = state;
    s.sent_at = state == NT_SEND_SENT ? at : 0;
    s.updated_at = at;
    s.smtp_code = state == NT_SEND_SENT ? 250 : 450;
    if (nt_store_send_mark(st, &s, &d) != NT_OK)
        die("mark", &d);
    return s.id;
}

/* An inbound message of `kind` from lead_id, attributed to send_id (0:
 * to the lead only). */
static void
inbound(int64_t lead_id, int64_t send_id, const char *kind, int hard, const char *reason,
        const char *intent, int64_t at)
{
    static int n;
    nt_inbound in = {0};
    char hash[32];
    nt_diag d;

    snprintf(hash, sizeof(hash), "hash-%d", ++n);
    in.received_at = at;
    in.source = "test";
    in.content_hash = hash;
    in.raw = "x";
    in.rawlen = 1;
    in.kind = (char *)kind;
    in.hard = hard;
    in.reason = (char *)reason;
    in.intent = (char *)intent;
    in.lead_id = lead_id;
    in.send_id = send_id;
    in.classified_at = at;
    if (nt_store_inbound_add(st, &in, &d) != NT_OK)
        die("inbound", &d);
}

static void
event(int64_t lead_id, const char *kind, const char *detail, int64_t at)
{
    nt_diag d;

    if (nt_store_event_add(st, lead_id, at, kind, detail, &d) != NT_OK)
        die("event", &d);
}

/* A hand-off created at `created`; claimed when claimed_at; decided when
 * state is past claimed. */
static int64_t
handoff(int64_t lead_id, const char *campaign, const char *step_id, const char *rep,
        int64_t created, const char *claimed_by, int64_t claimed_at, nt_qstate state,
        int64_t decided_at, const char *reject_reason, const char *recycle)
{
    nt_qentry e = {0};
    nt_diag d;
    int added;

    e.lead_id = lead_id;
    e.rep = (char *)rep;
    e.assigned_by = rep ? "round-robin" : "none";
    e.trigger = "threshold";
    e.reason = "score 60 >= 50";
    e.score = 60;
    e.campaign = (char *)campaign;
    e.step_id = (char *)step_id;
    e.created_at = created;
    if (nt_store_queue_add(st, &e, &added, &d) != NT_OK || !added)
        die("queue add", &d);
    e.state = state;
    e.claimed_at = claimed_at;
    e.claimed_by = (char *)claimed_by;
    e.decided_at = decided_at;
    e.reject_reason = (char *)reject_reason;
    e.recycle_campaign = (char *)recycle;
    if (state != NT_Q_OPEN && nt_store_queue_update(st, &e, &d) != NT_OK)
        die("queue update", &d);
    return e.id;
}

/*
 * The data, with what each row should count for the period [T0, T1):
 *
 *   welcome: intro (step 0), follow-up (step 1), sender hello
 *   reengage: nudge (step 0), sender other (not in the config)
 */
static void
populate(void)
{
    char email[64];
    int64_t s_i1, s_i2, s_i3, s_i4, s_f1, s_f2, s_n8;

    for (int i = 1; i <= 10; i++) {
        snprintf(email, sizeof(email), "l%d@example.com", i);
        L[i] = lead(email);
    }
    /* enrolled: welcome L1-L6 in the period, L7 before; reengage L8, L9
     * in, L1 after */
    for (int i = 1; i <= 6; i++)
        enroll(L[i], "welcome", T0 + 100);
    enroll(L[7], "welcome", T0 - 1000);
    enroll(L[8], "reengage", T0 + DAY);
    enroll(L[9], "reengage", T0 + DAY);
    enroll(L[1], "reengage", T1 + DAY);

    /* welcome/intro: 4 sent, 1 deferred, 1 failed; L7's before */
    s_i1 = send_(L[1], "welcome", "intro", 0, "hello", NT_SEND_SENT, T0 + 200, T0 + 300);
    s_i2 = send_(L[2], "welcome", "intro", 0, "hello", NT_SEND_SENT, T0 + 200, T0 + 300);
    s_i3 = send_(L[3], "welcome", "intro", 0, "hello", NT_SEND_SENT, T0 + 200, T0 + 300);
    s_i4 = send_(L[4], "welcome", "intro", 0, "hello", NT_SEND_SENT, T0 + 200, T0 + 300);
    send_(L[5], "welcome", "intro", 0, "hello", NT_SEND_DEFERRED, T0 + 200, T0 + 400);
    send_(L[6], "welcome", "intro", 0, "hello", NT_SEND_FAILED, T0 + 200, T0 + 400);
    send_(L[7], "welcome", "intro", 0, "hello", NT_SEND_SENT, T0 - 600, T0 - 500);
    /* welcome/follow-up: 2 sent, 1 unknown, 1 claimed (not counted), 1
     * deferred and 1 failed in the last 24 hours */
    s_f1 = send_(L[1], "welcome", "follow-up", 1, "hello", NT_SEND_SENT, T0 + 2 * DAY - 100,
                 T0 + 2 * DAY);
    s_f2 = send_(L[2], "welcome", "follow-up", 1, "hello", NT_SEND_SENT, T0 + 2 * DAY - 100,
                 T0 + 2 * DAY);
    send_(L[7], "welcome", "follow-up", 1, "hello", NT_SEND_UNKNOWN, T0 + 2 * DAY - 100,
          T0 + 2 * DAY);
    send_(L[3], "welcome", "follow-up", 1, "hello", NT_SEND_CLAIMED, T0 + 6 * DAY + 500, 0);
    send_(L[4], "welcome", "follow-up", 1, "hello", NT_SEND_DEFERRED, T0 + 6 * DAY + 600,
          T0 + 6 * DAY + 700);
    send_(L[5], "welcome", "follow-up", 1, "hello", NT_SEND_FAILED, T0 + 6 * DAY + 800,
          T0 + 6 * DAY + 900);
    /* reengage/nudge: L8 and L9 in the period, L10 after */
    s_n8 = send_(L[8], "reengage", "nudge", 0, "other", NT_SEND_SENT, T0 + 3 * DAY - 100,
                 T0 + 3 * DAY);
    send_(L[9], "reengage", "nudge", 0, "other", NT_SEND_SENT, T0 + 6 * DAY, T0 + 6 * DAY + 100);
    send_(L[10], "reengage", "nudge", 0, "other", NT_SEND_SENT, T1 + DAY, T1 + DAY);

    /* what came back */
    inbound(L[1], s_i1, "reply", 0, NULL, "interested", T0 + 1000);
    inbound(L[1], s_i1, "reply", 0, NULL, "pricing", T0 + 2000); /* the same lead again */
    inbound(L[2], s_i2, "reply", 0, NULL, "unsubscribe", T0 + 1000);
    inbound(L[3], s_i3, "bounce", 1, "user-unknown", NULL, T0 + 500);
    inbound(L[4], s_i4, "bounce", 0, "mailbox-full", NULL, T0 + 500);
    inbound(L[4], s_i4, "bounce", 1, "policy", NULL, T0 + 600);
    inbound(L[4], s_i4, "auto-reply", 0, NULL, NULL, T0 + 700);
    inbound(L[4], s_i4, "reply", 0, NULL, "interested", T1 + 10); /* after */
    inbound(L[3], s_i3, "reply", 0, NULL, "interested", T0 - 10); /* before */
    inbound(L[1], s_f1, "reply", 0, NULL, "meeting", T0 + 3 * DAY);
    inbound(L[2], s_f2, "complaint", 0, NULL, NULL, T0 + 3 * DAY);
    inbound(L[2], s_f2, "unsubscribe", 0, NULL, NULL, T0 + 3 * DAY + 1);
    inbound(L[8], s_n8, "reply", 0, NULL, "none", T0 + 4 * DAY);
    inbound(L[8], s_n8, "unknown", 0, NULL, NULL, T0 + 4 * DAY);
    inbound(L[9], 0, "reply", 0, NULL, "pricing", T0 + 5 * DAY); /* from the lead's address */
    inbound(0, 0, "reply", 0, NULL, "interested", T0 + 5 * DAY); /* from nobody we know */

    /* the timeline's engagement */
    event(L[1], "replied",
          "{\"campaign\":\"welcome\",\"step\":\"intro\",\"intent\":\"interested\"}", T0 + 1000);
    event(L[1], "replied",
          "{\"campaign\":\"welcome\",\"step\":\"follow-up\",\"intent\":\"meeting\"}", T0 + 3 * DAY);
    event(L[8], "replied", "{\"campaign\":\"reengage\",\"step\":\"nudge\",\"intent\":\"none\"}",
          T0 + 4 * DAY);
    event(L[9], "replied", "{\"inbound\":15,\"intent\":\"pricing\"}", T0 + 5 * DAY);
    event(L[2], "replied",
          "{\"campaign\":\"welcome\",\"step\":\"intro\",\"intent\":\"unsubscribe\"}", T0 + 1000);
    event(L[3], "replied",
          "{\"campaign\":\"welcome\",\"step\":\"intro\",\"intent\":\"interested\"}", T0 - 10);
    event(L[4], "replied", "not json", T0 + 100);
    event(L[5], "unsubscribed", "{\"campaign\":\"welcome\",\"step\":\"intro\"}", T0 + 100);

    /* hand-offs */
    handoff(L[1], "welcome", "intro", "ana", T0 + 1100, "ana", T0 + 1700, NT_Q_ACCEPTED,
            T0 + 2 * DAY, NULL, NULL);
    handoff(L[8], "reengage", "nudge", "ben", T0 + 4 * DAY, "ben", T0 + 4 * DAY + 3600,
            NT_Q_REJECTED, T0 + 4 * DAY + 7200, "not-a-fit", NULL);
    handoff(L[9], NULL, NULL, "ana", T0 + 5 * DAY, "ana", T0 + 5 * DAY + 1200, NT_Q_CLAIMED, 0,
            NULL, NULL);
    handoff(L[1], "welcome", "follow-up", "ana", T0 + 3 * DAY, "ana", T0 + 3 * DAY + 300,
            NT_Q_RECYCLED, T0 + 3 * DAY + 1000, "bad-timing", "reengage");
    handoff(L[2], "welcome", "intro", "ben", T0 - 5000, "ben", T0 - 4000, NT_Q_REJECTED, T0 + 100,
            "not-a-fit", NULL);
    handoff(L[3], "welcome", "intro", "ana", T0 + 6 * DAY, NULL, 0, NT_Q_OPEN, 0, NULL, NULL);
    handoff(L[4], "welcome", "intro", "ana", T1 + DAY, NULL, 0, NT_Q_OPEN, 0, NULL, NULL);
    handoff(L[6], "welcome", "follow-up", "ben", T0 + 2 * DAY, "cy", T0 + 2 * DAY + 60,
            NT_Q_CLAIMED, 0, NULL, NULL);
    handoff(L[10], NULL, NULL, "ben", T0 + 6 * DAY, "ben", T0 + 6 * DAY + 1800, NT_Q_CLAIMED, 0,
            NULL, NULL);
}

static nt_sender senders[2] = {
    {.id = "hello", .daily_cap = 500},
    {.id = "quiet", .daily_cap = 0},
};

static nt_config cfg = {.senders = senders, .nsenders = 2};

static nt_report
build(int64_t since, int64_t until, const char *campaign)
{
    nt_report_opts o = {since, until, T1 + 3600, campaign};
    nt_report r;
    nt_diag d;

    nt_diag_clear(&d);
    if (nt_report_build(st, &cfg, &o, &r, &d) != NT_OK)
        die("report", &d);
    return r;
}

static const nt_report_campaign *
campaign(const nt_report *r, const char *name)
{
    for (size_t i = 0; i < r->ncampaigns; i++)
        if (!strcmp(r->campaigns[i].name, name))
            return &r->campaigns[i];
    return NULL;
}

static const nt_report_figs *
step(const nt_report *r, const char *c, const char *s)
{
    const nt_report_campaign *cp = campaign(r, c);

    for (size_t i = 0; cp && i < cp->nsteps; i++)
        if (!strcmp(cp->steps[i].id, s))
            return &cp->steps[i].f;
    return NULL;
}

/* Expected values of every figure, in nt_report_fig order. */
static void
check_figs(const char *where, const nt_report_figs *f, const int64_t want[NT_RF_COUNT])
{
    t_checks++;
    if (!f) {
        t_failures++;
        fprintf(stderr, "%s: missing\n", where);
        return;
    }
    for (int i = 0; i < NT_RF_COUNT; i++) {
        t_checks++;
        if (f->v[i] != want[i]) {
            t_failures++;
            fprintf(stderr, "%s: %s == %lld, expected %lld\n", where,
                    nt_report_fig_name((nt_report_fig)i), (long long)f->v[i], (long long)want[i]);
        }
    }
}

static int64_t
reason(const nt_report_figs *f, const char *name)
{
    for (size_t i = 0; f && i < f->nrejects; i++)
        if (!strcmp(f->rejects[i].reason, name))
            return f->rejects[i].count;
    return -1;
}

static const nt_report_claims *
rep(const nt_report *r, const char *name)
{
    for (size_t i = 0; i < r->nrep_claims; i++)
        if (r->rep_claims[i].rep && !strcmp(r->rep_claims[i].rep, name))
            return &r->rep_claims[i];
    return NULL;
}

/*                               enr sent rch def fail unk hard soft blk ooo rep uns cmp eng hand
 * clm acc rej rec */
static const int64_t w_intro[] = {0, 4, 4, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 1, 2, 1, 1, 1, 0};
static const int64_t w_follow[] = {0, 2, 2, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 0, 1, 1};
static const int64_t w_camp[] = {6, 6, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 3, 1, 2, 1};
static const int64_t r_nudge[] = {0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0};
static const int64_t r_camp[] = {2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0};
static const int64_t total[] = {8, 8, 6, 2, 2, 1, 1, 1, 1, 1, 3, 1, 1, 4, 7, 6, 1, 3, 1};

static void
test_figures(void)
{
    nt_report r = build(T0, T1, NULL);
    const nt_report_campaign *w = campaign(&r, "welcome");

    CHECK_INT(r.since, T0);
    CHECK_INT(r.until, T1);
    CHECK_INT(r.ncampaigns, 2);
    REQUIRE(w != NULL);
    REQUIRE(w->nsteps == 2);
    CHECK_STR(w->steps[0].id, "intro"); /* in campaign order, not by name */
    CHECK_STR(w->steps[1].id, "follow-up");
    CHECK_INT(w->steps[0].position, 0);
    CHECK_INT(w->steps[1].position, 1);
    check_figs("welcome/intro", step(&r, "welcome", "intro"), w_intro);
    check_figs("welcome/follow-up", step(&r, "welcome", "follow-up"), w_follow);
    check_figs("welcome", &w->f, w_camp);
    check_figs("reengage/nudge", step(&r, "reengage", "nudge"), r_nudge);
    check_figs("reengage", campaign(&r, "reengage") ? &campaign(&r, "reengage")->f : NULL, r_camp);
    check_figs("total", &r.total, total);

    /* rejections by reason, most first */
    CHECK_INT(reason(step(&r, "welcome", "intro"), "not-a-fit"), 1);
    CHECK_INT(reason(step(&r, "welcome", "follow-up"), "bad-timing"), 1);
    CHECK_INT(reason(&w->f, "not-a-fit"), 1);
    CHECK_INT(reason(&w->f, "bad-timing"), 1);
    CHECK_INT(reason(step(&r, "reengage", "nudge"), "not-a-fit"), 1);
    REQUIRE(r.total.nrejects == 2);
    CHECK_STR(r.total.rejects[0].reason, "not-a-fit");
    CHECK_INT(r.total.rejects[0].count, 2);
    CHECK_STR(r.total.rejects[1].reason, "bad-timing");
    CHECK_INT(r.total.rejects[1].count, 1);

    /* reply rates: replied / sent at a step, leads over leads above */
    CHECK(nt_report_reply_rate(step(&r, "welcome", "intro"), 1) == 0.25);
    CHECK(nt_report_reply_rate(step(&r, "welcome", "follow-up"), 1) == 0.5);
    CHECK(nt_report_reply_rate(&w->f, 0) == 0.25);
    CHECK(nt_report_reply_rate(&r.total, 0) == 0.5);

    /* claims: 60 300 600 1200 1800 3600 */
    CHECK_INT(r.claims.claims, 6);
    CHECK_INT(r.claims.median_seconds, 900);
    REQUIRE(r.nrep_claims == 3);
    CHECK_STR(r.rep_claims[0].rep, "ana");
    CHECK_INT(rep(&r, "ana")->claims, 3);
    CHECK_INT(rep(&r, "ana")->median_seconds, 600);
    CHECK_INT(rep(&r, "ben")->claims, 2);
    CHECK_INT(rep(&r, "ben")->median_seconds, 2700);
    CHECK_INT(rep(&r, "cy")->claims, 1); /* who claimed, not who was assigned */
    CHECK_INT(rep(&r, "cy")->median_seconds, 60);

    /* senders: configured first (even quiet ones), then the others */
    REQUIRE(r.nsenders == 3);
    CHECK_STR(r.senders[0].id, "hello");
    CHECK(r.senders[0].configured);
    CHECK_INT(r.senders[0].daily_cap, 500);
    CHECK_INT(r.senders[0].sent, 6);
    CHECK_INT(r.senders[0].last_24h, 2); /* the claimed and the deferred; not the failed */
    CHECK_STR(r.senders[1].id, "quiet");
    CHECK_INT(r.senders[1].sent, 0);
    CHECK_INT(r.senders[1].last_24h, 0);
    CHECK_STR(r.senders[2].id, "other");
    CHECK(!r.senders[2].configured);
    CHECK_INT(r.senders[2].sent, 2);
    CHECK_INT(r.senders[2].last_24h, 1);
    nt_report_release(&r);
}

static void
test_edges(void)
{
    nt_report r;
    const nt_report_figs *f;

    /* from the beginning: L7's enrollment, send and the early reply,
     * hand-off and engagement count too */
    r = build(0, T1, NULL);
    CHECK_INT(campaign(&r, "welcome")->f.v[NT_RF_ENROLLED], 7);
    f = step(&r, "welcome", "intro");
    CHECK_INT(f->v[NT_RF_SENT], 5);
    CHECK_INT(f->v[NT_RF_REPLIED], 2); /* L1 and L3 */
    CHECK_INT(f->v[NT_RF_ENGAGED], 2);
    CHECK_INT(f->v[NT_RF_HANDED_OFF], 3);
    CHECK_INT(f->v[NT_RF_CLAIMED], 2);
    CHECK_INT(r.claims.claims, 7);
    nt_report_release(&r);

    /* until is exclusive: a period ending at T0 + 300 leaves out the
     * sends at T0 + 300 */
    r = build(T0, T0 + 300, NULL);
    CHECK(step(&r, "welcome", "intro") == NULL || step(&r, "welcome", "intro")->v[NT_RF_SENT] == 0);
    CHECK_INT(r.total.v[NT_RF_ENROLLED], 6);
    CHECK_INT(r.total.v[NT_RF_REJECTED], 1); /* L2's, decided at T0 + 100 */
    nt_report_release(&r);
    r = build(T0, T0 + 301, NULL);
    CHECK_INT(step(&r, "welcome", "intro")->v[NT_RF_SENT], 4);
    nt_report_release(&r);

    /* a period with nothing in it: no campaign shown, everything zero */
    r = build(T1 + 10 * DAY, T1 + 11 * DAY, NULL);
    CHECK_INT(r.ncampaigns, 0);
    for (int i = 0; i < NT_RF_COUNT; i++)
        CHECK_INT(r.total.v[i], 0);
    CHECK_INT(r.claims.median_seconds, -1);
    CHECK(nt_report_reply_rate(&r.total, 0) < 0);
    CHECK_INT(r.nsenders, 2); /* the configured ones */
    nt_report_release(&r);

    /* until 0 means now (the caller's) */
    r = build(T0, 0, NULL);
    CHECK_INT(r.until, T1 + 3600);
    CHECK_INT(r.total.v[NT_RF_SENT], 8);
    nt_report_release(&r);
}

static void
test_campaign_filter(void)
{
    nt_report r = build(T0, T1, "welcome");

    CHECK_INT(r.ncampaigns, 1);
    CHECK_STR(r.campaign, "welcome");
    check_figs("welcome only: total", &r.total, w_camp);
    check_figs("welcome only", &r.campaigns[0].f, w_camp);
    /* claims of welcome's hand-offs only: 60 300 600 */
    CHECK_INT(r.claims.claims, 3);
    CHECK_INT(r.claims.median_seconds, 300);
    /* senders are the sender's whole load */
    CHECK_INT(r.senders[2].sent, 2);
    nt_report_release(&r);

    /* a campaign with nothing in the period is shown, with zeros */
    r = build(T0, T1, "nosuch");
    REQUIRE(r.ncampaigns == 1);
    CHECK_STR(r.campaigns[0].name, "nosuch");
    CHECK_INT(r.campaigns[0].nsteps, 0);
    CHECK_INT(r.total.v[NT_RF_SENT], 0);
    nt_report_release(&r);
}

typedef struct stopper {
    int n;
} stopper;

static int
stop_after_three(void *ctx, const nt_report_row *row)
{
    stopper *s = ctx;

    (void)row;
    return ++s->n >= 3;
}

static void
test_rows(void)
{
    stopper s = {0};
    nt_diag d;

    /* a callback may stop the rows; the store stays usable */
    CHECK(nt_store_report_rows(st, T0, T1, NULL, stop_after_three, &s, &d) == NT_OK);
    CHECK_INT(s.n, 3);
    s.n = -1000000;
    CHECK(nt_store_report_rows(st, T0, T1, NULL, stop_after_three, &s, &d) == NT_OK);
    CHECK(s.n > -1000000 + 50);
    /* and the store can still be written */
    event(L[1], "note", NULL, T0);
}

static void
test_text(void)
{
    nt_report r = build(T0, T1, NULL);
    nt_buf b;

    nt_buf_init(&b, 0);
    REQUIRE(nt_report_text(&r, &b) == NT_OK);
    const char *t = nt_buf_cstr(&b);
    CHECK_CONTAINS(t, "Report for 2027-01-15T08:00:00Z to 2027-01-22T08:00:00Z (end exclusive), "
                      "all campaigns; generated 2027-01-22T09:00:00Z\n");
    /* the overview: one column per campaign, then all */
    CHECK_CONTAINS(t, "\nOverview\n"
                      "                 reengage  welcome  all campaigns\n"
                      "  enrolled              2        6              8\n"
                      "  sent                  2        6              8\n"
                      "  leads sent to         2        4              6\n"
                      "  deferred              0        2              2\n"
                      "  failed                0        2              2\n"
                      "  in doubt              0        1              1\n"
                      "  bounced hard          0        1              1\n"
                      "  bounced soft          0        1              1\n"
                      "  blocked               0        1              1\n"
                      "  out-of-office         0        1              1\n"
                      "  replied               1        1              3\n"
                      "  reply rate        50.0%    25.0%          50.0%\n"
                      "  unsubscribed          0        1              1\n"
                      "  complained            0        1              1\n"
                      "  engaged               1        1              4\n"
                      "  handed off            1        4              7\n"
                      "  claimed               1        3              6\n"
                      "  accepted              0        1              1\n"
                      "  rejected              1        2              3\n"
                      "    not-a-fit           1        1              2\n"
                      "    bad-timing          0        1              1\n"
                      "  recycled              0        1              1\n\n");
    /* a campaign by step: no enrolled per step */
    CHECK_CONTAINS(t, "Campaign welcome, by step\n"
                      "                 intro  follow-up  campaign\n"
                      "  enrolled           -          -         6\n"
                      "  sent               4          2         6\n");
    CHECK_CONTAINS(t, "  reply rate     25.0%      50.0%     25.0%\n");
    CHECK_CONTAINS(t, "  sender  sent  last 24 h       daily cap  of cap\n"
                      "  hello      6          2             500      0%\n"
                      "  quiet      0          0            none       -\n"
                      "  other      2          1  not configured       -\n");
    CHECK_CONTAINS(t, "  rep       claims  median wait\n"
                      "  ana            3          10m\n"
                      "  ben            2          45m\n"
                      "  cy             1           1m\n"
                      "  everyone       6          15m\n");
    nt_buf_release(&b);
    nt_report_release(&r);
}

static json_t *
jget(json_t *o, const char *where)
{
    char key[64];
    const char *p = where, *dot;

    while (o && p) {
        dot = strchr(p, '.');
        snprintf(key, sizeof(key), "%.*s", dot ? (int)(dot - p) : (int)strlen(p), p);
        if (json_is_array(o))
            o = json_array_get(o, (size_t)atoi(key));
        else
            o = json_object_get(o, key);
        p = dot ? dot + 1 : NULL;
    }
    return o;
}

static void
test_json(void)
{
    nt_report r = build(T0, T1, NULL);
    json_error_t jerr;
    json_t *j;
    nt_buf b;

    nt_buf_init(&b, 0);
    REQUIRE(nt_report_json(&r, &b) == NT_OK);
    j = json_loads(nt_buf_cstr(&b), 0, &jerr);
    REQUIRE(j != NULL);
    CHECK_STR(json_string_value(jget(j, "since")), "2027-01-15T08:00:00Z");
    CHECK_STR(json_string_value(jget(j, "until")), "2027-01-22T08:00:00Z");
    CHECK(json_is_null(jget(j, "campaign")));
    for (int i = 0; i < NT_RF_COUNT; i++) {
        char p[64];
        snprintf(p, sizeof(p), "total.%s", nt_report_fig_name((nt_report_fig)i));
        CHECK_INT(json_integer_value(jget(j, p)), total[i]);
        snprintf(p, sizeof(p), "campaigns.1.steps.0.figures.%s",
                 nt_report_fig_name((nt_report_fig)i));
        if (i == NT_RF_ENROLLED)
            CHECK(jget(j, p) == NULL);
        else
            CHECK_INT(json_integer_value(jget(j, p)), w_intro[i]);
    }
    CHECK(json_real_value(jget(j, "total.reply_rate")) == 0.5);
    CHECK_INT(json_integer_value(jget(j, "total.rejected_by_reason.not-a-fit")), 2);
    CHECK_STR(json_string_value(jget(j, "campaigns.1.name")), "welcome");
    CHECK_STR(json_string_value(jget(j, "campaigns.1.steps.1.id")), "follow-up");
    CHECK_INT(json_integer_value(jget(j, "campaigns.1.steps.1.position")), 1);
    CHECK_INT(json_integer_value(jget(j, "campaigns.1.figures.sent")), 6);
    CHECK(json_real_value(jget(j, "campaigns.1.steps.1.figures.reply_rate")) == 0.5);
    CHECK_INT(json_integer_value(jget(j, "campaigns.1.steps.1.figures.recycled")), 1);
    CHECK_STR(json_string_value(jget(j, "senders.2.id")), "other");
    CHECK(json_is_null(jget(j, "senders.2.daily_cap")));
    CHECK_INT(json_integer_value(jget(j, "senders.0.last_24h")), 2);
    CHECK_INT(json_integer_value(jget(j, "claims.median_seconds")), 900);
    CHECK_STR(json_string_value(jget(j, "claims.by_rep.1.rep")), "ben");
    CHECK_INT(json_integer_value(jget(j, "claims.by_rep.1.median_seconds")), 2700);
    json_decref(j);
    nt_buf_release(&b);
    nt_report_release(&r);
}

static void
test_csv(void)
{
    nt_report r = build(T0, T1, NULL);
    nt_buf b;

    nt_buf_init(&b, 0);
    REQUIRE(nt_report_csv(&r, &b) == NT_OK);
    const char *t = nt_buf_cstr(&b);
    CHECK(!strncmp(t,
                   "level,campaign,step,figure,key,value\r\n"
                   "period,,,since,,2027-01-15T08:00:00Z\r\n"
                   "period,,,until,,2027-01-22T08:00:00Z\r\n"
                   "total,,,enrolled,,8\r\n",
                   strlen("level,campaign,step,figure,key,value\r\nperiod,,,since,,"
                          "2027-01-15T08:00:00Z\r\nperiod,,,until,,2027-01-22T08:00:00Z\r\n"
                          "total,,,enrolled,,8\r\n")));
    CHECK_CONTAINS(t, "\r\nstep,welcome,intro,sent,,4\r\n");
    CHECK_CONTAINS(
        t, "\r\nstep,welcome,intro,replied,,1\r\nstep,welcome,intro,reply_rate,,0.2500\r\n");
    CHECK_CONTAINS(t, "\r\ncampaign,welcome,,enrolled,,6\r\n");
    CHECK_CONTAINS(t, "\r\ntotal,,,rejected,not-a-fit,2\r\n");
    CHECK_CONTAINS(t, "\r\nsender,,,last_24h,hello,2\r\nsender,,,daily_cap,hello,500\r\n");
    CHECK_CONTAINS(t, "\r\nsender,,,last_24h,other,1\r\nclaims,,,claims,,6\r\n");
    CHECK_CONTAINS(t, "\r\nclaims,,,median_seconds,,900\r\n");
    CHECK_CONTAINS(t, "\r\nclaims,,,median_seconds,ben,2700\r\n");
    CHECK(strstr(t, "step,welcome,intro,enrolled") == NULL);
    nt_buf_release(&b);
    nt_report_release(&r);
}

static void
test_html(void)
{
    nt_report r = build(T0, T1, NULL);
    nt_buf b;

    nt_buf_init(&b, 0);
    REQUIRE(nt_report_html(&r, &b) == NT_OK);
    const char *t = nt_buf_cstr(&b);
    CHECK(!strncmp(t, "<!DOCTYPE html>\n", 16));
    CHECK_CONTAINS(t, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'");
    CHECK_CONTAINS(t, "aria-label=\"Funnel: enrolled 8, sent to 6, replied 3, handed off 7, "
                      "accepted 1\"");
    CHECK_CONTAINS(t, "<text class=\"p\" x=\"690\" y=\"73\">75.0% of enrolled</text>");
    CHECK_CONTAINS(t, "aria-label=\"Replies per step\"");
    CHECK_CONTAINS(t, "25.0% of 4 sent</text>");
    CHECK_CONTAINS(t, "<h2>Campaign welcome, by step</h2>");
    CHECK_CONTAINS(t, "<tr class=\"sub\"><td>not-a-fit</td><td>1</td><td>1</td>"
                      "<td class=\"agg\">2</td></tr>");
    CHECK_CONTAINS(t, "<span style=\"width:0%\"></span></span>0%</td>");
    CHECK_CONTAINS(t, "<td class=\"agg\">everyone</td><td class=\"agg\">6</td>"
                      "<td class=\"agg\">15m</td>");
    CHECK_CONTAINS(t, "</html>\n");
    /* nothing to fetch, nothing to run */
    CHECK(strstr(t, "<script") == NULL);
    CHECK(strstr(t, "src=") == NULL);
    CHECK(strstr(t, "https:") == NULL);
    CHECK(strstr(t, "url(") == NULL);
    nt_buf_release(&b);
    nt_report_release(&r);
}

/* Names from the data that try to break out of every rendering. */
static void
test_hostile_names(void)
{
    const char *camp = "<script>alert(1)</script>", *stepid = "a&b\"c'd";
    const char *why = "=HYPERLINK(\"http://x\")", *who = "bad\x1b[31m<img src=x>";
    int64_t s;
    nt_report r;
    nt_buf b;
    json_error_t jerr;
    json_t *j;

    s = send_(L[5], camp, stepid, 0, "hello", NT_SEND_SENT, T0 + 10, T0 + 20);
    inbound(L[5], s, "reply", 0, NULL, "interested", T0 + 30);
    handoff(L[5], camp, stepid, who, T0 + 40, who, T0 + 50, NT_Q_REJECTED, T0 + 60, why, NULL);
    r = build(T0, T1, camp);
    REQUIRE(r.ncampaigns == 1);
    CHECK_INT(r.total.v[NT_RF_SENT], 1);
    CHECK_INT(r.total.v[NT_RF_REPLIED], 1);

    nt_buf_init(&b, 0);
    REQUIRE(nt_report_html(&r, &b) == NT_OK);
    CHECK(strstr(nt_buf_cstr(&b), "<script") == NULL);
    CHECK(strstr(nt_buf_cstr(&b), "<img") == NULL);
    CHECK_CONTAINS(nt_buf_cstr(&b), "<td>bad?[31m&lt;img src=x&gt;</td>"); /* no control bytes */
    CHECK_CONTAINS(nt_buf_cstr(&b), "&lt;script&gt;alert(1)&lt;/script&gt;");
    CHECK_CONTAINS(nt_buf_cstr(&b), "a&amp;b&quot;c&#39;d");
    CHECK_CONTAINS(nt_buf_cstr(&b), "=HYPERLINK(&quot;http://x&quot;)");

    nt_buf_reset(&b);
    REQUIRE(nt_report_csv(&r, &b) == NT_OK);
    /* quoted, and kept from being a formula */
    CHECK_CONTAINS(nt_buf_cstr(&b), "\r\ntotal,,,rejected,\"'=HYPERLINK(\"\"http://x\"\")\",1\r\n");
    CHECK_CONTAINS(nt_buf_cstr(&b),
                   "\r\nstep,<script>alert(1)</script>,\"a&b\"\"c'd\",sent,,1\r\n");

    nt_buf_reset(&b);
    REQUIRE(nt_report_json(&r, &b) == NT_OK);
    j = json_loads(nt_buf_cstr(&b), 0, &jerr);
    REQUIRE(j != NULL);
    CHECK_STR(json_string_value(jget(j, "campaigns.0.steps.0.id")), stepid);
    CHECK_STR(json_string_value(jget(j, "claims.by_rep.0.rep")), who);
    json_decref(j);

    nt_buf_reset(&b);
    REQUIRE(nt_report_text(&r, &b) == NT_OK);
    CHECK(strchr(nt_buf_cstr(&b), '\x1b') == NULL); /* no terminal escapes */
    CHECK_CONTAINS(nt_buf_cstr(&b), "bad?[31m<img src=x>");
    nt_buf_release(&b);
    nt_report_release(&r);
}

int
main(void)
{
    open_store();
    populate();
    RUN(test_figures);
    RUN(test_edges);
    RUN(test_campaign_filter);
    RUN(test_rows);
    RUN(test_text);
    RUN(test_json);
    RUN(test_csv);
    RUN(test_html);
    RUN(test_hostile_names); /* adds rows: last */
    close_store();
    return t_done();
}
