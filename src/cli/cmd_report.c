/*
 * nurture report: the shared report, the one set of numbers marketing and
 * sales both read (report.h; each figure is defined in the README).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nurture/buf.h"
#include "nurture/report.h"
#include "nurture/tz.h"

#include "banned.h"

static const char help[] =
    "usage: nurture report [--since TIME|-DURATION] [--until TIME] [--now TIME]\n"
    "                      [--campaign NAME] [--json | --csv | --html FILE]\n"
    "\n"
    "The funnel both teams read: per campaign and per step, leads enrolled,\n"
    "emails sent, deferred and failed, bounces (hard, soft, blocked),\n"
    "out-of-office replies, replies and the reply rate, unsubscribes,\n"
    "complaints, engaged leads, hand-offs to sales and what became of them\n"
    "(accepted, rejected by reason, recycled); the median time from hand-off\n"
    "to claim, overall and per rep; each sender's volume against its daily cap.\n"
    "Each figure counts what happened in [--since, --until), at the time it\n"
    "happened; the README defines every one.\n"
    "\n"
    "Options:\n"
    "  --since T       start of the period (a time, or -7d: that long before its\n"
    "                  end); default: the beginning\n"
    "  --until T       end of the period, exclusive (default: now)\n"
    "  --now T         the current time, for the default --until (default: the\n"
    "                  clock)\n"
    "  --campaign NAME only this campaign (senders always show all campaigns)\n"
    "  --json          the report as one JSON object\n"
    "  --csv           one figure per line: level,campaign,step,figure,key,value\n"
    "  --html FILE     one self-contained HTML page with charts (- for stdout)\n"
    "  -h, --help      this help\n"
    "\n"
    "Times: 2026-11-23T09:00:00Z, 2026-11-23 (midnight UTC), @1790000000, now.\n";

/* Write data to path whole, or say why not. */
static int
write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f) {
        cli_error("%s: cannot create: %s", path, strerror(errno));
        return NT_EXIT_IO;
    }
    if (fwrite(data, 1, len, f) != len || fflush(f) != 0) {
        cli_error("%s: cannot write: %s", path, strerror(errno));
        fclose(f);
        return NT_EXIT_IO;
    }
    if (fclose(f) != 0) {
        cli_error("%s: cannot write: %s", path, strerror(errno));
        return NT_EXIT_IO;
    }
    return NT_EXIT_OK;
}

int
cmd_report(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'},
        {"now", required_argument, NULL, 'n'},
        {"campaign", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"csv", no_argument, NULL, 'v'},
        {"html", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *since_arg = NULL, *until_arg = NULL, *html = NULL;
    enum { TEXT, JSON, CSV, HTML } format = TEXT;
    int nformats = 0, c, rc;
    nt_report_opts o = {0};
    nt_report r;
    nt_buf b;
    nt_diag d;
    nt_err err;

    o.now = cli_clock();
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return cli_help(help);
        case 's':
            since_arg = optarg;
            break;
        case 'u':
            until_arg = optarg;
            break;
        case 'n':
            if ((rc = cli_parse_time(optarg, &o.now)) != 0)
                return rc;
            break;
        case 'c':
            o.campaign = optarg;
            break;
        case 'j':
            format = JSON, nformats++;
            break;
        case 'v':
            format = CSV, nformats++;
            break;
        case 'H':
            format = HTML, nformats++;
            html = optarg;
            break;
        default:
            return cli_usage_error("report", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error("report", "unexpected argument '%s'", argv[optind]);
    if (nformats > 1)
        return cli_usage_error("report", "--json, --csv and --html exclude each other");
    o.until = o.now;
    if (until_arg && (rc = cli_parse_time(until_arg, &o.until)) != 0)
        return rc;
    if (since_arg && since_arg[0] == '-') {
        int64_t dur;
        nt_diag_clear(&d);
        if (nt_duration_parse(since_arg + 1, &dur, &d) != NT_OK)
            return cli_usage_error("report", "bad --since '%s': %s", since_arg, d.msg);
        o.since = o.until - dur;
    } else if (since_arg && (rc = cli_parse_time(since_arg, &o.since)) != 0) {
        return rc;
    }
    if (since_arg && o.since >= o.until)
        return cli_usage_error("report", "--since must be before --until");
    if ((rc = cli_open_store(cli)) != 0)
        return rc;

    nt_diag_clear(&d);
    err = nt_report_build(cli->store, &cli->cfg, &o, &r, &d);
    if (err != NT_OK) {
        cli_diag(&d);
        nt_report_release(&r);
        return cli_exit_for(err);
    }
    nt_buf_init(&b, 0);
    err = format == JSON   ? nt_report_json(&r, &b)
          : format == CSV  ? nt_report_csv(&r, &b)
          : format == HTML ? nt_report_html(&r, &b)
                           : nt_report_text(&r, &b);
    nt_report_release(&r);
    if (err != NT_OK) {
        cli_error("rendering the report: %s", nt_strerror(err));
        nt_buf_release(&b);
        return cli_exit_for(err);
    }
    if (format == HTML && strcmp(html, "-") != 0) {
        rc = write_file(html, b.data, b.len);
        if (rc == NT_EXIT_OK)
            fprintf(stderr, "nurture: wrote the report to %s\n", html);
    } else {
        rc = fwrite(nt_buf_cstr(&b), 1, b.len, stdout) == b.len && fflush(stdout) == 0 ? NT_EXIT_OK
                                                                                       : NT_EXIT_IO;
    }
    nt_buf_release(&b);
    return rc;
}
