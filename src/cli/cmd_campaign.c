/*
 * nurture campaign lint | list: the marketer's checks before a campaign goes
 * live, and an overview of what is in campaigns/.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nurture/buf.h"
#include "nurture/campaign.h"
#include "nurture/tz.h"

#include "banned.h"

static const char help[] =
    "usage: nurture campaign lint [--json] [--werror] [FILE|DIR...]\n"
    "       nurture campaign list [--json]\n"
    "\n"
    "lint  check campaign files (default: every campaign in the configured\n"
    "      campaigns folder): YAML syntax, unknown keys, types, durations,\n"
    "      stages, senders, email templates and their merge fields, the\n"
    "      unsubscribe link and postal address, the send window.  Errors and\n"
    "      warnings are printed as file:line:column: message.  Exits 65 when\n"
    "      there is an error (or a warning, with --werror), 0 otherwise.\n"
    "list  one line per campaign: name, status, audience, steps, length,\n"
    "      version.\n"
    "\n"
    "Options:\n"
    "  --json      machine-readable output\n"
    "  --werror    treat warnings as errors (lint)\n"
    "  -h, --help  this help\n";

static void
print_diags_json(nt_buf *b, const nt_diags *ds, int *first)
{
    static const char *const sev[] = {"error", "warning", "note"};

    for (size_t i = 0; i < ds->len; i++) {
        const nt_diag *d = &ds->items[i];
        nt_buf_adds(b, *first ? "{" : ",{");
        *first = 0;
        nt_buf_adds(b, "\"file\":");
        nt_buf_add_json(b, d->file, strlen(d->file));
        nt_buf_addf(b, ",\"line\":%d,\"column\":%d,\"severity\":\"%s\",\"message\":", d->line,
                    d->col, sev[d->sev]);
        nt_buf_add_json(b, d->msg, strlen(d->msg));
        nt_buf_addc(b, '}');
    }
}

static void
lint_one(nt_cli *cli, nt_campaign *c, nt_diags *ds)
{
    if (cli->cfg_loaded)
        nt_campaign_lint(c, &cli->cfg, ds);
}

static int
run_lint(nt_cli *cli, int json, int werror, int nfiles, char **files)
{
    nt_diags ds;
    size_t checked = 0, failed = 0;
    int no_config = 0;
    nt_buf out;
    int first = 1;

    if (cli_load_config(cli) != 0) {
        if (!nfiles)
            return NT_EXIT_CONFIG;
        no_config = 1;
    }
    nt_diags_init(&ds, 5000);
    if (nfiles == 0) {
        nt_campaign_set set;
        nt_campaign_set_load(cli->cfg.campaigns_dir, &set, &failed, &ds);
        for (size_t i = 0; i < set.n; i++)
            lint_one(cli, set.items[i], &ds);
        checked = set.n + failed;
        nt_campaign_set_release(&set);
    }
    for (int i = 0; i < nfiles; i++) {
        nt_campaign *c = NULL;
        checked++;
        if (nt_campaign_load(files[i], &c, &ds) != NT_OK) {
            failed++;
            continue;
        }
        lint_one(cli, c, &ds);
        nt_campaign_free(c);
    }
    if (no_config)
        nt_diags_add(&ds, NT_SEV_NOTE, NULL, 0, 0,
                     "no usable configuration: stages, senders and merge fields were not "
                     "checked");
    nt_buf_init(&out, 0);
    if (json) {
        nt_buf_addf(&out, "{\"checked\":%zu,\"errors\":%zu,\"warnings\":%zu,\"diagnostics\":[",
                    checked, ds.errors, ds.warnings);
        print_diags_json(&out, &ds, &first);
        nt_buf_adds(&out, "]}\n");
        fputs(nt_buf_cstr(&out), stdout);
    } else {
        cli_diags(&ds);
        fprintf(stderr, "nurture: %zu campaign%s checked: %zu error%s, %zu warning%s\n", checked,
                checked == 1 ? "" : "s", ds.errors, ds.errors == 1 ? "" : "s", ds.warnings,
                ds.warnings == 1 ? "" : "s");
    }
    nt_buf_release(&out);
    int rc = ds.errors || (werror && ds.warnings) ? NT_EXIT_DATA : NT_EXIT_OK;
    nt_diags_release(&ds);
    return rc;
}

static int64_t
total_length(const nt_campaign *c)
{
    int64_t t = 0;
    for (size_t i = 0; i < c->nsteps; i++)
        t += c->steps[i].after;
    return t;
}

static int
run_list(nt_cli *cli, int json)
{
    nt_campaign_set set;
    nt_diags ds;
    size_t failed;
    nt_buf out;
    nt_err err;
    int rc;

    if ((rc = cli_load_config(cli)) != 0)
        return rc;
    nt_diags_init(&ds, 100);
    err = nt_campaign_set_load(cli->cfg.campaigns_dir, &set, &failed, &ds);
    if (err != NT_OK) {
        /* No folder is not an empty list. */
        cli_diags(&ds);
        nt_campaign_set_release(&set);
        nt_diags_release(&ds);
        return err == NT_ENOTFOUND ? NT_EXIT_NOINPUT : cli_exit_for(err);
    }
    nt_buf_init(&out, 0);
    if (json)
        nt_buf_addc(&out, '[');
    else
        nt_buf_addf(&out, "%-20s %-7s %-12s %5s %8s  %s\n", "NAME", "STATUS", "AUDIENCE", "STEPS",
                    "LENGTH", "VERSION");
    for (size_t i = 0; i < set.n; i++) {
        const nt_campaign *c = set.items[i];
        char len[32];
        nt_duration_format(total_length(c), len, sizeof(len));
        if (json) {
            nt_buf_adds(&out, i ? ",{\"name\":" : "{\"name\":");
            nt_buf_add_json(&out, c->name, strlen(c->name));
            nt_buf_addf(&out, ",\"status\":\"%s\",\"stage\":", c->paused ? "paused" : "active");
            nt_buf_add_json(&out, c->stage, strlen(c->stage));
            nt_buf_addf(&out, ",\"steps\":%zu,\"length_seconds\":%lld,\"version\":\"%s\",\"path\":",
                        c->nsteps, (long long)total_length(c), c->version);
            nt_buf_add_json(&out, c->path, strlen(c->path));
            nt_buf_addc(&out, '}');
        } else {
            nt_buf_addf(&out, "%-20s %-7s %-12s %5zu %8s  %s\n", c->name,
                        c->paused ? "paused" : "active", c->stage, c->nsteps, len, c->version);
        }
    }
    if (json)
        nt_buf_adds(&out, "]\n");
    fputs(nt_buf_cstr(&out), stdout);
    nt_buf_release(&out);
    if (failed) {
        cli_diags(&ds);
        cli_error("%zu campaign%s failed to load; run `nurture campaign lint`", failed,
                  failed == 1 ? "" : "s");
    }
    nt_campaign_set_release(&set);
    nt_diags_release(&ds);
    return failed ? NT_EXIT_DATA : NT_EXIT_OK;
}

int
cmd_campaign(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"werror", no_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, werror = 0, c;
    const char *sub;

    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
        return argc < 2 ? (fputs(help, stderr), NT_EXIT_USAGE) : cli_help(help);
    sub = argv[1];
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help);
        if (c == 'j')
            json = 1;
        else if (c == 'W')
            werror = 1;
        else
            return cli_usage_error("campaign", "bad option");
    }
    if (!strcmp(sub, "lint"))
        return run_lint(cli, json, werror, argc - 1 - optind, argv + 1 + optind);
    if (!strcmp(sub, "list")) {
        if (optind != argc - 1)
            return cli_usage_error("campaign", "list takes no arguments");
        return run_list(cli, json);
    }
    return cli_usage_error("campaign", "unknown subcommand '%s' (lint or list)", sub);
}
