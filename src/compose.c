/*
 * Putting a campaign step, a lead and the configuration together into the
 * message that goes out (see compose.h).
 */
#include <stdio.h>
#include <string.h>

#include "nurture/compose.h"
#include "nurture/message.h"

#include "banned.h"

typedef struct merge_ctx {
    const nt_config *cfg;
    const nt_campaign *c;
    const nt_sender *sender;
    const nt_lead *lead;
    const char *unsubscribe_url;
} merge_ctx;

static const char *
lookup(void *vctx, const char *name)
{
    merge_ctx *m = vctx;

    if (!strcmp(name, "unsubscribe_url"))
        return m->unsubscribe_url;
    if (!strcmp(name, "postal_address"))
        return m->sender->postal_address;
    if (!strcmp(name, "sender_name"))
        return m->sender->name;
    if (!strcmp(name, "sender_email"))
        return m->sender->address;
    if (!strcmp(name, "campaign"))
        return m->c->name;
    return nt_lead_get(m->lead, name);
}

nt_err
nt_compose_render(const nt_config *cfg, const nt_campaign *c, size_t step, const nt_lead *l,
                  const char *unsubscribe_url, nt_rendered *out, nt_diag *d)
{
    merge_ctx m = {cfg, c, NULL, l, unsubscribe_url};

    memset(out, 0, sizeof(*out));
    if (step >= c->nsteps || !c->steps[step].tmpl)
        return nt_diag_set(d, NT_ENOTFOUND, c->path, 0, 0, "campaign '%s' has no step %zu", c->name,
                           step + 1);
    m.sender = c->sender ? nt_config_sender(cfg, c->sender) : NULL;
    if (!m.sender)
        return nt_diag_set(d, NT_ECONFIG, c->path, c->line_sender, c->col_sender,
                           "unknown sender '%s'", c->sender ? c->sender : "");
    return nt_template_render(c->steps[step].tmpl, c->footer_tmpl, lookup, &m, out, d);
}

nt_err
nt_compose_message(const nt_config *cfg, const nt_campaign *c, size_t step, const nt_lead *l,
                   int64_t date, const nt_send_ids *ids, nt_buf *out, nt_diag *d)
{
    nt_rendered r;
    nt_message_hdrs h;
    const nt_sender *s;
    char to_name[512] = "";
    nt_err err;

    err = nt_compose_render(cfg, c, step, l, ids->unsubscribe_url, &r, d);
    if (err != NT_OK)
        return err;
    s = nt_config_sender(cfg, c->sender);
    if (l->first_name || l->last_name)
        snprintf(to_name, sizeof(to_name), "%s%s%s", l->first_name ? l->first_name : "",
                 l->first_name && l->last_name ? " " : "", l->last_name ? l->last_name : "");
    memset(&h, 0, sizeof(h));
    h.from_name = s->name;
    h.from_addr = s->address;
    h.to_name = to_name[0] ? to_name : NULL;
    h.to_addr = l->email;
    h.reply_to = s->reply_to;
    h.subject = r.subject;
    h.date = date;
    h.message_id = ids->message_id;
    h.list_unsubscribe_mailto = ids->list_unsubscribe_mailto;
    h.list_unsubscribe_url = ids->list_unsubscribe_url;
    h.campaign = c->name;
    err =
        nt_message_compose(&h, r.text, strlen(r.text), r.html, r.html ? strlen(r.html) : 0, out, d);
    nt_rendered_release(&r);
    return err;
}

void
nt_compose_preview_ids(const nt_config *cfg, const nt_campaign *c, size_t step, const nt_lead *l,
                       char *msgid, size_t msgidsz, char *mailto, size_t mailtosz, char *url,
                       size_t urlsz, nt_send_ids *ids)
{
    const nt_sender *s = c->sender ? nt_config_sender(cfg, c->sender) : NULL;
    const char *domain = cfg->bounce_domain ? cfg->bounce_domain
                         : s                ? nt_email_domain(s->address)
                                            : "localhost";

    /* Short enough that the header stays within 78 columns for any sane
     * domain: the version and position identify the email. */
    snprintf(msgid, msgidsz, "preview.%.8s.%zu.%lld@%s", c->version, step + 1, (long long)l->id,
             domain);
    snprintf(mailto, mailtosz, "unsubscribe@%s", domain);
    if (cfg->unsubscribe_url)
        snprintf(url, urlsz, "%s", cfg->unsubscribe_url);
    else
        snprintf(url, urlsz, "mailto:unsubscribe@%s?subject=unsubscribe", domain);
    memset(ids, 0, sizeof(*ids));
    ids->message_id = msgid;
    ids->unsubscribe_url = url;
    ids->list_unsubscribe_mailto = mailto;
    ids->list_unsubscribe_url = cfg->unsubscribe_url ? url : NULL;
}
