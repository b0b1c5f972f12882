/*
 * The SQLite backend's figures for the shared report (report.h).
 *
 * Every figure is an aggregate query over the tables the engine already
 * keeps (enrollments, sends, inbound, events, queue); nothing is stored for
 * the report's sake.  Each count query runs at three levels of grouping --
 * per step, per campaign, and over everything -- from one statement whose
 * grouping columns are switched off by the bound level (?4), because
 * distinct leads do not add up: a lead who replied to two steps is one
 * replying lead of the campaign.  SQLite has no GROUPING SETS.
 *
 * Bound everywhere: ?1 the start of the period (inclusive), ?2 its end
 * (exclusive; INT64_MAX when open), ?3 the campaign or NULL for all, ?4 the
 * level (0 everything, 1 per campaign, 2 per step).  All statements run in
 * one read transaction (a savepoint, so a caller's transaction is fine),
 * so the figures are of one moment even while a run is writing.
 *
 * The definitions are the README's ("The shared report"); keep them in
 * step.
 */
#include <sqlite3.h>
#include <stdint.h>

#include "nurture/store.h"

#include "store_sqlite_impl.h"

#include "banned.h"

/* t within the period */
#define IN(t) "(" t " >= ?1 AND " t " < ?2)"
/* The grouping columns of a three-level statement. */
#define LEVEL_COLS(c, s) "CASE WHEN ?4 >= 1 THEN " c " END, CASE WHEN ?4 >= 2 THEN " s " END"
/* Rows that cannot be placed at the level asked for stay out of it. */
#define LEVEL_WHERE(c, s) "(?4 < 1 OR " c " IS NOT NULL) AND (?4 < 2 OR " s " IS NOT NULL)"

enum {
    R_ENROLLED = NT_SQ_X_REPORT,
    R_SENDS,
    R_INBOUND,
    R_ENGAGED,
    R_QUEUE,
    R_REJECTS,
    R_CLAIMS,
    R_SENDER_SENT,
    R_SENDER_24H,
    R_STEPS,
    R_END,
};

_Static_assert((int)R_END <= (int)NT_SQ_XSLOTS, "report statements overflow their slots");

static const char *const sql[] = {
    /* leads enrolled (an enrollment is one lead in one campaign) */
    [R_ENROLLED - NT_SQ_X_REPORT] = "SELECT " LEVEL_COLS(
        "campaign",
        "NULL") ", count(DISTINCT lead_id) "
                "FROM enrollments WHERE " IN("enrolled_at") " AND (?3 IS NULL OR campaign = ?3) "
                                                            "GROUP BY 1, 2",
    /* a send counts once, in its state now, at the time of its outcome:
     * sent_at for a sent one, its last attempt for the others; claimed
     * (in flight) ones are left out */
    [R_SENDS - NT_SQ_X_REPORT] = "SELECT " LEVEL_COLS(
        "campaign",
        "step_id") ", "
                   "count(CASE WHEN state = 'sent' THEN 1 END), "
                   "count(DISTINCT CASE WHEN state = 'sent' THEN lead_id END), "
                   "count(CASE WHEN state = 'deferred' THEN 1 END), "
                   "count(CASE WHEN state = 'failed' THEN 1 END), "
                   "count(CASE WHEN state = 'unknown' THEN 1 END) "
                   "FROM sends WHERE state <> 'claimed' AND (?3 IS NULL OR campaign = ?3) "
                   "AND " IN("CASE WHEN state = 'sent' AND sent_at > 0 THEN sent_at ELSE "
                             "updated_at END") " GROUP BY 1, 2",
    /* what came back, by its current classification, attributed through
     * its send to a step; each message falls in at most one column; leads
     * are counted once per column and group */
    [R_INBOUND - NT_SQ_X_REPORT] = "SELECT " LEVEL_COLS(
        "s.campaign",
        "s.step_id") ", "
                     "count(DISTINCT CASE WHEN i.kind = 'bounce' AND i.hard <> 0 "
                     "  AND coalesce(i.reason, '') NOT IN ('policy', 'spam') THEN l.id END), "
                     "count(DISTINCT CASE WHEN i.kind = 'bounce' AND i.hard = 0 "
                     "  AND coalesce(i.reason, '') NOT IN ('policy', 'spam') THEN l.id END), "
                     "count(DISTINCT CASE WHEN i.kind = 'bounce' "
                     "  AND coalesce(i.reason, '') IN ('policy', 'spam') THEN l.id END), "
                     "count(DISTINCT CASE WHEN i.kind = 'auto-reply' THEN l.id END), "
                     "count(DISTINCT CASE WHEN i.kind = 'reply' "
                     "  AND coalesce(i.intent, '') <> 'unsubscribe' THEN l.id END), "
                     "count(DISTINCT CASE WHEN i.kind = 'unsubscribe' "
                     "  OR (i.kind = 'reply' AND i.intent = 'unsubscribe') THEN l.id END), "
                     "count(DISTINCT CASE WHEN i.kind = 'complaint' THEN l.id END) "
                     "FROM inbound i LEFT JOIN sends s ON s.id = i.send_id "
                     "JOIN leads l ON l.id = coalesce(s.lead_id, i.lead_id) "
                     "WHERE " IN("i.received_at") " AND (?3 IS NULL OR s.campaign = ?3) "
                                                  "AND " LEVEL_WHERE("s.campaign",
                                                                     "s.step_id") " GROUP BY 1, 2",
    /* engagement as the lead's timeline (and so the scoring) has it */
    [R_ENGAGED - NT_SQ_X_REPORT] = "SELECT " LEVEL_COLS(
        "c",
        "st") ", count(DISTINCT lead_id) FROM ("
              "  SELECT lead_id,"
              "    CASE WHEN json_valid(detail) THEN json_extract(detail, '$.campaign') END AS c,"
              "    CASE WHEN json_valid(detail) THEN json_extract(detail, '$.step') END AS st,"
              "    CASE WHEN json_valid(detail) THEN json_extract(detail, '$.intent') END AS intent"
              "  FROM events WHERE kind = 'replied' AND " IN(
                  "at") ") "
                        "WHERE coalesce(intent, '') <> 'unsubscribe' AND (?3 IS NULL OR c = ?3) "
                        "AND " LEVEL_WHERE("c", "st") " GROUP BY 1, 2",
    /* hand-offs and what sales did with them, each at its own time */
    [R_QUEUE - NT_SQ_X_REPORT] = "SELECT " LEVEL_COLS(
        "campaign",
        "step_id") ", "
                   "count(CASE WHEN " IN(
                       "created_at") " THEN 1 END), "
                                     "count(CASE WHEN " IN(
                                         "claimed_at") " THEN 1 END), "
                                                       "count(CASE WHEN state = 'accepted' AND " IN(
                                                           "decided_at") " THEN 1 END), "
                                                                         "count(CASE WHEN "
                                                                         "reject_reason IS NOT "
                                                                         "NULL AND " IN(
                                                                             "decided_at") " THEN "
                                                                                           "1 "
                                                                                           "END), "
                                                                                           "count("
                                                                                           "CASE "
                                                                                           "WHEN "
                                                                                           "recycle"
                                                                                           "_campai"
                                                                                           "gn IS "
                                                                                           "NOT "
                                                                                           "NULL "
                                                                                           "AND"
                                                                                           " " IN(
                                                                                               "dec"
                                                                                               "ide"
                                                                                               "d_"
                                                                                               "at") " THEN 1 END) "
                                                                                                     "FROM queue WHERE (?3 IS NULL OR campaign = ?3) "
                                                                                                     "AND (" IN("created_at") " OR " IN("claimed_at") " OR " IN(
                                                                                                         "decided_at") ") "
                                                                                                                       "AND " LEVEL_WHERE(
                                                                                                                           "campaign",
                                                                                                                           "step_id") " GROUP BY 1, 2",
    [R_REJECTS - NT_SQ_X_REPORT] = "SELECT " LEVEL_COLS(
        "campaign", "step_id") ", reject_reason, count(*) "
                               "FROM queue WHERE reject_reason IS NOT NULL AND " IN(
                                   "decided_at") " AND (?3 IS NULL OR campaign = ?3) "
                                                 "AND " LEVEL_WHERE("campaign",
                                                                    "step_id") " GROUP BY 1, 2, 3",
    /* one row per claim, for the medians */
    [R_CLAIMS - NT_SQ_X_REPORT] =
        "SELECT campaign, step_id, coalesce(claimed_by, rep), claimed_at - created_at "
        "FROM queue WHERE claimed_at IS NOT NULL AND " IN(
            "claimed_at") " AND (?3 IS NULL OR campaign = ?3) ORDER BY id",
    /* senders: all campaigns, since a cap is the sender's whatever the
     * campaign */
    [R_SENDER_SENT - NT_SQ_X_REPORT] =
        "SELECT sender, count(*) FROM sends WHERE state = 'sent' AND sender IS NOT NULL "
        "AND " IN("CASE WHEN sent_at > 0 THEN sent_at ELSE updated_at END") " GROUP BY sender",
    /* what the daily cap saw in the 24 hours before the end of the period:
     * the same rule as nt_store_send_count_since */
    [R_SENDER_24H - NT_SQ_X_REPORT] =
        "SELECT sender, count(*) FROM sends WHERE sender IS NOT NULL "
        "AND created_at >= ?2 - 86400 AND created_at < ?2 "
        "AND state IN ('claimed', 'sent', 'deferred', 'unknown') GROUP BY sender",
    /* every step ever sent, with its position, so steps are listed in
     * order and a quiet step still shows */
    [R_STEPS - NT_SQ_X_REPORT] = ("SELECT campaign, step_id, min(step) FROM sends "
                                  "WHERE (?3 IS NULL OR campaign = ?3) GROUP BY campaign, step_id"),
};

/* The figures of a three-level statement, column by column from 2. */
static const char *const send_metrics[] = {"sent",   "reached", "deferred",
                                           "failed", "unknown", NULL};
static const char *const inbound_metrics[] = {
    "bounced_hard", "bounced_soft", "blocked",    "out_of_office",
    "replied",      "unsubscribed", "complained", NULL,
};
static const char *const engaged_metrics[] = {"engaged", NULL};
static const char *const enrolled_metrics[] = {"enrolled", NULL};
static const char *const queue_metrics[] = {"handed_off", "claimed",  "accepted",
                                            "rejected",   "recycled", NULL};

typedef struct run {
    sqlite_store *s;
    int64_t since, until;
    const char *campaign;
    nt_report_cb cb;
    void *ctx;
    nt_diag *d;
    int stopped;
} run;

static sqlite3_stmt *
prepare(run *r, int q, int level)
{
    sqlite3_stmt *st = nt_sq_xstmt(r->s, q, sql[q - NT_SQ_X_REPORT], r->d);

    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, r->since);
    sqlite3_bind_int64(st, 2, r->until);
    nt_sq_bind_text(st, 3, r->campaign);
    sqlite3_bind_int(st, 4, level);
    return st;
}

static int
emit(run *r, sqlite3_stmt *q, int ccol, int scol, const char *metric, const char *key,
     int64_t value)
{
    nt_report_row row;

    row.campaign = ccol >= 0 ? (const char *)sqlite3_column_text(q, ccol) : NULL;
    row.step_id = scol >= 0 ? (const char *)sqlite3_column_text(q, scol) : NULL;
    row.metric = metric;
    row.key = key;
    row.value = value;
    if (r->cb(r->ctx, &row))
        r->stopped = 1;
    return r->stopped;
}

typedef void (*report_row_fn)(run *r, sqlite3_stmt *q, const void *arg);

typedef struct each_ctx {
    run *r;
    report_row_fn fn;
    const void *arg;
} each_ctx;

static int
each_row(void *vctx, sqlite3_stmt *q, nt_err *err)
{
    each_ctx *x = vctx;

    (void)err;
    x->fn(x->r, q, x->arg);
    return x->r->stopped;
}

/* Step through q, which is bound; each row goes to fn.  Stops early when
 * the callback asked to. */
static nt_err
each(run *r, sqlite3_stmt *q, report_row_fn fn, const void *arg, const char *what)
{
    each_ctx x = {r, fn, arg};

    if (r->stopped) {
        sqlite3_reset(q);
        return NT_OK;
    }
    return nt_sq_iterate(r->s, q, each_row, &x, what, r->d);
}

/* A row of a three-level count statement: campaign, step, then one column
 * per metric.  Zero counts are not emitted. */
static void
counts_row(run *r, sqlite3_stmt *q, const void *arg)
{
    const char *const *metrics = arg;

    for (int i = 0; metrics[i] && !r->stopped; i++) {
        int64_t v = sqlite3_column_int64(q, 2 + i);
        if (v)
            emit(r, q, 0, 1, metrics[i], NULL, v);
    }
}

static void
reject_row(run *r, sqlite3_stmt *q, const void *arg)
{
    (void)arg;
    emit(r, q, 0, 1, "rejected", (const char *)sqlite3_column_text(q, 2),
         sqlite3_column_int64(q, 3));
}

static void
claim_row(run *r, sqlite3_stmt *q, const void *arg)
{
    (void)arg;
    emit(r, q, 0, 1, "claim_seconds", (const char *)sqlite3_column_text(q, 2),
         sqlite3_column_int64(q, 3));
}

static void
sender_row(run *r, sqlite3_stmt *q, const void *arg)
{
    emit(r, q, -1, -1, arg, (const char *)sqlite3_column_text(q, 0), sqlite3_column_int64(q, 1));
}

static void
step_row(run *r, sqlite3_stmt *q, const void *arg)
{
    (void)arg;
    emit(r, q, 0, 1, "step_position", NULL, sqlite3_column_int64(q, 2));
}

/* Run a three-level statement at the levels from `top` down to 0. */
static nt_err
levels(run *r, int q, int top, const char *const *metrics, const char *what)
{
    nt_err err = NT_OK;

    for (int level = top; level >= 0 && err == NT_OK && !r->stopped; level--) {
        sqlite3_stmt *st = prepare(r, q, level);
        if (!st)
            return NT_ESTORE;
        err = each(r, st, q == R_REJECTS ? reject_row : counts_row, metrics, what);
    }
    return err;
}

static nt_err
one(run *r, int q, void (*fn)(run *, sqlite3_stmt *, const void *), const void *arg,
    const char *what)
{
    sqlite3_stmt *st;

    if (r->stopped)
        return NT_OK;
    if (!(st = prepare(r, q, 0)))
        return NT_ESTORE;
    return each(r, st, fn, arg, what);
}

nt_err
nt_sq_report_rows(nt_store *st, int64_t since, int64_t until, const char *campaign, nt_report_cb cb,
                  void *ctx, nt_diag *d)
{
    run r = {S(st), since, until > 0 ? until : INT64_MAX, campaign, cb, ctx, d, 0};
    nt_err err, rerr;

    if ((err = nt_sq_exec(r.s, "SAVEPOINT report", d)) != NT_OK)
        return err;
    err = one(&r, R_STEPS, step_row, NULL, "reading the steps");
    if (err == NT_OK)
        err = levels(&r, R_ENROLLED, 1, enrolled_metrics, "counting enrollments");
    if (err == NT_OK)
        err = levels(&r, R_SENDS, 2, send_metrics, "counting sends");
    if (err == NT_OK)
        err = levels(&r, R_INBOUND, 2, inbound_metrics, "counting what came back");
    if (err == NT_OK)
        err = levels(&r, R_ENGAGED, 2, engaged_metrics, "counting engaged leads");
    if (err == NT_OK)
        err = levels(&r, R_QUEUE, 2, queue_metrics, "counting hand-offs");
    if (err == NT_OK)
        err = levels(&r, R_REJECTS, 2, NULL, "counting reject reasons");
    if (err == NT_OK)
        err = one(&r, R_CLAIMS, claim_row, NULL, "reading claim times");
    if (err == NT_OK)
        err = one(&r, R_SENDER_SENT, sender_row, "sender_sent", "counting sends per sender");
    if (err == NT_OK && until > 0)
        err = one(&r, R_SENDER_24H, sender_row, "sender_24h", "counting sends per sender");
    /* Only read: releasing is all there is to finish. */
    rerr = nt_sq_exec(r.s, "RELEASE report", err == NT_OK ? d : NULL);
    return err != NT_OK ? err : rerr;
}
