/*
 * Reading IMAP server responses (RFC 3501 section 7), only as much as the
 * mailbox source needs: status responses with their response codes, the
 * numbers of SEARCH, CAPABILITY atoms, and the UID and BODY[] of a FETCH.
 *
 * Pure functions over (pointer, length), nothing allocated: every result
 * is a span inside the input.  Input is untrusted server output; anything
 * malformed is reported (-1), never trusted.  Internal to the library:
 * mailbox_imap.c and the fuzz target use it.
 */
#ifndef NURTURE_IMAP_RESP_H
#define NURTURE_IMAP_RESP_H

#include <stddef.h>
#include <stdint.h>

typedef struct nt_imap_span {
    const char *p;
    size_t n;
} nt_imap_span;

typedef enum nt_imap_kind {
    NT_IMAP_TAGGED,   /* "A1 OK ..." */
    NT_IMAP_UNTAGGED, /* "* ..." */
    NT_IMAP_CONTINUE, /* "+ ..." */
} nt_imap_kind;

typedef enum nt_imap_status {
    NT_IMAP_NONE = 0, /* a data response ("* 3 EXISTS", "* SEARCH 1 2") */
    NT_IMAP_OK,
    NT_IMAP_NO,
    NT_IMAP_BAD,
    NT_IMAP_BYE,
    NT_IMAP_PREAUTH,
} nt_imap_status;

typedef struct nt_imap_resp {
    nt_imap_kind kind;
    nt_imap_span tag;      /* tagged responses */
    nt_imap_status status; /* status responses; NT_IMAP_NONE for data */
    nt_imap_span code;     /* status: the response code inside [ ], or empty */
    nt_imap_span text;     /* status and continuation: the text after the code */
    int has_number;        /* data: "* <number> NAME ..." */
    uint64_t number;
    nt_imap_span name; /* data: "EXISTS", "SEARCH", "FETCH", "CAPABILITY"... */
    nt_imap_span rest; /* data: what follows the name and one space, to the end
                        * (literals included), without the final line end */
} nt_imap_resp;

/* Largest literal size accepted from a server, whatever the caller's limit. */
#define NT_IMAP_LITERAL_MAX ((uint64_t)1 << 40)

/*
 * Does this line (through its line end) end with a literal announcement
 * "{N}" (or "{N+}")?  first: the line begins a response, in which case
 * status responses and continuation requests, whose text is free, never
 * announce one.  Returns 1 and sets *len, or 0.
 */
int nt_imap_line_literal(const char *line, size_t n, int first, uint64_t *len);

/* Split one complete response (first line through the final line end,
 * literals included).  0, or -1 when it is not a response. */
int nt_imap_parse(const char *p, size_t n, nt_imap_resp *r);

/* The next decimal number in *s..end, skipping spaces; advances *s.
 * 1 found, 0 at the end, -1 something else is there. */
int nt_imap_next_number(const char **s, const char *end, uint64_t *v);

/* Is atom one of the space-separated atoms of list (ASCII case ignored)? */
int nt_imap_has_atom(nt_imap_span list, const char *atom);

/* code is "<name> <number>..." (e.g. "UIDVALIDITY 3857529045"): 1 and *v. */
int nt_imap_code_number(nt_imap_span code, const char *name, uint64_t *v);

typedef struct nt_imap_fetch {
    int has_uid;
    uint64_t uid;
    int has_body;    /* a BODY[] item was there */
    int body_nil;    /* ... and it was NIL */
    int body_quoted; /* ... as a quoted string: body still holds its \ escapes */
    nt_imap_span body;
} nt_imap_fetch;

/* Read the item list of a FETCH response (its rest: "(UID 7 BODY[] {n}..."). 0 or -1. */
int nt_imap_parse_fetch(nt_imap_span rest, nt_imap_fetch *f);

#endif
