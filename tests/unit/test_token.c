/*
 * Signed tokens: round trips over the varint boundaries, the exact format
 * (recomputed here with libcrypto from the documented layout), separation of
 * kinds and secrets, every one-character change, truncation and extension,
 * non-canonical encodings with a correct MAC, random garbage, the address
 * and URL helpers through nt_token_find, and the lengths that must fit in a
 * header line.
 */
#include <ctype.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "nurture/token.h"
#include "t.h"

static const char secret[] = "test secret: 0123456789abcdef";
static const char secret2[] = "test secret: 0123456789abcdeg";

static const nt_token_kind kinds[] = {NT_TOKEN_MSGID, NT_TOKEN_BOUNCE, NT_TOKEN_UNSUB};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static const int64_t ids[] = {0,
                              1,
                              127,
                              128,
                              255,
                              16383,
                              16384,
                              INT64_C(2147483647),
                              INT64_C(2147483648),
                              INT64_C(4294967296),
                              INT64_C(72057594037927935),
                              INT64_C(72057594037927936),
                              INT64_C(4611686018427387904), /* 2^62 */
                              INT64_MAX - 1,
                              INT64_MAX};
#define NIDS (sizeof(ids) / sizeof(ids[0]))

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t
next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void
key_init(nt_token_key *k, const char *s)
{
    nt_diag d;

    if (nt_token_key_init(k, s, strlen(s), &d) != NT_OK) {
        fprintf(stderr, "key init failed: %s\n", d.msg);
        abort();
    }
}

static int
verifies(const nt_token_key *k, nt_token_kind kind, const char *s, size_t len)
{
    int64_t id = -1;
    return nt_token_check(k, kind, s, len, &id) == NT_OK;
}

/* Expected characters for a send id: base32 of 1 + varint + 10 bytes. */
static size_t
expected_len(int64_t id)
{
    size_t v = 1, bytes;
    uint64_t u = (uint64_t)id;

    while (u >= 0x80) {
        u >>= 7;
        v++;
    }
    bytes = 1 + v + 10;
    return (bytes * 8 + 4) / 5;
}

static void
test_round_trip(void)
{
    nt_token_key k;
    char tok[NT_TOKEN_MAX];
    int bad = 0, i;

    key_init(&k, secret);
    for (size_t c = 0; c < NKINDS; c++) {
        for (size_t i2 = 0; i2 < NIDS; i2++) {
            int64_t back = -1;
            CHECK_INT(nt_token_make(&k, kinds[c], ids[i2], tok, sizeof(tok)), NT_OK);
            CHECK_INT(strlen(tok), expected_len(ids[i2]));
            CHECK_INT(strspn(tok, "abcdefghijklmnopqrstuvwxyz234567"), strlen(tok));
            CHECK_INT(nt_token_check(&k, kinds[c], tok, strlen(tok), &back), NT_OK);
            CHECK_INT(back, ids[i2]);
        }
    }
    /* The shortest and the longest. */
    nt_token_make(&k, NT_TOKEN_MSGID, 0, tok, sizeof(tok));
    CHECK_INT(strlen(tok), NT_TOKEN_MIN_LEN);
    nt_token_make(&k, NT_TOKEN_MSGID, INT64_MAX, tok, sizeof(tok));
    CHECK_INT(strlen(tok), NT_TOKEN_MAX - 1);

    /* Every power of two and its neighbours, and random ids. */
    for (i = 0; i < 63; i++) {
        int64_t p = INT64_C(1) << i;
        int64_t cand[3] = {p - 1, p, p + 1};
        for (int j = 0; j < 3; j++) {
            int64_t back = -1;
            if (nt_token_make(&k, NT_TOKEN_BOUNCE, cand[j], tok, sizeof(tok)) != NT_OK ||
                nt_token_check(&k, NT_TOKEN_BOUNCE, tok, strlen(tok), &back) != NT_OK ||
                back != cand[j] || strlen(tok) != expected_len(cand[j]))
                bad++;
        }
    }
    for (i = 0; i < 20000; i++) {
        int64_t id = (int64_t)(next_rand() >> (1 + next_rand() % 63)), back = -1;
        nt_token_kind kind = kinds[i % NKINDS];
        if (nt_token_make(&k, kind, id, tok, sizeof(tok)) != NT_OK ||
            nt_token_check(&k, kind, tok, strlen(tok), &back) != NT_OK || back != id)
            bad++;
    }
    CHECK_INT(bad, 0);
    nt_token_key_release(&k);
}

static void
test_make_errors(void)
{
    nt_token_key k;
    char tok[NT_TOKEN_MAX];
    size_t n;

    key_init(&k, secret);
    memcpy(tok, "junk", 5);
    CHECK_INT(nt_token_make(&k, NT_TOKEN_MSGID, -1, tok, sizeof(tok)), NT_EINVAL);
    CHECK_STR(tok, "");
    CHECK_INT(nt_token_make(&k, NT_TOKEN_MSGID, INT64_MIN, tok, sizeof(tok)), NT_EINVAL);
    CHECK_INT(nt_token_make(&k, (nt_token_kind)'x', 1, tok, sizeof(tok)), NT_EINVAL);
    CHECK_INT(nt_token_make(&k, (nt_token_kind)0, 1, tok, sizeof(tok)), NT_EINVAL);

    /* Exactly enough room, and one byte less. */
    CHECK_INT(nt_token_make(&k, NT_TOKEN_UNSUB, 300, tok, sizeof(tok)), NT_OK);
    n = strlen(tok);
    CHECK_INT(nt_token_make(&k, NT_TOKEN_UNSUB, 300, tok, n + 1), NT_OK);
    CHECK_INT(strlen(tok), n);
    CHECK_INT(nt_token_make(&k, NT_TOKEN_UNSUB, 300, tok, n), NT_ELIMIT);
    CHECK_STR(tok, "");
    CHECK_INT(nt_token_make(&k, NT_TOKEN_UNSUB, 300, tok, 0), NT_ELIMIT);

    /* An invalid kind never verifies either. */
    nt_token_make(&k, NT_TOKEN_UNSUB, 300, tok, sizeof(tok));
    CHECK(!verifies(&k, (nt_token_kind)'x', tok, strlen(tok)));
    nt_token_key_release(&k);
}

static void
test_key(void)
{
    nt_token_key k, zero;
    nt_diag d;
    char tok[NT_TOKEN_MAX];
    const char *shorts[] = {"", "Zq", "hunter2", "fifteen-bytes!!"};

    for (size_t i = 0; i < sizeof(shorts) / sizeof(shorts[0]); i++) {
        nt_diag_clear(&d);
        CHECK_INT(nt_token_key_init(&k, shorts[i], strlen(shorts[i]), &d), NT_EINVAL);
        CHECK(d.msg[0] != '\0');
        if (shorts[i][0])
            CHECK(strstr(d.msg, shorts[i]) == NULL);
        CHECK(!k.ready);
        CHECK_INT(nt_token_make(&k, NT_TOKEN_MSGID, 1, tok, sizeof(tok)), NT_EINVAL);
    }
    CHECK_INT(nt_token_key_init(&k, NULL, 0, NULL), NT_EINVAL);
    /* 16 bytes is enough. */
    CHECK_INT(nt_token_key_init(&k, "sixteen-bytes!!!", 16, &d), NT_OK);
    /* The length is what counts, not a NUL. */
    CHECK_INT(nt_token_key_init(&k, "sixteen\0bytes!!!", 16, &d), NT_OK);
    CHECK_INT(nt_token_key_init(&k, "sixteen\0bytes!!!", 15, &d), NT_EINVAL);

    /* Release wipes, and a released key does nothing. */
    key_init(&k, secret);
    CHECK_INT(nt_token_make(&k, NT_TOKEN_MSGID, 1, tok, sizeof(tok)), NT_OK);
    nt_token_key_release(&k);
    memset(&zero, 0, sizeof(zero));
    CHECK(memcmp(&k, &zero, sizeof(k)) == 0);
    CHECK(!verifies(&k, NT_TOKEN_MSGID, tok, strlen(tok)));
    CHECK_INT(nt_token_make(&k, NT_TOKEN_MSGID, 1, tok, sizeof(tok)), NT_EINVAL);
    nt_token_key_release(&k);
    nt_token_key_release(NULL);
}

/* The documented layout, recomputed independently of src/token.c. */
static void
b32(const unsigned char *p, size_t n, char *out)
{
    static const char a[] = "abcdefghijklmnopqrstuvwxyz234567";
    size_t bit, o = 0;

    for (bit = 0; bit < n * 8; bit += 5) {
        unsigned v = 0;
        for (size_t j = 0; j < 5; j++) {
            size_t b = bit + j;
            v <<= 1;
            if (b < n * 8)
                v |= (p[b / 8] >> (7 - b % 8)) & 1;
        }
        out[o++] = a[v];
    }
    out[o] = '\0';
}

static const char *
label(nt_token_kind kind)
{
    return kind == NT_TOKEN_MSGID    ? "nurture token v1: message-id"
           : kind == NT_TOKEN_BOUNCE ? "nurture token v1: bounce"
                                     : "nurture token v1: unsubscribe";
}

/* raw = version | body (varint); writes base32 of raw | MAC under kind. */
static void
forge_with_key(const char *sec, nt_token_kind kind, const unsigned char *raw, size_t n, char *out)
{
    unsigned char sub[32], full[32], msg[64], tok[64];
    unsigned int len = 0;

    HMAC(EVP_sha256(), sec, (int)strlen(sec), (const unsigned char *)label(kind),
         strlen(label(kind)), sub, &len);
    msg[0] = raw[0];
    msg[1] = (unsigned char)kind;
    memcpy(msg + 2, raw + 1, n - 1);
    HMAC(EVP_sha256(), sub, 32, msg, n + 1, full, &len);
    memcpy(tok, raw, n);
    memcpy(tok + n, full, 10);
    b32(tok, n + 10, out);
}

static void
test_format(void)
{
    nt_token_key k;
    char tok[NT_TOKEN_MAX], mine[80];
    unsigned char raw[16];

    key_init(&k, secret);
    /* id 300 = varint ac 02 */
    raw[0] = 1;
    raw[1] = 0xac;
    raw[2] = 0x02;
    for (size_t c = 0; c < NKINDS; c++) {
        forge_with_key(secret, kinds[c], raw, 3, mine);
        nt_token_make(&k, kinds[c], 300, tok, sizeof(tok));
        CHECK_STR(tok, mine);
    }

    /* A correct MAC over a non-canonical varint (300 as ac 82 00) or an
     * unknown version must still be refused: one id, one token. */
    raw[0] = 1;
    raw[1] = 0xac;
    raw[2] = 0x82;
    raw[3] = 0x00;
    forge_with_key(secret, NT_TOKEN_MSGID, raw, 4, mine);
    CHECK(!verifies(&k, NT_TOKEN_MSGID, mine, strlen(mine)));
    raw[0] = 1;
    raw[1] = 0x80; /* 0 as 80 00 */
    raw[2] = 0x00;
    forge_with_key(secret, NT_TOKEN_MSGID, raw, 3, mine);
    CHECK(!verifies(&k, NT_TOKEN_MSGID, mine, strlen(mine)));
    raw[0] = 1; /* ten varint bytes */
    memset(raw + 1, 0x81, 9);
    raw[10] = 0x01;
    forge_with_key(secret, NT_TOKEN_MSGID, raw, 11, mine);
    CHECK(!verifies(&k, NT_TOKEN_MSGID, mine, strlen(mine)));
    raw[0] = 2;
    raw[1] = 0x05;
    forge_with_key(secret, NT_TOKEN_MSGID, raw, 2, mine);
    CHECK(!verifies(&k, NT_TOKEN_MSGID, mine, strlen(mine)));
    raw[0] = 0;
    forge_with_key(secret, NT_TOKEN_MSGID, raw, 2, mine);
    CHECK(!verifies(&k, NT_TOKEN_MSGID, mine, strlen(mine)));
    /* and the canonical one of the same shape does verify */
    raw[0] = 1;
    forge_with_key(secret, NT_TOKEN_MSGID, raw, 2, mine);
    CHECK(verifies(&k, NT_TOKEN_MSGID, mine, strlen(mine)));

    /* Non-zero pad bits: 12 bytes are 96 bits in 20 characters, so the
     * last character has 4 pad bits; setting one decodes to the same bytes. */
    nt_token_make(&k, NT_TOKEN_MSGID, 5, tok, sizeof(tok));
    CHECK_INT(strlen(tok), 20);
    CHECK_STR(tok, mine);
    {
        const char *a = "abcdefghijklmnopqrstuvwxyz234567";
        int v = (int)(strchr(a, tok[19]) - a);
        tok[19] = a[v | 1];
        if (v & 1)
            tok[19] = a[v & ~1];
        CHECK(!verifies(&k, NT_TOKEN_MSGID, tok, strlen(tok)));
    }
    nt_token_key_release(&k);
}

static void
test_kinds_and_secrets(void)
{
    nt_token_key k, k2;
    char tok[NT_TOKEN_MAX];

    key_init(&k, secret);
    key_init(&k2, secret2);
    for (size_t a = 0; a < NKINDS; a++) {
        for (size_t i = 0; i < NIDS; i++) {
            nt_token_make(&k, kinds[a], ids[i], tok, sizeof(tok));
            for (size_t b = 0; b < NKINDS; b++)
                CHECK(verifies(&k, kinds[b], tok, strlen(tok)) == (a == b));
            for (size_t b = 0; b < NKINDS; b++)
                CHECK(!verifies(&k2, kinds[b], tok, strlen(tok)));
        }
    }
    nt_token_key_release(&k);
    nt_token_key_release(&k2);
}

static void
test_mutations(void)
{
    nt_token_key k;
    char tok[NT_TOKEN_MAX], m[NT_TOKEN_MAX + 8];
    int64_t sample[] = {0, 1, 128, INT64_C(2147483648), INT64_MAX};
    long tried = 0, passed = 0;

    key_init(&k, secret);
    for (size_t c = 0; c < NKINDS; c++) {
        for (size_t s = 0; s < sizeof(sample) / sizeof(sample[0]); s++) {
            size_t n;
            nt_token_make(&k, kinds[c], sample[s], tok, sizeof(tok));
            n = strlen(tok);
            /* Every single-character change, to any byte but the same
             * letter in the other case. */
            for (size_t i = 0; i < n; i++) {
                for (int ch = 0; ch < 256; ch++) {
                    if (tolower(ch) == tok[i])
                        continue;
                    memcpy(m, tok, n);
                    m[i] = (char)ch;
                    tried++;
                    passed += verifies(&k, kinds[c], m, n);
                }
            }
            /* Every truncation. */
            for (size_t i = 0; i < n; i++) {
                tried++;
                passed += verifies(&k, kinds[c], tok, i);
            }
            /* Every extension by one byte, and by two base32 characters. */
            for (int ch = 0; ch < 256; ch++) {
                memcpy(m, tok, n);
                m[n] = (char)ch;
                tried++;
                passed += verifies(&k, kinds[c], m, n + 1);
                m[n + 1] = 'a';
                tried++;
                passed += verifies(&k, kinds[c], m, n + 2);
            }
            /* Every deletion and every insertion of a base32 character. */
            for (size_t i = 0; i < n; i++) {
                memcpy(m, tok, i);
                memcpy(m + i, tok + i + 1, n - i - 1);
                tried++;
                passed += verifies(&k, kinds[c], m, n - 1);
                for (const char *a = "abcdefghijklmnopqrstuvwxyz234567"; *a; a++) {
                    memcpy(m, tok, i);
                    m[i] = *a;
                    memcpy(m + i + 1, tok + i, n - i);
                    tried++;
                    passed += verifies(&k, kinds[c], m, n + 1);
                }
            }
        }
    }
    CHECK(tried > 100000);
    CHECK_INT(passed, 0);
    nt_token_key_release(&k);
}

static void
test_case_and_bounds(void)
{
    nt_token_key k;
    char tok[NT_TOKEN_MAX], up[NT_TOKEN_MAX], *exact;
    int64_t id = -1;
    size_t n;

    key_init(&k, secret);
    nt_token_make(&k, NT_TOKEN_BOUNCE, 987654321, tok, sizeof(tok));
    n = strlen(tok);
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)toupper((unsigned char)tok[i]);
    CHECK_INT(nt_token_check(&k, NT_TOKEN_BOUNCE, up, n, &id), NT_OK);
    CHECK_INT(id, 987654321);
    for (size_t i = 0; i < n; i += 2)
        up[i] = tok[i];
    CHECK(verifies(&k, NT_TOKEN_BOUNCE, up, n));

    /* Not NUL-terminated: an exact-size heap copy, so that ASan sees any
     * read past the end. */
    exact = malloc(n);
    REQUIRE(exact != NULL);
    memcpy(exact, tok, n);
    id = -1;
    CHECK_INT(nt_token_check(&k, NT_TOKEN_BOUNCE, exact, n, &id), NT_OK);
    CHECK_INT(id, 987654321);
    CHECK_INT(nt_token_find(&k, NT_TOKEN_BOUNCE, exact, n, &id), NT_ENOTFOUND);
    free(exact);

    /* A failed check leaves the id alone; NULL input is no token. */
    id = 42;
    CHECK_INT(nt_token_check(&k, NT_TOKEN_BOUNCE, "aaaaaaaaaaaaaaaaaaaa", 20, &id), NT_EINVAL);
    CHECK_INT(id, 42);
    CHECK_INT(nt_token_check(&k, NT_TOKEN_BOUNCE, NULL, 0, &id), NT_EINVAL);
    CHECK_INT(nt_token_check(&k, NT_TOKEN_BOUNCE, tok, n, NULL), NT_OK);
    nt_token_key_release(&k);
}

static void
test_garbage(void)
{
    nt_token_key k;
    char s[64];
    unsigned char raw[24];
    static const char a[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    long passed = 0;

    key_init(&k, secret);
    /* Random strings: half from the base32 alphabet, half any bytes. */
    for (int i = 0; i < 100000; i++) {
        size_t n = (size_t)(next_rand() % 40);
        for (size_t j = 0; j < n; j++)
            s[j] = (i & 1) ? (char)(next_rand() & 0xff) : a[next_rand() % (sizeof(a) - 1)];
        for (size_t c = 0; c < NKINDS; c++) {
            int64_t id;
            passed += verifies(&k, kinds[c], s, n);
            passed += nt_token_find(&k, kinds[c], s, n, &id) == NT_OK;
        }
    }
    /* Well-formed tokens (version 1, canonical varint) with random MACs,
     * so that every one reaches the MAC comparison. */
    for (int i = 0; i < 100000; i++) {
        raw[0] = 1;
        raw[1] = (unsigned char)(next_rand() & 0x7f);
        for (size_t j = 0; j < 10; j++)
            raw[2 + j] = (unsigned char)next_rand();
        b32(raw, 12, s);
        passed += verifies(&k, kinds[i % NKINDS], s, strlen(s));
    }
    CHECK_INT(passed, 0);
    nt_token_key_release(&k);
}

static void
test_addresses(void)
{
    nt_token_key k;
    char mid[NT_TOKEN_ADDR_MAX], verp[NT_TOKEN_ADDR_MAX], mailto[NT_TOKEN_ADDR_MAX], url[600],
        text[1200], tok[NT_TOKEN_MAX];
    int64_t id;

    key_init(&k, secret);
    for (size_t i = 0; i < NIDS; i++) {
        int64_t sid = ids[i];

        CHECK_INT(nt_token_message_id(&k, sid, "mail.example.com", mid, sizeof(mid)), NT_OK);
        nt_token_make(&k, NT_TOKEN_MSGID, sid, tok, sizeof(tok));
        snprintf(text, sizeof(text), "%s@mail.example.com", tok);
        CHECK_STR(mid, text);
        id = -1;
        CHECK_INT(nt_token_find(&k, NT_TOKEN_MSGID, mid, strlen(mid), &id), NT_OK);
        CHECK_INT(id, sid);
        snprintf(text, sizeof(text), "<%s>", mid);
        id = -1;
        CHECK_INT(nt_token_find(&k, NT_TOKEN_MSGID, text, strlen(text), &id), NT_OK);
        CHECK_INT(id, sid);
        snprintf(text, sizeof(text), " \t<%s>\r\n", mid);
        id = -1;
        CHECK_INT(nt_token_find(&k, NT_TOKEN_MSGID, text, strlen(text), &id), NT_OK);
        CHECK_INT(id, sid);

        CHECK_INT(nt_token_verp(&k, sid, "bounces", "example.com", verp, sizeof(verp)), NT_OK);
        nt_token_make(&k, NT_TOKEN_BOUNCE, sid, tok, sizeof(tok));
        snprintf(text, sizeof(text), "bounces+%s@example.com", tok);
        CHECK_STR(verp, text);
        id = -1;
        CHECK_INT(nt_token_find(&k, NT_TOKEN_BOUNCE, verp, strlen(verp), &id), NT_OK);
        CHECK_INT(id, sid);
        /* What an MTA that changes case hands back. */
        snprintf(text, sizeof(text), "Bounces+%s@Example.COM", tok);
        for (char *p = text + 8; *p != '@'; p++)
            *p = (char)toupper((unsigned char)*p);
        id = -1;
        CHECK_INT(nt_token_find(&k, NT_TOKEN_BOUNCE, text, strlen(text), &id), NT_OK);
        CHECK_INT(id, sid);
        snprintf(text, sizeof(text), "<%s>", verp);
        id = -1;
        CHECK_INT(nt_token_find(&k, NT_TOKEN_BOUNCE, text, strlen(text), &id), NT_OK);
        CHECK_INT(id, sid);

        CHECK_INT(nt_token_unsub_mailto(&k, sid, "example.com", mailto, sizeof(mailto)), NT_OK);
        nt_token_make(&k, NT_TOKEN_UNSUB, sid, tok, sizeof(tok));
        snprintf(text, sizeof(text), "unsubscribe+%s@example.com", tok);
        CHECK_STR(mailto, text);
        id = -1;
        CHECK_INT(nt_token_find(&k, NT_TOKEN_UNSUB, mailto, strlen(mailto), &id), NT_OK);
        CHECK_INT(id, sid);
        snprintf(text, sizeof(text), "<mailto:%s?subject=unsubscribe>", mailto);
        id = -1;
        CHECK_INT(nt_token_find(&k, NT_TOKEN_UNSUB, text, strlen(text), &id), NT_OK);
        CHECK_INT(id, sid);
        snprintf(text, sizeof(text), "\"Unsubscribe\" <%s>", mailto);
        id = -1;
        CHECK_INT(nt_token_find(&k, NT_TOKEN_UNSUB, text, strlen(text), &id), NT_OK);
        CHECK_INT(id, sid);

        CHECK_INT(nt_token_unsub_url(&k, sid, "https://example.com/u", url, sizeof(url)), NT_OK);
        snprintf(text, sizeof(text), "https://example.com/u?t=%s", tok);
        CHECK_STR(url, text);
        id = -1;
        CHECK_INT(nt_token_find(&k, NT_TOKEN_UNSUB, url, strlen(url), &id), NT_OK);
        CHECK_INT(id, sid);
        snprintf(text, sizeof(text), "<%s>, <mailto:%s>", url, mailto);
        id = -1;
        CHECK_INT(nt_token_find(&k, NT_TOKEN_UNSUB, text, strlen(text), &id), NT_OK);
        CHECK_INT(id, sid);

        /* Each address is no token of another kind. */
        CHECK(nt_token_find(&k, NT_TOKEN_BOUNCE, mid, strlen(mid), &id) != NT_OK);
        CHECK(nt_token_find(&k, NT_TOKEN_UNSUB, mid, strlen(mid), &id) != NT_OK);
        CHECK(nt_token_find(&k, NT_TOKEN_MSGID, verp, strlen(verp), &id) != NT_OK);
        CHECK_INT(nt_token_find(&k, NT_TOKEN_UNSUB, verp, strlen(verp), &id), NT_EINVAL);
        CHECK_INT(nt_token_find(&k, NT_TOKEN_BOUNCE, mailto, strlen(mailto), &id), NT_EINVAL);
        CHECK_INT(nt_token_find(&k, NT_TOKEN_BOUNCE, url, strlen(url), &id), NT_EINVAL);
    }

    /* Query separators. */
    nt_token_make(&k, NT_TOKEN_UNSUB, 7, tok, sizeof(tok));
    CHECK_INT(nt_token_unsub_url(&k, 7, "https://example.com/u?c=welcome", url, sizeof(url)),
              NT_OK);
    snprintf(text, sizeof(text), "https://example.com/u?c=welcome&t=%s", tok);
    CHECK_STR(url, text);
    id = -1;
    CHECK_INT(nt_token_find(&k, NT_TOKEN_UNSUB, url, strlen(url), &id), NT_OK);
    CHECK_INT(id, 7);
    CHECK_INT(nt_token_unsub_url(&k, 7, "https://example.com/u?", url, sizeof(url)), NT_OK);
    snprintf(text, sizeof(text), "https://example.com/u?t=%s", tok);
    CHECK_STR(url, text);
    CHECK_INT(nt_token_unsub_url(&k, 7, "https://example.com/u?a=1&", url, sizeof(url)), NT_OK);
    snprintf(text, sizeof(text), "https://example.com/u?a=1&t=%s", tok);
    CHECK_STR(url, text);
    /* A base URL that has a t of its own: the appended (last) one counts. */
    CHECK_INT(nt_token_unsub_url(&k, 7, "HTTPS://example.com/u?t=x", url, sizeof(url)), NT_OK);
    id = -1;
    CHECK_INT(nt_token_find(&k, NT_TOKEN_UNSUB, url, strlen(url), &id), NT_OK);
    CHECK_INT(id, 7);
    snprintf(text, sizeof(text), "https://example.com/u?t=%s#top", tok);
    id = -1;
    CHECK_INT(nt_token_find(&k, NT_TOKEN_UNSUB, text, strlen(text), &id), NT_OK);
    CHECK_INT(id, 7);
    nt_token_key_release(&k);
}

static void
test_find_outcomes(void)
{
    nt_token_key k;
    char tok[NT_TOKEN_MAX], text[NT_TOKEN_FIND_MAX + 64];
    int64_t id = 99;
    const char *none_m[] = {"",
                            "   ",
                            "no at sign",
                            "<CAF=abc+123@mail.gmail.com>",
                            "<20240101.1234.abcdef@example.com>",
                            "<aaaaaaaaaaaaaaaaaaa@x>", /* 19: too short for a token */
                            "<unclosed@example.com",
                            "@example.com",
                            "https://example.com/u?x=1"};
    const char *none_b[] = {"bounces@example.com",   "bounces+@example.com",        "<>", "mailto:",
                            "https://example.com/u", "https://example.com/u?t=&a=1"};
    const char *forged_b[] = {"bounces+aaaaaaaaaaaaaaaaaaaa@example.com", "bounces+x@example.com",
                              "bounces+hello world@example.com", "https://example.com/u?t=abc"};

    key_init(&k, secret);
    for (size_t i = 0; i < sizeof(none_m) / sizeof(none_m[0]); i++)
        CHECK_INT(nt_token_find(&k, NT_TOKEN_MSGID, none_m[i], strlen(none_m[i]), &id),
                  NT_ENOTFOUND);
    for (size_t i = 0; i < sizeof(none_b) / sizeof(none_b[0]); i++)
        CHECK_INT(nt_token_find(&k, NT_TOKEN_BOUNCE, none_b[i], strlen(none_b[i]), &id),
                  NT_ENOTFOUND);
    for (size_t i = 0; i < sizeof(forged_b) / sizeof(forged_b[0]); i++)
        CHECK_INT(nt_token_find(&k, NT_TOKEN_BOUNCE, forged_b[i], strlen(forged_b[i]), &id),
                  NT_EINVAL);
    CHECK_INT(id, 99);
    CHECK_INT(nt_token_find(&k, NT_TOKEN_MSGID, NULL, 0, &id), NT_ENOTFOUND);

    /* A Message-ID made with another secret, or altered, is a forgery. */
    nt_token_make(&k, NT_TOKEN_MSGID, 12345, tok, sizeof(tok));
    tok[3] = tok[3] == 'a' ? 'b' : 'a';
    snprintf(text, sizeof(text), "<%s@example.com>", tok);
    CHECK_INT(nt_token_find(&k, NT_TOKEN_MSGID, text, strlen(text), &id), NT_EINVAL);
    CHECK_INT(id, 99);

    /* Overlong input is refused, even with a valid token in it. */
    nt_token_make(&k, NT_TOKEN_MSGID, 12345, tok, sizeof(tok));
    memset(text, ' ', sizeof(text));
    snprintf(text + NT_TOKEN_FIND_MAX - 10, 60, "<%s@example.com>", tok);
    CHECK_INT(nt_token_find(&k, NT_TOKEN_MSGID, text, strlen(text), &id), NT_EINVAL);
    CHECK_INT(nt_token_find(&k, NT_TOKEN_MSGID, text + 40, strlen(text + 40), &id), NT_OK);
    CHECK_INT(id, 12345);

    /* Invalid kind or key. */
    CHECK_INT(nt_token_find(&k, (nt_token_kind)'z', text, 1, &id), NT_EINVAL);
    nt_token_key_release(&k);
    CHECK_INT(nt_token_find(&k, NT_TOKEN_MSGID, text + 40, strlen(text + 40), &id), NT_EINVAL);
}

static void
test_builder_errors(void)
{
    nt_token_key k;
    char out[NT_TOKEN_ADDR_MAX], big[300], url[NT_TOKEN_URL_BASE_MAX + 64];
    const char *bad_domains[] = {"",
                                 ".",
                                 "example..com",
                                 ".example.com",
                                 "example.com.",
                                 "exa mple.com",
                                 "example.com\r\nBcc: x@y",
                                 "<example.com>",
                                 "a@b",
                                 "exämple.com",
                                 "under_score.com"};
    const char *bad_prefixes[] = {
        "", "a+b", ".a", "a.", "a..b", "a b", "a@b", "a\n", "0123456789012345678901234567890x"};
    const char *bad_urls[] = {"http://example.com/u",
                              "https://",
                              "https:///u",
                              "ftp://example.com",
                              "example.com/u",
                              "https://example.com/u#frag",
                              "https://example.com/u x",
                              "https://example.com/u\r\nX: y",
                              "https://example.com/<u>",
                              "https://example.com/\"u\""};

    key_init(&k, secret);
    for (size_t i = 0; i < sizeof(bad_domains) / sizeof(bad_domains[0]); i++) {
        memcpy(out, "junk", 5);
        CHECK_INT(nt_token_message_id(&k, 1, bad_domains[i], out, sizeof(out)), NT_EINVAL);
        CHECK_STR(out, "");
        CHECK_INT(nt_token_verp(&k, 1, NULL, bad_domains[i], out, sizeof(out)), NT_EINVAL);
        CHECK_INT(nt_token_unsub_mailto(&k, 1, bad_domains[i], out, sizeof(out)), NT_EINVAL);
    }
    CHECK_INT(nt_token_message_id(&k, 1, NULL, out, sizeof(out)), NT_EINVAL);
    for (size_t i = 0; i < sizeof(bad_prefixes) / sizeof(bad_prefixes[0]); i++)
        CHECK_INT(nt_token_verp(&k, 1, bad_prefixes[i], "example.com", out, sizeof(out)),
                  NT_EINVAL);
    for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++)
        CHECK_INT(nt_token_unsub_url(&k, 1, bad_urls[i], out, sizeof(out)), NT_EINVAL);
    CHECK_INT(nt_token_unsub_url(&k, 1, NULL, out, sizeof(out)), NT_EINVAL);

    /* Limits: 31-byte prefix, 63-byte label, 253-byte domain, long URL. */
    CHECK_INT(nt_token_verp(&k, INT64_MAX, "0123456789012345678901234567890", "example.com", out,
                            sizeof(out)),
              NT_OK);
    CHECK(strchr(out, '@') - out <= 64);
    memset(big, 'a', 64);
    big[64] = '\0';
    CHECK_INT(nt_token_message_id(&k, 1, big, out, sizeof(out)), NT_EINVAL);
    big[63] = '\0';
    CHECK_INT(nt_token_message_id(&k, 1, big, out, sizeof(out)), NT_OK);
    for (int i = 0; i < 4; i++) {
        memset(big + i * 64, 'a', 63);
        big[i * 64 + 63] = '.';
    }
    big[253] = '\0'; /* 4 labels, 253 bytes */
    CHECK_INT(nt_token_message_id(&k, INT64_MAX, big, out, sizeof(out)), NT_OK);
    big[252] = '.';
    big[253] = 'a';
    big[254] = '\0';
    CHECK_INT(nt_token_message_id(&k, 1, big, out, sizeof(out)), NT_EINVAL);
    memcpy(url, "https://example.com/", 20);
    memset(url + 20, 'a', NT_TOKEN_URL_BASE_MAX - 20);
    url[NT_TOKEN_URL_BASE_MAX] = '\0';
    {
        char *long_out = malloc(NT_TOKEN_URL_BASE_MAX + 4 + NT_TOKEN_MAX);
        REQUIRE(long_out != NULL);
        CHECK_INT(nt_token_unsub_url(&k, INT64_MAX, url, long_out,
                                     NT_TOKEN_URL_BASE_MAX + 4 + NT_TOKEN_MAX),
                  NT_OK);
        url[NT_TOKEN_URL_BASE_MAX] = 'a';
        url[NT_TOKEN_URL_BASE_MAX + 1] = '\0';
        CHECK_INT(
            nt_token_unsub_url(&k, 1, url, long_out, NT_TOKEN_URL_BASE_MAX + 4 + NT_TOKEN_MAX),
            NT_EINVAL);
        free(long_out);
    }

    /* Too little room, negative ids. */
    CHECK_INT(nt_token_message_id(&k, 1, "example.com", out, 10), NT_ELIMIT);
    CHECK_STR(out, "");
    CHECK_INT(nt_token_verp(&k, 1, NULL, "example.com", out, 20), NT_ELIMIT);
    CHECK_INT(nt_token_unsub_url(&k, 1, "https://example.com/u", out, 30), NT_ELIMIT);
    CHECK_STR(out, "");
    CHECK_INT(nt_token_message_id(&k, -5, "example.com", out, sizeof(out)), NT_EINVAL);
    CHECK_INT(nt_token_unsub_url(&k, -5, "https://example.com/u", out, sizeof(out)), NT_EINVAL);
    nt_token_key_release(&k);
}

static void
test_lengths(void)
{
    nt_token_key k;
    char out[NT_TOKEN_ADDR_MAX], line[NT_TOKEN_ADDR_MAX + 16];
    const char *dom30 = "mail.thirty-byte-domains.co.uk";

    key_init(&k, secret);
    CHECK_INT(strlen(dom30), 30);

    CHECK_INT(nt_token_message_id(&k, INT64_MAX, dom30, out, sizeof(out)), NT_OK);
    CHECK_INT(strlen(out), 32 + 1 + 30);
    snprintf(line, sizeof(line), "Message-ID: <%s>", out);
    CHECK(strlen(line) <= 78);
    CHECK(strlen(out) + 2 <= 66);
    /* Ids below 2^35 (five varint bytes): 26 characters. */
    CHECK_INT(nt_token_message_id(&k, INT64_C(34359738367), dom30, out, sizeof(out)), NT_OK);
    CHECK_INT(strlen(out), 26 + 1 + 30);

    CHECK_INT(nt_token_verp(&k, INT64_MAX, NULL, dom30, out, sizeof(out)), NT_OK);
    CHECK_INT(strlen(out), 8 + 32 + 1 + 30);
    CHECK_INT(nt_token_unsub_mailto(&k, INT64_MAX, dom30, out, sizeof(out)), NT_OK);
    CHECK_INT(strlen(out), 12 + 32 + 1 + 30);
    CHECK(strchr(out, '@') - out <= 64);
    nt_token_key_release(&k);
}

int
main(void)
{
    RUN(test_round_trip);
    RUN(test_make_errors);
    RUN(test_key);
    RUN(test_format);
    RUN(test_kinds_and_secrets);
    RUN(test_mutations);
    RUN(test_case_and_bounds);
    RUN(test_garbage);
    RUN(test_addresses);
    RUN(test_find_outcomes);
    RUN(test_builder_errors);
    RUN(test_lengths);
    return t_done();
}
