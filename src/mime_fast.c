/*
 * The quick reader (mime_impl.h): a message read in place.
 *
 * GMime's parser builds an object for every header and part, and for the
 * replies and bounces nurture reads that tree costs more than everything
 * else together.  Here the structure comes from mime_scan.h and only the
 * values are handed to GMime's decoders: content types and dispositions,
 * transfer encodings, charsets, RFC 2047 words, addresses, dates.  The
 * choices follow what GMime's tree gives (which header of several counts,
 * where a part's content ends, which part is the returned message), and
 * whatever could come out differently is declined: then mime.c builds the
 * tree.  tests/unit/test_mime.c holds the two readers to the same result
 * over the corpus, and fuzz_mime does over any input.
 */
#include <stdlib.h>
#include <string.h>

#include "nurture/buf.h"
#include "nurture/mime.h"

#include "mime_impl.h"
#include "mime_scan.h"

#include "banned.h"

/* The first text part of each kind that is not an attachment. */
struct leaf {
    const char *s;
    size_t n;
    GMimeContentEncoding enc;
    char *charset; /* owned */
    int set;
};

struct fast {
    nt_mi w;
    const char *bounds[NT_INMSG_MAX_DEPTH + 1]; /* boundaries of the open multiparts */
    size_t blens[NT_INMSG_MAX_DEPTH + 1];
    size_t nb;
    struct leaf plain, html;
    int declined;
};

/* The fields of one entity. */
struct part {
    const nt_mscan_field *f;
    size_t n;
};

static int
name_is(const nt_mscan_field *f, const char *name)
{
    return strlen(name) == f->nlen && g_ascii_strncasecmp(f->name, name, f->nlen) == 0;
}

static int
is_content_field(const nt_mscan_field *f)
{
    return f->nlen >= 8 && g_ascii_strncasecmp(f->name, "Content-", 8) == 0;
}

/* The index of the first (or last) field called name, or -1. */
static long
find(const struct part *p, const char *name, int last)
{
    long found = -1;

    for (size_t i = 0; i < p->n; i++)
        if (name_is(&p->f[i], name)) {
            found = (long)i;
            if (!last)
                break;
        }
    return found;
}

static size_t
count(const struct part *p, const char *name)
{
    size_t c = 0;

    for (size_t i = 0; i < p->n; i++)
        c += (size_t)name_is(&p->f[i], name);
    return c;
}

static void
decline(struct fast *F)
{
    F->declined = 1;
}

/* A scan's answer: 1 when it read; else the parse fails (out of memory)
 * or is declined. */
static int
scanned(struct fast *F, nt_mscan_rc rc)
{
    if (rc == NT_MSCAN_NOMEM)
        F->w.err = NT_ENOMEM;
    else if (rc != NT_MSCAN_OK)
        decline(F);
    return rc == NT_MSCAN_OK;
}

/* A field's raw value as a C string (g_free), or NULL on out of memory. */
static char *
raw_cstr(struct fast *F, const nt_mscan_field *f)
{
    char *r = g_try_malloc(f->rlen + 1);

    if (!r) {
        F->w.err = NT_ENOMEM;
        return NULL;
    }
    memcpy(r, f->raw, f->rlen);
    r[f->rlen] = '\0';
    return r;
}

/* A field's decoded value (g_free), as GMime's header value; NULL on
 * out of memory. */
static char *
value(struct fast *F, const nt_mscan_field *f)
{
    char *raw = raw_cstr(F, f), *v;

    if (!raw)
        return NULL;
    v = nt_mi_header_decode(raw);
    g_free(raw);
    if (!v)
        F->w.err = NT_ENOMEM;
    return v;
}

/* No control characters but tabs and line breaks (CR only before LF). */
static int
clean(const char *raw)
{
    for (const char *p = raw; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && !(p[0] == '\r' && p[1] == '\n'))
            return 0;
    return 1;
}

/* The decoded value of a plain ASCII field without stray control
 * characters (so that the raw text GMime's parser reads and the decoded
 * text its objects read agree), or NULL after declining. */
static char *
plain_value(struct fast *F, const nt_mscan_field *f)
{
    char *raw = raw_cstr(F, f), *v = NULL;

    if (!raw)
        return NULL;
    if (nt_mi_plain_header(raw) && clean(raw)) {
        if (!(v = nt_mi_header_decode(raw)))
            F->w.err = NT_ENOMEM;
    } else {
        decline(F);
    }
    g_free(raw);
    return v;
}

/* The entity's content type (g_object_unref), as GMime's object holds it;
 * NULL after declining.  A Content-Type that may not parse (GMime then
 * says application/octet-stream) is declined, as is a part of a digest
 * without one (GMime takes it for a message). */
static GMimeContentType *
content_type(struct fast *F, const struct part *p, int in_digest)
{
    GMimeContentType *ct;
    long i;
    char *v;

    if (count(p, "Content-Type") > 1 || count(p, "Content-Transfer-Encoding") > 1 ||
        count(p, "Content-Disposition") > 1) {
        decline(F);
        return NULL;
    }
    if ((i = find(p, "Content-Type", 0)) < 0) {
        if (in_digest) {
            decline(F);
            return NULL;
        }
        return g_mime_content_type_new("text", "plain");
    }
    if (!(v = plain_value(F, &p->f[i])))
        return NULL;
    ct = g_mime_content_type_parse(NULL, v);
    g_free(v);
    if (nt_mi_ci_eq(g_mime_content_type_get_media_type(ct), "application") &&
        nt_mi_ci_eq(g_mime_content_type_get_media_subtype(ct), "octet-stream")) {
        g_object_unref(ct);
        decline(F);
        return NULL;
    }
    return ct;
}

static GMimeContentEncoding
encoding(struct fast *F, const struct part *p)
{
    GMimeContentEncoding e;
    long i = find(p, "Content-Transfer-Encoding", 0);
    char *v;

    if (i < 0)
        return GMIME_CONTENT_ENCODING_DEFAULT;
    if (!(v = plain_value(F, &p->f[i])))
        return GMIME_CONTENT_ENCODING_DEFAULT;
    e = g_mime_content_encoding_from_string(v);
    g_free(v);
    return e;
}

static int
attachment(struct fast *F, const struct part *p)
{
    GMimeContentDisposition *cd;
    long i = find(p, "Content-Disposition", 0);
    char *v;
    int yes;

    if (i < 0 || !(v = value(F, &p->f[i])))
        return 0;
    cd = g_mime_content_disposition_parse(NULL, v);
    g_free(v);
    yes = cd && g_mime_content_disposition_is_attachment(cd);
    if (cd)
        g_object_unref(cd);
    return yes;
}

/* Transfer-decoded content: *out is s itself, or a copy to free (*owned). */
static int
decode(struct fast *F, const char *s, size_t n, GMimeContentEncoding enc, const char **out,
       size_t *outn, char **owned)
{
    GMimeEncoding st;
    char *buf;

    *owned = NULL;
    if (enc == GMIME_CONTENT_ENCODING_UUENCODE) {
        decline(F);
        return 0;
    }
    if (enc != GMIME_CONTENT_ENCODING_BASE64 && enc != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
        *out = s;
        *outn = n;
        return 1;
    }
    g_mime_encoding_init_decode(&st, enc);
    if (!(buf = malloc(g_mime_encoding_outlen(&st, n) + 1))) {
        F->w.err = NT_ENOMEM;
        return 0;
    }
    *outn = g_mime_encoding_flush(&st, s, n, buf);
    *out = *owned = buf;
    return 1;
}

static int
is_rfc822(const char *subtype)
{
    return nt_mi_ci_eq(subtype, "rfc822") || nt_mi_ci_eq(subtype, "rfc2822") ||
           nt_mi_ci_eq(subtype, "global") || nt_mi_ci_eq(subtype, "news");
}

static void entity(struct fast *F, const struct part *p, const char *b, size_t full, size_t content,
                   int depth, int inret, int in_digest);

/* The fields of the part at s[0..n) into fields, and where its body
 * starts; a part may have no fields (its first line is blank). */
static int
part_fields(struct fast *F, const char *s, size_t n, nt_mscan_fields *fields, size_t *body)
{
    return scanned(F, nt_mscan_headers(s, n, NT_MSCAN_SKIP_JUNK, fields, body));
}

/* One boundary a prefix of another: GMime's innermost-first matching
 * could then take a line for another multipart's. */
static int
clashes(const struct fast *F, const char *b, size_t blen)
{
    for (size_t i = 0; i < F->nb; i++) {
        size_t m = blen < F->blens[i] ? blen : F->blens[i];
        if (memcmp(b, F->bounds[i], m) == 0)
            return 1;
    }
    return blen >= 2 && b[blen - 1] == '-' && b[blen - 2] == '-';
}

static void
multipart(struct fast *F, GMimeContentType *ct, const char *b, size_t full, int depth, int inret)
{
    const char *boundary = g_mime_content_type_get_parameter(ct, "boundary");
    const char *sub = g_mime_content_type_get_media_subtype(ct);
    nt_mscan_part *parts = NULL;
    size_t np = 0, blen;

    if (!inret && !F->w.m->report_type && nt_mi_ci_eq(sub, "report")) {
        nt_mi_puts(&F->w, &F->w.m->report_type,
                   g_mime_content_type_get_parameter(ct, "report-type"));
        nt_mi_lower(F->w.m->report_type);
    }
    if (!boundary || depth >= NT_INMSG_MAX_DEPTH || (blen = strlen(boundary)) == 0 ||
        clashes(F, boundary, blen)) {
        decline(F);
        return;
    }
    if (!scanned(F, nt_mscan_split(b, full, boundary, blen, &parts, &np)))
        return;
    F->bounds[F->nb] = boundary;
    F->blens[F->nb++] = blen;
    for (size_t i = 0; i < np && !F->declined && !F->w.err; i++) {
        const char *ps = b + parts[i].off;
        size_t plen = parts[i].end - parts[i].off, hb = 0, cfull;
        nt_mscan_fields fields = {0};

        if (part_fields(F, ps, plen, &fields, &hb)) {
            struct part p = {fields.v, fields.n};

            cfull = plen - hb;
            if (cfull > 0 && cfull < parts[i].trim)
                decline(F);
            else
                entity(F, &p, ps + hb, cfull, cfull ? cfull - parts[i].trim : 0, depth + 1, inret,
                       nt_mi_ci_eq(sub, "digest"));
        }
        free(fields.v);
    }
    F->nb--;
    free(parts);
}

/* The returned message's header block as GMime writes it back: its lines
 * with CRLF made LF (a CR at the very end dropped). */
static void
returned_headers(struct fast *F, const char *s, size_t n)
{
    nt_buf b;

    nt_buf_init(&b, NT_INMSG_MAX_BYTES);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' && (i + 1 == n || s[i + 1] == '\n'))
            continue;
        nt_buf_addc(&b, s[i]);
    }
    if (b.err)
        F->w.err = NT_ENOMEM;
    else
        nt_mi_put(&F->w, &F->w.m->returned_headers, b.data ? b.data : "", b.len, 0);
    nt_buf_release(&b);
}

/* The returned message's headers, Message-ID and To, as the first
 * message part gives them. */
static void
returned(struct fast *F, const nt_mscan_fields *in)
{
    struct part all = {in->v, in->n};
    const nt_mscan_field *first = in->n ? &in->v[0] : NULL,
                         *last = in->n ? &in->v[in->n - 1] : NULL;
    long i;
    char *v;

    if (!first) {
        returned_headers(F, "", 0);
        return;
    }
    returned_headers(F, first->name, (size_t)(last->raw + last->rlen - first->name));
    if ((i = find(&all, "Message-ID", 1)) >= 0 && (v = value(F, &in->v[i])) != NULL) {
        char *id = g_mime_utils_decode_message_id(v);

        nt_mi_put_id(&F->w, &F->w.m->returned_message_id, id);
        g_free(id);
        g_free(v);
    }
    if ((i = find(&all, "To", 0)) >= 0 && (v = value(F, &in->v[i])) != NULL) {
        nt_mi_puts(&F->w, &F->w.m->returned_to, v);
        g_free(v);
    }
}

/*
 * A message part: its headers are read; its body only for how deep it
 * nests, which needs no parse when it is a single part, and otherwise is
 * bounded by the Content-Type fields in it.  A body that mentions an open
 * multipart's boundary, or splits a boundary parameter (RFC 2231), is
 * declined: GMime might then end a part elsewhere.
 */
static void
message(struct fast *F, const char *b, size_t full, int depth, int inret)
{
    nt_mscan_fields in = {0};
    size_t hb = 0, i, room;

    /* A last line cut short by the end of the message: GMime's parse may
     * then fail, or take it for a field. */
    if (full == 0 || b[full - 1] != '\n' || depth + 1 > NT_INMSG_MAX_DEPTH) {
        decline(F);
        return;
    }
    if (!scanned(F, nt_mscan_headers(b, full, NT_MSCAN_TO_END | NT_MSCAN_SKIP_JUNK, &in, &hb))) {
        free(in.v);
        return;
    }
    for (i = 0; i < F->nb && !F->declined; i++)
        if (nt_mscan_has(b, full, F->bounds[i], F->blens[i]))
            decline(F);
    room = (size_t)(NT_INMSG_MAX_DEPTH - depth - 1);
    if (nt_mscan_count_ci(b, full, "boundary*", 9, 1) ||
        nt_mscan_count_ci(b, full, "digest", 6, 1) ||
        nt_mscan_count_ci(b, full, "content-type", 12, room + 1) > room)
        decline(F);
    if (!F->declined && !inret && !F->w.m->returned_headers)
        returned(F, &in);
    free(in.v);
}

/* A part that is not a multipart or a message: text, or a report. */
static void
leaf(struct fast *F, GMimeContentType *ct, const struct part *p, const char *s, size_t n)
{
    const char *type = g_mime_content_type_get_media_type(ct);
    const char *sub = g_mime_content_type_get_media_subtype(ct);
    GMimeContentEncoding enc = encoding(F, p);
    const char *d;
    size_t dn;
    char *owned;

    if (F->declined || F->w.err)
        return;
    if (nt_mi_ci_eq(type, "text") && (nt_mi_ci_eq(sub, "plain") || nt_mi_ci_eq(sub, "html"))) {
        struct leaf *l = nt_mi_ci_eq(sub, "plain") ? &F->plain : &F->html;
        const char *cs;

        if (attachment(F, p) || l->set)
            return;
        if (enc == GMIME_CONTENT_ENCODING_UUENCODE) {
            decline(F);
            return;
        }
        cs = g_mime_content_type_get_parameter(ct, "charset");
        *l = (struct leaf){s, n, enc, cs ? g_strdup(cs) : NULL, 1};
        return;
    }
    if (!nt_mi_is_report_part(&F->w, type, sub))
        return;
    if (!decode(F, s, n, enc, &d, &dn, &owned))
        return;
    nt_mi_report_part(&F->w, type, sub, d, dn);
    free(owned);
}

static void
entity(struct fast *F, const struct part *p, const char *b, size_t full, size_t content, int depth,
       int inret, int in_digest)
{
    GMimeContentType *ct;
    const char *type, *sub;

    if (F->declined || F->w.err)
        return;
    if (depth > NT_INMSG_MAX_DEPTH || !(ct = content_type(F, p, in_digest))) {
        decline(F);
        return;
    }
    type = g_mime_content_type_get_media_type(ct);
    sub = g_mime_content_type_get_media_subtype(ct);
    if (nt_mi_ci_eq(type, "multipart")) {
        multipart(F, ct, b, full, depth, inret);
    } else if (nt_mi_ci_eq(type, "message") && is_rfc822(sub)) {
        GMimeContentEncoding enc = encoding(F, p);

        if (enc != GMIME_CONTENT_ENCODING_BASE64 && enc != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE &&
            enc != GMIME_CONTENT_ENCODING_UUENCODE)
            message(F, b, full, depth, inret);
    } else if (!inret) {
        leaf(F, ct, p, b, content);
    }
    g_object_unref(ct);
}

/* The decoded value of the first (or last) top-level field called name
 * (g_free), or NULL when there is none or memory ran out. */
static char *
top_value(struct fast *F, const nt_mscan_fields *top, const char *name, int last)
{
    struct part all = {top->v, top->n};
    long i = find(&all, name, last);

    return i < 0 ? NULL : value(F, &top->v[i]);
}

/* The sender: GMime lists the addresses of every From field in order. */
static void
from(struct fast *F, const nt_mscan_fields *top)
{
    for (size_t i = 0; i < top->n && !F->w.err; i++) {
        InternetAddressList *list;
        char *v;
        int any;

        if (!name_is(&top->v[i], "From") || !(v = raw_cstr(F, &top->v[i])))
            continue;
        list = internet_address_list_parse(NULL, v);
        g_free(v);
        any = list && internet_address_list_length(list) > 0;
        if (any)
            nt_mi_from(&F->w, list);
        if (list)
            g_object_unref(list);
        if (any)
            return;
    }
}

/* What the message's own fields say: GMime keeps the last Message-ID,
 * Subject and Date, and answers the first of any other name. */
static void
top_fields(struct fast *F, const nt_mscan_fields *top)
{
    nt_inmsg *m = F->w.m;
    char *v;

    if ((v = top_value(F, top, "Message-ID", 1)) != NULL) {
        char *id = g_mime_utils_decode_message_id(v);

        nt_mi_put_id(&F->w, &m->message_id, id);
        g_free(id);
        g_free(v);
    }
    if ((v = top_value(F, top, "In-Reply-To", 0)) != NULL)
        nt_mi_put_id(&F->w, &m->in_reply_to, v);
    g_free(v);
    if ((v = top_value(F, top, "References", 0)) != NULL)
        nt_mi_puts(&F->w, &m->references, v);
    g_free(v);
    if ((v = top_value(F, top, "To", 0)) != NULL)
        nt_mi_puts(&F->w, &m->to, v);
    g_free(v);
    if ((v = top_value(F, top, "Subject", 1)) != NULL)
        nt_mi_puts(&F->w, &m->subject, v);
    g_free(v);
    if ((v = top_value(F, top, "Auto-Submitted", 0)) != NULL)
        nt_mi_puts(&F->w, &m->auto_submitted, v);
    g_free(v);
    if ((v = top_value(F, top, "Return-Path", 0)) != NULL)
        nt_mi_put_addr(&F->w, &m->return_path, v, strlen(v));
    g_free(v);
    from(F, top);
    if ((v = top_value(F, top, "Date", 1)) != NULL) {
        GDateTime *dt = g_mime_utils_header_decode_date(v);

        if (dt) {
            m->date = (int64_t)g_date_time_to_unix(dt);
            g_date_time_unref(dt);
        }
        g_free(v);
    }
}

/* The top-level headers that are not Content-*, in order. */
static void
top_headers(struct fast *F, const nt_mscan_fields *top)
{
    nt_inmsg *m = F->w.m;

    if (!(m->headers = calloc(top->n, sizeof(*m->headers)))) {
        F->w.err = NT_ENOMEM;
        return;
    }
    for (size_t k = 0; k < top->n && !F->w.err; k++) {
        const nt_mscan_field *f = &top->v[k];
        char *raw;

        if (is_content_field(f))
            continue;
        nt_mi_put(&F->w, &m->headers[m->nheaders].name, f->name, f->nlen, 1);
        if ((raw = raw_cstr(F, f)) != NULL)
            nt_mi_header_value(&F->w, &m->headers[m->nheaders].value, raw);
        g_free(raw);
        m->nheaders++;
    }
}

/* The chosen text part, decoded and converted. */
static void
body(struct fast *F)
{
    struct leaf *l = F->plain.set ? &F->plain : &F->html;
    const char *d;
    size_t dn;
    char *owned;

    if (!l->set || F->w.err || F->declined)
        return;
    if (!decode(F, l->s, l->n, l->enc, &d, &dn, &owned))
        return;
    nt_mi_body_text(&F->w, dn ? d : "", dn, l->charset, l == &F->html);
    free(owned);
}

nt_err
nt_mime_fast(const char *raw, size_t len, nt_inmsg *out, int *declined)
{
    struct fast F;
    nt_mscan_fields top = {0}, cf = {0};
    size_t hb = 0;

    memset(&F, 0, sizeof(F));
    memset(out, 0, sizeof(*out));
    F.w.m = out;
    *declined = 0;
    if (scanned(&F, nt_mscan_headers(raw, len, NT_MSCAN_FROM_LINES, &top, &hb)))
        top_headers(&F, &top);
    if (!F.w.err && out->nheaders == 0)
        decline(&F);
    if (!F.w.err && !F.declined)
        top_fields(&F, &top);
    for (size_t i = 0; i < top.n && !F.w.err && !F.declined; i++) {
        const nt_mscan_field *f = &top.v[i];

        if (is_content_field(f) && !nt_mscan_push(&cf, f->name, f->nlen, f->raw, f->rlen))
            F.w.err = NT_ENOMEM;
    }
    if (!F.w.err && !F.declined) {
        struct part p = {cf.v, cf.n};
        GMimeContentType *ct = content_type(&F, &p, 0);

        if (ct) {
            nt_mi_content_type(&F.w, ct);
            g_object_unref(ct);
        }
        entity(&F, &p, raw + hb, len - hb, len - hb, 1, 0, 0);
    }
    body(&F);
    free(top.v);
    free(cf.v);
    g_free(F.plain.charset);
    g_free(F.html.charset);
    if (F.declined && !F.w.err) {
        nt_inmsg_release(out);
        *declined = 1;
        return NT_OK;
    }
    return F.w.err;
}
