/*
 * IMAP and POP3 connections through libcurl (see mailconn.h); with
 * http_curl.c (webhook POSTs) one of the two files that include
 * <curl/curl.h>.
 *
 * libcurl does what is hard to get right -- URL parsing, TCP, TLS with
 * certificate checks, STARTTLS, choosing a SASL mechanism and logging in --
 * in a CURLOPT_CONNECT_ONLY transfer, and then lends us the connection
 * through curl_easy_send/curl_easy_recv.  The commands after login are the
 * backends', because libcurl 7.88 cannot fetch without setting \Seen (its
 * ";UID=n" URLs send "UID FETCH n BODY[]") and drops the literal data of a
 * custom command's reply except for lines that happen to start with "* ".
 *
 * Waiting: the socket is non-blocking inside libcurl; a read or write that
 * would block returns CURLE_AGAIN, and we poll() the socket for at most
 * the timeout.  The server's last reply during login is kept (from
 * libcurl's debug callback, incoming lines only, so never our credentials)
 * to say why a login failed.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "mailconn.h"

#include "banned.h"

#define DEFAULT_TIMEOUT_MS 30000
#define RBUF_SIZE 16384

struct nt_mailconn {
    CURL *curl;
    curl_socket_t fd;
    long timeout_ms;
    int dead;
    char name[256];
    char reply[256]; /* the server's last line during login, printable */
    char errbuf[CURL_ERROR_SIZE];
    size_t rpos, rlen; /* unread bytes: rbuf[rpos..rlen) */
    char rbuf[RBUF_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
nt_mailconn_global_init(void)
{
    pthread_once(&global_once, global_init_once);
}

/* Keep the server's last line during login: printable ASCII, one line, an
 * IMAP tag ("A002 ") left out (POP3 replies start with '+' or '-'). */
static int
on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
    nt_mailconn *c = userp;
    size_t i = 0, o = 0;

    (void)h;
    if (type != CURLINFO_HEADER_IN)
        return 0;
    if (size > 0 && isalnum((unsigned char)data[0])) {
        while (i < size && isalnum((unsigned char)data[i]))
            i++;
        i = i < size && data[i] == ' ' ? i + 1 : 0;
    }
    for (; i < size && o + 1 < sizeof(c->reply); i++) {
        unsigned char ch = (unsigned char)data[i];
        if (ch == '\r' || ch == '\n')
            break;
        c->reply[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    c->reply[o] = '\0';
    return 0;
}

static int
is_loopback(const char *host)
{
    return strcmp(host, "127.0.0.1") == 0 || strcasecmp(host, "localhost") == 0 ||
           strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0;
}

static nt_err
set_out(char *out, size_t outsz, const char *s)
{
    if (strlen(s) >= outsz)
        return NT_ELIMIT;
    memcpy(out, s, strlen(s) + 1);
    return NT_OK;
}

/* What the URL says, checked for the protocol. */
typedef struct url_parts {
    int tls;      /* imaps://, pop3s:// */
    int loopback; /* the host is 127.0.0.1, localhost or ::1 */
} url_parts;

static nt_err
check_scheme(const char *scheme, nt_mailconn_proto proto, url_parts *u, const char *url, nt_diag *d)
{
    const char *plain = proto == NT_MAILCONN_IMAP ? "imap" : "pop3";
    const char *tls = proto == NT_MAILCONN_IMAP ? "imaps" : "pop3s";

    if (strcasecmp(scheme, plain) == 0)
        u->tls = 0;
    else if (strcasecmp(scheme, tls) == 0)
        u->tls = 1;
    else
        return nt_diag_set(d, NT_ECONFIG, url, 0, 0, "URL: the scheme must be %s:// or %s://",
                           plain, tls);
    return NT_OK;
}

/* Refuse what we would not pass on or could leak: credentials in the URL,
 * a query or fragment, POP3 paths, IMAP paths with ";" parameters. */
static nt_err
check_extras(CURLU *h, nt_mailconn_proto proto, const char *path, const char *name, nt_diag *d)
{
    static const CURLUPart none[] = {CURLUPART_PASSWORD, CURLUPART_USER, CURLUPART_OPTIONS,
                                     CURLUPART_QUERY, CURLUPART_FRAGMENT};
    static const char *what[] = {"a password (give it as the password setting)",
                                 "a user name (give it as the username setting)", "login options",
                                 "a query", "a fragment"};
    char *v;
    size_t i;

    for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        v = NULL;
        if (curl_url_get(h, none[i], &v, 0) == CURLUE_OK && v) {
            curl_free(v);
            return nt_diag_set(d, NT_ECONFIG, name, 0, 0, "URL: must not hold %s", what[i]);
        }
    }
    if (proto == NT_MAILCONN_POP3 && *path)
        return nt_diag_set(d, NT_ECONFIG, name, 0, 0,
                           "URL: a POP3 URL names no mailbox (pop3://host[:port])");
    if (strchr(path, ';'))
        return nt_diag_set(d, NT_ECONFIG, name, 0, 0,
                           "URL: give the mailbox name only, without ';' parameters");
    return NT_OK;
}

/* Write the printable name and the decoded path; fill u. */
static nt_err
parse_url(const char *url, nt_mailconn_proto proto, char *name, size_t namesz, char *path,
          size_t pathsz, url_parts *u, nt_diag *d)
{
    CURLU *h = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *p = NULL;
    char buf[600];
    nt_err err = NT_OK;

    if (!h)
        return nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "out of memory");
    if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_PATH, &p, CURLU_URLDECODE) != CURLUE_OK) {
        err = nt_diag_set(d, NT_ECONFIG, NULL, 0, 0,
                          "not a valid %s URL (expected %s://host[:port]%s)",
                          proto == NT_MAILCONN_IMAP ? "IMAP" : "POP3",
                          proto == NT_MAILCONN_IMAP ? "imap[s]" : "pop3[s]",
                          proto == NT_MAILCONN_IMAP ? "/MAILBOX" : "");
        goto out;
    }
    snprintf(buf, sizeof(buf), "%s://%s:%s%s", scheme, host, port, p[0] ? p : "/");
    if (set_out(name, namesz, buf) != NT_OK || set_out(path, pathsz, p[0] == '/' ? p + 1 : p))
        err = nt_diag_set(d, NT_ECONFIG, NULL, 0, 0, "URL too long");
    if (err == NT_OK)
        err = check_scheme(scheme, proto, u, name, d);
    if (err == NT_OK)
        err = check_extras(h, proto, path, name, d);
    u->loopback = is_loopback(host);
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(p);
    curl_url_cleanup(h);
    return err;
}

static nt_err
setup(nt_mailconn *c, const nt_mailbox_opts *o, nt_mailconn_proto proto, const url_parts *u)
{
    CURL *h = c->curl;
    long secs = (c->timeout_ms + 999) / 1000;
    CURLcode r = CURLE_OK;

#define SET(opt, val)                                                                              \
    if (r == CURLE_OK)                                                                             \
    r = curl_easy_setopt(h, opt, val)
    SET(CURLOPT_URL, o->url);
    SET(CURLOPT_PROTOCOLS_STR, proto == NT_MAILCONN_IMAP ? "imap,imaps" : "pop3,pop3s");
    SET(CURLOPT_CONNECT_ONLY, 1L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_USERNAME, o->username ? o->username : "");
    SET(CURLOPT_PASSWORD, o->password ? o->password : "");
    SET(CURLOPT_USE_SSL, (long)(u->tls || !u->loopback ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    /* Replaces the CA bundle; the CA folder (CURLOPT_CAPATH, /etc/ssl/certs
     * in Debian's build) is still searched, so the system's CAs stay. */
    if (o->ca_file && *o->ca_file)
        SET(CURLOPT_CAINFO, o->ca_file);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, secs);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_ERRORBUFFER, c->errbuf);
    SET(CURLOPT_DEBUGFUNCTION, on_debug);
    SET(CURLOPT_DEBUGDATA, c);
    SET(CURLOPT_VERBOSE, 1L);
#undef SET
    return r == CURLE_OK ? NT_OK : r == CURLE_OUT_OF_MEMORY ? NT_ENOMEM : NT_ECONFIG;
}

/* Why the connect-and-login transfer failed, in words and as an nt_err. */
static nt_err
connect_error(nt_mailconn *c, CURLcode r, const url_parts *u, nt_diag *d)
{
    const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(r);

    switch (r) {
    case CURLE_LOGIN_DENIED:
        return nt_diag_set(d, NT_ECONFIG, c->name, 0, 0, "login failed: %s",
                           c->reply[0] ? c->reply : detail);
    case CURLE_USE_SSL_FAILED:
        return nt_diag_set(d, NT_ECONFIG, c->name, 0, 0,
                           "connect: the server offers no STARTTLS, and TLS is required%s",
                           u->loopback ? "" : " for any host but 127.0.0.1, localhost and ::1");
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
        return nt_diag_set(d, NT_ECONFIG, c->name, 0, 0, "TLS: %s", detail);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return nt_diag_set(d, NT_ECONFIG, c->name, 0, 0, "URL: %s", detail);
    case CURLE_OUT_OF_MEMORY:
        return nt_diag_set(d, NT_ENOMEM, c->name, 0, 0, "out of memory");
    case CURLE_OPERATION_TIMEDOUT:
        return nt_diag_set(d, NT_EIO, c->name, 0, 0, "connect: no answer within %ld ms (%s)",
                           c->timeout_ms, detail);
    default:
        if (c->reply[0])
            return nt_diag_set(d, NT_EIO, c->name, 0, 0, "connect: %s (server: %s)", detail,
                               c->reply);
        return nt_diag_set(d, NT_EIO, c->name, 0, 0, "connect: %s", detail);
    }
}

nt_err
nt_mailconn_open(const nt_mailbox_opts *o, nt_mailconn_proto proto, char *name, size_t namesz,
                 char *path, size_t pathsz, nt_mailconn **out, nt_diag *d)
{
    nt_mailconn *c;
    url_parts u = {0, 0};
    CURLcode r;
    nt_err err;

    *out = NULL;
    if (namesz)
        name[0] = '\0';
    nt_mailconn_global_init();
    err = parse_url(o->url, proto, name, namesz, path, pathsz, &u, d);
    if (err != NT_OK)
        return err;
    c = calloc(1, sizeof(*c));
    if (!c)
        return nt_diag_set(d, NT_ENOMEM, name, 0, 0, "out of memory");
    c->fd = CURL_SOCKET_BAD;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return nt_diag_set(d, NT_ENOMEM, name, 0, 0, "cannot start libcurl");
    }
    err = setup(c, o, proto, &u);
    if (err != NT_OK) {
        nt_diag_set(d, err, name, 0, 0, "cannot set up libcurl");
        nt_mailconn_close(c);
        return err;
    }
    r = curl_easy_perform(c->curl);
    if (r == CURLE_OK && (curl_easy_getinfo(c->curl, CURLINFO_ACTIVESOCKET, &c->fd) != CURLE_OK ||
                          c->fd == CURL_SOCKET_BAD))
        r = CURLE_COULDNT_CONNECT;
    if (r != CURLE_OK) {
        err = connect_error(c, r, &u, d);
        nt_mailconn_close(c);
        return err;
    }
    *out = c;
    return NT_OK;
}

/* The connection broke: remember it and say so. */
static nt_err
fail(nt_mailconn *c, const char *step, const char *what, nt_diag *d)
{
    c->dead = 1;
    return nt_diag_set(d, NT_EIO, c->name, 0, 0, "%s: %s", step, what);
}

/* Wait until the socket is ready for events, at most the timeout. */
static nt_err
wait_for(nt_mailconn *c, short events, const char *step, nt_diag *d)
{
    struct pollfd p = {.fd = c->fd, .events = events, .revents = 0};
    int r;
    char what[96];

    do
        r = poll(&p, 1, (int)c->timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r > 0)
        return NT_OK;
    if (r == 0) {
        snprintf(what, sizeof(what), "no answer from the server within %ld ms", c->timeout_ms);
        return fail(c, step, what, d);
    }
    return fail(c, step, strerror(errno), d);
}

nt_err
nt_mailconn_send(nt_mailconn *c, const void *p, size_t n, const char *step, nt_diag *d)
{
    const char *s = p;
    size_t sent;
    CURLcode r;
    nt_err err;

    if (c->dead)
        return nt_diag_set(d, NT_EIO, c->name, 0, 0, "%s: the connection was lost earlier", step);
    while (n > 0) {
        sent = 0;
        r = curl_easy_send(c->curl, s, n, &sent);
        if (r == CURLE_AGAIN) {
            if ((err = wait_for(c, POLLOUT, step, d)) != NT_OK)
                return err;
            continue;
        }
        if (r != CURLE_OK)
            return fail(c, step, curl_easy_strerror(r), d);
        s += sent;
        n -= sent;
    }
    return NT_OK;
}

/* Refill rbuf when it is empty. */
static nt_err
fill(nt_mailconn *c, const char *step, nt_diag *d)
{
    size_t got;
    CURLcode r;
    nt_err err;

    if (c->dead)
        return nt_diag_set(d, NT_EIO, c->name, 0, 0, "%s: the connection was lost earlier", step);
    if (c->rpos < c->rlen)
        return NT_OK;
    c->rpos = c->rlen = 0;
    for (;;) {
        got = 0;
        r = curl_easy_recv(c->curl, c->rbuf, sizeof(c->rbuf), &got);
        if (r == CURLE_AGAIN) {
            if ((err = wait_for(c, POLLIN, step, d)) != NT_OK)
                return err;
            continue;
        }
        if (r != CURLE_OK)
            return fail(c, step, curl_easy_strerror(r), d);
        if (got == 0)
            return fail(c, step, "the server closed the connection", d);
        c->rlen = got;
        return NT_OK;
    }
}

nt_err
nt_mailconn_getline(nt_mailconn *c, nt_buf *line, size_t max, const char *step, nt_diag *d)
{
    size_t taken = 0, n;
    const char *nl;
    nt_err err;

    for (;;) {
        if ((err = fill(c, step, d)) != NT_OK)
            return err;
        nl = memchr(c->rbuf + c->rpos, '\n', c->rlen - c->rpos);
        n = nl ? (size_t)(nl - (c->rbuf + c->rpos)) + 1 : c->rlen - c->rpos;
        if (taken + n > max) {
            c->dead = 1;
            return nt_diag_set(d, NT_ELIMIT, c->name, 0, 0,
                               "%s: a reply line longer than %zu bytes", step, max);
        }
        nt_buf_add(line, c->rbuf + c->rpos, n);
        c->rpos += n;
        taken += n;
        if (nl)
            break;
    }
    if (line->err != NT_OK) {
        c->dead = 1;
        return nt_diag_set(d, line->err, c->name, 0, 0, "%s: %s", step, nt_strerror(line->err));
    }
    return NT_OK;
}

nt_err
nt_mailconn_read(nt_mailconn *c, nt_buf *out, size_t n, const char *step, nt_diag *d)
{
    size_t k;
    nt_err err;

    while (n > 0) {
        if ((err = fill(c, step, d)) != NT_OK)
            return err;
        k = c->rlen - c->rpos < n ? c->rlen - c->rpos : n;
        if (out)
            nt_buf_add(out, c->rbuf + c->rpos, k);
        c->rpos += k;
        n -= k;
    }
    if (out && out->err != NT_OK) {
        c->dead = 1;
        return nt_diag_set(d, out->err, c->name, 0, 0, "%s: %s", step, nt_strerror(out->err));
    }
    return NT_OK;
}

void
nt_mailconn_kill(nt_mailconn *c)
{
    c->dead = 1;
}

void
nt_mailconn_close(nt_mailconn *c)
{
    if (!c)
        return;
    /* libcurl treats a CONNECT_ONLY connection as dead at cleanup: it
     * closes the socket without a word of IMAP or POP3. */
    curl_easy_cleanup(c->curl);
    free(c);
}
