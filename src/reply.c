/*
 * Reply text extraction: the part of an inbound reply that its author wrote.
 *
 * The knowledge of what mail clients add (attribution lines, Outlook header
 * blocks, forwarded-message banners, signatures) lives in a rules file of
 * PCRE2 patterns, so that users can add their language or client without
 * recompiling.  This file is the only user of PCRE2.  Each pattern is
 * JIT-compiled when the platform allows and always runs under a match and a
 * depth limit, since both the rules and the mail are untrusted.
 *
 * The algorithm is line based and linear in the number of lines: find the
 * first line that starts the quoted history and cut there, drop remaining
 * '>' lines, cut at the first signature line below some real text, trim.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/reply.h"
#include "nurture/utf8.h"

#include "banned.h"

/* Generous for line-sized subjects, small enough to stop runaway patterns
 * within milliseconds. */
#define MATCH_LIMIT 100000u
#define DEPTH_LIMIT 10000u
#define RULES_MAX_SIZE ((size_t)1 << 20)
/* Lines after a From: line that may hold the rest of an Outlook block. */
#define OUTLOOK_WINDOW 4

enum kind { K_QUOTE_HEADER = 0, K_ORIGINAL, K_OUTLOOK_HEADER, K_SIGNATURE, K_QUOTE_LINE, K_COUNT };

static const char *const kind_names[K_COUNT] = {
    "quote-header", "original", "outlook-header", "signature", "quote-line",
};

struct rule {
    enum kind kind;
    pcre2_code *code;
};

struct nt_reply_rules {
    struct rule *v;
    size_t n;
    size_t cap;
    pcre2_match_context *mctx;
};

void
nt_reply_rules_free(nt_reply_rules *r)
{
    size_t i;

    if (!r)
        return;
    for (i = 0; i < r->n; i++)
        pcre2_code_free(r->v[i].code);
    free(r->v);
    pcre2_match_context_free(r->mctx);
    free(r);
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Parse one rules line [p, p+n); line numbers and columns are 1-based. */
static void
parse_line(nt_reply_rules *r, const char *name, int lineno, const char *p, size_t n,
           nt_diags *diags, int *nomem)
{
    size_t i = 0, kstart, klen, rstart;
    int k, errcode;
    PCRE2_SIZE erroff;
    pcre2_code *code;
    PCRE2_UCHAR emsg[256];

    while (i < n && is_blank(p[i]))
        i++;
    if (i == n || p[i] == '#')
        return;
    kstart = i;
    while (i < n && !is_blank(p[i]))
        i++;
    klen = i - kstart;
    for (k = 0; k < K_COUNT; k++)
        if (strlen(kind_names[k]) == klen && memcmp(kind_names[k], p + kstart, klen) == 0)
            break;
    if (k == K_COUNT) {
        nt_diags_add(diags, NT_SEV_ERROR, name, lineno, (int)kstart + 1,
                     "unknown rule kind '%.*s' (expected quote-header, original, "
                     "outlook-header, signature or quote-line)",
                     (int)(klen > 64 ? 64 : klen), p + kstart);
        return;
    }
    while (i < n && is_blank(p[i]))
        i++;
    rstart = i;
    if (rstart == n) {
        nt_diags_add(diags, NT_SEV_ERROR, name, lineno, (int)rstart + 1,
                     "rule '%s' has no regular expression", kind_names[k]);
        return;
    }
    code = pcre2_compile((PCRE2_SPTR)(p + rstart), n - rstart,
                         PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &errcode, &erroff, NULL);
    if (!code) {
        if (errcode == PCRE2_ERROR_NOMEMORY) {
            *nomem = 1;
            return;
        }
        if (pcre2_get_error_message(errcode, emsg, sizeof(emsg)) < 0)
            snprintf((char *)emsg, sizeof(emsg), "error %d", errcode);
        nt_diags_add(diags, NT_SEV_ERROR, name, lineno, (int)(rstart + erroff) + 1,
                     "bad regular expression: %s", (const char *)emsg);
        return;
    }
    /* JIT is an optimisation: without it (unsupported CPU, no executable
     * memory) the interpreter runs the same pattern. */
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        struct rule *nv = realloc(r->v, ncap * sizeof(*nv));
        if (!nv) {
            pcre2_code_free(code);
            *nomem = 1;
            return;
        }
        r->v = nv;
        r->cap = ncap;
    }
    r->v[r->n].kind = (enum kind)k;
    r->v[r->n].code = code;
    r->n++;
}

nt_err
nt_reply_rules_parse(const char *name, const char *src, size_t len, nt_reply_rules **out,
                     nt_diags *diags)
{
    nt_reply_rules *r;
    size_t pos = 0, before = diags ? diags->errors : 0;
    int lineno = 0, nomem = 0;
    nt_diags local;

    *out = NULL;
    if (!name)
        name = "";
    if (!diags) {
        nt_diags_init(&local, 1);
        diags = &local;
        before = 0;
    }
    r = calloc(1, sizeof(*r));
    if (!r || !(r->mctx = pcre2_match_context_create(NULL))) {
        free(r);
        if (diags == &local)
            nt_diags_release(&local);
        return NT_ENOMEM;
    }
    pcre2_set_match_limit(r->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(r->mctx, DEPTH_LIMIT);

    while (pos < len && !nomem) {
        const char *nl = memchr(src + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - src) : len, n = end - pos;

        lineno++;
        if (n && src[pos + n - 1] == '\r')
            n--;
        parse_line(r, name, lineno, src + pos, n, diags, &nomem);
        pos = end + 1;
    }
    if (nomem || diags->errors > before) {
        nt_reply_rules_free(r);
        if (diags == &local)
            nt_diags_release(&local);
        return nomem ? NT_ENOMEM : NT_EINVAL;
    }
    if (diags == &local)
        nt_diags_release(&local);
    *out = r;
    return NT_OK;
}

nt_err
nt_reply_rules_load(const char *path, nt_reply_rules **out, nt_diags *diags)
{
    FILE *f;
    nt_buf b;
    char chunk[8192];
    size_t n;
    nt_err err;

    *out = NULL;
    f = fopen(path, "rb");
    if (!f) {
        nt_diags_add(diags, NT_SEV_ERROR, path, 0, 0, "cannot open rules file");
        return NT_EIO;
    }
    nt_buf_init(&b, RULES_MAX_SIZE);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        nt_buf_add(&b, chunk, n);
    if (ferror(f)) {
        fclose(f);
        nt_buf_release(&b);
        nt_diags_add(diags, NT_SEV_ERROR, path, 0, 0, "cannot read rules file");
        return NT_EIO;
    }
    fclose(f);
    if (b.err) {
        err = b.err;
        nt_buf_release(&b);
        nt_diags_add(diags, NT_SEV_ERROR, path, 0, 0, "rules file too large");
        return err;
    }
    err = nt_reply_rules_parse(path, nt_buf_cstr(&b), b.len, out, diags);
    nt_buf_release(&b);
    return err;
}

/* State of one nt_reply_visible call. */
struct run {
    const nt_reply_rules *r;
    pcre2_match_data *md;
    nt_err err; /* NT_ELIMIT once a rule hit its limit */
};

/* Does any rule of kind k match s[0..n)?  Limit hits count as no match. */
static int
matches(struct run *x, enum kind k, const char *s, size_t n)
{
    size_t i;
    int rc;

    for (i = 0; i < x->r->n; i++) {
        if (x->r->v[i].kind != k)
            continue;
        rc = pcre2_match(x->r->v[i].code, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, x->md,
                         x->r->mctx);
        if (rc >= 0)
            return 1;
        if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
            rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
            x->err = NT_ELIMIT;
    }
    return 0;
}

struct line {
    size_t off;
    size_t len;
};

static int
line_blank(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!is_blank(s[i]) && s[i] != '\f' && s[i] != '\v')
            return 0;
    return 1;
}

/* Does line i start the quoted history?  Joined lines go through tmp. */
static int
starts_history(struct run *x, const char *t, const struct line *ln, size_t nl, size_t i,
               nt_buf *tmp)
{
    size_t last;

    if (matches(x, K_ORIGINAL, t + ln[i].off, ln[i].len) ||
        matches(x, K_QUOTE_HEADER, t + ln[i].off, ln[i].len))
        return 1;
    /* Clients wrap long attributions: "On ... <a@b>" / "wrote:", sometimes
     * over three lines. */
    if (i + 1 < nl && !line_blank(t + ln[i].off, ln[i].len)) {
        nt_buf_reset(tmp);
        nt_buf_add(tmp, t + ln[i].off, ln[i].len);
        nt_buf_addc(tmp, ' ');
        nt_buf_add(tmp, t + ln[i + 1].off, ln[i + 1].len);
        if (!tmp->err && matches(x, K_QUOTE_HEADER, tmp->data, tmp->len))
            return 1;
        if (i + 2 < nl) {
            nt_buf_addc(tmp, ' ');
            nt_buf_add(tmp, t + ln[i + 2].off, ln[i + 2].len);
            if (!tmp->err && matches(x, K_QUOTE_HEADER, tmp->data, tmp->len))
                return 1;
        }
    }
    /* The Outlook block is matched as a whole: this line and the next few. */
    last = i + OUTLOOK_WINDOW < nl ? i + OUTLOOK_WINDOW : nl - 1;
    return matches(x, K_OUTLOOK_HEADER, t + ln[i].off, ln[last].off + ln[last].len - ln[i].off);
}

nt_err
nt_reply_visible(const nt_reply_rules *r, const char *text, size_t len, nt_buf *out, nt_diag *d)
{
    nt_buf norm, tmp, kept;
    struct line *ln = NULL;
    size_t nl = 0, cap = 0, i, cut, pos, end, start;
    struct run x;
    const char *t;
    int have_text = 0;
    nt_err err = NT_OK;

    nt_diag_clear(d);
    x.r = r;
    x.err = NT_OK;
    x.md = pcre2_match_data_create(1, NULL);
    nt_buf_init(&norm, 0);
    nt_buf_init(&tmp, 0);
    nt_buf_init(&kept, 0);
    if (!x.md) {
        err = NT_ENOMEM;
        goto out;
    }

    /* Valid UTF-8 with "\n" line ends from here on, so the patterns can run
     * with PCRE2_NO_UTF_CHECK and see one convention. */
    {
        nt_buf fixed;
        const char *s = text;
        size_t n = len;

        nt_buf_init(&fixed, 0);
        if (len && !nt_utf8_valid(text, len)) {
            nt_utf8_add_valid(&fixed, text, len);
            s = fixed.data;
            n = fixed.len;
        }
        for (i = 0; i < n && !fixed.err; i++) {
            if (s[i] == '\r') {
                nt_buf_addc(&norm, '\n');
                if (i + 1 < n && s[i + 1] == '\n')
                    i++;
            } else {
                nt_buf_addc(&norm, s[i]);
            }
        }
        err = fixed.err ? fixed.err : norm.err;
        nt_buf_release(&fixed);
        if (err)
            goto out;
    }
    t = nt_buf_cstr(&norm);

    for (pos = 0; pos < norm.len || (pos == 0 && norm.len == 0); pos = end + 1) {
        const char *p = memchr(t + pos, '\n', norm.len - pos);

        end = p ? (size_t)(p - t) : norm.len;
        if (nl == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct line *nv = realloc(ln, ncap * sizeof(*nv));
            if (!nv) {
                err = NT_ENOMEM;
                goto out;
            }
            ln = nv;
            cap = ncap;
        }
        ln[nl].off = pos;
        ln[nl].len = end - pos;
        nl++;
        if (!p)
            break;
    }

    cut = nl;
    for (i = 0; i < nl; i++) {
        if (starts_history(&x, t, ln, nl, i, &tmp)) {
            cut = i;
            break;
        }
    }

    /* Keep the author's lines; the first signature line below real text
     * ends them. */
    start = 0;
    for (i = 0; i < cut; i++) {
        const char *s = t + ln[i].off;

        if (matches(&x, K_QUOTE_LINE, s, ln[i].len))
            continue;
        if (have_text && matches(&x, K_SIGNATURE, s, ln[i].len))
            break;
        if (!line_blank(s, ln[i].len))
            have_text = 1;
        nt_buf_add(&kept, s, ln[i].len);
        nt_buf_addc(&kept, '\n');
    }
    if (kept.err) {
        err = kept.err;
        goto out;
    }

    /* Trim blank lines at the start and whitespace at the end. */
    end = kept.len;
    while (end > 0 && (is_blank(kept.data[end - 1]) || kept.data[end - 1] == '\n' ||
                       kept.data[end - 1] == '\f' || kept.data[end - 1] == '\v'))
        end--;
    for (i = 0; i < end; i++) {
        if (kept.data[i] == '\n')
            start = i + 1;
        else if (!is_blank(kept.data[i]))
            break;
    }
    if (end > start)
        nt_buf_add(out, kept.data + start, end - start);
    if (out->err)
        err = out->err;
    else if (x.err)
        err = nt_diag_set(d, x.err, NULL, 0, 0, "a reply rule hit its match limit");

out:
    free(ln);
    nt_buf_release(&norm);
    nt_buf_release(&tmp);
    nt_buf_release(&kept);
    pcre2_match_data_free(x.md);
    return err;
}
