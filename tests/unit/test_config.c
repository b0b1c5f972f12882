/*
 * Unit tests for the configuration (config.c): a full valid file read into
 * every field, the defaults, every error with its exact file:line:col and
 * text (and all of them in one pass), relative paths resolved against the
 * config's own folder, how nt_config_find picks the file (-c, then
 * NURTURE_CONFIG, then ./nurture.yaml), and secrets read from the
 * environment or a file without their value ever reaching a message.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nurture/buf.h"
#include "nurture/config.h"

#include "t.h"

static char tmp[PATH_MAX];

static void
write_file(const char *name, const char *text)
{
    char path[PATH_MAX + 100];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmp, name);
    f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static const char *
tpath(const char *name)
{
    static char buf[4][PATH_MAX + 100];
    static int i;

    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, name);
    return buf[i];
}

/* Every diagnostic formatted, one per line, file names relative to tmp. */
static void
format_all(const nt_diags *ds, nt_buf *out)
{
    size_t tl = strlen(tmp);

    nt_buf_reset(out);
    for (size_t i = 0; i < ds->len; i++) {
        char line[1200];
        const char *p = line;
        nt_diag_format(&ds->items[i], line, sizeof(line));
        if (strncmp(line, tmp, tl) == 0 && line[tl] == '/')
            p = line + tl + 1;
        nt_buf_adds(out, p);
        nt_buf_addc(out, '\n');
    }
    nt_buf_cstr(out);
}

/* Write `text` as nurture.yaml and load it; out gets the diagnostics. */
static nt_err
load_text(const char *text, nt_config *cfg, nt_buf *out)
{
    nt_diags ds;
    nt_err err;

    write_file("nurture.yaml", text);
    nt_diags_init(&ds, 0);
    err = nt_config_load(tpath("nurture.yaml"), cfg, &ds);
    format_all(&ds, out);
    nt_diags_release(&ds);
    return err;
}

#define STAGES                                                                                     \
    "stages:\n"                                                                                    \
    "  - name: subscriber\n"                                                                       \
    "    definition: Opted in.\n"                                                                  \
    "  - name: lead\n"                                                                             \
    "    definition: Gave contact details.\n"                                                      \
    "  - name: MQL\n"                                                                              \
    "    definition: Marketing-qualified.\n"

/* Load text that has exactly the errors in `want` (one per line). */
#define CHECK_ERRORS(text, want)                                                                   \
    do {                                                                                           \
        nt_config c_;                                                                              \
        nt_buf o_;                                                                                 \
        nt_buf_init(&o_, 0);                                                                       \
        CHECK(load_text((text), &c_, &o_) != NT_OK);                                               \
        CHECK_STR(nt_buf_cstr(&o_), (want));                                                       \
        nt_config_release(&c_);                                                                    \
        nt_buf_release(&o_);                                                                       \
    } while (0)

static void
test_full(void)
{
    static const char text[] =
        "# A complete configuration.\n"
        "database: data/nurture.db\n"
        "campaigns: camps\n"
        "timezone: Europe/Berlin\n"
        "default_stage: lead\n" STAGES "lead_fields: [industry, plan]\n"
        "senders:\n"
        "  - id: hello\n"
        "    name: Dana Whitfield\n"
        "    address: Dana@Northwind.EXAMPLE\n"
        "    reply_to: replies@northwind.example\n"
        "    postal_address: \"Northwind Metrics Inc., 100 Main Street, Springfield\"\n"
        "    daily_cap: 500\n"
        "  - id: ana\n"
        "    name: Ana\n"
        "    address: ana@northwind.example\n"
        "    postal_address: 100 Main Street\n"
        "smtp:\n"
        "  host: smtp.northwind.example\n"
        "  port: 465\n"
        "  tls: required\n"
        "  username: nurture\n"
        "  password: {env: NT_TEST_SMTP_PASSWORD}\n"
        "  helo: mx.northwind.example\n"
        "  timeout: 30\n"
        "  sessions: 4\n"
        "  batch: 50\n"
        "inbound:\n"
        "  imap: imaps://mail.northwind.example/INBOX\n"
        "  username: replies@northwind.example\n"
        "  password: {file: imap-password}\n"
        "secret: {file: /etc/nurture/secret}\n"
        "unsubscribe_url: https://northwind.example/unsubscribe\n"
        "bounce_domain: bounces.northwind.example\n";
    nt_config cfg;
    nt_buf out;

    nt_buf_init(&out, 0);
    REQUIRE(load_text(text, &cfg, &out) == NT_OK);
    CHECK_STR(nt_buf_cstr(&out), "");
    CHECK_STR(cfg.path, tpath("nurture.yaml"));
    CHECK_STR(cfg.dir, tmp);
    CHECK_STR(cfg.database, tpath("data/nurture.db"));
    CHECK_STR(cfg.campaigns_dir, tpath("camps"));
    CHECK_STR(cfg.timezone, "Europe/Berlin");
    CHECK_STR(cfg.default_stage, "lead");
    REQUIRE(cfg.nstages == 3);
    CHECK_STR(cfg.stages[0].name, "subscriber");
    CHECK_STR(cfg.stages[0].definition, "Opted in.");
    CHECK_STR(cfg.stages[2].name, "MQL");
    CHECK_INT(nt_config_stage_index(&cfg, "mql"), 2);
    CHECK_INT(nt_config_stage_index(&cfg, "Lead"), 1);
    CHECK_INT(nt_config_stage_index(&cfg, "customer"), -1);
    REQUIRE(cfg.nlead_fields == 2);
    CHECK_STR(cfg.lead_fields[0], "industry");
    CHECK_STR(cfg.lead_fields[1], "plan");
    REQUIRE(cfg.nsenders == 2);
    CHECK_STR(cfg.senders[0].id, "hello");
    CHECK_STR(cfg.senders[0].name, "Dana Whitfield");
    CHECK_STR(cfg.senders[0].address, "Dana@northwind.example"); /* domain lower-cased */
    CHECK_STR(cfg.senders[0].reply_to, "replies@northwind.example");
    CHECK_STR(cfg.senders[0].postal_address,
              "Northwind Metrics Inc., 100 Main Street, Springfield");
    CHECK_INT(cfg.senders[0].daily_cap, 500);
    CHECK(cfg.senders[1].reply_to == NULL);
    CHECK_INT(cfg.senders[1].daily_cap, 0);
    CHECK(nt_config_sender(&cfg, "ana") == &cfg.senders[1]);
    CHECK(nt_config_sender(&cfg, "Ana") == NULL); /* ids are exact */
    CHECK(nt_config_sender(&cfg, "bob") == NULL);
    CHECK_STR(cfg.smtp.host, "smtp.northwind.example");
    CHECK_INT(cfg.smtp.port, 465);
    CHECK_INT(cfg.smtp.tls, NT_TLS_REQUIRED);
    CHECK_STR(cfg.smtp.username, "nurture");
    CHECK_STR(cfg.smtp.password.env, "NT_TEST_SMTP_PASSWORD");
    CHECK(cfg.smtp.password.file == NULL);
    CHECK_STR(cfg.smtp.helo, "mx.northwind.example");
    CHECK_INT(cfg.smtp.timeout_sec, 30);
    CHECK_INT(cfg.smtp.sessions, 4);
    CHECK_INT(cfg.smtp.batch, 50);
    CHECK_INT(cfg.inbound.kind, NT_INBOUND_IMAP);
    CHECK_STR(cfg.inbound.url, "imaps://mail.northwind.example/INBOX");
    CHECK_STR(cfg.inbound.username, "replies@northwind.example");
    CHECK(cfg.inbound.password.env == NULL);
    CHECK_STR(cfg.inbound.password.file, tpath("imap-password"));
    CHECK(cfg.secret.env == NULL);
    CHECK_STR(cfg.secret.file, "/etc/nurture/secret"); /* absolute stays */
    CHECK_STR(cfg.unsubscribe_url, "https://northwind.example/unsubscribe");
    CHECK_STR(cfg.bounce_domain, "bounces.northwind.example");
    nt_config_release(&cfg);
    CHECK(cfg.path == NULL); /* released is zeroed */
    nt_config_release(&cfg); /* and can be released again */
    nt_buf_release(&out);
}

static void
test_defaults(void)
{
    nt_config cfg;
    nt_buf out;

    nt_buf_init(&out, 0);
    REQUIRE(load_text(STAGES, &cfg, &out) == NT_OK);
    CHECK_STR(nt_buf_cstr(&out), "");
    CHECK_STR(cfg.database, tpath("nurture.db"));
    CHECK_STR(cfg.campaigns_dir, tpath("campaigns"));
    CHECK_STR(cfg.timezone, "UTC");
    CHECK_STR(cfg.default_stage, "subscriber"); /* the first stage */
    CHECK_INT(cfg.nsenders, 0);
    CHECK_INT(cfg.nlead_fields, 0);
    CHECK(cfg.smtp.host == NULL);
    CHECK_INT(cfg.smtp.port, 587);
    CHECK_INT(cfg.smtp.tls, NT_TLS_OPPORTUNISTIC);
    CHECK_INT(cfg.smtp.timeout_sec, 60);
    CHECK_INT(cfg.smtp.sessions, 1);
    CHECK_INT(cfg.smtp.batch, 200);
    CHECK(cfg.smtp.username == NULL);
    CHECK_INT(cfg.inbound.kind, NT_INBOUND_NONE);
    CHECK(cfg.secret.env == NULL && cfg.secret.file == NULL);
    CHECK(cfg.unsubscribe_url == NULL);
    CHECK(cfg.bounce_domain == NULL);
    nt_config_release(&cfg);

    /* smtp given without the optional keys gets the same defaults; tls off
     * may be written as off, false or no. */
    REQUIRE(load_text(STAGES "smtp:\n  host: 127.0.0.1\n  tls: off\n", &cfg, &out) == NT_OK);
    CHECK_INT(cfg.smtp.port, 587);
    CHECK_INT(cfg.smtp.batch, 200);
    CHECK_INT(cfg.smtp.tls, NT_TLS_OFF);
    nt_config_release(&cfg);
    REQUIRE(load_text(STAGES "smtp:\n  host: h\n  tls: no\n", &cfg, &out) == NT_OK);
    CHECK_INT(cfg.smtp.tls, NT_TLS_OFF);
    nt_config_release(&cfg);
    REQUIRE(load_text(STAGES "smtp:\n  host: h\n  tls: opportunistic\n", &cfg, &out) == NT_OK);
    CHECK_INT(cfg.smtp.tls, NT_TLS_OPPORTUNISTIC);
    nt_config_release(&cfg);
    REQUIRE(load_text(STAGES "inbound:\n  maildir: mail/in\n", &cfg, &out) == NT_OK);
    CHECK_INT(cfg.inbound.kind, NT_INBOUND_MAILDIR);
    CHECK_STR(cfg.inbound.maildir, tpath("mail/in"));
    nt_config_release(&cfg);
    REQUIRE(load_text(STAGES "inbound:\n  pop3: pop3s://mail.example\n", &cfg, &out) == NT_OK);
    CHECK_INT(cfg.inbound.kind, NT_INBOUND_POP3);
    CHECK_STR(cfg.inbound.url, "pop3s://mail.example");
    nt_config_release(&cfg);
    nt_buf_release(&out);
}

static void
test_errors(void)
{
    CHECK_ERRORS(STAGES "datbase: x.db\n",
                 "nurture.yaml:8:1: unknown key 'datbase' in the configuration; did you mean "
                 "'database'?\n");
    CHECK_ERRORS(STAGES "smtp:\n  host: h\n  prot: 25\n",
                 "nurture.yaml:10:3: unknown key 'prot' in smtp; did you mean 'port'?\n");
    CHECK_ERRORS(STAGES "smtp:\n  host: h\n  port: 70000\n",
                 "nurture.yaml:10:9: 'port' must be between 1 and 65535, not 70000\n");
    CHECK_ERRORS(STAGES "smtp:\n  host: h\n  port: smtp\n",
                 "nurture.yaml:10:9: 'port' must be a whole number, not 'smtp'\n");
    CHECK_ERRORS(STAGES "smtp:\n  host: h\n  tls: maybe\n",
                 "nurture.yaml:10:8: smtp tls must be 'required', 'opportunistic' or 'off'\n");
    CHECK_ERRORS(STAGES "smtp:\n  host: h\n  tls: \"no\"\n",
                 "nurture.yaml:10:8: smtp tls must be 'required', 'opportunistic' or 'off'\n");
    CHECK_ERRORS(STAGES "smtp:\n  port: 25\n", "nurture.yaml:9:3: smtp needs 'host'\n");
    CHECK_ERRORS("timezone: Mars/Olympus_Mons\n" STAGES,
                 "nurture.yaml:1:11: unknown time zone 'Mars/Olympus_Mons': use an IANA name "
                 "such as Europe/Berlin or America/New_York\n");
    CHECK_ERRORS("timezone: ../../etc/passwd\n" STAGES,
                 "nurture.yaml:1:11: unknown time zone '../../etc/passwd': use an IANA name "
                 "such as Europe/Berlin or America/New_York\n");
    CHECK_ERRORS(STAGES "default_stage: customer\n",
                 "nurture.yaml:8:16: default_stage 'customer' is not one of the stages\n");
    CHECK_ERRORS("stages:\n"
                 "  - name: lead\n"
                 "    definition: a\n"
                 "  - name: Lead\n"
                 "    definition: b\n",
                 "nurture.yaml:4:5: stage 'Lead' is defined twice\n");
    CHECK_ERRORS("stages:\n  - name: lead\n", "nurture.yaml:2:5: a stage needs 'definition'\n");
    CHECK_ERRORS("stages:\n  - name: lead\n    definition: \"\"\n",
                 "nurture.yaml:3:17: 'definition' in a stage must not be empty\n");
    CHECK_ERRORS("stages: lead\n", "nurture.yaml:1:9: 'stages' must be a list, not text\n");
    CHECK_ERRORS("stages: []\n", "nurture.yaml:1:9: 'stages' must list at least one stage\n");
    CHECK_ERRORS("database: x.db\n",
                 "nurture.yaml:1:1: the configuration needs 'stages', the ordered list of lead "
                 "stages\n");
    CHECK_ERRORS(STAGES "senders:\n"
                        "  - id: hello\n"
                        "    name: Dana\n"
                        "    address: dana@northwind.example\n",
                 "nurture.yaml:9:5: a sender needs 'postal_address'\n");
    CHECK_ERRORS(STAGES "senders:\n"
                        "  - id: hello\n"
                        "    name: Dana\n"
                        "    address: dana.northwind.example\n"
                        "    postal_address: 1 Main St\n",
                 "nurture.yaml:11:14: sender address: 'dana.northwind.example' has no '@'\n");
    CHECK_ERRORS(STAGES "senders:\n"
                        "  - id: hello\n"
                        "    name: Dana\n"
                        "    address: dana@northwind.example\n"
                        "    reply_to: \"@northwind.example\"\n"
                        "    postal_address: 1 Main St\n",
                 "nurture.yaml:12:15: reply_to: nothing before the '@'\n");
    CHECK_ERRORS(STAGES "senders:\n"
                        "  - {id: a, name: A, address: a@x.example, postal_address: P}\n"
                        "  - {id: a, name: B, address: b@x.example, postal_address: P}\n",
                 "nurture.yaml:10:5: sender id 'a' is used twice\n");
    CHECK_ERRORS(STAGES "senders:\n"
                        "  - {id: a, name: A, address: a@x.example, postal_address: P, "
                        "daily_cap: -1}\n",
                 "nurture.yaml:9:74: 'daily_cap' must be between 0 and 10000000, not -1\n");
    CHECK_ERRORS(STAGES "secret: {env: NURTURE_SECRET, file: secret}\n",
                 "nurture.yaml:8:9: secret must name exactly one of 'env' (an environment "
                 "variable) or 'file'\n");
    CHECK_ERRORS(STAGES "secret: {env: 9lives}\n",
                 "nurture.yaml:8:15: 'env' in secret must be the name of an environment variable "
                 "(letters, digits and '_'), not the secret itself\n");
    CHECK_ERRORS(STAGES "secret: {}\n",
                 "nurture.yaml:8:9: secret must name exactly one of 'env' (an environment "
                 "variable) or 'file'\n");
    CHECK_ERRORS(STAGES "secret: {envv: X}\n",
                 "nurture.yaml:8:10: unknown key 'envv' in secret; did you mean 'env'?\n"
                 "nurture.yaml:8:9: secret must name exactly one of 'env' (an environment "
                 "variable) or 'file'\n");
    CHECK_ERRORS(STAGES "smtp:\n  host: h\n  username: nurture\n",
                 "nurture.yaml:9:3: smtp has a username but no 'password: {env: NAME}' or "
                 "'password: {file: PATH}'\n");
    CHECK_ERRORS(STAGES "smtp:\n"
                        "  host: h\n"
                        "  username: nurture\n"
                        "  password: {env: A, file: b}\n",
                 "nurture.yaml:11:13: smtp password must name exactly one of 'env' (an "
                 "environment variable) or 'file'\n");
    CHECK_ERRORS(STAGES "inbound:\n  imap: imaps://h/INBOX\n  maildir: m\n",
                 "nurture.yaml:9:3: inbound names more than one of 'imap', 'pop3' and "
                 "'maildir'; keep one\n");
    CHECK_ERRORS(STAGES "inbound: {username: x}\n",
                 "nurture.yaml:8:10: inbound has a username or password but no 'imap', 'pop3' "
                 "or 'maildir' to use them with\n");
    CHECK_ERRORS(STAGES "inbound: {soft_bounce_limit: 0}\n",
                 "nurture.yaml:8:30: 'soft_bounce_limit' must be between 1 and 1000, not 0\n");
    CHECK_ERRORS(STAGES "lead_fields: [industry, Plan, 2x]\n",
                 "nurture.yaml:8:25: lead field names are lower-case letters, digits and '_', "
                 "starting with a letter\n"
                 "nurture.yaml:8:31: lead field names are lower-case letters, digits and '_', "
                 "starting with a letter\n");
    CHECK_ERRORS(STAGES "unsubscribe_url: http://northwind.example/u\n",
                 "nurture.yaml:8:18: unsubscribe_url must start with https://\n");
    CHECK_ERRORS(STAGES "smtp: 127.0.0.1\n",
                 "nurture.yaml:8:7: 'smtp' must be a mapping of keys to values, not text\n");
    CHECK_ERRORS("- a\n- b\n", "nurture.yaml:1:1: the configuration must be a mapping of keys to "
                               "values; see `nurture init` for an example\n");
    CHECK_ERRORS("", "nurture.yaml:1:1: the configuration must be a mapping of keys to values; "
                     "see `nurture init` for an example\n");
    CHECK_ERRORS(STAGES "database: [a\n",
                 "nurture.yaml:9:1: YAML syntax error: did not find expected ',' or ']' while "
                 "parsing a flow sequence\n");
    CHECK_ERRORS(STAGES "database: a.db\ndatabase: b.db\n",
                 "nurture.yaml:9:1: key 'database' appears twice (first on line 8)\n");
}

static void
test_all_errors_in_one_pass(void)
{
    CHECK_ERRORS("datbase: x.db\n"
                 "timezone: Nowhere/Land\n"
                 "stages:\n"
                 "  - name: lead\n"
                 "    definition: x\n"
                 "default_stage: MQL\n"
                 "senders:\n"
                 "  - id: hello\n"
                 "    name: Dana\n"
                 "    address: bad\n"
                 "smtp:\n"
                 "  host: h\n"
                 "  port: 0\n"
                 "  tls: maybe\n",
                 "nurture.yaml:1:1: unknown key 'datbase' in the configuration; did you mean "
                 "'database'?\n"
                 "nurture.yaml:2:11: unknown time zone 'Nowhere/Land': use an IANA name such as "
                 "Europe/Berlin or America/New_York\n"
                 "nurture.yaml:6:16: default_stage 'MQL' is not one of the stages\n"
                 "nurture.yaml:8:5: a sender needs 'postal_address'\n"
                 "nurture.yaml:10:14: sender address: 'bad' has no '@'\n"
                 "nurture.yaml:13:9: 'port' must be between 1 and 65535, not 0\n"
                 "nurture.yaml:14:8: smtp tls must be 'required', 'opportunistic' or 'off'\n");
}

static void
test_load_failures(void)
{
    nt_config cfg;
    nt_diags ds;
    nt_buf out;

    nt_buf_init(&out, 0);
    nt_diags_init(&ds, 0);
    CHECK_INT(nt_config_load(tpath("missing.yaml"), &cfg, &ds), NT_ENOTFOUND);
    format_all(&ds, &out);
    CHECK_STR(nt_buf_cstr(&out), "missing.yaml: cannot open: No such file or directory\n");
    nt_config_release(&cfg);
    nt_diags_release(&ds);

    /* Binary garbage: refused, not half-read. */
    {
        static const char junk[] = "stages:\n  - name: a\0\xff\xfe\n";
        FILE *f = fopen(tpath("junk.yaml"), "wb");
        REQUIRE(f != NULL);
        fwrite(junk, 1, sizeof(junk) - 1, f);
        fclose(f);
        nt_diags_init(&ds, 0);
        CHECK(nt_config_load(tpath("junk.yaml"), &cfg, &ds) != NT_OK);
        format_all(&ds, &out);
        CHECK_STR(nt_buf_cstr(&out),
                  "junk.yaml:2:12: the file contains a NUL byte; is it a text file?\n");
        CHECK_INT(cfg.nstages, 0);
        nt_config_release(&cfg);
        nt_diags_release(&ds);
    }
    nt_buf_release(&out);
}

static void
test_relative_paths(void)
{
    char cwd[PATH_MAX], sub[PATH_MAX + 10];
    nt_config cfg;
    nt_buf out;

    nt_buf_init(&out, 0);
    snprintf(sub, sizeof(sub), "%s/etc", tmp);
    mkdir(sub, 0755);
    write_file("etc/nurture.yaml", STAGES "database: ../var/db.sqlite\n"
                                          "campaigns: /srv/campaigns\n"
                                          "secret: {file: secret}\n"
                                          "inbound:\n"
                                          "  maildir: Maildir\n");
    {
        nt_diags ds;
        nt_diags_init(&ds, 0);
        REQUIRE(nt_config_load(tpath("etc/nurture.yaml"), &cfg, &ds) == NT_OK);
        nt_diags_release(&ds);
    }
    CHECK_STR(cfg.dir, tpath("etc"));
    CHECK_STR(cfg.database, tpath("etc/../var/db.sqlite"));
    CHECK_STR(cfg.campaigns_dir, "/srv/campaigns");
    CHECK_STR(cfg.secret.file, tpath("etc/secret"));
    CHECK_STR(cfg.inbound.maildir, tpath("etc/Maildir"));
    nt_config_release(&cfg);

    /* A config named relative to the working directory: paths stay relative
     * to it, without a "./" in front. */
    REQUIRE(getcwd(cwd, sizeof(cwd)) != NULL);
    REQUIRE(chdir(sub) == 0);
    {
        nt_diags ds;
        nt_diags_init(&ds, 0);
        CHECK_INT(nt_config_load("nurture.yaml", &cfg, &ds), NT_OK);
        nt_diags_release(&ds);
    }
    CHECK_STR(cfg.dir, ".");
    CHECK_STR(cfg.database, "../var/db.sqlite");
    CHECK_STR(cfg.secret.file, "secret");
    nt_config_release(&cfg);
    REQUIRE(chdir(cwd) == 0);
    nt_buf_release(&out);
}

static void
test_find(void)
{
    char cwd[PATH_MAX], out[PATH_MAX + 100], sub[PATH_MAX + 10];
    nt_diag d;

    REQUIRE(getcwd(cwd, sizeof(cwd)) != NULL);
    snprintf(sub, sizeof(sub), "%s/find", tmp);
    mkdir(sub, 0755);
    REQUIRE(chdir(sub) == 0);
    write_file("find/explicit.yaml", STAGES);
    write_file("find/env.yaml", STAGES);
    unsetenv("NURTURE_CONFIG");

    /* Nothing anywhere: a message that says where it looked. */
    nt_diag_clear(&d);
    CHECK_INT(nt_config_find(NULL, out, sizeof(out), &d), NT_ENOTFOUND);
    CHECK_STR(d.msg, "no configuration: give -c FILE, set NURTURE_CONFIG, or run in a folder "
                     "with nurture.yaml (create one with `nurture init DIR`)");
    CHECK_STR(d.file, "");

    /* ./nurture.yaml */
    write_file("find/nurture.yaml", STAGES);
    CHECK_INT(nt_config_find(NULL, out, sizeof(out), &d), NT_OK);
    CHECK_STR(out, "nurture.yaml");
    CHECK_INT(nt_config_find("", out, sizeof(out), &d), NT_OK); /* empty -c: as none */
    CHECK_STR(out, "nurture.yaml");

    /* NURTURE_CONFIG wins over ./nurture.yaml. */
    setenv("NURTURE_CONFIG", tpath("find/env.yaml"), 1);
    CHECK_INT(nt_config_find(NULL, out, sizeof(out), &d), NT_OK);
    CHECK_STR(out, tpath("find/env.yaml"));

    /* -c wins over both. */
    CHECK_INT(nt_config_find("explicit.yaml", out, sizeof(out), &d), NT_OK);
    CHECK_STR(out, "explicit.yaml");

    /* A named file that is missing is an error, with no fallback. */
    nt_diag_clear(&d);
    CHECK_INT(nt_config_find("nope.yaml", out, sizeof(out), &d), NT_ENOTFOUND);
    CHECK_STR(d.file, "nope.yaml");
    CHECK_STR(d.msg, "cannot read the config file given with -c: No such file or directory");
    setenv("NURTURE_CONFIG", tpath("find/gone.yaml"), 1);
    nt_diag_clear(&d);
    CHECK_INT(nt_config_find(NULL, out, sizeof(out), &d), NT_ENOTFOUND);
    CHECK_STR(d.file, tpath("find/gone.yaml"));
    CHECK_STR(d.msg,
              "cannot read the config file named by NURTURE_CONFIG: No such file or directory");

    /* An empty NURTURE_CONFIG counts as unset. */
    setenv("NURTURE_CONFIG", "", 1);
    CHECK_INT(nt_config_find(NULL, out, sizeof(out), &d), NT_OK);
    CHECK_STR(out, "nurture.yaml");
    unsetenv("NURTURE_CONFIG");
    REQUIRE(chdir(cwd) == 0);
}

static int
diags_mention(const nt_diags *ds, const char *secret)
{
    for (size_t i = 0; i < ds->len; i++)
        if (strstr(ds->items[i].msg, secret) || strstr(ds->items[i].file, secret))
            return 1;
    return 0;
}

static void
test_secrets(void)
{
    static const char value[] = "s3cr3t-V4lue-9f8e";
    nt_secret_ref ref = {NULL, NULL};
    nt_buf b;
    nt_diag d;
    char line[1200];

    nt_buf_init(&b, 4096);

    /* From the environment. */
    ref.env = "NT_TEST_SECRET";
    setenv("NT_TEST_SECRET", value, 1);
    CHECK_INT(nt_secret_read(&ref, "secret", &b, &d), NT_OK);
    CHECK_STR(nt_buf_cstr(&b), value);
    unsetenv("NT_TEST_SECRET");
    nt_diag_clear(&d);
    CHECK_INT(nt_secret_read(&ref, "smtp password", &b, &d), NT_ECONFIG);
    CHECK_INT(b.len, 0); /* replaced, not kept from before */
    nt_diag_format(&d, line, sizeof(line));
    CHECK_STR(line, "the smtp password comes from environment variable NT_TEST_SECRET, which is "
                    "not set");
    setenv("NT_TEST_SECRET", "", 1);
    CHECK_INT(nt_secret_read(&ref, "secret", &b, &d), NT_ECONFIG);
    unsetenv("NT_TEST_SECRET");

    /* From a file: the first line, without its line end. */
    ref.env = NULL;
    ref.file = (char *)tpath("secret");
    write_file("secret", "s3cr3t-V4lue-9f8e\r\nsecond line\n");
    CHECK_INT(nt_secret_read(&ref, "secret", &b, &d), NT_OK);
    CHECK_STR(nt_buf_cstr(&b), value);
    write_file("secret", "s3cr3t-V4lue-9f8e");
    CHECK_INT(nt_secret_read(&ref, "secret", &b, &d), NT_OK);
    CHECK_STR(nt_buf_cstr(&b), value);
    write_file("secret", "\ns3cr3t-V4lue-9f8e\n");
    nt_diag_clear(&d);
    CHECK_INT(nt_secret_read(&ref, "secret", &b, &d), NT_ECONFIG);
    CHECK_INT(d.line, 1);
    CHECK_STR(d.msg, "the secret file is empty");
    CHECK(strstr(d.msg, value) == NULL);
    ref.file = (char *)tpath("no-such-secret");
    nt_diag_clear(&d);
    CHECK_INT(nt_secret_read(&ref, "inbound password", &b, &d), NT_ECONFIG);
    nt_diag_format(&d, line, sizeof(line));
    CHECK_STR(line + strlen(tmp) + 1,
              "no-such-secret: cannot read the inbound password: No such file or directory");

    /* Neither. */
    ref.file = NULL;
    nt_diag_clear(&d);
    CHECK_INT(nt_secret_read(&ref, "secret", &b, &d), NT_ECONFIG);
    CHECK_STR(d.msg, "no secret configured: add 'secret: {env: NAME}' or '{file: PATH}'");
    nt_buf_release(&b);

    /* Secrets written where they do not belong never come back in a
     * message: inline in the config, in a file named as the secret, or as
     * an "environment variable" name that is not one. */
    {
        nt_config cfg;
        nt_diags ds;
        static const char *const texts[] = {
            STAGES "secret: s3cr3t-V4lue-9f8e\n",
            STAGES "secret: {value: s3cr3t-V4lue-9f8e}\n",
            STAGES "secret: {env: s3cr3t-V4lue-9f8e}\n",
            STAGES "smtp:\n  host: h\n  username: u\n  password: s3cr3t-V4lue-9f8e\n",
            STAGES "smtp:\n  host: h\n  username: u\n  password: [s3cr3t-V4lue-9f8e]\n",
            STAGES "smtp:\n  host: h\n  username: u\n  password: {env: X, file: x, "
                   "pass: s3cr3t-V4lue-9f8e}\n",
            STAGES "inbound:\n  imap: imap://h/INBOX\n  password: \"s3cr3t-V4lue-9f8e\"\n",
            NULL,
        };
        for (size_t i = 0; texts[i]; i++) {
            write_file("nurture.yaml", texts[i]);
            nt_diags_init(&ds, 0);
            CHECK(nt_config_load(tpath("nurture.yaml"), &cfg, &ds) != NT_OK);
            CHECK(ds.errors > 0);
            CHECK(!diags_mention(&ds, value));
            nt_diags_release(&ds);
            nt_config_release(&cfg);
        }
        /* A valid config whose secret file holds the value: loading never
         * reads it, and a bad file's message names only the path. */
        write_file("secret", value);
        write_file("nurture.yaml", STAGES "secret: {file: secret}\ntimezone: Bad/Zone\n");
        nt_diags_init(&ds, 0);
        CHECK(nt_config_load(tpath("nurture.yaml"), &cfg, &ds) != NT_OK);
        CHECK(!diags_mention(&ds, value));
        nt_diags_release(&ds);
        nt_config_release(&cfg);
    }
}

static void
test_default_stages(void)
{
    size_t n = 0;

    for (; nt_default_stages[n]; n += 2)
        CHECK(nt_default_stages[n + 1] != NULL && nt_default_stages[n + 1][0] != '\0');
    CHECK_INT(n, 12);
    CHECK_STR(nt_default_stages[0], "subscriber");
    CHECK_STR(nt_default_stages[4], "MQL");
    CHECK_STR(nt_default_stages[10], "customer");
}

int
main(void)
{
    char tmpl[] = "/tmp/nt_config_XXXXXX";
    char cmd[PATH_MAX + 20];
    int rc;

    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(tmp, sizeof(tmp), "%s", tmpl);
    RUN(test_full);
    RUN(test_defaults);
    RUN(test_errors);
    RUN(test_all_errors_in_one_pass);
    RUN(test_load_failures);
    RUN(test_relative_paths);
    RUN(test_find);
    RUN(test_secrets);
    RUN(test_default_stages);
    rc = t_done();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return rc;
}
