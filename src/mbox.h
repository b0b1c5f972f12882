/*
 * Splitting an mbox file into messages, and undoing mboxrd escapes.
 *
 * Pure functions over (pointer, length): no I/O, no allocation but the
 * caller's nt_buf.  A message begins at a line "From " that starts the file
 * or follows a blank line (mboxo and mboxrd, LF or CRLF line ends); the
 * "From " line itself (the envelope line) and the blank line before the
 * next one are the format's, not the message's.  Content-Length headers
 * (mboxcl) are not used.  Internal to the library: mailbox_mbox.c and the
 * fuzz target use it.
 */
#ifndef NURTURE_MBOX_H
#define NURTURE_MBOX_H

#include <stddef.h>

#include "nurture/buf.h"

typedef struct nt_mbox_span {
    size_t from;  /* offset of the "From " line */
    size_t start; /* offset of the message's first byte (after the "From " line) */
    size_t len;   /* the message's bytes as in the file (still escaped) */
} nt_mbox_span;

/*
 * The message that starts at *pos (0 for the first).  Returns 1 and fills
 * *out, moving *pos to the next "From " line or to n; 0 when *pos == n (no
 * more); -1 when p[*pos] does not begin a "From " line (not an mbox file).
 * Always start.from == *pos on entry and start + len <= n.
 */
int nt_mbox_next(const char *p, size_t n, size_t *pos, nt_mbox_span *out);

/* Append p[0..n) to out with one '>' removed from every line that matches
 * ">+From " (mboxrd).  Line ends are kept as they are. */
void nt_mbox_unescape(const char *p, size_t n, nt_buf *out);

#endif
