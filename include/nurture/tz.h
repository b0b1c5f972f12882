/*
 * Time zones from the system tz database, and civil-time arithmetic.
 *
 * Zones are read from TZif files (RFC 8536) under $TZDIR, or
 * /usr/share/zoneinfo when TZDIR is unset, and parsed by our own reader so
 * that conversions are pure functions of (zone, instant): no TZ environment
 * variable, no tzset(), no global state, safe to call a million times.
 * Instants are seconds since the Unix epoch, UTC, as int64_t.  Instants past
 * the last transition in the file follow the POSIX TZ rule in the file's
 * footer, so daylight-saving time keeps working after 2037.
 */
#ifndef NURTURE_TZ_H
#define NURTURE_TZ_H

#include <stdint.h>

#include "nurture/error.h"

typedef struct nt_tz nt_tz;

/* A broken-down local (civil) time. */
typedef struct nt_civil {
    int year;           /* e.g. 2026 */
    int month;          /* 1..12 */
    int day;            /* 1..31 */
    int hour;           /* 0..23 */
    int min;            /* 0..59 */
    int sec;            /* 0..59 */
    int wday;           /* 0 = Sunday .. 6 = Saturday; output only */
    int32_t utc_offset; /* seconds east of UTC; output only */
    int is_dst;         /* output only */
    char abbrev[8];     /* "CET", "EDT"...; output only */
} nt_civil;

/*
 * True when name looks like an IANA zone name we are willing to open:
 * letters, digits, '/', '_', '-', '+', no "..", no leading '/', at most 64
 * bytes.  Does not touch the file system.
 */
int nt_tz_name_ok(const char *name);

/*
 * Load zone `name` ("Europe/Berlin", "UTC") from the tz database.
 * On success *out is owned by the caller: nt_tz_free().  NT_ENOTFOUND with a
 * diag when there is no such zone, NT_EINVAL when the file is not valid TZif.
 */
nt_err nt_tz_load(const char *name, nt_tz **out, nt_diag *d);

/*
 * Parse TZif bytes (versions 1 to 4).  data is borrowed for the call only;
 * it need not be NUL-terminated.  name is copied.  *out as for nt_tz_load.
 * Untrusted input: every count and index is checked against len.
 */
nt_err nt_tz_parse(const char *name, const unsigned char *data, size_t len, nt_tz **out,
                   nt_diag *d);

/* The zone for UTC, built in; never fails.  Owned by the caller: nt_tz_free(). */
nt_tz *nt_tz_utc(void);

void nt_tz_free(nt_tz *tz);

/* Borrowed for the zone's lifetime. */
const char *nt_tz_name(const nt_tz *tz);

/* Offset from UTC (seconds east) in force at instant t. */
int32_t nt_tz_offset(const nt_tz *tz, int64_t t);

/* Instant t as local civil time in tz (all output fields set). */
void nt_tz_to_local(const nt_tz *tz, int64_t t, nt_civil *out);

/*
 * The instant at which local civil time `local` (year..sec; other fields
 * ignored) occurs in tz.  Ambiguous times (clocks going back) give the
 * earlier instant.  Times that do not exist (clocks going forward, e.g. 02:30
 * on a spring-forward night) give the instant the same number of seconds
 * after the gap opened, as a wall clock that was not changed would show, so
 * 02:30 becomes 03:30 local.
 */
int64_t nt_tz_from_local(const nt_tz *tz, const nt_civil *local);

/*
 * A cache of loaded zones by name, so a run that meets the same zone for
 * thousands of leads loads it once.  nt_tzcache_get returns a borrowed zone
 * valid until nt_tzcache_free.  Unknown names return NT_ENOTFOUND and are
 * remembered as unknown.
 */
typedef struct nt_tzcache nt_tzcache;
nt_tzcache *nt_tzcache_new(void); /* NULL on out of memory */
void nt_tzcache_free(nt_tzcache *c);
nt_err nt_tzcache_get(nt_tzcache *c, const char *name, const nt_tz **out, nt_diag *d);

/* ---- civil calendar arithmetic (proleptic Gregorian, pure) ---- */

/* Days since 1970-01-01 for y-m-d. */
int64_t nt_days_from_civil(int y, int m, int d);
/* Inverse of nt_days_from_civil. */
void nt_civil_from_days(int64_t days, int *y, int *m, int *d);
/* 0 = Sunday. */
int nt_weekday_from_days(int64_t days);

/* ---- parsing and formatting times and durations ---- */

/*
 * Parse an absolute time given on a command line or in a file:
 *   "2026-11-22T09:30:00Z", "2026-11-22T09:30:00+01:00", "2026-11-22 09:30"
 *   (no offset = UTC), "2026-11-22" (midnight UTC), or "@1790000000".
 * s is NUL-terminated.  NT_EINVAL with a diag naming what is wrong.
 */
nt_err nt_time_parse(const char *s, int64_t *out, nt_diag *d);

/* "2026-11-22T09:30:00Z" into out (at least 21 bytes). */
void nt_time_format_utc(int64_t t, char *out, size_t outsz);

/* Local time in tz as "2026-11-22 10:30 CET" into out. */
void nt_time_format_local(const nt_tz *tz, int64_t t, char *out, size_t outsz);

/* RFC 5322 date "Sun, 22 Nov 2026 09:30:00 +0000" of t in UTC. */
void nt_time_format_rfc5322(int64_t t, char *out, size_t outsz);

/*
 * Parse a duration: one or more <integer><unit> groups, units w d h m s
 * ("3d", "1d12h", "90m", "0d"), optionally separated by spaces.  A bare
 * integer is rejected (the unit must be said).  Result in seconds, at most
 * 10 years.  s is NUL-terminated.
 */
nt_err nt_duration_parse(const char *s, int64_t *out, nt_diag *d);

/* "3d", "1d12h", "1h30m", "2w": whole weeks as weeks, otherwise largest unit
 * first from days down; nt_duration_parse reads it back. */
void nt_duration_format(int64_t secs, char *out, size_t outsz);

#endif
