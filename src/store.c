/*
 * The store interface: each nt_store_* call dispatches to the backend's
 * operation, so callers never know which database they talk to.
 */
#include <stdlib.h>
#include <string.h>

#include "nurture/store.h"

#include "banned.h"

void
nt_enrollment_release(nt_enrollment *e)
{
    free(e->campaign);
    free(e->version);
    free(e->last_step_id);
    free(e->exit_reason);
    e->campaign = e->version = e->last_step_id = e->exit_reason = NULL;
}

nt_err
nt_enrollment_copy(nt_enrollment *dst, const nt_enrollment *src)
{
    *dst = *src;
    dst->campaign = strdup(src->campaign);
    dst->version = strdup(src->version);
    dst->last_step_id = src->last_step_id ? strdup(src->last_step_id) : NULL;
    dst->exit_reason = src->exit_reason ? strdup(src->exit_reason) : NULL;
    if (!dst->campaign || !dst->version || (src->last_step_id && !dst->last_step_id) ||
        (src->exit_reason && !dst->exit_reason)) {
        nt_enrollment_release(dst);
        return NT_ENOMEM;
    }
    return NT_OK;
}

void
nt_send_release(nt_send *s)
{
    free(s->campaign);
    free(s->version);
    free(s->step_id);
    free(s->sender);
    free(s->email);
    free(s->smtp_text);
    free(s->message_id);
    s->campaign = s->version = s->step_id = s->sender = s->email = NULL;
    s->smtp_text = s->message_id = NULL;
}

void
nt_inbound_release(nt_inbound *in)
{
    char **strs[] = {&in->source,      &in->source_key, &in->message_id,    &in->content_hash,
                     &in->raw,         &in->from_addr,  &in->subject,       &in->kind,
                     &in->rule,        &in->reason,     &in->status,        &in->intent,
                     &in->return_date, &in->detail,     &in->attributed_by, &in->action};

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    in->rawlen = 0;
}

static const char *const send_states[] = {"claimed", "sent", "deferred", "failed", "unknown"};

const char *
nt_send_state_name(nt_send_state s)
{
    return (unsigned)s < 5 ? send_states[s] : "?";
}

int
nt_send_state_from(const char *name)
{
    for (int i = 0; name && i < 5; i++)
        if (!strcmp(name, send_states[i]))
            return i;
    return -1;
}

void
nt_store_close(nt_store *st)
{
    if (st)
        st->ops->close(st);
}

nt_err
nt_store_begin(nt_store *st, nt_diag *d)
{
    return st->ops->begin(st, d);
}

nt_err
nt_store_commit(nt_store *st, nt_diag *d)
{
    return st->ops->commit(st, d);
}

nt_err
nt_store_rollback(nt_store *st)
{
    return st->ops->rollback(st);
}

nt_err
nt_store_integrity(nt_store *st, nt_diag *d)
{
    return st->ops->integrity(st, d);
}

nt_err
nt_store_lead_upsert(nt_store *st, nt_lead *lead, const char *default_stage, int64_t now,
                     int *created, nt_diag *d)
{
    return st->ops->lead_upsert(st, lead, default_stage, now, created, d);
}

nt_err
nt_store_lead_get(nt_store *st, int64_t id, const char *email, nt_lead *out, nt_diag *d)
{
    return st->ops->lead_get(st, id, email, out, d);
}

nt_err
nt_store_lead_list(nt_store *st, const nt_lead_filter *f, nt_lead_cb cb, void *ctx, nt_diag *d)
{
    return st->ops->lead_list(st, f, cb, ctx, d);
}

nt_err
nt_store_lead_changed_since(nt_store *st, int64_t rev, int64_t *max_rev, nt_lead_cb cb, void *ctx,
                            nt_diag *d)
{
    return st->ops->lead_changed_since(st, rev, max_rev, cb, ctx, d);
}

nt_err
nt_store_lead_set_stage(nt_store *st, int64_t id, const char *stage, int64_t now, nt_diag *d)
{
    return st->ops->lead_set_stage(st, id, stage, now, d);
}

nt_err
nt_store_lead_count(nt_store *st, int64_t *out, nt_diag *d)
{
    return st->ops->lead_count(st, out, d);
}

nt_err
nt_store_event_add(nt_store *st, int64_t lead_id, int64_t at, const char *kind, const char *detail,
                   nt_diag *d)
{
    return st->ops->event_add(st, lead_id, at, kind, detail, d);
}

nt_err
nt_store_event_list(nt_store *st, int64_t lead_id, nt_event_cb cb, void *ctx, nt_diag *d)
{
    return st->ops->event_list(st, lead_id, cb, ctx, d);
}

nt_err
nt_store_suppressed(nt_store *st, const char *email, char *reason, size_t reasonsz, int *is,
                    nt_diag *d)
{
    return st->ops->suppressed(st, email, reason, reasonsz, is, d);
}

nt_err
nt_store_suppress(nt_store *st, const char *email, const char *reason, int64_t at, nt_diag *d)
{
    return st->ops->suppress(st, email, reason, at, d);
}

nt_err
nt_store_watermark_get(nt_store *st, const char *campaign, int64_t *rev, nt_diag *d)
{
    return st->ops->watermark_get(st, campaign, rev, d);
}

nt_err
nt_store_watermark_set(nt_store *st, const char *campaign, int64_t rev, nt_diag *d)
{
    return st->ops->watermark_set(st, campaign, rev, d);
}

nt_err
nt_store_enrollment_add(nt_store *st, nt_enrollment *e, int *added, nt_diag *d)
{
    return st->ops->enrollment_add(st, e, added, d);
}

nt_err
nt_store_enrollment_update(nt_store *st, const nt_enrollment *e, nt_diag *d)
{
    return st->ops->enrollment_update(st, e, d);
}

nt_err
nt_store_enrollment_get(nt_store *st, int64_t lead_id, const char *campaign, nt_enrollment *out,
                        nt_diag *d)
{
    return st->ops->enrollment_get(st, lead_id, campaign, out, d);
}

nt_err
nt_store_enrollment_due(nt_store *st, const char *campaign, int64_t until, int64_t limit,
                        nt_enrollment_cb cb, void *ctx, nt_diag *d)
{
    return st->ops->enrollment_due(st, campaign, until, limit, cb, ctx, d);
}

nt_err
nt_store_enrollment_list(nt_store *st, int64_t lead_id, nt_enrollment_cb cb, void *ctx, nt_diag *d)
{
    return st->ops->enrollment_list(st, lead_id, cb, ctx, d);
}

nt_err
nt_store_step_sent(nt_store *st, int64_t lead_id, const char *campaign, const char *step_id,
                   int *sent, nt_diag *d)
{
    return st->ops->step_sent(st, lead_id, campaign, step_id, sent, d);
}

nt_err
nt_store_enrollment_exit_all(nt_store *st, int64_t lead_id, const char *reason, int64_t now,
                             nt_diag *d)
{
    return st->ops->enrollment_exit_all(st, lead_id, reason, now, d);
}

nt_err
nt_store_send_claim(nt_store *st, nt_send *s, int *claimed, nt_diag *d)
{
    return st->ops->send_claim(st, s, claimed, d);
}

nt_err
nt_store_send_reclaim(nt_store *st, int64_t id, int64_t now, int *claimed, nt_diag *d)
{
    return st->ops->send_reclaim(st, id, now, claimed, d);
}

nt_err
nt_store_send_mark(nt_store *st, const nt_send *s, nt_diag *d)
{
    return st->ops->send_mark(st, s, d);
}

nt_err
nt_store_send_get(nt_store *st, int64_t id, nt_send *out, nt_diag *d)
{
    return st->ops->send_get(st, id, out, d);
}

nt_err
nt_store_send_list(nt_store *st, int state, int64_t lead_id, int64_t limit, nt_send_cb cb,
                   void *ctx, nt_diag *d)
{
    return st->ops->send_list(st, state, lead_id, limit, cb, ctx, d);
}

nt_err
nt_store_send_retry_due(nt_store *st, int64_t until, int64_t limit, nt_send_cb cb, void *ctx,
                        nt_diag *d)
{
    return st->ops->send_retry_due(st, until, limit, cb, ctx, d);
}

nt_err
nt_store_send_orphans_to_unknown(nt_store *st, int64_t now, int64_t *count, nt_diag *d)
{
    return st->ops->send_orphans_to_unknown(st, now, count, d);
}

nt_err
nt_store_send_count_since(nt_store *st, const char *sender, int64_t since, int64_t *count,
                          nt_diag *d)
{
    return st->ops->send_count_since(st, sender, since, count, d);
}

nt_err
nt_store_unsuppress(nt_store *st, const char *email, int *was, nt_diag *d)
{
    return st->ops->unsuppress(st, email, was, d);
}

nt_err
nt_store_event_count(nt_store *st, int64_t lead_id, const char *kind, int64_t since, int64_t *count,
                     nt_diag *d)
{
    return st->ops->event_count(st, lead_id, kind, since, count, d);
}

nt_err
nt_store_inbound_find(nt_store *st, const char *message_id, const char *content_hash,
                      const char *source_key, int64_t *id, nt_diag *d)
{
    return st->ops->inbound_find(st, message_id, content_hash, source_key, id, d);
}

nt_err
nt_store_inbound_add(nt_store *st, nt_inbound *in, nt_diag *d)
{
    return st->ops->inbound_add(st, in, d);
}

nt_err
nt_store_inbound_update(nt_store *st, const nt_inbound *in, nt_diag *d)
{
    return st->ops->inbound_update(st, in, d);
}

nt_err
nt_store_inbound_get(nt_store *st, int64_t id, int with_raw, nt_inbound *out, nt_diag *d)
{
    return st->ops->inbound_get(st, id, with_raw, out, d);
}

nt_err
nt_store_inbound_list(nt_store *st, const nt_inbound_filter *f, nt_inbound_cb cb, void *ctx,
                      nt_diag *d)
{
    return st->ops->inbound_list(st, f, cb, ctx, d);
}

nt_err
nt_store_sender_pause(nt_store *st, const char *sender, int64_t until, const char *reason,
                      int64_t at, nt_diag *d)
{
    return st->ops->sender_pause(st, sender, until, reason, at, d);
}

nt_err
nt_store_sender_paused(nt_store *st, const char *sender, int64_t now, int64_t *until, char *reason,
                       size_t reasonsz, nt_diag *d)
{
    return st->ops->sender_paused(st, sender, now, until, reason, reasonsz, d);
}

nt_err
nt_store_mailbox_state_get(nt_store *st, const char *mailbox, uint64_t *uidvalidity,
                           uint64_t *last_uid, nt_diag *d)
{
    return st->ops->mailbox_state_get(st, mailbox, uidvalidity, last_uid, d);
}

nt_err
nt_store_mailbox_state_set(nt_store *st, const char *mailbox, uint64_t uidvalidity,
                           uint64_t last_uid, nt_diag *d)
{
    return st->ops->mailbox_state_set(st, mailbox, uidvalidity, last_uid, d);
}

void
nt_qentry_release(nt_qentry *e)
{
    free(e->rep);
    free(e->assigned_by);
    free(e->trigger);
    free(e->reason);
    free(e->campaign);
    free(e->step_id);
    free(e->intent);
    free(e->reply_text);
    free(e->context);
    free(e->claimed_by);
    free(e->reject_reason);
    free(e->note);
    free(e->recycle_campaign);
    memset(e, 0, sizeof(*e));
}

static const char *const qstate_names[] = {"open", "claimed", "accepted", "rejected", "recycled"};

const char *
nt_qstate_name(nt_qstate s)
{
    return (unsigned)s < sizeof(qstate_names) / sizeof(qstate_names[0]) ? qstate_names[s] : "?";
}

int
nt_qstate_from(const char *name)
{
    for (size_t i = 0; i < sizeof(qstate_names) / sizeof(qstate_names[0]); i++)
        if (!strcmp(name, qstate_names[i]))
            return (int)i;
    return -1;
}

nt_err
nt_store_queue_add(nt_store *st, nt_qentry *e, int *added, nt_diag *d)
{
    return st->ops->queue_add(st, e, added, d);
}

nt_err
nt_store_queue_get(nt_store *st, int64_t id, nt_qentry *out, nt_diag *d)
{
    return st->ops->queue_get(st, id, out, d);
}

nt_err
nt_store_queue_open_for_lead(nt_store *st, int64_t lead_id, int64_t *id, nt_diag *d)
{
    return st->ops->queue_open_for_lead(st, lead_id, id, d);
}

nt_err
nt_store_queue_list(nt_store *st, const nt_queue_filter *f, nt_qentry_cb cb, void *ctx, nt_diag *d)
{
    return st->ops->queue_list(st, f, cb, ctx, d);
}

nt_err
nt_store_queue_claim(nt_store *st, const char *rep, int64_t now, int64_t *id, nt_diag *d)
{
    return st->ops->queue_claim(st, rep, now, id, d);
}

nt_err
nt_store_queue_update(nt_store *st, const nt_qentry *e, nt_diag *d)
{
    return st->ops->queue_update(st, e, d);
}

nt_err
nt_store_queue_unescalated(nt_store *st, int64_t created_before, nt_qentry_cb cb, void *ctx,
                           nt_diag *d)
{
    return st->ops->queue_unescalated(st, created_before, cb, ctx, d);
}

nt_err
nt_store_rotation_get(nt_store *st, const char *rep, int64_t *current, nt_diag *d)
{
    return st->ops->rotation_get(st, rep, current, d);
}

nt_err
nt_store_rotation_set(nt_store *st, const char *rep, int64_t current, nt_diag *d)
{
    return st->ops->rotation_set(st, rep, current, d);
}

nt_err
nt_store_outbox_add(nt_store *st, const nt_outbox_msg *m, int *added, nt_diag *d)
{
    return st->ops->outbox_add(st, m, added, d);
}

nt_err
nt_store_outbox_due(nt_store *st, int64_t now, int64_t limit, nt_outbox_cb cb, void *ctx,
                    nt_diag *d)
{
    return st->ops->outbox_due(st, now, limit, cb, ctx, d);
}

nt_err
nt_store_outbox_mark(nt_store *st, int64_t id, int64_t delivered_at, int64_t next_attempt_at,
                     int status, const char *error, nt_diag *d)
{
    return st->ops->outbox_mark(st, id, delivered_at, next_attempt_at, status, error, d);
}

nt_err
nt_store_outbox_list(nt_store *st, int pending_only, int64_t limit, nt_outbox_cb cb, void *ctx,
                     nt_diag *d)
{
    return st->ops->outbox_list(st, pending_only, limit, cb, ctx, d);
}

nt_err
nt_store_report_rows(nt_store *st, int64_t since, int64_t until, const char *campaign,
                     nt_report_cb cb, void *ctx, nt_diag *d)
{
    return st->ops->report_rows(st, since, until, campaign, cb, ctx, d);
}
