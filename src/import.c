/*
 * The import engine: CSV (through libcsv) and JSON lines (through jansson)
 * streamed into the store, one validated lead per row.
 *
 * libcsv parses in strict mode, so a stray quote is an error we can report
 * rather than a silent re-reading of the rest of the file; it does not say
 * where a record starts, so the input is handed to it one physical line at a
 * time (a line ends at LF, CRLF or a lone CR) and the line counter is kept
 * here.  A record starts on the first line that is not blank once the
 * previous one ended; a quoted value may carry it over many lines.  After a
 * malformed quote the parser is restarted at the next line.
 *
 * Every value is checked (UTF-8, no NUL, size, no control characters in
 * the standard fields that end up in headers) before the lead is built;
 * then nt_lead_check validates and normalises it and nt_store_lead_upsert
 * stores it.  Rows are committed in batches, or, in strict mode, all in one
 * transaction that is rolled back if any row was refused.  Memory does not
 * grow with the input: one record, one line and the libcsv field buffer,
 * all capped.
 */
#include <csv.h>
#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nurture/buf.h"
#include "nurture/import.h"
#include "nurture/lead.h"
#include "nurture/tz.h"
#include "nurture/utf8.h"

#include "banned.h"

/* Rows per transaction.  Measured with the SQLite store (32 MiB page
 * cache): fewer, larger commits win until the dirty pages of the email
 * index no longer fit in the cache. */
#define DEFAULT_BATCH 10000
#define DEFAULT_PROGRESS 10000
/* csv_parse gets at most this much at once, so that the check on the size
 * of libcsv's field buffer runs often enough to keep it bounded. */
#define PIECE 65536
/* JSON keys we warn about once each; past this many we stop listing. */
#define MAX_BAD_KEYS 64

typedef struct column {
    char field[72]; /* lead field, "" when the column is skipped */
    char label[48]; /* the header as written, for messages */
    int std;        /* a standard field (no control characters allowed) */
    size_t slot;    /* offset of its nt_lead member, or NO_SLOT */
} column;

#define NO_SLOT ((size_t)-1)

struct nt_import {
    nt_store *st;
    nt_import_opts o;
    char *name;
    nt_diags *diags;
    char **stages;
    size_t nstages;
    const char *default_stage;
    nt_tzcache *zones;

    nt_err fatal;
    int finished;
    int in_txn;
    size_t batch;
    int64_t pend_created, pend_updated;
    nt_import_stats stats;
    int64_t next_progress;

    /* where we are in the input */
    int bom_done;
    size_t nbom;
    int64_t line;    /* current physical line, 1-based */
    size_t line_off; /* bytes of the current line already seen */
    int pending_cr;  /* the last byte fed was a CR that ended a line */

    /* CSV */
    struct csv_parser csv;
    int have_header;
    column *cols;
    size_t ncols;
    int in_record;
    int64_t rec_line;
    int skip_line; /* discard input up to the next line break */
    char *rbuf;    /* values of the current record, each NUL-terminated */
    size_t rlen, rcap;
    size_t roff[NT_IMPORT_MAX_COLUMNS];
    size_t rflen[NT_IMPORT_MAX_COLUMNS];
    size_t *custom; /* indexes of the custom-field columns, by field name */
    size_t ncustom;
    size_t rn;       /* values seen in the current record */
    long long rlong; /* first column whose value is too long, or -1 */
    size_t rextra;   /* non-empty values past the header's columns */

    /* JSON lines */
    nt_buf jline;
    int jtoo_long;
    char *badkeys[MAX_BAD_KEYS];
    size_t nbadkeys;
};

static const char bom_bytes[3] = {'\xEF', '\xBB', '\xBF'};

/* ---- small helpers ---- */

static int
is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
trim(const char **s, size_t *n)
{
    while (*n && is_ws((*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_ws((*s)[*n - 1]))
        (*n)--;
}

/* A copy of s[0..n) fit for a message: at most outsz - 1 bytes, cut on a
 * character boundary, control characters and broken UTF-8 shown as '?'. */
static void
printable(const char *s, size_t n, char *out, size_t outsz)
{
    size_t o = 0, i = 0;
    int utf8 = nt_utf8_valid(s, n);

    while (i < n && o + 1 < outsz) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 && utf8) {
            size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (o + k >= outsz)
                break;
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
            continue;
        }
        out[o++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
        i++;
    }
    if (i < n && o >= 3 && outsz > 4) {
        while (o > outsz - 4)
            o--;
        while (o > 0 && ((unsigned char)out[o] & 0xC0) == 0x80)
            o--;
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* The standard fields' members, so that a row is put into its nt_lead
 * without looking each name up again. */
static const struct std_slot {
    const char *name;
    size_t off;
} std_slots[] = {
    {"email", offsetof(nt_lead, email)},         {"stage", offsetof(nt_lead, stage)},
    {"timezone", offsetof(nt_lead, timezone)},   {"first_name", offsetof(nt_lead, first_name)},
    {"last_name", offsetof(nt_lead, last_name)}, {"company", offsetof(nt_lead, company)},
    {"title", offsetof(nt_lead, title)},         {"phone", offsetof(nt_lead, phone)},
    {"owner", offsetof(nt_lead, owner)},         {"source", offsetof(nt_lead, source)},
};

static int
is_std_field(const char *name)
{
    for (size_t i = 0; nt_lead_std_fields[i]; i++)
        if (!strcmp(nt_lead_std_fields[i], name))
            return 1;
    return 0;
}

static size_t
slot_of(const char *name)
{
    for (size_t i = 0; i < sizeof(std_slots) / sizeof(std_slots[0]); i++)
        if (!strcmp(std_slots[i].name, name))
            return std_slots[i].off;
    return NO_SLOT;
}

/* ---- column names ---- */

static const struct alias {
    const char *from;
    const char *to;
} aliases[] = {
    {"e_mail", "email"},
    {"email_address", "email"},
    {"e_mail_address", "email"},
    {"emailaddress", "email"},
    {"mail", "email"},
    {"firstname", "first_name"},
    {"first", "first_name"},
    {"given_name", "first_name"},
    {"givenname", "first_name"},
    {"forename", "first_name"},
    {"lastname", "last_name"},
    {"last", "last_name"},
    {"surname", "last_name"},
    {"family_name", "last_name"},
    {"familyname", "last_name"},
    {"company_name", "company"},
    {"companyname", "company"},
    {"organization", "company"},
    {"organisation", "company"},
    {"organization_name", "company"},
    {"organisation_name", "company"},
    {"account_name", "company"},
    {"job_title", "title"},
    {"jobtitle", "title"},
    {"position", "title"},
    {"phone_number", "phone"},
    {"phonenumber", "phone"},
    {"telephone", "phone"},
    {"telephone_number", "phone"},
    {"tel", "phone"},
    {"lead_owner", "owner"},
    {"contact_owner", "owner"},
    {"account_owner", "owner"},
    {"sales_owner", "owner"},
    {"sales_rep", "owner"},
    {"lead_source", "source"},
    {"leadsource", "source"},
    {"time_zone", "timezone"},
    {"tz", "timezone"},
    {"lifecycle_stage", "stage"},
    {"lifecyclestage", "stage"},
    {"lifecycle", "stage"},
    {"lead_stage", "stage"},
};

int
nt_import_column_name(const char *s, size_t len, char *out, size_t outsz)
{
    char tmp[80];
    size_t n = 0;
    int sep = 0;

    if (outsz == 0)
        return 0;
    out[0] = '\0';
    trim(&s, &len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || c < 0x20 || c == 0x7f)
            return 0;
        if (isalnum(c)) {
            if (sep && n > 0) {
                if (n + 1 >= sizeof(tmp))
                    return 0;
                tmp[n++] = '_';
            }
            sep = 0;
            if (n + 1 >= sizeof(tmp))
                return 0;
            tmp[n++] = (char)tolower(c);
        } else {
            /* Spaces, dashes, dots and other punctuation separate words. */
            sep = 1;
        }
    }
    tmp[n] = '\0';
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        if (!strcmp(tmp, aliases[i].from)) {
            snprintf(out, outsz, "%s", aliases[i].to);
            return strlen(aliases[i].to) < outsz;
        }
    }
    if (!nt_field_name_ok(tmp) || n >= outsz)
        return 0;
    memcpy(out, tmp, n + 1);
    return 1;
}

int
nt_import_format_from_name(const char *path, nt_import_format *out)
{
    const char *dot = strrchr(path, '.');

    if (!dot || strchr(dot, '/'))
        return 0;
    if (!strcasecmp(dot, ".csv")) {
        *out = NT_IMPORT_CSV;
        return 1;
    }
    if (!strcasecmp(dot, ".jsonl") || !strcasecmp(dot, ".ndjson")) {
        *out = NT_IMPORT_JSONL;
        return 1;
    }
    return 0;
}

/* ---- outcomes: rejects, fatal errors, transactions, progress ---- */

static void reject(nt_import *im, int64_t line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
reject(nt_import *im, int64_t line, int col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    im->stats.rejected++;
    nt_diags_add(im->diags, NT_SEV_ERROR, im->name, (int)line, col, "%s", msg);
}

/* Stop the import: a problem with the input as a whole. */
static nt_err stop(nt_import *im, nt_err err, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static nt_err
stop(nt_import *im, nt_err err, int64_t line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    nt_diags_add(im->diags, NT_SEV_ERROR, im->name, (int)line, 0, "%s", msg);
    if (!im->fatal)
        im->fatal = err;
    return im->fatal;
}

static void
rollback(nt_import *im)
{
    if (im->in_txn)
        nt_store_rollback(im->st);
    im->in_txn = 0;
    im->batch = 0;
    im->pend_created = im->pend_updated = 0;
}

/* Stop the import on a store failure described by d. */
static nt_err
store_failed(nt_import *im, nt_err err, nt_diag *d)
{
    if (!d->msg[0])
        nt_diag_set(d, err, NULL, 0, 0, "%s", nt_strerror(err));
    nt_diags_push(im->diags, d);
    rollback(im);
    if (!im->fatal)
        im->fatal = err;
    return err;
}

static nt_err
commit(nt_import *im)
{
    nt_diag d;
    nt_err err;

    if (!im->in_txn)
        return NT_OK;
    nt_diag_clear(&d);
    if ((err = nt_store_commit(im->st, &d)) != NT_OK)
        return store_failed(im, err, &d);
    im->in_txn = 0;
    im->batch = 0;
    im->stats.created += im->pend_created;
    im->stats.updated += im->pend_updated;
    im->pend_created = im->pend_updated = 0;
    return NT_OK;
}

static void
snapshot(const nt_import *im, nt_import_stats *out, int pending)
{
    *out = im->stats;
    out->lines = im->line - 1 + (im->line_off > 0);
    if (pending) {
        out->created += im->pend_created;
        out->updated += im->pend_updated;
    }
}

static void
progress(nt_import *im, int force)
{
    nt_import_stats s;

    if (!im->o.progress)
        return;
    if (!force && im->stats.rows < im->next_progress)
        return;
    im->next_progress = im->stats.rows + im->o.progress_every;
    snapshot(im, &s, 1);
    im->o.progress(im->o.progress_ctx, &s);
}

/* ---- one row ---- */

/* The checks of nt_import_value_check, with std known. */
static nt_err
check_value(const char *label, int std, const char *v, size_t n, nt_diag *d)
{
    int ctl = 0, high = 0;

    if (n > NT_LEAD_MAX_VALUE)
        return nt_diag_set(d, NT_ELIMIT, NULL, 0, 0, "the value of '%s' is longer than %d bytes",
                           label, NT_LEAD_MAX_VALUE);
    /* One pass for the common case of plain printable ASCII. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        ctl |= c < 0x20 || c == 0x7f;
        high |= c >= 0x80;
    }
    if (!ctl && !high)
        return NT_OK;
    if (ctl && memchr(v, '\0', n))
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                           "the value of '%s' contains a NUL byte (is this a text file?)", label);
    if (high && !nt_utf8_valid(v, n))
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                           "the value of '%s' is not valid UTF-8 (save the file as UTF-8)", label);
    if (std && ctl)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                           "the value of '%s' contains a line break or a control character", label);
    return NT_OK;
}

nt_err
nt_import_value_check(const char *field, const char *label, const char *v, size_t n, nt_diag *d)
{
    return check_value(label ? label : field, is_std_field(field), v, n, d);
}

/* Check one value before it goes into a lead; 0 and a reject if bad. */
static int
value_ok(nt_import *im, int64_t line, const char *label, int std, const char *v, size_t n)
{
    nt_diag d;

    if (check_value(label, std, v, n, &d) == NT_OK)
        return 1;
    reject(im, line, 0, "%s", d.msg);
    return 0;
}

/* Set a checked value; 0 and a reject (or a fatal error) if it cannot be. */
static int
set_value(nt_import *im, nt_lead *l, int64_t line, const char *field, const char *v)
{
    nt_err err = nt_lead_set(l, field, v);

    if (err == NT_ENOMEM) {
        stop(im, NT_ENOMEM, line, "out of memory");
        return 0;
    }
    if (err == NT_ELIMIT) {
        reject(im, line, 0, "more than %d custom fields", NT_LEAD_MAX_FIELDS);
        return 0;
    }
    return err == NT_OK;
}

/* Validate and store a lead built from one row (consumed: released here). */
static void
store_row(nt_import *im, nt_lead *l, int64_t line)
{
    uintptr_t before = (uintptr_t)l->email;
    char raw[96];
    nt_diag d;
    nt_err err;
    int created = 0;

    nt_diag_clear(&d);
    err = nt_lead_check(l, im->stages, im->nstages, im->zones, &d);
    if (err == NT_ENOMEM) {
        stop(im, err, line, "out of memory");
        goto out;
    }
    if (err != NT_OK) {
        /* The address is replaced only once it is valid, so an unchanged
         * pointer means the address was the problem: say which one. */
        if (!l->email) {
            reject(im, line, 0, "no email address");
        } else if ((uintptr_t)l->email == before) {
            printable(l->email, strlen(l->email), raw, sizeof(raw));
            if (strstr(d.msg, raw))
                reject(im, line, 0, "%s", d.msg);
            else
                reject(im, line, 0, "'%s': %s", raw, d.msg);
        } else {
            reject(im, line, 0, "%s", d.msg);
        }
        goto out;
    }
    if (!im->in_txn) {
        if ((err = nt_store_begin(im->st, &d)) != NT_OK) {
            store_failed(im, err, &d);
            goto out;
        }
        im->in_txn = 1;
    }
    err = nt_store_lead_upsert(im->st, l, im->default_stage, im->o.now, &created, &d);
    if (err == NT_EINVAL || err == NT_ELIMIT) {
        reject(im, line, 0, "%s",
               err == NT_ELIMIT ? "too many custom fields once merged with the stored lead"
                                : d.msg);
        goto out;
    }
    if (err != NT_OK) {
        store_failed(im, err, &d);
        goto out;
    }
    if (created)
        im->pend_created++;
    else
        im->pend_updated++;
    im->batch++;
    if (!im->o.strict && im->batch >= im->o.batch_rows)
        commit(im);
out:
    nt_lead_release(l);
}

/* ---- CSV ---- */

static void
record_reset(nt_import *im)
{
    im->rn = 0;
    im->rlen = 0;
    im->rlong = -1;
    im->rextra = 0;
}

static void
csv_restart(nt_import *im)
{
    csv_free(&im->csv);
    csv_init(&im->csv, CSV_STRICT | CSV_STRICT_FINI);
    csv_set_blk_size(&im->csv, 4096);
    record_reset(im);
    im->in_record = 0;
}

static void
on_field(void *s, size_t len, void *data)
{
    nt_import *im = data;
    const char *v = s ? s : "";
    size_t i = im->rn++;
    size_t limit = im->have_header ? im->ncols : NT_IMPORT_MAX_COLUMNS;

    if (im->fatal)
        return;
    trim(&v, &len);
    if (i >= limit) {
        im->rextra += len > 0;
        return;
    }
    if (len > NT_LEAD_MAX_VALUE) {
        if (im->rlong < 0)
            im->rlong = (long long)i;
        im->roff[i] = 0;
        im->rflen[i] = 0;
        return;
    }
    if (im->rlen + len + 1 > im->rcap) {
        size_t ncap = im->rcap ? im->rcap : 4096;
        char *nb;
        while (ncap < im->rlen + len + 1)
            ncap *= 2;
        if (!(nb = realloc(im->rbuf, ncap))) {
            stop(im, NT_ENOMEM, im->rec_line, "out of memory");
            return;
        }
        im->rbuf = nb;
        im->rcap = ncap;
    }
    memcpy(im->rbuf + im->rlen, v, len);
    im->rbuf[im->rlen + len] = '\0';
    im->roff[i] = im->rlen;
    im->rflen[i] = len;
    im->rlen += len + 1;
}

/* The custom-field columns in field-name order: the order nt_lead keeps
 * its custom fields in, so each row's array is filled without sorting. */
static nt_err
custom_order(nt_import *im)
{
    im->custom = calloc(im->ncols ? im->ncols : 1, sizeof(size_t));
    if (!im->custom)
        return NT_ENOMEM;
    for (size_t i = 0; i < im->ncols; i++)
        if (im->cols[i].field[0] && im->cols[i].slot == NO_SLOT && !im->cols[i].std)
            im->custom[im->ncustom++] = i;
    /* Insertion sort: a few hundred columns at most, once per file. */
    for (size_t i = 1; i < im->ncustom; i++) {
        size_t v = im->custom[i], j = i;
        for (; j > 0 && strcmp(im->cols[im->custom[j - 1]].field, im->cols[v].field) > 0; j--)
            im->custom[j] = im->custom[j - 1];
        im->custom[j] = v;
    }
    return NT_OK;
}

static void
header(nt_import *im)
{
    int64_t line = im->rec_line;
    long long email = -1;

    if (im->rn > NT_IMPORT_MAX_COLUMNS) {
        stop(im, NT_EINVAL, line, "the header has %zu columns; at most %d are read", im->rn,
             NT_IMPORT_MAX_COLUMNS);
        return;
    }
    im->ncols = im->rn;
    im->cols = calloc(im->ncols ? im->ncols : 1, sizeof(*im->cols));
    if (!im->cols) {
        stop(im, NT_ENOMEM, line, "out of memory");
        return;
    }
    for (size_t i = 0; i < im->ncols; i++) {
        column *c = &im->cols[i];
        const char *h = im->rbuf + im->roff[i];
        size_t n = im->rflen[i];
        if ((long long)i == im->rlong) {
            snprintf(c->label, sizeof(c->label), "column %zu", i + 1);
            nt_diags_add(im->diags, NT_SEV_WARNING, im->name, (int)line, 0,
                         "the name of column %zu is too long to be a field name; the column "
                         "is skipped",
                         i + 1);
            continue;
        }
        printable(h, n, c->label, sizeof(c->label));
        if (n == 0) {
            snprintf(c->label, sizeof(c->label), "column %zu", i + 1);
            nt_diags_add(im->diags, NT_SEV_WARNING, im->name, (int)line, 0,
                         "column %zu has no name in the header; it is skipped", i + 1);
            continue;
        }
        if (!nt_import_column_name(h, n, c->field, sizeof(c->field))) {
            nt_diags_add(im->diags, NT_SEV_WARNING, im->name, (int)line, 0,
                         "column %zu ('%s') cannot be a field name (use letters, digits and "
                         "spaces, starting with a letter); the column is skipped",
                         i + 1, c->label);
            c->field[0] = '\0';
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(im->cols[j].field, c->field)) {
                stop(im, NT_EINVAL, line,
                     "columns %zu ('%s') and %zu ('%s') both mean '%s'; rename or "
                     "remove one",
                     j + 1, im->cols[j].label, i + 1, c->label, c->field);
                return;
            }
        }
        c->std = is_std_field(c->field);
        c->slot = slot_of(c->field);
        if (!strcmp(c->field, "email"))
            email = (long long)i;
    }
    if (custom_order(im) != NT_OK) {
        stop(im, NT_ENOMEM, line, "out of memory");
        return;
    }
    if (email < 0) {
        char names[200] = "";
        size_t o = 0;
        int semi = 0;
        for (size_t i = 0; i < im->ncols && o < sizeof(names) - 1; i++) {
            int w =
                snprintf(names + o, sizeof(names) - o, "%s'%s'", i ? ", " : "", im->cols[i].label);
            if (w < 0)
                break;
            o += (size_t)w;
        }
        for (size_t i = 0; i < im->rlen; i++)
            semi |= im->rbuf[i] == ';' || im->rbuf[i] == '\t';
        stop(im, NT_EINVAL, line,
             "no email column: the header must name one ('email', 'E-mail' or "
             "'Email "
             "Address'); its columns are %s%s",
             names[0] ? names : "(none)",
             semi && im->ncols == 1 ? " (it looks separated by ';' or tabs: save the file as "
                                      "comma-separated CSV)"
                                    : "");
        return;
    }
    im->have_header = 1;
}

static int build_lead(nt_import *im, nt_lead *l, int64_t line, size_t n);

static void
row(nt_import *im)
{
    int64_t line = im->rec_line;
    size_t n = im->rn < im->ncols ? im->rn : im->ncols;
    int empty = im->rlong < 0 && im->rextra == 0;
    nt_lead l;

    for (size_t i = 0; i < n && empty; i++)
        empty = im->rflen[i] == 0;
    if (empty)
        return; /* ",,,," as spreadsheets write after the data: a blank line */
    im->stats.rows++;
    if (im->rextra) {
        reject(im, line, 0,
               "%zu values but the header has %zu columns (a value with a comma "
               "must be in "
               "double quotes)",
               im->rn, im->ncols);
        return;
    }
    if (im->rlong >= 0) {
        reject(im, line, 0, "the value of '%s' is longer than %d bytes", im->cols[im->rlong].label,
               NT_LEAD_MAX_VALUE);
        return;
    }
    nt_lead_init(&l);
    if (build_lead(im, &l, line, n) != 0) {
        nt_lead_release(&l);
        return;
    }
    store_row(im, &l, line);
}

static char *
dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Put the first n values of the current record into l (empty); 0 when
 * done, else the row was rejected or the import stopped. */
static int
build_lead(nt_import *im, nt_lead *l, int64_t line, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        const column *c = &im->cols[i];
        const char *v = im->rbuf + im->roff[i];
        size_t len = im->rflen[i];
        if (!c->field[0] || len == 0)
            continue;
        if (!value_ok(im, line, c->label, c->std, v, len))
            return -1;
        if (c->slot != NO_SLOT) {
            char **slot = (char **)(void *)((char *)l + c->slot);
            if (!(*slot = dupn(v, len))) {
                stop(im, NT_ENOMEM, line, "out of memory");
                return -1;
            }
        } else if (c->std) {
            /* A standard field this file does not know the slot of. */
            if (!set_value(im, l, line, c->field, v))
                return -1;
        } else {
            k++;
        }
    }
    if (k == 0)
        return 0;
    if (k > NT_LEAD_MAX_FIELDS) {
        reject(im, line, 0, "more than %d custom fields", NT_LEAD_MAX_FIELDS);
        return -1;
    }
    if (!(l->fields = calloc(k, sizeof(*l->fields)))) {
        stop(im, NT_ENOMEM, line, "out of memory");
        return -1;
    }
    for (size_t j = 0; j < im->ncustom; j++) {
        size_t i = im->custom[j];
        const char *v = im->rbuf + im->roff[i];
        nt_field *f;
        if (i >= n || im->rflen[i] == 0)
            continue;
        f = &l->fields[l->nfields++];
        f->name = dupn(im->cols[i].field, strlen(im->cols[i].field));
        f->value = dupn(v, im->rflen[i]);
        if (!f->name || !f->value) {
            stop(im, NT_ENOMEM, line, "out of memory");
            return -1;
        }
    }
    return 0;
}

static void
on_record(int c, void *data)
{
    nt_import *im = data;

    (void)c;
    im->in_record = 0;
    if (!im->fatal) {
        if (!im->have_header)
            header(im);
        else
            row(im);
    }
    record_reset(im);
    if (!im->fatal)
        progress(im, 0);
}

static int
blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_ws(p[i]))
            return 0;
    return 1;
}

/* A malformed quote at p[pos]: reject the record, resynchronise at the next
 * line. */
static void
bad_quote(nt_import *im, const char *p, size_t pos, int brk)
{
    int col = (int)(im->line_off + pos + 1);
    const char *what = p[pos] == '"' ? "a '\"' inside a value that does not start with one"
                                     : "text after the closing quote of a value";
    char where[64] = "";

    if (im->rec_line != im->line)
        snprintf(where, sizeof(where), " (in the record that starts on line %lld)",
                 (long long)im->rec_line);
    if (!im->have_header) {
        nt_diags_add(im->diags, NT_SEV_ERROR, im->name, (int)im->line, col,
                     "malformed header: %s%s", what, where);
        if (!im->fatal)
            im->fatal = NT_EINVAL;
        return;
    }
    im->stats.rows++;
    reject(im, im->line, col,
           "%s%s; a value with quotes, commas or line breaks must be enclosed in "
           "double "
           "quotes, with each quote inside doubled",
           what, where);
    csv_restart(im);
    if (!brk)
        im->skip_line = 1;
}

/* One piece of a line: p[0..n), ending at a line break when brk. */
static void
csv_segment(nt_import *im, const char *p, size_t n, int brk)
{
    size_t done;

    if (im->skip_line) {
        im->skip_line = !brk;
    } else {
        if (!im->in_record && !blank(p, n)) {
            im->in_record = 1;
            im->rec_line = im->line;
        }
        done = csv_parse(&im->csv, p, n, on_field, on_record, im);
        if (im->fatal)
            return;
        switch (csv_error(&im->csv)) {
        case CSV_SUCCESS:
            break;
        case CSV_EPARSE:
            bad_quote(im, p, done, brk);
            if (im->fatal)
                return;
            break;
        default:
            stop(im, NT_ENOMEM, im->line, "out of memory reading the CSV");
            return;
        }
        if (csv_get_buffer_size(&im->csv) > NT_IMPORT_MAX_FIELD) {
            stop(im, NT_EINVAL, im->rec_line,
                 "a value in the record that starts here runs on for more than %zu "
                 "bytes: is "
                 "a quote left open? The import stopped here",
                 NT_IMPORT_MAX_FIELD);
            return;
        }
    }
    if (brk) {
        im->line++;
        im->line_off = 0;
    } else {
        im->line_off += n;
    }
}

static void
csv_feed(nt_import *im, const char *p, size_t len)
{
    while (len && !im->fatal) {
        const char *nl, *cr;
        size_t end;
        int brk;

        if (im->pending_cr) {
            /* The LF of a CRLF split between two feeds: same line break. */
            im->pending_cr = 0;
            if (p[0] == '\n') {
                if (!im->skip_line)
                    csv_parse(&im->csv, p, 1, on_field, on_record, im);
                p++;
                len--;
                continue;
            }
        }
        nl = memchr(p, '\n', len);
        end = nl ? (size_t)(nl - p) + 1 : len;
        brk = nl != NULL;
        cr = memchr(p, '\r', end);
        if (cr && !(nl && cr + 1 == nl)) {
            /* A lone CR ends a line too (old Mac files), as libcsv agrees. */
            end = (size_t)(cr - p) + 1;
            brk = 1;
            if (end == len)
                im->pending_cr = 1;
        }
        csv_segment(im, p, end, brk);
        p += end;
        len -= end;
    }
}

static void
csv_end(nt_import *im)
{
    if (!im->skip_line) {
        if (csv_fini(&im->csv, on_field, on_record, im) != 0 && !im->fatal) {
            if (!im->have_header) {
                stop(im, NT_EINVAL, im->rec_line, "malformed header: a quote is never closed");
                return;
            }
            im->stats.rows++;
            reject(im, im->rec_line, 0,
                   "a quoted value in this record is never closed (a '\"' is missing)");
        }
    }
    if (!im->fatal && !im->have_header)
        stop(im, NT_EINVAL, 0,
             "the file is empty: a CSV import needs a header line naming "
             "the columns, one of them 'email'");
}

/* ---- JSON lines ---- */

static void
bad_key(nt_import *im, int64_t line, const char *key)
{
    char label[48];

    for (size_t i = 0; i < im->nbadkeys; i++)
        if (!strcmp(im->badkeys[i], key))
            return;
    if (im->nbadkeys >= MAX_BAD_KEYS)
        return;
    if (!(im->badkeys[im->nbadkeys] = strdup(key)))
        return;
    im->nbadkeys++;
    printable(key, strlen(key), label, sizeof(label));
    nt_diags_add(im->diags, NT_SEV_WARNING, im->name, (int)line, 0,
                 "key '%s' cannot be a field name (use letters, digits and '_', "
                 "starting with "
                 "a letter); it is skipped here and on later lines",
                 label);
}

/* The text of a JSON scalar into buf; NULL (with a reject) for lists and
 * objects, "" for null. */
static const char *
json_text(nt_import *im, int64_t line, const char *label, json_t *v, char *buf, size_t bufsz)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return json_string_value(v);
    case JSON_INTEGER:
        snprintf(buf, bufsz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    case JSON_REAL:
        snprintf(buf, bufsz, "%.15g", json_real_value(v));
        return buf;
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    case JSON_NULL:
        return "";
    default:
        reject(im, line, 0, "the value of '%s' is a list or an object; give a string or a number",
               label);
        return NULL;
    }
}

static void
json_row(nt_import *im, const char *s, size_t n, int64_t line)
{
    json_error_t jerr;
    json_t *o, *v;
    const char *key;
    nt_lead l;

    while (n && is_ws(s[n - 1]))
        n--;
    if (blank(s, n))
        return;
    im->stats.rows++;
    o = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        reject(im, line, jerr.column > 0 ? jerr.column : 0, "not valid JSON: %s", jerr.text);
        return;
    }
    if (!json_is_object(o)) {
        reject(im, line, 0,
               "each line must be one JSON object, such as {\"email\": "
               "\"ann@example.com\"}");
        json_decref(o);
        return;
    }
    nt_lead_init(&l);
    json_object_foreach(o, key, v)
    {
        char field[72], label[48], num[64];
        const char *text;
        size_t len;
        int std;
        if (!nt_import_column_name(key, strlen(key), field, sizeof(field))) {
            bad_key(im, line, key);
            continue;
        }
        printable(key, strlen(key), label, sizeof(label));
        if (!(text = json_text(im, line, label, v, num, sizeof(num))))
            goto fail;
        len = json_is_string(v) ? json_string_length(v) : strlen(text);
        trim(&text, &len);
        if (len == 0)
            continue;
        std = is_std_field(field);
        if (!value_ok(im, line, label, std, text, len))
            goto fail;
        if (nt_lead_get(&l, field)) {
            reject(im, line, 0, "two keys mean '%s' (one of them is '%s')", field, label);
            goto fail;
        }
        if (text[len] != '\0') {
            /* Trimmed at the end: set a copy.  value_ok bounded len. */
            char copy[NT_LEAD_MAX_VALUE + 1];
            memcpy(copy, text, len);
            copy[len] = '\0';
            if (!set_value(im, &l, line, field, copy))
                goto fail;
        } else if (!set_value(im, &l, line, field, text)) {
            goto fail;
        }
    }
    json_decref(o);
    store_row(im, &l, line);
    return;
fail:
    nt_lead_release(&l);
    json_decref(o);
}

static void
jsonl_line_end(nt_import *im)
{
    if (im->jtoo_long) {
        im->stats.rows++;
        reject(im, im->line, 0, "the line is longer than %zu bytes", NT_IMPORT_MAX_LINE);
    } else if (im->jline.err) {
        stop(im, NT_ENOMEM, im->line, "out of memory");
    } else {
        json_row(im, im->jline.data ? im->jline.data : "", im->jline.len, im->line);
    }
    nt_buf_reset(&im->jline);
    im->jtoo_long = 0;
    if (!im->fatal)
        progress(im, 0);
}

static void
jsonl_feed(nt_import *im, const char *p, size_t len)
{
    while (len && !im->fatal) {
        const char *nl = memchr(p, '\n', len);
        size_t n = nl ? (size_t)(nl - p) : len;

        if (nl && im->jline.len == 0 && !im->jtoo_long && im->line_off == 0) {
            /* The usual case: the whole line is here, parse it in place. */
            json_row(im, p, n, im->line);
            if (!im->fatal)
                progress(im, 0);
        } else {
            if (!im->jtoo_long && im->jline.len + n > NT_IMPORT_MAX_LINE) {
                im->jtoo_long = 1;
                nt_buf_reset(&im->jline);
            }
            if (!im->jtoo_long)
                nt_buf_add(&im->jline, p, n);
            if (nl)
                jsonl_line_end(im);
        }
        if (nl) {
            im->line++;
            im->line_off = 0;
            n++;
        } else {
            im->line_off += n;
        }
        p += n;
        len -= n;
    }
}

/* ---- the public interface ---- */

nt_err
nt_import_new(nt_store *st, const nt_import_opts *opts, nt_diags *diags, nt_import **out)
{
    nt_import *im = calloc(1, sizeof(*im));

    *out = NULL;
    if (!im)
        return NT_ENOMEM;
    im->st = st;
    im->o = *opts;
    im->diags = diags;
    if (!im->o.batch_rows)
        im->o.batch_rows = DEFAULT_BATCH;
    if (im->o.progress_every <= 0)
        im->o.progress_every = DEFAULT_PROGRESS;
    im->next_progress = im->o.progress_every;
    im->name = strdup(opts->name ? opts->name : "<input>");
    im->zones = nt_tzcache_new();
    im->line = 1;
    im->rlong = -1;
    nt_buf_init(&im->jline, NT_IMPORT_MAX_LINE + 1);
    csv_init(&im->csv, CSV_STRICT | CSV_STRICT_FINI);
    csv_set_blk_size(&im->csv, 4096);
    if (opts->cfg) {
        im->default_stage = opts->cfg->default_stage;
        im->nstages = opts->cfg->nstages;
        im->stages = calloc(im->nstages + 1, sizeof(char *));
        for (size_t i = 0; im->stages && i < im->nstages; i++)
            im->stages[i] = opts->cfg->stages[i].name;
    }
    if (!im->name || !im->zones || (opts->cfg && !im->stages)) {
        nt_import_free(im);
        return NT_ENOMEM;
    }
    *out = im;
    return NT_OK;
}

static void
feed_data(nt_import *im, const char *p, size_t len)
{
    while (len && !im->fatal) {
        size_t n = len < PIECE ? len : PIECE;
        if (im->o.format == NT_IMPORT_JSONL)
            jsonl_feed(im, p, n);
        else
            csv_feed(im, p, n);
        p += n;
        len -= n;
    }
}

nt_err
nt_import_feed(nt_import *im, const void *data, size_t len)
{
    const char *p = data;

    if (im->fatal)
        return im->fatal;
    if (im->finished)
        return NT_EINVAL;
    im->stats.bytes += len;
    /* A UTF-8 byte order mark, as spreadsheets write, is not data; it may
     * arrive split over several feeds. */
    while (!im->bom_done && len) {
        if (p[0] == bom_bytes[im->nbom]) {
            p++;
            len--;
            if (++im->nbom == 3)
                im->bom_done = 1;
            continue;
        }
        im->bom_done = 1;
        feed_data(im, bom_bytes, im->nbom);
    }
    feed_data(im, p, len);
    return im->fatal;
}

nt_err
nt_import_flush(nt_import *im)
{
    if (im->fatal)
        return im->fatal;
    if (im->o.strict)
        return NT_OK;
    return commit(im);
}

nt_err
nt_import_finish(nt_import *im, nt_import_stats *stats)
{
    nt_err err = im->fatal;

    if (im->finished)
        return NT_EINVAL;
    im->finished = 1;
    if (!im->fatal && !im->bom_done) {
        im->bom_done = 1;
        feed_data(im, bom_bytes, im->nbom);
    }
    if (!im->fatal) {
        if (im->o.format == NT_IMPORT_JSONL) {
            if (im->jline.len || im->jtoo_long)
                jsonl_line_end(im);
        } else {
            csv_end(im);
        }
    }
    err = im->fatal;
    if (!err && im->o.strict && im->stats.rejected > 0) {
        rollback(im);
        err = NT_EINVAL;
    } else if (!err) {
        err = commit(im);
    } else {
        rollback(im);
    }
    progress(im, 1);
    if (stats)
        snapshot(im, stats, 0);
    return err;
}

void
nt_import_free(nt_import *im)
{
    if (!im)
        return;
    rollback(im);
    csv_free(&im->csv);
    nt_buf_release(&im->jline);
    for (size_t i = 0; i < im->nbadkeys; i++)
        free(im->badkeys[i]);
    nt_tzcache_free(im->zones);
    free(im->stages);
    free(im->cols);
    free(im->custom);
    free(im->rbuf);
    free(im->name);
    free(im);
}

nt_err
nt_import_mem(nt_store *st, const nt_import_opts *opts, const void *data, size_t len,
              nt_import_stats *stats, nt_diags *diags)
{
    nt_import *im;
    nt_err err;

    if (stats)
        memset(stats, 0, sizeof(*stats));
    if ((err = nt_import_new(st, opts, diags, &im)) != NT_OK)
        return err;
    nt_import_feed(im, data, len);
    err = nt_import_finish(im, stats);
    nt_import_free(im);
    return err;
}

nt_err
nt_import_fd(nt_store *st, const nt_import_opts *opts, int fd, nt_import_stats *stats,
             nt_diags *diags)
{
    char buf[65536];
    struct stat sb;
    nt_import *im;
    nt_err err;
    int live;

    if (stats)
        memset(stats, 0, sizeof(*stats));
    live = fstat(fd, &sb) == 0 && !S_ISREG(sb.st_mode);
    if ((err = nt_import_new(st, opts, diags, &im)) != NT_OK)
        return err;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            nt_diags_add(diags, NT_SEV_ERROR, im->name, 0, 0, "cannot read: %s", strerror(errno));
            rollback(im);
            if (stats)
                snapshot(im, stats, 0);
            nt_import_free(im);
            return NT_EIO;
        }
        if (n == 0)
            break;
        if (nt_import_feed(im, buf, (size_t)n) != NT_OK)
            break;
        if (live && nt_import_flush(im) != NT_OK)
            break;
    }
    err = nt_import_finish(im, stats);
    nt_import_free(im);
    return err;
}
