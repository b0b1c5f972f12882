/*
 * Webhooks: telling other systems what happened in the sales queue.
 *
 * Delivery is at least once and survives crashes and down endpoints: an
 * event is written to the outbox table in the same transaction as the
 * queue change that caused it (nt_webhook_enqueue), and delivered later by
 * nt_webhook_deliver (`nurture run` and `nurture webhooks deliver`), which
 * retries failures with exponential backoff.  Each message carries an
 * idempotency key, the same on every attempt, so a receiver can drop the
 * duplicates at-least-once implies, and an HMAC-SHA256 signature of its
 * body made with the webhook's secret.
 */
#ifndef NURTURE_WEBHOOK_H
#define NURTURE_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "nurture/config.h"
#include "nurture/error.h"
#include "nurture/lead.h"
#include "nurture/store.h"

/*
 * Queue event `ev` about entry `e` of lead `lead` (both borrowed) for every
 * configured webhook that subscribes to it, formatted for that webhook.
 * Call inside the transaction that changes the entry, so that the event is
 * recorded if and only if the change is.  Queuing the same event of the
 * same entry twice adds nothing.  The idempotency key of each message is
 * "q<entry id>-<event>-<webhook name>" (the name percent-encoded where it
 * has bytes other than letters, digits, '.', '_', '~' and '-'), also the
 * payload's "id".
 */
nt_err nt_webhook_enqueue(nt_store *st, const nt_config *cfg, nt_hook_event ev, const nt_qentry *e,
                          const nt_lead *lead, int64_t now, nt_diag *d);

typedef struct nt_webhook_stats {
    int64_t attempted; /* POSTs made */
    int64_t delivered; /* answered 2xx */
    int64_t retrying;  /* failed, to be tried again later */
    int64_t pending;   /* undelivered after this pass (due later or failing) */
} nt_webhook_stats;

/*
 * POST every outbox message due at `now` (at most limit; 0 = all) to its
 * webhook and record the outcome.  Endpoint failures are counted, not
 * returned: an error means the database or configuration failed.
 */
nt_err nt_webhook_deliver(nt_store *st, const nt_config *cfg, int64_t now, int64_t limit,
                          nt_webhook_stats *stats, nt_diag *d);

/* Seconds to wait after the attempts-th failed attempt (1 = the first):
 * 30 s, doubling each time, at most an hour. */
int64_t nt_webhook_backoff(int attempts);

/* "sha256=" and 64 hex digits, NUL-terminated. */
#define NT_WEBHOOK_SIG_SIZE 72

/*
 * The X-Nurture-Signature value of a message: "sha256=" and the hex
 * HMAC-SHA256, keyed with key[0..keylen), of "<timestamp>.<body>".
 * out must hold NT_WEBHOOK_SIG_SIZE bytes.  NT_ENOMEM when OpenSSL fails.
 */
nt_err nt_webhook_sign(const char *key, size_t keylen, int64_t timestamp, const char *body,
                       size_t bodylen, char *out);

#endif
