/*
 * nurture init DIR: a working folder a newcomer can run at once: a
 * commented configuration, a signing secret, an empty database, the
 * example campaigns and the inbound classifier's rules to extend.  It never overwrites anything;
 * the configuration is written last, so a folder with nurture.yaml in it is a complete one.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "embedded.h"
#include "nurture/buf.h"
#include "nurture/tz.h"

#include "banned.h"

static const char help[] =
    "usage: nurture init [--timezone ZONE] DIR\n"
    "\n"
    "Create DIR (or use it if empty of nurture files) with:\n"
    "  nurture.yaml  the configuration, commented\n"
    "  secret        a random signing secret (mode 0600)\n"
    "  nurture.db    an empty database\n"
    "  campaigns/    the example campaigns (welcome, reengage-mql)\n"
    "  rules/        the rules that classify inbound mail, to extend\n"
    "\n"
    "Options:\n"
    "  --timezone ZONE  default time zone for leads without one (IANA name,\n"
    "                   default UTC)\n"
    "  -h, --help       this help\n"
    "\n"
    "Nothing that exists is overwritten.\n";

static const char config_head[] =
    "# nurture configuration.  Relative paths are relative to this file.\n"
    "# Every key is described in the README (\"Configuration\").\n"
    "\n"
    "database: nurture.db          # SQLite file, created on first use\n"
    "campaigns: campaigns          # folder of campaign files\n"
    "timezone: %s%*s# zone for leads that have none (IANA name)\n"
    "\n"
    "# The lead stages, earliest first.  Sales and marketing agree on these\n"
    "# definitions; campaigns enroll leads by stage.\n"
    "stages:\n";

static const char config_tail[] =
    "default_stage: subscriber     # stage of a new lead that names none\n"
    "\n"
    "# Custom lead fields that email templates may use as {{name}}.\n"
    "lead_fields: [industry, plan]\n"
    "\n"
    "# Who emails come from.  Campaigns name a sender by id.  The postal\n"
    "# address appears in every email (CAN-SPAM); daily_cap limits sends per\n"
    "# rolling 24 hours (0 = no cap).\n"
    "senders:\n"
    "  - id: hello\n"
    "    name: Dana Whitfield\n"
    "    address: dana@northwind.example\n"
    "    reply_to: dana@northwind.example\n"
    "    postal_address: \"Northwind Metrics Inc., 100 Main Street, Springfield, OR "
    "97477, USA\"\n"
    "    daily_cap: 500\n"
    "\n"
    "# The SMTP relay that sends.  tls: required | opportunistic | off.\n"
    "smtp:\n"
    "  host: 127.0.0.1\n"
    "  port: 2525\n"
    "  tls: off\n"
    "  # username: nurture\n"
    "  # password: {env: NURTURE_SMTP_PASSWORD}   # or {file: /etc/nurture/smtp}\n"
    "\n"
    "# Where replies and bounces arrive (one of imap, pop3, maildir).\n"
    "# inbound:\n"
    "#   imap: imaps://mail.northwind.example/INBOX\n"
    "#   username: replies@northwind.example\n"
    "#   password: {file: /etc/nurture/imap-password}\n"
    "\n"
    "# The secret that signs the tokens in Message-IDs, return paths and\n"
    "# unsubscribe links.  Never put the value here: name a file or an\n"
    "# environment variable ({env: NURTURE_SECRET}).\n"
    "secret: {file: secret}\n"
    "\n"
    "# One-click unsubscribe (RFC 8058) endpoint, if you run one.\n"
    "# unsubscribe_url: https://northwind.example/unsubscribe\n"
    "\n"
    "# The rules that classify inbound mail (bounces, out-of-office replies and\n"
    "# their return dates, unsubscribe requests, intents), PCRE2 patterns each\n"
    "# file explains.  A file in this folder replaces the built-in one of the\n"
    "# same name; delete it to go back to the built-in rules.  Check a change\n"
    "# with `nurture classify MESSAGE`.\n"
    "rules: rules\n"
    "\n"
    "# Scoring: when a lead is engaged enough to hand to sales.  Engagement\n"
    "# rules score events (a human reply, by intent), once or each time\n"
    "# (repeat), fading by half every half_life; fit rules score lead fields.\n"
    "# A score at or above the threshold hands the lead off; a rule with\n"
    "# `handoff: yes` hands off at once.  `nurture lead explain EMAIL` shows why.\n"
    "scoring:\n"
    "  threshold: 50\n"
    "  engagement:\n"
    "    - {rule: replied, on: replied, points: 30, repeat: yes, half_life: 30d}\n"
    "    - {rule: meeting, on: replied, intent: meeting, points: 50, handoff: yes}\n"
    "    - {rule: pricing, on: replied, intent: pricing, points: 40, handoff: yes}\n"
    "    - {rule: interested, on: replied, intent: interested, points: 20}\n"
    "    - {rule: not-interested, on: replied, intent: not-interested, points: -60}\n"
    "  fit:\n"
    "    - {rule: decision-maker, field: title, contains: [VP, Head, Director, Chief, "
    "Founder], points: 20}\n"
    "    - {rule: paid-plan, field: plan, equals: [team, business], points: 10}\n"
    "\n"
    "# The reps who pull handed-off leads (`nurture queue pull --rep NAME`): a\n"
    "# lead's owner gets it, otherwise weighted round-robin among reps not away.\n"
    "reps:\n"
    "  - {name: sam, email: sam@northwind.example, weight: 2}\n"
    "  - {name: kim, email: kim@northwind.example}\n"
    "\n"
    "# The queue: an entry unclaimed for `sla` is escalated (any rep's pull\n"
    "# takes it); a handed-off lead moves to handoff_stage; accept moves it to\n"
    "# accept_stage (default: the next stage); a reject reason may send the\n"
    "# lead back to a campaign.\n"
    "queue:\n"
    "  sla: 24h\n"
    "  handoff_stage: MQL\n"
    "  accept_stage: SQL\n"
    "  reject_reasons:\n"
    "    - not-a-fit\n"
    "    - no-budget\n"
    "    - {reason: bad-timing, recycle: reengage-mql}\n"
    "    - wrong-person\n"
    "    - duplicate\n"
    "    - other\n"
    "\n"
    "# Webhooks told of hand-offs, claims, decisions and SLA breaches, signed\n"
    "# with HMAC-SHA256 (see the README).  format: json | slack.\n"
    "# webhooks:\n"
    "#   - name: crm\n"
    "#     url: https://crm.northwind.example/hooks/nurture\n"
    "#     secret: {env: NURTURE_CRM_HOOK_SECRET}\n"
    "#   - name: sales-channel\n"
    "#     url: https://hooks.slack.com/services/T000/B000/XXXX\n"
    "#     format: slack\n"
    "#     events: [handoff, sla]\n";

static int
exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    const char *p = data;

    if (fd < 0) {
        cli_error("cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            cli_error("writing %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        cli_error("writing %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int
make_dirs(const char *path)
{
    char tmp[4096];

    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static int
write_campaigns(const char *dir)
{
    for (const nt_embedded_file *f = nt_embedded_campaigns; f->path; f++) {
        char path[4096], parent[4096];
        char *slash;
        snprintf(path, sizeof(path), "%s/campaigns/%s", dir, f->path);
        snprintf(parent, sizeof(parent), "%s", path);
        slash = strrchr(parent, '/');
        *slash = '\0';
        if (make_dirs(parent) != 0) {
            cli_error("cannot create %s: %s", parent, strerror(errno));
            return -1;
        }
        if (write_file(path, f->data, f->len, 0644) != 0)
            return -1;
    }
    return 0;
}

static int
write_rules(const char *dir)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/rules", dir);
    if (make_dirs(path) != 0) {
        cli_error("cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    for (const nt_embedded_file *f = nt_embedded_rules; f->path; f++) {
        snprintf(path, sizeof(path), "%s/rules/%s", dir, f->path);
        if (write_file(path, f->data, f->len, 0644) != 0)
            return -1;
    }
    return 0;
}

static int
write_secret(const char *dir)
{
    unsigned char raw[32];
    char hex[65], path[4096];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        cli_error("cannot get random bytes for the secret");
        return -1;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[64] = '\n';
    snprintf(path, sizeof(path), "%s/secret", dir);
    return write_file(path, hex, sizeof(hex), 0600);
}

static int
write_config(const char *dir, const char *zone)
{
    nt_buf b;
    char path[4096];
    int rc;
    int pad = 24 - (int)strlen(zone);

    nt_buf_init(&b, 1 << 20);
    nt_buf_addf(&b, config_head, zone, pad > 1 ? pad : 1, "");
    for (size_t i = 0; nt_default_stages[i]; i += 2)
        nt_buf_addf(&b, "  - name: %s\n    definition: \"%s\"\n", nt_default_stages[i],
                    nt_default_stages[i + 1]);
    nt_buf_adds(&b, config_tail);
    snprintf(path, sizeof(path), "%s/nurture.yaml", dir);
    rc = b.err ? -1 : write_file(path, b.data, b.len, 0644);
    nt_buf_release(&b);
    return rc;
}

static int
create_db(const char *dir)
{
    char path[4096];
    nt_store *st;
    nt_diag d;

    snprintf(path, sizeof(path), "%s/nurture.db", dir);
    nt_diag_clear(&d);
    if (nt_store_open_sqlite(path, &st, &d) != NT_OK) {
        cli_diag(&d);
        return -1;
    }
    nt_store_close(st);
    return 0;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) != 0 && errno != ENOENT;
}

/* A failed init removes what it made (none of it existed before), so the
 * folder can be initialised again once the cause is fixed. */
static void
undo(const char *dir, int made_dir)
{
    static const char *const files[] = {"nurture.yaml", "secret", "nurture.db", "nurture.db-wal",
                                        "nurture.db-shm"};
    char path[4096];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/campaigns", dir);
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    snprintf(path, sizeof(path), "%s/rules", dir);
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (made_dir)
        rmdir(dir);
}

int
cmd_init(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"timezone", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *zone = "UTC", *dir;
    char path[4096];
    nt_tz *tz = NULL;
    int c;

    (void)cli;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help);
        if (c == 't')
            zone = optarg;
        else
            return cli_usage_error("init", "bad option");
    }
    if (optind != argc - 1)
        return cli_usage_error("init", "init needs exactly one folder name");
    dir = argv[optind];
    if (!nt_tz_name_ok(zone) || nt_tz_load(zone, &tz, NULL) != NT_OK)
        return cli_usage_error("init", "unknown time zone '%s' (use e.g. Europe/Berlin)", zone);
    nt_tz_free(tz);
    {
        struct stat st;
        if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
            cli_error("%s exists and is not a folder; init never overwrites", dir);
            return NT_EXIT_FAIL;
        }
    }
    static const char *const made[] = {"nurture.yaml", "nurture.db", "secret", "campaigns",
                                       "rules"};
    for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, made[i]);
        if (exists(path)) {
            cli_error("%s already exists; init never overwrites (choose an empty folder)", path);
            return NT_EXIT_FAIL;
        }
    }
    int made_dir = !exists(dir);
    if (make_dirs(dir) != 0) {
        cli_error("cannot create %s: %s", dir, strerror(errno));
        return NT_EXIT_IO;
    }
    if (write_campaigns(dir) != 0 || write_rules(dir) != 0 || write_secret(dir) != 0 ||
        create_db(dir) != 0 || write_config(dir, zone) != 0) {
        undo(dir, made_dir);
        cli_error("nothing was left in %s; fix the cause above and run init again", dir);
        return NT_EXIT_IO;
    }
    printf("Created %s: nurture.yaml, secret, nurture.db, campaigns/, rules/\n"
           "Next: cd %s && nurture campaign lint && nurture lead add you@example.com "
           "--stage lead && nurture plan\n",
           dir, dir);
    return NT_EXIT_OK;
}
