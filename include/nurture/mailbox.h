/*
 * Mailbox sources for inbound mail: one iterator over a Maildir folder, an
 * mbox file, an IMAP mailbox or a POP3 maildrop.
 *
 * A session goes: nt_mailbox_open, then nt_mailbox_next until NT_ENOTFOUND;
 * for each message the caller either skips it (it already stored that key),
 * or calls nt_mailbox_fetch for the raw bytes, stores them, and then
 * nt_mailbox_finish to mark it done; at the end nt_mailbox_state (IMAP) and
 * nt_mailbox_close.  nt_mailbox_next gives the key before anything is
 * downloaded, so a message seen before costs no transfer.
 *
 * Nothing is ever deleted, and a message is only marked done by finish:
 *
 *   Maildir  lists new/ and those messages of cur/ that lack the S (seen)
 *            flag, sorted by file name.  finish renames the file, atomically,
 *            to cur/<unique>:2,<flags> with S added (processed), or F and S
 *            added (unknown: "flagged" in a mail client, for review).  Other
 *            flags are kept.  A message read in a mail client (S set) before
 *            nurture saw it is not listed: give nurture a mailbox of its own.
 *   mbox     reads the file, never writes it; finish does nothing, so the
 *            caller's store must dedupe by key.  A message begins at a line
 *            "From " at the start of the file or after a blank line; the
 *            blank line before the next "From " line is the separator, not
 *            part of the message.  ">From " lines are unescaped the mboxrd
 *            way (one '>' removed from any ">>...From " line).  LF and CRLF
 *            files both work; line ends are passed on as found.  The file is
 *            mapped, not read, and a shared fcntl lock is held until close
 *            (writers that lock the same way wait; see nt_mailbox_open).
 *   IMAP     SELECTs the mailbox, lists UIDs above the remembered last_uid
 *            (all of them when UIDVALIDITY changed), fetches with BODY.PEEK[]
 *            (the original keeps its flags), and finish moves the message
 *            with UID MOVE into processed_folder or unknown_folder, creating
 *            the folder first if needed.  A server without MOVE gets UID COPY,
 *            then UID STORE +FLAGS (\Seen $Processed) on the original, which
 *            stays in the mailbox; messages with $Processed are not listed.
 *            Nothing is expunged.
 *   POP3     lists with UIDL, fetches with RETR, never sends DELE; finish does
 *            nothing (POP3 has no folders), so the caller dedupes by key.
 *
 * IMAP and POP3 go through libcurl (src/mailbox_curl.c): curl connects,
 * negotiates TLS and logs in; the commands after login are ours, because
 * curl 7.88 fetches with BODY[] (which sets \Seen) and hands a custom
 * command's literal data on only line by line, and only lines that start
 * with "* ".  One connection serves the whole session.  TLS: imaps:// and
 * pop3s:// are TLS from the start; imap:// and pop3:// require STARTTLS,
 * except to 127.0.0.1, localhost and ::1 where it is used when offered.
 * Certificates are checked against ca_file and the system's CAs (ca_file
 * replaces libcurl's CA bundle, while its CA folder, /etc/ssl/certs in
 * Debian's libcurl, stays in use).
 *
 * Errors: the diag's file is the source (the path, or the URL without any
 * user name or password) and its message says which step failed and the
 * server's reply, never the password.  Codes:
 *   NT_ENOTFOUND  nt_mailbox_next: no more messages (not an error);
 *                 nt_mailbox_fetch/finish: the message is gone (another
 *                 client moved or expunged it).
 *   NT_EIO        transient: the server could not be reached, timed out,
 *                 dropped the connection, refused a command, or a file
 *                 could not be read or renamed.  Try again later; every
 *                 message is still in the mailbox or already in its folder.
 *                 After an NT_EIO from the network the connection is
 *                 gone: fetch and finish return NT_EIO (next still lists
 *                 keys); close the session.
 *   NT_ECONFIG    wrong settings: bad URL or scheme, login refused, TLS
 *                 required but not offered, certificate not trusted, no
 *                 such mailbox, a folder that is the mailbox itself, not a
 *                 Maildir, POP3 server without UIDL.
 *   NT_EINVAL     not an mbox file; a call out of order.
 *   NT_ELIMIT     the message is larger than NT_MAILBOX_MAX_MESSAGE (fetch;
 *                 the session goes on, and the message can still be finished).
 *   NT_EBUSY      the mbox file stayed locked by a writer for timeout_ms.
 *   NT_ENOMEM
 *
 * One nt_mailbox is used by one thread at a time.  libcurl is initialised
 * once per process (pthread_once) by the first IMAP or POP3 open; a program
 * that starts threads which use libcurl on their own should call
 * nt_mailbox_global_init() first.
 */
#ifndef NURTURE_MAILBOX_H
#define NURTURE_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include "nurture/error.h"

/* Largest message nt_mailbox_fetch returns (NT_ELIMIT above). */
#define NT_MAILBOX_MAX_MESSAGE ((size_t)64 << 20)
/* Room for the longest key: "maildir:" and a 255-byte file name. */
#define NT_MAILBOX_KEY_MAX 272

typedef enum nt_mailbox_kind {
    NT_MAILBOX_MAILDIR,
    NT_MAILBOX_MBOX,
    NT_MAILBOX_IMAP,
    NT_MAILBOX_POP3,
} nt_mailbox_kind;

/* Everything is borrowed for the nt_mailbox_open call only. */
typedef struct nt_mailbox_opts {
    nt_mailbox_kind kind;
    const char *path;             /* MAILDIR: the folder holding tmp/ new/ cur/; MBOX: the file */
    const char *url;              /* IMAP: imap://host[:port]/MAILBOX or imaps://... (no MAILBOX
                                   * = INBOX); POP3: pop3://host[:port] or pop3s://... */
    const char *username;         /* IMAP, POP3 */
    const char *password;         /* IMAP, POP3; used to log in, not kept */
    const char *ca_file;          /* extra CA certificates (PEM) to trust, or NULL */
    const char *processed_folder; /* IMAP; NULL = "Processed" */
    const char *unknown_folder;   /* IMAP; NULL = "Unknown" */
    long timeout_ms;              /* longest wait for the server at any one point (connect, each
                                   * reply, a stalled transfer) and for an mbox lock; <= 0 = 30 s */
    /* IMAP: the state as nt_mailbox_state gave it last time; 0, 0 at first. */
    uint64_t uidvalidity;
    uint64_t last_uid;
} nt_mailbox_opts;

typedef struct nt_mailbox nt_mailbox;

/* One message of the session.  Filled by nt_mailbox_next. */
typedef struct nt_mailmsg {
    /* Stable and unique within the source, printable ASCII without spaces:
     *   "maildir:<file name without the :2,flags part>"
     *   "mbox:<byte offset of its From line>:<16 hex digits of a content hash>"
     *   "imap:<uidvalidity>:<uid>"
     *   "pop3:<uidl>" */
    char key[NT_MAILBOX_KEY_MAX];
    uint64_t uid;    /* IMAP: the UID; POP3: the message number; 0 for files */
    size_t index;    /* position in this session's list, from 0 */
    const char *raw; /* after nt_mailbox_fetch: the message as stored (line ends as
                      * found; mbox escapes undone); owned by the mailbox, valid until
                      * the next nt_mailbox_next/fetch/close; NULL before */
    size_t len;
} nt_mailmsg;

typedef enum nt_mailbox_disp {
    NT_MAILBOX_PROCESSED, /* handled: IMAP processed_folder; Maildir S flag */
    NT_MAILBOX_UNKNOWN,   /* kept for a person: IMAP unknown_folder; Maildir F and S flags */
} nt_mailbox_disp;

/*
 * Initialise libcurl for the process (curl_global_init), once, however
 * often it is called.  Optional: the first IMAP or POP3 open does it.
 */
void nt_mailbox_global_init(void);

/*
 * Open a session: check the folder or file (Maildir, mbox), or connect and
 * log in (IMAP, POP3), and make the list of messages to go through.  mbox:
 * waits up to timeout_ms for a shared lock on the file.  On success *out is
 * owned by the caller: nt_mailbox_close.  On error *out is NULL and d says
 * why (see the codes above).
 */
nt_err nt_mailbox_open(const nt_mailbox_opts *o, nt_mailbox **out, nt_diag *d);

/*
 * The next message: fills m->key, m->uid and m->index, sets m->raw to NULL,
 * downloads nothing.  NT_ENOTFOUND at the end of the list.  m is the
 * caller's; pass the same m to fetch and finish.
 */
nt_err nt_mailbox_next(nt_mailbox *mb, nt_mailmsg *m, nt_diag *d);

/*
 * The raw message for m (from the last nt_mailbox_next): sets m->raw and
 * m->len, which stay owned by mb (valid until the next next/fetch/close).
 * Marks nothing as read.
 */
nt_err nt_mailbox_fetch(nt_mailbox *mb, nt_mailmsg *m, nt_diag *d);

/*
 * Mark m done (see the top of this file for what that means per kind).  m
 * is any message this session listed, fetched or not, in any order; m is
 * borrowed for the call.  Finishing a message twice is NT_EINVAL.
 */
nt_err nt_mailbox_finish(nt_mailbox *mb, const nt_mailmsg *m, nt_mailbox_disp disp, nt_diag *d);

/*
 * IMAP: the UIDVALIDITY seen at open, and the highest UID up to which every
 * listed message was finished in this session (or the one passed in, when
 * the UIDVALIDITY is unchanged and nothing new was finished; 0 after a
 * UIDVALIDITY change).  A message fetched but not finished keeps last_uid
 * below its UID, so the next session offers it again.  Store both and pass
 * them back in nt_mailbox_opts next time.  Other kinds: 0, 0.  Either
 * pointer may be NULL.
 */
void nt_mailbox_state(const nt_mailbox *mb, uint64_t *uidvalidity, uint64_t *last_uid);

/* How many messages this session lists, for a progress line. */
size_t nt_mailbox_count(const nt_mailbox *mb);

/* The source as shown in messages: the path, or the URL without user name
 * or password.  Borrowed from mb, valid until nt_mailbox_close. */
const char *nt_mailbox_name(const nt_mailbox *mb);

/* End the session (IMAP and POP3: log out and disconnect) and free mb.
 * NULL is fine.  Messages not finished stay where they are. */
void nt_mailbox_close(nt_mailbox *mb);

#endif
