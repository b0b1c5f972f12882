/*
 * Reply text extraction: the part of an inbound reply that its author wrote.
 *
 * The knowledge of what mail clients add (attribution lines, Outlook header
 * blocks, forwarded-message banners, signatures) lives in a rules file of
 * PCRE2 patterns, so that users can add their language or client without
 * recompiling (rules.c reads it and runs the patterns under limits).
 *
 * The algorithm is line based and linear in the number of lines: find the
 * first line that starts the quoted history and cut there, drop remaining
 * '>' lines, cut at the first signature line below some real text, trim.
 * When nothing stands above the history, the author wrote below the quote:
 * the text then starts after the quoted lines, and ends where the next
 * history starts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/reply.h"
#include "nurture/rules.h"
#include "nurture/utf8.h"

#include "banned.h"

/* Lines after a From: line that may hold the rest of an Outlook block. */
#define OUTLOOK_WINDOW 4

enum kind { K_QUOTE_HEADER = 0, K_ORIGINAL, K_OUTLOOK_HEADER, K_SIGNATURE, K_QUOTE_LINE, K_COUNT };

static const char *const kind_names[K_COUNT + 1] = {
    "quote-header", "original", "outlook-header", "signature", "quote-line", NULL,
};

static const nt_rules_spec spec = {
    .kinds = kind_names,
    .kinds_hint = "quote-header, original, outlook-header, signature or quote-line",
    .valued_kind = -1,
    .capture_kind = -1,
};

struct nt_reply_rules {
    nt_rules *rules;
};

void
nt_reply_rules_free(nt_reply_rules *r)
{
    if (!r)
        return;
    nt_rules_free(r->rules);
    free(r);
}

static nt_err
wrap(nt_err err, nt_rules *rules, nt_reply_rules **out)
{
    if (err != NT_OK)
        return err;
    if (!(*out = malloc(sizeof(**out)))) {
        nt_rules_free(rules);
        return NT_ENOMEM;
    }
    (*out)->rules = rules;
    return NT_OK;
}

nt_err
nt_reply_rules_parse(const char *name, const char *src, size_t len, nt_reply_rules **out,
                     nt_diags *diags)
{
    nt_rules *rules = NULL;

    nt_err err;

    *out = NULL;
    err = nt_rules_parse(&spec, name, src, len, &rules, diags);
    return wrap(err, rules, out);
}

nt_err
nt_reply_rules_load(const char *path, nt_reply_rules **out, nt_diags *diags)
{
    nt_rules *rules = NULL;

    nt_err err;

    *out = NULL;
    err = nt_rules_load(&spec, path, &rules, diags);
    return wrap(err, rules, out);
}

/* State of one nt_reply_visible call. */
struct run {
    const nt_reply_rules *r;
    nt_rules_match *md;
    nt_err err; /* NT_ELIMIT once a rule hit its limit */
};

/* Does any rule of kind k match s[0..n)?  Limit hits count as no match. */
static int
matches(struct run *x, enum kind k, const char *s, size_t n)
{
    int limited = 0;
    long i = nt_rules_first(x->r->rules, (int)k, x->md, s, n, &limited);

    if (limited)
        x->err = NT_ELIMIT;
    return i >= 0;
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
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

/* Does line i start the quoted history?  1 when it does on its own (or as
 * the first line of an Outlook block), 2 when only joined with the lines
 * after it; joined lines go through tmp. */
static int joined_history(struct run *x, const char *t, const struct line *ln, size_t nl, size_t i,
                          nt_buf *tmp);

static int
starts_history(struct run *x, const char *t, const struct line *ln, size_t nl, size_t i,
               nt_buf *tmp)
{
    size_t last;

    if (matches(x, K_ORIGINAL, t + ln[i].off, ln[i].len) ||
        matches(x, K_QUOTE_HEADER, t + ln[i].off, ln[i].len))
        return 1;
    if (joined_history(x, t, ln, nl, i, tmp))
        return 2;
    /* The Outlook block is matched as a whole: this line and the next few. */
    last = i + OUTLOOK_WINDOW < nl ? i + OUTLOOK_WINDOW : nl - 1;
    return matches(x, K_OUTLOOK_HEADER, t + ln[i].off, ln[last].off + ln[last].len - ln[i].off);
}

static int
joined_history(struct run *x, const char *t, const struct line *ln, size_t nl, size_t i,
               nt_buf *tmp)
{
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
    return 0;
}

/*
 * The first line from `from` that starts the quoted history, or nl.  A
 * match found only by joining lines is taken from the last line that still
 * matches, so that "Hello" above a wrapped attribution stays the author's.
 */
static size_t
history_start(struct run *x, const char *t, const struct line *ln, size_t nl, size_t from,
              nt_buf *tmp)
{
    size_t i;
    int how;

    for (i = from; i < nl; i++) {
        if (!(how = starts_history(x, t, ln, nl, i, tmp)))
            continue;
        if (how == 2 && i + 1 < nl && starts_history(x, t, ln, nl, i + 1, tmp))
            continue;
        return i;
    }
    return nl;
}

/*
 * A reply written below the quote ("On ... wrote:", "> ...", then the
 * author's text): when nothing stands above the history at `cut`, the
 * author's first line is the first one after the quoted lines that follow
 * the attribution.  Returns that line, or nl when there is none.
 */
static size_t
below_quote(struct run *x, const char *t, const struct line *ln, size_t nl, size_t cut)
{
    size_t i;

    for (i = 0; i < cut; i++)
        if (!line_blank(t + ln[i].off, ln[i].len))
            return nl;
    for (i = cut + 1; i < nl && !matches(x, K_QUOTE_LINE, t + ln[i].off, ln[i].len); i++)
        ;
    while (i < nl && (line_blank(t + ln[i].off, ln[i].len) ||
                      matches(x, K_QUOTE_LINE, t + ln[i].off, ln[i].len)))
        i++;
    return i;
}

nt_err
nt_reply_visible(const nt_reply_rules *r, const char *text, size_t len, nt_buf *out, nt_diag *d)
{
    nt_buf norm, tmp, kept;
    struct line *ln = NULL;
    size_t nl = 0, cap = 0, i, cut, pos, end, start, first_line;
    struct run x;
    const char *t;
    int have_text = 0;
    nt_err err = NT_OK;

    nt_diag_clear(d);
    x.r = r;
    x.err = NT_OK;
    x.md = nt_rules_match_new();
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
        if (!fixed.err && n && !memchr(s, '\r', n)) {
            nt_buf_add(&norm, s, n);
            n = 0; /* nothing left to convert */
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

    first_line = 0;
    cut = history_start(&x, t, ln, nl, 0, &tmp);
    if (cut < nl) {
        size_t below = below_quote(&x, t, ln, nl, cut);
        if (below < nl) {
            first_line = below;
            cut = history_start(&x, t, ln, nl, below, &tmp);
        }
    }

    /* Keep the author's lines; the first signature line below real text
     * ends them. */
    start = 0;
    for (i = first_line; i < cut; i++) {
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
    nt_rules_match_free(x.md);
    return err;
}
