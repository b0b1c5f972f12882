/*
 * Reading nurture.yaml into an nt_config, checking every value and
 * reporting every problem with its position, so that an operator fixes the
 * file in one pass rather than one error at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "nurture/config.h"
#include "nurture/lead.h"
#include "nurture/tz.h"
#include "nurture/yamldoc.h"

#include "config_reader.h"

#include "banned.h"

const char *const nt_default_stages[] = {
    "subscriber",
    "Opted in to receive content; no buying signal yet.",
    "lead",
    "Gave contact details in exchange for something (demo request, trial, "
    "download) and fits the audience.",
    "MQL",
    "Marketing-qualified: engaged enough, and fits the ideal customer profile "
    "well enough, for sales to take a look.",
    "SQL",
    "Sales-qualified: a rep accepted the lead and confirmed need, budget or "
    "timing in a conversation.",
    "opportunity",
    "A deal is open in the CRM with an amount and a close date.",
    "customer",
    "Signed and paying.",
    NULL,
};

static const char *const top_keys[] = {
    "database",     "campaigns", "timezone", "default_stage", "stages",          "lead_fields",
    "senders",      "smtp",      "inbound",  "secret",        "unsubscribe_url", "bounce_domain",
    "bounce_local", "rules",     "scoring",  "reps",          "queue",           "webhooks",
    NULL,
};
static const char *const stage_keys[] = {"name", "definition", NULL};
static const char *const sender_keys[] = {
    "id",        "name",           "address",       "reply_to", "postal_address",
    "daily_cap", "per_minute_cap", "dkim_selector", NULL,
};
static const char *const smtp_keys[] = {
    "host",     "port",  "tls",        "username",    "password",  "helo",    "timeout",
    "sessions", "batch", "rate_limit", "retry_after", "retry_for", "ca_file", NULL,
};
static const char *const inbound_keys[] = {
    "imap",
    "pop3",
    "maildir",
    "username",
    "password",
    "ca_file",
    "processed_folder",
    "unknown_folder",
    "soft_bounce_limit",
    "soft_bounce_window",
    "away_pause",
    NULL,
};
static const char *const secret_keys[] = {"env", "file", NULL};

void
nt_cfg_report(nt_cfg_reader *r, const nt_diag *d)
{
    nt_diags_push(r->diags, d);
}

char *
nt_cfg_dup(nt_cfg_reader *r, const char *s)
{
    char *p = strdup(s);
    if (!p)
        r->oom = 1;
    return p;
}

/* A string value for key in map m; NULL and no error when absent. */
char *
nt_cfg_str(nt_cfg_reader *r, const nt_ynode *m, const char *key, int required, const char *where)
{
    const nt_ynode *n = nt_ymap_get(m, key);
    const char *s;
    nt_diag d;

    if (!n) {
        if (required)
            nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, m ? m->line : 0, m ? m->col : 0,
                         "%s needs '%s'", where, key);
        return NULL;
    }
    if (nt_ynode_str(r->doc, n, key, &s, &d) != NT_OK) {
        nt_cfg_report(r, &d);
        return NULL;
    }
    if (required && !*s) {
        nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, n->line, n->col,
                     "'%s' in %s must not be empty", key, where);
        return NULL;
    }
    return nt_cfg_dup(r, s);
}

long long
nt_cfg_int(nt_cfg_reader *r, const nt_ynode *m, const char *key, long long def, long long min,
           long long max)
{
    const nt_ynode *n = nt_ymap_get(m, key);
    long long v = def;
    nt_diag d;

    if (n && nt_ynode_int(r->doc, n, key, min, max, &v, &d) != NT_OK) {
        nt_cfg_report(r, &d);
        return def;
    }
    return v;
}

long long
nt_cfg_duration(nt_cfg_reader *r, const nt_ynode *m, const char *key, long long def)
{
    const nt_ynode *n = nt_ymap_get(m, key);
    const char *s;
    int64_t v;
    nt_diag d;

    if (!n)
        return def;
    if (nt_ynode_str(r->doc, n, key, &s, &d) != NT_OK) {
        nt_cfg_report(r, &d);
        return def;
    }
    if (nt_duration_parse(s, &v, &d) != NT_OK) {
        nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, n->line, n->col,
                     "'%s': %s (write e.g. 15m, 3d)", key, d.msg);
        return def;
    }
    return v;
}

char *
nt_cfg_resolve(nt_cfg_reader *r, const char *p)
{
    nt_buf b;

    if (!p)
        return NULL;
    /* "campaigns", not "./campaigns", in every message when the config is
     * in the current folder. */
    if (p[0] == '/' || !strcmp(r->cfg->dir, "."))
        return nt_cfg_dup(r, p);
    nt_buf_init(&b, 8192);
    nt_buf_addf(&b, "%s/%s", r->cfg->dir, p);
    return nt_buf_detach(&b, NULL);
}

int
nt_cfg_is_map(nt_cfg_reader *r, const nt_ynode *n, const char *what)
{
    if (n && n->kind == NT_Y_MAP)
        return 1;
    if (n)
        nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, n->line, n->col,
                     "'%s' must be a mapping of keys to values, not %s", what,
                     nt_ynode_kind_name(n));
    return 0;
}

int
nt_cfg_is_seq(nt_cfg_reader *r, const nt_ynode *n, const char *what)
{
    if (n && n->kind == NT_Y_SEQ)
        return 1;
    if (n)
        nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, n->line, n->col,
                     "'%s' must be a list, not %s", what, nt_ynode_kind_name(n));
    return 0;
}

/* [A-Za-z_][A-Za-z0-9_]*: anything else is more likely the secret itself,
 * written where its variable's name belongs, and must not be echoed. */
static int
env_name_ok(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
           strlen(s);
}

void
nt_cfg_secret(nt_cfg_reader *r, const nt_ynode *n, const char *what, nt_secret_ref *out)
{
    char *file;

    if (!nt_cfg_is_map(r, n, what))
        return;
    nt_ymap_check_keys(r->doc, n, secret_keys, what, r->diags);
    out->env = nt_cfg_str(r, n, "env", 0, what);
    if (out->env && !env_name_ok(out->env)) {
        const nt_ynode *e = nt_ymap_get(n, "env");
        nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, e->line, e->col,
                     "'env' in %s must be the name of an environment variable (letters, digits "
                     "and '_'), not the secret itself",
                     what);
        free(out->env);
        out->env = NULL;
        return;
    }
    file = nt_cfg_str(r, n, "file", 0, what);
    out->file = nt_cfg_resolve(r, file);
    free(file);
    if (!!out->env == !!out->file)
        nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, n->line, n->col,
                     "%s must name exactly one of 'env' (an environment variable) or 'file'", what);
}

static void
read_stages(nt_cfg_reader *r, const nt_ynode *seq)
{
    nt_config *cfg = r->cfg;

    if (!nt_cfg_is_seq(r, seq, "stages"))
        return;
    if (seq->n == 0) {
        nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, seq->line, seq->col,
                     "'stages' must list at least one stage");
        return;
    }
    cfg->stages = calloc(seq->n ? seq->n : 1, sizeof(*cfg->stages));
    if (!cfg->stages) {
        r->oom = 1;
        return;
    }
    for (size_t i = 0; i < seq->n; i++) {
        const nt_ynode *m = seq->vals[i];
        nt_stage *st;
        if (!nt_cfg_is_map(r, m, "each stage"))
            continue;
        nt_ymap_check_keys(r->doc, m, stage_keys, "a stage", r->diags);
        st = &cfg->stages[cfg->nstages];
        st->name = nt_cfg_str(r, m, "name", 1, "a stage");
        st->definition = nt_cfg_str(r, m, "definition", 1, "a stage");
        if (!st->name || !st->definition) {
            free(st->name);
            free(st->definition);
            continue;
        }
        if (nt_config_stage_index(cfg, st->name) >= 0)
            nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, m->line, m->col,
                         "stage '%s' is defined twice", st->name);
        cfg->nstages++;
    }
}

static void
read_sender(nt_cfg_reader *r, const nt_ynode *m, nt_sender *s)
{
    nt_diag d;
    char *norm;

    nt_ymap_check_keys(r->doc, m, sender_keys, "a sender", r->diags);
    s->id = nt_cfg_str(r, m, "id", 1, "a sender");
    s->name = nt_cfg_str(r, m, "name", 1, "a sender");
    s->address = nt_cfg_str(r, m, "address", 1, "a sender");
    s->reply_to = nt_cfg_str(r, m, "reply_to", 0, "a sender");
    s->postal_address = nt_cfg_str(r, m, "postal_address", 1, "a sender");
    s->daily_cap = nt_cfg_int(r, m, "daily_cap", 0, 0, 10000000);
    s->per_minute_cap = nt_cfg_int(r, m, "per_minute_cap", 0, 0, 1000000);
    s->dkim_selector = nt_cfg_str(r, m, "dkim_selector", 0, "a sender");
    if (s->address) {
        if (nt_email_normalize(s->address, strlen(s->address), &norm, &d) != NT_OK) {
            const nt_ynode *n = nt_ymap_get(m, "address");
            nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, n->line, n->col,
                         "sender address: %s", d.msg);
        } else {
            free(s->address);
            s->address = norm;
        }
    }
    if (s->reply_to && nt_email_normalize(s->reply_to, strlen(s->reply_to), &norm, &d) == NT_OK) {
        free(s->reply_to);
        s->reply_to = norm;
    } else if (s->reply_to) {
        const nt_ynode *n = nt_ymap_get(m, "reply_to");
        nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, n->line, n->col, "reply_to: %s", d.msg);
    }
}

static void
read_senders(nt_cfg_reader *r, const nt_ynode *seq)
{
    nt_config *cfg = r->cfg;

    if (!nt_cfg_is_seq(r, seq, "senders"))
        return;
    cfg->senders = calloc(seq->n ? seq->n : 1, sizeof(*cfg->senders));
    if (!cfg->senders) {
        r->oom = 1;
        return;
    }
    for (size_t i = 0; i < seq->n; i++) {
        const nt_ynode *m = seq->vals[i];
        nt_sender *s;
        if (!nt_cfg_is_map(r, m, "each sender"))
            continue;
        s = &cfg->senders[cfg->nsenders];
        read_sender(r, m, s);
        if (s->id && nt_config_sender(cfg, s->id))
            nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, m->line, m->col,
                         "sender id '%s' is used twice", s->id);
        cfg->nsenders++;
    }
}

static void
read_smtp(nt_cfg_reader *r, const nt_ynode *m)
{
    nt_smtp_config *s = &r->cfg->smtp;
    const nt_ynode *tls;

    s->port = 587;
    s->timeout_sec = 60;
    s->sessions = 1;
    s->batch = 200;
    s->retry_after = 15 * 60;
    s->retry_for = 3 * 86400;
    if (!m)
        return;
    if (!nt_cfg_is_map(r, m, "smtp"))
        return;
    nt_ymap_check_keys(r->doc, m, smtp_keys, "smtp", r->diags);
    s->host = nt_cfg_str(r, m, "host", 1, "smtp");
    s->port = nt_cfg_int(r, m, "port", 587, 1, 65535);
    s->username = nt_cfg_str(r, m, "username", 0, "smtp");
    s->helo = nt_cfg_str(r, m, "helo", 0, "smtp");
    s->timeout_sec = nt_cfg_int(r, m, "timeout", 60, 1, 3600);
    s->sessions = nt_cfg_int(r, m, "sessions", 1, 1, 64);
    s->batch = nt_cfg_int(r, m, "batch", 200, 1, 10000);
    s->rate_limit = nt_cfg_int(r, m, "rate_limit", 0, 0, 1000000);
    s->retry_after = nt_cfg_duration(r, m, "retry_after", s->retry_after);
    s->retry_for = nt_cfg_duration(r, m, "retry_for", s->retry_for);
    if (nt_ymap_get(m, "ca_file")) {
        char *ca = nt_cfg_str(r, m, "ca_file", 1, "smtp");
        s->ca_file = nt_cfg_resolve(r, ca);
        free(ca);
    }
    if (nt_ymap_get(m, "password"))
        nt_cfg_secret(r, nt_ymap_get(m, "password"), "smtp password", &s->password);
    if (s->username && !nt_ymap_get(m, "password"))
        nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, m->line, m->col,
                     "smtp has a username but no 'password: {env: NAME}' or "
                     "'password: {file: PATH}'");
    tls = nt_ymap_get(m, "tls");
    if (tls) {
        const char *v = tls->kind == NT_Y_SCALAR ? tls->str : "";
        if (!strcmp(v, "required"))
            s->tls = NT_TLS_REQUIRED;
        else if (!strcmp(v, "opportunistic"))
            s->tls = NT_TLS_OPPORTUNISTIC;
        else if (!strcmp(v, "off") || (tls->kind == NT_Y_SCALAR && !tls->quoted &&
                                       (!strcmp(v, "false") || !strcmp(v, "no"))))
            s->tls = NT_TLS_OFF;
        else
            nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, tls->line, tls->col,
                         "smtp tls must be 'required', 'opportunistic' or 'off'");
    }
}

static void
read_inbound(nt_cfg_reader *r, const nt_ynode *m)
{
    nt_inbound_config *in = &r->cfg->inbound;
    int kinds = 0;

    in->soft_bounce_limit = 3;
    in->soft_bounce_window = 30 * 86400;
    in->away_pause = 7 * 86400;
    if (!m || !nt_cfg_is_map(r, m, "inbound"))
        return;
    nt_ymap_check_keys(r->doc, m, inbound_keys, "inbound", r->diags);
    if (nt_ymap_get(m, "imap")) {
        in->kind = NT_INBOUND_IMAP;
        in->url = nt_cfg_str(r, m, "imap", 1, "inbound");
        kinds++;
    }
    if (nt_ymap_get(m, "pop3")) {
        in->kind = NT_INBOUND_POP3;
        in->url = nt_cfg_str(r, m, "pop3", 1, "inbound");
        kinds++;
    }
    if (nt_ymap_get(m, "maildir")) {
        in->kind = NT_INBOUND_MAILDIR;
        char *dir = nt_cfg_str(r, m, "maildir", 1, "inbound");
        in->maildir = nt_cfg_resolve(r, dir);
        free(dir);
        kinds++;
    }
    if (kinds > 1)
        nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, m->line, m->col,
                     "inbound names more than one of 'imap', 'pop3' and 'maildir'; keep one");
    in->username = nt_cfg_str(r, m, "username", 0, "inbound");
    if (nt_ymap_get(m, "password"))
        nt_cfg_secret(r, nt_ymap_get(m, "password"), "inbound password", &in->password);
    if (kinds == 0 && (in->username || nt_ymap_get(m, "password")))
        nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, m->line, m->col,
                     "inbound has a username or password but no 'imap', 'pop3' or 'maildir' to "
                     "use them with");
    char *ca = nt_cfg_str(r, m, "ca_file", 0, "inbound");
    if (ca) {
        in->ca_file = nt_cfg_resolve(r, ca);
        free(ca);
    }
    in->processed_folder = nt_cfg_str(r, m, "processed_folder", 0, "inbound");
    in->unknown_folder = nt_cfg_str(r, m, "unknown_folder", 0, "inbound");
    in->soft_bounce_limit = nt_cfg_int(r, m, "soft_bounce_limit", 3, 1, 1000);
    in->soft_bounce_window = nt_cfg_duration(r, m, "soft_bounce_window", in->soft_bounce_window);
    in->away_pause = nt_cfg_duration(r, m, "away_pause", in->away_pause);
}

static void
read_lead_fields(nt_cfg_reader *r, const nt_ynode *seq)
{
    nt_config *cfg = r->cfg;

    if (!nt_cfg_is_seq(r, seq, "lead_fields"))
        return;
    cfg->lead_fields = calloc(seq->n ? seq->n : 1, sizeof(char *));
    if (!cfg->lead_fields) {
        r->oom = 1;
        return;
    }
    for (size_t i = 0; i < seq->n; i++) {
        const nt_ynode *n = seq->vals[i];
        if (n->kind != NT_Y_SCALAR || !nt_field_name_ok(n->str)) {
            nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, n->line, n->col,
                         "lead field names are lower-case letters, digits and '_', starting "
                         "with a letter");
            continue;
        }
        cfg->lead_fields[cfg->nlead_fields++] = nt_cfg_dup(r, n->str);
    }
}

static void
check_zone(nt_cfg_reader *r, const nt_ynode *top)
{
    const nt_ynode *n = nt_ymap_get(top, "timezone");
    nt_tz *tz = NULL;
    nt_diag d;

    if (!r->cfg->timezone) {
        r->cfg->timezone = nt_cfg_dup(r, "UTC");
        return;
    }
    if (nt_tz_load(r->cfg->timezone, &tz, &d) != NT_OK)
        nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, n->line, n->col,
                     "unknown time zone '%s': use an IANA name such as Europe/Berlin or "
                     "America/New_York",
                     r->cfg->timezone);
    nt_tz_free(tz);
}

static void
read_top(nt_cfg_reader *r, const nt_ynode *top)
{
    nt_config *cfg = r->cfg;
    char *s;

    nt_ymap_check_keys(r->doc, top, top_keys, "the configuration", r->diags);
    s = nt_cfg_str(r, top, "database", 0, "the configuration");
    cfg->database = nt_cfg_resolve(r, s ? s : "nurture.db");
    free(s);
    s = nt_cfg_str(r, top, "campaigns", 0, "the configuration");
    cfg->campaigns_dir = nt_cfg_resolve(r, s ? s : "campaigns");
    free(s);
    cfg->timezone = nt_cfg_str(r, top, "timezone", 0, "the configuration");
    check_zone(r, top);
    if (nt_ymap_get(top, "stages"))
        read_stages(r, nt_ymap_get(top, "stages"));
    else
        nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, top->line, top->col,
                     "the configuration needs 'stages', the ordered list of lead stages");
    cfg->default_stage = nt_cfg_str(r, top, "default_stage", 0, "the configuration");
    if (cfg->default_stage) {
        int i = nt_config_stage_index(cfg, cfg->default_stage);
        const nt_ynode *n = nt_ymap_get(top, "default_stage");
        if (i < 0)
            nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, n->line, n->col,
                         "default_stage '%s' is not one of the stages", cfg->default_stage);
    } else if (cfg->nstages) {
        cfg->default_stage = nt_cfg_dup(r, cfg->stages[0].name);
    }
    if (nt_ymap_get(top, "lead_fields"))
        read_lead_fields(r, nt_ymap_get(top, "lead_fields"));
    if (nt_ymap_get(top, "senders"))
        read_senders(r, nt_ymap_get(top, "senders"));
    read_smtp(r, nt_ymap_get(top, "smtp"));
    read_inbound(r, nt_ymap_get(top, "inbound"));
    if (nt_ymap_get(top, "secret"))
        nt_cfg_secret(r, nt_ymap_get(top, "secret"), "secret", &cfg->secret);
    cfg->unsubscribe_url = nt_cfg_str(r, top, "unsubscribe_url", 0, "the configuration");
    if (cfg->unsubscribe_url && strncmp(cfg->unsubscribe_url, "https://", 8) != 0) {
        const nt_ynode *n = nt_ymap_get(top, "unsubscribe_url");
        nt_diags_add(r->diags, NT_SEV_ERROR, r->doc->file, n->line, n->col,
                     "unsubscribe_url must start with https://");
    }
    cfg->bounce_domain = nt_cfg_str(r, top, "bounce_domain", 0, "the configuration");
    cfg->bounce_local = nt_cfg_str(r, top, "bounce_local", 0, "the configuration");
    if (!cfg->bounce_local)
        cfg->bounce_local = nt_cfg_dup(r, "bounces");
    s = nt_cfg_str(r, top, "rules", 0, "the configuration");
    if (s) {
        cfg->rules_dir = nt_cfg_resolve(r, s);
        free(s);
    }
    nt_cfg_read_handoff(r, top);
}

static char *
dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

nt_err
nt_config_load(const char *path, nt_config *cfg, nt_diags *diags)
{
    nt_ydoc doc;
    nt_diag d;
    nt_cfg_reader r;
    nt_err err;

    memset(cfg, 0, sizeof(*cfg));
    cfg->path = strdup(path);
    cfg->dir = dir_of(path);
    if (!cfg->path || !cfg->dir)
        return NT_ENOMEM;
    err = nt_ydoc_load(&doc, path, &d);
    if (err != NT_OK) {
        nt_diags_push(diags, &d);
        nt_ydoc_release(&doc);
        return err;
    }
    memset(&r, 0, sizeof(r));
    r.cfg = cfg;
    r.doc = &doc;
    r.diags = diags;
    if (!doc.root || doc.root->kind != NT_Y_MAP) {
        nt_diags_add(diags, NT_SEV_ERROR, path, doc.root ? doc.root->line : 1,
                     doc.root ? doc.root->col : 1,
                     "the configuration must be a mapping of keys to values; see `nurture "
                     "init` for an example");
        nt_ydoc_release(&doc);
        return NT_ECONFIG;
    }
    read_top(&r, doc.root);
    nt_ydoc_release(&doc);
    if (r.oom)
        return NT_ENOMEM;
    return diags->errors ? NT_ECONFIG : NT_OK;
}

void
nt_cfg_free_secret(nt_secret_ref *s)
{
    free(s->env);
    free(s->file);
}

void
nt_config_release(nt_config *cfg)
{
    free(cfg->path);
    free(cfg->dir);
    free(cfg->database);
    free(cfg->campaigns_dir);
    free(cfg->timezone);
    free(cfg->default_stage);
    for (size_t i = 0; i < cfg->nstages; i++) {
        free(cfg->stages[i].name);
        free(cfg->stages[i].definition);
    }
    free(cfg->stages);
    for (size_t i = 0; i < cfg->nsenders; i++) {
        nt_sender *s = &cfg->senders[i];
        free(s->id);
        free(s->name);
        free(s->address);
        free(s->reply_to);
        free(s->postal_address);
        free(s->dkim_selector);
    }
    free(cfg->senders);
    for (size_t i = 0; i < cfg->nlead_fields; i++)
        free(cfg->lead_fields[i]);
    free(cfg->lead_fields);
    free(cfg->smtp.host);
    free(cfg->smtp.username);
    free(cfg->smtp.helo);
    nt_cfg_free_secret(&cfg->smtp.password);
    free(cfg->inbound.url);
    free(cfg->inbound.username);
    free(cfg->inbound.maildir);
    free(cfg->inbound.ca_file);
    free(cfg->inbound.processed_folder);
    free(cfg->inbound.unknown_folder);
    free(cfg->rules_dir);
    nt_cfg_free_secret(&cfg->inbound.password);
    nt_cfg_free_secret(&cfg->secret);
    free(cfg->unsubscribe_url);
    free(cfg->bounce_domain);
    free(cfg->bounce_local);
    free(cfg->smtp.ca_file);
    nt_cfg_release_handoff(cfg);
    memset(cfg, 0, sizeof(*cfg));
}

int
nt_config_stage_index(const nt_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nstages; i++)
        if (cfg->stages[i].name && strcasecmp(cfg->stages[i].name, name) == 0)
            return (int)i;
    return -1;
}

const nt_sender *
nt_config_sender(const nt_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->nsenders; i++)
        if (cfg->senders[i].id && strcmp(cfg->senders[i].id, id) == 0)
            return &cfg->senders[i];
    return NULL;
}

nt_err
nt_config_find(const char *cli_path, char *out, size_t outsz, nt_diag *d)
{
    const char *env = getenv("NURTURE_CONFIG");
    struct stat st;

    if (cli_path && *cli_path) {
        snprintf(out, outsz, "%s", cli_path);
        if (stat(out, &st) != 0)
            return nt_diag_set(d, NT_ENOTFOUND, out, 0, 0,
                               "cannot read the config file given with -c: %s", strerror(errno));
        return NT_OK;
    }
    if (env && *env) {
        snprintf(out, outsz, "%s", env);
        if (stat(out, &st) != 0)
            return nt_diag_set(d, NT_ENOTFOUND, out, 0, 0,
                               "cannot read the config file named by NURTURE_CONFIG: %s",
                               strerror(errno));
        return NT_OK;
    }
    snprintf(out, outsz, "%s", "nurture.yaml");
    if (stat(out, &st) != 0)
        return nt_diag_set(d, NT_ENOTFOUND, NULL, 0, 0,
                           "no configuration: give -c FILE, set NURTURE_CONFIG, or run in a "
                           "folder with nurture.yaml (create one with `nurture init DIR`)");
    return NT_OK;
}

nt_err
nt_secret_read(const nt_secret_ref *ref, const char *what, nt_buf *out, nt_diag *d)
{
    nt_buf_reset(out);
    if (ref->env) {
        const char *v = getenv(ref->env);
        if (!v || !*v)
            return nt_diag_set(d, NT_ECONFIG, NULL, 0, 0,
                               "the %s comes from environment variable %s, which is not set", what,
                               ref->env);
        nt_buf_adds(out, v);
    } else if (ref->file) {
        FILE *f = fopen(ref->file, "r");
        char line[4096];
        size_t n;
        if (!f)
            return nt_diag_set(d, NT_ECONFIG, ref->file, 0, 0, "cannot read the %s: %s", what,
                               strerror(errno));
        if (!fgets(line, sizeof(line), f))
            line[0] = '\0';
        n = strcspn(line, "\r\n");
        if (n == sizeof(line) - 1 && !feof(f)) {
            fclose(f);
            memset(line, 0, sizeof(line));
            return nt_diag_set(d, NT_ECONFIG, ref->file, 1, 0, "the %s is longer than %zu bytes",
                               what, sizeof(line) - 2);
        }
        fclose(f);
        if (n == 0)
            return nt_diag_set(d, NT_ECONFIG, ref->file, 1, 0, "the %s file is empty", what);
        nt_buf_add(out, line, n);
        memset(line, 0, sizeof(line));
    } else {
        return nt_diag_set(d, NT_ECONFIG, NULL, 0, 0,
                           "no %s configured: add '%s: {env: NAME}' or '{file: PATH}'", what, what);
    }
    return out->err;
}
