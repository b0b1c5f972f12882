/*
 * Lead scoring (see score.h): a pure function of the rules, the lead's
 * fields, its engagement events and the time.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nurture/score.h"

#include "banned.h"

int
nt_score_event_matches(const nt_score_rule *r, const nt_score_event *ev)
{
    if (!r->engagement || !r->on || !ev->kind || strcmp(r->on, ev->kind) != 0)
        return 0;
    if (r->intent && (!ev->intent || strcmp(r->intent, ev->intent) != 0))
        return 0;
    return 1;
}

/* Case-insensitive substring search over NUL-terminated strings. */
static int
contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return n == 0;
}

/* The field as a number: "1200", "1,200", "50+" all read; NAN otherwise. */
static double
as_number(const char *s)
{
    char digits[64];
    size_t n = 0;
    char *end;
    double v;

    for (; *s && n + 1 < sizeof(digits); s++)
        if (*s != ',' && *s != ' ' && *s != '_')
            digits[n++] = *s;
    digits[n] = '\0';
    if (n && digits[n - 1] == '+')
        digits[--n] = '\0';
    if (!n)
        return NAN;
    v = strtod(digits, &end);
    return *end ? NAN : v;
}

int
nt_score_fit_matches(const nt_score_rule *r, const nt_lead *l)
{
    const char *v = r->field ? nt_lead_get(l, r->field) : NULL;
    double x;

    if (r->engagement || !v || !*v)
        return 0;
    switch (r->op) {
    case NT_FIT_EQUALS:
        for (size_t i = 0; i < r->nvalues; i++)
            if (strcasecmp(v, r->values[i]) == 0)
                return 1;
        return 0;
    case NT_FIT_CONTAINS:
        for (size_t i = 0; i < r->nvalues; i++)
            if (contains_ci(v, r->values[i]))
                return 1;
        return 0;
    case NT_FIT_AT_LEAST:
        x = as_number(v);
        return !isnan(x) && x >= r->number;
    case NT_FIT_AT_MOST:
        x = as_number(v);
        return !isnan(x) && x <= r->number;
    case NT_FIT_PRESENT:
        return 1;
    }
    return 0;
}

double
nt_score_fade(double points, int64_t age, long long hl)
{
    if (hl <= 0 || age <= 0)
        return points;
    return points * exp2(-(double)age / (double)hl);
}

/* What engagement rule r adds up to over the events. */
static void
score_engagement(const nt_score_rule *r, const nt_score_event *ev, size_t n, int64_t now,
                 nt_score_part *p)
{
    const nt_score_event *first = NULL;

    for (size_t i = 0; i < n; i++) {
        if (ev[i].at > now || !nt_score_event_matches(r, &ev[i]))
            continue;
        if (r->repeat) {
            p->points += nt_score_fade(r->points, now - ev[i].at, r->half_life);
            p->events++;
            if (!p->first_at || ev[i].at < p->first_at)
                p->first_at = ev[i].at;
            if (ev[i].at > p->last_at)
                p->last_at = ev[i].at;
        } else if (!first || ev[i].at < first->at) {
            first = &ev[i];
        }
    }
    if (first) {
        p->points = nt_score_fade(r->points, now - first->at, r->half_life);
        p->events = 1;
        p->first_at = p->last_at = first->at;
    }
}

nt_err
nt_score_compute(const nt_scoring *sc, const nt_lead *l, const nt_score_event *ev, size_t n,
                 int64_t now, nt_score *out)
{
    memset(out, 0, sizeof(*out));
    if (!sc->nrules)
        return NT_OK;
    if (!(out->parts = calloc(sc->nrules, sizeof(*out->parts))))
        return NT_ENOMEM;
    for (size_t i = 0; i < sc->nrules; i++) {
        const nt_score_rule *r = &sc->rules[i];
        nt_score_part p = {.rule = r};
        if (r->engagement)
            score_engagement(r, ev, n, now, &p);
        else if (nt_score_fit_matches(r, l))
            p.points = r->points;
        else
            continue;
        if (r->engagement && !p.events)
            continue;
        out->parts[out->nparts++] = p;
        out->total += p.points;
    }
    return NT_OK;
}

void
nt_score_release(nt_score *s)
{
    free(s->parts);
    memset(s, 0, sizeof(*s));
}
