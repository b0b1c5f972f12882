/*
 * The sales side against a real SQLite store: the scoring, reps, queue and
 * webhook sections of the config (and their errors), scores with fading
 * and fit rules, hand-off by rule and by threshold (once while an entry is
 * open), weighted round-robin and owner assignment, pull order with
 * escalation, accept, reject with a recycling reason, recycle, and the
 * timeline events and webhook outbox rows each change writes.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nurture/campaign.h"
#include "nurture/config.h"
#include "nurture/engage.h"
#include "nurture/queue.h"
#include "nurture/score.h"
#include "nurture/store.h"
#include "t.h"

static char tmp[PATH_MAX];
static nt_store *st;
static nt_config cfg;
static nt_campaign_set cs;

#define T0 INT64_C(1790000000) /* 2026-09-21 */
#define DAY INT64_C(86400)

/* REQUIRE for helpers that return a value, and for main. */
#define MUST(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: MUST(%s) failed\n", __FILE__, __LINE__, #cond);                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char config_text[] =
    "stages:\n"
    "  - {name: subscriber, definition: x}\n"
    "  - {name: lead, definition: x}\n"
    "  - {name: MQL, definition: x}\n"
    "  - {name: SQL, definition: x}\n"
    "  - {name: opportunity, definition: x}\n"
    "  - {name: customer, definition: x}\n"
    "lead_fields: [employees]\n"
    "senders:\n"
    "  - {id: hello, name: Hello, address: hello@example.com, postal_address: \"1 Main St\"}\n"
    "scoring:\n"
    "  threshold: 50\n"
    "  engagement:\n"
    "    - {rule: replied, on: replied, points: 30, repeat: yes, half_life: 10d}\n"
    "    - {rule: meeting, on: replied, intent: meeting, points: 40, handoff: yes}\n"
    "    - {rule: not-interested, on: replied, intent: not-interested, points: -100}\n"
    "  fit:\n"
    "    - {rule: senior, field: title, contains: [VP, Director], points: 15}\n"
    "    - {rule: size, field: employees, at_least: 50, points: 10}\n"
    "reps:\n"
    "  - {name: ana, weight: 2}\n"
    "  - {name: ben}\n"
    "  - {name: cy, away: yes}\n"
    "queue:\n"
    "  sla: 24h\n"
    "  handoff_stage: MQL\n"
    "  reject_reasons: [not-a-fit, {reason: bad-timing, recycle: later}]\n"
    "webhooks:\n"
    "  - {name: crm, url: \"http://127.0.0.1:9/hook\", secret: {env: NT_TEST_HOOK_KEY}}\n"
    "  - {name: chat, url: \"http://127.0.0.1:9/chat\", format: slack, events: [handoff]}\n";

static const char campaign_text[] = "name: later\n"
                                    "audience:\n"
                                    "  stage: lead\n"
                                    "sender: hello\n"
                                    "steps:\n"
                                    "  - {id: one, after: 1d, email: one.md}\n"
                                    "  - {id: two, after: 3d, email: one.md}\n";

static void
write_file(const char *name, const char *text)
{
    char p[PATH_MAX + 100];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", tmp, name);
    if (!(f = fopen(p, "wb"))) {
        perror(p);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static nt_err
load(const char *text, nt_config *c, char *msg, size_t msgsz)
{
    char p[PATH_MAX + 100];
    nt_diags ds;
    nt_err err;

    write_file("nurture.yaml", text);
    snprintf(p, sizeof(p), "%s/nurture.yaml", tmp);
    nt_diags_init(&ds, 100);
    err = nt_config_load(p, c, &ds);
    msg[0] = '\0';
    if (ds.len)
        nt_diag_format(&ds.items[0], msg, msgsz);
    nt_diags_release(&ds);
    return err;
}

static int64_t
add_lead(const char *email, const char *title, const char *owner, const char *employees)
{
    nt_lead l;
    int created;
    nt_diag d;

    nt_lead_init(&l);
    nt_lead_set(&l, "email", email);
    nt_lead_set(&l, "title", title);
    nt_lead_set(&l, "owner", owner);
    nt_lead_set(&l, "employees", employees);
    if (nt_store_lead_upsert(st, &l, "lead", T0, &created, &d) != NT_OK)
        abort();
    int64_t id = l.id;
    nt_lead_release(&l);
    return id;
}

/* Record a reply and engage, as inbound processing does. */
static int64_t
reply(int64_t lead, const char *intent, int64_t at)
{
    char detail[128];
    int64_t entry = 0;
    nt_engagement ev = {.kind = "replied", .intent = intent, .text = "hello there"};
    nt_diag d;

    snprintf(detail, sizeof(detail), "{\"intent\":\"%s\"}", intent);
    MUST(nt_store_begin(st, &d) == NT_OK);
    MUST(nt_store_event_add(st, lead, at, "replied", detail, &d) == NT_OK);
    MUST(nt_engage(st, &cfg, lead, &ev, at, &entry, NULL, 0, &d) == NT_OK);
    MUST(nt_store_commit(st, &d) == NT_OK);
    return entry;
}

static int64_t
events_of(int64_t lead, const char *kind)
{
    int64_t n = 0;
    nt_diag d;

    MUST(nt_store_event_count(st, lead, kind, 0, &n, &d) == NT_OK);
    return n;
}

static int
count_msg(void *ctx, const nt_outbox_msg *m)
{
    (void)m;
    ++*(int *)ctx;
    return 0;
}

static int
outbox_size(void)
{
    int n = 0;
    nt_diag d;

    MUST(nt_store_outbox_list(st, 0, 0, count_msg, &n, &d) == NT_OK);
    return n;
}

static void
test_config_sections(void)
{
    CHECK_INT(cfg.scoring.nrules, 5);
    CHECK(cfg.scoring.threshold == 50);
    CHECK(cfg.scoring.rules[0].engagement && cfg.scoring.rules[0].repeat);
    CHECK_INT(cfg.scoring.rules[0].half_life, 10 * DAY);
    CHECK(cfg.scoring.rules[1].handoff);
    CHECK_STR(cfg.scoring.rules[1].intent, "meeting");
    CHECK(!cfg.scoring.rules[3].engagement);
    CHECK_INT(cfg.scoring.rules[3].op, NT_FIT_CONTAINS);
    CHECK_INT(cfg.scoring.rules[3].nvalues, 2);
    CHECK_INT(cfg.scoring.rules[4].op, NT_FIT_AT_LEAST);
    CHECK_INT(cfg.nreps, 3);
    CHECK_INT(cfg.reps[0].weight, 2);
    CHECK(cfg.reps[2].away);
    CHECK_INT(cfg.queue.sla, DAY);
    CHECK_STR(cfg.queue.handoff_stage, "MQL");
    CHECK_INT(cfg.queue.nreasons, 2);
    CHECK_STR(cfg.queue.reasons[1].recycle, "later");
    CHECK(nt_config_rep(&cfg, "ANA") != NULL);
    CHECK(nt_config_rep(&cfg, "dan") == NULL);
    CHECK_INT(cfg.nwebhooks, 2);
    CHECK_INT(cfg.webhooks[0].events, NT_HOOK_ALL);
    CHECK_INT(cfg.webhooks[1].events, NT_HOOK_HANDOFF);
    CHECK_INT(cfg.webhooks[1].format, NT_HOOK_SLACK);
}

static void
test_config_errors(void)
{
    static const struct {
        const char *yaml, *want;
    } bad[] = {
        {"scoring:\n  engagement:\n    - {rule: r, on: replied}\n",
         ":6:7: an engagement rule needs"},
        {"scoring:\n  fit:\n    - {rule: f, field: title, points: 5}\n", "exactly one condition"},
        {"scoring:\n  fit:\n    - {rule: f, field: shoe_size, present: yes, points: 5}\n",
         "unknown lead field 'shoe_size'"},
        {"scoring:\n  engagement:\n    - {rule: r, on: replied, points: lots}\n",
         "'points' must be a number"},
        {"scoring:\n  engagement:\n    - {rule: r, on: clicked, intent: meeting, points: 1}\n",
         "'intent' applies only to rules 'on: replied'"},
        {"reps:\n  - {name: ana}\n  - {name: Ana}\n", "rep 'Ana' is listed twice"},
        {"queue:\n  accept_stage: won\n", "'won' is not one of the stages"},
        {"queue:\n  sla: soon\n", "'sla'"},
        {"webhooks:\n  - {name: w, url: \"ftp://x\"}\n", "must start with https:// or http://"},
        {"webhooks:\n  - {name: w, url: \"https://x\"}\n", "a json webhook needs 'secret"},
        {"webhooks:\n  - {name: w, url: \"https://x\", format: slack, events: [won]}\n",
         "unknown webhook event 'won'"},
    };
    char text[2048], msg[1024];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        nt_config c;
        snprintf(text, sizeof(text),
                 "stages:\n  - {name: lead, definition: x}\n  - {name: MQL, definition: x}\n%s",
                 bad[i].yaml);
        CHECK_INT(load(text, &c, msg, sizeof(msg)), NT_ECONFIG);
        CHECK_CONTAINS(msg, bad[i].want);
        nt_config_release(&c);
    }
}

static void
test_score(void)
{
    nt_lead l;
    nt_score s;
    nt_score_event ev[] = {
        {"replied", T0, "interested"},
        {"replied", T0 + 10 * DAY, "none"},
        {"sent", T0, NULL},
        {"replied", T0 + 100 * DAY, "meeting"}, /* after `now`: does not count */
    };

    nt_lead_init(&l);
    nt_lead_set(&l, "title", "Director of Ops");
    nt_lead_set(&l, "employees", "1,200");
    REQUIRE(nt_score_compute(&cfg.scoring, &l, ev, 4, T0 + 10 * DAY, &s) == NT_OK);
    /* replied: 30 faded over one half-life (15) + 30 fresh; senior 15; size 10 */
    CHECK(fabs(s.total - 70.0) < 1e-9);
    CHECK_INT(s.nparts, 3);
    CHECK_STR(s.parts[0].rule->id, "replied");
    CHECK_INT(s.parts[0].events, 2);
    CHECK(fabs(s.parts[0].points - 45.0) < 1e-9);
    CHECK_INT(s.parts[0].first_at, T0);
    CHECK_INT(s.parts[0].last_at, T0 + 10 * DAY);
    nt_score_release(&s);
    nt_lead_set(&l, "employees", "12");
    nt_lead_set(&l, "title", "Engineer");
    REQUIRE(nt_score_compute(&cfg.scoring, &l, ev, 4, T0 + 10 * DAY, &s) == NT_OK);
    CHECK(fabs(s.total - 45.0) < 1e-9);
    nt_score_release(&s);
    CHECK(fabs(nt_score_fade(40, 20 * DAY, 10 * DAY) - 10.0) < 1e-9);
    CHECK(nt_score_fade(40, 20 * DAY, 0) == 40);
    nt_lead_release(&l);
}

static void
test_handoff_and_round_robin(void)
{
    const char *want[] = {"ana", "ben", "ana", "ana", "ben", "ana"};
    char email[64];
    nt_diag d;

    setenv("NT_TEST_HOOK_KEY", "k3y", 1);
    /* A meeting request hands off at once, whatever the score. */
    for (int i = 0; i < 6; i++) {
        int64_t lead, entry;
        nt_qentry e;
        snprintf(email, sizeof(email), "rr%d@example.com", i);
        lead = add_lead(email, "Engineer", NULL, NULL);
        entry = reply(lead, "meeting", T0 + i);
        REQUIRE(entry > 0);
        REQUIRE(nt_store_queue_get(st, entry, &e, &d) == NT_OK);
        CHECK_STR(e.rep, want[i]);
        CHECK_STR(e.assigned_by, "round-robin");
        CHECK_STR(e.trigger, "meeting");
        CHECK_STR(e.intent, "meeting");
        CHECK_CONTAINS(e.reason, "rule meeting hands off at once");
        CHECK_CONTAINS(e.context, "\"fields\":{\"title\":\"Engineer\"");
        CHECK_INT(events_of(lead, "handoff"), 1);
        CHECK_INT(events_of(lead, "stage"), 1); /* lead -> MQL */
        nt_qentry_release(&e);
    }
    /* Two webhooks hear of each hand-off. */
    CHECK_INT(outbox_size(), 12);
}

static void
test_threshold_owner_and_once(void)
{
    int64_t senior = add_lead("vp@big.example", "VP Sales", NULL, "500");
    int64_t owned = add_lead("owned@example.com", "VP", "Ben", "80");
    int64_t cold = add_lead("cold@example.com", "Engineer", NULL, "3");
    nt_qentry e;
    nt_diag d;

    /* 30 + 15 + 10 = 55 >= 50 */
    int64_t entry = reply(senior, "interested", T0 + DAY);
    REQUIRE(entry > 0);
    REQUIRE(nt_store_queue_get(st, entry, &e, &d) == NT_OK);
    CHECK_STR(e.trigger, "threshold");
    CHECK(fabs(e.score - 55.0) < 1e-9);
    CHECK_CONTAINS(e.reason, "reached the threshold");
    nt_qentry_release(&e);
    /* Not again while open. */
    CHECK_INT(reply(senior, "meeting", T0 + DAY + 60), 0);
    CHECK_INT(events_of(senior, "handoff"), 1);
    /* The owner gets their own lead (as the config spells the rep). */
    entry = reply(owned, "pricing", T0 + DAY);
    REQUIRE(entry > 0);
    REQUIRE(nt_store_queue_get(st, entry, &e, &d) == NT_OK);
    CHECK_STR(e.rep, "ben");
    CHECK_STR(e.assigned_by, "owner");
    nt_qentry_release(&e);
    /* 30 alone is under the threshold; a not-interested reply takes points. */
    CHECK_INT(reply(cold, "interested", T0 + DAY), 0);
    CHECK_INT(reply(cold, "not-interested", T0 + DAY + 1), 0);
    CHECK_INT(events_of(cold, "handoff"), 0);
}

static void
test_pull_decide(void)
{
    nt_qentry e, again;
    int got;
    nt_diag d;
    char msg[512];
    int before;

    /* ana's oldest first. */
    REQUIRE(nt_queue_pull(st, &cfg, "ana", T0 + 2 * DAY, &e, &got, &d) == NT_OK);
    REQUIRE(got);
    CHECK_STR(e.rep, "ana");
    CHECK_INT(e.state, NT_Q_CLAIMED);
    CHECK_STR(e.claimed_by, "ana");
    CHECK_INT(events_of(e.lead_id, "claimed"), 1);
    CHECK_INT(nt_queue_pull(st, &cfg, "dan", T0, &again, &got, &d), NT_EINVAL);
    CHECK_CONTAINS(d.msg, "'dan' is not a rep");

    /* accept moves the lead to the stage after MQL */
    REQUIRE(nt_queue_accept(st, &cfg, e.id, NULL, "call booked", T0 + 2 * DAY, &again, &d) ==
            NT_OK);
    CHECK_INT(again.state, NT_Q_ACCEPTED);
    CHECK_STR(again.note, "call booked");
    {
        nt_lead l;
        REQUIRE(nt_store_lead_get(st, e.lead_id, NULL, &l, &d) == NT_OK);
        CHECK_STR(l.stage, "SQL");
        nt_lead_release(&l);
    }
    nt_qentry_release(&again);
    /* decided once */
    before = outbox_size();
    CHECK_INT(nt_queue_reject(st, &cfg, &cs, e.id, NULL, "not-a-fit", NULL, T0, NULL, &d),
              NT_EINVAL);
    CHECK_CONTAINS(d.msg, "is accepted (claimed by ana): it cannot be rejected");
    CHECK_INT(outbox_size(), before);
    /* unknown reason, unknown entry */
    CHECK_INT(nt_queue_reject(st, &cfg, &cs, e.id, NULL, "too-short", NULL, T0, NULL, &d),
              NT_EINVAL);
    nt_diag_format(&d, msg, sizeof(msg));
    CHECK_CONTAINS(msg, "use one of: not-a-fit, bad-timing");
    CHECK_INT(nt_queue_accept(st, &cfg, 9999, NULL, NULL, T0, NULL, &d), NT_ENOTFOUND);
    nt_qentry_release(&e);

    /* reject with a recycling reason: back to `later`, stage lead, enrolled */
    REQUIRE(nt_queue_pull(st, &cfg, "ben", T0 + 2 * DAY, &e, &got, &d) == NT_OK && got);
    REQUIRE(nt_queue_reject(st, &cfg, &cs, e.id, "ben", "bad-timing", "Q3", T0 + 3 * DAY, &again,
                            &d) == NT_OK);
    CHECK_INT(again.state, NT_Q_RECYCLED);
    CHECK_STR(again.reject_reason, "bad-timing");
    CHECK_STR(again.recycle_campaign, "later");
    {
        nt_enrollment en;
        nt_lead l;
        REQUIRE(nt_store_enrollment_get(st, e.lead_id, "later", &en, &d) == NT_OK);
        CHECK_INT(en.state, NT_ENROLL_ACTIVE);
        CHECK_INT(en.step, 0);
        nt_enrollment_release(&en);
        REQUIRE(nt_store_lead_get(st, e.lead_id, NULL, &l, &d) == NT_OK);
        CHECK_STR(l.stage, "lead");
        nt_lead_release(&l);
    }
    CHECK_INT(events_of(e.lead_id, "rejected"), 1);
    CHECK_INT(events_of(e.lead_id, "recycled"), 1);
    CHECK_INT(nt_queue_recycle(st, &cfg, &cs, e.id, "later", NULL, T0, NULL, &d), NT_EINVAL);
    CHECK_INT(nt_queue_recycle(st, &cfg, &cs, e.id, "nope", NULL, T0, NULL, &d), NT_EINVAL);
    CHECK_CONTAINS(d.msg, "no campaign named 'nope'");
    nt_qentry_release(&again);
    nt_qentry_release(&e);
}

static void
test_escalation(void)
{
    int64_t n;
    nt_qentry e;
    int got;
    nt_diag d;
    nt_queue_filter f = {.state = NT_Q_OPEN, .escalated = 1};

    /* Entries of T0..T0+1d are past the 24 h SLA two days later. */
    REQUIRE(nt_queue_escalate(st, &cfg, T0 + DAY + 3600, &n, &d) == NT_OK);
    CHECK(n >= 4);
    REQUIRE(nt_queue_escalate(st, &cfg, T0 + DAY + 3600, &n, &d) == NT_OK);
    CHECK_INT(n, 0);
    /* An escalated entry assigned to ana is pulled by ben first. */
    REQUIRE(nt_queue_pull(st, &cfg, "ben", T0 + 3 * DAY, &e, &got, &d) == NT_OK && got);
    CHECK(e.escalated_at > 0);
    CHECK_STR(e.rep, "ana");
    CHECK_STR(e.claimed_by, "ben");
    CHECK_INT(events_of(e.lead_id, "escalated"), 1);
    nt_qentry_release(&e);
    (void)f;
}

int
main(void)
{
    char tmpl[] = "/tmp/nt_queue_XXXXXX";
    char p[PATH_MAX + 100], msg[1024];
    nt_diags ds;
    nt_diag d;
    size_t failed;

    if (!mkdtemp(tmpl))
        return 1;
    snprintf(tmp, sizeof(tmp), "%s", tmpl);
    snprintf(p, sizeof(p), "%s/campaigns", tmp);
    MUST(mkdir(p, 0700) == 0);
    write_file("campaigns/one.md",
               "---\nsubject: Hi\n---\nHello {{ first_name | default: \"there\" }}\n");
    write_file("campaigns/later.yaml", campaign_text);
    if (load(config_text, &cfg, msg, sizeof(msg)) != NT_OK) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    nt_diags_init(&ds, 100);
    snprintf(p, sizeof(p), "%s/campaigns", tmp);
    if (nt_campaign_set_load(p, &cs, &failed, &ds) != NT_OK || failed) {
        for (size_t i = 0; i < ds.len; i++) {
            nt_diag_format(&ds.items[i], msg, sizeof(msg));
            fprintf(stderr, "%s\n", msg);
        }
        return 1;
    }
    nt_diags_release(&ds);
    snprintf(p, sizeof(p), "%s/test.db", tmp);
    MUST(nt_store_open_sqlite(p, &st, &d) == NT_OK);

    RUN(test_config_sections);
    RUN(test_config_errors);
    RUN(test_score);
    RUN(test_handoff_and_round_robin);
    RUN(test_threshold_owner_and_once);
    RUN(test_pull_decide);
    RUN(test_escalation);

    nt_store_close(st);
    nt_campaign_set_release(&cs);
    nt_config_release(&cfg);
    return t_done();
}
