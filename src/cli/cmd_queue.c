/*
 * nurture queue list | pull | show | accept | reject | recycle | escalate |
 * reasons: the sales rep's side of the hand-off.  A rep pulls the next
 * engaged lead with everything that made it hot (the reply, its intent,
 * the score and why), then accepts it or turns it down with one of the
 * configured reasons, which marketing reads back in its report.
 *
 * Everything here is presentation and argument checking: the decisions
 * live in queue.c, the data in the store.  Names from the command line
 * (a rep, a reason, a campaign) are checked against the configuration
 * before anything is written, so a typo changes nothing and says what the
 * choices are.  Output for people escapes control characters (a reply's
 * text must not be able to drive the terminal); --json is one JSON
 * document for programs; --csv is RFC 4180 with formula-looking cells
 * neutralised for spreadsheets.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nurture/buf.h"
#include "nurture/campaign.h"
#include "nurture/queue.h"
#include "nurture/tz.h"

#include "banned.h"

#define NOTE_MAX 4000 /* bytes in a --note */

static const char help[] =
    "usage: nurture queue list [--state S] [--rep NAME] [--lead EMAIL|ID] [--since TIME]\n"
    "                          [--escalated] [--limit N] [--json | --csv]\n"
    "       nurture queue pull --rep NAME [--now TIME] [--json]\n"
    "       nurture queue show ID [--json]\n"
    "       nurture queue accept ID [--rep NAME] [--note TEXT] [--now TIME] [--json]\n"
    "       nurture queue reject ID --reason R [--rep NAME] [--note TEXT] [--now TIME] [--json]\n"
    "       nurture queue recycle ID CAMPAIGN [--rep NAME] [--now TIME] [--json]\n"
    "       nurture queue escalate [--now TIME] [--json]\n"
    "       nurture queue reasons [--json]\n"
    "\n"
    "The sales queue: leads that engaged (a reply, a score over the threshold)\n"
    "handed to a rep, with the reason and the context.\n"
    "\n"
    "list      the entries, oldest first\n"
    "pull      claim the next entry for a rep (escalated ones first, then the\n"
    "          rep's own) and print everything about it\n"
    "show      one entry: the lead, the reply, the score and why, what became of it\n"
    "accept    the rep takes the lead on: it moves to queue.accept_stage\n"
    "reject    the rep turns it down with a configured reason; a reason with\n"
    "          `recycle: CAMPAIGN` sends the lead back into nurture\n"
    "recycle   send the lead back into a nurture campaign\n"
    "escalate  mark the entries left unclaimed past queue.sla (`nurture run`\n"
    "          does this too); any rep's pull then takes them\n"
    "reasons   the reject reasons of the configuration\n"
    "\n"
    "`nurture queue COMMAND --help` says more about each.\n";

static const char help_list[] =
    "usage: nurture queue list [--state S] [--rep NAME] [--lead EMAIL|ID] [--since TIME]\n"
    "                          [--escalated] [--limit N] [--now TIME] [--json | --csv]\n"
    "\n"
    "The queue entries, oldest first: id, state, rep, the lead, what handed it\n"
    "off, its score, its age and the reason.  An escalated entry (left unclaimed\n"
    "past the SLA) is marked with '!' after its state.\n"
    "\n"
    "Options:\n"
    "  --state S          open, claimed, accepted, rejected or recycled\n"
    "  --rep NAME         entries assigned to this rep\n"
    "  --lead EMAIL|ID    entries of this lead\n"
    "  --since TIME       entries created at or after TIME\n"
    "  --escalated        only entries that were escalated\n"
    "  --limit N          at most N entries\n"
    "  --now TIME         count ages from TIME (default: now)\n"
    "  --json             one JSON array of entry objects\n"
    "  --csv              CSV (RFC 4180) with a header row, for a spreadsheet\n"
    "  -h, --help         this help\n";

static const char help_pull[] =
    "usage: nurture queue pull --rep NAME [--now TIME] [--json]\n"
    "\n"
    "Claim the next entry for rep NAME: an escalated entry first (whoever it\n"
    "was assigned to), then the rep's own, oldest first.  Two reps pulling at\n"
    "the same moment never get the same entry.  Prints the entry with the lead,\n"
    "its fields, the reply, its intent, the campaign and step it answered, the\n"
    "score and the reason.\n"
    "\n"
    "When there is nothing to pull, prints \"nothing to pull\" (with --json:\n"
    "null) and exits 0.\n"
    "\n"
    "Options:\n"
    "  --rep NAME   who pulls (a rep of the configuration)\n"
    "  --now TIME   claim as if it were TIME (for tests)\n"
    "  --json       print the entry as one JSON object, or null\n"
    "  -h, --help   this help\n";

static const char help_show[] = "usage: nurture queue show ID [--json]\n"
                                "\n"
                                "One entry: the lead and its fields, the reply and its intent,\n"
                                "the campaign and step it answered, the score and the reason,\n"
                                "who has it and what became of it.\n"
                                "\n"
                                "Options:\n"
                                "  --json      print one JSON object\n"
                                "  -h, --help  this help\n";

static const char help_accept[] =
    "usage: nurture queue accept ID [--rep NAME] [--note TEXT] [--now TIME] [--json]\n"
    "\n"
    "The rep takes the lead on: the entry is accepted and the lead moves to\n"
    "queue.accept_stage (by default the stage after the one it is in).  Takes\n"
    "an open or claimed entry.\n"
    "\n"
    "Options:\n"
    "  --rep NAME   who decides (a rep of the configuration), recorded\n"
    "  --note TEXT  a note kept with the decision\n"
    "  --now TIME   decide as if it were TIME (for tests)\n"
    "  --json       print the entry as it now is\n"
    "  -h, --help   this help\n";

static const char help_reject[] =
    "usage: nurture queue reject ID --reason R [--rep NAME] [--note TEXT] [--now TIME] [--json]\n"
    "\n"
    "The rep turns the lead down with reason R, one of the configured reasons\n"
    "(`nurture queue reasons`).  A reason configured with `recycle: CAMPAIGN`\n"
    "also sends the lead back into that campaign.  Takes an open or claimed\n"
    "entry.\n"
    "\n"
    "Options:\n"
    "  --reason R   why (required)\n"
    "  --rep NAME   who decides (a rep of the configuration), recorded\n"
    "  --note TEXT  a note kept with the decision\n"
    "  --now TIME   decide as if it were TIME (for tests)\n"
    "  --json       print the entry as it now is\n"
    "  -h, --help   this help\n";

static const char help_recycle[] =
    "usage: nurture queue recycle ID CAMPAIGN [--rep NAME] [--now TIME] [--json]\n"
    "\n"
    "Send the lead of entry ID back into nurture: it moves to CAMPAIGN's\n"
    "audience stage and its enrollment there restarts at the next step it has\n"
    "not been sent.  Takes any entry not already recycled (a rejected one too).\n"
    "\n"
    "Options:\n"
    "  --rep NAME   who decides (a rep of the configuration), recorded\n"
    "  --now TIME   decide as if it were TIME (for tests)\n"
    "  --json       print the entry as it now is\n"
    "  -h, --help   this help\n";

static const char help_escalate[] =
    "usage: nurture queue escalate [--now TIME] [--json]\n"
    "\n"
    "Mark every open entry older than queue.sla as escalated: any rep's pull\n"
    "takes it next, and the `sla` webhooks hear about it.  `nurture run` does\n"
    "this on every run.  Does nothing when no SLA is configured.\n"
    "\n"
    "Options:\n"
    "  --now TIME  as if it were TIME (for tests)\n"
    "  --json      print {\"escalated\": N}\n"
    "  -h, --help  this help\n";

static const char help_reasons[] =
    "usage: nurture queue reasons [--json]\n"
    "\n"
    "The reasons a rep may give to reject a lead (queue.reject_reasons in the\n"
    "configuration), with the campaign a reason sends the lead back to.\n"
    "\n"
    "Options:\n"
    "  --json      print a JSON array of {reason, recycle}\n"
    "  -h, --help  this help\n";

/* ---- output helpers ---- */

/* A score as people write it: 72, or 72.5. */
static void
fmt_score(double v, char *out, size_t outsz)
{
    if (v > -1e15 && v < 1e15 && (double)(long long)v == v)
        snprintf(out, outsz, "%lld", (long long)v);
    else
        snprintf(out, outsz, "%.1f", v);
}

/* How long ago t was: 45s, 12m, 5h, 3d. */
static void
fmt_age(int64_t now, int64_t t, char *out, size_t outsz)
{
    int64_t s = now - t;

    if (s < 0)
        snprintf(out, outsz, "-");
    else if (s < 60)
        snprintf(out, outsz, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(out, outsz, "%lldm", (long long)(s / 60));
    else if (s < 2 * 86400)
        snprintf(out, outsz, "%lldh", (long long)(s / 3600));
    else
        snprintf(out, outsz, "%lldd", (long long)(s / 86400));
}

/* The lead as a JSON object (NULL: null). */
static void
lead_json(nt_buf *b, const nt_lead *l)
{
    if (!l) {
        nt_buf_adds(b, "null");
        return;
    }
    cli_lead_json(b, l);
    nt_buf_addc(b, '}');
}

/* The entry as one JSON object, with its lead (NULL: null). */
static void
entry_json(nt_buf *b, const nt_qentry *e, const nt_lead *l)
{
    nt_buf_addf(b, "{\"id\":%lld,\"state\":\"%s\",\"escalated\":%s,\"rep\":", (long long)e->id,
                nt_qstate_name(e->state), e->escalated_at ? "true" : "false");
    cli_json_str(b, e->rep);
    nt_buf_adds(b, ",\"assigned_by\":");
    cli_json_str(b, e->assigned_by);
    nt_buf_addf(b, ",\"lead_id\":%lld,\"lead\":", (long long)e->lead_id);
    lead_json(b, l);
    nt_buf_adds(b, ",\"trigger\":");
    cli_json_str(b, e->trigger);
    nt_buf_adds(b, ",\"reason\":");
    cli_json_str(b, e->reason);
    nt_buf_addf(b, ",\"score\":%.15g,\"inbound_id\":", e->score);
    if (e->inbound_id)
        nt_buf_addf(b, "%lld", (long long)e->inbound_id);
    else
        nt_buf_adds(b, "null");
    nt_buf_adds(b, ",\"campaign\":");
    cli_json_str(b, e->campaign);
    nt_buf_adds(b, ",\"step_id\":");
    cli_json_str(b, e->step_id);
    nt_buf_adds(b, ",\"intent\":");
    cli_json_str(b, e->intent);
    nt_buf_adds(b, ",\"reply_text\":");
    cli_json_str(b, e->reply_text);
    /* The context is a JSON object the library wrote. */
    nt_buf_addf(b, ",\"context\":%s", e->context && e->context[0] == '{' ? e->context : "{}");
    nt_buf_adds(b, ",\"created_at\":");
    cli_json_time(b, e->created_at);
    nt_buf_adds(b, ",\"claimed_at\":");
    cli_json_time(b, e->claimed_at);
    nt_buf_adds(b, ",\"claimed_by\":");
    cli_json_str(b, e->claimed_by);
    nt_buf_adds(b, ",\"escalated_at\":");
    cli_json_time(b, e->escalated_at);
    nt_buf_adds(b, ",\"decided_at\":");
    cli_json_time(b, e->decided_at);
    nt_buf_adds(b, ",\"reject_reason\":");
    cli_json_str(b, e->reject_reason);
    nt_buf_adds(b, ",\"note\":");
    cli_json_str(b, e->note);
    nt_buf_adds(b, ",\"recycle_campaign\":");
    cli_json_str(b, e->recycle_campaign);
    nt_buf_addc(b, '}');
}

/* One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a
 * line break.  A text cell that a spreadsheet would read as a formula
 * (= + - @, or a tab or CR that some strip before looking) gets a leading
 * apostrophe, so an address or a reply cannot run code in Excel. */
static void
csv_cell(nt_buf *b, const char *s, int text)
{
    int neutralise, quote;

    if (!s)
        return;
    neutralise = text && s[0] && strchr("=+-@\t\r", s[0]);
    quote = s[strcspn(s, ",\"\r\n")] != '\0';
    if (quote)
        nt_buf_addc(b, '"');
    if (neutralise)
        nt_buf_addc(b, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            nt_buf_addc(b, '"');
        nt_buf_addc(b, *p);
    }
    if (quote)
        nt_buf_addc(b, '"');
}

static void
csv_time(nt_buf *b, int64_t t)
{
    char when[32];

    if (t) {
        nt_time_format_utc(t, when, sizeof(when));
        nt_buf_adds(b, when);
    }
}

static const char csv_header[] =
    "id,state,escalated,rep,assigned_by,lead_id,email,first_name,last_name,company,"
    "trigger,score,reason,campaign,step_id,intent,created_at,claimed_at,claimed_by,"
    "escalated_at,decided_at,reject_reason,note,recycle_campaign,reply_text\r\n";

static void
entry_csv(nt_buf *b, const nt_qentry *e, const nt_lead *l)
{
    char score[64];

    fmt_score(e->score, score, sizeof(score));
    nt_buf_addf(b, "%lld,%s,%s,", (long long)e->id, nt_qstate_name(e->state),
                e->escalated_at ? "yes" : "no");
    csv_cell(b, e->rep, 1);
    nt_buf_addc(b, ',');
    csv_cell(b, e->assigned_by, 1);
    nt_buf_addf(b, ",%lld,", (long long)e->lead_id);
    csv_cell(b, l ? l->email : NULL, 1);
    nt_buf_addc(b, ',');
    csv_cell(b, l ? l->first_name : NULL, 1);
    nt_buf_addc(b, ',');
    csv_cell(b, l ? l->last_name : NULL, 1);
    nt_buf_addc(b, ',');
    csv_cell(b, l ? l->company : NULL, 1);
    nt_buf_addc(b, ',');
    csv_cell(b, e->trigger, 1);
    nt_buf_addc(b, ',');
    csv_cell(b, score, 0);
    nt_buf_addc(b, ',');
    csv_cell(b, e->reason, 1);
    nt_buf_addc(b, ',');
    csv_cell(b, e->campaign, 1);
    nt_buf_addc(b, ',');
    csv_cell(b, e->step_id, 1);
    nt_buf_addc(b, ',');
    csv_cell(b, e->intent, 1);
    nt_buf_addc(b, ',');
    csv_time(b, e->created_at);
    nt_buf_addc(b, ',');
    csv_time(b, e->claimed_at);
    nt_buf_addc(b, ',');
    csv_cell(b, e->claimed_by, 1);
    nt_buf_addc(b, ',');
    csv_time(b, e->escalated_at);
    nt_buf_addc(b, ',');
    csv_time(b, e->decided_at);
    nt_buf_addc(b, ',');
    csv_cell(b, e->reject_reason, 1);
    nt_buf_addc(b, ',');
    csv_cell(b, e->note, 1);
    nt_buf_addc(b, ',');
    csv_cell(b, e->recycle_campaign, 1);
    nt_buf_addc(b, ',');
    csv_cell(b, e->reply_text, 1);
    nt_buf_adds(b, "\r\n");
}

/* "Ada Lovelace, Acme" from what the lead has, into out. */
static void
lead_label(const nt_lead *l, char *out, size_t outsz)
{
    const char *first = l->first_name ? l->first_name : "";
    const char *last = l->last_name ? l->last_name : "";
    const char *company = l->company ? l->company : "";

    snprintf(out, outsz, "%s%s%s%s%s", first, *first && *last ? " " : "", last,
             (*first || *last) && *company ? ", " : "", company);
}

static void
row(const char *label, const char *value)
{
    printf("  %-11s ", label);
    cli_put_text(stdout, value ? value : "-", 0, 0, NULL);
    putchar('\n');
}

/* The entry for a person: everything a rep needs to call the lead. */
static void
entry_text(const nt_qentry *e, const nt_lead *l)
{
    char when[32], score[64], who[600];

    printf("queue entry %lld: %s%s\n", (long long)e->id, nt_qstate_name(e->state),
           e->escalated_at && e->state == NT_Q_OPEN ? " (escalated: past the SLA)" : "");
    if (l) {
        printf("  %-11s %lld <", "lead", (long long)l->id);
        cli_put_text(stdout, l->email, 0, 0, NULL);
        putchar('>');
        lead_label(l, who, sizeof(who));
        if (who[0]) {
            putchar(' ');
            cli_put_text(stdout, who, 0, 0, NULL);
        }
        putchar('\n');
        row("stage", l->stage);
        if (l->title)
            row("title", l->title);
        if (l->phone)
            row("phone", l->phone);
        if (l->owner)
            row("owner", l->owner);
        if (l->timezone)
            row("timezone", l->timezone);
        for (size_t i = 0; i < l->nfields; i++) {
            printf("  ");
            cli_put_text(stdout, l->fields[i].name, 0, 11, NULL);
            putchar(' ');
            cli_put_text(stdout, l->fields[i].value, 0, 0, NULL);
            putchar('\n');
        }
    } else {
        printf("  %-11s %lld (no longer in the database)\n", "lead", (long long)e->lead_id);
    }
    printf("  %-11s ", "rep");
    cli_put_text(stdout, e->rep ? e->rep : "(none)", 0, 0, NULL);
    printf(" (%s)\n", e->assigned_by ? e->assigned_by : "-");
    row("trigger", e->trigger);
    fmt_score(e->score, score, sizeof(score));
    row("score", score);
    row("reason", e->reason);
    if (e->campaign) {
        printf("  %-11s ", "campaign");
        cli_put_text(stdout, e->campaign, 0, 0, NULL);
        if (e->step_id) {
            fputs(", step ", stdout);
            cli_put_text(stdout, e->step_id, 0, 0, NULL);
        }
        putchar('\n');
    }
    if (e->intent)
        row("intent", e->intent);
    if (e->inbound_id)
        printf("  %-11s %lld (nurture inbound show %lld)\n", "message", (long long)e->inbound_id,
               (long long)e->inbound_id);
    nt_time_format_utc(e->created_at, when, sizeof(when));
    printf("  %-11s %s\n", "handed off", when);
    if (e->escalated_at) {
        nt_time_format_utc(e->escalated_at, when, sizeof(when));
        printf("  %-11s %s\n", "escalated", when);
    }
    if (e->claimed_at) {
        nt_time_format_utc(e->claimed_at, when, sizeof(when));
        printf("  %-11s %s by ", "claimed", when);
        cli_put_text(stdout, e->claimed_by ? e->claimed_by : "-", 0, 0, NULL);
        putchar('\n');
    }
    if (e->decided_at) {
        nt_time_format_utc(e->decided_at, when, sizeof(when));
        printf("  %-11s %s %s", "decided", when, nt_qstate_name(e->state));
        if (e->reject_reason) {
            fputs(": ", stdout);
            cli_put_text(stdout, e->reject_reason, 0, 0, NULL);
        }
        if (e->recycle_campaign) {
            fputs(", back into ", stdout);
            cli_put_text(stdout, e->recycle_campaign, 0, 0, NULL);
        }
        putchar('\n');
    }
    if (e->note)
        row("note", e->note);
    if (e->reply_text && e->reply_text[0]) {
        printf("  reply:\n    ");
        cli_put_text(stdout, e->reply_text, 0, 0, "    ");
        putchar('\n');
    }
}

/* ---- arguments checked against the configuration ---- */

static void
name_list(nt_buf *b, const nt_config *cfg, int reps)
{
    size_t n = reps ? cfg->nreps : cfg->queue.nreasons;

    for (size_t i = 0; i < n; i++) {
        if (i)
            nt_buf_adds(b, ", ");
        nt_buf_adds(b, reps ? cfg->reps[i].name : cfg->queue.reasons[i].id);
    }
}

/* The configured spelling of rep `name` in *out, or an exit code after
 * saying which reps there are. */
static int
check_rep(const nt_config *cfg, const char *name, const char **out)
{
    const nt_rep *r = nt_config_rep(cfg, name);
    nt_buf b;

    if (r) {
        *out = r->name;
        return 0;
    }
    if (cfg->nreps == 0) {
        cli_error("no rep named '%s': no reps are configured (add a `reps:` section to %s)", name,
                  cfg->path);
        return NT_EXIT_USAGE;
    }
    nt_buf_init(&b, 0);
    name_list(&b, cfg, 1);
    cli_error("no rep named '%s' in %s; the reps are: %s", name, cfg->path, nt_buf_cstr(&b));
    nt_buf_release(&b);
    return NT_EXIT_USAGE;
}

static int
check_reason(const nt_config *cfg, const char *reason)
{
    nt_buf b;

    if (nt_config_reject_reason(cfg, reason))
        return 0;
    nt_buf_init(&b, 0);
    name_list(&b, cfg, 0);
    cli_error("'%s' is not a reject reason; the reasons are: %s (queue.reject_reasons in %s)",
              reason, nt_buf_cstr(&b), cfg->path);
    nt_buf_release(&b);
    return NT_EXIT_USAGE;
}

static int
check_note(const char *cmd, const char *note)
{
    if (note && strlen(note) > NOTE_MAX)
        return cli_usage_error(cmd, "--note is longer than %d bytes", NOTE_MAX);
    return 0;
}

/* The lead of an entry, or NULL when it is gone (*l released by the caller
 * when the result is not NULL). */
static const nt_lead *
entry_lead(nt_cli *cli, const nt_qentry *e, nt_lead *l)
{
    if (nt_store_lead_get(cli->store, e->lead_id, NULL, l, NULL) != NT_OK)
        return NULL;
    return l;
}

/* Print the entry (text or JSON) with its lead. */
static int
print_entry(nt_cli *cli, const nt_qentry *e, int json)
{
    nt_lead lbuf;
    const nt_lead *l = entry_lead(cli, e, &lbuf);
    int rc = NT_EXIT_OK;

    if (json) {
        nt_buf b;
        nt_buf_init(&b, 0);
        entry_json(&b, e, l);
        nt_buf_addc(&b, '\n');
        rc = cli_emit(&b);
    } else {
        entry_text(e, l);
    }
    if (l)
        nt_lead_release(&lbuf);
    return rc;
}

/* The campaigns, for reject (a reason may recycle) and recycle.  Problems
 * loading them are kept in ds and printed only if the command fails. */
static void
load_campaigns(nt_cli *cli, nt_campaign_set *set, nt_diags *ds)
{
    size_t failed = 0;

    nt_diags_init(ds, 200);
    nt_campaign_set_load(cli->cfg.campaigns_dir, set, &failed, ds);
}

/* ---- list ---- */

typedef struct list_ctx {
    nt_cli *cli;
    int format; /* 0 table, 1 json, 2 csv */
    int64_t now;
    nt_buf *b;
    int64_t n;
} list_ctx;

static int
list_row(void *ctx, const nt_qentry *e)
{
    list_ctx *x = ctx;
    nt_lead lbuf;
    const nt_lead *l = entry_lead(x->cli, e, &lbuf);
    char score[64], age[32], who[600], state[16];

    if (x->format == 1) {
        if (x->n)
            nt_buf_addc(x->b, ',');
        entry_json(x->b, e, l);
    } else if (x->format == 2) {
        entry_csv(x->b, e, l);
    } else {
        if (x->n == 0)
            printf("%-6s %-9s %-10s %-46s %-12s %6s %5s  %s\n", "ID", "STATE", "REP", "LEAD",
                   "TRIGGER", "SCORE", "AGE", "REASON");
        snprintf(state, sizeof(state), "%s%s", nt_qstate_name(e->state),
                 e->escalated_at ? "!" : "");
        fmt_score(e->score, score, sizeof(score));
        fmt_age(x->now, e->created_at, age, sizeof(age));
        printf("%-6lld %-9s ", (long long)e->id, state);
        cli_put_text(stdout, e->rep ? e->rep : "-", 10, 10, NULL);
        putchar(' ');
        if (l) {
            char label[800];
            lead_label(l, who, sizeof(who));
            snprintf(label, sizeof(label), "%s%s%s%s", l->email, who[0] ? " (" : "", who,
                     who[0] ? ")" : "");
            cli_put_text(stdout, label, 45, 46, NULL);
        } else {
            char gone[40];
            snprintf(gone, sizeof(gone), "lead %lld (gone)", (long long)e->lead_id);
            cli_put_text(stdout, gone, 45, 46, NULL);
        }
        putchar(' ');
        cli_put_text(stdout, e->trigger ? e->trigger : "-", 11, 12, NULL);
        printf(" %6s %5s  ", score, age);
        cli_put_text(stdout,
                     e->reject_reason ? e->reject_reason
                     : e->reason      ? e->reason
                                      : "-",
                     0, 0, NULL);
        putchar('\n');
    }
    if (l)
        nt_lead_release(&lbuf);
    x->n++;
    return 0;
}

static int
cmd_list(nt_cli *cli, int argc, char **argv)
{
    enum { O_STATE = 1000, O_REP, O_LEAD, O_SINCE, O_ESC, O_LIMIT, O_NOW, O_JSON, O_CSV };
    static const struct option opts[] = {
        {"state", required_argument, NULL, O_STATE},
        {"rep", required_argument, NULL, O_REP},
        {"lead", required_argument, NULL, O_LEAD},
        {"since", required_argument, NULL, O_SINCE},
        {"escalated", no_argument, NULL, O_ESC},
        {"limit", required_argument, NULL, O_LIMIT},
        {"now", required_argument, NULL, O_NOW},
        {"json", no_argument, NULL, O_JSON},
        {"csv", no_argument, NULL, O_CSV},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    nt_queue_filter f = {.state = -1};
    const char *lead = NULL, *rep = NULL;
    list_ctx x = {0};
    int c, rc, json = 0, csv = 0;
    nt_buf b;
    nt_diag d;
    nt_err err;

    x.now = cli_clock();
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return cli_help(help_list);
        case O_STATE:
            if ((f.state = nt_qstate_from(optarg)) < 0)
                return cli_usage_error("queue list",
                                       "unknown state '%s': use open, claimed, accepted, "
                                       "rejected or recycled",
                                       optarg);
            break;
        case O_REP:
            rep = optarg;
            break;
        case O_LEAD:
            lead = optarg;
            break;
        case O_SINCE:
            if ((rc = cli_parse_time(optarg, &f.since)) != 0)
                return rc;
            break;
        case O_ESC:
            f.escalated = 1;
            break;
        case O_LIMIT:
            if ((rc = cli_parse_limit("queue list", optarg, &f.limit)) != 0)
                return rc;
            break;
        case O_NOW:
            if ((rc = cli_parse_time(optarg, &x.now)) != 0)
                return rc;
            break;
        case O_JSON:
            json = 1;
            break;
        case O_CSV:
            csv = 1;
            break;
        default:
            return cli_usage_error("queue list", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("queue list", "unexpected argument '%s'", argv[optind]);
    if (json && csv)
        return cli_usage_error("queue list", "--json and --csv: choose one");
    if ((rc = cli_open_store(cli)) != 0)
        return rc;
    if (rep && (rc = check_rep(&cli->cfg, rep, &f.rep)) != 0)
        return rc;
    if (lead) {
        nt_lead l;
        if ((rc = cli_find_lead(cli, lead, &l)) != 0)
            return rc;
        f.lead_id = l.id;
        nt_lead_release(&l);
    }
    nt_buf_init(&b, 0);
    x.cli = cli;
    x.format = json ? 1 : csv ? 2 : 0;
    x.b = &b;
    if (json)
        nt_buf_addc(&b, '[');
    else if (csv)
        nt_buf_adds(&b, csv_header);
    nt_diag_clear(&d);
    err = nt_store_queue_list(cli->store, &f, list_row, &x, &d);
    if (err != NT_OK) {
        nt_buf_release(&b);
        cli_diag(&d);
        return cli_exit_for(err);
    }
    if (json)
        nt_buf_adds(&b, "]\n");
    else if (!csv && x.n == 0)
        nt_buf_adds(&b, "no queue entries\n");
    return cli_emit(&b);
}

/* ---- pull ---- */

static int
cmd_pull(nt_cli *cli, int argc, char **argv)
{
    enum { O_REP = 1000, O_NOW, O_JSON };
    static const struct option opts[] = {
        {"rep", required_argument, NULL, O_REP},
        {"now", required_argument, NULL, O_NOW},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *rep = NULL;
    int64_t now = 0;
    int c, rc, json = 0, have_now = 0, got = 0;
    nt_qentry e;
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help_pull);
        else if (c == O_REP)
            rep = optarg;
        else if (c == O_NOW) {
            if ((rc = cli_parse_time(optarg, &now)) != 0)
                return rc;
            have_now = 1;
        } else if (c == O_JSON)
            json = 1;
        else
            return cli_usage_error("queue pull", "bad option");
    }
    if (optind != argc)
        return cli_usage_error("queue pull", "unexpected argument '%s'", argv[optind]);
    if (!rep)
        return cli_usage_error("queue pull", "say who pulls: --rep NAME");
    if (!have_now)
        now = cli_clock();
    if ((rc = cli_open_store(cli)) != 0 || (rc = check_rep(&cli->cfg, rep, &rep)) != 0)
        return rc;
    nt_diag_clear(&d);
    err = nt_queue_pull(cli->store, &cli->cfg, rep, now, &e, &got, &d);
    if (err != NT_OK) {
        cli_diag(&d);
        return cli_exit_for(err);
    }
    if (!got) {
        if (json)
            fputs("null\n", stdout);
        else
            printf("nothing to pull for %s\n", rep);
        return NT_EXIT_OK;
    }
    rc = print_entry(cli, &e, json);
    nt_qentry_release(&e);
    return rc;
}

/* ---- show ---- */

static int
cmd_show(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc, json = 0;
    int64_t id = 0;
    nt_qentry e;
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help_show);
        else if (c == 'j')
            json = 1;
        else
            return cli_usage_error("queue show", "bad option");
    }
    if (optind + 1 != argc)
        return cli_usage_error("queue show", "queue show needs one entry id");
    if ((rc = cli_parse_id("queue show", argv[optind], "a queue entry id (see nurture queue list)",
                           &id)) != 0 ||
        (rc = cli_open_store(cli)) != 0)
        return rc;
    nt_diag_clear(&d);
    if ((err = nt_store_queue_get(cli->store, id, &e, &d)) != NT_OK) {
        cli_diag(&d);
        return cli_exit_for(err);
    }
    rc = print_entry(cli, &e, json);
    nt_qentry_release(&e);
    return rc;
}

/* ---- accept, reject, recycle ---- */

enum decision { ACCEPT, REJECT, RECYCLE };

static int
decide(nt_cli *cli, enum decision what, int argc, char **argv)
{
    enum { O_REP = 1000, O_NOTE, O_REASON, O_NOW, O_JSON };
    static const struct option opts[] = {
        {"rep", required_argument, NULL, O_REP},
        {"note", required_argument, NULL, O_NOTE},
        {"reason", required_argument, NULL, O_REASON},
        {"now", required_argument, NULL, O_NOW},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const cmds[] = {"queue accept", "queue reject", "queue recycle"};
    static const char *const helps[] = {help_accept, help_reject, help_recycle};
    const char *cmd = cmds[what];
    const char *rep = NULL, *note = NULL, *reason = NULL, *campaign = NULL;
    int c, rc, json = 0, have_now = 0, need_set = 0;
    int64_t id = 0, now = 0;
    nt_campaign_set set = {0};
    nt_diags ds = {0};
    nt_qentry e;
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return cli_help(helps[what]);
        case O_REP:
            rep = optarg;
            break;
        case O_NOTE:
            if (what == RECYCLE)
                return cli_usage_error(cmd, "recycle takes no --note");
            note = optarg;
            break;
        case O_REASON:
            if (what != REJECT)
                return cli_usage_error(cmd, "--reason is for `queue reject`");
            reason = optarg;
            break;
        case O_NOW:
            if ((rc = cli_parse_time(optarg, &now)) != 0)
                return rc;
            have_now = 1;
            break;
        case O_JSON:
            json = 1;
            break;
        default:
            return cli_usage_error(cmd, "bad option");
        }
    }
    if (what == RECYCLE) {
        if (optind + 2 != argc)
            return cli_usage_error(cmd, "queue recycle needs an entry id and a campaign");
        campaign = argv[optind + 1];
    } else if (optind + 1 != argc) {
        return cli_usage_error(cmd, "%s needs one entry id", cmd);
    }
    if ((rc = cli_parse_id(cmd, argv[optind], "a queue entry id (see nurture queue list)", &id)) !=
            0 ||
        (rc = check_note(cmd, note)) != 0)
        return rc;
    if (what == REJECT && !reason)
        return cli_usage_error(cmd, "say why: --reason R (`nurture queue reasons` lists them)");
    if (!have_now)
        now = cli_clock();
    if ((rc = cli_load_config(cli)) != 0)
        return rc;
    if (rep && (rc = check_rep(&cli->cfg, rep, &rep)) != 0)
        return rc;
    if (reason && (rc = check_reason(&cli->cfg, reason)) != 0)
        return rc;
    need_set =
        what == RECYCLE || (what == REJECT && nt_config_reject_reason(&cli->cfg, reason)->recycle);
    if (need_set) {
        load_campaigns(cli, &set, &ds);
        if (campaign && !nt_campaign_set_find(&set, campaign)) {
            cli_diags(&ds);
            cli_error("no campaign named '%s' (see `nurture campaign list`)", campaign);
            rc = NT_EXIT_FAIL;
            goto out;
        }
    }
    if ((rc = cli_open_store(cli)) != 0)
        goto out;
    nt_diag_clear(&d);
    if (what == ACCEPT)
        err = nt_queue_accept(cli->store, &cli->cfg, id, rep, note, now, &e, &d);
    else if (what == REJECT)
        err = nt_queue_reject(cli->store, &cli->cfg, &set, id, rep, reason, note, now, &e, &d);
    else
        err = nt_queue_recycle(cli->store, &cli->cfg, &set, id, campaign, rep, now, &e, &d);
    if (err != NT_OK) {
        cli_diag(&d);
        if (need_set && ds.errors)
            cli_diags(&ds); /* perhaps why a campaign was missing */
        rc = cli_exit_for(err);
        goto out;
    }
    if (json) {
        rc = print_entry(cli, &e, 1);
    } else {
        nt_lead l;
        int have = nt_store_lead_get(cli->store, e.lead_id, NULL, &l, NULL) == NT_OK;
        printf("queue entry %lld %s", (long long)e.id, nt_qstate_name(e.state));
        if (e.reject_reason) {
            fputs(" (", stdout);
            cli_put_text(stdout, e.reject_reason, 0, 0, NULL);
            putchar(')');
        }
        if (have) {
            fputs(": lead ", stdout);
            cli_put_text(stdout, l.email, 0, 0, NULL);
            fputs(" is now ", stdout);
            cli_put_text(stdout, l.stage, 0, 0, NULL);
            nt_lead_release(&l);
        }
        if (e.recycle_campaign) {
            fputs(", back in campaign ", stdout);
            cli_put_text(stdout, e.recycle_campaign, 0, 0, NULL);
        }
        putchar('\n');
    }
    nt_qentry_release(&e);
out:
    if (need_set) {
        nt_campaign_set_release(&set);
        nt_diags_release(&ds);
    }
    return rc;
}

static int
cmd_accept(nt_cli *cli, int argc, char **argv)
{
    return decide(cli, ACCEPT, argc, argv);
}

static int
cmd_reject(nt_cli *cli, int argc, char **argv)
{
    return decide(cli, REJECT, argc, argv);
}

static int
cmd_recycle(nt_cli *cli, int argc, char **argv)
{
    return decide(cli, RECYCLE, argc, argv);
}

/* ---- escalate, reasons ---- */

static int
cmd_escalate(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"now", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc, json = 0, have_now = 0;
    int64_t now = 0, count = 0;
    nt_diag d;
    nt_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help_escalate);
        else if (c == 'n') {
            if ((rc = cli_parse_time(optarg, &now)) != 0)
                return rc;
            have_now = 1;
        } else if (c == 'j')
            json = 1;
        else
            return cli_usage_error("queue escalate", "bad option");
    }
    if (optind != argc)
        return cli_usage_error("queue escalate", "unexpected argument '%s'", argv[optind]);
    if (!have_now)
        now = cli_clock();
    if ((rc = cli_open_store(cli)) != 0)
        return rc;
    nt_diag_clear(&d);
    if ((err = nt_queue_escalate(cli->store, &cli->cfg, now, &count, &d)) != NT_OK) {
        cli_diag(&d);
        return cli_exit_for(err);
    }
    if (json)
        printf("{\"escalated\":%lld}\n", (long long)count);
    else if (cli->cfg.queue.sla == 0)
        printf("no SLA is configured (queue.sla in %s): nothing escalated\n", cli->cfg.path);
    else
        printf("%lld %s escalated\n", (long long)count, count == 1 ? "entry" : "entries");
    return NT_EXIT_OK;
}

static int
cmd_reasons(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc, json = 0;
    nt_buf b;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help_reasons);
        else if (c == 'j')
            json = 1;
        else
            return cli_usage_error("queue reasons", "bad option");
    }
    if (optind != argc)
        return cli_usage_error("queue reasons", "unexpected argument '%s'", argv[optind]);
    if ((rc = cli_load_config(cli)) != 0)
        return rc;
    nt_buf_init(&b, 0);
    if (json)
        nt_buf_addc(&b, '[');
    for (size_t i = 0; i < cli->cfg.queue.nreasons; i++) {
        const nt_reject_reason *r = &cli->cfg.queue.reasons[i];
        if (json) {
            nt_buf_adds(&b, i ? ",{\"reason\":" : "{\"reason\":");
            cli_json_str(&b, r->id);
            nt_buf_adds(&b, ",\"recycle\":");
            cli_json_str(&b, r->recycle);
            nt_buf_addc(&b, '}');
        } else if (r->recycle) {
            nt_buf_addf(&b, "%-20s recycles into %s\n", r->id, r->recycle);
        } else {
            nt_buf_addf(&b, "%s\n", r->id);
        }
    }
    if (json)
        nt_buf_adds(&b, "]\n");
    return cli_emit(&b);
}

static const struct sub {
    const char *name;
    int (*fn)(nt_cli *, int, char **);
} subs[] = {
    {"list", cmd_list},         {"pull", cmd_pull},       {"show", cmd_show},
    {"accept", cmd_accept},     {"reject", cmd_reject},   {"recycle", cmd_recycle},
    {"escalate", cmd_escalate}, {"reasons", cmd_reasons},
};

int
cmd_queue(nt_cli *cli, int argc, char **argv)
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
    cli_error("unknown queue command '%s'", argv[1]);
    fputs(help, stderr);
    return NT_EXIT_USAGE;
}
