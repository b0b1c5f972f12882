/*
 * Fuzz target for campaign files: parse the input as a campaign.yaml whose
 * folder holds a few valid email templates (so that steps can point at
 * them), lint what loads against a fixed configuration, match it against a
 * lead, and abort if a promise of the loader is broken: a campaign that
 * loads must have a name, a stage, a sender, at least one step with a
 * unique id and a parsed template, a window with days and hours, and a
 * 16-hex-digit version; a campaign that does not load must have said why.
 *
 * The folder and the configuration are written once, to a temporary
 * folder removed at exit.  Campaigns may name any path as an email; the
 * loader refuses what is not a regular file, so nothing here can block.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nurture/campaign.h"
#include "nurture/config.h"
#include "nurture/lead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[PATH_MAX];
static nt_config cfg;
static int ready;

/* Every file written, so that cleanup removes exactly those. */
static const char *const files[] = {
    "nurture.yaml",
    "a.md",
    "b.md",
    "no-unsubscribe.md",
    "bad-merge.md",
    "emails/footer.md",
    "emails/01-welcome.md",
    "emails/02-first-report.md",
    "emails/03-customer-story.md",
    "emails/04-common-mistakes.md",
    "emails/05-talk-to-us.md",
    "emails/01-checking-in.md",
    "emails/02-whats-new.md",
    "emails/03-close-the-loop.md",
    NULL,
};

static const char good_email[] = "---\n"
                                 "subject: Hello {{first_name | there}}\n"
                                 "preheader: A short note\n"
                                 "---\n"
                                 "Hi {{first_name | there}}, from {{sender_name}}.\n"
                                 "\n"
                                 "[Unsubscribe]({{unsubscribe_url}}) {{postal_address}}\n";

static const char *
content(const char *name)
{
    if (!strcmp(name, "nurture.yaml"))
        return "timezone: UTC\n"
               "stages:\n"
               "  - {name: subscriber, definition: Opted in.}\n"
               "  - {name: lead, definition: Gave details.}\n"
               "  - {name: MQL, definition: Qualified by marketing.}\n"
               "  - {name: SQL, definition: Accepted by sales.}\n"
               "  - {name: customer, definition: Paying.}\n"
               "lead_fields: [industry, plan, country]\n"
               "senders:\n"
               "  - id: hello\n"
               "    name: Dana\n"
               "    address: dana@northwind.example\n"
               "    postal_address: 100 Main Street, Springfield\n";
    if (!strcmp(name, "no-unsubscribe.md"))
        return "---\nsubject: No link\n---\nJust {{company | you}}.\n";
    if (!strcmp(name, "bad-merge.md"))
        return "---\nsubject: Hi {{frist_name}}\n---\n{{shoe_size}} {{title}}\n";
    if (!strcmp(name, "emails/footer.md"))
        return "---\nsubject: footer\n---\n---\n\n[Unsubscribe]({{unsubscribe_url}})\n\n"
               "{{postal_address}}\n";
    return good_email;
}

static void
cleanup(void)
{
    char path[PATH_MAX + 64];

    nt_config_release(&cfg);
    for (size_t i = 0; files[i]; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/emails", dir);
    rmdir(path);
    rmdir(dir);
}

static void
setup(void)
{
    char tmpl[] = "/tmp/nt_fuzz_campaign_XXXXXX";
    char path[PATH_MAX + 64];
    nt_diags ds;

    if (!mkdtemp(tmpl))
        abort();
    snprintf(dir, sizeof(dir), "%s", tmpl);
    snprintf(path, sizeof(path), "%s/emails", dir);
    if (mkdir(path, 0755) != 0)
        abort();
    for (size_t i = 0; files[i]; i++) {
        FILE *f;
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        f = fopen(path, "wb");
        if (!f)
            abort();
        fputs(content(files[i]), f);
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/nurture.yaml", dir);
    nt_diags_init(&ds, 16);
    if (nt_config_load(path, &cfg, &ds) != NT_OK)
        abort();
    nt_diags_release(&ds);
    atexit(cleanup);
    ready = 1;
}

static void
check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_campaign: %s\n", what);
        abort();
    }
}

/* What a loaded campaign promises. */
static void
check_campaign(const nt_campaign *c)
{
    check(c->name != NULL && c->stage != NULL && c->sender != NULL, "missing name/stage/sender");
    check(strlen(c->version) == 16 && strspn(c->version, "0123456789abcdef") == 16, "bad version");
    check(c->nsteps >= 1 && c->nsteps <= 100, "bad step count");
    check(c->window.days != 0 && (c->window.days & ~0x7fu) == 0, "bad days");
    check(c->window.start_min >= 0 && c->window.start_min < c->window.end_min &&
              c->window.end_min <= 1440,
          "bad hours");
    check(c->stale_after >= 0, "negative stale_after");
    check(!c->footer == !c->footer_tmpl, "footer without its template");
    for (size_t i = 0; i < c->nsteps; i++) {
        const nt_step *s = &c->steps[i];
        check(s->id != NULL && s->email != NULL && s->email_path != NULL && s->tmpl != NULL,
              "incomplete step");
        check(s->after >= 0, "negative delay");
        check(nt_campaign_step_index(c, s->id) == (int)i, "step ids not unique");
    }
    for (size_t i = 0; i < c->nconds; i++) {
        check(c->conds[i].field != NULL, "condition without a field");
        check(c->conds[i].op >= NT_COND_EQUALS && c->conds[i].op <= NT_COND_CONTAINS,
              "condition without a test");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char file[PATH_MAX + 64];
    nt_campaign *c = NULL;
    nt_diags ds;
    nt_err err;

    if (!ready)
        setup();
    snprintf(file, sizeof(file), "%s/campaign.yaml", dir);
    nt_diags_init(&ds, 64);
    err = nt_campaign_parse(file, dir, (const char *)data, size, &c, &ds);
    if (err != NT_OK) {
        check(c == NULL, "a campaign returned with an error");
        check(err == NT_ENOMEM || ds.errors > 0, "an error without a message");
    } else {
        nt_lead l;
        check(c != NULL, "no campaign and no error");
        check(ds.errors == 0, "errors, yet it loaded");
        check_campaign(c);
        err = nt_campaign_lint(c, &cfg, &ds);
        check(err == NT_OK || ds.errors > 0, "lint failed without a message");
        nt_lead_init(&l);
        nt_lead_set(&l, "email", "lead@example.com");
        nt_lead_set(&l, "stage", c->stage);
        nt_lead_set(&l, "country", size % 2 ? "US" : "");
        nt_lead_set(&l, "company", "Acme");
        (void)nt_campaign_matches(c, &l);
        nt_lead_release(&l);
    }
    for (size_t i = 0; i < ds.len; i++) {
        const nt_diag *d = &ds.items[i];
        check(d->msg[0] != '\0', "an empty message");
        check(d->line >= 0 && d->col >= 0, "a negative position");
        if (getenv("NT_FUZZ_VERBOSE")) { /* to see what a seed exercises */
            char line[1200];
            nt_diag_format(d, line, sizeof(line));
            fprintf(stderr, "  %s\n", line);
        }
    }
    if (getenv("NT_FUZZ_VERBOSE"))
        fprintf(stderr, "%s\n", c ? "loaded" : "not loaded");
    nt_campaign_free(c);
    nt_diags_release(&ds);
    return 0;
}
