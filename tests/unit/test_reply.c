/*
 * Tests for the reply extractor: the default rules measured against two
 * public corpora (GitHub's email_reply_parser and Mailgun's talon), and the
 * edges: bad rules, a runaway pattern, empty, CRLF and invalid UTF-8 input.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nurture/reply.h"

#include "t.h"

/* Measured with the default rules: email_reply_parser 18/22 exact, talon
 * 67/83 (plain quotations 51/65, signatures 16/18);
 * the thresholds leave a small margin for rule edits. */
#define ERP_MIN_EXACT 17
#define TALON_MIN_PCT 78

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        p = malloc((size_t)n + 1);
        if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
            free(p);
            p = NULL;
        }
        if (p) {
            p[n] = '\0';
            if (len)
                *len = (size_t)n;
        }
    }
    fclose(f);
    return p;
}

/* Trim the text, strip trailing whitespace on each line, CRLF to LF. */
static void
normalise(const char *s, nt_buf *out)
{
    size_t n = strlen(s), i = 0, end, start;

    nt_buf_reset(out);
    while (i < n) {
        const char *nl = strchr(s + i, '\n');
        end = nl ? (size_t)(nl - s) : n;
        start = i;
        while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r'))
            end--;
        nt_buf_add(out, s + start, end - start);
        nt_buf_addc(out, '\n');
        i = nl ? (size_t)(nl - s) + 1 : n;
    }
    while (out->len && (out->data[out->len - 1] == '\n'))
        out->len--;
    start = 0;
    while (start < out->len && out->data[start] == '\n')
        start++;
    if (start) {
        memmove(out->data, out->data + start, out->len - start);
        out->len -= start;
    }
    if (out->data)
        out->data[out->len] = '\0';
}

static const char *
env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static nt_reply_rules *
load_default(int without_signatures)
{
    char path[1024];
    char *src;
    size_t len;
    nt_reply_rules *r = NULL;
    nt_diags ds;
    nt_buf b;

    snprintf(path, sizeof(path), "%s/contrib/rules/reply.rules", env_or("NT_SOURCE_DIR", "."));
    src = slurp(path, &len);
    if (!src)
        return NULL;
    nt_buf_init(&b, 0);
    if (without_signatures) {
        /* talon's extract_from_plain removes quotations only. */
        char *line = src, *nl;
        for (; *line; line = nl ? nl + 1 : line + strlen(line)) {
            nl = strchr(line, '\n');
            if (strncmp(line, "signature", 9) != 0)
                nt_buf_add(&b, line, nl ? (size_t)(nl - line) + 1 : strlen(line));
        }
    } else {
        nt_buf_add(&b, src, len);
    }
    nt_diags_init(&ds, 10);
    if (nt_reply_rules_parse(path, nt_buf_cstr(&b), b.len, &r, &ds) != NT_OK) {
        char msg[1024];
        size_t i;
        for (i = 0; i < ds.len; i++) {
            nt_diag_format(&ds.items[i], msg, sizeof(msg));
            fprintf(stderr, "%s\n", msg);
        }
    }
    nt_diags_release(&ds);
    nt_buf_release(&b);
    free(src);
    return r;
}

/* Visible text of s under r, normalised, into out; returns the error. */
static nt_err
visible(const nt_reply_rules *r, const char *s, size_t n, nt_buf *out)
{
    nt_buf raw;
    nt_diag d;
    nt_err err;

    nt_buf_init(&raw, 0);
    err = nt_reply_visible(r, s, n, &raw, &d);
    normalise(nt_buf_cstr(&raw), out);
    nt_buf_release(&raw);
    return err;
}

static int verbose;

static void
test_email_reply_parser(void)
{
    char dir[1024], path[2048];
    nt_reply_rules *r = load_default(0);
    DIR *dh;
    struct dirent *de;
    int total = 0, exact = 0;
    nt_buf got, want;

    REQUIRE(r != NULL);
    snprintf(dir, sizeof(dir), "%s/corpus/replies/email_reply_parser",
             env_or("NT_SHARED_DIR", "/work/shared"));
    snprintf(path, sizeof(path), "%s/emails", dir);
    dh = opendir(path);
    if (!dh) {
        nt_reply_rules_free(r);
        REQUIRE(dh != NULL);
    }
    nt_buf_init(&got, 0);
    nt_buf_init(&want, 0);
    while ((de = readdir(dh)) != NULL) {
        size_t nlen = strlen(de->d_name), len;
        char *in, *exp;
        clock_t t0;
        double secs;

        if (nlen < 5 || strcmp(de->d_name + nlen - 4, ".txt") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/emails/%s", dir, de->d_name);
        in = slurp(path, &len);
        snprintf(path, sizeof(path), "%s/expected/%.*s.visible.txt", dir, (int)(nlen - 4),
                 de->d_name);
        exp = slurp(path, NULL);
        if (in && exp) {
            total++;
            t0 = clock();
            CHECK_INT(visible(r, in, len, &got), NT_OK);
            secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
            CHECK(secs < 1.0);
            normalise(exp, &want);
            if (strcmp(nt_buf_cstr(&got), nt_buf_cstr(&want)) == 0)
                exact++;
            else if (verbose)
                fprintf(stderr, "erp mismatch %s:\n--- got\n%s\n--- want\n%s\n", de->d_name,
                        nt_buf_cstr(&got), nt_buf_cstr(&want));
        }
        free(in);
        free(exp);
    }
    closedir(dh);
    fprintf(stderr, "reply: email_reply_parser %d/%d exact\n", exact, total);
    CHECK_INT(total, 22);
    CHECK(exact >= ERP_MIN_EXACT);
    nt_buf_release(&got);
    nt_buf_release(&want);
    nt_reply_rules_free(r);
}

/* A case's meta.json says whether it was recorded under patched settings. */
static int
patched(const char *casedir)
{
    char path[2048];
    char *meta;
    int p;

    snprintf(path, sizeof(path), "%s/meta.json", casedir);
    meta = slurp(path, NULL);
    p = !meta || strstr(meta, "\"test_patches_settings\": true") != NULL;
    free(meta);
    return p;
}

/* The "body" string of a talon signature case, JSON-unescaped (enough for
 * the escapes json.dumps writes in these files). */
static int
json_body(const char *js, nt_buf *out)
{
    const char *p = strstr(js, "\"body\": \"");

    nt_buf_reset(out);
    if (!p)
        return 0;
    for (p += 9; *p && *p != '"'; p++) {
        if (*p != '\\') {
            nt_buf_addc(out, *p);
            continue;
        }
        p++;
        switch (*p) {
        case 'n':
            nt_buf_addc(out, '\n');
            break;
        case 't':
            nt_buf_addc(out, '\t');
            break;
        case 'r':
            nt_buf_addc(out, '\r');
            break;
        case 'u':
            /* Non-ASCII appears escaped only with ensure_ascii; skip. */
            return 0;
        case '\0':
            return 0;
        default:
            nt_buf_addc(out, *p);
        }
    }
    return 1;
}

static void
test_talon(void)
{
    char dir[1024], path[2048];
    nt_reply_rules *quotes = load_default(1), *full = load_default(0);
    DIR *dh;
    struct dirent *de;
    int plain = 0, plain_ok = 0, sig = 0, sig_ok = 0;
    nt_buf got, want, tmp;

    REQUIRE(quotes != NULL && full != NULL);
    snprintf(dir, sizeof(dir), "%s/corpus/replies/talon/cases",
             env_or("NT_SHARED_DIR", "/work/shared"));
    dh = opendir(dir);
    if (!dh) {
        nt_reply_rules_free(quotes);
        nt_reply_rules_free(full);
        REQUIRE(dh != NULL);
    }
    nt_buf_init(&got, 0);
    nt_buf_init(&want, 0);
    nt_buf_init(&tmp, 0);
    while ((de = readdir(dh)) != NULL) {
        char casedir[1536];
        char *in, *exp;
        size_t len;
        int is_plain = strstr(de->d_name, "__extract_from_plain__") != NULL;
        int is_sig = strstr(de->d_name, "__extract_signature__") != NULL;

        if (!is_plain && !is_sig)
            continue;
        snprintf(casedir, sizeof(casedir), "%s/%s", dir, de->d_name);
        if (patched(casedir))
            continue;
        snprintf(path, sizeof(path), "%s/input.txt", casedir);
        in = slurp(path, &len);
        snprintf(path, sizeof(path), "%s/%s", casedir, is_plain ? "expected.txt" : "expected.json");
        exp = slurp(path, NULL);
        if (in && exp) {
            int ok;
            if (is_plain) {
                /* talon keeps signatures here: compare with quotations removed only. */
                visible(quotes, in, len, &got);
                normalise(exp, &want);
                plain++;
                ok = strcmp(nt_buf_cstr(&got), nt_buf_cstr(&want)) == 0;
                plain_ok += ok;
            } else if (json_body(exp, &tmp)) {
                visible(full, in, len, &got);
                normalise(nt_buf_cstr(&tmp), &want);
                sig++;
                ok = strcmp(nt_buf_cstr(&got), nt_buf_cstr(&want)) == 0;
                sig_ok += ok;
            } else {
                ok = 1;
            }
            if (!ok && verbose)
                fprintf(stderr, "talon mismatch %s:\n--- got\n%s\n--- want\n%s\n", de->d_name,
                        nt_buf_cstr(&got), nt_buf_cstr(&want));
        }
        free(in);
        free(exp);
    }
    closedir(dh);
    fprintf(stderr, "reply: talon %d/%d (plain quotations %d/%d, signatures %d/%d)\n",
            plain_ok + sig_ok, plain + sig, plain_ok, plain, sig_ok, sig);
    CHECK(plain > 50);
    CHECK((plain_ok + sig_ok) * 100 >= TALON_MIN_PCT * (plain + sig));
    nt_buf_release(&got);
    nt_buf_release(&want);
    nt_buf_release(&tmp);
    nt_reply_rules_free(quotes);
    nt_reply_rules_free(full);
}

static const char *
run_s(const nt_reply_rules *r, const char *s, nt_buf *out)
{
    nt_diag d;

    nt_buf_reset(out);
    CHECK_INT(nt_reply_visible(r, s, strlen(s), out, &d), NT_OK);
    return nt_buf_cstr(out);
}

static void
test_basics(void)
{
    nt_reply_rules *r = load_default(0);
    nt_buf out;
    nt_diag d;

    REQUIRE(r != NULL);
    nt_buf_init(&out, 0);
    CHECK_STR(run_s(r, "", &out), "");
    CHECK_STR(run_s(r, "\n\n  \n", &out), "");
    CHECK_STR(run_s(r,
                    "Yes please.\r\n\r\nOn Mon, Jan 1, 2024 at 9:00 AM Ann <a@b.c> wrote:\r\n> "
                    "hi\r\n",
                    &out),
              "Yes please.");
    /* The Gmail wrap: address and "wrote:" on separate lines. */
    CHECK_STR(run_s(r,
                    "Sure.\n\nOn Mon, Jan 1, 2024 at 9:00 AM Ann Example <ann@example.com>\n"
                    "wrote:\n\n> hi\n",
                    &out),
              "Sure.");
    CHECK_STR(run_s(r, "Ja.\n\nAm 01.01.2024 um 09:00 schrieb Ann <a@b.c>:\n> hallo\n", &out),
              "Ja.");
    CHECK_STR(run_s(r, "Oui.\n\nLe lun. 1 janv. 2024 à 09:00, Ann <a@b.c> a écrit :\n> x\n", &out),
              "Oui.");
    CHECK_STR(run_s(r, "Thanks\n\n-----Original Message-----\nFrom: x\n", &out), "Thanks");
    CHECK_STR(run_s(r, "Thanks\nFrom: Ann\nSent: Monday\nTo: Bob\nSubject: x\n\nold\n", &out),
              "Thanks");
    CHECK_STR(run_s(r, "Great\n\nSent from my iPhone\n", &out), "Great");
    CHECK_STR(run_s(r, "Gut\n\nVon meinem iPhone gesendet\n", &out), "Gut");
    CHECK_STR(run_s(r, "Bien\n\nEnviado desde mi iPhone\n", &out), "Bien");
    CHECK_STR(run_s(r, "Body\n-- \nAnn\n", &out), "Body");
    /* A signature with nothing above it is not cut away. */
    CHECK_STR(run_s(r, "Sent from my iPhone\n", &out), "Sent from my iPhone");
    CHECK_STR(run_s(r, "a\r\nb\rc\n", &out), "a\nb\nc");
    /* Invalid UTF-8 is repaired, not rejected, and matching still works. */
    nt_buf_reset(&out);
    CHECK_INT(nt_reply_visible(r, "ok \xff\xfe\n> q\n", 10, &out, &d), NT_OK);
    CHECK_STR(nt_buf_cstr(&out), "ok \xef\xbf\xbd\xef\xbf\xbd");
    nt_buf_reset(&out);
    CHECK_INT(nt_reply_visible(r, "\xc0\x80\xed\xa0\x80\0x", 8, &out, &d), NT_OK);
    nt_buf_release(&out);
    nt_reply_rules_free(r);
}

static void
test_bad_rules(void)
{
    nt_reply_rules *r = NULL;
    nt_diags ds;
    const char *src = "# comment\n\nsignature ^-- $\nbogus x\nquote-line\t(ab\noriginal   a[\n";

    nt_diags_init(&ds, 10);
    CHECK_INT(nt_reply_rules_parse("t.rules", src, strlen(src), &r, &ds), NT_EINVAL);
    CHECK(r == NULL);
    REQUIRE(ds.len == 3);
    CHECK_STR(ds.items[0].file, "t.rules");
    CHECK_INT(ds.items[0].line, 4);
    CHECK_INT(ds.items[0].col, 1);
    CHECK_CONTAINS(ds.items[0].msg, "bogus");
    CHECK_INT(ds.items[1].line, 5);
    CHECK_INT(ds.items[1].col, 15); /* "(ab" starts at 12; PCRE2 reports its end */
    CHECK_CONTAINS(ds.items[1].msg, "parenthes");
    CHECK_INT(ds.items[2].line, 6);
    CHECK_INT(ds.items[2].col, 14);
    nt_diags_release(&ds);

    nt_diags_init(&ds, 10);
    CHECK_INT(nt_reply_rules_parse("t", "signature\n", 10, &r, &ds), NT_EINVAL);
    CHECK_INT(ds.errors, 1);
    nt_diags_release(&ds);

    nt_diags_init(&ds, 10);
    CHECK_INT(nt_reply_rules_load("/nonexistent/reply.rules", &r, &ds), NT_EIO);
    CHECK_INT(ds.errors, 1);
    nt_diags_release(&ds);

    /* CRLF rules files and an empty file are fine. */
    CHECK_INT(nt_reply_rules_parse("t", "quote-line ^>\r\n", 15, &r, NULL), NT_OK);
    nt_reply_rules_free(r);
    CHECK_INT(nt_reply_rules_parse("t", "", 0, &r, NULL), NT_OK);
    nt_reply_rules_free(r);
}

static void
test_match_limit(void)
{
    nt_reply_rules *r = NULL;
    const char *src = "signature (a+)+$\n";
    nt_buf text, out;
    nt_diag d;
    clock_t t0;
    int i;

    REQUIRE(nt_reply_rules_parse("t", src, strlen(src), &r, NULL) == NT_OK);
    nt_buf_init(&text, 0);
    nt_buf_init(&out, 0);
    nt_buf_adds(&text, "first line\n");
    for (i = 0; i < 5000; i++)
        nt_buf_addc(&text, 'a');
    nt_buf_adds(&text, "b\nlast\n");
    t0 = clock();
    CHECK_INT(nt_reply_visible(r, text.data, text.len, &out, &d), NT_ELIMIT);
    CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
    CHECK_CONTAINS(d.msg, "limit");
    CHECK_CONTAINS(nt_buf_cstr(&out), "first line");
    nt_buf_release(&text);
    nt_buf_release(&out);
    nt_reply_rules_free(r);
}

int
main(void)
{
    verbose = getenv("NT_REPLY_VERBOSE") != NULL;
    RUN(test_basics);
    RUN(test_bad_rules);
    RUN(test_match_limit);
    RUN(test_email_reply_parser);
    RUN(test_talon);
    return t_done();
}
