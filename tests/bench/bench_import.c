/*
 * CSV import rate: generates a file of realistic leads (names, companies,
 * some custom columns, a few time zones, quoted values with commas and the
 * odd doubled quote) in a temporary folder, imports it into a fresh SQLite
 * database with the import engine, and prints rows per second and peak
 * memory against the targets: at least 200,000 rows/s and under 100 MB for
 * 1,000,000 rows.
 *
 *   bench_import              1,000,000 rows; exit 1 if a target is missed
 *   bench_import --rows N     N rows
 *   bench_import --smoke      2,000 rows; exit 0 when every row was imported
 *   bench_import --keep       leave the folder (CSV and database) behind
 *   bench_import --engine-only  only the engine, with a store that keeps nothing
 *   bench_import --batch N    rows per transaction (default: the engine's)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "nurture/config.h"
#include "nurture/import.h"
#include "nurture/store.h"

#define TARGET_ROWS_PER_SEC 200000.0
#define TARGET_PEAK_MB 100.0

static const char *const first_names[] = {
    "Ann",   "Bob",   "Chloé", "David",  "Emma", "Farid",  "Grace", "Hiro",  "Ines",
    "Jonas", "Kofi",  "Lena",  "Mateo",  "Nora", "Omar",   "Priya", "Quinn", "Rosa",
    "Sven",  "Tariq", "Uma",   "Victor", "Wen",  "Xavier", "Yara",  "Zoë",
};
static const char *const last_names[] = {
    "Smith",  "Müller",    "García", "Rossi", "Kowalski", "Nguyen", "O'Brien", "Dubois",
    "Tanaka", "Johansson", "Silva",  "Novak", "Cohen",    "Okafor", "Singh",   "Larsen",
};
static const char *const companies[] = {
    "Acme",    "Globex",           "Initech",           "Umbrella",
    "Hooli",   "Stark Industries", "Wayne Enterprises", "Vandelay Imports",
    "Soylent", "Tyrell",           "Cyberdyne",         "Wonka",
    "Oceanic", "Massive Dynamic",
};
static const char *const suffixes[] = {"", "", "", ", Inc.", ", LLC", " GmbH", ", Ltd."};
static const char *const titles[] = {
    "CEO",
    "CTO",
    "VP Marketing",
    "Head of Sales",
    "Engineer",
    "Product Manager",
    "Director, Operations",
    "Founder",
    "Analyst",
};
static const char *const zones[] = {
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
    "UTC",
    "",
};
static const char *const stages[] = {"subscriber", "lead", "MQL", "SQL", ""};
static const char *const plans[] = {"free", "starter", "pro", "enterprise"};
static const char *const industries[] = {"retail", "software",      "finance",
                                         "health", "manufacturing", "education"};
static const char *const domains[] = {"example.com", "example.org", "mail.example.net",
                                      "corp.example.co.uk"};

#define PICK(a, r) ((a)[(r) % (sizeof(a) / sizeof((a)[0]))])

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t
next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int
generate(const char *path, long rows)
{
    FILE *f = fopen(path, "w");
    static char iobuf[1 << 16];

    if (!f)
        return -1;
    setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
    fputs("Email,First Name,Last Name,Company,Job Title,Time Zone,Lifecycle Stage,Plan,Seats,"
          "Industry,Notes\r\n",
          f);
    for (long i = 0; i < rows; i++) {
        uint64_t r = next();
        const char *fn = PICK(first_names, r), *ln = PICK(last_names, r >> 8);
        const char *co = PICK(companies, r >> 16), *suf = PICK(suffixes, r >> 24);
        const char *ti = PICK(titles, r >> 28);
        /* Addresses are unique: the import creates every row. */
        fprintf(f, "%c%s.%ld@%s,%s,", (char)('a' + (int)((r >> 32) % 26)),
                (r >> 40) % 3 ? "lead" : "Contact", i, PICK(domains, r >> 36), fn);
        if (strchr(ln, '\''))
            fprintf(f, "\"%s\",", ln);
        else
            fprintf(f, "%s,", ln);
        if (*suf == ',')
            fprintf(f, "\"%s%s\",", co, suf);
        else
            fprintf(f, "%s%s,", co, suf);
        if (strchr(ti, ','))
            fprintf(f, "\"%s\",", ti);
        else
            fprintf(f, "%s,", ti);
        fprintf(f, "%s,%s,%s,%u,%s,", PICK(zones, r >> 44), PICK(stages, r >> 48),
                PICK(plans, r >> 52), (unsigned)((r >> 20) % 500) + 1, PICK(industries, r >> 56));
        if ((r >> 60) % 4 == 0)
            fputs("\"Met at the \"\"Data\"\" conference, asked for a demo\"\r\n", f);
        else
            fputs("\r\n", f);
    }
    return fclose(f) == 0 ? 0 : -1;
}

/*
 * A store that keeps nothing, so that the engine's own cost (reading,
 * parsing, validating) can be told apart from the database's.
 */
static nt_err
null_txn(nt_store *st, nt_diag *d)
{
    (void)st;
    (void)d;
    return NT_OK;
}

static nt_err
null_rollback(nt_store *st)
{
    (void)st;
    return NT_OK;
}

static nt_err
null_upsert(nt_store *st, nt_lead *lead, const char *default_stage, int64_t now, int *created,
            nt_diag *d)
{
    (void)st;
    (void)default_stage;
    (void)now;
    (void)d;
    lead->id = 1;
    *created = 1;
    return NT_OK;
}

static const nt_store_ops null_ops = {
    .name = "null",
    .begin = null_txn,
    .commit = null_txn,
    .rollback = null_rollback,
    .lead_upsert = null_upsert,
};

static double
now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
tv(struct timeval t)
{
    return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

static double
cpu(const struct rusage *r)
{
    return tv(r->ru_utime) + tv(r->ru_stime);
}

static void
cleanup(const char *dir)
{
    static const char *const files[] = {"leads.csv", "bench.db", "bench.db-wal", "bench.db-shm"};
    char p[512];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

int
main(int argc, char **argv)
{
    long rows = 1000000;
    int smoke = 0, keep = 0, engine_only = 0, rc = 0;
    size_t batch = 0;
    char dir[256], csv[400], db[400];
    static char s_subscriber[] = "subscriber", s_lead[] = "lead", s_mql[] = "MQL", s_sql[] = "SQL",
                s_def[] = "-";
    nt_stage st_list[] = {{s_subscriber, s_def}, {s_lead, s_def}, {s_mql, s_def}, {s_sql, s_def}};
    nt_config cfg;
    nt_store *st = NULL;
    nt_diag d;
    nt_diags ds;
    nt_import_opts o;
    nt_import_stats s;
    struct rusage ru, ru0;
    double t0, t1, rate, peak;
    nt_err err;
    int fd;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke")) {
            smoke = 1;
            rows = 2000;
        } else if (!strcmp(argv[i], "--rows") && i + 1 < argc) {
            rows = strtol(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            batch = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--engine-only")) {
            engine_only = 1;
        } else if (!strcmp(argv[i], "--keep")) {
            keep = 1;
        } else {
            fprintf(
                stderr,
                "usage: bench_import [--smoke] [--rows N] [--batch N] [--keep] [--engine-only]\n");
            return 2;
        }
    }
    if (rows < 1) {
        fprintf(stderr, "bench_import: --rows needs a positive number\n");
        return 2;
    }
    snprintf(dir, sizeof(dir), "%s/nt-bench-import-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(csv, sizeof(csv), "%s/leads.csv", dir);
    snprintf(db, sizeof(db), "%s/bench.db", dir);

    t0 = now_sec();
    if (generate(csv, rows) != 0) {
        fprintf(stderr, "bench_import: writing %s: %s\n", csv, strerror(errno));
        cleanup(dir);
        return 1;
    }
    printf("generated %ld rows in %.2f s (%s)\n", rows, now_sec() - t0, csv);

    memset(&cfg, 0, sizeof(cfg));
    cfg.stages = st_list;
    cfg.nstages = sizeof(st_list) / sizeof(st_list[0]);
    cfg.default_stage = s_subscriber;
    if (nt_store_open_sqlite(db, &st, &d) != NT_OK) {
        fprintf(stderr, "bench_import: %s\n", d.msg);
        cleanup(dir);
        return 1;
    }
    memset(&o, 0, sizeof(o));
    o.format = NT_IMPORT_CSV;
    o.name = "leads.csv";
    o.cfg = &cfg;
    o.now = 1790000000;
    o.batch_rows = batch;
    nt_diags_init(&ds, 20);

    /* First the engine alone, then for real. */
    {
        nt_store null_store = {&null_ops};
        fd = open(csv, O_RDONLY);
        t0 = now_sec();
        err = nt_import_fd(&null_store, &o, fd, &s, &ds);
        t1 = now_sec();
        close(fd);
        printf("engine alone (a store that keeps nothing): %.0f rows/s\n",
               (double)s.rows / (t1 - t0 > 0 ? t1 - t0 : 1e-9));
        if (err != NT_OK || s.created != rows)
            rc = 1;
        if (engine_only) {
            nt_store_close(st);
            nt_diags_release(&ds);
            cleanup(dir);
            return rc;
        }
    }

    fd = open(csv, O_RDONLY);
    getrusage(RUSAGE_SELF, &ru0);
    t0 = now_sec();
    err = nt_import_fd(st, &o, fd, &s, &ds);
    t1 = now_sec();
    close(fd);
    nt_store_close(st);
    for (size_t i = 0; i < ds.len; i++)
        fprintf(stderr, "  %s:%d: %s\n", ds.items[i].file, ds.items[i].line, ds.items[i].msg);
    nt_diags_release(&ds);

    getrusage(RUSAGE_SELF, &ru);
    rate = (double)s.rows / (t1 - t0 > 0 ? t1 - t0 : 1e-9);
    peak = (double)ru.ru_maxrss / 1024.0;
    printf("imported %lld rows (%lld created, %lld updated, %lld rejected) in %.2f s: %s\n",
           (long long)s.rows, (long long)s.created, (long long)s.updated, (long long)s.rejected,
           t1 - t0, nt_strerror(err));
    printf("with the SQLite store (%.2f s of CPU, user %.2f + system %.2f):\n",
           cpu(&ru) - cpu(&ru0), tv(ru.ru_utime) - tv(ru0.ru_utime),
           tv(ru.ru_stime) - tv(ru0.ru_stime));
    printf("rate      %10.0f rows/s   target >= %.0f rows/s  %s\n", rate, TARGET_ROWS_PER_SEC,
           smoke                         ? "(smoke run, not judged)"
           : rate >= TARGET_ROWS_PER_SEC ? "ok"
                                         : "MISSED");
    printf("peak RSS  %10.1f MB       target <  %.0f MB        %s\n", peak, TARGET_PEAK_MB,
           smoke                   ? "(smoke run, not judged)"
           : peak < TARGET_PEAK_MB ? "ok"
                                   : "MISSED");

    if (err != NT_OK || s.rows != rows || s.created != rows || s.rejected != 0)
        rc = 1;
    else if (!smoke && (rate < TARGET_ROWS_PER_SEC || peak >= TARGET_PEAK_MB))
        rc = 1;
    if (keep)
        printf("kept %s\n", dir);
    else
        cleanup(dir);
    return rc;
}
