/*
 * Unit tests for campaigns (campaign.c, campaign_lint.c): the two example
 * campaigns load and lint clean against the configuration `nurture init`
 * writes; then one small campaign per check, written to a temporary folder,
 * with the exact file:line:col and message of every error, warning and note
 * it gives; folders of campaigns (file and folder campaigns, duplicate
 * names); the version hash; audience matching for every condition; and the
 * footer template.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nurture/buf.h"
#include "nurture/campaign.h"
#include "nurture/config.h"
#include "nurture/lead.h"

#include "t.h"

static char tmp[PATH_MAX];
static nt_config cfg;
static nt_buf diag_out; /* what check_campaign returns */

/* ---- files ---- */

static void
mkdirs(const char *path)
{
    char p[PATH_MAX + 200];

    snprintf(p, sizeof(p), "%s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            perror(p);
            exit(1);
        }
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        perror(p);
        exit(1);
    }
}

static const char *
tpath(const char *rel)
{
    static char buf[4][PATH_MAX + 100];
    static int i;

    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, rel);
    return buf[i];
}

/* Write `text` (len bytes) to tmp/rel, making the folders it needs. */
static void
put_n(const char *rel, const char *text, size_t len)
{
    char path[PATH_MAX + 100], *slash;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmp, rel);
    slash = strrchr(path, '/');
    *slash = '\0';
    mkdirs(path);
    *slash = '/';
    f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fwrite(text, 1, len, f);
    fclose(f);
}

static void
put(const char *rel, const char *text)
{
    put_n(rel, text, strlen(text));
}

/* ---- the configuration `nurture init` writes (see cmd_init.c) ---- */

static void
write_init_config(void)
{
    nt_buf b;

    nt_buf_init(&b, 0);
    nt_buf_adds(&b, "database: nurture.db\n"
                    "campaigns: campaigns\n"
                    "timezone: UTC                     # zone for leads that have none\n"
                    "stages:\n");
    for (size_t i = 0; nt_default_stages[i]; i += 2)
        nt_buf_addf(&b, "  - name: %s\n    definition: \"%s\"\n", nt_default_stages[i],
                    nt_default_stages[i + 1]);
    nt_buf_adds(&b, "default_stage: subscriber\n"
                    "lead_fields: [industry, plan]\n"
                    "senders:\n"
                    "  - id: hello\n"
                    "    name: Dana Whitfield\n"
                    "    address: dana@northwind.example\n"
                    "    reply_to: dana@northwind.example\n"
                    "    postal_address: \"Northwind Metrics Inc., 100 Main Street, "
                    "Springfield, OR 97477, USA\"\n"
                    "    daily_cap: 500\n"
                    "smtp:\n"
                    "  host: 127.0.0.1\n"
                    "  port: 2525\n"
                    "  tls: off\n"
                    "secret: {file: secret}\n");
    put("nurture.yaml", nt_buf_cstr(&b));
    nt_buf_release(&b);
}

/* ---- running the loader and the linter ---- */

/* Append s to out with every "tmp/" removed, so messages read as relative. */
static void
add_relative(nt_buf *out, const char *s)
{
    size_t tl = strlen(tmp);
    const char *p;

    while ((p = strstr(s, tmp)) != NULL && p[tl] == '/') {
        nt_buf_add(out, s, (size_t)(p - s));
        s = p + tl + 1;
    }
    nt_buf_adds(out, s);
}

static void
format_all(const nt_diags *ds, nt_buf *out)
{
    static const char *const sev[] = {"E", "W", "N"};

    for (size_t i = 0; i < ds->len; i++) {
        char line[1500];
        nt_diag_format(&ds->items[i], line, sizeof(line));
        /* The severity is in the line too, for errors (which have no
         * "warning:" prefix) as much as for the others. */
        nt_buf_addf(out, "%s ", sev[ds->items[i].sev]);
        add_relative(out, line);
        nt_buf_addc(out, '\n');
    }
}

/*
 * Load tmp/rel (a file or a folder) and, when it loads, lint it.  Returns
 * the diagnostics, one per line as "E|W|N file:line:col: message", in a
 * static buffer; *loaded says whether it loaded.
 */
static const char *
check_campaign(const char *rel, int *loaded)
{
    nt_campaign *c = NULL;
    nt_diags ds;
    nt_err err;

    nt_buf_reset(&diag_out);
    nt_diags_init(&ds, 0);
    err = nt_campaign_load(tpath(rel), &c, &ds);
    if (loaded)
        *loaded = err == NT_OK;
    if (err == NT_OK) {
        CHECK(c != NULL);
        nt_campaign_lint(c, &cfg, &ds);
    } else {
        CHECK(c == NULL);
    }
    format_all(&ds, &diag_out);
    nt_campaign_free(c);
    nt_diags_release(&ds);
    return nt_buf_cstr(&diag_out);
}

/* Diagnostics of campaign `yaml` written as tmp/NAME/campaign.yaml. */
#define CHECK_LINT(name, yaml, want)                                                               \
    do {                                                                                           \
        put(name "/campaign.yaml", (yaml));                                                        \
        CHECK_STR(check_campaign(name, NULL), (want));                                             \
    } while (0)

/* ---- building blocks ---- */

#define GOOD_EMAIL                                                                                 \
    "---\n"                                                                                        \
    "subject: Hello {{first_name | there}}\n"                                                      \
    "preheader: A short note\n"                                                                    \
    "---\n"                                                                                        \
    "Hi {{first_name | there}},\n"                                                                 \
    "\n"                                                                                           \
    "A few words for {{company | your team}}.\n"                                                   \
    "\n"                                                                                           \
    "[Unsubscribe]({{unsubscribe_url}}) - {{postal_address}}\n"

#define HEAD                                                                                       \
    "name: t\n"                                                                                    \
    "audience:\n"                                                                                  \
    "  stage: lead\n"                                                                              \
    "sender: hello\n"

#define WINDOW                                                                                     \
    "window:\n"                                                                                    \
    "  days: [mon, tue, wed, thu, fri]\n"                                                          \
    "  hours: \"09:00-17:00\"\n"

#define STEPS                                                                                      \
    "steps:\n"                                                                                     \
    "  - after: 1d\n"                                                                              \
    "    email: a.md\n"

#define EXIT "exit: [reply, unsubscribe, bounce]\n"

/* The good campaign: HEAD (lines 1-4), WINDOW (5-7), STEPS (8-10), EXIT (11). */
#define GOOD HEAD WINDOW STEPS EXIT

/* A folder NAME with a.md and b.md, both good. */
static void
emails(const char *name)
{
    char rel[300];

    snprintf(rel, sizeof(rel), "%s/a.md", name);
    put(rel, GOOD_EMAIL);
    snprintf(rel, sizeof(rel), "%s/b.md", name);
    put(rel, GOOD_EMAIL);
}

/* ---- the examples ---- */

static void
test_examples(void)
{
    const char *src = getenv("NT_SOURCE_DIR");
    char path[PATH_MAX];
    nt_campaign *c = NULL;
    nt_campaign_set set;
    nt_diags ds;
    size_t failed = 99;
    nt_buf out;

    REQUIRE(src != NULL);
    nt_buf_init(&out, 0);
    nt_diags_init(&ds, 0);
    snprintf(path, sizeof(path), "%s/campaigns/welcome", src);
    REQUIRE(nt_campaign_load(path, &c, &ds) == NT_OK);
    CHECK_INT(nt_campaign_lint(c, &cfg, &ds), NT_OK);
    format_all(&ds, &out);
    CHECK_STR(nt_buf_cstr(&out), "");
    CHECK_INT(ds.errors, 0);
    CHECK_INT(ds.warnings, 0);

    CHECK_STR(c->name, "welcome");
    CHECK(c->description && strstr(c->description, "Five emails"));
    CHECK_INT(c->paused, 0);
    CHECK_STR(c->stage, "lead");
    REQUIRE(c->nconds == 1);
    CHECK_STR(c->conds[0].field, "source");
    CHECK_INT(c->conds[0].op, NT_COND_NOT_IN);
    REQUIRE(c->conds[0].nvalues == 1);
    CHECK_STR(c->conds[0].values[0], "partner-referral");
    CHECK_STR(c->sender, "hello");
    CHECK_INT(c->window.days, 0x3e);
    CHECK_INT(c->window.start_min, 9 * 60);
    CHECK_INT(c->window.end_min, 17 * 60);
    CHECK(c->window.timezone == NULL);
    CHECK_INT(c->stale_after, 4 * 3600);
    REQUIRE(c->nsteps == 5);
    /* Step ids are meant to stay; delays and copy are marketing's to edit. */
    CHECK_STR(c->steps[0].id, "welcome");
    CHECK_STR(c->steps[0].email, "emails/01-welcome.md");
    CHECK_INT(c->steps[0].col, 5);
    CHECK_INT(c->steps[0].after_line, c->steps[0].line + 1);
    CHECK_INT(c->steps[0].email_line, c->steps[0].line + 2);
    CHECK_INT(c->steps[0].email_col, 12);
    for (size_t i = 0; i < c->nsteps; i++)
        CHECK(c->steps[i].tmpl != NULL && c->steps[i].after > 0);
    CHECK_STR(c->steps[4].id, "talk-to-us");
    CHECK_INT(c->exits, NT_EXIT_ON_REPLY | NT_EXIT_ON_UNSUBSCRIBE | NT_EXIT_ON_BOUNCE |
                            NT_EXIT_ON_STAGE_CHANGE);
    CHECK_STR(c->footer, "emails/footer.md");
    CHECK(c->footer_tmpl != NULL);
    CHECK_INT(strlen(c->version), 16);
    CHECK_INT(strspn(c->version, "0123456789abcdef"), 16);
    CHECK_INT(nt_campaign_step_index(c, "customer-story"), 2);
    CHECK_INT(nt_campaign_step_index(c, "nope"), -1);
    CHECK_INT(nt_campaign_step_index(c, NULL), -1);
    nt_campaign_free(c);
    nt_diags_release(&ds);

    nt_diags_init(&ds, 0);
    snprintf(path, sizeof(path), "%s/campaigns/reengage-mql/campaign.yaml", src);
    REQUIRE(nt_campaign_load(path, &c, &ds) == NT_OK);
    CHECK_INT(nt_campaign_lint(c, &cfg, &ds), NT_OK);
    nt_buf_reset(&out);
    format_all(&ds, &out);
    CHECK_STR(nt_buf_cstr(&out), "");
    CHECK_STR(c->stage, "MQL");
    CHECK_INT(c->window.days, (1u << 2) | (1u << 3) | (1u << 4));
    CHECK_INT(c->window.start_min, 600);
    CHECK_INT(c->window.end_min, 960);
    CHECK_INT(c->nsteps, 3);
    CHECK_INT(c->stale_after, NT_DEFAULT_STALE_AFTER);
    nt_campaign_free(c);
    nt_diags_release(&ds);

    /* The whole folder, sorted by name. */
    nt_diags_init(&ds, 0);
    snprintf(path, sizeof(path), "%s/campaigns", src);
    REQUIRE(nt_campaign_set_load(path, &set, &failed, &ds) == NT_OK);
    CHECK_INT(failed, 0);
    CHECK_INT(ds.len, 0);
    REQUIRE(set.n == 2);
    CHECK_STR(set.items[0]->name, "reengage-mql");
    CHECK_STR(set.items[1]->name, "welcome");
    CHECK(nt_campaign_set_find(&set, "welcome") == set.items[1]);
    CHECK(nt_campaign_set_find(&set, "nope") == NULL);
    for (size_t i = 0; i < set.n; i++)
        CHECK_INT(nt_campaign_lint(set.items[i], &cfg, &ds), NT_OK);
    CHECK_INT(ds.len, 0);
    nt_campaign_set_release(&set);
    CHECK_INT(set.n, 0);
    nt_diags_release(&ds);
    nt_buf_release(&out);
}

/* ---- errors from loading ---- */

static void
test_good_is_clean(void)
{
    int loaded = 0;

    emails("good");
    put("good/campaign.yaml", GOOD);
    CHECK_STR(check_campaign("good", &loaded), "");
    CHECK(loaded);
    /* The file itself names the campaign too, and a .yaml file whose name
     * is the campaign's gets no note. */
    put("good/t.yaml", GOOD);
    CHECK_STR(check_campaign("good/t.yaml", &loaded), "");
    CHECK(loaded);
    put("good/other.yaml", GOOD);
    CHECK_STR(check_campaign("good/other.yaml", &loaded),
              "N good/other.yaml:1:7: note: the campaign is named 't' but its file is "
              "'other.yaml'\n");
    CHECK(loaded);
}

static void
test_syntax_error(void)
{
    int loaded = 1;

    emails("syntax");
    put("syntax/campaign.yaml", HEAD "window:\n  days: [mon, tue\n  hours: 9-17\n" STEPS);
    CHECK_STR(check_campaign("syntax", &loaded),
              "E syntax/campaign.yaml:7:8: YAML syntax error: did not find expected ',' or ']' "
              "while parsing a flow sequence\n");
    CHECK(!loaded);
    CHECK_LINT("syntax2", HEAD "steps:\n  - after: 1d\n   email: a.md\n",
               "E syntax2/campaign.yaml:7:4: YAML syntax error: did not find expected '-' "
               "indicator while parsing a block collection\n");
    CHECK_LINT("syntax3", "name: t\nname: u\n",
               "E syntax3/campaign.yaml:2:1: key 'name' appears twice (first on line 1)\n");
    CHECK_LINT("syntax4", "- a\n- b\n",
               "E syntax4/campaign.yaml:1:1: a campaign is a mapping with name, audience, "
               "sender, window, steps and exit; see campaigns/ for examples\n");
    CHECK_LINT("syntax5", "",
               "E syntax5/campaign.yaml:1:1: a campaign is a mapping with name, audience, "
               "sender, window, steps and exit; see campaigns/ for examples\n");
    {
        static const char nul[] = "name: t\nsender: he\0llo\n";
        put_n("nul/campaign.yaml", nul, sizeof(nul) - 1);
        CHECK_STR(check_campaign("nul", &loaded),
                  "E nul/campaign.yaml:2:11: the file contains a NUL byte; is it a text file?\n");
        CHECK(!loaded);
    }
    CHECK_STR(check_campaign("no-such-campaign", &loaded),
              "E no-such-campaign: cannot read the campaign: No such file or directory\n");
    CHECK(!loaded);
}

static void
test_huge_file(void)
{
    size_t n = 5u << 20;
    char *big = malloc(n);
    int loaded = 1;

    REQUIRE(big != NULL);
    memset(big, '#', n);
    for (size_t i = 79; i < n; i += 80)
        big[i] = '\n';
    put_n("huge.yaml", big, n);
    free(big);
    CHECK_STR(check_campaign("huge.yaml", &loaded),
              "E huge.yaml: cannot read the campaign: larger than 4 MiB\n");
    CHECK(!loaded);
}

static void
test_unknown_keys(void)
{
    emails("keys");
    CHECK_LINT("keys",
               "name: t\n"
               "audience:\n"
               "  stage: lead\n"
               "  stages: MQL\n"
               "sendr: hello\n"
               "sender: hello\n" WINDOW "  timezon: lead\n"
               "steps:\n"
               "  - delay: 1d\n"
               "    after: 1d\n"
               "    email: a.md\n"
               "  - wait: 1d\n"
               "    template: b.md\n"
               "  - after: 1d\n"
               "    emial: b.md\n"
               "    subject: Hi\n" EXIT "colour: blue\n",
               "E keys/campaign.yaml:5:1: unknown key 'sendr' in the campaign; did you mean "
               "'sender'?\n"
               "E keys/campaign.yaml:21:1: unknown key 'colour' in the campaign\n"
               "E keys/campaign.yaml:4:3: unknown key 'stages' in audience; did you mean "
               "'stage'?\n"
               "E keys/campaign.yaml:10:3: unknown key 'timezon' in window; did you mean "
               "'timezone'?\n"
               "E keys/campaign.yaml:12:5: unknown key 'delay' in a step; did you mean "
               "'after'?\n"
               "E keys/campaign.yaml:15:5: unknown key 'wait' in a step; did you mean 'after'?\n"
               "E keys/campaign.yaml:16:5: unknown key 'template' in a step; did you mean "
               "'email'?\n"
               "E keys/campaign.yaml:15:5: each step needs 'after', the wait before it, such as "
               "3d or 0d\n"
               "E keys/campaign.yaml:15:5: each step needs 'email', the Markdown file to send\n"
               "E keys/campaign.yaml:18:5: unknown key 'emial' in a step; did you mean "
               "'email'?\n"
               "E keys/campaign.yaml:19:5: unknown key 'subject' in a step\n"
               "E keys/campaign.yaml:17:5: each step needs 'email', the Markdown file to send\n");
    CHECK_LINT("keys2",
               HEAD "audience2: x\n" WINDOW STEPS "exit: [reply]\n"
                    "where:\n"
                    "  - field: country\n",
               "E keys2/campaign.yaml:5:1: unknown key 'audience2' in the campaign; did you "
               "mean 'audience'?\n"
               "E keys2/campaign.yaml:13:1: unknown key 'where' in the campaign\n"
               "E keys2/campaign.yaml:11:12: email file 'a.md' cannot be read (No such file or "
               "directory): check the path, which is relative to keys2\n");
}

static void
test_wrong_types(void)
{
    emails("types");
    CHECK_LINT("types",
               "name: [t]\n"
               "description: {a: b}\n"
               "audience: lead\n"
               "sender: [hello]\n"
               "window: weekdays\n"
               "stale_after: [4h]\n"
               "footer: {file: f.md}\n"
               "steps: a.md\n"
               "exit: reply\n",
               "E types/campaign.yaml:1:7: 'name' must be text, not a list\n"
               "E types/campaign.yaml:2:14: 'description' must be text, not a mapping\n"
               "E types/campaign.yaml:3:11: 'audience' must be a mapping with 'stage'\n"
               "E types/campaign.yaml:4:9: 'sender' must be text, not a list\n"
               "E types/campaign.yaml:5:9: 'window' must be a mapping with 'days', 'hours' and "
               "'timezone'\n"
               "E types/campaign.yaml:6:14: 'stale_after' must be text, not a list\n"
               "E types/campaign.yaml:7:9: 'footer' must be text, not a mapping\n"
               "E types/campaign.yaml:8:8: 'steps' must be a list with at least one step\n"
               "E types/campaign.yaml:9:7: 'exit' must be a list such as [reply, unsubscribe, "
               "bounce, stage_change]\n");
    CHECK_LINT("types2",
               HEAD WINDOW "steps:\n"
                           "  - a.md\n"
                           "  - after: [1d]\n"
                           "    email: {x: a.md}\n"
                           "    id: [x]\n"
                           "exit: [reply, [bounce]]\n"
                           "status: stopped\n",
               "E types2/campaign.yaml:14:9: status 'stopped' is not 'active' or 'paused'\n"
               "E types2/campaign.yaml:9:5: each step is a mapping with 'after' and 'email'\n"
               "E types2/campaign.yaml:10:12: 'after' must be text, not a list\n"
               "E types2/campaign.yaml:11:12: 'email' must be text, not a mapping\n"
               "E types2/campaign.yaml:13:15: 'an exit rule' must be text, not a list\n");
    CHECK_LINT("types3", "name: t\n",
               "E types3/campaign.yaml:1:1: the campaign needs 'audience' with the 'stage' that "
               "enrolls\n"
               "E types3/campaign.yaml:1:1: the campaign needs a 'sender', one of the sender ids "
               "in the configuration\n"
               "E types3/campaign.yaml:1:1: the campaign needs 'steps', the emails to send\n");
    CHECK_LINT("types4", "audience: {}\nsender: hello\nsteps: []\n",
               "E types4/campaign.yaml:1:1: the campaign needs a 'name'\n"
               "E types4/campaign.yaml:1:11: 'audience' needs 'stage', the lead stage that "
               "enrolls\n"
               "E types4/campaign.yaml:3:8: 'steps' must be a list with at least one step\n");
    CHECK_LINT("types5",
               "name: Welcome Series\n"
               "audience: {stage: lead}\nsender: hello\n" STEPS,
               "E types5/campaign.yaml:1:7: campaign name 'Welcome Series' may use only "
               "lower-case letters, digits, '-' and '_'\n"
               "E types5/campaign.yaml:6:12: email file 'a.md' cannot be read (No such file or "
               "directory): check the path, which is relative to types5\n");
    emails("types6");
    CHECK_LINT("types6",
               "name: \"\"\n"
               "audience: {stage: lead}\nsender: hello\n" STEPS,
               "E types6/campaign.yaml:1:7: campaign name '' may use only lower-case letters, "
               "digits, '-' and '_'\n");
}

static void
test_conditions(void)
{
    emails("cond");
    CHECK_LINT("cond",
               "name: t\n"
               "audience:\n"
               "  stage: lead\n"
               "  where:\n"
               "    - field: country\n"
               "      in: US\n"
               "    - field: plan\n"
               "      equals: pro\n"
               "      contains: pr\n"
               "    - field: plan\n"
               "    - equals: x\n"
               "    - plan\n"
               "    - field: plan\n"
               "      present: maybe\n"
               "    - field: plan\n"
               "      equal: pro\n"
               "sender: hello\n" STEPS EXIT,
               "E cond/campaign.yaml:6:11: 'in' takes a list, such as [US, CA]\n"
               "E cond/campaign.yaml:9:17: a condition takes one test; 'contains' is a second "
               "one\n"
               "E cond/campaign.yaml:10:7: a condition needs a test: equals, not_equals, in, "
               "not_in, contains, present or absent\n"
               "E cond/campaign.yaml:11:7: a condition needs 'field', the lead field it tests\n"
               "E cond/campaign.yaml:12:7: each condition is a mapping, such as {field: country, "
               "in: [US, CA]}\n"
               "E cond/campaign.yaml:14:16: 'present' must be true or false\n"
               "E cond/campaign.yaml:16:7: unknown key 'equal' in a condition; did you mean "
               "'equals'?\n"
               "E cond/campaign.yaml:15:7: a condition needs a test: equals, not_equals, in, "
               "not_in, contains, present or absent\n");
    /* A condition on a field nobody provides is legal but suspicious. */
    CHECK_LINT("cond",
               "name: t\n"
               "audience:\n"
               "  stage: lead\n"
               "  where:\n"
               "    - {field: shoe_size, present: true}\n"
               "    - {field: industry, in: [saas]}\n"
               "    - {field: company, absent: true}\n"
               "sender: hello\n" WINDOW STEPS EXIT,
               "W cond/campaign.yaml:5:7: warning: condition on 'shoe_size', which is neither a "
               "standard lead field nor in lead_fields\n");
}

static void
test_bad_duration(void)
{
    emails("dur");
    CHECK_LINT("dur",
               HEAD WINDOW "stale_after: soon\n"
                           "steps:\n"
                           "  - after: 3 days\n"
                           "    email: a.md\n"
                           "  - after: 3\n"
                           "    email: b.md\n"
                           "    id: two\n"
                           "  - after: -1d\n"
                           "    email: a.md\n"
                           "    id: three\n"
                           "  - after: \"\"\n"
                           "    email: b.md\n"
                           "    id: four\n"
                           "  - after: 20y\n"
                           "    email: b.md\n"
                           "    id: five\n" EXIT,
               "E dur/campaign.yaml:8:14: 'stale_after': invalid duration 'soon': expected a "
               "number at column 1 (a duration looks like 3d, 1d12h or 90m)\n"
               "E dur/campaign.yaml:10:12: 'after': invalid duration '3 days': unknown unit "
               "'days' at column 3 (use w, d, h, m or s)\n"
               "E dur/campaign.yaml:12:12: 'after': invalid duration '3': the number at column 1 "
               "has no unit (use w, d, h, m or s)\n"
               "E dur/campaign.yaml:15:12: 'after': invalid duration '-1d': durations cannot be "
               "negative\n"
               "E dur/campaign.yaml:18:12: 'after': empty duration (a duration looks like 3d, "
               "1d12h or 90m)\n"
               "E dur/campaign.yaml:21:12: 'after': invalid duration '20y': unknown unit 'y' at "
               "column 3 (use w, d, h, m or s)\n");
}

static void
test_stage_and_sender(void)
{
    emails("stage");
    /* Stages compare case-insensitively: "mql" is MQL, not a typo. */
    CHECK_LINT("stage", "name: t\naudience:\n  stage: mql\nsender: hello\n" WINDOW STEPS EXIT, "");
    CHECK_LINT("stage", "name: t\naudience:\n  stage: leed\nsender: hello\n" WINDOW STEPS EXIT,
               "E stage/campaign.yaml:3:10: unknown stage 'leed'; did you mean 'lead'? (stages "
               "are defined in nurture.yaml)\n");
    CHECK_LINT("stage", "name: t\naudience:\n  stage: mqll\nsender: hello\n" WINDOW STEPS EXIT,
               "E stage/campaign.yaml:3:10: unknown stage 'mqll'; did you mean 'MQL'? (stages "
               "are defined in nurture.yaml)\n");
    CHECK_LINT("stage", "name: t\naudience:\n  stage: prospect\nsender: hello\n" WINDOW STEPS EXIT,
               "E stage/campaign.yaml:3:10: unknown stage 'prospect' (stages are defined in "
               "nurture.yaml)\n");
    CHECK_LINT("stage", "name: t\naudience:\n  stage: customer\nsender: hello\n" WINDOW STEPS EXIT,
               "W stage/campaign.yaml:3:10: warning: the audience is the last stage, "
               "'customer': this nurtures customers\n");
    CHECK_LINT("stage", "name: t\naudience:\n  stage: lead\nsender: helo\n" WINDOW STEPS EXIT,
               "E stage/campaign.yaml:4:9: unknown sender 'helo': add it under 'senders' in "
               "nurture.yaml\n");
}

static void
test_templates(void)
{
    put("tpl/a.md", "---\n"
                    "subject: Hi {{First_name}}\n"
                    "---\n"
                    "Body {{unsubscribe_url}} {{postal_address}} {{ company | x \n");
    put("tpl/b.md", "no header at all\n");
    CHECK_LINT("tpl",
               HEAD WINDOW "steps:\n"
                           "  - after: 1d\n"
                           "    email: a.md\n"
                           "  - after: 1d\n"
                           "    email: b.md\n"
                           "  - after: 1d\n"
                           "    email: missing/c.md\n" EXIT,
               "E tpl/a.md:2:15: merge field names are lowercase: 'First_name'; did you mean "
               "'first_name'?\n"
               "E tpl/a.md:4:45: unterminated merge field: '{{' without '}}' on the same line\n"
               "E tpl/b.md:1:1: missing header: a template starts with a '---' line, 'subject: "
               "...', and another '---' line\n"
               "E tpl/campaign.yaml:14:12: email file 'missing/c.md' cannot be read (No such "
               "file or directory): check the path, which is relative to tpl\n");

    /* Things that are not regular files are refused before they are opened:
     * opening a FIFO would block, reading /dev/zero would never end. */
    REQUIRE(mkfifo(tpath("tpl/fifo.md"), 0600) == 0);
    mkdirs(tpath("tpl/dir.md"));
    CHECK_LINT("tpl2",
               HEAD WINDOW "steps:\n"
                           "  - after: 1d\n"
                           "    email: ../tpl/fifo.md\n"
                           "  - after: 1d\n"
                           "    email: /dev/zero\n"
                           "  - after: 1d\n"
                           "    email: ../tpl/dir.md\n" EXIT,
               "E tpl2/campaign.yaml:10:12: email file '../tpl/fifo.md' cannot be read (not a "
               "regular file): check the path, which is relative to tpl2\n"
               "E tpl2/campaign.yaml:12:12: email file '/dev/zero' cannot be read (not a "
               "regular file): check the path, which is relative to tpl2\n"
               "E tpl2/campaign.yaml:14:12: email file '../tpl/dir.md' cannot be read (Is a "
               "directory): check the path, which is relative to tpl2\n");
    /* An email file over the size limit. */
    {
        size_t n = NT_TEMPLATE_MAX_BYTES + 1;
        char *big = malloc(n);
        REQUIRE(big != NULL);
        memset(big, 'x', n);
        put_n("tpl3/a.md", big, n);
        free(big);
        CHECK_LINT("tpl3", GOOD,
                   "E tpl3/campaign.yaml:10:12: email file 'a.md' cannot be read (is larger "
                   "than 1 MiB): check the path, which is relative to tpl3\n");
    }
}

static void
test_merge_fields(void)
{
    put("merge/a.md", "---\n"
                      "subject: Hi {{frist_name | there}}\n"
                      "preheader: For {{industry | you}} and {{plan|free}}\n"
                      "---\n"
                      "Hi {{ first_name | there }}, {{shoe_size}} {{Company}}\n"
                      "{{campaign}} {{sender_name}} {{sender_email}} {{email}} {{stage}}\n"
                      "{{compnay | x}}\n"
                      "[Unsubscribe]({{unsubscribe_url}}) {{postal_address}}\n");
    CHECK_LINT("merge", GOOD,
               "E merge/a.md:5:46: merge field names are lowercase: 'Company'; did you mean "
               "'company'?\n");
    put("merge/a.md", "---\n"
                      "subject: Hi {{frist_name | there}}\n"
                      "preheader: For {{industry | you}} and {{plan|free}}\n"
                      "---\n"
                      "Hi {{ first_name | there }}, {{shoe_size}}\n"
                      "{{campaign}} {{sender_name}} {{sender_email}} {{email}} {{stage}}\n"
                      "{{compnay | x}} {{title}}\n"
                      "[Unsubscribe]({{unsubscribe_url}}) {{postal_address}}\n");
    CHECK_LINT("merge", GOOD,
               "E merge/a.md:2:13: unknown merge field 'frist_name'; did you mean "
               "'first_name'?\n"
               "E merge/a.md:5:30: unknown merge field 'shoe_size': no lead field or built-in "
               "has this name (add it to lead_fields in the configuration if leads carry it)\n"
               "E merge/a.md:7:1: unknown merge field 'compnay'; did you mean 'company'?\n"
               "W merge/a.md:7:17: warning: merge field 'title' has no default: leads without "
               "it get an empty value; write {{title | something}}\n");
}

static void
test_unsubscribe_and_postal(void)
{
    put("law/a.md", "---\nsubject: Hi\npreheader: p\n---\nNo link, {{postal_address}}.\n");
    put("law/b.md", "---\nsubject: Hi\npreheader: p\n---\n[U]({{unsubscribe_url}}) only.\n");
    put("law/c.md", "---\nsubject: Hi {{unsubscribe_url}} {{postal_address}}\npreheader: "
                    "p\n---\nBoth only in the subject.\n");
    CHECK_LINT("law",
               HEAD WINDOW "steps:\n"
                           "  - after: 1d\n"
                           "    email: a.md\n"
                           "  - after: 1d\n"
                           "    email: b.md\n"
                           "  - after: 1d\n"
                           "    email: c.md\n" EXIT,
               "E law/a.md:1:1: no unsubscribe link: every email needs {{unsubscribe_url}} (in "
               "the email or the campaign's footer)\n"
               "E law/b.md:1:1: no postal address: every email needs {{postal_address}} (in the "
               "email or the campaign's footer)\n"
               "E law/c.md:1:1: no unsubscribe link: every email needs {{unsubscribe_url}} (in "
               "the email or the campaign's footer)\n"
               "E law/c.md:1:1: no postal address: every email needs {{postal_address}} (in the "
               "email or the campaign's footer)\n");
}

static void
test_window(void)
{
    emails("win");
    CHECK_LINT("win", HEAD "window:\n  days: weekdays\n  hours: \"17:00-09:00\"\n" STEPS EXIT,
               "E win/campaign.yaml:7:10: the send window '17:00-09:00' has no hours: the end "
               "must be after the start\n");
    CHECK_LINT("win", HEAD "window:\n  days: weekdays\n  hours: \"09:00-09:00\"\n" STEPS EXIT,
               "E win/campaign.yaml:7:10: the send window '09:00-09:00' has no hours: the end "
               "must be after the start\n");
    CHECK_LINT("win", HEAD "window:\n  days: weekdays\n  hours: 9am-5pm\n" STEPS EXIT,
               "E win/campaign.yaml:7:10: bad hours '9am-5pm': write them as "
               "\"09:00-17:00\"\n");
    CHECK_LINT("win", HEAD "window:\n  days: weekdays\n  hours: \"25:00-26:00\"\n" STEPS EXIT,
               "E win/campaign.yaml:7:10: bad hours '25:00-26:00': write them as "
               "\"09:00-17:00\"\n");
    CHECK_LINT("win", HEAD "window:\n  days: weekdays\n" STEPS EXIT,
               "E win/campaign.yaml:6:3: the send window has no 'hours', such as "
               "\"09:00-17:00\"\n");
    CHECK_LINT("win", HEAD "window:\n  days: []\n  hours: \"09:00-17:00\"\n" STEPS EXIT,
               "E win/campaign.yaml:6:9: the send window has no days, so nothing would ever be "
               "sent\n");
    CHECK_LINT("win",
               HEAD "window:\n  days: [mon, funday, monkey]\n  hours: \"09:00-17:00\"\n" STEPS EXIT,
               "E win/campaign.yaml:6:15: unknown day 'funday': use mon, tue, wed, thu, fri, "
               "sat, sun\n"
               "E win/campaign.yaml:6:23: unknown day 'monkey': use mon, tue, wed, thu, fri, "
               "sat, sun\n");
    CHECK_LINT("win", HEAD "window:\n  days: mon-frii\n  hours: \"09:00-17:00\"\n" STEPS EXIT,
               "E win/campaign.yaml:6:9: bad days 'mon-frii': use a list such as [mon, tue, wed, "
               "thu, fri], or mon-fri, or weekdays\n");
    CHECK_LINT(
        "win",
        HEAD
        "window:\n  days: weekdays\n  hours: \"09:00-17:00\"\n  timezone: Mars/Base\n" STEPS EXIT,
        "E win/campaign.yaml:8:13: unknown time zone 'Mars/Base': use 'lead' (each lead's "
        "own zone) or an IANA name such as Europe/Berlin\n");
    CHECK_LINT("win", HEAD "window: {days: weekdays}\n" STEPS EXIT,
               "E win/campaign.yaml:5:9: the send window has no 'hours', such as "
               "\"09:00-17:00\"\n");
}

static void
test_window_forms(void)
{
    static const struct {
        const char *days, *hours;
        unsigned want_days;
        int start, end;
    } cases[] = {
        {"[Monday, TUE, wednesday]", "\"9-17\"", 0x0e, 540, 1020},
        {"mon-fri", "\" 09:30 - 16:45 \"", 0x3e, 570, 1005},
        {"thu-tue", "\"08:00-24:00\"", 0x77, 480, 1440},
        {"[weekdays]", "\"10:00-12:00\"", 0x3e, 600, 720},
        {"daily", "\"09:00-17:00\"", 0x7f, 540, 1020},
        {"[sun, sat]", "\"09:00-17:00\"", 0x41, 540, 1020},
    };

    emails("forms");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char yaml[1000];
        nt_campaign *c = NULL;
        nt_diags ds;
        snprintf(yaml, sizeof(yaml),
                 HEAD "window:\n  days: %s\n  hours: %s\n  timezone: Europe/Berlin\n" STEPS EXIT,
                 cases[i].days, cases[i].hours);
        put("forms/campaign.yaml", yaml);
        nt_diags_init(&ds, 0);
        CHECK_INT(nt_campaign_load(tpath("forms"), &c, &ds), NT_OK);
        CHECK_INT(ds.errors, 0);
        if (c) {
            CHECK_INT(c->window.days, cases[i].want_days);
            CHECK_INT(c->window.start_min, cases[i].start);
            CHECK_INT(c->window.end_min, cases[i].end);
            CHECK_STR(c->window.timezone, "Europe/Berlin");
        }
        nt_campaign_free(c);
        nt_diags_release(&ds);
    }
}

static void
test_exits_and_ids(void)
{
    emails("exit");
    CHECK_LINT("exit", HEAD WINDOW STEPS "exit: [reply, bounced, goal, unsubscribe]\n",
               "E exit/campaign.yaml:11:15: unknown exit rule 'bounced'; did you mean "
               "'bounce'?\n"
               "E exit/campaign.yaml:11:24: unknown exit rule 'goal': use reply, unsubscribe, "
               "bounce or stage_change\n");
    CHECK_LINT("exit",
               HEAD WINDOW "steps:\n"
                           "  - after: 1d\n"
                           "    email: a.md\n"
                           "  - after: 1d\n"
                           "    email: sub/a.md\n"
                           "  - id: x\n"
                           "    after: 1d\n"
                           "    email: b.md\n"
                           "  - id: x\n"
                           "    after: 1d\n"
                           "    email: b.md\n" EXIT,
               "E exit/campaign.yaml:12:12: email file 'sub/a.md' cannot be read (No such file "
               "or directory): check the path, which is relative to exit\n"
               "E exit/campaign.yaml:11:5: two steps have the id 'a' (the other is on line 9); "
               "give one an 'id:' of its own\n"
               "E exit/campaign.yaml:16:5: two steps have the id 'x' (the other is on line 13); "
               "give one an 'id:' of its own\n");
    /* Without 'exit' the default is reply, unsubscribe and bounce. */
    {
        nt_campaign *c = NULL;
        nt_diags ds;
        put("exit/campaign.yaml", HEAD WINDOW STEPS);
        nt_diags_init(&ds, 0);
        REQUIRE(nt_campaign_load(tpath("exit"), &c, &ds) == NT_OK);
        CHECK_INT(c->exits, NT_EXIT_ON_REPLY | NT_EXIT_ON_UNSUBSCRIBE | NT_EXIT_ON_BOUNCE);
        CHECK_INT(c->nsteps, 1);
        CHECK_STR(c->steps[0].id, "a");
        CHECK_INT(nt_campaign_lint(c, &cfg, &ds), NT_OK);
        CHECK_INT(ds.len, 0);
        nt_campaign_free(c);
        nt_diags_release(&ds);
    }
}

/* ---- warnings ---- */

static void
test_warnings(void)
{
    emails("warn");
    CHECK_LINT("warn", HEAD "window:\n  days: [mon, sat]\n  hours: \"09:00-17:00\"\n" STEPS EXIT,
               "W warn/campaign.yaml:6:3: warning: the send window includes the weekend, when "
               "B2B email is read least\n");
    CHECK_LINT("warn", HEAD "window:\n  days: weekdays\n  hours: \"06:00-22:00\"\n" STEPS EXIT,
               "W warn/campaign.yaml:6:3: warning: the send window reaches outside "
               "07:00-20:00: people will get email at night\n");
    CHECK_LINT("warn", HEAD "window:\n  days: weekdays\n  hours: \"09:00-10:30\"\n" STEPS EXIT,
               "W warn/campaign.yaml:6:3: warning: the send window is open less than two hours "
               "a day; sends will bunch up and may be capped\n");
    CHECK_LINT("warn", HEAD WINDOW STEPS "exit: [unsubscribe, bounce]\n",
               "W warn/campaign.yaml:11:7: warning: 'exit' lacks 'reply': a lead who answers "
               "will keep getting automated email\n");
    CHECK_LINT("warn", HEAD WINDOW STEPS "exit: [reply]\n",
               "W warn/campaign.yaml:11:7: warning: 'exit' lacks 'bounce': hard-bounced "
               "addresses are suppressed anyway, but soft bounces will not end the sequence\n"
               "N warn/campaign.yaml:11:7: note: unsubscribes always end every campaign, "
               "whether 'exit' lists them or not\n");
    CHECK_LINT("warn",
               HEAD WINDOW "steps:\n"
                           "  - after: 0d\n"
                           "    email: a.md\n"
                           "  - after: 59m\n"
                           "    email: b.md\n"
                           "  - after: 1h\n"
                           "    email: a.md\n"
                           "    id: again\n" EXIT,
               "W warn/campaign.yaml:11:12: warning: step 'b' follows the previous one after "
               "less than an hour\n"
               "W warn/campaign.yaml:14:12: warning: step 'again' sends the same email as step "
               "'a'\n");
    CHECK_LINT("warn",
               HEAD WINDOW "stale_after: 30m\nsteps:\n  - after: 61d\n    email: a.md\n"
                           "  - after: 20w\n    email: b.md\n" EXIT,
               "W warn/campaign.yaml:1:1: warning: stale_after is under an hour: a short cron "
               "outage will push steps to the next day\n"
               "W warn/campaign.yaml:10:12: warning: the first email waits more than two "
               "months after a lead enrolls\n"
               "W warn/campaign.yaml:1:1: warning: the sequence runs for more than six "
               "months\n");
    put("warn/a.md", "---\n"
                     "subject: A subject line that goes on and on and on, well past the point "
                     "where any inbox shows it\n"
                     "---\n"
                     "Hi {{first_name}} at {{company}}.\n"
                     "[Unsubscribe]({{unsubscribe_url}}) {{postal_address}}\n");
    CHECK_LINT("warn", GOOD,
               "W warn/a.md:4:4: warning: merge field 'first_name' has no default: leads "
               "without it get an empty value; write {{first_name | something}}\n"
               "W warn/a.md:4:22: warning: merge field 'company' has no default: leads without "
               "it get an empty value; write {{company | something}}\n"
               "W warn/a.md:2:1: warning: the subject is 87 characters long; most inboxes cut "
               "it near 60\n"
               "N warn/a.md:1:1: note: no preheader: inboxes will show the first line of the "
               "body instead\n");
}

/* ---- the footer ---- */

static void
test_footer(void)
{
    nt_campaign *c = NULL;
    nt_diags ds;

    put("foot/emails/a.md", "---\nsubject: Hi\npreheader: p\n---\nJust the body.\n");
    put("foot/emails/footer.md", "---\nsubject: footer\n---\n---\n"
                                 "[Unsubscribe]({{unsubscribe_url}})\n\n{{postal_address}}\n");
    put("foot/campaign.yaml", HEAD WINDOW "footer: emails/footer.md\n"
                                          "steps:\n  - after: 1d\n    email: emails/a.md\n" EXIT);
    CHECK_STR(check_campaign("foot", NULL), "");
    nt_diags_init(&ds, 0);
    REQUIRE(nt_campaign_load(tpath("foot"), &c, &ds) == NT_OK);
    CHECK_STR(c->footer, "emails/footer.md");
    REQUIRE(c->footer_tmpl != NULL);
    CHECK(nt_template_uses(c->footer_tmpl, "unsubscribe_url"));
    CHECK(!nt_template_uses(c->steps[0].tmpl, "unsubscribe_url"));
    nt_campaign_free(c);
    nt_diags_release(&ds);

    /* Problems in the footer are reported in the footer's own file. */
    put("foot/emails/footer.md", "---\nsubject: footer\n---\n"
                                 "[Unsubscribe]({{unsubscribe_url}}) {{postal_adress}}\n"
                                 "{{owner}}\n");
    CHECK_STR(check_campaign("foot", NULL),
              "E foot/emails/a.md:1:1: no postal address: every email needs {{postal_address}} "
              "(in the email or the campaign's footer)\n"
              "E foot/emails/footer.md:4:36: unknown merge field 'postal_adress'; did you mean "
              "'postal_address'?\n"
              "W foot/emails/footer.md:5:1: warning: merge field 'owner' has no default: leads "
              "without it get an empty value; write {{owner | something}}\n");

    /* A footer that cannot be read, or does not parse. */
    put("foot/campaign.yaml", HEAD WINDOW "footer: emails/gone.md\n"
                                          "steps:\n  - after: 1d\n    email: emails/a.md\n" EXIT);
    CHECK_STR(check_campaign("foot", NULL),
              "E foot/campaign.yaml:8:9: email file 'emails/gone.md' cannot be read (No such "
              "file or directory): check the path, which is relative to foot\n");
    put("foot/emails/bad.md", "---\nsubjct: x\n---\n");
    put("foot/campaign.yaml", HEAD WINDOW "footer: emails/bad.md\n"
                                          "steps:\n  - after: 1d\n    email: emails/a.md\n" EXIT);
    CHECK_STR(check_campaign("foot", NULL),
              "E foot/emails/bad.md:2:1: unknown header key 'subjct'; did you mean 'subject'?\n"
              "E foot/emails/bad.md:1:1: the header has no 'subject'\n"
              "W foot/emails/bad.md:4:1: warning: the body is empty\n");
}

/* ---- folders of campaigns ---- */

static void
test_set(void)
{
    nt_campaign_set set;
    nt_diags ds;
    nt_buf out;
    size_t failed = 0;

    /* A folder campaign, a file campaign (.yaml and .yml), a broken one,
     * and things that are not campaigns. */
    put("set1/x/campaign.yaml", "name: x\naudience: {stage: lead}\nsender: hello\n" WINDOW
                                "steps:\n  - after: 1d\n    email: a.md\n" EXIT);
    put("set1/x/a.md", GOOD_EMAIL);
    put("set1/y.yaml", "name: y\naudience: {stage: MQL}\nsender: hello\n" WINDOW
                       "steps:\n  - after: 2d\n    email: emails/b.md\n" EXIT);
    put("set1/emails/b.md", GOOD_EMAIL);
    put("set1/z.yml", "name: z\naudience: {stage: lead}\nsender: hello\n" WINDOW
                      "status: paused\nsteps:\n  - after: 2d\n    email: emails/b.md\n" EXIT);
    put("set1/broken.yaml", "name: broken\nsteps: [\n");
    put("set1/README.md", "not a campaign\n");
    put("set1/notes/todo.txt", "a folder without campaign.yaml\n");
    put("set1/.hidden.yaml", "not: read\n");

    nt_buf_init(&out, 0);
    nt_diags_init(&ds, 0);
    REQUIRE(nt_campaign_set_load(tpath("set1"), &set, &failed, &ds) == NT_OK);
    CHECK_INT(failed, 1);
    format_all(&ds, &out);
    CHECK_STR(nt_buf_cstr(&out), "E set1/broken.yaml:3:1: YAML syntax error: did not find "
                                 "expected node content while parsing a flow node\n");
    REQUIRE(set.n == 3);
    CHECK_STR(set.items[0]->name, "x");
    CHECK_STR(set.items[0]->path, tpath("set1/x/campaign.yaml"));
    CHECK_STR(set.items[0]->dir, tpath("set1/x"));
    CHECK_STR(set.items[1]->name, "y");
    CHECK_STR(set.items[1]->path, tpath("set1/y.yaml"));
    CHECK_STR(set.items[1]->dir, tpath("set1"));
    CHECK_STR(set.items[1]->steps[0].email_path, tpath("set1/emails/b.md"));
    CHECK_STR(set.items[2]->name, "z");
    CHECK_INT(set.items[2]->paused, 1);
    for (size_t i = 0; i < set.n; i++)
        CHECK_INT(nt_campaign_lint(set.items[i], &cfg, &ds), NT_OK);
    CHECK_INT(ds.warnings, 0);
    nt_campaign_set_release(&set);
    nt_diags_release(&ds);

    /* Two (or three) campaigns with one name: all left out. */
    put("set2/a.yaml", "name: same\naudience: {stage: lead}\nsender: hello\n" STEPS);
    put("set2/b/campaign.yaml", "name: same\naudience: {stage: lead}\nsender: hello\n" STEPS);
    put("set2/c.yaml", "name: same\naudience: {stage: lead}\nsender: hello\n" STEPS);
    put("set2/d.yaml", "name: other\naudience: {stage: lead}\nsender: hello\n" STEPS);
    emails("set2");
    emails("set2/b");
    nt_diags_init(&ds, 0);
    REQUIRE(nt_campaign_set_load(tpath("set2"), &set, &failed, &ds) == NT_OK);
    CHECK_INT(failed, 3);
    nt_buf_reset(&out);
    format_all(&ds, &out);
    CHECK_STR(nt_buf_cstr(&out),
              "E set2/b/campaign.yaml:1:7: campaign name 'same' is also used by set2/a.yaml; "
              "names must be unique\n"
              "E set2/c.yaml:1:7: campaign name 'same' is also used by set2/a.yaml; names must "
              "be unique\n");
    REQUIRE(set.n == 1);
    CHECK_STR(set.items[0]->name, "other");
    nt_campaign_set_release(&set);
    nt_diags_release(&ds);

    /* A folder that is not there. */
    nt_diags_init(&ds, 0);
    CHECK_INT(nt_campaign_set_load(tpath("set-none"), &set, &failed, &ds), NT_ENOTFOUND);
    CHECK_INT(set.n, 0);
    nt_buf_reset(&out);
    format_all(&ds, &out);
    CHECK_STR(nt_buf_cstr(&out),
              "E set-none: cannot open the campaigns folder: No such file or directory\n");
    nt_campaign_set_release(&set);
    nt_diags_release(&ds);
    nt_buf_release(&out);
}

/* ---- versions ---- */

static void
version_of(const char *rel, char out[17])
{
    nt_campaign *c = NULL;
    nt_diags ds;

    nt_diags_init(&ds, 0);
    out[0] = '\0';
    if (nt_campaign_load(tpath(rel), &c, &ds) == NT_OK)
        memcpy(out, c->version, 17);
    CHECK(c != NULL);
    nt_campaign_free(c);
    nt_diags_release(&ds);
}

static void
test_version(void)
{
    char v1[17], v2[17], v3[17];

    put("ver/campaign.yaml", HEAD WINDOW "footer: f.md\n" STEPS EXIT);
    put("ver/a.md", GOOD_EMAIL);
    put("ver/f.md", "---\nsubject: f\n---\nFooter.\n");
    version_of("ver", v1);
    version_of("ver", v2);
    CHECK_STR(v1, v2);
    CHECK_INT(strlen(v1), 16);

    /* The same files elsewhere: the same version. */
    put("ver-copy/campaign.yaml", HEAD WINDOW "footer: f.md\n" STEPS EXIT);
    put("ver-copy/a.md", GOOD_EMAIL);
    put("ver-copy/f.md", "---\nsubject: f\n---\nFooter.\n");
    version_of("ver-copy", v2);
    CHECK_STR(v1, v2);

    /* Any change in the YAML, even a comment. */
    put("ver/campaign.yaml", HEAD WINDOW "footer: f.md\n" STEPS EXIT "# a comment\n");
    version_of("ver", v2);
    CHECK(strcmp(v1, v2) != 0);
    put("ver/campaign.yaml", HEAD WINDOW "footer: f.md\n" STEPS EXIT);
    version_of("ver", v2);
    CHECK_STR(v1, v2);

    /* Any change in an email file. */
    put("ver/a.md", GOOD_EMAIL "One more line.\n");
    version_of("ver", v2);
    CHECK(strcmp(v1, v2) != 0);
    put("ver/a.md", GOOD_EMAIL);

    /* Or in the footer. */
    put("ver/f.md", "---\nsubject: f\n---\nFooter!\n");
    version_of("ver", v3);
    CHECK(strcmp(v1, v3) != 0);
    CHECK(strcmp(v2, v3) != 0);
    put("ver/f.md", "---\nsubject: f\n---\nFooter.\n");
    version_of("ver", v2);
    CHECK_STR(v1, v2);

    /* The same bytes under another file name: another version, since
     * step ids come from file names. */
    put("ver2/campaign.yaml", HEAD WINDOW "footer: f.md\n"
                                          "steps:\n  - after: 1d\n    email: a2.md\n" EXIT);
    put("ver2/a2.md", GOOD_EMAIL);
    put("ver2/f.md", "---\nsubject: f\n---\nFooter.\n");
    version_of("ver2", v2);
    CHECK(strcmp(v1, v2) != 0);

    /* Parsing from memory gives the version loading gives. */
    {
        static const char yaml[] = HEAD WINDOW "footer: f.md\n" STEPS EXIT;
        nt_campaign *c = NULL;
        nt_diags ds;
        nt_diags_init(&ds, 0);
        REQUIRE(nt_campaign_parse("mem.yaml", tpath("ver"), yaml, sizeof(yaml) - 1, &c, &ds) ==
                NT_OK);
        CHECK_STR(c->version, v1);
        CHECK_STR(c->path, "mem.yaml");
        CHECK_STR(c->dir, tpath("ver"));
        CHECK_STR(c->steps[0].email_path, tpath("ver/a.md"));
        nt_campaign_free(c);
        /* From memory, errors name the given file. */
        CHECK_INT(nt_campaign_parse("mem.yaml", tpath("ver"), "name: [", 7, &c, &ds), NT_EINVAL);
        CHECK(c == NULL);
        REQUIRE(ds.len == 1);
        CHECK_STR(ds.items[0].file, "mem.yaml");
        nt_diags_release(&ds);
    }
}

/* ---- matching ---- */

static nt_campaign *
audience(const char *where)
{
    char yaml[2000];
    nt_campaign *c = NULL;
    nt_diags ds;

    snprintf(yaml, sizeof(yaml),
             "name: m\naudience:\n  stage: lead\n  where:\n%s\nsender: hello\n" STEPS, where);
    nt_diags_init(&ds, 0);
    if (nt_campaign_parse("m.yaml", tpath("match"), yaml, strlen(yaml), &c, &ds) != NT_OK) {
        for (size_t i = 0; i < ds.len; i++)
            fprintf(stderr, "    diag: %s\n", ds.items[i].msg);
    }
    nt_diags_release(&ds);
    return c;
}

static int
matches(nt_campaign *c, const char *stage, const char *field, const char *value)
{
    nt_lead l;
    int r;

    nt_lead_init(&l);
    nt_lead_set(&l, "email", "x@example.com");
    if (stage)
        nt_lead_set(&l, "stage", stage);
    if (field)
        nt_lead_set(&l, field, value);
    r = nt_campaign_matches(c, &l);
    nt_lead_release(&l);
    return r;
}

static void
test_matches(void)
{
    nt_campaign *c;

    emails("match");

    c = audience("    - {field: country, equals: US}");
    REQUIRE(c != NULL);
    CHECK_INT(c->conds[0].op, NT_COND_EQUALS);
    CHECK(matches(c, "lead", "country", "US"));
    CHECK(matches(c, "Lead", "country", "us")); /* stage and value: any case */
    CHECK(!matches(c, "lead", "country", "USA"));
    CHECK(!matches(c, "lead", NULL, NULL));
    CHECK(!matches(c, "MQL", "country", "US"));
    CHECK(!matches(c, NULL, "country", "US"));
    nt_campaign_free(c);

    c = audience("    - {field: country, not_equals: US}");
    REQUIRE(c != NULL);
    CHECK_INT(c->conds[0].op, NT_COND_NOT_EQUALS);
    CHECK(!matches(c, "lead", "country", "us"));
    CHECK(matches(c, "lead", "country", "CA"));
    CHECK(matches(c, "lead", NULL, NULL)); /* no value is not US */
    nt_campaign_free(c);

    c = audience("    - {field: country, in: [US, CA]}");
    REQUIRE(c != NULL);
    CHECK_INT(c->conds[0].op, NT_COND_IN);
    CHECK_INT(c->conds[0].nvalues, 2);
    CHECK(matches(c, "lead", "country", "ca"));
    CHECK(!matches(c, "lead", "country", "MX"));
    CHECK(!matches(c, "lead", NULL, NULL));
    nt_campaign_free(c);

    c = audience("    - {field: source, not_in: [partner-referral, event]}");
    REQUIRE(c != NULL);
    CHECK_INT(c->conds[0].op, NT_COND_NOT_IN);
    CHECK(!matches(c, "lead", "source", "Partner-Referral"));
    CHECK(!matches(c, "lead", "source", "event"));
    CHECK(matches(c, "lead", "source", "website"));
    CHECK(matches(c, "lead", NULL, NULL));
    nt_campaign_free(c);

    c = audience("    - {field: company, contains: acme}");
    REQUIRE(c != NULL);
    CHECK_INT(c->conds[0].op, NT_COND_CONTAINS);
    CHECK(matches(c, "lead", "company", "ACME Corp"));
    CHECK(matches(c, "lead", "company", "The Acme"));
    CHECK(!matches(c, "lead", "company", "Acm"));
    CHECK(!matches(c, "lead", NULL, NULL));
    nt_campaign_free(c);

    c = audience("    - {field: phone, present: true}");
    REQUIRE(c != NULL);
    CHECK_INT(c->conds[0].op, NT_COND_PRESENT);
    CHECK(matches(c, "lead", "phone", "+1 555 0100"));
    CHECK(!matches(c, "lead", NULL, NULL));
    nt_campaign_free(c);

    c = audience("    - {field: phone, present: false}");
    REQUIRE(c != NULL);
    CHECK_INT(c->conds[0].op, NT_COND_ABSENT);
    nt_campaign_free(c);

    c = audience("    - {field: industry, absent: yes}");
    REQUIRE(c != NULL);
    CHECK_INT(c->conds[0].op, NT_COND_ABSENT);
    CHECK(matches(c, "lead", NULL, NULL));
    CHECK(!matches(c, "lead", "industry", "saas"));
    nt_campaign_free(c);

    c = audience("    - {field: industry, absent: no}");
    REQUIRE(c != NULL);
    CHECK_INT(c->conds[0].op, NT_COND_PRESENT);
    nt_campaign_free(c);

    /* Every condition must hold. */
    c = audience("    - {field: country, in: [US, CA]}\n"
                 "    - {field: plan, equals: pro}");
    REQUIRE(c != NULL);
    CHECK_INT(c->nconds, 2);
    CHECK(!matches(c, "lead", "country", "US")); /* no plan */
    {
        nt_lead l;
        nt_lead_init(&l);
        nt_lead_set(&l, "email", "x@example.com");
        nt_lead_set(&l, "stage", "lead");
        nt_lead_set(&l, "country", "US");
        nt_lead_set(&l, "plan", "Pro");
        CHECK(nt_campaign_matches(c, &l));
        nt_lead_set(&l, "country", "FR");
        CHECK(!nt_campaign_matches(c, &l));
        nt_lead_release(&l);
    }
    nt_campaign_free(c);
}

int
main(void)
{
    char tmpl[] = "/tmp/nt_campaign_XXXXXX";
    char cmd[PATH_MAX + 20];
    nt_diags ds;
    int rc;

    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(tmp, sizeof(tmp), "%s", tmpl);
    write_init_config();
    nt_diags_init(&ds, 0);
    if (nt_config_load(tpath("nurture.yaml"), &cfg, &ds) != NT_OK) {
        for (size_t i = 0; i < ds.len; i++)
            fprintf(stderr, "config: %s\n", ds.items[i].msg);
        return 1;
    }
    nt_diags_release(&ds);
    nt_buf_init(&diag_out, 0);

    RUN(test_examples);
    RUN(test_good_is_clean);
    RUN(test_syntax_error);
    RUN(test_huge_file);
    RUN(test_unknown_keys);
    RUN(test_wrong_types);
    RUN(test_conditions);
    RUN(test_bad_duration);
    RUN(test_stage_and_sender);
    RUN(test_templates);
    RUN(test_merge_fields);
    RUN(test_unsubscribe_and_postal);
    RUN(test_window);
    RUN(test_window_forms);
    RUN(test_exits_and_ids);
    RUN(test_warnings);
    RUN(test_footer);
    RUN(test_set);
    RUN(test_version);
    RUN(test_matches);
    nt_buf_release(&diag_out);
    nt_config_release(&cfg);
    rc = t_done();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return rc;
}
