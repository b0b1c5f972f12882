/*
 * The shared report: one set of numbers for marketing and sales.
 *
 * For a period [since, until) and one campaign or all, the report counts
 * per step, per campaign and over everything: leads enrolled, emails sent
 * and what became of them (deferred, failed, bounced, out-of-office
 * replies, replies, unsubscribes, complaints), leads engaged, hand-offs to
 * sales and what sales did with them (accepted, rejected and why,
 * recycled), how long hand-offs waited to be claimed (the median, overall
 * and per rep), and each sender's volume against its daily cap.  Every
 * figure counts what happened within the period, at the time it happened;
 * the README ("The shared report") defines each one, and the store's
 * queries (nt_store_report_rows) implement those definitions.
 *
 * nt_report_build collects the store's rows into an nt_report; the
 * renderers append it to a caller's nt_buf as an aligned text table, JSON,
 * CSV, or one self-contained HTML page (inline CSS and SVG charts, no
 * script, nothing fetched).  Nothing here reads a clock: `now` comes from
 * the caller.
 */
#ifndef NURTURE_REPORT_H
#define NURTURE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "nurture/buf.h"
#include "nurture/config.h"
#include "nurture/error.h"
#include "nurture/store.h"

/* The counted figures, in the order every rendering shows them. */
typedef enum nt_report_fig {
    NT_RF_ENROLLED = 0, /* leads enrolled (campaign and total only) */
    NT_RF_SENT,         /* emails the relay accepted */
    NT_RF_REACHED,      /* distinct leads among them */
    NT_RF_DEFERRED,     /* waiting to retry after a temporary refusal */
    NT_RF_FAILED,       /* refused for good, or retried too long */
    NT_RF_UNKNOWN,      /* a run died while sending: maybe sent */
    NT_RF_BOUNCED_HARD,
    NT_RF_BOUNCED_SOFT,
    NT_RF_BLOCKED,       /* policy or spam blocks: about the sender */
    NT_RF_OUT_OF_OFFICE, /* auto-replies */
    NT_RF_REPLIED,
    NT_RF_UNSUBSCRIBED,
    NT_RF_COMPLAINED,
    NT_RF_ENGAGED,
    NT_RF_HANDED_OFF,
    NT_RF_CLAIMED,
    NT_RF_ACCEPTED,
    NT_RF_REJECTED,
    NT_RF_RECYCLED,
    NT_RF_COUNT
} nt_report_fig;

/* "enrolled", "sent", ..., "bounced_hard", ...: the names in JSON, CSV and
 * nt_report_row.metric.  NULL when out of range. */
const char *nt_report_fig_name(nt_report_fig f);
/* "enrolled", ..., "bounced hard", "out-of-office": for people. */
const char *nt_report_fig_label(nt_report_fig f);

typedef struct nt_report_reason {
    char *reason; /* owned */
    int64_t count;
} nt_report_reason;

/* The figures of one step, one campaign, or everything. */
typedef struct nt_report_figs {
    int64_t v[NT_RF_COUNT];
    nt_report_reason *rejects; /* rejections by reason, most first; owned */
    size_t nrejects;
} nt_report_figs;

/* replied / sent at a step, replied / reached above it (leads over
 * leads); -1 when nothing was sent. */
double nt_report_reply_rate(const nt_report_figs *f, int step_level);

typedef struct nt_report_step {
    char *id;         /* owned */
    int64_t position; /* its index in the campaign, -1 when unknown */
    nt_report_figs f;
} nt_report_step;

typedef struct nt_report_campaign {
    char *name; /* owned */
    nt_report_figs f;
    nt_report_step *steps; /* in campaign order; owned */
    size_t nsteps;
} nt_report_campaign;

typedef struct nt_report_sender {
    char *id;            /* owned */
    int configured;      /* in the config (else only in the data) */
    long long daily_cap; /* from the config; 0 = none */
    int64_t sent;        /* sent within the period */
    int64_t last_24h;    /* counted by the cap in the 24 h before `until` */
} nt_report_sender;

/* Claims of one rep (or of everyone); median_seconds -1 when none. */
typedef struct nt_report_claims {
    char *rep; /* owned; NULL for the overall figure or a lead no rep claimed */
    int64_t claims;
    int64_t median_seconds;
} nt_report_claims;

typedef struct nt_report {
    int64_t since;     /* 0 = from the beginning */
    int64_t until;     /* end of the period (exclusive) */
    int64_t generated; /* the caller's now */
    char *campaign;    /* the one campaign asked for, or NULL; owned */
    nt_report_figs total;
    nt_report_campaign *campaigns; /* by name; owned */
    size_t ncampaigns;
    nt_report_sender *senders; /* configured ones in config order, then others; owned */
    size_t nsenders;
    nt_report_claims claims;      /* overall (rep NULL) */
    nt_report_claims *rep_claims; /* per rep, by name; owned */
    size_t nrep_claims;
} nt_report;

typedef struct nt_report_opts {
    int64_t since;        /* 0 = from the beginning */
    int64_t until;        /* end of the period; 0 = now */
    int64_t now;          /* the caller's clock */
    const char *campaign; /* NULL = all */
} nt_report_opts;

/*
 * Build the report from st for o (borrowed for the call); cfg (borrowed,
 * may be NULL) supplies the senders' caps.  *out owned by the caller:
 * nt_report_release(), on any return.
 */
nt_err nt_report_build(nt_store *st, const nt_config *cfg, const nt_report_opts *o, nt_report *out,
                       nt_diag *d);

void nt_report_release(nt_report *r);

/* Renderings, appended to out; each returns out's error (NT_OK, NT_ENOMEM
 * or NT_ELIMIT). */
nt_err nt_report_text(const nt_report *r, nt_buf *out);
nt_err nt_report_json(const nt_report *r, nt_buf *out);
/* RFC 4180, one figure per line: level,campaign,step,figure,key,value. */
nt_err nt_report_csv(const nt_report *r, nt_buf *out);
/* One HTML5 page with everything inline; every text escaped. */
nt_err nt_report_html(const nt_report *r, nt_buf *out);

#endif
