/*
 * The IMAP source: after libcurl has logged in (mailbox_curl.c), one
 * command at a time over that connection -- CAPABILITY, SELECT (for
 * UIDVALIDITY), UID SEARCH for the UIDs above the remembered last_uid,
 * UID FETCH (UID BODY.PEEK[]) for a message, and UID MOVE (or, without
 * MOVE, UID COPY and UID STORE +FLAGS (\Seen $Processed)) to finish one.
 * Nothing is ever expunged or deleted.
 *
 * Responses are read whole, literals included, into one buffer (imap_resp.c
 * splits them); a fetched body is moved to the front of that buffer and the
 * buffer swapped with the mailbox's, so a message is not copied.  A literal
 * larger than NT_MAILBOX_MAX_MESSAGE is read and dropped, keeping the
 * conversation in step.  Anything the server says that we cannot follow
 * ends the session (NT_EIO): every message is then still in the mailbox,
 * or in its folder if its MOVE got through.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_resp.h"
#include "mailbox_impl.h"
#include "mailconn.h"

#include "banned.h"

#define LINE_MAX_BYTES ((size_t)16 << 20) /* a SEARCH reply of a million UIDs fits */
#define RESP_LIMIT (NT_MAILBOX_MAX_MESSAGE + ((size_t)1 << 20)) /* body and its frame */
#define UID_MAX 4294967295ULL /* UIDs are 32-bit (RFC 3501 nz-number) */

typedef struct imap {
    nt_mailbox base; /* first: the struct is used as an nt_mailbox */
    nt_mailconn *c;
    char mailbox[256];   /* as configured, for messages */
    char folder[2][256]; /* [disp]: Processed, Unknown */
    char q_mailbox[520]; /* the same, as IMAP quoted strings */
    char q_folder[2][520];
    int created[2]; /* CREATE was sent for folder[disp] this session */
    int has_move;
    unsigned tagno;
    uint64_t *uids;
    size_t n;
    size_t cap;
    nt_buf resp; /* the response being read */
} imap;

/* How a command ended. */
typedef struct reply {
    nt_imap_status status;
    int trycreate;  /* the code was [TRYCREATE] */
    char text[300]; /* printable */
} reply;

typedef nt_err (*on_untagged)(imap *x, const nt_imap_resp *r, void *ctx, nt_diag *d);

/* Server text for a person: printable ASCII, at most outsz - 1 bytes. */
static void
printable(char *out, size_t outsz, const char *p, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < n && o + 1 < outsz; i++)
        out[o++] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
    out[o] = '\0';
}

/* A mailbox name as an IMAP quoted string.  Names are ASCII: modified
 * UTF-7 (RFC 3501 5.1.3) is not written here. */
static nt_err
quote(const char *name, char *out, size_t outsz, const char *what, const char *src, nt_diag *d)
{
    size_t o = 0;
    const char *s;

    if (!*name)
        return nt_diag_set(d, NT_ECONFIG, src, 0, 0, "%s: empty name", what);
    out[o++] = '"';
    for (s = name; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7f)
            return nt_diag_set(d, NT_ECONFIG, src, 0, 0,
                               "%s \"%s\": only printable ASCII names are supported", what, name);
        if (o + 4 >= outsz)
            return nt_diag_set(d, NT_ECONFIG, src, 0, 0, "%s: name too long", what);
        if (c == '"' || c == '\\')
            out[o++] = '\\';
        out[o++] = (char)c;
    }
    out[o++] = '"';
    out[o] = '\0';
    return NT_OK;
}

/* The server said something we cannot follow: end the session. */
static nt_err
lost(imap *x, const char *step, const char *what, const char *p, size_t n, nt_diag *d)
{
    char shown[120];

    printable(shown, sizeof(shown), p, n < 100 ? n : 100);
    nt_mailconn_kill(x->c);
    return nt_diag_set(d, NT_EIO, x->base.name, 0, 0, "%s: %s: \"%s\"", step, what, shown);
}

/* Read one response, literals included, into x->resp.  A literal over the
 * message limit is read and dropped, and *oversize set. */
static nt_err
read_response(imap *x, const char *step, int *oversize, nt_diag *d)
{
    size_t before;
    uint64_t len;
    int first = 1;
    nt_err err;

    nt_buf_reset(&x->resp);
    for (;;) {
        before = x->resp.len;
        err = nt_mailconn_getline(x->c, &x->resp, LINE_MAX_BYTES, step, d);
        if (err != NT_OK)
            return err;
        if (!nt_imap_line_literal(x->resp.data + before, x->resp.len - before, first, &len))
            return NT_OK;
        first = 0;
        if (len > NT_MAILBOX_MAX_MESSAGE) {
            *oversize = 1;
            err = nt_mailconn_read(x->c, NULL, (size_t)len, step, d);
        } else {
            err = nt_mailconn_read(x->c, &x->resp, (size_t)len, step, d);
        }
        if (err != NT_OK)
            return err;
    }
}

static nt_err
send_command(imap *x, const char *tag, const char *cmd, const char *step, nt_diag *d)
{
    char line[1200];
    int n = snprintf(line, sizeof(line), "%s %s\r\n", tag, cmd);

    if (n < 0 || (size_t)n >= sizeof(line))
        return nt_diag_set(d, NT_EINVAL, x->base.name, 0, 0, "%s: command too long", step);
    return nt_mailconn_send(x->c, line, (size_t)n, step, d);
}

/* The tagged end of our command. */
static void
take_reply(const nt_imap_resp *r, reply *rep)
{
    nt_imap_span w = r->code;
    size_t i = 0;

    rep->status = r->status;
    while (i < w.n && w.p[i] != ' ')
        i++;
    rep->trycreate = i == 9 && strncmp(w.p, "TRYCREATE", 9) == 0;
    printable(rep->text, sizeof(rep->text), r->code.n ? r->code.p - 1 : r->text.p,
              r->code.n ? (size_t)(r->text.p + r->text.n - (r->code.p - 1)) : r->text.n);
}

/*
 * Send cmd and read responses until its tagged end, passing each untagged
 * one to fn (may be NULL).  *oversize (may be NULL) is set when a literal
 * was dropped for its size.  NT_OK whatever the status: the caller reads
 * rep.  An error means the session is over.
 */
static nt_err
run(imap *x, const char *cmd, const char *step, on_untagged fn, void *ctx, reply *rep,
    int *oversize, nt_diag *d)
{
    char tag[16];
    nt_imap_resp r;
    int big = 0;
    nt_err err;

    snprintf(tag, sizeof(tag), "nt%u", ++x->tagno);
    if ((err = send_command(x, tag, cmd, step, d)) != NT_OK)
        return err;
    for (;;) {
        big = 0;
        if ((err = read_response(x, step, &big, d)) != NT_OK)
            return err;
        if (big) {
            if (oversize)
                *oversize = 1;
            continue; /* the dropped literal was the body of a FETCH */
        }
        if (nt_imap_parse(x->resp.data, x->resp.len, &r) != 0)
            return lost(x, step, "unexpected reply", x->resp.data, x->resp.len, d);
        if (r.kind == NT_IMAP_TAGGED) {
            if (r.tag.n != strlen(tag) || memcmp(r.tag.p, tag, r.tag.n) != 0)
                return lost(x, step, "reply with a tag we did not send", x->resp.data, x->resp.len,
                            d);
            take_reply(&r, rep);
            return NT_OK;
        }
        if (r.kind == NT_IMAP_CONTINUE)
            return lost(x, step, "unexpected continuation request", x->resp.data, x->resp.len, d);
        if (fn && (err = fn(x, &r, ctx, d)) != NT_OK) {
            nt_mailconn_kill(x->c);
            return err;
        }
    }
}

/* A NO or BAD the caller does not expect. */
static nt_err
refused(imap *x, const char *step, const reply *rep, nt_err err, nt_diag *d)
{
    return nt_diag_set(d, err, x->base.name, 0, 0, "%s: the server said %s %s", step,
                       rep->status == NT_IMAP_NO ? "NO" : "BAD", rep->text);
}

/* --- open ------------------------------------------------------------- */

static nt_err
on_capability(imap *x, const nt_imap_resp *r, void *ctx, nt_diag *d)
{
    (void)ctx;
    (void)d;
    if (r->status == NT_IMAP_NONE && r->name.n == 10 && strncmp(r->name.p, "CAPABILITY", 10) == 0)
        x->has_move = nt_imap_has_atom(r->rest, "MOVE");
    return NT_OK;
}

static nt_err
on_select(imap *x, const nt_imap_resp *r, void *ctx, nt_diag *d)
{
    uint64_t v;

    (void)ctx;
    (void)d;
    if (r->status == NT_IMAP_OK && nt_imap_code_number(r->code, "UIDVALIDITY", &v) && v > 0)
        x->base.uidvalidity = v;
    return NT_OK;
}

static nt_err
push_uid(imap *x, uint64_t uid)
{
    uint64_t *nu;

    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 256;
        nu = realloc(x->uids, cap * sizeof(*nu));
        if (!nu)
            return NT_ENOMEM;
        x->uids = nu;
        x->cap = cap;
    }
    x->uids[x->n++] = uid;
    return NT_OK;
}

static nt_err
on_search(imap *x, const nt_imap_resp *r, void *ctx, nt_diag *d)
{
    const char *p = r->rest.p, *end = r->rest.p + r->rest.n;
    uint64_t uid;
    int got;

    (void)ctx;
    if (r->status != NT_IMAP_NONE || r->name.n != 6 || strncmp(r->name.p, "SEARCH", 6) != 0)
        return NT_OK;
    while ((got = nt_imap_next_number(&p, end, &uid)) == 1) {
        /* "UID n:*" also matches the highest UID when it is below n. */
        if (uid <= x->base.base_uid || uid > UID_MAX)
            continue;
        if (push_uid(x, uid) != NT_OK)
            return nt_diag_set(d, NT_ENOMEM, x->base.name, 0, 0, "out of memory");
    }
    if (got < 0)
        return nt_diag_set(d, NT_EIO, x->base.name, 0, 0, "UID SEARCH: unexpected reply");
    return NT_OK;
}

static int
cmp_uid(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static nt_err
select_mailbox(imap *x, const nt_mailbox_opts *o, nt_diag *d)
{
    char cmd[600], step[300];
    reply rep;
    nt_err err;

    snprintf(cmd, sizeof(cmd), "SELECT %s", x->q_mailbox);
    snprintf(step, sizeof(step), "SELECT %s", x->mailbox);
    if ((err = run(x, cmd, step, on_select, NULL, &rep, NULL, d)) != NT_OK)
        return err;
    if (rep.status != NT_IMAP_OK)
        return refused(x, step, &rep, rep.status == NT_IMAP_NO ? NT_ECONFIG : NT_EIO, d);
    if (x->base.uidvalidity == 0)
        return nt_diag_set(d, NT_EIO, x->base.name, 0, 0, "%s: the server sent no UIDVALIDITY",
                           step);
    /* A new UIDVALIDITY means the old UIDs name nothing: start over. */
    x->base.base_uid = x->base.uidvalidity == o->uidvalidity ? o->last_uid : 0;
    return NT_OK;
}

static nt_err
search(imap *x, nt_diag *d)
{
    char cmd[128];
    reply rep;
    size_t i, o = 0;
    nt_err err;

    if (x->base.base_uid >= UID_MAX)
        return NT_OK;
    snprintf(cmd, sizeof(cmd), "UID SEARCH UID %llu:* UNKEYWORD $Processed",
             (unsigned long long)x->base.base_uid + 1);
    if ((err = run(x, cmd, "UID SEARCH", on_search, NULL, &rep, NULL, d)) != NT_OK)
        return err;
    if (rep.status != NT_IMAP_OK)
        return refused(x, "UID SEARCH", &rep, NT_EIO, d);
    if (x->n)
        if (x->n)
            qsort(x->uids, x->n, sizeof(*x->uids), cmp_uid);
    for (i = 0; i < x->n; i++)
        if (o == 0 || x->uids[i] != x->uids[o - 1])
            x->uids[o++] = x->uids[i];
    x->n = o;
    return NT_OK;
}

/* --- the session ------------------------------------------------------ */

static nt_err
imap_key(nt_mailbox *mb, size_t i, nt_mailmsg *m, nt_diag *d)
{
    const imap *x = (const imap *)mb;

    (void)d;
    snprintf(m->key, sizeof(m->key), "imap:%llu:%llu", (unsigned long long)mb->uidvalidity,
             (unsigned long long)x->uids[i]);
    m->uid = x->uids[i];
    return NT_OK;
}

typedef struct fetch_ctx {
    uint64_t uid;
    int found;
} fetch_ctx;

/* Keep the body of our message; let other FETCH responses (flag changes
 * another client made) pass. */
static nt_err
on_fetch(imap *x, const nt_imap_resp *r, void *ctx, nt_diag *d)
{
    fetch_ctx *f = ctx;
    nt_imap_fetch fe;
    nt_buf tmp;

    if (r->status != NT_IMAP_NONE || r->name.n != 5 || strncmp(r->name.p, "FETCH", 5) != 0)
        return NT_OK;
    if (nt_imap_parse_fetch(r->rest, &fe) != 0)
        return nt_diag_set(d, NT_EIO, x->base.name, 0, 0, "UID FETCH %llu: unexpected reply",
                           (unsigned long long)f->uid);
    if (!fe.has_uid || fe.uid != f->uid || !fe.has_body || f->found)
        return NT_OK;
    f->found = 1;
    if (fe.body_quoted) {
        size_t i, o = 0;
        for (i = 0; i < fe.body.n; i++) {
            if (fe.body.p[i] == '\\' && i + 1 < fe.body.n)
                i++;
            x->resp.data[o++] = fe.body.p[i];
        }
        x->resp.len = o;
    } else {
        memmove(x->resp.data, fe.body.p, fe.body.n);
        x->resp.len = fe.body.n;
    }
    /* The body becomes the mailbox's buffer; the old one reads the rest. */
    tmp = x->base.raw;
    x->base.raw = x->resp;
    x->resp = tmp;
    x->base.raw.limit = NT_MAILBOX_MAX_MESSAGE;
    x->resp.limit = RESP_LIMIT;
    nt_buf_reset(&x->resp);
    return NT_OK;
}

static nt_err
imap_fetch(nt_mailbox *mb, size_t i, nt_diag *d)
{
    imap *x = (imap *)mb;
    fetch_ctx f = {x->uids[i], 0};
    char cmd[96], step[64];
    int oversize = 0;
    reply rep;
    nt_err err;

    snprintf(cmd, sizeof(cmd), "UID FETCH %llu (UID BODY.PEEK[])", (unsigned long long)f.uid);
    snprintf(step, sizeof(step), "UID FETCH %llu", (unsigned long long)f.uid);
    if ((err = run(x, cmd, step, on_fetch, &f, &rep, &oversize, d)) != NT_OK)
        return err;
    if (rep.status != NT_IMAP_OK)
        return refused(x, step, &rep, NT_EIO, d);
    if (oversize && !f.found)
        return nt_diag_set(d, NT_ELIMIT, mb->name, 0, 0, "%s: the message is larger than %zu", step,
                           NT_MAILBOX_MAX_MESSAGE);
    if (!f.found)
        return nt_diag_set(d, NT_ENOTFOUND, mb->name, 0, 0,
                           "%s: no such message in %s any more (moved or expunged by another "
                           "client)",
                           step, x->mailbox);
    /* The buffer swapped in terminates its data for C string users. */
    nt_buf_cstr(&mb->raw);
    return NT_OK;
}

/* CREATE the folder once per session; "already exists" is the usual NO. */
static nt_err
create_folder(imap *x, int which, nt_diag *d)
{
    char cmd[600], step[300];
    reply rep;
    nt_err err;

    snprintf(cmd, sizeof(cmd), "CREATE %s", x->q_folder[which]);
    snprintf(step, sizeof(step), "CREATE %s", x->folder[which]);
    if ((err = run(x, cmd, step, NULL, NULL, &rep, NULL, d)) != NT_OK)
        return err;
    x->created[which] = 1;
    return NT_OK;
}

/* Run a command that names the folder; on [TRYCREATE] create it and try
 * once more. */
static nt_err
run_into(imap *x, int which, const char *cmd, const char *step, nt_diag *d)
{
    reply rep;
    nt_err err;
    int tries;

    for (tries = 0; tries < 2; tries++) {
        if ((err = run(x, cmd, step, NULL, NULL, &rep, NULL, d)) != NT_OK)
            return err;
        if (rep.status == NT_IMAP_OK)
            return NT_OK;
        if (!rep.trycreate || tries > 0)
            break;
        if ((err = create_folder(x, which, d)) != NT_OK)
            return err;
    }
    return refused(x, step, &rep, NT_EIO, d);
}

static nt_err
imap_finish(nt_mailbox *mb, size_t i, nt_mailbox_disp disp, nt_diag *d)
{
    imap *x = (imap *)mb;
    int which = disp == NT_MAILBOX_UNKNOWN ? 1 : 0;
    unsigned long long uid = (unsigned long long)x->uids[i];
    char cmd[700], step[400];
    reply rep;
    nt_err err;

    if (!x->created[which] && (err = create_folder(x, which, d)) != NT_OK)
        return err;
    if (x->has_move) {
        snprintf(cmd, sizeof(cmd), "UID MOVE %llu %s", uid, x->q_folder[which]);
        snprintf(step, sizeof(step), "UID MOVE %llu to %s", uid, x->folder[which]);
        return run_into(x, which, cmd, step, d);
    }
    snprintf(cmd, sizeof(cmd), "UID COPY %llu %s", uid, x->q_folder[which]);
    snprintf(step, sizeof(step), "UID COPY %llu to %s", uid, x->folder[which]);
    if ((err = run_into(x, which, cmd, step, d)) != NT_OK)
        return err;
    snprintf(cmd, sizeof(cmd), "UID STORE %llu +FLAGS.SILENT (\\Seen $Processed)", uid);
    snprintf(step, sizeof(step), "UID STORE %llu +FLAGS", uid);
    if ((err = run(x, cmd, step, NULL, NULL, &rep, NULL, d)) != NT_OK)
        return err;
    return rep.status == NT_IMAP_OK ? NT_OK : refused(x, step, &rep, NT_EIO, d);
}

static void
imap_close(nt_mailbox *mb)
{
    imap *x = (imap *)mb;
    reply rep;

    /* Say goodbye when the connection is still in step; the answer does
     * not matter (a dead connection fails at once). */
    if (x->c)
        run(x, "LOGOUT", "LOGOUT", NULL, NULL, &rep, NULL, NULL);
    nt_mailconn_close(x->c);
    nt_buf_release(&x->resp);
    free(x->uids);
    free(x);
}

static const nt_mailbox_ops imap_ops = {
    .key = imap_key,
    .fetch = imap_fetch,
    .finish = imap_finish,
    .close = imap_close,
};

/* Do two names denote one mailbox?  INBOX is case-insensitive (RFC 3501
 * 5.1); other names are compared as written. */
static int
same_mailbox(const char *a, const char *b)
{
    return strcasecmp(a, "INBOX") == 0 ? strcasecmp(b, "INBOX") == 0 : strcmp(a, b) == 0;
}

static nt_err
names(imap *x, const nt_mailbox_opts *o, const char *path, nt_diag *d)
{
    const char *f[2] = {o->processed_folder && *o->processed_folder ? o->processed_folder
                                                                    : "Processed",
                        o->unknown_folder && *o->unknown_folder ? o->unknown_folder : "Unknown"};
    const char *what[2] = {"processed folder", "unknown folder"};
    nt_err err;
    int i;

    snprintf(x->mailbox, sizeof(x->mailbox), "%s", *path ? path : "INBOX");
    err = quote(x->mailbox, x->q_mailbox, sizeof(x->q_mailbox), "mailbox", x->base.name, d);
    for (i = 0; i < 2 && err == NT_OK; i++) {
        snprintf(x->folder[i], sizeof(x->folder[i]), "%s", f[i]);
        err = quote(f[i], x->q_folder[i], sizeof(x->q_folder[i]), what[i], x->base.name, d);
        /* Moved into itself, a message would come back under a new UID
         * every session. */
        if (err == NT_OK && same_mailbox(f[i], x->mailbox))
            err = nt_diag_set(d, NT_ECONFIG, x->base.name, 0, 0,
                              "the %s \"%s\" is the mailbox being read", what[i], f[i]);
    }
    return err;
}

nt_err
nt_mailbox_imap_open(const nt_mailbox_opts *o, nt_mailbox **out, nt_diag *d)
{
    imap *x = calloc(1, sizeof(*x));
    char path[256];
    reply rep;
    nt_err err;

    if (!x)
        return nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "out of memory");
    x->base.ops = &imap_ops;
    x->base.incremental = 1;
    nt_buf_init(&x->resp, RESP_LIMIT);
    err = nt_mailconn_open(o, NT_MAILCONN_IMAP, x->base.name, sizeof(x->base.name), path,
                           sizeof(path), &x->c, d);
    if (err == NT_OK)
        err = names(x, o, path, d);
    if (err == NT_OK)
        err = run(x, "CAPABILITY", "CAPABILITY", on_capability, NULL, &rep, NULL, d);
    if (err == NT_OK)
        err = select_mailbox(x, o, d);
    if (err == NT_OK)
        err = search(x, d);
    if (err != NT_OK) {
        imap_close(&x->base);
        return err;
    }
    x->base.count = x->n;
    x->base.uids = x->uids;
    *out = &x->base;
    return NT_OK;
}
