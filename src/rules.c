/*
 * Rules files (see rules.h): reading, checking and compiling them, and
 * running their patterns under limits.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/buf.h"
#include "nurture/rules.h"
#include "nurture/utf8.h"

#include "banned.h"

/* Generous for line- and message-sized subjects, small enough to stop a
 * runaway pattern within milliseconds. */
#define MATCH_LIMIT 100000u
#define DEPTH_LIMIT 10000u
#define RULES_MAX_SIZE ((size_t)1 << 20)

struct rule {
    int kind;
    int value;
    int line;
    char *name;
    pcre2_code *code;
    /* What PCRE2 knows every match needs, to answer "no" without a call:
     * a subject this long, and (req) one of two ASCII bytes in it. */
    uint32_t minlen;
    int req;
    unsigned char req1, req2;
};

/* Subjects up to this length are checked for the required byte first; on
 * longer ones PCRE2's own search costs no more than ours. */
#define PREFILTER_MAX 2048

struct nt_rules {
    const nt_rules_spec *spec;
    struct rule *v;
    size_t n, cap;
    pcre2_match_context *mctx;
};

/* Room for the whole match and this many capture groups. */
#define MATCH_GROUPS 16

struct nt_rules_match {
    pcre2_match_data *md;
    int rc; /* of the last match: 1 + the highest group set, or 0 */
};

void
nt_rules_free(nt_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        pcre2_code_free(r->v[i].code);
        free(r->v[i].name);
    }
    free(r->v);
    pcre2_match_context_free(r->mctx);
    free(r);
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The next word of p[0..n) from *i: its length, its start in *start. */
static size_t
word(const char *p, size_t n, size_t *i, size_t *start)
{
    while (*i < n && is_blank(p[*i]))
        (*i)++;
    *start = *i;
    while (*i < n && !is_blank(p[*i]))
        (*i)++;
    return *i - *start;
}

static int
find(const char *const *list, const char *s, size_t n)
{
    for (int k = 0; list[k]; k++)
        if (strlen(list[k]) == n && memcmp(list[k], s, n) == 0)
            return k;
    return -1;
}

static pcre2_code *
compile(nt_rules *r, const char *file, int lineno, const char *p, size_t rstart, size_t n,
        nt_diags *diags, int *nomem)
{
    uint32_t flags = PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE;
    PCRE2_UCHAR emsg[256];
    PCRE2_SIZE erroff;
    pcre2_code *code;
    int errcode;

    if (r->spec->caseless)
        flags |= PCRE2_CASELESS;
    code = pcre2_compile((PCRE2_SPTR)(p + rstart), n - rstart, flags, &errcode, &erroff, NULL);
    if (code) {
        /* JIT is an optimisation: without it (unsupported CPU, no
         * executable memory) the interpreter runs the same pattern. */
        (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
        return code;
    }
    if (errcode == PCRE2_ERROR_NOMEMORY) {
        *nomem = 1;
        return NULL;
    }
    if (pcre2_get_error_message(errcode, emsg, sizeof(emsg)) < 0)
        snprintf((char *)emsg, sizeof(emsg), "error %d", errcode);
    nt_diags_add(diags, NT_SEV_ERROR, file, lineno, (int)(rstart + erroff) + 1,
                 "bad regular expression: %s", (const char *)emsg);
    return NULL;
}

/*
 * The minimum length and the required code unit PCRE2 worked out for the
 * pattern.  A letter counts in either case (the pattern may be caseless,
 * wholly or in part); a byte of a multi-byte character is not used, since
 * its other case is other bytes.
 */
static void
prefilter(struct rule *ru)
{
    uint32_t type = 0, cu = 0;

    (void)pcre2_pattern_info(ru->code, PCRE2_INFO_MINLENGTH, &ru->minlen);
    if (pcre2_pattern_info(ru->code, PCRE2_INFO_LASTCODETYPE, &type) != 0 || type != 1 ||
        pcre2_pattern_info(ru->code, PCRE2_INFO_LASTCODEUNIT, &cu) != 0 || cu == 0 || cu >= 0x80)
        return;
    ru->req = 1;
    ru->req1 = (unsigned char)cu;
    ru->req2 = (unsigned char)cu;
    if (cu >= 'a' && cu <= 'z')
        ru->req2 = (unsigned char)(cu - 'a' + 'A');
    else if (cu >= 'A' && cu <= 'Z')
        ru->req2 = (unsigned char)(cu - 'A' + 'a');
}

static int
push(nt_rules *r, int kind, int value, int line, const char *name, size_t nlen, pcre2_code *code)
{
    char *copy = NULL;

    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 32;
        struct rule *nv = realloc(r->v, ncap * sizeof(*nv));
        if (!nv)
            return 0;
        r->v = nv;
        r->cap = ncap;
    }
    if (name && !(copy = strndup(name, nlen)))
        return 0;
    r->v[r->n] = (struct rule){kind, value, line, copy, code, 0, 0, 0, 0};
    prefilter(&r->v[r->n++]);
    return 1;
}

/* One line [p, p+n); line numbers and columns are 1-based. */
static void
parse_line(nt_rules *r, const char *file, int lineno, const char *p, size_t n, nt_diags *diags,
           int *nomem)
{
    const nt_rules_spec *sp = r->spec;
    size_t i = 0, kstart, klen, nstart = 0, nlen = 0, rstart;
    int k, value = 0;
    pcre2_code *code;

    while (i < n && is_blank(p[i]))
        i++;
    if (i == n || p[i] == '#')
        return;
    klen = word(p, n, &i, &kstart);
    if ((k = find(sp->kinds, p + kstart, klen)) < 0) {
        nt_diags_add(diags, NT_SEV_ERROR, file, lineno, (int)kstart + 1,
                     "unknown rule kind '%.*s' (expected %s)", (int)(klen > 64 ? 64 : klen),
                     p + kstart, sp->kinds_hint);
        return;
    }
    if (sp->named && (nlen = word(p, n, &i, &nstart)) == 0) {
        nt_diags_add(diags, NT_SEV_ERROR, file, lineno, (int)nstart + 1, "rule '%s' has no name",
                     sp->kinds[k]);
        return;
    }
    if (sp->named && k == sp->valued_kind && (value = find(sp->values, p + nstart, nlen)) < 0) {
        nt_diags_add(diags, NT_SEV_ERROR, file, lineno, (int)nstart + 1,
                     "unknown %s '%.*s' (expected %s)", sp->values_what,
                     (int)(nlen > 64 ? 64 : nlen), p + nstart, sp->values_hint);
        return;
    }
    while (i < n && is_blank(p[i]))
        i++;
    rstart = i;
    if (rstart == n) {
        nt_diags_add(diags, NT_SEV_ERROR, file, lineno, (int)rstart + 1,
                     "rule '%s' has no regular expression", sp->kinds[k]);
        return;
    }
    if (!(code = compile(r, file, lineno, p, rstart, n, diags, nomem)))
        return;
    if (k == sp->capture_kind) {
        uint32_t ncap = 0;
        (void)pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ncap);
        if (ncap < 1) {
            pcre2_code_free(code);
            nt_diags_add(diags, NT_SEV_ERROR, file, lineno, (int)rstart + 1, "%s",
                         sp->capture_error);
            return;
        }
    }
    if (!push(r, k, value, lineno, sp->named ? p + nstart : NULL, nlen, code)) {
        pcre2_code_free(code);
        *nomem = 1;
    }
}

nt_err
nt_rules_parse(const nt_rules_spec *spec, const char *file, const char *src, size_t len,
               nt_rules **out, nt_diags *diags)
{
    size_t pos = 0, before;
    int lineno = 0, nomem = 0;
    nt_diags local;
    nt_rules *r;
    nt_err err = NT_OK;

    *out = NULL;
    if (!file)
        file = "";
    nt_diags_init(&local, 1);
    if (!diags)
        diags = &local;
    before = diags->errors;
    r = calloc(1, sizeof(*r));
    if (!r || !(r->mctx = pcre2_match_context_create(NULL))) {
        free(r);
        nt_diags_release(&local);
        return NT_ENOMEM;
    }
    r->spec = spec;
    pcre2_set_match_limit(r->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(r->mctx, DEPTH_LIMIT);
    while (pos < len && !nomem) {
        const char *nl = memchr(src + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - src) : len, n = end - pos;

        lineno++;
        if (n && src[pos + n - 1] == '\r')
            n--;
        if (!nt_utf8_valid(src + pos, n))
            nt_diags_add(diags, NT_SEV_ERROR, file, lineno, 1, "line is not valid UTF-8");
        else
            parse_line(r, file, lineno, src + pos, n, diags, &nomem);
        pos = end + 1;
    }
    if (nomem || diags->errors > before) {
        nt_rules_free(r);
        err = nomem ? NT_ENOMEM : NT_EINVAL;
    } else {
        *out = r;
    }
    nt_diags_release(&local);
    return err;
}

nt_err
nt_rules_load(const nt_rules_spec *spec, const char *path, nt_rules **out, nt_diags *diags)
{
    nt_diags local;
    FILE *f;
    nt_buf b;
    char chunk[8192];
    size_t n;
    nt_err err;

    *out = NULL;
    nt_diags_init(&local, 1);
    if (!diags)
        diags = &local;
    if (!(f = fopen(path, "rb"))) {
        nt_diags_add(diags, NT_SEV_ERROR, path, 0, 0, "cannot open rules file");
        nt_diags_release(&local);
        return NT_EIO;
    }
    nt_buf_init(&b, RULES_MAX_SIZE);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        nt_buf_add(&b, chunk, n);
    if (ferror(f)) {
        nt_diags_add(diags, NT_SEV_ERROR, path, 0, 0, "cannot read rules file");
        err = NT_EIO;
    } else if (b.err) {
        nt_diags_add(diags, NT_SEV_ERROR, path, 0, 0, "rules file too large");
        err = b.err;
    } else {
        err = nt_rules_parse(spec, path, nt_buf_cstr(&b), b.len, out, diags);
    }
    fclose(f);
    nt_buf_release(&b);
    nt_diags_release(&local);
    return err;
}

size_t
nt_rules_count(const nt_rules *r)
{
    return r->n;
}

int
nt_rules_kind(const nt_rules *r, size_t i)
{
    return r->v[i].kind;
}

const char *
nt_rules_name(const nt_rules *r, size_t i)
{
    return r->v[i].name;
}

int
nt_rules_value(const nt_rules *r, size_t i)
{
    return r->v[i].value;
}

int
nt_rules_line(const nt_rules *r, size_t i)
{
    return r->v[i].line;
}

int
nt_rules_group_number(const nt_rules *r, size_t i, const char *name)
{
    int k = pcre2_substring_number_from_name(r->v[i].code, (PCRE2_SPTR)name);

    return k > 0 && k <= MATCH_GROUPS ? k : -1;
}

nt_rules_match *
nt_rules_match_new(void)
{
    nt_rules_match *m = calloc(1, sizeof(*m));

    if (m && !(m->md = pcre2_match_data_create(MATCH_GROUPS + 1, NULL))) {
        free(m);
        return NULL;
    }
    return m;
}

void
nt_rules_match_free(nt_rules_match *m)
{
    if (!m)
        return;
    pcre2_match_data_free(m->md);
    free(m);
}

static int
has_byte(const char *s, size_t n, unsigned char a, unsigned char b)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] == a || (unsigned char)s[i] == b)
            return 1;
    return 0;
}

int
nt_rules_exec(const nt_rules *r, size_t i, nt_rules_match *m, const char *s, size_t n, size_t start,
              size_t span[4])
{
    const struct rule *ru = &r->v[i];
    PCRE2_SIZE *ov;
    int rc;

    /* Most rules miss most text; on a line, the call is the cost. */
    if (start <= n &&
        (n - start < ru->minlen || (ru->req && n - start <= PREFILTER_MAX &&
                                    !has_byte(s + start, n - start, ru->req1, ru->req2)))) {
        m->rc = 0;
        return 0;
    }
    rc = pcre2_match(ru->code, (PCRE2_SPTR)(s ? s : ""), n, start, PCRE2_NO_UTF_CHECK, m->md,
                     r->mctx);
    m->rc = rc > 0 ? rc : 0;
    if (rc < 0)
        return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
                       rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT
                   ? -1
                   : 0;
    ov = pcre2_get_ovector_pointer(m->md);
    span[0] = ov[0];
    span[1] = ov[1];
    span[2] = rc >= 2 && ov[2] != PCRE2_UNSET ? ov[2] : NT_RULES_UNSET;
    span[3] = rc >= 2 && ov[2] != PCRE2_UNSET ? ov[3] : NT_RULES_UNSET;
    return 1;
}

int
nt_rules_group(const nt_rules_match *m, int k, size_t span[2])
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);

    span[0] = span[1] = NT_RULES_UNSET;
    if (k < 0 || k >= m->rc || ov[2 * k] == PCRE2_UNSET)
        return 0;
    span[0] = ov[2 * k];
    span[1] = ov[2 * k + 1];
    return 1;
}

long
nt_rules_first(const nt_rules *r, int kind, nt_rules_match *m, const char *s, size_t n,
               int *limited)
{
    size_t span[4];

    for (size_t i = 0; i < r->n; i++) {
        int rc;
        if (r->v[i].kind != kind)
            continue;
        rc = nt_rules_exec(r, i, m, s, n, 0, span);
        if (rc == 1)
            return (long)i;
        if (rc < 0)
            *limited = 1;
    }
    return -1;
}
