/*
 * Inbound mail, decoded with GMime 3 into the flat nt_inmsg view that the
 * classifier reads: the entry point, GMime's full parse, and the helpers
 * the quick reader (mime_fast.c) shares.  GMime does the hard parts (MIME
 * structure, transfer encodings, charsets, RFC 2047); this file walks the
 * tree depth-first,
 * picks the body text (text/plain, else HTML turned into text by a small
 * tag stripper), and reads the machine-readable report parts itself:
 * message/delivery-status and message/feedback-report bodies are
 * header-like groups, parsed here, and the returned original's headers are
 * kept.  Every string leaving this file is re-checked as UTF-8 because mail
 * lies about its charsets.
 */
#include <iconv.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "nurture/buf.h"
#include "nurture/mime.h"
#include "nurture/utf8.h"

#include "mime_impl.h"

#include "banned.h"

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void
gmime_init(void)
{
    g_mime_init();
}

/* The body parts the tree walk found. */
struct pick {
    GMimeObject *plain; /* first text/plain that is not an attachment */
    GMimeObject *html;  /* first text/html likewise */
};

static int
lc(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/*
 * A valid UTF-8 copy of s[0..n) in *dst (replacing what was there).  With
 * oneline, CR, LF and other control characters become spaces and the ends
 * are trimmed, so that no header value carries a line break.
 */
void
nt_mi_put(nt_mi *w, char **dst, const char *s, size_t n, int oneline)
{
    nt_buf b;
    char *r;
    size_t i;

    if (w->err || !s)
        return;
    if (oneline) {
        while (n > 0 && is_ws((unsigned char)s[0])) {
            s++;
            n--;
        }
        while (n > 0 && is_ws((unsigned char)s[n - 1]))
            n--;
    }
    if (nt_utf8_valid(s, n)) {
        /* The common case, and for a long body a single copy matters. */
        if ((r = malloc(n + 1)) != NULL) {
            memcpy(r, s, n);
            r[n] = '\0';
        }
    } else {
        nt_buf_init(&b, NT_INMSG_MAX_BYTES * 2);
        nt_utf8_add_valid(&b, s, n);
        r = nt_buf_detach(&b, NULL);
    }
    if (!r) {
        w->err = NT_ENOMEM;
        return;
    }
    if (oneline)
        for (i = 0; r[i]; i++)
            if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
                r[i] = ' ';
    free(*dst);
    *dst = r;
}

void
nt_mi_puts(nt_mi *w, char **dst, const char *s)
{
    if (s)
        nt_mi_put(w, dst, s, strlen(s), 1);
}

void
nt_mi_lower(char *s)
{
    for (; s && *s; s++)
        *s = (char)lc((unsigned char)*s);
}

/* The first <id> of s without its brackets, or s trimmed when it has none. */
void
nt_mi_put_id(nt_mi *w, char **dst, const char *s)
{
    const char *a, *z;

    if (!s)
        return;
    a = strchr(s, '<');
    if (a && (z = strchr(a + 1, '>')) != NULL) {
        nt_mi_put(w, dst, a + 1, (size_t)(z - a - 1), 1);
        return;
    }
    nt_mi_puts(w, dst, s);
}

/* An address as normalised by nt_email_normalize, or as written when it
 * is not one; angle brackets removed. */
void
nt_mi_put_addr(nt_mi *w, char **dst, const char *s, size_t n)
{
    char *norm = NULL;
    const char *a;

    while (n > 0 && is_ws((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_ws((unsigned char)s[n - 1]))
        n--;
    if (n > 0 && s[0] == '<' && (a = memchr(s, '>', n)) != NULL) {
        n = (size_t)(a - s - 1);
        s++;
    }
    if (n > 0 && nt_email_normalize(s, n, &norm, NULL) == NT_OK && norm) {
        nt_mi_put(w, dst, norm, strlen(norm), 1);
        free(norm);
        return;
    }
    free(norm);
    nt_mi_put(w, dst, s, n, 1);
}

/* Skip a "rfc822;" / "smtp;" / "dns;" type prefix. */
static const char *
skip_type(const char *v)
{
    const char *p = v;

    while (*p == ' ' || *p == '\t')
        p++;
    v = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '-')
        p++;
    if (*p == ';' && p > v && p - v <= 20)
        return p + 1;
    return v;
}

/* ---- header-like groups (delivery-status, feedback-report, headers) ---- */

struct field {
    char *name;
    nt_buf value;
};

struct group {
    struct field *f;
    size_t n, cap;
};

static void
groups_free(struct group *g, size_t ng)
{
    size_t i, j;

    for (i = 0; i < ng; i++) {
        for (j = 0; j < g[i].n; j++) {
            free(g[i].f[j].name);
            nt_buf_release(&g[i].f[j].value);
        }
        free(g[i].f);
    }
    free(g);
}

/*
 * Split s[0..n) into groups of "Name: value" fields separated by blank
 * lines; continuation lines are unfolded into the previous value with one
 * space.  Lines that are neither are ignored.  NT_ENOMEM or NT_OK.
 */
static nt_err
parse_groups(const char *s, size_t n, struct group **out, size_t *nout)
{
    struct group *g = NULL, *cur = NULL;
    size_t ng = 0, cap = 0, i = 0;
    int ingroup = 0;

    while (i < n) {
        size_t e = i, le;
        const char *line = s + i, *colon;

        while (e < n && s[e] != '\n')
            e++;
        le = e - i;
        if (le > 0 && line[le - 1] == '\r')
            le--;
        i = e < n ? e + 1 : n;
        {
            size_t k = 0;
            while (k < le && (line[k] == ' ' || line[k] == '\t'))
                k++;
            if (k == le) { /* blank: end of group */
                ingroup = 0;
                continue;
            }
            if (k > 0) { /* continuation */
                if (ingroup && cur->n > 0) {
                    nt_buf *v = &cur->f[cur->n - 1].value;
                    nt_buf_addc(v, ' ');
                    nt_buf_add(v, line + k, le - k);
                    if (v->err == NT_ENOMEM)
                        goto oom;
                }
                continue;
            }
        }
        colon = memchr(line, ':', le);
        if (!colon || colon == line)
            continue;
        if (!ingroup) {
            if (ng == cap) {
                size_t nc = cap ? cap * 2 : 4;
                struct group *t = realloc(g, nc * sizeof(*t));
                if (!t)
                    goto oom;
                g = t;
                cap = nc;
            }
            cur = &g[ng++];
            memset(cur, 0, sizeof(*cur));
            ingroup = 1;
        }
        if (cur->n == cur->cap) {
            size_t nc = cur->cap ? cur->cap * 2 : 8;
            struct field *t = realloc(cur->f, nc * sizeof(*t));
            if (!t)
                goto oom;
            cur->f = t;
            cur->cap = nc;
        }
        {
            struct field *f = &cur->f[cur->n];
            size_t nl = (size_t)(colon - line);

            while (nl > 0 && (line[nl - 1] == ' ' || line[nl - 1] == '\t'))
                nl--;
            f->name = malloc(nl + 1);
            if (!f->name)
                goto oom;
            memcpy(f->name, line, nl);
            f->name[nl] = '\0';
            nt_buf_init(&f->value, NT_INMSG_MAX_BYTES);
            cur->n++;
            nt_buf_add(&f->value, colon + 1, le - (size_t)(colon + 1 - line));
            if (f->value.err == NT_ENOMEM)
                goto oom;
        }
    }
    *out = g;
    *nout = ng;
    return NT_OK;
oom:
    groups_free(g, ng);
    return NT_ENOMEM;
}

static const char *
group_get(struct group *g, const char *name)
{
    size_t i;

    for (i = 0; i < g->n; i++)
        if (strcasecmp(g->f[i].name, name) == 0)
            return nt_buf_cstr(&g->f[i].value);
    return NULL;
}

/* ---- the parts ---- */

/* The decoded (transfer encoding removed) bytes of a leaf part. */
static GByteArray *
part_bytes(GMimePart *part, GMimeStream **keep)
{
    GMimeDataWrapper *dw = g_mime_part_get_content(part);
    GMimeStream *ms;

    *keep = NULL;
    if (!dw)
        return NULL;
    ms = g_mime_stream_mem_new();
    if (g_mime_data_wrapper_write_to_stream(dw, ms) < 0) {
        g_object_unref(ms);
        return NULL;
    }
    *keep = ms;
    return g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
}

static void
parse_dsn(nt_mi *w, const char *s, size_t n)
{
    nt_inmsg *m = w->m;
    struct group *g = NULL;
    size_t ng = 0, i;
    nt_err err;

    if ((err = parse_groups(s, n, &g, &ng)) != NT_OK) {
        w->err = err;
        return;
    }
    for (i = 0; i < ng && !w->err; i++) {
        const char *fr = group_get(&g[i], "Final-Recipient");
        const char *orc = group_get(&g[i], "Original-Recipient");
        const char *act = group_get(&g[i], "Action");
        const char *v;
        nt_dsn_rcpt *r, *t;

        if (!fr && !orc && !act) {
            if (!m->dsn_reporting_mta && (v = group_get(&g[i], "Reporting-MTA")) != NULL)
                nt_mi_puts(w, &m->dsn_reporting_mta, skip_type(v));
            continue;
        }
        if (m->ndsn >= 10000)
            break;
        t = realloc(m->dsn, (m->ndsn + 1) * sizeof(*t));
        if (!t) {
            w->err = NT_ENOMEM;
            break;
        }
        m->dsn = t;
        r = &m->dsn[m->ndsn++];
        memset(r, 0, sizeof(*r));
        if (fr) {
            v = skip_type(fr);
            nt_mi_put_addr(w, &r->final_recipient, v, strlen(v));
        }
        if (orc) {
            v = skip_type(orc);
            nt_mi_put_addr(w, &r->original_recipient, v, strlen(v));
        }
        if (act) {
            nt_mi_puts(w, &r->action, act);
            nt_mi_lower(r->action);
        }
        nt_mi_puts(w, &r->status, group_get(&g[i], "Status"));
        if ((v = group_get(&g[i], "Diagnostic-Code")) != NULL)
            nt_mi_puts(w, &r->diagnostic, skip_type(v));
        if ((v = group_get(&g[i], "Remote-MTA")) != NULL)
            nt_mi_puts(w, &r->remote_mta, skip_type(v));
    }
    groups_free(g, ng);
}

static void
parse_feedback(nt_mi *w, const char *s, size_t n)
{
    struct group *g = NULL;
    size_t ng = 0;
    nt_err err;

    if ((err = parse_groups(s, n, &g, &ng)) != NT_OK) {
        w->err = err;
        return;
    }
    if (ng > 0) {
        nt_mi_puts(w, &w->m->feedback_type, group_get(&g[0], "Feedback-Type"));
        nt_mi_lower(w->m->feedback_type);
    }
    groups_free(g, ng);
}

/* text/rfc822-headers: the raw text, and its Message-ID and To. */
static void
parse_returned_headers(nt_mi *w, const char *s, size_t n)
{
    nt_inmsg *m = w->m;
    struct group *g = NULL;
    size_t ng = 0;
    const char *v;
    nt_err err;

    nt_mi_put(w, &m->returned_headers, s, n, 0);
    if ((err = parse_groups(s, n, &g, &ng)) != NT_OK) {
        w->err = err;
        return;
    }
    if (ng > 0) {
        if ((v = group_get(&g[0], "Message-ID")) != NULL)
            nt_mi_put_id(w, &m->returned_message_id, v);
        if ((v = group_get(&g[0], "To")) != NULL) {
            char *dec = g_mime_utils_header_decode_text(NULL, v);
            nt_mi_puts(w, &m->returned_to, dec ? dec : v);
            g_free(dec);
        }
    }
    groups_free(g, ng);
}

static void
returned_message(nt_mi *w, GMimeMessage *inner)
{
    nt_inmsg *m = w->m;
    char *hdrs;

    if (m->returned_headers || !inner)
        return;
    hdrs = g_mime_object_get_headers(GMIME_OBJECT(inner), NULL);
    nt_mi_put(w, &m->returned_headers, hdrs ? hdrs : "", hdrs ? strlen(hdrs) : 0, 0);
    g_free(hdrs);
    nt_mi_put_id(w, &m->returned_message_id, g_mime_message_get_message_id(inner));
    nt_mi_puts(w, &m->returned_to, g_mime_object_get_header(GMIME_OBJECT(inner), "To"));
}

int
nt_mi_ci_eq(const char *a, const char *b)
{
    return a && b && g_ascii_strcasecmp(a, b) == 0;
}

int
nt_mi_is_report_part(nt_mi *w, const char *type, const char *subtype)
{
    if (nt_mi_ci_eq(type, "message"))
        return nt_mi_ci_eq(subtype, "delivery-status") ||
               nt_mi_ci_eq(subtype, "global-delivery-status") ||
               nt_mi_ci_eq(subtype, "feedback-report");
    return nt_mi_ci_eq(type, "text") && nt_mi_ci_eq(subtype, "rfc822-headers") &&
           !w->m->returned_headers;
}

int
nt_mi_report_part(nt_mi *w, const char *type, const char *subtype, const char *s, size_t n)
{
    if (!nt_mi_is_report_part(w, type, subtype))
        return 0;
    if (nt_mi_ci_eq(subtype, "feedback-report"))
        parse_feedback(w, s, n);
    else if (nt_mi_ci_eq(subtype, "rfc822-headers"))
        parse_returned_headers(w, s, n);
    else if (!w->m->dsn)
        parse_dsn(w, s, n);
    return 1;
}

/*
 * Depth-first over the tree.  Inside a returned message (inret) only the
 * depth is checked: its text is not the reply's text.
 */
static void
walk(nt_mi *w, struct pick *pk, GMimeObject *obj, int depth, int inret)
{
    GMimeContentType *ct;

    if (!obj || w->err)
        return;
    if (depth > NT_INMSG_MAX_DEPTH) {
        w->err = NT_ELIMIT;
        return;
    }
    ct = g_mime_object_get_content_type(obj);
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int i, count = g_mime_multipart_get_count(mp);

        if (!inret && ct && !w->m->report_type &&
            g_mime_content_type_is_type(ct, "multipart", "report")) {
            nt_mi_puts(w, &w->m->report_type, g_mime_content_type_get_parameter(ct, "report-type"));
            nt_mi_lower(w->m->report_type);
        }
        for (i = 0; i < count && !w->err; i++)
            walk(w, pk, g_mime_multipart_get_part(mp, i), depth + 1, inret);
        return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

        if (!inret)
            returned_message(w, inner);
        if (inner)
            walk(w, pk, g_mime_message_get_mime_part(inner), depth + 1, 1);
        return;
    }
    if (inret || !GMIME_IS_PART(obj) || !ct)
        return;
    if (g_mime_content_type_is_type(ct, "text", "plain") ||
        g_mime_content_type_is_type(ct, "text", "html")) {
        if (g_mime_part_is_attachment(GMIME_PART(obj)))
            return;
        if (g_mime_content_type_is_type(ct, "text", "plain")) {
            if (!pk->plain)
                pk->plain = obj;
        } else if (!pk->html) {
            pk->html = obj;
        }
        return;
    }
    if (nt_mi_is_report_part(w, g_mime_content_type_get_media_type(ct),
                             g_mime_content_type_get_media_subtype(ct))) {
        GMimeStream *keep;
        GByteArray *ba = part_bytes(GMIME_PART(obj), &keep);

        /* An empty part still counts (its array has no data). */
        nt_mi_report_part(w, g_mime_content_type_get_media_type(ct),
                          g_mime_content_type_get_media_subtype(ct),
                          ba && ba->data ? (const char *)ba->data : "", ba ? ba->len : 0);
        if (keep)
            g_object_unref(keep);
    }
}

/* ---- HTML to text ---- */

static void
add_cp(nt_buf *b, unsigned long cp)
{
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        cp = 0xfffd;
    if (cp == 0xa0)
        cp = ' ';
    if (cp < 0x80) {
        nt_buf_addc(b, (char)cp);
    } else if (cp < 0x800) {
        nt_buf_addc(b, (char)(0xc0 | cp >> 6));
        nt_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        nt_buf_addc(b, (char)(0xe0 | cp >> 12));
        nt_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        nt_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        nt_buf_addc(b, (char)(0xf0 | cp >> 18));
        nt_buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
        nt_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        nt_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
    }
}

static const struct {
    const char *name;
    unsigned long cp;
} entities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},      {"apos", '\''},
    {"nbsp", ' '},     {"copy", 0xa9},    {"reg", 0xae},     {"hellip", 0x2026}, {"mdash", 0x2014},
    {"ndash", 0x2013}, {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201c},  {"rdquo", 0x201d},
    {"euro", 0x20ac},  {"trade", 0x2122}, {"middot", 0xb7},  {"bull", 0x2022},   {"laquo", 0xab},
    {"raquo", 0xbb},   {"eacute", 0xe9},  {"egrave", 0xe8},  {"agrave", 0xe0},   {"uuml", 0xfc},
    {"ouml", 0xf6},    {"auml", 0xe4},    {"szlig", 0xdf},   {"ccedil", 0xe7},   {"zwnj", 0x200c},
};

/* Decode the entity at s[0..n) (s[0] == '&'); returns bytes consumed, or 0
 * when it is not one. */
static size_t
entity(nt_buf *b, const char *s, size_t n)
{
    size_t i = 1, j;
    char name[16];
    unsigned long cp = 0;

    if (i < n && s[i] == '#') {
        int hex = 0, digits = 0;
        i++;
        if (i < n && (s[i] == 'x' || s[i] == 'X')) {
            hex = 1;
            i++;
        }
        for (; i < n && digits < 8; i++, digits++) {
            int c = (unsigned char)s[i], v;
            if (c >= '0' && c <= '9')
                v = c - '0';
            else if (hex && lc(c) >= 'a' && lc(c) <= 'f')
                v = lc(c) - 'a' + 10;
            else
                break;
            cp = cp * (hex ? 16 : 10) + (unsigned long)v;
        }
        if (digits == 0)
            return 0;
        if (i < n && s[i] == ';')
            i++;
        add_cp(b, cp);
        return i;
    }
    for (j = 0; i < n && j < sizeof(name) - 1 &&
                ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'));
         i++, j++)
        name[j] = s[i];
    name[j] = '\0';
    if (j == 0 || i >= n || s[i] != ';')
        return 0;
    for (j = 0; j < sizeof(entities) / sizeof(entities[0]); j++)
        if (strcmp(entities[j].name, name) == 0) {
            add_cp(b, entities[j].cp);
            return i + 1;
        }
    return 0;
}

static int
starts_ci(const char *s, size_t n, const char *p)
{
    size_t i;

    for (i = 0; p[i]; i++)
        if (i >= n || lc((unsigned char)s[i]) != p[i])
            return 0;
    return 1;
}

/* Position just past the end of "</name ... >" in s[i..n), or n. */
static size_t
skip_element(const char *s, size_t n, size_t i, const char *name)
{
    for (; i + 1 < n; i++)
        if (s[i] == '<' && s[i + 1] == '/' && starts_ci(s + i + 2, n - i - 2, name)) {
            const char *gt = memchr(s + i, '>', n - i);
            return gt ? (size_t)(gt - s) + 1 : n;
        }
    return n;
}

static void
html_newline(nt_buf *b)
{
    while (b->len > 0 && b->data[b->len - 1] == ' ')
        b->len--;
    if (b->len == 0 || (b->len >= 2 && b->data[b->len - 1] == '\n' && b->data[b->len - 2] == '\n'))
        return;
    nt_buf_addc(b, '\n');
}

static const char *const block_tags[] = {"br",         "p",  "div", "tr", "li",    "h1",
                                         "h2",         "h3", "h4",  "h5", "h6",    "table",
                                         "blockquote", "ul", "ol",  "hr", "title", "pre"};

/* HTML (already UTF-8) to plain text; detached into *out. */
static void
html_to_text(nt_mi *w, char **out, const char *s, size_t n)
{
    nt_buf b;
    size_t i = 0, k;

    nt_buf_init(&b, NT_INMSG_MAX_BYTES * 2);
    while (i < n && !b.err) {
        unsigned char c = (unsigned char)s[i];

        if (c == '<') {
            char tag[16];
            size_t j = i + 1, t = 0;
            char q = 0;

            if (starts_ci(s + j, n - j, "!--")) {
                const char *e = NULL;
                for (k = j + 3; k + 2 < n; k++)
                    if (s[k] == '-' && s[k + 1] == '-' && s[k + 2] == '>') {
                        e = s + k;
                        break;
                    }
                i = e ? (size_t)(e - s) + 3 : n;
                continue;
            }
            if (j < n && s[j] == '/')
                j++;
            while (j < n && t < sizeof(tag) - 1 &&
                   ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
                    (s[j] >= '0' && s[j] <= '9')))
                tag[t++] = (char)lc((unsigned char)s[j++]);
            tag[t] = '\0';
            if (t == 0 && !(j < n && (s[j] == '!' || s[j] == '?'))) {
                nt_buf_addc(&b, '<'); /* a lone '<' is text */
                i++;
                continue;
            }
            for (k = j; k < n; k++) { /* end of the tag, quotes respected */
                if (q) {
                    if (s[k] == q)
                        q = 0;
                } else if (s[k] == '"' || s[k] == '\'') {
                    q = s[k];
                } else if (s[k] == '>') {
                    break;
                }
            }
            i = k < n ? k + 1 : n;
            if (s[(size_t)(j - t) - 1] != '/' &&
                (strcmp(tag, "style") == 0 || strcmp(tag, "script") == 0 ||
                 strcmp(tag, "head") == 0)) {
                i = skip_element(s, n, i, tag);
                continue;
            }
            for (k = 0; k < sizeof(block_tags) / sizeof(block_tags[0]); k++)
                if (strcmp(tag, block_tags[k]) == 0) {
                    html_newline(&b);
                    break;
                }
            continue;
        }
        if (c == '&') {
            size_t used = entity(&b, s + i, n - i);
            if (used) {
                i += used;
                continue;
            }
        }
        if (is_ws(c)) {
            if (b.len > 0 && b.data[b.len - 1] != ' ' && b.data[b.len - 1] != '\n')
                nt_buf_addc(&b, ' ');
            i++;
            continue;
        }
        nt_buf_addc(&b, (char)c);
        i++;
    }
    while (b.len > 0 && (b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\n'))
        b.len--;
    if (b.err) {
        w->err = b.err == NT_ELIMIT ? NT_ELIMIT : NT_ENOMEM;
        nt_buf_release(&b);
        return;
    }
    nt_mi_put(w, out, b.data ? b.data : "", b.len, 0);
    nt_buf_release(&b);
}

/* ---- body text ---- */

/*
 * glibc unloads a charset's conversion module when the last descriptor for
 * it is closed, and GMime closes its descriptor after each part or header:
 * a mailbox of mixed charsets loads and unloads modules message after
 * message, which costs more than the parse.  One descriptor kept open per
 * charset seen (up to PIN_MAX) keeps its module loaded for the process.
 */
#define PIN_MAX 64

static pthread_mutex_t pin_lock = PTHREAD_MUTEX_INITIALIZER;
static char pin_name[PIN_MAX][40];
static iconv_t pin_cd[PIN_MAX];
static size_t npin;

static void
pin_charset(const char *cs, size_t n)
{
    char name[40];
    size_t i;

    if (n == 0 || n >= sizeof(name))
        return;
    for (i = 0; i < n; i++)
        name[i] = (char)g_ascii_tolower(cs[i]);
    name[n] = '\0';
    if (strcmp(name, "utf-8") == 0 || strcmp(name, "us-ascii") == 0)
        return;
    pthread_mutex_lock(&pin_lock);
    for (i = 0; i < npin && strcmp(pin_name[i], name) != 0; i++)
        ;
    if (i == npin && npin < PIN_MAX) {
        iconv_t cd = g_mime_iconv_open("utf-8", name);

        if (cd != (iconv_t)-1) {
            memcpy(pin_name[npin], name, n + 1);
            pin_cd[npin++] = cd;
        }
    }
    pthread_mutex_unlock(&pin_lock);
}

/* The charsets named by the encoded words of a header value. */
static void
pin_encoded_words(const char *v)
{
    const char *p = v, *e;

    while ((p = strstr(p, "=?")) != NULL) {
        p += 2;
        for (e = p; *e && *e != '?' && *e != '*' && !g_ascii_isspace(*e); e++)
            ;
        if (*e == '?' || *e == '*')
            pin_charset(p, (size_t)(e - p));
        p = e;
    }
}

static void
use_text(nt_mi *w, const char *t, size_t n, int html)
{
    if (!html) {
        nt_mi_put(w, &w->m->text, t, n, 0);
    } else {
        html_to_text(w, &w->m->text, t, n);
        w->m->text_from_html = 1;
    }
}

/* Declared UTF-8, or US-ASCII that is: no conversion to run. */
static int
already_utf8(const char *cs, const char *s, size_t n)
{
    if (g_ascii_strcasecmp(cs, "utf-8") == 0 || g_ascii_strcasecmp(cs, "utf8") == 0)
        return 1;
    if (g_ascii_strcasecmp(cs, "us-ascii") != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 0;
    return 1;
}

/* s[0..n) through GMime's charset filter, as g_mime_text_part_get_text
 * runs it; NULL when GMime has no converter for cs (the bytes are then
 * taken as they are, as GMime does) or on out of memory. */
static char *
convert(const char *cs, const char *s, size_t n, size_t *outn)
{
    GMimeFilter *f;
    char *out1, *out2, *r;
    size_t n1, n2, pre;

    pin_charset(cs, strlen(cs));
    if ((f = g_mime_filter_charset_new(cs, "utf-8")) == NULL)
        return NULL;
    g_mime_filter_filter(f, (char *)(uintptr_t)s, n, 0, &out1, &n1, &pre);
    r = malloc(n1 + 1);
    if (r) {
        memcpy(r, out1, n1);
        g_mime_filter_complete(f, (char *)(uintptr_t) "", 0, 0, &out2, &n2, &pre);
        if (n2 > 0) {
            char *t = realloc(r, n1 + n2 + 1);
            if (!t) {
                free(r);
                r = NULL;
            } else {
                r = t;
                memcpy(r + n1, out2, n2);
            }
        }
        n1 += n2;
    }
    g_object_unref(f);
    if (r)
        r[n1] = '\0';
    *outn = n1;
    return r;
}

void
nt_mi_body_text(nt_mi *w, const char *bytes, size_t n, const char *charset, int html)
{
    char *conv = NULL;
    size_t cn = 0;

    if (w->err)
        return;
    if (charset && !already_utf8(charset, bytes, n) &&
        (conv = convert(charset, bytes, n, &cn)) != NULL) {
        use_text(w, conv, strnlen(conv, cn), html);
        free(conv);
        return;
    }
    use_text(w, bytes, strnlen(bytes, n), html);
}

static void
body_text(nt_mi *w, const struct pick *pk)
{
    GMimeObject *obj = pk->plain ? pk->plain : pk->html;
    GMimeStream *keep = NULL;
    GByteArray *ba;

    if (!obj || !GMIME_IS_TEXT_PART(obj))
        return;
    ba = part_bytes(GMIME_PART(obj), &keep);
    if (ba)
        nt_mi_body_text(w, ba->len ? (const char *)ba->data : "", ba->len,
                        g_mime_object_get_content_type_parameter(obj, "charset"), !pk->plain);
    if (keep)
        g_object_unref(keep);
}

/* ---- top level ---- */

/* Plain ASCII without encoded words: decoding it is only unfolding. */
int
nt_mi_plain_header(const char *raw)
{
    for (const unsigned char *p = (const unsigned char *)raw; *p; p++)
        if (*p >= 0x80 || (p[0] == '=' && p[1] == '?'))
            return 0;
    return 1;
}

/*
 * GMime's decoder is a good part of a parse for the long trace headers a
 * bounce carries, and they need none: a plain value is only unfolded
 * here, which gives what GMime would.
 */
char *
nt_mi_header_decode(const char *raw)
{
    char *u, *dec;
    size_t k = 0;

    if (!nt_mi_plain_header(raw)) {
        pin_encoded_words(raw);
        u = g_mime_utils_header_unfold(raw);
        dec = u ? g_mime_utils_header_decode_text(NULL, u) : NULL;
        g_free(u);
        return dec;
    }
    if (!(u = g_malloc(strlen(raw) + 1)))
        return NULL;
    for (size_t i = 0; raw[i]; i++)
        if (raw[i] != '\r' && raw[i] != '\n')
            u[k++] = raw[i];
    u[k] = '\0';
    return u;
}

void
nt_mi_header_value(nt_mi *w, char **dst, const char *raw)
{
    char *v;

    if (w->err)
        return;
    if (!raw) {
        nt_mi_puts(w, dst, "");
        return;
    }
    if (!(v = nt_mi_header_decode(raw))) {
        w->err = NT_ENOMEM;
        return;
    }
    nt_mi_puts(w, dst, v);
    g_free(v);
}

static void
top_headers(nt_mi *w, GMimeMessage *msg)
{
    nt_inmsg *m = w->m;
    GMimeObject *obj = GMIME_OBJECT(msg);
    GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
    GDateTime *dt;
    const char *v;
    int i, count = hl ? g_mime_header_list_get_count(hl) : 0;

    if (count > 0) {
        m->headers = calloc((size_t)count, sizeof(*m->headers));
        if (!m->headers) {
            w->err = NT_ENOMEM;
            return;
        }
    }
    for (i = 0; i < count && !w->err; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        const char *name = h ? g_mime_header_get_name(h) : NULL;

        if (!name)
            continue;
        nt_mi_puts(w, &m->headers[m->nheaders].name, name);
        nt_mi_header_value(w, &m->headers[m->nheaders].value, g_mime_header_get_raw_value(h));
        m->nheaders++;
    }

    nt_mi_put_id(w, &m->message_id, g_mime_message_get_message_id(msg));
    nt_mi_put_id(w, &m->in_reply_to, g_mime_object_get_header(obj, "In-Reply-To"));
    nt_mi_puts(w, &m->references, g_mime_object_get_header(obj, "References"));
    nt_mi_puts(w, &m->to, g_mime_object_get_header(obj, "To"));
    nt_mi_puts(w, &m->subject, g_mime_message_get_subject(msg));
    nt_mi_puts(w, &m->auto_submitted, g_mime_object_get_header(obj, "Auto-Submitted"));
    if ((v = g_mime_object_get_header(obj, "Return-Path")) != NULL)
        nt_mi_put_addr(w, &m->return_path, v, strlen(v));
    nt_mi_from(w, g_mime_message_get_from(msg));
    dt = g_mime_message_get_date(msg);
    if (dt)
        m->date = (int64_t)g_date_time_to_unix(dt);
}

void
nt_mi_content_type(nt_mi *w, GMimeContentType *ct)
{
    const char *t = g_mime_content_type_get_media_type(ct);
    const char *st = g_mime_content_type_get_media_subtype(ct);
    nt_buf b;

    nt_buf_init(&b, 1024);
    nt_buf_adds(&b, t ? t : "text");
    nt_buf_addc(&b, '/');
    nt_buf_adds(&b, st ? st : "plain");
    nt_mi_put(w, &w->m->content_type, nt_buf_cstr(&b), b.len, 1);
    nt_buf_release(&b);
    nt_mi_lower(w->m->content_type);
}

void
nt_mi_from(nt_mi *w, InternetAddressList *from)
{
    InternetAddress *ia;

    if (!from || internet_address_list_length(from) <= 0)
        return;
    ia = internet_address_list_get_address(from, 0);
    if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
        const char *a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
        if (a)
            nt_mi_put_addr(w, &w->m->from_addr, a, strlen(a));
    }
    if (ia && internet_address_get_name(ia))
        nt_mi_puts(w, &w->m->from_name, internet_address_get_name(ia));
}

/* GMime's parse: the whole tree, for any message. */
static nt_err
tree_parse(const char *raw, size_t len, nt_inmsg *out, nt_diag *d)
{
    nt_mi w;
    struct pick pk;
    GByteArray *array = NULL;
    GMimeStream *stream = NULL;
    GMimeParser *parser = NULL;
    GMimeMessage *msg = NULL;
    GMimeObject *body;
    GMimeContentType *ct;

    memset(&w, 0, sizeof(w));
    memset(&pk, 0, sizeof(pk));
    w.m = out;

    /* GMime reads the caller's bytes in place: the array only borrows
     * them (the stream does not own it, and it is freed without its data
     * below), since a copy of a large message costs more than its parse. */
    array = g_byte_array_new_take((guint8 *)(uintptr_t)(raw ? raw : ""), len);
    stream = g_mime_stream_mem_new_with_byte_array(array);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    msg = g_mime_parser_construct_message(parser, NULL);
    if (!msg) {
        w.err = NT_EINVAL;
        nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "not a mail message");
        goto out;
    }
    top_headers(&w, msg);
    if (!w.err && out->nheaders == 0) {
        w.err = NT_EINVAL;
        nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "not a mail message: no header found");
        goto out;
    }
    body = g_mime_message_get_mime_part(msg);
    ct = body ? g_mime_object_get_content_type(body) : NULL;
    if (ct)
        nt_mi_content_type(&w, ct);
    walk(&w, &pk, body, 1, 0);
    if (w.err == NT_ELIMIT)
        nt_diag_set(d, NT_ELIMIT, NULL, 0, 0, "MIME parts nested more than %d deep",
                    NT_INMSG_MAX_DEPTH);
    if (!w.err)
        body_text(&w, &pk);
out:
    if (msg)
        g_object_unref(msg);
    if (parser)
        g_object_unref(parser);
    if (stream)
        g_object_unref(stream);
    if (array)
        (void)g_byte_array_free(array, FALSE);
    return w.err;
}

void
nt_mi_init(void)
{
    pthread_once(&gmime_once, gmime_init);
}

nt_err
nt_inmsg_parse_with(const char *raw, size_t len, nt_inmsg_reader how, nt_inmsg *out, nt_diag *d)
{
    nt_err err = NT_OK;
    int declined = 1;

    memset(out, 0, sizeof(*out));
    nt_diag_clear(d);
    if (len > NT_INMSG_MAX_BYTES)
        return nt_diag_set(d, NT_ELIMIT, NULL, 0, 0,
                           "message of %zu bytes is over the limit of %zu", len,
                           NT_INMSG_MAX_BYTES);
    if (!raw && len)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "no message");
    nt_mi_init();
    if (how != NT_INMSG_GMIME)
        err = nt_mime_fast(raw ? raw : "", len, out, &declined);
    if (declined) {
        if (how == NT_INMSG_QUICK)
            return nt_diag_set(d, NT_ENOTFOUND, NULL, 0, 0, "not read in place");
        memset(out, 0, sizeof(*out));
        err = tree_parse(raw, len, out, d);
    }
    if (err == NT_ENOMEM)
        nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "out of memory parsing a message");
    else if (err == NT_ELIMIT && (!d || !d->msg[0]))
        nt_diag_set(d, NT_ELIMIT, NULL, 0, 0, "message text over the size limit");
    if (err)
        nt_inmsg_release(out);
    return err;
}

nt_err
nt_inmsg_parse(const char *raw, size_t len, nt_inmsg *out, nt_diag *d)
{
    return nt_inmsg_parse_with(raw, len, NT_INMSG_AUTO, out, d);
}

void
nt_inmsg_release(nt_inmsg *m)
{
    size_t i;

    if (!m)
        return;
    free(m->message_id);
    free(m->in_reply_to);
    free(m->references);
    free(m->from_addr);
    free(m->from_name);
    free(m->to);
    free(m->subject);
    free(m->return_path);
    free(m->auto_submitted);
    for (i = 0; i < m->nheaders; i++) {
        free(m->headers[i].name);
        free(m->headers[i].value);
    }
    free(m->headers);
    free(m->text);
    free(m->content_type);
    free(m->report_type);
    for (i = 0; i < m->ndsn; i++) {
        free(m->dsn[i].final_recipient);
        free(m->dsn[i].original_recipient);
        free(m->dsn[i].action);
        free(m->dsn[i].status);
        free(m->dsn[i].diagnostic);
        free(m->dsn[i].remote_mta);
    }
    free(m->dsn);
    free(m->dsn_reporting_mta);
    free(m->returned_headers);
    free(m->returned_message_id);
    free(m->returned_to);
    free(m->feedback_type);
    memset(m, 0, sizeof(*m));
}

const char *
nt_inmsg_header(const nt_inmsg *m, const char *name)
{
    size_t i;

    if (!m || !name)
        return NULL;
    for (i = 0; i < m->nheaders; i++)
        if (m->headers[i].name && strcasecmp(m->headers[i].name, name) == 0)
            return m->headers[i].value;
    return NULL;
}
