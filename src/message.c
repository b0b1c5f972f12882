/*
 * Composing the RFC 5322 / MIME message that goes on the wire: headers in a
 * fixed order, a multipart/alternative body with quoted-printable text and
 * HTML parts, CRLF line ends, 7-bit throughout.
 *
 * Everything that reaches a header comes from campaign files or lead data,
 * so it is untrusted: control characters become spaces before a value is
 * written (no value can end a header line or add one), addresses are checked
 * character by character, and every line is kept under 76 columns by
 * folding, or by RFC 2047 encoding where folding can not do it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nurture/buf.h"
#include "nurture/message.h"
#include "nurture/utf8.h"
#include "nurture/tz.h"

#include "banned.h"

#define LINE_MAX_COLS 76
#define ENCODED_WORD_MAX 75 /* RFC 2047 section 2 */
#define ADDR_MAX 254
#define URL_MAX 900

/*
 * A header value made safe: C0 controls (CR and LF among them), DEL and the
 * C1 controls become spaces, invalid UTF-8 becomes U+FFFD, and with `trim`
 * the ends are trimmed.  Owned by the caller (free), NULL when out of memory.
 */
static char *
scrub(const char *s, int trim)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    nt_buf b;
    char *r;
    size_t len;

    nt_buf_init(&b, 0);
    while (i < n) {
        size_t l = nt_utf8_seq(u + i, n - i);
        if (!l) {
            nt_buf_adds(&b, "\xef\xbf\xbd");
            i++;
            continue;
        }
        if (u[i] < 0x20 || u[i] == 0x7f || (l == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0))
            nt_buf_addc(&b, ' ');
        else
            nt_buf_add(&b, s + i, l);
        i += l;
    }
    nt_buf_addc(&b, '\0'); /* so that detach never returns NULL for "" */
    r = nt_buf_detach(&b, &len);
    if (!r)
        return NULL;
    if (trim) {
        size_t a = 0, e = len - 1; /* without the NUL added above */
        while (a < e && r[a] == ' ')
            a++;
        while (e > a && r[e - 1] == ' ')
            e--;
        memmove(r, r + a, e - a);
        r[e - a] = '\0';
    }
    return r;
}

/* Columns used on the last line of b. */
static size_t
cur_col(const nt_buf *b)
{
    size_t i = b->len;

    while (i > 0 && b->data[i - 1] != '\n')
        i--;
    return b->len - i;
}

static int
printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

/*
 * Fold s at its spaces so that no line passes LINE_MAX_COLS; the space is
 * kept at the start of the continuation line, so unfolding gives s back.
 * With out NULL, only say whether that is possible.
 */
static int
fold_ascii(nt_buf *out, const char *s, size_t col)
{
    size_t i = 0, n = strlen(s);

    while (i < n) {
        size_t j = i;
        while (j < n && s[j] == ' ')
            j++;
        while (j < n && s[j] != ' ')
            j++;
        if (col + (j - i) > LINE_MAX_COLS) {
            /* Fold before the segment: possible only if it starts with a
             * space and fits on a line of its own. */
            if (s[i] != ' ' || j - i > LINE_MAX_COLS)
                return 0;
            if (out)
                nt_buf_adds(out, "\r\n");
            col = 0;
        }
        if (out)
            nt_buf_add(out, s + i, j - i);
        col += j - i;
        i = j;
    }
    return 1;
}

/* Characters that stand for themselves in a Q encoded-word anywhere,
 * phrases included (RFC 2047 section 5 (3)). */
static int
q_plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '!' ||
           c == '*' || c == '+' || c == '-' || c == '/';
}

static size_t
q_cost(const unsigned char *s, size_t n)
{
    size_t i, c = 0;

    for (i = 0; i < n; i++)
        c += (q_plain(s[i]) || s[i] == ' ') ? 1 : 3;
    return c;
}

static size_t
b_cost(size_t n)
{
    return (n + 2) / 3 * 4;
}

static void
add_q(nt_buf *out, const unsigned char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (q_plain(s[i]))
            nt_buf_addc(out, (char)s[i]);
        else if (s[i] == ' ')
            nt_buf_addc(out, '_');
        else
            nt_buf_addf(out, "=%02X", s[i]);
    }
}

static void
add_b(nt_buf *out, const unsigned char *s, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        char q[4] = {tab[s[i] >> 2], tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)],
                     tab[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)], tab[s[i + 2] & 63]};
        nt_buf_add(out, q, 4);
    }
    if (n - i == 1) {
        char q[4] = {tab[s[i] >> 2], tab[(s[i] & 3) << 4], '=', '='};
        nt_buf_add(out, q, 4);
    } else if (n - i == 2) {
        char q[4] = {tab[s[i] >> 2], tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)],
                     tab[(s[i + 1] & 15) << 2], '='};
        nt_buf_add(out, q, 4);
    }
}

/*
 * s (valid UTF-8) as encoded-words starting at column col.  Each word holds
 * whole characters (RFC 2047 section 5) and is at most 75 characters; words
 * are separated by a fold, which decoders drop between encoded-words.  Q or
 * B, whichever is shorter for s; both are valid in a phrase as written.
 */
static void
encode_words(nt_buf *out, const char *s, size_t col)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    int q = q_cost(u, n) <= b_cost(n);
    const size_t overhead = 12; /* "=?UTF-8?Q?" "?=" */

    while (i < n) {
        size_t room = col >= LINE_MAX_COLS                     ? 0
                      : LINE_MAX_COLS - col < ENCODED_WORD_MAX ? LINE_MAX_COLS - col
                                                               : ENCODED_WORD_MAX;
        size_t j = i, cost = 0;

        if (room < overhead + 12) {
            /* Not even one character fits after what is on the line. */
            nt_buf_adds(out, "\r\n ");
            col = 1;
            continue;
        }
        while (j < n) {
            size_t l = nt_utf8_seq(u + j, n - j), c;
            if (!l)
                l = 1;
            c = q ? cost + q_cost(u + j, l) : b_cost(j + l - i);
            if (overhead + c > room && j > i)
                break;
            cost = c;
            j += l;
        }
        if (j < n) {
            /* End the word after a space if there is one in its second
             * half: decoders that wrongly keep the fold between two words
             * (Python's phrase parser) then add a space next to a space
             * rather than one inside a word. */
            size_t k = j;
            while (k > i + (j - i) / 2 && u[k - 1] != ' ')
                k--;
            if (k > i + (j - i) / 2) {
                j = k;
                cost = q ? q_cost(u + i, j - i) : b_cost(j - i);
            }
        }
        nt_buf_adds(out, q ? "=?UTF-8?Q?" : "=?UTF-8?B?");
        if (q)
            add_q(out, u + i, j - i);
        else
            add_b(out, u + i, j - i);
        nt_buf_adds(out, "?=");
        col += overhead + cost;
        i = j;
        if (i < n) {
            nt_buf_adds(out, "\r\n ");
            col = 1;
        }
    }
}

void
nt_rfc2047_encode(nt_buf *out, const char *s, size_t used)
{
    char *v = scrub(s, 0);

    if (!v) {
        out->err = out->err ? out->err : NT_ENOMEM;
        return;
    }
    /* Text that looks like an encoded-word would be decoded by the reader,
     * so it is encoded itself to come out as written. */
    if (printable_ascii(v) && !strstr(v, "=?") && fold_ascii(NULL, v, used))
        fold_ascii(out, v, used);
    else
        encode_words(out, v, used);
    free(v);
}

void
nt_qp_encode(nt_buf *out, const char *in, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0, col = 0;

    while (i < n) {
        unsigned char c = (unsigned char)in[i];
        int at_eol, enc;
        size_t w;

        if (c == '\r' || c == '\n') {
            /* CRLF, lone CR and lone LF are all one line end. */
            nt_buf_adds(out, "\r\n");
            col = 0;
            if (c == '\r' && i + 1 < n && in[i + 1] == '\n')
                i++;
            i++;
            continue;
        }
        at_eol = i + 1 == n || in[i + 1] == '\r' || in[i + 1] == '\n';
        for (;;) {
            if (c == ' ' || c == '\t')
                enc = at_eol; /* trailing white space would be lost in transit */
            else if (c == '=' || c < 0x20 || c >= 0x7f)
                enc = 1;
            else if (col == 0 &&
                     (c == '.' || (c == 'F' && n - i >= 5 && memcmp(in + i, "From ", 5) == 0)))
                enc = 1; /* a lone "." ends SMTP DATA; "From " gets mangled in mbox */
            else
                enc = 0;
            w = enc ? 3 : 1;
            /* A line may be 76 long; one that goes on needs the last for '='. */
            if (col + w <= LINE_MAX_COLS - 1 || (at_eol && col + w <= LINE_MAX_COLS))
                break;
            nt_buf_adds(out, "=\r\n");
            col = 0;
        }
        if (enc) {
            char e[3] = {'=', hex[c >> 4], hex[c & 15]};
            nt_buf_add(out, e, 3);
        } else {
            nt_buf_addc(out, (char)c);
        }
        col += w;
        i++;
    }
}

/* ---- addresses and other structured values ---- */

/* A plain addr-spec we are willing to write: printable ASCII, no white
 * space, none of the characters that delimit addresses in a header, exactly
 * one '@' with something on both sides. */
static const char *
addr_problem(const char *a)
{
    size_t n = strlen(a), i, at = 0, ats = 0;

    if (n == 0)
        return "is empty";
    if (n > ADDR_MAX)
        return "is too long";
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c <= 0x20 || c == 0x7f)
            return "contains a space or a control character";
        if (c > 0x7f)
            return "contains a non-ASCII character (use the punycode form of the domain)";
        if (strchr("<>()[]\\,;:\"", c))
            return "contains a character that can not appear in an address";
        if (c == '@') {
            ats++;
            at = i;
        }
    }
    if (ats != 1)
        return "must contain exactly one '@'";
    if (at == 0 || at == n - 1)
        return "needs text on both sides of the '@'";
    if (a[at + 1] == '.' || a[n - 1] == '.')
        return "has a bad domain";
    return NULL;
}

static const char *
url_problem(const char *u)
{
    size_t n = strlen(u), i;

    if (n < 9 || strncasecmp(u, "https://", 8) != 0)
        return "must be an https:// URL";
    if (n > URL_MAX)
        return "is too long";
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\\')
            return "contains a character that can not appear in a URL";
    }
    return NULL;
}

/* "Name" <addr>, =?UTF-8?...?= <addr> or addr, folded. */
static nt_err
add_mailbox(nt_buf *out, const char *hname, const char *name, const char *addr)
{
    char *v = name ? scrub(name, 1) : NULL;
    size_t col;

    if (name && !v)
        return NT_ENOMEM;
    nt_buf_addf(out, "%s: ", hname);
    col = strlen(hname) + 2;
    if (v && v[0]) {
        size_t qlen = 2, i;
        for (i = 0; v[i]; i++)
            qlen += (v[i] == '"' || v[i] == '\\') ? 2 : 1;
        if (printable_ascii(v) && !strstr(v, "=?") && col + qlen <= LINE_MAX_COLS) {
            nt_buf_addc(out, '"');
            for (i = 0; v[i]; i++) {
                if (v[i] == '"' || v[i] == '\\')
                    nt_buf_addc(out, '\\');
                nt_buf_addc(out, v[i]);
            }
            nt_buf_addc(out, '"');
        } else {
            encode_words(out, v, col);
        }
        col = out->err ? 0 : cur_col(out);
        if (col + 3 + strlen(addr) > LINE_MAX_COLS)
            nt_buf_addf(out, "\r\n <%s>\r\n", addr);
        else
            nt_buf_addf(out, " <%s>\r\n", addr);
    } else {
        nt_buf_addf(out, "%s\r\n", addr);
    }
    free(v);
    return NT_OK;
}

/* ---- the message ---- */

static uint64_t
fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void
add_part_headers(nt_buf *out, const char *type)
{
    nt_buf_addf(out,
                "Content-Type: %s; charset=utf-8\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n",
                type);
}

nt_err
nt_message_compose(const nt_message_hdrs *h, const char *text, size_t text_len, const char *html,
                   size_t html_len, nt_buf *out, nt_diag *d)
{
    const char *why;
    char date[64], boundary[40];
    char *subject = NULL, *campaign = NULL;
    nt_err err;

    nt_diag_clear(d);
    if (!h || !h->from_addr || !h->to_addr || !h->subject || !h->message_id)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "message: %s is required",
                           !h || !h->from_addr ? "the From address"
                           : !h->to_addr       ? "the To address"
                           : !h->subject       ? "the subject"
                                               : "the Message-ID");
    if (!text && text_len)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "message: no text");
    if ((why = addr_problem(h->from_addr)))
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "message: From address %s", why);
    if ((why = addr_problem(h->to_addr)))
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "message: To address %s", why);
    if (h->reply_to && (why = addr_problem(h->reply_to)))
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "message: Reply-To address %s", why);
    if ((why = addr_problem(h->message_id)))
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "message: Message-ID %s", why);
    if (h->list_unsubscribe_mailto && (why = addr_problem(h->list_unsubscribe_mailto)))
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "message: unsubscribe address %s", why);
    if (h->list_unsubscribe_url && (why = url_problem(h->list_unsubscribe_url)))
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "message: unsubscribe URL %s", why);

    subject = scrub(h->subject, 1);
    campaign = h->campaign ? scrub(h->campaign, 1) : NULL;
    if (!subject || (h->campaign && !campaign)) {
        err = NT_ENOMEM;
        goto out;
    }

    nt_time_format_rfc5322(h->date, date, sizeof(date));
    nt_buf_addf(out, "Date: %s\r\n", date);
    if ((err = add_mailbox(out, "From", h->from_name, h->from_addr)) != NT_OK ||
        (err = add_mailbox(out, "To", h->to_name, h->to_addr)) != NT_OK)
        goto out;
    if (h->reply_to)
        nt_buf_addf(out, "Reply-To: %s\r\n", h->reply_to);
    nt_buf_adds(out, "Subject: ");
    nt_rfc2047_encode(out, subject, strlen("Subject: "));
    nt_buf_adds(out, "\r\n");
    nt_buf_addf(out, "Message-ID: <%s>\r\n", h->message_id);
    nt_buf_adds(out, "MIME-Version: 1.0\r\n");
    if (h->list_unsubscribe_mailto || h->list_unsubscribe_url) {
        nt_buf_adds(out, "List-Unsubscribe: ");
        if (h->list_unsubscribe_mailto)
            nt_buf_addf(out, "<mailto:%s>", h->list_unsubscribe_mailto);
        if (h->list_unsubscribe_mailto && h->list_unsubscribe_url)
            nt_buf_adds(out, ",");
        if (h->list_unsubscribe_url) {
            /* Fold rather than pass 76 columns when both are there. */
            if (h->list_unsubscribe_mailto &&
                cur_col(out) + 2 + strlen(h->list_unsubscribe_url) + 2 > LINE_MAX_COLS)
                nt_buf_adds(out, "\r\n");
            nt_buf_addf(out, "%s<%s>", h->list_unsubscribe_mailto ? " " : "",
                        h->list_unsubscribe_url);
        }
        nt_buf_adds(out, "\r\n");
        if (h->list_unsubscribe_url)
            nt_buf_adds(out, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    }
    if (campaign && campaign[0]) {
        nt_buf_adds(out, "X-Nurture-Campaign: ");
        nt_rfc2047_encode(out, campaign, strlen("X-Nurture-Campaign: "));
        nt_buf_adds(out, "\r\n");
    }

    if (!html) {
        add_part_headers(out, "text/plain");
        nt_buf_adds(out, "\r\n");
        nt_qp_encode(out, text ? text : "", text_len);
        /* The message must end with a line end; don't add a blank line. */
        if (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2) != 0)
            nt_buf_adds(out, "\r\n");
    } else {
        /* Quoted-printable never writes "=_", so this can not occur in a part. */
        snprintf(boundary, sizeof(boundary), "=_%016llx_nt",
                 (unsigned long long)fnv1a(h->message_id));
        nt_buf_addf(out,
                    "Content-Type: multipart/alternative; boundary=\"%s\"\r\n"
                    "\r\n"
                    "--%s\r\n",
                    boundary, boundary);
        add_part_headers(out, "text/plain");
        nt_buf_adds(out, "\r\n");
        nt_qp_encode(out, text ? text : "", text_len);
        /* The CRLF before a delimiter belongs to the delimiter. */
        nt_buf_addf(out, "\r\n--%s\r\n", boundary);
        add_part_headers(out, "text/html");
        nt_buf_adds(out, "\r\n");
        nt_qp_encode(out, html, html_len);
        nt_buf_addf(out, "\r\n--%s--\r\n", boundary);
    }
    err = out->err;

out:
    free(subject);
    free(campaign);
    if (err)
        return nt_diag_set(d, err, NULL, 0, 0, "message: %s", nt_strerror(err));
    return NT_OK;
}
