/*
 * Our own connect(), so that libesmtp's connections get TCP_NODELAY and a
 * connect timeout although libesmtp never exposes its socket.
 *
 * libesmtp writes through a 2048-byte buffer and never sets TCP_NODELAY, so
 * the tail of any message above about 2 KB sits in the kernel until the
 * server's delayed ACK (Nagle): about 23 messages/s per connection instead
 * of thousands.  libesmtp calls connect() through the dynamic linker, and a
 * definition in the executable comes first in the lookup order, so the
 * connect() below sees the socket right before the handshake.  It calls the
 * next definition (libc's, or a sanitizer's) found with dlsym(RTLD_NEXT).
 *
 * Outside a scope opened with nt_netio_begin() it only passes the call on,
 * so libcurl, the resolver and everything else in the process keep the
 * system behaviour.  smtp.c references nt_netio_begin(), which is what pulls
 * this object out of the static library and into every program that sends
 * mail; nt_netio_interposed() checks that the exported symbol is the one
 * shared libraries reach.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "netio.h"

#include "banned.h"

/* glibc declares these only under _GNU_SOURCE, which would also turn the
 * sockaddr argument of connect() into a transparent union and make our
 * definition clash with the system prototype.  The values are glibc's. */
#ifndef RTLD_NEXT
#define RTLD_NEXT ((void *)-1l)
#endif
#ifndef RTLD_DEFAULT
#define RTLD_DEFAULT ((void *)0)
#endif

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static connect_fn real_connect;
static atomic_ulong nodelay_count;

/* Per thread: libesmtp runs its whole conversation in the calling thread. */
static _Thread_local int scope_active;
static _Thread_local long scope_timeout_ms;
static _Thread_local int scope_fd = -1;

static void
find_real_connect(void)
{
    void *p = dlsym(RTLD_NEXT, "connect");

    /* ISO C has no cast from object to function pointer; POSIX guarantees
     * the representation is the same. */
    memcpy(&real_connect, &p, sizeof(real_connect));
}

void
nt_netio_begin(long timeout_ms)
{
    scope_active = 1;
    scope_timeout_ms = timeout_ms;
    scope_fd = -1;
}

void
nt_netio_end(void)
{
    scope_active = 0;
    scope_timeout_ms = 0;
}

int
nt_netio_last_fd(void)
{
    return scope_fd;
}

unsigned long
nt_netio_nodelay_count(void)
{
    return atomic_load(&nodelay_count);
}

int
nt_netio_interposed(void)
{
    void *p = dlsym(RTLD_DEFAULT, "connect");
    connect_fn ours = connect;
    void *q;

    memcpy(&q, &ours, sizeof(q));
    return p != NULL && p == q;
}

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A blocking connect that gives up after timeout_ms. */
static int
connect_with_timeout(int fd, const struct sockaddr *addr, socklen_t len, long timeout_ms)
{
    int flags = fcntl(fd, F_GETFL);
    int rc, err = 0, saved;
    socklen_t errlen = sizeof(err);
    long deadline;

    if (flags < 0 || (flags & O_NONBLOCK))
        return real_connect(fd, addr, len);
    if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return real_connect(fd, addr, len);
    rc = real_connect(fd, addr, len);
    if (rc < 0 && errno == EINPROGRESS) {
        deadline = now_ms() + timeout_ms;
        for (;;) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            long left = deadline - now_ms();
            int n;

            if (left <= 0) {
                err = ETIMEDOUT;
                break;
            }
            n = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                err = errno;
                break;
            }
            if (n == 0)
                continue; /* the deadline check above ends the wait */
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
                err = errno;
            break;
        }
        rc = err ? -1 : 0;
    } else if (rc < 0) {
        err = errno;
    }
    saved = err;
    fcntl(fd, F_SETFL, flags);
    errno = saved;
    return rc;
}

/*
 * The interposed definition.  Everything it adds is best effort: an option
 * that cannot be set leaves the connection as the system would make it.
 */
int
connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int type = 0, one = 1, rc, saved = errno;
    socklen_t tlen = sizeof(type);

    pthread_once(&real_once, find_real_connect);
    if (!real_connect) {
        errno = ENOSYS;
        return -1;
    }
    if (!scope_active || !addr || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_STREAM) {
        errno = saved;
        return real_connect(fd, addr, len);
    }
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0)
        atomic_fetch_add(&nodelay_count, 1);
    errno = saved;
    if (scope_timeout_ms > 0)
        rc = connect_with_timeout(fd, addr, len, scope_timeout_ms);
    else
        rc = real_connect(fd, addr, len);
    if (rc == 0)
        scope_fd = fd;
    return rc;
}
