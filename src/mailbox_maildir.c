/*
 * The Maildir source: lists new/ and the unseen messages of cur/, reads
 * files, and marks a message done by renaming it into cur/ with the S (and,
 * for mail kept for review, F) flag: one rename(2), atomic, nothing deleted.
 *
 * A Maildir file name is "<unique>" in new/ and "<unique>:2,<flags>" in
 * cur/; the unique part never changes, so it is the key.  Names are read
 * once at open; a message a mail client moves in the meantime is reported
 * as gone (NT_ENOTFOUND) and listed again, under the same key, next time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailbox_impl.h"

#include "banned.h"

typedef struct entry {
    char *name; /* file name inside new/ or cur/ */
    int in_cur;
} entry;

typedef struct maildir {
    nt_mailbox base; /* first: the struct is used as an nt_mailbox */
    int newfd;
    int curfd;
    entry *e;
    size_t n;
    size_t cap;
} maildir;

/* Length of the unique part of a file name: up to the ':' of the info. */
static size_t
unique_len(const char *name)
{
    const char *colon = strchr(name, ':');

    return colon ? (size_t)(colon - name) : strlen(name);
}

/* The flags of a cur/ name ("" when it has no ":2," info). */
static const char *
flags_of(const char *name)
{
    const char *colon = strchr(name, ':');

    return colon && strncmp(colon, ":2,", 3) == 0 ? colon + 3 : "";
}

static int
cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    size_t lx = unique_len(x->name), ly = unique_len(y->name);
    int c = memcmp(x->name, y->name, lx < ly ? lx : ly);

    if (c != 0)
        return c;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return x->in_cur - y->in_cur;
}

static nt_err
add_entry(maildir *md, const char *name, int in_cur)
{
    entry *ne;

    if (md->n == md->cap) {
        size_t cap = md->cap ? md->cap * 2 : 64;
        ne = realloc(md->e, cap * sizeof(*ne));
        if (!ne)
            return NT_ENOMEM;
        md->e = ne;
        md->cap = cap;
    }
    md->e[md->n].name = strdup(name);
    if (!md->e[md->n].name)
        return NT_ENOMEM;
    md->e[md->n].in_cur = in_cur;
    md->n++;
    return NT_OK;
}

/* Add the messages of one subfolder; of cur/ only those without S. */
static nt_err
scan(maildir *md, int fd, int in_cur, nt_diag *d)
{
    int dupfd = dup(fd);
    DIR *dir = dupfd >= 0 ? fdopendir(dupfd) : NULL;
    struct dirent *de;
    nt_err err = NT_OK;

    if (!dir) {
        if (dupfd >= 0)
            close(dupfd);
        return nt_diag_set(d, NT_EIO, md->base.name, 0, 0, "cannot list %s/: %s",
                           in_cur ? "cur" : "new", strerror(errno));
    }
    rewinddir(dir);
    while (err == NT_OK && (errno = 0, de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (in_cur && strchr(flags_of(de->d_name), 'S'))
            continue;
        err = add_entry(md, de->d_name, in_cur);
    }
    if (err == NT_OK && errno != 0)
        err = nt_diag_set(d, NT_EIO, md->base.name, 0, 0, "cannot list %s/: %s",
                          in_cur ? "cur" : "new", strerror(errno));
    else if (err == NT_ENOMEM)
        nt_diag_set(d, err, md->base.name, 0, 0, "out of memory");
    closedir(dir);
    return err;
}

/* Print the unique part as the key: printable ASCII other than '%' as is,
 * other bytes as %XX; a name too long for the key ends in a hash of it. */
static nt_err
maildir_key(nt_mailbox *mb, size_t i, nt_mailmsg *m, nt_diag *d)
{
    const maildir *md = (const maildir *)mb;
    const char *name = md->e[i].name;
    size_t len = unique_len(name), o = 0, j;
    const size_t room = sizeof(m->key) - 1 - 17; /* keep space for "~" and 16 hex */

    (void)d;
    o = (size_t)snprintf(m->key, sizeof(m->key), "maildir:");
    for (j = 0; j < len && o < room; j++) {
        unsigned char c = (unsigned char)name[j];
        if (c > 0x20 && c < 0x7f && c != '%')
            m->key[o++] = (char)c;
        else if (o + 3 <= room)
            o += (size_t)snprintf(m->key + o, 4, "%%%02X", c);
        else
            break;
    }
    if (j < len)
        o += (size_t)snprintf(m->key + o, sizeof(m->key) - o, "~%016llx",
                              (unsigned long long)nt_mailbox_hash(name, len));
    m->key[o] = '\0';
    m->uid = 0;
    return NT_OK;
}

static nt_err
maildir_fetch(nt_mailbox *mb, size_t i, nt_diag *d)
{
    const maildir *md = (const maildir *)mb;
    const entry *e = &md->e[i];
    int fd = openat(e->in_cur ? md->curfd : md->newfd, e->name, O_RDONLY | O_CLOEXEC);
    char chunk[65536];
    struct stat st;
    ssize_t r;
    nt_err err = NT_OK;

    if (fd < 0) {
        if (errno == ENOENT)
            return nt_diag_set(d, NT_ENOTFOUND, mb->name, 0, 0,
                               "%s/%s: gone (moved by another program since the listing)",
                               e->in_cur ? "cur" : "new", e->name);
        return nt_diag_set(d, NT_EIO, mb->name, 0, 0, "cannot open %s/%s: %s",
                           e->in_cur ? "cur" : "new", e->name, strerror(errno));
    }
    if (fstat(fd, &st) == 0 && (uintmax_t)st.st_size > NT_MAILBOX_MAX_MESSAGE) {
        close(fd);
        return nt_diag_set(d, NT_ELIMIT, mb->name, 0, 0, "%s: %jd bytes, more than %zu", e->name,
                           (intmax_t)st.st_size, NT_MAILBOX_MAX_MESSAGE);
    }
    while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = nt_diag_set(d, NT_EIO, mb->name, 0, 0, "cannot read %s: %s", e->name,
                              strerror(errno));
            break;
        }
        nt_buf_add(&mb->raw, chunk, (size_t)r);
    }
    close(fd);
    if (err == NT_OK && mb->raw.err != NT_OK)
        err = nt_diag_set(d, mb->raw.err, mb->name, 0, 0, "%s: %s", e->name,
                          mb->raw.err == NT_ELIMIT ? "message too large" : "out of memory");
    return err;
}

/* "<unique>:2,<flags>" with add's letters merged in, in ASCII order. */
static char *
done_name(const entry *e, const char *add)
{
    const char *old = e->in_cur ? flags_of(e->name) : "";
    unsigned char have[256] = {0};
    char flags[257];
    size_t n = 0, len = unique_len(e->name);
    int c;
    char *out;

    for (; *old; old++)
        have[(unsigned char)*old] = 1;
    for (; *add; add++)
        have[(unsigned char)*add] = 1;
    for (c = 33; c < 127; c++)
        if (have[c] && c != ',')
            flags[n++] = (char)c;
    flags[n] = '\0';
    out = malloc(len + 3 + n + 1);
    if (out) {
        memcpy(out, e->name, len);
        memcpy(out + len, ":2,", 3);
        memcpy(out + len + 3, flags, n + 1);
    }
    return out;
}

static nt_err
maildir_finish(nt_mailbox *mb, size_t i, nt_mailbox_disp disp, nt_diag *d)
{
    maildir *md = (maildir *)mb;
    entry *e = &md->e[i];
    char *to = done_name(e, disp == NT_MAILBOX_UNKNOWN ? "FS" : "S");

    if (!to)
        return nt_diag_set(d, NT_ENOMEM, mb->name, 0, 0, "out of memory");
    if (renameat(e->in_cur ? md->curfd : md->newfd, e->name, md->curfd, to) != 0) {
        int saved = errno;
        nt_err err = nt_diag_set(d, saved == ENOENT ? NT_ENOTFOUND : NT_EIO, mb->name, 0, 0,
                                 "cannot rename %s/%s to cur/%s: %s", e->in_cur ? "cur" : "new",
                                 e->name, to, strerror(saved));
        free(to);
        return err;
    }
    free(e->name);
    e->name = to;
    e->in_cur = 1;
    return NT_OK;
}

static void
maildir_close(nt_mailbox *mb)
{
    maildir *md = (maildir *)mb;
    size_t i;

    for (i = 0; i < md->n; i++)
        free(md->e[i].name);
    free(md->e);
    if (md->newfd >= 0)
        close(md->newfd);
    if (md->curfd >= 0)
        close(md->curfd);
    free(md);
}

static const nt_mailbox_ops maildir_ops = {
    .key = maildir_key,
    .fetch = maildir_fetch,
    .finish = maildir_finish,
    .close = maildir_close,
};

/* Open sub (tmp, new or cur) of the folder; a clear error when missing. */
static nt_err
open_sub(maildir *md, int top, const char *sub, int *fd, nt_diag *d)
{
    *fd = openat(top, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd >= 0)
        return NT_OK;
    if (errno == ENOENT || errno == ENOTDIR)
        return nt_diag_set(d, NT_ECONFIG, md->base.name, 0, 0,
                           "not a Maildir folder: it has no %s/ folder (a Maildir holds tmp/, "
                           "new/ and cur/)",
                           sub);
    return nt_diag_set(d, NT_EIO, md->base.name, 0, 0, "cannot open %s/: %s", sub, strerror(errno));
}

static nt_err
open_dirs(maildir *md, const char *path, nt_diag *d)
{
    int top = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), tmpfd = -1;
    nt_err err;

    if (top < 0)
        return nt_diag_set(d, errno == ENOENT || errno == ENOTDIR ? NT_ECONFIG : NT_EIO,
                           md->base.name, 0, 0, "cannot open the Maildir folder: %s",
                           strerror(errno));
    err = open_sub(md, top, "tmp", &tmpfd, d);
    if (err == NT_OK)
        err = open_sub(md, top, "new", &md->newfd, d);
    if (err == NT_OK)
        err = open_sub(md, top, "cur", &md->curfd, d);
    if (tmpfd >= 0)
        close(tmpfd);
    close(top);
    return err;
}

nt_err
nt_mailbox_maildir_open(const nt_mailbox_opts *o, nt_mailbox **out, nt_diag *d)
{
    maildir *md = calloc(1, sizeof(*md));
    nt_err err;

    if (!md)
        return nt_diag_set(d, NT_ENOMEM, o->path, 0, 0, "out of memory");
    md->base.ops = &maildir_ops;
    md->newfd = md->curfd = -1;
    nt_mailbox_set_name(&md->base, o->path);
    err = open_dirs(md, o->path, d);
    if (err == NT_OK)
        err = scan(md, md->newfd, 0, d);
    if (err == NT_OK)
        err = scan(md, md->curfd, 1, d);
    if (err != NT_OK) {
        maildir_close(&md->base);
        return err;
    }
    if (md->n)
        qsort(md->e, md->n, sizeof(*md->e), cmp_entry);
    md->base.count = md->n;
    *out = &md->base;
    return NT_OK;
}
