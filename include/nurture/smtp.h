/*
 * Sending mail over SMTP (libesmtp underneath; nothing else includes it).
 *
 * One nt_smtp holds what every connection to the relay shares: the server,
 * the TLS mode and trusted CAs, the AUTH credentials, the EHLO name and the
 * timeout.  nt_smtp_send() delivers a batch of messages over one connection
 * and reports, for each message, the server's own reply to that message's
 * recipient, so that the caller decides per message: 2xx sent, 5xx refused
 * for good, 4xx try later, 0 unknown (no answer: the message may or may not
 * have been accepted).
 *
 * TLS: STARTTLS only (libesmtp has no implicit TLS on port 465).  With TLS
 * required or opportunistic, the server's certificate is always verified
 * against the system's CAs (plus smtp.ca_file, or nt_smtp_set_ca_file()) and against the
 * configured host name or IP address; a certificate that fails ends the
 * conversation before anything is sent.  Opportunistic only means that a
 * server offering no STARTTLS at all is used in plain text.  TLS 1.2 only:
 * libesmtp deadlocks on TLS 1.3's post-handshake session tickets (see
 * make_ctx in smtp.c).
 *
 * Process-wide effects, once, from the first nt_smtp_new(): SIGPIPE is set
 * to SIG_IGN if it was SIG_DFL (libesmtp writes to sockets with write(),
 * not send(MSG_NOSIGNAL), and a server closing the connection would
 * otherwise kill the process).  A program that handles SIGPIPE itself keeps
 * its handler.  The library also defines connect() (see src/netio.h): it
 * sets TCP_NODELAY and a connect timeout on the connections nt_smtp opens
 * and passes every other connect() through unchanged.
 */
#ifndef NURTURE_SMTP_H
#define NURTURE_SMTP_H

#include <stddef.h>

#include "nurture/buf.h"
#include "nurture/config.h"
#include "nurture/error.h"

/* Which command `code` answers. */
typedef enum nt_smtp_stage {
    NT_SMTP_STAGE_NONE = 0, /* no answer (code 0) */
    NT_SMTP_STAGE_LOCAL,    /* refused here, never sent (see nt_smtp_send) */
    NT_SMTP_STAGE_MAIL,     /* the server refused the sender (MAIL FROM) */
    NT_SMTP_STAGE_RCPT,     /* the server refused the recipient (RCPT TO) */
    NT_SMTP_STAGE_DATA,     /* the reply to the message itself (DATA / end of data) */
} nt_smtp_stage;

/* One message to one recipient. */
typedef struct nt_outmsg {
    const char *envelope_from; /* VERP return path; borrowed for the call; "" = null sender */
    const char *rcpt;          /* borrowed for the call */
    const char *data;          /* the whole RFC 5322 message, CRLF line ends; borrowed */
    size_t len;
    /* Filled by nt_smtp_send: */
    int code;            /* the server's reply for this recipient (250, 451, 550...);
                          * 0 = no answer: never attempted, or the connection was lost
                          * before the reply to the end of DATA */
    nt_smtp_stage stage; /* which command `code` answers */
    char enhanced[16];   /* "5.1.1" when the server sent one (advertised or not), else "" */
    char text[256];      /* the reply text, without code and enhanced code; printable
                          * ASCII only (control characters and line breaks become one
                          * space, other bytes '?') */
} nt_outmsg;

/* Largest message nt_smtp_send passes on (larger ones are refused locally). */
#define NT_SMTP_MAX_MESSAGE ((size_t)64 << 20)

typedef struct nt_smtp nt_smtp;

/*
 * Check cfg and prepare connections to cfg->host.  password is used when
 * cfg->username is set (NULL or "" then means AUTH with an empty password);
 * it is copied, and wiped when the nt_smtp is freed.  cfg is copied too:
 * nothing is borrowed.  NT_ECONFIG with a diag for a value libesmtp cannot
 * use (IPv6 literal, CR/LF in a name...), NT_ENOMEM.  On success *out is
 * owned by the caller: nt_smtp_free.
 */
nt_err nt_smtp_new(const nt_smtp_config *cfg, const char *password, nt_smtp **out, nt_diag *d);

/* NULL is fine. */
void nt_smtp_free(nt_smtp *s);

/*
 * Trust the CA certificates in the PEM file at path, in addition to the
 * system's (for a private relay, or the tests' self-signed certificate).
 * NT_EINVAL with a diag when the file cannot be loaded; NT_OK and no effect
 * when TLS is off.  Call before sending, not concurrently with it.
 */
nt_err nt_smtp_set_ca_file(nt_smtp *s, const char *path, nt_diag *d);

/*
 * Deliver msgs[0..n) over ONE connection (one libesmtp session), in order,
 * each message to its one recipient, and fill code/stage/enhanced/text of
 * each.  Each outcome comes from that recipient's own status (and the reply
 * to its DATA), never from the session's return value.  A 4xx recipient is
 * reported as such and is not tried again within the call: retrying is the
 * caller's decision.
 *
 * Refused locally, without connecting (stage NT_SMTP_STAGE_LOCAL): a rcpt
 * that SMTP cannot carry (empty, control characters, space, '<', '>',
 * non-ASCII) gets 553 5.1.3; a message larger than NT_SMTP_MAX_MESSAGE
 * gets 552 5.3.4.  An invalid envelope_from is a caller bug: NT_EINVAL for
 * the whole call, nothing sent.
 *
 * NT_OK when a conversation took place (at least one MAIL FROM was sent),
 * even if every recipient was refused; when the connection was lost part
 * way, the messages without an answer have code 0 and d (if given) holds a
 * NT_SEV_WARNING saying what happened.  NT_OK too when there was nothing to
 * send (n == 0, or every message refused locally).  An error with a diag
 * when no conversation took place, and then every code is 0:
 *   NT_EIO      the server could not be reached, timed out, refused the
 *               greeting or EHLO, or dropped the connection;
 *   NT_ECONFIG  TLS required but not offered, certificate rejected, AUTH
 *               failed or not offered although a username is configured.
 * Blocks for the whole conversation.  Safe to call from several threads at
 * once with different nt_smtp objects.
 */
nt_err nt_smtp_send(nt_smtp *s, nt_outmsg *msgs, size_t n, nt_diag *d);

/*
 * For `nurture doctor`: connect, EHLO, STARTTLS (as configured), AUTH (if
 * a username is configured), then hang up before MAIL FROM: nothing is
 * sent.  Appends to report, one "what: result" line each, what the server
 * offered (greeting, extensions before and after STARTTLS, AUTH mechanisms,
 * TLS cipher) and what failed.  The password never appears.  NT_OK when
 * every configured step worked; otherwise the error nt_smtp_send would
 * return, with a diag.
 */
nt_err nt_smtp_check(nt_smtp *s, nt_buf *report, nt_diag *d);

#endif
