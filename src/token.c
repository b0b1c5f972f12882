/*
 * Signed tokens: the send id, MACed with a per-kind subkey and encoded as
 * lowercase base32, and the addresses and URLs that carry them.  This is the
 * only place that knows a token's layout or where a token sits in a
 * Message-ID, a VERP return path or an unsubscribe link, so that the sender
 * and the inbound side cannot drift apart.  Decoding is strict (canonical
 * varint, zero pad bits, exact lengths) so that the only strings that verify
 * are the ones nt_token_make writes; the MAC is compared in constant time.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "nurture/token.h"

#include "banned.h"

#define TOKEN_VERSION 1
#define MAC_LEN 10
#define VARINT_MAX 9 /* 63 bits, 7 per byte */
#define RAW_MAX (1 + VARINT_MAX + MAC_LEN)
#define LOCAL_MAX 64   /* RFC 5321 4.5.3.1.1 */
#define DOMAIN_MAX 253 /* RFC 1035, without the trailing dot */
#define LABEL_MAX 63

static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/* Labels for the subkeys: changing one invalidates every token of its kind
 * in flight, so they are fixed for good. */
static const char label_msgid[] = "nurture token v1: message-id";
static const char label_bounce[] = "nurture token v1: bounce";
static const char label_unsub[] = "nurture token v1: unsubscribe";

static int
hmac_sha256(const void *key, size_t keylen, const unsigned char *data, size_t n,
            unsigned char out[32])
{
    unsigned int outlen = 0;

    if (keylen > INT_MAX)
        return 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &outlen) || outlen != 32)
        return 0;
    return 1;
}

nt_err
nt_token_key_init(nt_token_key *k, const char *secret, size_t len, nt_diag *d)
{
    OPENSSL_cleanse(k, sizeof(*k));
    if (!secret || len < NT_TOKEN_SECRET_MIN)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                           "the signing secret is shorter than %d bytes; use a long random "
                           "one, for example from `openssl rand -hex 32`",
                           NT_TOKEN_SECRET_MIN);
    if (len > INT_MAX)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "the signing secret is too long");
    if (!hmac_sha256(secret, len, (const unsigned char *)label_msgid, sizeof(label_msgid) - 1,
                     k->msgid) ||
        !hmac_sha256(secret, len, (const unsigned char *)label_bounce, sizeof(label_bounce) - 1,
                     k->bounce) ||
        !hmac_sha256(secret, len, (const unsigned char *)label_unsub, sizeof(label_unsub) - 1,
                     k->unsub)) {
        OPENSSL_cleanse(k, sizeof(*k));
        return nt_diag_set(d, NT_ENOMEM, NULL, 0, 0,
                           "cannot derive the token keys: HMAC-SHA256 failed in libcrypto");
    }
    k->ready = 1;
    return NT_OK;
}

void
nt_token_key_release(nt_token_key *k)
{
    if (k)
        OPENSSL_cleanse(k, sizeof(*k));
}

static const unsigned char *
subkey(const nt_token_key *k, nt_token_kind kind)
{
    if (!k || !k->ready)
        return NULL;
    switch (kind) {
    case NT_TOKEN_MSGID:
        return k->msgid;
    case NT_TOKEN_BOUNCE:
        return k->bounce;
    case NT_TOKEN_UNSUB:
        return k->unsub;
    }
    return NULL;
}

/* The truncated MAC over version | kind | varint; raw holds version and
 * varint (n bytes). */
static int
token_mac(const unsigned char *key, nt_token_kind kind, const unsigned char *raw, size_t n,
          unsigned char mac[MAC_LEN])
{
    unsigned char msg[2 + VARINT_MAX], full[32];
    int ok;

    if (n < 2 || n > 1 + VARINT_MAX)
        return 0;
    msg[0] = raw[0];
    msg[1] = (unsigned char)kind;
    memcpy(msg + 2, raw + 1, n - 1);
    ok = hmac_sha256(key, 32, msg, n + 1, full);
    if (ok)
        memcpy(mac, full, MAC_LEN);
    OPENSSL_cleanse(full, sizeof(full));
    return ok;
}

static size_t
varint_put(unsigned char *p, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* Decode a varint that must fill p[0..n) exactly and be in its shortest
 * form, so that each id has one encoding. */
static int
varint_get(const unsigned char *p, size_t n, uint64_t *v)
{
    uint64_t r = 0;
    size_t i;

    if (n < 1 || n > VARINT_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        int last = i == n - 1;
        if (last != !(p[i] & 0x80))
            return 0;
        r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
    }
    if (n > 1 && p[n - 1] == 0)
        return 0;
    *v = r;
    return 1;
}

static size_t
b32_len(size_t n)
{
    return (n * 8 + 4) / 5;
}

/* out must have room for b32_len(n) + 1 bytes. */
static void
b32_encode(const unsigned char *p, size_t n, char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32_alphabet[(acc >> bits) & 31];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0)
        out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
}

static int
b32_value(unsigned char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

/*
 * Decode s[0..len) into out (cap bytes); the number of bytes, or 0 when s is
 * not canonical unpadded base32: a bad character, a length that no byte
 * count encodes (1, 3 or 6 mod 8, which leave 5 or more bits over), or pad
 * bits that are not zero.
 */
static size_t
b32_decode(const char *s, size_t len, unsigned char *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
        int v = b32_value((unsigned char)s[i]);
        if (v < 0)
            return 0;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            if (o == cap)
                return 0;
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (bits >= 5 || acc != 0)
        return 0;
    return o;
}

nt_err
nt_token_make(const nt_token_key *k, nt_token_kind kind, int64_t send_id, char *out, size_t outsz)
{
    const unsigned char *key = subkey(k, kind);
    unsigned char raw[RAW_MAX];
    size_t n;

    if (out && outsz)
        out[0] = '\0';
    if (!key || send_id < 0)
        return NT_EINVAL;
    raw[0] = TOKEN_VERSION;
    n = 1 + varint_put(raw + 1, (uint64_t)send_id);
    if (!token_mac(key, kind, raw, n, raw + n))
        return NT_ENOMEM;
    n += MAC_LEN;
    if (!out || b32_len(n) >= outsz)
        return NT_ELIMIT;
    b32_encode(raw, n, out);
    return NT_OK;
}

nt_err
nt_token_check(const nt_token_key *k, nt_token_kind kind, const char *s, size_t len,
               int64_t *send_id)
{
    const unsigned char *key = subkey(k, kind);
    unsigned char raw[RAW_MAX], mac[MAC_LEN];
    size_t n;
    uint64_t v;

    if (!key || !s || len < NT_TOKEN_MIN_LEN || len > NT_TOKEN_MAX - 1)
        return NT_EINVAL;
    n = b32_decode(s, len, raw, sizeof(raw));
    if (n < 1 + 1 + MAC_LEN || raw[0] != TOKEN_VERSION)
        return NT_EINVAL;
    if (!varint_get(raw + 1, n - 1 - MAC_LEN, &v) || v > (uint64_t)INT64_MAX)
        return NT_EINVAL;
    if (!token_mac(key, kind, raw, n - MAC_LEN, mac))
        return NT_EINVAL;
    if (CRYPTO_memcmp(mac, raw + n - MAC_LEN, MAC_LEN) != 0)
        return NT_EINVAL;
    if (send_id)
        *send_id = (int64_t)v;
    return NT_OK;
}

static int
is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* An ASCII host name: LDH labels of 1 to 63 bytes joined by dots. */
static int
valid_domain(const char *d)
{
    size_t i, label = 0;

    if (!d || !d[0])
        return 0;
    for (i = 0; d[i]; i++) {
        unsigned char c = (unsigned char)d[i];
        if (i >= DOMAIN_MAX)
            return 0;
        if (c == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (is_alnum(c) || c == '-') {
            if (++label > LABEL_MAX)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0;
}

/* A local-part prefix that needs no quoting and leaves room for "+TOKEN". */
static int
valid_prefix(const char *p)
{
    size_t i;

    if (!p || !p[0] || p[0] == '.')
        return 0;
    for (i = 0; p[i]; i++) {
        unsigned char c = (unsigned char)p[i];
        if (i >= LOCAL_MAX - 1 - (NT_TOKEN_MAX - 1))
            return 0;
        if (c == '.') {
            if (p[i + 1] == '.' || p[i + 1] == '\0')
                return 0;
        } else if (!is_alnum(c) && c != '-' && c != '_') {
            return 0;
        }
    }
    return 1;
}

static int
prefix_ci(const char *p, const char *e, const char *word)
{
    size_t n = strlen(word), i;

    if ((size_t)(e - p) < n)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c != (unsigned char)word[i])
            return 0;
    }
    return 1;
}

/* Printable ASCII that may sit inside <> in a header and keeps the token in
 * the query. */
static int
valid_url(const char *u)
{
    size_t i;

    if (!u || !prefix_ci(u, u + strnlen(u, NT_TOKEN_URL_BASE_MAX + 1), "https://"))
        return 0;
    if (u[8] == '\0' || u[8] == '/')
        return 0;
    for (i = 0; u[i]; i++) {
        unsigned char c = (unsigned char)u[i];
        if (i >= NT_TOKEN_URL_BASE_MAX)
            return 0;
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '#')
            return 0;
    }
    return 1;
}

/* Write "pre|TOKEN|post" into out; all parts already checked. */
static nt_err
build(const nt_token_key *k, nt_token_kind kind, int64_t send_id, const char *pre, const char *post,
      char *out, size_t outsz)
{
    char tok[NT_TOKEN_MAX];
    nt_err err;
    int n;

    err = nt_token_make(k, kind, send_id, tok, sizeof(tok));
    if (err)
        return err;
    if (!out)
        return NT_ELIMIT;
    n = snprintf(out, outsz, "%s%s%s", pre, tok, post);
    if (n < 0 || (size_t)n >= outsz) {
        if (outsz)
            out[0] = '\0';
        return NT_ELIMIT;
    }
    return NT_OK;
}

static nt_err
build_addr(const nt_token_key *k, nt_token_kind kind, int64_t send_id, const char *local_prefix,
           const char *domain, char *out, size_t outsz)
{
    char pre[LOCAL_MAX + 1], post[DOMAIN_MAX + 2];

    if (out && outsz)
        out[0] = '\0';
    if (!valid_domain(domain) || (local_prefix && !valid_prefix(local_prefix)))
        return NT_EINVAL;
    snprintf(pre, sizeof(pre), "%s%s", local_prefix ? local_prefix : "", local_prefix ? "+" : "");
    snprintf(post, sizeof(post), "@%s", domain);
    return build(k, kind, send_id, pre, post, out, outsz);
}

nt_err
nt_token_message_id(const nt_token_key *k, int64_t send_id, const char *domain, char *out,
                    size_t outsz)
{
    return build_addr(k, NT_TOKEN_MSGID, send_id, NULL, domain, out, outsz);
}

nt_err
nt_token_verp(const nt_token_key *k, int64_t send_id, const char *local_prefix, const char *domain,
              char *out, size_t outsz)
{
    return build_addr(k, NT_TOKEN_BOUNCE, send_id, local_prefix ? local_prefix : "bounces", domain,
                      out, outsz);
}

nt_err
nt_token_unsub_mailto(const nt_token_key *k, int64_t send_id, const char *domain, char *out,
                      size_t outsz)
{
    return build_addr(k, NT_TOKEN_UNSUB, send_id, "unsubscribe", domain, out, outsz);
}

nt_err
nt_token_unsub_url(const nt_token_key *k, int64_t send_id, const char *base_url, char *out,
                   size_t outsz)
{
    char tok[NT_TOKEN_MAX];
    const char *sep;
    size_t blen;
    nt_err err;
    int n;

    if (out && outsz)
        out[0] = '\0';
    if (!valid_url(base_url))
        return NT_EINVAL;
    blen = strlen(base_url);
    if (base_url[blen - 1] == '?' || base_url[blen - 1] == '&')
        sep = "t=";
    else if (strchr(base_url, '?'))
        sep = "&t=";
    else
        sep = "?t=";
    err = nt_token_make(k, NT_TOKEN_UNSUB, send_id, tok, sizeof(tok));
    if (err)
        return err;
    if (!out)
        return NT_ELIMIT;
    n = snprintf(out, outsz, "%s%s%s", base_url, sep, tok);
    if (n < 0 || (size_t)n >= outsz) {
        if (outsz)
            out[0] = '\0';
        return NT_ELIMIT;
    }
    return NT_OK;
}

static int
is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
trim(const char **p, const char **e)
{
    while (*p < *e && is_space((unsigned char)**p))
        (*p)++;
    while (*e > *p && is_space((unsigned char)(*e)[-1]))
        (*e)--;
}

/* Base32 characters only, and a token's length: what our Message-IDs look
 * like, and what other mailers' rarely do. */
static int
token_shaped(const char *p, size_t n)
{
    size_t i;

    if (n < NT_TOKEN_MIN_LEN || n > NT_TOKEN_MAX - 1)
        return 0;
    for (i = 0; i < n; i++)
        if (b32_value((unsigned char)p[i]) < 0)
            return 0;
    return 1;
}

/* The value of the last "t" parameter of the query in [p, e), or NULL. */
static const char *
url_param_t(const char *p, const char *e, size_t *vlen)
{
    const char *q = memchr(p, '?', (size_t)(e - p)), *hash, *found = NULL;

    if (!q)
        return NULL;
    hash = memchr(q, '#', (size_t)(e - q));
    if (hash)
        e = hash;
    q++;
    while (q < e) {
        const char *amp = q, *eq;
        while (amp < e && *amp != '&' && *amp != ';')
            amp++;
        eq = memchr(q, '=', (size_t)(amp - q));
        if (eq && eq - q == 1 && *q == 't') {
            found = eq + 1;
            *vlen = (size_t)(amp - found);
        }
        q = amp < e ? amp + 1 : e;
    }
    return found;
}

nt_err
nt_token_find(const nt_token_key *k, nt_token_kind kind, const char *text, size_t len,
              int64_t *send_id)
{
    const char *p = text, *e, *lt, *at, *cand = NULL;
    size_t clen = 0;

    if (!subkey(k, kind) || len > NT_TOKEN_FIND_MAX)
        return NT_EINVAL;
    if (!text || len == 0)
        return NT_ENOTFOUND;
    e = text + len;
    trim(&p, &e);
    lt = memchr(p, '<', (size_t)(e - p));
    if (lt) {
        const char *gt = memchr(lt + 1, '>', (size_t)(e - lt - 1));
        if (!gt)
            return NT_ENOTFOUND;
        p = lt + 1;
        e = gt;
        trim(&p, &e);
    }

    if (prefix_ci(p, e, "https://") || prefix_ci(p, e, "http://")) {
        cand = url_param_t(p, e, &clen);
    } else {
        if (prefix_ci(p, e, "mailto:")) {
            const char *qm;
            p += 7;
            qm = memchr(p, '?', (size_t)(e - p));
            if (qm)
                e = qm;
        }
        for (at = e; at > p && at[-1] != '@'; at--)
            ;
        if (at == p)
            return NT_ENOTFOUND;
        at--; /* on the '@' */
        if (kind == NT_TOKEN_MSGID) {
            if (token_shaped(p, (size_t)(at - p))) {
                cand = p;
                clen = (size_t)(at - p);
            }
        } else {
            const char *plus = memchr(p, '+', (size_t)(at - p));
            if (plus) {
                cand = plus + 1;
                clen = (size_t)(at - cand);
            }
        }
    }
    if (!cand || clen == 0)
        return NT_ENOTFOUND;
    return nt_token_check(k, kind, cand, clen, send_id);
}
