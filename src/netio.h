/*
 * Socket options for connections that a library opens on our behalf.
 *
 * libesmtp opens its own TCP connection and never exposes the socket, yet
 * it needs TCP_NODELAY (without it every message above about 2 KB waits for
 * the server's delayed ACK: ~23 messages/s instead of thousands) and a
 * connect timeout.  netio.c therefore defines connect() itself; the dynamic
 * linker binds libesmtp's connect() calls to it.  It only changes anything
 * inside a scope opened by the calling thread, so other libraries (libcurl,
 * the resolver) keep the system behaviour.
 *
 * Internal to the library: only smtp.c uses it.
 */
#ifndef NURTURE_NETIO_H
#define NURTURE_NETIO_H

/*
 * From now until nt_netio_end(), every TCP connect() made by this thread
 * gets TCP_NODELAY, and gives up after timeout_ms (<= 0: the system's own
 * timeout).  Scopes do not nest.
 */
void nt_netio_begin(long timeout_ms);

/* Close the scope opened by nt_netio_begin() in this thread. */
void nt_netio_end(void);

/* The socket of the last TCP connection this thread opened inside its
 * current or last scope, or -1.  Borrowed: it belongs to whoever connected
 * it (libesmtp), and may be closed already once that call has returned. */
int nt_netio_last_fd(void);

/* How many sockets, in the whole process, got TCP_NODELAY from a scope.
 * Lets a test prove that libesmtp's connect() really came through here. */
unsigned long nt_netio_nodelay_count(void);

/* 1 when the connect() that shared libraries reach is the one in netio.c
 * (the executable exports it), 0 when they bypass it. */
int nt_netio_interposed(void);

#endif
