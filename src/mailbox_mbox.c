/*
 * The mbox source: the file is mapped read-only and split once at open
 * (mbox.c), so the count is known and keys cost no I/O; a message is
 * unescaped into the mailbox's buffer only when fetched.  The file is never
 * written.  A shared fcntl lock is held for the session so that a writer
 * that locks the same way (an MTA appending, a mail client rewriting) waits
 * instead of moving bytes under the mapping.
 *
 * Keys are "mbox:<offset of the From line>:<hash of the message>": the
 * offset alone would name a different message once a mail client removes
 * one above it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mailbox_impl.h"
#include "mbox.h"

#include "banned.h"

#define DEFAULT_TIMEOUT_MS 30000

typedef struct mbox {
    nt_mailbox base; /* first: the struct is used as an nt_mailbox */
    int fd;
    const char *map; /* the whole file, or NULL when it is empty */
    size_t size;
    nt_mbox_span *spans;
    size_t n;
    size_t cap;
} mbox;

static nt_err
mbox_key(nt_mailbox *mb, size_t i, nt_mailmsg *m, nt_diag *d)
{
    const mbox *x = (const mbox *)mb;
    const nt_mbox_span *s = &x->spans[i];

    (void)d;
    snprintf(m->key, sizeof(m->key), "mbox:%zu:%016llx", s->from,
             (unsigned long long)nt_mailbox_hash(x->map + s->start, s->len));
    m->uid = 0;
    return NT_OK;
}

static nt_err
mbox_fetch(nt_mailbox *mb, size_t i, nt_diag *d)
{
    const mbox *x = (const mbox *)mb;
    const nt_mbox_span *s = &x->spans[i];

    if (s->len > NT_MAILBOX_MAX_MESSAGE)
        return nt_diag_set(d, NT_ELIMIT, mb->name, 0, 0,
                           "the message at byte %zu has %zu bytes, more than %zu", s->from, s->len,
                           NT_MAILBOX_MAX_MESSAGE);
    nt_mbox_unescape(x->map + s->start, s->len, &mb->raw);
    if (mb->raw.err != NT_OK)
        return nt_diag_set(d, mb->raw.err, mb->name, 0, 0, "the message at byte %zu: %s", s->from,
                           nt_strerror(mb->raw.err));
    return NT_OK;
}

static void
mbox_close(nt_mailbox *mb)
{
    mbox *x = (mbox *)mb;

    if (x->map)
        munmap((void *)x->map, x->size);
    if (x->fd >= 0)
        close(x->fd); /* also drops the lock */
    free(x->spans);
    free(x);
}

static const nt_mailbox_ops mbox_ops = {
    .key = mbox_key,
    .fetch = mbox_fetch,
    .finish = NULL,
    .close = mbox_close,
};

/* A shared lock on the whole file, waiting up to timeout_ms for writers. */
static nt_err
lock_shared(mbox *x, long timeout_ms, nt_diag *d)
{
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    const struct timespec pause = {0, 50 * 1000 * 1000};
    long waited = 0;

    for (;;) {
        if (fcntl(x->fd, F_SETLK, &fl) == 0)
            return NT_OK;
        if (errno != EAGAIN && errno != EACCES && errno != EINTR)
            return nt_diag_set(d, NT_EIO, x->base.name, 0, 0, "cannot lock the file: %s",
                               strerror(errno));
        if (waited >= timeout_ms)
            return nt_diag_set(d, NT_EBUSY, x->base.name, 0, 0,
                               "locked by another program for %ld ms; try again later", timeout_ms);
        nanosleep(&pause, NULL);
        waited += 50;
    }
}

static nt_err
split(mbox *x, nt_diag *d)
{
    size_t pos = 0;
    nt_mbox_span s;
    int r;

    while ((r = nt_mbox_next(x->map, x->size, &pos, &s)) == 1) {
        if (x->n == x->cap) {
            size_t cap = x->cap ? x->cap * 2 : 256;
            nt_mbox_span *ns = realloc(x->spans, cap * sizeof(*ns));
            if (!ns)
                return nt_diag_set(d, NT_ENOMEM, x->base.name, 0, 0, "out of memory");
            x->spans = ns;
            x->cap = cap;
        }
        x->spans[x->n++] = s;
    }
    if (r < 0)
        return nt_diag_set(d, NT_EINVAL, x->base.name, 1, 1,
                           "not an mbox file: it does not begin with a \"From \" line");
    return NT_OK;
}

static nt_err
map_file(mbox *x, const char *path, long timeout_ms, nt_diag *d)
{
    struct stat st;
    void *map;
    nt_err err;

    x->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (x->fd < 0)
        return nt_diag_set(d, errno == ENOENT ? NT_ECONFIG : NT_EIO, x->base.name, 0, 0,
                           "cannot open the mbox file: %s", strerror(errno));
    if (fstat(x->fd, &st) != 0)
        return nt_diag_set(d, NT_EIO, x->base.name, 0, 0, "cannot stat: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return nt_diag_set(d, NT_ECONFIG, x->base.name, 0, 0, "not an mbox file: %s",
                           S_ISDIR(st.st_mode) ? "it is a folder (a Maildir?)"
                                               : "not a regular file");
    if ((err = lock_shared(x, timeout_ms, d)) != NT_OK)
        return err;
    /* The size after locking: a writer may have appended while we waited. */
    if (fstat(x->fd, &st) != 0)
        return nt_diag_set(d, NT_EIO, x->base.name, 0, 0, "cannot stat: %s", strerror(errno));
    x->size = (size_t)st.st_size;
    if (x->size == 0)
        return NT_OK;
    map = mmap(NULL, x->size, PROT_READ, MAP_PRIVATE, x->fd, 0);
    if (map == MAP_FAILED)
        return nt_diag_set(d, NT_EIO, x->base.name, 0, 0, "cannot map the file: %s",
                           strerror(errno));
    x->map = map;
    return NT_OK;
}

nt_err
nt_mailbox_mbox_open(const nt_mailbox_opts *o, nt_mailbox **out, nt_diag *d)
{
    mbox *x = calloc(1, sizeof(*x));
    nt_err err;

    if (!x)
        return nt_diag_set(d, NT_ENOMEM, o->path, 0, 0, "out of memory");
    x->base.ops = &mbox_ops;
    x->fd = -1;
    nt_mailbox_set_name(&x->base, o->path);
    err = map_file(x, o->path, o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS, d);
    if (err == NT_OK && x->map)
        err = split(x, d);
    if (err != NT_OK) {
        mbox_close(&x->base);
        return err;
    }
    x->base.count = x->n;
    *out = &x->base;
    return NT_OK;
}
