/*
 * nurture sends list | show | requeue: the operator's view of the send
 * records, and the one deliberate way to send again what a crashed run left
 * in doubt.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nurture/buf.h"
#include "nurture/tz.h"

#include "banned.h"

static const char help[] =
    "usage: nurture sends list [--state STATE] [--lead EMAIL|ID] [--limit N] [--json]\n"
    "       nurture sends show ID [--json]\n"
    "       nurture sends requeue [--now TIME] ID...\n"
    "\n"
    "list     the send records, newest first; STATE is claimed, sent, deferred,\n"
    "         failed or unknown\n"
    "show     one send: lead, campaign, step, state, attempts, the server's\n"
    "         answer, Message-ID\n"
    "requeue  send again: an `unknown` send (a run died between claiming it and\n"
    "         hearing the server's answer, so it may or may not have gone out)\n"
    "         or a `failed` one.  Check the relay's log first: a requeued send\n"
    "         goes out on the next run even if the first attempt was delivered.\n"
    "\n"
    "Options:\n"
    "  --json      machine-readable output\n"
    "  -h, --help  this help\n";

static void
send_json(nt_buf *b, const nt_send *s)
{
    char created[32], sent[32];

    nt_time_format_utc(s->created_at, created, sizeof(created));
    nt_time_format_utc(s->sent_at, sent, sizeof(sent));
    nt_buf_addf(b, "{\"id\":%lld,\"lead_id\":%lld,\"email\":", (long long)s->id,
                (long long)s->lead_id);
    nt_buf_add_json(b, s->email ? s->email : "", s->email ? strlen(s->email) : 0);
    nt_buf_adds(b, ",\"campaign\":");
    nt_buf_add_json(b, s->campaign, strlen(s->campaign));
    nt_buf_addf(b, ",\"version\":\"%s\",\"step\":", s->version);
    nt_buf_add_json(b, s->step_id, strlen(s->step_id));
    nt_buf_addf(b,
                ",\"state\":\"%s\",\"attempts\":%d,\"created\":\"%s\",\"sent\":%s%s%s,"
                "\"smtp_code\":%d,\"smtp_text\":",
                nt_send_state_name(s->state), s->attempts, created, s->sent_at ? "\"" : "",
                s->sent_at ? sent : "null", s->sent_at ? "\"" : "", s->smtp_code);
    nt_buf_add_json(b, s->smtp_text ? s->smtp_text : "", s->smtp_text ? strlen(s->smtp_text) : 0);
    nt_buf_adds(b, ",\"message_id\":");
    if (s->message_id)
        nt_buf_add_json(b, s->message_id, strlen(s->message_id));
    else
        nt_buf_adds(b, "null");
    nt_buf_addc(b, '}');
}

typedef struct list_ctx {
    int json;
    nt_buf *b;
    int64_t n;
} list_ctx;

static int
print_send(void *ctx, const nt_send *s)
{
    list_ctx *x = ctx;
    char created[32];

    if (x->json) {
        if (x->n)
            nt_buf_addc(x->b, ',');
        send_json(x->b, s);
    } else {
        nt_time_format_utc(s->created_at, created, sizeof(created));
        printf("%-8lld %-9s %-20s %-28s %s#%s  %d %s\n", (long long)s->id,
               nt_send_state_name(s->state), created, s->email ? s->email : "", s->campaign,
               s->step_id, s->smtp_code, s->smtp_text ? s->smtp_text : "");
    }
    x->n++;
    return 0;
}

static int
run_list(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"state", required_argument, NULL, 's'}, {"lead", required_argument, NULL, 'L'},
        {"limit", required_argument, NULL, 'l'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    int state = -1, json = 0, c, rc;
    const char *lead = NULL;
    int64_t limit = 0, lead_id = 0;
    nt_buf b;
    list_ctx x;
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help);
        else if (c == 's' && (state = nt_send_state_from(optarg)) < 0)
            return cli_usage_error("sends",
                                   "unknown state '%s' (claimed, sent, deferred, "
                                   "failed, unknown)",
                                   optarg);
        else if (c == 'L')
            lead = optarg;
        else if (c == 'l')
            limit = strtoll(optarg, NULL, 10);
        else if (c == 'j')
            json = 1;
        else if (c != 's')
            return cli_usage_error("sends", "bad option");
    }
    if ((rc = cli_open_store(cli)) != 0)
        return rc;
    if (lead) {
        nt_lead l;
        if ((rc = cli_find_lead(cli, lead, &l)) != 0)
            return rc;
        lead_id = l.id;
        nt_lead_release(&l);
    }
    nt_buf_init(&b, 0);
    x = (list_ctx){json, &b, 0};
    if (json)
        nt_buf_addc(&b, '[');
    nt_diag_clear(&d);
    err = nt_store_send_list(cli->store, state, lead_id, limit, print_send, &x, &d);
    if (json) {
        nt_buf_adds(&b, "]\n");
        fputs(nt_buf_cstr(&b), stdout);
    }
    nt_buf_release(&b);
    if (err != NT_OK) {
        cli_diag(&d);
        return cli_exit_for(err);
    }
    return NT_EXIT_OK;
}

static int
run_show(nt_cli *cli, int argc, char **argv)
{
    nt_send s;
    nt_buf b;
    nt_diag d;
    int json = argc > 2 && !strcmp(argv[2], "--json"), rc;

    if (argc < 2)
        return cli_usage_error("sends", "show needs a send id");
    if ((rc = cli_open_store(cli)) != 0)
        return rc;
    nt_diag_clear(&d);
    if (nt_store_send_get(cli->store, strtoll(argv[1], NULL, 10), &s, &d) != NT_OK) {
        cli_diag(&d);
        return NT_EXIT_FAIL;
    }
    nt_buf_init(&b, 0);
    if (json) {
        send_json(&b, &s);
        nt_buf_addc(&b, '\n');
    } else {
        char created[32], sent[32];
        nt_time_format_utc(s.created_at, created, sizeof(created));
        nt_time_format_utc(s.sent_at, sent, sizeof(sent));
        nt_buf_addf(&b,
                    "send %lld\n  lead        %lld <%s>\n  campaign    %s (version %s)\n"
                    "  step        %s\n  state       %s\n  attempts    %d\n  created     %s\n"
                    "  sent        %s\n  server      %d %s\n  message-id  %s\n",
                    (long long)s.id, (long long)s.lead_id, s.email ? s.email : "", s.campaign,
                    s.version, s.step_id, nt_send_state_name(s.state), s.attempts, created,
                    s.sent_at ? sent : "-", s.smtp_code, s.smtp_text ? s.smtp_text : "",
                    s.message_id ? s.message_id : "-");
    }
    fputs(nt_buf_cstr(&b), stdout);
    nt_buf_release(&b);
    nt_send_release(&s);
    return NT_EXIT_OK;
}

static int
run_requeue(nt_cli *cli, int argc, char **argv)
{
    int64_t now = cli_clock();
    int rc, bad = 0, i = 1;
    nt_diag d;

    if (argc > 2 && !strcmp(argv[1], "--now")) {
        if ((rc = cli_parse_time(argv[2], &now)) != 0)
            return rc;
        i = 3;
    }
    if (i >= argc)
        return cli_usage_error("sends", "requeue needs one or more send ids");
    if ((rc = cli_open_store(cli)) != 0)
        return rc;
    for (; i < argc; i++) {
        nt_send s;
        char text[300];
        nt_diag_clear(&d);
        if (nt_store_send_get(cli->store, strtoll(argv[i], NULL, 10), &s, &d) != NT_OK) {
            cli_diag(&d);
            bad++;
            continue;
        }
        if (s.state != NT_SEND_UNKNOWN && s.state != NT_SEND_FAILED) {
            cli_error("send %lld is %s; only unknown or failed sends can be requeued",
                      (long long)s.id, nt_send_state_name(s.state));
            nt_send_release(&s);
            bad++;
            continue;
        }
        snprintf(text, sizeof(text), "requeued by an operator (was %s)",
                 nt_send_state_name(s.state));
        free(s.smtp_text);
        s.smtp_text = strdup(text);
        s.state = NT_SEND_DEFERRED;
        s.next_attempt_at = now;
        s.updated_at = now;
        if (nt_store_send_mark(cli->store, &s, &d) != NT_OK ||
            nt_store_event_add(cli->store, s.lead_id, now, "requeued", NULL, &d) != NT_OK) {
            cli_diag(&d);
            bad++;
        } else {
            printf("send %lld requeued: it goes out on the next run\n", (long long)s.id);
        }
        nt_send_release(&s);
    }
    return bad ? NT_EXIT_FAIL : NT_EXIT_OK;
}

int
cmd_sends(nt_cli *cli, int argc, char **argv)
{
    if (argc < 2)
        return fputs(help, stderr), NT_EXIT_USAGE;
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
        return cli_help(help);
    if (!strcmp(argv[1], "list"))
        return run_list(cli, argc - 1, argv + 1);
    if (!strcmp(argv[1], "show"))
        return run_show(cli, argc - 1, argv + 1);
    if (!strcmp(argv[1], "requeue"))
        return run_requeue(cli, argc - 1, argv + 1);
    return cli_usage_error("sends", "unknown subcommand '%s' (list, show or requeue)", argv[1]);
}
