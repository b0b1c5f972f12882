/*
 * nurture lead add | import | show | list | set-stage: how leads get in and
 * how people and programs look at them.
 *
 * Everything here is presentation: the checks live in lead.c, the import
 * engine in import.c, the data in the store.  Output for people escapes
 * control characters (an imported value must not be able to drive the
 * terminal); --json output is for programs and is one JSON document.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "nurture/buf.h"
#include "nurture/import.h"
#include "nurture/lead.h"
#include "nurture/tz.h"

#include "banned.h"

static const char help_lead[] =
    "usage: nurture lead add EMAIL [--first-name X] [--last-name X] [--company X] [--title X]\n"
    "                        [--phone X] [--owner X] [--source X] [--timezone ZONE]\n"
    "                        [--stage STAGE] [--field NAME=VALUE]... [--json]\n"
    "       nurture lead import [--strict] [--format csv|jsonl] [--json] FILE|-\n"
    "       nurture lead show EMAIL|ID [--json]\n"
    "       nurture lead list [--stage STAGE] [--limit N] [--json]\n"
    "       nurture lead set-stage EMAIL|ID STAGE [--json]\n"
    "       nurture lead unsuppress EMAIL|ID [--resume] [--json]\n"
    "       nurture lead explain EMAIL|ID [--now TIME] [--json]\n"
    "\n"
    "add        add a lead, or update the lead with that address\n"
    "import     import leads from a CSV file or JSON lines ('-': standard input)\n"
    "show       one lead: fields, enrollments and timeline\n"
    "list       leads, oldest first, optionally of one stage\n"
    "set-stage  move a lead to another stage\n"
    "unsuppress take a lead off the suppression list (undo a bounce or unsubscribe\n"
    "           that was wrong)\n"
    "explain    the lead's score, rule by rule, its queue entries and its timeline\n"
    "\n"
    "`nurture lead COMMAND --help` says more about each.\n";

static const char help_add[] =
    "usage: nurture lead add EMAIL [OPTIONS]\n"
    "\n"
    "Add a lead, or update the lead with that address (fields not given are\n"
    "kept).  The address is normalised (spaces, domain case, international\n"
    "domains); the stage must be one of the configured stages (default: the\n"
    "configuration's default_stage); the time zone an IANA name.\n"
    "\n"
    "Options:\n"
    "  --first-name X, --last-name X, --company X, --title X, --phone X,\n"
    "  --owner X, --source X   standard fields\n"
    "  --timezone ZONE         e.g. Europe/Berlin\n"
    "  --stage STAGE           e.g. lead (any case)\n"
    "  --field NAME=VALUE      a custom field (repeatable); NAME in lower case,\n"
    "                          letters, digits and '_'\n"
    "  --json                  print the stored lead as JSON\n"
    "  -h, --help              this help\n";

static const char help_import[] =
    "usage: nurture lead import [--strict] [--format csv|jsonl] [--json] FILE|-\n"
    "\n"
    "Import leads from a CSV file (RFC 4180, with a header naming the columns,\n"
    "one of them the email address) or from JSON lines (one object per line,\n"
    "as a web form or a CRM sends them).  '-' reads standard input; its\n"
    "format is JSON lines unless --format says otherwise, and each lead is\n"
    "stored as it arrives.\n"
    "\n"
    "Columns are matched by name, ignoring case, spaces and dashes, with the\n"
    "usual aliases ('E-mail', 'First Name', 'Time Zone', 'Lifecycle Stage',\n"
    "'Company Name'...); other columns become custom fields.  A lead already\n"
    "there (same address) is updated, and empty cells keep what is stored.\n"
    "Bad rows are reported with their line number and skipped; the rest are\n"
    "imported.\n"
    "\n"
    "Options:\n"
    "  --strict               all or nothing: if any row is bad, import none\n"
    "  --format csv|jsonl     the input format (default: from the file name:\n"
    "                         .csv, .jsonl or .ndjson)\n"
    "  --json                 print the result as one JSON object\n"
    "  -h, --help             this help\n"
    "\n"
    "Exit status: 0 all rows imported; 1 some rows rejected (the others\n"
    "imported); 65 nothing imported (bad rows with --strict, or an unusable\n"
    "file); 66 the file cannot be read.\n";

static const char help_show[] = "usage: nurture lead show EMAIL|ID [--json]\n"
                                "\n"
                                "Show one lead: every field, custom fields, the campaigns it is\n"
                                "enrolled in, and its timeline (times in UTC).\n"
                                "\n"
                                "Options:\n"
                                "  --json      print one JSON object\n"
                                "  -h, --help  this help\n";

static const char help_list[] = "usage: nurture lead list [--stage STAGE] [--limit N] [--json]\n"
                                "\n"
                                "List leads, oldest first.\n"
                                "\n"
                                "Options:\n"
                                "  --stage STAGE  only leads in this stage\n"
                                "  --limit N      at most N leads\n"
                                "  --json         print one JSON array of lead objects\n"
                                "  -h, --help     this help\n";

static const char help_set_stage[] =
    "usage: nurture lead set-stage EMAIL|ID STAGE [--json]\n"
    "\n"
    "Move a lead to another stage (one of the configured stages, any case).\n"
    "The change goes into the lead's timeline.\n"
    "\n"
    "Options:\n"
    "  --json      print {id, email, from, to, changed}\n"
    "  -h, --help  this help\n";

/* ---- output helpers ---- */

static void
stage_list(const nt_config *cfg, char *out, size_t outsz)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < cfg->nstages && o < outsz; i++) {
        int w = snprintf(out + o, outsz - o, "%s%s", i ? ", " : "", cfg->stages[i].name);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

/* The configured spelling of stage, or NULL after printing an error. */
static const char *
canonical_stage(const nt_config *cfg, const char *stage)
{
    int i = nt_config_stage_index(cfg, stage);
    char names[512];

    if (i >= 0)
        return cfg->stages[i].name;
    stage_list(cfg, names, sizeof(names));
    cli_error("unknown stage '%s'; the stages are: %s", stage, names);
    return NULL;
}

/* ---- add ---- */

static int
set_checked(nt_lead *l, const char *field, const char *label, const char *value)
{
    nt_diag d;
    nt_err err;

    nt_diag_clear(&d);
    if (nt_import_value_check(field, label, value, strlen(value), &d) != NT_OK) {
        cli_error("%s", d.msg);
        return NT_EXIT_USAGE;
    }
    if ((err = nt_lead_set(l, field, value)) != NT_OK) {
        if (err == NT_ELIMIT)
            cli_error("more than %d custom fields", NT_LEAD_MAX_FIELDS);
        else
            cli_error("%s", nt_strerror(err));
        return err == NT_ELIMIT ? NT_EXIT_USAGE : NT_EXIT_SOFTWARE;
    }
    return 0;
}

static int
add_field(nt_lead *l, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char name[80];

    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name)) {
        cli_error("--field needs NAME=VALUE, e.g. --field plan=pro (got '%s')", arg);
        return NT_EXIT_USAGE;
    }
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    if (!nt_field_name_ok(name)) {
        cli_error("--field: '%s' is not a field name: use lower-case letters, digits and '_', "
                  "starting with a letter",
                  name);
        return NT_EXIT_USAGE;
    }
    if (!strcmp(name, "email")) {
        cli_error("--field: give the address as the first argument, not as a field");
        return NT_EXIT_USAGE;
    }
    return set_checked(l, name, name, eq + 1);
}

static int
cmd_add(nt_cli *cli, int argc, char **argv)
{
    enum { O_FIELD = 1000, O_JSON };
    static const struct option opts[] = {
        {"first-name", required_argument, NULL, 'f'},
        {"last-name", required_argument, NULL, 'l'},
        {"company", required_argument, NULL, 'c'},
        {"title", required_argument, NULL, 't'},
        {"phone", required_argument, NULL, 'p'},
        {"owner", required_argument, NULL, 'o'},
        {"source", required_argument, NULL, 's'},
        {"timezone", required_argument, NULL, 'z'},
        {"stage", required_argument, NULL, 'g'},
        {"field", required_argument, NULL, O_FIELD},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const struct {
        int opt;
        const char *field;
    } std_opts[] = {
        {'f', "first_name"}, {'l', "last_name"}, {'c', "company"},  {'t', "title"}, {'p', "phone"},
        {'o', "owner"},      {'s', "source"},    {'z', "timezone"}, {'g', "stage"},
    };
    nt_lead l, stored;
    nt_diag d;
    int json = 0, c, rc = 0, created = 0, idx;
    nt_err err;

    nt_lead_init(&l);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
        size_t i;
        if (c == 'h') {
            nt_lead_release(&l);
            return cli_help(help_add);
        }
        if (c == O_JSON) {
            json = 1;
            continue;
        }
        if (c == O_FIELD) {
            if ((rc = add_field(&l, optarg)) != 0)
                goto out;
            continue;
        }
        for (i = 0; i < sizeof(std_opts) / sizeof(std_opts[0]); i++)
            if (std_opts[i].opt == c)
                break;
        if (i == sizeof(std_opts) / sizeof(std_opts[0])) {
            rc = cli_usage_error("lead add", "bad option");
            goto out;
        }
        if ((rc = set_checked(&l, std_opts[i].field, opts[idx].name, optarg)) != 0)
            goto out;
    }
    if (optind + 1 != argc) {
        rc = cli_usage_error("lead add", optind == argc ? "lead add needs an email address"
                                                        : "lead add takes one email address");
        goto out;
    }
    {
        char *norm = NULL;
        nt_diag_clear(&d);
        if (nt_email_normalize(argv[optind], strlen(argv[optind]), &norm, &d) != NT_OK) {
            cli_error("'%s' is not a usable email address: %s", argv[optind], d.msg);
            rc = NT_EXIT_DATA;
            goto out;
        }
        rc = set_checked(&l, "email", "email", norm);
        free(norm);
        if (rc != 0)
            goto out;
    }
    if ((rc = cli_load_config(cli)) != 0)
        goto out;
    {
        char **stages = calloc(cli->cfg.nstages + 1, sizeof(char *));
        if (!stages) {
            rc = NT_EXIT_SOFTWARE;
            goto out;
        }
        for (size_t i = 0; i < cli->cfg.nstages; i++)
            stages[i] = cli->cfg.stages[i].name;
        nt_diag_clear(&d);
        err = nt_lead_check(&l, stages, cli->cfg.nstages, NULL, &d);
        free(stages);
    }
    if (err != NT_OK) {
        cli_diag(&d);
        rc = err == NT_ENOMEM ? NT_EXIT_SOFTWARE : NT_EXIT_DATA;
        goto out;
    }
    if ((rc = cli_open_store(cli)) != 0)
        goto out;
    nt_diag_clear(&d);
    err = nt_store_lead_upsert(cli->store, &l, cli->cfg.default_stage, cli_clock(), &created, &d);
    if (err != NT_OK) {
        cli_diag(&d);
        rc = cli_exit_for(err);
        goto out;
    }
    nt_diag_clear(&d);
    if ((err = nt_store_lead_get(cli->store, l.id, NULL, &stored, &d)) != NT_OK) {
        cli_diag(&d);
        rc = cli_exit_for(err);
        goto out;
    }
    if (json) {
        nt_buf b;
        nt_buf_init(&b, 0);
        cli_lead_json(&b, &stored);
        nt_buf_addf(&b, ",\"created\":%s}\n", created ? "true" : "false");
        rc = cli_emit(&b);
    } else {
        printf("%s lead %lld: ", created ? "created" : "updated", (long long)stored.id);
        cli_put_text(stdout, stored.email, 0, 0, NULL);
        printf(" (stage ");
        cli_put_text(stdout, stored.stage, 0, 0, NULL);
        printf(")\n");
    }
    nt_lead_release(&stored);
out:
    nt_lead_release(&l);
    return rc;
}

/* ---- import ---- */

typedef struct progress {
    const char *name;
    long long size; /* bytes, or 0 when unknown (a pipe) */
    int width;      /* of the last line shown */
} progress;

static void
show_progress(void *ctx, const nt_import_stats *s)
{
    progress *p = ctx;
    int w;

    if (p->size > 0)
        w = fprintf(stderr, "\r%s: %lld rows read (%d%%)", p->name, (long long)s->rows,
                    (int)((double)s->bytes * 100.0 / (double)p->size));
    else
        w = fprintf(stderr, "\r%s: %lld rows read", p->name, (long long)s->rows);
    if (w > p->width)
        p->width = w;
    fflush(stderr);
}

static void
diags_json(nt_buf *b, const nt_diags *ds, nt_severity sev)
{
    int first = 1;

    nt_buf_addc(b, '[');
    for (size_t i = 0; i < ds->len; i++) {
        const nt_diag *d = &ds->items[i];
        if (d->sev != sev)
            continue;
        nt_buf_adds(b, first ? "{" : ",{");
        first = 0;
        nt_buf_addf(b, "\"line\":%d,\"column\":%d,\"message\":", d->line, d->col);
        cli_json_str(b, d->msg);
        nt_buf_addc(b, '}');
    }
    nt_buf_addc(b, ']');
}

static int
cmd_import(nt_cli *cli, int argc, char **argv)
{
    enum { O_STRICT = 1000, O_FORMAT, O_JSON };
    static const struct option opts[] = {
        {"strict", no_argument, NULL, O_STRICT},
        {"format", required_argument, NULL, O_FORMAT},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path, *name, *format = NULL;
    int json = 0, strict = 0, c, rc, fd, have_format;
    nt_import_opts o;
    nt_import_stats s;
    nt_diags ds;
    nt_err err;
    struct stat sb;
    progress prog = {NULL, 0, 0};

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help_import);
        else if (c == O_STRICT)
            strict = 1;
        else if (c == O_FORMAT)
            format = optarg;
        else if (c == O_JSON)
            json = 1;
        else
            return cli_usage_error("lead import", "bad option");
    }
    if (optind + 1 != argc)
        return cli_usage_error("lead import", optind == argc
                                                  ? "lead import needs a file name, or '-' "
                                                    "for standard input"
                                                  : "lead import takes one file");
    path = argv[optind];
    memset(&o, 0, sizeof(o));
    if (format) {
        if (!strcasecmp(format, "csv"))
            o.format = NT_IMPORT_CSV;
        else if (!strcasecmp(format, "jsonl") || !strcasecmp(format, "ndjson"))
            o.format = NT_IMPORT_JSONL;
        else
            return cli_usage_error("lead import", "unknown format '%s': use csv or jsonl", format);
        have_format = 1;
    } else if (!strcmp(path, "-")) {
        o.format = NT_IMPORT_JSONL;
        have_format = 1;
    } else {
        have_format = nt_import_format_from_name(path, &o.format);
    }
    if (!have_format)
        return cli_usage_error("lead import",
                               "cannot tell the format of '%s' from its name: add --format csv "
                               "or --format jsonl",
                               path);
    name = strcmp(path, "-") ? path : "<stdin>";
    if (!strcmp(path, "-")) {
        fd = STDIN_FILENO;
    } else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        cli_error("cannot open %s: %s", path, strerror(errno));
        return NT_EXIT_NOINPUT;
    }
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        cli_error("%s is a folder, not a file", path);
        close(fd);
        return NT_EXIT_NOINPUT;
    }
    if ((rc = cli_open_store(cli)) != 0) {
        if (fd != STDIN_FILENO)
            close(fd);
        return rc;
    }
    o.strict = strict;
    o.name = name;
    o.cfg = &cli->cfg;
    o.now = cli_clock();
    if (isatty(STDERR_FILENO)) {
        prog.name = name;
        prog.size = S_ISREG(sb.st_mode) ? (long long)sb.st_size : 0;
        o.progress = show_progress;
        o.progress_ctx = &prog;
        o.progress_every = 20000;
    }
    nt_diags_init(&ds, 1000);
    err = nt_import_fd(cli->store, &o, fd, &s, &ds);
    if (fd != STDIN_FILENO)
        close(fd);
    if (prog.width)
        fprintf(stderr, "\r%*s\r", prog.width, "");

    if (err == NT_OK)
        rc = s.rejected ? NT_EXIT_FAIL : NT_EXIT_OK;
    else if (err == NT_EINVAL)
        rc = NT_EXIT_DATA;
    else
        rc = cli_exit_for(err);

    if (json) {
        nt_buf b;
        nt_buf_init(&b, 0);
        nt_buf_adds(&b, "{\"file\":");
        cli_json_str(&b, name);
        nt_buf_addf(&b,
                    ",\"format\":\"%s\",\"strict\":%s,\"imported\":%s,\"rows\":%lld,"
                    "\"created\":%lld,\"updated\":%lld,\"rejected\":%lld,\"errors\":",
                    o.format == NT_IMPORT_CSV ? "csv" : "jsonl", strict ? "true" : "false",
                    err == NT_OK ? "true" : "false", (long long)s.rows, (long long)s.created,
                    (long long)s.updated, (long long)s.rejected);
        diags_json(&b, &ds, NT_SEV_ERROR);
        nt_buf_adds(&b, ",\"warnings\":");
        diags_json(&b, &ds, NT_SEV_WARNING);
        nt_buf_addf(&b, ",\"messages_not_listed\":%zu}\n", ds.dropped);
        if (cli_emit(&b) != NT_EXIT_OK)
            rc = NT_EXIT_SOFTWARE;
        nt_diags_release(&ds);
        return rc;
    }
    cli_diags(&ds);
    nt_diags_release(&ds);
    if (err == NT_OK) {
        printf("%s: %lld rows, %lld created, %lld updated, %lld rejected\n", name,
               (long long)s.rows, (long long)s.created, (long long)s.updated,
               (long long)s.rejected);
    } else if (strict && s.rejected) {
        printf("%s: %lld rows, %lld rejected; nothing imported (--strict)\n", name,
               (long long)s.rows, (long long)s.rejected);
    } else if (s.created || s.updated) {
        printf("%s: stopped after %lld rows: %lld created, %lld updated, %lld rejected\n", name,
               (long long)s.rows, (long long)s.created, (long long)s.updated,
               (long long)s.rejected);
    } else {
        printf("%s: nothing imported\n", name);
    }
    return rc;
}

/* ---- show ---- */

typedef struct show_ctx {
    nt_buf *b; /* JSON output, or NULL for people */
    int n;
} show_ctx;

static int
show_enrollment(void *ctx, const nt_enrollment *e)
{
    show_ctx *sc = ctx;
    char when[32];

    if (sc->b) {
        nt_buf *b = sc->b;
        nt_buf_adds(b, sc->n++ ? ",{\"campaign\":" : "{\"campaign\":");
        cli_json_str(b, e->campaign);
        nt_buf_adds(b, ",\"version\":");
        cli_json_str(b, e->version);
        nt_buf_addf(b, ",\"state\":\"%s\",\"step\":%d,\"last_step_id\":",
                    nt_enroll_state_name(e->state), e->step);
        cli_json_str(b, e->last_step_id);
        nt_buf_adds(b, ",\"enrolled_at\":");
        cli_json_time(b, e->enrolled_at);
        nt_buf_adds(b, ",\"last_sent_at\":");
        cli_json_time(b, e->last_sent_at);
        nt_buf_adds(b, ",\"due_at\":");
        cli_json_time(b, e->due_at);
        nt_buf_adds(b, ",\"next_at\":");
        cli_json_time(b, e->next_at);
        nt_buf_adds(b, ",\"exit_reason\":");
        cli_json_str(b, e->exit_reason);
        nt_buf_addc(b, '}');
        return 0;
    }
    if (sc->n++ == 0)
        printf("enrollments\n");
    printf("  ");
    cli_put_text(stdout, e->campaign, 24, 16, NULL);
    printf(" version ");
    cli_put_text(stdout, e->version, 16, 0, NULL);
    printf("  %s", nt_enroll_state_name(e->state));
    if (e->state == NT_ENROLL_ACTIVE && e->next_at == NT_NEVER) {
        printf(", step %d waiting for the server's answer", e->step);
    } else if (e->state == NT_ENROLL_ACTIVE) {
        nt_time_format_utc(e->next_at, when, sizeof(when));
        printf(", next step %d at %s", e->step + 1, when);
    }
    if (e->last_sent_at) {
        nt_time_format_utc(e->last_sent_at, when, sizeof(when));
        printf(", last sent %s", when);
    }
    if (e->exit_reason) {
        printf(", left: ");
        cli_put_text(stdout, e->exit_reason, 60, 0, NULL);
    }
    printf("\n");
    return 0;
}

static int
show_event(void *ctx, const nt_event *ev)
{
    show_ctx *sc = ctx;
    char when[32];

    nt_time_format_utc(ev->at, when, sizeof(when));
    if (sc->b) {
        nt_buf *b = sc->b;
        nt_buf_addf(b, "%s{\"at\":\"%s\",\"kind\":", sc->n++ ? "," : "", when);
        cli_json_str(b, ev->kind);
        nt_buf_adds(b, ",\"detail\":");
        /* The detail is JSON text by contract; anything else goes in as a
         * string so the output stays one valid document. */
        if (ev->detail && (ev->detail[0] == '{' || ev->detail[0] == '['))
            nt_buf_adds(b, ev->detail);
        else
            cli_json_str(b, ev->detail);
        nt_buf_addc(b, '}');
        return 0;
    }
    if (sc->n++ == 0)
        printf("timeline\n");
    printf("  %s  ", when);
    cli_put_text(stdout, ev->kind, 0, 0, NULL);
    if (ev->detail) {
        printf("  ");
        cli_put_text(stdout, ev->detail, 200, 0, NULL);
    }
    printf("\n");
    return 0;
}

static int
cmd_show(nt_cli *cli, int argc, char **argv)
{
    enum { O_JSON = 1000 };
    static const struct option opts[] = {
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, c, rc;
    nt_lead l;
    nt_diag d;
    nt_err err;
    show_ctx sc = {NULL, 0};
    nt_buf b;
    char when[32];

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help_show);
        else if (c == O_JSON)
            json = 1;
        else
            return cli_usage_error("lead show", "bad option");
    }
    if (optind + 1 != argc)
        return cli_usage_error("lead show", "lead show needs one email address or lead id");
    if ((rc = cli_open_store(cli)) != 0)
        return rc;
    if ((rc = cli_find_lead(cli, argv[optind], &l)) != 0)
        return rc;
    nt_diag_clear(&d);
    if (json) {
        nt_buf_init(&b, 0);
        sc.b = &b;
        cli_lead_json(&b, &l);
        nt_buf_adds(&b, ",\"enrollments\":[");
        err = nt_store_enrollment_list(cli->store, l.id, show_enrollment, &sc, &d);
        nt_buf_adds(&b, "],\"events\":[");
        sc.n = 0;
        if (!err)
            err = nt_store_event_list(cli->store, l.id, show_event, &sc, &d);
        nt_buf_adds(&b, "]}\n");
        if (err) {
            nt_buf_release(&b);
            cli_diag(&d);
            rc = cli_exit_for(err);
        } else {
            rc = cli_emit(&b);
        }
        nt_lead_release(&l);
        return rc;
    }
    printf("lead %lld  ", (long long)l.id);
    cli_put_text(stdout, l.email, 0, 0, NULL);
    printf("\n");
    for (size_t i = 1; nt_lead_std_fields[i]; i++) {
        const char *v = nt_lead_get(&l, nt_lead_std_fields[i]);
        if (!v)
            continue;
        printf("  %-12s ", nt_lead_std_fields[i]);
        cli_put_text(stdout, v, 0, 0, NULL);
        if (i == 1 && l.stage_changed_at) {
            nt_time_format_utc(l.stage_changed_at, when, sizeof(when));
            printf("  (since %s)", when);
        }
        printf("\n");
    }
    nt_time_format_utc(l.created_at, when, sizeof(when));
    printf("  %-12s %s\n", "created", when);
    nt_time_format_utc(l.updated_at, when, sizeof(when));
    printf("  %-12s %s\n", "updated", when);
    if (l.nfields)
        printf("custom fields\n");
    for (size_t i = 0; i < l.nfields; i++) {
        printf("  ");
        cli_put_text(stdout, l.fields[i].name, 0, 12, NULL);
        printf(" ");
        cli_put_text(stdout, l.fields[i].value, 0, 0, NULL);
        printf("\n");
    }
    err = nt_store_enrollment_list(cli->store, l.id, show_enrollment, &sc, &d);
    sc.n = 0;
    if (!err)
        err = nt_store_event_list(cli->store, l.id, show_event, &sc, &d);
    nt_lead_release(&l);
    if (err) {
        cli_diag(&d);
        return cli_exit_for(err);
    }
    return NT_EXIT_OK;
}

/* ---- list ---- */

typedef struct list_ctx {
    int json;
    long long n;
} list_ctx;

static int
list_one(void *ctx, const nt_lead *l)
{
    list_ctx *lc = ctx;
    char when[32];

    if (lc->json) {
        nt_buf b;
        nt_buf_init(&b, 0);
        nt_buf_adds(&b, lc->n++ ? ",\n" : "[\n");
        cli_lead_json(&b, l);
        nt_buf_addc(&b, '}');
        cli_emit(&b);
        return 0;
    }
    if (lc->n++ == 0)
        printf("%-7s %-32s %-12s %-24s %-20s %-20s %s\n", "ID", "EMAIL", "STAGE", "NAME", "COMPANY",
               "TIMEZONE", "UPDATED");
    printf("%-7lld ", (long long)l->id);
    cli_put_text(stdout, l->email, 32, 32, NULL);
    fputc(' ', stdout);
    cli_put_text(stdout, l->stage, 12, 12, NULL);
    fputc(' ', stdout);
    {
        char name[300];
        snprintf(name, sizeof(name), "%s%s%s", l->first_name ? l->first_name : "",
                 l->first_name && l->last_name ? " " : "", l->last_name ? l->last_name : "");
        cli_put_text(stdout, name, 24, 24, NULL);
    }
    fputc(' ', stdout);
    cli_put_text(stdout, l->company, 20, 20, NULL);
    fputc(' ', stdout);
    cli_put_text(stdout, l->timezone, 20, 20, NULL);
    nt_time_format_utc(l->updated_at, when, sizeof(when));
    printf(" %s\n", when);
    return 0;
}

static int
cmd_list(nt_cli *cli, int argc, char **argv)
{
    enum { O_STAGE = 1000, O_LIMIT, O_JSON };
    static const struct option opts[] = {
        {"stage", required_argument, NULL, O_STAGE},
        {"limit", required_argument, NULL, O_LIMIT},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *stage = NULL;
    long long limit = 0;
    int c, rc;
    list_ctx lc = {0, 0};
    nt_lead_filter f;
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        if (c == 'h')
            return cli_help(help_list);
        else if (c == O_STAGE)
            stage = optarg;
        else if (c == O_JSON)
            lc.json = 1;
        else if (c == O_LIMIT) {
            errno = 0;
            limit = strtoll(optarg, &end, 10);
            if (errno || *end || end == optarg || limit < 1)
                return cli_usage_error("lead list", "--limit needs a positive number, not '%s'",
                                       optarg);
        } else
            return cli_usage_error("lead list", "bad option");
    }
    if (optind != argc)
        return cli_usage_error("lead list", "lead list takes no arguments (did you mean "
                                            "--stage?)");
    if ((rc = cli_open_store(cli)) != 0)
        return rc;
    if (stage && !(stage = canonical_stage(&cli->cfg, stage)))
        return NT_EXIT_USAGE;
    memset(&f, 0, sizeof(f));
    f.stage = stage;
    f.limit = limit;
    nt_diag_clear(&d);
    err = nt_store_lead_list(cli->store, &f, list_one, &lc, &d);
    if (lc.json)
        fputs(lc.n ? "\n]\n" : "[]\n", stdout);
    else if (lc.n == 0 && stage)
        printf("no leads in stage %s\n", stage);
    else if (lc.n == 0)
        printf("no leads\n");
    if (err) {
        cli_diag(&d);
        return cli_exit_for(err);
    }
    return NT_EXIT_OK;
}

/* ---- set-stage ---- */

static int
cmd_set_stage(nt_cli *cli, int argc, char **argv)
{
    enum { O_JSON = 1000 };
    static const struct option opts[] = {
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *stage;
    char *from = NULL;
    int json = 0, c, rc, changed;
    nt_lead l;
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help_set_stage);
        else if (c == O_JSON)
            json = 1;
        else
            return cli_usage_error("lead set-stage", "bad option");
    }
    if (optind + 2 != argc)
        return cli_usage_error("lead set-stage",
                               "lead set-stage needs a lead (email address or id) and a stage");
    if ((rc = cli_open_store(cli)) != 0)
        return rc;
    if (!(stage = canonical_stage(&cli->cfg, argv[optind + 1])))
        return NT_EXIT_USAGE;
    if ((rc = cli_find_lead(cli, argv[optind], &l)) != 0)
        return rc;
    from = l.stage ? strdup(l.stage) : NULL;
    changed = !l.stage || strcmp(l.stage, stage) != 0;
    nt_diag_clear(&d);
    if (changed &&
        (err = nt_store_lead_set_stage(cli->store, l.id, stage, cli_clock(), &d)) != NT_OK) {
        cli_diag(&d);
        rc = cli_exit_for(err);
    } else if (json) {
        nt_buf b;
        nt_buf_init(&b, 0);
        nt_buf_addf(&b, "{\"id\":%lld,\"email\":", (long long)l.id);
        cli_json_str(&b, l.email);
        nt_buf_adds(&b, ",\"from\":");
        cli_json_str(&b, from);
        nt_buf_adds(&b, ",\"to\":");
        cli_json_str(&b, stage);
        nt_buf_addf(&b, ",\"changed\":%s}\n", changed ? "true" : "false");
        rc = cli_emit(&b);
    } else {
        cli_put_text(stdout, l.email, 0, 0, NULL);
        if (changed) {
            printf(": ");
            cli_put_text(stdout, from ? from : "-", 0, 0, NULL);
            printf(" -> %s\n", stage);
        } else {
            printf(" is already %s\n", stage);
        }
    }
    free(from);
    nt_lead_release(&l);
    return rc;
}

/* ---- unsuppress ---- */

static const char help_unsuppress[] =
    "usage: nurture lead unsuppress EMAIL|ID [--resume] [--json]\n"
    "\n"
    "Take the lead's address off the suppression list, so campaigns may reach\n"
    "it again: the undo for a bounce, complaint or unsubscribe that was read\n"
    "wrong (`nurture inbound show ID` shows the message and the decision).\n"
    "\n"
    "Options:\n"
    "  --resume    also put back into their campaigns the enrollments that an\n"
    "              inbound message ended (they continue at the step they were\n"
    "              on, on the next run)\n"
    "  --json      machine-readable output\n"
    "  -h, --help  this help\n";

typedef struct resumable {
    nt_enrollment *v;
    size_t n;
    int oom;
} resumable;

/* Enrollments an inbound message ended ("inbound #ID: ..."). */
static int
collect_resumable(void *ctx, const nt_enrollment *e)
{
    resumable *r = ctx;
    nt_enrollment *nv;

    if (e->state != NT_ENROLL_EXITED || !e->exit_reason ||
        strncmp(e->exit_reason, "inbound #", 9) != 0)
        return 0;
    if (!(nv = realloc(r->v, (r->n + 1) * sizeof(*nv)))) {
        r->oom = 1;
        return 1;
    }
    r->v = nv;
    if (nt_enrollment_copy(&nv[r->n], e) != NT_OK) {
        r->oom = 1;
        return 1;
    }
    r->n++;
    return 0;
}

static nt_err
resume_enrollments(nt_cli *cli, int64_t lead_id, int64_t now, size_t *count, nt_diag *d)
{
    resumable r = {0};
    nt_err err = nt_store_enrollment_list(cli->store, lead_id, collect_resumable, &r, d);

    if (err == NT_OK && r.oom)
        err = NT_ENOMEM;
    for (size_t i = 0; err == NT_OK && i < r.n; i++) {
        r.v[i].state = NT_ENROLL_ACTIVE;
        r.v[i].next_at = now;
        free(r.v[i].exit_reason);
        r.v[i].exit_reason = NULL;
        err = nt_store_enrollment_update(cli->store, &r.v[i], d);
    }
    *count = err == NT_OK ? r.n : 0;
    for (size_t i = 0; i < r.n; i++)
        nt_enrollment_release(&r.v[i]);
    free(r.v);
    return err;
}

static nt_err
unsuppress(nt_cli *cli, const nt_lead *l, int resume, int *was, size_t *resumed, nt_diag *d)
{
    int64_t now = cli_clock();
    char detail[64];
    nt_err err = nt_store_begin(cli->store, d);

    if (err != NT_OK)
        return err;
    err = nt_store_unsuppress(cli->store, l->email, was, d);
    if (err == NT_OK && resume)
        err = resume_enrollments(cli, l->id, now, resumed, d);
    snprintf(detail, sizeof(detail), "{\"was_suppressed\":%s,\"resumed\":%zu}",
             *was ? "true" : "false", *resumed);
    if (err == NT_OK && (*was || *resumed))
        err = nt_store_event_add(cli->store, l->id, now, "unsuppressed", detail, d);
    if (err == NT_OK)
        return nt_store_commit(cli->store, d);
    nt_store_rollback(cli->store);
    return err;
}

static int
cmd_unsuppress(nt_cli *cli, int argc, char **argv)
{
    enum { O_JSON = 1000, O_RESUME };
    static const struct option opts[] = {
        {"json", no_argument, NULL, O_JSON},
        {"resume", no_argument, NULL, O_RESUME},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, resume = 0, c, rc, was = 0;
    size_t resumed = 0;
    nt_lead l;
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help_unsuppress);
        else if (c == O_JSON)
            json = 1;
        else if (c == O_RESUME)
            resume = 1;
        else
            return cli_usage_error("lead unsuppress", "bad option");
    }
    if (optind + 1 != argc)
        return cli_usage_error("lead unsuppress",
                               "lead unsuppress needs one lead (email address or id)");
    if ((rc = cli_open_store(cli)) != 0 || (rc = cli_find_lead(cli, argv[optind], &l)) != 0)
        return rc;
    nt_diag_clear(&d);
    if ((err = unsuppress(cli, &l, resume, &was, &resumed, &d)) != NT_OK) {
        cli_diag(&d);
        rc = cli_exit_for(err);
    } else if (json) {
        nt_buf b;
        nt_buf_init(&b, 0);
        nt_buf_addf(&b, "{\"id\":%lld,\"email\":", (long long)l.id);
        cli_json_str(&b, l.email);
        nt_buf_addf(&b, ",\"was_suppressed\":%s,\"resumed\":%zu}\n", was ? "true" : "false",
                    resumed);
        rc = cli_emit(&b);
    } else {
        cli_put_text(stdout, l.email, 0, 0, NULL);
        printf(was ? ": taken off the suppression list" : ": was not suppressed");
        if (resume)
            printf("; %zu campaign(s) resumed", resumed);
        putchar('\n');
    }
    nt_lead_release(&l);
    return rc;
}

/* ---- dispatch ---- */

static const struct sub {
    const char *name;
    int (*fn)(nt_cli *, int, char **);
} subs[] = {
    {"add", cmd_add},
    {"import", cmd_import},
    {"show", cmd_show},
    {"list", cmd_list},
    {"set-stage", cmd_set_stage},
    {"unsuppress", cmd_unsuppress},
    {"explain", cmd_lead_explain},
};

int
cmd_lead(nt_cli *cli, int argc, char **argv)
{
    if (argc < 2) {
        fputs(help_lead, stderr);
        return NT_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return cli_help(help_lead);
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        if (!strcmp(argv[1], subs[i].name))
            return subs[i].fn(cli, argc - 1, argv + 1);
    cli_error("unknown lead command '%s'", argv[1]);
    fputs(help_lead, stderr);
    return NT_EXIT_USAGE;
}
