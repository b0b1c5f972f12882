/*
 * What the files of the SQLite backend share: the handle, its statement
 * cache and error helpers, and the operations implemented outside
 * store_sqlite.c (the queue and outbox in store_sqlite_queue.c, the report
 * in store_sqlite_report.c).  Not a public interface.
 */
#ifndef NURTURE_STORE_SQLITE_IMPL_H
#define NURTURE_STORE_SQLITE_IMPL_H

#include <sqlite3.h>

#include "nurture/store.h"

typedef struct sqlite_store sqlite_store;

/* Statement slots for the companion files, each owning a range. */
enum {
    NT_SQ_X_QUEUE = 0,   /* store_sqlite_queue.c: 0..31 */
    NT_SQ_X_REPORT = 32, /* store_sqlite_report.c: 32..63 */
    NT_SQ_XSLOTS = 64,
};

sqlite_store *S(nt_store *st);
sqlite3 *nt_sq_db(sqlite_store *s);
/* The statement in `slot`, prepared from `text` on first use, then reset
 * and unbound on each call.  Owned by the store.  NULL (diag set) on error. */
sqlite3_stmt *nt_sq_xstmt(sqlite_store *s, int slot, const char *text, nt_diag *d);
/* The database's last error as NT_EBUSY (locked: retry) or NT_ESTORE. */
nt_err nt_sq_error(sqlite_store *s, nt_diag *d, const char *what);
/* Bind v, or NULL when v is NULL; v must live until the statement is reset. */
void nt_sq_bind_text(sqlite3_stmt *q, int i, const char *v);
/* Column i as a string owned by the caller, or NULL. */
char *nt_sq_col_dup(sqlite3_stmt *q, int i);
nt_err nt_sq_exec(sqlite_store *s, const char *text, nt_diag *d);

/* One row of a statement being stepped: non-zero stops; *err set (and
 * non-zero returned) when the row cannot be read. */
typedef int (*nt_sq_row_fn)(void *ctx, sqlite3_stmt *q, nt_err *err);
/* Step q (bound) to the end or until row() stops, then reset it.  A step
 * error becomes nt_sq_error(s, d, what). */
nt_err nt_sq_iterate(sqlite_store *s, sqlite3_stmt *q, nt_sq_row_fn row, void *ctx,
                     const char *what, nt_diag *d);

/* store_sqlite_queue.c */
nt_err nt_sq_queue_add(nt_store *st, nt_qentry *e, int *added, nt_diag *d);
nt_err nt_sq_queue_get(nt_store *st, int64_t id, nt_qentry *out, nt_diag *d);
nt_err nt_sq_queue_open_for_lead(nt_store *st, int64_t lead_id, int64_t *id, nt_diag *d);
nt_err nt_sq_queue_list(nt_store *st, const nt_queue_filter *f, nt_qentry_cb cb, void *ctx,
                        nt_diag *d);
nt_err nt_sq_queue_claim(nt_store *st, const char *rep, int64_t now, int64_t *id, nt_diag *d);
nt_err nt_sq_queue_update(nt_store *st, const nt_qentry *e, nt_diag *d);
nt_err nt_sq_queue_unescalated(nt_store *st, int64_t created_before, nt_qentry_cb cb, void *ctx,
                               nt_diag *d);
nt_err nt_sq_rotation_get(nt_store *st, const char *rep, int64_t *current, nt_diag *d);
nt_err nt_sq_rotation_set(nt_store *st, const char *rep, int64_t current, nt_diag *d);
nt_err nt_sq_outbox_add(nt_store *st, const nt_outbox_msg *m, int *added, nt_diag *d);
nt_err nt_sq_outbox_due(nt_store *st, int64_t now, int64_t limit, nt_outbox_cb cb, void *ctx,
                        nt_diag *d);
nt_err nt_sq_outbox_mark(nt_store *st, int64_t id, int64_t delivered_at, int64_t next_attempt_at,
                         int status, const char *error, nt_diag *d);
nt_err nt_sq_outbox_list(nt_store *st, int pending_only, int64_t limit, nt_outbox_cb cb, void *ctx,
                         nt_diag *d);

/* store_sqlite_report.c */
nt_err nt_sq_report_rows(nt_store *st, int64_t since, int64_t until, const char *campaign,
                         nt_report_cb cb, void *ctx, nt_diag *d);

#endif
