/*
 * UTF-8 checks shared by everything that reads or writes text: lead data,
 * templates and message headers.  Strict: overlong forms, surrogates and
 * code points past U+10FFFF are invalid.
 */
#ifndef NURTURE_UTF8_H
#define NURTURE_UTF8_H

#include <stddef.h>

#include "nurture/buf.h"

/* Length (1 to 4) of the valid UTF-8 sequence at s[0..n), or 0 when the
 * bytes there are not one.  n must be at least 1. */
size_t nt_utf8_seq(const unsigned char *s, size_t n);

/* True when s[0..n) is entirely valid UTF-8. */
int nt_utf8_valid(const char *s, size_t n);

/* Append s[0..n) to b with each invalid byte replaced by U+FFFD. */
void nt_utf8_add_valid(nt_buf *b, const char *s, size_t n);

#endif
