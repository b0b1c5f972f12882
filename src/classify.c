/*
 * The classifier (classify.h): one decision per inbound message, in a fixed
 * order, from the decoded message (mime.h), the bounce analysis (bounce.h),
 * the visible text of a reply (reply.h) and the inbound rules
 * (classify_rules.h, return dates in classify_date.c).
 *
 * Most of the care goes into the borders between kinds.  A delivery report
 * that says "delivered" or a read receipt is not a bounce.  A notice the
 * bounce rules recognise without a delivery-status part (a null sender, a
 * subject) is an automatic reply when its subject or text says so: MTAs
 * send bounces with Auto-Submitted too, so that header alone does not
 * decide, but no MTA writes "I am out of the office".  A newsletter is not a
 * reply, and neither is its unsubscribe link.  Only what the author wrote,
 * not the quoted history (where our own footer says "unsubscribe"), is read
 * for unsubscribe requests and intents.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify_date.h"
#include "classify_rules.h"
#include "nurture/buf.h"
#include "nurture/classify.h"
#include "nurture/reply.h"

#include "banned.h"

#define MAX_REPLY_INPUT ((size_t)64 << 10) /* of the body, given to the reply rules */
#define MAX_RULE_TEXT ((size_t)16 << 10)   /* of the text, given to the inbound rules */
#define SHORT_TEXT 300                     /* a text this short may be only a request */
#define NOTICE_TEXT ((size_t)2 << 10)      /* of a notice's body, read for auto-reply words */

struct nt_classifier {
    nt_bounce_rules *bounce;
    nt_reply_rules *reply;
    nt_classify_rules *in;
};

static const char *const kind_names[] = {
    "unknown", "complaint", "bounce", "auto-reply", "unsubscribe", "reply", NULL,
};

const char *
nt_inkind_name(nt_inkind k)
{
    if ((unsigned)k > NT_IN_REPLY)
        return "unknown";
    return kind_names[k];
}

int
nt_inkind_from(const char *name)
{
    for (int i = 0; name && kind_names[i]; i++)
        if (strcmp(kind_names[i], name) == 0)
            return i;
    return -1;
}

const char *
nt_intent_name(nt_intent i)
{
    if ((unsigned)i > NT_INTENT_UNSUBSCRIBE)
        return "none";
    return nt_classify_intent_names[i];
}

int
nt_intent_from(const char *name)
{
    for (int i = 0; name && nt_classify_intent_names[i]; i++)
        if (strcmp(nt_classify_intent_names[i], name) == 0)
            return i;
    return -1;
}

void
nt_classifier_free(nt_classifier *c)
{
    if (!c)
        return;
    nt_bounce_rules_free(c->bounce);
    nt_reply_rules_free(c->reply);
    nt_classify_rules_free(c->in);
    free(c);
}

/* The worse of two errors: out of memory over bad rules. */
static nt_err
worse(nt_err a, nt_err b)
{
    if (a == NT_ENOMEM || b == NT_ENOMEM)
        return NT_ENOMEM;
    return a != NT_OK ? a : b;
}

static nt_err
missing(const char *what, nt_diags *diags)
{
    nt_diags_add(diags, NT_SEV_ERROR, NULL, 0, 0, "no %s rules given", what);
    return NT_EINVAL;
}

nt_err
nt_classifier_new(const nt_rules_text *bounce, const nt_rules_text *reply,
                  const nt_rules_text *inbound, nt_classifier **out, nt_diags *diags)
{
    nt_classifier *c;
    nt_diags local;
    nt_err err = NT_OK;

    *out = NULL;
    if (!(c = calloc(1, sizeof(*c))))
        return NT_ENOMEM;
    nt_diags_init(&local, 1);
    if (!diags)
        diags = &local;
    /* All three are read whatever happens, so every bad line is reported. */
    err = bounce ? nt_bounce_rules_parse(bounce->name, bounce->text, bounce->len, &c->bounce, diags)
                 : missing("bounce", diags);
    err = worse(err,
                reply ? nt_reply_rules_parse(reply->name, reply->text, reply->len, &c->reply, diags)
                      : missing("reply", diags));
    err = worse(err, inbound ? nt_classify_rules_parse(inbound->name, inbound->text, inbound->len,
                                                       &c->in, diags)
                             : missing("inbound", diags));
    nt_diags_release(&local);
    if (err != NT_OK) {
        nt_classifier_free(c);
        return err;
    }
    *out = c;
    return NT_OK;
}

void
nt_classification_release(nt_classification *cl)
{
    if (!cl)
        return;
    nt_bounce_result_release(&cl->bounce);
    free(cl->feedback_type);
    free(cl->visible);
    memset(cl, 0, sizeof(*cl));
}

/* ---- the message's headers ---- */

/* Is the first word of header value v (before ' ', ';', '(') `word`? */
static int
first_word_is(const char *v, const char *word)
{
    size_t n = strlen(word);

    if (!v)
        return 0;
    while (*v == ' ' || *v == '\t')
        v++;
    return strncasecmp(v, word, n) == 0 &&
           (v[n] == '\0' || v[n] == ' ' || v[n] == '\t' || v[n] == ';' || v[n] == '(');
}

static int
has_value(const char *v)
{
    while (v && (*v == ' ' || *v == '\t'))
        v++;
    return v && *v;
}

/* RFC 3834 and the older conventions; NULL when none says "automatic". */
static const char *
auto_header(const nt_inmsg *m)
{
    const char *v;

    if (has_value(m->auto_submitted) && !first_word_is(m->auto_submitted, "no"))
        return "header:auto-submitted";
    if ((v = nt_inmsg_header(m, "X-Autoreply")) && !first_word_is(v, "no"))
        return "header:x-autoreply";
    if ((v = nt_inmsg_header(m, "X-Autorespond")) && !first_word_is(v, "no"))
        return "header:x-autorespond";
    if (first_word_is(nt_inmsg_header(m, "Precedence"), "auto_reply"))
        return "header:precedence";
    return NULL;
}

static int
is_complaint(const nt_inmsg *m)
{
    return m->feedback_type || (m->report_type && strcmp(m->report_type, "feedback-report") == 0);
}

/* Does a delivery-status block report a failure or a delay? */
static int
dsn_failed(const nt_inmsg *m)
{
    for (size_t i = 0; i < m->ndsn; i++) {
        const nt_dsn_rcpt *b = &m->dsn[i];
        if (b->action && (strncmp(b->action, "fail", 4) == 0 || strcmp(b->action, "delayed") == 0))
            return 1;
        if (!b->action && b->status && (b->status[0] == '4' || b->status[0] == '5'))
            return 1;
    }
    return 0;
}

/* A delivery report that says nothing failed ("delivered", "relayed"). */
static int
is_delivered(const nt_inmsg *m)
{
    return m->report_type && strcmp(m->report_type, "delivery-status") == 0 && m->ndsn > 0 &&
           !dsn_failed(m);
}

/* A disposition notification (RFC 8098): a read receipt, unless the bounce
 * rules saw a rejection in it. */
static int
is_receipt(const nt_inmsg *m)
{
    return m->report_type && strcmp(m->report_type, "disposition-notification") == 0;
}

static int
starts_ci(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && strncasecmp(s, prefix, k) == 0;
}

/* From an address no person answers from. */
static int
automated_sender(const char *addr)
{
    static const char *const prefixes[] = {
        "noreply",      "no-reply",     "no_reply",      "donotreply",
        "do-not-reply", "do_not_reply", "mailer-daemon", NULL};
    const char *at = addr ? strrchr(addr, '@') : NULL;

    if (!at)
        return 0;
    for (int i = 0; prefixes[i]; i++)
        if (starts_ci(addr, (size_t)(at - addr), prefixes[i]))
            return 1;
    return 0;
}

/* Mail sent to many, that is not an answer to anything. */
static int
is_bulk(const nt_inmsg *m)
{
    const char *p = nt_inmsg_header(m, "Precedence");

    if (automated_sender(m->from_addr))
        return 1;
    if (m->in_reply_to || m->references)
        return 0;
    return nt_inmsg_header(m, "List-Id") || nt_inmsg_header(m, "List-Unsubscribe") ||
           first_word_is(p, "bulk") || first_word_is(p, "list") || first_word_is(p, "junk");
}

/* A local part starting "unsubscribe+" in v: our List-Unsubscribe mailto. */
static int
unsubscribe_address(const char *v)
{
    static const char word[] = "unsubscribe+";
    size_t n = sizeof(word) - 1;

    for (const char *p = v; p && *p; p++) {
        if ((p == v || strchr(" \t<,;:\"", p[-1])) && strncasecmp(p, word, n) == 0)
            return 1;
    }
    return 0;
}

static int
to_unsubscribe(const nt_inmsg *m)
{
    static const char *const names[] = {"To", "Delivered-To", "X-Original-To", "Envelope-To", NULL};

    for (size_t i = 0; i < m->nheaders; i++) {
        const nt_field *h = &m->headers[i];
        for (int k = 0; names[k]; k++)
            if (h->name && strcasecmp(h->name, names[k]) == 0 && unsubscribe_address(h->value))
                return 1;
    }
    return 0;
}

/* ---- one call ---- */

struct job {
    const nt_classifier *c;
    const nt_inmsg *m;
    nt_rules_match *md;
    nt_buf visible; /* what the author wrote */
    int have_visible;
};

/* At most max bytes of s, not cutting a UTF-8 sequence. */
static size_t
cap_len(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* The visible text, worked out on first use.  NT_OK or NT_ENOMEM. */
static nt_err
visible(struct job *j, const char **s, size_t *n)
{
    const char *t = j->m->text ? j->m->text : "";
    nt_err err;

    if (!j->have_visible) {
        err = nt_reply_visible(j->c->reply, t, cap_len(t, strlen(t), MAX_REPLY_INPUT), &j->visible,
                               NULL);
        /* A rule that hit its limit only missed; the text up to it stands. */
        if (err == NT_ENOMEM || j->visible.err == NT_ENOMEM)
            return NT_ENOMEM;
        j->have_visible = 1;
    }
    *s = nt_buf_cstr(&j->visible);
    *n = j->visible.len;
    return NT_OK;
}

/* The text the inbound rules read: the visible text, or the body when
 * nothing is visible (a message that is all signature or all quote). */
static nt_err
rule_text(struct job *j, const char **s, size_t *n)
{
    nt_err err = visible(j, s, n);

    if (err == NT_OK && *n == 0 && j->m->text) {
        *s = j->m->text;
        *n = strlen(j->m->text);
    }
    if (err == NT_OK)
        *n = cap_len(*s, *n, MAX_RULE_TEXT);
    return err;
}

/* The name of the first rule of kind k matching s[0..n), or NULL. */
static const char *
first(struct job *j, int k, const char *s, size_t n, int *value)
{
    int limited = 0;
    long i;

    if (!s)
        return NULL;
    i = nt_rules_first(j->c->in->rules, k, j->md, s, cap_len(s, n, MAX_RULE_TEXT), &limited);
    if (i < 0)
        return NULL;
    if (value)
        *value = nt_rules_value(j->c->in->rules, (size_t)i);
    return nt_rules_name(j->c->in->rules, (size_t)i);
}

/* The auto-subject or auto-body rule that matches, or NULL.  raw: read
 * the start of the body as it is, not its visible text (for a notice,
 * which has no quoted history and many lines: the reply rules would cost
 * more than everything else, and an automatic reply says what it is at
 * once). */
static nt_err
auto_phrase(struct job *j, int raw, const char **rule)
{
    const char *s, *subj = j->m->subject;
    size_t n;
    nt_err err;

    *rule = subj ? first(j, NT_CK_AUTO_SUBJECT, subj, strlen(subj), NULL) : NULL;
    if (*rule)
        return NT_OK;
    if (raw) {
        s = j->m->text;
        n = s ? cap_len(s, strlen(s), NOTICE_TEXT) : 0;
    } else if ((err = rule_text(j, &s, &n)) != NT_OK) {
        return err;
    }
    *rule = first(j, NT_CK_AUTO_BODY, s, n, NULL);
    return NT_OK;
}

static nt_err
complaint(struct job *j, nt_classification *out)
{
    out->kind = NT_IN_COMPLAINT;
    out->rule = "arf";
    if (j->m->feedback_type && !(out->feedback_type = strdup(j->m->feedback_type)))
        return NT_ENOMEM;
    return NT_OK;
}

/* Step 2: 1 in *done when the message is a bounce. */
static nt_err
bounce(struct job *j, nt_classification *out, int *done)
{
    const char *phrase = NULL;
    nt_err err;

    *done = 0;
    if ((err = nt_bounce_analyze(j->c->bounce, j->m, &out->bounce, NULL)) != NT_OK)
        return err;
    if (!out->bounce.is_bounce)
        return NT_OK;
    if (!dsn_failed(j->m) && (err = auto_phrase(j, 1, &phrase)) != NT_OK)
        return err;
    if (phrase) {
        /* An automatic reply that the notice rules took for a bounce
         * (RFC 3834 replies come from the null sender). */
        nt_bounce_result_release(&out->bounce);
        return NT_OK;
    }
    out->kind = NT_IN_BOUNCE;
    if (dsn_failed(j->m))
        out->rule = "dsn";
    else
        out->rule =
            out->bounce.n && out->bounce.items[0].rule ? out->bounce.items[0].rule : "notice";
    *done = 1;
    return NT_OK;
}

/* The subject and text, for the return date. */
static nt_err
return_date(struct job *j, nt_classification *out)
{
    const char *s;
    size_t n;
    nt_buf b;
    nt_err err;

    if ((err = rule_text(j, &s, &n)) != NT_OK)
        return err;
    nt_buf_init(&b, 0);
    if (j->m->subject)
        nt_buf_adds(&b, j->m->subject);
    nt_buf_addc(&b, '\n');
    nt_buf_add(&b, s, n);
    if (!b.err)
        (void)nt_classify_return_date(j->c->in, j->md, b.data, b.len, j->m->date, out->return_date);
    err = b.err;
    nt_buf_release(&b);
    return err;
}

/* Step 3: 1 in *done when the message is an automatic reply. */
static nt_err
auto_reply(struct job *j, nt_classification *out, int *done)
{
    const char *rule = auto_header(j->m);
    nt_err err;

    *done = 0;
    if (!rule && (err = auto_phrase(j, 0, &rule)) != NT_OK)
        return err;
    if (!rule)
        return NT_OK;
    out->kind = NT_IN_AUTOREPLY;
    out->rule = rule;
    *done = 1;
    return return_date(j, out);
}

static nt_err
keep_visible(struct job *j, nt_classification *out)
{
    const char *s;
    size_t n;
    nt_err err = visible(j, &s, &n);

    if (err == NT_OK && n && !(out->visible = strdup(s)))
        err = NT_ENOMEM;
    return err;
}

static nt_err
unsubscribe(nt_classification *out, const char *rule)
{
    out->kind = NT_IN_UNSUBSCRIBE;
    out->rule = rule;
    out->intent = NT_INTENT_UNSUBSCRIBE;
    out->intent_rule = rule;
    return NT_OK;
}

/* Steps 4 to 6 on a message no machine sent. */
static nt_err
person(struct job *j, nt_classification *out)
{
    const char *s, *rule, *subj = j->m->subject;
    size_t n;
    int value = 0;
    nt_err err;

    if ((err = visible(j, &s, &n)) != NT_OK)
        return err;
    if (subj && (rule = first(j, NT_CK_UNSUBSCRIBE, subj, strlen(subj), NULL)))
        return unsubscribe(out, rule);
    if (n == 0) {
        out->rule = "empty";
        return NT_OK;
    }
    if ((rule = first(j, NT_CK_UNSUBSCRIBE, s, n, NULL)) != NULL) {
        if (n <= SHORT_TEXT)
            return unsubscribe(out, rule);
        out->intent = NT_INTENT_UNSUBSCRIBE;
        out->intent_rule = rule;
    } else if ((rule = first(j, NT_CK_INTENT, s, n, &value)) != NULL) {
        out->intent = (nt_intent)value;
        out->intent_rule = rule;
    }
    out->kind = NT_IN_REPLY;
    out->rule = "text";
    return NT_OK;
}

static nt_err
decide(struct job *j, nt_classification *out)
{
    int done = 0;
    nt_err err;

    if (is_complaint(j->m))
        return complaint(j, out);
    if (is_delivered(j->m)) {
        out->rule = "report";
        return NT_OK;
    }
    if ((err = bounce(j, out, &done)) != NT_OK || done)
        return err;
    if (is_receipt(j->m)) {
        out->rule = "report";
        return NT_OK;
    }
    if ((err = auto_reply(j, out, &done)) != NT_OK || done)
        return err;
    if (to_unsubscribe(j->m))
        err = unsubscribe(out, "address:unsubscribe");
    else if (is_bulk(j->m))
        out->rule = "bulk";
    else
        err = person(j, out);
    if (err == NT_OK && (out->kind == NT_IN_REPLY || out->kind == NT_IN_UNSUBSCRIBE))
        err = keep_visible(j, out);
    return err;
}

nt_err
nt_classify(const nt_classifier *c, const nt_inmsg *m, nt_classification *out, nt_diag *d)
{
    struct job j;
    nt_err err;

    memset(out, 0, sizeof(*out));
    nt_diag_clear(d);
    memset(&j, 0, sizeof(j));
    j.c = c;
    j.m = m;
    nt_buf_init(&j.visible, 0);
    if (!(j.md = nt_rules_match_new()))
        return nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "out of memory classifying a message");
    err = decide(&j, out);
    nt_rules_match_free(j.md);
    nt_buf_release(&j.visible);
    if (err != NT_OK) {
        nt_classification_release(out);
        return nt_diag_set(d, err, NULL, 0, 0, "out of memory classifying a message");
    }
    return NT_OK;
}
