/*
 * nurture preview CAMPAIGN STEP [LEAD]: the exact message a step would send
 * to a lead, so a marketer sees the merge fields filled in, the defaults
 * where a field is missing, the text part and the HTML part.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nurture/buf.h"
#include "nurture/campaign.h"
#include "nurture/compose.h"

#include "banned.h"

static const char help[] =
    "usage: nurture preview [--raw] [--at TIME] CAMPAIGN STEP [LEAD]\n"
    "\n"
    "Print the message step STEP (a number from 1, or a step id) of CAMPAIGN\n"
    "would send to LEAD (an email address or a lead id; without it, a lead\n"
    "with no fields, which shows every default).  The campaign is read from\n"
    "the campaigns folder, or from the path given as CAMPAIGN.\n"
    "\n"
    "Options:\n"
    "  --raw       print the exact bytes sent (MIME, quoted-printable)\n"
    "              instead of the headers with the decoded parts\n"
    "  --at TIME   the Date of the message (default: now)\n"
    "  -h, --help  this help\n";

static int
find_step(const nt_campaign *c, const char *arg)
{
    char *end;
    long n = strtol(arg, &end, 10);

    if (*arg && !*end)
        return n >= 1 && n <= (long)c->nsteps ? (int)n - 1 : -1;
    return nt_campaign_step_index(c, arg);
}

static nt_err
load_lead(nt_cli *cli, const char *arg, nt_lead *l, nt_diag *d)
{
    char *end;
    long long id = strtoll(arg, &end, 10);
    char *norm = NULL;
    nt_err err;

    if (*arg && !*end)
        return nt_store_lead_get(cli->store, id, NULL, l, d);
    if ((err = nt_email_normalize(arg, strlen(arg), &norm, d)) != NT_OK)
        return err;
    err = nt_store_lead_get(cli->store, 0, norm, l, d);
    free(norm);
    return err;
}

static nt_campaign *
load_campaign(nt_cli *cli, const char *name)
{
    nt_campaign_set set;
    nt_campaign *c = NULL;
    nt_diags ds;
    size_t failed;

    nt_diags_init(&ds, 200);
    if (strchr(name, '/')) {
        if (nt_campaign_load(name, &c, &ds) != NT_OK)
            cli_diags(&ds);
        nt_diags_release(&ds);
        return c;
    }
    nt_campaign_set_load(cli->cfg.campaigns_dir, &set, &failed, &ds);
    for (size_t i = 0; i < set.n; i++) {
        if (!strcmp(set.items[i]->name, name)) {
            c = set.items[i];
            set.items[i] = set.items[--set.n];
            break;
        }
    }
    if (!c) {
        cli_diags(&ds);
        cli_error("no campaign named '%s' (see `nurture campaign list`)", name);
    }
    nt_campaign_set_release(&set);
    nt_diags_release(&ds);
    return c;
}

/* Headers as sent, then each part decoded. */
static void
print_readable(const nt_rendered *r, const char *raw)
{
    const char *end = strstr(raw, "\r\n\r\n");
    size_t hlen = end ? (size_t)(end - raw) : strlen(raw);

    for (size_t i = 0; i < hlen; i++)
        if (raw[i] != '\r')
            putchar(raw[i]);
    printf("\n\n----- text/plain -----\n%s", r->text);
    if (r->text[0] && r->text[strlen(r->text) - 1] != '\n')
        putchar('\n');
    printf("\n----- text/html -----\n%s", r->html ? r->html : "");
    if (r->html && r->html[0] && r->html[strlen(r->html) - 1] != '\n')
        putchar('\n');
}

int
cmd_preview(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"raw", no_argument, NULL, 'r'},
        {"at", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int raw = 0, c, rc, step;
    int64_t at = 0;
    nt_campaign *camp = NULL;
    nt_lead lead;
    nt_send_ids ids;
    char msgid[512], mailto[300], url[600];
    nt_rendered r;
    nt_buf b;
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help);
        if (c == 'r')
            raw = 1;
        else if (c == 'a') {
            if ((rc = cli_parse_time(optarg, &at)) != 0)
                return rc;
        } else
            return cli_usage_error("preview", "bad option");
    }
    if (argc - optind < 2 || argc - optind > 3)
        return cli_usage_error("preview", "preview needs CAMPAIGN STEP [LEAD]");
    if (!at)
        at = cli_clock();
    if ((rc = argc - optind == 3 ? cli_open_store(cli) : cli_load_config(cli)) != 0)
        return rc;
    if (!(camp = load_campaign(cli, argv[optind])))
        return NT_EXIT_FAIL;
    step = find_step(camp, argv[optind + 1]);
    if (step < 0) {
        cli_error("campaign '%s' has no step '%s' (steps are numbered 1 to %zu)", camp->name,
                  argv[optind + 1], camp->nsteps);
        nt_campaign_free(camp);
        return NT_EXIT_USAGE;
    }
    nt_lead_init(&lead);
    nt_diag_clear(&d);
    if (argc - optind == 3)
        err = load_lead(cli, argv[optind + 2], &lead, &d);
    else
        err = nt_lead_set(&lead, "email", "preview@example.com");
    if (err != NT_OK) {
        cli_diag(&d);
        nt_campaign_free(camp);
        return cli_exit_for(err);
    }
    nt_compose_preview_ids(&cli->cfg, camp, (size_t)step, &lead, msgid, sizeof(msgid), mailto,
                           sizeof(mailto), url, sizeof(url), &ids);
    nt_buf_init(&b, 0);
    err = nt_compose_message(&cli->cfg, camp, (size_t)step, &lead, at, &ids, &b, &d);
    if (err == NT_OK && !raw)
        err = nt_compose_render(&cli->cfg, camp, (size_t)step, &lead, ids.unsubscribe_url, &r, &d);
    if (err != NT_OK) {
        cli_diag(&d);
    } else if (raw) {
        fwrite(b.data, 1, b.len, stdout);
    } else {
        print_readable(&r, nt_buf_cstr(&b));
        nt_rendered_release(&r);
    }
    nt_buf_release(&b);
    nt_lead_release(&lead);
    nt_campaign_free(camp);
    return cli_exit_for(err);
}
