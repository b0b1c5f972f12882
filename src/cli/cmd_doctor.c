/*
 * nurture doctor: the checks an operator needs before trusting cron with
 * nurture: configuration, secret, database, campaigns, the SMTP relay
 * (connect, EHLO, STARTTLS, AUTH) and, when DNS can be reached, the sending
 * domains' SPF, DKIM and DMARC records.  Each check says ok, warn, FAIL or
 * skip, and what to do.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "nurture/buf.h"
#include "nurture/campaign.h"
#include "nurture/dns.h"
#include "nurture/smtp.h"
#include "nurture/token.h"

#include "banned.h"

static const char help[] =
    "usage: nurture doctor [--no-smtp] [--no-dns] [--json]\n"
    "\n"
    "Check what an operator gets wrong: the configuration, the signing\n"
    "secret, the database, the campaigns, the SMTP relay (connection, EHLO,\n"
    "STARTTLS, AUTH) and each sender domain's SPF, DKIM and DMARC records in\n"
    "DNS (skipped, with a note, when DNS cannot be reached).  Exits 0 when\n"
    "nothing failed, 1 otherwise (78 when the configuration cannot be read).\n"
    "\n"
    "Options:\n"
    "  --no-smtp   do not connect to the relay\n"
    "  --no-dns    do not query DNS\n"
    "  --json      one JSON array of {check, status, detail}\n"
    "  -h, --help  this help\n";

typedef struct report {
    int json;
    nt_buf out;
    int n, fails, warns;
} report;

static void say(report *r, const char *status, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
say(report *r, const char *status, const char *check, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    r->fails += !strcmp(status, "FAIL");
    r->warns += !strcmp(status, "warn");
    if (r->json) {
        nt_buf_adds(&r->out, r->n ? ",{\"check\":" : "{\"check\":");
        nt_buf_add_json(&r->out, check, strlen(check));
        nt_buf_addf(&r->out, ",\"status\":\"%s\",\"detail\":", status);
        nt_buf_add_json(&r->out, detail, strlen(detail));
        nt_buf_addc(&r->out, '}');
    } else {
        nt_buf_addf(&r->out, "%-4s  %-22s %s\n", status, check, detail);
    }
    r->n++;
}

static void
check_secret(nt_cli *cli, report *r)
{
    nt_buf secret;
    nt_token_key key;
    nt_diag d;

    nt_buf_init(&secret, 4096);
    nt_diag_clear(&d);
    if (nt_secret_read(&cli->cfg.secret, "secret", &secret, &d) != NT_OK)
        say(r, "FAIL", "secret", "%s", d.msg);
    else if (nt_token_key_init(&key, secret.data, secret.len, &d) != NT_OK)
        say(r, "FAIL", "secret", "%s", d.msg);
    else {
        say(r, "ok", "secret", "set (%zu bytes, from %s)", secret.len,
            cli->cfg.secret.env ? "the environment" : "a file");
        nt_token_key_release(&key);
    }
    if (secret.data)
        memset(secret.data, 0, secret.len);
    nt_buf_release(&secret);
}

static void
check_database(nt_cli *cli, report *r)
{
    nt_diag d;
    int64_t leads = 0;

    nt_diag_clear(&d);
    if (cli_open_store(cli) != 0) {
        say(r, "FAIL", "database", "%s cannot be opened (see above)", cli->cfg.database);
        return;
    }
    if (nt_store_begin(cli->store, &d) != NT_OK) {
        say(r, "FAIL", "database", "%s is not writable: %s", cli->cfg.database, d.msg);
        return;
    }
    nt_store_rollback(cli->store);
    if (nt_store_integrity(cli->store, &d) != NT_OK) {
        say(r, "FAIL", "database", "%s", d.msg);
        return;
    }
    nt_store_lead_count(cli->store, &leads, &d);
    say(r, "ok", "database", "%s: writable, integrity ok, %lld leads", cli->cfg.database,
        (long long)leads);
}

static void
check_campaigns(nt_cli *cli, report *r)
{
    nt_campaign_set set;
    nt_diags ds;
    size_t failed = 0;

    nt_diags_init(&ds, 500);
    nt_campaign_set_load(cli->cfg.campaigns_dir, &set, &failed, &ds);
    for (size_t i = 0; i < set.n; i++)
        if (nt_campaign_lint(set.items[i], &cli->cfg, &ds) != NT_OK)
            failed++;
    if (failed)
        say(r, "FAIL", "campaigns", "%zu of %zu fail lint: run `nurture campaign lint`", failed,
            set.n + failed);
    else
        say(r, ds.warnings ? "warn" : "ok", "campaigns", "%zu campaigns, %zu warnings", set.n,
            ds.warnings);
    nt_campaign_set_release(&set);
    nt_diags_release(&ds);
}

static void
check_smtp(nt_cli *cli, report *r)
{
    nt_smtp *s = NULL;
    nt_buf pw, out;
    nt_diag d;

    if (!cli->cfg.smtp.host) {
        say(r, "FAIL", "smtp", "no smtp host configured");
        return;
    }
    nt_buf_init(&pw, 4096);
    nt_buf_init(&out, 1 << 16);
    nt_diag_clear(&d);
    if (cli->cfg.smtp.username &&
        nt_secret_read(&cli->cfg.smtp.password, "smtp password", &pw, &d) != NT_OK) {
        say(r, "FAIL", "smtp auth", "%s", d.msg);
    } else if (nt_smtp_new(&cli->cfg.smtp, cli->cfg.smtp.username ? pw.data : NULL, &s, &d) !=
               NT_OK) {
        say(r, "FAIL", "smtp", "%s", d.msg);
    } else if (nt_smtp_check(s, &out, &d) != NT_OK) {
        say(r, "FAIL", "smtp", "%s", d.msg);
    } else {
        char *line = out.data ? out.data : (char *)"";
        for (char *nl; *line; line = nl + 1) {
            nl = strchr(line, '\n');
            if (!nl)
                nl = line + strlen(line) - 1;
            else
                *nl = '\0';
            if (*line)
                say(r, "ok", "smtp", "%s", line);
        }
    }
    nt_smtp_free(s);
    if (pw.data)
        memset(pw.data, 0, pw.len);
    nt_buf_release(&pw);
    nt_buf_release(&out);
}

typedef struct txt_find {
    const char *prefix;
    char found[512];
} txt_find;

static int
find_txt(void *ctx, const char *txt)
{
    txt_find *f = ctx;

    if (strncasecmp(txt, f->prefix, strlen(f->prefix)) != 0)
        return 0;
    snprintf(f->found, sizeof(f->found), "%s", txt);
    return 1;
}

/* 0 when DNS could not be asked (the caller stops asking). */
static int
check_record(report *r, const char *check, const char *name, const char *prefix,
             const char *missing)
{
    txt_find f = {prefix, ""};
    nt_diag d;
    nt_err err;

    nt_diag_clear(&d);
    err = nt_dns_txt(name, find_txt, &f, &d);
    if (err == NT_EIO) {
        say(r, "skip", check, "DNS cannot be reached from here (%s); check %s by hand", d.msg,
            name);
        return 0;
    }
    if (f.found[0])
        say(r, "ok", check, "%s: %s", name, f.found);
    else
        say(r, "FAIL", check, "%s has no '%s' record: %s", name, prefix, missing);
    return 1;
}

static void
check_dns(nt_cli *cli, report *r)
{
    for (size_t i = 0; i < cli->cfg.nsenders; i++) {
        const nt_sender *s = &cli->cfg.senders[i];
        const char *domain = nt_email_domain(s->address);
        char name[600];

        if (!check_record(r, "spf", domain, "v=spf1",
                          "receivers cannot tell your relay may send for this domain"))
            return;
        snprintf(name, sizeof(name), "_dmarc.%s", domain);
        check_record(r, "dmarc", name, "v=DMARC1", "publish a DMARC policy (p=none to start)");
        if (!s->dkim_selector) {
            say(r, "skip", "dkim", "sender '%s' has no dkim_selector in the configuration", s->id);
            continue;
        }
        snprintf(name, sizeof(name), "%s._domainkey.%s", s->dkim_selector, domain);
        check_record(r, "dkim", name, "v=DKIM1", "the relay's DKIM key is not published");
    }
}

int
cmd_doctor(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"no-smtp", no_argument, NULL, 'S'},
        {"no-dns", no_argument, NULL, 'N'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int smtp = 1, dns = 1, c, rc;
    report r = {0};

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help);
        else if (c == 'S')
            smtp = 0;
        else if (c == 'N')
            dns = 0;
        else if (c == 'j')
            r.json = 1;
        else
            return cli_usage_error("doctor", "bad option");
    }
    if (optind != argc)
        return cli_usage_error("doctor", "doctor takes no arguments");
    if ((rc = cli_load_config(cli)) != 0) {
        fprintf(stderr, "FAIL  config: cannot be used (see above)\n");
        return rc;
    }
    nt_buf_init(&r.out, 1 << 20);
    if (r.json)
        nt_buf_addc(&r.out, '[');
    say(&r, "ok", "config", "%s", cli->cfg.path);
    check_secret(cli, &r);
    check_database(cli, &r);
    check_campaigns(cli, &r);
    if (smtp)
        check_smtp(cli, &r);
    if (dns)
        check_dns(cli, &r);
    if (r.json)
        nt_buf_adds(&r.out, "]\n");
    else
        nt_buf_addf(&r.out, "%d checks: %d failed, %d warnings\n", r.n, r.fails, r.warns);
    fputs(nt_buf_cstr(&r.out), stdout);
    nt_buf_release(&r.out);
    return r.fails ? NT_EXIT_FAIL : NT_EXIT_OK;
}
