/*
 * nurture classify [--json] [--rules DIR] FILE... | -: what nurture makes of
 * inbound messages, without a database.  It is how a user checks a message
 * or a rule they wrote; the tests and benchmarks use it too.  The
 * configuration is optional: when there is one it names the rules folder
 * and the secret that verifies tokens; without one the built-in rules are
 * used and tokens are shown as found.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nurture/attribute.h"
#include "nurture/buf.h"
#include "nurture/classify.h"
#include "nurture/mime.h"

#include "banned.h"

static const char help[] =
    "usage: nurture classify [--json] [--rules DIR] FILE... | -\n"
    "\n"
    "Classify inbound messages without touching the database: how to check\n"
    "what nurture makes of a message, or of a rule you wrote.  For each one:\n"
    "its kind (complaint, bounce, auto-reply, unsubscribe, reply, unknown) and\n"
    "the rule that decided; for a bounce each failed recipient with its status\n"
    "code, reason and hard or soft; the original Message-ID; the token naming\n"
    "our send (verified when the configuration has a secret, else shown as\n"
    "found); an out-of-office's return date; a reply's intent and the text its\n"
    "author wrote.  `-` reads one message from standard input.\n"
    "\n"
    "Options:\n"
    "  --json       one JSON object per message, one per line\n"
    "  --rules DIR  rules folder (default: the configuration's `rules`, else\n"
    "               the built-in rules); a file not in it is taken built in\n"
    "  -h, --help   this help\n"
    "\n"
    "Exits 0 when every message was read, 65 when one could not be parsed,\n"
    "66 when a file is missing.\n";

/* What stays the same for every file. */
struct ctx {
    nt_classifier *cls;
    nt_token_key key; /* ready only with a configured secret */
    const char *bounce_local;
    int json;
};

/* The whole of path ("-": standard input) into out; 0 or an exit code. */
static int
read_input(const char *path, nt_buf *out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int rc = 0;

    if (!f) {
        cli_error("%s: %s", path, strerror(errno));
        return errno == ENOENT || errno == ENOTDIR ? NT_EXIT_NOINPUT : NT_EXIT_IO;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && !out->err)
        nt_buf_add(out, chunk, n);
    if (ferror(f)) {
        cli_error("%s: %s", path, strerror(errno));
        rc = errno == EISDIR ? NT_EXIT_NOINPUT : NT_EXIT_IO;
    }
    if (f != stdin)
        fclose(f);
    return rc;
}

/* The Message-ID of what this message answers or returns. */
static const char *
original_id(const nt_inmsg *m)
{
    return m->returned_message_id ? m->returned_message_id : m->in_reply_to;
}

/* ---- text ---- */

static void
text_field(nt_buf *b, const char *label, const char *value)
{
    if (value && *value)
        nt_buf_addf(b, "  %-12s %s\n", label, value);
}

static void
text_bounce(nt_buf *b, const nt_bounce_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const nt_bounced *it = &r->items[i];
        nt_buf_addf(b, "  %-12s %s  %s  %s  %s\n", "recipient", it->recipient,
                    it->status[0] ? it->status : "-", nt_bounce_reason_name(it->reason),
                    it->hard ? "hard" : "soft");
        text_field(b, "diagnostic", it->diagnostic);
    }
}

static void
text_token(nt_buf *b, const struct ctx *x, const nt_attribution *a)
{
    if (a->token[0] && a->by != NT_ATTR_NONE)
        nt_buf_addf(b, "  %-12s %s in %s (%s): send %lld, verified\n", "token", a->token, a->where,
                    nt_attr_method_name(a->by), (long long)a->send_id);
    else if (a->token[0])
        nt_buf_addf(b, "  %-12s %s in %s: not verified (%s)\n", "token", a->token, a->where,
                    x->key.ready ? "no candidate verified" : "no secret configured");
    if (a->forged)
        nt_buf_addf(b, "  %-12s %s in %s: does not verify, ignored\n", "forged", a->forged_token,
                    a->forged_where);
}

static void
text_visible(nt_buf *b, const char *s)
{
    nt_buf_addf(b, "  %-12s", "text");
    for (const char *p = s; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        nt_buf_addf(b, "%s| %.*s\n", p == s ? " " : "               ", (int)n, p);
        p += n + (nl != NULL);
    }
}

static void
print_text(const struct ctx *x, const char *path, const nt_inmsg *m, const nt_classification *cl,
           const nt_attribution *a)
{
    nt_buf b;

    nt_buf_init(&b, 0);
    nt_buf_addf(&b, "%s\n", path);
    text_field(&b, "kind", nt_inkind_name(cl->kind));
    text_field(&b, "rule", cl->rule);
    text_field(&b, "from", m->from_addr);
    text_field(&b, "subject", m->subject);
    text_field(&b, "feedback", cl->feedback_type);
    text_bounce(&b, &cl->bounce);
    text_field(&b, "message-id", original_id(m));
    text_token(&b, x, a);
    text_field(&b, "return date", cl->return_date);
    if (cl->intent != NT_INTENT_NONE)
        nt_buf_addf(&b, "  %-12s %s (rule %s)\n", "intent", nt_intent_name(cl->intent),
                    cl->intent_rule ? cl->intent_rule : "-");
    if (cl->visible && *cl->visible)
        text_visible(&b, cl->visible);
    fputs(nt_buf_cstr(&b), stdout);
    nt_buf_release(&b);
}

/* ---- JSON ---- */

static void
json_str(nt_buf *b, const char *key, const char *value)
{
    nt_buf_addf(b, ",\"%s\":", key);
    if (value)
        nt_buf_add_json(b, value, strlen(value));
    else
        nt_buf_adds(b, "null");
}

static void
json_bounce(nt_buf *b, const nt_bounce_result *r)
{
    nt_buf_adds(b, ",\"recipients\":[");
    for (size_t i = 0; i < r->n; i++) {
        const nt_bounced *it = &r->items[i];
        nt_buf_adds(b, i ? ",{\"address\":" : "{\"address\":");
        nt_buf_add_json(b, it->recipient, strlen(it->recipient));
        json_str(b, "status", it->status[0] ? it->status : NULL);
        json_str(b, "reason", nt_bounce_reason_name(it->reason));
        nt_buf_addf(b, ",\"hard\":%s", it->hard ? "true" : "false");
        json_str(b, "rule", it->rule);
        json_str(b, "diagnostic", it->diagnostic);
        nt_buf_addc(b, '}');
    }
    nt_buf_addc(b, ']');
    /* The first recipient's, for the message as a whole. */
    json_str(b, "reason", r->n ? nt_bounce_reason_name(r->items[0].reason) : NULL);
    json_str(b, "status", r->n && r->items[0].status[0] ? r->items[0].status : NULL);
    if (r->n)
        nt_buf_addf(b, ",\"hard\":%s", r->items[0].hard ? "true" : "false");
    else
        nt_buf_adds(b, ",\"hard\":null");
}

static void
json_token(nt_buf *b, const nt_attribution *a)
{
    nt_buf_adds(b, ",\"token\":");
    if (a->token[0]) {
        nt_buf_adds(b, "{\"value\":");
        nt_buf_add_json(b, a->token, strlen(a->token));
        json_str(b, "where", a->where);
        json_str(b, "method", a->by != NT_ATTR_NONE ? nt_attr_method_name(a->by) : NULL);
        nt_buf_addf(b, ",\"verified\":%s", a->by != NT_ATTR_NONE ? "true" : "false");
        if (a->by != NT_ATTR_NONE)
            nt_buf_addf(b, ",\"send_id\":%lld}", (long long)a->send_id);
        else
            nt_buf_adds(b, ",\"send_id\":null}");
    } else {
        nt_buf_adds(b, "null");
    }
    nt_buf_adds(b, ",\"forged\":");
    if (a->forged) {
        nt_buf_adds(b, "{\"value\":");
        nt_buf_add_json(b, a->forged_token, strlen(a->forged_token));
        json_str(b, "where", a->forged_where);
        nt_buf_addc(b, '}');
    } else {
        nt_buf_adds(b, "null");
    }
}

static void
print_json(const char *path, const nt_inmsg *m, const nt_classification *cl,
           const nt_attribution *a)
{
    nt_buf b;

    nt_buf_init(&b, 0);
    nt_buf_adds(&b, "{\"file\":");
    nt_buf_add_json(&b, path, strlen(path));
    json_str(&b, "kind", nt_inkind_name(cl->kind));
    json_str(&b, "rule", cl->rule);
    json_str(&b, "from", m->from_addr);
    json_str(&b, "subject", m->subject);
    json_str(&b, "feedback_type", cl->feedback_type);
    json_bounce(&b, &cl->bounce);
    json_str(&b, "message_id", original_id(m));
    json_token(&b, a);
    json_str(&b, "return_date", cl->return_date[0] ? cl->return_date : NULL);
    json_str(&b, "intent", cl->intent != NT_INTENT_NONE ? nt_intent_name(cl->intent) : NULL);
    json_str(&b, "intent_rule", cl->intent_rule);
    json_str(&b, "visible", cl->visible);
    nt_buf_adds(&b, "}\n");
    fputs(nt_buf_cstr(&b), stdout);
    nt_buf_release(&b);
}

static void
print_error(const struct ctx *x, const char *path, const nt_diag *d)
{
    nt_buf b;

    cli_error("%s: %s", path, d->msg);
    if (!x->json)
        return;
    nt_buf_init(&b, 0);
    nt_buf_adds(&b, "{\"file\":");
    nt_buf_add_json(&b, path, strlen(path));
    json_str(&b, "error", d->msg);
    nt_buf_adds(&b, "}\n");
    fputs(nt_buf_cstr(&b), stdout);
    nt_buf_release(&b);
}

/* One file: 0, or the exit code it calls for. */
static int
classify_one(const struct ctx *x, const char *path)
{
    nt_buf raw;
    nt_inmsg m;
    nt_classification cl;
    nt_attribution a;
    nt_diag d;
    nt_err err;
    int rc;

    nt_buf_init(&raw, NT_INMSG_MAX_BYTES);
    rc = read_input(path, &raw);
    if (rc == 0 && raw.err) {
        cli_error("%s: %s", path,
                  raw.err == NT_ELIMIT ? "message over the size limit" : "out of memory");
        rc = raw.err == NT_ELIMIT ? NT_EXIT_DATA : NT_EXIT_SOFTWARE;
    }
    if (rc != 0) {
        nt_buf_release(&raw);
        return rc;
    }
    nt_diag_clear(&d);
    err = nt_inmsg_parse(raw.data ? raw.data : "", raw.len, &m, &d);
    nt_buf_release(&raw);
    if (err != NT_OK) {
        print_error(x, path, &d);
        return err == NT_ENOMEM ? NT_EXIT_SOFTWARE : NT_EXIT_DATA;
    }
    if ((err = nt_classify(x->cls, &m, &cl, &d)) != NT_OK) {
        print_error(x, path, &d);
        nt_inmsg_release(&m);
        return NT_EXIT_SOFTWARE;
    }
    nt_attribute(x->key.ready ? &x->key : NULL, &m, NULL, x->bounce_local, &a);
    if (x->json)
        print_json(path, &m, &cl, &a);
    else
        print_text(x, path, &m, &cl, &a);
    nt_classification_release(&cl);
    nt_inmsg_release(&m);
    return 0;
}

/* The configuration when there is one; 0, or an exit code. */
static int
optional_config(nt_cli *cli, const nt_config **cfg)
{
    char path[4096];
    nt_diag d;
    int rc;

    *cfg = NULL;
    nt_diag_clear(&d);
    if (nt_config_find(cli->config_path, path, sizeof(path), &d) != NT_OK) {
        /* Asked for by name, it must be there; found by default, it may not. */
        if ((cli->config_path && *cli->config_path) || getenv("NURTURE_CONFIG")) {
            cli_diag(&d);
            return NT_EXIT_CONFIG;
        }
        return 0;
    }
    if ((rc = cli_load_config(cli)) != 0)
        return rc;
    *cfg = &cli->cfg;
    return 0;
}

/* A missing file outranks a bad one: 66 over 65 over 0. */
static int
worst(int a, int b)
{
    if (a == NT_EXIT_NOINPUT || b == NT_EXIT_NOINPUT)
        return NT_EXIT_NOINPUT;
    return a ? a : b;
}

int
cmd_classify(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"rules", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *rules = NULL;
    const nt_config *cfg = NULL;
    struct ctx x;
    int c, rc = 0;

    memset(&x, 0, sizeof(x));
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help);
        else if (c == 'j')
            x.json = 1;
        else if (c == 'r')
            rules = optarg;
        else
            return cli_usage_error("classify", "bad option");
    }
    if (optind >= argc)
        return cli_usage_error("classify", "classify needs one or more files, or - for "
                                           "standard input");
    if ((rc = optional_config(cli, &cfg)) != 0)
        return rc;
    if (cfg && (cfg->secret.env || cfg->secret.file) && (rc = cli_load_key(cli, &x.key)) != 0)
        return rc;
    x.bounce_local = cfg && cfg->bounce_local ? cfg->bounce_local : "bounces";
    if ((rc = cli_load_classifier(cfg, rules, &x.cls)) != 0) {
        nt_token_key_release(&x.key);
        return rc;
    }
    for (int i = optind; i < argc; i++)
        rc = worst(rc, classify_one(&x, argv[i]));
    nt_classifier_free(x.cls);
    nt_token_key_release(&x.key);
    return rc;
}
