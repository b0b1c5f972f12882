/*
 * The SQLite store through its interface: schema creation and migration
 * (WAL, foreign keys, user_version, refusal of a newer schema), lead upsert
 * semantics (one lead per email, fields merged, events recorded), stage
 * changes, the revision watermark, enrollments and the due index, the
 * suppression list (and lifting it), the uniqueness of sends, and what
 * inbound mail needs: stored messages deduplicated by Message-ID and body
 * hash, their decisions rewritten, paused senders, IMAP mailbox state.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nurture/store.h"
#include "t.h"

#define STR2(x) #x
#define STR(x) STR2(x)
#define NT_SCHEMA_VERSION_STR STR(NT_SCHEMA_VERSION)

static char path[256];

static nt_store *
fresh(void)
{
    nt_store *st = NULL;
    nt_diag d;
    int fd;

    snprintf(path, sizeof(path), "/tmp/nt-test-store-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        abort();
    close(fd);
    unlink(path);
    if (nt_store_open_sqlite(path, &st, &d) != NT_OK) {
        fprintf(stderr, "open: %s\n", d.msg);
        abort();
    }
    return st;
}

static void
cleanup(nt_store *st)
{
    char p[300];

    nt_store_close(st);
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

static const char *
pragma(const char *sql)
{
    static char out[64];
    sqlite3 *db;
    sqlite3_stmt *q;

    out[0] = '\0';
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return out;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(db);
    return out;
}

static int
exec_sql(const char *sql)
{
    sqlite3 *db;
    int rc;

    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static void
test_schema(void)
{
    nt_store *st = fresh(), *again = NULL;
    nt_diag d;

    CHECK_STR(pragma("PRAGMA journal_mode"), "wal");
    CHECK_STR(pragma("PRAGMA user_version"), NT_SCHEMA_VERSION_STR);
    CHECK(nt_store_integrity(st, &d) == NT_OK);
    /* reopening is a no-op */
    CHECK(nt_store_open_sqlite(path, &again, &d) == NT_OK);
    nt_store_close(again);
    CHECK_STR(pragma("PRAGMA user_version"), NT_SCHEMA_VERSION_STR);
    /* a database from a newer nurture is refused, not touched */
    CHECK(exec_sql("PRAGMA user_version = 99") == SQLITE_OK);
    again = NULL;
    CHECK(nt_store_open_sqlite(path, &again, &d) == NT_ESTORE);
    CHECK_CONTAINS(d.msg, "newer than this nurture");
    CHECK(again == NULL);
    CHECK_STR(pragma("PRAGMA user_version"), "99");
    cleanup(st);
}

static int64_t
upsert(nt_store *st, const char *email, const char *first, const char *stage, const char *k,
       const char *v, int64_t now, int *created)
{
    nt_lead l;
    nt_diag d;

    nt_lead_init(&l);
    nt_lead_set(&l, "email", email);
    if (first)
        nt_lead_set(&l, "first_name", first);
    if (stage)
        nt_lead_set(&l, "stage", stage);
    if (k)
        nt_lead_set(&l, k, v);
    if (nt_store_lead_upsert(st, &l, "subscriber", now, created, &d) != NT_OK) {
        fprintf(stderr, "upsert: %s\n", d.msg);
        nt_lead_release(&l);
        return -1;
    }
    int64_t id = l.id;
    nt_lead_release(&l);
    return id;
}

typedef struct evs {
    int n;
    char kinds[16][16];
    char details[16][128];
} evs;

static int
collect_event(void *ctx, const nt_event *ev)
{
    evs *e = ctx;
    if (e->n < 16) {
        snprintf(e->kinds[e->n], 16, "%s", ev->kind);
        snprintf(e->details[e->n], 128, "%s", ev->detail ? ev->detail : "");
        e->n++;
    }
    return 0;
}

static void
test_upsert(void)
{
    nt_store *st = fresh();
    nt_lead l;
    nt_diag d;
    int created = -1;
    int64_t count = 0;
    evs e = {0};

    int64_t id = upsert(st, "a@example.com", "Ann", NULL, "industry", "retail", 100, &created);
    CHECK(id > 0);
    CHECK_INT(created, 1);
    /* same email: updated, fields merged, nothing duplicated */
    CHECK_INT(upsert(st, "a@example.com", NULL, "lead", "plan", "pro", 200, &created), id);
    CHECK_INT(created, 0);
    CHECK(nt_store_lead_count(st, &count, &d) == NT_OK);
    CHECK_INT(count, 1);
    REQUIRE(nt_store_lead_get(st, 0, "a@example.com", &l, &d) == NT_OK);
    CHECK_STR(l.first_name, "Ann");
    CHECK_STR(l.stage, "lead");
    CHECK_STR(nt_lead_get(&l, "industry"), "retail");
    CHECK_STR(nt_lead_get(&l, "plan"), "pro");
    CHECK_INT(l.created_at, 100);
    CHECK_INT(l.stage_changed_at, 200);
    nt_lead_release(&l);
    /* the timeline: created, updated (with the changed fields), stage */
    REQUIRE(nt_store_event_list(st, id, collect_event, &e, &d) == NT_OK);
    REQUIRE(e.n == 3);
    CHECK_STR(e.kinds[0], "created");
    CHECK_STR(e.kinds[1], "updated");
    CHECK_CONTAINS(e.details[1], "plan");
    CHECK_STR(e.kinds[2], "stage");
    CHECK_CONTAINS(e.details[2], "\"to\":\"lead\"");
    /* an identical upsert changes nothing and records nothing */
    CHECK_INT(upsert(st, "a@example.com", "Ann", NULL, NULL, NULL, 300, &created), id);
    memset(&e, 0, sizeof(e));
    nt_store_event_list(st, id, collect_event, &e, &d);
    CHECK_INT(e.n, 3);
    /* unknown leads */
    CHECK(nt_store_lead_get(st, 999, NULL, &l, &d) == NT_ENOTFOUND);
    CHECK(nt_store_lead_get(st, 0, "nobody@example.com", &l, &d) == NT_ENOTFOUND);
    CHECK_CONTAINS(d.msg, "nobody@example.com");
    cleanup(st);
}

static int
count_lead(void *ctx, const nt_lead *l)
{
    (void)l;
    (*(int *)ctx)++;
    return 0;
}

static void
test_revisions_and_lists(void)
{
    nt_store *st = fresh();
    nt_diag d;
    int created, n = 0;
    int64_t max = 0;
    nt_lead_filter f = {"lead", 0, 0};

    upsert(st, "a@example.com", "A", "lead", NULL, NULL, 1, &created);
    upsert(st, "b@example.com", "B", "subscriber", NULL, NULL, 1, &created);
    int64_t c = upsert(st, "c@example.com", "C", "lead", NULL, NULL, 1, &created);
    CHECK(nt_store_lead_changed_since(st, 0, &max, count_lead, &n, &d) == NT_OK);
    CHECK_INT(n, 3);
    int64_t mark = max;
    n = 0;
    CHECK(nt_store_lead_changed_since(st, mark, &max, count_lead, &n, &d) == NT_OK);
    CHECK_INT(n, 0);
    CHECK_INT(max, mark);
    /* a stage change bumps the revision; a no-op stage change does not */
    CHECK(nt_store_lead_set_stage(st, c, "MQL", 5, &d) == NT_OK);
    CHECK(nt_store_lead_set_stage(st, c, "MQL", 6, &d) == NT_OK);
    n = 0;
    CHECK(nt_store_lead_changed_since(st, mark, &max, count_lead, &n, &d) == NT_OK);
    CHECK_INT(n, 1);
    n = 0;
    CHECK(nt_store_lead_list(st, &f, count_lead, &n, &d) == NT_OK);
    CHECK_INT(n, 1);
    f.stage = NULL;
    f.limit = 2;
    n = 0;
    CHECK(nt_store_lead_list(st, &f, count_lead, &n, &d) == NT_OK);
    CHECK_INT(n, 2);
    CHECK(nt_store_lead_set_stage(st, 12345, "MQL", 5, &d) == NT_ENOTFOUND);
    cleanup(st);
}

static int
collect_due(void *ctx, const nt_enrollment *e)
{
    int64_t *ids = ctx;
    ids[++ids[0]] = e->lead_id;
    return 0;
}

static void
test_enrollments(void)
{
    nt_store *st = fresh();
    nt_diag d;
    int created, added;
    int64_t ids[8] = {0};
    int64_t a = upsert(st, "a@example.com", "A", "lead", NULL, NULL, 1, &created);
    int64_t b = upsert(st, "b@example.com", "B", "lead", NULL, NULL, 1, &created);
    nt_enrollment e = {0}, got;

    e.lead_id = a;
    e.campaign = "welcome";
    e.version = "v1";
    e.enrolled_at = 1;
    e.due_at = e.next_at = 500;
    CHECK(nt_store_enrollment_add(st, &e, &added, &d) == NT_OK);
    CHECK_INT(added, 1);
    /* a lead enters a campaign once */
    CHECK(nt_store_enrollment_add(st, &e, &added, &d) == NT_OK);
    CHECK_INT(added, 0);
    e.lead_id = b;
    e.next_at = 300;
    CHECK(nt_store_enrollment_add(st, &e, &added, &d) == NT_OK);
    /* due by 400: only b; by 600: b then a */
    CHECK(nt_store_enrollment_due(st, NULL, 400, 0, collect_due, ids, &d) == NT_OK);
    CHECK_INT(ids[0], 1);
    CHECK_INT(ids[1], b);
    ids[0] = 0;
    CHECK(nt_store_enrollment_due(st, "welcome", 600, 0, collect_due, ids, &d) == NT_OK);
    CHECK_INT(ids[0], 2);
    CHECK_INT(ids[1], b);
    CHECK_INT(ids[2], a);
    ids[0] = 0;
    CHECK(nt_store_enrollment_due(st, "other", 600, 0, collect_due, ids, &d) == NT_OK);
    CHECK_INT(ids[0], 0);
    /* completed enrollments leave the due set */
    REQUIRE(nt_store_enrollment_get(st, b, "welcome", &got, &d) == NT_OK);
    got.state = NT_ENROLL_COMPLETED;
    CHECK(nt_store_enrollment_update(st, &got, &d) == NT_OK);
    nt_enrollment_release(&got);
    ids[0] = 0;
    CHECK(nt_store_enrollment_due(st, NULL, 600, 0, collect_due, ids, &d) == NT_OK);
    CHECK_INT(ids[0], 1);
    CHECK_INT(ids[1], a);
    /* sends are unique per lead x campaign version x step */
    CHECK(
        exec_sql("INSERT INTO sends (lead_id, campaign, version, step_id, step, state, "
                 "created_at, updated_at) VALUES (1, 'welcome', 'v1', 'hello', 0, 'sent', 1, 1)") ==
        SQLITE_OK);
    CHECK(
        exec_sql("INSERT INTO sends (lead_id, campaign, version, step_id, step, state, "
                 "created_at, updated_at) VALUES (1, 'welcome', 'v1', 'hello', 0, 'sent', 2, 2)") ==
        SQLITE_CONSTRAINT);
    int sent = 0;
    CHECK(nt_store_step_sent(st, 1, "welcome", "hello", &sent, &d) == NT_OK);
    CHECK_INT(sent, 1);
    CHECK(nt_store_step_sent(st, 1, "welcome", "other", &sent, &d) == NT_OK);
    CHECK_INT(sent, 0);
    /* foreign keys are enforced */
    CHECK(exec_sql("PRAGMA foreign_keys = ON; INSERT INTO events (lead_id, at, kind) "
                   "VALUES (999, 1, 'x')") == SQLITE_CONSTRAINT);
    cleanup(st);
}

static void
test_suppression(void)
{
    nt_store *st = fresh();
    nt_diag d;
    char reason[64];
    int is = -1;

    CHECK(nt_store_suppressed(st, "a@example.com", reason, sizeof(reason), &is, &d) == NT_OK);
    CHECK_INT(is, 0);
    CHECK(nt_store_suppress(st, "a@example.com", "unsubscribed", 10, &d) == NT_OK);
    CHECK(nt_store_suppress(st, "a@example.com", "hard bounce", 20, &d) == NT_OK);
    CHECK(nt_store_suppressed(st, "a@example.com", reason, sizeof(reason), &is, &d) == NT_OK);
    CHECK_INT(is, 1);
    CHECK_STR(reason, "unsubscribed"); /* the first reason stays */
    cleanup(st);
}

static void
test_unsuppress(void)
{
    nt_store *st = fresh();
    nt_diag d;
    int is = -1, was = -1;

    CHECK(nt_store_suppress(st, "a@example.com", "hard bounce", 10, &d) == NT_OK);
    CHECK(nt_store_unsuppress(st, "a@example.com", &was, &d) == NT_OK);
    CHECK_INT(was, 1);
    CHECK(nt_store_suppressed(st, "a@example.com", NULL, 0, &is, &d) == NT_OK);
    CHECK_INT(is, 0);
    CHECK(nt_store_unsuppress(st, "a@example.com", &was, &d) == NT_OK);
    CHECK_INT(was, 0);
    cleanup(st);
}

static nt_inbound
message(const char *msgid, const char *hash, const char *key, const char *kind)
{
    nt_inbound in;

    memset(&in, 0, sizeof(in));
    in.received_at = 100;
    in.source = "imap";
    in.source_key = (char *)key;
    in.message_id = (char *)msgid;
    in.content_hash = (char *)hash;
    in.raw = "Subject: x\r\n\r\nbody\0with a NUL";
    in.rawlen = 30;
    in.kind = (char *)kind;
    in.classified_at = 100;
    return in;
}

static int
count_rows(void *ctx, const nt_inbound *in)
{
    (void)in;
    (*(int *)ctx)++;
    return 0;
}

static void
test_inbound(void)
{
    nt_store *st = fresh();
    nt_inbound a = message("m1@x", "h1", "imap:1:5", "reply"), got;
    nt_inbound b = message(NULL, "h2", NULL, "unknown");
    nt_inbound_filter f = {0};
    int64_t id = -1, lead, aid;
    int created, n = 0;
    nt_diag d;

    lead = upsert(st, "a@example.com", NULL, NULL, NULL, NULL, 1, &created);
    a.lead_id = lead;
    a.intent = "pricing";
    REQUIRE(nt_store_inbound_add(st, &a, &d) == NT_OK);
    aid = a.id;
    CHECK(aid > 0);
    /* the same Message-ID and body: refused, whatever the key */
    a.source_key = "pop3:abc";
    CHECK(nt_store_inbound_add(st, &a, &d) == NT_EEXIST);
    a.id = aid;
    a.source_key = "imap:1:5";
    /* without a Message-ID, the body hash alone decides */
    REQUIRE(nt_store_inbound_add(st, &b, &d) == NT_OK);
    CHECK(nt_store_inbound_add(st, &b, &d) == NT_EEXIST);
    CHECK(nt_store_inbound_find(st, "m1@x", "h1", NULL, &id, &d) == NT_OK);
    CHECK_INT(id, a.id);
    CHECK(nt_store_inbound_find(st, NULL, "h1", NULL, &id, &d) == NT_OK);
    CHECK_INT(id, 0);
    CHECK(nt_store_inbound_find(st, NULL, NULL, "imap:1:5", &id, &d) == NT_OK);
    CHECK_INT(id, a.id);
    CHECK(nt_store_inbound_find(st, NULL, "nope", "imap:9:9", &id, &d) == NT_OK);
    CHECK_INT(id, 0);

    REQUIRE(nt_store_inbound_get(st, a.id, 1, &got, &d) == NT_OK);
    CHECK_STR(got.kind, "reply");
    CHECK_STR(got.intent, "pricing");
    CHECK_INT(got.lead_id, lead);
    CHECK_INT(got.rawlen, 30);
    CHECK(got.raw && memcmp(got.raw, a.raw, 30) == 0); /* bytes as received, NUL included */
    nt_inbound_release(&got);

    a.kind = "bounce";
    a.reason = "user-unknown";
    a.hard = 1;
    a.action = "suppressed a@example.com";
    a.lead_id = 0;
    CHECK(nt_store_inbound_update(st, &a, &d) == NT_OK);
    REQUIRE(nt_store_inbound_get(st, a.id, 0, &got, &d) == NT_OK);
    CHECK_STR(got.kind, "bounce");
    CHECK_STR(got.reason, "user-unknown");
    CHECK_INT(got.hard, 1);
    CHECK_INT(got.lead_id, 0);
    CHECK(got.raw == NULL);
    nt_inbound_release(&got);
    CHECK(nt_store_inbound_get(st, 999, 0, &got, &d) == NT_ENOTFOUND);

    CHECK(nt_store_inbound_list(st, &f, count_rows, &n, &d) == NT_OK);
    CHECK_INT(n, 2);
    f.kind = "unknown";
    n = 0;
    CHECK(nt_store_inbound_list(st, &f, count_rows, &n, &d) == NT_OK);
    CHECK_INT(n, 1);
    cleanup(st);
}

static void
test_pauses_and_mailboxes(void)
{
    nt_store *st = fresh();
    int64_t until = -1, n = -1, lead;
    uint64_t uv = 9, last = 9;
    char reason[64];
    int created;
    nt_diag d;

    CHECK(nt_store_sender_paused(st, "sales", 100, &until, reason, sizeof(reason), &d) == NT_OK);
    CHECK_INT(until, 0);
    CHECK(nt_store_sender_pause(st, "sales", 200, "5.7.1 policy", 100, &d) == NT_OK);
    CHECK(nt_store_sender_paused(st, "sales", 150, &until, reason, sizeof(reason), &d) == NT_OK);
    CHECK_INT(until, 200);
    CHECK_STR(reason, "5.7.1 policy");
    CHECK(nt_store_sender_paused(st, "sales", 200, &until, NULL, 0, &d) == NT_OK);
    CHECK_INT(until, 0); /* over */
    CHECK(nt_store_sender_paused(st, "other", 150, &until, NULL, 0, &d) == NT_OK);
    CHECK_INT(until, 0);

    CHECK(nt_store_mailbox_state_get(st, "imap://h/INBOX", &uv, &last, &d) == NT_OK);
    CHECK_INT(uv, 0);
    CHECK_INT(last, 0);
    CHECK(nt_store_mailbox_state_set(st, "imap://h/INBOX", 77, 12, &d) == NT_OK);
    CHECK(nt_store_mailbox_state_set(st, "imap://h/INBOX", 77, 15, &d) == NT_OK);
    CHECK(nt_store_mailbox_state_get(st, "imap://h/INBOX", &uv, &last, &d) == NT_OK);
    CHECK_INT(uv, 77);
    CHECK_INT(last, 15);

    lead = upsert(st, "a@example.com", NULL, NULL, NULL, NULL, 1, &created);
    CHECK(nt_store_event_add(st, lead, 10, "soft-bounce", NULL, &d) == NT_OK);
    CHECK(nt_store_event_add(st, lead, 20, "soft-bounce", NULL, &d) == NT_OK);
    CHECK(nt_store_event_add(st, lead, 30, "replied", NULL, &d) == NT_OK);
    CHECK(nt_store_event_count(st, lead, "soft-bounce", 15, &n, &d) == NT_OK);
    CHECK_INT(n, 1);
    CHECK(nt_store_event_count(st, lead, "soft-bounce", 0, &n, &d) == NT_OK);
    CHECK_INT(n, 2);
    cleanup(st);
}

static void
test_transactions(void)
{
    nt_store *st = fresh();
    nt_diag d;
    int created;
    int64_t count = -1;

    REQUIRE(nt_store_begin(st, &d) == NT_OK);
    upsert(st, "a@example.com", "A", NULL, NULL, NULL, 1, &created);
    CHECK(nt_store_rollback(st) == NT_OK);
    CHECK(nt_store_lead_count(st, &count, &d) == NT_OK);
    CHECK_INT(count, 0);
    REQUIRE(nt_store_begin(st, &d) == NT_OK);
    upsert(st, "a@example.com", "A", NULL, NULL, NULL, 1, &created);
    CHECK(nt_store_commit(st, &d) == NT_OK);
    CHECK(nt_store_lead_count(st, &count, &d) == NT_OK);
    CHECK_INT(count, 1);
    /* a new lead with no stage and no default is refused */
    nt_lead l;
    nt_lead_init(&l);
    nt_lead_set(&l, "email", "b@example.com");
    CHECK(nt_store_lead_upsert(st, &l, NULL, 1, &created, &d) == NT_EINVAL);
    nt_lead_release(&l);
    CHECK(nt_store_lead_count(st, &count, &d) == NT_OK);
    CHECK_INT(count, 1);
    cleanup(st);
}

static int
collect_send(void *ctx, const nt_send *snd)
{
    int64_t *ids = ctx;
    ids[++ids[0]] = snd->id;
    return 0;
}

static void
test_sends(void)
{
    nt_store *st = fresh();
    nt_diag d;
    int created, claimed = -1;
    int64_t a = upsert(st, "a@example.com", "A", "lead", NULL, NULL, 1, &created);
    int64_t n = -1, ids[8] = {0};
    nt_send snd = {0}, got;

    snd.lead_id = a;
    snd.campaign = "welcome";
    snd.version = "v1";
    snd.step_id = "hello";
    snd.sender = "ana";
    snd.email = "a@example.com";
    snd.created_at = 1000;
    REQUIRE(nt_store_send_claim(st, &snd, &claimed, &d) == NT_OK);
    CHECK_INT(claimed, 1);
    CHECK(snd.id > 0);
    int64_t id = snd.id;
    /* the same lead x campaign version x step can be claimed once only */
    snd.id = 0;
    REQUIRE(nt_store_send_claim(st, &snd, &claimed, &d) == NT_OK);
    CHECK_INT(claimed, 0);
    /* a new version of the campaign is another row */
    snd.version = "v2";
    REQUIRE(nt_store_send_claim(st, &snd, &claimed, &d) == NT_OK);
    CHECK_INT(claimed, 1);
    int64_t id2 = snd.id;
    /* counts against the sender's cap from its creation time */
    CHECK(nt_store_send_count_since(st, "ana", 1000, &n, &d) == NT_OK);
    CHECK_INT(n, 2);
    CHECK(nt_store_send_count_since(st, "ana", 1001, &n, &d) == NT_OK);
    CHECK_INT(n, 0);
    CHECK(nt_store_send_count_since(st, "bob", 0, &n, &d) == NT_OK);
    CHECK_INT(n, 0);

    /* deferred, then due for retry, then reclaimed once */
    memset(&snd, 0, sizeof(snd));
    snd.id = id;
    snd.state = NT_SEND_DEFERRED;
    snd.smtp_code = 451;
    snd.smtp_text = "try later";
    snd.next_attempt_at = 2000;
    snd.updated_at = 1500;
    REQUIRE(nt_store_send_mark(st, &snd, &d) == NT_OK);
    CHECK(nt_store_send_retry_due(st, 1999, 0, collect_send, ids, &d) == NT_OK);
    CHECK_INT(ids[0], 0);
    CHECK(nt_store_send_retry_due(st, 2000, 0, collect_send, ids, &d) == NT_OK);
    CHECK_INT(ids[0], 1);
    CHECK_INT(ids[1], id);
    REQUIRE(nt_store_send_reclaim(st, id, 2000, &claimed, &d) == NT_OK);
    CHECK_INT(claimed, 1);
    REQUIRE(nt_store_send_reclaim(st, id, 2000, &claimed, &d) == NT_OK);
    CHECK_INT(claimed, 0);
    REQUIRE(nt_store_send_get(st, id, &got, &d) == NT_OK);
    CHECK_INT(got.state, NT_SEND_CLAIMED);
    CHECK_INT(got.attempts, 2);
    CHECK_INT(got.smtp_code, 451);
    CHECK_STR(got.email, "a@example.com");
    CHECK_STR(got.sender, "ana");
    nt_send_release(&got);

    /* a run that died leaves claimed rows: they become unknown, not resent */
    CHECK(nt_store_send_orphans_to_unknown(st, 3000, &n, &d) == NT_OK);
    CHECK_INT(n, 2);
    REQUIRE(nt_store_send_get(st, id2, &got, &d) == NT_OK);
    CHECK_INT(got.state, NT_SEND_UNKNOWN);
    CHECK_CONTAINS(got.smtp_text, "stopped");
    nt_send_release(&got);
    ids[0] = 0;
    CHECK(nt_store_send_list(st, NT_SEND_UNKNOWN, 0, 0, collect_send, ids, &d) == NT_OK);
    CHECK_INT(ids[0], 2);
    CHECK(nt_store_send_get(st, 999, &got, &d) == NT_ENOTFOUND);

    /* sent */
    memset(&snd, 0, sizeof(snd));
    snd.id = id;
    snd.state = NT_SEND_SENT;
    snd.smtp_code = 250;
    snd.message_id = "abc@example.com";
    snd.sent_at = snd.updated_at = 4000;
    REQUIRE(nt_store_send_mark(st, &snd, &d) == NT_OK);
    REQUIRE(nt_store_send_get(st, id, &got, &d) == NT_OK);
    CHECK_INT(got.state, NT_SEND_SENT);
    CHECK_STR(got.message_id, "abc@example.com");
    CHECK_INT(got.sent_at, 4000);
    nt_send_release(&got);
    cleanup(st);
}

static void
test_exit_all(void)
{
    nt_store *st = fresh();
    nt_diag d;
    int created, added;
    int64_t a = upsert(st, "a@example.com", "A", "lead", NULL, NULL, 1, &created);
    int64_t ids[8] = {0};
    nt_enrollment e = {0}, got;

    e.lead_id = a;
    e.version = "v1";
    e.due_at = e.next_at = 10;
    e.campaign = "one";
    nt_store_enrollment_add(st, &e, &added, &d);
    e.campaign = "two";
    nt_store_enrollment_add(st, &e, &added, &d);
    CHECK(nt_store_enrollment_exit_all(st, a, "unsubscribed", 20, &d) == NT_OK);
    CHECK(nt_store_enrollment_due(st, NULL, 100, 0, collect_due, ids, &d) == NT_OK);
    CHECK_INT(ids[0], 0);
    REQUIRE(nt_store_enrollment_get(st, a, "two", &got, &d) == NT_OK);
    CHECK_INT(got.state, NT_ENROLL_EXITED);
    CHECK_STR(got.exit_reason, "unsubscribed");
    nt_enrollment_release(&got);
    cleanup(st);
}

int
main(void)
{
    RUN(test_sends);
    RUN(test_exit_all);
    RUN(test_schema);
    RUN(test_upsert);
    RUN(test_revisions_and_lists);
    RUN(test_enrollments);
    RUN(test_suppression);
    RUN(test_transactions);
    RUN(test_unsuppress);
    RUN(test_inbound);
    RUN(test_pauses_and_mailboxes);
    return t_done();
}
