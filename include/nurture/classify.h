/*
 * What an inbound message is: the classifier.
 *
 * One decision per message, taken in a fixed order so that the expensive
 * mistakes of other tools cannot happen (an out-of-office is never a
 * bounce, a reputation block is never an unknown user):
 *
 *   1. complaint     an RFC 5965 feedback report (ARF)
 *   2. bounce        an RFC 3464 DSN or a non-standard MTA notice (bounce.h)
 *   3. auto-reply    RFC 3834 Auto-Submitted, X-Autoreply, X-Autorespond,
 *                    Precedence auto_reply, or out-of-office phrases in the
 *                    subject or body (EN, DE, FR, ES, NL, IT, PT), with the
 *                    return date when the message states one
 *   4. unsubscribe   a request to stop: mail to our unsubscribe+TOKEN
 *                    address (To, Delivered-To, X-Original-To,
 *                    Envelope-To), a subject that asks, or a visible text of
 *                    at most 300 bytes that asks.  A longer reply that asks
 *                    stays a reply, with intent unsubscribe.
 *   5. reply         written by a person: the visible text (reply.h) and an
 *                    intent from the rules
 *   6. unknown       kept for review: no text of its own, a delivery report
 *                    that nothing failed, a read receipt, a newsletter or
 *                    no-reply mail (List-Id, List-Unsubscribe, Precedence
 *                    bulk/list/junk without In-Reply-To or References; a
 *                    noreply or mailer-daemon sender)
 *
 * Borders: a bounce needs a failed or delayed RFC 3464 block, or a notice
 * the bounce rules recognise; such a notice without a delivery-status part
 * that also matches an auto-reply subject or text rule is an automatic
 * reply (RFC 3834 replies come from the null sender, which the bounce rules
 * take for a notice).  Auto-Submitted alone does not overrule the bounce
 * rules, because MTAs put it on their own bounces.
 *
 * The phrases and intents are PCRE2 rules in a data file that users extend
 * without recompiling (contrib/rules/inbound.rules); the bounce and reply
 * rules are the files bounce.h and reply.h read.  Nothing here touches the
 * database or the network: attribution and actions are inbound.h's.
 */
#ifndef NURTURE_CLASSIFY_H
#define NURTURE_CLASSIFY_H

#include <stddef.h>

#include "nurture/bounce.h"
#include "nurture/error.h"
#include "nurture/mime.h"

typedef enum nt_inkind {
    NT_IN_UNKNOWN = 0,
    NT_IN_COMPLAINT,
    NT_IN_BOUNCE,
    NT_IN_AUTOREPLY,
    NT_IN_UNSUBSCRIBE,
    NT_IN_REPLY,
} nt_inkind;

/* "unknown", "complaint", "bounce", "auto-reply", "unsubscribe", "reply". */
const char *nt_inkind_name(nt_inkind k);
/* -1 when name is not a kind. */
int nt_inkind_from(const char *name);

typedef enum nt_intent {
    NT_INTENT_NONE = 0, /* no intent rule matched */
    NT_INTENT_INTERESTED,
    NT_INTENT_MEETING,
    NT_INTENT_PRICING,
    NT_INTENT_NOT_INTERESTED,
    NT_INTENT_WRONG_PERSON,
    NT_INTENT_UNSUBSCRIBE,
} nt_intent;

/* "none", "interested", "meeting", "pricing", "not-interested",
 * "wrong-person", "unsubscribe". */
const char *nt_intent_name(nt_intent i);
int nt_intent_from(const char *name);

/* The text of one rules file (borrowed for the call). */
typedef struct nt_rules_text {
    const char *name; /* file name for messages, e.g. "rules/inbound.rules" */
    const char *text;
    size_t len;
} nt_rules_text;

typedef struct nt_classifier nt_classifier;

/*
 * Build a classifier from the three rules files: bounce (bounce.h's format),
 * reply (reply.h's) and inbound (auto-reply phrases, return dates,
 * unsubscribe requests and intents; format at the top of
 * contrib/rules/inbound.rules).  Every bad line of any file goes into diags
 * with file:line:col and the classifier is refused (NT_EINVAL).  On NT_OK
 * *out is owned by the caller: nt_classifier_free().  Immutable once built:
 * one classifier may be shared by threads, each with its own scratch (the
 * classifier keeps none).
 */
nt_err nt_classifier_new(const nt_rules_text *bounce, const nt_rules_text *reply,
                         const nt_rules_text *inbound, nt_classifier **out, nt_diags *diags);
void nt_classifier_free(nt_classifier *c);

/* The decision.  Strings owned by the struct; nt_classification_release(). */
typedef struct nt_classification {
    nt_inkind kind;
    /* What decided, borrowed from the classifier or static: "arf"; "dsn" or
     * the bounce rule ("notice" when none is named); "header:auto-submitted",
     * "header:x-autoreply", "header:x-autorespond", "header:precedence" or
     * an auto-subject/auto-body rule; "address:unsubscribe" or an
     * unsubscribe rule; "text" for a reply; "empty", "report" or "bulk" for
     * unknown. */
    const char *rule;
    nt_bounce_result bounce; /* when kind is NT_IN_BOUNCE: recipients, status, reason, hard */
    char *feedback_type;     /* complaint: "abuse", "fraud"... */
    char return_date[11];    /* auto-reply: "YYYY-MM-DD" when stated, else "": the day
                                written ("back on X" and "until X" both give X) */
    nt_intent intent;        /* reply (and unsubscribe): the intent */
    const char *intent_rule; /* the intent rule's name, borrowed, or NULL */
    char *visible;           /* reply, unsubscribe: the visible text, UTF-8, NULL when none */
} nt_classification;

/*
 * Classify m.  Deterministic: depends only on m (its Date header anchors a
 * return date written without a year) and the rules.  NT_OK with out
 * filled (kind NT_IN_UNKNOWN when nothing fits); NT_ENOMEM; never fails on
 * content (a rule that hits its match limit counts as not matching).
 */
nt_err nt_classify(const nt_classifier *c, const nt_inmsg *m, nt_classification *out, nt_diag *d);

void nt_classification_release(nt_classification *cl);

#endif
