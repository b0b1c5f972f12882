/*
 * Leads: email normalisation and its refusals (each with a message a person
 * can act on), field access, copying, and nt_lead_check against configured
 * stages and the system tz database.
 */
#include <stdlib.h>
#include <string.h>

#include "nurture/lead.h"
#include "nurture/tz.h"
#include "t.h"

/* Normalise s; returns the result (caller frees) or NULL with d filled. */
static char *
norm(const char *s, nt_diag *d)
{
    char *out = NULL;

    nt_diag_clear(d);
    if (nt_email_normalize(s, strlen(s), &out, d) != NT_OK)
        return NULL;
    return out;
}

#define CHECK_NORM(in, want)                                                                       \
    do {                                                                                           \
        nt_diag d_;                                                                                \
        char *o_ = norm(in, &d_);                                                                  \
        CHECK_STR(o_, want);                                                                       \
        if (!o_)                                                                                   \
            fprintf(stderr, "  (%s: %s)\n", in, d_.msg);                                           \
        free(o_);                                                                                  \
    } while (0)

#define CHECK_BAD(in, msgpart)                                                                     \
    do {                                                                                           \
        nt_diag d_;                                                                                \
        char *o_ = norm(in, &d_);                                                                  \
        CHECK(o_ == NULL);                                                                         \
        CHECK_CONTAINS(d_.msg, msgpart);                                                           \
        free(o_);                                                                                  \
    } while (0)

static void
test_email_normal(void)
{
    CHECK_NORM("ann@example.com", "ann@example.com");
    CHECK_NORM("  ann@example.com\t", "ann@example.com");
    CHECK_NORM("\r\n ann@example.com \n", "ann@example.com");
    /* The domain is case-insensitive, the local part may not be. */
    CHECK_NORM("Ann.Lee@Example.COM", "Ann.Lee@example.com");
    CHECK_NORM("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk");
    CHECK_NORM("o'brien@example.ie", "o'brien@example.ie");
    CHECK_NORM("x_y-z!#$%&*/=?^`{|}~@example.org", "x_y-z!#$%&*/=?^`{|}~@example.org");
    /* Internationalised domains become their ASCII (punycode) form. */
    CHECK_NORM("user@bücher.example", "user@xn--bcher-kva.example");
    CHECK_NORM("user@BÜCHER.example", "user@xn--bcher-kva.example");
    CHECK_NORM("user@xn--bcher-kva.example", "user@xn--bcher-kva.example");
    CHECK_NORM("info@例え.jp", "info@xn--r8jz45g.jp");
    /* A non-ASCII local part (RFC 6531) is kept as written. */
    CHECK_NORM("jörg@example.de", "jörg@example.de");
    /* Not NUL-terminated: only len bytes count. */
    {
        char *out = NULL;
        nt_diag d;
        CHECK(nt_email_normalize("ann@example.comXYZ", 15, &out, &d) == NT_OK);
        CHECK_STR(out, "ann@example.com");
        free(out);
    }
}

static void
test_email_refused(void)
{
    char longlocal[80], longaddr[300];

    CHECK_BAD("", "empty");
    CHECK_BAD("   ", "empty");
    CHECK_BAD("ann.example.com", "has no '@'");
    CHECK_BAD("@example.com", "nothing before the '@'");
    CHECK_BAD("ann@", "nothing after the '@'");
    CHECK_BAD("ann@example.com@", "'@' is not allowed before the '@'");
    CHECK_BAD("ann@bob@example.com", "'@' is not allowed before the '@'");
    CHECK_BAD(".ann@example.com", "starts or ends with a dot");
    CHECK_BAD("ann.@example.com", "starts or ends with a dot");
    CHECK_BAD("an..n@example.com", "two dots in a row");
    CHECK_BAD("ann lee@example.com", "character ' ' is not allowed");
    CHECK_BAD("ann,lee@example.com", "character ',' is not allowed");
    CHECK_BAD("\"ann\"@example.com", "character '\"' is not allowed");
    CHECK_BAD("ann@localhost", "has no dot");
    CHECK_BAD("ann@-example.com", "starts or ends with '-'");
    CHECK_BAD("ann@example-.com", "starts or ends with '-'");
    CHECK_BAD("ann@-bücher.example", "hyphen");
    /* ASCII labels that IDNA has rules for still go through it. */
    CHECK_BAD("ann@ab--cd.example", "two hyphens");
    CHECK_BAD("ann@xn--abc.example", "not valid");
    CHECK_BAD("ann@xn--.example", "punycode");
    CHECK_NORM("ann@a-b--c.example", "ann@a-b--c.example");
    CHECK_BAD("ann@exa mple.com", "character ' ' is not allowed in the domain");
    CHECK_BAD("ann@exa_mple.com", "not");
    CHECK_BAD("ann@example..com", "domain");
    CHECK_BAD("ann@.example.com", "domain");

    memset(longlocal, 'a', 65);
    memcpy(longlocal + 65, "@example.com", 13);
    CHECK_BAD(longlocal, "longer than 64");
    memset(longaddr, 'b', 250);
    memcpy(longaddr + 250, "@example.com", 13);
    CHECK_BAD(longaddr, "longer than 254");
    {
        char *out = NULL;
        nt_diag d;
        CHECK(nt_email_normalize("ann@exa\0mple.com", 16, &out, &d) == NT_EINVAL);
        CHECK_CONTAINS(d.msg, "NUL");
        CHECK(out == NULL);
    }
}

static void
test_email_domain(void)
{
    CHECK_STR(nt_email_domain("ann@example.com"), "example.com");
    CHECK_STR(nt_email_domain("nothing"), "");
}

static void
test_fields(void)
{
    nt_lead l, c;
    char big[NT_LEAD_MAX_VALUE + 2];

    nt_lead_init(&l);
    CHECK(nt_lead_get(&l, "email") == NULL);
    CHECK(nt_lead_set(&l, "email", "ann@example.com") == NT_OK);
    CHECK(nt_lead_set(&l, "first_name", "Ann") == NT_OK);
    CHECK(nt_lead_set(&l, "company", "Acme") == NT_OK);
    CHECK_STR(nt_lead_get(&l, "email"), "ann@example.com");
    CHECK_STR(l.first_name, "Ann");
    CHECK_STR(nt_lead_get(&l, "company"), "Acme");

    /* Custom fields stay sorted by name whatever the order they come in. */
    CHECK(nt_lead_set(&l, "plan", "pro") == NT_OK);
    CHECK(nt_lead_set(&l, "industry", "retail") == NT_OK);
    CHECK(nt_lead_set(&l, "seats", "12") == NT_OK);
    REQUIRE(l.nfields == 3);
    CHECK_STR(l.fields[0].name, "industry");
    CHECK_STR(l.fields[1].name, "plan");
    CHECK_STR(l.fields[2].name, "seats");
    CHECK_STR(nt_lead_get(&l, "plan"), "pro");
    CHECK(nt_lead_get(&l, "missing") == NULL);

    /* Replacing and unsetting ("" and NULL both unset). */
    CHECK(nt_lead_set(&l, "plan", "enterprise") == NT_OK);
    CHECK_STR(nt_lead_get(&l, "plan"), "enterprise");
    CHECK(nt_lead_set(&l, "plan", "") == NT_OK);
    CHECK(nt_lead_get(&l, "plan") == NULL);
    CHECK_INT(l.nfields, 2);
    CHECK(nt_lead_set(&l, "company", NULL) == NT_OK);
    CHECK(l.company == NULL);

    /* Size limit on one value. */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK(nt_lead_set(&l, "notes", big) == NT_ELIMIT);
    big[NT_LEAD_MAX_VALUE] = '\0';
    CHECK(nt_lead_set(&l, "notes", big) == NT_OK);

    /* A deep copy. */
    REQUIRE(nt_lead_copy(&c, &l) == NT_OK);
    CHECK_STR(c.email, "ann@example.com");
    CHECK(c.email != l.email);
    CHECK_INT(c.nfields, l.nfields);
    CHECK_STR(nt_lead_get(&c, "industry"), "retail");
    nt_lead_release(&c);
    nt_lead_release(&l);
    CHECK(l.email == NULL && l.nfields == 0);
}

static void
test_field_limit(void)
{
    nt_lead l;
    char name[16];
    nt_err err = NT_OK;
    int i;

    nt_lead_init(&l);
    for (i = 0; i < NT_LEAD_MAX_FIELDS && !err; i++) {
        snprintf(name, sizeof(name), "f%03d", i);
        err = nt_lead_set(&l, name, "v");
    }
    CHECK(err == NT_OK);
    CHECK(nt_lead_set(&l, "one_more", "v") == NT_ELIMIT);
    CHECK(nt_lead_set(&l, "f000", "replaced") == NT_OK);
    nt_lead_release(&l);
}

static void
test_field_names(void)
{
    char sixty_five[70];

    CHECK(nt_field_name_ok("plan"));
    CHECK(nt_field_name_ok("utm_source"));
    CHECK(nt_field_name_ok("a1"));
    CHECK(!nt_field_name_ok(""));
    CHECK(!nt_field_name_ok("Plan"));
    CHECK(!nt_field_name_ok("1st"));
    CHECK(!nt_field_name_ok("_x"));
    CHECK(!nt_field_name_ok("utm-source"));
    CHECK(!nt_field_name_ok("a b"));
    CHECK(!nt_field_name_ok("prénom"));
    memset(sixty_five, 'a', 65);
    sixty_five[65] = '\0';
    CHECK(!nt_field_name_ok(sixty_five));
    sixty_five[64] = '\0';
    CHECK(nt_field_name_ok(sixty_five));
}

static char *stages[] = {"subscriber", "lead", "MQL", "SQL", "customer"};

static void
test_check(void)
{
    nt_lead l;
    nt_diag d;
    nt_tzcache *zones = nt_tzcache_new();

    REQUIRE(zones != NULL);
    nt_lead_init(&l);
    nt_diag_clear(&d);
    CHECK(nt_lead_check(&l, stages, 5, zones, &d) == NT_EINVAL);
    CHECK_CONTAINS(d.msg, "no email");

    nt_lead_set(&l, "email", " Ann@Example.COM ");
    nt_lead_set(&l, "stage", "mql");
    nt_lead_set(&l, "timezone", "Europe/Paris");
    CHECK(nt_lead_check(&l, stages, 5, zones, &d) == NT_OK);
    CHECK_STR(l.email, "Ann@example.com");
    CHECK_STR(l.stage, "MQL"); /* the configured spelling */

    /* The cache answers the second time the same way. */
    CHECK(nt_lead_check(&l, stages, 5, zones, &d) == NT_OK);

    nt_lead_set(&l, "stage", "prospect");
    nt_diag_clear(&d);
    CHECK(nt_lead_check(&l, stages, 5, zones, &d) == NT_EINVAL);
    CHECK_CONTAINS(d.msg, "unknown stage 'prospect'");
    /* nstages 0 skips the stage check. */
    CHECK(nt_lead_check(&l, stages, 0, zones, &d) == NT_OK);
    CHECK_STR(l.stage, "prospect");

    nt_lead_set(&l, "stage", "SQL");
    nt_lead_set(&l, "timezone", "Mars/Olympus_Mons");
    nt_diag_clear(&d);
    CHECK(nt_lead_check(&l, stages, 5, zones, &d) == NT_EINVAL);
    CHECK_CONTAINS(d.msg, "unknown time zone 'Mars/Olympus_Mons'");
    CHECK_CONTAINS(d.msg, "IANA");
    /* Asked again: remembered as unknown, same answer. */
    CHECK(nt_lead_check(&l, stages, 5, zones, &d) == NT_EINVAL);

    nt_lead_set(&l, "timezone", "../../etc/passwd");
    CHECK(nt_lead_check(&l, stages, 5, zones, &d) == NT_EINVAL);
    nt_lead_set(&l, "timezone", "/etc/localtime");
    CHECK(nt_lead_check(&l, stages, 5, zones, &d) == NT_EINVAL);
    nt_lead_set(&l, "timezone", "America/New_York");
    CHECK(nt_lead_check(&l, stages, 5, NULL, &d) == NT_OK); /* without a cache */
    nt_lead_set(&l, "timezone", "UTC");
    CHECK(nt_lead_check(&l, stages, 5, zones, &d) == NT_OK);

    nt_lead_set(&l, "email", "not an address");
    nt_diag_clear(&d);
    CHECK(nt_lead_check(&l, stages, 5, zones, &d) == NT_EINVAL);
    CHECK_CONTAINS(d.msg, "has no '@'");
    CHECK_STR(l.email, "not an address"); /* left as it was */

    nt_lead_release(&l);
    nt_tzcache_free(zones);
}

int
main(void)
{
    RUN(test_email_normal);
    RUN(test_email_refused);
    RUN(test_email_domain);
    RUN(test_fields);
    RUN(test_field_limit);
    RUN(test_field_names);
    RUN(test_check);
    return t_done();
}
