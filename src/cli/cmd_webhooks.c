/*
 * nurture webhooks deliver | list: send what the webhook outbox holds now
 * (what `nurture run` also does after sending), and show the outbox with
 * each message's last answer, so an operator can see why an endpoint is
 * not getting its events.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nurture/buf.h"
#include "nurture/lock.h"
#include "nurture/tz.h"
#include "nurture/webhook.h"

#include "banned.h"

static const char help[] =
    "usage: nurture webhooks deliver [--now TIME] [--limit N] [--json]\n"
    "       nurture webhooks list [--pending] [--limit N] [--json]\n"
    "\n"
    "deliver  POST every webhook message that is due to its endpoint.  A 2xx\n"
    "         answer delivers it; anything else is retried later (30 s after\n"
    "         the first failure, doubling, at most an hour apart, for as long\n"
    "         as it takes).  `nurture run` does this after sending, so this\n"
    "         is for catching up by hand or delivering more often than runs.\n"
    "list     the outbox, newest first: webhook, event, idempotency key,\n"
    "         attempts, when it was delivered or is tried next, last answer\n"
    "\n"
    "Options:\n"
    "  --now TIME  the time of the attempt (default: now); for tests\n"
    "  --limit N   at most N messages\n"
    "  --pending   only messages not delivered yet\n"
    "  --json      machine-readable output\n"
    "  -h, --help  this help\n"
    "\n"
    "Exit codes (deliver): 0 done, even when endpoints failed (they are\n"
    "retried); 75 the database is busy or a run holds the lock, try again;\n"
    "78 configuration error (a webhook's secret cannot be read).\n";

static int
run_deliver(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"now", required_argument, NULL, 'n'},
        {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    nt_webhook_stats stats;
    nt_lock lock = {-1};
    int64_t now = 0, limit = 0;
    int json = 0, have_now = 0, c, rc;
    char when[32];
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return cli_help(help);
        case 'n':
            if ((rc = cli_parse_time(optarg, &now)) != 0)
                return rc;
            have_now = 1;
            break;
        case 'l':
            if ((rc = cli_parse_limit("webhooks deliver", optarg, &limit)) != 0)
                return rc;
            break;
        case 'j':
            json = 1;
            break;
        default:
            return cli_usage_error("webhooks", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("webhooks", "deliver takes no arguments");
    if (!have_now)
        now = cli_clock();
    if ((rc = cli_load_config(cli)) != 0)
        return rc;
    /* The run lock keeps `nurture run` and this from POSTing the same
     * message at the same time. */
    nt_diag_clear(&d);
    if ((err = nt_lock_acquire(&lock, cli->cfg.database, &d)) != NT_OK) {
        cli_diag(&d);
        return err == NT_EBUSY ? NT_EXIT_TEMPFAIL : NT_EXIT_IO;
    }
    if ((rc = cli_open_store(cli)) != 0) {
        nt_lock_release(&lock);
        return rc;
    }
    nt_diag_clear(&d);
    err = nt_webhook_deliver(cli->store, &cli->cfg, now, limit, &stats, &d);
    nt_lock_release(&lock);
    if (err != NT_OK && err != NT_ECONFIG) {
        cli_diag(&d);
        return cli_exit_for(err);
    }
    nt_time_format_utc(now, when, sizeof(when));
    if (json)
        printf("{\"at\":\"%s\",\"attempted\":%lld,\"delivered\":%lld,\"retrying\":%lld,"
               "\"pending\":%lld}\n",
               when, (long long)stats.attempted, (long long)stats.delivered,
               (long long)stats.retrying, (long long)stats.pending);
    else
        printf("webhooks at %s: %lld attempted, %lld delivered, %lld to retry; %lld pending\n",
               when, (long long)stats.attempted, (long long)stats.delivered,
               (long long)stats.retrying, (long long)stats.pending);
    if (err == NT_ECONFIG) {
        cli_diag(&d);
        return NT_EXIT_CONFIG;
    }
    return NT_EXIT_OK;
}

typedef struct list_ctx {
    int json;
    nt_buf *b;
    int64_t n;
} list_ctx;

static void
jstr(nt_buf *b, const char *k, const char *v)
{
    nt_buf_addf(b, ",\"%s\":", k);
    if (v)
        nt_buf_add_json(b, v, strlen(v));
    else
        nt_buf_adds(b, "null");
}

static void
jtime(nt_buf *b, const char *k, int64_t t)
{
    char when[32];

    if (!t) {
        nt_buf_addf(b, ",\"%s\":null", k);
        return;
    }
    nt_time_format_utc(t, when, sizeof(when));
    nt_buf_addf(b, ",\"%s\":\"%s\"", k, when);
}

static int
print_msg(void *ctx, const nt_outbox_msg *m)
{
    list_ctx *x = ctx;
    char when[32];

    if (x->json) {
        nt_buf *b = x->b;
        if (x->n)
            nt_buf_addc(b, ',');
        nt_buf_addf(b, "{\"id\":%lld", (long long)m->id);
        jstr(b, "webhook", m->webhook);
        jstr(b, "event", m->event);
        jstr(b, "key", m->key);
        jtime(b, "created_at", m->created_at);
        nt_buf_addf(b, ",\"attempts\":%d", m->attempts);
        jtime(b, "delivered_at", m->delivered_at);
        jtime(b, "next_attempt_at", m->delivered_at ? 0 : m->next_attempt_at);
        if (m->last_status)
            nt_buf_addf(b, ",\"last_status\":%d", m->last_status);
        else
            nt_buf_adds(b, ",\"last_status\":null");
        jstr(b, "last_error", m->last_error);
        nt_buf_addc(b, '}');
    } else {
        nt_time_format_utc(m->delivered_at ? m->delivered_at : m->next_attempt_at, when,
                           sizeof(when));
        printf("%-7lld %-12s %-8s %-32s %3d  %s %s", (long long)m->id, m->webhook, m->event, m->key,
               m->attempts, m->delivered_at ? "delivered" : "next     ", when);
        if (m->last_status)
            printf("  %d", m->last_status);
        if (m->last_error)
            printf("  %s", m->last_error);
        putchar('\n');
    }
    x->n++;
    return 0;
}

static int
run_list(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"pending", no_argument, NULL, 'p'},
        {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int pending = 0, json = 0, c, rc;
    int64_t limit = 0;
    nt_buf b;
    list_ctx x;
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return cli_help(help);
        case 'p':
            pending = 1;
            break;
        case 'l':
            if ((rc = cli_parse_limit("webhooks list", optarg, &limit)) != 0)
                return rc;
            break;
        case 'j':
            json = 1;
            break;
        default:
            return cli_usage_error("webhooks", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("webhooks", "list takes no arguments");
    if ((rc = cli_open_store(cli)) != 0)
        return rc;
    nt_buf_init(&b, 0);
    x = (list_ctx){json, &b, 0};
    if (json)
        nt_buf_addc(&b, '[');
    nt_diag_clear(&d);
    err = nt_store_outbox_list(cli->store, pending, limit, print_msg, &x, &d);
    if (json) {
        nt_buf_adds(&b, "]\n");
        if (b.err && err == NT_OK)
            err = nt_diag_set(&d, b.err, NULL, 0, 0, "the list is too large for --json");
        else
            fputs(nt_buf_cstr(&b), stdout);
    }
    nt_buf_release(&b);
    if (err != NT_OK) {
        cli_diag(&d);
        return cli_exit_for(err);
    }
    return NT_EXIT_OK;
}

int
cmd_webhooks(nt_cli *cli, int argc, char **argv)
{
    if (argc < 2)
        return fputs(help, stderr), NT_EXIT_USAGE;
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
        return cli_help(help);
    if (!strcmp(argv[1], "deliver"))
        return run_deliver(cli, argc - 1, argv + 1);
    if (!strcmp(argv[1], "list"))
        return run_list(cli, argc - 1, argv + 1);
    return cli_usage_error("webhooks", "unknown subcommand '%s' (deliver or list)", argv[1]);
}
