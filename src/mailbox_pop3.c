/*
 * The POP3 source: after libcurl has logged in (mailbox_curl.c), UIDL lists
 * every message with its unique-id (the key), and RETR fetches one by its
 * number in this session.  DELE is never sent, so the QUIT at close
 * deletes nothing; POP3 has no folders, so finishing
 * does nothing and the caller dedupes by key.  A server without UIDL is
 * refused: without unique-ids every session would look new.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox_impl.h"
#include "mailconn.h"
#include "pop3_resp.h"

#include "banned.h"

#define LINE_MAX_BYTES ((size_t)1 << 20) /* status and UIDL lines */

typedef struct pop3_msg {
    uint64_t number;
    char uidl[NT_POP3_UIDL_MAX + 1];
} pop3_msg;

typedef struct pop3 {
    nt_mailbox base; /* first: the struct is used as an nt_mailbox */
    nt_mailconn *c;
    pop3_msg *m;
    size_t n;
    size_t cap;
    nt_buf line;
} pop3;

/* Send cmd and read its status line; -ERR is refused with code err. */
static nt_err
command(pop3 *x, const char *cmd, const char *step, nt_err err, nt_diag *d)
{
    char text[200];
    size_t i, o = 0;
    int st;
    nt_err e;

    if ((e = nt_mailconn_send(x->c, cmd, strlen(cmd), step, d)) != NT_OK)
        return e;
    nt_buf_reset(&x->line);
    if ((e = nt_mailconn_getline(x->c, &x->line, LINE_MAX_BYTES, step, d)) != NT_OK)
        return e;
    st = nt_pop3_status(x->line.data, x->line.len);
    if (st == 1)
        return NT_OK;
    for (i = 0; i < x->line.len && o + 1 < sizeof(text); i++)
        if (x->line.data[i] != '\r' && x->line.data[i] != '\n')
            text[o++] = x->line.data[i] >= 0x20 && x->line.data[i] < 0x7f ? x->line.data[i] : '?';
    text[o] = '\0';
    if (st < 0) {
        nt_mailconn_kill(x->c);
        return nt_diag_set(d, NT_EIO, x->base.name, 0, 0, "%s: unexpected reply \"%s\"", step,
                           text);
    }
    return nt_diag_set(d, err, x->base.name, 0, 0, "%s: the server said %s", step, text);
}

static nt_err
push(pop3 *x, uint64_t number, const char *uid, size_t len)
{
    pop3_msg *nm;

    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 256;
        nm = realloc(x->m, cap * sizeof(*nm));
        if (!nm)
            return NT_ENOMEM;
        x->m = nm;
        x->cap = cap;
    }
    x->m[x->n].number = number;
    memcpy(x->m[x->n].uidl, uid, len);
    x->m[x->n].uidl[len] = '\0';
    x->n++;
    return NT_OK;
}

static nt_err
list(pop3 *x, nt_diag *d)
{
    const char *uid;
    size_t len;
    uint64_t number;
    nt_err err;

    err = command(x, "UIDL\r\n", "UIDL", NT_ECONFIG, d);
    if (err == NT_ECONFIG && d) {
        char said[sizeof(d->msg)];
        memcpy(said, d->msg, sizeof(said));
        return nt_diag_set(d, err, x->base.name, 0, 0,
                           "%s (the server must support UIDL: without unique ids every "
                           "message would look new each time)",
                           said);
    }
    if (err != NT_OK)
        return err;
    for (;;) {
        nt_buf_reset(&x->line);
        if ((err = nt_mailconn_getline(x->c, &x->line, LINE_MAX_BYTES, "UIDL", d)) != NT_OK)
            return err;
        if (nt_pop3_is_end(x->line.data, x->line.len))
            return NT_OK;
        if (nt_pop3_uidl_line(x->line.data, x->line.len, &number, &uid, &len) != 0) {
            nt_mailconn_kill(x->c);
            return nt_diag_set(d, NT_EIO, x->base.name, 0, 0, "UIDL: unexpected line %zu",
                               x->n + 1);
        }
        if (push(x, number, uid, len) != NT_OK)
            return nt_diag_set(d, NT_ENOMEM, x->base.name, 0, 0, "out of memory");
    }
}

static nt_err
pop3_key(nt_mailbox *mb, size_t i, nt_mailmsg *m, nt_diag *d)
{
    const pop3 *x = (const pop3 *)mb;

    (void)d;
    snprintf(m->key, sizeof(m->key), "pop3:%s", x->m[i].uidl);
    m->uid = x->m[i].number;
    return NT_OK;
}

/* Read the lines of RETR's reply up to ".", undoing dot-stuffing. */
static nt_err
read_message(pop3 *x, const char *step, nt_diag *d)
{
    nt_err err;

    for (;;) {
        nt_buf_reset(&x->line);
        err = nt_mailconn_getline(x->c, &x->line, NT_MAILBOX_MAX_MESSAGE, step, d);
        if (err != NT_OK)
            return err;
        if (nt_pop3_is_end(x->line.data, x->line.len))
            break;
        /* Past the limit the buffer stops growing (sticky NT_ELIMIT), but
         * the lines are still read so that the session stays in step. */
        nt_pop3_unstuff(x->line.data, x->line.len, &x->base.raw);
    }
    if (x->base.raw.err != NT_OK)
        return nt_diag_set(d, x->base.raw.err, x->base.name, 0, 0, "%s: %s", step,
                           x->base.raw.err == NT_ELIMIT ? "the message is too large"
                                                        : "out of memory");
    return NT_OK;
}

static nt_err
pop3_fetch(nt_mailbox *mb, size_t i, nt_diag *d)
{
    pop3 *x = (pop3 *)mb;
    char cmd[48], step[40];
    nt_err err;

    snprintf(cmd, sizeof(cmd), "RETR %llu\r\n", (unsigned long long)x->m[i].number);
    snprintf(step, sizeof(step), "RETR %llu", (unsigned long long)x->m[i].number);
    if ((err = command(x, cmd, step, NT_EIO, d)) != NT_OK)
        return err;
    return read_message(x, step, d);
}

static void
pop3_close(nt_mailbox *mb)
{
    pop3 *x = (pop3 *)mb;

    /* QUIT ends the session properly.  Nothing was marked for deletion, so
     * the server's UPDATE state deletes nothing (RFC 1939 section 6); a
     * server may mark the retrieved messages as read then (Dovecot does,
     * unless pop3_no_flag_updates is set). */
    if (x->c)
        command(x, "QUIT\r\n", "QUIT", NT_EIO, NULL);
    nt_mailconn_close(x->c);
    nt_buf_release(&x->line);
    free(x->m);
    free(x);
}

static const nt_mailbox_ops pop3_ops = {
    .key = pop3_key,
    .fetch = pop3_fetch,
    .finish = NULL,
    .close = pop3_close,
};

nt_err
nt_mailbox_pop3_open(const nt_mailbox_opts *o, nt_mailbox **out, nt_diag *d)
{
    pop3 *x = calloc(1, sizeof(*x));
    char path[256];
    nt_err err;

    if (!x)
        return nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "out of memory");
    x->base.ops = &pop3_ops;
    nt_buf_init(&x->line, NT_MAILBOX_MAX_MESSAGE + 2);
    err = nt_mailconn_open(o, NT_MAILCONN_POP3, x->base.name, sizeof(x->base.name), path,
                           sizeof(path), &x->c, d);
    if (err == NT_OK)
        err = list(x, d);
    if (err != NT_OK) {
        pop3_close(&x->base);
        return err;
    }
    x->base.count = x->n;
    *out = &x->base;
    return NT_OK;
}
