/*
 * The structure of a message without building it: header blocks and
 * multipart boundaries, read in place.
 *
 * mime.c's quick reader uses this for the mail it can read without GMime's
 * object tree, and hands everything else to GMime's parser.  So the rules
 * here are GMime's (gmime-parser.c) for well-formed mail, and anything
 * these functions are not sure of (a header line GMime would take another
 * way, a boundary that is not alone on its line, a multipart that does not
 * close) is declined rather than guessed.  No allocation beyond the arrays
 * returned; no GMime.
 */
#ifndef NURTURE_MIME_SCAN_H
#define NURTURE_MIME_SCAN_H

#include <stddef.h>

typedef enum nt_mscan_rc {
    NT_MSCAN_OK = 0,
    NT_MSCAN_DECLINE, /* not simple enough: use GMime's parser */
    NT_MSCAN_NOMEM,
} nt_mscan_rc;

/* One header field as written; all pointers into the message. */
typedef struct nt_mscan_field {
    const char *name; /* the field name, blanks before ':' removed */
    size_t nlen;
    const char *raw; /* after ':' to the end of its last line, line break included */
    size_t rlen;
} nt_mscan_field;

/* A growable array of fields; zero-initialise, release with free(v). */
typedef struct nt_mscan_fields {
    nt_mscan_field *v;
    size_t n, cap;
} nt_mscan_fields;

/* Append one field (pointers borrowed).  0 on out of memory. */
int nt_mscan_push(nt_mscan_fields *f, const char *name, size_t nlen, const char *raw, size_t rlen);

#define NT_MSCAN_TO_END 1     /* the block may end at n without a blank line */
#define NT_MSCAN_FROM_LINES 2 /* mbox "From " lines before the first field are skipped */
#define NT_MSCAN_SKIP_JUNK                                                                         \
    4 /* a part's lines before its first field are skipped, and                                    \
         a block may have no field */

/*
 * Read the header block at the start of s[0..n) into out (appended).  The
 * block ends at a blank line (*body is just past it) or, with
 * NT_MSCAN_TO_END, at n (*body = n).  Declined: a line that is not a field
 * or a fold of one (but see the flags), a NUL byte, a block that does not
 * end, a block without fields.
 */
nt_mscan_rc nt_mscan_headers(const char *s, size_t n, int flags, nt_mscan_fields *out,
                             size_t *body);

/* One part of a multipart body, as offsets into the body. */
typedef struct nt_mscan_part {
    size_t off;  /* first byte after the delimiter line */
    size_t end;  /* start of the next boundary line */
    size_t trim; /* bytes of line break before that line that belong to it (1 or 2) */
} nt_mscan_part;

/*
 * Split the multipart body s[0..n) whose boundary is `boundary` (blen
 * bytes) into its parts (*parts, malloc'd, *nparts; caller frees).  Every
 * occurrence of "--boundary" must start a line that is a delimiter or the
 * close; there must be at least one part, and the close.  Declined
 * otherwise, or when the boundary is empty or ends in white space.
 */
nt_mscan_rc nt_mscan_split(const char *s, size_t n, const char *boundary, size_t blen,
                           nt_mscan_part **parts, size_t *nparts);

/* 1 when s[0..n) contains needle[0..m). */
int nt_mscan_has(const char *s, size_t n, const char *needle, size_t m);
/* How many times s[0..n) contains needle[0..m), case-insensitively
 * (ASCII), counting no further than max. */
size_t nt_mscan_count_ci(const char *s, size_t n, const char *needle, size_t m, size_t max);

#endif
