/*
 * Composing the RFC 5322 / MIME message that goes on the wire.
 *
 * The message is multipart/alternative with a text/plain and a text/html
 * part, both UTF-8 and quoted-printable, so no line exceeds 76 characters
 * and the whole message is 7-bit.  Display names and the subject are
 * RFC 2047-encoded when they are not printable ASCII.  Every header value is
 * scrubbed of CR, LF and other control characters before it is written, so
 * no input can add a header line.  Line ends are CRLF.
 */
#ifndef NURTURE_MESSAGE_H
#define NURTURE_MESSAGE_H

#include <stdint.h>

#include "nurture/buf.h"
#include "nurture/error.h"

/* All strings borrowed for the call; NULL means "leave the header out". */
typedef struct nt_message_hdrs {
    const char *from_name; /* display name, UTF-8, may be NULL */
    const char *from_addr; /* required */
    const char *to_name;
    const char *to_addr; /* required */
    const char *reply_to;
    const char *subject;                 /* UTF-8, required */
    int64_t date;                        /* seconds since the epoch, written as UTC */
    const char *message_id;              /* without angle brackets; required */
    const char *list_unsubscribe_mailto; /* "unsubscribe+TOKEN@example.com" */
    const char *list_unsubscribe_url;    /* https URL; adds List-Unsubscribe-Post */
    const char *campaign;                /* X-Nurture-Campaign, informational */
} nt_message_hdrs;

/*
 * Append the whole message (headers, blank line, body) to out.
 * text and html are UTF-8; html may be NULL for a text-only message.
 * NT_EINVAL with a diag when a required header is missing or an address
 * contains characters that cannot appear in one.
 */
nt_err nt_message_compose(const nt_message_hdrs *h, const char *text, size_t text_len,
                          const char *html, size_t html_len, nt_buf *out, nt_diag *d);

/* Quoted-printable encode in[0..n) (RFC 2045 section 6.7), CRLF line ends,
 * soft breaks keep lines at most 76 characters. */
void nt_qp_encode(nt_buf *out, const char *in, size_t n);

/* Append s as a header value: as is when it is printable ASCII, else as
 * RFC 2047 encoded-words (UTF-8, B or Q encoding) folded under 76 columns.
 * `used` is how many columns the header name already takes. */
void nt_rfc2047_encode(nt_buf *out, const char *s, size_t used);

#endif
