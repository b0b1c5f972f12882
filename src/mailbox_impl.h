/*
 * The backends behind include/nurture/mailbox.h.
 *
 * Each backend (mailbox_maildir.c, mailbox_mbox.c, mailbox_imap.c,
 * mailbox_pop3.c) embeds struct nt_mailbox as its first member and fills in
 * its ops; mailbox.c checks the arguments and the order of calls, keeps the
 * per-message "finished" marks and dispatches.  Internal to the library.
 */
#ifndef NURTURE_MAILBOX_IMPL_H
#define NURTURE_MAILBOX_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "nurture/buf.h"
#include "nurture/mailbox.h"

typedef struct nt_mailbox_ops {
    /* Fill m->key and m->uid for message number i (0 <= i < count). */
    nt_err (*key)(nt_mailbox *mb, size_t i, nt_mailmsg *m, nt_diag *d);
    /* Read message i into mb->raw (reset first). */
    nt_err (*fetch)(nt_mailbox *mb, size_t i, nt_diag *d);
    /* Mark message i done; NULL when finishing does nothing. */
    nt_err (*finish)(nt_mailbox *mb, size_t i, nt_mailbox_disp disp, nt_diag *d);
    /* Release what the backend holds, and the backend struct itself. */
    void (*close)(nt_mailbox *mb);
} nt_mailbox_ops;

struct nt_mailbox {
    const nt_mailbox_ops *ops;
    char name[256];          /* for messages: the path, or the URL without credentials */
    size_t count;            /* messages listed at open */
    size_t next;             /* index nt_mailbox_next gives next */
    unsigned char *finished; /* count marks, set by nt_mailbox_finish */
    size_t current;          /* index of the last message given by next; SIZE_MAX: none */
    nt_buf raw;              /* the fetched message */
    int incremental;         /* IMAP: 1, the fields below are in use */
    uint64_t uidvalidity;    /* IMAP: seen at open */
    uint64_t base_uid;       /* IMAP: last_uid at open (0 after a UIDVALIDITY change) */
    const uint64_t *uids;    /* IMAP: the listed UIDs, ascending; owned by the backend */
};

/* The backends' open functions: o is checked for the kind already; on
 * success *out is filled in except for the fields mailbox.c owns
 * (next, finished, current, raw). */
nt_err nt_mailbox_maildir_open(const nt_mailbox_opts *o, nt_mailbox **out, nt_diag *d);
nt_err nt_mailbox_mbox_open(const nt_mailbox_opts *o, nt_mailbox **out, nt_diag *d);
nt_err nt_mailbox_imap_open(const nt_mailbox_opts *o, nt_mailbox **out, nt_diag *d);
nt_err nt_mailbox_pop3_open(const nt_mailbox_opts *o, nt_mailbox **out, nt_diag *d);

/* FNV-1a, 64 bits: a short fingerprint for keys (not for security). */
uint64_t nt_mailbox_hash(const void *p, size_t n);

/* Name a source for messages: copies s into mb->name (truncated). */
void nt_mailbox_set_name(nt_mailbox *mb, const char *s);

#endif
