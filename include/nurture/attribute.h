/*
 * Which of our sends a message that came back answers.
 *
 * Tried in order, the first verified answer wins:
 *
 *   1. the VERP token in the address the message was delivered to (the
 *      envelope recipient when the MTA passes it, else Delivered-To,
 *      X-Original-To, Envelope-To, X-Envelope-To, To): bounces+TOKEN@...;
 *   2. the unsubscribe token in that address: unsubscribe+TOKEN@...;
 *   3. the Message-ID token in In-Reply-To, then in References (newest
 *      first);
 *   4. the Message-ID token of the original inside a DSN's returned part.
 *
 * Only a token whose MAC verifies names a send.  A candidate that does not
 * verify is a forgery: it is reported (forged, where) and ignored, and the
 * next method is tried.  Attribution by the sender's address, the last
 * resort, needs the lead list and is inbound.h's.  Pure: no store, no
 * clock.
 */
#ifndef NURTURE_ATTRIBUTE_H
#define NURTURE_ATTRIBUTE_H

#include <stdint.h>

#include "nurture/mime.h"
#include "nurture/token.h"

typedef enum nt_attr_method {
    NT_ATTR_NONE = 0,
    NT_ATTR_VERP,
    NT_ATTR_UNSUB_TOKEN,
    NT_ATTR_IN_REPLY_TO,
    NT_ATTR_REFERENCES,
    NT_ATTR_RETURNED_ID,
    NT_ATTR_SENDER, /* set by inbound.c */
} nt_attr_method;

/* "none", "verp", "unsubscribe-token", "in-reply-to", "references",
 * "returned-message-id", "sender". */
const char *nt_attr_method_name(nt_attr_method m);

typedef struct nt_attribution {
    nt_attr_method by;
    int64_t send_id;                 /* when by a token */
    char where[32];                  /* header the verified token was in, e.g. "Delivered-To" */
    char token[NT_TOKEN_MAX];        /* the verified token, or "" */
    int forged;                      /* some candidate did not verify */
    char forged_where[32];           /* the first such candidate's header */
    char forged_token[NT_TOKEN_MAX]; /* its text (truncated), for the record */
} nt_attribution;

/*
 * Attribute m.  k may be NULL or not ready (no secret configured): the
 * candidates are then reported as found, in token/where, with by =
 * NT_ATTR_NONE and forged = 0, since nothing can be verified.
 * envelope_rcpt (may be NULL) is the address the MTA delivered to.
 * bounce_local is the local part before "+TOKEN" in return paths
 * ("bounces").  Always succeeds.
 */
void nt_attribute(const nt_token_key *k, const nt_inmsg *m, const char *envelope_rcpt,
                  const char *bounce_local, nt_attribution *out);

#endif
