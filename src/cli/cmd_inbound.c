/*
 * nurture inbound list | show | reclassify: every message that came back,
 * the decision taken on it and what was done, so that a decision can be
 * checked, re-run after the rules improve, and undone (`lead unsuppress`).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nurture/buf.h"
#include "nurture/classify.h"
#include "nurture/inbound.h"
#include "nurture/tz.h"

#include "banned.h"

static const char help[] =
    "usage: nurture inbound list [--kind KIND] [--lead EMAIL|ID] [--limit N] [--json]\n"
    "       nurture inbound show ID [--raw] [--json]\n"
    "       nurture inbound reclassify [--dry-run] [--rules DIR] [--json] (ID... | --all)\n"
    "\n"
    "list        stored messages, oldest first; KIND is complaint, bounce,\n"
    "            auto-reply, unsubscribe, reply or unknown\n"
    "show        one message: the decision (kind, rule, reason, status, intent,\n"
    "            return date), whom it was attributed to and how, what was done;\n"
    "            --raw prints the message exactly as received\n"
    "reclassify  classify stored messages again with the current rules; when a\n"
    "            kind changes, act on the new decision (a suppression the old one\n"
    "            made stays: `nurture lead unsuppress` lifts it).  --dry-run only\n"
    "            shows what would change\n"
    "\n"
    "Options:\n"
    "  --json      machine-readable output (one object per line)\n"
    "  -h, --help  this help\n";

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
inbound_json(nt_buf *b, const nt_inbound *in)
{
    char when[32];

    nt_time_format_utc(in->received_at, when, sizeof(when));
    nt_buf_addf(b, "{\"id\":%lld,\"received\":\"%s\"", (long long)in->id, when);
    jstr(b, "source", in->source);
    jstr(b, "message_id", in->message_id);
    jstr(b, "from", in->from_addr);
    jstr(b, "subject", in->subject);
    jstr(b, "kind", in->kind);
    jstr(b, "rule", in->rule);
    jstr(b, "reason", in->reason);
    jstr(b, "status", in->status);
    nt_buf_addf(b, ",\"hard\":%s", in->hard ? "true" : "false");
    jstr(b, "intent", in->intent);
    jstr(b, "return_date", in->return_date);
    if (in->lead_id)
        nt_buf_addf(b, ",\"lead_id\":%lld", (long long)in->lead_id);
    else
        nt_buf_adds(b, ",\"lead_id\":null");
    if (in->send_id)
        nt_buf_addf(b, ",\"send_id\":%lld", (long long)in->send_id);
    else
        nt_buf_adds(b, ",\"send_id\":null");
    jstr(b, "attributed_by", in->attributed_by);
    nt_buf_addf(b, ",\"forged_token\":%s", in->forged ? "true" : "false");
    jstr(b, "action", in->action);
    nt_buf_addf(b, ",\"detail\":%s}", in->detail && *in->detail ? in->detail : "{}");
}

/* One line of text without control characters, at most max bytes. */
static void
put_clean(const char *s, size_t max)
{
    size_t i;

    for (i = 0; s && s[i] && i < max; i++)
        putchar((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i]);
    if (s && s[i])
        fputs("...", stdout);
}

typedef struct list_ctx {
    int json;
    int64_t n;
} list_ctx;

static int
print_row(void *ctx, const nt_inbound *in)
{
    list_ctx *x = ctx;
    char when[32];

    x->n++;
    if (x->json) {
        nt_buf b;
        nt_buf_init(&b, 0);
        inbound_json(&b, in);
        nt_buf_addc(&b, '\n');
        fwrite(b.data, 1, b.len, stdout);
        nt_buf_release(&b);
        return 0;
    }
    nt_time_format_utc(in->received_at, when, sizeof(when));
    printf("%-6lld %s  %-11s %-15s ", (long long)in->id, when, in->kind,
           in->reason        ? in->reason
           : in->intent      ? in->intent
           : in->return_date ? in->return_date
                             : "-");
    if (in->lead_id)
        printf("lead %-6lld ", (long long)in->lead_id);
    else
        printf("%-11s ", in->forged ? "FORGED" : "-");
    put_clean(in->from_addr ? in->from_addr : "-", 40);
    fputs("  ", stdout);
    put_clean(in->subject ? in->subject : "", 50);
    putchar('\n');
    return 0;
}

static int
cmd_list(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"kind", required_argument, NULL, 'k'},  {"lead", required_argument, NULL, 'L'},
        {"limit", required_argument, NULL, 'l'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    nt_inbound_filter f = {0};
    const char *lead = NULL;
    list_ctx x = {0};
    int c, rc;
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help);
        else if (c == 'k')
            f.kind = optarg;
        else if (c == 'L')
            lead = optarg;
        else if (c == 'l')
            f.limit = strtoll(optarg, NULL, 10);
        else if (c == 'j')
            x.json = 1;
        else
            return cli_usage_error("inbound list", "bad option");
    }
    if (optind != argc)
        return cli_usage_error("inbound list", "unexpected argument '%s'", argv[optind]);
    if (f.kind && nt_inkind_from(f.kind) < 0)
        return cli_usage_error("inbound list",
                               "unknown kind '%s': use complaint, bounce, auto-reply, "
                               "unsubscribe, reply or unknown",
                               f.kind);
    if ((rc = cli_open_store(cli)) != 0)
        return rc;
    if (lead) {
        nt_lead l;
        if ((rc = cli_find_lead(cli, lead, &l)) != 0)
            return rc;
        f.lead_id = l.id;
        nt_lead_release(&l);
    }
    nt_diag_clear(&d);
    if ((err = nt_store_inbound_list(cli->store, &f, print_row, &x, &d)) != NT_OK) {
        cli_diag(&d);
        return cli_exit_for(err);
    }
    if (!x.json && !x.n)
        printf("no messages\n");
    return NT_EXIT_OK;
}

static void
show_text(const nt_inbound *in)
{
    char when[32];

    nt_time_format_utc(in->received_at, when, sizeof(when));
    printf("message %lld, received %s from %s%s%s\n", (long long)in->id, when, in->source,
           in->source_key ? " " : "", in->source_key ? in->source_key : "");
    printf("  Message-ID:  %s\n", in->message_id ? in->message_id : "-");
    printf("  From:        ");
    put_clean(in->from_addr ? in->from_addr : "-", 200);
    printf("\n  Subject:     ");
    put_clean(in->subject ? in->subject : "", 200);
    printf("\n  kind:        %s (rule %s)\n", in->kind, in->rule ? in->rule : "-");
    if (in->reason)
        printf("  bounce:      %s %s, %s\n", in->status ? in->status : "-", in->reason,
               in->hard ? "hard" : "soft");
    if (in->return_date)
        printf("  back on:     %s\n", in->return_date);
    if (in->intent)
        printf("  intent:      %s\n", in->intent);
    if (in->lead_id)
        printf("  lead:        %lld (by %s)\n", (long long)in->lead_id,
               in->attributed_by ? in->attributed_by : "-");
    else
        printf("  lead:        not attributed\n");
    if (in->send_id)
        printf("  send:        %lld (nurture sends show %lld)\n", (long long)in->send_id,
               (long long)in->send_id);
    if (in->forged)
        printf("  token:       FORGED: it did not verify, and was ignored\n");
    printf("  action:      %s\n", in->action ? in->action : "-");
    printf("  detail:      %s\n", in->detail ? in->detail : "{}");
}

static int
cmd_show(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"raw", no_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc, raw = 0, json = 0;
    int64_t id = 0;
    nt_inbound in;
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help);
        else if (c == 'r')
            raw = 1;
        else if (c == 'j')
            json = 1;
        else
            return cli_usage_error("inbound show", "bad option");
    }
    if (optind + 1 != argc)
        return cli_usage_error("inbound show", "inbound show needs one message id");
    if ((rc = cli_parse_id("inbound show", argv[optind], "a message id (see nurture inbound list)",
                           &id)) != 0 ||
        (rc = cli_open_store(cli)) != 0)
        return rc;
    nt_diag_clear(&d);
    if ((err = nt_store_inbound_get(cli->store, id, raw, &in, &d)) != NT_OK) {
        cli_diag(&d);
        return cli_exit_for(err);
    }
    if (raw) {
        fwrite(in.raw, 1, in.rawlen, stdout);
    } else if (json) {
        nt_buf b;
        nt_buf_init(&b, 0);
        inbound_json(&b, &in);
        nt_buf_addc(&b, '\n');
        fwrite(b.data, 1, b.len, stdout);
        nt_buf_release(&b);
    } else {
        show_text(&in);
    }
    nt_inbound_release(&in);
    return NT_EXIT_OK;
}

/* ---- reclassify ---- */

typedef struct ids {
    int64_t *v;
    size_t n;
    int oom;
} ids;

static int
collect_id(void *ctx, const nt_inbound *in)
{
    ids *x = ctx;
    int64_t *nv = realloc(x->v, (x->n + 1) * sizeof(*nv));

    if (!nv) {
        x->oom = 1;
        return 1;
    }
    x->v = nv;
    nv[x->n++] = in->id;
    return 0;
}

static int
reclassify_one(nt_inbound_env *env, int64_t id, int apply, int json, int64_t *changed)
{
    nt_inbound_outcome out;
    nt_inkind before;
    nt_diag d;
    nt_err err;

    nt_diag_clear(&d);
    if ((err = nt_inbound_reclassify(env, id, apply, &before, &out, &d)) != NT_OK) {
        cli_diag(&d);
        return cli_exit_for(err);
    }
    if (out.kind != before)
        (*changed)++;
    if (json) {
        nt_buf b;
        nt_buf_init(&b, 0);
        nt_buf_addf(&b,
                    "{\"id\":%lld,\"before\":\"%s\",\"after\":\"%s\",\"changed\":%s,"
                    "\"applied\":%s,\"action\":",
                    (long long)id, nt_inkind_name(before), nt_inkind_name(out.kind),
                    out.kind != before ? "true" : "false",
                    apply && out.kind != before ? "true" : "false");
        nt_buf_add_json(&b, out.action, strlen(out.action));
        nt_buf_adds(&b, "}\n");
        fwrite(b.data, 1, b.len, stdout);
        nt_buf_release(&b);
    } else if (out.kind != before) {
        printf("%lld: %s -> %s%s%s\n", (long long)id, nt_inkind_name(before),
               nt_inkind_name(out.kind), apply ? ": " : " (dry run)", apply ? out.action : "");
    }
    return 0;
}

static int
cmd_reclassify(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},         {"dry-run", no_argument, NULL, 'D'},
        {"rules", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    int c, rc = 0, all = 0, dry = 0, json = 0;
    const char *rules = NULL;
    ids x = {0};
    nt_classifier *cls = NULL;
    nt_token_key key = {0};
    nt_inbound_env env = {0};
    int64_t changed = 0;
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help);
        else if (c == 'a')
            all = 1;
        else if (c == 'D')
            dry = 1;
        else if (c == 'r')
            rules = optarg;
        else if (c == 'j')
            json = 1;
        else
            return cli_usage_error("inbound reclassify", "bad option");
    }
    if (all == (optind < argc))
        return cli_usage_error("inbound reclassify", "give message ids, or --all");
    for (int i = optind; i < argc; i++) {
        int64_t id = 0;
        if ((rc = cli_parse_id("inbound reclassify", argv[i],
                               "a message id (see nurture inbound list)", &id)) != 0)
            return rc;
    }
    if ((rc = cli_open_store(cli)) != 0 || (rc = cli_load_key(cli, &key)) != 0 ||
        (rc = cli_load_classifier(&cli->cfg, rules, &cls)) != 0)
        goto out;
    nt_diag_clear(&d);
    if (all) {
        nt_inbound_filter f = {0};
        if ((err = nt_store_inbound_list(cli->store, &f, collect_id, &x, &d)) != NT_OK || x.oom) {
            cli_diag(&d);
            rc = cli_exit_for(x.oom ? NT_ENOMEM : err);
            goto out;
        }
    } else {
        for (int i = optind; i < argc; i++)
            collect_id(&x, &(nt_inbound){.id = strtoll(argv[i], NULL, 10)});
    }
    env = (nt_inbound_env){cli->store, &cli->cfg, cls, &key, cli_clock()};
    for (size_t i = 0; i < x.n && rc == 0; i++)
        rc = reclassify_one(&env, x.v[i], !dry, json, &changed);
    if (rc == 0 && !json)
        printf("%zu message(s) classified again, %lld changed%s\n", x.n, (long long)changed,
               dry ? " (dry run: nothing written)" : "");
out:
    free(x.v);
    nt_classifier_free(cls);
    nt_token_key_release(&key);
    return rc;
}

static const struct sub {
    const char *name;
    int (*fn)(nt_cli *, int, char **);
} subs[] = {
    {"list", cmd_list},
    {"show", cmd_show},
    {"reclassify", cmd_reclassify},
};

int
cmd_inbound(nt_cli *cli, int argc, char **argv)
{
    if (argc < 2) {
        fputs(help, stderr);
        return NT_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return cli_help(help);
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        if (!strcmp(argv[1], subs[i].name))
            return subs[i].fn(cli, argc - 1, argv + 1);
    cli_error("unknown inbound command '%s'", argv[1]);
    fputs(help, stderr);
    return NT_EXIT_USAGE;
}
