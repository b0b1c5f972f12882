/*
 * Attribution of inbound mail by verified tokens: the VERP address in each
 * delivery header, the unsubscribe address, In-Reply-To, References (newest
 * first), a DSN's returned Message-ID; forged tokens reported and passed
 * over; ordinary plus-addresses and other mailers' Message-IDs left alone;
 * without a key, candidates reported unverified.
 */
#include <stdio.h>
#include <string.h>

#include "nurture/attribute.h"
#include "nurture/mime.h"
#include "nurture/token.h"
#include "t.h"

static nt_token_key key;

static void
parse(const char *raw, nt_inmsg *m)
{
    nt_diag d;

    if (nt_inmsg_parse(raw, strlen(raw), m, &d) != NT_OK) {
        fprintf(stderr, "parse: %s\n", d.msg);
        abort();
    }
}

/* Attribute a message made of `headers` and a short body. */
static void
attribute(const char *headers, const char *envelope, nt_attribution *out)
{
    char raw[4096];
    nt_inmsg m;

    snprintf(raw, sizeof(raw), "%sFrom: someone@example.net\r\nSubject: hi\r\n\r\nhello\r\n",
             headers);
    parse(raw, &m);
    nt_attribute(&key, &m, envelope, "bounces", out);
    nt_inmsg_release(&m);
}

static void
test_verp(void)
{
    char verp[NT_TOKEN_ADDR_MAX], hdr[600];
    nt_attribution a;

    REQUIRE(nt_token_verp(&key, 4242, "bounces", "mail.example.com", verp, sizeof(verp)) == NT_OK);
    snprintf(hdr, sizeof(hdr), "Delivered-To: %s\r\nTo: other@example.com\r\n", verp);
    attribute(hdr, NULL, &a);
    CHECK_INT(a.by, NT_ATTR_VERP);
    CHECK_INT(a.send_id, 4242);
    CHECK_STR(a.where, "Delivered-To");
    CHECK_INT(a.forged, 0);
    /* upper-cased by an MTA, inside a name-addr, in a list */
    for (char *p = verp; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    snprintf(hdr, sizeof(hdr), "To: x@example.com, \"Bounces\" <%s>\r\n", verp);
    attribute(hdr, NULL, &a);
    CHECK_INT(a.by, NT_ATTR_VERP);
    CHECK_INT(a.send_id, 4242);
    /* the envelope recipient from the MTA comes first */
    REQUIRE(nt_token_verp(&key, 7, "bounces", "example.com", verp, sizeof(verp)) == NT_OK);
    attribute("To: somebody@example.com\r\n", verp, &a);
    CHECK_INT(a.by, NT_ATTR_VERP);
    CHECK_INT(a.send_id, 7);
    CHECK_STR(a.where, "envelope");
}

static void
test_unsubscribe_and_replies(void)
{
    char addr[NT_TOKEN_ADDR_MAX], id1[NT_TOKEN_ADDR_MAX], id2[NT_TOKEN_ADDR_MAX], hdr[1200];
    nt_attribution a;

    REQUIRE(nt_token_unsub_mailto(&key, 99, "example.com", addr, sizeof(addr)) == NT_OK);
    snprintf(hdr, sizeof(hdr), "To: <%s>\r\n", addr);
    attribute(hdr, NULL, &a);
    CHECK_INT(a.by, NT_ATTR_UNSUB_TOKEN);
    CHECK_INT(a.send_id, 99);

    REQUIRE(nt_token_message_id(&key, 11, "example.com", id1, sizeof(id1)) == NT_OK);
    REQUIRE(nt_token_message_id(&key, 12, "example.com", id2, sizeof(id2)) == NT_OK);
    snprintf(hdr, sizeof(hdr), "To: sales@example.com\r\nIn-Reply-To: <%s>\r\n", id2);
    attribute(hdr, NULL, &a);
    CHECK_INT(a.by, NT_ATTR_IN_REPLY_TO);
    CHECK_INT(a.send_id, 12);
    /* References: the newest (last) of ours wins; other mailers' ids pass */
    snprintf(hdr, sizeof(hdr),
             "To: sales@example.com\r\nReferences: <%s> <CAF=xyz+abc@mail.gmail.com>\r\n"
             " <%s> <0123456789.ABCD@outlook.com>\r\n",
             id1, id2);
    attribute(hdr, NULL, &a);
    CHECK_INT(a.by, NT_ATTR_REFERENCES);
    CHECK_INT(a.send_id, 12);
    CHECK_INT(a.forged, 0);
}

static void
test_returned_id(void)
{
    char id[NT_TOKEN_ADDR_MAX], raw[4096];
    nt_inmsg m;
    nt_attribution a;

    REQUIRE(nt_token_message_id(&key, 31337, "example.com", id, sizeof(id)) == NT_OK);
    snprintf(raw, sizeof(raw),
             "From: MAILER-DAEMON@mx.example.net\r\nTo: someone@example.com\r\n"
             "Subject: Undelivered Mail\r\nMIME-Version: 1.0\r\n"
             "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n"
             "\r\n--b\r\nContent-Type: text/plain\r\n\r\nIt failed.\r\n"
             "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
             "Final-Recipient: rfc822; lead@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
             "\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <%s>\r\n"
             "To: lead@example.org\r\nSubject: Welcome\r\n\r\n--b--\r\n",
             id);
    parse(raw, &m);
    nt_attribute(&key, &m, NULL, "bounces", &a);
    CHECK_INT(a.by, NT_ATTR_RETURNED_ID);
    CHECK_INT(a.send_id, 31337);
    nt_inmsg_release(&m);
}

static void
test_forged_and_lookalikes(void)
{
    char verp[NT_TOKEN_ADDR_MAX], id[NT_TOKEN_ADDR_MAX], hdr[1200];
    nt_attribution a;
    nt_token_key other;
    nt_diag d;

    /* a plus-address that is not ours is no candidate at all */
    attribute("To: jane+newsletter@example.com\r\n", NULL, &a);
    CHECK_INT(a.by, NT_ATTR_NONE);
    CHECK_INT(a.forged, 0);
    /* a token made under another secret is a forgery: reported, passed over */
    REQUIRE(nt_token_key_init(&other, "another secret, 32 bytes long!!", 31, &d) == NT_OK);
    REQUIRE(nt_token_verp(&other, 5, "bounces", "example.com", verp, sizeof(verp)) == NT_OK);
    REQUIRE(nt_token_message_id(&key, 6, "example.com", id, sizeof(id)) == NT_OK);
    snprintf(hdr, sizeof(hdr), "Delivered-To: %s\r\nIn-Reply-To: <%s>\r\n", verp, id);
    attribute(hdr, NULL, &a);
    CHECK_INT(a.forged, 1);
    CHECK_STR(a.forged_where, "Delivered-To");
    CHECK_INT(a.by, NT_ATTR_IN_REPLY_TO); /* the genuine one still counts */
    CHECK_INT(a.send_id, 6);
    /* only a forgery: nothing attributed */
    snprintf(hdr, sizeof(hdr), "Delivered-To: %s\r\n", verp);
    attribute(hdr, NULL, &a);
    CHECK_INT(a.by, NT_ATTR_NONE);
    CHECK_INT(a.forged, 1);
    CHECK(a.forged_token[0] != '\0');
    nt_token_key_release(&other);
}

static void
test_without_key(void)
{
    char verp[NT_TOKEN_ADDR_MAX], raw[1024];
    nt_token_key none = {0};
    nt_inmsg m;
    nt_attribution a;

    REQUIRE(nt_token_verp(&key, 77, "bounces", "example.com", verp, sizeof(verp)) == NT_OK);
    snprintf(raw, sizeof(raw), "To: %s\r\nSubject: x\r\n\r\nbody\r\n", verp);
    parse(raw, &m);
    nt_attribute(&none, &m, NULL, NULL, &a);
    CHECK_INT(a.by, NT_ATTR_NONE);
    CHECK_INT(a.forged, 0);
    CHECK(a.token[0] != '\0' && strstr(verp, a.token) != NULL);
    CHECK_STR(a.where, "To");
    nt_inmsg_release(&m);
    CHECK_STR(nt_attr_method_name(NT_ATTR_RETURNED_ID), "returned-message-id");
}

int
main(void)
{
    nt_diag d;

    if (nt_token_key_init(&key, "attribution test secret 0123456789", 34, &d) != NT_OK)
        return 1;
    RUN(test_verp);
    RUN(test_unsubscribe_and_replies);
    RUN(test_returned_id);
    RUN(test_forged_and_lookalikes);
    RUN(test_without_key);
    nt_token_key_release(&key);
    return t_done();
}
