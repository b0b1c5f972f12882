/*
 * Email templates: parsing a Markdown file with a YAML header and merge
 * fields, and rendering it into a subject, a plain-text part and an HTML
 * part.
 *
 * The source is untrusted (marketing edits it, the linter runs it), so it is
 * size-capped, must be valid UTF-8 without NUL bytes, and every problem is
 * reported with its file:line:col.  The values merged in are untrusted too
 * (they come from lead data): in the subject they can not break the line, and
 * in the HTML they are escaped after Markdown rendering, never before, so
 * that a value can add neither Markdown nor markup.  To do that the fields
 * are replaced by opaque alphanumeric placeholders which cmark passes
 * through unchanged, and the placeholders are replaced by the escaped values
 * in cmark's output.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmark.h>
#include <yaml.h>

#include "nurture/buf.h"
#include "nurture/template.h"
#include "nurture/utf8.h"

#include "banned.h"

#define NAME_MAX_LEN 64

/* A piece of a part: literal text, or a merge field. */
struct seg {
    size_t off, len; /* literal text: part.text[off..off+len) */
    long ref;        /* index into refs, or -1 for literal text */
};

struct part {
    char *text;
    size_t len;
    struct seg *segs;
    size_t nsegs, cap;
};

struct nt_template {
    struct part subject, preheader, body;
    int has_subject, has_preheader;
    nt_merge_ref *refs;
    size_t nrefs, cap;
};

/* ---- UTF-8 ---- */

/* ---- parse state and positions ---- */

struct pctx {
    const char *file;
    const char *s; /* the normalised source: no BOM, LF line ends */
    size_t len;
    nt_diags *diags;
    size_t errors;
    nt_err fatal; /* NT_ENOMEM or NT_ELIMIT: stop */
    /* position cursor, so that locating refs in order costs O(n) overall */
    size_t cur_off;
    int cur_line, cur_col;
    nt_template *t;
};

/* Line and column (1-based, columns in characters) of offset off. */
static void
locate(struct pctx *p, size_t off, int *line, int *col)
{
    if (off > p->len)
        off = p->len;
    if (off < p->cur_off) {
        p->cur_off = 0;
        p->cur_line = 1;
        p->cur_col = 1;
    }
    while (p->cur_off < off) {
        unsigned char c = (unsigned char)p->s[p->cur_off++];
        if (c == '\n') {
            p->cur_line++;
            p->cur_col = 1;
        } else if ((c & 0xc0) != 0x80) {
            p->cur_col++;
        }
    }
    *line = p->cur_line;
    *col = p->cur_col;
}

static void report(struct pctx *p, nt_severity sev, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
report(struct pctx *p, nt_severity sev, size_t off, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int line, col;

    if (sev == NT_SEV_ERROR)
        p->errors++;
    if (!p->diags)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    locate(p, off, &line, &col);
    nt_diags_add(p->diags, sev, p->file, line, col, "%s", msg);
}

/* ---- merge fields ---- */

/*
 * Where a scanned text sits in the file.  The body is a verbatim slice of
 * the file; a header value is what YAML made of its source (quotes and
 * escapes removed, lines folded), so offsets in it are mapped back through
 * the "{{" it contains: the k-th "{{" of the value is taken to be the k-th
 * "{{" of its source.
 */
struct srcmap {
    int verbatim;
    size_t raw_off, raw_len; /* the source slice, file offsets */
    /* Where the last lookup stopped, so that a value with many fields maps
     * in linear time: text[0..t_at) holds t_k "{{", raw[0..r_at) r_k. */
    size_t t_at, t_k, r_at, r_k;
};

/* File offset of offset o of text, where fs is the start of the merge field
 * that o is in. */
static size_t
map_off(struct pctx *p, struct srcmap *m, const char *text, size_t fs, size_t o)
{
    const char *raw = p->s + m->raw_off;
    size_t r;

    if (m->verbatim)
        return m->raw_off + o;
    if (fs < m->t_at)
        m->t_at = m->t_k = m->r_at = m->r_k = 0;
    for (; m->t_at < fs; m->t_at++)
        if (text[m->t_at] == '{' && text[m->t_at + 1] == '{')
            m->t_k++;
    /* Find the t_k-th "{{" of raw (counting from 0). */
    for (; m->r_at + 1 < m->raw_len; m->r_at++) {
        if (raw[m->r_at] == '{' && raw[m->r_at + 1] == '{') {
            if (m->r_k == m->t_k)
                break;
            m->r_k++;
        }
    }
    if (m->r_at + 1 >= m->raw_len)
        return m->raw_off;
    r = m->r_at;
    if (r + (o - fs) <= m->raw_len && memcmp(raw + r, text + fs, o - fs) == 0)
        return m->raw_off + r + (o - fs);
    return m->raw_off + r;
}

static int
add_seg(struct pctx *p, struct part *pt, size_t off, size_t len, long ref)
{
    if (ref < 0 && len == 0)
        return 1;
    if (pt->nsegs == pt->cap) {
        size_t ncap = pt->cap ? pt->cap * 2 : 8;
        struct seg *n = realloc(pt->segs, ncap * sizeof(*n));
        if (!n) {
            p->fatal = NT_ENOMEM;
            return 0;
        }
        pt->segs = n;
        pt->cap = ncap;
    }
    pt->segs[pt->nsegs].off = off;
    pt->segs[pt->nsegs].len = len;
    pt->segs[pt->nsegs].ref = ref;
    pt->nsegs++;
    return 1;
}

static char *
dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static long
add_ref(struct pctx *p, const char *name, size_t nlen, const char *def, size_t dlen, int has_def,
        size_t file_off, int in_header)
{
    nt_template *t = p->t;
    nt_merge_ref *r;

    if (t->nrefs >= NT_TEMPLATE_MAX_FIELDS) {
        report(p, NT_SEV_ERROR, file_off, "more than %d merge fields", NT_TEMPLATE_MAX_FIELDS);
        p->fatal = NT_ELIMIT;
        return -1;
    }
    if (t->nrefs == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        nt_merge_ref *n = realloc(t->refs, ncap * sizeof(*n));
        if (!n) {
            p->fatal = NT_ENOMEM;
            return -1;
        }
        t->refs = n;
        t->cap = ncap;
    }
    r = &t->refs[t->nrefs];
    memset(r, 0, sizeof(*r));
    r->name = dup_range(name, nlen);
    r->def = has_def ? dup_range(def, dlen) : NULL;
    if (!r->name || (has_def && !r->def)) {
        free((void *)r->name);
        free((void *)r->def);
        p->fatal = NT_ENOMEM;
        return -1;
    }
    locate(p, file_off, &r->line, &r->col);
    r->in_header = in_header;
    return (long)t->nrefs++;
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Check a merge field's name; returns 1 when it is good. */
static int
check_name(struct pctx *p, struct srcmap *m, const char *text, size_t fs, size_t n0, size_t nlen)
{
    const char *name = text + n0;
    size_t i;

    if (nlen == 0) {
        report(p, NT_SEV_ERROR, map_off(p, m, text, fs, fs), "empty merge field name");
        return 0;
    }
    for (i = 0; i < nlen; i++) {
        unsigned char c = (unsigned char)name[i];
        if ((c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9'))
            continue;
        {
            size_t at = map_off(p, m, text, fs, n0 + i);
            char shown[16];
            if (c >= 0x21 && c < 0x7f)
                snprintf(shown, sizeof(shown), "'%c'", c);
            else if (c == ' ' || c == '\t')
                snprintf(shown, sizeof(shown), "a space");
            else
                snprintf(shown, sizeof(shown), "byte 0x%02x", c);
            if (c >= 'A' && c <= 'Z') {
                char lower[NAME_MAX_LEN + 1];
                size_t j, k = nlen < NAME_MAX_LEN ? nlen : NAME_MAX_LEN;
                for (j = 0; j < k; j++) {
                    char x = name[j];
                    lower[j] = (x >= 'A' && x <= 'Z') ? (char)(x - 'A' + 'a') : x;
                }
                lower[k] = '\0';
                report(p, NT_SEV_ERROR, at,
                       "merge field names are lowercase: '%.*s'; did you mean '%s'?", (int)k, name,
                       lower);
            } else if (c >= '0' && c <= '9') {
                report(p, NT_SEV_ERROR, at, "merge field name '%.*s' starts with a digit",
                       (int)(nlen < NAME_MAX_LEN ? nlen : NAME_MAX_LEN), name);
            } else {
                report(p, NT_SEV_ERROR, at,
                       "bad character %s in merge field name; names are lowercase letters, "
                       "digits and '_'",
                       shown);
            }
            return 0;
        }
    }
    if (nlen > NAME_MAX_LEN) {
        report(p, NT_SEV_ERROR, map_off(p, m, text, fs, n0),
               "merge field name is longer than %d characters", NAME_MAX_LEN);
        return 0;
    }
    return 1;
}

/*
 * Find the merge fields in pt->text and split it into segments.  A field
 * must close on the line where it opens, so that a forgotten "}}" is
 * reported where it is rather than swallowing the rest of the file.
 */
static void
scan_fields(struct pctx *p, struct part *pt, int in_header, struct srcmap *m)
{
    const char *s = pt->text;
    size_t n = pt->len, i = 0, lit = 0, known_end = (size_t)-1;

    while (i + 1 < n && !p->fatal) {
        size_t fs, j, end, bar, n0, n1, d0, d1, inner;
        long ref;

        if (!(s[i] == '{' && s[i + 1] == '{')) {
            i++;
            continue;
        }
        fs = i;
        if (known_end != (size_t)-1 && fs < known_end) {
            /* A "{{" inside the field before: it closes where that one did. */
            end = known_end;
        } else {
            end = (size_t)-1;
            for (j = fs + 2; j < n && s[j] != '\n'; j++) {
                if (j + 1 < n && s[j] == '}' && s[j + 1] == '}') {
                    end = j;
                    break;
                }
            }
        }
        if (end == (size_t)-1) {
            report(p, NT_SEV_ERROR, map_off(p, m, s, fs, fs),
                   "unterminated merge field: '{{' without '}}' on the same line");
            /* No later "{{" on this line can close either. */
            i = j;
            continue;
        }
        known_end = end;
        bar = (size_t)-1;
        inner = (size_t)-1;
        for (j = fs + 2; j < end; j++) {
            if (s[j] == '|' && bar == (size_t)-1)
                bar = j;
            if (s[j] == '{' && s[j + 1] == '{') {
                inner = j;
                break;
            }
        }
        if (inner != (size_t)-1) {
            if (bar != (size_t)-1)
                report(p, NT_SEV_ERROR, map_off(p, m, s, fs, inner),
                       "'{{' inside the default of a merge field");
            else
                report(p, NT_SEV_ERROR, map_off(p, m, s, fs, inner),
                       "'{{' inside a merge field; is a '}}' missing?");
            i = inner;
            continue;
        }
        n0 = fs + 2;
        n1 = bar != (size_t)-1 ? bar : end;
        while (n0 < n1 && is_blank(s[n0]))
            n0++;
        while (n1 > n0 && is_blank(s[n1 - 1]))
            n1--;
        i = end + 2;
        if (!check_name(p, m, s, fs, n0, n1 - n0))
            continue;
        d0 = d1 = 0;
        if (bar != (size_t)-1) {
            d0 = bar + 1;
            d1 = end;
            while (d0 < d1 && is_blank(s[d0]))
                d0++;
            while (d1 > d0 && is_blank(s[d1 - 1]))
                d1--;
        }
        ref = add_ref(p, s + n0, n1 - n0, s + d0, d1 - d0, bar != (size_t)-1,
                      map_off(p, m, s, fs, fs), in_header);
        if (ref < 0)
            return;
        if (!in_header && fs > 0 && s[fs - 1] == '<' && end + 2 < n && s[end + 2] == '>')
            /* cmark reads "<x>" without a scheme as raw HTML and drops it. */
            report(p, NT_SEV_WARNING, map_off(p, m, s, fs, fs),
                   "'<{{...}}>' is dropped from the HTML part; write '[text]({{...}})'");
        if (!add_seg(p, pt, lit, fs - lit, -1) || !add_seg(p, pt, 0, 0, ref))
            return;
        lit = end + 2;
    }
    if (!p->fatal)
        add_seg(p, pt, lit, n - lit, -1);
}

/* ---- the header ---- */

/* Offset, from h0, of YAML position (line, column in characters). */
static size_t
yaml_pos(const struct pctx *p, size_t h0, size_t h1, size_t line, size_t col)
{
    size_t i = h0;

    while (line > 0 && i < h1) {
        if (p->s[i++] == '\n')
            line--;
    }
    while (col > 0 && i < h1 && p->s[i] != '\n') {
        i++;
        while (i < h1 && ((unsigned char)p->s[i] & 0xc0) == 0x80)
            i++;
        col--;
    }
    return i;
}

static size_t
edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t row[32];

    if (la >= 31 || lb >= 31)
        return (size_t)-1;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            char ca = a[i - 1], cb = b[j - 1];
            size_t cost, best, up = row[j];
            if (ca >= 'A' && ca <= 'Z')
                ca = (char)(ca - 'A' + 'a');
            cost = ca == cb ? 0 : 1;
            best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *const header_keys[] = {"subject", "preheader"};

static void
unknown_key(struct pctx *p, size_t off, const char *key)
{
    const char *best = NULL;
    size_t bestd = (size_t)-1, i;

    for (i = 0; i < sizeof(header_keys) / sizeof(header_keys[0]); i++) {
        size_t dist = edit_distance(key, header_keys[i]);
        if (dist < bestd) {
            bestd = dist;
            best = header_keys[i];
        }
    }
    if (best && bestd <= 1 + strlen(best) / 4)
        report(p, NT_SEV_ERROR, off, "unknown header key '%.64s'; did you mean '%s'?", key, best);
    else
        report(p, NT_SEV_ERROR, off,
               "unknown header key '%.64s'; the keys are 'subject' and 'preheader'", key);
}

/* True when some header line's value starts with '{': YAML reads that as a
 * flow mapping, and its error message would not tell a marketer why. */
static int
value_starts_with_brace(const struct pctx *p, size_t h0, size_t h1)
{
    size_t i = h0;

    while (i < h1) {
        size_t e = i;
        while (e < h1 && p->s[e] != '\n')
            e++;
        {
            const char *c = memchr(p->s + i, ':', e - i);
            if (c) {
                c++;
                while (c < p->s + e && is_blank(*c))
                    c++;
                if (c < p->s + e && *c == '{')
                    return 1;
            }
        }
        i = e + 1;
    }
    return 0;
}

static int
set_value(struct pctx *p, struct part *pt, const yaml_event_t *ev, size_t h0, size_t h1)
{
    struct srcmap m;
    size_t a, b;

    pt->text = dup_range((const char *)ev->data.scalar.value, ev->data.scalar.length);
    if (!pt->text) {
        p->fatal = NT_ENOMEM;
        return 0;
    }
    pt->len = ev->data.scalar.length;
    a = yaml_pos(p, h0, h1, ev->start_mark.line, ev->start_mark.column);
    b = yaml_pos(p, h0, h1, ev->end_mark.line, ev->end_mark.column);
    if (b < a)
        b = a;
    memset(&m, 0, sizeof(m));
    m.raw_off = a;
    m.raw_len = b - a;
    if (memchr(pt->text, '\0', pt->len)) {
        /* A "\0" escape in a double-quoted value. */
        report(p, NT_SEV_ERROR, a, "NUL character in a header value");
        return 1;
    }
    scan_fields(p, pt, 1, &m);
    return 1;
}

static const char *
event_what(yaml_event_type_t type)
{
    switch (type) {
    case YAML_SEQUENCE_START_EVENT:
        return "a list";
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_ALIAS_EVENT:
        return "an alias";
    default:
        return "not text";
    }
}

/*
 * Parse the header p->s[h0..h1) as YAML: one mapping of scalars.  Problems
 * are reported at their file positions; the header starts at file offset h0,
 * so a YAML position is turned into a file offset and located from there.
 */
static void
parse_header(struct pctx *p, size_t h0, size_t h1)
{
    yaml_parser_t yp;
    yaml_event_t ev;
    enum { S_STREAM, S_DOC, S_TOP, S_KEY, S_VALUE, S_DOC_END, S_END } st = S_STREAM;
    char key[128] = "";
    size_t key_off = h0;
    int done = 0, seen_subject = 0, seen_preheader = 0;

    if (!yaml_parser_initialize(&yp)) {
        p->fatal = NT_ENOMEM;
        return;
    }
    yaml_parser_set_input_string(&yp, (const unsigned char *)p->s + h0, h1 - h0);
    yaml_parser_set_encoding(&yp, YAML_UTF8_ENCODING);
    while (!done && !p->fatal) {
        size_t at;

        if (!yaml_parser_parse(&yp, &ev)) {
            if (yp.error == YAML_MEMORY_ERROR) {
                p->fatal = NT_ENOMEM;
                break;
            }
            if (yp.error == YAML_READER_ERROR)
                at = h0 + (yp.problem_offset < h1 - h0 ? yp.problem_offset : h1 - h0);
            else
                at = yaml_pos(p, h0, h1, yp.problem_mark.line, yp.problem_mark.column);
            report(p, NT_SEV_ERROR, at, "header: %s%s%s%s", yp.problem ? yp.problem : "error",
                   yp.context ? " " : "", yp.context ? yp.context : "",
                   value_starts_with_brace(p, h0, h1)
                       ? "; a value that starts with '{{' must be quoted"
                       : "");
            /* Keys seen so far are kept; "missing subject" would be noise. */
            seen_subject = 1;
            break;
        }
        at = yaml_pos(p, h0, h1, ev.start_mark.line, ev.start_mark.column);
        switch (st) {
        case S_STREAM:
            st = S_DOC;
            break;
        case S_DOC:
            if (ev.type == YAML_STREAM_END_EVENT)
                done = 1;
            else
                st = S_TOP;
            break;
        case S_TOP:
            if (ev.type == YAML_MAPPING_START_EVENT) {
                st = S_KEY;
            } else if (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 0) {
                st = S_DOC_END;
            } else {
                report(p, NT_SEV_ERROR, at, "the header must be 'key: value' lines");
                seen_subject = 1;
                done = 1;
            }
            break;
        case S_KEY:
            if (ev.type == YAML_MAPPING_END_EVENT) {
                st = S_DOC_END;
            } else if (ev.type == YAML_SCALAR_EVENT) {
                snprintf(key, sizeof(key), "%.*s", (int)ev.data.scalar.length,
                         (const char *)ev.data.scalar.value);
                key_off = at;
                st = S_VALUE;
            } else {
                report(p, NT_SEV_ERROR, at, "header keys must be words, not %s",
                       event_what(ev.type));
                seen_subject = 1;
                done = 1;
            }
            break;
        case S_VALUE:
            st = S_KEY;
            if (ev.type != YAML_SCALAR_EVENT) {
                report(p, NT_SEV_ERROR, at, "header value of '%s' must be text, not %s%s", key,
                       event_what(ev.type),
                       value_starts_with_brace(p, h0, h1)
                           ? "; a value that starts with '{{' must be quoted"
                           : "");
                if (!strcmp(key, "subject"))
                    seen_subject = 1;
                done = 1;
            } else if (!strcmp(key, "subject")) {
                if (seen_subject) {
                    report(p, NT_SEV_ERROR, key_off, "duplicate header key 'subject'");
                    break;
                }
                seen_subject = 1;
                if (ev.data.scalar.length == 0) {
                    report(p, NT_SEV_ERROR, key_off, "the subject is empty");
                    break;
                }
                p->t->has_subject = 1;
                set_value(p, &p->t->subject, &ev, h0, h1);
            } else if (!strcmp(key, "preheader")) {
                if (seen_preheader) {
                    report(p, NT_SEV_ERROR, key_off, "duplicate header key 'preheader'");
                    break;
                }
                seen_preheader = 1;
                if (ev.data.scalar.length == 0)
                    break; /* "preheader:" with nothing: none */
                p->t->has_preheader = 1;
                set_value(p, &p->t->preheader, &ev, h0, h1);
            } else {
                unknown_key(p, key_off, key);
            }
            break;
        case S_DOC_END:
            st = S_END;
            break;
        case S_END:
            if (ev.type != YAML_STREAM_END_EVENT) {
                report(p, NT_SEV_ERROR, at, "the header must be a single 'key: value' block");
                seen_subject = 1;
            }
            done = 1;
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&yp);
    if (!seen_subject && !p->fatal)
        report(p, NT_SEV_ERROR, 0, "the header has no 'subject'");
}

/* ---- parsing the file ---- */

/* True when the line starting at i is "---" (trailing blanks allowed); *next
 * is set to the start of the following line. */
static int
is_fence(const char *s, size_t n, size_t i, size_t *next)
{
    size_t j;

    if (n - i < 3 || memcmp(s + i, "---", 3) != 0)
        return 0;
    for (j = i + 3; j < n && is_blank(s[j]); j++)
        ;
    if (j < n && s[j] != '\n')
        return 0;
    *next = j < n ? j + 1 : n;
    return 1;
}

/* Drop a UTF-8 byte order mark and turn CRLF and lone CR into LF, which keeps
 * every line and column where an editor shows it. */
static char *
normalise(const char *src, size_t len, size_t *out_len)
{
    nt_buf b;
    size_t i = 0, start;

    nt_buf_init(&b, NT_TEMPLATE_MAX_BYTES + 1);
    if (len >= 3 && memcmp(src, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    start = i;
    for (; i < len; i++) {
        if (src[i] != '\r')
            continue;
        nt_buf_add(&b, src + start, i - start);
        nt_buf_addc(&b, '\n');
        if (i + 1 < len && src[i + 1] == '\n')
            i++;
        start = i + 1;
    }
    nt_buf_add(&b, src + start, len - start);
    return nt_buf_detach(&b, out_len);
}

static void
free_part(struct part *pt)
{
    free(pt->text);
    free(pt->segs);
    memset(pt, 0, sizeof(*pt));
}

void
nt_template_free(nt_template *t)
{
    size_t i;

    if (!t)
        return;
    for (i = 0; i < t->nrefs; i++) {
        free((void *)t->refs[i].name);
        free((void *)t->refs[i].def);
    }
    free(t->refs);
    free_part(&t->subject);
    free_part(&t->preheader);
    free_part(&t->body);
    free(t);
}

nt_err
nt_template_parse(const char *file, const char *src, size_t len, nt_template **out, nt_diags *diags)
{
    struct pctx p;
    nt_template *t = NULL;
    char *s = NULL;
    size_t n = 0, i, body0, body1, next;
    nt_err err = NT_OK;

    *out = NULL;
    memset(&p, 0, sizeof(p));
    p.file = file ? file : "";
    p.diags = diags;
    p.cur_line = p.cur_col = 1;
    if (len > NT_TEMPLATE_MAX_BYTES) {
        if (diags)
            nt_diags_add(diags, NT_SEV_ERROR, p.file, 0, 0, "template is larger than %u bytes",
                         NT_TEMPLATE_MAX_BYTES);
        return NT_ELIMIT;
    }
    s = normalise(src, len, &n);
    t = calloc(1, sizeof(*t));
    if (!s || !t) {
        err = NT_ENOMEM;
        goto out;
    }
    p.s = s;
    p.len = n;
    p.t = t;

    for (i = 0; i < n;) {
        size_t l;
        if (s[i] == '\0') {
            report(&p, NT_SEV_ERROR, i, "NUL byte in template");
            err = NT_EINVAL;
            goto out;
        }
        l = nt_utf8_seq((const unsigned char *)s + i, n - i);
        if (!l) {
            report(&p, NT_SEV_ERROR, i, "invalid UTF-8 (byte 0x%02x)", (unsigned char)s[i]);
            err = NT_EINVAL;
            goto out;
        }
        i += l;
    }

    body0 = 0;
    if (is_fence(s, n, 0, &next)) {
        size_t h0 = next, h1 = (size_t)-1;
        for (i = h0; i < n;) {
            size_t e;
            if (is_fence(s, n, i, &e)) {
                h1 = i;
                body0 = e;
                break;
            }
            while (i < n && s[i] != '\n')
                i++;
            i++;
        }
        if (h1 == (size_t)-1) {
            report(&p, NT_SEV_ERROR, 0, "the header has no closing '---' line");
            body0 = n;
        } else {
            parse_header(&p, h0, h1);
        }
    } else {
        report(&p, NT_SEV_ERROR, 0,
               "missing header: a template starts with a '---' line, 'subject: ...', and "
               "another '---' line");
    }
    if (p.fatal)
        goto out;

    /* The body, without the blank lines around it. */
    for (i = body0; i < n;) {
        size_t e = i;
        while (e < n && is_blank(s[e]))
            e++;
        if (e < n && s[e] != '\n')
            break;
        i = e < n ? e + 1 : n;
        body0 = i;
    }
    body1 = n;
    while (body1 > body0 && (is_blank(s[body1 - 1]) || s[body1 - 1] == '\n'))
        body1--;
    t->body.text = dup_range(s + body0, body1 - body0);
    if (!t->body.text) {
        err = NT_ENOMEM;
        goto out;
    }
    t->body.len = body1 - body0;
    {
        struct srcmap m = {1, body0, body1 - body0, 0, 0, 0, 0};
        scan_fields(&p, &t->body, 0, &m);
    }
    if (p.fatal)
        goto out;
    if (t->body.len == 0)
        report(&p, NT_SEV_WARNING, body0, "the body is empty");
    if (p.errors)
        err = NT_EINVAL;

out:
    if (!err && p.fatal)
        err = p.fatal;
    if (err == NT_ENOMEM && diags)
        nt_diags_add(diags, NT_SEV_ERROR, p.file, 0, 0, "out of memory");
    free(s);
    if (err) {
        nt_template_free(t);
        return err;
    }
    *out = t;
    return NT_OK;
}

const char *
nt_template_subject(const nt_template *t)
{
    return t->subject.text ? t->subject.text : "";
}

const char *
nt_template_preheader(const nt_template *t)
{
    return t->has_preheader ? t->preheader.text : NULL;
}

const char *
nt_template_body(const nt_template *t)
{
    return t->body.text ? t->body.text : "";
}

size_t
nt_template_ref_count(const nt_template *t)
{
    return t->nrefs;
}

const nt_merge_ref *
nt_template_ref(const nt_template *t, size_t i)
{
    return i < t->nrefs ? &t->refs[i] : NULL;
}

int
nt_template_uses(const nt_template *t, const char *name)
{
    size_t i;

    for (i = 0; i < t->nrefs; i++)
        if (!t->refs[i].in_header && strcmp(t->refs[i].name, name) == 0)
            return 1;
    return 0;
}

/* ---- rendering ---- */

/* The values for one template's refs, cleaned to valid UTF-8; owned. */
struct values {
    char **v;
    size_t n;
};

static void
values_release(struct values *vs)
{
    size_t i;

    for (i = 0; i < vs->n; i++)
        free(vs->v[i]);
    free(vs->v);
    vs->v = NULL;
    vs->n = 0;
}

static nt_err
values_fill(struct values *vs, const nt_template *t, nt_merge_fn fn, void *ctx)
{
    size_t i;

    vs->n = 0;
    vs->v = calloc(t->nrefs ? t->nrefs : 1, sizeof(*vs->v));
    if (!vs->v)
        return NT_ENOMEM;
    for (i = 0; i < t->nrefs; i++) {
        const nt_merge_ref *r = &t->refs[i];
        const char *v = fn ? fn(ctx, r->name) : NULL;
        nt_buf b;

        if (!v || !*v)
            v = r->def ? r->def : "";
        nt_buf_init(&b, 0);
        nt_utf8_add_valid(&b, v, strlen(v));
        vs->v[i] = nt_buf_detach(&b, NULL);
        vs->n = i + 1;
        if (!vs->v[i])
            return b.err ? b.err : NT_ENOMEM;
    }
    return NT_OK;
}

/* Append pt with values substituted verbatim. */
static void
add_part(nt_buf *b, const struct part *pt, const struct values *vs)
{
    size_t i;

    for (i = 0; i < pt->nsegs; i++) {
        const struct seg *sg = &pt->segs[i];
        if (sg->ref < 0)
            nt_buf_add(b, pt->text + sg->off, sg->len);
        else
            nt_buf_adds(b, vs->v[sg->ref]);
    }
}

/*
 * Make s one line: every control character (C0, DEL, C1) and the Unicode
 * line and paragraph separators become a space, runs of spaces become one,
 * and the ends are trimmed.  The subject goes into a header, so this is what
 * keeps a value from starting a header line of its own.
 */
static char *
one_line(const char *s, size_t n)
{
    nt_buf b;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    int space = 0;

    nt_buf_init(&b, 0);
    while (i < n) {
        size_t l = nt_utf8_seq(u + i, n - i);
        int ctl;
        if (!l)
            l = 1;
        ctl =
            u[i] < 0x20 || u[i] == 0x7f || u[i] == ' ' ||
            (l == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0) ||
            (l == 3 && u[i] == 0xe2 && u[i + 1] == 0x80 && (u[i + 2] == 0xa8 || u[i + 2] == 0xa9));
        if (ctl) {
            space = b.len > 0;
        } else {
            if (space)
                nt_buf_addc(&b, ' ');
            space = 0;
            nt_buf_add(&b, s + i, l);
        }
        i += l;
    }
    return nt_buf_detach(&b, NULL);
}

static char *
render_line(const struct part *pt, const struct values *vs, nt_err *err)
{
    nt_buf b;
    char *r;

    nt_buf_init(&b, 0);
    add_part(&b, pt, vs);
    if (b.err) {
        *err = b.err;
        nt_buf_release(&b);
        return NULL;
    }
    r = one_line(b.data ? b.data : "", b.len);
    nt_buf_release(&b);
    if (!r)
        *err = NT_ENOMEM;
    return r;
}

/*
 * Placeholders are "NTPH", a nonce of 16 letters a..p, and a field number of
 * PH_DIGITS digits: all alphanumeric, so cmark copies them unchanged into
 * text, link destinations, titles and code alike.  The nonce is derived from
 * the sources and checked not to occur in them, and its letters are
 * lowercase while the prefix starts with the only 'N', so a placeholder can
 * neither be written by the author nor straddle a neighbour.
 */
#define PH_PREFIX "NTPH"
#define PH_NONCE 16
#define PH_DIGITS 5
#define PH_MARK (sizeof(PH_PREFIX) - 1 + PH_NONCE)
#define PH_LEN (PH_MARK + PH_DIGITS)

static int
contains_ci(const char *hay, size_t n, const char *needle, size_t m)
{
    size_t i, j;

    for (i = 0; i + m <= n; i++) {
        for (j = 0; j < m; j++) {
            char a = hay[i + j];
            if (a >= 'A' && a <= 'Z')
                a = (char)(a - 'A' + 'a');
            if (a != needle[j])
                break;
        }
        if (j == m)
            return 1;
    }
    return 0;
}

static uint64_t
fnv1a(uint64_t h, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void
make_marker(char mark[PH_MARK + 1], const struct part *a, const struct part *b)
{
    uint64_t seed;

    for (seed = 0;; seed++) {
        uint64_t h = 0xcbf29ce484222325ULL ^ (seed * 0x9e3779b97f4a7c15ULL);
        int i;
        h = fnv1a(h, a->text ? a->text : "", a->len);
        h = fnv1a(h, "\0", 1);
        if (b)
            h = fnv1a(h, b->text ? b->text : "", b->len);
        /* Spread the bits so that neighbouring seeds differ everywhere. */
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        memcpy(mark, PH_PREFIX, sizeof(PH_PREFIX) - 1);
        for (i = 0; i < PH_NONCE; i++)
            mark[sizeof(PH_PREFIX) - 1 + i] = (char)('a' + ((h >> (4 * i)) & 0xf));
        mark[PH_MARK] = '\0';
        if (!contains_ci(a->text ? a->text : "", a->len, mark + sizeof(PH_PREFIX) - 1, PH_NONCE) &&
            !(b &&
              contains_ci(b->text ? b->text : "", b->len, mark + sizeof(PH_PREFIX) - 1, PH_NONCE)))
            return;
    }
}

/* The Markdown of pt with each field replaced by its placeholder. */
static void
add_markdown(nt_buf *b, const struct part *pt, const char *mark, size_t base)
{
    size_t i;

    for (i = 0; i < pt->nsegs; i++) {
        const struct seg *sg = &pt->segs[i];
        if (sg->ref < 0)
            nt_buf_add(b, pt->text + sg->off, sg->len);
        else
            nt_buf_addf(b, "%s%0*zu", mark, PH_DIGITS, base + (size_t)sg->ref);
    }
}

/* Like cmark's link destination escaping: percent-encode what may not stand
 * in a URL, entity-encode & and '. */
static void
add_href(nt_buf *b, const char *s)
{
    static const char safe[] = "-_.+!*(),%#@?=;:/$~";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            (c && strchr(safe, c)))
            nt_buf_addc(b, (char)c);
        else if (c == '&')
            nt_buf_adds(b, "&amp;");
        else if (c == '\'')
            nt_buf_adds(b, "&#x27;");
        else
            nt_buf_addf(b, "%%%02X", c);
    }
}

static int
prefix_ci(const char *s, size_t n, const char *p)
{
    size_t m = strlen(p);

    return n >= m && contains_ci(s, m, p, m);
}

/* The schemes cmark refuses in safe mode; a merged value may complete one
 * ("java" + "script:..."), so the check runs again after substitution. */
static int
dangerous_url(const char *s, size_t n)
{
    if (prefix_ci(s, n, "data:"))
        return !(prefix_ci(s, n, "data:image/png") || prefix_ci(s, n, "data:image/gif") ||
                 prefix_ci(s, n, "data:image/jpeg") || prefix_ci(s, n, "data:image/webp"));
    return prefix_ci(s, n, "javascript:") || prefix_ci(s, n, "vbscript:") ||
           prefix_ci(s, n, "file:");
}

struct subst {
    const char *mark;
    const struct values *tv, *fv;
};

/* The value of the placeholder at s (s[0..n) starts with the marker), or
 * NULL when what follows the marker is not a field number. */
static const char *
placeholder_value(const struct subst *x, const char *s, size_t n)
{
    size_t i, idx = 0;

    if (n < PH_LEN)
        return NULL;
    for (i = PH_MARK; i < PH_LEN; i++) {
        if (s[i] < '0' || s[i] > '9')
            return NULL;
        idx = idx * 10 + (size_t)(s[i] - '0');
    }
    if (idx < x->tv->n)
        return x->tv->v[idx];
    idx -= x->tv->n;
    if (x->fv && idx < x->fv->n)
        return x->fv->v[idx];
    return NULL;
}

/* Substitute the placeholders in an attribute value h[0..n) into b. */
static void
subst_attr(nt_buf *b, const struct subst *x, const char *h, size_t n, int url)
{
    size_t i = 0, start = 0;

    while (i < n) {
        const char *v;
        if (h[i] != 'N' || n - i < PH_MARK || memcmp(h + i, x->mark, PH_MARK) != 0 ||
            !(v = placeholder_value(x, h + i, n - i))) {
            i++;
            continue;
        }
        nt_buf_add(b, h + start, i - start);
        if (url)
            add_href(b, v);
        else
            nt_buf_add_html(b, v, strlen(v));
        i += PH_LEN;
        start = i;
    }
    nt_buf_add(b, h + start, n - start);
}

/*
 * Copy cmark's output h into b, replacing placeholders by escaped values.
 * Safe mode means every '<' in h opens a tag cmark wrote (text '<' comes out
 * as "&lt;"), so tags and their quoted attributes can be told apart from
 * text with a simple scan.
 */
static void
subst_html(nt_buf *b, const struct subst *x, const char *h)
{
    size_t n = strlen(h), i = 0, start = 0;
    int in_tag = 0;

    while (i < n) {
        char c = h[i];
        if (in_tag && c == '"') {
            size_t a = i, close, name0;
            const char *q = memchr(h + i + 1, '"', n - i - 1);
            int url;
            nt_buf tmp;

            close = q ? (size_t)(q - h) : n;
            /* The attribute name precedes the '=' before the quote. */
            name0 = a > 0 && h[a - 1] == '=' ? a - 1 : a;
            while (name0 > 0 && ((h[name0 - 1] >= 'a' && h[name0 - 1] <= 'z') ||
                                 (h[name0 - 1] >= 'A' && h[name0 - 1] <= 'Z')))
                name0--;
            url = (a - name0 == 5 && !memcmp(h + name0, "href", 4)) ||
                  (a - name0 == 4 && !memcmp(h + name0, "src", 3));
            nt_buf_add(b, h + start, i + 1 - start);
            nt_buf_init(&tmp, 0);
            subst_attr(&tmp, x, h + i + 1, close - i - 1, url);
            if (tmp.err)
                b->err = tmp.err;
            else if (!(url && dangerous_url(nt_buf_cstr(&tmp), tmp.len)))
                nt_buf_add(b, tmp.data, tmp.len);
            nt_buf_release(&tmp);
            i = close < n ? close : n;
            start = i;
            if (close < n)
                i++; /* the closing quote is copied with what follows */
            continue;
        }
        if (c == '<')
            in_tag = 1;
        else if (c == '>')
            in_tag = 0;
        else if (!in_tag && c == 'N' && n - i >= PH_MARK && !memcmp(h + i, x->mark, PH_MARK)) {
            const char *v = placeholder_value(x, h + i, n - i);
            if (v) {
                nt_buf_add(b, h + start, i - start);
                nt_buf_add_html(b, v, strlen(v));
                i += PH_LEN;
                start = i;
                continue;
            }
        }
        i++;
    }
    nt_buf_add(b, h + start, n - start);
}

static nt_err
add_rendered_markdown(nt_buf *doc, const struct part *pt, size_t base, const struct subst *x)
{
    nt_buf md;
    char *h;

    nt_buf_init(&md, 0);
    add_markdown(&md, pt, x->mark, base);
    if (md.err) {
        nt_err e = md.err;
        nt_buf_release(&md);
        return e;
    }
    /* CMARK_OPT_DEFAULT is safe mode in cmark 0.30: raw HTML is omitted and
     * javascript: style links are dropped. */
    h = cmark_markdown_to_html(md.data ? md.data : "", md.len, CMARK_OPT_DEFAULT);
    nt_buf_release(&md);
    if (!h)
        return NT_ENOMEM;
    subst_html(doc, x, h);
    free(h);
    return doc->err;
}

static nt_err
render_html(const nt_template *t, const struct values *tv, const nt_template *f,
            const struct values *fv, const char *subject, const char *preheader, char **out)
{
    char mark[PH_MARK + 1];
    struct subst x;
    nt_buf doc;
    nt_err err;

    make_marker(mark, &t->body, f ? &f->body : NULL);
    x.mark = mark;
    x.tv = tv;
    x.fv = f ? fv : NULL;

    nt_buf_init(&doc, 0);
    nt_buf_adds(&doc, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<title>");
    nt_buf_add_html(&doc, subject, strlen(subject));
    nt_buf_adds(&doc, "</title>\n</head>\n<body style=\"margin:0;padding:0;\">\n");
    if (preheader) {
        /* Shown by mail clients next to the subject, hidden in the message. */
        nt_buf_adds(&doc, "<div style=\"display:none;max-height:0;overflow:hidden;"
                          "mso-hide:all;\">");
        nt_buf_add_html(&doc, preheader, strlen(preheader));
        nt_buf_adds(&doc, "</div>\n");
    }
    nt_buf_adds(&doc, "<div style=\"max-width:600px;margin:0 auto;padding:16px;"
                      "font-family:sans-serif;font-size:16px;line-height:1.5;color:#222222;\">\n");
    err = add_rendered_markdown(&doc, &t->body, 0, &x);
    if (!err && f) {
        nt_buf_adds(&doc, "<div style=\"margin-top:32px;font-size:13px;color:#666666;\">\n");
        err = add_rendered_markdown(&doc, &f->body, tv->n, &x);
        nt_buf_adds(&doc, "</div>\n");
    }
    nt_buf_adds(&doc, "</div>\n</body>\n</html>\n");
    if (!err)
        err = doc.err;
    if (err) {
        nt_buf_release(&doc);
        return err;
    }
    *out = nt_buf_detach(&doc, NULL);
    return *out ? NT_OK : NT_ENOMEM;
}

void
nt_rendered_release(nt_rendered *r)
{
    if (!r)
        return;
    free(r->subject);
    free(r->preheader);
    free(r->text);
    free(r->html);
    memset(r, 0, sizeof(*r));
}

nt_err
nt_template_render(const nt_template *t, const nt_template *footer, nt_merge_fn fn, void *ctx,
                   nt_rendered *out, nt_diag *d)
{
    struct values tv = {NULL, 0}, fv = {NULL, 0};
    nt_buf text;
    nt_err err;

    memset(out, 0, sizeof(*out));
    nt_buf_init(&text, 0);
    err = values_fill(&tv, t, fn, ctx);
    if (!err && footer)
        err = values_fill(&fv, footer, fn, ctx);
    if (err)
        goto out;

    out->subject = render_line(&t->subject, &tv, &err);
    if (err)
        goto out;
    if (t->has_preheader) {
        out->preheader = render_line(&t->preheader, &tv, &err);
        if (err)
            goto out;
        if (!out->preheader[0]) {
            free(out->preheader);
            out->preheader = NULL;
        }
    }

    add_part(&text, &t->body, &tv);
    if (footer) {
        nt_buf_adds(&text, "\n\n");
        add_part(&text, &footer->body, &fv);
    }
    nt_buf_addc(&text, '\n');
    if (text.err) {
        err = text.err;
        goto out;
    }
    out->text = nt_buf_detach(&text, NULL);
    if (!out->text) {
        err = NT_ENOMEM;
        goto out;
    }
    err = render_html(t, &tv, footer, &fv, out->subject, out->preheader, &out->html);

out:
    nt_buf_release(&text);
    values_release(&tv);
    values_release(&fv);
    if (err) {
        nt_rendered_release(out);
        return nt_diag_set(d, err, NULL, 0, 0, "rendering the template: %s", nt_strerror(err));
    }
    return NT_OK;
}
