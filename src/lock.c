/*
 * The run lock (see lock.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "nurture/lock.h"

#include "banned.h"

nt_err
nt_lock_acquire(nt_lock *l, const char *db_path, nt_diag *d)
{
    char path[4200], pid[32] = "";
    ssize_t n;
    int len;

    l->fd = -1;
    snprintf(path, sizeof(path), "%s.lock", db_path);
    l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (l->fd < 0)
        return nt_diag_set(d, NT_EIO, path, 0, 0, "cannot open the run lock: %s", strerror(errno));
    if (flock(l->fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        n = pread(l->fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(l->fd);
        l->fd = -1;
        if (e == EWOULDBLOCK)
            return nt_diag_set(d, NT_EBUSY, path, 0, 0,
                               "another nurture run is in progress (pid %s); this one exits "
                               "without sending",
                               pid[0] ? pid : "unknown");
        return nt_diag_set(d, NT_EIO, path, 0, 0, "cannot take the run lock: %s", strerror(e));
    }
    len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(l->fd, 0) != 0 || pwrite(l->fd, pid, (size_t)len, 0) != len) {
        /* The pid is only informative; the lock itself is held. */
    }
    return NT_OK;
}

void
nt_lock_release(nt_lock *l)
{
    if (l->fd >= 0) {
        flock(l->fd, LOCK_UN);
        close(l->fd);
    }
    l->fd = -1;
}
