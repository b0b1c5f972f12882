/*
 * Unit tests for message composition: quoted-printable and RFC 2047 encoders
 * (checked by decoding them again), header order and validation, header
 * injection, line lengths, and a round trip of whole messages through a real
 * MIME parser: Python's email package, run as /usr/bin/python3.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nurture/buf.h"
#include "nurture/message.h"
#include "nurture/template.h"

#include "t.h"

#define PYTHON "/usr/bin/python3"

/* ---- helpers: decoders and wire checks ---- */

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode quoted-printable as RFC 2045 says (hard line ends become "\n");
 * returns 0 on anything malformed, including lowercase hex. */
static int
qp_decode(const char *s, size_t n, nt_buf *out)
{
    size_t i = 0;

    while (i < n) {
        if (s[i] == '=') {
            if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
                i += 3; /* soft line break */
                continue;
            }
            if (i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
                nt_buf_addc(out, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
                i += 3;
                continue;
            }
            return 0;
        }
        if (s[i] == '\r') {
            if (i + 1 >= n || s[i + 1] != '\n')
                return 0;
            nt_buf_addc(out, '\n');
            i += 2;
            continue;
        }
        if (s[i] == '\n')
            return 0;
        nt_buf_addc(out, s[i]);
        i++;
    }
    return out->err == NT_OK;
}

/* s with CRLF and lone CR made LF: what a body means after transport.
 * *len_out gets the length (s may hold NUL bytes). */
static char *
lf_only(const char *s, size_t n, size_t *len_out)
{
    nt_buf b;
    size_t i;

    nt_buf_init(&b, 0);
    for (i = 0; i < n; i++) {
        if (s[i] == '\r') {
            nt_buf_addc(&b, '\n');
            if (i + 1 < n && s[i + 1] == '\n')
                i++;
        } else {
            nt_buf_addc(&b, s[i]);
        }
    }
    return nt_buf_detach(&b, len_out);
}

/* Lines of a QP encoding: CRLF ends, at most 76 long, every '=' followed
 * by two uppercase hex digits or a line end, no white space at a line end,
 * 7-bit only. */
static int
qp_well_formed(const char *s, size_t n)
{
    size_t i, col = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r') {
            if (i + 1 >= n || s[i + 1] != '\n')
                return 0;
            if (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
                return 0;
            col = 0;
            i++;
            continue;
        }
        if (c == '\n' || c >= 0x7f || (c < 0x20 && c != '\t'))
            return 0;
        if (c == '=' && !(i + 1 < n && s[i + 1] == '\r') &&
            !(i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0))
            return 0;
        if (++col > 76)
            return 0;
    }
    return !(n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'));
}

/* The whole message: CRLF line ends only, 7-bit, no NUL, no line longer
 * than 998; header lines no longer than hdr_max. */
static int
wire_ok(const char *m, size_t n, size_t hdr_max)
{
    size_t i, col = 0;
    int in_hdr = 1;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)m[i];
        if (c == '\r') {
            if (i + 1 >= n || m[i + 1] != '\n')
                return 0;
            if (col == 0)
                in_hdr = 0;
            col = 0;
            i++;
            continue;
        }
        if (c == '\n' || c == 0 || c >= 0x80)
            return 0;
        col++;
        if (col > 998 || (in_hdr && col > hdr_max))
            return 0;
    }
    return n >= 2 && m[n - 2] == '\r' && m[n - 1] == '\n';
}

/* Copy of the header section (up to the blank line), NUL-terminated. */
static char *
header_section(const char *m)
{
    const char *e = strstr(m, "\r\n\r\n");
    size_t n = e ? (size_t)(e - m) + 2 : strlen(m);
    char *h = malloc(n + 1);

    if (h) {
        memcpy(h, m, n);
        h[n] = '\0';
    }
    return h;
}

/* Number of header lines (not continuation lines) named `name`. */
static int
count_header(const char *m, const char *name)
{
    char *h = header_section(m);
    const char *p = h;
    size_t nl = strlen(name);
    int count = 0;

    while (p && *p) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':')
            count++;
        p = strstr(p, "\r\n");
        if (p)
            p += 2;
    }
    free(h);
    return count;
}

/* The header names in order, "Date,From,...". */
static void
header_names(const char *m, char *out, size_t outsz)
{
    char *h = header_section(m);
    const char *p = h;
    size_t len = 0;

    out[0] = '\0';
    while (p && *p) {
        if (*p != ' ' && *p != '\t') {
            const char *c = strchr(p, ':');
            if (c && len + (size_t)(c - p) + 2 < outsz) {
                if (len)
                    out[len++] = ',';
                memcpy(out + len, p, (size_t)(c - p));
                len += (size_t)(c - p);
                out[len] = '\0';
            }
        }
        p = strstr(p, "\r\n");
        if (p)
            p += 2;
    }
    free(h);
}

/* Decode one header value: unfold, decode adjacent encoded-words (dropping
 * the white space between them), and check each word holds whole UTF-8
 * characters and is at most 75 long.  Returns NULL when malformed. */
static char *
rfc2047_decode(const char *v)
{
    nt_buf b, word;
    const char *p = v;
    int prev_word = 0;
    size_t pend_ws = 0;
    const char *ws_start = NULL;

    nt_buf_init(&b, 0);
    /* Like any parser, ignore the white space that starts a value. */
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    while (*p) {
        if (p[0] == '\r' && p[1] == '\n') {
            p += 2; /* unfold */
            continue;
        }
        if (*p == ' ' || *p == '\t') {
            if (!pend_ws)
                ws_start = p;
            pend_ws++;
            p++;
            continue;
        }
        if (p[0] == '=' && p[1] == '?') {
            const char *q = p + 2, *end;
            int enc;
            if (strncasecmp(q, "UTF-8?", 6) != 0)
                goto bad;
            q += 6;
            enc = *q == 'B' || *q == 'b' ? 'B' : *q == 'Q' || *q == 'q' ? 'Q' : 0;
            if (!enc || q[1] != '?')
                goto bad;
            q += 2;
            end = strstr(q, "?=");
            if (!end || end + 2 - p > 75)
                goto bad;
            if (!prev_word && pend_ws)
                nt_buf_add(&b, ws_start, pend_ws);
            pend_ws = 0;
            nt_buf_init(&word, 0);
            if (enc == 'Q') {
                for (; q < end; q++) {
                    if (*q == '_')
                        nt_buf_addc(&word, ' ');
                    else if (*q == '=' && hexval(q[1]) >= 0 && hexval(q[2]) >= 0) {
                        nt_buf_addc(&word, (char)(hexval(q[1]) * 16 + hexval(q[2])));
                        q += 2;
                    } else if (*q == '=' || *q == '?' || *q == ' ')
                        goto bad_word;
                    else
                        nt_buf_addc(&word, *q);
                }
            } else {
                static const char tab[] =
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                unsigned acc = 0;
                int bits = 0;
                for (; q < end && *q != '='; q++) {
                    const char *x = strchr(tab, *q);
                    if (!x || !*q)
                        goto bad_word;
                    acc = (acc << 6) | (unsigned)(x - tab);
                    bits += 6;
                    if (bits >= 8) {
                        bits -= 8;
                        nt_buf_addc(&word, (char)((acc >> bits) & 0xff));
                    }
                }
            }
            /* Whole characters only: the word on its own is valid UTF-8. */
            {
                const unsigned char *u = (const unsigned char *)nt_buf_cstr(&word);
                size_t i = 0, n = word.len;
                while (i < n) {
                    size_t l = u[i] < 0x80 ? 1 : u[i] < 0xe0 ? 2 : u[i] < 0xf0 ? 3 : 4;
                    if (u[i] >= 0x80 && u[i] < 0xc2)
                        goto bad_word;
                    if (i + l > n)
                        goto bad_word;
                    i += l;
                }
            }
            nt_buf_add(&b, nt_buf_cstr(&word), word.len);
            nt_buf_release(&word);
            prev_word = 1;
            p = end + 2;
            continue;
        bad_word:
            nt_buf_release(&word);
            goto bad;
        }
        if (pend_ws)
            nt_buf_add(&b, ws_start, pend_ws);
        pend_ws = 0;
        prev_word = 0;
        nt_buf_addc(&b, *p++);
    }
    if (pend_ws)
        nt_buf_add(&b, ws_start, pend_ws);
    return nt_buf_detach(&b, NULL);
bad:
    nt_buf_release(&b);
    return NULL;
}

/* Every line of s (CRLF separated) at most max columns. */
static int
lines_within(const char *s, size_t max)
{
    size_t col = 0;

    for (; *s; s++) {
        if (*s == '\r' && s[1] == '\n') {
            col = 0;
            s++;
        } else if (++col > max) {
            return 0;
        }
    }
    return 1;
}

/* ---- quoted-printable ---- */

static char *
qp(const char *in, size_t n)
{
    nt_buf b;

    nt_buf_init(&b, 0);
    nt_qp_encode(&b, in, n);
    return nt_buf_detach(&b, NULL);
}

/* Encode, check the form, decode, compare with the input's meaning. */
static int
qp_round_trip(const char *in, size_t n)
{
    size_t want_len = 0;
    char *enc = qp(in, n), *want = lf_only(in, n, &want_len);
    nt_buf dec;
    int ok;

    nt_buf_init(&dec, 0);
    ok = enc && want && qp_well_formed(enc, strlen(enc)) && qp_decode(enc, strlen(enc), &dec) &&
         dec.len == want_len && memcmp(nt_buf_cstr(&dec), want, dec.len) == 0;
    if (!ok)
        fprintf(stderr, "  qp round trip failed; encoded:\n%s\n", enc ? enc : "(null)");
    nt_buf_release(&dec);
    free(enc);
    free(want);
    return ok;
}

static void
test_qp_basics(void)
{
    char *e;

    e = qp("a=b", 3);
    CHECK_STR(e, "a=3Db");
    free(e);
    e = qp("trailing \nx\t\ny ", 15);
    CHECK_STR(e, "trailing=20\r\nx=09\r\ny=20");
    free(e);
    e = qp("mid space ok\n", 13);
    CHECK_STR(e, "mid space ok\r\n");
    free(e);
    e = qp("h\xc3\xa9llo", 6);
    CHECK_STR(e, "h=C3=A9llo");
    free(e);
    e = qp("a\r\nb\rc\nd", 8);
    CHECK_STR(e, "a\r\nb\r\nc\r\nd");
    free(e);
    e = qp("From me\n.\n..\nFrom", 17);
    CHECK_STR(e, "=46rom me\r\n=2E\r\n=2E.\r\nFrom");
    free(e);
    e = qp("nul\0x\x7f", 6);
    CHECK_STR(e, "nul=00x=7F");
    free(e);
    e = qp("", 0);
    CHECK_STR(e, "");
    free(e);
    {
        /* 76 fit on a last line; 77 need a soft break after 75. */
        char in[80];
        memset(in, 'a', sizeof(in));
        e = qp(in, 76);
        CHECK(e && strlen(e) == 76 && !strchr(e, '='));
        free(e);
        e = qp(in, 77);
        CHECK(e && strlen(e) == 80 && e[75] == '=' && e[76] == '\r' && e[79] == 'a');
        free(e);
        /* An =XX that would pass column 75 moves to the next line whole. */
        memcpy(in + 74, "\xc3\xa9", 2);
        e = qp(in, 77);
        CHECK(e && strncmp(e + 74, "=\r\n=C3=A9a", 10) == 0);
        free(e);
    }
}

static void
test_qp_long_and_random(void)
{
    char buf[5000];
    size_t i;
    unsigned seed = 12345;

    memset(buf, 'x', 300);
    CHECK(qp_round_trip(buf, 300));
    for (i = 0; i < 300; i += 2)
        memcpy(buf + i, "\xc3\xa9", 2);
    CHECK(qp_round_trip(buf, 300));
    for (i = 0; i < 300; i++)
        buf[i] = (i % 7 == 0) ? ' ' : (i % 11 == 0) ? '=' : 'q';
    CHECK(qp_round_trip(buf, 300));
    memset(buf, ' ', 300);
    CHECK(qp_round_trip(buf, 300));
    for (i = 0; i < 50; i++) {
        size_t j, n = 1 + (size_t)(seed % sizeof(buf));
        for (j = 0; j < n; j++) {
            seed = seed * 1103515245u + 12345u;
            /* Mostly text, with line ends, spaces, '=', controls, 8-bit. */
            switch ((seed >> 16) % 10) {
            case 0:
                buf[j] = '\n';
                break;
            case 1:
                buf[j] = ' ';
                break;
            case 2:
                buf[j] = (char)((seed >> 8) & 0xff);
                break;
            case 3:
                buf[j] = '=';
                break;
            default:
                buf[j] = (char)('a' + (seed >> 20) % 26);
            }
        }
        CHECK(qp_round_trip(buf, n));
    }
}

/* ---- RFC 2047 ---- */

static char *
enc2047(const char *s, size_t used)
{
    nt_buf b;

    nt_buf_init(&b, 0);
    nt_rfc2047_encode(&b, s, used);
    return nt_buf_detach(&b, NULL);
}

/* Encode after a header name of `used` columns; check line lengths and that
 * decoding gives want back. */
static int
rfc2047_round_trip(const char *s, size_t used, const char *want)
{
    char *e = enc2047(s, used), *line, *dec;
    int ok;

    line = malloc(used + (e ? strlen(e) : 0) + 1);
    if (!e || !line) {
        free(e);
        free(line);
        return 0;
    }
    memset(line, 'H', used);
    memcpy(line + used, e, strlen(e) + 1);
    dec = rfc2047_decode(e);
    ok = lines_within(line, 76) && dec && strcmp(dec, want) == 0;
    for (const char *p = e; *p; p++)
        if ((unsigned char)*p >= 0x80 || (*p < 0x20 && *p != '\r' && *p != '\n'))
            ok = 0;
    if (!ok)
        fprintf(stderr, "  rfc2047 round trip of \"%s\" failed:\n%s\n  decoded: %s\n", s, line,
                dec ? dec : "(malformed)");
    free(e);
    free(line);
    free(dec);
    return ok;
}

static void
test_rfc2047(void)
{
    char *e;
    char long_ascii[400], long_word[200], long_utf8[600];
    size_t i;

    e = enc2047("Hello world", 9);
    CHECK_STR(e, "Hello world");
    free(e);
    e = enc2047("Gr\xc3\xbc\xc3\x9f"
                "e",
                9);
    CHECK(e && strncmp(e, "=?UTF-8?", 8) == 0);
    free(e);
    /* Mostly ASCII: Q is shorter. */
    e = enc2047("Welcome aboard, Zo\xc3\xab!", 9);
    CHECK_STR(e, "=?UTF-8?Q?Welcome_aboard=2C_Zo=C3=AB!?=");
    free(e);
    /* Looks like an encoded-word: encoded itself, so it reads as written. */
    e = enc2047("=?utf-8?b?SGk=?=", 9);
    CHECK(e && strncmp(e, "=?UTF-8?", 8) == 0 && strcmp(e, "=?utf-8?b?SGk=?=") != 0);
    free(e);
    CHECK(rfc2047_round_trip("=?utf-8?b?SGk=?=", 9, "=?utf-8?b?SGk=?="));
    /* Control characters become spaces. */
    e = enc2047("a\r\nb\tc", 9);
    CHECK_STR(e, "a  b c");
    free(e);

    CHECK(rfc2047_round_trip("Gr\xc3\xbc\xc3\x9f"
                             "e aus K\xc3\xb6ln",
                             9,
                             "Gr\xc3\xbc\xc3\x9f"
                             "e aus K\xc3\xb6ln"));
    CHECK(rfc2047_round_trip("Ζωή 日本語 🎉 émoji", 9, "Ζωή 日本語 🎉 émoji"));
    CHECK(rfc2047_round_trip("", 9, ""));

    /* Long ASCII with spaces: folded at the spaces, unfolds to itself. */
    for (i = 0; i + 1 < sizeof(long_ascii); i++)
        long_ascii[i] = i % 9 == 8 ? ' ' : (char)('a' + i % 26);
    long_ascii[sizeof(long_ascii) - 1] = '\0';
    e = enc2047(long_ascii, 9);
    CHECK(e && !strstr(e, "=?") && strstr(e, "\r\n "));
    free(e);
    CHECK(rfc2047_round_trip(long_ascii, 9, long_ascii));
    /* One long word can't be folded: encoded-words instead. */
    memset(long_word, 'w', sizeof(long_word) - 1);
    long_word[sizeof(long_word) - 1] = '\0';
    CHECK(rfc2047_round_trip(long_word, 9, long_word));
    /* Long non-ASCII: many words, never a character split between two. */
    long_utf8[0] = '\0';
    for (i = 0; i < 40; i++) {
        const char *piece = i % 3 == 0 ? "日本" : i % 3 == 1 ? "é🎉" : "Ωx ";
        size_t l = strlen(long_utf8);
        memcpy(long_utf8 + l, piece, strlen(piece) + 1);
    }
    CHECK(rfc2047_round_trip(long_utf8, 9, long_utf8));
    CHECK(rfc2047_round_trip(long_utf8, 60, long_utf8));
    CHECK(rfc2047_round_trip(long_utf8, 70, long_utf8));
    CHECK(rfc2047_round_trip(long_word, 70, long_word));
}

/* ---- composing ---- */

static nt_message_hdrs
base_hdrs(void)
{
    nt_message_hdrs h;

    memset(&h, 0, sizeof(h));
    h.from_name = "Acme Team";
    h.from_addr = "hello@acme.example";
    h.to_name = "Bob Smith";
    h.to_addr = "bob@example.com";
    h.subject = "Welcome aboard, Bob";
    h.date = 1790000000;
    h.message_id = "nt.1.abc123@acme.example";
    return h;
}

static char *
compose(const nt_message_hdrs *h, const char *text, const char *html, nt_err *err, nt_diag *d)
{
    nt_buf b;

    nt_buf_init(&b, 0);
    *err =
        nt_message_compose(h, text, text ? strlen(text) : 0, html, html ? strlen(html) : 0, &b, d);
    if (*err) {
        CHECK_INT(b.len, 0); /* nothing written on a refusal */
        nt_buf_release(&b);
        return NULL;
    }
    return nt_buf_detach(&b, NULL);
}

static void
test_compose_headers(void)
{
    nt_message_hdrs h = base_hdrs();
    nt_diag d;
    nt_err err;
    char names[512];
    char *m;

    h.reply_to = "sales@acme.example";
    h.list_unsubscribe_mailto = "unsubscribe+TOKEN@acme.example";
    h.list_unsubscribe_url = "https://acme.example/u/TOKEN";
    h.campaign = "welcome";
    m = compose(&h, "Hi Bob\n", "<p>Hi Bob</p>\n", &err, &d);
    REQUIRE(m);
    header_names(m, names, sizeof(names));
    CHECK_STR(names, "Date,From,To,Reply-To,Subject,Message-ID,MIME-Version,List-Unsubscribe,"
                     "List-Unsubscribe-Post,X-Nurture-Campaign,Content-Type");
    CHECK_CONTAINS(m, "Date: Mon, 21 Sep 2026 14:13:20 +0000\r\n"
                      "From: \"Acme Team\" <hello@acme.example>\r\n"
                      "To: \"Bob Smith\" <bob@example.com>\r\n"
                      "Reply-To: sales@acme.example\r\n"
                      "Subject: Welcome aboard, Bob\r\n"
                      "Message-ID: <nt.1.abc123@acme.example>\r\n"
                      "MIME-Version: 1.0\r\n");
    CHECK_CONTAINS(m, "List-Unsubscribe: <mailto:unsubscribe+TOKEN@acme.example>,\r\n"
                      " <https://acme.example/u/TOKEN>\r\n"
                      "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
                      "X-Nurture-Campaign: welcome\r\n"
                      "Content-Type: multipart/alternative; boundary=\"=_");
    CHECK_CONTAINS(m, "\r\n\r\n--=_");
    CHECK_CONTAINS(m, "Content-Type: text/plain; charset=utf-8\r\n"
                      "Content-Transfer-Encoding: quoted-printable\r\n\r\nHi Bob\r\n\r\n--=_");
    CHECK_CONTAINS(m,
                   "Content-Type: text/html; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>Hi Bob</p>\r\n\r\n--=_");
    CHECK(m && strlen(m) > 4 && strcmp(m + strlen(m) - 4, "--\r\n") == 0);
    CHECK(wire_ok(m, strlen(m), 76));
    free(m);

    /* Only a mailto: no one-click header.  Only a URL: one-click. */
    h = base_hdrs();
    h.list_unsubscribe_mailto = "u@acme.example";
    m = compose(&h, "x", "y", &err, &d);
    REQUIRE(m);
    CHECK_CONTAINS(m, "List-Unsubscribe: <mailto:u@acme.example>\r\nContent-Type:");
    CHECK_INT(count_header(m, "List-Unsubscribe-Post"), 0);
    free(m);
    h = base_hdrs();
    h.list_unsubscribe_url = "https://acme.example/u/1";
    m = compose(&h, "x", "y", &err, &d);
    REQUIRE(m);
    CHECK_CONTAINS(m, "List-Unsubscribe: <https://acme.example/u/1>\r\n"
                      "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    free(m);
    /* Nothing optional, no names, and text only. */
    h = base_hdrs();
    h.from_name = NULL;
    h.to_name = "";
    m = compose(&h, "Just text.\n", NULL, &err, &d);
    REQUIRE(m);
    header_names(m, names, sizeof(names));
    CHECK_STR(names, "Date,From,To,Subject,Message-ID,MIME-Version,Content-Type,"
                     "Content-Transfer-Encoding");
    CHECK_CONTAINS(m, "From: hello@acme.example\r\nTo: bob@example.com\r\n");
    CHECK_CONTAINS(m, "Content-Type: text/plain; charset=utf-8\r\n"
                      "Content-Transfer-Encoding: quoted-printable\r\n\r\nJust text.\r\n");
    CHECK(m && strcmp(m + strlen(m) - 14, "Just text.\r\n\r\n") != 0);
    CHECK(!strstr(m, "multipart"));
    CHECK(wire_ok(m, strlen(m), 76));
    free(m);
    /* Quoted-string display names escape '"' and '\'. */
    h = base_hdrs();
    h.from_name = "Ann \"The Boss\" O\\Neil, CEO";
    m = compose(&h, "x", NULL, &err, &d);
    REQUIRE(m);
    CHECK_CONTAINS(m, "From: \"Ann \\\"The Boss\\\" O\\\\Neil, CEO\" <hello@acme.example>\r\n");
    free(m);
    /* The boundary comes from the Message-ID: same id, same message. */
    {
        char *a, *b;
        h = base_hdrs();
        a = compose(&h, "t", "h", &err, &d);
        b = compose(&h, "t", "h", &err, &d);
        CHECK(a && b && strcmp(a, b) == 0);
        free(a);
        free(b);
    }
}

static void
test_compose_dates(void)
{
    nt_message_hdrs h = base_hdrs();
    nt_err err;
    char *m;

    h.date = 0;
    m = compose(&h, "x", NULL, &err, NULL);
    CHECK_CONTAINS(m, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n");
    free(m);
    h.date = 951782400;
    m = compose(&h, "x", NULL, &err, NULL);
    CHECK_CONTAINS(m, "Date: Tue, 29 Feb 2000 00:00:00 +0000\r\n");
    free(m);
}

static void
expect_refused(const nt_message_hdrs *h, const char *msg)
{
    nt_diag d;
    nt_err err;
    char *m = compose(h, "x", "y", &err, &d);

    CHECK(m == NULL);
    CHECK_INT(err, NT_EINVAL);
    CHECK_CONTAINS(d.msg, msg);
    free(m);
}

static void
test_compose_validation(void)
{
    static const char *const bad_addrs[] = {
        "bob smith@example.com",
        "bob@@example.com",
        "bob@a@example.com",
        "<bob@example.com>",
        "bob@example.com\r\nBcc: victim@example.com",
        "bobexample.com",
        "bob@",
        "@example.com",
        "",
        "b\xc3\xb6"
        "b@example.com",
        "bob@example.com,eve@example.com",
        "bob\"@example.com",
        "bob@example.com.",
        "bob@.example.com",
        "bo\x01"
        "b@example.com",
    };
    nt_message_hdrs h;
    size_t i;

    h = base_hdrs();
    h.from_addr = NULL;
    expect_refused(&h, "the From address is required");
    h = base_hdrs();
    h.to_addr = NULL;
    expect_refused(&h, "the To address is required");
    h = base_hdrs();
    h.subject = NULL;
    expect_refused(&h, "the subject is required");
    h = base_hdrs();
    h.message_id = NULL;
    expect_refused(&h, "the Message-ID is required");
    expect_refused(NULL, "is required");
    for (i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++) {
        h = base_hdrs();
        h.to_addr = bad_addrs[i];
        expect_refused(&h, "To address");
        h = base_hdrs();
        h.from_addr = bad_addrs[i];
        expect_refused(&h, "From address");
        h = base_hdrs();
        h.reply_to = bad_addrs[i];
        expect_refused(&h, "Reply-To address");
        h = base_hdrs();
        h.list_unsubscribe_mailto = bad_addrs[i];
        expect_refused(&h, "unsubscribe address");
        h = base_hdrs();
        h.message_id = bad_addrs[i];
        expect_refused(&h, "Message-ID");
    }
    h = base_hdrs();
    h.to_addr = "bob smith@example.com";
    expect_refused(&h, "To address contains a space or a control character");
    h.to_addr = "a@b@c";
    expect_refused(&h, "exactly one '@'");
    {
        static const char *const bad_urls[] = {
            "http://acme.example/u", "javascript:alert(1)", "https://",     "https://a b",
            "https://a\r\nBcc: x@y", "https://a/<x>",       "https://a/\"", "https://a/\xc3\xa9",
        };
        for (i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
            h = base_hdrs();
            h.list_unsubscribe_url = bad_urls[i];
            expect_refused(&h, "unsubscribe URL");
        }
    }
    {
        char long_url[1000];
        memcpy(long_url, "https://", 8);
        memset(long_url + 8, 'a', sizeof(long_url) - 9);
        long_url[sizeof(long_url) - 1] = '\0';
        h = base_hdrs();
        h.list_unsubscribe_url = long_url;
        expect_refused(&h, "too long");
    }
    /* HTTPS in capitals is still HTTPS. */
    {
        nt_err err;
        char *m;
        h = base_hdrs();
        h.list_unsubscribe_url = "HTTPS://acme.example/u";
        m = compose(&h, "x", NULL, &err, NULL);
        CHECK_INT(err, NT_OK);
        free(m);
    }
}

/* No value can add a header line. */
static void
test_compose_header_injection(void)
{
    static const char *const evil = "Bob\r\nBcc: victim@example.com";
    nt_message_hdrs h = base_hdrs();
    nt_err err;
    char *m;
    char names[512];

    h.from_name = evil;
    h.to_name = "Eve\nBcc: victim@example.com\r\n\r\n<html>";
    h.subject = evil;
    h.campaign = "c\rBcc: victim@example.com";
    m = compose(&h, "body\r\nBcc: victim@example.com\r\n", "x", &err, NULL);
    REQUIRE(m);
    CHECK_INT(count_header(m, "Bcc"), 0);
    header_names(m, names, sizeof(names));
    CHECK_STR(names, "Date,From,To,Subject,Message-ID,MIME-Version,X-Nurture-Campaign,"
                     "Content-Type");
    CHECK_CONTAINS(m, "From: \"Bob  Bcc: victim@example.com\" <hello@acme.example>\r\n");
    CHECK_CONTAINS(m, "Subject: Bob  Bcc: victim@example.com\r\n");
    CHECK_CONTAINS(m, "X-Nurture-Campaign: c Bcc: victim@example.com\r\n");
    CHECK(wire_ok(m, strlen(m), 76));
    free(m);
}

static const char *
evil_value(void *ctx, const char *name)
{
    (void)name;
    return ctx;
}

static void
test_compose_long_lines(void)
{
    nt_message_hdrs h = base_hdrs();
    nt_err err;
    char *m, *text, *html;
    char subject[600], name[300];
    size_t i;

    text = malloc(20001);
    html = malloc(20001);
    REQUIRE(text && html);
    for (i = 0; i < 20000; i++) {
        text[i] = (char)('a' + i % 26);
        html[i] = i % 3 ? 'x' : '=';
    }
    memcpy(text + 5000, "\n\xc3\xa9\xc3\xa9 \t\n", 8);
    text[20000] = html[20000] = '\0';
    for (i = 0; i + 1 < sizeof(subject); i++)
        subject[i] = i % 30 == 29 ? ' ' : (char)('A' + i % 26);
    subject[sizeof(subject) - 1] = '\0';
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    h.subject = subject;
    h.from_name = name;
    h.to_name = "Ζωή Παπαδοπούλου-Σμιθ από την Αθήνα και τη Θεσσαλονίκη";
    h.campaign = "a very long campaign name that goes on and on and on past the edge of the line";
    m = compose(&h, text, html, &err, NULL);
    REQUIRE(m);
    CHECK(wire_ok(m, strlen(m), 76));
    free(m);
    free(text);
    free(html);
}

/* ---- the real MIME parser ---- */

static const char py_check[] =
    "import sys, email, email.policy\n"
    "d = sys.argv[1]\n"
    "def rd(n):\n"
    "    with open(d + '/' + n, 'rb') as f:\n"
    "        return f.read().decode('utf-8')\n"
    "raw = open(d + '/msg.eml', 'rb').read()\n"
    "msg = email.message_from_bytes(raw, policy=email.policy.default)\n"
    "errs = []\n"
    "def chk(c, m):\n"
    "    if not c:\n"
    "        errs.append(m)\n"
    "for part in msg.walk():\n"
    "    chk(not part.defects, 'defects %r in %s' % (part.defects, part.get_content_type()))\n"
    "for name in ('Subject', 'From', 'To', 'Date', 'Message-ID'):\n"
    "    h = msg[name]\n"
    "    chk(h is not None and not h.defects, 'header %s: %r' % (name, h and h.defects))\n"
    "chk(str(msg['Subject']) == rd('subject'),\n"
    "    'Subject %r != %r' % (str(msg['Subject']), rd('subject')))\n"
    "# Python keeps the white space between two encoded-words in a phrase,\n"
    "# which RFC 2047 section 6.2 says to drop; its own long names don't\n"
    "# survive that.  Compare display names with runs of spaces squashed.\n"
    "def squash(x):\n"
    "    return ' '.join(x.split())\n"
    "for name, key in (('From', 'from'), ('To', 'to')):\n"
    "    a = msg[name].addresses\n"
    "    chk(len(a) == 1, '%s: %d addresses' % (name, len(a)))\n"
    "    if a:\n"
    "        chk(a[0].display_name == rd(key + '_name') or\n"
    "            squash(a[0].display_name) == squash(rd(key + '_name')),\n"
    "            '%s name %r != %r' % (name, a[0].display_name, rd(key + '_name')))\n"
    "        chk(a[0].addr_spec == rd(key + '_addr'),\n"
    "            '%s addr %r != %r' % (name, a[0].addr_spec, rd(key + '_addr')))\n"
    "chk(msg['Message-ID'] == '<' + rd('message_id') + '>', 'Message-ID')\n"
    "chk(msg['Bcc'] is None, 'a Bcc header')\n"
    "def body(p):\n"
    "    chk(p.get_content_charset() == 'utf-8', 'charset %r' % p.get_content_charset())\n"
    "    chk(p['Content-Transfer-Encoding'] == 'quoted-printable', 'cte')\n"
    "    return p.get_content().replace('\\r\\n', '\\n')\n"
    "if rd('html') != '':\n"
    "    chk(msg.get_content_type() == 'multipart/alternative', 'type %s' % "
    "msg.get_content_type())\n"
    "    parts = list(msg.iter_parts())\n"
    "    chk(len(parts) == 2, '%d parts' % len(parts))\n"
    "    if len(parts) == 2:\n"
    "        chk(parts[0].get_content_type() == 'text/plain', 'first part')\n"
    "        chk(parts[1].get_content_type() == 'text/html', 'second part')\n"
    "        t = body(parts[0])\n"
    "        h = body(parts[1])\n"
    "        chk(t == rd('text'), 'text %r != %r' % (t[:200], rd('text')[:200]))\n"
    "        chk(h == rd('html'), 'html %r != %r' % (h[:200], rd('html')[:200]))\n"
    "else:\n"
    "    chk(msg.get_content_type() == 'text/plain', 'type %s' % msg.get_content_type())\n"
    "    t = body(msg)\n"
    "    want = rd('text')\n"
    "    chk(t == want or t == want + '\\n', 'text %r != %r' % (t[:200], want[:200]))\n"
    "for e in errs:\n"
    "    print(e)\n"
    "sys.exit(1 if errs else 0)\n";

static int
write_file(const char *dir, const char *name, const char *data, size_t n)
{
    char path[512];
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f)
        return 0;
    ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static const char *const py_files[] = {"check.py", "msg.eml", "subject", "from_name", "from_addr",
                                       "to_name",  "to_addr", "text",    "html",      "message_id"};

/*
 * Compose h/text/html, write the message and what it should decode to, and
 * let Python's email package parse it.  Returns 1 when Python agrees.
 */
static int
python_expects(const nt_message_hdrs *h, const nt_message_hdrs *want, const char *text,
               const char *html)
{
    char dir[] = "/tmp/nt_msg_XXXXXX", cmd[600], out[4096];
    nt_buf b;
    nt_err err;
    FILE *p;
    size_t n = 0, i;
    int ok = 0, status;
    char *want_text, *want_html;

    if (access(PYTHON, X_OK) != 0) {
        fprintf(stderr, "  SKIP: %s is not there, the MIME round trip is not checked\n", PYTHON);
        return 1;
    }
    if (!mkdtemp(dir))
        return 0;
    nt_buf_init(&b, 0);
    err = nt_message_compose(h, text, strlen(text), html, html ? strlen(html) : 0, &b, NULL);
    want_text = lf_only(text, strlen(text), NULL);
    want_html = html ? lf_only(html, strlen(html), NULL) : NULL;
    if (err == NT_OK && want_text && (!html || want_html) &&
        write_file(dir, "check.py", py_check, strlen(py_check)) &&
        write_file(dir, "msg.eml", nt_buf_cstr(&b), b.len) &&
        write_file(dir, "subject", want->subject, strlen(want->subject)) &&
        write_file(dir, "from_name", want->from_name ? want->from_name : "",
                   want->from_name ? strlen(want->from_name) : 0) &&
        write_file(dir, "from_addr", want->from_addr, strlen(want->from_addr)) &&
        write_file(dir, "to_name", want->to_name ? want->to_name : "",
                   want->to_name ? strlen(want->to_name) : 0) &&
        write_file(dir, "to_addr", want->to_addr, strlen(want->to_addr)) &&
        write_file(dir, "text", want_text, strlen(want_text)) &&
        write_file(dir, "html", want_html ? want_html : "", want_html ? strlen(want_html) : 0) &&
        write_file(dir, "message_id", h->message_id, strlen(h->message_id))) {
        snprintf(cmd, sizeof(cmd), "%s %s/check.py %s 2>&1", PYTHON, dir, dir);
        p = popen(cmd, "r");
        if (p) {
            n = fread(out, 1, sizeof(out) - 1, p);
            out[n] = '\0';
            status = pclose(p);
            ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
            if (!ok)
                fprintf(stderr, "  python says:\n%s\n  message:\n%.3000s\n", out, nt_buf_cstr(&b));
        }
    } else {
        fprintf(stderr, "  could not compose or write the message (%s)\n", nt_strerror(err));
    }
    for (i = 0; i < sizeof(py_files) / sizeof(py_files[0]); i++) {
        char path[600];
        snprintf(path, sizeof(path), "%s/%s", dir, py_files[i]);
        unlink(path);
    }
    rmdir(dir);
    free(want_text);
    free(want_html);
    nt_buf_release(&b);
    return ok;
}

static int
python_agrees(const nt_message_hdrs *h, const char *text, const char *html)
{
    return python_expects(h, h, text, html);
}

static void
test_python_round_trip(void)
{
    nt_message_hdrs h = base_hdrs();
    char long_text[6000], long_subject[400];
    size_t i;

    CHECK(python_agrees(&h, "Hi Bob,\n\nWelcome.\n", "<p>Hi Bob,</p>\n<p>Welcome.</p>\n"));
    CHECK(python_agrees(&h, "no final newline", "<p>x</p>"));
    CHECK(python_agrees(&h, "text only\n", NULL));

    /* Unicode names and subjects: RFC 2047 both ways. */
    h.from_name = "Zoë at Ächme";
    h.to_name = "日本 太郎";
    h.subject = "Welcome aboard, Zoë 🎉 — ready?";
    CHECK(python_agrees(&h, "Grüße, Zoë 🎉\n", "<p>Grüße, Zoë 🎉</p>\n"));

    /* Specials in ASCII names; text that looks like an encoded-word. */
    h.from_name = "Ann \"The Boss\" O'Neil, CEO (Acme) \\o/";
    h.to_name = "=?utf-8?q?not_encoded?=";
    h.subject = "=?utf-8?b?SGk=?= is not a greeting; 100% = sure";
    CHECK(python_agrees(&h, "a=b\n=\n==3D\n", "<p>a=b</p>"));

    /* Long everything. */
    for (i = 0; i + 1 < sizeof(long_subject); i++)
        long_subject[i] = i % 8 == 7 ? ' ' : (char)('a' + i % 26);
    long_subject[sizeof(long_subject) - 1] = '\0';
    h.subject = long_subject;
    h.from_name = "Ζωή Παπαδοπούλου-Σμιθ από την Αθήνα και τη Θεσσαλονίκη, Ελλάδα";
    h.to_name = "A very long ASCII display name that will certainly not fit on the line";
    for (i = 0; i + 1 < sizeof(long_text); i++)
        long_text[i] = i % 1000 == 999 ? '\n' : i % 97 == 0 ? ' ' : (char)('a' + i % 26);
    long_text[sizeof(long_text) - 1] = '\0';
    CHECK(python_agrees(&h, long_text, long_text));
    h.subject = "Ζωή Παπαδοπούλου-Σμιθ από την Αθήνα και τη Θεσσαλονίκη, Ελλάδα, 日本語のテキスト "
                "🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉";
    CHECK(python_agrees(&h, "trailing spaces   \nand tabs\t\t\n\tleading\n",
                        "<pre>  x  </pre>\r\n<p>CRLF</p>\r\n"));

    /* Header injection attempts, checked by the real parser. */
    h = base_hdrs();
    h.from_name = "Bob\r\nBcc: victim@example.com";
    h.subject = "Hi\r\nBcc: victim@example.com";
    {
        /* What the real parser sees: control characters became spaces. */
        nt_message_hdrs want = h;
        want.from_name = "Bob  Bcc: victim@example.com";
        want.subject = "Hi  Bcc: victim@example.com";
        CHECK(python_expects(&h, &want, "x\r\nBcc: victim@example.com\r\n", "y"));
    }
}

/* The checker itself can fail: a wrong expectation is caught. */
static void
test_python_checker_can_fail(void)
{
    nt_message_hdrs h = base_hdrs(), want = base_hdrs();

    if (access(PYTHON, X_OK) != 0)
        return;
    fprintf(stderr, "  (python complaints below are expected)\n");
    want.subject = "Welcome aboard, Rob";
    CHECK(!python_expects(&h, &want, "x", "y"));
    want = base_hdrs();
    want.to_addr = "rob@example.com";
    CHECK(!python_expects(&h, &want, "x", "y"));
    want = base_hdrs();
    CHECK(python_expects(&h, &want, "x", "y"));
}

/* Template to wire: render hostile values, compose, parse back. */
static void
test_template_to_wire(void)
{
    const char *src = "---\nsubject: \"Welcome, {{first_name | friend}}!\"\n"
                      "preheader: Three things to try\n---\n"
                      "Hi {{first_name | friend}},\n\n"
                      "**Welcome** to [Acme](https://acme.example/?ref={{first_name}}).\n";
    const char *hostile = "Zoë <script>alert(1)</script> [x](http://evil) **b**";
    nt_template *t = NULL;
    nt_rendered r;
    nt_message_hdrs h = base_hdrs();

    REQUIRE(nt_template_parse("t.md", src, strlen(src), &t, NULL) == NT_OK);
    REQUIRE(nt_template_render(t, NULL, evil_value, (void *)hostile, &r, NULL) == NT_OK);
    CHECK_STR(r.subject, "Welcome, Zoë <script>alert(1)</script> [x](http://evil) **b**!");
    CHECK(!strstr(r.html, "<script"));
    CHECK(!strstr(r.html, "href=\"http://evil"));
    h.subject = r.subject;
    h.to_name = "Zoë";
    CHECK(python_agrees(&h, r.text, r.html));
    nt_rendered_release(&r);

    REQUIRE(nt_template_render(t, NULL, evil_value, (void *)"Bob\r\nBcc: victim@example.com", &r,
                               NULL) == NT_OK);
    CHECK_STR(r.subject, "Welcome, Bob Bcc: victim@example.com!");
    h.subject = r.subject;
    CHECK(python_agrees(&h, r.text, r.html));
    nt_rendered_release(&r);
    nt_template_free(t);
}

int
main(void)
{
    RUN(test_qp_basics);
    RUN(test_qp_long_and_random);
    RUN(test_rfc2047);
    RUN(test_compose_headers);
    RUN(test_compose_dates);
    RUN(test_compose_validation);
    RUN(test_compose_header_injection);
    RUN(test_compose_long_lines);
    RUN(test_python_round_trip);
    RUN(test_python_checker_can_fail);
    RUN(test_template_to_wire);
    return t_done();
}
