/*
 * Importing leads in bulk: CSV files (RFC 4180) and JSON lines (one object
 * per line, as a web form or a CRM sends them).
 *
 * The input is streamed: it is fed in pieces of any size and memory stays
 * flat however large the file is.  CSV columns are mapped by their header
 * name (case and spacing ignored, common aliases such as "E-mail" or
 * "First Name" understood); columns that are not standard fields are kept
 * as custom fields.  Each row is validated like any other lead
 * (nt_lead_check) and stored with nt_store_lead_upsert, so importing the
 * same address again updates the lead rather than duplicating it.
 *
 * A bad row is reported in the caller's nt_diags with the physical line it
 * starts on (a quoted value may span lines) and the import goes on.  In
 * strict mode the import is all or nothing: one transaction, rolled back if
 * any row was rejected.  Otherwise rows are committed in batches, so a
 * million rows do not cost a million transactions.
 *
 * Library code: nothing here prints or exits.
 */
#ifndef NURTURE_IMPORT_H
#define NURTURE_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "nurture/config.h"
#include "nurture/error.h"
#include "nurture/store.h"

/* Hard limits on untrusted input. */
#define NT_IMPORT_MAX_COLUMNS 256            /* columns of a CSV header */
#define NT_IMPORT_MAX_LINE ((size_t)1 << 20) /* bytes in one JSON line */
/* A CSV value this long means a quote was left open (or the file is not
 * CSV): the import stops rather than read the rest of the file into one
 * value.  Values over NT_LEAD_MAX_VALUE only reject their row. */
#define NT_IMPORT_MAX_FIELD ((size_t)1 << 20)

typedef enum nt_import_format {
    NT_IMPORT_CSV = 0,
    NT_IMPORT_JSONL,
} nt_import_format;

typedef struct nt_import_stats {
    int64_t rows;     /* records read; the header and blank lines not counted */
    int64_t created;  /* new leads stored */
    int64_t updated;  /* existing leads updated (a lead met twice counts twice) */
    int64_t rejected; /* rows refused, each with an error in the diags */
    int64_t lines;    /* physical lines read so far */
    uint64_t bytes;   /* input bytes read so far */
} nt_import_stats;

/* Progress report: st is borrowed for the call.  created and updated
 * include rows not committed yet. */
typedef void (*nt_import_progress_fn)(void *ctx, const nt_import_stats *st);

typedef struct nt_import_opts {
    nt_import_format format;
    int strict;       /* all or nothing */
    const char *name; /* the input as messages name it ("leads.csv"); copied */
    /* Stages and default stage; borrowed until nt_import_free.  NULL: no
     * stage check, and a new lead must name its stage. */
    const nt_config *cfg;
    int64_t now;                    /* time stamp for created and updated leads */
    size_t batch_rows;              /* rows per transaction when not strict; 0 = 1000 */
    nt_import_progress_fn progress; /* or NULL */
    void *progress_ctx;
    int64_t progress_every; /* rows between progress calls; 0 = 10000 */
} nt_import_opts;

typedef struct nt_import nt_import;

/*
 * Start an import into st.  st and cfg are borrowed until nt_import_free;
 * diags (caller-owned, borrowed likewise) receives one error per rejected
 * row, warnings about skipped columns, and the error that stopped the
 * import if one did.  *out is owned by the caller: nt_import_free().
 */
nt_err nt_import_new(nt_store *st, const nt_import_opts *opts, nt_diags *diags, nt_import **out);

/*
 * Feed the next len bytes of input (borrowed for the call; split anywhere,
 * need not be NUL-terminated).  NT_OK means go on, rejected rows or not.
 * Anything else means the import cannot go on (the reason is in the diags):
 * stop feeding and call nt_import_finish, which rolls back what was not
 * committed.  Once failed, every later call returns the same error.
 */
nt_err nt_import_feed(nt_import *im, const void *data, size_t len);

/*
 * Commit the rows fed so far (does nothing in strict mode).  For live
 * streams, such as a web form piping JSON lines, so that a lead is stored
 * when it arrives and no write transaction is held while waiting.
 */
nt_err nt_import_flush(nt_import *im);

/*
 * End of input: parse what remains, then commit, or in strict mode with a
 * rejected row roll everything back.  *stats (may be NULL) receives the
 * final counts; created and updated count only what was stored.  Returns
 * NT_OK when the import ran to the end (stats->rejected says whether rows
 * were refused); NT_EINVAL when nothing was imported because the input is
 * unusable (no header, no email column...) or because strict mode met a bad
 * row; NT_ESTORE, NT_EBUSY or NT_ENOMEM when the store or memory failed
 * (batches committed earlier stay).  Call at most once.
 */
nt_err nt_import_finish(nt_import *im, nt_import_stats *stats);

/* Free im; an import not finished is rolled back.  NULL is a no-op. */
void nt_import_free(nt_import *im);

/* The whole import of data[0..len) (borrowed) in one call:
 * new + feed + finish + free.  Returns as nt_import_finish. */
nt_err nt_import_mem(nt_store *st, const nt_import_opts *opts, const void *data, size_t len,
                     nt_import_stats *stats, nt_diags *diags);

/*
 * The whole import of what can be read from fd (borrowed, not closed).
 * When fd is not a regular file (a pipe, a terminal), rows are committed
 * as they arrive (see nt_import_flush).  NT_EIO with a diag when reading
 * fails; otherwise as nt_import_finish.
 */
nt_err nt_import_fd(nt_store *st, const nt_import_opts *opts, int fd, nt_import_stats *stats,
                    nt_diags *diags);

/*
 * The lead field a column header or JSON key s[0..len) stands for: a
 * standard field (by name or alias: "E-mail" and "Email Address" are
 * "email", "Time Zone" is "timezone"...) or a custom field name (lower
 * case, spaces and punctuation turned into '_').  Writes the name into
 * out (outsz >= 65 is always enough) and returns 1; returns 0 when s
 * cannot name a field (empty, non-ASCII letters, too long...).
 */
int nt_import_column_name(const char *s, size_t len, char *out, size_t outsz);

/*
 * The checks every value passes before it goes into a lead, whatever its
 * source: at most NT_LEAD_MAX_VALUE bytes (NT_ELIMIT), no NUL byte, valid
 * UTF-8, and, in the standard fields (they end up in mail headers), no line
 * break or other control character (NT_EINVAL).  field is the lead field;
 * label (may be NULL for field) names the value in the diag's message.
 */
nt_err nt_import_value_check(const char *field, const char *label, const char *v, size_t n,
                             nt_diag *d);

/* The format a file name implies: .csv is CSV, .jsonl and .ndjson are JSON
 * lines (case-insensitive).  Returns 0 when it implies none. */
int nt_import_format_from_name(const char *path, nt_import_format *out);

#endif
