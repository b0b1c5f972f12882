/*
 * What the two readers of mime.h share.  mime.c holds the entry point,
 * GMime's full parse (its object tree, for any mail) and the helpers
 * below; mime_fast.c reads the common, well-formed cases in place (with
 * mime_scan.h for the structure and GMime's decoders for the content) and
 * declines the rest.  Both fill an nt_inmsg through these helpers, so that
 * a value means the same whichever reader produced it.
 */
#ifndef NURTURE_MIME_IMPL_H
#define NURTURE_MIME_IMPL_H

#include <stddef.h>

#include <gmime/gmime.h>

#include "nurture/error.h"
#include "nurture/mime.h"

/* A parse in progress; err is sticky like nt_buf's. */
typedef struct nt_mi {
    nt_inmsg *m;
    nt_err err;
} nt_mi;

/* A valid UTF-8 copy of s[0..n) into *dst (freeing what was there).  With
 * oneline, white space at the ends is trimmed and control characters
 * become spaces. */
void nt_mi_put(nt_mi *w, char **dst, const char *s, size_t n, int oneline);
/* nt_mi_put of a NUL-terminated s (nothing when s is NULL), oneline. */
void nt_mi_puts(nt_mi *w, char **dst, const char *s);
/* The first <id> of s without brackets, or s trimmed when it has none. */
void nt_mi_put_id(nt_mi *w, char **dst, const char *s);
/* An address, normalised when it is one; angle brackets removed. */
void nt_mi_put_addr(nt_mi *w, char **dst, const char *s, size_t n);
void nt_mi_lower(char *s);
/* 1 when a and b are both there and equal but for ASCII case. */
int nt_mi_ci_eq(const char *a, const char *b);

/* A header's value from its raw text (after the colon, folds and line
 * break included): unfolded, and decoded as GMime does (RFC 2047,
 * charsets) when it is not plain ASCII.  Result into *dst, oneline. */
void nt_mi_header_value(nt_mi *w, char **dst, const char *raw);
/* The same value, returned: g_free() it.  NULL on out of memory. */
char *nt_mi_header_decode(const char *raw);
/* 1 when raw is ASCII without encoded words: decoding it only unfolds. */
int nt_mi_plain_header(const char *raw);

/* The top-level "type/subtype", lower case, into m->content_type. */
void nt_mi_content_type(nt_mi *w, GMimeContentType *ct);

/* From's first address into m->from_addr and m->from_name (list borrowed). */
void nt_mi_from(nt_mi *w, InternetAddressList *from);

/* 1 for a part whose content the parse reads: a delivery-status or
 * feedback report, or the first returned headers (text/rfc822-headers). */
int nt_mi_is_report_part(nt_mi *w, const char *type, const char *subtype);
/* A machine-readable part's decoded bytes, by its content type (lower
 * case "type/subtype"): delivery-status, feedback-report or
 * text/rfc822-headers.  1 when the type is one of those. */
int nt_mi_report_part(nt_mi *w, const char *type, const char *subtype, const char *s, size_t n);

/*
 * The body text from a text part's decoded bytes: converted from charset
 * (may be NULL) to UTF-8 as GMime's text parts are, cut at a NUL, and
 * turned from HTML into text when html.  Sets m->text (and text_from_html).
 */
void nt_mi_body_text(nt_mi *w, const char *bytes, size_t n, const char *charset, int html);

/*
 * The quick reader (mime_fast.c).  NT_OK with *out filled (owned by the
 * caller), NT_ENOMEM, or, when the message is not one it reads exactly as
 * GMime's parse would, *declined = 1 and nothing to release.
 */
nt_err nt_mime_fast(const char *raw, size_t len, nt_inmsg *out, int *declined);

/* Once per process before any GMime call. */
void nt_mi_init(void);

#endif
