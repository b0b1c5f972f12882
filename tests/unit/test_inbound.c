/*
 * Processing inbound messages against a real SQLite store with the default
 * rules: each kind acts once (suppression, soft-bounce threshold, sender
 * pause, out-of-office hold, reply engagement), duplicates do nothing,
 * unattributed and forged messages are kept and change nothing, a
 * reclassification with better rules acts on the new decision.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nurture/classify.h"
#include "nurture/config.h"
#include "nurture/inbound.h"
#include "nurture/store.h"
#include "nurture/token.h"
#include "t.h"

static char path[256];
static nt_store *st;
static nt_classifier *cls;
static nt_token_key key;
static nt_config cfg;
static nt_inbound_env env;

static char *
slurp(const char *name, size_t *len)
{
    char p[1024];
    const char *src = getenv("NT_SOURCE_DIR");
    FILE *f;
    char *buf;
    long n;

    snprintf(p, sizeof(p), "%s/contrib/rules/%s", src ? src : ".", name);
    if (!(f = fopen(p, "rb")))
        abort();
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        abort();
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static nt_classifier *
classifier(const char *extra_inbound)
{
    size_t lb, lr, li;
    char *b = slurp("bounce.rules", &lb), *r = slurp("reply.rules", &lr);
    char *i = slurp("inbound.rules", &li);
    nt_classifier *c = NULL;
    nt_diags ds;

    if (extra_inbound) {
        size_t n = strlen(extra_inbound);
        i = realloc(i, li + n + 2);
        i[li++] = '\n';
        memcpy(i + li, extra_inbound, n + 1);
        li += n;
    }
    nt_rules_text tb = {"bounce.rules", b, lb}, tr = {"reply.rules", r, lr},
                  ti = {"inbound.rules", i, li};
    nt_diags_init(&ds, 50);
    if (nt_classifier_new(&tb, &tr, &ti, &c, &ds) != NT_OK) {
        for (size_t k = 0; k < ds.len; k++)
            fprintf(stderr, "%s:%d:%d: %s\n", ds.items[k].file, ds.items[k].line, ds.items[k].col,
                    ds.items[k].msg);
        abort();
    }
    nt_diags_release(&ds);
    free(b);
    free(r);
    free(i);
    return c;
}

static int64_t
add_lead(const char *email)
{
    nt_lead l;
    nt_diag d;
    int created;

    nt_lead_init(&l);
    nt_lead_set(&l, "email", email);
    nt_lead_set(&l, "timezone", "Europe/Berlin");
    if (nt_store_lead_upsert(st, &l, "lead", 1000, &created, &d) != NT_OK)
        abort();
    int64_t id = l.id;
    nt_lead_release(&l);
    return id;
}

/* A lead enrolled in "welcome" with step 1 sent; returns the send id. */
static int64_t
sent_to(int64_t lead, const char *email)
{
    nt_enrollment e = {0};
    nt_send s = {0};
    nt_diag d;
    int added, claimed;

    e.lead_id = lead;
    e.campaign = "welcome";
    e.version = "v1";
    e.state = NT_ENROLL_ACTIVE;
    e.step = 1;
    e.enrolled_at = 1000;
    e.due_at = e.next_at = INT64_C(1795435200) + 86400;
    if (nt_store_enrollment_add(st, &e, &added, &d) != NT_OK || !added)
        abort();
    s.lead_id = lead;
    s.campaign = "welcome";
    s.version = "v1";
    s.step_id = "welcome";
    s.sender = "hello";
    s.email = (char *)email;
    s.created_at = 1000;
    if (nt_store_send_claim(st, &s, &claimed, &d) != NT_OK || !claimed)
        abort();
    s.state = NT_SEND_SENT;
    s.sent_at = 1000;
    s.updated_at = 1000;
    if (nt_store_send_mark(st, &s, &d) != NT_OK)
        abort();
    return s.id;
}

static nt_inbound_outcome
process(const char *raw)
{
    nt_inbound_src src = {"test", NULL, NULL};
    nt_inbound_outcome o;
    nt_diag d;

    if (nt_inbound_process(&env, &src, raw, strlen(raw), &o, &d) != NT_OK) {
        fprintf(stderr, "process: %s\n", d.msg);
        abort();
    }
    return o;
}

static int
suppressed(const char *email)
{
    int is = 0;
    nt_diag d;

    nt_store_suppressed(st, email, NULL, 0, &is, &d);
    return is;
}

static nt_enrollment
enrollment(int64_t lead)
{
    nt_enrollment e;
    nt_diag d;

    if (nt_store_enrollment_get(st, lead, "welcome", &e, &d) != NT_OK)
        abort();
    return e;
}

static void
dsn(char *out, size_t n, int64_t send_id, const char *rcpt, const char *status, const char *diag,
    int serial)
{
    char verp[NT_TOKEN_ADDR_MAX];

    nt_token_verp(&key, send_id, "bounces", "example.com", verp, sizeof(verp));
    snprintf(out, n,
             "From: MAILER-DAEMON@mx.example.org\r\nTo: %s\r\nSubject: Undelivered Mail\r\n"
             "Message-ID: <dsn%d@mx.example.org>\r\nMIME-Version: 1.0\r\n"
             "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n"
             "\r\n--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
             "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
             "Final-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: %s\r\n"
             "Diagnostic-Code: smtp; %s\r\n\r\n--b--\r\n",
             verp, serial, rcpt, status[0] == '5' ? "failed" : "delayed", status, diag);
}

static void
test_hard_bounce_once(void)
{
    int64_t lead = add_lead("gone@example.org"), sid = sent_to(lead, "gone@example.org");
    char raw[4096];
    nt_inbound_outcome o;
    nt_enrollment e;

    dsn(raw, sizeof(raw), sid, "gone@example.org", "5.1.1", "550 5.1.1 User unknown", 1);
    o = process(raw);
    CHECK_INT(o.kind, NT_IN_BOUNCE);
    CHECK_INT(o.lead_id, lead);
    CHECK_INT(o.duplicate, 0);
    CHECK(suppressed("gone@example.org"));
    e = enrollment(lead);
    CHECK_INT(e.state, NT_ENROLL_EXITED);
    nt_enrollment_release(&e);
    CHECK_CONTAINS(o.action, "suppressed");
    /* the same message again: nothing done again */
    o = process(raw);
    CHECK_INT(o.duplicate, 1);
    CHECK_INT(o.kind, NT_IN_BOUNCE);
}

static void
test_soft_bounces(void)
{
    int64_t lead = add_lead("full@example.org"), sid = sent_to(lead, "full@example.org");
    char raw[4096];

    for (int i = 0; i < 3; i++) {
        dsn(raw, sizeof(raw), sid, "full@example.org", "4.2.2", "452 4.2.2 Mailbox full", 10 + i);
        nt_inbound_outcome o = process(raw);
        CHECK_INT(o.kind, NT_IN_BOUNCE);
        CHECK_INT(suppressed("full@example.org"), i == 2); /* the third suppresses */
    }
}

static void
test_policy_block(void)
{
    int64_t lead = add_lead("blocked@example.org"), sid = sent_to(lead, "blocked@example.org");
    char raw[4096], reason[128];
    int64_t until = 0;
    nt_diag d;
    nt_enrollment e;

    dsn(raw, sizeof(raw), sid, "blocked@example.org", "5.7.1",
        "550 5.7.1 Message rejected due to DMARC policy", 20);
    nt_inbound_outcome o = process(raw);
    CHECK_INT(o.kind, NT_IN_BOUNCE);
    CHECK(!suppressed("blocked@example.org"));
    CHECK(nt_store_sender_paused(st, "hello", env.now + 10, &until, reason, sizeof(reason), &d) ==
          NT_OK);
    CHECK_INT(until, env.now + NT_POLICY_PAUSE);
    e = enrollment(lead);
    CHECK_INT(e.state, NT_ENROLL_ACTIVE);
    nt_enrollment_release(&e);
}

static void
test_away_and_reply(void)
{
    int64_t lead = add_lead("ana@example.org"), sid = sent_to(lead, "ana@example.org");
    char msgid[NT_TOKEN_ADDR_MAX], raw[4096];
    nt_inbound_outcome o;
    nt_enrollment e;

    nt_token_message_id(&key, sid, "example.com", msgid, sizeof(msgid));
    snprintf(raw, sizeof(raw),
             "From: ana@example.org\r\nTo: hello@example.com\r\nSubject: Abwesenheitsnotiz\r\n"
             "Auto-Submitted: auto-replied\r\nIn-Reply-To: <%s>\r\nMessage-ID: <ooo1@x>\r\n"
             "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n\r\n"
             "Ich bin bis einschließlich 27.11.2026 nicht im Büro.\r\n",
             msgid);
    o = process(raw);
    CHECK_INT(o.kind, NT_IN_AUTOREPLY);
    e = enrollment(lead);
    CHECK_INT(e.state, NT_ENROLL_ACTIVE);
    /* held at least to 2026-11-28 00:00 Berlin time */
    CHECK(e.next_at >= INT64_C(1795820400));
    CHECK(e.next_at <= INT64_C(1795820400) + 2 * 86400);
    nt_enrollment_release(&e);

    snprintf(raw, sizeof(raw),
             "From: Ana <ana@example.org>\r\nTo: hello@example.com\r\nSubject: Re: Welcome\r\n"
             "In-Reply-To: <%s>\r\nMessage-ID: <reply1@x>\r\n\r\n"
             "Can we book a demo next Tuesday?\r\n\r\n> quoted\r\n",
             msgid);
    o = process(raw);
    CHECK_INT(o.kind, NT_IN_REPLY);
    CHECK_INT(o.lead_id, lead);
    e = enrollment(lead);
    CHECK_INT(e.state, NT_ENROLL_EXITED);
    nt_enrollment_release(&e);
    CHECK(!suppressed("ana@example.org"));
}

static void
test_unattributed_and_forged(void)
{
    int64_t lead = add_lead("bob@example.org"), sid = sent_to(lead, "bob@example.org");
    char raw[4096], *p;
    nt_inbound_outcome o;
    nt_inbound in;
    nt_diag d;

    /* a bounce with no token of ours: kept, nobody suppressed */
    snprintf(raw, sizeof(raw),
             "From: MAILER-DAEMON@mx.example.org\r\nTo: postmaster@example.com\r\n"
             "Subject: Undelivered Mail\r\nMessage-ID: <dsn-x@mx>\r\nMIME-Version: 1.0\r\n"
             "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n"
             "\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n"
             "\r\nFinal-Recipient: rfc822; bob@example.org\r\nAction: failed\r\n"
             "Status: 5.1.1\r\n\r\n--b--\r\n");
    o = process(raw);
    CHECK_INT(o.kind, NT_IN_BOUNCE);
    CHECK_INT(o.lead_id, 0);
    CHECK(!suppressed("bob@example.org"));
    /* a forged token: recorded, ignored */
    dsn(raw, sizeof(raw), sid, "bob@example.org", "5.1.1", "550 5.1.1 unknown", 30);
    p = strstr(raw, "bounces+") + 8;
    *p = *p == 'a' ? 'b' : 'a';
    o = process(raw);
    CHECK_INT(o.forged, 1);
    CHECK_INT(o.lead_id, 0);
    CHECK(!suppressed("bob@example.org"));
    REQUIRE(nt_store_inbound_get(st, o.id, 0, &in, &d) == NT_OK);
    CHECK_INT(in.forged, 1);
    CHECK_CONTAINS(in.action, "did not verify");
    CHECK_CONTAINS(in.detail, "forged_token");
    nt_inbound_release(&in);
}

static void
test_reclassify(void)
{
    const char *raw = "From: carol@example.org\r\nTo: hello@example.com\r\n"
                      "Subject: zzqx\r\nMessage-ID: <odd1@x>\r\n\r\nzzqx ping\r\n";
    int64_t lead = add_lead("carol@example.org");
    nt_inbound_outcome o;
    nt_inkind before;
    nt_classifier *better;
    nt_diag d;
    nt_inbound_env env2 = env;

    (void)lead;
    o = process(raw);
    CHECK(o.kind != NT_IN_UNSUBSCRIBE);
    better = classifier("unsubscribe zzqx-stop ^\\s*zzqx\\b");
    env2.cls = better;
    REQUIRE(nt_inbound_reclassify(&env2, o.id, 0, &before, &o, &d) == NT_OK);
    CHECK(!suppressed("carol@example.org")); /* dry: nothing written */
    REQUIRE(nt_inbound_reclassify(&env2, o.id, 1, &before, &o, &d) == NT_OK);
    CHECK_INT(o.kind, NT_IN_UNSUBSCRIBE);
    CHECK(suppressed("carol@example.org"));
    nt_classifier_free(better);
}

int
main(void)
{
    nt_diag d;
    int fd;

    snprintf(path, sizeof(path), "/tmp/nt-test-inbound-XXXXXX");
    if ((fd = mkstemp(path)) < 0)
        return 1;
    close(fd);
    unlink(path);
    if (nt_store_open_sqlite(path, &st, &d) != NT_OK ||
        nt_token_key_init(&key, "inbound test secret 0123456789", 30, &d) != NT_OK)
        return 1;
    cls = classifier(NULL);
    memset(&cfg, 0, sizeof(cfg));
    cfg.timezone = "UTC";
    cfg.bounce_local = "bounces";
    cfg.inbound.soft_bounce_limit = 3;
    cfg.inbound.soft_bounce_window = 30 * 86400;
    cfg.inbound.away_pause = 7 * 86400;
    env = (nt_inbound_env){st, &cfg, cls, &key, INT64_C(1795435200)};
    RUN(test_hard_bounce_once);
    RUN(test_soft_bounces);
    RUN(test_policy_block);
    RUN(test_away_and_reply);
    RUN(test_unattributed_and_forged);
    RUN(test_reclassify);
    nt_classifier_free(cls);
    nt_token_key_release(&key);
    nt_store_close(st);
    unlink(path);
    return t_done();
}
