/*
 * Leads: the people nurture writes to.
 *
 * A lead is an email address (the identity: importing the same address again
 * updates the lead), a stage from the configured list, an optional IANA time
 * zone, the standard fields below, and any number of custom fields kept as
 * name/value pairs.  This module validates and normalises; storage is the
 * store's business.
 */
#ifndef NURTURE_LEAD_H
#define NURTURE_LEAD_H

#include <stddef.h>
#include <stdint.h>

#include "nurture/error.h"
#include "nurture/tz.h"

#define NT_LEAD_MAX_FIELDS 200 /* custom fields per lead */
#define NT_LEAD_MAX_VALUE 4096 /* bytes in one field value */

typedef struct nt_field {
    char *name;
    char *value;
} nt_field;

/* All strings owned by the lead (NULL when unset).  nt_lead_release(). */
typedef struct nt_lead {
    int64_t id; /* 0 until stored */
    char *email;
    char *stage;
    char *timezone;
    char *first_name;
    char *last_name;
    char *company;
    char *title;
    char *phone;
    char *owner;      /* sales rep who owns the lead */
    char *source;     /* where it came from: "webinar-2026-10", "website" */
    nt_field *fields; /* custom fields, sorted by name */
    size_t nfields;
    int64_t created_at;
    int64_t updated_at;
    int64_t stage_changed_at;
} nt_lead;

/* Names of the standard fields, NULL-terminated ("email", "stage", ...). */
extern const char *const nt_lead_std_fields[];

void nt_lead_init(nt_lead *l);
void nt_lead_release(nt_lead *l);

/* A deep copy of src into dst (dst is overwritten, not released). */
nt_err nt_lead_copy(nt_lead *dst, const nt_lead *src);

/* The value of a standard or custom field, or NULL.  Borrowed from l. */
const char *nt_lead_get(const nt_lead *l, const char *name);

/*
 * Set a standard or custom field (value copied; NULL or "" unsets it).  Does
 * not validate email/stage/timezone: see nt_lead_check.
 */
nt_err nt_lead_set(nt_lead *l, const char *name, const char *value);

/* True for a name usable as a custom field: [a-z][a-z0-9_]{0,63}. */
int nt_field_name_ok(const char *name);

/*
 * Validate and normalise an email address given as s[0..len): surrounding
 * white space removed, the domain lower-cased and, when it is
 * internationalised, converted to its ASCII (punycode) form; the local part
 * kept as written.  On success *out is owned by the caller (free()).
 * NT_EINVAL with a diag that says what is wrong with the address.
 */
nt_err nt_email_normalize(const char *s, size_t len, char **out, nt_diag *d);

/* Domain part of a normalised address (borrowed, points into email). */
const char *nt_email_domain(const char *email);

/*
 * Check a lead before it is stored: email present and normalised (it is
 * replaced by its normal form), stage one of `stages` (replaced by the
 * configured spelling), timezone a zone of the system tz database.  nstages
 * may be 0 to skip the stage check.  zones (borrowed, may be NULL) caches
 * the zones already looked up, which matters when importing a million leads.
 */
nt_err nt_lead_check(nt_lead *l, char *const *stages, size_t nstages, nt_tzcache *zones,
                     nt_diag *d);

#endif
