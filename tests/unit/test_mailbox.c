/*
 * Tests for the file sources of src/mailbox*.c and for the pure parsers
 * under the network sources: a real Maildir and real mbox files in a
 * temporary folder (listing, keys, fetch, finish by rename, nothing
 * deleted, errors that name the folder), the mbox splitter on LF and CRLF
 * files with mboxrd escapes, the shared lock, and the IMAP and POP3 reply
 * readers.  The IMAP and POP3 sources against a real Dovecot are tested by
 * tests/e2e/test_mailbox.py.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "imap_resp.h"
#include "mbox.h"
#include "nurture/mailbox.h"
#include "pop3_resp.h"
#include "t.h"

static char tmp[256];

static void
write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (!f) {
        perror(path);
        exit(1);
    }
    fwrite(data, 1, n, f);
    fclose(f);
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)n + 1);
    if (fread(p, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* Names in DIR/sub, sorted, joined by spaces (dot files left out). */
static void
names_in(const char *dir, const char *sub, char *out, size_t outsz)
{
    char path[512], *names[64];
    struct dirent *e;
    DIR *dd;
    size_t n = 0, i, o = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    out[0] = '\0';
    dd = opendir(path);
    if (!dd)
        return;
    while ((e = readdir(dd)) != NULL && n < 64)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(dd);
    for (i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    for (i = 0; i < n; i++) {
        o += (size_t)snprintf(out + o, outsz - o, "%s%s", i ? " " : "", names[i]);
        free(names[i]);
    }
}

static void
make_maildir(const char *dir)
{
    char p[512];

    mkdir(dir, 0700);
    snprintf(p, sizeof(p), "%s/tmp", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/new", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/cur", dir);
    mkdir(p, 0700);
}

static void
put(const char *dir, const char *sub, const char *name, const char *body)
{
    char p[512];

    snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, name);
    write_file(p, body, strlen(body));
}

static nt_mailbox *
open_kind(nt_mailbox_kind kind, const char *path, nt_err *err, nt_diag *d)
{
    nt_mailbox_opts o;
    nt_mailbox *mb = NULL;

    memset(&o, 0, sizeof(o));
    o.kind = kind;
    o.path = path;
    o.timeout_ms = 300;
    *err = nt_mailbox_open(&o, &mb, d);
    return mb;
}

static void
test_maildir_session(void)
{
    char dir[300], got[2048];
    nt_mailbox *mb;
    nt_mailmsg m;
    nt_diag d;
    nt_err err;
    uint64_t uv = 9, last = 9;

    snprintf(dir, sizeof(dir), "%s/md1", tmp);
    make_maildir(dir);
    put(dir, "new", "1700000002.M2P1.host", "Subject: two\n\nb\n");
    put(dir, "new", "1700000001.M1P1.host,S=20", "Subject: one\n\na\n");
    put(dir, "new", ".hidden", "not a message");
    put(dir, "cur", "1700000003.M3P1.host:2,R", "Subject: three (replied, unseen)\n\nc\n");
    put(dir, "cur", "1700000004.M4P1.host:2,S", "Subject: four (seen)\n\nd\n");
    put(dir, "cur", "1700000005.M5P1.host:2,", "Subject: five\n\ne\n");

    mb = open_kind(NT_MAILBOX_MAILDIR, dir, &err, &d);
    REQUIRE(err == NT_OK && mb);
    CHECK_INT(nt_mailbox_count(mb), 4);
    CHECK_STR(nt_mailbox_name(mb), dir);

    /* fetch and finish before any next: refused */
    memset(&m, 0, sizeof(m));
    CHECK_INT(nt_mailbox_fetch(mb, &m, &d), NT_EINVAL);
    CHECK_INT(nt_mailbox_finish(mb, &m, NT_MAILBOX_PROCESSED, &d), NT_EINVAL);

    CHECK_INT(nt_mailbox_next(mb, &m, &d), NT_OK);
    CHECK_STR(m.key, "maildir:1700000001.M1P1.host,S=20");
    CHECK(m.raw == NULL);
    CHECK_INT(m.index, 0);
    CHECK_INT(nt_mailbox_fetch(mb, &m, &d), NT_OK);
    CHECK_INT(m.len, 16);
    CHECK(m.raw && memcmp(m.raw, "Subject: one\n\na\n", 16) == 0);
    CHECK_INT(nt_mailbox_finish(mb, &m, NT_MAILBOX_PROCESSED, &d), NT_OK);
    CHECK_INT(nt_mailbox_finish(mb, &m, NT_MAILBOX_PROCESSED, &d), NT_EINVAL);

    CHECK_INT(nt_mailbox_next(mb, &m, &d), NT_OK);
    CHECK_STR(m.key, "maildir:1700000002.M2P1.host");
    CHECK_INT(nt_mailbox_finish(mb, &m, NT_MAILBOX_UNKNOWN, &d), NT_OK);

    CHECK_INT(nt_mailbox_next(mb, &m, &d), NT_OK);
    CHECK_STR(m.key, "maildir:1700000003.M3P1.host");
    CHECK_INT(nt_mailbox_fetch(mb, &m, &d), NT_OK);
    CHECK_CONTAINS(m.raw, "three");
    CHECK_INT(nt_mailbox_finish(mb, &m, NT_MAILBOX_PROCESSED, &d), NT_OK);

    /* the fifth is listed and left unfinished */
    CHECK_INT(nt_mailbox_next(mb, &m, &d), NT_OK);
    CHECK_STR(m.key, "maildir:1700000005.M5P1.host");
    CHECK_INT(nt_mailbox_next(mb, &m, &d), NT_ENOTFOUND);
    nt_mailbox_state(mb, &uv, &last);
    CHECK_INT(uv, 0);
    CHECK_INT(last, 0);
    nt_mailbox_close(mb);

    names_in(dir, "new", got, sizeof(got));
    CHECK_STR(got, "");
    names_in(dir, "cur", got, sizeof(got));
    CHECK_STR(got, "1700000001.M1P1.host,S=20:2,S 1700000002.M2P1.host:2,FS "
                   "1700000003.M3P1.host:2,RS 1700000004.M4P1.host:2,S 1700000005.M5P1.host:2,");

    /* a second session sees only the one left */
    mb = open_kind(NT_MAILBOX_MAILDIR, dir, &err, &d);
    REQUIRE(err == NT_OK && mb);
    CHECK_INT(nt_mailbox_count(mb), 1);
    CHECK_INT(nt_mailbox_next(mb, &m, &d), NT_OK);
    CHECK_STR(m.key, "maildir:1700000005.M5P1.host");
    CHECK_INT(nt_mailbox_finish(mb, &m, NT_MAILBOX_PROCESSED, &d), NT_OK);
    nt_mailbox_close(mb);
    names_in(dir, "cur", got, sizeof(got));
    CHECK_CONTAINS(got, "1700000005.M5P1.host:2,S");
}

static void
test_maildir_gone_and_errors(void)
{
    char dir[300], p[400];
    nt_mailbox *mb;
    nt_mailmsg m;
    nt_diag d;
    nt_err err;

    snprintf(dir, sizeof(dir), "%s/md2", tmp);
    make_maildir(dir);
    put(dir, "new", "1.A.h", "x\n");
    put(dir, "new", "2.B.h", "y\n");
    mb = open_kind(NT_MAILBOX_MAILDIR, dir, &err, &d);
    REQUIRE(err == NT_OK && mb);
    /* another program takes the message between listing and fetch */
    snprintf(p, sizeof(p), "%s/new/1.A.h", dir);
    unlink(p);
    CHECK_INT(nt_mailbox_next(mb, &m, &d), NT_OK);
    CHECK_INT(nt_mailbox_fetch(mb, &m, &d), NT_ENOTFOUND);
    CHECK_CONTAINS(d.msg, "1.A.h");
    CHECK_INT(nt_mailbox_finish(mb, &m, NT_MAILBOX_PROCESSED, &d), NT_ENOTFOUND);
    CHECK_INT(nt_mailbox_next(mb, &m, &d), NT_OK);
    CHECK_INT(nt_mailbox_fetch(mb, &m, &d), NT_OK);
    CHECK_INT(m.len, 2);
    nt_mailbox_close(mb);

    /* not a Maildir: the error names the folder and what is missing */
    snprintf(dir, sizeof(dir), "%s/md3", tmp);
    mkdir(dir, 0700);
    snprintf(p, sizeof(p), "%s/new", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/cur", dir);
    mkdir(p, 0700);
    mb = open_kind(NT_MAILBOX_MAILDIR, dir, &err, &d);
    CHECK(mb == NULL);
    CHECK_INT(err, NT_ECONFIG);
    CHECK_STR(d.file, dir);
    CHECK_CONTAINS(d.msg, "tmp/");

    snprintf(dir, sizeof(dir), "%s/does-not-exist", tmp);
    mb = open_kind(NT_MAILBOX_MAILDIR, dir, &err, &d);
    CHECK(mb == NULL);
    CHECK_INT(err, NT_ECONFIG);
    CHECK_STR(d.file, dir);

    mb = open_kind(NT_MAILBOX_MAILDIR, NULL, &err, &d);
    CHECK(mb == NULL);
    CHECK_INT(err, NT_ECONFIG);
}

/* Every message of an mbox file, fetched, joined with "|". */
static nt_err
mbox_all(const char *path, char *out, size_t outsz, char keys[][NT_MAILBOX_KEY_MAX], size_t *n,
         nt_diag *d)
{
    nt_mailbox *mb;
    nt_mailmsg m;
    nt_err err;
    size_t o = 0;

    *n = 0;
    out[0] = '\0';
    mb = open_kind(NT_MAILBOX_MBOX, path, &err, d);
    if (err != NT_OK)
        return err;
    while ((err = nt_mailbox_next(mb, &m, d)) == NT_OK) {
        if ((err = nt_mailbox_fetch(mb, &m, d)) != NT_OK)
            break;
        if (keys)
            memcpy(keys[*n], m.key, sizeof(m.key));
        o += (size_t)snprintf(out + o, outsz - o, "%s%.*s", *n ? "|" : "", (int)m.len, m.raw);
        if ((err = nt_mailbox_finish(mb, &m, NT_MAILBOX_PROCESSED, d)) != NT_OK)
            break;
        (*n)++;
    }
    if (*n != nt_mailbox_count(mb))
        err = NT_EINVAL;
    nt_mailbox_close(mb);
    return err == NT_ENOTFOUND ? NT_OK : err;
}

static void
test_mbox_lf(void)
{
    static const char file[] = "From a@example.com Mon Jan  1 00:00:00 2024\n"
                               "Subject: one\n"
                               "\n"
                               "hello\n"
                               ">From the start\n"
                               ">>From twice\n"
                               "From here, not a separator (no blank line before)\n"
                               "\n"
                               "From b@example.com Mon Jan  1 00:00:01 2024\n"
                               "Subject: two\n"
                               "\n"
                               "x\n"
                               "\n"
                               "From MAILER-DAEMON Mon Jan  1 00:00:02 2024\n"
                               "\n"
                               "From c@example.com Mon Jan  1 00:00:03 2024\n"
                               "Subject: three\n"
                               "\n"
                               "> From is not escaped (space after >)\n"
                               "\n";
    char path[300], got[2048], keys[8][NT_MAILBOX_KEY_MAX], keys2[8][NT_MAILBOX_KEY_MAX];
    char *before, *after;
    size_t n = 0, blen, alen;
    nt_diag d;

    snprintf(path, sizeof(path), "%s/lf.mbox", tmp);
    write_file(path, file, sizeof(file) - 1);
    before = slurp(path, &blen);
    CHECK_INT(mbox_all(path, got, sizeof(got), keys, &n, &d), NT_OK);
    CHECK_INT(n, 4);
    CHECK_STR(got, "Subject: one\n\nhello\nFrom the start\n>From twice\n"
                   "From here, not a separator (no blank line before)\n"
                   "|Subject: two\n\nx\n"
                   "|"
                   "|Subject: three\n\n> From is not escaped (space after >)\n");
    CHECK(strncmp(keys[0], "mbox:0:", 7) == 0);
    CHECK_INT(strlen(keys[0]), 7 + 16);
    CHECK(strncmp(keys[1], "mbox:144:", 9) == 0);
    CHECK(strcmp(keys[0], keys[1]) != 0);

    /* the file is untouched, and a second session gives the same keys */
    after = slurp(path, &alen);
    CHECK(blen == alen && memcmp(before, after, blen) == 0);
    free(before);
    free(after);
    CHECK_INT(mbox_all(path, got, sizeof(got), keys2, &n, &d), NT_OK);
    for (size_t i = 0; i < 4; i++)
        CHECK_STR(keys2[i], keys[i]);
}

static void
test_mbox_crlf(void)
{
    static const char file[] = "From a@example.com Mon Jan  1 00:00:00 2024\r\n"
                               "Subject: one\r\n"
                               "\r\n"
                               ">From escaped\r\n"
                               "\r\n"
                               "From b@example.com Mon Jan  1 00:00:01 2024\r\n"
                               "Subject: two\r\n"
                               "\r\n"
                               "last line without a line end";
    char path[300], got[1024];
    size_t n = 0;
    nt_diag d;

    snprintf(path, sizeof(path), "%s/crlf.mbox", tmp);
    write_file(path, file, sizeof(file) - 1);
    CHECK_INT(mbox_all(path, got, sizeof(got), NULL, &n, &d), NT_OK);
    CHECK_INT(n, 2);
    CHECK_STR(got, "Subject: one\r\n\r\nFrom escaped\r\n"
                   "|Subject: two\r\n\r\nlast line without a line end");
}

static void
test_mbox_errors(void)
{
    char path[300], got[256];
    size_t n = 9;
    nt_diag d;

    snprintf(path, sizeof(path), "%s/empty.mbox", tmp);
    write_file(path, "", 0);
    CHECK_INT(mbox_all(path, got, sizeof(got), NULL, &n, &d), NT_OK);
    CHECK_INT(n, 0);

    snprintf(path, sizeof(path), "%s/not.mbox", tmp);
    write_file(path, "Subject: hi\n\nFrom x\n", 20);
    CHECK_INT(mbox_all(path, got, sizeof(got), NULL, &n, &d), NT_EINVAL);
    CHECK_STR(d.file, path);
    CHECK_CONTAINS(d.msg, "not an mbox file");

    snprintf(path, sizeof(path), "%s/missing.mbox", tmp);
    CHECK_INT(mbox_all(path, got, sizeof(got), NULL, &n, &d), NT_ECONFIG);
    CHECK_STR(d.file, path);

    CHECK_INT(mbox_all(tmp, got, sizeof(got), NULL, &n, &d), NT_ECONFIG);
    CHECK_CONTAINS(d.msg, "folder");
}

/* A writer holding an fcntl write lock keeps the mbox source waiting. */
static void
test_mbox_lock(void)
{
    char path[300], got[256], c;
    int ready[2], done[2], status;
    size_t n;
    nt_diag d;
    pid_t pid;

    snprintf(path, sizeof(path), "%s/locked.mbox", tmp);
    write_file(path, "From x\nSubject: s\n\nbody\n", 24);
    REQUIRE(pipe(ready) == 0 && pipe(done) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        int fd = open(path, O_RDWR);
        if (fd < 0 || fcntl(fd, F_SETLK, &fl) != 0)
            _exit(1);
        if (write(ready[1], "x", 1) != 1 || read(done[0], &c, 1) < 0)
            _exit(1);
        _exit(0);
    }
    REQUIRE(read(ready[0], &c, 1) == 1);
    CHECK_INT(mbox_all(path, got, sizeof(got), NULL, &n, &d), NT_EBUSY);
    CHECK_CONTAINS(d.msg, "locked");
    CHECK_INT(write(done[1], "x", 1), 1);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_INT(mbox_all(path, got, sizeof(got), NULL, &n, &d), NT_OK);
    CHECK_STR(got, "Subject: s\n\nbody\n");
    close(ready[0]);
    close(ready[1]);
    close(done[0]);
    close(done[1]);
}

/* The splitter on its own: every span inside the input, in order. */
static void
test_mbox_splitter(void)
{
    static const struct {
        const char *in;
        int count;
        const char *first; /* the first message's bytes, escaped */
    } cases[] = {
        {"", 0, NULL},
        {"From x", 1, ""},
        {"From x\n", 1, ""},
        {"From x\n\n", 1, ""},
        {"From x\nA\n\nFrom y\nB\n", 2, "A\n"},
        {"From x\nA\nFrom y\nB\n", 1, "A\nFrom y\nB\n"},
        {"From x\r\n\r\nFrom y\r\n", 2, ""},
        {"From x\n\nFrom y\n\nFrom z\n", 3, ""},
        {"From x\nA\r\n\r\nFrom y\n", 2, "A\r\n"},
    };
    size_t i, pos;
    nt_mbox_span s;
    int count, r;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *p = cases[i].in;
        size_t n = strlen(p), last = 0;
        pos = 0;
        count = 0;
        while ((r = nt_mbox_next(p, n, &pos, &s)) == 1) {
            CHECK(s.from >= last && s.start >= s.from && s.start + s.len <= n);
            if (count == 0 && cases[i].first)
                CHECK(s.len == strlen(cases[i].first) &&
                      memcmp(p + s.start, cases[i].first, s.len) == 0);
            last = s.start + s.len;
            count++;
        }
        CHECK_INT(r, 0);
        CHECK_INT(count, cases[i].count);
    }
    pos = 0;
    CHECK_INT(nt_mbox_next("Subject: x\n", 11, &pos, &s), -1);
    pos = 0;
    CHECK_INT(nt_mbox_next("From", 4, &pos, &s), -1);
}

static void
test_mbox_unescape(void)
{
    static const char in[] = ">From a\n>>From b\n> From c\nFrom d\n>Fromage\n>From";
    nt_buf b;

    nt_buf_init(&b, 1024);
    nt_mbox_unescape(in, sizeof(in) - 1, &b);
    CHECK_STR(nt_buf_cstr(&b), "From a\n>From b\n> From c\nFrom d\n>Fromage\n>From");
    nt_buf_release(&b);
}

static nt_imap_resp
parse(const char *s)
{
    nt_imap_resp r;

    CHECK_INT(nt_imap_parse(s, strlen(s), &r), 0);
    return r;
}

static int
span_eq(nt_imap_span s, const char *want)
{
    return s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

static void
test_imap_resp(void)
{
    nt_imap_resp r;
    nt_imap_fetch f;
    uint64_t v = 0;
    const char *p, *end;
    static const char fetch[] = "* 3 FETCH (FLAGS (\\Seen (x)) UID 42 BODY[] {13}\r\n"
                                "A1 OK fake)\r\n)\r\n";

    r = parse("nt7 OK [READ-WRITE] Select completed.\r\n");
    CHECK(r.kind == NT_IMAP_TAGGED && r.status == NT_IMAP_OK);
    CHECK(span_eq(r.tag, "nt7") && span_eq(r.code, "READ-WRITE"));
    CHECK(span_eq(r.text, "Select completed."));

    r = parse("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n");
    CHECK(r.kind == NT_IMAP_UNTAGGED && r.status == NT_IMAP_OK);
    CHECK(nt_imap_code_number(r.code, "UIDVALIDITY", &v) && v == 3857529045ULL);
    CHECK(!nt_imap_code_number(r.code, "UIDNEXT", &v));

    r = parse("* 12 EXISTS\r\n");
    CHECK(r.status == NT_IMAP_NONE && r.has_number && r.number == 12);
    CHECK(span_eq(r.name, "EXISTS"));

    r = parse("* CAPABILITY IMAP4rev1 UIDPLUS MOVE IDLE\r\n");
    CHECK(nt_imap_has_atom(r.rest, "move") && !nt_imap_has_atom(r.rest, "MOV"));

    r = parse("* SEARCH 4 9 100\r\n");
    p = r.rest.p;
    end = r.rest.p + r.rest.n;
    CHECK(nt_imap_next_number(&p, end, &v) == 1 && v == 4);
    CHECK(nt_imap_next_number(&p, end, &v) == 1 && v == 9);
    CHECK(nt_imap_next_number(&p, end, &v) == 1 && v == 100);
    CHECK_INT(nt_imap_next_number(&p, end, &v), 0);
    r = parse("* SEARCH 4 x\r\n");
    p = r.rest.p;
    end = r.rest.p + r.rest.n;
    CHECK(nt_imap_next_number(&p, end, &v) == 1);
    CHECK_INT(nt_imap_next_number(&p, end, &v), -1);

    r = parse("+ go ahead\r\n");
    CHECK(r.kind == NT_IMAP_CONTINUE && span_eq(r.text, "go ahead"));

    /* literals: announced only outside status text */
    CHECK(nt_imap_line_literal("* 3 FETCH (BODY[] {11}\r\n", 24, 1, &v) && v == 11);
    CHECK(nt_imap_line_literal("x {7+}\r\n", 8, 0, &v) && v == 7);
    CHECK(!nt_imap_line_literal("nt1 NO no {5}\r\n", 15, 1, &v));
    CHECK(!nt_imap_line_literal("* BYE {5}\r\n", 11, 1, &v));
    CHECK(!nt_imap_line_literal("* 3 FETCH (BODY[] {}\r\n", 22, 1, &v));

    /* a FETCH whose body holds lines that look like IMAP */
    r = parse(fetch);
    CHECK(span_eq(r.name, "FETCH") && r.number == 3);
    CHECK_INT(nt_imap_parse_fetch(r.rest, &f), 0);
    CHECK(f.has_uid && f.uid == 42 && f.has_body && !f.body_nil);
    CHECK(span_eq(f.body, "A1 OK fake)\r\n"));

    r = parse("* 1 FETCH (BODY[] \"a \\\"q\\\"\" UID 5)\r\n");
    CHECK_INT(nt_imap_parse_fetch(r.rest, &f), 0);
    CHECK(f.uid == 5 && f.body_quoted && span_eq(f.body, "a \\\"q\\\""));
    r = parse("* 1 FETCH (UID 5 BODY[] NIL)\r\n");
    CHECK_INT(nt_imap_parse_fetch(r.rest, &f), 0);
    CHECK(f.has_body && f.body_nil);
    r = parse("* 1 FETCH (FLAGS (\\Seen))\r\n");
    CHECK_INT(nt_imap_parse_fetch(r.rest, &f), 0);
    CHECK(!f.has_uid && !f.has_body);

    /* malformed */
    CHECK_INT(nt_imap_parse("nt1 OK", 6, &r), -1);
    CHECK_INT(nt_imap_parse("nt1 FOO bar\r\n", 13, &r), -1);
    CHECK_INT(nt_imap_parse("* \r\n", 4, &r), -1);
    r = parse("* 1 FETCH (UID 5 BODY[] {99}\r\nshort)\r\n");
    CHECK_INT(nt_imap_parse_fetch(r.rest, &f), -1);
    r = parse("* 1 FETCH (UID ((((\r\n");
    CHECK_INT(nt_imap_parse_fetch(r.rest, &f), -1);
    r = parse("* 1 FETCH (UID x)\r\n");
    CHECK_INT(nt_imap_parse_fetch(r.rest, &f), -1);
}

static void
test_pop3_resp(void)
{
    const char *uid;
    size_t len;
    uint64_t num;
    nt_buf b;

    CHECK_INT(nt_pop3_status("+OK 2 messages\r\n", 16), 1);
    CHECK_INT(nt_pop3_status("+OK\r\n", 5), 1);
    CHECK_INT(nt_pop3_status("-ERR [AUTH] no\r\n", 16), 0);
    CHECK_INT(nt_pop3_status("+OKAY\r\n", 7), -1);
    CHECK_INT(nt_pop3_status("* OK\r\n", 6), -1);
    CHECK(nt_pop3_is_end(".\r\n", 3) && nt_pop3_is_end(".\n", 2));
    CHECK(!nt_pop3_is_end("..\r\n", 4) && !nt_pop3_is_end(".", 1));

    CHECK_INT(nt_pop3_uidl_line("1 000000016b02e1b7\r\n", 20, &num, &uid, &len), 0);
    CHECK(num == 1 && len == 16 && memcmp(uid, "000000016b02e1b7", 16) == 0);
    CHECK_INT(nt_pop3_uidl_line("12 abc \r\n", 9, &num, &uid, &len), 0);
    CHECK(num == 12 && len == 3);
    CHECK_INT(nt_pop3_uidl_line("0 abc\r\n", 7, &num, &uid, &len), -1);
    CHECK_INT(nt_pop3_uidl_line("1 \r\n", 4, &num, &uid, &len), -1);
    CHECK_INT(nt_pop3_uidl_line("14  ", 4, &num, &uid, &len), -1);
    CHECK_INT(nt_pop3_uidl_line("1 a b\r\n", 7, &num, &uid, &len), -1);
    CHECK_INT(nt_pop3_uidl_line("1 a\x01\r\n", 6, &num, &uid, &len), -1);
    CHECK_INT(nt_pop3_uidl_line("x y\r\n", 5, &num, &uid, &len), -1);

    nt_buf_init(&b, 100);
    nt_pop3_unstuff("..dot\r\n", 7, &b);
    nt_pop3_unstuff("plain\r\n", 7, &b);
    CHECK_STR(nt_buf_cstr(&b), ".dot\r\nplain\r\n");
    nt_buf_release(&b);
}

static void
test_url_checks(void)
{
    static const struct {
        nt_mailbox_kind kind;
        const char *url;
        const char *says;
    } bad[] = {
        {NT_MAILBOX_IMAP, "pop3://127.0.0.1:1/", "imap://"},
        {NT_MAILBOX_POP3, "imap://127.0.0.1:1/INBOX", "pop3://"},
        {NT_MAILBOX_IMAP, "imap://user:secret@127.0.0.1:1/INBOX", "password setting"},
        {NT_MAILBOX_IMAP, "imap://user@127.0.0.1:1/INBOX", "username setting"},
        {NT_MAILBOX_IMAP, "imap://:secret@127.0.0.1:1/INBOX", "password setting"},
        {NT_MAILBOX_IMAP, "imap://127.0.0.1:1/INBOX;UID=3", "';'"},
        {NT_MAILBOX_POP3, "pop3://127.0.0.1:1/3", "no mailbox"},
        {NT_MAILBOX_IMAP, "not a url", "not a valid IMAP URL"},
    };
    nt_mailbox_opts o;
    nt_mailbox *mb;
    nt_diag d;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&o, 0, sizeof(o));
        o.kind = bad[i].kind;
        o.url = bad[i].url;
        o.password = "secret";
        mb = NULL;
        CHECK_INT(nt_mailbox_open(&o, &mb, &d), NT_ECONFIG);
        CHECK(mb == NULL);
        CHECK_CONTAINS(d.msg, bad[i].says);
        CHECK(strstr(d.msg, "secret") == NULL && strstr(d.file, "secret") == NULL);
    }
}

int
main(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmp, sizeof(tmp), "%s/nt-mailbox-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_maildir_session);
    RUN(test_maildir_gone_and_errors);
    RUN(test_mbox_lf);
    RUN(test_mbox_crlf);
    RUN(test_mbox_errors);
    RUN(test_mbox_lock);
    RUN(test_mbox_splitter);
    RUN(test_mbox_unescape);
    RUN(test_imap_resp);
    RUN(test_pop3_resp);
    RUN(test_url_checks);
    {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmp);
    }
    return t_done();
}
