/*
 * Error codes and diagnostics: the small, allocation-free vocabulary every
 * module uses to say what went wrong and where.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/error.h"

#include "banned.h"

const char *
nt_strerror(nt_err err)
{
    switch (err) {
    case NT_OK:
        return "success";
    case NT_ENOMEM:
        return "out of memory";
    case NT_EINVAL:
        return "invalid input";
    case NT_EIO:
        return "input/output error";
    case NT_ENOTFOUND:
        return "not found";
    case NT_EEXIST:
        return "already exists";
    case NT_ELIMIT:
        return "size limit reached";
    case NT_ESTORE:
        return "database error";
    case NT_EBUSY:
        return "busy";
    case NT_ECONFIG:
        return "configuration error";
    }
    return "unknown error";
}

void
nt_diag_clear(nt_diag *d)
{
    if (d)
        memset(d, 0, sizeof(*d));
}

static void fill(nt_diag *d, nt_severity sev, const char *file, int line, int col, const char *fmt,
                 va_list ap) __attribute__((format(printf, 6, 0)));

static void
fill(nt_diag *d, nt_severity sev, const char *file, int line, int col, const char *fmt, va_list ap)
{
    d->sev = sev;
    d->line = line;
    d->col = col;
    snprintf(d->file, sizeof(d->file), "%s", file ? file : "");
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
}

nt_err
nt_diag_set(nt_diag *d, nt_err err, const char *file, int line, int col, const char *fmt, ...)
{
    va_list ap;

    if (!d)
        return err;
    va_start(ap, fmt);
    fill(d, NT_SEV_ERROR, file, line, col, fmt, ap);
    va_end(ap);
    return err;
}

void
nt_diag_format(const nt_diag *d, char *out, size_t outsz)
{
    char where[300] = "";

    if (d->file[0] && d->line > 0 && d->col > 0)
        snprintf(where, sizeof(where), "%s:%d:%d: ", d->file, d->line, d->col);
    else if (d->file[0] && d->line > 0)
        snprintf(where, sizeof(where), "%s:%d: ", d->file, d->line);
    else if (d->file[0])
        snprintf(where, sizeof(where), "%s: ", d->file);
    snprintf(out, outsz, "%s%s%s", where,
             d->sev == NT_SEV_WARNING ? "warning: "
             : d->sev == NT_SEV_NOTE  ? "note: "
                                      : "",
             d->msg);
}

void
nt_diags_init(nt_diags *ds, size_t limit)
{
    memset(ds, 0, sizeof(*ds));
    ds->limit = limit ? limit : 1000;
}

void
nt_diags_release(nt_diags *ds)
{
    free(ds->items);
    memset(ds, 0, sizeof(*ds));
}

static nt_diag *
slot(nt_diags *ds, nt_severity sev)
{
    if (sev == NT_SEV_ERROR)
        ds->errors++;
    else if (sev == NT_SEV_WARNING)
        ds->warnings++;
    if (ds->len >= ds->limit) {
        ds->dropped++;
        return NULL;
    }
    if (ds->len == ds->cap) {
        size_t ncap = ds->cap ? ds->cap * 2 : 8;
        nt_diag *n = realloc(ds->items, ncap * sizeof(*n));
        if (!n) {
            ds->dropped++;
            return NULL;
        }
        ds->items = n;
        ds->cap = ncap;
    }
    return &ds->items[ds->len++];
}

void
nt_diags_add(nt_diags *ds, nt_severity sev, const char *file, int line, int col, const char *fmt,
             ...)
{
    va_list ap;
    nt_diag *d = slot(ds, sev);

    if (!d)
        return;
    va_start(ap, fmt);
    fill(d, sev, file, line, col, fmt, ap);
    va_end(ap);
}

void
nt_diags_push(nt_diags *ds, const nt_diag *src)
{
    nt_diag *d = slot(ds, src->sev);

    if (d)
        *d = *src;
}
