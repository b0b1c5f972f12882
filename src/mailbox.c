/*
 * The mailbox iterator (include/nurture/mailbox.h): checks what callers
 * pass, keeps the order of calls and the per-message "finished" marks, and
 * hands each call to the backend of the source's kind.  The IMAP state
 * (last_uid) is worked out here from those marks, so that a message
 * fetched but never finished holds last_uid below it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox_impl.h"
#include "mailconn.h"
#include "nurture/mailbox.h"

#include "banned.h"

uint64_t
nt_mailbox_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

void
nt_mailbox_set_name(nt_mailbox *mb, const char *s)
{
    size_t n = strlen(s);

    if (n >= sizeof(mb->name))
        n = sizeof(mb->name) - 1;
    memcpy(mb->name, s, n);
    mb->name[n] = '\0';
}

void
nt_mailbox_global_init(void)
{
    nt_mailconn_global_init();
}

static nt_err
check_opts(const nt_mailbox_opts *o, nt_diag *d)
{
    switch (o->kind) {
    case NT_MAILBOX_MAILDIR:
    case NT_MAILBOX_MBOX:
        if (!o->path || !*o->path)
            return nt_diag_set(d, NT_ECONFIG, NULL, 0, 0, "%s: no path given",
                               o->kind == NT_MAILBOX_MBOX ? "mbox" : "Maildir");
        return NT_OK;
    case NT_MAILBOX_IMAP:
    case NT_MAILBOX_POP3:
        if (!o->url || !*o->url)
            return nt_diag_set(d, NT_ECONFIG, NULL, 0, 0, "%s: no URL given",
                               o->kind == NT_MAILBOX_IMAP ? "IMAP" : "POP3");
        return NT_OK;
    }
    return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "unknown mailbox kind %d", (int)o->kind);
}

nt_err
nt_mailbox_open(const nt_mailbox_opts *o, nt_mailbox **out, nt_diag *d)
{
    nt_mailbox *mb = NULL;
    nt_err err;

    *out = NULL;
    nt_diag_clear(d);
    if ((err = check_opts(o, d)) != NT_OK)
        return err;
    switch (o->kind) {
    case NT_MAILBOX_MAILDIR:
        err = nt_mailbox_maildir_open(o, &mb, d);
        break;
    case NT_MAILBOX_MBOX:
        err = nt_mailbox_mbox_open(o, &mb, d);
        break;
    case NT_MAILBOX_IMAP:
        err = nt_mailbox_imap_open(o, &mb, d);
        break;
    case NT_MAILBOX_POP3:
        err = nt_mailbox_pop3_open(o, &mb, d);
        break;
    }
    if (err != NT_OK)
        return err;
    mb->next = 0;
    mb->current = SIZE_MAX;
    nt_buf_init(&mb->raw, NT_MAILBOX_MAX_MESSAGE);
    mb->finished = calloc(mb->count ? mb->count : 1, 1);
    if (!mb->finished) {
        err = nt_diag_set(d, NT_ENOMEM, mb->name, 0, 0, "out of memory");
        nt_mailbox_close(mb);
        return err;
    }
    *out = mb;
    return NT_OK;
}

nt_err
nt_mailbox_next(nt_mailbox *mb, nt_mailmsg *m, nt_diag *d)
{
    nt_err err;

    memset(m, 0, sizeof(*m));
    if (mb->next >= mb->count)
        return NT_ENOTFOUND;
    nt_buf_reset(&mb->raw);
    err = mb->ops->key(mb, mb->next, m, d);
    if (err != NT_OK)
        return err;
    m->index = mb->next;
    mb->current = mb->next++;
    return NT_OK;
}

nt_err
nt_mailbox_fetch(nt_mailbox *mb, nt_mailmsg *m, nt_diag *d)
{
    nt_err err;

    m->raw = NULL;
    m->len = 0;
    if (mb->current == SIZE_MAX || m->index != mb->current)
        return nt_diag_set(d, NT_EINVAL, mb->name, 0, 0,
                           "fetch: only the message nt_mailbox_next gave last can be fetched");
    nt_buf_reset(&mb->raw);
    err = mb->ops->fetch(mb, m->index, d);
    if (err != NT_OK)
        return err;
    m->raw = mb->raw.len ? mb->raw.data : "";
    m->len = mb->raw.len;
    return NT_OK;
}

nt_err
nt_mailbox_finish(nt_mailbox *mb, const nt_mailmsg *m, nt_mailbox_disp disp, nt_diag *d)
{
    nt_err err;

    if (m->index >= mb->next)
        return nt_diag_set(d, NT_EINVAL, mb->name, 0, 0, "finish: message %zu was not listed yet",
                           m->index);
    if (mb->finished[m->index])
        return nt_diag_set(d, NT_EINVAL, mb->name, 0, 0, "finish: %s is finished already", m->key);
    if (disp != NT_MAILBOX_PROCESSED && disp != NT_MAILBOX_UNKNOWN)
        return nt_diag_set(d, NT_EINVAL, mb->name, 0, 0, "finish: unknown disposition %d",
                           (int)disp);
    if (mb->ops->finish) {
        err = mb->ops->finish(mb, m->index, disp, d);
        if (err != NT_OK)
            return err;
    }
    mb->finished[m->index] = 1;
    return NT_OK;
}

void
nt_mailbox_state(const nt_mailbox *mb, uint64_t *uidvalidity, uint64_t *last_uid)
{
    uint64_t last = mb->base_uid;
    size_t i;

    /* The listed UIDs ascend; last_uid passes each one that is finished
     * until the first that is not. */
    for (i = 0; mb->incremental && i < mb->count && mb->finished[i]; i++)
        if (mb->uids[i] > last)
            last = mb->uids[i];
    if (uidvalidity)
        *uidvalidity = mb->uidvalidity;
    if (last_uid)
        *last_uid = mb->incremental ? last : 0;
}

size_t
nt_mailbox_count(const nt_mailbox *mb)
{
    return mb->count;
}

const char *
nt_mailbox_name(const nt_mailbox *mb)
{
    return mb->name;
}

void
nt_mailbox_close(nt_mailbox *mb)
{
    if (!mb)
        return;
    free(mb->finished);
    mb->finished = NULL;
    nt_buf_release(&mb->raw);
    mb->ops->close(mb);
}
