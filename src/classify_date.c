/*
 * The return date of an out-of-office reply: "back on 12 March", "bis zum
 * 14.03.2027", "hasta el 5 de abril".  The words and the date shapes are
 * rules (return-cue, return-date, month, weekday in inbound.rules); this
 * file runs them and turns what they capture into a calendar date.  Pure:
 * the only clock is the message's own Date, which supplies a missing year
 * (the one that puts the date after the message) and anchors a weekday.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "classify_date.h"
#include "nurture/tz.h"

#include "banned.h"

#define MAX_CUES 200 /* cue matches tried per rule and message */
#define SECS_PER_DAY 86400

/* What a return-date match captured; -1 for what it did not. */
struct parts {
    int d, m, y, wd;
};

/* The decimal number s[a..b), at most 4 digits, or -1. */
static int
number(const char *s, const size_t sp[2])
{
    int v = 0;
    size_t i;

    if (sp[0] == NT_RULES_UNSET || sp[1] <= sp[0] || sp[1] - sp[0] > 4)
        return -1;
    for (i = sp[0]; i < sp[1]; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The number of the first rule of `kind` matching the word s[sp), or -1. */
static int
lookup(const nt_classify_rules *r, nt_rules_match *md, int kind, const char *s, const size_t sp[2])
{
    int limited = 0;
    long i;

    if (sp[0] == NT_RULES_UNSET || sp[1] <= sp[0])
        return -1;
    i = nt_rules_first(r->rules, kind, md, s + sp[0], sp[1] - sp[0], &limited);
    return i < 0 ? -1 : r->x[i].num;
}

static void
group(const nt_rules_match *md, int g, size_t sp[2])
{
    if (g < 0 || !nt_rules_group(md, g, sp))
        sp[0] = sp[1] = NT_RULES_UNSET;
}

/*
 * Read the captures of date rule i just matched.  0 when a name was
 * captured but is not a month or weekday: the match does not count.
 */
static int
read_parts(const nt_classify_rules *r, nt_rules_match *md, size_t i, const char *s, struct parts *p)
{
    const nt_crule *x = &r->x[i];
    size_t d[2], m[2], mon[2], y[2], wd[2];

    /* Spans first: the name lookups below reuse the match data. */
    group(md, x->g_d, d);
    group(md, x->g_m, m);
    group(md, x->g_mon, mon);
    group(md, x->g_y, y);
    group(md, x->g_wd, wd);
    p->d = number(s, d);
    p->m = number(s, m);
    p->y = number(s, y);
    if (p->y >= 0 && p->y < 100 && y[1] - y[0] == 2)
        p->y += 2000;
    if (mon[0] != NT_RULES_UNSET && (p->m = lookup(r, md, NT_CK_MONTH, s, mon)) < 0)
        return 0;
    p->wd = lookup(r, md, NT_CK_WEEKDAY, s, wd);
    /* A weekday before a full date is decoration; alone it is the date. */
    return p->d >= 0 || p->wd >= 0;
}

static int
is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
valid(int y, int m, int d)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (y < 1970 || y > 2199 || m < 1 || m > 12 || d < 1)
        return 0;
    return d <= mdays[m - 1] + (m == 2 && is_leap(y));
}

static int64_t
floor_days(int64_t t)
{
    return t >= 0 ? t / SECS_PER_DAY : -((-t + SECS_PER_DAY - 1) / SECS_PER_DAY);
}

/* The date the parts name, as days since 1970-01-01; 0 when none. */
static int
resolve(struct parts p, int64_t msg_date, int64_t *days)
{
    int y0, m0, d0;
    int64_t today = floor_days(msg_date);

    if (p.d >= 0 && p.m >= 0) {
        /* The rules say which comes first; a month over 12 says they were
         * the other way round (14/03 in an English text). */
        if (p.m > 12 && p.d <= 12) {
            int t = p.m;
            p.m = p.d;
            p.d = t;
        }
        if (p.y >= 0) {
            if (!valid(p.y, p.m, p.d))
                return 0;
            *days = nt_days_from_civil(p.y, p.m, p.d);
            return 1;
        }
        if (msg_date <= 0)
            return 0;
        nt_civil_from_days(today, &y0, &m0, &d0);
        for (int y = y0; y <= y0 + 4; y++) {
            if (valid(y, p.m, p.d) && nt_days_from_civil(y, p.m, p.d) >= today) {
                *days = nt_days_from_civil(y, p.m, p.d);
                return 1;
            }
        }
        return 0;
    }
    if (p.d < 0 && p.wd >= 0 && msg_date > 0) {
        int delta = (p.wd - nt_weekday_from_days(today) + 7) % 7;
        *days = today + (delta ? delta : 7);
        return 1;
    }
    return 0;
}

static void
format_date(int64_t days, char out[11])
{
    int y, m, d;

    nt_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = 0;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

/* The dates that may follow cue rule `cue` ending at `at`; 1 when one was
 * read into *days. */
static int
date_at(const nt_classify_rules *r, nt_rules_match *md, size_t cue, const char *s, size_t n,
        size_t at, int64_t msg_date, int64_t *days)
{
    size_t i, count = nt_rules_count(r->rules), span[4];
    struct parts p;

    for (i = 0; i < count; i++) {
        if (nt_rules_kind(r->rules, i) != NT_CK_RETURN_DATE ||
            !nt_classify_rules_lang_ok(r, i, cue))
            continue;
        if (nt_rules_exec(r->rules, i, md, s, n, at, span) != 1 || span[0] != at)
            continue;
        if (read_parts(r, md, i, s, &p) && resolve(p, msg_date, days))
            return 1;
    }
    return 0;
}

static size_t
next_char(const char *s, size_t n, size_t i)
{
    i++;
    while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
        i++;
    return i;
}

int
nt_classify_return_date(const nt_classify_rules *r, nt_rules_match *md, const char *s, size_t n,
                        int64_t msg_date, char out[11])
{
    size_t i, count = nt_rules_count(r->rules), span[4];
    int64_t days;

    out[0] = '\0';
    for (i = 0; i < count; i++) {
        size_t start = 0;
        int tries = 0;

        if (nt_rules_kind(r->rules, i) != NT_CK_RETURN_CUE)
            continue;
        while (start <= n && tries++ < MAX_CUES) {
            if (nt_rules_exec(r->rules, i, md, s, n, start, span) != 1)
                break;
            if (date_at(r, md, i, s, n, span[1], msg_date, &days)) {
                format_date(days, out);
                return 1;
            }
            start = span[1] > span[0] ? span[1] : next_char(s, n, span[1]);
        }
    }
    return 0;
}
