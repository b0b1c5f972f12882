/*
 * The store: every durable fact nurture keeps, behind one interface.
 *
 * The rest of the code never sees SQL.  A backend is a struct of function
 * pointers (nt_store_ops); SQLite is the embedded default (store_sqlite.c)
 * and the only file that includes <sqlite3.h>.  A PostgreSQL backend
 * implements the same operations.  The public nt_store_* functions below
 * dispatch to the backend.
 *
 * Times are seconds since the epoch (UTC).  Iteration callbacks return 0 to
 * go on and non-zero to stop; borrowed pointers they receive are valid only
 * during the call.
 */
#ifndef NURTURE_STORE_H
#define NURTURE_STORE_H

#include <stdint.h>

#include "nurture/error.h"
#include "nurture/lead.h"

typedef struct nt_store nt_store;

/* One entry of a lead's timeline. */
typedef struct nt_event {
    int64_t id;
    int64_t lead_id;
    int64_t at;
    const char *kind;   /* "created", "updated", "stage", "enrolled", "sent"... */
    const char *detail; /* JSON object text, or NULL */
} nt_event;

/* next_at of an enrollment that waits for something other than time (a
 * message in flight, a finished campaign): 9999-12-31T23:59:59Z. */
#define NT_NEVER INT64_C(253402300799)

typedef enum nt_enroll_state {
    NT_ENROLL_ACTIVE = 0, /* waiting for its next step */
    NT_ENROLL_COMPLETED,  /* every step sent */
    NT_ENROLL_EXITED,     /* left on an exit rule (reason in exit_reason) */
    NT_ENROLL_PAUSED,     /* held until resume_at */
} nt_enroll_state;

/* A lead inside a campaign.  Strings owned by the struct when filled by the
 * store; nt_enrollment_release(). */
typedef struct nt_enrollment {
    int64_t id;
    int64_t lead_id;
    char *campaign;
    char *version; /* campaign version the lead is on */
    nt_enroll_state state;
    int step;           /* index of the next step to send */
    char *last_step_id; /* id of the last step sent, or NULL */
    int64_t enrolled_at;
    int64_t last_sent_at; /* 0 when nothing sent yet */
    int64_t due_at;       /* previous send (or enrollment) + the step's delay */
    int64_t next_at;      /* due_at moved into the send window: when to send */
    char *exit_reason;
} nt_enrollment;

void nt_enrollment_release(nt_enrollment *e);
/* A deep copy of src into dst (owned by the caller: nt_enrollment_release).
 * NT_ENOMEM leaves dst released. */
nt_err nt_enrollment_copy(nt_enrollment *dst, const nt_enrollment *src);

typedef enum nt_send_state {
    NT_SEND_CLAIMED = 0, /* claimed by a run, SMTP under way */
    NT_SEND_SENT,        /* the server answered 2xx */
    NT_SEND_DEFERRED,    /* 4xx or no answer: retried later */
    NT_SEND_FAILED,      /* 5xx, or retried for too long */
    NT_SEND_UNKNOWN,     /* a run died while it was claimed: maybe sent */
} nt_send_state;

/* One email to one lead: the at-most-once record.  Strings owned by the
 * struct when filled by the store; nt_send_release(). */
typedef struct nt_send {
    int64_t id;
    int64_t lead_id;
    char *campaign;
    char *version;
    char *step_id;
    int step;
    nt_send_state state;
    char *sender; /* sender id, for the caps */
    char *email;  /* the address it went (or goes) to */
    int64_t created_at;
    int64_t updated_at;
    int64_t sent_at;         /* 0 unless sent */
    int64_t next_attempt_at; /* for deferred sends */
    int attempts;
    int smtp_code;
    char *smtp_text;
    char *message_id;
} nt_send;

void nt_send_release(nt_send *s);
const char *nt_send_state_name(nt_send_state s);
/* -1 when name is not a state. */
int nt_send_state_from(const char *name);

typedef int (*nt_send_cb)(void *ctx, const nt_send *s);

/*
 * One message that came back (a reply, a bounce, an auto-reply...): kept
 * whole with the decision taken on it, so that the decision can be
 * inspected, re-run when the rules improve, and undone.  Strings owned by
 * the struct when filled by the store; nt_inbound_release().
 */
typedef struct nt_inbound {
    int64_t id;
    int64_t received_at;
    char *source;       /* "stdin", "maildir", "mbox", "imap", "pop3" */
    char *source_key;   /* the message's key in its mailbox, or NULL */
    char *message_id;   /* without <>, or NULL */
    char *content_hash; /* hex SHA-256 of the body (line ends normalised) */
    char *raw;          /* the message as received; NULL when not loaded */
    size_t rawlen;
    char *from_addr;
    char *subject;
    char *kind;          /* nt_inkind_name() */
    char *rule;          /* what decided */
    char *reason;        /* bounce reason, or NULL */
    char *status;        /* bounce status code, or NULL */
    int hard;            /* bounce: 1 permanent */
    char *intent;        /* reply intent, or NULL */
    char *return_date;   /* out-of-office "YYYY-MM-DD", or NULL */
    char *detail;        /* JSON object: recipients, visible text... */
    int64_t lead_id;     /* 0 when not attributed */
    int64_t send_id;     /* 0 when not attributed to a send */
    char *attributed_by; /* "verp", "unsubscribe-token", "in-reply-to", "references",
                            "returned-message-id", "sender", or NULL */
    int forged;          /* a token was present and did not verify */
    char *action;        /* what was done, e.g. "suppressed; exited 2 campaigns" */
    int64_t classified_at;
} nt_inbound;

void nt_inbound_release(nt_inbound *in);

typedef int (*nt_inbound_cb)(void *ctx, const nt_inbound *in);

typedef struct nt_inbound_filter {
    const char *kind; /* NULL = any */
    int64_t lead_id;  /* 0 = any */
    int64_t after_id; /* ids greater than this (paging) */
    int64_t limit;    /* 0 = no limit */
} nt_inbound_filter;

typedef struct nt_lead_filter {
    const char *stage; /* NULL = any */
    int64_t after_id;  /* ids greater than this (paging) */
    int64_t limit;     /* 0 = no limit */
} nt_lead_filter;

typedef int (*nt_lead_cb)(void *ctx, const nt_lead *lead);
typedef int (*nt_event_cb)(void *ctx, const nt_event *ev);
typedef int (*nt_enrollment_cb)(void *ctx, const nt_enrollment *e);

/* A lead handed to sales (queue.h).  Strings owned by the struct when
 * filled by the store; nt_qentry_release(). */
typedef enum nt_qstate {
    NT_Q_OPEN = 0, /* waiting for its rep to pull it */
    NT_Q_CLAIMED,  /* a rep pulled it and is working on it */
    NT_Q_ACCEPTED, /* the rep took it on: the lead moved to the accept stage */
    NT_Q_REJECTED, /* the rep turned it down, with a reason */
    NT_Q_RECYCLED, /* sent back to a nurture campaign */
} nt_qstate;

typedef struct nt_qentry {
    int64_t id;
    int64_t lead_id;
    nt_qstate state;
    char *rep;         /* assigned rep, or NULL when there was none to assign */
    char *assigned_by; /* "owner", "round-robin", or "none" */
    char *trigger;     /* the rule that handed off, or "threshold" */
    char *reason;      /* for people: "replied with intent meeting; score 72 >= 50" */
    double score;
    int64_t inbound_id; /* the reply that triggered it, or 0 */
    char *campaign;     /* campaign and step the reply answered, or NULL */
    char *step_id;
    char *intent;
    char *reply_text; /* the reply's visible text, or NULL */
    char *context;    /* JSON object: lead fields, score contributions */
    int64_t created_at;
    int64_t claimed_at; /* 0 until claimed */
    char *claimed_by;
    int64_t escalated_at; /* 0 unless left unclaimed past the SLA */
    int64_t decided_at;   /* accept, reject or recycle; 0 until then */
    char *reject_reason;
    char *note;
    char *recycle_campaign; /* campaign the lead went back to, or NULL */
} nt_qentry;

void nt_qentry_release(nt_qentry *e);
const char *nt_qstate_name(nt_qstate s);
/* -1 when name is not a state. */
int nt_qstate_from(const char *name);

typedef int (*nt_qentry_cb)(void *ctx, const nt_qentry *e);

typedef struct nt_queue_filter {
    int state;       /* nt_qstate, or -1 for any */
    const char *rep; /* NULL = any */
    int64_t lead_id; /* 0 = any */
    int64_t since;   /* created at or after; 0 = any */
    int escalated;   /* 1: only escalated entries */
    int64_t limit;   /* 0 = no limit */
} nt_queue_filter;

/* One webhook delivery waiting in (or gone from) the outbox. */
typedef struct nt_outbox_msg {
    int64_t id;
    const char *webhook; /* nt_webhook.name */
    const char *event;   /* "handoff", "claim", ... */
    const char *key;     /* idempotency key: the same on every attempt */
    const char *payload; /* the JSON body */
    int64_t created_at;
    int64_t next_attempt_at;
    int attempts;
    int64_t delivered_at; /* 0 until delivered */
    int last_status;      /* HTTP status of the last attempt, 0 when none */
    const char *last_error;
} nt_outbox_msg;

typedef int (*nt_outbox_cb)(void *ctx, const nt_outbox_msg *m);

/*
 * One figure of the shared report: `value` of `metric` for a campaign
 * (NULL for figures that belong to no campaign) and step (NULL for the
 * campaign as a whole), with `key` for figures broken down further (a
 * reject reason, a sender).  Borrowed for the callback.
 */
typedef struct nt_report_row {
    const char *campaign;
    const char *step_id;
    const char *metric;
    const char *key;
    int64_t value;
} nt_report_row;

typedef int (*nt_report_cb)(void *ctx, const nt_report_row *row);

typedef struct nt_store_ops {
    const char *name;
    void (*close)(nt_store *st);
    nt_err (*begin)(nt_store *st, nt_diag *d);
    nt_err (*commit)(nt_store *st, nt_diag *d);
    nt_err (*rollback)(nt_store *st);
    nt_err (*integrity)(nt_store *st, nt_diag *d);

    nt_err (*lead_upsert)(nt_store *st, nt_lead *lead, const char *default_stage, int64_t now,
                          int *created, nt_diag *d);
    nt_err (*lead_get)(nt_store *st, int64_t id, const char *email, nt_lead *out, nt_diag *d);
    nt_err (*lead_list)(nt_store *st, const nt_lead_filter *f, nt_lead_cb cb, void *ctx,
                        nt_diag *d);
    nt_err (*lead_changed_since)(nt_store *st, int64_t rev, int64_t *max_rev, nt_lead_cb cb,
                                 void *ctx, nt_diag *d);
    nt_err (*lead_set_stage)(nt_store *st, int64_t id, const char *stage, int64_t now, nt_diag *d);
    nt_err (*lead_count)(nt_store *st, int64_t *out, nt_diag *d);

    nt_err (*event_add)(nt_store *st, int64_t lead_id, int64_t at, const char *kind,
                        const char *detail, nt_diag *d);
    nt_err (*event_list)(nt_store *st, int64_t lead_id, nt_event_cb cb, void *ctx, nt_diag *d);

    nt_err (*suppressed)(nt_store *st, const char *email, char *reason, size_t reasonsz, int *is,
                         nt_diag *d);
    nt_err (*suppress)(nt_store *st, const char *email, const char *reason, int64_t at, nt_diag *d);

    nt_err (*watermark_get)(nt_store *st, const char *campaign, int64_t *rev, nt_diag *d);
    nt_err (*watermark_set)(nt_store *st, const char *campaign, int64_t rev, nt_diag *d);
    nt_err (*enrollment_add)(nt_store *st, nt_enrollment *e, int *added, nt_diag *d);
    nt_err (*enrollment_update)(nt_store *st, const nt_enrollment *e, nt_diag *d);
    nt_err (*enrollment_get)(nt_store *st, int64_t lead_id, const char *campaign,
                             nt_enrollment *out, nt_diag *d);
    nt_err (*enrollment_due)(nt_store *st, const char *campaign, int64_t until, int64_t limit,
                             nt_enrollment_cb cb, void *ctx, nt_diag *d);
    nt_err (*enrollment_list)(nt_store *st, int64_t lead_id, nt_enrollment_cb cb, void *ctx,
                              nt_diag *d);
    nt_err (*step_sent)(nt_store *st, int64_t lead_id, const char *campaign, const char *step_id,
                        int *sent, nt_diag *d);
    nt_err (*enrollment_exit_all)(nt_store *st, int64_t lead_id, const char *reason, int64_t now,
                                  nt_diag *d);

    nt_err (*send_claim)(nt_store *st, nt_send *s, int *claimed, nt_diag *d);
    nt_err (*send_reclaim)(nt_store *st, int64_t id, int64_t now, int *claimed, nt_diag *d);
    nt_err (*send_mark)(nt_store *st, const nt_send *s, nt_diag *d);
    nt_err (*send_get)(nt_store *st, int64_t id, nt_send *out, nt_diag *d);
    nt_err (*send_list)(nt_store *st, int state, int64_t lead_id, int64_t limit, nt_send_cb cb,
                        void *ctx, nt_diag *d);
    nt_err (*send_retry_due)(nt_store *st, int64_t until, int64_t limit, nt_send_cb cb, void *ctx,
                             nt_diag *d);
    nt_err (*send_orphans_to_unknown)(nt_store *st, int64_t now, int64_t *count, nt_diag *d);
    nt_err (*send_count_since)(nt_store *st, const char *sender, int64_t since, int64_t *count,
                               nt_diag *d);

    nt_err (*unsuppress)(nt_store *st, const char *email, int *was, nt_diag *d);
    nt_err (*event_count)(nt_store *st, int64_t lead_id, const char *kind, int64_t since,
                          int64_t *count, nt_diag *d);
    nt_err (*inbound_find)(nt_store *st, const char *message_id, const char *content_hash,
                           const char *source_key, int64_t *id, nt_diag *d);
    nt_err (*inbound_add)(nt_store *st, nt_inbound *in, nt_diag *d);
    nt_err (*inbound_update)(nt_store *st, const nt_inbound *in, nt_diag *d);
    nt_err (*inbound_get)(nt_store *st, int64_t id, int with_raw, nt_inbound *out, nt_diag *d);
    nt_err (*inbound_list)(nt_store *st, const nt_inbound_filter *f, nt_inbound_cb cb, void *ctx,
                           nt_diag *d);
    nt_err (*sender_pause)(nt_store *st, const char *sender, int64_t until, const char *reason,
                           int64_t at, nt_diag *d);
    nt_err (*sender_paused)(nt_store *st, const char *sender, int64_t now, int64_t *until,
                            char *reason, size_t reasonsz, nt_diag *d);
    nt_err (*mailbox_state_get)(nt_store *st, const char *mailbox, uint64_t *uidvalidity,
                                uint64_t *last_uid, nt_diag *d);
    nt_err (*mailbox_state_set)(nt_store *st, const char *mailbox, uint64_t uidvalidity,
                                uint64_t last_uid, nt_diag *d);

    nt_err (*queue_add)(nt_store *st, nt_qentry *e, int *added, nt_diag *d);
    nt_err (*queue_get)(nt_store *st, int64_t id, nt_qentry *out, nt_diag *d);
    nt_err (*queue_open_for_lead)(nt_store *st, int64_t lead_id, int64_t *id, nt_diag *d);
    nt_err (*queue_list)(nt_store *st, const nt_queue_filter *f, nt_qentry_cb cb, void *ctx,
                         nt_diag *d);
    nt_err (*queue_claim)(nt_store *st, const char *rep, int64_t now, int64_t *id, nt_diag *d);
    nt_err (*queue_update)(nt_store *st, const nt_qentry *e, nt_diag *d);
    nt_err (*queue_unescalated)(nt_store *st, int64_t created_before, nt_qentry_cb cb, void *ctx,
                                nt_diag *d);
    nt_err (*rotation_get)(nt_store *st, const char *rep, int64_t *current, nt_diag *d);
    nt_err (*rotation_set)(nt_store *st, const char *rep, int64_t current, nt_diag *d);
    nt_err (*outbox_add)(nt_store *st, const nt_outbox_msg *m, int *added, nt_diag *d);
    nt_err (*outbox_due)(nt_store *st, int64_t now, int64_t limit, nt_outbox_cb cb, void *ctx,
                         nt_diag *d);
    nt_err (*outbox_mark)(nt_store *st, int64_t id, int64_t delivered_at, int64_t next_attempt_at,
                          int status, const char *error, nt_diag *d);
    nt_err (*outbox_list)(nt_store *st, int pending_only, int64_t limit, nt_outbox_cb cb, void *ctx,
                          nt_diag *d);
    nt_err (*report_rows)(nt_store *st, int64_t since, int64_t until, const char *campaign,
                          nt_report_cb cb, void *ctx, nt_diag *d);
} nt_store_ops;

/* Every backend's handle starts with this. */
struct nt_store {
    const nt_store_ops *ops;
};

/*
 * Open (creating when missing) the SQLite database at path, in WAL mode with
 * foreign keys, and bring its schema up to date.  *out owned by the caller:
 * nt_store_close().
 */
nt_err nt_store_open_sqlite(const char *path, nt_store **out, nt_diag *d);

/* The schema version this build writes (PRAGMA user_version). */
#define NT_SCHEMA_VERSION 4

void nt_store_close(nt_store *st);
nt_err nt_store_begin(nt_store *st, nt_diag *d);
nt_err nt_store_commit(nt_store *st, nt_diag *d);
nt_err nt_store_rollback(nt_store *st);
/* NT_OK when the database passes its integrity check. */
nt_err nt_store_integrity(nt_store *st, nt_diag *d);

/*
 * Insert the lead, or update the lead with the same email: fields given in
 * `lead` replace stored ones, fields it leaves NULL are kept, custom fields
 * are merged.  A new lead without a stage gets default_stage.  lead->id is
 * set.  *created says which happened.  Appends a "created", "updated" and,
 * when the stage changed, a "stage" event.  Atomic on its own (a savepoint),
 * and may run inside nt_store_begin / nt_store_commit for speed.
 */
nt_err nt_store_lead_upsert(nt_store *st, nt_lead *lead, const char *default_stage, int64_t now,
                            int *created, nt_diag *d);
/* By id (email NULL) or by normalised email (id 0).  out owned by caller:
 * nt_lead_release.  NT_ENOTFOUND when absent. */
nt_err nt_store_lead_get(nt_store *st, int64_t id, const char *email, nt_lead *out, nt_diag *d);
nt_err nt_store_lead_list(nt_store *st, const nt_lead_filter *f, nt_lead_cb cb, void *ctx,
                          nt_diag *d);
/*
 * Leads inserted or changed since revision `rev` (exclusive), in revision
 * order; *max_rev is set to the highest revision seen (or rev).  This is how
 * enrollment stays proportional to what changed, not to the size of the
 * lead table.
 */
nt_err nt_store_lead_changed_since(nt_store *st, int64_t rev, int64_t *max_rev, nt_lead_cb cb,
                                   void *ctx, nt_diag *d);
nt_err nt_store_lead_set_stage(nt_store *st, int64_t id, const char *stage, int64_t now,
                               nt_diag *d);
nt_err nt_store_lead_count(nt_store *st, int64_t *out, nt_diag *d);

nt_err nt_store_event_add(nt_store *st, int64_t lead_id, int64_t at, const char *kind,
                          const char *detail, nt_diag *d);
/* Oldest first. */
nt_err nt_store_event_list(nt_store *st, int64_t lead_id, nt_event_cb cb, void *ctx, nt_diag *d);

/* *is = 1 and the reason copied when email is on the suppression list. */
nt_err nt_store_suppressed(nt_store *st, const char *email, char *reason, size_t reasonsz, int *is,
                           nt_diag *d);
nt_err nt_store_suppress(nt_store *st, const char *email, const char *reason, int64_t at,
                         nt_diag *d);

/* The last lead revision a campaign's enrollment has looked at (0 at first). */
nt_err nt_store_watermark_get(nt_store *st, const char *campaign, int64_t *rev, nt_diag *d);
nt_err nt_store_watermark_set(nt_store *st, const char *campaign, int64_t rev, nt_diag *d);
/* Insert unless the lead was ever enrolled in this campaign (*added = 0). */
nt_err nt_store_enrollment_add(nt_store *st, nt_enrollment *e, int *added, nt_diag *d);
nt_err nt_store_enrollment_update(nt_store *st, const nt_enrollment *e, nt_diag *d);
nt_err nt_store_enrollment_get(nt_store *st, int64_t lead_id, const char *campaign,
                               nt_enrollment *out, nt_diag *d);
/*
 * Active enrollments (of `campaign`, or all when NULL) whose next_at is at or
 * before `until`, soonest first, at most `limit` (0 = all).  Served by an
 * index on next_at over active rows only, so its cost follows the number due.
 */
nt_err nt_store_enrollment_due(nt_store *st, const char *campaign, int64_t until, int64_t limit,
                               nt_enrollment_cb cb, void *ctx, nt_diag *d);
/* All enrollments of one lead. */
nt_err nt_store_enrollment_list(nt_store *st, int64_t lead_id, nt_enrollment_cb cb, void *ctx,
                                nt_diag *d);
/* Whether step `step_id` of `campaign` was ever sent to the lead (any version). */
nt_err nt_store_step_sent(nt_store *st, int64_t lead_id, const char *campaign, const char *step_id,
                          int *sent, nt_diag *d);

/* End every active enrollment of the lead (an unsubscribe, a hard bounce). */
nt_err nt_store_enrollment_exit_all(nt_store *st, int64_t lead_id, const char *reason, int64_t now,
                                    nt_diag *d);

/*
 * Claim a send: insert the row in state claimed, unless a row for the same
 * lead x campaign version x step exists (*claimed = 0).  s->id is set.
 * This row is the guard that makes sending at most once.
 */
nt_err nt_store_send_claim(nt_store *st, nt_send *s, int *claimed, nt_diag *d);
/* Take a deferred send back for another attempt (attempts + 1); *claimed = 0
 * when it is no longer deferred (someone else took it). */
nt_err nt_store_send_reclaim(nt_store *st, int64_t id, int64_t now, int *claimed, nt_diag *d);
/* Write the outcome: state, smtp_code/text, message_id, sent_at,
 * next_attempt_at, updated_at (from s). */
nt_err nt_store_send_mark(nt_store *st, const nt_send *s, nt_diag *d);
nt_err nt_store_send_get(nt_store *st, int64_t id, nt_send *out, nt_diag *d);
/* Sends in `state` (-1 for any), of one lead (0 for all), newest first. */
nt_err nt_store_send_list(nt_store *st, int state, int64_t lead_id, int64_t limit, nt_send_cb cb,
                          void *ctx, nt_diag *d);
/* Deferred sends whose next attempt is due by `until`, oldest first. */
nt_err nt_store_send_retry_due(nt_store *st, int64_t until, int64_t limit, nt_send_cb cb, void *ctx,
                               nt_diag *d);
/* Every send still claimed (its run died: the caller holds the run lock)
 * becomes unknown; *count says how many. */
nt_err nt_store_send_orphans_to_unknown(nt_store *st, int64_t now, int64_t *count, nt_diag *d);
/* Sends of `sender` created at or after `since` that may have gone out
 * (claimed, sent, deferred, unknown): what counts against its caps. */
nt_err nt_store_send_count_since(nt_store *st, const char *sender, int64_t since, int64_t *count,
                                 nt_diag *d);

/* Take email off the suppression list; *was says whether it was on it. */
nt_err nt_store_unsuppress(nt_store *st, const char *email, int *was, nt_diag *d);

/* How many events of `kind` the lead has at or after `since`. */
nt_err nt_store_event_count(nt_store *st, int64_t lead_id, const char *kind, int64_t since,
                            int64_t *count, nt_diag *d);

/*
 * Whether a message was stored before: *id is the stored message with the
 * same Message-ID (either NULL) and content hash, or else, when source_key
 * is given, the one read under that key from its mailbox; 0 when none.
 */
nt_err nt_store_inbound_find(nt_store *st, const char *message_id, const char *content_hash,
                             const char *source_key, int64_t *id, nt_diag *d);
/* Store in (with its raw bytes); in->id is set.  NT_EEXIST (nothing
 * written) when the same Message-ID and content hash are stored. */
nt_err nt_store_inbound_add(nt_store *st, nt_inbound *in, nt_diag *d);
/* Rewrite the decision of in->id: kind, rule, reason, status, hard, intent,
 * return_date, detail, lead_id, send_id, attributed_by, forged, action,
 * classified_at. */
nt_err nt_store_inbound_update(nt_store *st, const nt_inbound *in, nt_diag *d);
/* out owned by the caller: nt_inbound_release().  The raw message only when
 * with_raw.  NT_ENOTFOUND when absent. */
nt_err nt_store_inbound_get(nt_store *st, int64_t id, int with_raw, nt_inbound *out, nt_diag *d);
/* Stored messages (without raw), oldest first. */
nt_err nt_store_inbound_list(nt_store *st, const nt_inbound_filter *f, nt_inbound_cb cb, void *ctx,
                             nt_diag *d);

/* Hold back a sender's mail until `until` (a policy block was reported);
 * a later pause replaces an earlier one. */
nt_err nt_store_sender_pause(nt_store *st, const char *sender, int64_t until, const char *reason,
                             int64_t at, nt_diag *d);
/* *until > now (and the reason copied) when the sender is paused at now,
 * else *until = 0. */
nt_err nt_store_sender_paused(nt_store *st, const char *sender, int64_t now, int64_t *until,
                              char *reason, size_t reasonsz, nt_diag *d);

/* Where an IMAP mailbox was left: its UIDVALIDITY and the highest UID up to
 * which every message was handled (0, 0 when never read). */
nt_err nt_store_mailbox_state_get(nt_store *st, const char *mailbox, uint64_t *uidvalidity,
                                  uint64_t *last_uid, nt_diag *d);
nt_err nt_store_mailbox_state_set(nt_store *st, const char *mailbox, uint64_t uidvalidity,
                                  uint64_t last_uid, nt_diag *d);

/* ---- the sales queue (queue.h builds on these) ---- */

/*
 * Add an entry (e->id set) unless the lead already has one open or claimed
 * (*added = 0, e->id = that entry's id).  The database enforces it, so two
 * processes handing off the same lead at once add one entry.
 */
nt_err nt_store_queue_add(nt_store *st, nt_qentry *e, int *added, nt_diag *d);
/* out owned by the caller: nt_qentry_release().  NT_ENOTFOUND when absent. */
nt_err nt_store_queue_get(nt_store *st, int64_t id, nt_qentry *out, nt_diag *d);
/* The lead's open or claimed entry, or *id = 0. */
nt_err nt_store_queue_open_for_lead(nt_store *st, int64_t lead_id, int64_t *id, nt_diag *d);
/* Entries matching f, oldest first. */
nt_err nt_store_queue_list(nt_store *st, const nt_queue_filter *f, nt_qentry_cb cb, void *ctx,
                           nt_diag *d);
/*
 * Claim, in one statement, the next open entry for `rep`: escalated entries
 * first (whoever they were assigned to), then the rep's own, oldest first.
 * *id = 0 when there is none.  Two processes claiming at once never get
 * the same entry.
 */
nt_err nt_store_queue_claim(nt_store *st, const char *rep, int64_t now, int64_t *id, nt_diag *d);
/* Write e's state, claimed_at/by, escalated_at, decided_at, reject_reason,
 * note and recycle_campaign. */
nt_err nt_store_queue_update(nt_store *st, const nt_qentry *e, nt_diag *d);
/* Open entries created before `created_before` and not yet escalated. */
nt_err nt_store_queue_unescalated(nt_store *st, int64_t created_before, nt_qentry_cb cb, void *ctx,
                                  nt_diag *d);
/* Weighted round-robin state of one rep (0 when never set). */
nt_err nt_store_rotation_get(nt_store *st, const char *rep, int64_t *current, nt_diag *d);
nt_err nt_store_rotation_set(nt_store *st, const char *rep, int64_t current, nt_diag *d);

/* ---- the webhook outbox (webhook.h builds on these) ---- */

/* Queue m (id, attempts, delivered_at ignored; next_attempt_at = when to
 * try first).  *added = 0 when a message with the same key exists. */
nt_err nt_store_outbox_add(nt_store *st, const nt_outbox_msg *m, int *added, nt_diag *d);
/* Undelivered messages due at `now`, oldest first, at most limit (0 = all). */
nt_err nt_store_outbox_due(nt_store *st, int64_t now, int64_t limit, nt_outbox_cb cb, void *ctx,
                           nt_diag *d);
/* Record an attempt: delivered (delivered_at > 0) or to be retried at
 * next_attempt_at; attempts + 1. */
nt_err nt_store_outbox_mark(nt_store *st, int64_t id, int64_t delivered_at, int64_t next_attempt_at,
                            int status, const char *error, nt_diag *d);
/* All messages (or only undelivered ones), newest first. */
nt_err nt_store_outbox_list(nt_store *st, int pending_only, int64_t limit, nt_outbox_cb cb,
                            void *ctx, nt_diag *d);

/* ---- the shared report (report.h builds on this) ---- */

/* Every figure of the report for [since, until) (0 = open), of one
 * campaign or all (NULL). */
nt_err nt_store_report_rows(nt_store *st, int64_t since, int64_t until, const char *campaign,
                            nt_report_cb cb, void *ctx, nt_diag *d);

const char *nt_enroll_state_name(nt_enroll_state s);

#endif
