/*
 * Tests for the classifier: hand-written messages for each kind, the
 * out-of-office phrases and return dates of each language, the borders
 * between kinds (an out-of-office from the null sender is not a bounce, a
 * newsletter is not a reply, our own footer quoted in a reply is not an
 * unsubscribe request), bad rules files, the pathological seeds of the
 * inbound fuzz target, and the accuracy over the shared corpus: the
 * flufl.bounce messages and the reply fixtures of email_reply_parser and
 * talon.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nurture/buf.h"
#include "nurture/classify.h"
#include "t.h"

/* Measured with the default rules: bounces 115/117 (the two others are a
 * person's reply and an automatic reply that flufl lists only to check
 * that its detectors find no address in them); replies 146/152 (the six
 * others have no text of their own: three empty bodies, two empty HTML
 * documents, a forward without a word). */
#define BOUNCE_MIN 115
#define REPLY_MIN 146

static nt_classifier *cls;

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    nt_buf b;
    char chunk[8192];
    size_t n;

    if (!f)
        return NULL;
    nt_buf_init(&b, 0);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        nt_buf_add(&b, chunk, n);
    fclose(f);
    return nt_buf_detach(&b, len);
}

static const char *
source_dir(void)
{
    const char *s = getenv("NT_SOURCE_DIR");
    return s && *s ? s : ".";
}

static const char *
shared_dir(void)
{
    const char *s = getenv("NT_SHARED_DIR");
    return s && *s ? s : "../shared";
}

static nt_classifier *
load_defaults(void)
{
    static const char *const names[3] = {"bounce.rules", "reply.rules", "inbound.rules"};
    nt_rules_text t[3];
    char *text[3] = {NULL, NULL, NULL}, path[2048];
    nt_classifier *c = NULL;
    nt_diags ds;
    int i;

    nt_diags_init(&ds, 32);
    for (i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/contrib/rules/%s", source_dir(), names[i]);
        text[i] = read_file(path, &t[i].len);
        t[i].name = names[i];
        t[i].text = text[i];
        if (!text[i])
            fprintf(stderr, "cannot read %s\n", path);
    }
    if (text[0] && text[1] && text[2] && nt_classifier_new(&t[0], &t[1], &t[2], &c, &ds) != NT_OK) {
        char msg[600];
        for (size_t k = 0; k < ds.len; k++) {
            nt_diag_format(&ds.items[k], msg, sizeof(msg));
            fprintf(stderr, "%s\n", msg);
        }
    }
    for (i = 0; i < 3; i++)
        free(text[i]);
    nt_diags_release(&ds);
    return c;
}

/* Parse and classify raw[0..len); 0 when the message does not parse. */
static int
classify_raw(const char *raw, size_t len, nt_classification *cl)
{
    nt_inmsg m;
    nt_diag d;
    nt_err err;

    memset(cl, 0, sizeof(*cl));
    if (nt_inmsg_parse(raw, len, &m, &d) != NT_OK)
        return 0;
    err = nt_classify(cls, &m, cl, &d);
    nt_inmsg_release(&m);
    return err == NT_OK;
}

static int
classify_str(const char *raw, nt_classification *cl)
{
    return classify_raw(raw, strlen(raw), cl);
}

/* A plain message from a person; extra holds more header lines. */
static void
message(nt_buf *b, const char *extra, const char *date, const char *subject, const char *body)
{
    nt_buf_reset(b);
    nt_buf_addf(b,
                "From: Jane Roe <jane@customer.example>\r\n"
                "To: Dana <dana@northwind.example>\r\n"
                "Date: %s\r\n"
                "Subject: %s\r\n"
                "Message-ID: <r1@customer.example>\r\n"
                "%s"
                "MIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n"
                "\r\n%s\r\n",
                date, subject, extra ? extra : "", body);
}

struct ooo {
    const char *date, *subject, *body, *want_date;
};

static void
check_ooo(const struct ooo *o, const char *extra)
{
    nt_buf b;
    nt_classification cl;

    nt_buf_init(&b, 0);
    message(&b, extra, o->date, o->subject, o->body);
    CHECK(classify_raw(b.data, b.len, &cl));
    if (cl.kind != NT_IN_AUTOREPLY || strcmp(cl.return_date, o->want_date) != 0)
        fprintf(stderr, "  for \"%s\" / \"%s\": %s (%s) return date '%s'\n", o->subject, o->body,
                nt_inkind_name(cl.kind), cl.rule ? cl.rule : "-", cl.return_date);
    CHECK_STR(nt_inkind_name(cl.kind), "auto-reply");
    CHECK_STR(cl.return_date, o->want_date);
    nt_classification_release(&cl);
    nt_buf_release(&b);
}

/* The phrases of each language, in the subject and in the text, and the
 * dates they state.  No header says "automatic": the words alone decide. */
static void
test_out_of_office_languages(void)
{
    static const struct ooo cases[] = {
        /* English */
        {"Mon, 1 Mar 2027 08:00:00 +0000", "Out of Office: Your trial",
         "Thank you for your email. I will be back on 12 March.", "2027-03-12"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Automatic reply: Your trial",
         "I am currently out of the office, returning Monday, March 3rd.", "2027-03-03"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Re: Your trial",
         "I am out of the office until 14.03.2027 with limited access to email.", "2027-03-14"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Auto-Reply: hello", "I'm on vacation until 3/4/2027.",
         "2027-03-04"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Auto-Reply: hello",
         "I'm on vacation until 14/03/2027.", "2027-03-14"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Out of office", "Back in the office on 2027-03-14.",
         "2027-03-14"},
        /* A date without a year lies after the message: January next year. */
        {"Mon, 20 Dec 2027 08:00:00 +0000", "Out of office",
         "I am on holiday and back on 5 January.", "2028-01-05"},
        /* A weekday alone: the next one after the message (a Wednesday). */
        {"Wed, 3 Mar 2027 08:00:00 +0000", "Out of office", "I'll be back on Monday.",
         "2027-03-08"},
        {"Wed, 3 Mar 2027 08:00:00 +0000", "Out of office",
         "I am away from the office. For urgent matters please call Bob.", ""},
        /* German */
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Abwesenheitsnotiz: Ihre Anfrage",
         "Vielen Dank für Ihre Nachricht. Ich bin bis 2.3. nicht im Büro und zurück am "
         "3. März.",
         "2027-03-03"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Re: Ihre Anfrage",
         "Ich bin derzeit nicht im Büro. Ab dem 15.03. bin ich wieder erreichbar.", "2027-03-15"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Automatische Antwort: Ihre Anfrage",
         "Ich bin bis einschließlich 14.03.2027 im Urlaub.", "2027-03-14"},
        /* French */
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Réponse automatique : votre essai",
         "Je suis absente du bureau, de retour le 12 mars.", "2027-03-12"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Absence",
         "Je suis en congés jusqu'au 1er avril inclus.", "2027-04-01"},
        /* Spanish */
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Respuesta automática: su prueba",
         "Estoy fuera de la oficina hasta el 5 de abril.", "2027-04-05"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Fuera de la oficina",
         "Regreso el lunes 8 de marzo de 2027.", "2027-03-08"},
        /* Dutch */
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Automatisch antwoord: uw proef",
         "Ik ben afwezig en terug op 3 maart.", "2027-03-03"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Afwezig",
         "Ik ben met vakantie tot en met 14 maart 2027.", "2027-03-14"},
        /* Italian */
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Risposta automatica: la sua prova",
         "Sono fuori ufficio, rientro il 3 marzo.", "2027-03-03"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Fuori ufficio", "Sono in ferie fino al 14/03/2027.",
         "2027-03-14"},
        /* Portuguese */
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Resposta automática: o seu teste",
         "Estou fora do escritório, regresso a 3 de março.", "2027-03-03"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Ausente", "Estou de férias até 14 de março.",
         "2027-03-14"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_ooo(&cases[i], NULL);
}

/* The same phrases only in the text, with a subject that says nothing. */
static void
test_out_of_office_body_only(void)
{
    static const struct ooo cases[] = {
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Re: Your trial",
         "I am currently out of the office and will be back on 12 March.", "2027-03-12"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Re: Ihre Anfrage",
         "Ich bin derzeit nicht im Büro und zurück am 3. März.", "2027-03-03"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Re: votre essai",
         "Je suis absent, de retour le 12 mars.", "2027-03-12"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Re: su prueba",
         "Estoy de vacaciones hasta el 5 de abril.", "2027-04-05"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Re: uw proef", "Ik ben op vakantie, terug op 3 maart.",
         "2027-03-03"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Re: la sua prova",
         "Sono in ferie, rientro il 3 marzo.", "2027-03-03"},
        {"Sat, 20 Feb 2027 08:00:00 +0000", "Re: o seu teste",
         "Estou de férias, regresso a 3 de março.", "2027-03-03"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_ooo(&cases[i], NULL);
}

static void
expect_kind(const char *raw, const char *kind, const char *rule)
{
    nt_classification cl;

    CHECK(classify_str(raw, &cl));
    CHECK_STR(nt_inkind_name(cl.kind), kind);
    if (rule)
        CHECK_STR(cl.rule, rule);
    nt_classification_release(&cl);
}

/* Headers alone make an automatic reply; X-Auto-Response-Suppress does not. */
static void
test_auto_headers(void)
{
    static const struct {
        const char *header, *kind, *rule;
    } cases[] = {
        {"Auto-Submitted: auto-replied\r\n", "auto-reply", "header:auto-submitted"},
        {"Auto-Submitted: auto-generated (vacation)\r\n", "auto-reply", "header:auto-submitted"},
        {"X-Autoreply: yes\r\n", "auto-reply", "header:x-autoreply"},
        {"X-Autorespond: Thanks\r\n", "auto-reply", "header:x-autorespond"},
        {"Precedence: auto_reply\r\n", "auto-reply", "header:precedence"},
        {"Auto-Submitted: no\r\n", "reply", "text"},
        {"X-Auto-Response-Suppress: All\r\n", "reply", "text"},
    };
    nt_buf b;

    nt_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        message(&b, cases[i].header, "Mon, 1 Mar 2027 08:00:00 +0000", "Re: Your trial",
                "Thanks for your note.");
        expect_kind(b.data, cases[i].kind, cases[i].rule);
    }
    nt_buf_release(&b);
}

/* RFC 3834 replies come from the null sender, which the bounce rules take
 * for a notice; the words make it an automatic reply. */
static void
test_out_of_office_not_bounce(void)
{
    static const char raw[] = "Return-Path: <>\r\n"
                              "From: Jane Roe <jane@customer.example>\r\n"
                              "To: bounces+abc@northwind.example\r\n"
                              "Date: Mon, 1 Mar 2027 08:00:00 +0000\r\n"
                              "Subject: Re: Your trial\r\n"
                              "Auto-Submitted: auto-replied\r\n"
                              "\r\n"
                              "I am out of the office until 14 March.\r\n"
                              "For urgent matters contact:\r\n"
                              "To: bob@customer.example\r\n";
    nt_classification cl;
    nt_bounce_result res;
    nt_inmsg m;
    nt_diag d;

    CHECK(classify_str(raw, &cl));
    CHECK_STR(nt_inkind_name(cl.kind), "auto-reply");
    CHECK_STR(cl.return_date, "2027-03-14");
    CHECK_INT(cl.bounce.is_bounce, 0);
    CHECK_INT(cl.bounce.n, 0);
    nt_classification_release(&cl);
    /* What the guard is for: the bounce rules alone call it a bounce. */
    {
        char path[2048];
        nt_bounce_rules *br = NULL;
        snprintf(path, sizeof(path), "%s/contrib/rules/bounce.rules", source_dir());
        REQUIRE(nt_bounce_rules_load(path, &br, NULL) == NT_OK);
        REQUIRE(nt_inmsg_parse(raw, sizeof(raw) - 1, &m, &d) == NT_OK);
        CHECK(nt_bounce_analyze(br, &m, &res, &d) == NT_OK);
        CHECK_INT(res.is_bounce, 1);
        nt_bounce_result_release(&res);
        nt_inmsg_release(&m);
        nt_bounce_rules_free(br);
    }
}

/* An MTA's notice with Auto-Submitted is still a bounce. */
static void
test_mta_notice_with_auto_submitted(void)
{
    static const char raw[] =
        "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\r\n"
        "To: bounces+abc@northwind.example\r\n"
        "Subject: Mail delivery failed: returning message to sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "\r\n"
        "This message was created automatically by mail delivery software.\r\n"
        "\r\n"
        "A message that you sent could not be delivered to one or more of its\r\n"
        "recipients. This is a permanent error. The following address(es) failed:\r\n"
        "\r\n"
        "  bob@example.net\r\n"
        "    Unrouteable address\r\n";
    nt_classification cl;

    CHECK(classify_str(raw, &cl));
    CHECK_STR(nt_inkind_name(cl.kind), "bounce");
    CHECK_INT(cl.bounce.n, 1);
    if (cl.bounce.n == 1)
        CHECK_STR(cl.bounce.items[0].recipient, "bob@example.net");
    nt_classification_release(&cl);
}

static void
test_policy_bounce(void)
{
    static const char raw[] =
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        "To: bounces+abc@northwind.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"BB\"\r\n"
        "\r\n"
        "--BB\r\nContent-Type: text/plain\r\n\r\nI'm sorry.\r\n"
        "--BB\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        "Final-Recipient: rfc822; ann@example.org\r\n"
        "Action: failed\r\nStatus: 5.7.1\r\n"
        "Diagnostic-Code: smtp; 550 5.7.1 Service unavailable; client [192.0.2.1] blocked "
        "using zen.spamhaus.org\r\n\r\n"
        "--BB\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "Message-ID: <aaaabbbbccccddddeeee@northwind.example>\r\n"
        "To: ann@example.org\r\n\r\n"
        "--BB--\r\n";
    nt_classification cl;

    CHECK(classify_str(raw, &cl));
    CHECK_STR(nt_inkind_name(cl.kind), "bounce");
    CHECK_STR(cl.rule, "dsn");
    CHECK_INT(cl.bounce.n, 1);
    if (cl.bounce.n == 1) {
        CHECK_STR(cl.bounce.items[0].status, "5.7.1");
        CHECK_STR(nt_bounce_reason_name(cl.bounce.items[0].reason), "policy");
        CHECK_INT(cl.bounce.items[0].hard, 1);
    }
    CHECK(cl.visible == NULL);
    nt_classification_release(&cl);
}

/* A "delivered" report and a read receipt are not bounces. */
static void
test_reports(void)
{
    static const char delivered[] =
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        "Subject: Successful Mail Delivery Report\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"BB\"\r\n\r\n"
        "--BB\r\nContent-Type: text/plain\r\n\r\nDelivered.\r\n"
        "--BB\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        "Final-Recipient: rfc822; ann@example.org\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n"
        "--BB--\r\n";
    static const char mdn[] =
        "From: Ann <ann@example.org>\r\n"
        "Subject: Read: Your trial\r\n"
        "Content-Type: multipart/report; report-type=disposition-notification; "
        "boundary=\"BB\"\r\n\r\n"
        "--BB\r\nContent-Type: text/plain\r\n\r\nYour message was read.\r\n"
        "--BB\r\nContent-Type: message/disposition-notification\r\n\r\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n"
        "--BB--\r\n";

    expect_kind(delivered, "unknown", "report");
    expect_kind(mdn, "unknown", "report");
}

static void
test_complaint(void)
{
    static const char raw[] =
        "From: Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>\r\n"
        "To: abuse@northwind.example\r\n"
        "Subject: FW: Your trial\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=feedback-report; boundary=\"f\"\r\n\r\n"
        "--f\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n"
        "--f\r\nContent-Type: message/feedback-report\r\n\r\n"
        "Feedback-Type: abuse\r\nUser-Agent: Yahoo!-Mail-Feedback/1.0\r\nVersion: 1\r\n\r\n"
        "--f\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: dana@northwind.example\r\nMessage-ID: <c@northwind.example>\r\n\r\nbody\r\n"
        "--f--\r\n";
    nt_classification cl;

    CHECK(classify_str(raw, &cl));
    CHECK_STR(nt_inkind_name(cl.kind), "complaint");
    CHECK_STR(cl.rule, "arf");
    CHECK_STR(cl.feedback_type, "abuse");
    nt_classification_release(&cl);
}

static void
test_unsubscribe(void)
{
    static const char *const short_bodies[] = {
        "Please remove me from your list.",
        "unsubscribe",
        "STOP",
        "Bitte abmelden.",
        "Merci de me désinscrire.",
        "Quiero darme de baja.",
        "Graag afmelden.",
        "Cancellami per favore.",
        "Por favor, descadastrar meu e-mail.",
    };
    nt_buf b, body;
    nt_classification cl;

    nt_buf_init(&b, 0);
    nt_buf_init(&body, 0);
    for (size_t i = 0; i < sizeof(short_bodies) / sizeof(short_bodies[0]); i++) {
        message(&b, "In-Reply-To: <x@northwind.example>\r\n", "Mon, 1 Mar 2027 08:00:00 +0000",
                "Re: Your trial", short_bodies[i]);
        CHECK(classify_raw(b.data, b.len, &cl));
        if (cl.kind != NT_IN_UNSUBSCRIBE)
            fprintf(stderr, "  for \"%s\": %s\n", short_bodies[i], nt_inkind_name(cl.kind));
        CHECK_STR(nt_inkind_name(cl.kind), "unsubscribe");
        CHECK_INT(cl.intent, NT_INTENT_UNSUBSCRIBE);
        CHECK(cl.visible != NULL);
        nt_classification_release(&cl);
    }

    /* Sent to our List-Unsubscribe address, with nothing written. */
    nt_buf_reset(&b);
    nt_buf_adds(&b, "From: jane@customer.example\r\n"
                    "To: <Unsubscribe+abcdefghijklmnopqrst@northwind.example>\r\n"
                    "Subject: \r\n\r\n");
    expect_kind(b.data, "unsubscribe", "address:unsubscribe");

    /* The subject alone. */
    message(&b, NULL, "Mon, 1 Mar 2027 08:00:00 +0000", "Unsubscribe", "");
    expect_kind(b.data, "unsubscribe", "one-word");

    /* Our footer quoted under a reply is not the reader's request. */
    message(&b, "In-Reply-To: <x@northwind.example>\r\n", "Mon, 1 Mar 2027 08:00:00 +0000",
            "Re: Your trial",
            "Sounds great, tell me more.\r\n\r\n"
            "On Mon, 1 Mar 2027 at 09:00, Dana <dana@northwind.example> wrote:\r\n"
            "> Here is our offer.\r\n"
            "> To unsubscribe, click here or reply unsubscribe.\r\n");
    CHECK(classify_raw(b.data, b.len, &cl));
    CHECK_STR(nt_inkind_name(cl.kind), "reply");
    CHECK_STR(nt_intent_name(cl.intent), "interested");
    CHECK_STR(cl.visible, "Sounds great, tell me more.");
    nt_classification_release(&cl);

    /* In a long reply the request is the intent; the kind stays reply. */
    for (int i = 0; i < 6; i++)
        nt_buf_adds(&body, "We looked at the product again this week and talked it over "
                           "with the team. ");
    nt_buf_adds(&body, "Please remove me from your mailing list.");
    message(&b, "In-Reply-To: <x@northwind.example>\r\n", "Mon, 1 Mar 2027 08:00:00 +0000",
            "Re: Your trial", body.data);
    CHECK(classify_raw(b.data, b.len, &cl));
    CHECK_STR(nt_inkind_name(cl.kind), "reply");
    CHECK_STR(nt_intent_name(cl.intent), "unsubscribe");
    nt_classification_release(&cl);
    nt_buf_release(&body);
    nt_buf_release(&b);
}

static void
test_intents(void)
{
    static const struct {
        const char *body, *intent;
    } cases[] = {
        {"This looks interesting, please send me more information.", "interested"},
        {"Can we schedule a call next Tuesday?", "meeting"},
        {"How much does the pro plan cost per user?", "pricing"},
        {"Not interested, thanks.", "not-interested"},
        {"I'm not the right person for this, please contact Jane Doe.", "wrong-person"},
        {"Kein Interesse, danke.", "not-interested"},
        {"Nous sommes intéressés, pouvez-vous m'envoyer le devis ?", "pricing"},
        {"Hi Dana, thanks for the note.", "none"},
    };
    nt_buf b;
    nt_classification cl;

    nt_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        message(&b, "In-Reply-To: <x@northwind.example>\r\n", "Mon, 1 Mar 2027 08:00:00 +0000",
                "Re: Your trial", cases[i].body);
        CHECK(classify_raw(b.data, b.len, &cl));
        CHECK_STR(nt_inkind_name(cl.kind), "reply");
        if (strcmp(nt_intent_name(cl.intent), cases[i].intent) != 0)
            fprintf(stderr, "  for \"%s\":\n", cases[i].body);
        CHECK_STR(nt_intent_name(cl.intent), cases[i].intent);
        CHECK(cl.intent == NT_INTENT_NONE ? cl.intent_rule == NULL : cl.intent_rule != NULL);
        CHECK_STR(cl.visible, cases[i].body);
        nt_classification_release(&cl);
    }
    nt_buf_release(&b);
}

static void
test_unknown(void)
{
    nt_buf b;

    nt_buf_init(&b, 0);
    /* No text at all, or only quoted history. */
    message(&b, NULL, "Mon, 1 Mar 2027 08:00:00 +0000", "Re: Your trial", "");
    expect_kind(b.data, "unknown", "empty");
    message(&b, NULL, "Mon, 1 Mar 2027 08:00:00 +0000", "Re: Your trial",
            "> what you wrote\r\n> before\r\n");
    expect_kind(b.data, "unknown", "empty");
    /* A newsletter, even with "unsubscribe" in its short text. */
    message(&b, "List-Id: News <news.shop.example>\r\nPrecedence: bulk\r\n",
            "Mon, 1 Mar 2027 08:00:00 +0000", "Our spring sale", "Big sale! Unsubscribe here.");
    expect_kind(b.data, "unknown", "bulk");
    /* From an address no one answers from. */
    nt_buf_reset(&b);
    nt_buf_adds(&b, "From: Shop <no-reply@shop.example>\r\nSubject: Your order\r\n\r\n"
                    "Your order has shipped.\r\n");
    expect_kind(b.data, "unknown", "bulk");
    /* A reply from someone on a list is still a reply. */
    message(&b, "List-Id: Team <team.customer.example>\r\nIn-Reply-To: <x@northwind.example>\r\n",
            "Mon, 1 Mar 2027 08:00:00 +0000", "Re: Your trial", "Yes, let's talk.");
    expect_kind(b.data, "reply", "text");
    nt_buf_release(&b);
}

static void
test_names(void)
{
    CHECK_STR(nt_inkind_name(NT_IN_AUTOREPLY), "auto-reply");
    CHECK_STR(nt_inkind_name((nt_inkind)99), "unknown");
    CHECK_INT(nt_inkind_from("unsubscribe"), NT_IN_UNSUBSCRIBE);
    CHECK_INT(nt_inkind_from("nope"), -1);
    CHECK_STR(nt_intent_name(NT_INTENT_WRONG_PERSON), "wrong-person");
    CHECK_STR(nt_intent_name((nt_intent)99), "none");
    CHECK_INT(nt_intent_from("not-interested"), NT_INTENT_NOT_INTERESTED);
    CHECK_INT(nt_intent_from("maybe"), -1);
}

/* Every bad line of every file, with its file and line. */
static void
test_bad_rules(void)
{
    static const char bounce[] = "notice ok ^From: x\n";
    static const char reply[] = "quote-line ^>\nbogus x\n";
    static const char inbound[] = "# comment\n"
                                  "month 13 ^x$\n"
                                  "weekday mon ^monday$\n"
                                  "intent maybe \\bx\n"
                                  "return-date en \\G(?<mon>\\w+)\n"
                                  "return-date en \\G(?<x>\\d+)\n"
                                  "auto-body ok (unclosed\n"
                                  "month 3 ^march$\n";
    nt_rules_text b = {"b.rules", bounce, sizeof(bounce) - 1};
    nt_rules_text r = {"r.rules", reply, sizeof(reply) - 1};
    nt_rules_text in = {"in.rules", inbound, sizeof(inbound) - 1};
    nt_classifier *c = (nt_classifier *)1;
    nt_diags ds;

    nt_diags_init(&ds, 32);
    CHECK_INT(nt_classifier_new(&b, &r, &in, &c, &ds), NT_EINVAL);
    CHECK(c == NULL);
    /* rules.c stops the inbound file at the bad intent and the bad regex;
     * the kind checks run only on a file that parsed. */
    CHECK_INT(ds.errors, 3);
    if (ds.len == 3) {
        CHECK_STR(ds.items[0].file, "r.rules");
        CHECK_INT(ds.items[0].line, 2);
        CHECK_STR(ds.items[1].file, "in.rules");
        CHECK_INT(ds.items[1].line, 4);
        CHECK_INT(ds.items[2].line, 7);
    }
    nt_diags_release(&ds);

    /* With the syntax right, the kind checks report each line. */
    {
        static const char kinds[] = "month 13 ^x$\n"
                                    "weekday mon ^monday$\n"
                                    "return-date en \\G(?<mon>\\w+)\n"
                                    "return-date en \\G(?<x>\\d+)\n"
                                    "return-date en \\G(?<d>\\d+)\\.(?<m>\\d+)\n"
                                    "month 3 ^march$\n";
        nt_rules_text k = {"k.rules", kinds, sizeof(kinds) - 1};
        nt_rules_text okr = {"r.rules", "quote-line ^>\n", 14};

        nt_diags_init(&ds, 32);
        CHECK_INT(nt_classifier_new(&b, &okr, &k, &c, &ds), NT_EINVAL);
        CHECK_INT(ds.errors, 4);
        if (ds.len == 4) {
            CHECK_INT(ds.items[0].line, 1);
            CHECK_CONTAINS(ds.items[0].msg, "1 to 12");
            CHECK_INT(ds.items[1].line, 2);
            CHECK_INT(ds.items[2].line, 3);
            CHECK_CONTAINS(ds.items[2].msg, "needs a day");
            CHECK_INT(ds.items[3].line, 4);
        }
        nt_diags_release(&ds);
    }
    nt_diags_init(&ds, 32);
    CHECK_INT(nt_classifier_new(&b, &r, NULL, &c, &ds), NT_EINVAL);
    nt_diags_release(&ds);
}

/* How long one pathological seed may take.  Under AddressSanitizer every
 * realloc copies, and GMime grows its buffer for a long header a step at a
 * time, so the 1 MiB header alone takes about a second there; the limit
 * then only catches a runaway. */
#if defined(__SANITIZE_ADDRESS__)
#define SEED_SECONDS 10.0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SEED_SECONDS 10.0
#endif
#endif
#ifndef SEED_SECONDS
#define SEED_SECONDS 0.25
#endif

/* The seeds of the inbound fuzz target, pathological ones included: each
 * must parse (or be refused) and classify fast. */
static void
test_fuzz_seeds(void)
{
    char dir[2048], path[4096];
    DIR *dp;
    struct dirent *e;
    int n = 0;

    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/inbound", source_dir());
    dp = opendir(dir);
    REQUIRE(dp != NULL);
    while ((e = readdir(dp)) != NULL) {
        char *raw;
        size_t len;
        nt_classification cl;
        struct timespec t0, t1;
        double secs;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        raw = read_file(path, &len);
        CHECK(raw != NULL);
        if (!raw)
            continue;
        /* The first byte picks the fuzz target's path: odd is a rules file. */
        if (len == 0 || (raw[0] & 1)) {
            free(raw);
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (classify_raw(raw + 1, len - 1, &cl))
            nt_classification_release(&cl);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (secs > SEED_SECONDS / 10)
            fprintf(stderr, "  %s: %.3f s\n", e->d_name, secs);
        CHECK(secs < SEED_SECONDS);
        free(raw);
        n++;
    }
    closedir(dp);
    CHECK(n >= 10);
}

/* ---- the shared corpus ---- */

/* expected.tsv rows that name a kind are bounces: each must classify as
 * one. */
static void
test_corpus_bounces(void)
{
    char path[2048], *tsv, *line, *next;
    size_t len;
    int n = 0, ok = 0;
    int counts[NT_IN_REPLY + 1] = {0};

    snprintf(path, sizeof(path), "%s/corpus/bounces-flufl/expected.tsv", shared_dir());
    tsv = read_file(path, &len);
    REQUIRE(tsv != NULL);
    for (line = tsv; line && *line; line = next) {
        char *f[4] = {0}, *raw;
        size_t rawlen;
        nt_classification cl;
        int k;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (strncmp(line, "file\t", 5) == 0 || !*line)
            continue;
        f[0] = line;
        for (k = 1; k < 4; k++) {
            f[k] = f[k - 1] ? strchr(f[k - 1], '\t') : NULL;
            if (f[k])
                *f[k]++ = '\0';
        }
        if (!f[3] || !*f[3])
            continue;
        snprintf(path, sizeof(path), "%s/corpus/bounces-flufl/%s", shared_dir(), f[0]);
        raw = read_file(path, &rawlen);
        CHECK(raw != NULL);
        if (!raw)
            continue;
        n++;
        if (classify_raw(raw, rawlen, &cl)) {
            counts[cl.kind]++;
            if (cl.kind == NT_IN_BOUNCE)
                ok++;
            else
                fprintf(stderr, "  %s: %s (%s), not a bounce\n", f[0], nt_inkind_name(cl.kind),
                        cl.rule ? cl.rule : "-");
            nt_classification_release(&cl);
        } else {
            fprintf(stderr, "  %s: does not parse\n", f[0]);
        }
        free(raw);
    }
    free(tsv);
    printf("classify: bounces %d/%d classified as bounce (auto-reply %d, reply %d, unknown %d)\n",
           ok, n, counts[NT_IN_AUTOREPLY], counts[NT_IN_REPLY], counts[NT_IN_UNKNOWN]);
    CHECK(ok >= BOUNCE_MIN);
}

/* A reply body as the message a lead would send back. */
static void
wrap_reply(nt_buf *b, const char *body, size_t len, int html)
{
    nt_buf_reset(b);
    nt_buf_addf(b,
                "From: Lead <lead@customer.example>\r\n"
                "To: Dana <dana@northwind.example>\r\n"
                "Date: Mon, 1 Mar 2027 08:00:00 +0000\r\n"
                "Subject: Re: Your trial\r\n"
                "In-Reply-To: <aaaabbbbccccddddeeee@northwind.example>\r\n"
                "MIME-Version: 1.0\r\n"
                "Content-Type: text/%s; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n\r\n",
                html ? "html" : "plain");
    nt_buf_add(b, body, len);
}

struct tally {
    int n, ok;
};

static void
count_reply(struct tally *t, const char *what, const char *raw, size_t len)
{
    nt_classification cl;

    t->n++;
    if (!classify_raw(raw, len, &cl)) {
        fprintf(stderr, "  %s: does not parse\n", what);
        return;
    }
    if (cl.kind == NT_IN_REPLY)
        t->ok++;
    else
        fprintf(stderr, "  %s: %s (%s), not a reply\n", what, nt_inkind_name(cl.kind),
                cl.rule ? cl.rule : "-");
    nt_classification_release(&cl);
}

/* Every file of dir whose name ends in suffix (all when NULL). */
static void
count_dir(struct tally *t, const char *dir, const char *suffix, int wrap, int html)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char path[4096];
    nt_buf b;

    CHECK(dp != NULL);
    if (!dp)
        return;
    nt_buf_init(&b, 0);
    while ((e = readdir(dp)) != NULL) {
        size_t nl = strlen(e->d_name), len;
        char *raw;

        if (e->d_name[0] == '.' ||
            (suffix && (nl < strlen(suffix) || strcmp(e->d_name + nl - strlen(suffix), suffix))))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (!(raw = read_file(path, &len)))
            continue;
        if (wrap) {
            wrap_reply(&b, raw, len, html);
            count_reply(t, path, b.data, b.len);
        } else {
            count_reply(t, path, raw, len);
        }
        free(raw);
    }
    closedir(dp);
    nt_buf_release(&b);
}

/* talon's cases: each folder's input.txt or input.html. */
static void
count_talon_cases(struct tally *t, const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char path[4096];
    nt_buf b;

    CHECK(dp != NULL);
    if (!dp)
        return;
    nt_buf_init(&b, 0);
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
        wrap_reply(&b, raw, len, html);
        count_reply(t, path, b.data, b.len);
        free(raw);
    }
    closedir(dp);
    nt_buf_release(&b);
}

static void
test_corpus_replies(void)
{
    char dir[2048];
    struct tally erp = {0, 0}, cases = {0, 0}, eml = {0, 0};

    snprintf(dir, sizeof(dir), "%s/corpus/replies/email_reply_parser/emails", shared_dir());
    count_dir(&erp, dir, ".txt", 1, 0);
    snprintf(dir, sizeof(dir), "%s/corpus/replies/talon/cases", shared_dir());
    count_talon_cases(&cases, dir);
    snprintf(dir, sizeof(dir), "%s/corpus/replies/talon/fixtures/standard_replies", shared_dir());
    count_dir(&eml, dir, ".eml", 0, 0);
    printf("classify: replies %d/%d classified as reply (email_reply_parser %d/%d, talon cases "
           "%d/%d, talon messages %d/%d)\n",
           erp.ok + cases.ok + eml.ok, erp.n + cases.n + eml.n, erp.ok, erp.n, cases.ok, cases.n,
           eml.ok, eml.n);
    CHECK(erp.ok + cases.ok + eml.ok >= REPLY_MIN);
}

int
main(void)
{
    cls = load_defaults();
    if (!cls) {
        fprintf(stderr, "cannot load the default rules from contrib/rules\n");
        return 1;
    }
    RUN(test_names);
    RUN(test_out_of_office_languages);
    RUN(test_out_of_office_body_only);
    RUN(test_auto_headers);
    RUN(test_out_of_office_not_bounce);
    RUN(test_mta_notice_with_auto_submitted);
    RUN(test_policy_bounce);
    RUN(test_reports);
    RUN(test_complaint);
    RUN(test_unsubscribe);
    RUN(test_intents);
    RUN(test_unknown);
    RUN(test_bad_rules);
    RUN(test_fuzz_seeds);
    RUN(test_corpus_bounces);
    RUN(test_corpus_replies);
    nt_classifier_free(cls);
    return t_done();
}
