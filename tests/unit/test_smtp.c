/*
 * The SMTP sender against a real server: tests/e2e/smtpd.py (aiosmtpd) on
 * 127.0.0.1, started for each case with the flags it needs, in a temporary
 * folder, and killed at the end (also if this program dies: the servers get
 * SIGKILL when their parent goes).
 *
 * What is checked: messages arrive byte for byte and parse back (python3
 * email) as sent; each recipient gets its own reply in one session (250,
 * 550 5.1.1, 451 4.3.0, MAIL and DATA refusals), a 4xx is reported and not
 * tried again within the call; a connection dropped during DATA leaves code
 * 0 for that message and the ones after it; a server that is down, or too
 * slow for the timeout, gives an error and code 0; STARTTLS required and
 * opportunistic with a self-signed certificate made here with the openssl
 * command (trusted, untrusted, by IP address, wrong name, not offered);
 * AUTH PLAIN and LOGIN, a wrong password and a server without AUTH (the
 * server must then see no MAIL FROM at all); the doctor check; and that
 * libesmtp's socket really has TCP_NODELAY, read back from the live socket.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netio.h"
#include "nurture/smtp.h"
#include "t.h"

#define MAX_SERVERS 64

static char tmpdir[256];
static char script[1024];
static pid_t servers[MAX_SERVERS];
static int nservers;
static int nextdir;

typedef struct server {
    pid_t pid;
    int port;
    char dir[300];  /* the --dump folder */
    char log[400];  /* its log.jsonl */
    char errf[400]; /* the server's stderr */
} server;

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
kill_servers(void)
{
    int i;

    for (i = 0; i < nservers; i++) {
        if (servers[i] > 0) {
            kill(servers[i], SIGTERM);
            waitpid(servers[i], NULL, 0);
            servers[i] = 0;
        }
    }
}

static void
stop(server *sv)
{
    int i, status = 0;

    for (i = 0; i < nservers; i++) {
        if (servers[i] == sv->pid) {
            kill(sv->pid, SIGTERM);
            waitpid(sv->pid, &status, 0);
            servers[i] = 0;
            /* SIGTERM must end it cleanly */
            CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
    }
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, r;

    if (!f)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap = (cap + 4096) * 2);
            if (!nb)
                abort();
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Start smtpd.py with the given flags (NULL-terminated) and wait until it
 * listens.  Returns 0 and fills sv, or -1. */
static int
start(server *sv, ...)
{
    const char *argv[64];
    char ready[400], portarg[16];
    va_list ap;
    int argc = 0, i;
    double deadline;
    const char *a;

    memset(sv, 0, sizeof(*sv));
    snprintf(sv->dir, sizeof(sv->dir), "%s/srv%d", tmpdir, ++nextdir);
    snprintf(sv->log, sizeof(sv->log), "%s/log.jsonl", sv->dir);
    snprintf(sv->errf, sizeof(sv->errf), "%s/srv%d.stderr", tmpdir, nextdir);
    snprintf(ready, sizeof(ready), "%s/srv%d.port", tmpdir, nextdir);
    snprintf(portarg, sizeof(portarg), "0");
    argv[argc++] = "/usr/bin/python3";
    argv[argc++] = script;
    argv[argc++] = "--port";
    argv[argc++] = portarg;
    argv[argc++] = "--dump";
    argv[argc++] = sv->dir;
    argv[argc++] = "--ready-file";
    argv[argc++] = ready;
    va_start(ap, sv);
    while ((a = va_arg(ap, const char *)) != NULL && argc < 62)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;

    if (nservers >= MAX_SERVERS)
        return -1;
    sv->pid = fork();
    if (sv->pid < 0)
        return -1;
    if (sv->pid == 0) {
        int fd;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        fd = open("/dev/null", O_RDWR);
        dup2(fd, 0);
        dup2(fd, 1);
        fd = open(sv->errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0)
            dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    servers[nservers++] = sv->pid;
    deadline = now() + 15;
    while (now() < deadline) {
        char *p = slurp(ready, NULL);
        if (p) {
            sv->port = atoi(p);
            free(p);
            if (sv->port > 0)
                return 0;
        }
        if (waitpid(sv->pid, NULL, WNOHANG) == sv->pid)
            break;
        usleep(20000);
    }
    fprintf(stderr, "smtpd.py did not start; its stderr:\n");
    {
        char *e = slurp(sv->errf, NULL);
        fprintf(stderr, "%s\n", e ? e : "(none)");
        free(e);
    }
    for (i = 0; i < nservers; i++)
        if (servers[i] == sv->pid) {
            kill(sv->pid, SIGKILL);
            waitpid(sv->pid, NULL, 0);
            servers[i] = 0;
        }
    return -1;
}

/* Lines of the server's log that contain every given string. */
static int
count_log(const server *sv, const char *a, const char *b)
{
    char *log = slurp(sv->log, NULL), *p, *nl;
    int n = 0;

    if (!log)
        return 0;
    for (p = log; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        if (strstr(p, a) && (!b || strstr(p, b)))
            n++;
    }
    free(log);
    return n;
}

static nt_smtp_config
config(const char *host, int port, nt_tls_mode tls)
{
    nt_smtp_config c;

    memset(&c, 0, sizeof(c));
    c.host = (char *)host;
    c.port = port;
    c.tls = tls;
    c.helo = (char *)"client.test";
    c.timeout_sec = 10;
    c.sessions = 1;
    c.batch = 100;
    return c;
}

static nt_smtp *
client(const nt_smtp_config *c, const char *password, const char *ca)
{
    nt_smtp *s = NULL;
    nt_diag d;

    if (nt_smtp_new(c, password, &s, &d) != NT_OK) {
        fprintf(stderr, "nt_smtp_new: %s\n", d.msg);
        return NULL;
    }
    if (ca && nt_smtp_set_ca_file(s, ca, &d) != NT_OK) {
        fprintf(stderr, "nt_smtp_set_ca_file: %s\n", d.msg);
        nt_smtp_free(s);
        return NULL;
    }
    return s;
}

/* A message of about `size` bytes to rcpt: headers, a MIME multipart body
 * with lines that need dot-stuffing and an encoded header. */
static char *
make_message(const char *rcpt, size_t size, size_t *len)
{
    nt_buf b;
    size_t i = 0;

    nt_buf_init(&b, 0);
    nt_buf_addf(&b,
                "From: =?UTF-8?Q?Ana_Mar=C3=ADa?= <ana@sender.test>\r\n"
                "To: <%s>\r\n"
                "Subject: =?UTF-8?B?w4lwb3F1ZSDinJM=?= and a very long subject line that goes "
                "on\r\n and on, folded\r\n"
                "Date: Tue, 04 Mar 2025 10:00:00 +0000\r\n"
                "Message-ID: <t.%s@sender.test>\r\n"
                "List-Unsubscribe: <mailto:u+x@sender.test>, <https://sender.test/u/x>\r\n"
                "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
                "MIME-Version: 1.0\r\n"
                "Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
                "\r\n"
                "--b1\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n"
                "\r\n"
                "Hello,\r\n"
                ".a line that starts with a dot\r\n"
                ".\r\n"
                "..two dots\r\n"
                "From the start of a line\r\n"
                "caf=C3=A9\r\n",
                rcpt, rcpt);
    while (b.len + 80 < size)
        nt_buf_addf(&b, "line %04zu of the body, long enough to make the message big enough.\r\n",
                    i++);
    nt_buf_adds(&b, "--b1\r\n"
                    "Content-Type: text/html; charset=utf-8\r\n"
                    "\r\n"
                    "<p>Hello</p>\r\n"
                    "--b1--\r\n");
    return nt_buf_detach(&b, len);
}

typedef struct batch {
    nt_outmsg m[64];
    char *data[64];
    size_t n;
} batch;

static void
add(batch *bt, const char *from, const char *rcpt, size_t size)
{
    nt_outmsg *m = &bt->m[bt->n];

    memset(m, 0, sizeof(*m));
    bt->data[bt->n] = make_message(rcpt, size, &m->len);
    m->data = bt->data[bt->n];
    m->envelope_from = from;
    m->rcpt = rcpt;
    m->code = -1; /* must be overwritten */
    bt->n++;
}

static void
release(batch *bt)
{
    size_t i;

    for (i = 0; i < bt->n; i++)
        free(bt->data[i]);
    bt->n = 0;
}

static void
check_code(const nt_outmsg *m, int code, nt_smtp_stage stage, const char *enhanced)
{
    CHECK_INT(m->code, code);
    CHECK_INT(m->stage, stage);
    if (enhanced)
        CHECK_STR(m->enhanced, enhanced);
    if (m->code != code)
        fprintf(stderr, "  (%s: %d %s %s)\n", m->rcpt, m->code, m->enhanced, m->text);
}

#define FROM "bounces+tok@sender.test"

/* CHECK_INT on an nt_err, showing the diagnostic when it is not the one
 * expected. */
#define CHECK_ERR(call, expected, d)                                                               \
    do {                                                                                           \
        nt_err e_ = (call);                                                                        \
        CHECK_INT(e_, expected);                                                                   \
        if (e_ != (expected))                                                                      \
            fprintf(stderr, "  (diag: %s)\n", (d).msg);                                            \
    } while (0)

/* ---- tests ---- */

static void
test_interposed(void)
{
    CHECK(nt_netio_interposed());
}

static int
run_python_compare(const char *sent, const char *received)
{
    char cmd[2048];
    static const char py[] =
        "import email, email.policy, sys\n"
        "a = email.message_from_bytes(open(sys.argv[1], 'rb').read(), "
        "policy=email.policy.default)\n"
        "b = email.message_from_bytes(open(sys.argv[2], 'rb').read(), "
        "policy=email.policy.default)\n"
        "assert list(a.items()) == list(b.items()), (a.items(), b.items())\n"
        "assert a['Subject'] == 'Époque ✓ and a very long subject line that goes on and on, "
        "folded', a['Subject']\n"
        "assert str(a['From']) == 'Ana María <ana@sender.test>', a['From']\n"
        "pa = [p.get_content().replace('\\r\\n', '\\n') for p in a.walk() if not "
        "p.is_multipart()]\n"
        "pb = [p.get_content().replace('\\r\\n', '\\n') for p in b.walk() if not "
        "p.is_multipart()]\n"
        "assert pa == pb and len(pa) == 2, (pa, pb)\n"
        "assert '.a line that starts with a dot\\n.\\n..two dots\\n' in pa[0]\n"
        "assert 'café' in pa[0]\n";
    char pyfile[400];
    FILE *f;

    snprintf(pyfile, sizeof(pyfile), "%s/compare.py", tmpdir);
    if (!(f = fopen(pyfile, "w")))
        return -1;
    fputs(py, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s %s", pyfile, sent, received);
    return system(cmd);
}

static void
test_content(void)
{
    server sv;
    nt_smtp_config c;
    nt_smtp *s;
    batch bt = {0};
    nt_diag d;
    size_t i, len;
    char path[600], sentpath[600];
    FILE *f;

    REQUIRE(start(&sv, (char *)NULL) == 0);
    c = config("127.0.0.1", sv.port, NT_TLS_OFF);
    REQUIRE((s = client(&c, NULL, NULL)) != NULL);
    add(&bt, FROM, "one@rcpt.test", 3000);
    add(&bt, FROM, "two@rcpt.test", 9000);
    add(&bt, "", "three@rcpt.test", 500); /* null sender */
    CHECK_ERR(nt_smtp_send(s, bt.m, bt.n, &d), NT_OK, d);
    for (i = 0; i < bt.n; i++) {
        char *got;

        check_code(&bt.m[i], 250, NT_SMTP_STAGE_DATA, "2.0.0");
        CHECK_CONTAINS(bt.m[i].text, "queued as");
        snprintf(path, sizeof(path), "%s/%s.1.eml", sv.dir, bt.m[i].rcpt);
        got = slurp(path, &len);
        CHECK(got != NULL);
        /* byte for byte: libesmtp added or dropped no header */
        CHECK(got && len == bt.m[i].len && memcmp(got, bt.m[i].data, len) == 0);
        free(got);
    }
    /* and parsed back by another implementation */
    snprintf(sentpath, sizeof(sentpath), "%s/sent.eml", tmpdir);
    f = fopen(sentpath, "wb");
    REQUIRE(f != NULL);
    fwrite(bt.m[0].data, 1, bt.m[0].len, f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/one@rcpt.test.1.eml", sv.dir);
    CHECK_INT(run_python_compare(sentpath, path), 0);
    /* one connection, the envelope as given */
    CHECK_INT(count_log(&sv, "\"ev\": \"connect\"", NULL), 1);
    CHECK_INT(count_log(&sv, "\"ev\": \"ehlo\"", "client.test"), 1);
    CHECK_INT(count_log(&sv, "\"ev\": \"mail\"", FROM), 2);
    CHECK_INT(count_log(&sv, "\"ev\": \"mail\"", "\"from\": \"\""), 1);
    /* sending again is a new conversation and a second copy */
    CHECK_ERR(nt_smtp_send(s, bt.m, 1, &d), NT_OK, d);
    snprintf(path, sizeof(path), "%s/one@rcpt.test.2.eml", sv.dir);
    CHECK(access(path, F_OK) == 0);
    /* nothing to send */
    CHECK_ERR(nt_smtp_send(s, bt.m, 0, &d), NT_OK, d);
    release(&bt);
    nt_smtp_free(s);
    stop(&sv);
}

static void
per_recipient(int enhanced_advertised)
{
    server sv;
    nt_smtp_config c;
    nt_smtp *s;
    batch bt = {0};
    nt_diag d;
    char path[600];
    int rc;

    if (enhanced_advertised)
        rc = start(&sv, "--reject-rcpt", "bad.*=550 5.1.1 No such user", "--reject-rcpt",
                   "slow.*=451 4.3.0 Try later", "--reject-rcpt", "plain.*=550 Just no",
                   (char *)NULL);
    else
        rc = start(&sv, "--no-enhanced", "--no-pipelining", "--reject-rcpt",
                   "bad.*=550 5.1.1 No such user", "--reject-rcpt", "slow.*=451 4.3.0 Try later",
                   "--reject-rcpt", "plain.*=550 Just no", (char *)NULL);
    REQUIRE(rc == 0);
    c = config("127.0.0.1", sv.port, NT_TLS_OFF);
    REQUIRE((s = client(&c, NULL, NULL)) != NULL);
    add(&bt, FROM, "ok1@rcpt.test", 3000);
    add(&bt, FROM, "bad1@rcpt.test", 3000);
    add(&bt, FROM, "slow1@rcpt.test", 3000);
    add(&bt, FROM, "ok2@rcpt.test", 3000);
    add(&bt, FROM, "bad2@rcpt.test", 3000);
    add(&bt, FROM, "plain@rcpt.test", 3000);
    add(&bt, FROM, "ok3@rcpt.test", 3000);
    CHECK_ERR(nt_smtp_send(s, bt.m, bt.n, &d), NT_OK, d);
    check_code(&bt.m[0], 250, NT_SMTP_STAGE_DATA, "2.0.0");
    check_code(&bt.m[1], 550, NT_SMTP_STAGE_RCPT, "5.1.1");
    CHECK_STR(bt.m[1].text, "No such user");
    check_code(&bt.m[2], 451, NT_SMTP_STAGE_RCPT, "4.3.0");
    CHECK_STR(bt.m[2].text, "Try later");
    check_code(&bt.m[3], 250, NT_SMTP_STAGE_DATA, "2.0.0");
    check_code(&bt.m[4], 550, NT_SMTP_STAGE_RCPT, "5.1.1");
    check_code(&bt.m[5], 550, NT_SMTP_STAGE_RCPT, "");
    CHECK_STR(bt.m[5].text, "Just no");
    check_code(&bt.m[6], 250, NT_SMTP_STAGE_DATA, "2.0.0");
    /* all in one session, and the 4xx recipient was tried exactly once */
    CHECK_INT(count_log(&sv, "\"ev\": \"connect\"", NULL), 1);
    CHECK_INT(count_log(&sv, "\"ev\": \"rcpt\"", "slow1@rcpt.test"), 1);
    CHECK_INT(count_log(&sv, "\"ev\": \"rcpt\"", NULL), 7);
    CHECK_INT(count_log(&sv, "\"ev\": \"data\"", NULL), 3);
    snprintf(path, sizeof(path), "%s/ok3@rcpt.test.1.eml", sv.dir);
    CHECK(access(path, F_OK) == 0);
    snprintf(path, sizeof(path), "%s/slow1@rcpt.test.1.eml", sv.dir);
    CHECK(access(path, F_OK) != 0);
    release(&bt);
    nt_smtp_free(s);
    stop(&sv);
}

static void
test_per_recipient(void)
{
    per_recipient(1);
}

static void
test_per_recipient_no_enhanced(void)
{
    per_recipient(0);
}

static void
test_mail_and_data_refusals(void)
{
    server sv;
    nt_smtp_config c;
    nt_smtp *s;
    batch bt = {0};
    nt_diag d;

    REQUIRE(start(&sv, "--reject-mail", "blocked.*=553 5.7.1 Sender refused", "--reject-data",
                  "spam.*=554 5.7.1 Rejected as spam", (char *)NULL) == 0);
    c = config("127.0.0.1", sv.port, NT_TLS_OFF);
    REQUIRE((s = client(&c, NULL, NULL)) != NULL);
    add(&bt, FROM, "ok1@rcpt.test", 2000);
    add(&bt, "blocked@sender.test", "ok2@rcpt.test", 2000);
    add(&bt, FROM, "spam@rcpt.test", 2000);
    add(&bt, FROM, "ok3@rcpt.test", 2000);
    CHECK_ERR(nt_smtp_send(s, bt.m, bt.n, &d), NT_OK, d);
    check_code(&bt.m[0], 250, NT_SMTP_STAGE_DATA, "2.0.0");
    check_code(&bt.m[1], 553, NT_SMTP_STAGE_MAIL, "5.7.1");
    check_code(&bt.m[2], 554, NT_SMTP_STAGE_DATA, "5.7.1");
    CHECK_STR(bt.m[2].text, "Rejected as spam");
    check_code(&bt.m[3], 250, NT_SMTP_STAGE_DATA, "2.0.0");
    release(&bt);
    nt_smtp_free(s);
    stop(&sv);
}

static void
test_local_refusals(void)
{
    server sv;
    nt_smtp_config c;
    nt_smtp *s;
    batch bt = {0};
    nt_diag d;

    REQUIRE(start(&sv, (char *)NULL) == 0);
    c = config("127.0.0.1", sv.port, NT_TLS_OFF);
    REQUIRE((s = client(&c, NULL, NULL)) != NULL);
    add(&bt, FROM, "ok1@rcpt.test", 1000);
    add(&bt, FROM, "two words@rcpt.test", 1000);
    add(&bt, FROM, "evil@rcpt.test>\r\nRCPT TO:<x@y", 1000);
    add(&bt, FROM, "", 1000);
    add(&bt, FROM, "ok2@rcpt.test", 1000);
    CHECK_ERR(nt_smtp_send(s, bt.m, bt.n, &d), NT_OK, d);
    check_code(&bt.m[0], 250, NT_SMTP_STAGE_DATA, "2.0.0");
    check_code(&bt.m[1], 553, NT_SMTP_STAGE_LOCAL, "5.1.3");
    check_code(&bt.m[2], 553, NT_SMTP_STAGE_LOCAL, "5.1.3");
    check_code(&bt.m[3], 553, NT_SMTP_STAGE_LOCAL, "5.1.3");
    check_code(&bt.m[4], 250, NT_SMTP_STAGE_DATA, "2.0.0");
    CHECK_INT(count_log(&sv, "\"ev\": \"rcpt\"", NULL), 2);
    /* every message refused locally: no connection at all */
    CHECK_ERR(nt_smtp_send(s, &bt.m[1], 3, &d), NT_OK, d);
    CHECK_INT(count_log(&sv, "\"ev\": \"connect\"", NULL), 1);
    /* a bad envelope sender is the caller's bug: nothing is sent */
    bt.m[0].envelope_from = "a b@sender.test";
    CHECK_ERR(nt_smtp_send(s, bt.m, 1, &d), NT_EINVAL, d);
    CHECK_CONTAINS(d.msg, "envelope sender");
    CHECK_INT(bt.m[0].code, 0);
    CHECK_INT(count_log(&sv, "\"ev\": \"connect\"", NULL), 1);
    release(&bt);
    nt_smtp_free(s);
    stop(&sv);
}

static void
test_drop_in_data(void)
{
    server sv;
    nt_smtp_config c;
    nt_smtp *s;
    batch bt = {0};
    nt_diag d;
    char path[600];

    REQUIRE(start(&sv, "--drop-in-data", "drop.*", (char *)NULL) == 0);
    c = config("127.0.0.1", sv.port, NT_TLS_OFF);
    REQUIRE((s = client(&c, NULL, NULL)) != NULL);
    add(&bt, FROM, "ok1@rcpt.test", 3000);
    add(&bt, FROM, "ok2@rcpt.test", 3000);
    add(&bt, FROM, "drop@rcpt.test", 3000);
    add(&bt, FROM, "ok3@rcpt.test", 3000);
    memset(&d, 0, sizeof(d));
    CHECK_ERR(nt_smtp_send(s, bt.m, bt.n, &d), NT_OK, d);
    check_code(&bt.m[0], 250, NT_SMTP_STAGE_DATA, "2.0.0");
    check_code(&bt.m[1], 250, NT_SMTP_STAGE_DATA, "2.0.0");
    check_code(&bt.m[2], 0, NT_SMTP_STAGE_NONE, "");
    check_code(&bt.m[3], 0, NT_SMTP_STAGE_NONE, "");
    CHECK_INT(d.sev, NT_SEV_WARNING);
    CHECK_CONTAINS(d.msg, "2 of 4 messages have no answer");
    snprintf(path, sizeof(path), "%s/ok2@rcpt.test.1.eml", sv.dir);
    CHECK(access(path, F_OK) == 0);
    snprintf(path, sizeof(path), "%s/drop@rcpt.test.1.eml", sv.dir);
    CHECK(access(path, F_OK) != 0);
    CHECK_INT(count_log(&sv, "\"ev\": \"rcpt\"", "ok3@"), 0);
    release(&bt);
    nt_smtp_free(s);
    stop(&sv);
}

static void
test_server_down(void)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    nt_smtp_config c;
    nt_smtp *s;
    batch bt = {0};
    nt_diag d;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    /* a port that was free a moment ago and has no listener now */
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    REQUIRE(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
    port = ntohs(sa.sin_port);
    close(fd);
    c = config("127.0.0.1", port, NT_TLS_OPPORTUNISTIC);
    REQUIRE((s = client(&c, NULL, NULL)) != NULL);
    add(&bt, FROM, "ok1@rcpt.test", 1000);
    add(&bt, FROM, "ok2@rcpt.test", 1000);
    CHECK_ERR(nt_smtp_send(s, bt.m, bt.n, &d), NT_EIO, d);
    CHECK_CONTAINS(d.msg, "cannot connect");
    CHECK_CONTAINS(d.msg, "refused");
    CHECK_INT(bt.m[0].code, 0);
    CHECK_INT(bt.m[1].code, 0);
    release(&bt);
    nt_smtp_free(s);
}

static void
test_timeouts(void)
{
    server slow, slowdata;
    nt_smtp_config c;
    nt_smtp *s;
    batch bt = {0};
    nt_diag d;
    double t0, took;

    /* a server that answers nothing within the timeout */
    REQUIRE(start(&slow, "--delay", "4", (char *)NULL) == 0);
    c = config("127.0.0.1", slow.port, NT_TLS_OFF);
    c.timeout_sec = 1;
    REQUIRE((s = client(&c, NULL, NULL)) != NULL);
    add(&bt, FROM, "ok1@rcpt.test", 1000);
    t0 = now();
    CHECK_ERR(nt_smtp_send(s, bt.m, bt.n, &d), NT_EIO, d);
    took = now() - t0;
    CHECK(took >= 0.9 && took < 3.0);
    CHECK_CONTAINS(d.msg, "no reply within 1 s");
    CHECK_CONTAINS(d.msg, "greeting");
    CHECK_INT(bt.m[0].code, 0);
    nt_smtp_free(s);
    stop(&slow);

    /* a server that is slow only to confirm the message: the message has
     * no answer (it may have been accepted), the conversation did happen */
    REQUIRE(start(&slowdata, "--delay-data", "4", (char *)NULL) == 0);
    c = config("127.0.0.1", slowdata.port, NT_TLS_OFF);
    c.timeout_sec = 1;
    REQUIRE((s = client(&c, NULL, NULL)) != NULL);
    add(&bt, FROM, "ok2@rcpt.test", 1000);
    t0 = now();
    CHECK_ERR(nt_smtp_send(s, bt.m, bt.n, &d), NT_OK, d);
    took = now() - t0;
    CHECK(took >= 0.9 && took < 3.0);
    CHECK_INT(bt.m[0].code, 0);
    CHECK_INT(bt.m[1].code, 0);
    CHECK_INT(d.sev, NT_SEV_WARNING);
    release(&bt);
    nt_smtp_free(s);
    stop(&slowdata);
}

/* ---- TLS ---- */

static char cert_ok[400], key_ok[400], cert_other[400], key_other[400];

static int
make_cert(const char *cert, const char *key, const char *san)
{
    char cmd[2048];

    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout %s -out %s -days 2 -subj /CN=nurture-test -addext "
             "'subjectAltName=%s' >/dev/null 2>&1",
             key, cert, san);
    return system(cmd);
}

static int
certs(void)
{
    static int made = -1;

    if (made < 0) {
        snprintf(cert_ok, sizeof(cert_ok), "%s/cert.pem", tmpdir);
        snprintf(key_ok, sizeof(key_ok), "%s/key.pem", tmpdir);
        snprintf(cert_other, sizeof(cert_other), "%s/other-cert.pem", tmpdir);
        snprintf(key_other, sizeof(key_other), "%s/other-key.pem", tmpdir);
        made = make_cert(cert_ok, key_ok, "DNS:localhost,IP:127.0.0.1") == 0 &&
               make_cert(cert_other, key_other, "DNS:mail.other.test") == 0;
    }
    return made;
}

static nt_err
send_one(nt_smtp *s, const char *rcpt, nt_outmsg *out, nt_diag *d)
{
    batch bt = {0};
    nt_err err;

    add(&bt, FROM, rcpt, 2500);
    err = nt_smtp_send(s, bt.m, 1, d);
    *out = bt.m[0];
    out->data = NULL;
    release(&bt);
    return err;
}

static void
test_starttls(void)
{
    server tls, tlsreq, plain, other;
    nt_smtp_config c;
    nt_smtp *s;
    nt_outmsg m;
    nt_diag d;

    REQUIRE(certs());
    REQUIRE(start(&tls, "--starttls", cert_ok, key_ok, (char *)NULL) == 0);
    REQUIRE(start(&tlsreq, "--starttls", cert_ok, key_ok, "--require-starttls", (char *)NULL) == 0);
    REQUIRE(start(&plain, (char *)NULL) == 0);
    REQUIRE(start(&other, "--starttls", cert_other, key_other, (char *)NULL) == 0);

    /* required, trusted CA, by name */
    c = config("localhost", tlsreq.port, NT_TLS_REQUIRED);
    REQUIRE((s = client(&c, NULL, cert_ok)) != NULL);
    CHECK_ERR(send_one(s, "a@rcpt.test", &m, &d), NT_OK, d);
    check_code(&m, 250, NT_SMTP_STAGE_DATA, "2.0.0");
    CHECK_INT(count_log(&tlsreq, "\"ev\": \"starttls\"", NULL), 1);
    nt_smtp_free(s);

    /* required, by IP address (the certificate names 127.0.0.1) */
    c = config("127.0.0.1", tls.port, NT_TLS_REQUIRED);
    REQUIRE((s = client(&c, NULL, cert_ok)) != NULL);
    CHECK_ERR(send_one(s, "b@rcpt.test", &m, &d), NT_OK, d);
    check_code(&m, 250, NT_SMTP_STAGE_DATA, "2.0.0");
    nt_smtp_free(s);

    /* opportunistic uses TLS when offered, and verifies it */
    c = config("localhost", tls.port, NT_TLS_OPPORTUNISTIC);
    REQUIRE((s = client(&c, NULL, cert_ok)) != NULL);
    CHECK_ERR(send_one(s, "c@rcpt.test", &m, &d), NT_OK, d);
    check_code(&m, 250, NT_SMTP_STAGE_DATA, "2.0.0");
    CHECK_INT(count_log(&tls, "\"ev\": \"starttls\"", NULL), 2);
    nt_smtp_free(s);

    /* opportunistic against a server without STARTTLS: plain text */
    c = config("localhost", plain.port, NT_TLS_OPPORTUNISTIC);
    REQUIRE((s = client(&c, NULL, cert_ok)) != NULL);
    CHECK_ERR(send_one(s, "d@rcpt.test", &m, &d), NT_OK, d);
    check_code(&m, 250, NT_SMTP_STAGE_DATA, "2.0.0");
    nt_smtp_free(s);

    /* required against a server without STARTTLS: nothing sent */
    c = config("localhost", plain.port, NT_TLS_REQUIRED);
    REQUIRE((s = client(&c, NULL, cert_ok)) != NULL);
    CHECK_ERR(send_one(s, "e@rcpt.test", &m, &d), NT_ECONFIG, d);
    CHECK_CONTAINS(d.msg, "does not offer STARTTLS");
    CHECK_INT(m.code, 0);
    CHECK_INT(count_log(&plain, "\"ev\": \"mail\"", "e@rcpt.test"), 0);
    CHECK_INT(count_log(&plain, "\"ev\": \"rcpt\"", "e@rcpt.test"), 0);
    nt_smtp_free(s);

    /* the self-signed certificate without its CA: refused in both modes */
    c = config("localhost", tls.port, NT_TLS_REQUIRED);
    REQUIRE((s = client(&c, NULL, NULL)) != NULL);
    CHECK_ERR(send_one(s, "f@rcpt.test", &m, &d), NT_ECONFIG, d);
    CHECK_CONTAINS(d.msg, "certificate was rejected");
    CHECK_CONTAINS(d.msg, "self-signed");
    CHECK_INT(m.code, 0);
    nt_smtp_free(s);
    c = config("localhost", tls.port, NT_TLS_OPPORTUNISTIC);
    REQUIRE((s = client(&c, NULL, NULL)) != NULL);
    CHECK_ERR(send_one(s, "g@rcpt.test", &m, &d), NT_ECONFIG, d);
    CHECK_CONTAINS(d.msg, "certificate was rejected");
    nt_smtp_free(s);
    CHECK_INT(count_log(&tls, "\"ev\": \"rcpt\"", "f@rcpt.test"), 0);
    CHECK_INT(count_log(&tls, "\"ev\": \"rcpt\"", "g@rcpt.test"), 0);

    /* a trusted certificate for another name */
    c = config("localhost", other.port, NT_TLS_REQUIRED);
    REQUIRE((s = client(&c, NULL, cert_other)) != NULL);
    CHECK_ERR(send_one(s, "h@rcpt.test", &m, &d), NT_ECONFIG, d);
    CHECK_CONTAINS(d.msg, "hostname mismatch");
    CHECK_INT(count_log(&other, "\"ev\": \"rcpt\"", NULL), 0);
    nt_smtp_free(s);

    /* a CA file that cannot be read */
    c = config("localhost", tls.port, NT_TLS_REQUIRED);
    REQUIRE((s = client(&c, NULL, NULL)) != NULL);
    CHECK_INT(nt_smtp_set_ca_file(s, "/nonexistent/ca.pem", &d), NT_EINVAL);
    CHECK_CONTAINS(d.msg, "/nonexistent/ca.pem");
    nt_smtp_free(s);

    stop(&tls);
    stop(&tlsreq);
    stop(&plain);
    stop(&other);
}

/* ---- AUTH ---- */

static void
test_auth(void)
{
    server both, plainonly, loginonly, noauth, tlsauth;
    nt_smtp_config c;
    nt_smtp *s;
    nt_outmsg m;
    nt_diag d;

    REQUIRE(certs());
    REQUIRE(start(&both, "--auth", "ana:s3cret pass", (char *)NULL) == 0);
    REQUIRE(start(&plainonly, "--auth", "ana:s3cret pass", "--auth-mech", "PLAIN", (char *)NULL) ==
            0);
    REQUIRE(start(&loginonly, "--auth", "ana:s3cret pass", "--auth-mech", "LOGIN", (char *)NULL) ==
            0);
    REQUIRE(start(&noauth, (char *)NULL) == 0);
    REQUIRE(start(&tlsauth, "--auth", "ana:s3cret pass", "--auth-require-tls", "--starttls",
                  cert_ok, key_ok, (char *)NULL) == 0);

    c = config("127.0.0.1", plainonly.port, NT_TLS_OFF);
    c.username = (char *)"ana";
    REQUIRE((s = client(&c, "s3cret pass", NULL)) != NULL);
    CHECK_ERR(send_one(s, "a@rcpt.test", &m, &d), NT_OK, d);
    check_code(&m, 250, NT_SMTP_STAGE_DATA, "2.0.0");
    CHECK_INT(count_log(&plainonly, "\"mech\": \"PLAIN\"", "\"ok\": true"), 1);
    nt_smtp_free(s);

    c.port = loginonly.port;
    REQUIRE((s = client(&c, "s3cret pass", NULL)) != NULL);
    CHECK_ERR(send_one(s, "b@rcpt.test", &m, &d), NT_OK, d);
    check_code(&m, 250, NT_SMTP_STAGE_DATA, "2.0.0");
    CHECK_INT(count_log(&loginonly, "\"mech\": \"LOGIN\"", "\"ok\": true"), 1);
    nt_smtp_free(s);

    /* wrong password: an error, and the server never sees MAIL FROM (else
     * a relay would refuse every recipient and it would look like bounces) */
    c.port = both.port;
    REQUIRE((s = client(&c, "wrong", NULL)) != NULL);
    CHECK_ERR(send_one(s, "c@rcpt.test", &m, &d), NT_ECONFIG, d);
    CHECK_CONTAINS(d.msg, "AUTH");
    CHECK_CONTAINS(d.msg, "'ana' failed: 535");
    CHECK(strstr(d.msg, "wrong") == NULL);
    CHECK_INT(m.code, 0);
    /* libesmtp tries each mechanism the server offers (LOGIN, then PLAIN) */
    CHECK_INT(count_log(&both, "\"ev\": \"auth\"", "\"ok\": false"), 2);
    CHECK_INT(count_log(&both, "\"ev\": \"mail\"", NULL), 0);
    nt_smtp_free(s);

    /* a username but a server without AUTH */
    c.port = noauth.port;
    REQUIRE((s = client(&c, "s3cret pass", NULL)) != NULL);
    CHECK_ERR(send_one(s, "d@rcpt.test", &m, &d), NT_ECONFIG, d);
    CHECK_CONTAINS(d.msg, "offers no AUTH");
    CHECK_INT(count_log(&noauth, "\"ev\": \"mail\"", NULL), 0);
    nt_smtp_free(s);

    /* AUTH offered only after STARTTLS */
    c = config("localhost", tlsauth.port, NT_TLS_REQUIRED);
    c.username = (char *)"ana";
    REQUIRE((s = client(&c, "s3cret pass", cert_ok)) != NULL);
    CHECK_ERR(send_one(s, "e@rcpt.test", &m, &d), NT_OK, d);
    check_code(&m, 250, NT_SMTP_STAGE_DATA, "2.0.0");
    nt_smtp_free(s);
    c.tls = NT_TLS_OFF;
    REQUIRE((s = client(&c, "s3cret pass", NULL)) != NULL);
    CHECK_ERR(send_one(s, "f@rcpt.test", &m, &d), NT_ECONFIG, d);
    CHECK_CONTAINS(d.msg, "only after STARTTLS");
    nt_smtp_free(s);
    CHECK_INT(count_log(&tlsauth, "\"ev\": \"mail\"", NULL), 1);

    stop(&both);
    stop(&plainonly);
    stop(&loginonly);
    stop(&noauth);
    stop(&tlsauth);
}

/* ---- doctor ---- */

static void
test_check(void)
{
    server sv, plain;
    nt_smtp_config c;
    nt_smtp *s;
    nt_buf r;
    nt_diag d;
    const char *txt;

    REQUIRE(certs());
    REQUIRE(start(&sv, "--auth", "ana:pw", "--starttls", cert_ok, key_ok, "--auth-require-tls",
                  (char *)NULL) == 0);
    REQUIRE(start(&plain, (char *)NULL) == 0);

    c = config("localhost", sv.port, NT_TLS_REQUIRED);
    c.username = (char *)"ana";
    REQUIRE((s = client(&c, "pw", cert_ok)) != NULL);
    nt_buf_init(&r, 0);
    CHECK_ERR(nt_smtp_check(s, &r, &d), NT_OK, d);
    txt = nt_buf_cstr(&r);
    CHECK_CONTAINS(txt, "connect: ok, TCP_NODELAY on");
    CHECK_CONTAINS(txt, "greeting: 220 smtpd.test");
    CHECK_CONTAINS(txt, "ehlo (as client.test): ");
    CHECK_CONTAINS(txt, "STARTTLS");
    CHECK_CONTAINS(txt, "starttls: ok, TLSv1.2");
    CHECK_CONTAINS(txt, "ehlo after starttls: ");
    CHECK_CONTAINS(txt, "AUTH LOGIN PLAIN");
    CHECK_CONTAINS(txt, "auth: ok as 'ana'");
    CHECK_CONTAINS(txt, "result: ok");
    CHECK(strstr(txt, "pw\n") == NULL);
    nt_buf_release(&r);
    nt_smtp_free(s);

    /* wrong password: reported, still nothing sent */
    REQUIRE((s = client(&c, "bad", cert_ok)) != NULL);
    nt_buf_init(&r, 0);
    CHECK_ERR(nt_smtp_check(s, &r, &d), NT_ECONFIG, d);
    CHECK_CONTAINS(nt_buf_cstr(&r), "auth: FAILED: AUTH");
    CHECK_CONTAINS(nt_buf_cstr(&r), "result: FAILED");
    nt_buf_release(&r);
    nt_smtp_free(s);
    CHECK_INT(count_log(&sv, "\"ev\": \"mail\"", NULL), 0);
    CHECK_INT(count_log(&sv, "\"ev\": \"auth\"", "\"ok\": true"), 1);

    /* plain server, no TLS: ok, and says so */
    c = config("localhost", plain.port, NT_TLS_OPPORTUNISTIC);
    REQUIRE((s = client(&c, NULL, NULL)) != NULL);
    nt_buf_init(&r, 0);
    CHECK_ERR(nt_smtp_check(s, &r, &d), NT_OK, d);
    CHECK_CONTAINS(nt_buf_cstr(&r), "starttls: not offered");
    CHECK_CONTAINS(nt_buf_cstr(&r), "auth: not configured");
    nt_buf_release(&r);
    nt_smtp_free(s);
    CHECK_INT(count_log(&plain, "\"ev\": \"mail\"", NULL), 0);
    CHECK_INT(count_log(&plain, "\"ev\": \"connect\"", NULL), 1);

    stop(&sv);
    stop(&plain);
}

/* ---- TCP_NODELAY, read back from libesmtp's live socket ---- */

typedef struct sender_arg {
    nt_smtp *s;
    batch *bt;
    nt_err err;
} sender_arg;

static void *
sender_thread(void *p)
{
    sender_arg *a = p;
    nt_diag d;

    a->err = nt_smtp_send(a->s, a->bt->m, a->bt->n, &d);
    return NULL;
}

/* 1 or 0: TCP_NODELAY of this process's socket connected to 127.0.0.1:port,
 * -1 when there is none (yet). */
static int
nodelay_of_socket_to(int port)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;
    int found = -1;

    if (!dir)
        return -1;
    while ((e = readdir(dir)) != NULL && found < 0) {
        int fd = atoi(e->d_name), type = 0, on = 0;
        socklen_t tl = sizeof(type), ol = sizeof(on), sl;
        struct sockaddr_in sa;

        if (e->d_name[0] == '.')
            continue;
        sl = sizeof(sa);
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM)
            continue;
        if (getpeername(fd, (struct sockaddr *)&sa, &sl) != 0 || sa.sin_family != AF_INET ||
            ntohs(sa.sin_port) != port)
            continue;
        if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &ol) == 0)
            found = on != 0;
    }
    closedir(dir);
    return found;
}

static void
test_nodelay(void)
{
    server sv;
    nt_smtp_config c;
    pthread_t th;
    sender_arg a;
    batch bt = {0};
    unsigned long before = nt_netio_nodelay_count();
    int seen = -1;
    double deadline;

    /* the server stalls each reply, so the connection stays open a while */
    REQUIRE(start(&sv, "--delay", "0.5", (char *)NULL) == 0);
    c = config("127.0.0.1", sv.port, NT_TLS_OFF);
    REQUIRE((a.s = client(&c, NULL, NULL)) != NULL);
    add(&bt, FROM, "a@rcpt.test", 4000);
    a.bt = &bt;
    REQUIRE(pthread_create(&th, NULL, sender_thread, &a) == 0);
    deadline = now() + 5;
    while (seen < 0 && now() < deadline) {
        seen = nodelay_of_socket_to(sv.port);
        usleep(10000);
    }
    pthread_join(th, NULL);
    CHECK_INT(seen, 1);
    CHECK_INT(a.err, NT_OK);
    check_code(&bt.m[0], 250, NT_SMTP_STAGE_DATA, "2.0.0");
    CHECK(nt_netio_nodelay_count() > before);
    /* outside a sending scope, connect() is the system's */
    {
        int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;
        socklen_t ol = sizeof(on);
        struct sockaddr_in sa;

        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons((unsigned short)sv.port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        CHECK(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &ol) == 0 && on == 0);
        close(fd);
    }
    release(&bt);
    nt_smtp_free(a.s);
    stop(&sv);
}

/* ---- several senders at once ---- */

static void
test_threads(void)
{
    enum { T = 4, N = 40 };
    server sv;
    nt_smtp_config c;
    pthread_t th[T];
    sender_arg a[T];
    batch *bt = calloc(T, sizeof(batch));
    char(*rcpt)[64] = calloc(T * N, 64);
    int t, i, ok = 0;

    REQUIRE(bt && rcpt);
    REQUIRE(start(&sv, (char *)NULL) == 0);
    c = config("127.0.0.1", sv.port, NT_TLS_OFF);
    for (t = 0; t < T; t++) {
        REQUIRE((a[t].s = client(&c, NULL, NULL)) != NULL);
        for (i = 0; i < N; i++) {
            snprintf(rcpt[t * N + i], 64, "t%d-%d@rcpt.test", t, i);
            add(&bt[t], FROM, rcpt[t * N + i], 2500);
        }
        a[t].bt = &bt[t];
    }
    for (t = 0; t < T; t++)
        REQUIRE(pthread_create(&th[t], NULL, sender_thread, &a[t]) == 0);
    for (t = 0; t < T; t++)
        pthread_join(th[t], NULL);
    for (t = 0; t < T; t++) {
        CHECK_INT(a[t].err, NT_OK);
        for (i = 0; i < N; i++)
            ok += bt[t].m[i].code == 250;
        release(&bt[t]);
        nt_smtp_free(a[t].s);
    }
    CHECK_INT(ok, T * N);
    CHECK_INT(count_log(&sv, "\"ev\": \"data\"", "\"code\": 250"), T * N);
    CHECK_INT(count_log(&sv, "\"ev\": \"connect\"", NULL), T);
    free(bt);
    free(rcpt);
    stop(&sv);
}

static void
test_bad_config(void)
{
    nt_smtp_config c = config("::1", 25, NT_TLS_OFF);
    nt_smtp *s = NULL;
    nt_diag d;

    CHECK_INT(nt_smtp_new(&c, NULL, &s, &d), NT_ECONFIG);
    CHECK_CONTAINS(d.msg, "IPv6");
    c = config("mail.example.com\r\nMAIL FROM", 25, NT_TLS_OFF);
    CHECK_INT(nt_smtp_new(&c, NULL, &s, &d), NT_ECONFIG);
    c = config("mail.example.com", 25, NT_TLS_OFF);
    c.helo = (char *)"bad helo";
    CHECK_INT(nt_smtp_new(&c, NULL, &s, &d), NT_ECONFIG);
    CHECK(s == NULL);
    nt_smtp_free(NULL);
}

int
main(void)
{
    const char *src = getenv("NT_SOURCE_DIR");
    char cmd[600];

    if (src)
        snprintf(script, sizeof(script), "%s/tests/e2e/smtpd.py", src);
    else
        snprintf(script, sizeof(script), "%.*s/../e2e/smtpd.py",
                 (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/nt-test-smtp-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    atexit(kill_servers);

    RUN(test_interposed);
    RUN(test_bad_config);
    RUN(test_content);
    RUN(test_per_recipient);
    RUN(test_per_recipient_no_enhanced);
    RUN(test_mail_and_data_refusals);
    RUN(test_local_refusals);
    RUN(test_drop_in_data);
    RUN(test_server_down);
    RUN(test_timeouts);
    RUN(test_starttls);
    RUN(test_auth);
    RUN(test_check);
    RUN(test_nodelay);
    RUN(test_threads);

    kill_servers();
    if (!t_failures) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    } else {
        fprintf(stderr, "kept %s for inspection\n", tmpdir);
    }
    return t_done();
}
