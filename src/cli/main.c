/*
 * The nurture command: global options, the command table, and the helpers
 * every command uses to load the config, open the store and report errors.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "nurture/tz.h"

#include "banned.h"

#ifndef NT_VERSION
#define NT_VERSION "dev"
#endif

static const struct command {
    const char *name;
    nt_cmd_fn fn;
    const char *summary;
} commands[] = {
    {"init", cmd_init, "create a working folder: config, database, example campaigns"},
    {"lead", cmd_lead, "add, import, show, list leads and change their stage"},
    {"campaign", cmd_campaign, "check campaign files (lint) and list them"},
    {"plan", cmd_plan, "show what a run at a given time would send, and why"},
    {"preview", cmd_preview, "print the exact message a step would send to a lead"},
    {"stages", cmd_stages, "list the lead stages and their definitions"},
    {"run", cmd_run, "send everything that is due, once (run it from cron)"},
    {"sends", cmd_sends, "list the send records; requeue what a crashed run left unknown"},
    {"ingest", cmd_ingest, "read replies and bounces (mailbox, Maildir, mbox, stdin), act once"},
    {"inbound", cmd_inbound, "list and show what came back; classify it again"},
    {"report", cmd_report, "the shared funnel report: text, JSON, CSV or one HTML page"},
    {"queue", cmd_queue, "the sales queue: pull, show, accept or reject engaged leads"},
    {"webhooks", cmd_webhooks, "deliver due webhook messages, retrying failures; list them"},
    {"doctor", cmd_doctor, "check the configuration, database, SMTP relay and DNS"},
    {"classify", cmd_classify, "say what inbound messages are (bounce, reply...), no database"},
};

static const char usage[] =
    "usage: nurture [-c FILE] COMMAND [ARGS]\n"
    "\n"
    "An email lead-nurturing engine: drip campaigns as files, sent over SMTP\n"
    "in each lead's business hours, at most once.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE  configuration file (default: $NURTURE_CONFIG, then\n"
    "                     ./nurture.yaml)\n"
    "  -h, --help         this help; `nurture COMMAND --help` for a command\n"
    "  -V, --version      print the version\n"
    "\n"
    "Commands:\n";

static void
print_usage(FILE *f)
{
    fputs(usage, f);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int
cli_load_config(nt_cli *cli)
{
    char path[4096];
    nt_diag d;
    nt_diags ds;
    nt_err err;

    if (cli->cfg_loaded)
        return 0;
    nt_diag_clear(&d);
    if (nt_config_find(cli->config_path, path, sizeof(path), &d) != NT_OK) {
        cli_diag(&d);
        return NT_EXIT_CONFIG;
    }
    nt_diags_init(&ds, 200);
    err = nt_config_load(path, &cli->cfg, &ds);
    if (err != NT_OK) {
        cli_diags(&ds);
        nt_diags_release(&ds);
        nt_config_release(&cli->cfg);
        if (err == NT_ENOMEM)
            return NT_EXIT_SOFTWARE;
        return NT_EXIT_CONFIG;
    }
    cli_diags(&ds); /* warnings */
    nt_diags_release(&ds);
    cli->cfg_loaded = 1;
    return 0;
}

int
cli_open_store(nt_cli *cli)
{
    nt_diag d;
    int rc;

    if (cli->store)
        return 0;
    if ((rc = cli_load_config(cli)) != 0)
        return rc;
    nt_diag_clear(&d);
    if (nt_store_open_sqlite(cli->cfg.database, &cli->store, &d) != NT_OK) {
        cli_diag(&d);
        return d.msg[0] && strstr(d.msg, "locked") ? NT_EXIT_TEMPFAIL : NT_EXIT_IO;
    }
    return 0;
}

void
cli_diag(const nt_diag *d)
{
    char line[1024];

    nt_diag_format(d, line, sizeof(line));
    fprintf(stderr, "nurture: %s\n", line);
}

void
cli_diags(const nt_diags *ds)
{
    for (size_t i = 0; i < ds->len; i++)
        cli_diag(&ds->items[i]);
    if (ds->dropped)
        fprintf(stderr, "nurture: ... and %zu more\n", ds->dropped);
}

void
cli_error(const char *fmt, ...)
{
    va_list ap;

    fputs("nurture: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int
cli_exit_for(nt_err err)
{
    switch (err) {
    case NT_OK:
        return NT_EXIT_OK;
    case NT_EINVAL:
    case NT_ELIMIT:
        return NT_EXIT_DATA;
    case NT_ENOTFOUND:
        return NT_EXIT_FAIL;
    case NT_EIO:
        return NT_EXIT_IO;
    case NT_EBUSY:
        return NT_EXIT_TEMPFAIL;
    case NT_ECONFIG:
        return NT_EXIT_CONFIG;
    default:
        return NT_EXIT_SOFTWARE;
    }
}

int64_t
cli_clock(void)
{
    return (int64_t)time(NULL);
}

int
cli_parse_time(const char *arg, int64_t *out)
{
    nt_diag d;

    if (!strcmp(arg, "now")) {
        *out = cli_clock();
        return 0;
    }
    nt_diag_clear(&d);
    if (nt_time_parse(arg, out, &d) != NT_OK) {
        cli_error("bad time '%s': %s (use e.g. 2026-11-23T09:00:00Z)", arg, d.msg);
        return NT_EXIT_USAGE;
    }
    return 0;
}

int
cli_help(const char *text)
{
    fputs(text, stdout);
    return NT_EXIT_OK;
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs("nurture: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'nurture %s --help'.\n", cmd);
    return NT_EXIT_USAGE;
}

/* Take -c/--config out of argv wherever it is, so it works before or after
 * the command name. */
static int
take_config(nt_cli *cli, int *argc, char **argv)
{
    int out = 1;

    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            if (i + 1 >= *argc) {
                cli_error("%s needs a file name", a);
                return NT_EXIT_USAGE;
            }
            cli->config_path = argv[++i];
            continue;
        }
        if (!strncmp(a, "--config=", 9)) {
            cli->config_path = a + 9;
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

int
main(int argc, char **argv)
{
    nt_cli cli;
    int rc;

    memset(&cli, 0, sizeof(cli));
    cli.prog = "nurture";
    if ((rc = take_config(&cli, &argc, argv)) != 0)
        return rc;
    if (argc < 2) {
        print_usage(stderr);
        return NT_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        print_usage(stdout);
        return NT_EXIT_OK;
    }
    if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
        printf("nurture %s\n", NT_VERSION);
        return NT_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        rc = commands[i].fn(&cli, argc - 1, argv + 1);
        nt_store_close(cli.store);
        if (cli.cfg_loaded)
            nt_config_release(&cli.cfg);
        if (fflush(stdout) != 0 && rc == 0) {
            cli_error("writing output: %s", strerror(errno));
            rc = NT_EXIT_IO;
        }
        return rc;
    }
    cli_error("unknown command '%s'", argv[1]);
    print_usage(stderr);
    return NT_EXIT_USAGE;
}
