/*
 * nurture run: one cron tick.  Takes the run lock, loads what it needs,
 * sends everything due exactly once (run.c), and says what happened in one
 * line, with exit codes cron can act on.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nurture/buf.h"
#include "nurture/campaign.h"
#include "nurture/lock.h"
#include "nurture/queue.h"
#include "nurture/run.h"
#include "nurture/token.h"
#include "nurture/webhook.h"

#include "banned.h"

static const char help[] =
    "usage: nurture run [--now TIME] [--dry-run] [--limit N] [--campaign NAME] [--no-ingest]\n"
    "                   [--json]\n"
    "\n"
    "Send everything that is due, once.  Run it from cron (every 5 minutes is\n"
    "typical).  When the configuration has an `inbound` mailbox, its replies\n"
    "and bounces are read first (as `nurture ingest` does), so that nobody who\n"
    "just replied, bounced or unsubscribed is sent the next step; when the\n"
    "mailbox cannot be read the run still sends, and exits 1.  Campaigns that\n"
    "fail lint are skipped with their errors; the others still run.  After\n"
    "sending, due webhook messages are delivered (as `nurture webhooks deliver`\n"
    "does); an endpoint that fails is retried by a later run.  Queue entries left\n"
    "unclaimed past queue.sla are escalated.\n"
    "\n"
    "Options:\n"
    "  --now TIME       the run time (default: now); for tests and catching up\n"
    "  --dry-run        decide and report, send nothing, change nothing\n"
    "  --limit N        send at most N messages\n"
    "  --campaign NAME  only this campaign\n"
    "  --no-ingest      do not read the inbound mailbox first\n"
    "  --json           print the summary as one JSON object (after the\n"
    "                   ingest's objects, when there is a mailbox)\n"
    "  -h, --help       this help\n"
    "\n"
    "Exit codes: 0 done; 1 some sends failed, the server or the mailbox could\n"
    "not be reached, or sends of a crashed run were found (see `nurture sends list --state\n"
    "unknown`), or a webhook's secret could not be read; 75 another run holds the lock;\n"
    "78 configuration error.\n";

typedef struct progress {
    int tty;
    int shown;
} progress;

static void
show_progress(void *ctx, const nt_run_stats *s, int64_t total)
{
    progress *p = ctx;
    int64_t done = s->sent + s->deferred + s->failed + s->capped + s->paused;
    int width = 30, fill;

    if (!p->tty || total < 200)
        return;
    fill = total ? (int)(done * width / total) : width;
    fprintf(stderr, "\r[%.*s%*s] %lld/%lld", fill, "##############################", width - fill,
            "", (long long)done, (long long)total);
    p->shown = 1;
}

static void
print_summary(const nt_run_stats *s, const nt_webhook_stats *w, int64_t now, int json, int dry)
{
    char when[32];

    nt_time_format_utc(now, when, sizeof(when));
    if (json) {
        printf("{\"at\":\"%s\",\"dry_run\":%s,\"enrolled\":%lld,\"due\":%lld,\"retries\":%lld,"
               "\"sent\":%lld,\"deferred\":%lld,\"failed\":%lld,\"suppressed\":%lld,"
               "\"capped\":%lld,\"paused\":%lld,\"skipped\":%lld,\"unknown_found\":%lld,"
               "\"connection_errors\":%lld,\"webhooks\":{\"attempted\":%lld,\"delivered\":%lld,"
               "\"retrying\":%lld,\"pending\":%lld}}\n",
               when, dry ? "true" : "false", (long long)s->enrolled, (long long)s->due,
               (long long)s->retries, (long long)s->sent, (long long)s->deferred,
               (long long)s->failed, (long long)s->suppressed, (long long)s->capped,
               (long long)s->paused, (long long)s->skipped, (long long)s->orphans,
               (long long)s->conn_errors, (long long)w->attempted, (long long)w->delivered,
               (long long)w->retrying, (long long)w->pending);
        return;
    }
    if (dry) {
        printf("run at %s (dry run): %lld due, %lld enrolled; nothing sent\n", when,
               (long long)s->due, (long long)s->enrolled);
        return;
    }
    printf("run at %s: %lld sent, %lld deferred, %lld failed, %lld capped; %lld due, %lld "
           "retried, %lld enrolled",
           when, (long long)s->sent, (long long)s->deferred, (long long)s->failed,
           (long long)s->capped, (long long)s->due, (long long)s->retries, (long long)s->enrolled);
    if (s->paused)
        printf("; %lld held: their sender is paused after a block (nurture inbound list "
               "--kind bounce)",
               (long long)s->paused);
    if (s->orphans)
        printf("; %lld unknown from a run that died (nurture sends list --state unknown)",
               (long long)s->orphans);
    if (w->attempted || w->pending)
        printf("; webhooks: %lld delivered, %lld to retry, %lld pending", (long long)w->delivered,
               (long long)w->retrying, (long long)w->pending);
    putchar('\n');
}

static int
load_password(nt_cli *cli, nt_buf *pw)
{
    nt_diag d;

    if (!cli->cfg.smtp.username)
        return 0;
    nt_diag_clear(&d);
    if (nt_secret_read(&cli->cfg.smtp.password, "smtp password", pw, &d) != NT_OK) {
        cli_diag(&d);
        return NT_EXIT_CONFIG;
    }
    return 0;
}

int
cmd_run(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"now", required_argument, NULL, 'n'},   {"dry-run", no_argument, NULL, 'D'},
        {"limit", required_argument, NULL, 'l'}, {"campaign", required_argument, NULL, 'C'},
        {"json", no_argument, NULL, 'j'},        {"no-ingest", no_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    nt_run_opts o = {0};
    nt_run_stats stats;
    nt_webhook_stats hooks = {0, 0, 0, 0};
    nt_campaign_set set;
    nt_token_key key;
    nt_lock lock = {-1};
    nt_diags ds;
    nt_diag d;
    nt_buf pw;
    progress prog = {0, 0};
    size_t failed = 0;
    int json = 0, c, rc, have_now = 0, ingest = 1, ingest_rc = 0;
    nt_err err, hook_err = NT_OK;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return cli_help(help);
        case 'n':
            if ((rc = cli_parse_time(optarg, &o.now)) != 0)
                return rc;
            have_now = 1;
            break;
        case 'D':
            o.dry_run = 1;
            break;
        case 'l':
            o.limit = strtoll(optarg, NULL, 10);
            if (o.limit <= 0)
                return cli_usage_error("run", "--limit needs a positive number");
            break;
        case 'C':
            o.campaign = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'I':
            ingest = 0;
            break;
        default:
            return cli_usage_error("run", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("run", "run takes no arguments");
    if (!have_now)
        o.now = cli_clock();
    if ((rc = cli_load_config(cli)) != 0)
        return rc;
    nt_diag_clear(&d);
    if (!o.dry_run && nt_lock_acquire(&lock, cli->cfg.database, &d) != NT_OK) {
        cli_diag(&d);
        return d.msg[0] && strstr(d.msg, "in progress") ? NT_EXIT_TEMPFAIL : NT_EXIT_IO;
    }
    if ((rc = cli_open_store(cli)) != 0 || (rc = cli_load_key(cli, &key)) != 0) {
        nt_lock_release(&lock);
        return rc;
    }
    if (ingest && !o.dry_run && cli->cfg.inbound.kind != NT_INBOUND_NONE &&
        (ingest_rc = cli_ingest_configured(cli, o.now, json)) != 0)
        cli_error("could not read the inbound mailbox; sending anyway");
    nt_buf_init(&pw, 4096);
    if ((rc = load_password(cli, &pw)) != 0) {
        nt_token_key_release(&key);
        nt_lock_release(&lock);
        nt_buf_release(&pw);
        return rc;
    }
    o.password = cli->cfg.smtp.username ? pw.data : NULL;
    nt_diags_init(&ds, 200);
    nt_campaign_set_load(cli->cfg.campaigns_dir, &set, &failed, &ds);
    for (size_t i = 0; i < set.n; i++)
        if (nt_campaign_lint(set.items[i], &cli->cfg, &ds) != NT_OK) {
            /* Lint errors (unknown sender, no unsubscribe link...) keep a
             * campaign from sending; drop it and go on with the others. */
            nt_campaign_free(set.items[i]);
            set.items[i--] = set.items[--set.n];
            failed++;
        }
    if (failed) {
        for (size_t i = 0; i < ds.len; i++)
            if (ds.items[i].sev == NT_SEV_ERROR)
                cli_diag(&ds.items[i]);
        cli_error("%zu campaign%s skipped because of errors (see `nurture campaign lint`)", failed,
                  failed == 1 ? "" : "s");
    }
    nt_diags_release(&ds);
    prog.tty = isatty(2);
    nt_diag_clear(&d);
    err = nt_run(cli->store, &cli->cfg, &set, &key, &o, show_progress, &prog, &stats, &d);
    if (prog.shown)
        fputc('\n', stderr);
    if (err != NT_OK)
        cli_diag(&d);
    else if (stats.conn_errors && d.msg[0])
        cli_diag(&d);
    if (err == NT_OK && !o.dry_run) {
        int64_t escalated = 0;
        nt_diag_clear(&d);
        if ((err = nt_queue_escalate(cli->store, &cli->cfg, o.now, &escalated, &d)) != NT_OK)
            cli_diag(&d);
        else if (escalated && !json)
            printf("%lld queue entr%s left unclaimed past the SLA: escalated\n",
                   (long long)escalated, escalated == 1 ? "y" : "ies");
    }
    if (err == NT_OK && !o.dry_run) {
        /* Endpoint failures are retried later and do not fail the run; a
         * database error or an unreadable webhook secret does. */
        nt_diag_clear(&d);
        if ((hook_err = nt_webhook_deliver(cli->store, &cli->cfg, o.now, 0, &hooks, &d)) != NT_OK)
            cli_diag(&d);
    }
    print_summary(&stats, &hooks, o.now, json, o.dry_run);
    nt_campaign_set_release(&set);
    nt_token_key_release(&key);
    if (pw.data)
        memset(pw.data, 0, pw.len);
    nt_buf_release(&pw);
    nt_lock_release(&lock);
    if (err != NT_OK)
        return cli_exit_for(err);
    return stats.failed || stats.conn_errors || stats.orphans || ingest_rc || hook_err != NT_OK
               ? NT_EXIT_FAIL
               : NT_EXIT_OK;
}
