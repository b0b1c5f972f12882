/*
 * Loading a campaign file into an nt_campaign: the YAML structure, every
 * key and value checked with its position, the email templates read and
 * parsed, and the version computed as a hash over all of it.
 */
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "nurture/buf.h"
#include "nurture/campaign.h"
#include "nurture/tz.h"
#include "nurture/yamldoc.h"

#include "banned.h"

static const char *const top_keys[] = {
    "name",        "description", "status", "audience", "sender", "window",
    "stale_after", "steps",       "exit",   "footer",   NULL,
};
static const char *const audience_keys[] = {"stage", "where", NULL};
static const char *const cond_keys[] = {
    "field", "equals", "not_equals", "in", "not_in", "present", "absent", "contains", NULL,
};
static const char *const window_keys[] = {"days", "hours", "timezone", NULL};
static const char *const step_keys[] = {"id", "after", "email", NULL};
/* Words people write for a step key: not typos, so "did you mean" alone
 * would not find them.  Pairs: written, meant. */
static const char *const step_synonyms[] = {
    "delay", "after", "wait", "after", "template", "email", "file", "email", NULL,
};
static const char *const exit_names[] = {"reply", "unsubscribe", "bounce", "stage_change", NULL};
static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

#define MAX_STEPS 100
#define MAX_CONDS 50

typedef struct loader {
    nt_campaign *c;
    nt_ydoc *doc;
    nt_diags *diags;
    EVP_MD_CTX *hash;
    int oom;
} loader;

static void err_at(loader *ld, const nt_ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
err_at(loader *ld, const nt_ynode *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    nt_diags_add(ld->diags, NT_SEV_ERROR, ld->doc->file, n ? n->line : 1, n ? n->col : 1, "%s",
                 msg);
}

static char *
xstrdup(loader *ld, const char *s)
{
    char *p = s ? strdup(s) : NULL;
    if (s && !p)
        ld->oom = 1;
    return p;
}

/* A text value, or NULL (with an error when the node has the wrong type). */
static const char *
text_of(loader *ld, const nt_ynode *n, const char *what)
{
    const char *s;
    nt_diag d;

    if (!n)
        return NULL;
    if (nt_ynode_str(ld->doc, n, what, &s, &d) != NT_OK) {
        nt_diags_push(ld->diags, &d);
        return NULL;
    }
    return s;
}

static char *
resolve(loader *ld, const char *rel)
{
    nt_buf b;

    if (rel[0] == '/')
        return xstrdup(ld, rel);
    nt_buf_init(&b, 8192);
    nt_buf_addf(&b, "%s/%s", ld->c->dir, rel);
    return nt_buf_detach(&b, NULL);
}

/* ---- audience ---- */

static int
read_values(loader *ld, const nt_ynode *n, nt_cond *cd, int list)
{
    if (list) {
        if (n->kind != NT_Y_SEQ) {
            err_at(ld, n, "'%s' takes a list, such as [US, CA]", list == 1 ? "in" : "not_in");
            return 0;
        }
        cd->values = calloc(n->n ? n->n : 1, sizeof(char *));
        if (!cd->values) {
            ld->oom = 1;
            return 0;
        }
        for (size_t i = 0; i < n->n; i++) {
            const char *v = text_of(ld, n->vals[i], "a value");
            if (!v)
                return 0;
            cd->values[cd->nvalues++] = xstrdup(ld, v);
        }
        return 1;
    }
    cd->values = calloc(1, sizeof(char *));
    const char *v = text_of(ld, n, "the value");
    if (!cd->values || !v)
        return 0;
    cd->values[0] = xstrdup(ld, v);
    cd->nvalues = 1;
    return 1;
}

static void
read_cond(loader *ld, const nt_ynode *m, nt_cond *cd)
{
    static const struct {
        const char *key;
        nt_cond_op op;
        int list;
    } ops[] = {
        {"equals", NT_COND_EQUALS, 0},
        {"not_equals", NT_COND_NOT_EQUALS, 0},
        {"in", NT_COND_IN, 1},
        {"not_in", NT_COND_NOT_IN, 2},
        {"contains", NT_COND_CONTAINS, 0},
        {"present", NT_COND_PRESENT, -1},
        {"absent", NT_COND_ABSENT, -1},
    };
    int found = 0;

    cd->line = m->line;
    cd->col = m->col;
    nt_ymap_check_keys(ld->doc, m, cond_keys, "a condition", ld->diags);
    cd->field = xstrdup(ld, text_of(ld, nt_ymap_get(m, "field"), "field"));
    if (!nt_ymap_get(m, "field"))
        err_at(ld, m, "a condition needs 'field', the lead field it tests");
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        const nt_ynode *v = nt_ymap_get(m, ops[i].key);
        if (!v)
            continue;
        if (found++) {
            err_at(ld, v, "a condition takes one test; '%s' is a second one", ops[i].key);
            continue;
        }
        cd->op = ops[i].op;
        if (ops[i].list < 0) {
            int b;
            nt_diag d;
            if (nt_ynode_bool(ld->doc, v, ops[i].key, &b, &d) != NT_OK)
                nt_diags_push(ld->diags, &d);
            else if (!b)
                cd->op = cd->op == NT_COND_PRESENT ? NT_COND_ABSENT : NT_COND_PRESENT;
        } else {
            read_values(ld, v, cd, ops[i].list);
        }
    }
    if (!found)
        err_at(ld, m,
               "a condition needs a test: equals, not_equals, in, not_in, contains, present or "
               "absent");
}

static void
read_audience(loader *ld, const nt_ynode *m)
{
    nt_campaign *c = ld->c;
    const nt_ynode *st, *where;

    if (!m) {
        err_at(ld, ld->doc->root, "the campaign needs 'audience' with the 'stage' that enrolls");
        return;
    }
    if (m->kind != NT_Y_MAP) {
        err_at(ld, m, "'audience' must be a mapping with 'stage'");
        return;
    }
    nt_ymap_check_keys(ld->doc, m, audience_keys, "audience", ld->diags);
    st = nt_ymap_get(m, "stage");
    if (!st)
        err_at(ld, m, "'audience' needs 'stage', the lead stage that enrolls");
    c->stage = xstrdup(ld, text_of(ld, st, "stage"));
    if (st) {
        c->line_stage = st->line;
        c->col_stage = st->col;
    }
    where = nt_ymap_get(m, "where");
    if (!where)
        return;
    if (where->kind != NT_Y_SEQ) {
        err_at(ld, where, "'where' must be a list of conditions");
        return;
    }
    if (where->n > MAX_CONDS) {
        err_at(ld, where, "too many conditions (the limit is 50)");
        return;
    }
    c->conds = calloc(where->n ? where->n : 1, sizeof(*c->conds));
    if (!c->conds) {
        ld->oom = 1;
        return;
    }
    for (size_t i = 0; i < where->n; i++) {
        if (where->vals[i]->kind != NT_Y_MAP) {
            err_at(ld, where->vals[i],
                   "each condition is a mapping, such as {field: country, "
                   "in: [US, CA]}");
            continue;
        }
        read_cond(ld, where->vals[i], &c->conds[c->nconds++]);
    }
}

/* ---- window ---- */

/* s[0..n) as a day: "mon" or "monday", any case; -1 otherwise ("monkey"). */
static int
day_index(const char *s, size_t n)
{
    static const char *const full[] = {"sunday",   "monday", "tuesday", "wednesday",
                                       "thursday", "friday", "saturday"};

    for (int i = 0; day_names[i]; i++)
        if ((n == 3 && strncasecmp(s, day_names[i], 3) == 0) ||
            (n == strlen(full[i]) && strncasecmp(s, full[i], n) == 0))
            return i;
    return -1;
}

static int
parse_days_item(const char *s, unsigned *days)
{
    const char *dash = strchr(s, '-');
    int a, b;

    if (!strcasecmp(s, "weekdays")) {
        *days |= 0x3e;
        return 1;
    }
    if (!strcasecmp(s, "weekends")) {
        *days |= 0x41;
        return 1;
    }
    if (!strcasecmp(s, "every day") || !strcasecmp(s, "daily")) {
        *days |= 0x7f;
        return 1;
    }
    if (!dash) {
        a = day_index(s, strlen(s));
        if (a < 0)
            return 0;
        *days |= 1u << a;
        return 1;
    }
    a = day_index(s, (size_t)(dash - s));
    b = day_index(dash + 1, strlen(dash + 1));
    if (a < 0 || b < 0)
        return 0;
    for (int i = a;; i = (i + 1) % 7) {
        *days |= 1u << i;
        if (i == b)
            break;
    }
    return 1;
}

static void
read_days(loader *ld, const nt_ynode *n)
{
    nt_window *w = &ld->c->window;

    w->days = 0;
    if (n->kind == NT_Y_SCALAR) {
        if (!parse_days_item(n->str, &w->days))
            err_at(ld, n,
                   "bad days '%s': use a list such as [mon, tue, wed, thu, fri], or "
                   "mon-fri, or weekdays",
                   n->str);
        return;
    }
    if (n->kind != NT_Y_SEQ) {
        err_at(ld, n, "'days' must be a list such as [mon, tue, wed, thu, fri]");
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        const char *s = text_of(ld, n->vals[i], "a day");
        if (s && !parse_days_item(s, &w->days))
            err_at(ld, n->vals[i], "unknown day '%s': use mon, tue, wed, thu, fri, sat, sun", s);
    }
    if (!w->days)
        err_at(ld, n, "the send window has no days, so nothing would ever be sent");
}

static int
parse_clock(const char *s, const char **end)
{
    int h = 0, m = 0, digits = 0;

    while (*s >= '0' && *s <= '9' && digits < 2) {
        h = h * 10 + (*s++ - '0');
        digits++;
    }
    if (!digits)
        return -1;
    if (*s == ':') {
        s++;
        if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9'))
            return -1;
        m = (s[0] - '0') * 10 + (s[1] - '0');
        s += 2;
    }
    *end = s;
    if (h > 24 || m > 59 || (h == 24 && m))
        return -1;
    return h * 60 + m;
}

static void
read_hours(loader *ld, const nt_ynode *n)
{
    nt_window *w = &ld->c->window;
    const char *s = text_of(ld, n, "hours"), *p;
    int a, b;

    if (!s)
        return;
    while (*s == ' ')
        s++;
    a = parse_clock(s, &p);
    while (a >= 0 && *p == ' ')
        p++;
    if (a < 0 || *p != '-') {
        err_at(ld, n, "bad hours '%s': write them as \"09:00-17:00\"", s);
        return;
    }
    p++;
    while (*p == ' ')
        p++;
    b = parse_clock(p, &p);
    while (b >= 0 && *p == ' ')
        p++;
    if (b < 0 || *p) {
        err_at(ld, n, "bad hours '%s': write them as \"09:00-17:00\"", s);
        return;
    }
    if (b <= a) {
        err_at(ld, n, "the send window '%s' has no hours: the end must be after the start", s);
        return;
    }
    w->start_min = a;
    w->end_min = b;
}

static void
read_window(loader *ld, const nt_ynode *m)
{
    nt_campaign *c = ld->c;
    const nt_ynode *tz;

    /* Defaults: weekdays, 09:00-17:00, the lead's own zone. */
    c->window.days = 0x3e;
    c->window.start_min = 9 * 60;
    c->window.end_min = 17 * 60;
    if (!m)
        return;
    c->line_window = m->line;
    c->col_window = m->col;
    if (m->kind != NT_Y_MAP) {
        err_at(ld, m, "'window' must be a mapping with 'days', 'hours' and 'timezone'");
        return;
    }
    nt_ymap_check_keys(ld->doc, m, window_keys, "window", ld->diags);
    if (nt_ymap_get(m, "days"))
        read_days(ld, nt_ymap_get(m, "days"));
    if (nt_ymap_get(m, "hours"))
        read_hours(ld, nt_ymap_get(m, "hours"));
    else
        err_at(ld, m, "the send window has no 'hours', such as \"09:00-17:00\"");
    tz = nt_ymap_get(m, "timezone");
    if (tz) {
        const char *s = text_of(ld, tz, "timezone");
        nt_tz *zone = NULL;
        c->line_tz = tz->line;
        c->col_tz = tz->col;
        if (s && strcmp(s, "lead") != 0) {
            if (!nt_tz_name_ok(s) || nt_tz_load(s, &zone, NULL) != NT_OK)
                err_at(ld, tz,
                       "unknown time zone '%s': use 'lead' (each lead's own zone) or an IANA "
                       "name such as Europe/Berlin",
                       s);
            else
                c->window.timezone = xstrdup(ld, s);
            nt_tz_free(zone);
        }
    }
}

/* ---- steps ---- */

/* read_file's error for a FIFO, a device and the like: opening one may
 * block forever, and reading one may never end. */
#define E_NOT_REGULAR (-1)

static const char *
read_error(int e)
{
    return e == E_NOT_REGULAR ? "not a regular file" : strerror(e);
}

static int
read_file(const char *path, char **data, size_t *len, size_t limit)
{
    struct stat st;
    FILE *f;
    nt_buf b;
    char chunk[16384];
    size_t n;

    if (stat(path, &st) != 0)
        return errno ? errno : EIO;
    if (!S_ISREG(st.st_mode))
        return S_ISDIR(st.st_mode) ? EISDIR : E_NOT_REGULAR;
    f = fopen(path, "rb");
    if (!f)
        return errno ? errno : EIO;
    nt_buf_init(&b, limit);
    while (!b.err && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        nt_buf_add(&b, chunk, n);
    if (ferror(f)) {
        fclose(f);
        nt_buf_release(&b);
        return EIO;
    }
    fclose(f);
    if (b.err) {
        nt_buf_release(&b);
        return EFBIG;
    }
    *data = nt_buf_detach(&b, len);
    return *data ? 0 : ENOMEM;
}

/* Read and parse an email template; add its bytes to the version hash. */
static nt_template *
load_template(loader *ld, const nt_ynode *at, const char *rel, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    nt_template *t = NULL;
    int e = read_file(path, &data, &len, NT_TEMPLATE_MAX_BYTES);

    if (e) {
        char msg[600];
        snprintf(msg, sizeof(msg), "%s", e == EFBIG ? "is larger than 1 MiB" : read_error(e));
        nt_diags_add(ld->diags, NT_SEV_ERROR, ld->doc->file, at->line, at->col,
                     "email file '%s' cannot be read (%s): check the path, which is relative "
                     "to %s",
                     rel, msg, ld->c->dir);
        return NULL;
    }
    EVP_DigestUpdate(ld->hash, rel, strlen(rel) + 1);
    EVP_DigestUpdate(ld->hash, data, len);
    EVP_DigestUpdate(ld->hash, "", 1);
    if (nt_template_parse(path, data, len, &t, ld->diags) != NT_OK)
        t = NULL;
    free(data);
    return t;
}

static char *
id_from_path(loader *ld, const char *rel)
{
    const char *base = strrchr(rel, '/');
    size_t n;

    base = base ? base + 1 : rel;
    n = strlen(base);
    if (n > 3 && !strcmp(base + n - 3, ".md"))
        n -= 3;
    char *id = strndup(base, n);
    if (!id)
        ld->oom = 1;
    return id;
}

/* nt_ymap_check_keys, with the synonyms above as suggestions. */
static void
check_step_keys(loader *ld, const nt_ynode *m)
{
    for (size_t i = 0; i < m->n; i++) {
        const nt_ynode *k = m->keys[i];
        const char *hint = NULL;
        int ok = 0;

        for (size_t j = 0; step_keys[j] && !ok; j++)
            ok = strcmp(k->str, step_keys[j]) == 0;
        if (ok)
            continue;
        for (size_t j = 0; step_synonyms[j] && !hint; j += 2)
            if (strcasecmp(k->str, step_synonyms[j]) == 0)
                hint = step_synonyms[j + 1];
        if (!hint)
            hint = nt_did_you_mean(k->str, step_keys);
        if (hint)
            nt_diags_add(ld->diags, NT_SEV_ERROR, ld->doc->file, k->line, k->col,
                         "unknown key '%.60s' in a step; did you mean '%s'?", k->str, hint);
        else
            nt_diags_add(ld->diags, NT_SEV_ERROR, ld->doc->file, k->line, k->col,
                         "unknown key '%.60s' in a step", k->str);
    }
}

static void
read_step(loader *ld, const nt_ynode *m, nt_step *s)
{
    const nt_ynode *after = nt_ymap_get(m, "after"), *email = nt_ymap_get(m, "email");
    const char *v;
    nt_diag d;

    s->line = m->line;
    s->col = m->col;
    check_step_keys(ld, m);
    if (!after) {
        err_at(ld, m, "each step needs 'after', the wait before it, such as 3d or 0d");
    } else if ((v = text_of(ld, after, "after")) != NULL) {
        s->after_line = after->line;
        s->after_col = after->col;
        if (nt_duration_parse(v, &s->after, &d) != NT_OK)
            nt_diags_add(ld->diags, NT_SEV_ERROR, ld->doc->file, after->line, after->col,
                         "'after': %s", d.msg);
    }
    if (!email) {
        err_at(ld, m, "each step needs 'email', the Markdown file to send");
        return;
    }
    if ((v = text_of(ld, email, "email")) == NULL)
        return;
    s->email_line = email->line;
    s->email_col = email->col;
    s->email = xstrdup(ld, v);
    s->email_path = resolve(ld, v);
    if (s->email_path)
        s->tmpl = load_template(ld, email, v, s->email_path);
    if (nt_ymap_get(m, "id"))
        s->id = xstrdup(ld, text_of(ld, nt_ymap_get(m, "id"), "id"));
    else
        s->id = id_from_path(ld, v);
}

static void
read_steps(loader *ld, const nt_ynode *seq)
{
    nt_campaign *c = ld->c;

    if (!seq) {
        err_at(ld, ld->doc->root, "the campaign needs 'steps', the emails to send");
        return;
    }
    if (seq->kind != NT_Y_SEQ || seq->n == 0) {
        err_at(ld, seq, "'steps' must be a list with at least one step");
        return;
    }
    if (seq->n > MAX_STEPS) {
        err_at(ld, seq, "too many steps (the limit is 100)");
        return;
    }
    c->steps = calloc(seq->n, sizeof(*c->steps));
    if (!c->steps) {
        ld->oom = 1;
        return;
    }
    for (size_t i = 0; i < seq->n; i++) {
        nt_step *s;
        if (seq->vals[i]->kind != NT_Y_MAP) {
            err_at(ld, seq->vals[i], "each step is a mapping with 'after' and 'email'");
            continue;
        }
        s = &c->steps[c->nsteps++];
        read_step(ld, seq->vals[i], s);
        for (size_t j = 0; s->id && j + 1 < c->nsteps; j++)
            if (c->steps[j].id && !strcmp(c->steps[j].id, s->id))
                nt_diags_add(ld->diags, NT_SEV_ERROR, ld->doc->file, s->line, s->col,
                             "two steps have the id '%s' (the other is on line %d); give one "
                             "an 'id:' of its own",
                             s->id, c->steps[j].line);
    }
}

/* ---- exit rules ---- */

static void
read_exit(loader *ld, const nt_ynode *n)
{
    nt_campaign *c = ld->c;

    if (!n) {
        c->exits = NT_EXIT_ON_REPLY | NT_EXIT_ON_UNSUBSCRIBE | NT_EXIT_ON_BOUNCE;
        return;
    }
    c->line_exit = n->line;
    c->col_exit = n->col;
    if (n->kind != NT_Y_SEQ) {
        err_at(ld, n,
               "'exit' must be a list such as [reply, unsubscribe, bounce, "
               "stage_change]");
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        const char *s = text_of(ld, n->vals[i], "an exit rule");
        int found = 0;
        if (!s)
            continue;
        for (int j = 0; exit_names[j]; j++)
            if (!strcmp(s, exit_names[j])) {
                c->exits |= 1u << j;
                found = 1;
            }
        if (!found) {
            const char *hint = nt_did_you_mean(s, exit_names);
            if (hint)
                nt_diags_add(ld->diags, NT_SEV_ERROR, ld->doc->file, n->vals[i]->line,
                             n->vals[i]->col, "unknown exit rule '%s'; did you mean '%s'?", s,
                             hint);
            else
                err_at(ld, n->vals[i],
                       "unknown exit rule '%s': use reply, unsubscribe, bounce or stage_change", s);
        }
    }
}

/* ---- the whole file ---- */

static void
read_campaign(loader *ld)
{
    nt_campaign *c = ld->c;
    const nt_ynode *root = ld->doc->root, *n;
    const char *s;
    nt_diag d;

    nt_ymap_check_keys(ld->doc, root, top_keys, "the campaign", ld->diags);
    n = nt_ymap_get(root, "name");
    if (!n)
        err_at(ld, root, "the campaign needs a 'name'");
    else if ((s = text_of(ld, n, "name")) != NULL) {
        c->line_name = n->line;
        c->col_name = n->col;
        if (!*s || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(s))
            err_at(ld, n, "campaign name '%s' may use only lower-case letters, digits, '-' and '_'",
                   s);
        c->name = xstrdup(ld, s);
    }
    c->description = xstrdup(ld, text_of(ld, nt_ymap_get(root, "description"), "description"));
    if ((n = nt_ymap_get(root, "status")) && (s = text_of(ld, n, "status"))) {
        if (!strcmp(s, "paused"))
            c->paused = 1;
        else if (strcmp(s, "active") != 0)
            err_at(ld, n, "status '%s' is not 'active' or 'paused'", s);
    }
    read_audience(ld, nt_ymap_get(root, "audience"));
    n = nt_ymap_get(root, "sender");
    if (!n)
        err_at(ld, root,
               "the campaign needs a 'sender', one of the sender ids in the "
               "configuration");
    else {
        c->line_sender = n->line;
        c->col_sender = n->col;
        c->sender = xstrdup(ld, text_of(ld, n, "sender"));
    }
    read_window(ld, nt_ymap_get(root, "window"));
    c->stale_after = NT_DEFAULT_STALE_AFTER;
    if ((n = nt_ymap_get(root, "stale_after")) && (s = text_of(ld, n, "stale_after")) &&
        nt_duration_parse(s, &c->stale_after, &d) != NT_OK)
        nt_diags_add(ld->diags, NT_SEV_ERROR, ld->doc->file, n->line, n->col, "'stale_after': %s",
                     d.msg);
    if ((n = nt_ymap_get(root, "footer")) && (s = text_of(ld, n, "footer"))) {
        char *path = resolve(ld, s);
        c->footer = xstrdup(ld, s);
        if (path)
            c->footer_tmpl = load_template(ld, n, s, path);
        free(path);
    }
    read_steps(ld, nt_ymap_get(root, "steps"));
    read_exit(ld, nt_ymap_get(root, "exit"));
}

static nt_err
locate(const char *path, char **file, char **dir)
{
    struct stat st;
    nt_buf b;

    nt_buf_init(&b, 8192);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        nt_buf_addf(&b, "%s/campaign.yaml", path);
        *dir = strdup(path);
    } else {
        const char *slash = strrchr(path, '/');
        nt_buf_adds(&b, path);
        *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
    }
    *file = nt_buf_detach(&b, NULL);
    if (!*file || !*dir) {
        free(*file);
        free(*dir);
        return NT_ENOMEM;
    }
    return NT_OK;
}

static void
finish_version(loader *ld)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    EVP_DigestFinal_ex(ld->hash, md, &mdlen);
    for (int i = 0; i < 8; i++)
        snprintf(ld->c->version + 2 * i, 3, "%02x", md[i]);
}

static nt_err
parse(nt_campaign *c, const char *src, size_t len, nt_diags *diags)
{
    loader ld;
    nt_ydoc doc;
    nt_diag d;
    size_t errors_before = diags->errors;
    nt_err err;

    memset(&ld, 0, sizeof(ld));
    memset(&doc, 0, sizeof(doc));
    ld.c = c;
    ld.diags = diags;
    ld.hash = EVP_MD_CTX_new();
    if (!ld.hash)
        return NT_ENOMEM;
    EVP_DigestInit_ex(ld.hash, EVP_sha256(), NULL);
    EVP_DigestUpdate(ld.hash, src, len);
    EVP_DigestUpdate(ld.hash, "", 1);
    nt_diag_clear(&d);
    if ((err = nt_ydoc_parse(&doc, c->path, src, len, &d)) != NT_OK) {
        nt_diags_push(diags, &d);
        goto out;
    }
    ld.doc = &doc;
    if (!doc.root || doc.root->kind != NT_Y_MAP) {
        nt_diags_add(diags, NT_SEV_ERROR, c->path, doc.root ? doc.root->line : 1,
                     doc.root ? doc.root->col : 1,
                     "a campaign is a mapping with name, audience, sender, window, steps and "
                     "exit; see campaigns/ for examples");
        err = NT_EINVAL;
        goto out;
    }
    read_campaign(&ld);
    finish_version(&ld);
    err = ld.oom ? NT_ENOMEM : diags->errors > errors_before ? NT_EINVAL : NT_OK;
out:
    nt_ydoc_release(&doc);
    EVP_MD_CTX_free(ld.hash);
    return err;
}

nt_err
nt_campaign_parse(const char *file, const char *dir, const char *src, size_t len, nt_campaign **out,
                  nt_diags *diags)
{
    nt_campaign *c = calloc(1, sizeof(*c));
    nt_err err;

    *out = NULL;
    if (!c)
        return NT_ENOMEM;
    c->path = strdup(file);
    c->dir = strdup(dir);
    if (!c->path || !c->dir) {
        nt_campaign_free(c);
        return NT_ENOMEM;
    }
    err = parse(c, src, len, diags);
    if (err == NT_OK)
        *out = c;
    else
        nt_campaign_free(c);
    return err;
}

nt_err
nt_campaign_load(const char *path, nt_campaign **out, nt_diags *diags)
{
    nt_campaign *c = calloc(1, sizeof(*c));
    char *data = NULL;
    size_t len = 0;
    int e;
    nt_err err;

    *out = NULL;
    if (!c || locate(path, &c->path, &c->dir) != NT_OK) {
        free(c);
        return NT_ENOMEM;
    }
    e = read_file(c->path, &data, &len, NT_YAML_MAX_BYTES);
    if (e) {
        nt_diags_add(diags, NT_SEV_ERROR, c->path, 0, 0, "cannot read the campaign: %s",
                     e == EFBIG ? "larger than 4 MiB" : read_error(e));
        nt_campaign_free(c);
        return e == ENOENT ? NT_ENOTFOUND : NT_EIO;
    }
    err = parse(c, data, len, diags);
    free(data);
    if (err == NT_OK)
        *out = c;
    else
        nt_campaign_free(c);
    return err;
}

void
nt_campaign_free(nt_campaign *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->description);
    free(c->path);
    free(c->dir);
    free(c->stage);
    for (size_t i = 0; i < c->nconds; i++) {
        free(c->conds[i].field);
        for (size_t j = 0; j < c->conds[i].nvalues; j++)
            free(c->conds[i].values[j]);
        free(c->conds[i].values);
    }
    free(c->conds);
    free(c->sender);
    free(c->window.timezone);
    for (size_t i = 0; i < c->nsteps; i++) {
        free(c->steps[i].id);
        free(c->steps[i].email);
        free(c->steps[i].email_path);
        nt_template_free(c->steps[i].tmpl);
    }
    free(c->steps);
    free(c->footer);
    nt_template_free(c->footer_tmpl);
    free(c);
}

/* ---- matching ---- */

static int
contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return n == 0;
}

static int
cond_matches(const nt_cond *cd, const nt_lead *l)
{
    const char *v = nt_lead_get(l, cd->field);
    int any = 0;

    switch (cd->op) {
    case NT_COND_PRESENT:
        return v && *v;
    case NT_COND_ABSENT:
        return !v || !*v;
    case NT_COND_EQUALS:
        return v && cd->nvalues && !strcasecmp(v, cd->values[0]);
    case NT_COND_NOT_EQUALS:
        return !v || !cd->nvalues || strcasecmp(v, cd->values[0]) != 0;
    case NT_COND_CONTAINS:
        return v && cd->nvalues && contains_nocase(v, cd->values[0]);
    case NT_COND_IN:
    case NT_COND_NOT_IN:
        for (size_t i = 0; v && i < cd->nvalues; i++)
            any |= !strcasecmp(v, cd->values[i]);
        return cd->op == NT_COND_IN ? any : !any;
    }
    return 0;
}

int
nt_campaign_matches(const nt_campaign *c, const nt_lead *l)
{
    if (!c->stage || !l->stage || strcasecmp(c->stage, l->stage) != 0)
        return 0;
    for (size_t i = 0; i < c->nconds; i++)
        if (!cond_matches(&c->conds[i], l))
            return 0;
    return 1;
}

int
nt_campaign_step_index(const nt_campaign *c, const char *id)
{
    for (size_t i = 0; id && i < c->nsteps; i++)
        if (!strcmp(c->steps[i].id, id))
            return (int)i;
    return -1;
}

/* ---- a folder of campaigns ---- */

static int
cmp_campaign(const void *a, const void *b)
{
    const nt_campaign *x = *(nt_campaign *const *)a, *y = *(nt_campaign *const *)b;
    int r = strcmp(x->name, y->name);
    return r ? r : strcmp(x->path, y->path); /* same name: a stable message */
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_campaign_entry(const char *dir, const char *name, char *path, size_t pathsz)
{
    size_t n = strlen(name);
    struct stat st;

    if (name[0] == '.')
        return 0;
    snprintf(path, pathsz, "%s/%s", dir, name);
    if (stat(path, &st) != 0)
        return 0;
    if (S_ISDIR(st.st_mode)) {
        char inner[4200];
        snprintf(inner, sizeof(inner), "%s/campaign.yaml", path);
        return stat(inner, &st) == 0;
    }
    return S_ISREG(st.st_mode) &&
           ((n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml")));
}

nt_err
nt_campaign_set_load(const char *dir, nt_campaign_set *set, size_t *failed, nt_diags *diags)
{
    DIR *dh = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t nnames = 0;
    nt_err err = NT_OK;

    memset(set, 0, sizeof(*set));
    *failed = 0;
    if (!dh) {
        nt_diags_add(diags, NT_SEV_ERROR, dir, 0, 0, "cannot open the campaigns folder: %s",
                     strerror(errno));
        return errno == ENOENT ? NT_ENOTFOUND : NT_EIO;
    }
    while ((e = readdir(dh)) != NULL) {
        char path[4096];
        char **nn;
        if (!is_campaign_entry(dir, e->d_name, path, sizeof(path)))
            continue;
        nn = realloc(names, (nnames + 1) * sizeof(*nn));
        if (!nn || !(nn[nnames] = strdup(path))) {
            names = nn ? nn : names;
            err = NT_ENOMEM;
            break;
        }
        names = nn;
        nnames++;
    }
    closedir(dh);
    if (names)
        qsort(names, nnames, sizeof(*names), cmp_str);
    set->items = calloc(nnames ? nnames : 1, sizeof(*set->items));
    if (!set->items)
        err = NT_ENOMEM;
    for (size_t i = 0; i < nnames && err == NT_OK; i++) {
        nt_campaign *c;
        nt_err ce = nt_campaign_load(names[i], &c, diags);
        if (ce == NT_ENOMEM)
            err = ce;
        else if (ce != NT_OK)
            (*failed)++;
        else
            set->items[set->n++] = c;
    }
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    if (err != NT_OK)
        return err;
    qsort(set->items, set->n, sizeof(*set->items), cmp_campaign);
    /* Files claiming one name: drop them all rather than guess. */
    for (size_t i = 0; i + 1 < set->n;) {
        size_t j = i + 1;
        while (j < set->n && strcmp(set->items[i]->name, set->items[j]->name) == 0)
            j++;
        if (j == i + 1) {
            i++;
            continue;
        }
        for (size_t k = i + 1; k < j; k++)
            nt_diags_add(diags, NT_SEV_ERROR, set->items[k]->path, set->items[k]->line_name,
                         set->items[k]->col_name,
                         "campaign name '%s' is also used by %s; names must be unique",
                         set->items[i]->name, set->items[i]->path);
        for (size_t k = i; k < j; k++)
            nt_campaign_free(set->items[k]);
        memmove(&set->items[i], &set->items[j], (set->n - j) * sizeof(*set->items));
        set->n -= j - i;
        *failed += j - i;
    }
    return NT_OK;
}

void
nt_campaign_set_release(nt_campaign_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        nt_campaign_free(set->items[i]);
    free(set->items);
    memset(set, 0, sizeof(*set));
}

nt_campaign *
nt_campaign_set_find(const nt_campaign_set *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (!strcmp(set->items[i]->name, name))
            return set->items[i];
    return NULL;
}
