/*
 * Inbound mail, decoded with GMime 3 into the flat nt_inmsg view that the
 * classifier reads.  GMime does the hard parts (MIME structure, transfer
 * encodings, charsets, RFC 2047); this file walks the tree depth-first,
 * picks the body text (text/plain, else HTML turned into text by a small
 * tag stripper), and reads the machine-readable report parts itself:
 * message/delivery-status and message/feedback-report bodies are
 * header-like groups, parsed here, and the returned original's headers are
 * kept.  Every string leaving this file is re-checked as UTF-8 because mail
 * lies about its charsets.  The only file that includes <gmime/gmime.h>.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "nurture/buf.h"
#include "nurture/mime.h"
#include "nurture/utf8.h"

#include "banned.h"

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void
gmime_init(void)
{
    g_mime_init();
}

/* The parse in progress; err is sticky like nt_buf's. */
struct walk {
    nt_inmsg *m;
    GMimeObject *plain; /* first text/plain that is not an attachment */
    GMimeObject *html;  /* first text/html likewise */
    nt_err err;
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
static void
put(struct walk *w, char **dst, const char *s, size_t n, int oneline)
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

static void
puts1(struct walk *w, char **dst, const char *s)
{
    if (s)
        put(w, dst, s, strlen(s), 1);
}

static void
lower(char *s)
{
    for (; s && *s; s++)
        *s = (char)lc((unsigned char)*s);
}

/* The first <id> of s without its brackets, or s trimmed when it has none. */
static void
put_id(struct walk *w, char **dst, const char *s)
{
    const char *a, *z;

    if (!s)
        return;
    a = strchr(s, '<');
    if (a && (z = strchr(a + 1, '>')) != NULL) {
        put(w, dst, a + 1, (size_t)(z - a - 1), 1);
        return;
    }
    puts1(w, dst, s);
}

/* An address as normalised by nt_email_normalize, or as written when it
 * is not one; angle brackets removed. */
static void
put_addr(struct walk *w, char **dst, const char *s, size_t n)
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
        put(w, dst, norm, strlen(norm), 1);
        free(norm);
        return;
    }
    free(norm);
    put(w, dst, s, n, 1);
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
parse_dsn(struct walk *w, const char *s, size_t n)
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
                puts1(w, &m->dsn_reporting_mta, skip_type(v));
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
            put_addr(w, &r->final_recipient, v, strlen(v));
        }
        if (orc) {
            v = skip_type(orc);
            put_addr(w, &r->original_recipient, v, strlen(v));
        }
        if (act) {
            puts1(w, &r->action, act);
            lower(r->action);
        }
        puts1(w, &r->status, group_get(&g[i], "Status"));
        if ((v = group_get(&g[i], "Diagnostic-Code")) != NULL)
            puts1(w, &r->diagnostic, skip_type(v));
        if ((v = group_get(&g[i], "Remote-MTA")) != NULL)
            puts1(w, &r->remote_mta, skip_type(v));
    }
    groups_free(g, ng);
}

static void
parse_feedback(struct walk *w, const char *s, size_t n)
{
    struct group *g = NULL;
    size_t ng = 0;
    nt_err err;

    if ((err = parse_groups(s, n, &g, &ng)) != NT_OK) {
        w->err = err;
        return;
    }
    if (ng > 0) {
        puts1(w, &w->m->feedback_type, group_get(&g[0], "Feedback-Type"));
        lower(w->m->feedback_type);
    }
    groups_free(g, ng);
}

/* text/rfc822-headers: the raw text, and its Message-ID and To. */
static void
parse_returned_headers(struct walk *w, const char *s, size_t n)
{
    nt_inmsg *m = w->m;
    struct group *g = NULL;
    size_t ng = 0;
    const char *v;
    nt_err err;

    put(w, &m->returned_headers, s, n, 0);
    if ((err = parse_groups(s, n, &g, &ng)) != NT_OK) {
        w->err = err;
        return;
    }
    if (ng > 0) {
        if ((v = group_get(&g[0], "Message-ID")) != NULL)
            put_id(w, &m->returned_message_id, v);
        if ((v = group_get(&g[0], "To")) != NULL) {
            char *dec = g_mime_utils_header_decode_text(NULL, v);
            puts1(w, &m->returned_to, dec ? dec : v);
            g_free(dec);
        }
    }
    groups_free(g, ng);
}

static void
returned_message(struct walk *w, GMimeMessage *inner)
{
    nt_inmsg *m = w->m;
    char *hdrs;

    if (m->returned_headers || !inner)
        return;
    hdrs = g_mime_object_get_headers(GMIME_OBJECT(inner), NULL);
    put(w, &m->returned_headers, hdrs ? hdrs : "", hdrs ? strlen(hdrs) : 0, 0);
    g_free(hdrs);
    put_id(w, &m->returned_message_id, g_mime_message_get_message_id(inner));
    puts1(w, &m->returned_to, g_mime_object_get_header(GMIME_OBJECT(inner), "To"));
}

/*
 * Depth-first over the tree.  Inside a returned message (inret) only the
 * depth is checked: its text is not the reply's text.
 */
static void
walk(struct walk *w, GMimeObject *obj, int depth, int inret)
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
            puts1(w, &w->m->report_type, g_mime_content_type_get_parameter(ct, "report-type"));
            lower(w->m->report_type);
        }
        for (i = 0; i < count && !w->err; i++)
            walk(w, g_mime_multipart_get_part(mp, i), depth + 1, inret);
        return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

        if (!inret)
            returned_message(w, inner);
        if (inner)
            walk(w, g_mime_message_get_mime_part(inner), depth + 1, 1);
        return;
    }
    if (inret || !GMIME_IS_PART(obj) || !ct)
        return;
    if (g_mime_content_type_is_type(ct, "text", "plain") ||
        g_mime_content_type_is_type(ct, "text", "html")) {
        if (g_mime_part_is_attachment(GMIME_PART(obj)))
            return;
        if (g_mime_content_type_is_type(ct, "text", "plain")) {
            if (!w->plain)
                w->plain = obj;
        } else if (!w->html) {
            w->html = obj;
        }
        return;
    }
    if (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
        g_mime_content_type_is_type(ct, "message", "global-delivery-status") ||
        g_mime_content_type_is_type(ct, "message", "feedback-report") ||
        (g_mime_content_type_is_type(ct, "text", "rfc822-headers") && !w->m->returned_headers)) {
        GMimeStream *keep;
        GByteArray *ba = part_bytes(GMIME_PART(obj), &keep);
        const char *s = ba ? (const char *)ba->data : "";
        size_t n = ba ? ba->len : 0;

        if (g_mime_content_type_is_type(ct, "message", "feedback-report"))
            parse_feedback(w, s, n);
        else if (g_mime_content_type_is_type(ct, "text", "rfc822-headers"))
            parse_returned_headers(w, s, n);
        else if (!w->m->dsn)
            parse_dsn(w, s, n);
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
html_to_text(struct walk *w, char **out, const char *s, size_t n)
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
    put(w, out, b.data ? b.data : "", b.len, 0);
    nt_buf_release(&b);
}

static void
use_text(struct walk *w, const char *t, size_t n)
{
    if (w->plain) {
        put(w, &w->m->text, t, n, 0);
    } else {
        html_to_text(w, &w->m->text, t, n);
        w->m->text_from_html = 1;
    }
}

/* Declared UTF-8, or US-ASCII that is: no conversion to run. */
static int
already_utf8(GMimeObject *obj, const GByteArray *ba)
{
    const char *cs = g_mime_object_get_content_type_parameter(obj, "charset");

    if (!cs)
        return 0;
    if (g_ascii_strcasecmp(cs, "utf-8") == 0 || g_ascii_strcasecmp(cs, "utf8") == 0)
        return 1;
    if (g_ascii_strcasecmp(cs, "us-ascii") != 0)
        return 0;
    for (guint i = 0; i < ba->len; i++)
        if (ba->data[i] >= 0x80)
            return 0;
    return 1;
}

static void
body_text(struct walk *w)
{
    GMimeObject *obj = w->plain ? w->plain : w->html;
    GMimeStream *keep = NULL;
    GByteArray *ba;
    char *t;

    if (!obj || !GMIME_IS_TEXT_PART(obj))
        return;
    /* Transfer decoding only when the charset is UTF-8 already: GMime's
     * get_text would run the bytes through iconv and copy them twice. */
    ba = part_bytes(GMIME_PART(obj), &keep);
    if (ba && already_utf8(obj, ba)) {
        use_text(w, ba->len ? (const char *)ba->data : "",
                 ba->len ? strnlen((const char *)ba->data, ba->len) : 0);
        g_object_unref(keep);
        return;
    }
    if (keep)
        g_object_unref(keep);
    t = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
    if (!t)
        return;
    use_text(w, t, strlen(t));
    g_free(t);
}

/* ---- top level ---- */

/* Plain ASCII without encoded words: decoding it is only unfolding. */
static int
plain_header(const char *raw)
{
    for (const unsigned char *p = (const unsigned char *)raw; *p; p++)
        if (*p >= 0x80 || (p[0] == '=' && p[1] == '?'))
            return 0;
    return 1;
}

/*
 * A header's value, unfolded and decoded (RFC 2047, charsets).  GMime's
 * decoder is a good part of a parse for the long trace headers a bounce
 * carries, and they need none: a plain value is only unfolded here, which
 * gives what GMime would.
 */
static void
header_value(struct walk *w, char **dst, GMimeHeader *h)
{
    const char *raw = g_mime_header_get_raw_value(h), *v;
    size_t n, k = 0;
    char *u;

    if (!raw || !plain_header(raw)) {
        v = g_mime_header_get_value(h);
        puts1(w, dst, v ? v : "");
        return;
    }
    n = strlen(raw);
    if (!(u = malloc(n + 1))) {
        w->err = NT_ENOMEM;
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (raw[i] != '\r' && raw[i] != '\n')
            u[k++] = raw[i];
    put(w, dst, u, k, 1);
    free(u);
}

static void
top_headers(struct walk *w, GMimeMessage *msg)
{
    nt_inmsg *m = w->m;
    GMimeObject *obj = GMIME_OBJECT(msg);
    GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
    InternetAddressList *from;
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
        puts1(w, &m->headers[m->nheaders].name, name);
        header_value(w, &m->headers[m->nheaders].value, h);
        m->nheaders++;
    }

    put_id(w, &m->message_id, g_mime_message_get_message_id(msg));
    put_id(w, &m->in_reply_to, g_mime_object_get_header(obj, "In-Reply-To"));
    puts1(w, &m->references, g_mime_object_get_header(obj, "References"));
    puts1(w, &m->to, g_mime_object_get_header(obj, "To"));
    puts1(w, &m->subject, g_mime_message_get_subject(msg));
    puts1(w, &m->auto_submitted, g_mime_object_get_header(obj, "Auto-Submitted"));
    if ((v = g_mime_object_get_header(obj, "Return-Path")) != NULL)
        put_addr(w, &m->return_path, v, strlen(v));
    from = g_mime_message_get_from(msg);
    if (from && internet_address_list_length(from) > 0) {
        InternetAddress *ia = internet_address_list_get_address(from, 0);

        if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
            const char *a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
            if (a)
                put_addr(w, &m->from_addr, a, strlen(a));
        }
        if (ia && internet_address_get_name(ia))
            puts1(w, &m->from_name, internet_address_get_name(ia));
    }
    dt = g_mime_message_get_date(msg);
    if (dt)
        m->date = (int64_t)g_date_time_to_unix(dt);
}

nt_err
nt_inmsg_parse(const char *raw, size_t len, nt_inmsg *out, nt_diag *d)
{
    struct walk w;
    GByteArray *array = NULL;
    GMimeStream *stream = NULL;
    GMimeParser *parser = NULL;
    GMimeMessage *msg = NULL;
    GMimeObject *body;
    GMimeContentType *ct;

    memset(out, 0, sizeof(*out));
    memset(&w, 0, sizeof(w));
    w.m = out;
    nt_diag_clear(d);
    if (len > NT_INMSG_MAX_BYTES)
        return nt_diag_set(d, NT_ELIMIT, NULL, 0, 0,
                           "message of %zu bytes is over the limit of %zu", len,
                           NT_INMSG_MAX_BYTES);
    if (!raw && len)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "no message");
    pthread_once(&gmime_once, gmime_init);

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
    if (ct) {
        const char *t = g_mime_content_type_get_media_type(ct);
        const char *st = g_mime_content_type_get_media_subtype(ct);
        nt_buf b;

        nt_buf_init(&b, 1024);
        nt_buf_adds(&b, t ? t : "text");
        nt_buf_addc(&b, '/');
        nt_buf_adds(&b, st ? st : "plain");
        put(&w, &out->content_type, nt_buf_cstr(&b), b.len, 1);
        nt_buf_release(&b);
        lower(out->content_type);
    }
    walk(&w, body, 1, 0);
    if (w.err == NT_ELIMIT)
        nt_diag_set(d, NT_ELIMIT, NULL, 0, 0, "MIME parts nested more than %d deep",
                    NT_INMSG_MAX_DEPTH);
    if (!w.err)
        body_text(&w);
    if (w.err == NT_ENOMEM)
        nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "out of memory parsing a message");
    else if (w.err == NT_ELIMIT && (!d || !d->msg[0]))
        nt_diag_set(d, NT_ELIMIT, NULL, 0, 0, "message text over the size limit");
out:
    if (msg)
        g_object_unref(msg);
    if (parser)
        g_object_unref(parser);
    if (stream)
        g_object_unref(stream);
    if (array)
        (void)g_byte_array_free(array, FALSE);
    if (w.err)
        nt_inmsg_release(out);
    return w.err;
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
