/*
 * The SQLite backend's sales tables: the queue of handed-off leads, the
 * weighted round-robin state, and the webhook outbox.
 *
 * Two rules live in the schema rather than in code, so that no interleaving
 * of processes can break them: a partial unique index allows one open or
 * claimed entry per lead, and a claim is a single UPDATE of the oldest
 * matching open row, so two reps pulling at once never get the same lead.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/store.h"

#include "store_sqlite_impl.h"

#include "banned.h"

#define QCOLS                                                                                      \
    "id, lead_id, state, rep, assigned_by, trigger, reason, score, inbound_id, campaign, "         \
    "step_id, intent, reply_text, context, created_at, claimed_at, claimed_by, escalated_at, "     \
    "decided_at, reject_reason, note, recycle_campaign"

#define OCOLS                                                                                      \
    "id, webhook, event, key, payload, created_at, next_attempt_at, attempts, delivered_at, "      \
    "last_status, last_error"

enum {
    X_ADD = NT_SQ_X_QUEUE,
    X_GET,
    X_OPEN_FOR_LEAD,
    X_LIST,
    X_CLAIM,
    X_UPDATE,
    X_UNESCALATED,
    X_ROT_GET,
    X_ROT_SET,
    X_OUT_ADD,
    X_OUT_DUE,
    X_OUT_MARK,
    X_OUT_LIST,
    X_END,
};

_Static_assert((int)X_END <= (int)NT_SQ_X_REPORT, "queue statements overflow their slots");

static const char *const sql[] = {
    [X_ADD - NT_SQ_X_QUEUE] =
        "INSERT INTO queue (lead_id, state, rep, assigned_by, trigger, reason, score, "
        "inbound_id, campaign, step_id, intent, reply_text, context, created_at) "
        "VALUES (?1, 'open', ?2, ?3, ?4, ?5, ?6, nullif(?7, 0), ?8, ?9, ?10, ?11, ?12, ?13) "
        "ON CONFLICT DO NOTHING",
    [X_GET - NT_SQ_X_QUEUE] = "SELECT " QCOLS " FROM queue WHERE id = ?1",
    [X_OPEN_FOR_LEAD - NT_SQ_X_QUEUE] =
        "SELECT id FROM queue WHERE lead_id = ?1 AND state IN ('open', 'claimed')",
    [X_LIST - NT_SQ_X_QUEUE] =
        "SELECT " QCOLS " FROM queue WHERE (?1 IS NULL OR state = ?1) "
        "AND (?2 IS NULL OR rep = ?2 COLLATE NOCASE) AND (?3 = 0 OR lead_id = ?3) "
        "AND created_at >= ?4 AND (?5 = 0 OR escalated_at IS NOT NULL) ORDER BY id LIMIT ?6",
    [X_CLAIM - NT_SQ_X_QUEUE] =
        "UPDATE queue SET state = 'claimed', claimed_at = ?2, claimed_by = ?1 "
        "WHERE id = (SELECT id FROM queue WHERE state = 'open' "
        "AND (escalated_at IS NOT NULL OR rep = ?1 COLLATE NOCASE) "
        "ORDER BY escalated_at IS NULL, id LIMIT 1) AND state = 'open' RETURNING id",
    [X_UPDATE - NT_SQ_X_QUEUE] =
        "UPDATE queue SET state = ?2, claimed_at = nullif(?3, 0), claimed_by = ?4, "
        "escalated_at = nullif(?5, 0), decided_at = nullif(?6, 0), reject_reason = ?7, "
        "note = ?8, recycle_campaign = ?9, rep = ?10 WHERE id = ?1",
    [X_UNESCALATED - NT_SQ_X_QUEUE] =
        "SELECT " QCOLS " FROM queue WHERE state = 'open' AND escalated_at IS NULL "
        "AND created_at < ?1 ORDER BY created_at, id",
    [X_ROT_GET - NT_SQ_X_QUEUE] = "SELECT current FROM rotation WHERE rep = ?1",
    [X_ROT_SET - NT_SQ_X_QUEUE] = "INSERT INTO rotation (rep, current) VALUES (?1, ?2) "
                                  "ON CONFLICT (rep) DO UPDATE SET current = excluded.current",
    [X_OUT_ADD - NT_SQ_X_QUEUE] =
        "INSERT INTO outbox (webhook, event, key, payload, created_at, next_attempt_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (key) DO NOTHING",
    [X_OUT_DUE - NT_SQ_X_QUEUE] = "SELECT " OCOLS " FROM outbox WHERE delivered_at IS NULL "
                                  "AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id "
                                  "LIMIT ?2",
    [X_OUT_MARK - NT_SQ_X_QUEUE] =
        "UPDATE outbox SET delivered_at = nullif(?2, 0), next_attempt_at = ?3, "
        "last_status = nullif(?4, 0), last_error = ?5, attempts = attempts + 1 WHERE id = ?1",
    [X_OUT_LIST - NT_SQ_X_QUEUE] = "SELECT " OCOLS " FROM outbox "
                                   "WHERE (?1 = 0 OR delivered_at IS NULL) ORDER BY id DESC "
                                   "LIMIT ?2",
};

static sqlite3_stmt *
X(sqlite_store *s, int q, nt_diag *d)
{
    return nt_sq_xstmt(s, q, sql[q - NT_SQ_X_QUEUE], d);
}

static int64_t
col_i64(sqlite3_stmt *q, int i)
{
    return sqlite3_column_int64(q, i);
}

static nt_err
read_entry(sqlite3_stmt *q, nt_qentry *e)
{
    const char *state = (const char *)sqlite3_column_text(q, 2);
    int st = state ? nt_qstate_from(state) : -1;

    memset(e, 0, sizeof(*e));
    e->id = col_i64(q, 0);
    e->lead_id = col_i64(q, 1);
    e->state = st < 0 ? NT_Q_OPEN : (nt_qstate)st;
    e->rep = nt_sq_col_dup(q, 3);
    e->assigned_by = nt_sq_col_dup(q, 4);
    e->trigger = nt_sq_col_dup(q, 5);
    e->reason = nt_sq_col_dup(q, 6);
    e->score = sqlite3_column_double(q, 7);
    e->inbound_id = col_i64(q, 8);
    e->campaign = nt_sq_col_dup(q, 9);
    e->step_id = nt_sq_col_dup(q, 10);
    e->intent = nt_sq_col_dup(q, 11);
    e->reply_text = nt_sq_col_dup(q, 12);
    e->context = nt_sq_col_dup(q, 13);
    e->created_at = col_i64(q, 14);
    e->claimed_at = col_i64(q, 15);
    e->claimed_by = nt_sq_col_dup(q, 16);
    e->escalated_at = col_i64(q, 17);
    e->decided_at = col_i64(q, 18);
    e->reject_reason = nt_sq_col_dup(q, 19);
    e->note = nt_sq_col_dup(q, 20);
    e->recycle_campaign = nt_sq_col_dup(q, 21);
    /* Every NULL-able text column that was set must have been copied. */
    if ((sqlite3_column_type(q, 3) != SQLITE_NULL && !e->rep) || !e->assigned_by || !e->trigger ||
        !e->reason || (sqlite3_column_type(q, 12) != SQLITE_NULL && !e->reply_text) ||
        (sqlite3_column_type(q, 13) != SQLITE_NULL && !e->context)) {
        nt_qentry_release(e);
        return NT_ENOMEM;
    }
    return NT_OK;
}

nt_err
nt_sq_queue_add(nt_store *st, nt_qentry *e, int *added, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = X(s, X_ADD, d);

    *added = 0;
    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, e->lead_id);
    nt_sq_bind_text(q, 2, e->rep);
    nt_sq_bind_text(q, 3, e->assigned_by);
    nt_sq_bind_text(q, 4, e->trigger);
    nt_sq_bind_text(q, 5, e->reason);
    sqlite3_bind_double(q, 6, e->score);
    sqlite3_bind_int64(q, 7, e->inbound_id);
    nt_sq_bind_text(q, 8, e->campaign);
    nt_sq_bind_text(q, 9, e->step_id);
    nt_sq_bind_text(q, 10, e->intent);
    nt_sq_bind_text(q, 11, e->reply_text);
    nt_sq_bind_text(q, 12, e->context);
    sqlite3_bind_int64(q, 13, e->created_at);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "adding to the queue");
    *added = sqlite3_changes(nt_sq_db(s)) > 0;
    sqlite3_reset(q);
    if (*added) {
        e->id = sqlite3_last_insert_rowid(nt_sq_db(s));
        e->state = NT_Q_OPEN;
        return NT_OK;
    }
    return nt_sq_queue_open_for_lead(st, e->lead_id, &e->id, d);
}

nt_err
nt_sq_queue_get(nt_store *st, int64_t id, nt_qentry *out, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = X(s, X_GET, d);
    nt_err err;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, id);
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(q);
        return nt_diag_set(d, NT_ENOTFOUND, NULL, 0, 0,
                           "no queue entry %lld: `nurture queue list` shows them", (long long)id);
    }
    if (rc != SQLITE_ROW)
        return nt_sq_error(s, d, "reading a queue entry");
    err = read_entry(q, out);
    sqlite3_reset(q);
    return err;
}

nt_err
nt_sq_queue_open_for_lead(nt_store *st, int64_t lead_id, int64_t *id, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = X(s, X_OPEN_FOR_LEAD, d);
    int rc;

    *id = 0;
    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, lead_id);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *id = col_i64(q, 0);
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return nt_sq_error(s, d, "looking for a lead's queue entry");
    return NT_OK;
}

typedef struct entry_rows {
    nt_qentry_cb cb;
    void *ctx;
} entry_rows;

static int
entry_row(void *vctx, sqlite3_stmt *q, nt_err *err)
{
    entry_rows *x = vctx;
    nt_qentry e;
    int stop;

    if ((*err = read_entry(q, &e)) != NT_OK)
        return 1;
    stop = x->cb(x->ctx, &e);
    nt_qentry_release(&e);
    return stop;
}

/* Run q (bound) and hand each row to cb as an entry. */
static nt_err
each_entry(sqlite_store *s, sqlite3_stmt *q, nt_qentry_cb cb, void *ctx, nt_diag *d)
{
    entry_rows x = {cb, ctx};

    return nt_sq_iterate(s, q, entry_row, &x, "reading the queue", d);
}

nt_err
nt_sq_queue_list(nt_store *st, const nt_queue_filter *f, nt_qentry_cb cb, void *ctx, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = X(s, X_LIST, d);

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, f->state >= 0 ? nt_qstate_name((nt_qstate)f->state) : NULL);
    nt_sq_bind_text(q, 2, f->rep);
    sqlite3_bind_int64(q, 3, f->lead_id);
    sqlite3_bind_int64(q, 4, f->since);
    sqlite3_bind_int(q, 5, f->escalated);
    sqlite3_bind_int64(q, 6, f->limit > 0 ? f->limit : -1);
    return each_entry(s, q, cb, ctx, d);
}

nt_err
nt_sq_queue_claim(nt_store *st, const char *rep, int64_t now, int64_t *id, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = X(s, X_CLAIM, d);
    int rc;

    *id = 0;
    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, rep);
    sqlite3_bind_int64(q, 2, now);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *id = col_i64(q, 0);
        rc = sqlite3_step(q);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return nt_sq_error(s, d, "claiming a queue entry");
    return NT_OK;
}

nt_err
nt_sq_queue_update(nt_store *st, const nt_qentry *e, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = X(s, X_UPDATE, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, e->id);
    nt_sq_bind_text(q, 2, nt_qstate_name(e->state));
    sqlite3_bind_int64(q, 3, e->claimed_at);
    nt_sq_bind_text(q, 4, e->claimed_by);
    sqlite3_bind_int64(q, 5, e->escalated_at);
    sqlite3_bind_int64(q, 6, e->decided_at);
    nt_sq_bind_text(q, 7, e->reject_reason);
    nt_sq_bind_text(q, 8, e->note);
    nt_sq_bind_text(q, 9, e->recycle_campaign);
    nt_sq_bind_text(q, 10, e->rep);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "updating a queue entry");
    sqlite3_reset(q);
    return NT_OK;
}

nt_err
nt_sq_queue_unescalated(nt_store *st, int64_t created_before, nt_qentry_cb cb, void *ctx,
                        nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = X(s, X_UNESCALATED, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, created_before);
    return each_entry(s, q, cb, ctx, d);
}

nt_err
nt_sq_rotation_get(nt_store *st, const char *rep, int64_t *current, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = X(s, X_ROT_GET, d);
    int rc;

    *current = 0;
    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, rep);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *current = col_i64(q, 0);
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return nt_sq_error(s, d, "reading the round-robin state");
    return NT_OK;
}

nt_err
nt_sq_rotation_set(nt_store *st, const char *rep, int64_t current, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = X(s, X_ROT_SET, d);

    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, rep);
    sqlite3_bind_int64(q, 2, current);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "writing the round-robin state");
    sqlite3_reset(q);
    return NT_OK;
}

nt_err
nt_sq_outbox_add(nt_store *st, const nt_outbox_msg *m, int *added, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = X(s, X_OUT_ADD, d);

    *added = 0;
    if (!q)
        return NT_ESTORE;
    nt_sq_bind_text(q, 1, m->webhook);
    nt_sq_bind_text(q, 2, m->event);
    nt_sq_bind_text(q, 3, m->key);
    nt_sq_bind_text(q, 4, m->payload);
    sqlite3_bind_int64(q, 5, m->created_at);
    sqlite3_bind_int64(q, 6, m->next_attempt_at);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "adding to the webhook outbox");
    *added = sqlite3_changes(nt_sq_db(s)) > 0;
    sqlite3_reset(q);
    return NT_OK;
}

typedef struct msg_rows {
    nt_outbox_cb cb;
    void *ctx;
} msg_rows;

static int
msg_row(void *vctx, sqlite3_stmt *q, nt_err *err)
{
    msg_rows *x = vctx;
    nt_outbox_msg m = {
        .id = col_i64(q, 0),
        .webhook = (const char *)sqlite3_column_text(q, 1),
        .event = (const char *)sqlite3_column_text(q, 2),
        .key = (const char *)sqlite3_column_text(q, 3),
        .payload = (const char *)sqlite3_column_text(q, 4),
        .created_at = col_i64(q, 5),
        .next_attempt_at = col_i64(q, 6),
        .attempts = sqlite3_column_int(q, 7),
        .delivered_at = col_i64(q, 8),
        .last_status = sqlite3_column_int(q, 9),
        .last_error = (const char *)sqlite3_column_text(q, 10),
    };

    if (!m.webhook || !m.event || !m.key || !m.payload) {
        *err = NT_ENOMEM;
        return 1;
    }
    return x->cb(x->ctx, &m);
}

static nt_err
each_msg(sqlite_store *s, sqlite3_stmt *q, nt_outbox_cb cb, void *ctx, nt_diag *d)
{
    msg_rows x = {cb, ctx};

    return nt_sq_iterate(s, q, msg_row, &x, "reading the webhook outbox", d);
}

nt_err
nt_sq_outbox_due(nt_store *st, int64_t now, int64_t limit, nt_outbox_cb cb, void *ctx, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = X(s, X_OUT_DUE, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, limit > 0 ? limit : -1);
    return each_msg(s, q, cb, ctx, d);
}

nt_err
nt_sq_outbox_mark(nt_store *st, int64_t id, int64_t delivered_at, int64_t next_attempt_at,
                  int status, const char *error, nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = X(s, X_OUT_MARK, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, delivered_at);
    sqlite3_bind_int64(q, 3, next_attempt_at);
    sqlite3_bind_int(q, 4, status);
    nt_sq_bind_text(q, 5, error);
    if (sqlite3_step(q) != SQLITE_DONE)
        return nt_sq_error(s, d, "recording a webhook attempt");
    sqlite3_reset(q);
    return NT_OK;
}

nt_err
nt_sq_outbox_list(nt_store *st, int pending_only, int64_t limit, nt_outbox_cb cb, void *ctx,
                  nt_diag *d)
{
    sqlite_store *s = S(st);
    sqlite3_stmt *q = X(s, X_OUT_LIST, d);

    if (!q)
        return NT_ESTORE;
    sqlite3_bind_int(q, 1, pending_only);
    sqlite3_bind_int64(q, 2, limit > 0 ? limit : -1);
    return each_msg(s, q, cb, ctx, d);
}
