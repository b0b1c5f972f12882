/*
 * Benchmark: inbound classification throughput on one core.
 *
 * Reads every message of the shared corpus into memory (the flufl.bounce
 * messages as they are; the reply fixtures of email_reply_parser and talon
 * wrapped as the reply a lead would send when they are bodies only), then
 * parses (mime.c) and classifies (classify.c) them all, pass after pass,
 * until at least 2 s have gone by, and prints messages per second.  When
 * Sisimai (Debian's libsisimai-perl) is installed, the same messages are
 * written to a temporary folder and Sisimai->make reads them, pass after
 * pass for as long, in the same run; its messages per second and the ratio
 * are printed too (Perl's start-up and module loading are not counted).
 * Both are timed in CPU seconds of their own process, so that other work
 * on the machine does not skew the figures or the ratio.
 * Target: at least 20,000 messages/s and 10 times Sisimai.
 *
 * Usage: bench_classify [--smoke]   (one pass, no Sisimai)
 * NT_SOURCE_DIR and NT_SHARED_DIR override where the rules and the corpus
 * are found (default: this file's source tree and ../shared beside it).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nurture/buf.h"
#include "nurture/classify.h"

#define MIN_SECONDS 2.0

struct msg {
    char *data;
    size_t len;
};

struct corpus {
    struct msg *v;
    size_t n, cap, bytes;
};

/* CPU time of this process: the figure is per core, and other work on the
 * machine does not count against it. */
static double
seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    nt_buf b;

    if (!f)
        return NULL;
    nt_buf_init(&b, 0);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        nt_buf_add(&b, chunk, n);
    fclose(f);
    return nt_buf_detach(&b, len);
}

/* The source tree: NT_SOURCE_DIR, or found from this file's path. */
static void
source_dir(char *out, size_t outsz)
{
    const char *env = getenv("NT_SOURCE_DIR");
    const char *suffix = "/tests/bench/bench_classify.c";
    size_t n = strlen(__FILE__);

    if (env && *env)
        snprintf(out, outsz, "%s", env);
    else if (n > strlen(suffix))
        snprintf(out, outsz, "%.*s", (int)(n - strlen(suffix)), __FILE__);
    else
        snprintf(out, outsz, ".");
}

static void
shared_dir(char *out, size_t outsz)
{
    const char *env = getenv("NT_SHARED_DIR");
    char src[1000];

    if (env && *env) {
        snprintf(out, outsz, "%s", env);
        return;
    }
    source_dir(src, sizeof(src));
    snprintf(out, outsz, "%s/../shared", src);
}

static nt_classifier *
load_classifier(void)
{
    static const char *const names[3] = {"bounce.rules", "reply.rules", "inbound.rules"};
    char src[2048], path[4096], *text[3] = {NULL, NULL, NULL};
    nt_rules_text t[3];
    nt_classifier *c = NULL;
    int i, ok = 1;

    source_dir(src, sizeof(src));
    for (i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/contrib/rules/%s", src, names[i]);
        if (!(text[i] = read_file(path, &t[i].len))) {
            fprintf(stderr, "bench_classify: cannot read %s\n", path);
            ok = 0;
        }
        t[i].name = names[i];
        t[i].text = text[i];
    }
    if (ok && nt_classifier_new(&t[0], &t[1], &t[2], &c, NULL) != NT_OK)
        fprintf(stderr, "bench_classify: the rules in %s/contrib/rules do not load\n", src);
    for (i = 0; i < 3; i++)
        free(text[i]);
    return c;
}

static void
add(struct corpus *c, char *data, size_t len)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        if (!(c->v = realloc(c->v, c->cap * sizeof(*c->v)))) {
            fprintf(stderr, "bench_classify: out of memory\n");
            exit(1);
        }
    }
    c->v[c->n++] = (struct msg){data, len};
    c->bytes += len;
}

/* A reply body as the message a lead sends back. */
static void
add_wrapped(struct corpus *c, const char *body, size_t len, int html)
{
    nt_buf b;
    size_t n;
    char *p;

    nt_buf_init(&b, 0);
    nt_buf_addf(&b,
                "From: Lead <lead@customer.example>\r\nTo: Dana <dana@northwind.example>\r\n"
                "Date: Mon, 1 Mar 2027 08:00:00 +0000\r\nSubject: Re: Your trial\r\n"
                "In-Reply-To: <aaaabbbbccccddddeeee@northwind.example>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/%s; charset=utf-8\r\n\r\n",
                html ? "html" : "plain");
    nt_buf_add(&b, body, len);
    if ((p = nt_buf_detach(&b, &n)) != NULL)
        add(c, p, n);
    nt_buf_release(&b);
}

/* Files of dir (ending in suffix when given), as messages or wrapped. */
static void
add_dir(struct corpus *c, const char *dir, const char *suffix, int wrap)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char path[4096];

    if (!dp) {
        fprintf(stderr, "bench_classify: cannot open %s\n", dir);
        return;
    }
    while ((e = readdir(dp)) != NULL) {
        size_t nl = strlen(e->d_name), sl = suffix ? strlen(suffix) : 0, len;
        char *raw;

        if (e->d_name[0] == '.' || (suffix && (nl < sl || strcmp(e->d_name + nl - sl, suffix))))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (!(raw = read_file(path, &len)))
            continue;
        if (wrap) {
            add_wrapped(c, raw, len, 0);
            free(raw);
        } else {
            add(c, raw, len);
        }
    }
    closedir(dp);
}

/* talon's cases: each folder's input.txt or input.html, wrapped. */
static void
add_talon_cases(struct corpus *c, const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char path[4096];

    if (!dp) {
        fprintf(stderr, "bench_classify: cannot open %s\n", dir);
        return;
    }
    while ((e = readdir(dp)) != NULL) {
        size_t len;
        char *raw;
        int html = 0;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s/input.txt", dir, e->d_name);
        if (!(raw = read_file(path, &len))) {
            snprintf(path, sizeof(path), "%s/%s/input.html", dir, e->d_name);
            html = 1;
            if (!(raw = read_file(path, &len)))
                continue;
        }
        add_wrapped(c, raw, len, html);
        free(raw);
    }
    closedir(dp);
}

static void
load_corpus(struct corpus *c)
{
    char shared[1024], dir[2048];

    shared_dir(shared, sizeof(shared));
    snprintf(dir, sizeof(dir), "%s/corpus/bounces-flufl/data", shared);
    add_dir(c, dir, NULL, 0);
    snprintf(dir, sizeof(dir), "%s/corpus/replies/email_reply_parser/emails", shared);
    add_dir(c, dir, ".txt", 1);
    snprintf(dir, sizeof(dir), "%s/corpus/replies/talon/cases", shared);
    add_talon_cases(c, dir);
    snprintf(dir, sizeof(dir), "%s/corpus/replies/talon/fixtures/standard_replies", shared);
    add_dir(c, dir, ".eml", 0);
}

/* One pass over every message; counts per kind into kinds. */
static int
one_pass(const nt_classifier *cls, const struct corpus *c, int kinds[NT_IN_REPLY + 1])
{
    for (size_t i = 0; i < c->n; i++) {
        nt_inmsg m;
        nt_classification cl;
        nt_diag d;

        if (nt_inmsg_parse(c->v[i].data, c->v[i].len, &m, &d) != NT_OK)
            continue;
        if (nt_classify(cls, &m, &cl, &d) != NT_OK) {
            fprintf(stderr, "bench_classify: %s\n", d.msg);
            nt_inmsg_release(&m);
            return -1;
        }
        kinds[cl.kind]++;
        nt_classification_release(&cl);
        nt_inmsg_release(&m);
    }
    return 0;
}

/* ---- Sisimai ---- */

/* Sisimai's CPU time (user + system), like ours. */
static const char sisimai_script[] =
    "use strict; use warnings; use Sisimai;\n"
    "sub cpu { my @t = times; return $t[0] + $t[1] }\n"
    "my ($dir, $min) = @ARGV; my ($passes, $found) = (0, 0); my $t0 = cpu();\n"
    "do { my $v = Sisimai->make($dir, 'delivered' => 1, 'vacation' => 1);\n"
    "     $found = $v ? scalar(@$v) : 0; $passes++ } while (cpu() - $t0 < $min);\n"
    "printf \"%d %.6f %d\\n\", $passes, cpu() - $t0, $found;\n";

static int
write_all(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (!f)
        return 0;
    ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* Messages per second of Sisimai over the same messages, or a negative
 * number when it is not installed or failed. */
static double
sisimai_rate(const struct corpus *c)
{
    char dir[] = "/tmp/nt-bench-sisimai-XXXXXX", path[4096], cmd[8192], line[256];
    int passes = 0, found = 0, ok = 1;
    double secs = 0;
    FILE *p;

    if (system("perl -MSisimai -e1 >/dev/null 2>&1") != 0)
        return -1;
    if (!mkdtemp(dir))
        return -2;
    for (size_t i = 0; i < c->n && ok; i++) {
        snprintf(path, sizeof(path), "%s/%05zu.eml", dir, i);
        ok = write_all(path, c->v[i].data, c->v[i].len);
    }
    snprintf(path, sizeof(path), "%s/bench.pl", dir);
    ok = ok && write_all(path, sisimai_script, sizeof(sisimai_script) - 1);
    /* The script beside the messages: Sisimai reads every file of the
     * folder, so the messages go one level down. */
    snprintf(cmd, sizeof(cmd), "mkdir %s/m && mv %s/*.eml %s/m/ && perl %s/bench.pl %s/m %.1f", dir,
             dir, dir, dir, dir, MIN_SECONDS);
    if (ok && (p = popen(cmd, "r")) != NULL) {
        if (!fgets(line, sizeof(line), p) || sscanf(line, "%d %lf %d", &passes, &secs, &found) != 3)
            ok = 0;
        if (pclose(p) != 0)
            ok = 0;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_classify: could not remove %s\n", dir);
    if (!ok || passes <= 0 || secs <= 0)
        return -2;
    printf("sisimai: %d passes in %.2f CPU s, %d bounces found per pass\n", passes, secs, found);
    return (double)c->n * passes / secs;
}

int
main(int argc, char **argv)
{
    int smoke = argc > 1 && strcmp(argv[1], "--smoke") == 0;
    int kinds[NT_IN_REPLY + 1] = {0}, passes = 0;
    struct corpus c = {NULL, 0, 0, 0};
    nt_classifier *cls = load_classifier();
    double t0, secs, ours, theirs;

    if (!cls)
        return 1;
    load_corpus(&c);
    if (c.n == 0) {
        fprintf(stderr, "bench_classify: no messages found (set NT_SHARED_DIR)\n");
        return 1;
    }
    t0 = seconds();
    do {
        if (one_pass(cls, &c, kinds) != 0)
            return 1;
        passes++;
    } while (!smoke && seconds() - t0 < MIN_SECONDS);
    secs = seconds() - t0;
    ours = (double)c.n * passes / secs;
    printf("classify: %zu messages (%.1f MB), %d passes in %.2f CPU s: %.0f messages/s on one "
           "core\n",
           c.n, (double)c.bytes / 1e6, passes, secs, ours);
    printf("per pass: bounce %d, auto-reply %d, reply %d, unsubscribe %d, complaint %d, "
           "unknown %d\n",
           kinds[NT_IN_BOUNCE] / passes, kinds[NT_IN_AUTOREPLY] / passes,
           kinds[NT_IN_REPLY] / passes, kinds[NT_IN_UNSUBSCRIBE] / passes,
           kinds[NT_IN_COMPLAINT] / passes, kinds[NT_IN_UNKNOWN] / passes);
    if (!smoke) {
        theirs = sisimai_rate(&c);
        if (theirs == -1)
            printf("sisimai: not installed (apt-get install libsisimai-perl)\n");
        else if (theirs < 0)
            printf("sisimai: failed to run\n");
        else
            printf("sisimai: %.0f messages/s; nurture is %.1f times faster\n", theirs,
                   ours / theirs);
        printf("target: >= 20000 messages/s and >= 10 times Sisimai\n");
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.v[i].data);
    free(c.v);
    nt_classifier_free(cls);
    return 0;
}
