/*
 * Time zones: our own reader for TZif files (RFC 8536, versions 1 to 4) and
 * the POSIX TZ rule in their footer, so that every conversion is a pure
 * function of (zone, instant) with no TZ variable, no tzset() and no global
 * state.  A zone is parsed once into flat arrays; lookups are a binary search
 * over the transitions, or, past the last transition, a few lines of
 * calendar arithmetic on the footer rule, and never allocate, because the
 * scheduler converts times for every lead of every run.
 *
 * Zone files come from the file system but are treated as untrusted bytes:
 * every count and index is checked against the length before use, and the
 * fuzz target tests/fuzz/fuzz_tzif.c holds us to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nurture/tz.h"

#include "banned.h"

/* Real zone files are a few kilobytes; anything this big is not one. */
#define TZ_FILE_MAX ((size_t)1 << 20)

/* RFC 8536 bounds on UT offsets; the footer parser keeps to them too.  Local
 * time is therefore always within this window of UTC. */
#define OFF_MIN (-89999)
#define OFF_MAX 93599

/*
 * Instants are clamped to about +-140 million years before any arithmetic,
 * so that adding an offset cannot overflow and the year fits in an int.
 * Nobody schedules mail that far out; the clamp only protects us.
 */
#define T_LIMIT ((int64_t)1 << 52)

/* The cache remembers at most this many names that failed to load, so that
 * a file full of garbage zone names cannot grow it without bound. */
#define CACHE_MAX_FAILED 1024

struct ttype {
    int32_t off; /* seconds east of UTC */
    int isdst;
    char abbr[8];
};

/* One date of a POSIX TZ rule: Jn, n or Mm.w.d, plus a local time of day. */
struct rdate {
    char kind; /* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' (month.week.day) */
    int a, b, c;
    int32_t time; /* seconds after local midnight; may be negative (v3+) */
};

/* A POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3". */
struct prule {
    struct ttype std, dst;
    int has_dst;
    struct rdate start, end;
};

struct nt_tz {
    char *name;
    size_t ntrans;
    int64_t *trans;      /* ascending instants */
    unsigned char *tidx; /* type in force from trans[i] on */
    size_t ntypes;
    struct ttype *types; /* types[0] is in force before the first transition */
    int has_rule;        /* footer present: it governs instants after the last
                            transition (or all instants if there are none) */
    struct prule rule;
};

static struct ttype utc_type = {0, 0, "UTC"};
static char utc_name[] = "UTC";
/* Built in, so that nt_tz_utc() cannot fail; nt_tz_free() leaves it alone. */
static nt_tz utc_zone = {.name = utc_name, .ntypes = 1, .types = &utc_type};

static int64_t
clamp_t(int64_t t)
{
    return t > T_LIMIT ? T_LIMIT : t < -T_LIMIT ? -T_LIMIT : t;
}

static int64_t
floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int
is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Copy at most 64 bytes of an untrusted name for a message, printable only. */
static void
quote(const char *s, char *out, size_t outsz)
{
    size_t i, n = 0;

    if (!s)
        s = "";
    for (i = 0; s[i] && n + 4 < outsz && i < 64; i++)
        out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i] && n + 4 < outsz) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* ---- the footer: POSIX TZ strings ---- */

static int
is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* "CET" or "<+0330>": at least three characters; kept to 7 for nt_civil. */
static int
parse_abbr(const unsigned char *s, size_t n, size_t *i, char abbr[8])
{
    size_t start, len;

    if (*i < n && s[*i] == '<') {
        start = ++*i;
        while (*i < n && (is_alpha(s[*i]) || is_digit(s[*i]) || s[*i] == '+' || s[*i] == '-'))
            ++*i;
        if (*i >= n || s[*i] != '>')
            return 0;
        len = *i - start;
        ++*i;
    } else {
        start = *i;
        while (*i < n && is_alpha(s[*i]))
            ++*i;
        len = *i - start;
    }
    if (len < 3)
        return 0;
    if (len > 7)
        len = 7;
    memcpy(abbr, s + start, len);
    abbr[len] = '\0';
    return 1;
}

/* [+-]h[h[h]][:mm[:ss]] with hours at most maxh, as signed seconds. */
static int
parse_hms(const unsigned char *s, size_t n, size_t *i, int maxh, int32_t *out)
{
    int sign = 1, h = 0, m = 0, sec = 0, digits = 0;

    if (*i < n && (s[*i] == '+' || s[*i] == '-')) {
        sign = s[*i] == '-' ? -1 : 1;
        ++*i;
    }
    while (*i < n && is_digit(s[*i]) && digits < 3) {
        h = h * 10 + (s[*i] - '0');
        ++*i;
        digits++;
    }
    if (!digits || h > maxh)
        return 0;
    if (*i < n && s[*i] == ':') {
        ++*i;
        if (*i + 1 >= n || !is_digit(s[*i]) || !is_digit(s[*i + 1]))
            return 0;
        m = (s[*i] - '0') * 10 + (s[*i + 1] - '0');
        *i += 2;
        if (*i < n && s[*i] == ':') {
            ++*i;
            if (*i + 1 >= n || !is_digit(s[*i]) || !is_digit(s[*i + 1]))
                return 0;
            sec = (s[*i] - '0') * 10 + (s[*i + 1] - '0');
            *i += 2;
        }
        if (m > 59 || sec > 59)
            return 0;
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return 1;
}

/* A small decimal number in [lo, hi]. */
static int
parse_num(const unsigned char *s, size_t n, size_t *i, int lo, int hi, int *out)
{
    int v = 0, digits = 0;

    while (*i < n && is_digit(s[*i]) && digits < 4) {
        v = v * 10 + (s[*i] - '0');
        ++*i;
        digits++;
    }
    if (!digits || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

static int
parse_rdate(const unsigned char *s, size_t n, size_t *i, struct rdate *r)
{
    if (*i < n && s[*i] == 'J') {
        ++*i;
        r->kind = 'J';
        if (!parse_num(s, n, i, 1, 365, &r->a))
            return 0;
    } else if (*i < n && s[*i] == 'M') {
        ++*i;
        r->kind = 'M';
        if (!parse_num(s, n, i, 1, 12, &r->a) || *i >= n || s[(*i)++] != '.' ||
            !parse_num(s, n, i, 1, 5, &r->b) || *i >= n || s[(*i)++] != '.' ||
            !parse_num(s, n, i, 0, 6, &r->c))
            return 0;
    } else {
        r->kind = 'N';
        if (!parse_num(s, n, i, 0, 365, &r->a))
            return 0;
    }
    r->time = 7200;
    /* Version 3 allows times from -167 to 167 hours, for rules like
     * "M3.5.0/-1" or "J365/25". */
    if (*i < n && s[*i] == '/') {
        ++*i;
        if (!parse_hms(s, n, i, 167, &r->time))
            return 0;
    }
    return 1;
}

/*
 * Parse a TZ string: std offset [dst [offset] [,start[/time],end[/time]]].
 * POSIX offsets are hours west of Greenwich, the opposite of ours.
 */
static int
parse_rule(const unsigned char *s, size_t n, struct prule *p)
{
    size_t i = 0;
    int32_t v;

    memset(p, 0, sizeof(*p));
    if (!parse_abbr(s, n, &i, p->std.abbr) || !parse_hms(s, n, &i, 24, &v))
        return 0;
    p->std.off = -v;
    p->dst = p->std;
    if (i == n)
        return 1;
    p->has_dst = 1;
    p->dst.isdst = 1;
    if (!parse_abbr(s, n, &i, p->dst.abbr))
        return 0;
    p->dst.off = p->std.off + 3600;
    if (i < n && s[i] != ',') {
        if (!parse_hms(s, n, &i, 24, &v))
            return 0;
        p->dst.off = -v;
    }
    if (i == n) {
        /* No rule given: POSIX leaves it to the implementation; like glibc
         * we use the current US rule. */
        p->start = (struct rdate){'M', 3, 2, 0, 7200};
        p->end = (struct rdate){'M', 11, 1, 0, 7200};
        return 1;
    }
    if (s[i++] != ',' || !parse_rdate(s, n, &i, &p->start) || i >= n || s[i++] != ',' ||
        !parse_rdate(s, n, &i, &p->end))
        return 0;
    return i == n;
}

/* Local seconds since the epoch at which rule date r falls in year y. */
static int64_t
rdate_local(const struct rdate *r, int y)
{
    int64_t days = nt_days_from_civil(y, 1, 1);

    switch (r->kind) {
    case 'J':
        /* Jn counts 1..365 and never names February 29. */
        days += r->a - 1 + (is_leap(y) && r->a >= 60);
        break;
    case 'N':
        days += r->a;
        break;
    default: {
        /* Mm.w.d: day d of week w of month m, where week 5 means the last. */
        static const int mlen[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int len = mlen[r->a - 1] + (r->a == 2 && is_leap(y));
        int64_t first = nt_days_from_civil(y, r->a, 1);
        int dd = (r->c - nt_weekday_from_days(first) + 7) % 7 + (r->b - 1) * 7;

        while (dd >= len)
            dd -= 7;
        days = first + dd;
        break;
    }
    }
    return days * 86400 + r->time;
}

/* The two transitions of year y: [0] into DST, [1] back to standard time.
 * Rule times are in the local time in force just before each one. */
static void
rule_year(const struct prule *p, int y, int64_t out[2])
{
    out[0] = rdate_local(&p->start, y) - p->std.off;
    out[1] = rdate_local(&p->end, y) - p->dst.off;
}

/* The rule's year around t; t is already clamped. */
static int
rule_year_of(const struct prule *p, int64_t t)
{
    int y, m, d;

    nt_civil_from_days(floordiv(t + p->std.off, 86400), &y, &m, &d);
    return y;
}

static const struct ttype *
rule_type(const struct prule *p, int64_t t)
{
    int64_t best = 0, tr[2];
    int found = 0, dst = 0, y;

    if (!p->has_dst)
        return &p->std;
    t = clamp_t(t);
    y = rule_year_of(p, t);
    /*
     * The latest transition at or before t decides.  Looking at the years
     * around t copes with southern-hemisphere rules (DST over New Year) and
     * with rule times of up to 167 hours that spill into the next year.  At
     * equal instants DST wins, which makes "0/0,J365/25" permanent DST.
     */
    for (int yy = y - 2; yy <= y + 1; yy++) {
        rule_year(p, yy, tr);
        for (int k = 0; k < 2; k++) {
            if (tr[k] > t)
                continue;
            if (!found || tr[k] > best || (tr[k] == best && k == 0)) {
                best = tr[k];
                dst = k == 0;
                found = 1;
            }
        }
    }
    return dst ? &p->dst : &p->std;
}

/* The first rule transition after t, if any. */
static int
rule_next(const struct prule *p, int64_t t, int64_t *next)
{
    int64_t tr[2], best = 0;
    int found = 0, y;

    if (!p->has_dst)
        return 0;
    t = clamp_t(t);
    y = rule_year_of(p, t);
    for (int yy = y - 1; yy <= y + 2; yy++) {
        rule_year(p, yy, tr);
        for (int k = 0; k < 2; k++)
            if (tr[k] > t && (!found || tr[k] < best)) {
                best = tr[k];
                found = 1;
            }
    }
    *next = best;
    return found;
}

/* ---- lookups ---- */

/* Number of transitions at or before t. */
static size_t
upper_bound(const nt_tz *tz, int64_t t)
{
    size_t lo = 0, hi = tz->ntrans;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const struct ttype *
find_type(const nt_tz *tz, int64_t t)
{
    size_t k;

    if (!tz)
        return &utc_type;
    /* Clamp here too, so that offset, to_local and from_local agree even
     * about instants beyond the clamp. */
    t = clamp_t(t);
    if (tz->has_rule && (tz->ntrans == 0 || t >= tz->trans[tz->ntrans - 1]))
        return rule_type(&tz->rule, t);
    k = upper_bound(tz, t);
    if (k == 0)
        return &tz->types[0];
    return &tz->types[tz->tidx[k - 1]];
}

/* The first instant after t at which the zone's type may change. */
static int
next_change(const nt_tz *tz, int64_t t, int64_t *next)
{
    if (!tz)
        return 0;
    if (tz->ntrans > 0 && t < tz->trans[tz->ntrans - 1]) {
        *next = tz->trans[upper_bound(tz, t)];
        return 1;
    }
    return tz->has_rule && rule_next(&tz->rule, t, next);
}

int32_t
nt_tz_offset(const nt_tz *tz, int64_t t)
{
    return find_type(tz, t)->off;
}

void
nt_tz_to_local(const nt_tz *tz, int64_t t, nt_civil *out)
{
    const struct ttype *ty;
    int64_t local, days, secs;

    t = clamp_t(t);
    ty = find_type(tz, t);
    local = t + ty->off;
    days = floordiv(local, 86400);
    secs = local - days * 86400;
    nt_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(secs / 3600);
    out->min = (int)(secs / 60 % 60);
    out->sec = (int)(secs % 60);
    out->wday = nt_weekday_from_days(days);
    out->utc_offset = ty->off;
    out->is_dst = ty->isdst;
    memcpy(out->abbrev, ty->abbr, sizeof(out->abbrev));
}

int64_t
nt_tz_from_local(const nt_tz *tz, const nt_civil *local)
{
    int64_t l, t, start, end, next = 0, gap = 0;
    int32_t off, noff;
    int have_next, have_gap = 0;

    /* Out-of-range fields roll over (month 13, day 0, minute 90), in 64 bits
     * so that no input can overflow. */
    l = nt_days_from_civil(local->year, local->month, 1) * 86400 +
        ((int64_t)local->day - 1) * 86400 + (int64_t)local->hour * 3600 + (int64_t)local->min * 60 +
        local->sec;
    l = clamp_t(l);

    /*
     * Walk the periods of constant offset that can contain an instant whose
     * local time is l: those overlapping [l - OFF_MAX, l - OFF_MIN].  The
     * first period where l - offset falls inside the period is the earliest
     * answer (the earlier one of an overlap).  If none does, l is in a gap,
     * and we answer as an unchanged wall clock would: l minus the offset in
     * force before the gap.
     */
    start = l - OFF_MAX - 1;
    t = start;
    off = find_type(tz, t)->off;
    for (;;) {
        int64_t cand = l - off;

        have_next = next_change(tz, t, &next);
        end = have_next ? next : INT64_MAX;
        if (cand >= start && cand < end)
            return cand;
        if (!have_next || next > l - OFF_MIN + 1)
            break;
        noff = find_type(tz, next)->off;
        if (!have_gap && noff > off && l >= next + off && l < next + noff) {
            gap = l - off;
            have_gap = 1;
        }
        start = t = next;
        off = noff;
    }
    if (have_gap)
        return gap;
    /* Only reachable with a zone whose data contradicts itself. */
    return l - find_type(tz, l)->off;
}

/* ---- zones ---- */

void
nt_tz_free(nt_tz *tz)
{
    if (!tz || tz == &utc_zone)
        return;
    free(tz->name);
    free(tz->trans);
    free(tz->tidx);
    free(tz->types);
    free(tz);
}

const char *
nt_tz_name(const nt_tz *tz)
{
    return tz ? tz->name : "UTC";
}

nt_tz *
nt_tz_utc(void)
{
    return &utc_zone;
}

static char *
dupstr(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);

    if (p)
        memcpy(p, s, n + 1);
    return p;
}

/* A UTC zone under another name ("Etc/UTC"), for systems without tzdata. */
static nt_err
make_utc(const char *name, nt_tz **out, nt_diag *d)
{
    nt_tz *tz = calloc(1, sizeof(*tz));

    if (tz) {
        tz->name = dupstr(name);
        tz->types = malloc(sizeof(*tz->types));
    }
    if (!tz || !tz->name || !tz->types) {
        nt_tz_free(tz);
        return nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "out of memory loading time zone");
    }
    tz->ntypes = 1;
    tz->types[0] = utc_type;
    *out = tz;
    return NT_OK;
}

int
nt_tz_name_ok(const char *name)
{
    size_t i;

    if (!name || !name[0] || name[0] == '/')
        return 0;
    for (i = 0; name[i]; i++) {
        unsigned char c = (unsigned char)name[i];
        if (i >= 64)
            return 0;
        if (!is_alpha(c) && !is_digit(c) && c != '/' && c != '_' && c != '-' && c != '+')
            return 0;
        /* Empty path components ("a//b", "a/") are not names either. */
        if (c == '/' && (name[i + 1] == '/' || name[i + 1] == '\0'))
            return 0;
    }
    /* '.' is not allowed at all, so ".." cannot occur; say so for readers. */
    return strstr(name, "..") == NULL;
}

/* ---- TZif ---- */

struct hdr {
    int version; /* 1 to 4 */
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
sbe32(const unsigned char *p)
{
    return (int32_t)be32(p);
}

static int64_t
sbe64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static const char *
read_hdr(const unsigned char *p, size_t avail, struct hdr *h)
{
    if (avail < 44)
        return "truncated header";
    if (memcmp(p, "TZif", 4) != 0)
        return "not a TZif file (bad magic)";
    if (p[4] == 0)
        h->version = 1;
    else if (p[4] >= '2' && p[4] <= '4')
        h->version = p[4] - '0';
    else
        return "unsupported TZif version";
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    return NULL;
}

/* Bytes of the data block that follows a header; counts are 32-bit, so the
 * sum fits in 64 bits whatever they say. */
static uint64_t
block_size(const struct hdr *h, unsigned tsz)
{
    return (uint64_t)h->timecnt * tsz + h->timecnt + (uint64_t)h->typecnt * 6 + h->charcnt +
           (uint64_t)h->leapcnt * (tsz + 4) + h->isstdcnt + h->isutcnt;
}

static nt_err
corrupt(nt_diag *d, const char *name, const char *what)
{
    char q[80];

    quote(name, q, sizeof(q));
    return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "time zone '%s': invalid TZif data: %s", q, what);
}

/* A sentinel "reason" meaning out of memory rather than bad data. */
static const char oom[] = "out of memory";

/* Occurrence time of leap record j. */
static int64_t
leap_at(const unsigned char *leaps, size_t j, unsigned tsz)
{
    return tsz == 8 ? sbe64(leaps + j * 12) : sbe32(leaps + j * 8);
}

/*
 * Read one data block into tz.  p points just past its header, and
 * block_size() bytes are known to be there.  Returns NULL or what is wrong.
 */
static const char *
read_block(nt_tz *tz, const struct hdr *h, const unsigned char *p, unsigned tsz)
{
    const unsigned char *times = p;
    const unsigned char *idx = times + (size_t)h->timecnt * tsz;
    const unsigned char *types = idx + h->timecnt;
    const unsigned char *chars = types + (size_t)h->typecnt * 6;
    const unsigned char *leaps = chars + h->charcnt;
    size_t i, j;

    if (h->typecnt == 0)
        return "no local time types";
    if (h->charcnt == 0)
        return "no abbreviations";
    if ((h->isstdcnt != 0 && h->isstdcnt != h->typecnt) ||
        (h->isutcnt != 0 && h->isutcnt != h->typecnt))
        return "bad standard/UT indicator count";

    tz->types = calloc(h->typecnt, sizeof(*tz->types));
    if (!tz->types)
        return oom;
    tz->ntypes = h->typecnt;
    for (i = 0; i < h->typecnt; i++) {
        const unsigned char *ty = types + i * 6;
        int64_t off = sbe32(ty);
        size_t ai = ty[5], len;

        if (off < OFF_MIN || off > OFF_MAX)
            return "UT offset out of range";
        if (ty[4] > 1)
            return "bad DST flag";
        if (ai >= h->charcnt)
            return "abbreviation index out of range";
        for (len = 0; ai + len < h->charcnt && chars[ai + len]; len++)
            ;
        if (ai + len >= h->charcnt)
            return "abbreviation not terminated";
        tz->types[i].off = (int32_t)off;
        tz->types[i].isdst = ty[4];
        if (len > sizeof(tz->types[i].abbr) - 1)
            len = sizeof(tz->types[i].abbr) - 1;
        memcpy(tz->types[i].abbr, chars + ai, len);
        tz->types[i].abbr[len] = '\0';
    }

    if (h->timecnt) {
        tz->trans = malloc((size_t)h->timecnt * sizeof(*tz->trans));
        tz->tidx = malloc(h->timecnt);
        if (!tz->trans || !tz->tidx)
            return oom;
    }
    tz->ntrans = h->timecnt;
    for (i = 0; i < h->timecnt; i++) {
        tz->trans[i] = tsz == 8 ? sbe64(times + i * 8) : sbe32(times + i * 4);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
            return "transition times not ascending";
        if (idx[i] >= h->typecnt)
            return "transition type index out of range";
        tz->tidx[i] = idx[i];
    }

    for (j = 1; j < h->leapcnt; j++)
        if (leap_at(leaps, j, tsz) <= leap_at(leaps, j - 1, tsz))
            return "leap second times not ascending";
    /*
     * With leap seconds ("right/" zones) the file's clock counts them; we
     * work in POSIX time, so take each transition back by the correction in
     * force.  Both lists are ascending, so one merged pass does it.
     */
    for (i = 0, j = 0; h->leapcnt && i < h->timecnt; i++) {
        int64_t corr = 0;

        while (j < h->leapcnt && leap_at(leaps, j, tsz) <= tz->trans[i])
            j++;
        if (j > 0)
            corr = sbe32(leaps + (j - 1) * (tsz + 4) + tsz);
        if (tz->trans[i] > -T_LIMIT && tz->trans[i] < T_LIMIT)
            tz->trans[i] -= corr;
        if (i > 0 && tz->trans[i] < tz->trans[i - 1])
            return "leap second corrections reorder transitions";
    }
    return NULL;
}

nt_err
nt_tz_parse(const char *name, const unsigned char *data, size_t len, nt_tz **out, nt_diag *d)
{
    struct hdr h, h2;
    const char *why;
    size_t off = 44;
    unsigned tsz = 4;
    nt_tz *tz;

    *out = NULL;
    if (!name)
        name = "";
    if (!data)
        len = 0;
    if ((why = read_hdr(data, len, &h)) != NULL)
        return corrupt(d, name, why);
    if (block_size(&h, 4) > len - off)
        return corrupt(d, name, "truncated data block");
    if (h.version >= 2) {
        /* The 32-bit block is only for old readers; use the 64-bit one. */
        off += (size_t)block_size(&h, 4);
        if ((why = read_hdr(data + off, len - off, &h2)) != NULL)
            return corrupt(d, name, why[0] == 't' ? "truncated second header" : why);
        off += 44;
        tsz = 8;
        h2.version = h.version;
        h = h2;
        if (block_size(&h, 8) > len - off)
            return corrupt(d, name, "truncated 64-bit data block");
    }

    tz = calloc(1, sizeof(*tz));
    if (!tz)
        return nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "out of memory loading time zone");
    tz->name = dupstr(name);
    why = tz->name ? read_block(tz, &h, data + off, tsz) : oom;
    if (!why && h.version >= 2) {
        /* The footer: "\n" TZ-string "\n", where the string may be empty. */
        const unsigned char *nl;

        off += (size_t)block_size(&h, 8);
        if (off >= len || data[off] != '\n')
            why = "missing footer";
        else if ((nl = memchr(data + off + 1, '\n', len - off - 1)) == NULL)
            why = "unterminated footer";
        else if (nl > data + off + 1) {
            if (parse_rule(data + off + 1, (size_t)(nl - (data + off + 1)), &tz->rule))
                tz->has_rule = 1;
            else
                why = "bad TZ string in footer";
        }
    }
    if (why) {
        nt_tz_free(tz);
        if (why == oom)
            return nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "out of memory loading time zone");
        return corrupt(d, name, why);
    }
    *out = tz;
    return NT_OK;
}

/* Read a regular file of at most TZ_FILE_MAX bytes. */
static nt_err
read_file(const char *path, const char *qname, unsigned char **data, size_t *len, nt_diag *d)
{
    struct stat st;
    unsigned char *buf = NULL;
    size_t cap, n = 0;
    nt_err err = NT_OK;
    int fd, e;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return nt_diag_set(d, NT_ENOTFOUND, NULL, 0, 0, "unknown time zone '%s'", qname);
        return nt_diag_set(d, NT_EIO, path, 0, 0, "cannot open time zone file: %s", strerror(e));
    }
    if (fstat(fd, &st) != 0) {
        err = nt_diag_set(d, NT_EIO, path, 0, 0, "cannot stat time zone file: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        /* "Europe" is a directory, not a zone. */
        err = nt_diag_set(d, NT_ENOTFOUND, NULL, 0, 0, "unknown time zone '%s'", qname);
        goto out;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > TZ_FILE_MAX) {
        err = nt_diag_set(d, NT_EINVAL, path, 0, 0, "time zone file larger than %zu bytes",
                          TZ_FILE_MAX);
        goto out;
    }
    /* One byte more than the size, to notice a file that grew. */
    cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (!buf) {
        err = nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "out of memory loading time zone");
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = nt_diag_set(d, NT_EIO, path, 0, 0, "cannot read time zone file: %s",
                              strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap) {
            err = nt_diag_set(d, NT_EINVAL, path, 0, 0, "time zone file changed while reading");
            goto out;
        }
    }
    *data = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return err;
}

nt_err
nt_tz_load(const char *name, nt_tz **out, nt_diag *d)
{
    char q[80], path[4096];
    const char *dir = getenv("TZDIR");
    unsigned char *data = NULL;
    size_t len = 0;
    nt_err err;
    int n;

    *out = NULL;
    quote(name, q, sizeof(q));
    if (!nt_tz_name_ok(name))
        return nt_diag_set(d, NT_ENOTFOUND, NULL, 0, 0, "invalid time zone name '%s'", q);
    if (!dir || !dir[0])
        dir = "/usr/share/zoneinfo";
    n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path))
        return nt_diag_set(d, NT_ENOTFOUND, NULL, 0, 0, "time zone path too long for '%s'", q);
    err = read_file(path, q, &data, &len, d);
    if (err == NT_ENOTFOUND && (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0))
        return make_utc(name, out, d);
    if (err)
        return err;
    err = nt_tz_parse(name, data, len, out, d);
    free(data);
    return err;
}

/* ---- the cache ---- */

struct centry {
    char *name; /* NULL: empty slot */
    nt_tz *tz;  /* NULL when the name failed to load */
    nt_err err;
};

struct nt_tzcache {
    struct centry *slots; /* open addressing, linear probing */
    size_t cap;           /* a power of two */
    size_t used;
    size_t failed;
};

static uint64_t
hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

static struct centry *
slot_for(struct centry *slots, size_t cap, const char *name)
{
    size_t i = (size_t)hash(name) & (cap - 1);

    while (slots[i].name && strcmp(slots[i].name, name) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

nt_tzcache *
nt_tzcache_new(void)
{
    nt_tzcache *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->cap = 64;
    c->slots = calloc(c->cap, sizeof(*c->slots));
    if (!c->slots) {
        free(c);
        return NULL;
    }
    return c;
}

void
nt_tzcache_free(nt_tzcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->cap; i++) {
        free(c->slots[i].name);
        nt_tz_free(c->slots[i].tz);
    }
    free(c->slots);
    free(c);
}

static int
grow(nt_tzcache *c)
{
    size_t ncap = c->cap * 2;
    struct centry *n = calloc(ncap, sizeof(*n));

    if (!n)
        return 0;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].name)
            *slot_for(n, ncap, c->slots[i].name) = c->slots[i];
    free(c->slots);
    c->slots = n;
    c->cap = ncap;
    return 1;
}

nt_err
nt_tzcache_get(nt_tzcache *c, const char *name, const nt_tz **out, nt_diag *d)
{
    struct centry *e;
    nt_tz *tz = NULL;
    nt_err err;
    char q[80];

    *out = NULL;
    quote(name, q, sizeof(q));
    if (!nt_tz_name_ok(name))
        return nt_diag_set(d, NT_ENOTFOUND, NULL, 0, 0, "invalid time zone name '%s'", q);
    e = slot_for(c->slots, c->cap, name);
    if (e->name) {
        if (e->tz) {
            *out = e->tz;
            return NT_OK;
        }
        if (e->err == NT_ENOTFOUND)
            return nt_diag_set(d, e->err, NULL, 0, 0, "unknown time zone '%s'", q);
        return nt_diag_set(d, e->err, NULL, 0, 0, "time zone '%s' could not be loaded", q);
    }

    err = nt_tz_load(name, &tz, d);
    /* Remember zones and names that are simply wrong, not passing trouble
     * such as running out of memory. */
    if (err != NT_OK && err != NT_ENOTFOUND && err != NT_EINVAL)
        return err;
    if (err != NT_OK && c->failed >= CACHE_MAX_FAILED)
        return err;
    if ((c->used + 1) * 4 > c->cap * 3) {
        if (!grow(c))
            goto nomem;
        e = slot_for(c->slots, c->cap, name);
    }
    e->name = dupstr(name);
    if (!e->name)
        goto nomem;
    e->tz = tz;
    e->err = err;
    c->used++;
    if (err != NT_OK) {
        c->failed++;
        return err;
    }
    *out = tz;
    return NT_OK;
nomem:
    nt_tz_free(tz);
    if (err != NT_OK)
        return err;
    return nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "out of memory caching time zone '%s'", q);
}
