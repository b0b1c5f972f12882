/*
 * YAML into a position-carrying tree (see yamldoc.h).  libyaml's event
 * parser drives a small recursive builder; every allocation goes into a
 * per-document arena so that one release frees the whole tree, whatever
 * error cut the build short.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "nurture/yamldoc.h"

#include "banned.h"

typedef struct arena {
    void **ptrs;
    size_t n, cap;
    size_t nodes;
} arena;

static void *
arena_alloc(arena *a, size_t size)
{
    void *p;

    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 64;
        void **np = realloc(a->ptrs, ncap * sizeof(*np));
        if (!np)
            return NULL;
        a->ptrs = np;
        a->cap = ncap;
    }
    p = calloc(1, size ? size : 1);
    if (p)
        a->ptrs[a->n++] = p;
    return p;
}

static void
arena_free(arena *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->ptrs[i]);
    free(a->ptrs);
    free(a);
}

typedef struct builder {
    yaml_parser_t parser;
    arena *a;
    const char *file;
    const char *src; /* the input, for positions of reader errors */
    size_t len;
    nt_diag *d;
    nt_err err;
} builder;

static nt_err
fail(builder *b, int line, int col, const char *msg)
{
    if (b->err == NT_OK)
        b->err = nt_diag_set(b->d, NT_EINVAL, b->file, line, col, "%s", msg);
    return b->err;
}

/* Line and column (in characters, as libyaml counts them) of byte off. */
static void
offset_position(const char *src, size_t len, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (src[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)src[i] & 0xc0) != 0x80) {
            (*col)++;
        }
    }
}

static nt_err
next_event(builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->parser, ev)) {
        const yaml_mark_t *m = &b->parser.problem_mark;
        int line = (int)m->line + 1, col = (int)m->column + 1;
        char msg[300];
        snprintf(msg, sizeof(msg), "YAML syntax error: %s%s%s",
                 b->parser.problem ? b->parser.problem : "unknown problem",
                 b->parser.context ? " " : "", b->parser.context ? b->parser.context : "");
        if (b->parser.error == YAML_MEMORY_ERROR)
            return b->err = NT_ENOMEM;
        /* Reader errors (bad UTF-8) carry a byte offset, not a mark. */
        if (b->parser.error == YAML_READER_ERROR)
            offset_position(b->src, b->len, b->parser.problem_offset, &line, &col);
        return fail(b, line, col, msg);
    }
    return NT_OK;
}

static nt_ynode *
new_node(builder *b, nt_ynode_kind kind, const yaml_mark_t *m)
{
    nt_ynode *n;

    if (++b->a->nodes > NT_YAML_MAX_NODES) {
        fail(b, (int)m->line + 1, (int)m->column + 1, "document has too many nodes");
        return NULL;
    }
    n = arena_alloc(b->a, sizeof(*n));
    if (!n) {
        b->err = NT_ENOMEM;
        return NULL;
    }
    n->kind = kind;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    return n;
}

static int
push_child(builder *b, nt_ynode *parent, nt_ynode *key, nt_ynode *val, size_t *cap)
{
    if (parent->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        nt_ynode **nv = arena_alloc(b->a, ncap * sizeof(*nv));
        nt_ynode **nk = key ? arena_alloc(b->a, ncap * sizeof(*nk)) : NULL;
        if (!nv || (key && !nk)) {
            b->err = NT_ENOMEM;
            return 0;
        }
        if (parent->n) {
            memcpy(nv, parent->vals, parent->n * sizeof(*nv));
            if (key)
                memcpy(nk, parent->keys, parent->n * sizeof(*nk));
        }
        parent->vals = nv;
        if (key)
            parent->keys = nk;
        *cap = ncap;
    }
    if (key)
        parent->keys[parent->n] = key;
    parent->vals[parent->n++] = val;
    return 1;
}

static nt_ynode *build_node(builder *b, yaml_event_t *ev, int depth);

static int
refuse_extras(builder *b, const yaml_event_t *ev)
{
    const unsigned char *anchor = NULL, *tag = NULL;

    if (ev->type == YAML_SCALAR_EVENT) {
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
    } else if (ev->type == YAML_MAPPING_START_EVENT) {
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
    } else if (ev->type == YAML_SEQUENCE_START_EVENT) {
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
    }
    if (anchor) {
        fail(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
             "anchors (&name) are not supported here; write the value out");
        return 0;
    }
    if (tag) {
        fail(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
             "tags (!name) are not supported here");
        return 0;
    }
    return 1;
}

static nt_ynode *
build_collection(builder *b, yaml_event_t *start, int depth)
{
    int is_map = start->type == YAML_MAPPING_START_EVENT;
    nt_ynode *n = new_node(b, is_map ? NT_Y_MAP : NT_Y_SEQ, &start->start_mark);
    size_t cap = 0;

    if (!n)
        return NULL;
    for (;;) {
        yaml_event_t ev;
        nt_ynode *key = NULL, *val;

        if (next_event(b, &ev) != NT_OK)
            return NULL;
        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return n;
        }
        if (is_map) {
            key = build_node(b, &ev, depth + 1);
            yaml_event_delete(&ev);
            if (!key)
                return NULL;
            if (key->kind != NT_Y_SCALAR) {
                fail(b, key->line, key->col, "a key must be plain text");
                return NULL;
            }
            for (size_t i = 0; i < n->n; i++) {
                if (strcmp(n->keys[i]->str, key->str) == 0) {
                    char msg[200];
                    snprintf(msg, sizeof(msg), "key '%.80s' appears twice (first on line %d)",
                             key->str, n->keys[i]->line);
                    fail(b, key->line, key->col, msg);
                    return NULL;
                }
            }
            if (next_event(b, &ev) != NT_OK)
                return NULL;
        }
        val = build_node(b, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (!val || !push_child(b, n, key, val, &cap))
            return NULL;
    }
}

static nt_ynode *
build_node(builder *b, yaml_event_t *ev, int depth)
{
    nt_ynode *n;

    if (depth > NT_YAML_MAX_DEPTH) {
        fail(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
             "nesting is too deep");
        return NULL;
    }
    if (!refuse_extras(b, ev))
        return NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n = new_node(b, NT_Y_SCALAR, &ev->start_mark);
        if (!n)
            return NULL;
        n->len = ev->data.scalar.length;
        n->str = arena_alloc(b->a, n->len + 1);
        if (!n->str) {
            b->err = NT_ENOMEM;
            return NULL;
        }
        memcpy(n->str, ev->data.scalar.value, n->len);
        n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        return n;
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        return build_collection(b, ev, depth);
    case YAML_ALIAS_EVENT:
        fail(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
             "aliases (*name) are not supported here; write the value out");
        return NULL;
    default:
        fail(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
             "unexpected YAML structure");
        return NULL;
    }
}

static nt_err
check_text(builder *b, const char *src, size_t len)
{
    int line = 1, col = 1;

    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\0')
            return fail(b, line, col, "the file contains a NUL byte; is it a text file?");
        if (src[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)src[i] & 0xc0) != 0x80) {
            col++; /* columns count characters, as in libyaml's marks */
        }
    }
    return NT_OK;
}

nt_err
nt_ydoc_parse(nt_ydoc *doc, const char *file, const char *src, size_t len, nt_diag *d)
{
    builder b;
    yaml_event_t ev;
    int done = 0;

    memset(doc, 0, sizeof(*doc));
    snprintf(doc->file, sizeof(doc->file), "%s", file ? file : "");
    memset(&b, 0, sizeof(b));
    b.file = doc->file;
    b.src = src;
    b.len = len;
    b.d = d;
    if (len > NT_YAML_MAX_BYTES)
        return nt_diag_set(d, NT_ELIMIT, file, 0, 0, "file is larger than %u bytes",
                           NT_YAML_MAX_BYTES);
    if (check_text(&b, src, len) != NT_OK)
        return b.err;
    b.a = calloc(1, sizeof(*b.a));
    if (!b.a)
        return NT_ENOMEM;
    doc->arena = b.a;
    if (!yaml_parser_initialize(&b.parser))
        return NT_ENOMEM;
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)src, len);
    while (!done && b.err == NT_OK) {
        if (next_event(&b, &ev) != NT_OK)
            break;
        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (doc->root)
                fail(&b, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                     "only one YAML document per file ('---' starts a second one)");
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            doc->root = build_node(&b, &ev, 0);
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&b.parser);
    if (b.err != NT_OK)
        doc->root = NULL;
    return b.err;
}

nt_err
nt_ydoc_load(nt_ydoc *doc, const char *path, nt_diag *d)
{
    FILE *f;
    char *data;
    size_t len = 0, n;
    nt_err err;

    memset(doc, 0, sizeof(*doc));
    f = fopen(path, "rb");
    if (!f)
        return nt_diag_set(d, errno == ENOENT ? NT_ENOTFOUND : NT_EIO, path, 0, 0,
                           "cannot open: %s", strerror(errno));
    data = malloc(NT_YAML_MAX_BYTES + 1);
    if (!data) {
        fclose(f);
        return NT_ENOMEM;
    }
    while ((n = fread(data + len, 1, NT_YAML_MAX_BYTES + 1 - len, f)) > 0) {
        len += n;
        if (len > NT_YAML_MAX_BYTES)
            break;
    }
    if (ferror(f)) {
        free(data);
        fclose(f);
        return nt_diag_set(d, NT_EIO, path, 0, 0, "read error: %s", strerror(errno));
    }
    fclose(f);
    err = nt_ydoc_parse(doc, path, data, len, d);
    free(data);
    return err;
}

void
nt_ydoc_release(nt_ydoc *doc)
{
    arena_free(doc->arena);
    doc->arena = NULL;
    doc->root = NULL;
}

const nt_ynode *
nt_ymap_get(const nt_ynode *m, const char *key)
{
    if (!m || m->kind != NT_Y_MAP)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->keys[i]->str, key) == 0)
            return m->vals[i];
    return NULL;
}

const char *
nt_ynode_kind_name(const nt_ynode *n)
{
    if (!n)
        return "nothing";
    switch (n->kind) {
    case NT_Y_SCALAR:
        return "text";
    case NT_Y_MAP:
        return "mapping";
    case NT_Y_SEQ:
        return "list";
    }
    return "?";
}

nt_err
nt_ynode_str(const nt_ydoc *doc, const nt_ynode *n, const char *what, const char **out, nt_diag *d)
{
    if (!n || n->kind != NT_Y_SCALAR)
        return nt_diag_set(d, NT_EINVAL, doc->file, n ? n->line : 0, n ? n->col : 0,
                           "'%s' must be text, not a %s", what, nt_ynode_kind_name(n));
    if (strlen(n->str) != n->len)
        return nt_diag_set(d, NT_EINVAL, doc->file, n->line, n->col,
                           "'%s' contains a NUL character", what);
    *out = n->str;
    return NT_OK;
}

nt_err
nt_ynode_int(const nt_ydoc *doc, const nt_ynode *n, const char *what, long long min, long long max,
             long long *out, nt_diag *d)
{
    char *end;
    long long v;

    if (!n || n->kind != NT_Y_SCALAR || n->len == 0)
        return nt_diag_set(d, NT_EINVAL, doc->file, n ? n->line : 0, n ? n->col : 0,
                           "'%s' must be a whole number, not a %s", what,
                           n && n->kind == NT_Y_SCALAR ? "blank" : nt_ynode_kind_name(n));
    errno = 0;
    v = strtoll(n->str, &end, 10);
    if (errno || *end || n->quoted)
        return nt_diag_set(d, NT_EINVAL, doc->file, n->line, n->col,
                           "'%s' must be a whole number, not '%.60s'", what, n->str);
    if (v < min || v > max)
        return nt_diag_set(d, NT_EINVAL, doc->file, n->line, n->col,
                           "'%s' must be between %lld and %lld, not %lld", what, min, max, v);
    *out = v;
    return NT_OK;
}

nt_err
nt_ynode_bool(const nt_ydoc *doc, const nt_ynode *n, const char *what, int *out, nt_diag *d)
{
    if (n && n->kind == NT_Y_SCALAR && !n->quoted) {
        if (!strcmp(n->str, "true") || !strcmp(n->str, "yes") || !strcmp(n->str, "on")) {
            *out = 1;
            return NT_OK;
        }
        if (!strcmp(n->str, "false") || !strcmp(n->str, "no") || !strcmp(n->str, "off")) {
            *out = 0;
            return NT_OK;
        }
    }
    return nt_diag_set(d, NT_EINVAL, doc->file, n ? n->line : 0, n ? n->col : 0,
                       "'%s' must be true or false", what);
}

static int
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * Edit distance where a swap of two neighbours counts as one edit (the
 * commonest typo), ignoring ASCII case: the things we suggest (keys, stage
 * names) are short words, and stages compare case-insensitively anyway.
 */
static size_t
edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t rows[3][65];
    size_t *pp, *prev, *row;

    if (la > 64 || lb > 64)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        rows[1][j] = j;
    for (size_t i = 1; i <= la; i++) {
        pp = rows[(i + 2) % 3];
        prev = rows[i % 3];
        row = rows[(i + 1) % 3];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            size_t best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && pp[j - 2] + 1 < best)
                best = pp[j - 2] + 1;
            row[j] = best;
        }
    }
    return rows[(la + 1) % 3][lb];
}

const char *
nt_did_you_mean(const char *s, const char *const *known)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    size_t allowed = strlen(s) <= 4 ? 1 : strlen(s) <= 8 ? 2 : 3;

    for (size_t i = 0; known[i]; i++) {
        size_t dist = edit_distance(s, known[i]);
        if (dist < best_d) {
            best_d = dist;
            best = known[i];
        }
    }
    return best_d <= allowed ? best : NULL;
}

size_t
nt_ymap_check_keys(const nt_ydoc *doc, const nt_ynode *m, const char *const *known,
                   const char *where, nt_diags *diags)
{
    size_t bad = 0;

    if (!m || m->kind != NT_Y_MAP)
        return 0;
    for (size_t i = 0; i < m->n; i++) {
        const nt_ynode *k = m->keys[i];
        const char *hint;
        int ok = 0;

        for (size_t j = 0; known[j] && !ok; j++)
            ok = strcmp(k->str, known[j]) == 0;
        if (ok)
            continue;
        bad++;
        hint = nt_did_you_mean(k->str, known);
        if (hint)
            nt_diags_add(diags, NT_SEV_ERROR, doc->file, k->line, k->col,
                         "unknown key '%.60s' in %s; did you mean '%s'?", k->str, where, hint);
        else
            nt_diags_add(diags, NT_SEV_ERROR, doc->file, k->line, k->col,
                         "unknown key '%.60s' in %s", k->str, where);
    }
    return bad;
}
