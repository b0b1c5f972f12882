/*
 * Tests for src/mime.c: the real bounces of the shared flufl.bounce corpus
 * (every one parses; every RFC 3464 DSN yields recipient blocks, and the
 * permanent ones name the address flufl expects), then small messages
 * written here for each decoding rule: RFC 2047, charsets, transfer
 * encodings, HTML-only bodies, returned messages, ARF, nesting, garbage.
 * And the two readers (mime.h): over the corpus and over messages written
 * for each case the quick reader reads or declines, it gives what GMime's
 * full parse gives.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nurture/mime.h"
#include "nurture/utf8.h"
#include "inmsg_eq.h"
#include "t.h"

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL, *t;
    size_t n = 0, cap = 0, r;

    if (!f)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            t = realloc(p, cap);
            if (!t) {
                free(p);
                fclose(f);
                return NULL;
            }
            p = t;
        }
        r = fread(p + n, 1, cap - n - 1, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    p[n] = '\0';
    *len = n;
    return p;
}

/* Every string the parser returns must be valid UTF-8. */
static int
all_utf8(const nt_inmsg *m)
{
    const char *s[] = {m->message_id,       m->in_reply_to,
                       m->references,       m->from_addr,
                       m->from_name,        m->to,
                       m->subject,          m->return_path,
                       m->auto_submitted,   m->text,
                       m->content_type,     m->report_type,
                       m->returned_headers, m->returned_message_id,
                       m->returned_to,      m->feedback_type};
    size_t i;

    for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        if (s[i] && !nt_utf8_valid(s[i], strlen(s[i])))
            return 0;
    for (i = 0; i < m->nheaders; i++)
        if (!nt_utf8_valid(m->headers[i].value, strlen(m->headers[i].value)))
            return 0;
    for (i = 0; i < m->ndsn; i++)
        if (m->dsn[i].diagnostic &&
            !nt_utf8_valid(m->dsn[i].diagnostic, strlen(m->dsn[i].diagnostic)))
            return 0;
    return 1;
}

/* Is a in the list of addresses (separated by '|' or spaces)? */
static int
in_list(const char *a, const char *addrs)
{
    const char *p = addrs;

    if (!a)
        return 0;
    while (*p) {
        size_t n = strcspn(p, "| ");
        if (n > 0 && n == strlen(a) && strncasecmp(a, p, n) == 0)
            return 1;
        p += n;
        p += strspn(p, "| ");
    }
    return 0;
}

/*
 * Does a dsn block name one of the addresses?  The final recipient, or the
 * original one: some MTAs (PMDF in dsn_0x) report the mailbox they
 * rewrote the address into as Final-Recipient.
 */
static int
dsn_matches(const nt_inmsg *m, const char *addrs)
{
    size_t i;

    for (i = 0; i < m->ndsn; i++)
        if (in_list(m->dsn[i].final_recipient, addrs) ||
            in_list(m->dsn[i].original_recipient, addrs))
            return 1;
    return 0;
}

/*
 * Checked on the raw text, independently of the parser: does the message
 * carry a per-recipient DSN field at the start of a line?  Several bounces
 * in the corpus say report-type=delivery-status but their delivery-status
 * part has no recipient block at all.
 */
static int
has_rcpt_field(const char *raw, size_t len)
{
    static const char *const names[] = {"final-recipient:", "original-recipient:"};
    size_t i, k;

    for (i = 0; i < len; i++) {
        if (i > 0 && raw[i - 1] != '\n')
            continue;
        for (k = 0; k < 2; k++)
            if (len - i >= strlen(names[k]) &&
                strncasecmp(raw + i, names[k], strlen(names[k])) == 0)
                return 1;
    }
    return 0;
}

static void
test_corpus(void)
{
    const char *shared = getenv("NT_SHARED_DIR");
    char path[4096], line[4096];
    DIR *dir;
    struct dirent *de;
    FILE *tsv;
    int files = 0, failures = 0, dsns = 0, dsn_real = 0, dsn_empty = 0, bad_utf8 = 0;
    int eligible = 0, matched = 0;

    REQUIRE(shared != NULL);
    snprintf(path, sizeof(path), "%s/corpus/bounces-flufl/data", shared);
    dir = opendir(path);
    REQUIRE(dir != NULL);
    while ((de = readdir(dir)) != NULL) {
        char file[4096 + 256];
        char *raw;
        size_t len;
        nt_inmsg m;
        nt_diag d;

        if (de->d_name[0] == '.')
            continue;
        snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
        raw = slurp(file, &len);
        if (!raw)
            continue;
        files++;
        if (nt_inmsg_parse(raw, len, &m, &d) != NT_OK) {
            failures++;
            fprintf(stderr, "mime: %s: %s\n", de->d_name, d.msg);
        } else {
            if (!all_utf8(&m)) {
                bad_utf8++;
                fprintf(stderr, "mime: %s: invalid UTF-8 in the result\n", de->d_name);
            }
            if (m.report_type && strcmp(m.report_type, "delivery-status") == 0) {
                dsns++;
                if (has_rcpt_field(raw, len))
                    dsn_real++;
                if (m.ndsn == 0 && has_rcpt_field(raw, len)) {
                    dsn_empty++;
                    fprintf(stderr, "mime: %s: delivery-status without recipients\n", de->d_name);
                }
            }
            nt_inmsg_release(&m);
        }
        free(raw);
    }
    closedir(dir);

    snprintf(path, sizeof(path), "%s/corpus/bounces-flufl/expected.tsv", shared);
    tsv = fopen(path, "r");
    REQUIRE(tsv != NULL);
    while (fgets(line, sizeof(line), tsv)) {
        char *cols[4] = {0}, *p = line, *raw;
        char file[4096 + 256];
        size_t len;
        int c;
        nt_inmsg m;

        line[strcspn(line, "\r\n")] = '\0';
        for (c = 0; c < 4 && p; c++) {
            cols[c] = p;
            p = strchr(p, '\t');
            if (p)
                *p++ = '\0';
        }
        if (!cols[3] || strcmp(cols[3], "permanent") != 0 || !cols[2][0])
            continue;
        snprintf(file, sizeof(file), "%s/corpus/bounces-flufl/%s", shared, cols[0]);
        raw = slurp(file, &len);
        if (!raw)
            continue;
        if (nt_inmsg_parse(raw, len, &m, NULL) == NT_OK) {
            if (m.report_type && strcmp(m.report_type, "delivery-status") == 0 &&
                has_rcpt_field(raw, len)) {
                eligible++;
                if (dsn_matches(&m, cols[2]))
                    matched++;
                else
                    fprintf(stderr, "mime: %s: no dsn block names %s\n", cols[0], cols[2]);
            }
            nt_inmsg_release(&m);
        }
        free(raw);
    }
    fclose(tsv);

    fprintf(stderr,
            "mime: %d messages, %d DSNs (%d with recipient blocks), %d recipients matched "
            "(of %d permanent DSNs)\n",
            files, dsns, dsn_real, matched, eligible);
    CHECK(files >= 100);
    CHECK_INT(failures, 0);
    CHECK_INT(bad_utf8, 0);
    CHECK(dsns > 0);
    CHECK(dsn_real > 0);
    CHECK_INT(dsn_empty, 0);
    CHECK(eligible > 0);
    CHECK_INT(matched, eligible);
}

static nt_err
parse(const char *s, nt_inmsg *m)
{
    nt_diag d;
    nt_err err = nt_inmsg_parse(s, strlen(s), m, &d);

    if (err == NT_OK && !all_utf8(m)) {
        fprintf(stderr, "invalid UTF-8 in the result\n");
        t_failures++;
    }
    return err;
}

static void
test_rfc2047(void)
{
    nt_inmsg m;

    REQUIRE(parse("From: =?ISO-8859-1?Q?Andr=E9?= <Andre@Example.COM>\r\n"
                  "To: =?UTF-8?B?SsO8cmdlbg==?= <j@example.org>\r\n"
                  "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?=\r\n"
                  "X-Note: =?ISO-8859-1?Q?caf=E9_cr=E8me?=\r\n"
                  "Message-ID: <abc@example.com>\r\n"
                  "In-Reply-To: <orig-1@nurture.example>\r\n"
                  "Return-Path: <>\r\n"
                  "Date: Tue, 01 Sep 2026 10:00:00 +0000\r\n"
                  "\r\n"
                  "hello\r\n",
                  &m) == NT_OK);
    CHECK_STR(m.subject, "Grüße aus München");
    CHECK_STR(m.from_name, "André");
    CHECK_STR(m.from_addr, "Andre@example.com");
    CHECK_CONTAINS(m.to, "Jürgen");
    CHECK_STR(nt_inmsg_header(&m, "x-note"), "café crème");
    CHECK_STR(m.message_id, "abc@example.com");
    CHECK_STR(m.in_reply_to, "orig-1@nurture.example");
    CHECK_STR(m.return_path, "");
    CHECK_INT(m.date, 1788256800);
    CHECK_STR(m.content_type, "text/plain");
    CHECK_CONTAINS(m.text, "hello");
    CHECK_INT(m.text_from_html, 0);
    CHECK(nt_inmsg_header(&m, "X-Absent") == NULL);
    nt_inmsg_release(&m);
}

static void
test_latin1_and_base64(void)
{
    nt_inmsg m;

    REQUIRE(parse("From: a@example.com\nSubject: x\nMIME-Version: 1.0\n"
                  "Content-Type: text/plain; charset=iso-8859-1\n"
                  "Content-Transfer-Encoding: 8bit\n\n"
                  "Gr\xfc\xdf"
                  "e, caf\xe9\n",
                  &m) == NT_OK);
    CHECK_CONTAINS(m.text, "Grüße, café");
    nt_inmsg_release(&m);

    /* "Hallo Welt, schöne Grüße\n" in UTF-8, base64 */
    REQUIRE(parse("From: a@example.com\nSubject: x\nMIME-Version: 1.0\n"
                  "Content-Type: text/plain; charset=utf-8\n"
                  "Content-Transfer-Encoding: base64\n\n"
                  "SGFsbG8gV2VsdCwgc2Now7ZuZSBHcsO8w59lCg==\n",
                  &m) == NT_OK);
    CHECK_CONTAINS(m.text, "Hallo Welt, schöne Grüße");
    nt_inmsg_release(&m);

    /* quoted-printable, and a charset that lies: invalid UTF-8 bytes */
    REQUIRE(parse("From: a@example.com\nSubject: \xff\xfe bad\nMIME-Version: 1.0\n"
                  "Content-Type: text/plain; charset=utf-8\n"
                  "Content-Transfer-Encoding: quoted-printable\n\n"
                  "soft=\nbreak =C3=A9 and =FF=FE raw\n",
                  &m) == NT_OK);
    CHECK_CONTAINS(m.text, "softbreak é and");
    nt_inmsg_release(&m);
}

static void
test_html_only(void)
{
    nt_inmsg m;

    REQUIRE(parse("From: a@example.com\nSubject: html\nMIME-Version: 1.0\n"
                  "Content-Type: text/html; charset=utf-8\n\n"
                  "<html><head><title>T</title><style>p { color: red }</style></head>"
                  "<body><script>var x = '<p>no</p>';</script>"
                  "<p>Hello&nbsp;<b>there</b> &amp; welcome &lt;3 &#233;&#x20AC;</p>"
                  "<div>Second<br>line</div><!-- hidden --></body></html>\n",
                  &m) == NT_OK);
    CHECK_INT(m.text_from_html, 1);
    CHECK_CONTAINS(m.text, "Hello there & welcome <3 é€");
    CHECK_CONTAINS(m.text, "Second\nline");
    CHECK(m.text && !strchr(m.text, '>') && !strstr(m.text, "color") && !strstr(m.text, "var x") &&
          !strstr(m.text, "hidden"));
    nt_inmsg_release(&m);
}

static const char dsn_msg[] =
    "From: MAILER-DAEMON@mx.example.net\r\n"
    "To: bounces@nurture.example\r\n"
    "Subject: Undelivered Mail Returned to Sender\r\n"
    "Auto-Submitted: auto-replied\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
    "\tboundary=\"B1\"\r\n"
    "\r\n"
    "--B1\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "I'm sorry to have to inform you that your message could not be delivered.\r\n"
    "--B1\r\n"
    "Content-Type: message/delivery-status\r\n"
    "\r\n"
    "Reporting-MTA: dns; mx.example.net\r\n"
    "Arrival-Date: Tue,  1 Sep 2026 10:00:00 +0000\r\n"
    "\r\n"
    "Final-Recipient: rfc822; Gone@Example.ORG\r\n"
    "Original-Recipient: rfc822;gone@example.org\r\n"
    "Action: FAILED\r\n"
    "Status: 5.1.1\r\n"
    "Remote-MTA: dns; mail.example.org\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <gone@example.org>: Recipient address\r\n"
    "    rejected: User unknown\r\n"
    "\r\n"
    "Final-Recipient: rfc822; later@example.org\r\n"
    "Action: delayed\r\n"
    "Status: 4.4.1\r\n"
    "\r\n"
    "--B1\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: us@nurture.example\r\n"
    "To: Gone <gone@example.org>\r\n"
    "Subject: Welcome\r\n"
    "Message-ID: <n1.42.abc@nurture.example>\r\n"
    "\r\n"
    "Welcome aboard.\r\n"
    "--B1--\r\n";

static void
test_dsn(void)
{
    nt_inmsg m;

    REQUIRE(parse(dsn_msg, &m) == NT_OK);
    CHECK_STR(m.content_type, "multipart/report");
    CHECK_STR(m.report_type, "delivery-status");
    CHECK_STR(m.dsn_reporting_mta, "mx.example.net");
    CHECK_STR(m.auto_submitted, "auto-replied");
    REQUIRE(m.ndsn == 2);
    CHECK_STR(m.dsn[0].final_recipient, "Gone@example.org");
    CHECK_STR(m.dsn[0].original_recipient, "gone@example.org");
    CHECK_STR(m.dsn[0].action, "failed");
    CHECK_STR(m.dsn[0].status, "5.1.1");
    CHECK_STR(m.dsn[0].remote_mta, "mail.example.org");
    CHECK_STR(m.dsn[0].diagnostic,
              "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown");
    CHECK_STR(m.dsn[1].final_recipient, "later@example.org");
    CHECK_STR(m.dsn[1].action, "delayed");
    CHECK_STR(m.returned_message_id, "n1.42.abc@nurture.example");
    CHECK_CONTAINS(m.returned_to, "gone@example.org");
    CHECK_CONTAINS(m.returned_headers, "Subject: Welcome");
    CHECK_CONTAINS(m.text, "could not be delivered");
    CHECK(m.text && !strstr(m.text, "Welcome aboard"));
    nt_inmsg_release(&m);
}

static void
test_rfc822_headers(void)
{
    nt_inmsg m;

    REQUIRE(parse("From: postmaster@example.org\nSubject: failure\nMIME-Version: 1.0\n"
                  "Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n"
                  "--x\nContent-Type: text/plain\n\nfailed\n"
                  "--x\nContent-Type: message/delivery-status\n\n"
                  "Reporting-MTA: dns;example.org\n\n"
                  "Final-Recipient: RFC822;<who@example.org>\nAction: failed\nStatus: 5.0.0\n\n"
                  "--x\nContent-Type: text/rfc822-headers\n\n"
                  "Message-Id: <ret-7@nurture.example>\nTo: =?UTF-8?Q?J=C3=BCrgen?= "
                  "<who@example.org>\nSubject: hi\n"
                  "--x--\n",
                  &m) == NT_OK);
    REQUIRE(m.ndsn == 1);
    CHECK_STR(m.dsn[0].final_recipient, "who@example.org");
    CHECK_STR(m.returned_message_id, "ret-7@nurture.example");
    CHECK_CONTAINS(m.returned_to, "Jürgen");
    CHECK_CONTAINS(m.returned_headers, "Subject: hi");
    nt_inmsg_release(&m);
}

static void
test_arf(void)
{
    nt_inmsg m;

    REQUIRE(parse("From: abuse@isp.example\nTo: fbl@nurture.example\nSubject: complaint\n"
                  "MIME-Version: 1.0\n"
                  "Content-Type: multipart/report; report-type=Feedback-Report; boundary=\"f\"\n\n"
                  "--f\nContent-Type: text/plain\n\nThis is an email abuse report.\n"
                  "--f\nContent-Type: message/feedback-report\n\n"
                  "Feedback-Type: Abuse\nUser-Agent: SomeGenerator/1.0\nVersion: 1\n\n"
                  "--f\nContent-Type: message/rfc822\n\n"
                  "From: us@nurture.example\nTo: victim@isp.example\n"
                  "Message-ID: <cmp-9@nurture.example>\nSubject: offer\n\nbody\n"
                  "--f--\n",
                  &m) == NT_OK);
    CHECK_STR(m.report_type, "feedback-report");
    CHECK_STR(m.feedback_type, "abuse");
    CHECK_STR(m.returned_message_id, "cmp-9@nurture.example");
    CHECK_INT(m.ndsn, 0);
    CHECK_CONTAINS(m.text, "abuse report");
    nt_inmsg_release(&m);
}

static void
test_nested(void)
{
    nt_inmsg m;

    REQUIRE(parse("From: a@example.com\nSubject: nested\nMIME-Version: 1.0\n"
                  "Content-Type: multipart/mixed; boundary=outer\n\n"
                  "--outer\nContent-Type: multipart/alternative; boundary=inner\n\n"
                  "--inner\nContent-Type: text/html\n\n<p>html version</p>\n"
                  "--inner\nContent-Type: text/plain; charset=utf-8\n\nplain version\n"
                  "--inner--\n"
                  "--outer\nContent-Type: text/plain\nContent-Disposition: attachment; "
                  "filename=a.txt\n\nattached\n"
                  "--outer--\n",
                  &m) == NT_OK);
    CHECK_STR(m.content_type, "multipart/mixed");
    CHECK_INT(m.text_from_html, 0);
    CHECK_CONTAINS(m.text, "plain version");
    nt_inmsg_release(&m);

    /* attachment first: skipped, the html part is used */
    REQUIRE(parse("From: a@example.com\nSubject: nested\nMIME-Version: 1.0\n"
                  "Content-Type: multipart/mixed; boundary=o\n\n"
                  "--o\nContent-Type: text/plain\nContent-Disposition: attachment\n\nfile\n"
                  "--o\nContent-Type: text/html\n\n<p>only html</p>\n"
                  "--o--\n",
                  &m) == NT_OK);
    CHECK_INT(m.text_from_html, 1);
    CHECK_STR(m.text, "only html");
    nt_inmsg_release(&m);
}

static void
test_too_deep(void)
{
    char msg[8192];
    size_t n = 0;
    int i;
    nt_inmsg m;
    nt_diag d;

    n += (size_t)snprintf(msg + n, sizeof(msg) - n, "From: a@example.com\nSubject: deep\n");
    for (i = 0; i < NT_INMSG_MAX_DEPTH + 4; i++)
        n += (size_t)snprintf(msg + n, sizeof(msg) - n,
                              "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
    n += (size_t)snprintf(msg + n, sizeof(msg) - n, "Content-Type: text/plain\n\ndeep\n");
    REQUIRE(n < sizeof(msg));
    CHECK_INT(nt_inmsg_parse(msg, n, &m, &d), NT_ELIMIT);
    CHECK_CONTAINS(d.msg, "nested");
    CHECK(m.text == NULL && m.nheaders == 0);
    nt_inmsg_release(&m);

    CHECK_INT(nt_inmsg_parse("x", NT_INMSG_MAX_BYTES + 1, &m, &d), NT_ELIMIT);
}

static void
test_garbage(void)
{
    unsigned char junk[4096];
    unsigned int x = 12345;
    size_t i;
    nt_inmsg m;
    nt_err err;

    for (i = 0; i < sizeof(junk); i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (unsigned char)(x >> 16);
    }
    err = nt_inmsg_parse((const char *)junk, sizeof(junk), &m, NULL);
    CHECK(err == NT_OK || err == NT_EINVAL);
    if (err == NT_OK) {
        CHECK(all_utf8(&m));
        nt_inmsg_release(&m);
    }
    err = nt_inmsg_parse("", 0, &m, NULL);
    CHECK(err == NT_OK || err == NT_EINVAL);
    if (err == NT_OK)
        nt_inmsg_release(&m);

    /* truncated in the middle of a multipart and of a base64 body */
    REQUIRE(parse("From: a@example.com\nSubject: cut\nMIME-Version: 1.0\n"
                  "Content-Type: multipart/mixed; boundary=zz\n\n"
                  "--zz\nContent-Type: text/plain\n\nfirst part, never closed\n"
                  "--zz\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\nSGVsbG8gV2",
                  &m) == NT_OK);
    CHECK_CONTAINS(m.text, "first part");
    nt_inmsg_release(&m);
    err = parse("From: a@example.com\nSubj", &m);
    CHECK(err == NT_OK || err == NT_EINVAL);
    if (err == NT_OK)
        nt_inmsg_release(&m);
}

/* raw parsed by both readers: the quick one reads it (or declines it) as
 * expected, and whatever it reads is what GMime's tree gives. */
static void
agree(const char *name, const char *raw, size_t len, int expect_quick)
{
    nt_inmsg q, t;
    nt_diag d;
    nt_err eq = nt_inmsg_parse_with(raw, len, NT_INMSG_QUICK, &q, &d);
    nt_err et = nt_inmsg_parse_with(raw, len, NT_INMSG_GMIME, &t, &d);
    const char *what = "the error";

    int read = eq != NT_ENOTFOUND, same = 1;

    if (expect_quick >= 0 && read != expect_quick)
        fprintf(stderr, "mime: %s: quick reader %s\n", name, read ? "did not decline" : "declined");
    if (expect_quick >= 0)
        CHECK_INT(read, expect_quick);
    if (read)
        same = eq == et && (eq != NT_OK || inmsg_eq(&q, &t, &what));
    if (!same)
        fprintf(stderr, "mime: %s: the readers differ in %s\n", name, what);
    CHECK(same);
    if (eq == NT_OK)
        nt_inmsg_release(&q);
    if (et == NT_OK)
        nt_inmsg_release(&t);
}

static void
agree_s(const char *name, const char *raw, int expect_quick)
{
    agree(name, raw, strlen(raw), expect_quick);
}

static void
test_readers_cases(void)
{
    static const char removed[] =
        "From: MAILER-DAEMON@example.com\nSubject: failed\n"
        "Content-Type: multipart/mixed; boundary=\"=_rpt_42\"\n\n"
        "--=_rpt_42\n\nnotice\n--=_rpt_42\nContent-Type: message/rfc822\n\n"
        "Message removed\n\n--=_rpt_42--\n";
    nt_inmsg m;
    nt_diag d;

    agree_s("mbox From line",
            "From MAILER-DAEMON Tue Oct  3 18:16:48 2000\nFrom: a@example.com\n"
            "Subject: x\n\nbody\n",
            1);
    agree_s("crlf nested",
            "From: a@example.com\r\nSubject: n\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n"
            "pre\r\n--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n"
            "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: "
            "quoted-printable\r\n\r\nCaf=E9 ok\r\n--i--\r\n--o\r\n\r\nno headers\r\n--o--\r\n",
            1);
    agree_s("lf content, crlf boundary",
            "From: a@example.com\nSubject: m\nContent-Type: multipart/mixed; boundary=b\n\n"
            "--b\nContent-Type: text/plain\n\nline one\nline two\n--b--\r\n",
            1);
    agree_s("base64 html",
            "From: a@example.com\nSubject: h\nContent-Type: text/html; charset=utf-8\n"
            "Content-Transfer-Encoding: base64\n\nPHA+SGVsbG8gPGI+dGhlcmU8L2I+PC9wPg==\n",
            1);
    agree_s("encoded words",
            "From: =?utf-8?q?J=C3=BCrgen?= <j@example.de>\n"
            "Subject: =?iso-8859-1?q?Abwesenheitsnotiz_f=FCr?= heute\n"
            "Message-ID: <1@x>\nMessage-ID: <2@x>\nDate: Tue, 3 Oct 2000 18:06:58 "
            "-0400\n\nbody\n",
            1);
    agree_s("returned headers only",
            "From: MAILER-DAEMON@example.com\nSubject: failed\nContent-Type: multipart/report; "
            "report-type=delivery-status; boundary=\"=_rpt_42\"\n\n--=_rpt_42\n\nnotice text\n"
            "--=_rpt_42\n"
            "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
            "Final-Recipient: rfc822; x@example.net\nAction: failed\nStatus: 5.1.1\n\n"
            "--=_rpt_42\nContent-Type: message/rfc822\n\nMessage-ID: <orig@nurture>\n"
            "To: x@example.net\n"
            "--=_rpt_42--\n",
            1);
    REQUIRE(nt_inmsg_parse_with(removed, strlen(removed), NT_INMSG_QUICK, &m, &d) == NT_OK);
    CHECK_STR(m.returned_headers, "");
    CHECK(m.returned_message_id == NULL);
    CHECK_STR(m.text, "notice");
    nt_inmsg_release(&m);

    agree_s("empty returned headers first",
            "From: MAILER-DAEMON@example.com\nContent-Type: multipart/report; "
            "report-type=delivery-status; boundary=\"=_rpt_42\"\n\n--=_rpt_42\n\nnotice\n"
            "--=_rpt_42\nContent-Type: text/rfc822-headers\n\n--=_rpt_42\n"
            "Content-Type: text/rfc822-headers\n\nMessage-ID: <second@nurture>\n--=_rpt_42--\n",
            1);

    /* declined, and GMime reads them */
    agree_s("boundary inside a line",
            "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nsee --b\n"
            "--b--\n",
            0);
    agree_s("longer boundary line",
            "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\ntext\n"
            "--bx\n--b--\n",
            0);
    agree_s("never closed",
            "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n"
            "--b\nContent-Type: text/plain\n\ntext\n",
            0);
    agree_s("two content types",
            "From: a@example.com\nContent-Type: text/html\n"
            "Content-Type: text/plain\n\n<b>x</b>\n",
            0);
    agree_s("uuencode",
            "From: a@example.com\nContent-Transfer-Encoding: x-uuencode\n\n"
            "begin 644 a\n#86)C\n`\nend\n",
            0);
    agree_s("digest",
            "From: a@example.com\nContent-Type: multipart/digest; boundary=d\n\n--d\n\n"
            "From: b@example.com\nSubject: inner\n\nhi\n--d--\n",
            0);
    agree_s("same boundary nested",
            "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
            "Content-Type: multipart/mixed; boundary=b\n\n--b\n\ninner\n--b--\n--b--\n",
            0);
    agree_s("junk first line", "Not a header line\nFrom: a@example.com\n\nbody\n", 0);
    agree_s("no blank line", "From: a@example.com\nSubject: x", 0);
}

/* Every file under dir (recursively), wrapped as a reply when wrap. */
static void
readers_dir(const char *dir, int wrap, int *files, int *quick)
{
    DIR *dp = opendir(dir);
    struct dirent *de;

    if (!dp)
        return;
    while ((de = readdir(dp)) != NULL) {
        char file[4096 + 256], *raw, *msg;
        size_t len, n;
        nt_inmsg m;
        nt_diag d;

        if (de->d_name[0] == '.' || strcmp(de->d_name, "expected.tsv") == 0 ||
            strncmp(de->d_name, "LICENSE", 7) == 0 || strcmp(de->d_name, "README.md") == 0)
            continue;
        snprintf(file, sizeof(file), "%s/%s", dir, de->d_name);
        if (de->d_type == DT_DIR) {
            readers_dir(file, wrap, files, quick);
            continue;
        }
        if (!(raw = slurp(file, &len)))
            continue;
        msg = raw;
        n = len;
        if (wrap && (msg = malloc(len + 512)) != NULL) {
            n = (size_t)snprintf(
                msg, 512,
                "From: Lead <lead@customer.example>\r\nTo: dana@northwind.example\r\n"
                "Subject: Re: Your trial\r\nContent-Type: text/%s; "
                "charset=utf-8\r\n\r\n",
                strstr(de->d_name, ".html") ? "html" : "plain");
            memcpy(msg + n, raw, len);
            n += len;
        }
        if (msg) {
            (*files)++;
            if (nt_inmsg_parse_with(msg, n, NT_INMSG_QUICK, &m, &d) == NT_OK) {
                (*quick)++;
                nt_inmsg_release(&m);
            }
            agree(file, msg, n, -1);
        }
        if (msg != raw)
            free(msg);
        free(raw);
    }
    closedir(dp);
}

/* The quick reader's share of the corpus: floors set from what it reads,
 * which only go up. */
static void
test_readers_corpus(void)
{
    const char *shared = getenv("NT_SHARED_DIR");
    char path[4096];
    int files = 0, quick = 0;

    REQUIRE(shared != NULL);
    snprintf(path, sizeof(path), "%s/corpus/bounces-flufl/data", shared);
    readers_dir(path, 0, &files, &quick);
    printf("mime: the quick reader reads %d of %d bounces as GMime does (floor 113)\n", quick,
           files);
    CHECK(files >= 115 && quick >= 113);
    files = quick = 0;
    snprintf(path, sizeof(path), "%s/corpus/replies", shared);
    readers_dir(path, 1, &files, &quick);
    printf("mime: and %d of %d reply fixtures (floor: all)\n", quick, files);
    CHECK(files > 0 && quick == files);
}

int
main(void)
{
    RUN(test_readers_cases);
    RUN(test_readers_corpus);
    RUN(test_rfc2047);
    RUN(test_latin1_and_base64);
    RUN(test_html_only);
    RUN(test_dsn);
    RUN(test_rfc822_headers);
    RUN(test_arf);
    RUN(test_nested);
    RUN(test_too_deep);
    RUN(test_garbage);
    RUN(test_corpus);
    return t_done();
}
