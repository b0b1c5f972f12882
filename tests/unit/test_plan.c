/*
 * Enrollment and the due set against a real SQLite file: leads enter by
 * stage and conditions, once; the watermark keeps enrollment proportional
 * to what changed; each due step gets the right status and reason
 * (send, waiting, outside the window, stale, suppressed, exit on stage
 * change, paused); --until projects later steps; an edited campaign moves
 * its leads on by step id.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nurture/campaign.h"
#include "nurture/config.h"
#include "nurture/plan.h"
#include "nurture/store.h"
#include "t.h"

static char dir[256];

static void
write_file(const char *rel, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

static const char config_yaml[] =
    "database: test.db\n"
    "campaigns: campaigns\n"
    "timezone: America/New_York\n"
    "stages:\n"
    "  - {name: subscriber, definition: s}\n"
    "  - {name: lead, definition: l}\n"
    "  - {name: MQL, definition: m}\n"
    "senders:\n"
    "  - {id: hello, name: Dana, address: dana@example.com, postal_address: \"1 Main St\"}\n";

static const char email_md[] = "---\nsubject: Hi {{first_name | there}}\n---\nHello.\n\n"
                               "[Unsubscribe]({{unsubscribe_url}}) {{postal_address}}\n";

static const char campaign_yaml[] =
    "name: seq\n"
    "audience:\n"
    "  stage: lead\n"
    "  where:\n"
    "    - {field: country, not_in: [FR]}\n"
    "sender: hello\n"
    "window: {days: [mon, tue, wed, thu, fri], hours: \"09:00-17:00\"}\n"
    "steps:\n"
    "  - {id: a, after: 0d, email: a.md}\n"
    "  - {id: b, after: 2d, email: b.md}\n"
    "  - {id: c, after: 3d, email: c.md}\n"
    "exit: [reply, unsubscribe, bounce, stage_change]\n";

typedef struct fixture {
    nt_config cfg;
    nt_store *st;
    nt_campaign_set cs;
    nt_tzcache *zones;
} fixture;

static void
setup(fixture *fx, const char *campaign)
{
    nt_diags ds;
    nt_diag d;
    size_t failed;
    char path[512];

    snprintf(dir, sizeof(dir), "/tmp/nt-test-plan-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof(path), "%s/campaigns", dir);
    mkdir(path, 0755);
    write_file("nurture.yaml", config_yaml);
    write_file("campaigns/seq.yaml", campaign);
    write_file("campaigns/a.md", email_md);
    write_file("campaigns/b.md", email_md);
    write_file("campaigns/c.md", email_md);
    nt_diags_init(&ds, 100);
    snprintf(path, sizeof(path), "%s/nurture.yaml", dir);
    if (nt_config_load(path, &fx->cfg, &ds) != NT_OK) {
        for (size_t i = 0; i < ds.len; i++)
            fprintf(stderr, "config: %s\n", ds.items[i].msg);
        abort();
    }
    if (nt_campaign_set_load(fx->cfg.campaigns_dir, &fx->cs, &failed, &ds) != NT_OK || failed) {
        for (size_t i = 0; i < ds.len; i++)
            fprintf(stderr, "campaign: %s:%d: %s\n", ds.items[i].file, ds.items[i].line,
                    ds.items[i].msg);
        abort();
    }
    nt_diags_release(&ds);
    if (nt_store_open_sqlite(fx->cfg.database, &fx->st, &d) != NT_OK)
        abort();
    fx->zones = nt_tzcache_new();
}

static void
teardown(fixture *fx)
{
    char cmd[600];

    nt_tzcache_free(fx->zones);
    nt_store_close(fx->st);
    nt_campaign_set_release(&fx->cs);
    nt_config_release(&fx->cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", dir);
}

static int64_t
utc(const char *s)
{
    int64_t t;
    nt_diag d;
    if (nt_time_parse(s, &t, &d) != NT_OK)
        abort();
    return t;
}

static int64_t
add_lead(fixture *fx, const char *email, const char *stage, const char *tz, const char *country,
         int64_t now)
{
    nt_lead l;
    nt_diag d;
    int created;

    nt_lead_init(&l);
    nt_lead_set(&l, "email", email);
    nt_lead_set(&l, "stage", stage);
    nt_lead_set(&l, "first_name", "Pat");
    if (tz)
        nt_lead_set(&l, "timezone", tz);
    if (country)
        nt_lead_set(&l, "country", country);
    if (nt_store_lead_upsert(fx->st, &l, "subscriber", now, &created, &d) != NT_OK) {
        fprintf(stderr, "upsert: %s\n", d.msg);
        abort();
    }
    int64_t id = l.id;
    nt_lead_release(&l);
    return id;
}

#define MAX_ITEMS 64
typedef struct seen {
    size_t n;
    struct {
        char email[64];
        char step[16];
        nt_plan_status status;
        int64_t when;
        int projected;
        char reason[200];
    } it[MAX_ITEMS];
} seen;

static int
collect(void *ctx, const nt_plan_item *item)
{
    seen *s = ctx;
    if (s->n == MAX_ITEMS)
        return 1;
    snprintf(s->it[s->n].email, 64, "%s", item->lead->email);
    snprintf(s->it[s->n].step, 16, "%s",
             item->step >= 0 ? item->campaign->steps[item->step].id : "-");
    s->it[s->n].status = item->status;
    s->it[s->n].when = item->when;
    s->it[s->n].projected = item->projected;
    snprintf(s->it[s->n].reason, 200, "%s", item->reason);
    s->n++;
    return 0;
}

static nt_err
plan(fixture *fx, int64_t at, int64_t until, seen *s, nt_plan_stats *ps)
{
    nt_plan_opts o = {at, until, NULL, 0};
    nt_diag d;
    memset(s, 0, sizeof(*s));
    return nt_plan_due(fx->st, &fx->cfg, &fx->cs, &o, fx->zones, collect, s, ps, &d);
}

static nt_err
enroll(fixture *fx, int64_t at, nt_enroll_stats *es)
{
    nt_diag d;
    nt_err err = nt_store_begin(fx->st, &d);
    if (err == NT_OK)
        err = nt_enroll(fx->st, &fx->cfg, &fx->cs, NULL, at, fx->zones, es, &d);
    if (err == NT_OK)
        err = nt_store_commit(fx->st, &d);
    else
        fprintf(stderr, "enroll: %s\n", d.msg);
    return err;
}

static void
test_enroll_by_stage_and_conditions(void)
{
    fixture fx;
    nt_enroll_stats es;
    seen s;
    nt_plan_stats ps;
    int64_t mon = utc("2026-11-16T15:00:00Z"); /* Monday 10:00 in New York */

    setup(&fx, campaign_yaml);
    add_lead(&fx, "ny@example.com", "lead", "America/New_York", "US", mon);
    add_lead(&fx, "fr@example.com", "lead", "Europe/Paris", "FR", mon);  /* excluded */
    add_lead(&fx, "sub@example.com", "subscriber", NULL, "US", mon);     /* wrong stage */
    add_lead(&fx, "tokyo@example.com", "lead", "Asia/Tokyo", NULL, mon); /* night there */
    REQUIRE(enroll(&fx, mon, &es) == NT_OK);
    CHECK_INT(es.scanned, 4);
    CHECK_INT(es.enrolled, 2);
    /* nothing changed: the watermark means nothing is even read */
    REQUIRE(enroll(&fx, mon + 60, &es) == NT_OK);
    CHECK_INT(es.scanned, 0);
    CHECK_INT(es.enrolled, 0);

    REQUIRE(plan(&fx, mon, mon, &s, &ps) == NT_OK);
    CHECK_INT(s.n, 1); /* Tokyo's first step is at its 09:00, later */
    CHECK_STR(s.it[0].email, "ny@example.com");
    CHECK_STR(s.it[0].step, "a");
    CHECK_INT(s.it[0].status, NT_PLAN_SEND);

    /* a lead changed into the stage later is enrolled then, once */
    add_lead(&fx, "sub@example.com", "lead", NULL, "US", mon + 120);
    REQUIRE(enroll(&fx, mon + 180, &es) == NT_OK);
    CHECK_INT(es.scanned, 1);
    CHECK_INT(es.enrolled, 1);
    teardown(&fx);
}

static void
test_statuses(void)
{
    fixture fx;
    nt_enroll_stats es;
    seen s;
    nt_plan_stats ps;
    nt_diag d;
    int64_t sat = utc("2026-11-21T15:00:00Z"); /* Saturday 10:00 New York */
    int64_t mon9 = utc("2026-11-23T14:00:00Z");

    setup(&fx, campaign_yaml);
    add_lead(&fx, "a@example.com", "lead", NULL, NULL, sat);
    int64_t b = add_lead(&fx, "b@example.com", "lead", NULL, NULL, sat);
    add_lead(&fx, "c@example.com", "lead", NULL, NULL, sat);
    REQUIRE(enroll(&fx, sat, &es) == NT_OK);
    CHECK_INT(es.enrolled, 3);
    /* Saturday: nothing is due before Monday 09:00 */
    REQUIRE(plan(&fx, sat, sat, &s, &ps) == NT_OK);
    CHECK_INT(s.n, 0);
    /* b is suppressed, c moved to MQL: stage_change exit */
    REQUIRE(nt_store_suppress(fx.st, "b@example.com", "hard bounce", sat, &d) == NT_OK);
    REQUIRE(nt_store_lead_set_stage(fx.st, b + 1, "MQL", sat, &d) == NT_OK);
    REQUIRE(plan(&fx, mon9, mon9, &s, &ps) == NT_OK);
    REQUIRE(s.n == 3);
    CHECK_INT(s.it[0].status, NT_PLAN_SEND);
    CHECK_INT(s.it[1].status, NT_PLAN_SUPPRESSED);
    CHECK_CONTAINS(s.it[1].reason, "hard bounce");
    CHECK_INT(s.it[2].status, NT_PLAN_EXIT);
    CHECK_CONTAINS(s.it[2].reason, "MQL");
    CHECK_INT(ps.by_status[NT_PLAN_SEND], 1);
    /* Monday 11:00, two hours late: still sent */
    REQUIRE(plan(&fx, utc("2026-11-23T16:00:00Z"), utc("2026-11-23T16:00:00Z"), &s, &ps) == NT_OK);
    CHECK_INT(s.it[0].status, NT_PLAN_SEND);
    /* Monday 18:00: the whole day's window was missed (8 h > stale_after
     * 4 h): stale, moved to Tuesday 09:00 */
    REQUIRE(plan(&fx, utc("2026-11-23T23:00:00Z"), utc("2026-11-23T23:00:00Z"), &s, &ps) == NT_OK);
    CHECK_INT(s.it[0].status, NT_PLAN_STALE);
    CHECK_INT(s.it[0].when, utc("2026-11-24T14:00:00Z"));
    /* Cron down until Tuesday 11:00: stale, moved to Wednesday 09:00 */
    REQUIRE(plan(&fx, utc("2026-11-24T16:00:00Z"), utc("2026-11-24T16:00:00Z"), &s, &ps) == NT_OK);
    CHECK_INT(s.it[0].status, NT_PLAN_STALE);
    CHECK_INT(s.it[0].when, utc("2026-11-25T14:00:00Z"));
    teardown(&fx);
}

static void
test_until_projects_later_steps(void)
{
    fixture fx;
    nt_enroll_stats es;
    seen s;
    nt_plan_stats ps;
    int64_t mon = utc("2026-11-16T15:00:00Z");

    setup(&fx, campaign_yaml);
    add_lead(&fx, "a@example.com", "lead", NULL, NULL, mon);
    REQUIRE(enroll(&fx, mon, &es) == NT_OK);
    REQUIRE(plan(&fx, mon, mon + 14 * 86400, &s, &ps) == NT_OK);
    REQUIRE(s.n == 3);
    CHECK_STR(s.it[0].step, "a");
    CHECK_INT(s.it[0].when, mon);
    CHECK_STR(s.it[1].step, "b");
    CHECK_INT(s.it[1].when, mon + 2 * 86400); /* Wednesday 10:00 */
    CHECK(s.it[1].projected);
    CHECK_STR(s.it[2].step, "c");
    /* Wednesday + 3 days is Saturday: moved to Monday 09:00 */
    CHECK_INT(s.it[2].when, utc("2026-11-23T14:00:00Z"));
    teardown(&fx);
}

static void
test_edited_campaign_moves_on_by_step_id(void)
{
    fixture fx;
    nt_enroll_stats es;
    seen s;
    nt_plan_stats ps;
    nt_enrollment e;
    nt_diag d;
    size_t failed;
    nt_diags ds;
    int64_t mon = utc("2026-11-16T15:00:00Z");
    int64_t id;

    setup(&fx, campaign_yaml);
    id = add_lead(&fx, "a@example.com", "lead", NULL, NULL, mon);
    REQUIRE(enroll(&fx, mon, &es) == NT_OK);
    /* as if step a had been sent on Monday */
    REQUIRE(nt_store_enrollment_get(fx.st, id, "seq", &e, &d) == NT_OK);
    char *old_version = strdup(e.version);
    free(e.last_step_id);
    e.last_step_id = strdup("a");
    e.step = 1;
    e.last_sent_at = mon;
    e.due_at = e.next_at = mon + 2 * 86400;
    REQUIRE(nt_store_enrollment_update(fx.st, &e, &d) == NT_OK);
    nt_enrollment_release(&e);

    /* the marketer inserts a new step before b and drops c */
    write_file("campaigns/seq.yaml",
               "name: seq\naudience: {stage: lead}\nsender: hello\n"
               "window: {days: [mon, tue, wed, thu, fri], hours: \"09:00-17:00\"}\n"
               "steps:\n"
               "  - {id: a, after: 0d, email: a.md}\n"
               "  - {id: new, after: 1d, email: c.md}\n"
               "  - {id: b, after: 2d, email: b.md}\n"
               "exit: [reply, unsubscribe, bounce, stage_change]\n");
    nt_campaign_set_release(&fx.cs);
    nt_diags_init(&ds, 10);
    REQUIRE(nt_campaign_set_load(fx.cfg.campaigns_dir, &fx.cs, &failed, &ds) == NT_OK);
    nt_diags_release(&ds);
    CHECK(strcmp(fx.cs.items[0]->version, old_version) != 0);
    REQUIRE(plan(&fx, mon + 2 * 86400, mon + 2 * 86400, &s, &ps) == NT_OK);
    REQUIRE(s.n == 1);
    /* continues after 'a' in the new version: the inserted step */
    CHECK_STR(s.it[0].step, "new");
    CHECK_INT(s.it[0].status, NT_PLAN_SEND);
    free(old_version);
    teardown(&fx);
}

static void
test_paused_and_missing_campaign(void)
{
    fixture fx;
    nt_enroll_stats es;
    seen s;
    nt_plan_stats ps;
    size_t failed;
    nt_diags ds;
    int64_t mon = utc("2026-11-16T15:00:00Z");

    setup(&fx, campaign_yaml);
    add_lead(&fx, "a@example.com", "lead", NULL, NULL, mon);
    REQUIRE(enroll(&fx, mon, &es) == NT_OK);
    nt_campaign_set_release(&fx.cs);
    write_file("campaigns/seq.yaml", "name: seq\nstatus: paused\naudience: {stage: lead}\n"
                                     "sender: hello\nsteps:\n  - {after: 0d, email: a.md}\n");
    nt_diags_init(&ds, 10);
    REQUIRE(nt_campaign_set_load(fx.cfg.campaigns_dir, &fx.cs, &failed, &ds) == NT_OK);
    REQUIRE(plan(&fx, mon, mon, &s, &ps) == NT_OK);
    REQUIRE(s.n == 1);
    CHECK_INT(s.it[0].status, NT_PLAN_PAUSED);
    nt_campaign_set_release(&fx.cs);
    write_file("campaigns/seq.yaml", "name: seq\n  bad: [\n");
    REQUIRE(nt_campaign_set_load(fx.cfg.campaigns_dir, &fx.cs, &failed, &ds) == NT_OK);
    CHECK_INT(failed, 1);
    REQUIRE(plan(&fx, mon, mon, &s, &ps) == NT_OK);
    REQUIRE(s.n == 1);
    CHECK_INT(s.it[0].status, NT_PLAN_NO_CAMPAIGN);
    nt_diags_release(&ds);
    teardown(&fx);
}

static void
test_outside_window(void)
{
    fixture fx;
    nt_enroll_stats es;
    seen s;
    nt_plan_stats ps;
    int64_t mon16 = utc("2026-11-16T21:00:00Z"); /* Monday 16:00 New York */

    setup(&fx, campaign_yaml);
    add_lead(&fx, "a@example.com", "lead", NULL, NULL, mon16);
    REQUIRE(enroll(&fx, mon16, &es) == NT_OK);
    /* 17:30: an hour of window missed, then it closed: Tuesday 09:00 */
    REQUIRE(plan(&fx, mon16 + 5400, mon16 + 5400, &s, &ps) == NT_OK);
    REQUIRE(s.n == 1);
    CHECK_INT(s.it[0].status, NT_PLAN_WINDOW);
    CHECK_INT(s.it[0].when, utc("2026-11-17T14:00:00Z"));
    CHECK_CONTAINS(s.it[0].reason, "outside the send window");
    teardown(&fx);
}

int
main(void)
{
    RUN(test_outside_window);
    RUN(test_enroll_by_stage_and_conditions);
    RUN(test_statuses);
    RUN(test_until_projects_later_steps);
    RUN(test_edited_campaign_moves_on_by_step_id);
    RUN(test_paused_and_missing_campaign);
    return t_done();
}
