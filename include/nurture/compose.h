/*
 * From (campaign, step, lead) to what the lead receives: the merge values
 * (the lead's fields plus the built-ins: unsubscribe_url, postal_address,
 * sender_name, sender_email, campaign), the rendered parts, and the whole
 * MIME message.  `nurture preview` prints exactly what this produces.
 */
#ifndef NURTURE_COMPOSE_H
#define NURTURE_COMPOSE_H

#include <stdint.h>

#include "nurture/buf.h"
#include "nurture/campaign.h"
#include "nurture/config.h"
#include "nurture/lead.h"
#include "nurture/template.h"

/* Identity of one send, as it appears in the message.  Borrowed strings. */
typedef struct nt_send_ids {
    const char *message_id;      /* without angle brackets */
    const char *unsubscribe_url; /* what {{unsubscribe_url}} becomes */
    const char *list_unsubscribe_mailto;
    const char *list_unsubscribe_url; /* NULL: no one-click header */
} nt_send_ids;

/*
 * Render step `step` of c for lead l (all borrowed).  out owned by the
 * caller: nt_rendered_release.  NT_ECONFIG when the campaign's sender is not
 * in cfg.
 */
nt_err nt_compose_render(const nt_config *cfg, const nt_campaign *c, size_t step, const nt_lead *l,
                         const char *unsubscribe_url, nt_rendered *out, nt_diag *d);

/* Render and compose the whole message into out (appended). */
nt_err nt_compose_message(const nt_config *cfg, const nt_campaign *c, size_t step, const nt_lead *l,
                          int64_t date, const nt_send_ids *ids, nt_buf *out, nt_diag *d);

/*
 * Identities for a preview (no signed token): a Message-ID naming the
 * campaign version and step, and the unsubscribe address of the sender's
 * domain.  Strings written into the caller's buffers.
 */
void nt_compose_preview_ids(const nt_config *cfg, const nt_campaign *c, size_t step,
                            const nt_lead *l, char *msgid, size_t msgidsz, char *mailto,
                            size_t mailtosz, char *url, size_t urlsz, nt_send_ids *ids);

#endif
