/*
 * A logged-in connection to an IMAP or POP3 server, made by libcurl.
 *
 * libcurl parses the URL, connects, negotiates TLS (imaps://, pop3s://, or
 * STARTTLS), and logs in (SASL or LOGIN/USER-PASS, whatever the server
 * offers).  From then on the connection is a byte stream: the IMAP and POP3
 * backends send their own commands and read the replies here, line by line
 * or by byte count, each wait bounded by the timeout.  Internal to the
 * library; src/mailbox_curl.c is the only file that includes <curl/curl.h>.
 *
 * Errors go into the diag with file = the connection's name (the URL
 * without credentials) and a message that starts with the step, e.g.
 * "imap://127.0.0.1:1430/INBOX: UID FETCH 7: the server closed the
 * connection".  After an I/O error the connection is dead: every further
 * call fails at once with NT_EIO.
 */
#ifndef NURTURE_MAILCONN_H
#define NURTURE_MAILCONN_H

#include <stddef.h>

#include "nurture/buf.h"
#include "nurture/mailbox.h"

typedef struct nt_mailconn nt_mailconn;

typedef enum nt_mailconn_proto {
    NT_MAILCONN_IMAP, /* imap:// or imaps:// */
    NT_MAILCONN_POP3, /* pop3:// or pop3s:// */
} nt_mailconn_proto;

/*
 * Check o->url for proto and write its printable name (scheme, host, port,
 * path; never credentials) into name[namesz] -- also on failure, as soon as
 * the URL parses, so that the caller can name the source -- and the URL's
 * path, percent-decoded, without the leading '/', into path[pathsz] ("" for
 * none).  Then connect and log in with o->username and o->password (copied
 * into libcurl's handle for the session), o->ca_file and o->timeout_ms.
 * On success *out is owned by the caller: nt_mailconn_close.
 * NT_ECONFIG: bad URL, login refused, TLS required but not offered,
 * certificate not trusted.  NT_EIO: unreachable, timed out, dropped.
 */
nt_err nt_mailconn_open(const nt_mailbox_opts *o, nt_mailconn_proto proto, char *name,
                        size_t namesz, char *path, size_t pathsz, nt_mailconn **out, nt_diag *d);

/* Send p[0..n) (borrowed for the call).  step names what is being done,
 * for the diag ("UID FETCH 7"). */
nt_err nt_mailconn_send(nt_mailconn *c, const void *p, size_t n, const char *step, nt_diag *d);

/* Append the next line, through its '\n', to line.  A line longer than max
 * bytes is NT_ELIMIT (the connection is then dead: the stream is out of
 * step). */
nt_err nt_mailconn_getline(nt_mailconn *c, nt_buf *line, size_t max, const char *step, nt_diag *d);

/* Append exactly n bytes to out, or read and drop them when out is NULL. */
nt_err nt_mailconn_read(nt_mailconn *c, nt_buf *out, size_t n, const char *step, nt_diag *d);

/* Mark the connection unusable (the caller lost track of the stream):
 * every further call fails at once, the goodbye at close included. */
void nt_mailconn_kill(nt_mailconn *c);

/* Disconnect and free; NULL is fine.  libcurl sends nothing on a
 * connection it lent out, so the backend logs out (LOGOUT, QUIT) first. */
void nt_mailconn_close(nt_mailconn *c);

/* curl_global_init, once per process. */
void nt_mailconn_global_init(void);

#endif
