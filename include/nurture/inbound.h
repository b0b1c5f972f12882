/*
 * What happens to a message that comes back: stored, classified,
 * attributed, acted on, once.
 *
 * For each message, in one transaction:
 *
 *   1. dedupe: a message stored before (same Message-ID and body hash,
 *      whichever mailbox it came through) is not acted on again;
 *   2. parse (mime.h) and classify (classify.h);
 *   3. attribute (attribute.h): a verified token names the send, and so the
 *      lead, campaign and step; failing that, a reply, auto-reply or
 *      unsubscribe from a lead's own address names the lead.  Bounces and
 *      complaints act only on a verified token;
 *   4. act:
 *        hard bounce   suppress the address, end its campaigns
 *        soft bounce   recorded; suppress after soft_bounce_limit within
 *                      soft_bounce_window
 *        policy block  (5.7.x, DMARC, reputation) pause the sender for a
 *                      day and report it; the lead is not blamed
 *        auto-reply    hold the lead's sequences until the day after the
 *                      stated return date (away_pause when none; at most
 *                      NT_AWAY_MAX)
 *        unsubscribe   suppress the address everywhere, end its campaigns
 *        complaint     likewise, and report it
 *        reply         end the lead's sequences; an engagement event
 *                      ("replied") with the intent and the visible text
 *        unknown       kept for review
 *   5. store the raw message with the decision and the action taken.
 *
 * A crash anywhere leaves either nothing (the message is read again next
 * time) or everything.
 */
#ifndef NURTURE_INBOUND_H
#define NURTURE_INBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "nurture/classify.h"
#include "nurture/config.h"
#include "nurture/error.h"
#include "nurture/store.h"
#include "nurture/token.h"

/* Longest hold an out-of-office can put on a lead's sequences. */
#define NT_AWAY_MAX (90 * INT64_C(86400))
/* How long a policy or reputation block holds a sender's mail. */
#define NT_POLICY_PAUSE INT64_C(86400)

/* What processing needs; all borrowed. */
typedef struct nt_inbound_env {
    nt_store *st;
    const nt_config *cfg;
    const nt_classifier *cls;
    const nt_token_key *key; /* ready; or NULL, and then no token verifies */
    int64_t now;
} nt_inbound_env;

/* Where one message came from; all borrowed, any may be NULL but source. */
typedef struct nt_inbound_src {
    const char *source;        /* "stdin", "maildir", "mbox", "imap", "pop3" */
    const char *key;           /* its key in the mailbox */
    const char *envelope_rcpt; /* the address the MTA delivered to */
} nt_inbound_src;

typedef struct nt_inbound_outcome {
    int64_t id;       /* the stored message */
    int duplicate;    /* stored before: nothing was done again */
    nt_inkind kind;   /* its kind (for a duplicate, as stored) */
    int64_t lead_id;  /* 0 when not attributed */
    int forged;       /* carried a token that did not verify */
    char action[512]; /* what was done, for people */
} nt_inbound_outcome;

/*
 * Process raw[0..len) (borrowed).  NT_OK with out filled, including for a
 * message nothing could be made of (kept as unknown); store errors (NT_EBUSY
 * and NT_ESTORE: transient, the caller retries later) and NT_ENOMEM roll
 * everything back.
 */
nt_err nt_inbound_process(const nt_inbound_env *env, const nt_inbound_src *src, const char *raw,
                          size_t len, nt_inbound_outcome *out, nt_diag *d);

/*
 * Classify stored message `id` again with env's rules.  When the kind
 * changed and apply is set, act on the new decision and record it (the
 * previous action is not undone: `lead unsuppress` does that); without
 * apply nothing is written.  *before gets the stored kind.
 */
nt_err nt_inbound_reclassify(const nt_inbound_env *env, int64_t id, int apply, nt_inkind *before,
                             nt_inbound_outcome *out, nt_diag *d);

/* Hex SHA-256 of the body of raw[0..len) (after the header, CRLF as LF):
 * the same message read through two mailboxes, with different trace
 * headers, hashes the same.  out has room for 65 bytes. */
void nt_inbound_body_hash(const char *raw, size_t len, char out[65]);

#endif
