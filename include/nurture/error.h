/*
 * Errors as values.
 *
 * Every fallible function in the library returns an nt_err.  Details meant
 * for a person (what failed, in which file, at which line and column) go
 * into a caller-owned nt_diag, or, where one call can find many problems
 * (lint, import), into an nt_diags list.  The library never prints and never
 * exits; the CLI turns these into messages and exit codes.
 */
#ifndef NURTURE_ERROR_H
#define NURTURE_ERROR_H

#include <stddef.h>

typedef enum nt_err {
    NT_OK = 0,
    NT_ENOMEM,    /* allocation failed */
    NT_EINVAL,    /* bad input: the diag says which and where */
    NT_EIO,       /* a file could not be read or written */
    NT_ENOTFOUND, /* no such lead, campaign, step, zone... */
    NT_EEXIST,    /* already there */
    NT_ELIMIT,    /* a size or count limit was reached */
    NT_ESTORE,    /* the database failed */
    NT_EBUSY,     /* the database or a lock is held by someone else */
    NT_ECONFIG,   /* the configuration is wrong */
} nt_err;

/* Static, never NULL. */
const char *nt_strerror(nt_err err);

typedef enum nt_severity {
    NT_SEV_ERROR = 0,
    NT_SEV_WARNING,
    NT_SEV_NOTE,
} nt_severity;

/*
 * One message for a person.  file may be empty; line and col are 1-based and
 * 0 when unknown.  Embedded: no heap, nothing to release.
 */
typedef struct nt_diag {
    nt_severity sev;
    int line;
    int col;
    char file[256];
    char msg[512];
} nt_diag;

/* Clear d (may be NULL: then every nt_diag_* call is a no-op). */
void nt_diag_clear(nt_diag *d);

/* Fill d; file may be NULL.  Truncates silently.  Returns err so that a
 * caller can write `return nt_diag_set(d, NT_EINVAL, ...)`. */
nt_err nt_diag_set(nt_diag *d, nt_err err, const char *file, int line, int col, const char *fmt,
                   ...) __attribute__((format(printf, 6, 7)));

/* Write "file:line:col: message" (the parts that are known) into out. */
void nt_diag_format(const nt_diag *d, char *out, size_t outsz);

/*
 * A growable list of diagnostics.  Embedded: nt_diags_init / nt_diags_release.
 * Adding never fails from the caller's point of view: past `limit` entries, or
 * when memory runs out, further entries are counted in `dropped` only.
 */
typedef struct nt_diags {
    nt_diag *items;
    size_t len;
    size_t cap;
    size_t limit;
    size_t dropped;
    size_t errors;   /* entries (kept or dropped) with NT_SEV_ERROR */
    size_t warnings; /* entries (kept or dropped) with NT_SEV_WARNING */
} nt_diags;

void nt_diags_init(nt_diags *ds, size_t limit);
void nt_diags_release(nt_diags *ds);
void nt_diags_add(nt_diags *ds, nt_severity sev, const char *file, int line, int col,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Append a copy of d. */
void nt_diags_push(nt_diags *ds, const nt_diag *d);

#endif
