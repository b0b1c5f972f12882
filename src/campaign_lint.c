/*
 * The campaign checks that need the configuration, and the warnings about
 * what is legal but likely wrong.  Loading (campaign.c) has already checked
 * the file's own structure; here we check it against the world: stages,
 * senders, merge fields, the law (an unsubscribe link and a postal address
 * in every email), and the habits of people who read B2B email.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nurture/campaign.h"
#include "nurture/yamldoc.h"

#include "banned.h"

const char *const nt_builtin_merge_fields[] = {
    "unsubscribe_url", "postal_address", "sender_name", "sender_email", "campaign", NULL,
};

static int
in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(s, list[i]))
            return 1;
    return 0;
}

static int
known_field(const nt_config *cfg, const char *name)
{
    if (in_list(name, nt_lead_std_fields) || in_list(name, nt_builtin_merge_fields))
        return 1;
    for (size_t i = 0; i < cfg->nlead_fields; i++)
        if (!strcmp(cfg->lead_fields[i], name))
            return 1;
    return 0;
}

/* Known names for "did you mean", NULL-terminated, in a caller array. */
static void
all_fields(const nt_config *cfg, const char **out, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; nt_lead_std_fields[i] && n + 1 < max; i++)
        out[n++] = nt_lead_std_fields[i];
    for (size_t i = 0; nt_builtin_merge_fields[i] && n + 1 < max; i++)
        out[n++] = nt_builtin_merge_fields[i];
    for (size_t i = 0; i < cfg->nlead_fields && n + 1 < max; i++)
        out[n++] = cfg->lead_fields[i];
    out[n] = NULL;
}

static void
lint_template(const nt_campaign *c, const nt_config *cfg, const nt_template *t, const char *path,
              nt_diags *ds)
{
    const char *known[300];

    all_fields(cfg, known, sizeof(known) / sizeof(known[0]));
    for (size_t i = 0; i < nt_template_ref_count(t); i++) {
        const nt_merge_ref *r = nt_template_ref(t, i);
        if (!known_field(cfg, r->name)) {
            const char *hint = nt_did_you_mean(r->name, known);
            if (hint)
                nt_diags_add(ds, NT_SEV_ERROR, path, r->line, r->col,
                             "unknown merge field '%s'; did you mean '%s'?", r->name, hint);
            else
                nt_diags_add(ds, NT_SEV_ERROR, path, r->line, r->col,
                             "unknown merge field '%s': no lead field or built-in has this "
                             "name (add it to lead_fields in the configuration if leads "
                             "carry it)",
                             r->name);
            continue;
        }
        if (!r->def && !in_list(r->name, nt_builtin_merge_fields) && strcmp(r->name, "email") &&
            strcmp(r->name, "stage"))
            nt_diags_add(ds, NT_SEV_WARNING, path, r->line, r->col,
                         "merge field '%s' has no default: leads without it get an empty "
                         "value; write {{%s | something}}",
                         r->name, r->name);
    }
    (void)c;
}

static int
uses(const nt_campaign *c, const nt_template *t, const char *name)
{
    return (t && nt_template_uses(t, name)) ||
           (c->footer_tmpl && nt_template_uses(c->footer_tmpl, name));
}

static void
lint_steps(const nt_campaign *c, const nt_config *cfg, nt_diags *ds)
{
    int64_t total = 0;

    for (size_t i = 0; i < c->nsteps; i++) {
        const nt_step *s = &c->steps[i];
        const char *subject;
        total += s->after;
        if (!s->tmpl)
            continue;
        lint_template(c, cfg, s->tmpl, s->email_path, ds);
        if (!uses(c, s->tmpl, "unsubscribe_url"))
            nt_diags_add(ds, NT_SEV_ERROR, s->email_path, 1, 1,
                         "no unsubscribe link: every email needs {{unsubscribe_url}} (in the "
                         "email or the campaign's footer)");
        if (!uses(c, s->tmpl, "postal_address"))
            nt_diags_add(ds, NT_SEV_ERROR, s->email_path, 1, 1,
                         "no postal address: every email needs {{postal_address}} (in the "
                         "email or the campaign's footer)");
        subject = nt_template_subject(s->tmpl);
        if (subject && strlen(subject) > 78)
            nt_diags_add(ds, NT_SEV_WARNING, s->email_path, 2, 1,
                         "the subject is %zu characters long; most inboxes cut it near 60",
                         strlen(subject));
        if (!nt_template_preheader(s->tmpl))
            nt_diags_add(ds, NT_SEV_NOTE, s->email_path, 1, 1,
                         "no preheader: inboxes will show the first line of the body instead");
        if (i > 0 && s->after < 3600)
            nt_diags_add(ds, NT_SEV_WARNING, c->path, s->after_line, s->after_col,
                         "step '%s' follows the previous one after less than an hour", s->id);
        for (size_t j = 0; j < i; j++)
            if (c->steps[j].email_path && s->email_path &&
                !strcmp(c->steps[j].email_path, s->email_path))
                nt_diags_add(ds, NT_SEV_WARNING, c->path, s->email_line, s->email_col,
                             "step '%s' sends the same email as step '%s'", s->id, c->steps[j].id);
    }
    if (c->nsteps && c->steps[0].after > 60 * 86400)
        nt_diags_add(ds, NT_SEV_WARNING, c->path, c->steps[0].after_line, c->steps[0].after_col,
                     "the first email waits more than two months after a lead enrolls");
    if (total > 180 * 86400)
        nt_diags_add(ds, NT_SEV_WARNING, c->path, 1, 1,
                     "the sequence runs for more than six months");
    if (c->footer_tmpl) {
        /* Positions are in the footer's own file, as the loader read it. */
        char path[4096];
        if (c->footer[0] == '/')
            snprintf(path, sizeof(path), "%s", c->footer);
        else
            snprintf(path, sizeof(path), "%s/%s", c->dir, c->footer);
        lint_template(c, cfg, c->footer_tmpl, path, ds);
    }
}

static void
lint_window(const nt_campaign *c, nt_diags *ds)
{
    const nt_window *w = &c->window;
    int line = c->line_window ? c->line_window : 1, col = c->col_window ? c->col_window : 1;

    if (w->end_min - w->start_min < 120 && w->end_min > w->start_min)
        nt_diags_add(ds, NT_SEV_WARNING, c->path, line, col,
                     "the send window is open less than two hours a day; sends will bunch up "
                     "and may be capped");
    if (w->start_min < 7 * 60 || w->end_min > 20 * 60)
        nt_diags_add(ds, NT_SEV_WARNING, c->path, line, col,
                     "the send window reaches outside 07:00-20:00: people will get email at "
                     "night");
    if (w->days & 0x41)
        nt_diags_add(ds, NT_SEV_WARNING, c->path, line, col,
                     "the send window includes the weekend, when B2B email is read least");
}

static void
lint_exits(const nt_campaign *c, nt_diags *ds)
{
    int line = c->line_exit ? c->line_exit : 1, col = c->col_exit ? c->col_exit : 1;

    if (!(c->exits & NT_EXIT_ON_REPLY))
        nt_diags_add(ds, NT_SEV_WARNING, c->path, line, col,
                     "'exit' lacks 'reply': a lead who answers will keep getting automated "
                     "email");
    if (!(c->exits & NT_EXIT_ON_BOUNCE))
        nt_diags_add(ds, NT_SEV_WARNING, c->path, line, col,
                     "'exit' lacks 'bounce': hard-bounced addresses are suppressed anyway, but "
                     "soft bounces will not end the sequence");
    if (!(c->exits & NT_EXIT_ON_UNSUBSCRIBE))
        nt_diags_add(ds, NT_SEV_NOTE, c->path, line, col,
                     "unsubscribes always end every campaign, whether 'exit' lists them or not");
}

nt_err
nt_campaign_lint(const nt_campaign *c, const nt_config *cfg, nt_diags *ds)
{
    size_t before = ds->errors;
    const char *base = strrchr(c->path, '/');

    if (c->stage && nt_config_stage_index(cfg, c->stage) < 0) {
        const char *names[64];
        size_t n = 0;
        for (; n < cfg->nstages && n < 63; n++)
            names[n] = cfg->stages[n].name;
        names[n] = NULL;
        const char *hint = nt_did_you_mean(c->stage, names);
        nt_diags_add(ds, NT_SEV_ERROR, c->path, c->line_stage, c->col_stage,
                     "unknown stage '%s'%s%s%s (stages are defined in %s)", c->stage,
                     hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "", cfg->path);
    }
    if (c->stage && cfg->nstages && nt_config_stage_index(cfg, c->stage) == (int)cfg->nstages - 1)
        nt_diags_add(ds, NT_SEV_WARNING, c->path, c->line_stage, c->col_stage,
                     "the audience is the last stage, '%s': this nurtures customers", c->stage);
    if (c->sender && !nt_config_sender(cfg, c->sender))
        nt_diags_add(ds, NT_SEV_ERROR, c->path, c->line_sender, c->col_sender,
                     "unknown sender '%s': add it under 'senders' in %s", c->sender, cfg->path);
    for (size_t i = 0; i < c->nconds; i++) {
        const char *f = c->conds[i].field;
        if (f && !known_field(cfg, f))
            nt_diags_add(ds, NT_SEV_WARNING, c->path, c->conds[i].line, c->conds[i].col,
                         "condition on '%s', which is neither a standard lead field nor in "
                         "lead_fields",
                         f);
    }
    if (base && c->name) {
        char stem[256];
        snprintf(stem, sizeof(stem), "%s", base + 1);
        char *dot = strrchr(stem, '.');
        if (dot)
            *dot = '\0';
        if (strcmp(stem, "campaign") != 0 && strcmp(stem, c->name) != 0)
            nt_diags_add(ds, NT_SEV_NOTE, c->path, c->line_name, c->col_name,
                         "the campaign is named '%s' but its file is '%s'", c->name, base + 1);
    }
    if (c->stale_after < 3600)
        nt_diags_add(ds, NT_SEV_WARNING, c->path, 1, 1,
                     "stale_after is under an hour: a short cron outage will push steps to "
                     "the next day");
    lint_steps(c, cfg, ds);
    lint_window(c, ds);
    lint_exits(c, ds);
    return ds->errors > before ? NT_EINVAL : NT_OK;
}
