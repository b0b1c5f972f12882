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
    char *src; /* the pattern as written, for its group */
    size_t srclen;
    pcre2_code *code;
    /* What PCRE2 knows every match needs, to answer "no" without a call:
     * a subject this long, and (req) one of two ASCII bytes in it. */
    uint32_t minlen;
    int req;
    unsigned char req1, req2;
    long group; /* index into nt_rules.groups, or -1: the rule runs alone */
};

/* Subjects up to this length are checked for the required byte first; on
 * longer ones PCRE2's own search costs no more than ours. */
#define PREFILTER_MAX 2048

/*
 * Groups: rules of one kind that need the same byte (and start alike, see
 * build_groups) as one alternation compiled once, so that a text none of
 * them matches costs one call instead of one per rule (most text matches
 * no rule).  A group that matches says only that one of its rules may:
 * they then run one by one, in file order, as without groups.  A group
 * runs under the same limits as a rule; when it hits one, its rules run one
 * by one too, so a limit never changes an answer.
 */
#define GROUPS_PER_KIND 64 /* bits of a mask in nt_rules_first */

struct group {
    pcre2_code *code; /* NULL when it did not compile: its rules run alone */
    int kind;
    int slot;  /* the group's bit among those of its kind */
    int hoist; /* its rules start with \b, written once in front */
    int req;   /* every rule of the group needs req1 or req2, as in struct rule */
    unsigned char req1, req2;
    size_t members;
};

struct nt_rules {
    const nt_rules_spec *spec;
    struct rule *v;
    size_t n, cap;
    pcre2_match_context *mctx;
    struct group *groups;
    size_t ngroups;
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
        free(r->v[i].src);
    }
    for (size_t g = 0; g < r->ngroups; g++)
        pcre2_code_free(r->groups[g].code);
    free(r->groups);
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

/* The options every pattern of r is compiled with. */
static uint32_t
compile_flags(const nt_rules *r)
{
    uint32_t flags = PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE;

    if (r->spec->caseless)
        flags |= PCRE2_CASELESS;
    return flags;
}

static pcre2_code *
compile(nt_rules *r, const char *file, int lineno, const char *p, size_t rstart, size_t n,
        nt_diags *diags, int *nomem)
{
    uint32_t flags = compile_flags(r);
    PCRE2_UCHAR emsg[256];
    PCRE2_SIZE erroff;
    pcre2_code *code;
    int errcode;

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
push(nt_rules *r, int kind, int value, int line, const char *name, size_t nlen, const char *src,
     size_t srclen, pcre2_code *code)
{
    char *copy = NULL, *scopy;

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
    /* The pattern may hold NUL bytes of its own: not strndup. */
    if (!(scopy = malloc(srclen + 1))) {
        free(copy);
        return 0;
    }
    memcpy(scopy, src, srclen);
    scopy[srclen] = '\0';
    r->v[r->n] = (struct rule){kind, value, line, copy, scopy, srclen, code, 0, 0, 0, 0, -1};
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
    if (!push(r, k, value, lineno, sp->named ? p + nstart : NULL, nlen, p + rstart, n - rstart,
              code)) {
        pcre2_code_free(code);
        *nomem = 1;
    }
}

/* ---- the groups ---- */

static int
contains(const char *s, size_t n, const char *what)
{
    size_t k = strlen(what);

    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(s + i, what, k) == 0)
            return 1;
    return 0;
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * Can the rule stand as one alternative among others and match exactly
 * where it matches alone?  Not when it refers to a group by number or name
 * (backreferences, recursion, conditions: the numbers change in an
 * alternation) or uses a backtracking verb (which acts on the whole
 * match).  Read from the text, conservatively: such a sequence escaped
 * only makes the rule run alone.
 */
static int
unionable(const struct rule *ru)
{
    static const char *const refs[] = {
        "(*", "(?R", "(?&", "(?P>", "(?P=", "(?(", "\\g", "\\k", NULL};
    const char *p = ru->src;
    size_t n = ru->srclen;
    uint32_t backrefs = 1;

    if (pcre2_pattern_info(ru->code, PCRE2_INFO_BACKREFMAX, &backrefs) != 0 || backrefs != 0)
        return 0;
    for (int i = 0; refs[i]; i++)
        if (contains(p, n, refs[i]))
            return 0;
    /* (?1), (?+1), (?-1): a call of a group by number. */
    for (size_t i = 0; i + 2 < n; i++)
        if (p[i] == '(' && p[i + 1] == '?' &&
            (is_digit(p[i + 2]) ||
             ((p[i + 2] == '+' || p[i + 2] == '-') && i + 3 < n && is_digit(p[i + 3]))))
            return 0;
    return 1;
}

/* From a backslash at p[i]: the index of its last character (past a
 * \Q...\E quote, which is literal). */
static size_t
skip_escape(const char *p, size_t n, size_t i)
{
    if (i + 1 < n && p[i + 1] == 'Q') {
        for (i += 2; i + 1 < n; i++)
            if (p[i] == '\\' && p[i + 1] == 'E')
                return i + 1;
        return n;
    }
    return i + 1;
}

/* From a '[' at p[i]: the index of the ']' that ends the class, or n. */
static size_t
class_end(const char *p, size_t n, size_t i)
{
    i++;
    if (i < n && p[i] == '^')
        i++;
    if (i < n && p[i] == ']')
        i++;
    for (; i < n; i++) {
        if (p[i] == '\\')
            i = skip_escape(p, n, i);
        else if (p[i] == ']')
            return i;
    }
    return n;
}

/*
 * Does the pattern start with \b that applies to all of it, so that the
 * \b can stand in front of an alternation of such rules?  Not when there
 * is an alternation at its top level.  Conservative: POSIX classes (whose
 * ']' this scan does not follow) and anything unbalanced answer no.
 */
static int
hoistable(const char *p, size_t n)
{
    int depth = 0;

    if (n < 3 || p[0] != '\\' || p[1] != 'b' || strchr("*+?{", p[2]) || contains(p, n, "[:") ||
        contains(p, n, "[.") || contains(p, n, "[="))
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (p[i] == '\\') {
            i = skip_escape(p, n, i);
        } else if (p[i] == '[') {
            if ((i = class_end(p, n, i)) >= n)
                return 0;
        } else if (p[i] == '(' && i + 2 < n && p[i + 1] == '?' && p[i + 2] == '#') {
            const char *close = memchr(p + i, ')', n - i);
            if (!close)
                return 0;
            i = (size_t)(close - p);
        } else if (p[i] == '(') {
            depth++;
        } else if (p[i] == ')') {
            if (--depth < 0)
                return 0;
        } else if (p[i] == '|' && depth == 0) {
            return 0;
        }
    }
    return depth == 0;
}

/* Compile group g from b; NULL when it does not compile (its rules then
 * run alone).  Names may repeat across rules. */
static pcre2_code *
compile_group(const nt_rules *r, nt_buf *b)
{
    PCRE2_SIZE erroff;
    pcre2_code *code;
    int errcode;

    if (b->err)
        return NULL;
    code = pcre2_compile((PCRE2_SPTR)nt_buf_cstr(b), b->len, compile_flags(r) | PCRE2_DUPNAMES,
                         &errcode, &erroff, NULL);
    if (code)
        (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    return code;
}

static uint32_t
captures(const pcre2_code *code)
{
    uint32_t n = 0;

    (void)pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &n);
    return n;
}

/* The alternation of group g's rules, compiled; or NULL. */
static pcre2_code *
group_code(const nt_rules *r, size_t g)
{
    const struct group *gr = &r->groups[g];
    uint32_t groups = 0;
    pcre2_code *code;
    size_t in = 0;
    nt_buf b;

    nt_buf_init(&b, 0);
    if (gr->hoist)
        nt_buf_adds(&b, "\\b(?:");
    for (size_t i = 0; i < r->n; i++) {
        const struct rule *ru = &r->v[i];
        size_t skip = gr->hoist ? 2 : 0;
        if (ru->group != (long)g)
            continue;
        nt_buf_adds(&b, in++ ? "|(?:" : "(?:");
        nt_buf_add(&b, ru->src + skip, ru->srclen - skip);
        nt_buf_addc(&b, ')');
        groups += captures(ru->code);
    }
    if (gr->hoist)
        nt_buf_addc(&b, ')');
    code = compile_group(r, &b);
    nt_buf_release(&b);
    /* Every group where it was: nothing in a rule's text escaped its
     * parentheses into the alternation. */
    if (code && captures(code) != groups) {
        pcre2_code_free(code);
        code = NULL;
    }
    return code;
}

/* The group of ru's kind that starts alike (hoist) and needs the same
 * byte (req: 0 for none), made when there is none yet; -1 when the kind
 * has no room or there is no memory. */
static long
group_for(nt_rules *r, const struct rule *ru, int hoist, int req, size_t *cap, int *slots)
{
    struct group *gr;

    for (size_t g = 0; g < r->ngroups; g++) {
        gr = &r->groups[g];
        if (gr->kind == ru->kind && gr->hoist == hoist && gr->req == req &&
            (!req || gr->req1 == ru->req1))
            return (long)g;
    }
    if (slots[ru->kind] >= GROUPS_PER_KIND)
        return -1;
    if (r->ngroups == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct group *nv = realloc(r->groups, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        r->groups = nv;
        *cap = ncap;
    }
    gr = &r->groups[r->ngroups];
    *gr = (struct group){.kind = ru->kind, .slot = slots[ru->kind]++, .hoist = hoist, .req = req};
    gr->req1 = req ? ru->req1 : 0;
    gr->req2 = req ? ru->req2 : 0;
    return (long)r->ngroups++;
}

/* Does another rule of ru's kind, starting alike, need the same byte? */
static int
shares_req(const nt_rules *r, size_t i, const int *hoist)
{
    const struct rule *ru = &r->v[i];

    if (!ru->req)
        return 0;
    for (size_t j = 0; j < r->n; j++)
        if (j != i && r->v[j].kind == ru->kind && hoist[j] == hoist[i] && r->v[j].req &&
            r->v[j].req1 == ru->req1 && unionable(&r->v[j]))
            return 1;
    return 0;
}

/*
 * Put the rules into groups and compile them: by kind, by whether they
 * start with \b, and by the byte they need, where another rule needs it
 * too (on a long text one call for all costs less than one per byte).
 * Groups only save time: without memory for one, or when one does not
 * compile, its rules run alone.
 */
static void
build_groups(nt_rules *r)
{
    size_t nk = 0, cap = 0;
    int *slots, *hoist;

    while (r->spec->kinds[nk])
        nk++;
    slots = calloc(nk ? nk : 1, sizeof(*slots));
    hoist = calloc(r->n ? r->n : 1, sizeof(*hoist));
    for (size_t i = 0; slots && hoist && i < r->n; i++)
        hoist[i] = hoistable(r->v[i].src, r->v[i].srclen);
    for (size_t i = 0; slots && hoist && i < r->n; i++) {
        struct rule *ru = &r->v[i];
        if (unionable(ru) &&
            (ru->group = group_for(r, ru, hoist[i], shares_req(r, i, hoist), &cap, slots)) >= 0)
            r->groups[ru->group].members++;
    }
    free(slots);
    free(hoist);
    for (size_t g = 0; g < r->ngroups; g++)
        if (r->groups[g].members >= 2)
            r->groups[g].code = group_code(r, g);
    /* A rule alone in its group, or in one that did not compile, runs
     * alone. */
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].group >= 0 && !r->groups[r->v[i].group].code)
            r->v[i].group = -1;
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
        build_groups(r);
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
    return n > 0 && (memchr(s, a, n) || (b != a && memchr(s, b, n)));
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

/*
 * 1 when no rule of group g can match s[0..n): the text lacks the byte
 * they all need, or their alternation ran to the end without a match.  0
 * otherwise, also when the alternation hit a limit or failed: the rules
 * then run one by one, as without the group.
 */
static int
group_misses(const nt_rules *r, long g, nt_rules_match *m, const char *s, size_t n)
{
    const struct group *gr = &r->groups[g];

    if (gr->req && n <= PREFILTER_MAX && !has_byte(s, n, gr->req1, gr->req2))
        return 1;
    if (pcre2_match(gr->code, (PCRE2_SPTR)(s ? s : ""), n, 0, PCRE2_NO_UTF_CHECK, m->md, r->mctx) !=
        PCRE2_ERROR_NOMATCH)
        return 0;
    m->rc = 0;
    return 1;
}

long
nt_rules_first(const nt_rules *r, int kind, nt_rules_match *m, const char *s, size_t n,
               int *limited)
{
    uint64_t tried = 0, missed = 0; /* groups of the kind, by slot */
    size_t span[4];

    for (size_t i = 0; i < r->n; i++) {
        const struct rule *ru = &r->v[i];
        int rc;
        if (ru->kind != kind)
            continue;
        if (ru->group >= 0) {
            uint64_t bit = (uint64_t)1 << r->groups[ru->group].slot;
            if (!(tried & bit)) {
                tried |= bit;
                if (group_misses(r, ru->group, m, s, n))
                    missed |= bit;
            }
            if (missed & bit)
                continue;
        }
        rc = nt_rules_exec(r, i, m, s, n, 0, span);
        if (rc == 1)
            return (long)i;
        if (rc < 0)
            *limited = 1;
    }
    return -1;
}
