/*
 * Unit tests for the YAML tree (yamldoc): the line and column of every kind
 * of node, duplicate keys (reported with the line of the first one),
 * anchors, aliases and tags refused, NUL bytes, the depth, node and size
 * limits, syntax errors with their position, "did you mean", the unknown-key
 * messages, and the int, bool and text conversions with their errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nurture/buf.h"
#include "nurture/yamldoc.h"

#include "t.h"

/* Parse src (NUL-terminated) as "t.yaml"; d gets any error. */
static nt_err
parse(nt_ydoc *doc, const char *src, nt_diag *d)
{
    nt_diag_clear(d);
    return nt_ydoc_parse(doc, "t.yaml", src, strlen(src), d);
}

/* The error src gives, formatted as "file:line:col: message". */
static void
error_of(const char *src, size_t len, char *out, size_t outsz, nt_err *err)
{
    nt_ydoc doc;
    nt_diag d;

    nt_diag_clear(&d);
    *err = nt_ydoc_parse(&doc, "t.yaml", src, len, &d);
    nt_diag_format(&d, out, outsz);
    if (*err != NT_OK && doc.root != NULL)
        out[0] = '!'; /* a failed parse must not leave a tree */
    nt_ydoc_release(&doc);
}

#define CHECK_ERROR(src, code, text)                                                               \
    do {                                                                                           \
        char line_[700];                                                                           \
        nt_err e_;                                                                                 \
        error_of((src), strlen(src), line_, sizeof(line_), &e_);                                   \
        CHECK_INT(e_, (code));                                                                     \
        CHECK_STR(line_, (text));                                                                  \
    } while (0)

static void
test_positions(void)
{
    static const char src[] = "# a comment\n"
                              "name: welcome\n"
                              "audience:\n"
                              "  stage: lead\n"
                              "  where:\n"
                              "    - field: country\n"
                              "      in: [US, \"CA\"]\n"
                              "empty:\n"
                              "quoted: 'x'\n";
    nt_ydoc doc;
    nt_diag d;
    const nt_ynode *root, *n, *aud, *where, *cond, *in;

    REQUIRE(parse(&doc, src, &d) == NT_OK);
    CHECK_STR(doc.file, "t.yaml");
    root = doc.root;
    REQUIRE(root != NULL);
    CHECK_INT(root->kind, NT_Y_MAP);
    CHECK_INT(root->line, 2);
    CHECK_INT(root->col, 1);
    CHECK_INT(root->n, 4);
    CHECK_STR(root->keys[0]->str, "name");
    CHECK_INT(root->keys[0]->line, 2);
    CHECK_INT(root->keys[0]->col, 1);
    n = nt_ymap_get(root, "name");
    REQUIRE(n != NULL);
    CHECK_INT(n->kind, NT_Y_SCALAR);
    CHECK_STR(n->str, "welcome");
    CHECK_INT(n->len, 7);
    CHECK_INT(n->line, 2);
    CHECK_INT(n->col, 7);
    CHECK_INT(n->quoted, 0);

    aud = nt_ymap_get(root, "audience");
    REQUIRE(aud != NULL);
    CHECK_INT(aud->kind, NT_Y_MAP);
    CHECK_INT(aud->line, 4);
    CHECK_INT(aud->col, 3);
    CHECK_STR(nt_ymap_get(aud, "stage")->str, "lead");
    CHECK_INT(nt_ymap_get(aud, "stage")->line, 4);
    CHECK_INT(nt_ymap_get(aud, "stage")->col, 10);
    where = nt_ymap_get(aud, "where");
    REQUIRE(where != NULL);
    CHECK_INT(where->kind, NT_Y_SEQ);
    CHECK_INT(where->line, 6);
    CHECK_INT(where->col, 5);
    REQUIRE(where->n == 1);
    cond = where->vals[0];
    CHECK_INT(cond->kind, NT_Y_MAP);
    CHECK_INT(cond->line, 6);
    CHECK_INT(cond->col, 7);
    in = nt_ymap_get(cond, "in");
    REQUIRE(in != NULL);
    CHECK_INT(in->kind, NT_Y_SEQ);
    CHECK_INT(in->line, 7);
    CHECK_INT(in->col, 11);
    REQUIRE(in->n == 2);
    CHECK_STR(in->vals[0]->str, "US");
    CHECK_INT(in->vals[0]->col, 12);
    CHECK_INT(in->vals[0]->quoted, 0);
    CHECK_STR(in->vals[1]->str, "CA");
    CHECK_INT(in->vals[1]->col, 16);
    CHECK_INT(in->vals[1]->quoted, 1);
    CHECK(in->keys == NULL);

    n = nt_ymap_get(root, "empty");
    REQUIRE(n != NULL);
    CHECK_INT(n->kind, NT_Y_SCALAR);
    CHECK_INT(n->len, 0);
    CHECK_STR(n->str, "");
    n = nt_ymap_get(root, "quoted");
    REQUIRE(n != NULL);
    CHECK_INT(n->quoted, 1);
    CHECK_INT(n->col, 9);

    CHECK(nt_ymap_get(root, "missing") == NULL);
    CHECK(nt_ymap_get(where, "x") == NULL); /* not a map */
    CHECK(nt_ymap_get(NULL, "x") == NULL);
    CHECK_STR(nt_ynode_kind_name(root), "mapping");
    CHECK_STR(nt_ynode_kind_name(where), "list");
    CHECK_STR(nt_ynode_kind_name(in->vals[0]), "text");
    CHECK_STR(nt_ynode_kind_name(NULL), "nothing");
    nt_ydoc_release(&doc);
    nt_ydoc_release(&doc); /* twice is harmless */
}

static void
test_columns_count_characters(void)
{
    /* "é" is two bytes but one column, as an editor shows it. */
    nt_ydoc doc;
    nt_diag d;

    REQUIRE(parse(&doc, "k: [\"\xc3\xa9\xc3\xa9\", x]\n", &d) == NT_OK);
    REQUIRE(doc.root && nt_ymap_get(doc.root, "k"));
    CHECK_INT(nt_ymap_get(doc.root, "k")->vals[1]->col, 11);
    nt_ydoc_release(&doc);
}

static void
test_scalars_and_empty(void)
{
    nt_ydoc doc;
    nt_diag d;

    /* An empty document, or only comments: no root, no error. */
    CHECK_INT(parse(&doc, "", &d), NT_OK);
    CHECK(doc.root == NULL);
    nt_ydoc_release(&doc);
    CHECK_INT(parse(&doc, "# nothing\n\n", &d), NT_OK);
    CHECK(doc.root == NULL);
    nt_ydoc_release(&doc);

    /* A bare scalar document. */
    REQUIRE(parse(&doc, "hello\n", &d) == NT_OK);
    REQUIRE(doc.root != NULL);
    CHECK_INT(doc.root->kind, NT_Y_SCALAR);
    CHECK_STR(doc.root->str, "hello");
    nt_ydoc_release(&doc);

    /* Input need not be NUL-terminated: only len bytes are read. */
    {
        char buf[] = {'a', ':', ' ', '1', 'X', 'Y'};
        nt_diag_clear(&d);
        REQUIRE(nt_ydoc_parse(&doc, "t.yaml", buf, 4, &d) == NT_OK);
        REQUIRE(nt_ymap_get(doc.root, "a") != NULL);
        CHECK_STR(nt_ymap_get(doc.root, "a")->str, "1");
        nt_ydoc_release(&doc);
    }

    /* A document start marker is fine; a second document is not. */
    CHECK_INT(parse(&doc, "---\na: 1\n", &d), NT_OK);
    nt_ydoc_release(&doc);
    CHECK_ERROR("a: 1\n---\nb: 2\n", NT_EINVAL,
                "t.yaml:2:1: only one YAML document per file ('---' starts a second one)");

    /* Block scalars keep their text. */
    REQUIRE(parse(&doc, "d: |\n  two\n  lines\n", &d) == NT_OK);
    CHECK_STR(nt_ymap_get(doc.root, "d")->str, "two\nlines\n");
    nt_ydoc_release(&doc);
}

static void
test_duplicate_keys(void)
{
    CHECK_ERROR("name: a\nsender: x\nname: b\n", NT_EINVAL,
                "t.yaml:3:1: key 'name' appears twice (first on line 1)");
    CHECK_ERROR("steps:\n  - after: 1d\n    email: a.md\n    after: 2d\n", NT_EINVAL,
                "t.yaml:4:5: key 'after' appears twice (first on line 2)");
    CHECK_ERROR("{a: 1, b: 2, a: 3}\n", NT_EINVAL,
                "t.yaml:1:14: key 'a' appears twice (first on line 1)");
    /* Quoted or not, it is the same key. */
    CHECK_ERROR("a: 1\n\"a\": 2\n", NT_EINVAL,
                "t.yaml:2:1: key 'a' appears twice (first on line 1)");
    /* The same key in two different maps is fine. */
    {
        nt_ydoc doc;
        nt_diag d;
        CHECK_INT(parse(&doc, "x: {a: 1}\ny: {a: 2}\n", &d), NT_OK);
        nt_ydoc_release(&doc);
    }
}

static void
test_refused(void)
{
    CHECK_ERROR("a: &x 1\nb: 2\n", NT_EINVAL,
                "t.yaml:1:4: anchors (&name) are not supported here; write the value out");
    CHECK_ERROR("a: &x {k: v}\n", NT_EINVAL,
                "t.yaml:1:4: anchors (&name) are not supported here; write the value out");
    CHECK_ERROR("a: 1\nb: *x\n", NT_EINVAL,
                "t.yaml:2:4: aliases (*name) are not supported here; write the value out");
    CHECK_ERROR("a: !!str 1\n", NT_EINVAL, "t.yaml:1:4: tags (!name) are not supported here");
    CHECK_ERROR("a: !custom [1]\n", NT_EINVAL, "t.yaml:1:4: tags (!name) are not supported here");
    CHECK_ERROR("? [a, b]\n: 1\n", NT_EINVAL, "t.yaml:1:3: a key must be plain text");
    /* The billion-laughs shape never gets to expand. */
    CHECK_ERROR("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", NT_EINVAL,
                "t.yaml:1:4: anchors (&name) are not supported here; write the value out");
}

static void
test_nul_and_binary(void)
{
    static const char nul[] = "name: a\nsender: b\xc3\xa9x\0y\n";
    static const char bad_utf8[] = "name: a\nsender: b\xff\xfe\n";
    char line[700];
    nt_err err;

    error_of(nul, sizeof(nul) - 1, line, sizeof(line), &err);
    CHECK_INT(err, NT_EINVAL);
    CHECK_STR(line, "t.yaml:2:12: the file contains a NUL byte; is it a text file?");
    error_of("\0", 1, line, sizeof(line), &err);
    CHECK_INT(err, NT_EINVAL);
    CHECK_STR(line, "t.yaml:1:1: the file contains a NUL byte; is it a text file?");

    /* Invalid UTF-8 is a syntax error at the byte where it is. */
    error_of(bad_utf8, sizeof(bad_utf8) - 1, line, sizeof(line), &err);
    CHECK_INT(err, NT_EINVAL);
    CHECK_STR(line, "t.yaml:2:10: YAML syntax error: invalid leading UTF-8 octet");

    /* An escaped NUL inside quotes is not a NUL byte in the file: the
     * tree keeps it, and nt_ynode_str refuses it. */
    {
        nt_ydoc doc;
        nt_diag d;
        const char *s = NULL;
        REQUIRE(parse(&doc, "k: \"a\\0b\"\n", &d) == NT_OK);
        CHECK_INT(nt_ymap_get(doc.root, "k")->len, 3);
        CHECK_INT(nt_ynode_str(&doc, nt_ymap_get(doc.root, "k"), "k", &s, &d), NT_EINVAL);
        CHECK_STR(d.msg, "'k' contains a NUL character");
        CHECK_INT(d.line, 1);
        CHECK_INT(d.col, 4);
        nt_ydoc_release(&doc);
    }
}

static void
test_syntax_errors(void)
{
    CHECK_ERROR("a: [1, 2\nb: 3\n", NT_EINVAL,
                "t.yaml:2:2: YAML syntax error: did not find expected ',' or ']' while parsing "
                "a flow sequence");
    CHECK_ERROR("a: 1\n  b: 2\n", NT_EINVAL,
                "t.yaml:2:4: YAML syntax error: mapping values are not allowed in this context");
    CHECK_ERROR("a: \"open\nb: 2\n", NT_EINVAL,
                "t.yaml:3:1: YAML syntax error: found unexpected end of stream while scanning a "
                "quoted scalar");
    CHECK_ERROR("a:\n\tb: 1\n", NT_EINVAL,
                "t.yaml:2:1: YAML syntax error: found character that cannot start any token "
                "while scanning for the next token");
}

static void
test_depth_limit(void)
{
    nt_buf b;
    nt_ydoc doc;
    nt_diag d;
    int i;

    /* NT_YAML_MAX_DEPTH levels of nesting below the root are fine... */
    nt_buf_init(&b, 0);
    for (i = 0; i < NT_YAML_MAX_DEPTH; i++)
        nt_buf_addc(&b, '[');
    nt_buf_addc(&b, 'x');
    for (i = 0; i < NT_YAML_MAX_DEPTH; i++)
        nt_buf_addc(&b, ']');
    REQUIRE(b.err == NT_OK);
    nt_diag_clear(&d);
    CHECK_INT(nt_ydoc_parse(&doc, "t.yaml", b.data, b.len, &d), NT_OK);
    nt_ydoc_release(&doc);

    /* ...one more is refused where it starts. */
    nt_buf_reset(&b);
    for (i = 0; i < NT_YAML_MAX_DEPTH + 1; i++)
        nt_buf_addc(&b, '[');
    nt_buf_addc(&b, 'x');
    for (i = 0; i < NT_YAML_MAX_DEPTH + 1; i++)
        nt_buf_addc(&b, ']');
    nt_diag_clear(&d);
    CHECK_INT(nt_ydoc_parse(&doc, "t.yaml", b.data, b.len, &d), NT_EINVAL);
    CHECK(doc.root == NULL);
    CHECK_STR(d.msg, "nesting is too deep");
    CHECK_INT(d.line, 1);
    CHECK_INT(d.col, NT_YAML_MAX_DEPTH + 2);
    nt_ydoc_release(&doc);

    /* Deep block mappings too, and a very deep one does not blow the stack. */
    nt_buf_reset(&b);
    for (i = 0; i < 100000; i++)
        nt_buf_addc(&b, '[');
    nt_diag_clear(&d);
    CHECK_INT(nt_ydoc_parse(&doc, "t.yaml", b.data, b.len, &d), NT_EINVAL);
    CHECK_STR(d.msg, "nesting is too deep");
    nt_ydoc_release(&doc);

    nt_buf_reset(&b);
    for (i = 0; i < 70; i++)
        nt_buf_addf(&b, "%*sk%d:\n", 2 * i, "", i);
    nt_buf_addf(&b, "%*sleaf: 1\n", 140, "");
    nt_diag_clear(&d);
    CHECK_INT(nt_ydoc_parse(&doc, "t.yaml", b.data, b.len, &d), NT_EINVAL);
    CHECK_STR(d.msg, "nesting is too deep");
    CHECK_INT(d.line, NT_YAML_MAX_DEPTH + 1);
    nt_ydoc_release(&doc);
    nt_buf_release(&b);
}

static void
test_size_and_node_limits(void)
{
    nt_buf b;
    nt_ydoc doc;
    nt_diag d;
    char path[] = "/tmp/nt_yamldoc_XXXXXX";
    int fd;
    FILE *f;

    /* One byte over the size limit is refused before parsing. */
    nt_buf_init(&b, 0);
    nt_buf_adds(&b, "a: ");
    while (b.len < NT_YAML_MAX_BYTES)
        nt_buf_adds(&b, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n  ");
    b.len = NT_YAML_MAX_BYTES + 1;
    nt_diag_clear(&d);
    CHECK_INT(nt_ydoc_parse(&doc, "big.yaml", b.data, b.len, &d), NT_ELIMIT);
    CHECK(doc.root == NULL);
    CHECK_STR(d.file, "big.yaml");
    CHECK_STR(d.msg, "file is larger than 4194304 bytes");
    nt_ydoc_release(&doc);

    /* The same through nt_ydoc_load, from a file. */
    fd = mkstemp(path);
    REQUIRE(fd >= 0);
    f = fdopen(fd, "wb");
    REQUIRE(f != NULL);
    fwrite(b.data, 1, b.len, f);
    fclose(f);
    nt_diag_clear(&d);
    CHECK_INT(nt_ydoc_load(&doc, path, &d), NT_ELIMIT);
    CHECK_STR(d.file, path);
    CHECK_STR(d.msg, "file is larger than 4194304 bytes");
    nt_ydoc_release(&doc);

    /* At the limit exactly it is read. */
    f = fopen(path, "wb");
    REQUIRE(f != NULL);
    fwrite(b.data, 1, NT_YAML_MAX_BYTES - 1, f);
    fputc('\n', f);
    fclose(f);
    nt_diag_clear(&d);
    CHECK_INT(nt_ydoc_load(&doc, path, &d), NT_OK);
    CHECK(doc.root != NULL && doc.root->kind == NT_Y_MAP);
    nt_ydoc_release(&doc);
    unlink(path);

    nt_diag_clear(&d);
    CHECK_INT(nt_ydoc_load(&doc, "/nonexistent/nt.yaml", &d), NT_ENOTFOUND);
    CHECK_STR(d.file, "/nonexistent/nt.yaml");
    CHECK_STR(d.msg, "cannot open: No such file or directory");
    nt_ydoc_release(&doc);

    /* Too many nodes: a list of 100000 one-character items. */
    nt_buf_reset(&b);
    nt_buf_addc(&b, '[');
    for (int i = 0; i < NT_YAML_MAX_NODES; i++)
        nt_buf_adds(&b, "1,");
    nt_buf_addc(&b, ']');
    nt_diag_clear(&d);
    CHECK_INT(nt_ydoc_parse(&doc, "t.yaml", b.data, b.len, &d), NT_EINVAL);
    CHECK_STR(d.msg, "document has too many nodes");
    CHECK_INT(d.line, 1);
    CHECK_INT(d.col, 2 * (NT_YAML_MAX_NODES - 1) + 2);
    nt_ydoc_release(&doc);
    nt_buf_release(&b);
}

static void
test_did_you_mean(void)
{
    static const char *const step_keys[] = {"id", "after", "email", NULL};
    static const char *const stages[] = {"subscriber",  "lead",     "MQL", "SQL",
                                         "opportunity", "customer", NULL};
    static const char *const none[] = {NULL};

    CHECK_STR(nt_did_you_mean("emial", step_keys), "email");
    CHECK_STR(nt_did_you_mean("afterr", step_keys), "after");
    CHECK_STR(nt_did_you_mean("ID", step_keys), "id");
    CHECK(nt_did_you_mean("delay", step_keys) == NULL); /* a synonym, not a typo */
    CHECK(nt_did_you_mean("xyzzy", step_keys) == NULL);
    CHECK(nt_did_you_mean("", step_keys) == NULL);
    CHECK(nt_did_you_mean("email", none) == NULL);
    CHECK_STR(nt_did_you_mean("leed", stages), "lead");
    CHECK_STR(nt_did_you_mean("custmer", stages), "customer");
    CHECK_STR(nt_did_you_mean("opportunty", stages), "opportunity");
    /* Stages compare case-insensitively, so suggestions do too. */
    CHECK_STR(nt_did_you_mean("mqll", stages), "MQL");
    CHECK_STR(nt_did_you_mean("sqll", stages), "SQL");
    /* A swap of two neighbours is one typo. */
    CHECK_STR(nt_did_you_mean("MLQ", stages), "MQL");
    CHECK_STR(nt_did_you_mean("subscirber", stages), "subscriber");
    /* Short words get little slack: "sql" to "lead" is too far. */
    CHECK(nt_did_you_mean("xyz", stages) == NULL);
    /* Very long input is not compared at all (and does not overflow). */
    {
        char lng[200];
        memset(lng, 'a', sizeof(lng) - 1);
        lng[sizeof(lng) - 1] = '\0';
        CHECK(nt_did_you_mean(lng, step_keys) == NULL);
    }
}

static void
test_check_keys(void)
{
    static const char *const known[] = {"name", "sender", "window", "steps", NULL};
    nt_ydoc doc;
    nt_diag d;
    nt_diags ds;
    char line[700];

    REQUIRE(parse(&doc,
                  "name: x\n"
                  "sendr: hello\n"
                  "window:\n"
                  "  days: [mon]\n"
                  "colour: blue\n"
                  "Steps: []\n",
                  &d) == NT_OK);
    nt_diags_init(&ds, 0);
    CHECK_INT(nt_ymap_check_keys(&doc, doc.root, known, "the campaign", &ds), 3);
    REQUIRE(ds.len == 3);
    CHECK_INT(ds.errors, 3);
    nt_diag_format(&ds.items[0], line, sizeof(line));
    CHECK_STR(line, "t.yaml:2:1: unknown key 'sendr' in the campaign; did you mean 'sender'?");
    nt_diag_format(&ds.items[1], line, sizeof(line));
    CHECK_STR(line, "t.yaml:5:1: unknown key 'colour' in the campaign");
    nt_diag_format(&ds.items[2], line, sizeof(line));
    CHECK_STR(line, "t.yaml:6:1: unknown key 'Steps' in the campaign; did you mean 'steps'?");
    /* Not a map, or nothing: nothing to check. */
    CHECK_INT(nt_ymap_check_keys(&doc, nt_ymap_get(doc.root, "name"), known, "x", &ds), 0);
    CHECK_INT(nt_ymap_check_keys(&doc, NULL, known, "x", &ds), 0);
    /* Nested map keys have their own positions. */
    CHECK_INT(nt_ymap_check_keys(&doc, nt_ymap_get(doc.root, "window"), known, "window", &ds), 1);
    REQUIRE(ds.len == 4);
    nt_diag_format(&ds.items[3], line, sizeof(line));
    CHECK_STR(line, "t.yaml:4:3: unknown key 'days' in window");
    nt_diags_release(&ds);
    nt_ydoc_release(&doc);

    /* A long unknown key is cut in the message. */
    {
        char src[300];
        memset(src, 'k', 200);
        memcpy(src + 200, ": 1\n", 5);
        REQUIRE(parse(&doc, src, &d) == NT_OK);
        nt_diags_init(&ds, 0);
        CHECK_INT(nt_ymap_check_keys(&doc, doc.root, known, "x", &ds), 1);
        REQUIRE(ds.len == 1);
        CHECK(strlen(ds.items[0].msg) < 100);
        CHECK_CONTAINS(ds.items[0].msg, "unknown key 'kkkkkkkkkk");
        nt_diags_release(&ds);
        nt_ydoc_release(&doc);
    }
}

static void
test_int(void)
{
    nt_ydoc doc;
    nt_diag d;
    long long v;
    const nt_ynode *r;

    REQUIRE(parse(&doc,
                  "a: 587\n"
                  "b: -3\n"
                  "c: \"25\"\n"
                  "d: 5.5\n"
                  "e: 70000\n"
                  "f:\n"
                  "g: [1]\n"
                  "h: 0x10\n"
                  "i: 99999999999999999999\n"
                  "j: {x: 1}\n"
                  "k: 1 2\n",
                  &d) == NT_OK);
    r = doc.root;
    v = 0;
    CHECK_INT(nt_ynode_int(&doc, nt_ymap_get(r, "a"), "port", 1, 65535, &v, &d), NT_OK);
    CHECK_INT(v, 587);
    CHECK_INT(nt_ynode_int(&doc, nt_ymap_get(r, "b"), "n", -10, 10, &v, &d), NT_OK);
    CHECK_INT(v, -3);

    v = 42;
    nt_diag_clear(&d);
    CHECK_INT(nt_ynode_int(&doc, nt_ymap_get(r, "c"), "port", 1, 65535, &v, &d), NT_EINVAL);
    CHECK_INT(v, 42); /* untouched on error */
    CHECK_STR(d.file, "t.yaml");
    CHECK_INT(d.line, 3);
    CHECK_INT(d.col, 4);
    CHECK_STR(d.msg, "'port' must be a whole number, not '25'");
    CHECK_INT(nt_ynode_int(&doc, nt_ymap_get(r, "d"), "port", 1, 65535, &v, &d), NT_EINVAL);
    CHECK_STR(d.msg, "'port' must be a whole number, not '5.5'");
    CHECK_INT(d.line, 4);
    CHECK_INT(nt_ynode_int(&doc, nt_ymap_get(r, "e"), "port", 1, 65535, &v, &d), NT_EINVAL);
    CHECK_STR(d.msg, "'port' must be between 1 and 65535, not 70000");
    CHECK_INT(d.line, 5);
    CHECK_INT(d.col, 4);
    CHECK_INT(nt_ynode_int(&doc, nt_ymap_get(r, "f"), "port", 1, 65535, &v, &d), NT_EINVAL);
    CHECK_STR(d.msg, "'port' must be a whole number, not a blank");
    CHECK_INT(nt_ynode_int(&doc, nt_ymap_get(r, "g"), "port", 1, 65535, &v, &d), NT_EINVAL);
    CHECK_STR(d.msg, "'port' must be a whole number, not a list");
    CHECK_INT(d.line, 7);
    CHECK_INT(d.col, 4);
    CHECK_INT(nt_ynode_int(&doc, nt_ymap_get(r, "h"), "port", 1, 65535, &v, &d), NT_EINVAL);
    CHECK_STR(d.msg, "'port' must be a whole number, not '0x10'");
    CHECK_INT(nt_ynode_int(&doc, nt_ymap_get(r, "i"), "port", 1, 65535, &v, &d), NT_EINVAL);
    CHECK_STR(d.msg, "'port' must be a whole number, not '99999999999999999999'");
    CHECK_INT(nt_ynode_int(&doc, nt_ymap_get(r, "j"), "port", 1, 65535, &v, &d), NT_EINVAL);
    CHECK_STR(d.msg, "'port' must be a whole number, not a mapping");
    CHECK_INT(nt_ynode_int(&doc, nt_ymap_get(r, "k"), "port", 1, 65535, &v, &d), NT_EINVAL);
    CHECK_STR(d.msg, "'port' must be a whole number, not '1 2'");
    nt_diag_clear(&d);
    CHECK_INT(nt_ynode_int(&doc, NULL, "port", 1, 65535, &v, &d), NT_EINVAL);
    CHECK_STR(d.msg, "'port' must be a whole number, not a nothing");
    CHECK_INT(v, 42);
    nt_ydoc_release(&doc);
}

static void
test_bool_and_str(void)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    nt_ydoc doc;
    nt_diag d;
    const nt_ynode *r;
    const char *s;
    int b;

    REQUIRE(parse(&doc,
                  "t: [true, yes, on]\n"
                  "f: [false, no, off]\n"
                  "q: \"true\"\n"
                  "x: maybe\n"
                  "y: True\n"
                  "l: [a]\n"
                  "s: hello world\n"
                  "n: 12\n",
                  &d) == NT_OK);
    r = doc.root;
    for (int i = 0; i < 3; i++) {
        b = -1;
        CHECK_INT(nt_ynode_bool(&doc, nt_ymap_get(r, "t")->vals[i], "present", &b, &d), NT_OK);
        CHECK_STR(nt_ymap_get(r, "t")->vals[i]->str, yes[i]);
        CHECK_INT(b, 1);
        CHECK_INT(nt_ynode_bool(&doc, nt_ymap_get(r, "f")->vals[i], "present", &b, &d), NT_OK);
        CHECK_STR(nt_ymap_get(r, "f")->vals[i]->str, no[i]);
        CHECK_INT(b, 0);
    }
    b = -1;
    nt_diag_clear(&d);
    /* Quoted "true" is text, not a yes/no. */
    CHECK_INT(nt_ynode_bool(&doc, nt_ymap_get(r, "q"), "present", &b, &d), NT_EINVAL);
    CHECK_INT(b, -1);
    CHECK_STR(d.msg, "'present' must be true or false");
    CHECK_INT(d.line, 3);
    CHECK_INT(d.col, 4);
    CHECK_INT(nt_ynode_bool(&doc, nt_ymap_get(r, "x"), "present", &b, &d), NT_EINVAL);
    CHECK_INT(d.line, 4);
    CHECK_INT(nt_ynode_bool(&doc, nt_ymap_get(r, "y"), "present", &b, &d), NT_EINVAL);
    CHECK_INT(nt_ynode_bool(&doc, nt_ymap_get(r, "l"), "present", &b, &d), NT_EINVAL);
    CHECK_INT(d.line, 6);
    CHECK_INT(nt_ynode_bool(&doc, NULL, "present", &b, &d), NT_EINVAL);
    CHECK_INT(d.line, 0);
    CHECK_INT(b, -1);

    s = NULL;
    CHECK_INT(nt_ynode_str(&doc, nt_ymap_get(r, "s"), "name", &s, &d), NT_OK);
    CHECK_STR(s, "hello world");
    CHECK_INT(nt_ynode_str(&doc, nt_ymap_get(r, "n"), "name", &s, &d), NT_OK);
    CHECK_STR(s, "12"); /* a number is text where text is wanted */
    nt_diag_clear(&d);
    CHECK_INT(nt_ynode_str(&doc, nt_ymap_get(r, "l"), "name", &s, &d), NT_EINVAL);
    CHECK_STR(d.msg, "'name' must be text, not a list");
    CHECK_INT(d.line, 6);
    CHECK_INT(d.col, 4);
    CHECK_INT(nt_ynode_str(&doc, r, "name", &s, &d), NT_EINVAL);
    CHECK_STR(d.msg, "'name' must be text, not a mapping");
    CHECK_INT(nt_ynode_str(&doc, NULL, "name", &s, &d), NT_EINVAL);
    CHECK_STR(d.msg, "'name' must be text, not a nothing");
    /* A NULL diag is allowed. */
    CHECK_INT(nt_ynode_str(&doc, NULL, "name", &s, NULL), NT_EINVAL);
    nt_ydoc_release(&doc);
}

int
main(void)
{
    RUN(test_positions);
    RUN(test_columns_count_characters);
    RUN(test_scalars_and_empty);
    RUN(test_duplicate_keys);
    RUN(test_refused);
    RUN(test_nul_and_binary);
    RUN(test_syntax_errors);
    RUN(test_depth_limit);
    RUN(test_size_and_node_limits);
    RUN(test_did_you_mean);
    RUN(test_check_keys);
    RUN(test_int);
    RUN(test_bool_and_str);
    return t_done();
}
