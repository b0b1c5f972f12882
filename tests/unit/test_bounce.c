/*
 * Tests for src/bounce.c: DSN status and diagnostic to reason, the rules
 * file parser and its limits, and a measurement over the flufl.bounce
 * corpus of real bounces (detection, addresses, permanent vs temporary).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "nurture/bounce.h"
#include "nurture/buf.h"
#include "t.h"

static nt_bounce_rules *defaults;

static nt_bounce_rules *
load_defaults(void)
{
    char path[2048];
    const char *src = getenv("NT_SOURCE_DIR");
    nt_bounce_rules *r = NULL;
    nt_diags ds;

    snprintf(path, sizeof(path), "%s/contrib/rules/bounce.rules", src ? src : ".");
    nt_diags_init(&ds, 16);
    if (nt_bounce_rules_load(path, &r, &ds) != NT_OK) {
        size_t i;
        char msg[512];
        for (i = 0; i < ds.len; i++) {
            nt_diag_format(&ds.items[i], msg, sizeof(msg));
            fprintf(stderr, "%s\n", msg);
        }
    }
    nt_diags_release(&ds);
    return r;
}

static int
analyze_raw(const char *raw, size_t len, nt_bounce_result *res)
{
    nt_inmsg m;
    nt_diag d;
    nt_err err;

    memset(res, 0, sizeof(*res));
    if (nt_inmsg_parse(raw, len, &m, &d) != NT_OK)
        return 0;
    err = nt_bounce_analyze(defaults, &m, res, &d);
    nt_inmsg_release(&m);
    return err == NT_OK;
}

/* A DSN with one recipient block. */
static void
dsn(nt_buf *b, const char *action, const char *status, const char *diag)
{
    nt_buf_addf(b,
                "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
                "To: news@sender.example\r\n"
                "Subject: Undelivered Mail Returned to Sender\r\n"
                "MIME-Version: 1.0\r\n"
                "Content-Type: multipart/report; report-type=delivery-status; "
                "boundary=\"BB\"\r\n\r\n"
                "--BB\r\nContent-Type: text/plain\r\n\r\nI'm sorry.\r\n"
                "--BB\r\nContent-Type: message/delivery-status\r\n\r\n"
                "Reporting-MTA: dns; mx.example.org\r\n\r\n"
                "Final-Recipient: rfc822; Jane.Doe@Example.COM\r\n"
                "Action: %s\r\nStatus: %s\r\nDiagnostic-Code: smtp; %s\r\n\r\n"
                "--BB--\r\n",
                action, status, diag);
}

static void
check_dsn(const char *action, const char *status, const char *diag, nt_bounce_reason want, int hard)
{
    nt_buf b;
    nt_bounce_result res;

    nt_buf_init(&b, 0);
    dsn(&b, action, status, diag);
    CHECK(analyze_raw(b.data, b.len, &res));
    CHECK_INT(res.is_bounce, 1);
    CHECK_INT(res.n, 1);
    if (res.n == 1) {
        CHECK_STR(res.items[0].recipient, "Jane.Doe@example.com");
        CHECK_STR(res.items[0].status, status);
        CHECK_STR(nt_bounce_reason_name(res.items[0].reason), nt_bounce_reason_name(want));
        CHECK_INT(res.items[0].hard, hard);
        CHECK(res.items[0].rule != NULL);
    }
    nt_bounce_result_release(&res);
    nt_buf_release(&b);
}

static void
test_dsn(void)
{
    check_dsn("failed", "5.1.1", "550 5.1.1 <x>: Recipient address rejected",
              NT_BOUNCE_USER_UNKNOWN, 1);
    check_dsn("failed", "5.7.1",
              "550 5.7.1 Service unavailable; client host [1.2.3.4] listed at "
              "zen.spamhaus.org; user unknown",
              NT_BOUNCE_POLICY, 1);
    check_dsn("delayed", "4.2.2", "452 4.2.2 Over quota", NT_BOUNCE_MAILBOX_FULL, 0);
    check_dsn("failed", "5.7.1", "554 5.7.1 Message content rejected as spam", NT_BOUNCE_SPAM, 1);
    check_dsn("failed", "5.1.2", "Host or domain name not found", NT_BOUNCE_HOST_UNKNOWN, 1);
    check_dsn("delayed", "4.4.7", "", NT_BOUNCE_EXPIRED, 0);
    check_dsn("failed", "5.2.1", "550 mailbox disabled", NT_BOUNCE_DISABLED, 1);
    check_dsn("delayed", "4.7.0", "421 4.7.0 slow down", NT_BOUNCE_RATE_LIMITED, 0);
    CHECK_STR(nt_bounce_reason_name(NT_BOUNCE_USER_UNKNOWN), "user-unknown");
    CHECK_STR(nt_bounce_reason_name((nt_bounce_reason)999), "unknown");
}

static void
test_notice(void)
{
    static const char qmail[] = "From: MAILER-DAEMON@mx.example.net\r\n"
                                "Subject: failure notice\r\n\r\n"
                                "Hi. This is the qmail-send program at mx.example.net.\r\n"
                                "I'm afraid I wasn't able to deliver your message to the "
                                "following addresses.\r\n\r\n"
                                "<bob@Example.NET>:\r\nSorry, no mailbox here by that name.\r\n"
                                "\r\n<bob@example.net>:\r\nagain\r\n";
    static const char plain[] = "From: Ann <ann@example.com>\r\nSubject: hello\r\n\r\n"
                                "<bob@example.net>:\r\nno such user here\r\n";
    nt_bounce_result res;

    CHECK(analyze_raw(qmail, sizeof(qmail) - 1, &res));
    CHECK_INT(res.is_bounce, 1);
    CHECK_INT(res.n, 1);
    if (res.n == 1) {
        CHECK_STR(res.items[0].recipient, "bob@example.net");
        CHECK_INT(res.items[0].hard, 1);
        CHECK_STR(nt_bounce_reason_name(res.items[0].reason), "user-unknown");
    }
    nt_bounce_result_release(&res);
    CHECK(analyze_raw(plain, sizeof(plain) - 1, &res));
    CHECK_INT(res.is_bounce, 0);
    CHECK_INT(res.n, 0);
    nt_bounce_result_release(&res);
}

static void
test_bad_rules(void)
{
    static const char src[] = "# comment\n"
                              "notice ok ^From: x\n"
                              "bogus name x\n"
                              "reason no-such-reason x\n"
                              "recipient nocapture abc\n"
                              "temporary t (unclosed\n"
                              "notice\n";
    nt_bounce_rules *r = (nt_bounce_rules *)1;
    nt_diags ds;

    nt_diags_init(&ds, 16);
    CHECK_INT(nt_bounce_rules_parse("t.rules", src, sizeof(src) - 1, &r, &ds), NT_EINVAL);
    CHECK(r == NULL);
    CHECK_INT(ds.errors, 5);
    if (ds.len == 5) {
        CHECK_INT(ds.items[0].line, 3);
        CHECK_INT(ds.items[0].col, 1);
        CHECK_INT(ds.items[1].line, 4);
        CHECK_INT(ds.items[1].col, 8);
        CHECK_INT(ds.items[2].line, 5);
        CHECK_INT(ds.items[2].col, 21);
        CHECK_INT(ds.items[3].line, 6);
        CHECK_INT(ds.items[3].col, 22);
        CHECK_INT(ds.items[4].line, 7);
        CHECK_STR(ds.items[0].file, "t.rules");
    }
    nt_diags_release(&ds);
    r = NULL;
    CHECK_INT(nt_bounce_rules_load("/nonexistent/bounce.rules", &r, NULL), NT_EIO);
}

static void
test_match_limit(void)
{
    static const char src[] = "notice any ^From:\n"
                              "recipient slow ^(a|aa)+(x)?b$\n";
    nt_bounce_rules *r = NULL;
    nt_buf b;
    nt_inmsg m;
    nt_diag d;
    nt_bounce_result res;
    clock_t t0;
    int i;

    REQUIRE(nt_bounce_rules_parse("slow", src, sizeof(src) - 1, &r, NULL) == NT_OK);
    nt_buf_init(&b, 0);
    nt_buf_adds(&b, "From: MAILER-DAEMON@x.example\r\nSubject: x\r\n\r\n");
    for (i = 0; i < 200; i++)
        nt_buf_addc(&b, 'a');
    nt_buf_adds(&b, "\r\n");
    REQUIRE(nt_inmsg_parse(b.data, b.len, &m, &d) == NT_OK);
    t0 = clock();
    CHECK_INT(nt_bounce_analyze(r, &m, &res, &d), NT_OK);
    CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
    CHECK_INT(res.is_bounce, 1);
    CHECK_INT(res.n, 0);
    nt_bounce_result_release(&res);
    nt_inmsg_release(&m);
    nt_buf_release(&b);
    nt_bounce_rules_free(r);
}

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    nt_buf b;
    char chunk[8192];
    size_t n;

    if (!f)
        return NULL;
    nt_buf_init(&b, 0);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        nt_buf_add(&b, chunk, n);
    fclose(f);
    return nt_buf_detach(&b, len);
}

/* Does the '|' or space separated list want equal our recipients as sets? */
static int
same_addresses(const char *want, const nt_bounce_result *res)
{
    char buf[2048];
    size_t nwant = 0, i, j;
    char *p, *words[64];
    int found;

    snprintf(buf, sizeof(buf), "%s", want);
    p = buf;
    while (*p && nwant < 64) {
        while (*p == '|' || *p == ' ')
            p++;
        if (!*p)
            break;
        words[nwant++] = p;
        while (*p && *p != '|' && *p != ' ')
            p++;
        if (*p)
            *p++ = '\0';
    }
    for (i = 0; i < nwant; i++) {
        found = 0;
        for (j = 0; j < res->n; j++)
            if (strcasecmp(words[i], res->items[j].recipient) == 0)
                found = 1;
        if (!found)
            return 0;
    }
    for (j = 0; j < res->n; j++) {
        found = 0;
        for (i = 0; i < nwant; i++)
            if (strcasecmp(words[i], res->items[j].recipient) == 0)
                found = 1;
        if (!found)
            return 0;
    }
    return 1;
}

static void
test_corpus(void)
{
    const char *shared = getenv("NT_SHARED_DIR");
    char path[2048], *tsv, *line, *next;
    size_t len;
    int det = 0, nbounce = 0, fp = 0, nplain = 0, addr = 0, naddr = 0, kind = 0, nkind = 0;
    const char *verbose = getenv("NT_BOUNCE_VERBOSE");

    snprintf(path, sizeof(path), "%s/corpus/bounces-flufl/expected.tsv",
             shared ? shared : "../shared");
    tsv = read_file(path, &len);
    REQUIRE(tsv != NULL);
    for (line = tsv; line && *line; line = next) {
        char *f[4] = {0}, *raw;
        size_t rawlen;
        int k = 0, ok_addr, hard = 0;
        nt_bounce_result res;
        size_t i;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (strncmp(line, "file\t", 5) == 0 || !*line)
            continue;
        f[0] = line;
        for (k = 1; k < 4; k++) {
            f[k] = f[k - 1] ? strchr(f[k - 1], '\t') : NULL;
            if (f[k])
                *f[k]++ = '\0';
        }
        for (k = 1; k < 4; k++)
            if (!f[k])
                f[k] = (char *)"";
        snprintf(path, sizeof(path), "%s/corpus/bounces-flufl/%s", shared ? shared : "../shared",
                 f[0]);
        raw = read_file(path, &rawlen);
        CHECK(raw != NULL);
        if (!raw)
            continue;
        if (!analyze_raw(raw, rawlen, &res))
            memset(&res, 0, sizeof(res));
        free(raw);
        if (*f[3]) {
            nbounce++;
            det += res.is_bounce;
            naddr++;
            ok_addr = res.is_bounce && same_addresses(f[2], &res);
            addr += ok_addr;
            if (ok_addr && res.n) {
                nkind++;
                for (i = 0; i < res.n; i++)
                    hard |= res.items[i].hard;
                if (hard == (strcmp(f[3], "permanent") == 0))
                    kind++;
            }
            if (verbose && !ok_addr) {
                fprintf(stderr, "MISS %s [%s] got bounce=%d:", f[0], f[2], res.is_bounce);
                for (i = 0; i < res.n; i++)
                    fprintf(stderr, " %s", res.items[i].recipient);
                fprintf(stderr, "\n");
            }
        } else {
            nplain++;
            fp += res.is_bounce;
        }
        nt_bounce_result_release(&res);
    }
    free(tsv);
    printf("bounce: detected %d/%d, false positives %d/%d, addresses %d/%d, hard/soft %d/%d\n", det,
           nbounce, fp, nplain, addr, naddr, kind, nkind);
    /* Measured: detected 115/117, false positives 0/1, addresses 68/117,
     * hard/soft 64/65; a small margin below. */
    CHECK(det >= 113);
    CHECK(fp <= 0);
    CHECK(addr >= 65);
    CHECK(kind >= 60);
}

int
main(void)
{
    defaults = load_defaults();
    if (!defaults) {
        fprintf(stderr, "cannot load contrib/rules/bounce.rules\n");
        return 1;
    }
    RUN(test_dsn);
    RUN(test_notice);
    RUN(test_bad_rules);
    RUN(test_match_limit);
    RUN(test_corpus);
    nt_bounce_rules_free(defaults);
    return t_done();
}
