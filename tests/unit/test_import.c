/*
 * The import engine against real SQLite files in a temporary folder: the
 * RFC 4180 corners (quotes, doubled quotes, line breaks inside values,
 * CRLF, a byte order mark), header aliases and custom fields, re-import as
 * update, bad rows reported with the exact line they start on while the
 * good ones are stored, strict mode leaving the database as it was,
 * malformed and hostile input, and JSON lines.  What was stored is always
 * read back through the store API.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nurture/config.h"
#include "nurture/import.h"
#include "nurture/store.h"
#include "t.h"

typedef struct env {
    char dir[256];
    char path[512];
    nt_config cfg;
    nt_store *st;
} env;

static const char yaml[] = "database: leads.db\n"
                           "timezone: Europe/Paris\n"
                           "stages:\n"
                           "  - {name: subscriber, definition: Opted in}\n"
                           "  - {name: lead, definition: Gave details}\n"
                           "  - {name: MQL, definition: Marketing-qualified}\n"
                           "  - {name: customer, definition: Paying}\n";

static int
env_open(env *e)
{
    nt_diags ds;
    nt_diag d;
    FILE *f;
    int ok;

    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "%s/nt-import-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(e->dir))
        return 0;
    snprintf(e->path, sizeof(e->path), "%s/nurture.yaml", e->dir);
    if (!(f = fopen(e->path, "w")))
        return 0;
    fputs(yaml, f);
    fclose(f);
    nt_diags_init(&ds, 20);
    ok = nt_config_load(e->path, &e->cfg, &ds) == NT_OK;
    for (size_t i = 0; i < ds.len; i++)
        fprintf(stderr, "config: %s\n", ds.items[i].msg);
    nt_diags_release(&ds);
    if (!ok)
        return 0;
    if (nt_store_open_sqlite(e->cfg.database, &e->st, &d) != NT_OK) {
        fprintf(stderr, "store: %s\n", d.msg);
        return 0;
    }
    return 1;
}

static void
env_close(env *e)
{
    static const char *const files[] = {"leads.db", "leads.db-wal", "leads.db-shm", "nurture.yaml",
                                        "input.csv"};
    char p[600];

    nt_store_close(e->st);
    nt_config_release(&e->cfg);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", e->dir, files[i]);
        unlink(p);
    }
    rmdir(e->dir);
}

static nt_import_opts
opts(env *e, nt_import_format fmt, int strict)
{
    nt_import_opts o;

    memset(&o, 0, sizeof(o));
    o.format = fmt;
    o.strict = strict;
    o.name = fmt == NT_IMPORT_CSV ? "leads.csv" : "leads.jsonl";
    o.cfg = &e->cfg;
    o.now = 1790000000;
    return o;
}

/* Import data fed in pieces of `step` bytes (0 = all at once). */
static nt_err
run(env *e, nt_import_format fmt, int strict, const char *data, size_t len, size_t step,
    nt_import_stats *stats, nt_diags *ds)
{
    nt_import_opts o = opts(e, fmt, strict);
    nt_import *im;
    nt_err err;

    if (step == 0)
        return nt_import_mem(e->st, &o, data, len, stats, ds);
    if ((err = nt_import_new(e->st, &o, ds, &im)) != NT_OK)
        return err;
    for (size_t i = 0; i < len; i += step)
        if (nt_import_feed(im, data + i, len - i < step ? len - i : step) != NT_OK)
            break;
    err = nt_import_finish(im, stats);
    nt_import_free(im);
    return err;
}

static nt_err
csv(env *e, const char *data, nt_import_stats *stats, nt_diags *ds)
{
    return run(e, NT_IMPORT_CSV, 0, data, strlen(data), 0, stats, ds);
}

static int64_t
count(env *e)
{
    int64_t n = -1;
    nt_store_lead_count(e->st, &n, NULL);
    return n;
}

/* The first diagnostic of severity sev on line `line`, or NULL. */
static const nt_diag *
diag_at(const nt_diags *ds, nt_severity sev, int line)
{
    for (size_t i = 0; i < ds->len; i++)
        if (ds->items[i].line == line && ds->items[i].sev == sev)
            return &ds->items[i];
    return NULL;
}

static const char *
msg_at(const nt_diags *ds, int line)
{
    const nt_diag *d = diag_at(ds, NT_SEV_ERROR, line);
    return d ? d->msg : NULL;
}

/* The diagnostics, when NT_TEST_VERBOSE is set. */
static void
dump(const nt_diags *ds)
{
    if (!getenv("NT_TEST_VERBOSE"))
        return;
    for (size_t i = 0; i < ds->len; i++)
        fprintf(stderr, "    diag %s:%d:%d: %s\n", ds->items[i].file, ds->items[i].line,
                ds->items[i].col, ds->items[i].msg);
}

/* Field `name` of the stored lead `email` (static copy), or NULL. */
static const char *
field(env *e, const char *email, const char *name)
{
    static char out[8192];
    nt_lead l;
    const char *v;

    if (nt_store_lead_get(e->st, 0, email, &l, NULL) != NT_OK)
        return NULL;
    v = nt_lead_get(&l, name);
    if (v)
        snprintf(out, sizeof(out), "%s", v);
    nt_lead_release(&l);
    return v ? out : NULL;
}

static int
count_events_cb(void *ctx, const nt_event *ev)
{
    (void)ev;
    (*(int *)ctx)++;
    return 0;
}

/* ---- column names ---- */

static void
test_column_names(void)
{
    static const char *const cases[][2] = {
        {"email", "email"},
        {"Email", "email"},
        {"E-mail", "email"},
        {"E-Mail Address", "email"},
        {"Email Address", "email"},
        {" EMAIL ", "email"},
        {"First Name", "first_name"},
        {"first_name", "first_name"},
        {"FirstName", "first_name"},
        {"Last Name", "last_name"},
        {"Surname", "last_name"},
        {"Company Name", "company"},
        {"Organization", "company"},
        {"Job Title", "title"},
        {"Phone Number", "phone"},
        {"Lead Owner", "owner"},
        {"Lead Source", "source"},
        {"Time Zone", "timezone"},
        {"tz", "timezone"},
        {"TimeZone", "timezone"},
        {"Lifecycle Stage", "stage"},
        {"Stage", "stage"},
        {"Plan", "plan"},
        {"Annual Revenue ($)", "annual_revenue"},
        {"utm-source", "utm_source"},
        {"Phone (mobile)", "phone_mobile"},
        {"#employees", "employees"},
        {"a.b.c", "a_b_c"},
    };
    static const char *const bad[] = {"", "   ", "名前", "Prénom", "1st touch", "---", "_"};
    char out[80];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int ok = nt_import_column_name(cases[i][0], strlen(cases[i][0]), out, sizeof(out));
        CHECK(ok);
        CHECK_STR(ok ? out : NULL, cases[i][1]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(!nt_import_column_name(bad[i], strlen(bad[i]), out, sizeof(out)));
    memset(out, 'a', 70);
    CHECK(!nt_import_column_name(out, 70, out, sizeof(out))); /* too long */
}

static void
test_format_from_name(void)
{
    nt_import_format f = NT_IMPORT_JSONL;

    CHECK(nt_import_format_from_name("leads.csv", &f) && f == NT_IMPORT_CSV);
    CHECK(nt_import_format_from_name("/x/y/LEADS.CSV", &f) && f == NT_IMPORT_CSV);
    CHECK(nt_import_format_from_name("form.jsonl", &f) && f == NT_IMPORT_JSONL);
    CHECK(nt_import_format_from_name("crm.ndjson", &f) && f == NT_IMPORT_JSONL);
    CHECK(!nt_import_format_from_name("leads.txt", &f));
    CHECK(!nt_import_format_from_name("leads", &f));
    CHECK(!nt_import_format_from_name("dir.csv/leads", &f));
    CHECK(!nt_import_format_from_name("-", &f));
}

/* ---- CSV ---- */

static void
test_basic_aliases_custom(void)
{
    env e;
    nt_diags ds;
    nt_import_stats s;
    int events = 0;
    nt_lead l;

    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 100);
    CHECK(csv(&e,
              "E-mail,First Name,Last Name,Company Name,Time Zone,Lifecycle Stage,Plan,Seats\n"
              "ann@example.com,Ann,Lee,Acme,Europe/Berlin,mql,pro,12\n"
              "Bob@Example.ORG,Bob,,,,,,\n",
              &s, &ds) == NT_OK);
    dump(&ds);
    CHECK_INT(ds.len, 0);
    CHECK_INT(s.rows, 2);
    CHECK_INT(s.created, 2);
    CHECK_INT(s.updated, 0);
    CHECK_INT(s.rejected, 0);
    CHECK_INT(s.lines, 3);
    CHECK_INT(count(&e), 2);
    CHECK_STR(field(&e, "ann@example.com", "first_name"), "Ann");
    CHECK_STR(field(&e, "ann@example.com", "last_name"), "Lee");
    CHECK_STR(field(&e, "ann@example.com", "company"), "Acme");
    CHECK_STR(field(&e, "ann@example.com", "timezone"), "Europe/Berlin");
    CHECK_STR(field(&e, "ann@example.com", "stage"), "MQL");
    CHECK_STR(field(&e, "ann@example.com", "plan"), "pro");
    CHECK_STR(field(&e, "ann@example.com", "seats"), "12");
    /* Normalised address; the default stage for a lead that names none. */
    CHECK_STR(field(&e, "Bob@example.org", "first_name"), "Bob");
    CHECK_STR(field(&e, "Bob@example.org", "stage"), "subscriber");
    CHECK(field(&e, "Bob@example.org", "company") == NULL);
    CHECK(field(&e, "Bob@example.org", "plan") == NULL);
    REQUIRE(nt_store_lead_get(e.st, 0, "ann@example.com", &l, NULL) == NT_OK);
    CHECK_INT(l.created_at, 1790000000);
    nt_store_event_list(e.st, l.id, count_events_cb, &events, NULL);
    CHECK_INT(events, 1); /* "created" */
    nt_lead_release(&l);
    nt_diags_release(&ds);
    env_close(&e);
}

static void
test_custom_columns_any_order(void)
{
    env e;
    nt_diags ds;
    nt_import_stats s;
    nt_lead l;

    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 100);
    CHECK(csv(&e,
              "Zeta,alpha,EMAIL,Mid Field,first name\n"
              "z1,a1,ann@example.com,m1,Ann\n"
              "z2,,bob@example.com,m2,\n",
              &s, &ds) == NT_OK);
    CHECK_INT(s.created, 2);
    REQUIRE(nt_store_lead_get(e.st, 0, "ann@example.com", &l, NULL) == NT_OK);
    REQUIRE(l.nfields == 3);
    CHECK_STR(l.fields[0].name, "alpha");
    CHECK_STR(l.fields[1].name, "mid_field");
    CHECK_STR(l.fields[2].name, "zeta");
    CHECK_STR(l.first_name, "Ann");
    nt_lead_release(&l);
    CHECK(field(&e, "bob@example.com", "alpha") == NULL);
    CHECK_STR(field(&e, "bob@example.com", "zeta"), "z2");
    /* Merged on update, still in order. */
    CHECK(csv(&e, "email,beta\nbob@example.com,b2\n", &s, &ds) == NT_OK);
    REQUIRE(nt_store_lead_get(e.st, 0, "bob@example.com", &l, NULL) == NT_OK);
    REQUIRE(l.nfields == 3);
    CHECK_STR(l.fields[0].name, "beta");
    CHECK_STR(l.fields[1].name, "mid_field");
    CHECK_STR(l.fields[2].name, "zeta");
    nt_lead_release(&l);
    nt_diags_release(&ds);
    env_close(&e);
}

static void
test_rfc4180(void)
{
    static const char data[] =
        "\xEF\xBB\xBF"
        "email,company,title,notes\r\n"
        "ann@example.com,\"Acme, Inc.\",\"The \"\"Boss\"\"\",\"line one\nline two\"\r\n"
        "bob@example.com,\"Comma,,Corp\",\"\",\"crlf\r\ninside\"\r\n"
        "\"cy@example.com\",  Spaced Co  ,\" padded \",\"\"\"\"\r\n"
        "\r\n"
        "dee@example.com,Last Line Inc,CEO,no newline at the end";
    env e;
    nt_diags ds;
    nt_import_stats s;

    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 100);
    CHECK(run(&e, NT_IMPORT_CSV, 0, data, sizeof(data) - 1, 0, &s, &ds) == NT_OK);
    dump(&ds);
    CHECK_INT(s.rows, 4);
    CHECK_INT(s.created, 4);
    CHECK_INT(s.rejected, 0);
    CHECK_STR(field(&e, "ann@example.com", "company"), "Acme, Inc.");
    CHECK_STR(field(&e, "ann@example.com", "title"), "The \"Boss\"");
    CHECK_STR(field(&e, "ann@example.com", "notes"), "line one\nline two");
    CHECK_STR(field(&e, "bob@example.com", "company"), "Comma,,Corp");
    CHECK(field(&e, "bob@example.com", "title") == NULL);
    CHECK_STR(field(&e, "bob@example.com", "notes"), "crlf\r\ninside");
    CHECK_STR(field(&e, "cy@example.com", "company"), "Spaced Co");
    CHECK_STR(field(&e, "cy@example.com", "title"), "padded");
    CHECK_STR(field(&e, "cy@example.com", "notes"), "\"");
    CHECK_STR(field(&e, "dee@example.com", "notes"), "no newline at the end");
    nt_diags_release(&ds);
    env_close(&e);
}

/* Feeding a byte, or a few bytes, at a time must give exactly the same
 * result as feeding everything at once: BOM, CRLF and quotes split across
 * feeds. */
static void
test_split_feeds(void)
{
    static const char data[] = "\xEF\xBB\xBF"
                               "email,notes\r\n"
                               "ann@example.com,\"a\r\nb\"\r\n"
                               "bad-address,x\r\n"
                               "bob@example.com,\"q\"\"q\"\r"
                               "cy@example.com,y\r\n"
                               "dee@example.com,\"x\"oops\r\n"
                               "eve@example.com,z";
    static const size_t steps[] = {0, 1, 2, 3, 5, 7, 64};

    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        env e;
        nt_diags ds;
        nt_import_stats s;
        REQUIRE(env_open(&e));
        nt_diags_init(&ds, 100);
        CHECK(run(&e, NT_IMPORT_CSV, 0, data, sizeof(data) - 1, steps[k], &s, &ds) == NT_OK);
        CHECK_INT(s.rows, 6);
        CHECK_INT(s.created, 4);
        CHECK_INT(s.rejected, 2);
        CHECK_INT(s.lines, 8);
        CHECK_CONTAINS(msg_at(&ds, 4), "has no '@'");
        CHECK_CONTAINS(msg_at(&ds, 7), "text after the closing quote");
        CHECK_INT(ds.len, 2);
        CHECK_STR(field(&e, "ann@example.com", "notes"), "a\r\nb");
        CHECK_STR(field(&e, "bob@example.com", "notes"), "q\"q");
        CHECK_STR(field(&e, "cy@example.com", "notes"), "y");
        CHECK_STR(field(&e, "eve@example.com", "notes"), "z");
        if (t_failures)
            fprintf(stderr, "  (step %zu)\n", steps[k]);
        nt_diags_release(&ds);
        env_close(&e);
    }
}

static void
test_bad_rows_line_numbers(void)
{
    static const char data[] = "email,first_name,stage,timezone,notes\n"            /* 1 */
                               "ok1@example.com,One,,,\n"                           /* 2 */
                               "\"ok2@example.com\",Two,,,\"multi\n"                /* 3 */
                               "line\n"                                             /* 4 */
                               "value\"\n"                                          /* 5 */
                               "no-at-sign.example.com,Bad,,,\n"                    /* 6 */
                               "\n"                                                 /* 7 */
                               "bad@example.com,Bad,prospect,,\n"                   /* 8 */
                               "bad2@example.com,Bad,,Mars/Base,\"spans\n"          /* 9 */
                               "two lines\"\n"                                      /* 10 */
                               "ok3@example.com,Three,customer,America/New_York,\n" /* 11 */
                               "extra@example.com,X,,,,surplus\n"                   /* 12 */
                               "ctl@example.com,\"Line\n"                           /* 13 */
                               "break\",,,\n"                                       /* 14 */
                               "\n"                                                 /* 15 */
                               ",,,,\n"                                             /* 16 */
                               ",Nobody,,,\n"                                       /* 17 */
                               "ok4@example.com,Four,,,,\n"                         /* 18 */
                               "two@at@example.com,,,,\n";                          /* 19 */
    env e;
    nt_diags ds;
    nt_import_stats s;

    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 100);
    CHECK(csv(&e, data, &s, &ds) == NT_OK);
    dump(&ds);
    CHECK_INT(s.rows, 11);
    CHECK_INT(s.created, 4);
    CHECK_INT(s.rejected, 7);
    CHECK_INT(ds.errors, 7);
    CHECK_CONTAINS(msg_at(&ds, 6), "'no-at-sign.example.com' has no '@'");
    CHECK_CONTAINS(msg_at(&ds, 8), "unknown stage 'prospect'");
    CHECK_CONTAINS(msg_at(&ds, 9), "unknown time zone 'Mars/Base'");
    CHECK_CONTAINS(msg_at(&ds, 12), "6 values but the header has 5 columns");
    CHECK_CONTAINS(msg_at(&ds, 13), "'first_name' contains a line break");
    CHECK_CONTAINS(msg_at(&ds, 17), "no email address");
    CHECK_CONTAINS(msg_at(&ds, 19), "'two@at@example.com': character '@' is not allowed");
    CHECK_STR(ds.items[0].file, "leads.csv");
    CHECK(msg_at(&ds, 16) == NULL); /* a row of empty cells is a blank line */
    CHECK_STR(field(&e, "ok2@example.com", "notes"), "multi\nline\nvalue");
    CHECK_STR(field(&e, "ok3@example.com", "stage"), "customer");
    CHECK_STR(field(&e, "ok4@example.com", "first_name"), "Four");
    CHECK_INT(count(&e), 4);
    nt_diags_release(&ds);
    env_close(&e);
}

static void
test_bad_values(void)
{
    /* NUL bytes, broken UTF-8 and oversize values are refused per row. */
    char data[NT_LEAD_MAX_VALUE + 400];
    size_t n = 0;
    env e;
    nt_diags ds;
    nt_import_stats s;

#define ADD(str) (memcpy(data + n, str, sizeof(str) - 1), n += sizeof(str) - 1)
    ADD("email,company,notes\n");            /* 1 */
    ADD("nul@example.com,Ac\0me,x\n");       /* 2 */
    ADD("utf@example.com,Caf\xC3\xA9,ok\n"); /* 3: fine */
    ADD("bad@example.com,Caf\xE9,x\n");      /* 4: Latin-1 */
    ADD("over@example.com,\xC0\xAF,x\n");    /* 5: overlong */
    ADD("sur@example.com,\xED\xA0\x80,x\n"); /* 6: surrogate */
    ADD("long@example.com,Big,");            /* 7 */
    memset(data + n, 'x', NT_LEAD_MAX_VALUE + 1);
    n += NT_LEAD_MAX_VALUE + 1;
    ADD("\n");
    ADD("fine@example.com,Fine,\"tab\tand\nnewline\"\n"); /* 8 */
#undef ADD
    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 100);
    CHECK(run(&e, NT_IMPORT_CSV, 0, data, n, 0, &s, &ds) == NT_OK);
    dump(&ds);
    CHECK_INT(s.rows, 7);
    CHECK_INT(s.created, 2);
    CHECK_INT(s.rejected, 5);
    CHECK_CONTAINS(msg_at(&ds, 2), "NUL byte");
    CHECK_CONTAINS(msg_at(&ds, 4), "not valid UTF-8");
    CHECK_CONTAINS(msg_at(&ds, 5), "not valid UTF-8");
    CHECK_CONTAINS(msg_at(&ds, 6), "not valid UTF-8");
    CHECK_CONTAINS(msg_at(&ds, 7), "longer than 4096 bytes");
    CHECK_STR(field(&e, "utf@example.com", "company"), "Caf\xC3\xA9");
    CHECK_STR(field(&e, "fine@example.com", "notes"), "tab\tand\nnewline");
    nt_diags_release(&ds);
    env_close(&e);
}

static void
test_reimport_updates(void)
{
    env e;
    nt_diags ds;
    nt_import_stats s;
    nt_lead l;
    int events = 0;

    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 100);
    CHECK(csv(&e,
              "email,first_name,company,plan\n"
              "ann@example.com,Ann,Acme,free\n"
              "bob@example.com,Bob,Bobco,free\n",
              &s, &ds) == NT_OK);
    CHECK_INT(s.created, 2);
    /* Same people again, differently spelt: updated, not duplicated; an
     * empty cell keeps what is stored. */
    CHECK(csv(&e,
              "Email Address,Company,Plan,Lifecycle Stage\n"
              "ANN@EXAMPLE.COM,,pro,lead\n"
              "  bob@Example.com ,Bobco Ltd,,\n"
              "cy@example.com,Cyco,free,\n",
              &s, &ds) == NT_OK);
    dump(&ds);
    CHECK_INT(s.rows, 3);
    CHECK_INT(s.created, 2);
    CHECK_INT(s.updated, 1);
    /* The local part is kept as written, so ANN@ is another address... */
    CHECK_INT(count(&e), 4);
    CHECK_STR(field(&e, "ANN@example.com", "plan"), "pro");
    CHECK_STR(field(&e, "ann@example.com", "plan"), "free");
    CHECK_STR(field(&e, "bob@example.com", "company"), "Bobco Ltd");
    CHECK_STR(field(&e, "bob@example.com", "plan"), "free");
    nt_diags_release(&ds);
    env_close(&e);

    /* ...and the same spelling updates. */
    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 100);
    CHECK(csv(&e, "email,first_name,company,plan\nann@example.com,Ann,Acme,free\n", &s, &ds) ==
          NT_OK);
    CHECK(csv(&e, "email,company,plan,stage\n ann@EXAMPLE.com ,,pro,lead\n", &s, &ds) == NT_OK);
    CHECK_INT(s.created, 0);
    CHECK_INT(s.updated, 1);
    CHECK_INT(count(&e), 1);
    CHECK_STR(field(&e, "ann@example.com", "company"), "Acme");
    CHECK_STR(field(&e, "ann@example.com", "first_name"), "Ann");
    CHECK_STR(field(&e, "ann@example.com", "plan"), "pro");
    CHECK_STR(field(&e, "ann@example.com", "stage"), "lead");
    REQUIRE(nt_store_lead_get(e.st, 0, "ann@example.com", &l, NULL) == NT_OK);
    nt_store_event_list(e.st, l.id, count_events_cb, &events, NULL);
    CHECK_INT(events, 3); /* created, updated, stage */
    nt_lead_release(&l);
    nt_diags_release(&ds);
    env_close(&e);
}

static void
test_same_email_twice(void)
{
    env e;
    nt_diags ds;
    nt_import_stats s;

    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 100);
    CHECK(csv(&e,
              "email,first_name,company\n"
              "ann@example.com,Ann,Acme\n"
              "ann@Example.com,Annie,\n",
              &s, &ds) == NT_OK);
    CHECK_INT(s.rows, 2);
    CHECK_INT(s.created, 1);
    CHECK_INT(s.updated, 1);
    CHECK_INT(count(&e), 1);
    CHECK_STR(field(&e, "ann@example.com", "first_name"), "Annie");
    CHECK_STR(field(&e, "ann@example.com", "company"), "Acme");
    nt_diags_release(&ds);
    env_close(&e);
}

static void
test_strict(void)
{
    env e;
    nt_diags ds;
    nt_import_stats s;
    const char *bad = "email,company\n"
                      "ann@example.com,Changed\n"
                      "new@example.com,New\n"
                      "broken,X\n"
                      "new2@example.com,New2\n";

    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 100);
    CHECK(csv(&e, "email,company\nann@example.com,Acme\n", &s, &ds) == NT_OK);
    CHECK(run(&e, NT_IMPORT_CSV, 1, bad, strlen(bad), 0, &s, &ds) == NT_EINVAL);
    CHECK_INT(s.rows, 4);
    CHECK_INT(s.rejected, 1);
    CHECK_INT(s.created, 0);
    CHECK_INT(s.updated, 0);
    CHECK_CONTAINS(msg_at(&ds, 4), "has no '@'");
    /* Nothing changed: no new leads, the old one as it was. */
    CHECK_INT(count(&e), 1);
    CHECK_STR(field(&e, "ann@example.com", "company"), "Acme");
    CHECK(field(&e, "new@example.com", "email") == NULL);

    /* Strict with a malformed quote: same. */
    nt_diags_release(&ds);
    nt_diags_init(&ds, 100);
    bad = "email,company\nnew@example.com,New\nx@example.com,\"A\"B\n";
    CHECK(run(&e, NT_IMPORT_CSV, 1, bad, strlen(bad), 0, &s, &ds) == NT_EINVAL);
    CHECK_CONTAINS(msg_at(&ds, 3), "closing quote");
    CHECK_INT(count(&e), 1);

    /* Strict and clean: everything in. */
    bad = "email,company\nann@example.com,Changed\nnew@example.com,New\n";
    CHECK(run(&e, NT_IMPORT_CSV, 1, bad, strlen(bad), 0, &s, &ds) == NT_OK);
    CHECK_INT(s.created, 1);
    CHECK_INT(s.updated, 1);
    CHECK_INT(count(&e), 2);
    CHECK_STR(field(&e, "ann@example.com", "company"), "Changed");
    nt_diags_release(&ds);
    env_close(&e);
}

static void
test_malformed_quotes(void)
{
    static const char data[] = "email,company,notes\n"                   /* 1 */
                               "a@example.com,Acme \"quoted\",x\n"       /* 2 */
                               "b@example.com,\"Acme\" Inc,x\n"          /* 3 */
                               "c@example.com,Good,x\n"                  /* 4 */
                               "d@example.com,\"multi\n"                 /* 5 */
                               "line\"oops,x\n"                          /* 6 */
                               "e@example.com,Good,x\n"                  /* 7 */
                               "f@example.com,Unclosed,\"never closed\n" /* 8 */
                               "g@example.com,Swallowed,x\n";            /* 9 */
    env e;
    nt_diags ds;
    nt_import_stats s;
    const nt_diag *d;

    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 100);
    CHECK(csv(&e, data, &s, &ds) == NT_OK);
    dump(&ds);
    CHECK_INT(s.rows, 6);
    CHECK_INT(s.created, 2);
    CHECK_INT(s.rejected, 4);
    d = diag_at(&ds, NT_SEV_ERROR, 2);
    REQUIRE(d != NULL);
    CHECK_CONTAINS(d->msg, "a '\"' inside a value");
    CHECK_INT(d->col, 20);
    d = diag_at(&ds, NT_SEV_ERROR, 3);
    REQUIRE(d != NULL);
    CHECK_CONTAINS(d->msg, "text after the closing quote");
    CHECK_INT(d->col, 22); /* spaces after a closing quote are allowed */
    /* The error is where the quote is; the message says where the record
     * began. */
    CHECK_CONTAINS(msg_at(&ds, 6), "starts on line 5");
    CHECK_CONTAINS(msg_at(&ds, 8), "never closed");
    CHECK_STR(field(&e, "c@example.com", "company"), "Good");
    CHECK_STR(field(&e, "e@example.com", "company"), "Good");
    CHECK(field(&e, "d@example.com", "email") == NULL);
    nt_diags_release(&ds);
    env_close(&e);
}

static void
test_header_problems(void)
{
    env e;
    nt_diags ds;
    nt_import_stats s;
    char wide[NT_IMPORT_MAX_COLUMNS * 6 + 64];
    size_t n = 0;

    REQUIRE(env_open(&e));

    /* No email column: an error before any row, nothing stored. */
    nt_diags_init(&ds, 100);
    CHECK(csv(&e, "name,company\nAnn,Acme\nBob,Bobco\n", &s, &ds) == NT_EINVAL);
    CHECK_INT(s.rows, 0);
    CHECK_INT(ds.len, 1);
    CHECK_INT(ds.items[0].line, 1);
    CHECK_CONTAINS(ds.items[0].msg, "no email column");
    CHECK_CONTAINS(ds.items[0].msg, "'name', 'company'");
    nt_diags_release(&ds);

    /* A semicolon file gets a hint. */
    nt_diags_init(&ds, 100);
    CHECK(csv(&e, "email;name\nann@example.com;Ann\n", &s, &ds) == NT_EINVAL);
    CHECK_CONTAINS(ds.items[0].msg, "separated by ';'");
    nt_diags_release(&ds);

    /* Empty input. */
    nt_diags_init(&ds, 100);
    CHECK(csv(&e, "", &s, &ds) == NT_EINVAL);
    CHECK_CONTAINS(ds.items[0].msg, "empty");
    CHECK(csv(&e, "\xEF\xBB\xBF\r\n\n", &s, &ds) == NT_EINVAL);
    nt_diags_release(&ds);

    /* A header alone is a valid, empty import. */
    nt_diags_init(&ds, 100);
    CHECK(csv(&e, "email,name\n", &s, &ds) == NT_OK);
    CHECK_INT(s.rows, 0);
    CHECK_INT(ds.len, 0);
    nt_diags_release(&ds);

    /* Two columns meaning the same field. */
    nt_diags_init(&ds, 100);
    CHECK(csv(&e, "Email,Name,E-mail\nann@example.com,Ann,ann@example.com\n", &s, &ds) ==
          NT_EINVAL);
    CHECK_CONTAINS(ds.items[0].msg, "columns 1 ('Email') and 3 ('E-mail') both mean 'email'");
    CHECK_INT(count(&e), 0);
    nt_diags_release(&ds);

    /* Columns that cannot be fields: reported once, skipped. */
    nt_diags_init(&ds, 100);
    CHECK(csv(&e,
              "email,名前,,Plan\n"
              "ann@example.com,アン,lost,pro\n"
              "bob@example.com,ボブ,,free\n",
              &s, &ds) == NT_OK);
    dump(&ds);
    CHECK_INT(s.created, 2);
    CHECK_INT(ds.errors, 0);
    CHECK_INT(ds.warnings, 2);
    CHECK_CONTAINS(ds.items[0].msg, "column 2 ('名前') cannot be a field name");
    CHECK_CONTAINS(ds.items[1].msg, "column 3 has no name");
    CHECK_STR(field(&e, "ann@example.com", "plan"), "pro");
    nt_diags_release(&ds);

    /* Too many columns. */
    n = (size_t)snprintf(wide, sizeof(wide), "email");
    for (int i = 0; i < NT_IMPORT_MAX_COLUMNS; i++)
        n += (size_t)snprintf(wide + n, sizeof(wide) - n, ",c%d", i);
    snprintf(wide + n, sizeof(wide) - n, "\n");
    nt_diags_init(&ds, 100);
    CHECK(csv(&e, wide, &s, &ds) == NT_EINVAL);
    CHECK_CONTAINS(ds.items[0].msg, "257 columns");
    nt_diags_release(&ds);

    /* A malformed header stops the import. */
    nt_diags_init(&ds, 100);
    CHECK(csv(&e, "email,\"na\"me\nann@example.com,Ann\n", &s, &ds) == NT_EINVAL);
    CHECK_CONTAINS(ds.items[0].msg, "malformed header");
    CHECK(csv(&e, "email,\"name\n", &s, &ds) == NT_EINVAL);
    nt_diags_release(&ds);
    env_close(&e);
}

static void
test_lone_cr(void)
{
    env e;
    nt_diags ds;
    nt_import_stats s;

    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 100);
    CHECK(csv(&e, "email,name\rann@example.com,Ann\rbroken,X\rbob@example.com,Bob", &s, &ds) ==
          NT_OK);
    CHECK_INT(s.created, 2);
    CHECK_INT(s.rejected, 1);
    CHECK_CONTAINS(msg_at(&ds, 3), "broken");
    CHECK_INT(s.lines, 4);
    nt_diags_release(&ds);
    env_close(&e);
}

static void
test_open_quote_runs_away(void)
{
    /* A quote left open and no other quote for over a megabyte: the import
     * stops instead of reading the file into one value; rows committed
     * before stay. */
    size_t n = NT_IMPORT_MAX_FIELD + 200000, at = 0;
    char *data = malloc(n + 200);
    env e;
    nt_diags ds;
    nt_import_stats s;
    nt_import_opts o;

    REQUIRE(data != NULL);
    at += (size_t)snprintf(data, 200, "email,notes\nann@example.com,ok\nbob@example.com,\"open\n");
    while (at < n)
        at += (size_t)snprintf(data + at, n + 200 - at, "x%zu@example.com,filler\n", at);
    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 100);
    o = opts(&e, NT_IMPORT_CSV, 0);
    o.batch_rows = 1;
    CHECK(nt_import_mem(e.st, &o, data, at, &s, &ds) == NT_EINVAL);
    CHECK_CONTAINS(msg_at(&ds, 3), "quote left open");
    CHECK_INT(count(&e), 1);
    CHECK_INT(s.created, 1);
    nt_diags_release(&ds);
    env_close(&e);
    free(data);
}

static void
test_binary_garbage(void)
{
    char data[6000];
    unsigned int seed = 12345;
    env e;
    nt_diags ds;
    nt_import_stats s;

    REQUIRE(env_open(&e));
    for (int round = 0; round < 20; round++) {
        size_t n = 0;
        if (round % 2)
            n = (size_t)snprintf(data, sizeof(data), "email,notes\n");
        for (; n < sizeof(data); n++) {
            seed = seed * 1103515245u + 12345u;
            data[n] = (char)(seed >> 16);
        }
        nt_diags_init(&ds, 50);
        nt_err err = run(&e, NT_IMPORT_CSV, round % 3 == 0, data, sizeof(data), round % 4, &s, &ds);
        CHECK(err == NT_OK || err == NT_EINVAL);
        CHECK(s.created + s.updated + s.rejected <= s.rows);
        nt_diags_release(&ds);
        nt_diags_init(&ds, 50);
        err = run(&e, NT_IMPORT_JSONL, round % 3 == 0, data, sizeof(data), round % 4, &s, &ds);
        CHECK(err == NT_OK || err == NT_EINVAL);
        nt_diags_release(&ds);
    }
    CHECK_INT(count(&e), 0);
    CHECK(nt_store_integrity(e.st, NULL) == NT_OK);
    env_close(&e);
}

typedef struct prog {
    int calls;
    int64_t last_rows;
} prog;

static void
on_progress(void *ctx, const nt_import_stats *st)
{
    prog *p = ctx;
    p->calls++;
    p->last_rows = st->rows;
}

static void
test_batches_and_progress(void)
{
    env e;
    nt_diags ds;
    nt_import_stats s;
    nt_import_opts o;
    prog p = {0, 0};
    char *data = malloc(64 * 1000);
    size_t n = 0;

    REQUIRE(data != NULL);
    n += (size_t)snprintf(data, 100, "email,n\n");
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(data + n, 100, "p%d@example.com,%d\n", i, i);
    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 10);
    o = opts(&e, NT_IMPORT_CSV, 0);
    o.batch_rows = 7;
    o.progress = on_progress;
    o.progress_ctx = &p;
    o.progress_every = 100;
    CHECK(nt_import_mem(e.st, &o, data, n, &s, &ds) == NT_OK);
    CHECK_INT(s.created, 1000);
    CHECK_INT(count(&e), 1000);
    CHECK_INT(p.calls, 11);
    CHECK_INT(p.last_rows, 1000);
    CHECK_STR(field(&e, "p999@example.com", "n"), "999");
    nt_diags_release(&ds);
    env_close(&e);
    free(data);
}

static void
test_import_fd(void)
{
    env e;
    nt_diags ds;
    nt_import_stats s;
    nt_import_opts o;
    char p[600];
    FILE *f;
    int fds[2];

    REQUIRE(env_open(&e));
    snprintf(p, sizeof(p), "%s/input.csv", e.dir);
    REQUIRE((f = fopen(p, "w")) != NULL);
    fputs("email,name\nann@example.com,Ann\nbob@example.com,Bob\n", f);
    fclose(f);
    REQUIRE((f = fopen(p, "r")) != NULL);
    nt_diags_init(&ds, 10);
    o = opts(&e, NT_IMPORT_CSV, 0);
    CHECK(nt_import_fd(e.st, &o, fileno(f), &s, &ds) == NT_OK);
    fclose(f);
    CHECK_INT(s.created, 2);

    /* A pipe, as from a web form. */
    REQUIRE(pipe(fds) == 0);
    {
        const char *lines = "{\"email\": \"cy@example.com\"}\n{\"email\": \"dee@example.com\"}\n";
        CHECK(write(fds[1], lines, strlen(lines)) == (ssize_t)strlen(lines));
        close(fds[1]);
    }
    o = opts(&e, NT_IMPORT_JSONL, 0);
    CHECK(nt_import_fd(e.st, &o, fds[0], &s, &ds) == NT_OK);
    close(fds[0]);
    CHECK_INT(s.created, 2);
    CHECK_INT(count(&e), 4);
    nt_diags_release(&ds);
    env_close(&e);
}

/* ---- JSON lines ---- */

static void
test_jsonl(void)
{
    static const char data[] =
        "\xEF\xBB\xBF"
        "{\"email\": \"ann@example.com\", \"First Name\": \"Ann\", \"stage\": \"MQL\", "
        "\"seats\": 12, \"score\": 3.5, \"consent\": true, \"fax\": null}\n"                /* 1 */
        "\n"                                                                                /* 2 */
        "{\"email\": \"bob@example.com\", \"tags\": [\"a\"]}\n"                             /* 3 */
        "{\"email\": \"cy@example.com\",\n"                                                 /* 4 */
        "[1, 2]\n"                                                                          /* 5 */
        "{\"E-mail\": \" dee@Example.com \", \"utm-source\": \"ads\", \"名前\": \"x\"}\r\n" /* 6 */
        "{\"email\": \"eve@example.com\", \"stage\": \"nope\"}\n"                           /* 7 */
        "{\"email\": \"fay@example.com\", \"Email\": \"fay@example.com\"}\n"                /* 8 */
        "{\"email\": \"gus@example.com\", \"名前\": \"y\", \"timezone\": \"Asia/Tokyo\"}\n" /* 9 */
        "{\"email\": \"hal@example.com\", \"email\": \"x@example.com\"}\n"                  /* 10 */
        "{\"email\": \"ivy@example.com\", \"first_name\": \"I\\nvy\"}\n"                    /* 11 */
        "{\"email\": \"jo@example.com\"}";                                                  /* 12 */
    static const size_t steps[] = {0, 1, 3, 17};

    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        env e;
        nt_diags ds;
        nt_import_stats s;
        REQUIRE(env_open(&e));
        nt_diags_init(&ds, 100);
        CHECK(run(&e, NT_IMPORT_JSONL, 0, data, sizeof(data) - 1, steps[k], &s, &ds) == NT_OK);
        if (k == 0)
            dump(&ds);
        CHECK_INT(s.rows, 11);
        CHECK_INT(s.created, 4);
        CHECK_INT(s.rejected, 7);
        CHECK_INT(ds.warnings, 1); /* the key 名前, once */
        CHECK_CONTAINS(msg_at(&ds, 3), "'tags' is a list");
        CHECK_CONTAINS(msg_at(&ds, 4), "not valid JSON");
        CHECK_CONTAINS(msg_at(&ds, 5), "one JSON object");
        CHECK_CONTAINS(msg_at(&ds, 7), "unknown stage 'nope'");
        CHECK_CONTAINS(msg_at(&ds, 8), "two keys mean 'email'");
        CHECK_CONTAINS(msg_at(&ds, 10), "not valid JSON");
        CHECK_CONTAINS(msg_at(&ds, 11), "line break");
        CHECK(diag_at(&ds, NT_SEV_WARNING, 6) != NULL);
        CHECK_STR(field(&e, "ann@example.com", "first_name"), "Ann");
        CHECK_STR(field(&e, "ann@example.com", "stage"), "MQL");
        CHECK_STR(field(&e, "ann@example.com", "seats"), "12");
        CHECK_STR(field(&e, "ann@example.com", "score"), "3.5");
        CHECK_STR(field(&e, "ann@example.com", "consent"), "true");
        CHECK(field(&e, "ann@example.com", "fax") == NULL);
        CHECK_STR(field(&e, "dee@example.com", "utm_source"), "ads");
        CHECK_STR(field(&e, "gus@example.com", "timezone"), "Asia/Tokyo");
        CHECK_STR(field(&e, "jo@example.com", "stage"), "subscriber");
        if (t_failures)
            fprintf(stderr, "  (step %zu)\n", steps[k]);
        nt_diags_release(&ds);
        env_close(&e);
    }
}

static void
test_jsonl_strict_and_long_line(void)
{
    env e;
    nt_diags ds;
    nt_import_stats s;
    size_t n = NT_IMPORT_MAX_LINE + 100, at = 0;
    char *data = malloc(n + 200);

    REQUIRE(data != NULL);
    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 100);
    const char *two = "{\"email\": \"ann@example.com\"}\n{\"email\": 5}\n";
    CHECK(run(&e, NT_IMPORT_JSONL, 1, two, strlen(two), 0, &s, &ds) == NT_EINVAL);
    CHECK_CONTAINS(msg_at(&ds, 2), "'5' has no '@'");
    CHECK_INT(count(&e), 0);

    at += (size_t)snprintf(data, 100, "{\"email\": \"a@example.com\", \"notes\": \"");
    memset(data + at, 'x', n - at);
    at = n;
    at += (size_t)snprintf(data + at, 200, "\"}\n{\"email\": \"b@example.com\"}\n");
    nt_diags_release(&ds);
    nt_diags_init(&ds, 100);
    CHECK(run(&e, NT_IMPORT_JSONL, 0, data, at, 4096, &s, &ds) == NT_OK);
    CHECK_CONTAINS(msg_at(&ds, 1), "longer than");
    CHECK_INT(s.created, 1);
    CHECK_INT(s.rejected, 1);
    CHECK_STR(field(&e, "b@example.com", "email"), "b@example.com");
    nt_diags_release(&ds);
    env_close(&e);
    free(data);
}

static void
test_without_config(void)
{
    env e;
    nt_diags ds;
    nt_import_stats s;
    nt_import_opts o;
    const char *data = "email,stage\nann@example.com,anything\nbob@example.com,\n";

    REQUIRE(env_open(&e));
    nt_diags_init(&ds, 10);
    o = opts(&e, NT_IMPORT_CSV, 0);
    o.cfg = NULL;
    CHECK(nt_import_mem(e.st, &o, data, strlen(data), &s, &ds) == NT_OK);
    CHECK_INT(s.created, 1);
    CHECK_INT(s.rejected, 1);
    CHECK_STR(field(&e, "ann@example.com", "stage"), "anything");
    CHECK_CONTAINS(msg_at(&ds, 3), "needs a stage");
    nt_diags_release(&ds);
    env_close(&e);
}

int
main(void)
{
    RUN(test_column_names);
    RUN(test_format_from_name);
    RUN(test_basic_aliases_custom);
    RUN(test_custom_columns_any_order);
    RUN(test_rfc4180);
    RUN(test_split_feeds);
    RUN(test_bad_rows_line_numbers);
    RUN(test_bad_values);
    RUN(test_reimport_updates);
    RUN(test_same_email_twice);
    RUN(test_strict);
    RUN(test_malformed_quotes);
    RUN(test_header_problems);
    RUN(test_lone_cr);
    RUN(test_open_quote_runs_away);
    RUN(test_binary_garbage);
    RUN(test_batches_and_progress);
    RUN(test_import_fd);
    RUN(test_jsonl);
    RUN(test_jsonl_strict_and_long_line);
    RUN(test_without_config);
    return t_done();
}
