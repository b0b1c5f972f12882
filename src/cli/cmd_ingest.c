/*
 * nurture ingest: read what came back (replies, bounces, auto-replies,
 * complaints) from the configured mailbox, a Maildir, an mbox file, an IMAP
 * or POP3 mailbox, or one message on standard input from the MTA, and act
 * on each message once (inbound.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nurture/buf.h"
#include "nurture/classify.h"
#include "nurture/inbound.h"
#include "nurture/mailbox.h"

#include "banned.h"

static const char help[] =
    "usage: nurture ingest [--json] [--rules DIR] [--now TIME]\n"
    "       nurture ingest (--maildir DIR | --mbox FILE | --imap URL | --pop3 URL) [...]\n"
    "       nurture ingest [--envelope-to ADDRESS] -\n"
    "\n"
    "Read replies and bounces and act on each message once: bounces suppress\n"
    "(hard at once, soft after a few), out-of-office replies hold the lead's\n"
    "sequences until they are back, unsubscribe requests and complaints\n"
    "suppress, replies end the sequence and flag the lead as engaged.  Every\n"
    "message is kept (`nurture inbound list`).  Reading the same message again\n"
    "does nothing new.\n"
    "\n"
    "Without a source, reads the mailbox of the configuration's `inbound`.\n"
    "IMAP: handled messages are moved to the Processed folder, unclassified\n"
    "ones to Unknown; nothing is ever deleted.  Maildir: new/ to cur/.\n"
    "\n"
    "With '-', reads one message on standard input: for an MTA pipe or a\n"
    ".forward.  Any failure exits with 75 (EX_TEMPFAIL) so the MTA keeps the\n"
    "message and tries again.  The envelope recipient comes from\n"
    "--envelope-to, else $ORIGINAL_RECIPIENT or $RECIPIENT (Postfix pipe).\n"
    "\n"
    "Options:\n"
    "  --maildir DIR     a Maildir folder (holding tmp/ new/ cur/)\n"
    "  --mbox FILE       an mbox file (read only)\n"
    "  --imap URL        imaps://host/INBOX (login from the configuration)\n"
    "  --pop3 URL        pop3s://host (messages are left on the server)\n"
    "  --envelope-to A   the address the MTA delivered the message to\n"
    "  --rules DIR       classifier rules folder (default: the configuration's)\n"
    "  --now TIME        act as if it were TIME (for tests)\n"
    "  --json            one JSON object per message, then a summary object\n"
    "  -h, --help        this help\n";

typedef struct ingest_stats {
    int64_t seen, stored, duplicates, skipped, errors;
    int64_t kinds[6];
} ingest_stats;

typedef struct ingest {
    nt_cli *cli;
    nt_inbound_env env;
    int json;
    int tty;
    ingest_stats st;
} ingest;

static void
print_outcome(ingest *g, const char *key, const nt_inbound_outcome *o)
{
    if (g->json) {
        nt_buf b;
        nt_buf_init(&b, 0);
        nt_buf_addf(&b, "{\"id\":%lld,\"key\":", (long long)o->id);
        if (key)
            nt_buf_add_json(&b, key, strlen(key));
        else
            nt_buf_adds(&b, "null");
        nt_buf_addf(&b, ",\"kind\":\"%s\",\"duplicate\":%s,\"lead_id\":", nt_inkind_name(o->kind),
                    o->duplicate ? "true" : "false");
        if (o->lead_id)
            nt_buf_addf(&b, "%lld", (long long)o->lead_id);
        else
            nt_buf_adds(&b, "null");
        nt_buf_addf(&b, ",\"forged_token\":%s,\"action\":", o->forged ? "true" : "false");
        nt_buf_add_json(&b, o->action, strlen(o->action));
        nt_buf_adds(&b, "}\n");
        fwrite(b.data, 1, b.len, stdout);
        nt_buf_release(&b);
    } else if (!o->duplicate) {
        printf("#%lld %s", (long long)o->id, nt_inkind_name(o->kind));
        if (o->lead_id)
            printf(" (lead %lld)", (long long)o->lead_id);
        printf(": %s\n", o->action);
    }
}

static void
count(ingest *g, const nt_inbound_outcome *o)
{
    g->st.seen++;
    if (o->duplicate) {
        g->st.duplicates++;
        return;
    }
    g->st.stored++;
    if ((unsigned)o->kind < 6)
        g->st.kinds[o->kind]++;
}

static void
print_summary(const ingest *g, const char *source)
{
    static const nt_inkind order[] = {NT_IN_REPLY,       NT_IN_BOUNCE,    NT_IN_AUTOREPLY,
                                      NT_IN_UNSUBSCRIBE, NT_IN_COMPLAINT, NT_IN_UNKNOWN};
    const ingest_stats *s = &g->st;

    if (g->json) {
        printf("{\"summary\":true,\"source\":\"%s\",\"messages\":%lld,\"new\":%lld,"
               "\"duplicates\":%lld,\"skipped\":%lld,\"errors\":%lld",
               source, (long long)s->seen, (long long)s->stored, (long long)s->duplicates,
               (long long)s->skipped, (long long)s->errors);
        for (size_t i = 0; i < 6; i++)
            printf(",\"%s\":%lld", nt_inkind_name(order[i]), (long long)s->kinds[order[i]]);
        printf("}\n");
        return;
    }
    printf("ingest from %s: %lld message(s), %lld new", source, (long long)s->seen,
           (long long)s->stored);
    for (size_t i = 0; i < 6; i++)
        if (s->kinds[order[i]])
            printf(", %lld %s", (long long)s->kinds[order[i]], nt_inkind_name(order[i]));
    if (s->duplicates)
        printf("; %lld seen before", (long long)s->duplicates);
    if (s->skipped)
        printf("; %lld not read (too large, or taken by another client)", (long long)s->skipped);
    putchar('\n');
}

/* ---- standard input ---- */

static int
ingest_stdin(ingest *g, const char *envelope_to)
{
    nt_buf raw;
    char chunk[65536];
    size_t n;
    nt_inbound_src src = {"stdin", NULL, envelope_to};
    nt_inbound_outcome o;
    nt_diag d;
    nt_err err;

    nt_buf_init(&raw, NT_INMSG_MAX_BYTES * 2);
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        nt_buf_add(&raw, chunk, n);
    if (ferror(stdin) || raw.err) {
        cli_error("reading the message from standard input failed");
        nt_buf_release(&raw);
        return NT_EXIT_TEMPFAIL;
    }
    nt_diag_clear(&d);
    err = nt_inbound_process(&g->env, &src, raw.data ? raw.data : "", raw.len, &o, &d);
    nt_buf_release(&raw);
    if (err != NT_OK) {
        cli_diag(&d);
        return NT_EXIT_TEMPFAIL;
    }
    count(g, &o);
    print_outcome(g, NULL, &o);
    return NT_EXIT_OK;
}

/* ---- mailboxes ---- */

static void
show_progress(ingest *g, size_t i, size_t total)
{
    if (!g->tty || g->json || total < 50)
        return;
    fprintf(stderr, "\r%zu/%zu messages", i, total);
    if (i == total)
        fputc('\n', stderr);
}

/* A message stored before under this key: finish it as it was decided. */
static nt_err
finish_known(ingest *g, nt_mailbox *mb, const nt_mailmsg *m, int64_t id, nt_diag *d)
{
    nt_inbound in;
    nt_mailbox_disp disp;
    nt_err err = nt_store_inbound_get(g->env.st, id, 0, &in, d);

    if (err != NT_OK)
        return err;
    disp = !strcmp(in.kind, "unknown") ? NT_MAILBOX_UNKNOWN : NT_MAILBOX_PROCESSED;
    nt_inbound_release(&in);
    g->st.seen++;
    g->st.duplicates++;
    return nt_mailbox_finish(mb, m, disp, d);
}

static nt_err
one_message(ingest *g, nt_mailbox *mb, nt_mailmsg *m, const char *source, nt_diag *d)
{
    nt_inbound_src src = {source, m->key, NULL};
    nt_inbound_outcome o;
    int64_t id = 0;
    nt_err err;

    if ((err = nt_store_inbound_find(g->env.st, NULL, NULL, m->key, &id, d)) != NT_OK)
        return err;
    if (id)
        return finish_known(g, mb, m, id, d);
    err = nt_mailbox_fetch(mb, m, d);
    if (err == NT_ENOTFOUND) {
        cli_diag(d); /* another client took it meanwhile */
        g->st.skipped++;
        return NT_OK;
    }
    if (err == NT_ELIMIT) {
        /* Too large to read: a person looks at it in the Unknown folder. */
        cli_diag(d);
        g->st.skipped++;
        return nt_mailbox_finish(mb, m, NT_MAILBOX_UNKNOWN, d);
    }
    if (err != NT_OK)
        return err;
    if ((err = nt_inbound_process(&g->env, &src, m->raw, m->len, &o, d)) != NT_OK)
        return err;
    count(g, &o);
    print_outcome(g, m->key, &o);
    return nt_mailbox_finish(
        mb, m, o.kind == NT_IN_UNKNOWN ? NT_MAILBOX_UNKNOWN : NT_MAILBOX_PROCESSED, d);
}

static const char *
kind_word(nt_mailbox_kind k)
{
    static const char *const w[] = {"maildir", "mbox", "imap", "pop3"};
    return w[k];
}

static nt_err
ingest_mailbox(ingest *g, nt_mailbox_opts *o, nt_diag *d)
{
    nt_store *st = g->env.st;
    const char *state_name = o->kind == NT_MAILBOX_IMAP ? o->url : NULL;
    nt_mailbox *mb = NULL;
    nt_mailmsg m;
    uint64_t uv, last;
    size_t total, i = 0;
    nt_err err;

    if (state_name && (err = nt_store_mailbox_state_get(st, state_name, &o->uidvalidity,
                                                        &o->last_uid, d)) != NT_OK)
        return err;
    if ((err = nt_mailbox_open(o, &mb, d)) != NT_OK)
        return err;
    total = nt_mailbox_count(mb);
    while ((err = nt_mailbox_next(mb, &m, d)) == NT_OK) {
        if ((err = one_message(g, mb, &m, kind_word(o->kind), d)) != NT_OK)
            break;
        show_progress(g, ++i, total);
    }
    if (err == NT_ENOTFOUND)
        err = NT_OK;
    if (state_name) {
        nt_diag d2;
        nt_mailbox_state(mb, &uv, &last);
        nt_diag_clear(&d2);
        if (nt_store_mailbox_state_set(st, state_name, uv, last, err == NT_OK ? d : &d2) != NT_OK &&
            err == NT_OK)
            err = NT_ESTORE;
    }
    print_summary(g, nt_mailbox_name(mb));
    nt_mailbox_close(mb);
    return err;
}

static int
read_password(nt_cli *cli, nt_buf *pw)
{
    nt_diag d;

    if (!cli->cfg.inbound.password.env && !cli->cfg.inbound.password.file)
        return 0;
    nt_diag_clear(&d);
    if (nt_secret_read(&cli->cfg.inbound.password, "inbound password", pw, &d) != NT_OK) {
        cli_diag(&d);
        return NT_EXIT_CONFIG;
    }
    return 0;
}

/* Fill o from the configuration's inbound section, unless a source was
 * given on the command line.  1 when there is a source. */
static int
configured_source(const nt_config *cfg, nt_mailbox_opts *o)
{
    if (o->path || o->url)
        return 1;
    switch (cfg->inbound.kind) {
    case NT_INBOUND_IMAP:
        o->kind = NT_MAILBOX_IMAP;
        o->url = cfg->inbound.url;
        return 1;
    case NT_INBOUND_POP3:
        o->kind = NT_MAILBOX_POP3;
        o->url = cfg->inbound.url;
        return 1;
    case NT_INBOUND_MAILDIR:
        o->kind = NT_MAILBOX_MAILDIR;
        o->path = cfg->inbound.maildir;
        return 1;
    default:
        return 0;
    }
}

static int
exit_for_mailbox(nt_err err)
{
    /* The mailbox or the database will be back: cron tries again. */
    if (err == NT_EIO || err == NT_EBUSY || err == NT_ESTORE)
        return NT_EXIT_TEMPFAIL;
    return cli_exit_for(err);
}

static int
run_mailbox(ingest *g, nt_mailbox_opts *o)
{
    nt_cli *cli = g->cli;
    nt_buf pw;
    nt_diag d;
    nt_err err;
    int rc;

    nt_buf_init(&pw, 4096);
    if ((o->kind == NT_MAILBOX_IMAP || o->kind == NT_MAILBOX_POP3) &&
        (rc = read_password(cli, &pw)) != 0) {
        nt_buf_release(&pw);
        return rc;
    }
    o->username = cli->cfg.inbound.username;
    o->password = pw.data;
    o->ca_file = cli->cfg.inbound.ca_file;
    o->processed_folder = cli->cfg.inbound.processed_folder;
    o->unknown_folder = cli->cfg.inbound.unknown_folder;
    nt_diag_clear(&d);
    err = ingest_mailbox(g, o, &d);
    if (pw.data)
        memset(pw.data, 0, pw.len);
    nt_buf_release(&pw);
    if (err != NT_OK) {
        cli_diag(&d);
        return exit_for_mailbox(err);
    }
    return NT_EXIT_OK;
}

/* Set up the classifier and the key; g->env borrows them. */
static int
prepare(ingest *g, const char *rules, int64_t now, nt_classifier **cls, nt_token_key *key)
{
    int rc;

    if ((rc = cli_open_store(g->cli)) != 0 || (rc = cli_load_key(g->cli, key)) != 0 ||
        (rc = cli_load_classifier(&g->cli->cfg, rules, cls)) != 0)
        return rc;
    g->env = (nt_inbound_env){g->cli->store, &g->cli->cfg, *cls, key, now};
    g->tty = isatty(2);
    return 0;
}

int
cli_ingest_configured(nt_cli *cli, int64_t now, int json)
{
    ingest g = {.cli = cli, .json = json};
    nt_mailbox_opts o = {0};
    nt_classifier *cls = NULL;
    nt_token_key key = {0};
    int rc;

    if (!configured_source(&cli->cfg, &o))
        return 0;
    if ((rc = prepare(&g, NULL, now, &cls, &key)) == 0)
        rc = run_mailbox(&g, &o);
    nt_classifier_free(cls);
    nt_token_key_release(&key);
    return rc;
}

int
cmd_ingest(nt_cli *cli, int argc, char **argv)
{
    enum { O_MAILDIR = 1000, O_MBOX, O_IMAP, O_POP3, O_ENV, O_RULES, O_NOW, O_JSON };
    static const struct option opts[] = {
        {"maildir", required_argument, NULL, O_MAILDIR},
        {"mbox", required_argument, NULL, O_MBOX},
        {"imap", required_argument, NULL, O_IMAP},
        {"pop3", required_argument, NULL, O_POP3},
        {"envelope-to", required_argument, NULL, O_ENV},
        {"rules", required_argument, NULL, O_RULES},
        {"now", required_argument, NULL, O_NOW},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ingest g = {.cli = cli};
    nt_mailbox_opts o = {0};
    const char *rules = NULL, *envelope_to = NULL;
    int64_t now = 0;
    int c, rc, sources = 0, from_stdin;
    nt_classifier *cls = NULL;
    nt_token_key key = {0};

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return cli_help(help);
        case O_MAILDIR:
        case O_MBOX:
            o.kind = c == O_MAILDIR ? NT_MAILBOX_MAILDIR : NT_MAILBOX_MBOX;
            o.path = optarg;
            sources++;
            break;
        case O_IMAP:
        case O_POP3:
            o.kind = c == O_IMAP ? NT_MAILBOX_IMAP : NT_MAILBOX_POP3;
            o.url = optarg;
            sources++;
            break;
        case O_ENV:
            envelope_to = optarg;
            break;
        case O_RULES:
            rules = optarg;
            break;
        case O_NOW:
            if (cli_parse_time(optarg, &now) != 0)
                return NT_EXIT_USAGE;
            break;
        case O_JSON:
            g.json = 1;
            break;
        default:
            return cli_usage_error("ingest", "bad option");
        }
    }
    from_stdin = optind + 1 == argc && !strcmp(argv[optind], "-");
    if (optind < argc && !from_stdin)
        return cli_usage_error("ingest", "unexpected argument '%s' (use - for standard input)",
                               argv[optind]);
    if (sources + from_stdin > 1)
        return cli_usage_error("ingest", "give one source");
    if (!envelope_to)
        envelope_to = getenv("ORIGINAL_RECIPIENT");
    if (!envelope_to)
        envelope_to = getenv("RECIPIENT");
    rc = prepare(&g, rules, now ? now : cli_clock(), &cls, &key);
    if (rc == 0 && from_stdin) {
        rc = ingest_stdin(&g, envelope_to);
    } else if (rc == 0 && !configured_source(&cli->cfg, &o)) {
        cli_error("no source: give --maildir, --mbox, --imap, --pop3 or '-', or configure "
                  "`inbound` in %s",
                  cli->cfg.path);
        rc = NT_EXIT_USAGE;
    } else if (rc == 0) {
        rc = run_mailbox(&g, &o);
    }
    if (rc != 0 && from_stdin)
        rc = NT_EXIT_TEMPFAIL; /* the MTA keeps the message and retries */
    nt_classifier_free(cls);
    nt_token_key_release(&key);
    return rc;
}
