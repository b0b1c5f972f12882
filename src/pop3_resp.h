/*
 * Reading POP3 server replies (RFC 1939): the status of a reply line, the
 * lines of a UIDL listing, and the end and dot-stuffing of multi-line
 * replies.  Pure functions over (pointer, length) of one line each,
 * through its line end.  Input is untrusted server output.  Internal to
 * the library: mailbox_pop3.c and the fuzz target use it.
 */
#ifndef NURTURE_POP3_RESP_H
#define NURTURE_POP3_RESP_H

#include <stddef.h>
#include <stdint.h>

#include "nurture/buf.h"

/* Longest unique-id accepted (RFC 1939 allows 70 characters). */
#define NT_POP3_UIDL_MAX 255

/* 1 for "+OK", 0 for "-ERR", -1 for anything else. */
int nt_pop3_status(const char *line, size_t n);

/* Is this the "." that ends a multi-line reply? */
int nt_pop3_is_end(const char *line, size_t n);

/* One line of a UIDL listing: "<number> <unique-id>".  The unique-id is 1 to
 * NT_POP3_UIDL_MAX characters from 0x21 to 0x7E.  0 and the parts (uid
 * points into line), or -1. */
int nt_pop3_uidl_line(const char *line, size_t n, uint64_t *number, const char **uid,
                      size_t *uid_len);

/* Append one line of a multi-line reply to out with its dot-stuffing
 * undone (a leading '.' dropped). */
void nt_pop3_unstuff(const char *line, size_t n, nt_buf *out);

#endif
