/*
 * Benchmark: sending over SMTP with nt_smtp (libesmtp) against Postfix's
 * smtp-sink on loopback, next to Postfix's own smtp-source measured in the
 * same run against the same sink.
 *
 * 20,000 messages of about 4 KB with 1, 2 and 4 parallel sessions (one
 * thread and one nt_smtp each, batches of a few hundred messages per
 * connection), and `smtp-source -d -s N -m 20000 -l 4096` for the same N.
 * Target: at least 0.7 of smtp-source's rate at every session count.  The
 * messages are above libesmtp's 2 KB write buffer on purpose: without
 * TCP_NODELAY (src/netio.c) each one would wait for a delayed ACK and the
 * rate would fall to about 23 messages/s per session.  Peak RSS is printed
 * after 5,000 and after 20,000 messages: it must stay flat, as only one
 * batch per session is in memory at a time.
 *
 * Usage: bench_send [--smoke] [--count N] [--batch N] [--size BYTES]
 *   --smoke  200 messages, 1 session; exit 0 if all got 250 (and faster
 *            than Nagle would allow)
 *
 * Needs /usr/sbin/smtp-sink and /usr/sbin/smtp-source (Debian's postfix,
 * see contrib/install-deps.sh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nurture/smtp.h"

#define SINK "/usr/sbin/smtp-sink"
#define SOURCE "/usr/sbin/smtp-source"

static int sink_port;
static pid_t sink_pid;

static double
seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
peak_rss_mb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static pid_t
spawn(char *const argv[])
{
    pid_t pid = fork();

    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void
stop_sink(void)
{
    if (sink_pid > 0) {
        kill(sink_pid, SIGTERM);
        waitpid(sink_pid, NULL, 0);
        sink_pid = 0;
    }
}

static int
free_port(void)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int
can_connect(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static int
start_sink(void)
{
    char addr[64];
    char *argv[8];
    int argc = 0, tries;
    double deadline;

    if (access(SINK, X_OK) != 0 || access(SOURCE, X_OK) != 0) {
        fprintf(stderr,
                "bench_send: %s or %s is missing: install postfix "
                "(contrib/install-deps.sh)\n",
                SINK, SOURCE);
        return -1;
    }
    for (tries = 0; tries < 5; tries++) {
        if ((sink_port = free_port()) < 0)
            return -1;
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", sink_port);
        argc = 0;
        argv[argc++] = (char *)SINK;
        if (geteuid() == 0) { /* smtp-sink refuses to run as root */
            argv[argc++] = (char *)"-u";
            argv[argc++] = (char *)"nobody";
        }
        argv[argc++] = addr;
        argv[argc++] = (char *)"1024";
        argv[argc] = NULL;
        if ((sink_pid = spawn(argv)) < 0)
            return -1;
        deadline = seconds() + 5;
        while (seconds() < deadline) {
            if (can_connect(sink_port))
                return 0;
            if (waitpid(sink_pid, NULL, WNOHANG) == sink_pid) {
                sink_pid = 0;
                break; /* the port was taken meanwhile: try another */
            }
            usleep(10000);
        }
        stop_sink();
    }
    fprintf(stderr, "bench_send: smtp-sink did not start\n");
    return -1;
}

/* Messages/s of smtp-source with `sessions` connections, or -1. */
static double
run_smtp_source(int sessions, long count, int size)
{
    char s[16], m[32], l[16], addr[64];
    char *argv[] = {(char *)SOURCE, (char *)"-d", (char *)"-s", s, (char *)"-m", m, (char *)"-l", l,
                    addr,           NULL};
    double t0, t;
    int status;
    pid_t pid;

    snprintf(s, sizeof(s), "%d", sessions);
    snprintf(m, sizeof(m), "%ld", count);
    snprintf(l, sizeof(l), "%d", size);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", sink_port);
    t0 = seconds();
    if ((pid = spawn(argv)) < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return -1;
    t = seconds() - t0;
    return (double)count / t;
}

typedef struct worker {
    int id;
    long count; /* messages for this worker */
    int batch;
    int size;
    nt_smtp *smtp;
    long ok;    /* got 250 */
    long other; /* anything else */
    char err[600];
} worker;

/* The body every message shares: lines of 76 characters up to `size`
 * bytes.  Composing is not what this measures, so only the headers change
 * from one message to the next. */
static char *
make_body(int size, size_t *len)
{
    char *b = malloc((size_t)size + 128);
    size_t n = 0;
    int i = 0;

    if (!b)
        return NULL;
    while (n + 78 <= (size_t)size)
        n += (size_t)snprintf(b + n, (size_t)size + 128 - n,
                              "%04d Lorem ipsum dolor sit amet, consectetur adipiscing elit, "
                              "sed do eiusmo\r\n",
                              i++);
    *len = n;
    return b;
}

/* A message: its own headers, then the shared body. */
static size_t
fill_message(char *buf, size_t cap, int worker_id, long n, const char *body, size_t body_len)
{
    size_t len = (size_t)snprintf(buf, cap,
                                  "From: Ana <ana@sender.test>\r\n"
                                  "To: <lead%d-%ld@rcpt.test>\r\n"
                                  "Subject: Benchmark message %ld\r\n"
                                  "Date: Tue, 04 Mar 2025 10:00:00 +0000\r\n"
                                  "Message-ID: <bench.%d.%ld@sender.test>\r\n"
                                  "MIME-Version: 1.0\r\n"
                                  "Content-Type: text/plain; charset=utf-8\r\n"
                                  "\r\n",
                                  worker_id, n, n, worker_id, n);

    if (len + body_len > cap)
        body_len = cap - len;
    memcpy(buf + len, body, body_len);
    return len + body_len;
}

static void *
work(void *p)
{
    worker *w = p;
    nt_outmsg *msgs = calloc((size_t)w->batch, sizeof(*msgs));
    char *bufs = malloc((size_t)w->batch * (size_t)(w->size + 1024));
    char(*rcpts)[64] = calloc((size_t)w->batch, 64);
    size_t body_len = 0;
    char *body = make_body(w->size, &body_len);
    long done = 0;
    nt_diag d;
    int i;

    if (!msgs || !bufs || !rcpts || !body) {
        snprintf(w->err, sizeof(w->err), "out of memory");
        goto out;
    }
    while (done < w->count) {
        int n = (int)(w->count - done < w->batch ? w->count - done : w->batch);

        for (i = 0; i < n; i++) {
            char *b = bufs + (size_t)i * (size_t)(w->size + 1024);

            snprintf(rcpts[i], 64, "lead%d-%ld@rcpt.test", w->id, done + i);
            msgs[i].envelope_from = "bounces+bench@sender.test";
            msgs[i].rcpt = rcpts[i];
            msgs[i].data = b;
            msgs[i].len =
                fill_message(b, (size_t)(w->size + 1024), w->id, done + i, body, body_len);
        }
        if (nt_smtp_send(w->smtp, msgs, (size_t)n, &d) != NT_OK) {
            snprintf(w->err, sizeof(w->err), "%s", d.msg);
            goto out;
        }
        for (i = 0; i < n; i++) {
            if (msgs[i].code == 250)
                w->ok++;
            else
                w->other++;
        }
        done += n;
    }
out:
    free(msgs);
    free(bufs);
    free(rcpts);
    free(body);
    return NULL;
}

/* Send `count` messages over `sessions` threads; returns messages/s, or -1
 * (with the reason on stderr) when any message did not get 250. */
static double
run_nurture(int sessions, long count, int batch, int size)
{
    worker *w = calloc((size_t)sessions, sizeof(*w));
    pthread_t *th = calloc((size_t)sessions, sizeof(*th));
    nt_smtp_config cfg;
    double t0, t, rate = -1;
    long ok = 0;
    nt_diag d;
    int i;

    if (!w || !th)
        goto out;
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = (char *)"127.0.0.1";
    cfg.port = sink_port;
    cfg.tls = NT_TLS_OFF;
    cfg.timeout_sec = 30;
    for (i = 0; i < sessions; i++) {
        w[i].id = i;
        w[i].count = count / sessions + (i < count % sessions);
        w[i].batch = batch;
        w[i].size = size;
        if (nt_smtp_new(&cfg, NULL, &w[i].smtp, &d) != NT_OK) {
            fprintf(stderr, "bench_send: %s\n", d.msg);
            goto out;
        }
    }
    t0 = seconds();
    for (i = 0; i < sessions; i++)
        pthread_create(&th[i], NULL, work, &w[i]);
    for (i = 0; i < sessions; i++)
        pthread_join(th[i], NULL);
    t = seconds() - t0;
    for (i = 0; i < sessions; i++) {
        ok += w[i].ok;
        if (w[i].err[0])
            fprintf(stderr, "bench_send: session %d: %s\n", i, w[i].err);
    }
    if (ok == count)
        rate = (double)count / t;
    else
        fprintf(stderr, "bench_send: %ld of %ld messages got 250\n", ok, count);
out:
    if (w)
        for (i = 0; i < sessions; i++)
            nt_smtp_free(w[i].smtp);
    free(w);
    free(th);
    return rate;
}

int
main(int argc, char **argv)
{
    static const int session_counts[] = {1, 2, 4};
    long count = 20000;
    int batch = 200, size = 4096, smoke = 0, i, rc = 0;
    double rss5k;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke"))
            smoke = 1;
        else if (!strcmp(argv[i], "--count") && i + 1 < argc)
            count = atol(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            size = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_send [--smoke] [--count N] [--batch N] [--size B]\n");
            return 2;
        }
    }
    if (count < 1 || batch < 1 || size < 100 || size > 1 << 20) {
        fprintf(stderr, "bench_send: bad --count, --batch or --size\n");
        return 2;
    }
    if (start_sink() != 0)
        return 1;
    atexit(stop_sink);

    if (smoke) {
        double rate = run_nurture(1, 200, batch, size);

        printf("smoke: 200 messages of %d bytes, 1 session: %.0f msg/s\n", size, rate);
        /* With Nagle's algorithm in the way this would be about 23/s. */
        if (rate < 100) {
            fprintf(stderr, "bench_send: %s\n",
                    rate < 0 ? "not every message got 250"
                             : "far too slow: is TCP_NODELAY set (src/netio.c)?");
            rc = 1;
        }
        return rc;
    }

    printf("nurture sending (libesmtp) vs smtp-source, %ld messages of %d bytes, "
           "batches of %d, smtp-sink on 127.0.0.1\n\n",
           count, size, batch);
    if (run_nurture(1, count / 4, batch, size) < 0)
        return 1;
    rss5k = peak_rss_mb();
    printf("peak RSS after %ld messages (1 session): %.1f MB\n\n", count / 4, rss5k);
    printf("%-9s %14s %18s %7s %14s\n", "sessions", "nurture msg/s", "smtp-source msg/s", "ratio",
           "peak RSS MB");
    for (i = 0; i < 3; i++) {
        int s = session_counts[i];
        double src = run_smtp_source(s, count, size);
        double ours = run_nurture(s, count, batch, size);

        if (src < 0 || ours < 0) {
            fprintf(stderr, "bench_send: a run failed (smtp-source %.0f, nurture %.0f)\n", src,
                    ours);
            return 1;
        }
        printf("%-9d %14.0f %18.0f %7.2f %14.1f%s\n", s, ours, src, ours / src, peak_rss_mb(),
               ours / src < 0.7 ? "  below target 0.7" : "");
        fflush(stdout);
        if (ours / src < 0.7)
            rc = 1;
    }
    printf("\npeak RSS: %.1f MB after %ld messages, %.1f MB after %ld x 3 runs (target: flat, "
           "< 100 MB)\n",
           rss5k, count / 4, peak_rss_mb(), count);
    if (peak_rss_mb() >= 100)
        rc = 1;
    return rc;
}
