/*
 * HTTP POST through libcurl (see http.h); with mailbox_curl.c one of the two
 * files that include <curl/curl.h>.
 *
 * libcurl does the URL parsing, name resolution, TLS with certificate
 * checks and HTTP/1.1; this file only decides what is allowed (http and
 * https, no redirects, no header with CR or LF) and turns the outcome into
 * a status, a short printable excerpt of the body, or an nt_err with a
 * message.  A response body is read up to BODY_LIMIT bytes and dropped, so
 * an endpoint that answers with a stream cannot hold us beyond that or the
 * timeout.  Messages name the URL's scheme, host and port only: the path of
 * a Slack-style incoming webhook URL is its secret.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "nurture/http.h"

#include "banned.h"

#define BODY_LIMIT ((size_t)1 << 20)
#define DEFAULT_TIMEOUT 10L

/* curl_global_init counts its calls, so this module and mailbox_curl.c each
 * initialising once (under their own pthread_once) is safe. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void
global_init_once(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct reader {
    nt_http_response *resp;
    size_t got;     /* body bytes seen */
    size_t elen;    /* bytes in resp->excerpt */
    int too_long;   /* stopped at BODY_LIMIT */
    int line_ended; /* the excerpt stops at the body's first line end */
} reader;

static size_t
on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    reader *r = userp;
    size_t n = size * nmemb;

    for (size_t i = 0; i < n && !r->line_ended && r->elen < NT_HTTP_EXCERPT; i++) {
        unsigned char ch = (unsigned char)data[i];
        if (ch == '\r' || ch == '\n') {
            /* leading blank lines say nothing; a later line end ends it */
            if (r->elen)
                r->line_ended = 1;
            continue;
        }
        r->resp->excerpt[r->elen++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    r->resp->excerpt[r->elen] = '\0';
    if (n > BODY_LIMIT - r->got) {
        r->too_long = 1;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    r->got += n;
    return n;
}

/* "scheme://host:port" of url into out, or "webhook URL" when it does not
 * parse: what messages may show. */
static void
url_name(const char *url, char *out, size_t outsz)
{
    CURLU *h = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;

    snprintf(out, outsz, "%s", "webhook URL");
    if (h && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
        snprintf(out, outsz, "%s://%s:%s", scheme, host, port);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(h);
}

static nt_err
check_request(const nt_http_request *req, const char *name, nt_diag *d)
{
    if (!req->url ||
        (strncmp(req->url, "http://", 7) != 0 && strncmp(req->url, "https://", 8) != 0))
        return nt_diag_set(d, NT_EINVAL, name, 0, 0, "the URL must start with http:// or https://");
    for (size_t i = 0; req->headers && req->headers[i]; i++)
        if (strpbrk(req->headers[i], "\r\n"))
            return nt_diag_set(d, NT_EINVAL, name, 0, 0,
                               "header %zu contains a line break; nothing was sent", i + 1);
    return NT_OK;
}

static nt_err
transfer_error(CURLcode r, const char *errbuf, const char *name, long timeout, nt_diag *d)
{
    const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(r);

    switch (r) {
    case CURLE_OUT_OF_MEMORY:
        return nt_diag_set(d, NT_ENOMEM, name, 0, 0, "out of memory");
    case CURLE_OPERATION_TIMEDOUT:
        return nt_diag_set(d, NT_EIO, name, 0, 0, "no answer within %ld s", timeout);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return nt_diag_set(d, NT_EINVAL, name, 0, 0, "URL: %s", curl_easy_strerror(r));
    default:
        return nt_diag_set(d, NT_EIO, name, 0, 0, "%s", detail);
    }
}

nt_err
nt_http_post(const nt_http_request *req, nt_http_response *resp, nt_diag *d)
{
    char name[300], errbuf[CURL_ERROR_SIZE];
    long timeout = req->timeout_sec > 0 ? req->timeout_sec : DEFAULT_TIMEOUT, status = 0;
    struct curl_slist *hdrs = NULL;
    reader rd = {resp, 0, 0, 0, 0};
    CURL *h = NULL;
    CURLcode r = CURLE_OK;
    nt_err err;

    memset(resp, 0, sizeof(*resp));
    errbuf[0] = '\0';
    pthread_once(&global_once, global_init_once);
    if (global_rc != CURLE_OK)
        return nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "libcurl could not be initialised");
    url_name(req->url ? req->url : "", name, sizeof(name));
    if ((err = check_request(req, name, d)) != NT_OK)
        return err;
    if (!(h = curl_easy_init())) {
        err = nt_diag_set(d, NT_ENOMEM, name, 0, 0, "out of memory");
        goto out;
    }
    for (size_t i = 0; req->headers && req->headers[i]; i++) {
        struct curl_slist *n = curl_slist_append(hdrs, req->headers[i]);
        if (!n) {
            err = nt_diag_set(d, NT_ENOMEM, name, 0, 0, "out of memory");
            goto out;
        }
        hdrs = n;
    }
    /* No "Expect: 100-continue" round trip for larger bodies. */
    {
        struct curl_slist *n = curl_slist_append(hdrs, "Expect:");
        if (!n) {
            err = nt_diag_set(d, NT_ENOMEM, name, 0, 0, "out of memory");
            goto out;
        }
        hdrs = n;
    }

#define SET(opt, val)                                                                              \
    if (r == CURLE_OK)                                                                             \
    r = curl_easy_setopt(h, opt, val)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->bodylen : 0));
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_TIMEOUT, timeout);
    SET(CURLOPT_CONNECTTIMEOUT, timeout);
    /* Replaces the CA bundle; the CA folder (CURLOPT_CAPATH) stays. */
    if (req->ca_file && *req->ca_file)
        SET(CURLOPT_CAINFO, req->ca_file);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, &rd);
    SET(CURLOPT_ERRORBUFFER, errbuf);
#undef SET
    if (r != CURLE_OK) {
        err = r == CURLE_OUT_OF_MEMORY
                  ? nt_diag_set(d, NT_ENOMEM, name, 0, 0, "out of memory")
                  : nt_diag_set(d, NT_EINVAL, name, 0, 0, "libcurl refused an option: %s",
                                curl_easy_strerror(r));
        goto out;
    }
    r = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (r != CURLE_OK && !(r == CURLE_WRITE_ERROR && rd.too_long && status > 0)) {
        err = transfer_error(r, errbuf, name, timeout, d);
        goto out;
    }
    resp->status = (int)status;
    err = NT_OK;
out:
    curl_slist_free_all(hdrs);
    if (h)
        curl_easy_cleanup(h);
    return err;
}
