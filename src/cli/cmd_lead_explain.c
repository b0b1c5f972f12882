/*
 * `nurture lead explain`: why a lead has the score it has, and what
 * happened to it -- each rule that contributed and when, its queue
 * entries, and its whole timeline (enrollments, sends, inbound messages,
 * stage changes, hand-offs and what sales decided).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nurture/buf.h"
#include "nurture/engage.h"
#include "nurture/json.h"
#include "nurture/tz.h"

#include "banned.h"

static const char help_explain[] =
    "usage: nurture lead explain EMAIL|ID [--now TIME] [--json]\n"
    "\n"
    "The lead's score at TIME (default: now) with every rule that contributed\n"
    "and when, its queue entries, and its timeline: enrollments, sends, replies\n"
    "and bounces, stage changes, hand-offs, claims and decisions.\n"
    "\n"
    "  --now TIME  score as of TIME (ISO 8601 or @EPOCH): fading is computed to it\n"
    "  --json      one JSON object\n";

typedef struct explain {
    nt_buf *b;
    int n;
} explain;

static void
when(int64_t t, char *out, size_t outsz)
{
    if (t)
        nt_time_format_utc(t, out, outsz);
    else
        snprintf(out, outsz, "-");
}

static const char *
half_life(const nt_score_rule *r, char *out, size_t outsz)
{
    if (!r->engagement)
        return "";
    if (!r->half_life)
        return "does not fade";
    snprintf(out, outsz, "half-life ");
    nt_duration_format(r->half_life, out + strlen(out), outsz - strlen(out));
    return out;
}

/* `title "VP Sales" contains VP, Director` */
static void
fit_text(const nt_score_rule *r, const nt_lead *l)
{
    static const char *const ops[] = {"is one of", "contains one of", ">=", "<=", "is set"};
    const char *v = nt_lead_get(l, r->field);

    printf("  %s \"%s\" %s", r->field, v ? v : "", ops[r->op]);
    for (size_t i = 0; i < r->nvalues; i++)
        printf("%s %s", i ? "," : "", r->values[i]);
    if (r->op == NT_FIT_AT_LEAST || r->op == NT_FIT_AT_MOST)
        printf(" %g", r->number);
}

static void
text_rules(const nt_config *cfg, const nt_lead *l, const nt_score *sc)
{
    double th = cfg->scoring.threshold;

    printf("score %.1f", sc->total);
    if (th > 0)
        printf("  (threshold %.1f: %s)", th, sc->total >= th ? "engaged" : "not yet engaged");
    printf("\n");
    if (!cfg->scoring.nrules)
        printf("  no scoring rules in the config ('scoring:')\n");
    for (size_t i = 0; i < sc->nparts; i++) {
        const nt_score_part *p = &sc->parts[i];
        char first[32], last[32], hl[32];
        when(p->first_at, first, sizeof(first));
        when(p->last_at, last, sizeof(last));
        printf("  %+7.1f  %-20s %-10s", p->points, p->rule->id,
               p->rule->engagement ? "engagement" : "fit");
        if (p->rule->engagement && p->events == 1)
            printf("  1 event %s (%s)", first, half_life(p->rule, hl, sizeof(hl)));
        else if (p->rule->engagement)
            printf("  %d events %s .. %s (%s)", p->events, first, last,
                   half_life(p->rule, hl, sizeof(hl)));
        else
            fit_text(p->rule, l);
        printf("\n");
    }
}

static int
text_entry(void *ctx, const nt_qentry *e)
{
    char created[32], claimed[32];

    (void)ctx;
    when(e->created_at, created, sizeof(created));
    when(e->claimed_at, claimed, sizeof(claimed));
    printf("  #%lld  %-8s  rep %s (%s)  handed off %s", (long long)e->id, nt_qstate_name(e->state),
           e->rep ? e->rep : "-", e->assigned_by, created);
    if (e->claimed_at)
        printf(", claimed by %s %s", e->claimed_by ? e->claimed_by : "?", claimed);
    if (e->reject_reason)
        printf(", rejected: %s", e->reject_reason);
    if (e->recycle_campaign)
        printf(", recycled into %s", e->recycle_campaign);
    printf("\n         %s\n", e->reason);
    return 0;
}

static int
text_event(void *ctx, const nt_event *ev)
{
    explain *x = ctx;
    char at[32];

    nt_time_format_utc(ev->at, at, sizeof(at));
    nt_buf_reset(x->b);
    nt_json_summary(ev->detail, 72, x->b);
    printf("  %s  %-13s %s\n", at, ev->kind, x->b->err ? "" : nt_buf_cstr(x->b));
    return 0;
}

static void
json_rules(nt_buf *b, const nt_config *cfg, const nt_score *sc)
{
    nt_buf_addf(b, "\"score\":%.2f,\"threshold\":%.2f,\"engaged\":%s,\"rules\":[", sc->total,
                cfg->scoring.threshold,
                cfg->scoring.threshold > 0 && sc->total >= cfg->scoring.threshold ? "true"
                                                                                  : "false");
    for (size_t i = 0; i < sc->nparts; i++) {
        const nt_score_part *p = &sc->parts[i];
        nt_buf_adds(b, i ? ",{\"rule\":" : "{\"rule\":");
        nt_buf_add_json(b, p->rule->id, strlen(p->rule->id));
        nt_buf_addf(b,
                    ",\"kind\":\"%s\",\"points\":%.2f,\"events\":%d,\"first_at\":%lld,"
                    "\"last_at\":%lld}",
                    p->rule->engagement ? "engagement" : "fit", p->points, p->events,
                    (long long)p->first_at, (long long)p->last_at);
    }
    nt_buf_addc(b, ']');
}

static void
json_opt(nt_buf *b, const char *name, const char *v)
{
    nt_buf_addf(b, ",\"%s\":", name);
    cli_json_str(b, v);
}

static int
json_entry(void *ctx, const nt_qentry *e)
{
    explain *x = ctx;

    nt_buf_addf(x->b, "%s{\"id\":%lld,\"state\":\"%s\"", x->n++ ? "," : "", (long long)e->id,
                nt_qstate_name(e->state));
    json_opt(x->b, "rep", e->rep);
    json_opt(x->b, "assigned_by", e->assigned_by);
    json_opt(x->b, "trigger", e->trigger);
    json_opt(x->b, "reason", e->reason);
    nt_buf_addf(x->b, ",\"score\":%.2f,\"created_at\":%lld,\"claimed_at\":%lld", e->score,
                (long long)e->created_at, (long long)e->claimed_at);
    json_opt(x->b, "claimed_by", e->claimed_by);
    json_opt(x->b, "reject_reason", e->reject_reason);
    json_opt(x->b, "recycle_campaign", e->recycle_campaign);
    nt_buf_addc(x->b, '}');
    return 0;
}

static int
json_event(void *ctx, const nt_event *ev)
{
    explain *x = ctx;

    nt_buf_addf(x->b, "%s{\"at\":%lld,\"kind\":", x->n++ ? "," : "", (long long)ev->at);
    nt_buf_add_json(x->b, ev->kind, strlen(ev->kind));
    nt_buf_addf(x->b, ",\"detail\":%s}", ev->detail ? ev->detail : "null");
    return 0;
}

static int
explain_json(nt_cli *cli, const nt_lead *l, const nt_score *sc, nt_diag *d)
{
    nt_queue_filter f = {.state = -1, .lead_id = l->id};
    nt_buf b;
    explain x = {&b, 0};
    nt_err err;

    nt_buf_init(&b, 0);
    nt_buf_addf(&b, "{\"lead\":{\"id\":%lld,\"email\":", (long long)l->id);
    nt_buf_add_json(&b, l->email, strlen(l->email));
    json_opt(&b, "stage", l->stage);
    nt_buf_adds(&b, "},");
    json_rules(&b, &cli->cfg, sc);
    nt_buf_adds(&b, ",\"queue\":[");
    err = nt_store_queue_list(cli->store, &f, json_entry, &x, d);
    nt_buf_adds(&b, "],\"timeline\":[");
    x.n = 0;
    if (err == NT_OK)
        err = nt_store_event_list(cli->store, l->id, json_event, &x, d);
    nt_buf_adds(&b, "]}\n");
    if (err == NT_OK && b.err)
        err = NT_ENOMEM;
    if (err == NT_OK)
        fwrite(b.data, 1, b.len, stdout);
    nt_buf_release(&b);
    return err == NT_OK ? 0 : (cli_diag(d), cli_exit_for(err));
}

static int
explain_text(nt_cli *cli, const nt_lead *l, const nt_score *sc, nt_diag *d)
{
    nt_queue_filter f = {.state = -1, .lead_id = l->id};
    nt_buf b;
    explain x = {&b, 0};
    nt_err err;

    printf("lead %lld  %s  stage %s\n", (long long)l->id, l->email, l->stage ? l->stage : "-");
    text_rules(&cli->cfg, l, sc);
    printf("queue\n");
    if ((err = nt_store_queue_list(cli->store, &f, text_entry, &x, d)) != NT_OK)
        return cli_diag(d), cli_exit_for(err);
    printf("timeline\n");
    nt_buf_init(&b, 0);
    err = nt_store_event_list(cli->store, l->id, text_event, &x, d);
    nt_buf_release(&b);
    if (err != NT_OK)
        return cli_diag(d), cli_exit_for(err);
    return 0;
}

int
cmd_lead_explain(nt_cli *cli, int argc, char **argv)
{
    enum { O_JSON = 1000, O_NOW };
    static const struct option opts[] = {
        {"json", no_argument, NULL, O_JSON},
        {"now", required_argument, NULL, O_NOW},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, c, rc;
    int64_t now = 0;
    nt_score sc;
    nt_lead l;
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help_explain);
        else if (c == O_JSON)
            json = 1;
        else if (c == O_NOW) {
            if ((rc = cli_parse_time(optarg, &now)) != 0)
                return rc;
        } else
            return cli_usage_error("lead explain", "bad option");
    }
    if (optind + 1 != argc)
        return cli_usage_error("lead explain", "lead explain needs one email address or lead id");
    if ((rc = cli_load_config(cli)) != 0 || (rc = cli_open_store(cli)) != 0)
        return rc;
    if (!now)
        now = cli_clock();
    if ((rc = cli_find_lead(cli, argv[optind], &l)) != 0)
        return rc;
    nt_diag_clear(&d);
    if ((err = nt_engage_score(cli->store, &cli->cfg, &l, now, &sc, &d)) != NT_OK) {
        nt_lead_release(&l);
        cli_diag(&d);
        return cli_exit_for(err);
    }
    rc = json ? explain_json(cli, &l, &sc, &d) : explain_text(cli, &l, &sc, &d);
    nt_score_release(&sc);
    nt_lead_release(&l);
    return rc;
}
