/*
 * The SQLite store: the embedded default backend of nt_store.  With its
 * companions store_sqlite_queue.c and store_sqlite_report.c, the only code
 * that includes <sqlite3.h>.
 *
 * One database file in WAL mode with foreign keys on, so a cron run and a
 * person running `nurture lead list` do not block each other.  The schema
 * is created and upgraded by numbered migrations keyed by
 * PRAGMA user_version; each runs in its own transaction, so a crash leaves
 * the file at one version or the next, never in between.  Every statement is
 * prepared once per connection and bound, never assembled from strings.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/buf.h"
#include "nurture/store.h"

#include "store_sqlite_impl.h"

#include "banned.h"

/* ---- schema ---- */

static const char *const migrations[] = {
    /* 1: leads, their timeline, campaigns, enrollments, sends, suppressions */
    "CREATE TABLE leads ("
    "  id INTEGER PRIMARY KEY,"
    "  email TEXT NOT NULL UNIQUE,"
    "  stage TEXT NOT NULL,"
    "  timezone TEXT,"
    "  first_name TEXT, last_name TEXT, company TEXT, title TEXT,"
    "  phone TEXT, owner TEXT, source TEXT,"
    "  fields TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  stage_changed_at INTEGER NOT NULL,"
    "  rev INTEGER NOT NULL);"
    /* No index on stage: enrollment follows the revision index, and a
     * stage index costs a fifth of the import rate for the benefit of
     * `lead list --stage` alone, which scans instead. */
    "CREATE INDEX leads_rev ON leads(rev);"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,"
    "  at INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  detail TEXT);"
    "CREATE INDEX events_lead ON events(lead_id, id);"
    "CREATE TABLE campaigns ("
    "  name TEXT PRIMARY KEY,"
    "  lead_rev INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE enrollments ("
    "  id INTEGER PRIMARY KEY,"
    "  lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,"
    "  campaign TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('active','completed','exited','paused')),"
    "  step INTEGER NOT NULL DEFAULT 0,"
    "  last_step_id TEXT,"
    "  enrolled_at INTEGER NOT NULL,"
    "  last_sent_at INTEGER NOT NULL DEFAULT 0,"
    "  due_at INTEGER NOT NULL,"
    "  next_at INTEGER NOT NULL,"
    "  exit_reason TEXT,"
    "  UNIQUE (lead_id, campaign));"
    "CREATE INDEX enrollments_due ON enrollments(next_at) WHERE state = 'active';"
    "CREATE TABLE sends ("
    "  id INTEGER PRIMARY KEY,"
    "  lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,"
    "  campaign TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  step_id TEXT NOT NULL,"
    "  step INTEGER NOT NULL,"
    "  state TEXT NOT NULL"
    "    CHECK (state IN ('claimed','sent','deferred','failed','unknown')),"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  smtp_code INTEGER,"
    "  smtp_text TEXT,"
    "  message_id TEXT,"
    "  UNIQUE (lead_id, campaign, version, step_id));"
    "CREATE INDEX sends_lead_step ON sends(lead_id, campaign, step_id);"
    "CREATE TABLE suppressions ("
    "  email TEXT PRIMARY KEY,"
    "  reason TEXT NOT NULL,"
    "  at INTEGER NOT NULL);",
    /* 2: what sending needs: the sender and address of each send, retry
     * times, and indexes for retries, crash recovery and the caps */
    "ALTER TABLE sends ADD COLUMN sender TEXT;"
    "ALTER TABLE sends ADD COLUMN email TEXT;"
    "ALTER TABLE sends ADD COLUMN sent_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sends ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX sends_retry ON sends(next_attempt_at) WHERE state = 'deferred';"
    "CREATE INDEX sends_open ON sends(state) WHERE state IN ('claimed', 'unknown');"
    "CREATE INDEX sends_sender ON sends(sender, created_at);",
    /* 3: what comes back: every inbound message with its decision, paused
     * senders, and where each IMAP mailbox was left */
    "CREATE TABLE inbound ("
    "  id INTEGER PRIMARY KEY,"
    "  received_at INTEGER NOT NULL,"
    "  source TEXT NOT NULL,"
    "  source_key TEXT,"
    "  message_id TEXT,"
    "  content_hash TEXT NOT NULL,"
    "  raw BLOB NOT NULL,"
    "  from_addr TEXT,"
    "  subject TEXT,"
    "  kind TEXT NOT NULL,"
    "  rule TEXT,"
    "  reason TEXT,"
    "  status TEXT,"
    "  hard INTEGER NOT NULL DEFAULT 0,"
    "  intent TEXT,"
    "  return_date TEXT,"
    "  detail TEXT,"
    "  lead_id INTEGER REFERENCES leads(id) ON DELETE SET NULL,"
    "  send_id INTEGER REFERENCES sends(id) ON DELETE SET NULL,"
    "  attributed_by TEXT,"
    "  forged INTEGER NOT NULL DEFAULT 0,"
    "  action TEXT,"
    "  classified_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX inbound_dedupe ON inbound(content_hash, coalesce(message_id, ''));"
    "CREATE INDEX inbound_source_key ON inbound(source_key) WHERE source_key IS NOT NULL;"
    "CREATE INDEX inbound_lead ON inbound(lead_id) WHERE lead_id IS NOT NULL;"
    "CREATE INDEX inbound_kind ON inbound(kind, id);"
    "CREATE TABLE sender_pauses ("
    "  sender TEXT PRIMARY KEY,"
    "  until INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  at INTEGER NOT NULL);"
    "CREATE TABLE mailboxes ("
    "  name TEXT PRIMARY KEY,"
    "  uidvalidity INTEGER NOT NULL,"
    "  last_uid INTEGER NOT NULL);"
    "CREATE INDEX events_kind ON events(lead_id, kind, at);",
    /* 4: the sales side: the queue of handed-off leads, the weighted
     * round-robin state, and the webhook outbox */
    "CREATE TABLE queue ("
    "  id INTEGER PRIMARY KEY,"
    "  lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,"
    "  state TEXT NOT NULL,"
    "  rep TEXT,"
    "  assigned_by TEXT NOT NULL,"
    "  trigger TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  score REAL NOT NULL,"
    "  inbound_id INTEGER REFERENCES inbound(id) ON DELETE SET NULL,"
    "  campaign TEXT,"
    "  step_id TEXT,"
    "  intent TEXT,"
    "  reply_text TEXT,"
    "  context TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  claimed_at INTEGER,"
    "  claimed_by TEXT,"
    "  escalated_at INTEGER,"
    "  decided_at INTEGER,"
    "  reject_reason TEXT,"
    "  note TEXT,"
    "  recycle_campaign TEXT);"
    "CREATE UNIQUE INDEX queue_one_open ON queue(lead_id) WHERE state IN ('open', 'claimed');"
    "CREATE INDEX queue_pull ON queue(rep, id) WHERE state = 'open';"
    "CREATE INDEX queue_escalated ON queue(escalated_at, id) "
    "  WHERE state = 'open' AND escalated_at IS NOT NULL;"
    "CREATE INDEX queue_sla ON queue(created_at) WHERE state = 'open' AND escalated_at IS NULL;"
    "CREATE TABLE rotation ("
    "  rep TEXT PRIMARY KEY,"
    "  current INTEGER NOT NULL);"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  webhook TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  key TEXT NOT NULL UNIQUE,"
    "  payload TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  delivered_at INTEGER,"
    "  last_status INTEGER,"
    "  last_error TEXT);"
    "CREATE INDEX outbox_due ON outbox(next_attempt_at, id) WHERE delivered_at IS NULL;",
};

#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

/* ---- prepared statements ---- */

#define LEAD_COLS                                                                                  \
    "id, email, stage, timezone, first_name, last_name, company, title, phone, owner, source, "    \
    "fields, created_at, updated_at, stage_changed_at"

#define SEND_COLS                                                                                  \
    "id, lead_id, campaign, version, step_id, step, state, sender, email, created_at, "            \
    "updated_at, sent_at, next_attempt_at, attempts, smtp_code, smtp_text, message_id"

#define INB_COLS                                                                                   \
    "id, received_at, source, source_key, message_id, content_hash, from_addr, subject, kind, "    \
    "rule, reason, status, hard, intent, return_date, detail, lead_id, send_id, attributed_by, "   \
    "forged, action, classified_at"

#define ENR_COLS                                                                                   \
    "id, lead_id, campaign, version, state, step, last_step_id, enrolled_at, last_sent_at, "       \
    "due_at, next_at, exit_reason"

enum {
    Q_LEAD_BY_EMAIL,
    Q_LEAD_BY_ID,
    Q_LEAD_INSERT,
    Q_LEAD_UPDATE,
    Q_LEAD_LIST,
    Q_LEAD_CHANGED,
    Q_LEAD_STAGE,
    Q_LEAD_COUNT,
    Q_EVENT_ADD,
    Q_EVENT_LIST,
    Q_SUPP_GET,
    Q_SUPP_PUT,
    Q_WM_GET,
    Q_WM_SET,
    Q_ENR_ADD,
    Q_ENR_UPDATE,
    Q_ENR_GET,
    Q_ENR_DUE,
    Q_ENR_DUE_CAMPAIGN,
    Q_ENR_LIST,
    Q_STEP_SENT,
    Q_MAX_REV,
    Q_EXIT_ALL,
    Q_SEND_CLAIM,
    Q_SEND_RECLAIM,
    Q_SEND_MARK,
    Q_SEND_GET,
    Q_SEND_LIST,
    Q_SEND_RETRY,
    Q_SEND_ORPHANS,
    Q_SEND_COUNT,
    Q_UNSUPPRESS,
    Q_EVENT_COUNT,
    Q_INB_FIND,
    Q_INB_FIND_KEY,
    Q_INB_ADD,
    Q_INB_UPDATE,
    Q_INB_GET,
    Q_INB_RAW,
    Q_INB_LIST,
    Q_PAUSE_SET,
    Q_PAUSE_GET,
    Q_MBOX_GET,
    Q_MBOX_SET,
    Q_SAVEPOINT,
    Q_RELEASE,
    Q_ROLLBACK_TO,
    NQ
};

static const char *const sql[NQ] = {
    [Q_LEAD_BY_EMAIL] = "SELECT " LEAD_COLS " FROM leads WHERE email = ?1",
    [Q_LEAD_BY_ID] = "SELECT " LEAD_COLS " FROM leads WHERE id = ?1",
    [Q_LEAD_INSERT] =
        "INSERT INTO leads (email, stage, timezone, first_name, last_name, company, title, "
        "phone, owner, source, fields, created_at, updated_at, stage_changed_at, rev) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?12, ?13) "
        "ON CONFLICT (email) DO NOTHING",
    [Q_LEAD_UPDATE] =
        "UPDATE leads SET stage = ?2, timezone = ?3, first_name = ?4, last_name = ?5, "
        "company = ?6, title = ?7, phone = ?8, owner = ?9, source = ?10, fields = ?11, "
        "updated_at = ?12, stage_changed_at = ?13, rev = ?14 WHERE id = ?1",
    [Q_LEAD_LIST] = "SELECT " LEAD_COLS " FROM leads WHERE (?1 IS NULL OR stage = ?1) "
                    "AND id > ?2 ORDER BY id LIMIT ?3",
    [Q_LEAD_CHANGED] = "SELECT " LEAD_COLS ", rev FROM leads WHERE rev > ?1 ORDER BY rev",
    [Q_LEAD_STAGE] = "UPDATE leads SET stage = ?2, updated_at = ?3, stage_changed_at = ?3, "
                     "rev = ?4 WHERE id = ?1",
    [Q_MAX_REV] = "SELECT coalesce(max(rev), 0) FROM leads",
    [Q_LEAD_COUNT] = "SELECT count(*) FROM leads",
    [Q_EVENT_ADD] = "INSERT INTO events (lead_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
    [Q_EVENT_LIST] = "SELECT 0, id, created_at, 'created', NULL, 0 FROM leads WHERE id = ?1 "
                     "UNION ALL "
                     "SELECT id, lead_id, at, kind, detail, 1 FROM events WHERE lead_id = ?1 "
                     "ORDER BY 6, 1",
    [Q_EXIT_ALL] = "UPDATE enrollments SET state = 'exited', exit_reason = ?2, next_at = ?3 "
                   "WHERE lead_id = ?1 AND state IN ('active', 'paused')",
    [Q_SEND_CLAIM] = "INSERT INTO sends (lead_id, campaign, version, step_id, step, state, "
                     "sender, email, created_at, updated_at, attempts) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, 'claimed', ?6, ?7, ?8, ?8, 1) "
                     "ON CONFLICT (lead_id, campaign, version, step_id) DO NOTHING",
    [Q_SEND_RECLAIM] = "UPDATE sends SET state = 'claimed', attempts = attempts + 1, "
                       "updated_at = ?2 WHERE id = ?1 AND state = 'deferred'",
    [Q_SEND_MARK] = "UPDATE sends SET state = ?2, smtp_code = ?3, smtp_text = ?4, "
                    "message_id = coalesce(?5, message_id), sent_at = ?6, "
                    "next_attempt_at = ?7, updated_at = ?8 WHERE id = ?1",
    [Q_SEND_GET] = "SELECT " SEND_COLS " FROM sends WHERE id = ?1",
    [Q_SEND_LIST] = "SELECT " SEND_COLS " FROM sends WHERE (?1 IS NULL OR state = ?1) "
                    "AND (?2 = 0 OR lead_id = ?2) ORDER BY id DESC LIMIT ?3",
    [Q_SEND_RETRY] = "SELECT " SEND_COLS " FROM sends WHERE state = 'deferred' "
                     "AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
    [Q_SEND_ORPHANS] = "UPDATE sends SET state = 'unknown', updated_at = ?1, "
                       "smtp_text = 'the run sending it stopped before the server answered' "
                       "WHERE state = 'claimed'",
    [Q_SEND_COUNT] = "SELECT count(*) FROM sends WHERE sender = ?1 AND created_at >= ?2 "
                     "AND state IN ('claimed', 'sent', 'deferred', 'unknown')",
    [Q_UNSUPPRESS] = "DELETE FROM suppressions WHERE email = ?1",
    [Q_EVENT_COUNT] = "SELECT count(*) FROM events WHERE lead_id = ?1 AND kind = ?2 AND at >= ?3",
    [Q_INB_FIND] = "SELECT id FROM inbound WHERE content_hash = ?1 "
                   "AND coalesce(message_id, '') = coalesce(?2, '')",
    [Q_INB_FIND_KEY] = "SELECT id FROM inbound WHERE source_key = ?1 ORDER BY id LIMIT 1",
    [Q_INB_ADD] = "INSERT INTO inbound (received_at, source, source_key, message_id, "
                  "content_hash, from_addr, subject, kind, rule, reason, status, hard, intent, "
                  "return_date, detail, lead_id, send_id, attributed_by, forged, action, "
                  "classified_at, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                  "?12, ?13, ?14, ?15, nullif(?16, 0), nullif(?17, 0), ?18, ?19, ?20, ?21, ?22) "
                  "ON CONFLICT DO NOTHING",
    [Q_INB_UPDATE] = "UPDATE inbound SET kind = ?8, rule = ?9, reason = ?10, status = ?11, "
                     "hard = ?12, intent = ?13, return_date = ?14, detail = ?15, "
                     "lead_id = nullif(?16, 0), send_id = nullif(?17, 0), attributed_by = ?18, "
                     "forged = ?19, action = ?20, classified_at = ?21 WHERE id = ?1",
    [Q_INB_GET] = "SELECT " INB_COLS " FROM inbound WHERE id = ?1",
    [Q_INB_RAW] = "SELECT raw FROM inbound WHERE id = ?1",
    [Q_INB_LIST] = "SELECT " INB_COLS " FROM inbound WHERE (?1 IS NULL OR kind = ?1) "
                   "AND (?2 = 0 OR lead_id = ?2) AND id > ?3 ORDER BY id LIMIT ?4",
    [Q_PAUSE_SET] = "INSERT INTO sender_pauses (sender, until, reason, at) VALUES (?1, ?2, ?3, ?4) "
                    "ON CONFLICT (sender) DO UPDATE SET until = excluded.until, "
                    "reason = excluded.reason, at = excluded.at",
    [Q_PAUSE_GET] = "SELECT until, reason FROM sender_pauses WHERE sender = ?1 AND until > ?2",
    [Q_MBOX_GET] = "SELECT uidvalidity, last_uid FROM mailboxes WHERE name = ?1",
    [Q_MBOX_SET] = "INSERT INTO mailboxes (name, uidvalidity, last_uid) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (name) DO UPDATE SET uidvalidity = excluded.uidvalidity, "
                   "last_uid = excluded.last_uid",
    [Q_SAVEPOINT] = "SAVEPOINT lead",
    [Q_RELEASE] = "RELEASE lead",
    [Q_ROLLBACK_TO] = "ROLLBACK TO lead",
    [Q_SUPP_GET] = "SELECT reason FROM suppressions WHERE email = ?1",
    [Q_SUPP_PUT] = "INSERT INTO suppressions (email, reason, at) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (email) DO NOTHING",
    [Q_WM_GET] = "SELECT lead_rev FROM campaigns WHERE name = ?1",
    [Q_WM_SET] = "INSERT INTO campaigns (name, lead_rev) VALUES (?1, ?2) "
                 "ON CONFLICT (name) DO UPDATE SET lead_rev = excluded.lead_rev",
    [Q_ENR_ADD] = "INSERT INTO enrollments (lead_id, campaign, version, state, step, "
                  "last_step_id, enrolled_at, last_sent_at, due_at, next_at, exit_reason) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
                  "ON CONFLICT (lead_id, campaign) DO NOTHING",
    [Q_ENR_UPDATE] = "UPDATE enrollments SET version = ?2, state = ?3, step = ?4, "
                     "last_step_id = ?5, last_sent_at = ?6, due_at = ?7, next_at = ?8, "
                     "exit_reason = ?9 WHERE id = ?1",
    [Q_ENR_GET] = "SELECT " ENR_COLS " FROM enrollments WHERE lead_id = ?1 AND campaign = ?2",
    [Q_ENR_DUE] = "SELECT " ENR_COLS " FROM enrollments WHERE state = 'active' "
                  "AND next_at <= ?1 ORDER BY next_at, id LIMIT ?2",
    [Q_ENR_DUE_CAMPAIGN] = "SELECT " ENR_COLS " FROM enrollments WHERE state = 'active' "
                           "AND next_at <= ?1 AND campaign = ?3 ORDER BY next_at, id LIMIT ?2",
    [Q_ENR_LIST] = "SELECT " ENR_COLS " FROM enrollments WHERE lead_id = ?1 ORDER BY id",
    [Q_STEP_SENT] = "SELECT 1 FROM sends WHERE lead_id = ?1 AND campaign = ?2 "
                    "AND step_id = ?3 LIMIT 1",
};

struct sqlite_store {
    nt_store base;
    sqlite3 *db;
    sqlite3_stmt *stmt[NQ];
    sqlite3_stmt *xstmt[NT_SQ_XSLOTS];
    char path[1024];
    int in_tx;        /* inside nt_store_begin .. commit/rollback */
    int64_t last_rev; /* highest lead revision handed out in this transaction, 0 = unknown */
};

sqlite_store *
S(nt_store *st)
{
    return (sqlite_store *)st;
}

sqlite3 *
nt_sq_db(sqlite_store *s)
{
    return s->db;
}

sqlite3_stmt *
nt_sq_xstmt(sqlite_store *s, int slot, const char *text, nt_diag *d)
{
    if (!s->xstmt[slot]) {
        if (sqlite3_prepare_v3(s->db, text, -1, SQLITE_PREPARE_PERSISTENT, &s->xstmt[slot], NULL) !=
            SQLITE_OK) {
            nt_sq_error(s, d, "preparing a query");
            return NULL;
        }
    } else {
        sqlite3_reset(s->xstmt[slot]);
        sqlite3_clear_bindings(s->xstmt[slot]);
    }
    return s->xstmt[slot];
}

nt_err
nt_sq_error(sqlite_store *s, nt_diag *d, const char *what)
{
    int code = sqlite3_errcode(s->db);
    nt_err err = (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? NT_EBUSY : NT_ESTORE;

    return nt_diag_set(d, err, s->path, 0, 0, "%s: %s", what, sqlite3_errmsg(s->db));
}

/* The statement for q, prepared on first use, reset and unbound. */
static sqlite3_stmt *
stmt(sqlite_store *s, int q, nt_diag *d)
{
    if (!s->stmt[q]) {
        if (sqlite3_prepare_v3(s->db, sql[q], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[q], NULL) !=
            SQLITE_OK) {
            nt_sq_error(s, d, "preparing a query");
            return NULL;
        }
    } else {
        sqlite3_reset(s->stmt[q]);
        sqlite3_clear_bindings(s->stmt[q]);
    }
    return s->stmt[q];
}

void
nt_sq_bind_text(sqlite3_stmt *q, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

char *
nt_sq_col_dup(sqlite3_stmt *q, int i)
{
    const unsigned char *v = sqlite3_column_text(q, i);
    return v ? strdup((const char *)v) : NULL;
}

nt_err
nt_sq_exec(sqlite_store *s, const char *text, nt_diag *d)
{
    char *msg = NULL;

    if (sqlite3_exec(s->db, text, NULL, NULL, &msg) != SQLITE_OK) {
        nt_err err = nt_sq_error(s, d, msg ? msg : "executing");
        sqlite3_free(msg);
        return err;
    }
    return NT_OK;
}

/* Run one of the prepared statements that return no rows. */
static nt_err
step_done(sqlite_store *s, int q, nt_diag *d, const char *what)
{
    sqlite3_stmt *st = stmt(s, q, d);

    if (!st)
        return NT_ESTORE;
    if (sqlite3_step(st) != SQLITE_DONE)
        return nt_sq_error(s, d, what);
    sqlite3_reset(st);
    return NT_OK;
}

/*
 * The next lead revision.  Revisions order lead changes for enrollment's
 * watermark.  Inside a transaction no other connection can write, so the
 * maximum is read once and counted up in memory; outside one, each change
 * reads it afresh.
 */
static nt_err
next_rev(sqlite_store *s, int64_t *rev, nt_diag *d)
{
    sqlite3_stmt *q;

    if (s->in_tx && s->last_rev) {
        *rev = ++s->last_rev;
        return NT_OK;
    }
    if (!(q = stmt(s, Q_MAX_REV, d)))
        return NT_ESTORE;
    if (sqlite3_step(q) != SQLITE_ROW)
        return nt_sq_error(s, d, "reading the lead revision");
    *rev = sqlite3_column_int64(q, 0) + 1;
    sqlite3_reset(q);
    s->last_rev = s->in_tx ? *rev : 0;
    return NT_OK;
}

/* ---- custom fields as a JSON object ---- */

/* The lead keeps its custom fields sorted by name, so this is canonical. */
static char *
fields_to_json(const nt_lead *l)
{
    nt_buf b;

    nt_buf_init(&b, 0);
    nt_buf_addc(&b, '{');
    for (size_t i = 0; i < l->nfields; i++) {
        if (i)
            nt_buf_addc(&b, ',');
        nt_buf_add_json(&b, l->fields[i].name, strlen(l->fields[i].name));
        nt_buf_addc(&b, ':');
        nt_buf_add_json(&b, l->fields[i].value, strlen(l->fields[i].value));
    }
    nt_buf_addc(&b, '}');
    return nt_buf_detach(&b, NULL);
}

static nt_err
fields_from_json(nt_lead *l, const char *text)
{
    json_error_t jerr;
    json_t *o, *v;
    const char *k;
    nt_err err = NT_OK;

    if (!text || !*text)
        return NT_OK;
    o = json_loads(text, 0, &jerr);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return NT_ESTORE;
    }
    json_object_foreach(o, k, v)
    {
        if (json_is_string(v) && (err = nt_lead_set(l, k, json_string_value(v))) != NT_OK)
            break;
    }
    json_decref(o);
    return err;
}

static nt_err
read_lead(sqlite3_stmt *q, nt_lead *l)
{
    static const char *const cols[] = {"email",   "stage", "timezone", "first_name", "last_name",
                                       "company", "title", "phone",    "owner",      "source"};
    nt_err err = NT_OK;

    nt_lead_init(l);
    l->id = sqlite3_column_int64(q, 0);
    for (int i = 0; i < 10 && !err; i++)
        err = nt_lead_set(l, cols[i], (const char *)sqlite3_column_text(q, i + 1));
    if (!err)
        err = fields_from_json(l, (const char *)sqlite3_column_text(q, 11));
    l->created_at = sqlite3_column_int64(q, 12);
    l->updated_at = sqlite3_column_int64(q, 13);
    l->stage_changed_at = sqlite3_column_int64(q, 14);
    if (err)
        nt_lead_release(l);
    return err;
}

/* ---- backend operations ---- */

static void
s_close(nt_store *st)
{
    sqlite_store *s = S(st);

    for (int i = 0; i < NQ; i++)
        sqlite3_finalize(s->stmt[i]);
    for (int i = 0; i < NT_SQ_XSLOTS; i++)
        sqlite3_finalize(s->xstmt[i]);
    sqlite3_close(s->db);
    free(s);
}

static nt_err
s_begin(nt_store *st, nt_diag *d)
{
    nt_err err = nt_sq_exec(S(st), "BEGIN IMMEDIATE", d);

    S(st)->last_rev = 0;
    S(st)->in_tx = err == NT_OK;
    return err;
}

static nt_err
s_commit(nt_store *st, nt_diag *d)
{
    nt_err err = nt_sq_exec(S(st), "COMMIT", d);

    S(st)->last_rev = 0;
    S(st)->in_tx = sqlite3_get_autocommit(S(st)->db) == 0;
    return err;
}

static nt_err
s_rollback(nt_store *st)
{
    S(st)->last_rev = 0;
    S(st)->in_tx = 0;
    if (sqlite3_get_autocommit(S(st)->db))
        return NT_OK;
    return nt_sq_exec(S(st), "ROLLBACK", NULL);
}

static nt_err
s_integrity(nt_store *st, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q;
    nt_err err = NT_OK;

    if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &q, NULL) != SQLITE_OK)
        return nt_sq_error(s, d, "integrity check");
    if (sqlite3_step(q) != SQLITE_ROW)
        err = nt_sq_error(s, d, "integrity check");
    else if (strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0)
        err = nt_diag_set(d, NT_ESTORE, s->path, 0, 0, "integrity check failed: %s",
                          sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return err;
}

static nt_err
add_event(sqlite_store *s, int64_t lead_id, int64_t at, const char *kind, const char *detail,
          nt_diag *d)
{
    sqlite3_stmt *q = stmt(s, Q_EVENT_ADD, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, lead_id);
    sqlite3_bind_int64(q, 2, at);
    nt_sq_bind_text(q, 3, kind);
    nt_sq_bind_text(q, 4, detail);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "recording an event");
    return NT_OK;
}

static void
bind_lead_values(sqlite3_stmt *q, const nt_lead *l, const char *fields)
{
    nt_sq_bind_text(q, 2, l->stage);
    nt_sq_bind_text(q, 3, l->timezone);
    nt_sq_bind_text(q, 4, l->first_name);
    nt_sq_bind_text(q, 5, l->last_name);
    nt_sq_bind_text(q, 6, l->company);
    nt_sq_bind_text(q, 7, l->title);
    nt_sq_bind_text(q, 8, l->phone);
    nt_sq_bind_text(q, 9, l->owner);
    nt_sq_bind_text(q, 10, l->source);
    nt_sq_bind_text(q, 11, fields);
}

static nt_err
insert_lead(sqlite_store *s, nt_lead *l, const char *default_stage, int64_t now, nt_diag *d)
{
    sqlite3_stmt *q = stmt(s, Q_LEAD_INSERT, d);
    char *fields = fields_to_json(l);
    int64_t rev;
    nt_err err = NT_OK;

    if (!q || !fields) {
        free(fields);
        return q ? NT_ENOMEM : NT_ESTORE;
    }
    if (!l->stage && !default_stage) {
        free(fields);
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "a new lead needs a stage");
    }
    if ((err = next_rev(s, &rev, d)) != NT_OK) {
        free(fields);
        return err;
    }
    nt_sq_bind_text(q, 1, l->email);
    bind_lead_values(q, l, fields);
    if (!l->stage)
        nt_sq_bind_text(q, 2, default_stage);
    sqlite3_bind_int64(q, 12, now);
    sqlite3_bind_int64(q, 13, rev);
    if (sqlite3_step(q) != SQLITE_DONE)
        err = nt_sq_error(s, d, "adding a lead");
    sqlite3_reset(q);
    free(fields);
    if (err)
        return err;
    if (sqlite3_changes(s->db) == 0)
        return NT_EEXIST;
    /* The row is the record of creation: the timeline shows it as the
     * "created" event (see Q_EVENT_LIST). */
    l->id = sqlite3_last_insert_rowid(s->db);
    return NT_OK;
}

/* Overlay the non-NULL fields of `in` on `old`; list changed names in `changed`. */
static nt_err
merge_lead(nt_lead *old, const nt_lead *in, json_t *changed)
{
    nt_err err = NT_OK;

    for (size_t i = 1; nt_lead_std_fields[i] && !err; i++) {
        const char *name = nt_lead_std_fields[i];
        const char *nv = nt_lead_get(in, name), *ov = nt_lead_get(old, name);
        if (nv && (!ov || strcmp(nv, ov) != 0)) {
            json_array_append_new(changed, json_string(name));
            err = nt_lead_set(old, name, nv);
        }
    }
    for (size_t i = 0; i < in->nfields && !err; i++) {
        const char *ov = nt_lead_get(old, in->fields[i].name);
        if (!ov || strcmp(ov, in->fields[i].value) != 0) {
            json_array_append_new(changed, json_string(in->fields[i].name));
            err = nt_lead_set(old, in->fields[i].name, in->fields[i].value);
        }
    }
    return err;
}

static nt_err
stage_event(sqlite_store *s, int64_t id, const char *from, const char *to, int64_t now, nt_diag *d)
{
    json_t *o = json_pack("{s:s, s:s}", "from", from, "to", to);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    nt_err err = text ? add_event(s, id, now, "stage", text, d) : NT_ENOMEM;

    free(text);
    json_decref(o);
    return err;
}

static nt_err
update_lead(sqlite_store *s, nt_lead *old, const nt_lead *in, int64_t now, nt_diag *d)
{
    json_t *changed = json_array();
    char *fields = NULL, *detail = NULL, *old_stage = old->stage ? strdup(old->stage) : NULL;
    sqlite3_stmt *q;
    int64_t rev;
    nt_err err;

    if (!changed || !old_stage) {
        err = NT_ENOMEM;
        goto out;
    }
    if ((err = merge_lead(old, in, changed)) != NT_OK || json_array_size(changed) == 0)
        goto out;
    if (strcmp(old_stage, old->stage) != 0)
        old->stage_changed_at = now;
    fields = fields_to_json(old);
    if ((err = next_rev(s, &rev, d)) != NT_OK)
        goto out;
    q = stmt(s, Q_LEAD_UPDATE, d);
    if (!fields || !q) {
        err = q ? NT_ENOMEM : NT_ESTORE;
        goto out;
    }
    sqlite3_bind_int64(q, 1, old->id);
    bind_lead_values(q, old, fields);
    sqlite3_bind_int64(q, 12, now);
    sqlite3_bind_int64(q, 13, old->stage_changed_at);
    sqlite3_bind_int64(q, 14, rev);
    if (sqlite3_step(q) != SQLITE_DONE) {
        err = nt_sq_error(s, d, "updating a lead");
        goto out;
    }
    detail = json_dumps(changed, JSON_COMPACT);
    if ((err = add_event(s, old->id, now, "updated", detail, d)) != NT_OK)
        goto out;
    if (strcmp(old_stage, old->stage) != 0)
        err = stage_event(s, old->id, old_stage, old->stage, now, d);
out:
    free(old_stage);
    free(fields);
    free(detail);
    json_decref(changed);
    return err;
}

static nt_err
s_lead_get(nt_store *st, int64_t id, const char *email, nt_lead *out, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, email ? Q_LEAD_BY_EMAIL : Q_LEAD_BY_ID, d);
    int rc;
    nt_err err;

    if (!q)
        return NT_ESTORE;
    if (email)
        nt_sq_bind_text(q, 1, email);
    else
        sqlite3_bind_int64(q, 1, id);
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(q);
        if (email)
            return nt_diag_set(d, NT_ENOTFOUND, NULL, 0, 0, "no lead with email %s", email);
        return nt_diag_set(d, NT_ENOTFOUND, NULL, 0, 0, "no lead with id %lld", (long long)id);
    }
    if (rc != SQLITE_ROW)
        return nt_sq_error(s, d, "reading a lead");
    err = read_lead(q, out);
    sqlite3_reset(q);
    return err;
}

static nt_err
s_lead_upsert(nt_store *st, nt_lead *lead, const char *default_stage, int64_t now, int *created,
              nt_diag *d)
{
    sqlite_store *s = S(st);
    nt_lead old;
    nt_err err;

    /* Try the insert first: in a bulk import most leads are new, and one
     * statement is atomic by itself, so it needs no savepoint. */
    if (lead->stage || default_stage) {
        err = insert_lead(s, lead, default_stage, now, d);
        if (err != NT_EEXIST) {
            *created = err == NT_OK;
            return err;
        }
    }
    err = s_lead_get(st, 0, lead->email, &old, NULL);
    if (err == NT_ENOTFOUND)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "a new lead needs a stage");
    if (err != NT_OK)
        return nt_sq_error(s, d, "looking up a lead");
    *created = 0;
    lead->id = old.id;
    /* An update writes the row and its events: all or nothing. */
    if ((err = step_done(s, Q_SAVEPOINT, d, "starting a savepoint")) == NT_OK) {
        err = update_lead(s, &old, lead, now, d);
        if (err) {
            step_done(s, Q_ROLLBACK_TO, NULL, "rolling back");
            step_done(s, Q_RELEASE, NULL, "releasing");
        } else {
            err = step_done(s, Q_RELEASE, d, "releasing a savepoint");
        }
    }
    nt_lead_release(&old);
    return err;
}

/*
 * Step through the rows of q, handing each to `row`, which reads it into a
 * value, calls the caller's callback and releases the value; it returns
 * non-zero to stop and sets *err when the row could not be read.
 */
nt_err
nt_sq_iterate(sqlite_store *s, sqlite3_stmt *q, nt_sq_row_fn row, void *ctx, const char *what,
              nt_diag *d)
{
    int rc;
    nt_err err = NT_OK;

    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (row(ctx, q, &err) || err != NT_OK)
            break;
    if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = nt_sq_error(s, d, what);
    sqlite3_reset(q);
    return err;
}

typedef struct lead_rows {
    nt_lead_cb cb;
    void *ctx;
    int64_t *max_rev;
} lead_rows;

static int
lead_row(void *vctx, sqlite3_stmt *q, nt_err *err)
{
    lead_rows *x = vctx;
    nt_lead l;
    int stop;

    if ((*err = read_lead(q, &l)) != NT_OK)
        return 1;
    if (x->max_rev)
        *x->max_rev = sqlite3_column_int64(q, 15);
    stop = x->cb(x->ctx, &l);
    nt_lead_release(&l);
    return stop;
}

static nt_err
iterate_leads(sqlite_store *s, sqlite3_stmt *q, nt_lead_cb cb, void *ctx, int64_t *max_rev,
              nt_diag *d)
{
    lead_rows x = {cb, ctx, max_rev};

    return nt_sq_iterate(s, q, lead_row, &x, "listing leads", d);
}

static nt_err
s_lead_list(nt_store *st, const nt_lead_filter *f, nt_lead_cb cb, void *ctx, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_LEAD_LIST, d);

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, f ? f->stage : NULL);
    sqlite3_bind_int64(q, 2, f ? f->after_id : 0);
    sqlite3_bind_int64(q, 3, f && f->limit > 0 ? f->limit : -1);
    return iterate_leads(s, q, cb, ctx, NULL, d);
}

static nt_err
s_lead_changed_since(nt_store *st, int64_t rev, int64_t *max_rev, nt_lead_cb cb, void *ctx,
                     nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_LEAD_CHANGED, d);

    *max_rev = rev;
    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, rev);
    return iterate_leads(s, q, cb, ctx, max_rev, d);
}

static nt_err
set_stage(sqlite_store *s, const nt_lead *old, const char *stage, int64_t now, nt_diag *d)
{
    sqlite3_stmt *q;
    int64_t rev;
    nt_err err;

    if (!strcmp(old->stage, stage))
        return NT_OK; /* already there: nothing to record */
    if ((err = next_rev(s, &rev, d)) != NT_OK)
        return err;
    if (!(q = stmt(s, Q_LEAD_STAGE, d)))
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, old->id);
    nt_sq_bind_text(q, 2, stage);
    sqlite3_bind_int64(q, 3, now);
    sqlite3_bind_int64(q, 4, rev);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "changing the stage");
    sqlite3_reset(q);
    return stage_event(s, old->id, old->stage, stage, now, d);
}

static nt_err
s_lead_set_stage(nt_store *st, int64_t id, const char *stage, int64_t now, nt_diag *d)
{
    sqlite_store *s = S(st);
    nt_lead old;
    nt_err err;

    if ((err = s_lead_get(st, id, NULL, &old, d)) != NT_OK)
        return err;
    if ((err = step_done(s, Q_SAVEPOINT, d, "starting a savepoint")) == NT_OK) {
        err = set_stage(s, &old, stage, now, d);
        if (err) {
            step_done(s, Q_ROLLBACK_TO, NULL, "rolling back");
            step_done(s, Q_RELEASE, NULL, "releasing");
        } else {
            err = step_done(s, Q_RELEASE, d, "releasing a savepoint");
        }
    }
    nt_lead_release(&old);
    return err;
}

static nt_err
s_lead_count(nt_store *st, int64_t *out, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_LEAD_COUNT, d);

    if (!q)
        return NT_ESTORE;
    if (sqlite3_step(q) != SQLITE_ROW)
        return nt_sq_error(s, d, "counting leads");
    *out = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return NT_OK;
}

static nt_err
s_event_add(nt_store *st, int64_t lead_id, int64_t at, const char *kind, const char *detail,
            nt_diag *d)
{
    return add_event(S(st), lead_id, at, kind, detail, d);
}

static nt_err
s_event_list(nt_store *st, int64_t lead_id, nt_event_cb cb, void *ctx, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_EVENT_LIST, d);
    int rc;

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, lead_id);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        nt_event ev = {
            .id = sqlite3_column_int64(q, 0),
            .lead_id = sqlite3_column_int64(q, 1),
            .at = sqlite3_column_int64(q, 2),
            .kind = (const char *)sqlite3_column_text(q, 3),
            .detail = (const char *)sqlite3_column_text(q, 4),
        };
        if (cb(ctx, &ev))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return nt_sq_error(s, d, "reading events");
    sqlite3_reset(q);
    return NT_OK;
}

static nt_err
s_suppressed(nt_store *st, const char *email, char *reason, size_t reasonsz, int *is, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_SUPP_GET, d);
    int rc;

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, email);
    rc = sqlite3_step(q);
    *is = rc == SQLITE_ROW;
    if (*is && reason && reasonsz)
        snprintf(reason, reasonsz, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return nt_sq_error(s, d, "checking the suppression list");
    return NT_OK;
}

static nt_err
s_suppress(nt_store *st, const char *email, const char *reason, int64_t at, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_SUPP_PUT, d);

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, email);
    nt_sq_bind_text(q, 2, reason);
    sqlite3_bind_int64(q, 3, at);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "suppressing an address");
    return NT_OK;
}

static nt_err
s_watermark_get(nt_store *st, const char *campaign, int64_t *rev, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_WM_GET, d);
    int rc;

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, campaign);
    rc = sqlite3_step(q);
    *rev = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return nt_sq_error(s, d, "reading a campaign");
    return NT_OK;
}

static nt_err
s_watermark_set(nt_store *st, const char *campaign, int64_t rev, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_WM_SET, d);

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, campaign);
    sqlite3_bind_int64(q, 2, rev);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "recording a campaign");
    return NT_OK;
}

static const char *const state_names[] = {"active", "completed", "exited", "paused"};

const char *
nt_enroll_state_name(nt_enroll_state st)
{
    return (unsigned)st < 4 ? state_names[st] : "?";
}

static nt_enroll_state
state_from(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && !strcmp(s, state_names[i]))
            return (nt_enroll_state)i;
    return NT_ENROLL_EXITED;
}

static nt_err
read_enrollment(sqlite3_stmt *q, nt_enrollment *e)
{
    memset(e, 0, sizeof(*e));
    e->id = sqlite3_column_int64(q, 0);
    e->lead_id = sqlite3_column_int64(q, 1);
    e->campaign = nt_sq_col_dup(q, 2);
    e->version = nt_sq_col_dup(q, 3);
    e->state = state_from((const char *)sqlite3_column_text(q, 4));
    e->step = sqlite3_column_int(q, 5);
    e->last_step_id = nt_sq_col_dup(q, 6);
    e->enrolled_at = sqlite3_column_int64(q, 7);
    e->last_sent_at = sqlite3_column_int64(q, 8);
    e->due_at = sqlite3_column_int64(q, 9);
    e->next_at = sqlite3_column_int64(q, 10);
    e->exit_reason = nt_sq_col_dup(q, 11);
    if (!e->campaign || !e->version) {
        nt_enrollment_release(e);
        return NT_ENOMEM;
    }
    return NT_OK;
}

static nt_err
s_enrollment_add(nt_store *st, nt_enrollment *e, int *added, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_ENR_ADD, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, e->lead_id);
    nt_sq_bind_text(q, 2, e->campaign);
    nt_sq_bind_text(q, 3, e->version);
    nt_sq_bind_text(q, 4, nt_enroll_state_name(e->state));
    sqlite3_bind_int(q, 5, e->step);
    nt_sq_bind_text(q, 6, e->last_step_id);
    sqlite3_bind_int64(q, 7, e->enrolled_at);
    sqlite3_bind_int64(q, 8, e->last_sent_at);
    sqlite3_bind_int64(q, 9, e->due_at);
    sqlite3_bind_int64(q, 10, e->next_at);
    nt_sq_bind_text(q, 11, e->exit_reason);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "enrolling a lead");
    *added = sqlite3_changes(s->db) > 0;
    if (*added)
        e->id = sqlite3_last_insert_rowid(s->db);
    return NT_OK;
}

static nt_err
s_enrollment_update(nt_store *st, const nt_enrollment *e, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_ENR_UPDATE, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, e->id);
    nt_sq_bind_text(q, 2, e->version);
    nt_sq_bind_text(q, 3, nt_enroll_state_name(e->state));
    sqlite3_bind_int(q, 4, e->step);
    nt_sq_bind_text(q, 5, e->last_step_id);
    sqlite3_bind_int64(q, 6, e->last_sent_at);
    sqlite3_bind_int64(q, 7, e->due_at);
    sqlite3_bind_int64(q, 8, e->next_at);
    nt_sq_bind_text(q, 9, e->exit_reason);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "updating an enrollment");
    return NT_OK;
}

static nt_err
s_enrollment_get(nt_store *st, int64_t lead_id, const char *campaign, nt_enrollment *out,
                 nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_ENR_GET, d);
    int rc;
    nt_err err;

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, lead_id);
    nt_sq_bind_text(q, 2, campaign);
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(q);
        return NT_ENOTFOUND;
    }
    if (rc != SQLITE_ROW)
        return nt_sq_error(s, d, "reading an enrollment");
    err = read_enrollment(q, out);
    sqlite3_reset(q);
    return err;
}

typedef struct enrollment_rows {
    nt_enrollment_cb cb;
    void *ctx;
} enrollment_rows;

static int
enrollment_row(void *vctx, sqlite3_stmt *q, nt_err *err)
{
    enrollment_rows *x = vctx;
    nt_enrollment e;
    int stop;

    if ((*err = read_enrollment(q, &e)) != NT_OK)
        return 1;
    stop = x->cb(x->ctx, &e);
    nt_enrollment_release(&e);
    return stop;
}

static nt_err
iterate_enrollments(sqlite_store *s, sqlite3_stmt *q, nt_enrollment_cb cb, void *ctx, nt_diag *d)
{
    enrollment_rows x = {cb, ctx};

    return nt_sq_iterate(s, q, enrollment_row, &x, "reading enrollments", d);
}

static nt_err
s_enrollment_due(nt_store *st, const char *campaign, int64_t until, int64_t limit,
                 nt_enrollment_cb cb, void *ctx, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, campaign ? Q_ENR_DUE_CAMPAIGN : Q_ENR_DUE, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, until);
    sqlite3_bind_int64(q, 2, limit > 0 ? limit : -1);
    if (campaign)
        nt_sq_bind_text(q, 3, campaign);
    return iterate_enrollments(s, q, cb, ctx, d);
}

static nt_err
s_enrollment_list(nt_store *st, int64_t lead_id, nt_enrollment_cb cb, void *ctx, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_ENR_LIST, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, lead_id);
    return iterate_enrollments(s, q, cb, ctx, d);
}

static nt_err
s_step_sent(nt_store *st, int64_t lead_id, const char *campaign, const char *step_id, int *sent,
            nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_STEP_SENT, d);
    int rc;

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, lead_id);
    nt_sq_bind_text(q, 2, campaign);
    nt_sq_bind_text(q, 3, step_id);
    rc = sqlite3_step(q);
    *sent = rc == SQLITE_ROW;
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return nt_sq_error(s, d, "reading sends");
    return NT_OK;
}

static nt_err
s_enrollment_exit_all(nt_store *st, int64_t lead_id, const char *reason, int64_t now, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_EXIT_ALL, d);

    (void)now;
    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, lead_id);
    nt_sq_bind_text(q, 2, reason);
    sqlite3_bind_int64(q, 3, NT_NEVER);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "ending enrollments");
    return NT_OK;
}

static nt_err
s_send_claim(nt_store *st, nt_send *snd, int *claimed, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_SEND_CLAIM, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, snd->lead_id);
    nt_sq_bind_text(q, 2, snd->campaign);
    nt_sq_bind_text(q, 3, snd->version);
    nt_sq_bind_text(q, 4, snd->step_id);
    sqlite3_bind_int(q, 5, snd->step);
    nt_sq_bind_text(q, 6, snd->sender);
    nt_sq_bind_text(q, 7, snd->email);
    sqlite3_bind_int64(q, 8, snd->created_at);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "claiming a send");
    *claimed = sqlite3_changes(s->db) > 0;
    if (*claimed) {
        snd->id = sqlite3_last_insert_rowid(s->db);
        snd->state = NT_SEND_CLAIMED;
        snd->attempts = 1;
    }
    return NT_OK;
}

static nt_err
s_send_reclaim(nt_store *st, int64_t id, int64_t now, int *claimed, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_SEND_RECLAIM, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, now);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "reclaiming a send");
    *claimed = sqlite3_changes(s->db) > 0;
    return NT_OK;
}

static nt_err
s_send_mark(nt_store *st, const nt_send *snd, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_SEND_MARK, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, snd->id);
    nt_sq_bind_text(q, 2, nt_send_state_name(snd->state));
    if (snd->smtp_code)
        sqlite3_bind_int(q, 3, snd->smtp_code);
    nt_sq_bind_text(q, 4, snd->smtp_text);
    nt_sq_bind_text(q, 5, snd->message_id);
    sqlite3_bind_int64(q, 6, snd->sent_at);
    sqlite3_bind_int64(q, 7, snd->next_attempt_at);
    sqlite3_bind_int64(q, 8, snd->updated_at);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "recording a send");
    return NT_OK;
}

static nt_err
read_send(sqlite3_stmt *q, nt_send *snd)
{
    memset(snd, 0, sizeof(*snd));
    snd->id = sqlite3_column_int64(q, 0);
    snd->lead_id = sqlite3_column_int64(q, 1);
    snd->campaign = nt_sq_col_dup(q, 2);
    snd->version = nt_sq_col_dup(q, 3);
    snd->step_id = nt_sq_col_dup(q, 4);
    snd->step = sqlite3_column_int(q, 5);
    snd->state = (nt_send_state)nt_send_state_from((const char *)sqlite3_column_text(q, 6));
    snd->sender = nt_sq_col_dup(q, 7);
    snd->email = nt_sq_col_dup(q, 8);
    snd->created_at = sqlite3_column_int64(q, 9);
    snd->updated_at = sqlite3_column_int64(q, 10);
    snd->sent_at = sqlite3_column_int64(q, 11);
    snd->next_attempt_at = sqlite3_column_int64(q, 12);
    snd->attempts = sqlite3_column_int(q, 13);
    snd->smtp_code = sqlite3_column_int(q, 14);
    snd->smtp_text = nt_sq_col_dup(q, 15);
    snd->message_id = nt_sq_col_dup(q, 16);
    if (!snd->campaign || !snd->version || !snd->step_id) {
        nt_send_release(snd);
        return NT_ENOMEM;
    }
    return NT_OK;
}

typedef struct send_rows {
    nt_send_cb cb;
    void *ctx;
} send_rows;

static int
send_row(void *vctx, sqlite3_stmt *q, nt_err *err)
{
    send_rows *x = vctx;
    nt_send snd;
    int stop;

    if ((*err = read_send(q, &snd)) != NT_OK)
        return 1;
    stop = x->cb(x->ctx, &snd);
    nt_send_release(&snd);
    return stop;
}

static nt_err
iterate_sends(sqlite_store *s, sqlite3_stmt *q, nt_send_cb cb, void *ctx, nt_diag *d)
{
    send_rows x = {cb, ctx};

    return nt_sq_iterate(s, q, send_row, &x, "reading sends", d);
}

static nt_err
s_send_get(nt_store *st, int64_t id, nt_send *out, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_SEND_GET, d);
    int rc;
    nt_err err;

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, id);
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(q);
        return nt_diag_set(d, NT_ENOTFOUND, NULL, 0, 0, "no send with id %lld", (long long)id);
    }
    if (rc != SQLITE_ROW)
        return nt_sq_error(s, d, "reading a send");
    err = read_send(q, out);
    sqlite3_reset(q);
    return err;
}

static nt_err
s_send_list(nt_store *st, int state, int64_t lead_id, int64_t limit, nt_send_cb cb, void *ctx,
            nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_SEND_LIST, d);

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, state >= 0 ? nt_send_state_name((nt_send_state)state) : NULL);
    sqlite3_bind_int64(q, 2, lead_id);
    sqlite3_bind_int64(q, 3, limit > 0 ? limit : -1);
    return iterate_sends(s, q, cb, ctx, d);
}

static nt_err
s_send_retry_due(nt_store *st, int64_t until, int64_t limit, nt_send_cb cb, void *ctx, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_SEND_RETRY, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, until);
    sqlite3_bind_int64(q, 2, limit > 0 ? limit : -1);
    return iterate_sends(s, q, cb, ctx, d);
}

static nt_err
s_send_orphans_to_unknown(nt_store *st, int64_t now, int64_t *count, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_SEND_ORPHANS, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, now);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "recovering claimed sends");
    *count = sqlite3_changes(s->db);
    return NT_OK;
}

static nt_err
s_send_count_since(nt_store *st, const char *sender, int64_t since, int64_t *count, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_SEND_COUNT, d);

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, sender);
    sqlite3_bind_int64(q, 2, since);
    if (sqlite3_step(q) != SQLITE_ROW)
        return nt_sq_error(s, d, "counting sends");
    *count = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return NT_OK;
}

/* ---- inbound mail ---- */

static nt_err
s_unsuppress(nt_store *st, const char *email, int *was, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_UNSUPPRESS, d);

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, email);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "lifting a suppression");
    *was = sqlite3_changes(s->db) > 0;
    return NT_OK;
}

/* Run a statement that returns one integer (or no row: *out = 0). */
static nt_err
one_int(sqlite_store *s, sqlite3_stmt *q, int64_t *out, const char *what, nt_diag *d)
{
    int rc = sqlite3_step(q);

    *out = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return nt_sq_error(s, d, what);
    return NT_OK;
}

static nt_err
s_event_count(nt_store *st, int64_t lead_id, const char *kind, int64_t since, int64_t *count,
              nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_EVENT_COUNT, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, lead_id);
    nt_sq_bind_text(q, 2, kind);
    sqlite3_bind_int64(q, 3, since);
    return one_int(s, q, count, "counting events", d);
}

static nt_err
s_inbound_find(nt_store *st, const char *message_id, const char *content_hash,
               const char *source_key, int64_t *id, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q;
    nt_err err;

    *id = 0;
    if (content_hash) {
        if (!(q = stmt(s, Q_INB_FIND, d)))
            return NT_ESTORE;
        nt_sq_bind_text(q, 1, content_hash);
        nt_sq_bind_text(q, 2, message_id);
        if ((err = one_int(s, q, id, "looking up a message", d)) != NT_OK || *id)
            return err;
    }
    if (!source_key)
        return NT_OK;
    if (!(q = stmt(s, Q_INB_FIND_KEY, d)))
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, source_key);
    return one_int(s, q, id, "looking up a message", d);
}

/* Bind ?2..?21, shared by insert and update (which bind ?1 themselves). */
static void
bind_inbound(sqlite3_stmt *q, const nt_inbound *in)
{
    nt_sq_bind_text(q, 2, in->source);
    nt_sq_bind_text(q, 3, in->source_key);
    nt_sq_bind_text(q, 4, in->message_id);
    nt_sq_bind_text(q, 5, in->content_hash);
    nt_sq_bind_text(q, 6, in->from_addr);
    nt_sq_bind_text(q, 7, in->subject);
    nt_sq_bind_text(q, 8, in->kind);
    nt_sq_bind_text(q, 9, in->rule);
    nt_sq_bind_text(q, 10, in->reason);
    nt_sq_bind_text(q, 11, in->status);
    sqlite3_bind_int(q, 12, in->hard);
    nt_sq_bind_text(q, 13, in->intent);
    nt_sq_bind_text(q, 14, in->return_date);
    nt_sq_bind_text(q, 15, in->detail);
    sqlite3_bind_int64(q, 16, in->lead_id);
    sqlite3_bind_int64(q, 17, in->send_id);
    nt_sq_bind_text(q, 18, in->attributed_by);
    sqlite3_bind_int(q, 19, in->forged);
    nt_sq_bind_text(q, 20, in->action);
    sqlite3_bind_int64(q, 21, in->classified_at);
}

static nt_err
s_inbound_add(nt_store *st, nt_inbound *in, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_INB_ADD, d);

    if (!q)
        return NT_ESTORE;
    in->id = 0;
    bind_inbound(q, in);
    sqlite3_bind_int64(q, 1, in->received_at);
    sqlite3_bind_blob64(q, 22, in->raw ? in->raw : "", in->rawlen, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "storing a message");
    if (sqlite3_changes(s->db) == 0)
        return nt_diag_set(d, NT_EEXIST, s->path, 0, 0, "the message is stored already");
    in->id = sqlite3_last_insert_rowid(s->db);
    return NT_OK;
}

static nt_err
s_inbound_update(nt_store *st, const nt_inbound *in, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_INB_UPDATE, d);

    if (!q)
        return NT_ESTORE;
    bind_inbound(q, in);
    sqlite3_bind_int64(q, 1, in->id);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "recording a decision");
    return NT_OK;
}

static nt_err
read_inbound(sqlite3_stmt *q, nt_inbound *in)
{
    char **strs[] = {&in->source,    &in->source_key, &in->message_id, &in->content_hash,
                     &in->from_addr, &in->subject,    &in->kind,       &in->rule,
                     &in->reason,    &in->status};
    int cols[] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

    memset(in, 0, sizeof(*in));
    in->id = sqlite3_column_int64(q, 0);
    in->received_at = sqlite3_column_int64(q, 1);
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
        *strs[i] = nt_sq_col_dup(q, cols[i]);
    in->hard = sqlite3_column_int(q, 12);
    in->intent = nt_sq_col_dup(q, 13);
    in->return_date = nt_sq_col_dup(q, 14);
    in->detail = nt_sq_col_dup(q, 15);
    in->lead_id = sqlite3_column_int64(q, 16);
    in->send_id = sqlite3_column_int64(q, 17);
    in->attributed_by = nt_sq_col_dup(q, 18);
    in->forged = sqlite3_column_int(q, 19);
    in->action = nt_sq_col_dup(q, 20);
    in->classified_at = sqlite3_column_int64(q, 21);
    if (!in->source || !in->content_hash || !in->kind) {
        nt_inbound_release(in);
        return NT_ENOMEM;
    }
    return NT_OK;
}

static nt_err
load_raw(sqlite_store *s, nt_inbound *in, nt_diag *d)
{
    sqlite3_stmt *q = stmt(s, Q_INB_RAW, d);
    const void *blob;
    int rc;

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, in->id);
    if ((rc = sqlite3_step(q)) != SQLITE_ROW) {
        sqlite3_reset(q);
        return nt_sq_error(s, d, "reading a message");
    }
    blob = sqlite3_column_blob(q, 0);
    in->rawlen = (size_t)sqlite3_column_bytes(q, 0);
    in->raw = malloc(in->rawlen + 1);
    if (in->raw) {
        if (in->rawlen)
            memcpy(in->raw, blob, in->rawlen);
        in->raw[in->rawlen] = '\0';
    }
    sqlite3_reset(q);
    return in->raw ? NT_OK : NT_ENOMEM;
}

static nt_err
s_inbound_get(nt_store *st, int64_t id, int with_raw, nt_inbound *out, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_INB_GET, d);
    nt_err err;
    int rc;

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, id);
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(q);
        return nt_diag_set(d, NT_ENOTFOUND, NULL, 0, 0, "no inbound message %lld", (long long)id);
    }
    if (rc != SQLITE_ROW) {
        err = nt_sq_error(s, d, "reading a message");
        sqlite3_reset(q);
        return err;
    }
    err = read_inbound(q, out);
    sqlite3_reset(q);
    if (err == NT_OK && with_raw && (err = load_raw(s, out, d)) != NT_OK)
        nt_inbound_release(out);
    return err;
}

typedef struct inbound_rows {
    nt_inbound_cb cb;
    void *ctx;
} inbound_rows;

static int
inbound_row(void *vctx, sqlite3_stmt *q, nt_err *err)
{
    inbound_rows *x = vctx;
    nt_inbound in;
    int stop;

    if ((*err = read_inbound(q, &in)) != NT_OK)
        return 1;
    stop = x->cb(x->ctx, &in);
    nt_inbound_release(&in);
    return stop;
}

static nt_err
s_inbound_list(nt_store *st, const nt_inbound_filter *f, nt_inbound_cb cb, void *ctx, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_INB_LIST, d);
    inbound_rows x = {cb, ctx};

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, f->kind);
    sqlite3_bind_int64(q, 2, f->lead_id);
    sqlite3_bind_int64(q, 3, f->after_id);
    sqlite3_bind_int64(q, 4, f->limit > 0 ? f->limit : -1);
    return nt_sq_iterate(s, q, inbound_row, &x, "reading messages", d);
}

static nt_err
s_sender_pause(nt_store *st, const char *sender, int64_t until, const char *reason, int64_t at,
               nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_PAUSE_SET, d);

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, sender);
    sqlite3_bind_int64(q, 2, until);
    nt_sq_bind_text(q, 3, reason);
    sqlite3_bind_int64(q, 4, at);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "pausing a sender");
    return NT_OK;
}

static nt_err
s_sender_paused(nt_store *st, const char *sender, int64_t now, int64_t *until, char *reason,
                size_t reasonsz, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_PAUSE_GET, d);
    int rc;

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, sender);
    sqlite3_bind_int64(q, 2, now);
    rc = sqlite3_step(q);
    *until = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    if (rc == SQLITE_ROW && reason && reasonsz)
        snprintf(reason, reasonsz, "%s", (const char *)sqlite3_column_text(q, 1));
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return nt_sq_error(s, d, "checking a sender's pause");
    return NT_OK;
}

static nt_err
s_mailbox_state_get(nt_store *st, const char *mailbox, uint64_t *uidvalidity, uint64_t *last_uid,
                    nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_MBOX_GET, d);
    int rc;

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, mailbox);
    rc = sqlite3_step(q);
    *uidvalidity = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
    *last_uid = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 1) : 0;
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return nt_sq_error(s, d, "reading a mailbox's state");
    return NT_OK;
}

static nt_err
s_mailbox_state_set(nt_store *st, const char *mailbox, uint64_t uidvalidity, uint64_t last_uid,
                    nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_MBOX_SET, d);

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, mailbox);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)uidvalidity);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)last_uid);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "recording a mailbox's state");
    return NT_OK;
}

static const nt_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = s_close,
    .begin = s_begin,
    .commit = s_commit,
    .rollback = s_rollback,
    .integrity = s_integrity,
    .lead_upsert = s_lead_upsert,
    .lead_get = s_lead_get,
    .lead_list = s_lead_list,
    .lead_changed_since = s_lead_changed_since,
    .lead_set_stage = s_lead_set_stage,
    .lead_count = s_lead_count,
    .event_add = s_event_add,
    .event_list = s_event_list,
    .suppressed = s_suppressed,
    .suppress = s_suppress,
    .watermark_get = s_watermark_get,
    .watermark_set = s_watermark_set,
    .enrollment_add = s_enrollment_add,
    .enrollment_update = s_enrollment_update,
    .enrollment_get = s_enrollment_get,
    .enrollment_due = s_enrollment_due,
    .enrollment_list = s_enrollment_list,
    .step_sent = s_step_sent,
    .enrollment_exit_all = s_enrollment_exit_all,
    .send_claim = s_send_claim,
    .send_reclaim = s_send_reclaim,
    .send_mark = s_send_mark,
    .send_get = s_send_get,
    .send_list = s_send_list,
    .send_retry_due = s_send_retry_due,
    .send_orphans_to_unknown = s_send_orphans_to_unknown,
    .send_count_since = s_send_count_since,
    .unsuppress = s_unsuppress,
    .event_count = s_event_count,
    .inbound_find = s_inbound_find,
    .inbound_add = s_inbound_add,
    .inbound_update = s_inbound_update,
    .inbound_get = s_inbound_get,
    .inbound_list = s_inbound_list,
    .sender_pause = s_sender_pause,
    .sender_paused = s_sender_paused,
    .mailbox_state_get = s_mailbox_state_get,
    .mailbox_state_set = s_mailbox_state_set,
    .queue_add = nt_sq_queue_add,
    .queue_get = nt_sq_queue_get,
    .queue_open_for_lead = nt_sq_queue_open_for_lead,
    .queue_list = nt_sq_queue_list,
    .queue_claim = nt_sq_queue_claim,
    .queue_update = nt_sq_queue_update,
    .queue_unescalated = nt_sq_queue_unescalated,
    .rotation_get = nt_sq_rotation_get,
    .rotation_set = nt_sq_rotation_set,
    .outbox_add = nt_sq_outbox_add,
    .outbox_due = nt_sq_outbox_due,
    .outbox_mark = nt_sq_outbox_mark,
    .outbox_list = nt_sq_outbox_list,
    .report_rows = nt_sq_report_rows,
};

/* ---- opening and migrating ---- */

static nt_err
user_version(sqlite_store *s, int *v, nt_diag *d)
{
    sqlite3_stmt *q;

    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
        return nt_sq_error(s, d, "reading the schema version");
    if (sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_finalize(q);
        return nt_sq_error(s, d, "reading the schema version");
    }
    *v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return NT_OK;
}

static nt_err
migrate(sqlite_store *s, nt_diag *d)
{
    int v;
    nt_err err;

    if ((err = user_version(s, &v, d)) != NT_OK)
        return err;
    if (v > (int)NMIGRATIONS)
        return nt_diag_set(d, NT_ESTORE, s->path, 0, 0,
                           "the database has schema version %d, newer than this nurture "
                           "(%d): upgrade nurture",
                           v, (int)NMIGRATIONS);
    while (v < (int)NMIGRATIONS) {
        char pragma[64];
        if ((err = nt_sq_exec(s, "BEGIN IMMEDIATE", d)) != NT_OK)
            return err;
        /* Another process may have migrated while we waited for the lock. */
        if ((err = user_version(s, &v, d)) != NT_OK || v >= (int)NMIGRATIONS) {
            nt_sq_exec(s, "ROLLBACK", NULL);
            return err;
        }
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
        if ((err = nt_sq_exec(s, migrations[v], d)) != NT_OK ||
            (err = nt_sq_exec(s, pragma, d)) != NT_OK) {
            nt_sq_exec(s, "ROLLBACK", NULL);
            return err;
        }
        if ((err = nt_sq_exec(s, "COMMIT", d)) != NT_OK)
            return err;
        v++;
    }
    return NT_OK;
}

nt_err
nt_store_open_sqlite(const char *path, nt_store **out, nt_diag *d)
{
    sqlite_store *s = calloc(1, sizeof(*s));
    nt_err err;

    *out = NULL;
    if (!s)
        return NT_ENOMEM;
    s->base.ops = &sqlite_ops;
    snprintf(s->path, sizeof(s->path), "%s", path);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        err = nt_diag_set(d, NT_ESTORE, path, 0, 0, "cannot open the database: %s",
                          s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 15000);
    sqlite3_extended_result_codes(s->db, 1);
    if ((err = nt_sq_exec(s, "PRAGMA page_size = 16384", d)) != NT_OK ||
        (err = nt_sq_exec(s, "PRAGMA journal_mode = WAL", d)) != NT_OK ||
        (err = nt_sq_exec(s, "PRAGMA foreign_keys = ON", d)) != NT_OK ||
        (err = nt_sq_exec(s, "PRAGMA synchronous = NORMAL", d)) != NT_OK ||
        /* Savepoint journals in memory, and a page cache that holds a
         * large import's dirty index pages (32 MiB). */
        (err = nt_sq_exec(s, "PRAGMA temp_store = MEMORY", d)) != NT_OK ||
        (err = nt_sq_exec(s, "PRAGMA cache_size = -32768", d)) != NT_OK ||
        (err = nt_sq_exec(s, "PRAGMA wal_autocheckpoint = 8192", d)) != NT_OK ||
        (err = migrate(s, d)) != NT_OK)
        goto fail;
    *out = &s->base;
    return NT_OK;
fail:
    sqlite3_close(s->db);
    free(s);
    return err;
}
