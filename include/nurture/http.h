/*
 * HTTP POST: the one request webhooks need, through libcurl (http_curl.c).
 *
 * A request goes to one URL (http:// or https:// only), follows no
 * redirects (a 3xx is an answer like any other), and gives up after its
 * timeout.  The answer is its status and the first bytes of its body as
 * printable text, enough to say in a message why an endpoint refused;
 * the rest of the body is read and dropped, up to a limit.  Whether a
 * status is success is the caller's business.
 */
#ifndef NURTURE_HTTP_H
#define NURTURE_HTTP_H

#include <stddef.h>

#include "nurture/error.h"

/* All borrowed for the duration of nt_http_post. */
typedef struct nt_http_request {
    const char *url;
    const char *const *headers; /* "Name: value" lines, NULL-terminated, or NULL */
    const char *body;
    size_t bodylen;
    long timeout_sec;    /* whole request, connection included; <= 0 means 10 */
    const char *ca_file; /* replaces libcurl's CA bundle (the system CA folder
                            stays in use), or NULL */
} nt_http_request;

#define NT_HTTP_EXCERPT 200

typedef struct nt_http_response {
    int status;                        /* HTTP status; 0 when there was no answer */
    char excerpt[NT_HTTP_EXCERPT + 1]; /* start of the body: one line, printable
                                          ASCII (others shown as '?'), NUL-ended */
} nt_http_response;

/*
 * POST req->body to req->url with req->headers.  NT_OK when the server
 * answered, whatever the status (resp->status says which).  NT_EIO when
 * there was no answer (DNS, connection refused, TLS, timeout): the diag
 * says why, naming only the URL's scheme, host and port (the path of a
 * Slack-style URL is itself a secret).  NT_EINVAL
 * for a header with CR or LF in it, or a URL that is not http(s); NT_ENOMEM.
 */
nt_err nt_http_post(const nt_http_request *req, nt_http_response *resp, nt_diag *d);

#endif
