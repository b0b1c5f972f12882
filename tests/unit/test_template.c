/*
 * Unit tests for templates: parsing (good files, CRLF, BOM, every error with
 * its position), merge fields and defaults, and rendering, above all that
 * merged values can not break the subject line or add markup to the HTML.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/template.h"

#include "t.h"

struct kv {
    const char *k, *v;
};

static const char *
lookup(void *ctx, const char *name)
{
    const struct kv *p = ctx;

    for (; p && p->k; p++)
        if (strcmp(p->k, name) == 0)
            return p->v;
    return NULL;
}

static void
dump(const nt_diags *ds)
{
    size_t i;

    for (i = 0; i < ds->len; i++) {
        char line[900];
        nt_diag_format(&ds->items[i], line, sizeof(line));
        fprintf(stderr, "    diag: %s\n", line);
    }
}

/* An error at line:col (col 0: any column) whose message contains msg. */
static int
has_diag(const nt_diags *ds, int line, int col, const char *msg)
{
    size_t i;

    for (i = 0; i < ds->len; i++) {
        const nt_diag *d = &ds->items[i];
        if (d->sev == NT_SEV_ERROR && d->line == line && (col == 0 || d->col == col) &&
            strstr(d->msg, msg) && strcmp(d->file, "t.md") == 0)
            return 1;
    }
    return 0;
}

static nt_template *
parse_n(const char *src, size_t n, nt_diags *ds, nt_err *err)
{
    nt_template *t = NULL;

    nt_diags_init(ds, 0);
    *err = nt_template_parse("t.md", src, n, &t, ds);
    return t;
}

static nt_template *
parse_ok(const char *src)
{
    nt_diags ds;
    nt_err err;
    nt_template *t = parse_n(src, strlen(src), &ds, &err);

    if (err != NT_OK) {
        fprintf(stderr, "unexpected parse failure of:\n%s\n", src);
        dump(&ds);
    }
    nt_diags_release(&ds);
    return t;
}

static void
expect_err_n(const char *src, size_t n, nt_err want, int line, int col, const char *msg)
{
    nt_diags ds;
    nt_err err;
    nt_template *t = parse_n(src, n, &ds, &err);
    int found = has_diag(&ds, line, col, msg);

    CHECK_INT(err, want);
    CHECK(t == NULL);
    CHECK(found);
    if (!found) {
        fprintf(stderr, "  wanted %d:%d: ...%s... for:\n%.*s\n", line, col, msg, (int)n, src);
        dump(&ds);
    }
    nt_template_free(t);
    nt_diags_release(&ds);
}

#define EXPECT_ERR(src, line, col, msg) expect_err_n(src, strlen(src), NT_EINVAL, line, col, msg)

static const char good[] = "---\n"
                           "subject: Welcome aboard, {{first_name | there}}\n"
                           "preheader: \"Three things for {{ company }}\"\n"
                           "---\n"
                           "\n"
                           "Hi {{first_name | there}},\n"
                           "\n"
                           "Read [the guide]({{guide_url}}) today.\n"
                           "\n";

static void
check_good(const nt_template *t)
{
    const nt_merge_ref *r;

    CHECK_STR(nt_template_subject(t), "Welcome aboard, {{first_name | there}}");
    CHECK_STR(nt_template_preheader(t), "Three things for {{ company }}");
    CHECK_STR(nt_template_body(t),
              "Hi {{first_name | there}},\n\nRead [the guide]({{guide_url}}) today.");
    REQUIRE(nt_template_ref_count(t) == 4);
    r = nt_template_ref(t, 0);
    CHECK_STR(r->name, "first_name");
    CHECK_STR(r->def, "there");
    CHECK_INT(r->line, 2);
    CHECK_INT(r->col, 26);
    CHECK_INT(r->in_header, 1);
    r = nt_template_ref(t, 1);
    CHECK_STR(r->name, "company");
    CHECK(r->def == NULL);
    CHECK_INT(r->line, 3);
    CHECK_INT(r->col, 30);
    CHECK_INT(r->in_header, 1);
    r = nt_template_ref(t, 2);
    CHECK_STR(r->name, "first_name");
    CHECK_STR(r->def, "there");
    CHECK_INT(r->line, 6);
    CHECK_INT(r->col, 4);
    CHECK_INT(r->in_header, 0);
    r = nt_template_ref(t, 3);
    CHECK_STR(r->name, "guide_url");
    CHECK(r->def == NULL);
    CHECK_INT(r->line, 8);
    CHECK_INT(r->col, 18);
    CHECK(nt_template_ref(t, 4) == NULL);
    CHECK(nt_template_uses(t, "first_name"));
    CHECK(nt_template_uses(t, "guide_url"));
    CHECK(!nt_template_uses(t, "company")); /* only in the header */
    CHECK(!nt_template_uses(t, "nope"));
}

static void
test_parse_good(void)
{
    nt_template *t = parse_ok(good);

    REQUIRE(t);
    check_good(t);
    nt_template_free(t);
}

/* The same file with CRLF line ends and a byte order mark: same result, same
 * positions. */
static void
test_parse_crlf_bom(void)
{
    char buf[1024];
    size_t i, n = 0;
    nt_template *t = NULL;
    nt_diags ds;
    nt_err err;

    memcpy(buf, "\xef\xbb\xbf", 3);
    n = 3;
    for (i = 0; good[i]; i++) {
        if (good[i] == '\n')
            buf[n++] = '\r';
        buf[n++] = good[i];
    }
    t = parse_n(buf, n, &ds, &err);
    CHECK_INT(err, NT_OK);
    REQUIRE(t);
    check_good(t);
    nt_template_free(t);
    nt_diags_release(&ds);

    /* An error in a CRLF + BOM file is where an editor shows it. */
    {
        static const char e1[] = "\xef\xbb\xbf---\r\nsubject: s\r\nsubjet: x\r\n---\r\nHi\r\n";
        static const char e2[] = "\xef\xbb\xbf---\r\nsubject: s\r\n---\r\n\r\nHi {{Name}}\r\n";
        expect_err_n(e1, sizeof(e1) - 1, NT_EINVAL, 3, 1, "did you mean 'subject'?");
        expect_err_n(e2, sizeof(e2) - 1, NT_EINVAL, 5, 6, "did you mean 'name'?");
    }
    /* Not NUL-terminated: the parser reads only len bytes. */
    {
        char nt[64];
        const char *src = "---\nsubject: s\n---\nbody";
        memcpy(nt, src, strlen(src));
        memset(nt + strlen(src), '{', sizeof(nt) - strlen(src));
        t = parse_n(nt, strlen(src), &ds, &err);
        CHECK_INT(err, NT_OK);
        REQUIRE(t);
        CHECK_STR(nt_template_body(t), "body");
        nt_template_free(t);
        nt_diags_release(&ds);
    }
}

static void
test_parse_header_errors(void)
{
    EXPECT_ERR("Hello {{name}}\n", 1, 1, "missing header");
    EXPECT_ERR("", 1, 1, "missing header");
    EXPECT_ERR("---\nsubject: x\nbody\n", 1, 1, "no closing '---'");
    EXPECT_ERR("---\npreheader: p\n---\nbody\n", 1, 1, "no 'subject'");
    EXPECT_ERR("---\n---\nbody\n", 1, 1, "no 'subject'");
    EXPECT_ERR("---\n# just a comment\n---\nbody\n", 1, 1, "no 'subject'");
    EXPECT_ERR("---\nsubjct: Hi\n---\nx\n", 2, 1,
               "unknown header key 'subjct'; did you mean 'subject'?");
    EXPECT_ERR("---\nsubject: Hi\npre_header: x\n---\n", 3, 1, "did you mean 'preheader'?");
    EXPECT_ERR("---\nSubject: Hi\n---\n", 2, 1, "did you mean 'subject'?");
    EXPECT_ERR("---\nsubject: Hi\ncolour: red\n---\n", 3, 1,
               "unknown header key 'colour'; the keys are 'subject' and 'preheader'");
    EXPECT_ERR("---\nsubject: a\nsubject: b\n---\n", 3, 1, "duplicate header key 'subject'");
    EXPECT_ERR("---\nsubject: a\npreheader: b\npreheader: c\n---\n", 4, 1,
               "duplicate header key 'preheader'");
    EXPECT_ERR("---\nsubject: a: b\n---\n", 2, 11, "mapping values are not allowed");
    EXPECT_ERR("---\nsubject: {{first_name}}, hi\n---\n", 2, 0,
               "a value that starts with '{{' must be quoted");
    EXPECT_ERR("---\nsubject:\n---\nx\n", 2, 1, "the subject is empty");
    EXPECT_ERR("---\nsubject: [a, b]\n---\n", 2, 10, "'subject' must be text, not a list");
    EXPECT_ERR("---\nsubject:\n  a: b\n---\n", 3, 3, "'subject' must be text, not a mapping");
    EXPECT_ERR("---\n- subject\n---\n", 2, 1, "must be 'key: value' lines");
    EXPECT_ERR("---\njust words\n---\n", 2, 1, "must be 'key: value' lines");
    EXPECT_ERR("---\nsubject: a\x01"
               "b\n---\n",
               2, 11, "control characters are not allowed");
    EXPECT_ERR("---\nsubject: \"a\\0b\"\n---\n", 2, 10, "NUL character in a header value");

    /* Quoting makes YAML's special characters plain text. */
    {
        nt_template *t = parse_ok("---\nsubject: \"{{first_name}}: a # b\"\n"
                                  "preheader: 'it''s {{x|y}}'\n---\nbody\n");
        REQUIRE(t);
        CHECK_STR(nt_template_subject(t), "{{first_name}}: a # b");
        CHECK_STR(nt_template_preheader(t), "it's {{x|y}}");
        REQUIRE(nt_template_ref_count(t) == 2);
        CHECK_INT(nt_template_ref(t, 0)->line, 2);
        CHECK_INT(nt_template_ref(t, 0)->col, 11);
        CHECK_INT(nt_template_ref(t, 1)->line, 3);
        CHECK_INT(nt_template_ref(t, 1)->col, 19); /* where it is in the file */
        CHECK_STR(nt_template_ref(t, 1)->def, "y");
        nt_template_free(t);
    }
    /* No preheader, an empty preheader, a comment. */
    {
        nt_template *t = parse_ok("---\nsubject: Hi # a comment\npreheader:\n---\nbody\n");
        REQUIRE(t);
        CHECK_STR(nt_template_subject(t), "Hi");
        CHECK(nt_template_preheader(t) == NULL);
        nt_template_free(t);
    }
}

static void
test_parse_field_errors(void)
{
    EXPECT_ERR("---\nsubject: s\n---\nHi {{first_name\n", 4, 4, "unterminated merge field");
    EXPECT_ERR("---\nsubject: s\n---\nHi {{first_name\n}}\n", 4, 4, "unterminated merge field");
    EXPECT_ERR("---\nsubject: s\n---\n\nA {{ }} b\n", 5, 3, "empty merge field name");
    EXPECT_ERR("---\nsubject: s\n---\n\nA {{}} b\n", 5, 3, "empty merge field name");
    EXPECT_ERR("---\nsubject: s\n---\n\nA {{ | x }} b\n", 5, 3, "empty merge field name");
    EXPECT_ERR("---\nsubject: s\n---\nHi {{first-name}}\n", 4, 11, "bad character '-'");
    EXPECT_ERR("---\nsubject: s\n---\nHi {{first name}}\n", 4, 11, "bad character a space");
    EXPECT_ERR("---\nsubject: s\n---\nHi {{prénom}}\n", 4, 8, "bad character byte 0xc3");
    EXPECT_ERR("---\nsubject: s\n---\nHi {{First_Name}}\n", 4, 6,
               "merge field names are lowercase: 'First_Name'; did you mean 'first_name'?");
    EXPECT_ERR("---\nsubject: s\n---\nHi {{1abc}}\n", 4, 6, "starts with a digit");
    EXPECT_ERR("---\nsubject: s\n---\nHi {{a | b {{c}} d\n", 4, 12,
               "'{{' inside the default of a merge field");
    EXPECT_ERR("---\nsubject: s\n---\nHi {{a {{b}}\n", 4, 8, "'{{' inside a merge field");
    EXPECT_ERR("---\nsubject: s\n---\nHi {{{a}}}\n", 4, 6, "bad character '{'");
    EXPECT_ERR("---\nsubject: "
               "s\n---\n{{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}"
               "}\n",
               4, 3, "longer than 64");
    /* In the header, positions are where the field is in the file. */
    EXPECT_ERR("---\nsubject: Hi {{First}}\n---\n", 2, 15, "did you mean 'first'?");
    EXPECT_ERR("---\nsubject: \"Hi {{bad-name}}\"\n---\n", 2, 19, "bad character '-'");
    EXPECT_ERR("---\nsubject: Hi {{name\n---\n", 2, 13, "unterminated merge field");
    EXPECT_ERR("---\nsubject: s\npreheader: é {{ | x}}\n---\n", 3, 14, "empty merge field name");
    /* Every error is reported, not just the first. */
    {
        nt_diags ds;
        nt_err err;
        const char *src = "---\nsubjet: s\n---\n{{A}} and {{b-c}}\n\n{{d\n";
        nt_template *t = parse_n(src, strlen(src), &ds, &err);
        CHECK_INT(err, NT_EINVAL);
        CHECK(t == NULL);
        CHECK(has_diag(&ds, 2, 1, "did you mean 'subject'"));
        CHECK(has_diag(&ds, 1, 1, "no 'subject'"));
        CHECK(has_diag(&ds, 4, 3, "did you mean 'a'"));
        CHECK(has_diag(&ds, 4, 14, "bad character '-'"));
        CHECK(has_diag(&ds, 6, 1, "unterminated"));
        CHECK_INT(ds.errors, 5);
        nt_diags_release(&ds);
    }
    /* A NULL diags list is allowed. */
    {
        nt_template *t = (nt_template *)1;
        CHECK_INT(nt_template_parse(NULL, "x", 1, &t, NULL), NT_EINVAL);
        CHECK(t == NULL);
    }
}

static void
test_parse_bytes_and_limits(void)
{
    static const char nul[] = "---\nsubject: s\n---\nab\0c\n";
    static const char bad[] = "---\nsubject: s\n---\n\xc3\xa9\xff\n";
    static const char bom_crlf[] = "\xef\xbb\xbf---\r\nsubject: s\r\n---\r\nxy\xc3(\r\n";
    static const char surrogate[] = "---\nsubject: s\n---\na\xed\xa0\x80\n";
    static const char overlong[] = "---\nsubject: s\xc0\xaf\n---\n";
    char *big;
    size_t i, n;

    expect_err_n(nul, sizeof(nul) - 1, NT_EINVAL, 4, 3, "NUL byte");
    expect_err_n(bad, sizeof(bad) - 1, NT_EINVAL, 4, 2, "invalid UTF-8 (byte 0xff)");
    expect_err_n(bom_crlf, sizeof(bom_crlf) - 1, NT_EINVAL, 4, 3, "invalid UTF-8");
    expect_err_n(surrogate, sizeof(surrogate) - 1, NT_EINVAL, 4, 2, "invalid UTF-8");
    expect_err_n(overlong, sizeof(overlong) - 1, NT_EINVAL, 2, 11, "invalid UTF-8");

    /* Size limit. */
    n = NT_TEMPLATE_MAX_BYTES + 1;
    big = malloc(n);
    REQUIRE(big);
    memset(big, 'a', n);
    memcpy(big, "---\nsubject: s\n---\n", 19);
    {
        nt_diags ds;
        nt_err err;
        nt_template *t = parse_n(big, n, &ds, &err);
        CHECK_INT(err, NT_ELIMIT);
        CHECK(t == NULL);
        CHECK(ds.errors == 1);
        nt_diags_release(&ds);
        /* Exactly at the limit is fine. */
        t = parse_n(big, n - 1, &ds, &err);
        CHECK_INT(err, NT_OK);
        nt_template_free(t);
        nt_diags_release(&ds);
    }
    free(big);

    /* Field count limit. */
    {
        size_t cap = 32 + (NT_TEMPLATE_MAX_FIELDS + 1) * 6;
        nt_diags ds;
        nt_err err;
        nt_template *t;
        char *src = malloc(cap);
        REQUIRE(src);
        n = 0;
        memcpy(src, "---\nsubject: s\n---\n", 19);
        n = 19;
        for (i = 0; i < NT_TEMPLATE_MAX_FIELDS; i++) {
            memcpy(src + n, "{{a}} ", 6);
            n += 6;
        }
        t = parse_n(src, n, &ds, &err);
        CHECK_INT(err, NT_OK);
        CHECK_INT(t ? nt_template_ref_count(t) : 0, NT_TEMPLATE_MAX_FIELDS);
        nt_template_free(t);
        nt_diags_release(&ds);
        memcpy(src + n, "{{a}} ", 6);
        n += 6;
        t = parse_n(src, n, &ds, &err);
        CHECK_INT(err, NT_ELIMIT);
        CHECK(t == NULL);
        CHECK(has_diag(&ds, 4, 6001, "more than 1000 merge fields"));
        nt_template_free(t);
        nt_diags_release(&ds);
        free(src);
    }

    /* Inputs that would take quadratic time in a naive scanner; each must
     * finish at once (the test's time limit would catch them otherwise). */
    {
        size_t cap = NT_TEMPLATE_MAX_BYTES;
        char *src = malloc(cap);
        nt_diags ds;
        nt_err err;
        nt_template *t;
        REQUIRE(src);
        memcpy(src, "---\nsubject: s\n---\n", 19);
        memset(src + 19, '{', cap - 19);
        t = parse_n(src, cap, &ds, &err);
        CHECK_INT(err, NT_EINVAL);
        CHECK_INT(ds.errors, 1); /* one unterminated field, not half a million */
        nt_template_free(t);
        nt_diags_release(&ds);
        for (i = 19; i + 3 <= cap - 2; i += 3)
            memcpy(src + i, "{{ ", 3);
        memcpy(src + cap - 2, "}}", 2);
        t = parse_n(src, cap, &ds, &err);
        CHECK_INT(err, NT_EINVAL);
        CHECK(ds.errors > 1000);
        nt_template_free(t);
        nt_diags_release(&ds);
        /* A header value with the most fields, each located in the file. */
        n = 0;
        memcpy(src, "---\nsubject: \"", 14);
        n = 14;
        for (i = 0; i < NT_TEMPLATE_MAX_FIELDS; i++) {
            memset(src + n, ' ', 500);
            memcpy(src + n + 500, "{{a}}", 5);
            n += 505;
        }
        memcpy(src + n, "\"\n---\nbody\n", 11);
        n += 11;
        t = parse_n(src, n, &ds, &err);
        CHECK_INT(err, NT_OK);
        REQUIRE(t);
        CHECK_INT(nt_template_ref(t, 999)->line, 2);
        CHECK_INT(nt_template_ref(t, 999)->col, 11 + 999 * 505 + 500);
        nt_template_free(t);
        nt_diags_release(&ds);
        free(src);
    }

    /* A field alone in angle brackets is lost in the HTML: a warning. */
    {
        nt_diags ds;
        nt_err err;
        const char *src = "---\nsubject: \"<{{a}}>\"\n---\n<{{url}}> <https://x.example/{{id}}>\n";
        nt_template *t = parse_n(src, strlen(src), &ds, &err);
        CHECK_INT(err, NT_OK);
        CHECK_INT(ds.warnings, 1);
        CHECK(ds.len == 1 && ds.items[0].line == 4 && ds.items[0].col == 2 &&
              strstr(ds.items[0].msg, "dropped from the HTML part"));
        nt_template_free(t);
        nt_diags_release(&ds);
    }

    /* An empty body is a warning, not an error. */
    {
        nt_diags ds;
        nt_err err;
        nt_template *t = parse_n("---\nsubject: s\n---\n\n\n", 20, &ds, &err);
        CHECK_INT(err, NT_OK);
        CHECK_INT(ds.warnings, 1);
        CHECK_STR(t ? nt_template_body(t) : NULL, "");
        nt_template_free(t);
        nt_diags_release(&ds);
    }
}

/* ---- rendering ---- */

static int
render(const char *src, const char *footer_src, const struct kv *vals, nt_rendered *out)
{
    nt_template *t = parse_ok(src), *f = footer_src ? parse_ok(footer_src) : NULL;
    nt_diag d;
    nt_err err;

    if (!t || (footer_src && !f)) {
        nt_template_free(t);
        nt_template_free(f);
        memset(out, 0, sizeof(*out));
        return 0;
    }
    err = nt_template_render(t, f, lookup, (void *)vals, out, &d);
    nt_template_free(t);
    nt_template_free(f);
    return err == NT_OK;
}

static void
test_render_defaults(void)
{
    const char *src = "---\nsubject: Hi {{first_name | there}}{{ suffix }}!\n"
                      "preheader: For {{company|your team}}\n---\n"
                      "Hello {{first_name | there}}, from {{ sender }}.{{missing}}\n";
    struct kv none[] = {{NULL, NULL}};
    struct kv empty[] = {{"first_name", ""}, {"sender", "Ann"}, {NULL, NULL}};
    struct kv full[] = {{"first_name", "Bob"},
                        {"company", "Acme"},
                        {"suffix", " :)"},
                        {"sender", "Ann"},
                        {NULL, NULL}};
    nt_rendered r;

    REQUIRE(render(src, NULL, none, &r));
    CHECK_STR(r.subject, "Hi there!");
    CHECK_STR(r.preheader, "For your team");
    CHECK_STR(r.text, "Hello there, from .\n");
    CHECK_CONTAINS(r.html, "<p>Hello there, from .</p>");
    nt_rendered_release(&r);

    REQUIRE(render(src, NULL, empty, &r));
    CHECK_STR(r.subject, "Hi there!");
    CHECK_STR(r.text, "Hello there, from Ann.\n");
    nt_rendered_release(&r);

    REQUIRE(render(src, NULL, full, &r));
    CHECK_STR(r.subject, "Hi Bob :)!");
    CHECK_STR(r.preheader, "For Acme");
    CHECK_STR(r.text, "Hello Bob, from Ann.\n");
    CHECK_CONTAINS(r.html, "<p>Hello Bob, from Ann.</p>");
    CHECK(r.subject && !strstr(r.html, "NTPH"));
    nt_rendered_release(&r);
    CHECK(r.subject == NULL && r.html == NULL);

    /* A NULL merge function: every field takes its default. */
    {
        nt_template *t = parse_ok(src);
        REQUIRE(t);
        CHECK_INT(nt_template_render(t, NULL, NULL, NULL, &r, NULL), NT_OK);
        CHECK_STR(r.subject, "Hi there!");
        nt_rendered_release(&r);
        nt_template_free(t);
    }
}

static void
test_render_subject_one_line(void)
{
    const char *src = "---\nsubject: \"Hi {{first_name}}, welcome\"\n"
                      "preheader: \"{{first_name}}\"\n---\nHi {{first_name}}\n";
    struct kv v[] = {{"first_name", "Bob\r\nBcc: victim@example.com"}, {NULL, NULL}};
    struct kv v2[] = {{"first_name", "\t A\x01\x7f\xc2\x85"
                                     "B\xe2\x80\xa8 C\n\n"},
                      {NULL, NULL}};
    struct kv v3[] = {{"first_name", " \r\n "}, {NULL, NULL}};
    nt_rendered r;

    REQUIRE(render(src, NULL, v, &r));
    CHECK_STR(r.subject, "Hi Bob Bcc: victim@example.com, welcome");
    CHECK(!strchr(r.subject, '\r') && !strchr(r.subject, '\n'));
    CHECK_STR(r.preheader, "Bob Bcc: victim@example.com");
    /* The text part keeps the value as it is. */
    CHECK_STR(r.text, "Hi Bob\r\nBcc: victim@example.com\n");
    nt_rendered_release(&r);

    REQUIRE(render(src, NULL, v2, &r));
    CHECK_STR(r.subject, "Hi A B C , welcome");
    CHECK_STR(r.preheader, "A B C");
    nt_rendered_release(&r);

    /* A preheader that renders empty is none. */
    REQUIRE(render(src, NULL, v3, &r));
    CHECK_STR(r.subject, "Hi , welcome");
    CHECK(r.preheader == NULL);
    CHECK(!strstr(r.html, "display:none"));
    nt_rendered_release(&r);

    /* Multi-line YAML values become one line. */
    REQUIRE(render("---\nsubject: |\n  one\n  two\n---\nx\n", NULL, NULL, &r));
    CHECK_STR(r.subject, "one two");
    nt_rendered_release(&r);
}

static void
test_render_escaping(void)
{
    const char *src = "---\nsubject: Hi {{first_name}}\n---\n"
                      "Hi {{first_name}}, *welcome* **{{first_name}}**.\n\n"
                      "`{{first_name}}`\n\n"
                      "[{{first_name}}](https://example.com/)\n\n"
                      "![{{first_name}}](https://example.com/a.png \"{{first_name}}\")\n";
    static const char *const hostile[] = {
        "<script>alert(1)</script>",
        "[x](http://evil)",
        "**b**",
        "<a href=\"http://evil\">x</a>",
        "\" onmouseover=\"alert(1)",
        "&lt;not an entity&gt; &amp;",
        "{{first_name}}",
        "<!-- c -->",
        "line1\n\n# heading\n\n<b>x</b>",
    };
    static const char *const forbidden[] = {
        "<script",
        "href=\"http://evil",
        "<strong>b</strong>",
        "<a href=\"http://evil",
        "\" onmouseover=\"",
        "&lt;not",
        "<h1>",
        "<!-- c -->",
        "<b>",
    };
    size_t i;

    for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        struct kv v[] = {{"first_name", hostile[i]}, {NULL, NULL}};
        nt_rendered r;
        char want[256];
        REQUIRE(render(src, NULL, v, &r));
        CHECK(!strstr(r.html, forbidden[i]));
        if (strstr(r.html, forbidden[i]))
            fprintf(stderr, "  value %s came out as:\n%s\n", hostile[i], r.html);
        /* Literal in the text part. */
        snprintf(want, sizeof(want), "Hi %s, *welcome*", hostile[i]);
        CHECK_CONTAINS(r.text, want);
        nt_rendered_release(&r);
    }
    {
        struct kv v[] = {{"first_name", "<script>alert(1)</script>"}, {NULL, NULL}};
        nt_rendered r;
        REQUIRE(render(src, NULL, v, &r));
        CHECK_CONTAINS(r.html, "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;, <em>welcome</em> "
                               "<strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>.</p>");
        CHECK_CONTAINS(r.html, "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>");
        CHECK_CONTAINS(r.html, "<a href=\"https://example.com/\">&lt;script&gt;");
        CHECK_CONTAINS(r.html, "alt=\"&lt;script&gt;alert(1)&lt;/script&gt;\"");
        CHECK_CONTAINS(r.html, "title=\"&lt;script&gt;alert(1)&lt;/script&gt;\"");
        CHECK_CONTAINS(r.html, "<title>Hi &lt;script&gt;alert(1)&lt;/script&gt;</title>");
        CHECK_STR(r.subject, "Hi <script>alert(1)</script>");
        nt_rendered_release(&r);
    }
    {
        struct kv v[] = {{"first_name", "[x](http://evil) **b**"}, {NULL, NULL}};
        nt_rendered r;
        REQUIRE(render(src, NULL, v, &r));
        CHECK_CONTAINS(r.html, "<p>Hi [x](http://evil) **b**, <em>welcome</em>");
        CHECK_CONTAINS(r.text, "Hi [x](http://evil) **b**, *welcome*");
        CHECK(!strstr(r.html, "<a href=\"http://evil"));
        nt_rendered_release(&r);
    }
    /* The author's own raw HTML is dropped (cmark's safe mode). */
    {
        nt_rendered r;
        REQUIRE(render("---\nsubject: s\n---\n<script>alert(1)</script>\n\nok <b>x</b>\n", NULL,
                       NULL, &r));
        CHECK(!strstr(r.html, "<script"));
        CHECK(!strstr(r.html, "<b>"));
        CHECK_CONTAINS(r.html, "raw HTML omitted");
        nt_rendered_release(&r);
    }
}

static void
test_render_urls(void)
{
    const char *src = "---\nsubject: s\n---\n"
                      "[Unsubscribe]({{unsubscribe_url}}) or "
                      "[profile](https://example.com/p?id={{id}}&x=1)\n\n"
                      "<https://example.com/u/{{id}}>\n\n"
                      "[ref]\n\n[ref]: {{unsubscribe_url}}\n";
    nt_rendered r;

    {
        struct kv v[] = {
            {"unsubscribe_url", "https://example.com/u?a=1&b='2'"}, {"id", "42"}, {NULL, NULL}};
        REQUIRE(render(src, NULL, v, &r));
        CHECK_CONTAINS(r.html,
                       "<a href=\"https://example.com/u?a=1&amp;b=&#x27;2&#x27;\">Unsubscribe</a>");
        CHECK_CONTAINS(r.html, "<a href=\"https://example.com/p?id=42&amp;x=1\">profile</a>");
        CHECK_CONTAINS(r.html, "<a href=\"https://example.com/u/42\">https://example.com/u/42</a>");
        CHECK_CONTAINS(r.html, "<a href=\"https://example.com/u?a=1&amp;b=&#x27;2&#x27;\">ref</a>");
        nt_rendered_release(&r);
    }
    /* A value can not break out of the attribute or bring in a script URL. */
    {
        struct kv v[] = {{"unsubscribe_url", "javascript:alert(1)"},
                         {"id", "\" onclick=\"alert(1)\" x=\"<>"},
                         {NULL, NULL}};
        REQUIRE(render(src, NULL, v, &r));
        CHECK_CONTAINS(r.html, "<a href=\"\">Unsubscribe</a>");
        CHECK(!strstr(r.html, "javascript"));
        CHECK(!strstr(r.html, "\" onclick"));
        CHECK_CONTAINS(r.html, "id=%22%20onclick=%22alert(1)%22%20x=%22%3C%3E&amp;x=1");
        nt_rendered_release(&r);
    }
    {
        const char *src2 = "---\nsubject: s\n---\n[a](java{{x}}) [b]({{y}}) [c]({{z}})\n";
        struct kv v[] = {{"x", "script:alert(1)"},
                         {"y", "VBScript:x"},
                         {"z", "data:image/png;base64,AAAA"},
                         {NULL, NULL}};
        REQUIRE(render(src2, NULL, v, &r));
        CHECK_CONTAINS(r.html, "<a href=\"\">a</a> <a href=\"\">b</a>");
        CHECK_CONTAINS(r.html, "<a href=\"data:image/png;base64,AAAA\">c</a>");
        nt_rendered_release(&r);
    }
    {
        const char *src3 = "---\nsubject: s\n---\n[a]({{x}})\n";
        struct kv v[] = {{"x", " javascript:alert(1)"}, {NULL, NULL}};
        REQUIRE(render(src3, NULL, v, &r));
        CHECK_CONTAINS(r.html, "<a href=\"%20javascript:alert(1)\">a</a>");
        nt_rendered_release(&r);
    }
}

/* Text that looks like a placeholder stays text; a value that looks like one
 * is escaped text too. */
static void
test_render_placeholder_collisions(void)
{
    const char *src = "---\nsubject: s\n---\n"
                      "NTPHaaaaaaaaaaaaaaaa00000 NTPH {{a}}{{b}}00001 {{a}}NTPH\n";
    struct kv v[] = {{"a", "NTPHaaaaaaaaaaaaaaaa00001"}, {"b", "B"}, {NULL, NULL}};
    nt_rendered r;

    REQUIRE(render(src, NULL, v, &r));
    CHECK_CONTAINS(r.html, "<p>NTPHaaaaaaaaaaaaaaaa00000 NTPH NTPHaaaaaaaaaaaaaaaa00001B00001 "
                           "NTPHaaaaaaaaaaaaaaaa00001NTPH</p>");
    CHECK_STR(r.text, "NTPHaaaaaaaaaaaaaaaa00000 NTPH NTPHaaaaaaaaaaaaaaaa00001B00001 "
                      "NTPHaaaaaaaaaaaaaaaa00001NTPH\n");
    nt_rendered_release(&r);
}

static void
test_render_footer_and_document(void)
{
    const char *src = "---\nsubject: Welcome, {{first_name | friend}}\n"
                      "preheader: Three things <to> try\n---\n"
                      "Hi {{first_name | friend}},\n\nWelcome.\n";
    const char *footer = "---\nsubject: ignored\n---\n"
                         "You get this because you signed up. "
                         "[Unsubscribe]({{unsubscribe_url}})\n\nAcme, 1 Main St\n";
    struct kv v[] = {
        {"first_name", "Zoë"}, {"unsubscribe_url", "https://x.example/u/1"}, {NULL, NULL}};
    nt_rendered r;

    REQUIRE(render(src, footer, v, &r));
    CHECK_STR(r.subject, "Welcome, Zoë");
    CHECK_STR(r.text, "Hi Zoë,\n\nWelcome.\n\nYou get this because you signed up. "
                      "[Unsubscribe](https://x.example/u/1)\n\nAcme, 1 Main St\n");
    CHECK(strncmp(r.html, "<!DOCTYPE html>\n", 16) == 0);
    CHECK_CONTAINS(r.html, "<meta charset=\"utf-8\">");
    CHECK_CONTAINS(r.html, "<title>Welcome, Zoë</title>");
    CHECK_CONTAINS(r.html, "display:none");
    CHECK_CONTAINS(r.html, ">Three things &lt;to&gt; try</div>");
    CHECK_CONTAINS(r.html, "max-width:600px");
    CHECK_CONTAINS(r.html, "<p>Hi Zoë,</p>\n<p>Welcome.</p>");
    CHECK_CONTAINS(r.html, "<a href=\"https://x.example/u/1\">Unsubscribe</a>");
    CHECK_CONTAINS(r.html, "<p>Acme, 1 Main St</p>");
    CHECK(strstr(r.html, "Welcome.") < strstr(r.html, "Unsubscribe"));
    CHECK_CONTAINS(r.html, "</body>\n</html>\n");
    CHECK(!strstr(r.html, "ignored"));
    nt_rendered_release(&r);

    /* A footer's unclosed code fence does not swallow the body, nor the
     * body's the footer. */
    REQUIRE(
        render("---\nsubject: s\n---\n```\ncode\n", "---\nsubject: f\n---\n**foot**\n", NULL, &r));
    CHECK_CONTAINS(r.html, "<strong>foot</strong>");
    nt_rendered_release(&r);
}

static void
test_render_utf8_values(void)
{
    const char *src = "---\nsubject: \"{{name}} ✓\"\n---\nHi {{name}}\n";
    struct kv v[] = {{"name", "A\xff"
                              "B\xc3"},
                     {NULL, NULL}};
    struct kv v2[] = {{"name", "Ζωή 日本 🎉"}, {NULL, NULL}};
    nt_rendered r;

    REQUIRE(render(src, NULL, v, &r));
    CHECK_STR(r.subject, "A\xef\xbf\xbd"
                         "B\xef\xbf\xbd ✓");
    CHECK_STR(r.text, "Hi A\xef\xbf\xbd"
                      "B\xef\xbf\xbd\n");
    nt_rendered_release(&r);
    REQUIRE(render(src, NULL, v2, &r));
    CHECK_STR(r.subject, "Ζωή 日本 🎉 ✓");
    CHECK_CONTAINS(r.html, "<p>Hi Ζωή 日本 🎉</p>");
    nt_rendered_release(&r);
}

/* Long values and many fields: the output is as big as it should be. */
static void
test_render_large(void)
{
    char *big = malloc(200001);
    nt_rendered r;

    REQUIRE(big);
    memset(big, 'x', 200000);
    big[200000] = '\0';
    {
        struct kv v[] = {{"a", big}, {NULL, NULL}};
        REQUIRE(render("---\nsubject: \"{{a}}\"\n---\n{{a}} {{a}}\n", NULL, v, &r));
        CHECK_INT(strlen(r.subject), 200000);
        CHECK_INT(strlen(r.text), 400002);
        CHECK(strlen(r.html) > 400000);
        nt_rendered_release(&r);
    }
    free(big);
}

int
main(void)
{
    RUN(test_parse_good);
    RUN(test_parse_crlf_bom);
    RUN(test_parse_header_errors);
    RUN(test_parse_field_errors);
    RUN(test_parse_bytes_and_limits);
    RUN(test_render_defaults);
    RUN(test_render_subject_one_line);
    RUN(test_render_escaping);
    RUN(test_render_urls);
    RUN(test_render_placeholder_collisions);
    RUN(test_render_footer_and_document);
    RUN(test_render_utf8_values);
    RUN(test_render_large);
    return t_done();
}
