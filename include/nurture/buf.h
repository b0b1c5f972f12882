/*
 * A size-capped growable byte buffer with sticky errors.
 *
 * All text the library builds goes through nt_buf.  Appends never fail from
 * the caller's point of view: the first failure (out of memory, or the hard
 * limit reached) is remembered in `err`, later appends do nothing, and the
 * caller checks once at the end.  The data is always NUL-terminated when
 * len > 0 or after nt_buf_cstr(), so it can be handed to C string APIs, but
 * it may also contain NUL bytes of its own.
 *
 * Embedded: nt_buf_init / nt_buf_release.  nt_buf_detach hands the memory to
 * the caller (free() it).
 */
#ifndef NURTURE_BUF_H
#define NURTURE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "nurture/error.h"

typedef struct nt_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t limit; /* hard cap on len, in bytes */
    nt_err err;   /* NT_OK, NT_ENOMEM or NT_ELIMIT; sticky */
} nt_buf;

#define NT_BUF_DEFAULT_LIMIT ((size_t)64 << 20)

void nt_buf_init(nt_buf *b, size_t limit);
void nt_buf_release(nt_buf *b);
/* Empty the buffer and clear its error; keeps the memory. */
void nt_buf_reset(nt_buf *b);
/* Give the data to the caller (who free()s it); the buffer is left empty.
 * Returns NULL if the buffer is in error.  Never NULL otherwise ("" when
 * empty). */
char *nt_buf_detach(nt_buf *b, size_t *len_out);

void nt_buf_add(nt_buf *b, const void *p, size_t n);
void nt_buf_adds(nt_buf *b, const char *s);
void nt_buf_addc(nt_buf *b, char c);
void nt_buf_addf(nt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nt_buf_vaddf(nt_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Borrowed pointer to NUL-terminated contents, valid until the next append;
 * "" for an empty buffer. */
const char *nt_buf_cstr(nt_buf *b);

/* Append s with the five HTML special characters escaped. */
void nt_buf_add_html(nt_buf *b, const char *s, size_t n);
/* Append s as a JSON string, quotes included. */
void nt_buf_add_json(nt_buf *b, const char *s, size_t n);

#endif
