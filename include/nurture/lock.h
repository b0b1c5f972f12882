/*
 * The run lock: one `nurture run` at a time per database.
 *
 * An exclusive flock() on a file next to the database (DB.lock).  The
 * kernel drops it when the process dies, however it dies, so a crashed run
 * never leaves a stale lock behind.  The holder's pid is written into the
 * file so that the one refused can say who holds it.
 */
#ifndef NURTURE_LOCK_H
#define NURTURE_LOCK_H

#include "nurture/error.h"

typedef struct nt_lock {
    int fd; /* -1 when not held */
} nt_lock;

/*
 * Take the lock for database `db_path` without waiting.  NT_EBUSY (with a
 * diag naming the holder's pid when known) when another process holds it.
 * On NT_OK release it with nt_lock_release (or let the process end).
 */
nt_err nt_lock_acquire(nt_lock *l, const char *db_path, nt_diag *d);
void nt_lock_release(nt_lock *l);

#endif
