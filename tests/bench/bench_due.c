/*
 * Benchmark: the time to compute the due set of one run.
 *
 * Builds a SQLite database of N leads (default 1,000,000) spread over three
 * campaigns of five steps, enrolled in batches of 1,000 one minute apart, so
 * that the number of due sends at a given time is known.  Then it times
 * what a run does before sending (enroll what changed, then walk the due
 * set with every check: lead, campaign version, exit rules, suppression,
 * send window) for due sets of 1,000 to 100,000, and again for a fixed due
 * set against a database ten times smaller, to show that the cost follows
 * the number due, not the number of leads.  Target: under 1 s for a run.
 *
 * Usage: bench_due [--leads N] [--smoke]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nurture/campaign.h"
#include "nurture/config.h"
#include "nurture/plan.h"
#include "nurture/store.h"

#define BATCH 1000
#define STEP_AFTER (2 * 86400)

static double
seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
write_file(const char *dir, const char *rel, const char *text)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    if (!(f = fopen(path, "w"))) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static void
make_workdir(char *dir, size_t dirsz)
{
    char path[1024];
    static const char email[] = "---\nsubject: Hello {{first_name | there}}\n---\nHi.\n\n"
                                "[Unsubscribe]({{unsubscribe_url}}) {{postal_address}}\n";

    snprintf(dir, dirsz, "/tmp/nt-bench-due-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/campaigns", dir);
    mkdir(path, 0755);
    write_file(dir, "nurture.yaml",
               "database: bench.db\ntimezone: UTC\nlead_fields: [segment]\n"
               "stages:\n  - {name: lead, definition: l}\n  - {name: MQL, definition: m}\n"
               "senders:\n  - {id: s, name: S, address: s@example.com, postal_address: P}\n");
    write_file(dir, "campaigns/e.md", email);
    for (int c = 0; c < 3; c++) {
        char name[64], yaml[1024];
        snprintf(name, sizeof(name), "campaigns/c%d.yaml", c);
        snprintf(yaml, sizeof(yaml),
                 "name: c%d\naudience:\n  stage: lead\n  where: [{field: segment, equals: s%d}]\n"
                 "sender: s\nwindow: {days: daily, hours: \"00:00-24:00\", timezone: UTC}\n"
                 "steps:\n"
                 "  - {id: s1, after: 2d, email: e.md}\n  - {id: s2, after: 2d, email: e.md}\n"
                 "  - {id: s3, after: 2d, email: e.md}\n  - {id: s4, after: 2d, email: e.md}\n"
                 "  - {id: s5, after: 2d, email: e.md}\n"
                 "exit: [reply, unsubscribe, bounce, stage_change]\n",
                 c, c);
        write_file(dir, name, yaml);
    }
}

typedef struct env {
    nt_config cfg;
    nt_store *st;
    nt_campaign_set cs;
    nt_tzcache *zones;
} env;

static void
open_env(env *e, const char *dir)
{
    char path[1024];
    nt_diags ds;
    nt_diag d;
    size_t failed;

    nt_diags_init(&ds, 50);
    snprintf(path, sizeof(path), "%s/nurture.yaml", dir);
    if (nt_config_load(path, &e->cfg, &ds) != NT_OK ||
        nt_campaign_set_load(e->cfg.campaigns_dir, &e->cs, &failed, &ds) != NT_OK || failed ||
        nt_store_open_sqlite(e->cfg.database, &e->st, &d) != NT_OK) {
        for (size_t i = 0; i < ds.len; i++)
            fprintf(stderr, "%s:%d: %s\n", ds.items[i].file, ds.items[i].line, ds.items[i].msg);
        exit(1);
    }
    nt_diags_release(&ds);
    e->zones = nt_tzcache_new();
}

static void
close_env(env *e)
{
    nt_tzcache_free(e->zones);
    nt_store_close(e->st);
    nt_campaign_set_release(&e->cs);
    nt_config_release(&e->cfg);
}

static void
check(nt_err err, const nt_diag *d, const char *what)
{
    if (err != NT_OK) {
        fprintf(stderr, "%s: %s\n", what, d->msg);
        exit(1);
    }
}

/* N leads in batches of BATCH, each batch enrolled one minute after the last. */
static void
populate(env *e, long n, int64_t t0)
{
    nt_diag d;
    nt_enroll_stats es;
    double start = seconds();

    for (long i = 0; i < n; i += BATCH) {
        int64_t now = t0 + (i / BATCH) * 60;
        check(nt_store_begin(e->st, &d), &d, "begin");
        for (long j = i; j < i + BATCH && j < n; j++) {
            nt_lead l;
            char email[64], seg[8];
            int created;
            nt_lead_init(&l);
            snprintf(email, sizeof(email), "lead%ld@example.com", j);
            snprintf(seg, sizeof(seg), "s%ld", j % 3);
            nt_lead_set(&l, "email", email);
            nt_lead_set(&l, "first_name", "Pat");
            nt_lead_set(&l, "segment", seg);
            check(nt_store_lead_upsert(e->st, &l, "lead", now, &created, &d), &d, "upsert");
            nt_lead_release(&l);
        }
        check(nt_enroll(e->st, &e->cfg, &e->cs, NULL, now, e->zones, &es, &d), &d, "enroll");
        check(nt_store_commit(e->st, &d), &d, "commit");
        if (isatty(2) && (i / BATCH) % 50 == 0)
            fprintf(stderr, "\rpopulating: %ld/%ld leads", i, n);
    }
    if (isatty(2))
        fputc('\n', stderr);
    fprintf(stderr, "populated %ld leads and %ld enrollments in %.1f s\n", n, n, seconds() - start);
}

static int
count_send(void *ctx, const nt_plan_item *it)
{
    if (it->status == NT_PLAN_SEND)
        (*(long *)ctx)++;
    return 0;
}

/* One run's pre-send work at time `at`; returns seconds, sets *due. */
static double
time_run(env *e, int64_t at, long *due)
{
    nt_plan_opts o = {at, at, NULL, 0};
    nt_enroll_stats es;
    nt_plan_stats ps;
    nt_diag d;
    double start = seconds();

    *due = 0;
    check(nt_store_begin(e->st, &d), &d, "begin");
    check(nt_enroll(e->st, &e->cfg, &e->cs, NULL, at, e->zones, &es, &d), &d, "enroll");
    check(nt_plan_due(e->st, &e->cfg, &e->cs, &o, e->zones, count_send, due, &ps, &d), &d, "plan");
    nt_store_rollback(e->st);
    return seconds() - start;
}

static long
peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

static int
measure(long leads, const long *dues, size_t ndues, int64_t t0, double *worst)
{
    char dir[256], cmd[300];
    env e;

    make_workdir(dir, sizeof(dir));
    open_env(&e, dir);
    populate(&e, leads, t0);
    for (size_t k = 0; k < ndues; k++) {
        long want = dues[k], got = 0;
        /* batches with enrolled_at + STEP_AFTER <= at are due */
        int64_t at = t0 + STEP_AFTER + ((want + BATCH - 1) / BATCH - 1) * 60;
        double best = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            double s = time_run(&e, at, &got);
            best = s < best ? s : best;
        }
        printf("leads %8ld   due %7ld   run %8.3f s   %7.2f us per due send\n", leads, got, best,
               got ? best * 1e6 / (double)got : 0.0);
        if (got != want) {
            fprintf(stderr, "expected %ld due, got %ld\n", want, got);
            close_env(&e);
            return 1;
        }
        if (best > *worst)
            *worst = best;
    }
    close_env(&e);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed: %s\n", dir);
    return 0;
}

int
main(int argc, char **argv)
{
    long leads = 1000000;
    int smoke = 0;
    int64_t t0 = 1795000000; /* 2026-11-18 */
    double worst = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke"))
            smoke = 1;
        else if (!strcmp(argv[i], "--leads") && i + 1 < argc)
            leads = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_due [--leads N] [--smoke]\n");
            return 2;
        }
    }
    if (smoke) {
        static const long dues[] = {1000, 5000};
        return measure(5000, dues, 2, t0, &worst);
    }
    static const long dues[] = {1000, 10000, 100000};
    static const long small_dues[] = {10000};
    printf("due set of one run (enroll + due walk), 3 campaigns x 5 steps, best of 3\n");
    if (measure(leads, dues, 3, t0, &worst) || measure(leads / 10, small_dues, 1, t0, &worst))
        return 1;
    printf("slowest run: %.3f s (target: under 1 s)   peak RSS %ld MB\n", worst, peak_rss_mb());
    return 0;
}
