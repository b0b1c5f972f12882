/*
 * nurture plan: what a run at a given time would send, to whom, when in
 * their local time, and why or why not.  It runs the run's own enrollment
 * and due-set code inside a transaction that it rolls back, so the plan is
 * exactly what the run would do and nothing is changed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nurture/buf.h"
#include "nurture/compose.h"
#include "nurture/plan.h"

#include "banned.h"

static const char help[] =
    "usage: nurture plan [--at TIME] [--until TIME|+DURATION] [--campaign NAME]\n"
    "                    [--limit N] [--json]\n"
    "\n"
    "Show what `nurture run` at TIME would send: lead, campaign, step,\n"
    "subject, time in UTC and in the lead's local time, and why (or why not:\n"
    "waiting, outside the send window, stale, suppressed, left the audience,\n"
    "campaign paused).  Leads that a run would enroll are included.  Nothing\n"
    "is changed.\n"
    "\n"
    "Options:\n"
    "  --at TIME        the run time (default: now); e.g. 2026-11-23T09:00:00Z\n"
    "  --until T        also list steps scheduled up to T (a time, or +14d from\n"
    "                   --at), assuming earlier steps go out on time\n"
    "  --campaign NAME  only this campaign\n"
    "  --limit N        look at no more than N enrollments\n"
    "  --json           one JSON object with the items and counts\n"
    "  -h, --help       this help\n";

/* Items are collected and printed in time order, so a plan over two weeks
 * reads as a calendar rather than lead by lead. */
typedef struct line {
    int64_t when;
    size_t seq;
    char *text;
} line;

typedef struct plan_out {
    nt_cli *cli;
    int json;
    nt_buf *b; /* the item being formatted */
    line *lines;
    size_t n, cap;
    int oom;
} plan_out;

static int
grow_lines(plan_out *po)
{
    size_t ncap = po->cap ? po->cap * 2 : 256;
    line *n = realloc(po->lines, ncap * sizeof(*n));

    if (!n)
        return 0;
    po->lines = n;
    po->cap = ncap;
    return 1;
}

static void
keep_line(plan_out *po, int64_t when)
{
    char *text = nt_buf_detach(po->b, NULL);

    if (!text || (po->n == po->cap && !grow_lines(po))) {
        free(text);
        po->oom = 1;
        return;
    }
    po->lines[po->n] = (line){when, po->n, text};
    po->n++;
}

static int
cmp_line(const void *a, const void *b)
{
    const line *x = a, *y = b;

    if (x->when != y->when)
        return x->when < y->when ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
subject_of(plan_out *po, const nt_plan_item *it, char *out, size_t outsz)
{
    nt_rendered r;
    nt_diag d;

    out[0] = '\0';
    if (!it->campaign || it->step < 0)
        return;
    nt_diag_clear(&d);
    if (nt_compose_render(&po->cli->cfg, it->campaign, (size_t)it->step, it->lead, "", &r, &d) ==
        NT_OK) {
        snprintf(out, outsz, "%s", r.subject);
        nt_rendered_release(&r);
    }
}

static int
print_item(void *ctx, const nt_plan_item *it)
{
    plan_out *po = ctx;
    char utc[32], local[64] = "", subject[512];
    const char *step_id = it->step >= 0 ? it->campaign->steps[it->step].id : "-";

    nt_time_format_utc(it->when, utc, sizeof(utc));
    if (it->tz)
        nt_time_format_local(it->tz, it->when, local, sizeof(local));
    subject_of(po, it, subject, sizeof(subject));
    nt_buf_reset(po->b);
    if (po->json) {
        nt_buf *b = po->b;
        nt_buf_adds(b, "{\"lead\":");
        nt_buf_add_json(b, it->lead->email, strlen(it->lead->email));
        nt_buf_addf(b, ",\"lead_id\":%lld,\"campaign\":", (long long)it->lead->id);
        nt_buf_add_json(b, it->enrollment->campaign, strlen(it->enrollment->campaign));
        nt_buf_addf(b, ",\"version\":\"%s\",\"step\":%d,\"step_id\":",
                    it->campaign ? it->campaign->version : it->enrollment->version, it->step + 1);
        nt_buf_add_json(b, step_id, strlen(step_id));
        nt_buf_adds(b, ",\"subject\":");
        nt_buf_add_json(b, subject, strlen(subject));
        nt_buf_addf(b, ",\"status\":\"%s\",\"when_utc\":\"%s\",\"when_local\":",
                    nt_plan_status_name(it->status), utc);
        nt_buf_add_json(b, local, strlen(local));
        nt_buf_adds(b, ",\"timezone\":");
        if (it->tz)
            nt_buf_add_json(b, nt_tz_name(it->tz), strlen(nt_tz_name(it->tz)));
        else
            nt_buf_adds(b, "null");
        nt_buf_adds(b, ",\"reason\":");
        nt_buf_add_json(b, it->reason, strlen(it->reason));
        nt_buf_addf(b, ",\"projected\":%s}", it->projected ? "true" : "false");
    } else {
        nt_buf_addf(po->b, "%-20s  %-22s  %-14s  %s#%d %-16s  %-28s  %s", utc, local,
                    nt_plan_status_name(it->status), it->enrollment->campaign, it->step + 1,
                    step_id, it->lead->email, subject);
        if (it->status != NT_PLAN_SEND)
            nt_buf_addf(po->b, "  (%s)", it->reason);
        nt_buf_addc(po->b, '\n');
    }
    keep_line(po, it->when);
    return po->oom;
}

static void
print_lines(plan_out *po, int json)
{
    if (po->n)
        qsort(po->lines, po->n, sizeof(*po->lines), cmp_line);
    for (size_t i = 0; i < po->n; i++) {
        if (json && i)
            putchar(',');
        fputs(po->lines[i].text, stdout);
        free(po->lines[i].text);
    }
    free(po->lines);
}

static int
parse_until(const char *arg, int64_t at, int64_t *out)
{
    if (arg[0] == '+') {
        int64_t dur;
        nt_diag d;
        nt_diag_clear(&d);
        if (nt_duration_parse(arg + 1, &dur, &d) != NT_OK) {
            cli_error("bad --until '%s': %s", arg, d.msg);
            return NT_EXIT_USAGE;
        }
        *out = at + dur;
        return 0;
    }
    return cli_parse_time(arg, out);
}

static void
print_summary(const nt_plan_stats *ps, const nt_enroll_stats *es, int64_t at, int json, nt_buf *b)
{
    char when[32];

    nt_time_format_utc(at, when, sizeof(when));
    if (json) {
        nt_buf_addf(b, "],\"enrolled\":%lld,\"counts\":{", (long long)es->enrolled);
        for (int s = 0; s <= NT_PLAN_NO_CAMPAIGN; s++)
            nt_buf_addf(b, "%s\"%s\":%lld", s ? "," : "", nt_plan_status_name((nt_plan_status)s),
                        (long long)ps->by_status[s]);
        nt_buf_adds(b, "}}\n");
        return;
    }
    fprintf(stderr,
            "plan at %s: %lld to send, %lld waiting, %lld outside the window, %lld stale, "
            "%lld suppressed, %lld leaving; %lld newly enrolled\n",
            when, (long long)ps->by_status[NT_PLAN_SEND], (long long)ps->by_status[NT_PLAN_WAITING],
            (long long)ps->by_status[NT_PLAN_WINDOW], (long long)ps->by_status[NT_PLAN_STALE],
            (long long)ps->by_status[NT_PLAN_SUPPRESSED], (long long)ps->by_status[NT_PLAN_EXIT],
            (long long)es->enrolled);
}

int
cmd_plan(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"at", required_argument, NULL, 'a'},
        {"until", required_argument, NULL, 'u'},
        {"campaign", required_argument, NULL, 'C'},
        {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    nt_plan_opts o = {0};
    const char *until_arg = NULL;
    int json = 0, c, rc, have_at = 0;
    nt_campaign_set set;
    nt_diags ds;
    size_t failed;
    nt_tzcache *zones = NULL;
    nt_enroll_stats es = {0};
    nt_plan_stats ps;
    nt_diag d;
    nt_buf b;
    plan_out po;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return cli_help(help);
        case 'a':
            if ((rc = cli_parse_time(optarg, &o.at)) != 0)
                return rc;
            have_at = 1;
            break;
        case 'u':
            until_arg = optarg;
            break;
        case 'C':
            o.campaign = optarg;
            break;
        case 'l':
            o.limit = strtoll(optarg, NULL, 10);
            if (o.limit <= 0)
                return cli_usage_error("plan", "--limit needs a positive number");
            break;
        case 'j':
            json = 1;
            break;
        default:
            return cli_usage_error("plan", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("plan", "plan takes no arguments");
    if (!have_at)
        o.at = cli_clock();
    o.until = o.at;
    if (until_arg && (rc = parse_until(until_arg, o.at, &o.until)) != 0)
        return rc;
    if (o.until < o.at)
        return cli_usage_error("plan", "--until is before --at");
    if ((rc = cli_open_store(cli)) != 0)
        return rc;
    nt_diags_init(&ds, 200);
    nt_campaign_set_load(cli->cfg.campaigns_dir, &set, &failed, &ds);
    if (failed) {
        cli_diags(&ds);
        cli_error("%zu campaign%s skipped because of errors (see `nurture campaign lint`)", failed,
                  failed == 1 ? "" : "s");
    }
    nt_diags_release(&ds);
    if (o.campaign && !nt_campaign_set_find(&set, o.campaign)) {
        cli_error("no campaign named '%s' (see `nurture campaign list`)", o.campaign);
        nt_campaign_set_release(&set);
        return NT_EXIT_FAIL;
    }
    zones = nt_tzcache_new();
    nt_buf_init(&b, 0);
    po = (plan_out){cli, json, &b, NULL, 0, 0, 0};
    nt_diag_clear(&d);
    err = zones ? nt_store_begin(cli->store, &d) : NT_ENOMEM;
    if (err == NT_OK)
        err = nt_enroll(cli->store, &cli->cfg, &set, o.campaign, o.at, zones, &es, &d);
    if (err == NT_OK)
        err = nt_plan_due(cli->store, &cli->cfg, &set, &o, zones, print_item, &po, &ps, &d);
    nt_store_rollback(cli->store);
    if (err == NT_OK && po.oom)
        err = nt_diag_set(&d, NT_ENOMEM, NULL, 0, 0, "out of memory");
    if (err == NT_OK) {
        if (json)
            printf("{\"at\":%lld,\"until\":%lld,\"items\":[", (long long)o.at, (long long)o.until);
        print_lines(&po, json);
        nt_buf_reset(&b);
        print_summary(&ps, &es, o.at, json, &b);
        fputs(nt_buf_cstr(&b), stdout);
    } else {
        for (size_t i = 0; i < po.n; i++)
            free(po.lines[i].text);
        free(po.lines);
        cli_diag(&d);
    }
    nt_buf_release(&b);
    nt_tzcache_free(zones);
    nt_campaign_set_release(&set);
    return err == NT_OK ? (failed ? NT_EXIT_FAIL : NT_EXIT_OK) : cli_exit_for(err);
}
