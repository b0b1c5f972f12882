/*
 * An inbound message, decoded: what the classifier and attribution read.
 *
 * Everything that comes back (replies, bounces, auto-replies, complaints)
 * is parsed here by GMime into one flat, UTF-8 view: the top-level headers
 * decoded (RFC 2047, charsets), the body text (text/plain, or HTML turned
 * into text when there is no plain part), and the machine-readable parts
 * of reports: RFC 3464 delivery-status fields per recipient, the headers of
 * the returned original (message/rfc822 or text/rfc822-headers) and an
 * RFC 5965 feedback report's type.  The only module that includes
 * <gmime/gmime.h> (src/mime*.c).  Untrusted input: sizes and nesting are
 * capped.
 */
#ifndef NURTURE_MIME_H
#define NURTURE_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "nurture/error.h"
#include "nurture/lead.h"

#define NT_INMSG_MAX_BYTES ((size_t)32 << 20) /* larger messages are refused */
#define NT_INMSG_MAX_DEPTH 16                 /* nested multiparts / rfc822 */

/* One recipient block of a message/delivery-status part (RFC 3464). */
typedef struct nt_dsn_rcpt {
    char *final_recipient;    /* address only, "rfc822;" removed; or NULL */
    char *original_recipient; /* likewise */
    char *action;             /* "failed", "delayed", "delivered", ... lower-case */
    char *status;             /* "5.1.1" */
    char *diagnostic;         /* Diagnostic-Code text, "smtp;" removed, unfolded */
    char *remote_mta;
} nt_dsn_rcpt;

/* All strings UTF-8, owned by the struct, NULL when absent. */
typedef struct nt_inmsg {
    char *message_id;  /* without <> */
    char *in_reply_to; /* without <> */
    char *references;  /* as written (a list of <ids>) */
    char *from_addr;   /* normalised address of From */
    char *from_name;
    char *to;          /* decoded To header */
    char *subject;     /* decoded */
    char *return_path; /* Return-Path address (envelope sender), may be "" for <> */
    char *auto_submitted;
    int64_t date;      /* 0 when missing or unreadable */
    nt_field *headers; /* every top-level header, decoded, in order; names as written */
    size_t nheaders;
    char *text;         /* the body as text: text/plain, else HTML turned into text */
    int text_from_html; /* 1 when text came from an HTML part */
    char *content_type; /* top-level "type/subtype" lower-case */
    char *report_type;  /* multipart/report's report-type, lower-case */
    nt_dsn_rcpt *dsn;   /* message/delivery-status recipient blocks */
    size_t ndsn;
    char *dsn_reporting_mta;
    char *returned_headers;    /* raw headers of the returned original message */
    char *returned_message_id; /* its Message-ID, without <> */
    char *returned_to;         /* its To header */
    char *feedback_type;       /* ARF Feedback-Type ("abuse"...), lower-case */
} nt_inmsg;

/*
 * Parse raw[0..len) (borrowed for the call; need not be NUL-terminated).
 * On NT_OK out is owned by the caller: nt_inmsg_release().  Malformed mail is
 * parsed as far as it goes (GMime is forgiving); NT_EINVAL only when nothing
 * usable is there, NT_ELIMIT when it is too large or too deeply nested.
 */
nt_err nt_inmsg_parse(const char *raw, size_t len, nt_inmsg *out, nt_diag *d);

/*
 * nt_inmsg_parse reads most mail in place: the header blocks and multipart
 * boundaries are found without building GMime's object tree, and GMime's
 * own decoders (transfer encodings, charsets, RFC 2047, addresses, dates)
 * read the values.  Anything it is not sure of (an unusual header line, a
 * boundary inside a longer line, a multipart that does not close, deep
 * nesting, uuencode) goes to GMime's full parser, so both give the same
 * result.  nt_inmsg_parse_with chooses the reader, for tests that hold the
 * two to that: NT_INMSG_GMIME always builds GMime's tree; NT_INMSG_QUICK
 * only reads in place and fails with NT_ENOTFOUND when it declines.
 */
typedef enum nt_inmsg_reader {
    NT_INMSG_AUTO = 0,
    NT_INMSG_GMIME,
    NT_INMSG_QUICK,
} nt_inmsg_reader;

nt_err nt_inmsg_parse_with(const char *raw, size_t len, nt_inmsg_reader how, nt_inmsg *out,
                           nt_diag *d);

void nt_inmsg_release(nt_inmsg *m);

/* A top-level header by name (case-insensitive), first occurrence, or NULL. */
const char *nt_inmsg_header(const nt_inmsg *m, const char *name);

#endif
