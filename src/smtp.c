/*
 * The SMTP sender: batches of messages over one libesmtp session each, and
 * the per-message outcome taken from each recipient's own status.
 *
 * libesmtp runs a whole conversation inside smtp_start_session() and says
 * little about it: the call succeeds even when nothing was sent (certificate
 * rejected, every recipient refused), and when AUTH fails it goes on to
 * MAIL FROM unauthenticated, where a relay may refuse every recipient with
 * a 5xx that must not be read as a hard bounce.  So this file watches the
 * conversation itself, through libesmtp's protocol monitor (commands and
 * replies up to the first MAIL FROM; libesmtp switches the monitor off
 * while message data flows) and its event callback (TLS results), and at
 * the first MAIL FROM it decides whether the conversation may go on.  When
 * it may not (AUTH failed or not offered although configured, or a doctor
 * check that must send nothing), it shuts the socket down before libesmtp
 * writes the command: the server receives no MAIL FROM at all.  The socket
 * comes from our connect() in netio.c, which also sets TCP_NODELAY.
 *
 * Everything here is per call or per nt_smtp, so that threads with their
 * own nt_smtp can send at once; libesmtp keeps its errno per thread.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* Both must come before libesmtp.h, which declares smtp_auth_set_context()
 * and smtp_starttls_set_ctx() only when it sees them. */
#include <auth-client.h>
#include <libesmtp.h>

#include "netio.h"
#include "nurture/smtp.h"

#include "banned.h"

struct nt_smtp {
    char *host;     /* as configured; certificates are checked against it */
    char *hostport; /* "host:port" for smtp_set_server() */
    char *helo;     /* NULL: libesmtp uses the host name */
    char *username; /* NULL: no AUTH */
    char *password; /* "" when none was given; wiped on free */
    nt_tls_mode tls;
    long timeout_ms;
    SSL_CTX *ctx; /* NULL when TLS is off */
};

/* The commands whose replies matter before the first MAIL FROM. */
typedef enum cmd {
    CMD_NONE = 0, /* nothing written yet: the reply is the greeting */
    CMD_EHLO,
    CMD_HELO,
    CMD_STARTTLS,
    CMD_AUTH,
    CMD_QUIT,
    CMD_OTHER,
} cmd;

/* What one conversation showed, up to its first MAIL FROM. */
typedef struct conv {
    const nt_smtp *s;
    int check_only; /* hang up at MAIL FROM whatever happens */
    long last_io_ms;

    int connected;
    char peer[64];
    int nodelay; /* TCP_NODELAY read back from the socket; -1 unknown */

    int mail_sent; /* a MAIL FROM went out: a conversation took place */
    int hung_up;   /* we shut the socket down at the first MAIL FROM */
    char hangup_why[512];

    cmd cmd;         /* the command the next reply answers */
    int reply_lines; /* lines of the current reply seen so far */
    int last_code;   /* of the last complete reply */
    char last_text[256];
    int greeting_code;
    char greeting[256];
    int ehlo_done;          /* EHLO replies completed with 250 (2 after STARTTLS) */
    char ext[2][768];       /* extensions offered, before and after STARTTLS */
    char auth_offered[256]; /* the AUTH line of the latest EHLO, "" if none */
    int starttls_code;
    int auth_tried;
    int auth_continuing; /* a 334 came: the next line we write is a SASL response */
    int auth_ok;
    int auth_code;
    char auth_text[256];
    char auth_mech[32];

    int tls_ok;
    char tls_desc[128];
    char tls_problem[300];
    int tls_not_offered;

    char line[1024]; /* read side: the reply line being assembled */
    size_t line_len;
    int write_midline; /* the last write ended inside a line */
} conv;

/* One queued message: what libesmtp's callbacks need. */
typedef struct slot {
    nt_outmsg *m;
    smtp_message_t msg;
    smtp_recipient_t rcpt;
    int given; /* the message callback has handed out the data */
} slot;

static pthread_once_t init_once_flag = PTHREAD_ONCE_INIT;

static void
init_once(void)
{
    struct sigaction sa;

    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
        !(sa.sa_flags & SA_SIGINFO)) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGPIPE, &sa, NULL);
    }
    auth_client_init();
}

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copy s[0..n) into out as printable ASCII: runs of control characters
 * become one space, other bytes '?', and the ends are trimmed. */
static void
clean_copy(char *out, size_t outsz, const char *s, size_t n)
{
    size_t o = 0, i;
    int space = 0;

    for (i = 0; i < n && o + 1 < outsz; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == ' ') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < outsz)
            out[o++] = ' ';
        space = 0;
        out[o++] = c < 0x80 ? (char)c : '?';
    }
    out[o] = '\0';
}

static int
starts_ci(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);

    return n >= k && strncasecmp(s, prefix, k) == 0;
}

/* Append " word" to a fixed buffer, silently dropping what does not fit. */
static void
append_word(char *buf, size_t bufsz, const char *w, size_t n)
{
    size_t len = strlen(buf);
    char tmp[256];

    clean_copy(tmp, sizeof(tmp), w, n);
    if (!tmp[0] || len + strlen(tmp) + 2 > bufsz)
        return;
    snprintf(buf + len, bufsz - len, "%s%s", len ? ", " : "", tmp);
}

/* ---- The conversation, as the protocol monitor shows it ---- */

static const char *
cmd_name(cmd c)
{
    switch (c) {
    case CMD_NONE:
        return "the connection (greeting)";
    case CMD_EHLO:
        return "EHLO";
    case CMD_HELO:
        return "HELO";
    case CMD_STARTTLS:
        return "STARTTLS";
    case CMD_AUTH:
        return "AUTH";
    case CMD_QUIT:
        return "QUIT";
    case CMD_OTHER:
        break;
    }
    return "a command";
}

/* Why AUTH did not happen although a username is configured; NULL when it
 * did, or none is configured. */
static const char *
auth_problem(conv *c, char *buf, size_t bufsz)
{
    if (!c->s->username || c->auth_ok)
        return NULL;
    if (c->auth_tried && c->auth_code)
        snprintf(buf, bufsz, "AUTH %s as '%.64s' failed: %d %.200s", c->auth_mech, c->s->username,
                 c->auth_code, c->auth_text);
    else if (c->auth_tried)
        snprintf(buf, bufsz, "AUTH %s as '%.64s' got no answer", c->auth_mech, c->s->username);
    else if (c->auth_offered[0])
        snprintf(buf, bufsz,
                 "a username is configured but libesmtp supports none of the AUTH "
                 "mechanisms the server offers (%.200s)",
                 c->auth_offered);
    else
        snprintf(buf, bufsz, "a username is configured but the server offers no AUTH%s",
                 c->s->tls == NT_TLS_OFF ? " (some servers offer it only after STARTTLS, and "
                                           "smtp.tls is off)"
                                         : "");
    return buf;
}

/* The first MAIL FROM is about to go out: let it, or hang up first. */
static void
at_first_mail(conv *c)
{
    char why[512];
    const char *problem = auth_problem(c, why, sizeof(why));
    int fd;

    if (!problem && !c->check_only) {
        c->mail_sent = 1;
        return;
    }
    c->hung_up = 1;
    snprintf(c->hangup_why, sizeof(c->hangup_why), "%s", problem ? problem : "");
    fd = nt_netio_last_fd();
    /* The monitor runs before libesmtp writes the buffer, so the server
     * never sees this MAIL FROM.  libesmtp then finds the connection gone
     * and ends the session. */
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    else
        c->mail_sent = 1; /* cannot stop it: treat it as having gone out */
}

static void
on_command(conv *c, const char *l, size_t n)
{
    const char *p, *e;

    /* A SASL response carries the credentials: never look inside it. */
    if (c->cmd == CMD_AUTH && c->auth_continuing)
        return;
    c->reply_lines = 0;
    if (starts_ci(l, n, "MAIL FROM:")) {
        c->cmd = CMD_OTHER;
        at_first_mail(c);
    } else if (starts_ci(l, n, "EHLO ")) {
        c->cmd = CMD_EHLO;
    } else if (starts_ci(l, n, "HELO ")) {
        c->cmd = CMD_HELO;
    } else if (starts_ci(l, n, "STARTTLS")) {
        c->cmd = CMD_STARTTLS;
    } else if (starts_ci(l, n, "AUTH ")) {
        c->cmd = CMD_AUTH;
        c->auth_tried = 1;
        c->auth_code = 0;
        c->auth_text[0] = '\0';
        /* Only the mechanism name: an initial response may follow it. */
        for (p = e = l + 5; e < l + n && *e != ' ' && *e != '\r'; e++)
            ;
        clean_copy(c->auth_mech, sizeof(c->auth_mech), p, (size_t)(e - p));
    } else if (starts_ci(l, n, "QUIT")) {
        c->cmd = CMD_QUIT;
    } else {
        c->cmd = CMD_OTHER;
    }
}

static void
on_reply_line(conv *c, const char *l, size_t n)
{
    int code, last, idx;
    const char *text;
    size_t tlen;

    if (n < 3 || !isdigit((unsigned char)l[0]) || !isdigit((unsigned char)l[1]) ||
        !isdigit((unsigned char)l[2]))
        return;
    code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
    last = n == 3 || l[3] != '-';
    text = n > 4 ? l + 4 : "";
    tlen = n > 4 ? n - 4 : 0;

    if (c->cmd == CMD_EHLO && code == 250) {
        idx = c->ehlo_done > 0 ? 1 : 0;
        if (c->reply_lines == 0) {
            c->ext[idx][0] = '\0';
            c->auth_offered[0] = '\0';
        } else {
            append_word(c->ext[idx], sizeof(c->ext[idx]), text, tlen);
            if (starts_ci(text, tlen, "AUTH ") || starts_ci(text, tlen, "AUTH="))
                clean_copy(c->auth_offered, sizeof(c->auth_offered), text + 5, tlen - 5);
        }
    }
    c->reply_lines++;
    if (!last)
        return;

    c->reply_lines = 0;
    c->last_code = code;
    clean_copy(c->last_text, sizeof(c->last_text), text, tlen);
    switch (c->cmd) {
    case CMD_NONE:
        c->greeting_code = code;
        snprintf(c->greeting, sizeof(c->greeting), "%s", c->last_text);
        break;
    case CMD_EHLO:
    case CMD_HELO:
        if (code / 100 == 2)
            c->ehlo_done++;
        break;
    case CMD_STARTTLS:
        c->starttls_code = code;
        break;
    case CMD_AUTH:
        c->auth_continuing = code == 334;
        if (code / 100 == 2) {
            c->auth_ok = 1;
        } else if (code != 334) {
            c->auth_code = code;
            snprintf(c->auth_text, sizeof(c->auth_text), "%s", c->last_text);
        }
        break;
    case CMD_QUIT:
    case CMD_OTHER:
        break;
    }
}

/* libesmtp's protocol monitor: raw command bytes as they are flushed, and
 * reply bytes as they are read (both in clear text, inside TLS). */
static void
on_monitor(const char *buf, int buflen, int writing, void *arg)
{
    conv *c = arg;
    const char *p = buf, *end = buf + (buflen > 0 ? buflen : 0), *nl;

    c->last_io_ms = now_ms();
    if (c->mail_sent || c->hung_up)
        return; /* from here on, libesmtp's own statuses tell everything */
    if (writing == SMTP_CB_WRITING) {
        while (p < end && !c->mail_sent && !c->hung_up) {
            nl = memchr(p, '\n', (size_t)(end - p));
            if (!c->write_midline)
                on_command(c, p, (size_t)((nl ? nl : end) - p));
            c->write_midline = nl == NULL;
            p = nl ? nl + 1 : end;
        }
        return;
    }
    if (writing != SMTP_CB_READING)
        return;
    for (; p < end; p++) {
        if (*p == '\n') {
            size_t n = c->line_len;
            if (n > 0 && c->line[n - 1] == '\r')
                n--;
            on_reply_line(c, c->line, n);
            c->line_len = 0;
        } else if (c->line_len < sizeof(c->line)) {
            c->line[c->line_len++] = *p; /* longer lines are cut */
        }
    }
}

static void
on_event(smtp_session_t session, int event, void *arg, ...)
{
    conv *c = arg;
    va_list ap;
    int *ok;

    (void)session;
    va_start(ap, arg);
    switch (event) {
    case SMTP_EV_CONNECT: {
        int fd = nt_netio_last_fd(), one = 0;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss), ol = sizeof(one);
        char addr[INET6_ADDRSTRLEN] = "?";

        c->connected = 1;
        c->last_io_ms = now_ms();
        if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
            if (ss.ss_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr));
            else if (ss.ss_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr));
            snprintf(c->peer, sizeof(c->peer), "%s", addr);
        }
        c->nodelay = -1;
        if (fd >= 0 && getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, &ol) == 0)
            c->nodelay = one != 0;
        break;
    }
    case SMTP_EV_STARTTLS_OK: {
        SSL *ssl = va_arg(ap, SSL *);
        const char *cipher = va_arg(ap, const char *);
        int bits = va_arg(ap, int);

        c->tls_ok = 1;
        snprintf(c->tls_desc, sizeof(c->tls_desc), "%s %s (%d bits)",
                 ssl ? SSL_get_version(ssl) : "TLS", cipher ? cipher : "?", bits);
        break;
    }
    case SMTP_EV_INVALID_PEER_CERTIFICATE: {
        long result = va_arg(ap, long);

        ok = va_arg(ap, int *);
        *ok = 0;
        snprintf(c->tls_problem, sizeof(c->tls_problem),
                 "the server's certificate was rejected: %s",
                 X509_verify_cert_error_string(result));
        break;
    }
    case SMTP_EV_WRONG_PEER_CERTIFICATE: {
        const char *name;
        SSL *ssl;

        ok = va_arg(ap, int *);
        name = va_arg(ap, const char *);
        ssl = va_arg(ap, SSL *);
        /* libesmtp matches DNS names against the resolver's canonical name
         * only.  OpenSSL has already checked the certificate against the
         * configured host (name or IP address, see make_ctx): trust that. */
        *ok = ssl && SSL_get_verify_result(ssl) == X509_V_OK;
        if (!*ok)
            snprintf(c->tls_problem, sizeof(c->tls_problem),
                     "the server's certificate is for '%s', not '%s'", name ? name : "?",
                     c->s->host);
        break;
    }
    case SMTP_EV_NO_PEER_CERTIFICATE:
        ok = va_arg(ap, int *);
        *ok = 0;
        snprintf(c->tls_problem, sizeof(c->tls_problem), "the server sent no certificate");
        break;
    case SMTP_EV_WEAK_CIPHER: {
        int bits = va_arg(ap, int);

        ok = va_arg(ap, int *);
        *ok = 0;
        snprintf(c->tls_problem, sizeof(c->tls_problem), "the TLS cipher is too weak (%d bits)",
                 bits);
        break;
    }
    case SMTP_EV_NO_CLIENT_CERTIFICATE:
        ok = va_arg(ap, int *);
        *ok = 0;
        snprintf(c->tls_problem, sizeof(c->tls_problem),
                 "libesmtp's client certificate under ~/.authenticate cannot be used");
        break;
    case SMTP_EV_UNUSABLE_CLIENT_CERTIFICATE:
    case SMTP_EV_UNUSABLE_CA_LIST:
        snprintf(c->tls_problem, sizeof(c->tls_problem),
                 "libesmtp's files under ~/.authenticate cannot be used (permissions?)");
        break;
    case SMTP_EV_EXTNA_STARTTLS:
        c->tls_not_offered = 1;
        break;
    default:
        /* SYNTAXWARNING and the EXTNA_* events pass a quit flag that
         * libesmtp preset to what we want. */
        break;
    }
    va_end(ap);
}

/* libesmtp's message callback: the whole message in one piece.  The
 * context pointer stays NULL: libesmtp would free() it. */
static const char *
message_cb(void **ctx, int *len, void *arg)
{
    slot *sl = arg;

    (void)ctx;
    if (!len) { /* rewind */
        sl->given = 0;
        return NULL;
    }
    if (sl->given) {
        *len = 0;
        return NULL;
    }
    sl->given = 1;
    *len = (int)sl->m->len;
    return sl->m->data;
}

static int
auth_interact(auth_client_request_t req, char **result, int fields, void *arg)
{
    const nt_smtp *s = arg;
    int i;

    for (i = 0; i < fields; i++) {
        if (req[i].flags & AUTH_USER)
            result[i] = s->username;
        else if (req[i].flags & AUTH_PASS)
            result[i] = s->password;
        else
            result[i] = (char *)""; /* realm */
    }
    return 1;
}

/* ---- Outcomes ---- */

/* "5.1.1 text" at the start of a reply text, when the server sent an
 * enhanced code without advertising ENHANCEDSTATUSCODES. */
static const char *
parse_enhanced(const char *t, int code, char *out, size_t outsz)
{
    const char *p = t;
    int parts = 0, digits;

    out[0] = '\0';
    if (!(*p == '2' || *p == '4' || *p == '5') || *p - '0' != code / 100)
        return t;
    p++;
    while (parts < 2) {
        if (*p++ != '.')
            return t;
        for (digits = 0; isdigit((unsigned char)*p) && digits < 4; p++)
            digits++;
        if (digits == 0 || digits > 3)
            return t;
        parts++;
    }
    if (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
        return t;
    snprintf(out, outsz, "%.*s", (int)(p - t), t);
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static void
set_reply(nt_outmsg *m, const smtp_status_t *st, nt_smtp_stage stage)
{
    const char *t = st->text ? st->text : "";

    m->code = st->code;
    m->stage = stage;
    if (st->enh_class >= 2 && st->enh_class <= 5 && st->enh_subject >= 0 &&
        st->enh_subject <= 999 && st->enh_detail >= 0 && st->enh_detail <= 999)
        snprintf(m->enhanced, sizeof(m->enhanced), "%d.%d.%d", st->enh_class, st->enh_subject,
                 st->enh_detail);
    else
        t = parse_enhanced(t, st->code, m->enhanced, sizeof(m->enhanced));
    clean_copy(m->text, sizeof(m->text), t, strlen(t));
}

static void
fill_outcome(const slot *sl)
{
    const smtp_status_t *st = smtp_reverse_path_status(sl->msg);

    if (!st || st->code == 0)
        return;
    if (st->code / 100 != 2) {
        set_reply(sl->m, st, NT_SMTP_STAGE_MAIL);
        return;
    }
    st = smtp_recipient_status(sl->rcpt);
    if (!st || st->code == 0)
        return;
    if (st->code / 100 != 2) {
        set_reply(sl->m, st, NT_SMTP_STAGE_RCPT);
        return;
    }
    /* A 354 left over from DATA means the final reply never came. */
    st = smtp_message_transfer_status(sl->msg);
    if (!st || st->code < 200 || st->code / 100 == 3)
        return;
    set_reply(sl->m, st, NT_SMTP_STAGE_DATA);
}

static void
clear_outcome(nt_outmsg *m)
{
    m->code = 0;
    m->stage = NT_SMTP_STAGE_NONE;
    m->enhanced[0] = '\0';
    m->text[0] = '\0';
}

static void
refuse_locally(nt_outmsg *m, int code, const char *enhanced, const char *text)
{
    m->code = code;
    m->stage = NT_SMTP_STAGE_LOCAL;
    snprintf(m->enhanced, sizeof(m->enhanced), "%s", enhanced);
    snprintf(m->text, sizeof(m->text), "%s", text);
}

/* An address SMTP can carry between angle brackets, as libesmtp writes it
 * (no SMTPUTF8, no quoting). */
static int
valid_address(const char *a, int allow_empty)
{
    size_t n = 0;

    if (!a)
        return 0;
    for (; a[n]; n++) {
        unsigned char c = (unsigned char)a[n];
        if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>')
            return 0;
    }
    return (n > 0 || allow_empty) && n <= 512;
}

/* A name that goes into a command line or the server address. */
static int
valid_name(const char *s)
{
    const char *p;

    if (!s || !*s || strlen(s) > 255)
        return 0;
    for (p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_' || *p == '[' ||
              *p == ']'))
            return 0;
    return 1;
}

/* Why the conversation never reached MAIL FROM, as an error and a diag. */
static nt_err
explain_failure(const nt_smtp *s, const conv *c, int smtp_err, nt_diag *d)
{
    char why[512], errbuf[128] = "";
    const char *e;

    if (c->hung_up && c->hangup_why[0])
        return nt_diag_set(d, NT_ECONFIG, NULL, 0, 0, "smtp %s: %s", s->hostport, c->hangup_why);
    if (c->tls_problem[0])
        return nt_diag_set(
            d, NT_ECONFIG, NULL, 0, 0, "smtp %s: STARTTLS: %s%s", s->hostport, c->tls_problem,
            strstr(c->tls_problem, "rejected") ? " (trust a private CA with smtp.ca_file)" : "");
    if (c->tls_not_offered)
        return nt_diag_set(d, NT_ECONFIG, NULL, 0, 0,
                           "smtp %s: TLS is required (smtp.tls: required) but the server does "
                           "not offer STARTTLS",
                           s->hostport);
    if (c->cmd == CMD_AUTH && c->auth_code)
        return nt_diag_set(d, NT_ECONFIG, NULL, 0, 0, "smtp %s: %s", s->hostport,
                           auth_problem((conv *)c, why, sizeof(why)));
    e = smtp_strerror(smtp_err, errbuf, sizeof(errbuf));
    if (!e)
        e = "unknown error";
    if (!c->connected)
        return nt_diag_set(d, NT_EIO, NULL, 0, 0, "smtp %s: cannot connect: %s", s->hostport, e);
    if (c->greeting_code && c->greeting_code != 220)
        return nt_diag_set(d, NT_EIO, NULL, 0, 0, "smtp %s: the server refused the session: %d %s",
                           s->hostport, c->greeting_code, c->greeting);
    if ((c->cmd == CMD_EHLO || c->cmd == CMD_HELO) && c->last_code >= 400 && !c->reply_lines)
        return nt_diag_set(d, NT_EIO, NULL, 0, 0, "smtp %s: %s refused: %d %s", s->hostport,
                           cmd_name(c->cmd), c->last_code, c->last_text);
    if (c->cmd == CMD_STARTTLS && c->starttls_code >= 400)
        return nt_diag_set(d, NT_EIO, NULL, 0, 0, "smtp %s: STARTTLS refused: %d %s", s->hostport,
                           c->starttls_code, c->last_text);
    if (c->cmd == CMD_STARTTLS && !c->tls_ok) {
        unsigned long e2 = ERR_peek_last_error();
        char ebuf[200] = "";

        if (e2)
            ERR_error_string_n(e2, ebuf, sizeof(ebuf));
        ERR_clear_error();
        return nt_diag_set(d, NT_EIO, NULL, 0, 0, "smtp %s: the TLS handshake failed%s%s",
                           s->hostport, ebuf[0] ? ": " : "", ebuf);
    }
    if (now_ms() - c->last_io_ms >= s->timeout_ms - 100)
        return nt_diag_set(d, NT_EIO, NULL, 0, 0,
                           "smtp %s: no reply within %ld s to %s (smtp.timeout)", s->hostport,
                           s->timeout_ms / 1000, cmd_name(c->cmd));
    return nt_diag_set(d, NT_EIO, NULL, 0, 0, "smtp %s: the connection ended after %s: %s",
                       s->hostport, cmd_name(c->cmd), e);
}

/* ---- Sessions ---- */

static smtp_session_t
new_session(const nt_smtp *s, conv *c, auth_context_t *authp)
{
    static const int which[] = {Timeout_GREETING, Timeout_ENVELOPE, Timeout_DATA, Timeout_TRANSFER,
                                Timeout_DATA2};
    smtp_session_t session = smtp_create_session();
    auth_context_t auth = NULL;
    size_t i;

    *authp = NULL;
    if (!session)
        return NULL;
    if (!smtp_set_server(session, s->hostport) || (s->helo && !smtp_set_hostname(session, s->helo)))
        goto fail;
    /* Milliseconds, although libesmtp's comments say seconds; without the
     * override libesmtp raises them to RFC 5321's minutes. */
    for (i = 0; i < sizeof(which) / sizeof(which[0]); i++)
        smtp_set_timeout(session, which[i] | Timeout_OVERRIDE_RFC2822_MINIMUM, s->timeout_ms);
    if (s->tls == NT_TLS_OFF) {
        smtp_starttls_enable(session, Starttls_DISABLED);
    } else {
        if (!smtp_starttls_set_ctx(session, s->ctx))
            goto fail;
        smtp_starttls_enable(session,
                             s->tls == NT_TLS_REQUIRED ? Starttls_REQUIRED : Starttls_ENABLED);
    }
    if (s->username) {
        if (!(auth = auth_create_context()))
            goto fail;
        auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
        auth_set_interact_cb(auth, auth_interact, (void *)s);
        smtp_auth_set_context(session, auth);
    }
    smtp_set_eventcb(session, on_event, c);
    smtp_set_monitorcb(session, on_monitor, c, 0);
    *authp = auth;
    return session;
fail:
    smtp_destroy_session(session);
    if (auth)
        auth_destroy_context(auth);
    return NULL;
}

static void
free_session(smtp_session_t session, auth_context_t auth)
{
    if (session)
        smtp_destroy_session(session);
    if (auth)
        auth_destroy_context(auth);
}

/* Run the conversation; returns libesmtp's errno for it. */
static int
run_session(const nt_smtp *s, smtp_session_t session, conv *c)
{
    int err;

    c->last_io_ms = now_ms();
    nt_netio_begin(s->timeout_ms);
    /* Its return value says little (see the top of the file); its errno
     * only words the diagnostics. */
    (void)smtp_start_session(session);
    err = smtp_errno();
    nt_netio_end();
    return err;
}

static void
conv_init(conv *c, const nt_smtp *s, int check_only)
{
    memset(c, 0, sizeof(*c));
    c->s = s;
    c->check_only = check_only;
    c->nodelay = -1;
}

nt_err
nt_smtp_send(nt_smtp *s, nt_outmsg *msgs, size_t n, nt_diag *d)
{
    smtp_session_t session = NULL;
    auth_context_t auth = NULL;
    slot *slots = NULL;
    size_t i, nslots = 0, unanswered = 0;
    conv *c = NULL;
    nt_err err = NT_OK;
    int smtp_err;

    for (i = 0; i < n; i++) {
        clear_outcome(&msgs[i]);
        if (!valid_address(msgs[i].envelope_from, 1))
            return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                               "smtp: message %zu: the envelope sender is not an address SMTP "
                               "can carry",
                               i);
        if (!msgs[i].data && msgs[i].len)
            return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "smtp: message %zu has no data", i);
    }
    if (!(slots = calloc(n ? n : 1, sizeof(*slots))) || !(c = malloc(sizeof(*c)))) {
        err = nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "smtp: out of memory");
        goto out;
    }
    conv_init(c, s, 0);
    if (!(session = new_session(s, c, &auth))) {
        err = nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "smtp: cannot set up a libesmtp session");
        goto out;
    }
    for (i = 0; i < n; i++) {
        nt_outmsg *m = &msgs[i];
        slot *sl;

        if (!valid_address(m->rcpt, 0)) {
            refuse_locally(m, 553, "5.1.3",
                           "not sent: the recipient is not an address SMTP can carry "
                           "(empty, space, control character, angle bracket or non-ASCII)");
            continue;
        }
        if (m->len > NT_SMTP_MAX_MESSAGE || m->len > INT_MAX) {
            refuse_locally(m, 552, "5.3.4", "not sent: the message is larger than 64 MiB");
            continue;
        }
        sl = &slots[nslots];
        sl->m = m;
        if (!(sl->msg = smtp_add_message(session)) ||
            !smtp_set_reverse_path(sl->msg, m->envelope_from) ||
            !smtp_set_messagecb(sl->msg, message_cb, sl) ||
            !(sl->rcpt = smtp_add_recipient(sl->msg, m->rcpt))) {
            err = nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "smtp: cannot queue message %zu", i);
            goto out;
        }
        nslots++;
    }
    if (nslots == 0)
        goto out;

    smtp_err = run_session(s, session, c);
    if (!c->mail_sent) {
        err = explain_failure(s, c, smtp_err, d);
        goto out;
    }
    for (i = 0; i < nslots; i++) {
        fill_outcome(&slots[i]);
        unanswered += slots[i].m->code == 0;
    }
    if (unanswered && d) {
        char errbuf[128] = "";
        const char *e = smtp_err ? smtp_strerror(smtp_err, errbuf, sizeof(errbuf)) : NULL;

        nt_diag_set(d, NT_OK, NULL, 0, 0,
                    "smtp %s: the conversation ended early (%s): %zu of %zu messages have no "
                    "answer",
                    s->hostport, e ? e : "connection lost", unanswered, nslots);
        d->sev = NT_SEV_WARNING;
    }
out:
    if (err != NT_OK)
        for (i = 0; i < n; i++)
            if (msgs[i].stage != NT_SMTP_STAGE_LOCAL)
                clear_outcome(&msgs[i]);
    free_session(session, auth);
    free(slots);
    free(c);
    return err;
}

nt_err
nt_smtp_check(nt_smtp *s, nt_buf *r, nt_diag *d)
{
    smtp_session_t session = NULL;
    auth_context_t auth = NULL;
    slot sl;
    nt_outmsg probe;
    conv *c;
    nt_err err = NT_OK;
    char why[512];
    int smtp_err;

    if (!(c = malloc(sizeof(*c))))
        return nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "smtp: out of memory");
    conv_init(c, s, 1);
    memset(&sl, 0, sizeof(sl));
    memset(&probe, 0, sizeof(probe));
    probe.envelope_from = "";
    probe.rcpt = "postmaster";
    probe.data = "";
    sl.m = &probe;
    if (!(session = new_session(s, c, &auth)) || !(sl.msg = smtp_add_message(session)) ||
        !smtp_set_reverse_path(sl.msg, "") || !smtp_set_messagecb(sl.msg, message_cb, &sl) ||
        !(sl.rcpt = smtp_add_recipient(sl.msg, "postmaster"))) {
        err = nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "smtp: cannot set up a libesmtp session");
        goto out;
    }
    smtp_err = run_session(s, session, c);

    nt_buf_addf(r, "server: %s", s->hostport);
    if (c->peer[0])
        nt_buf_addf(r, " (%s)", c->peer);
    nt_buf_addf(r, "\nconnect: %s", c->connected ? "ok" : "failed");
    if (c->connected)
        nt_buf_addf(r, ", TCP_NODELAY %s",
                    c->nodelay == 1   ? "on"
                    : c->nodelay == 0 ? "OFF (expect about 23 messages/s)"
                                      : "unknown");
    if (c->greeting_code)
        nt_buf_addf(r, "\ngreeting: %d %s", c->greeting_code, c->greeting);
    if (c->ext[0][0] || c->ehlo_done)
        nt_buf_addf(r, "\nehlo (as %s): %s", s->helo ? s->helo : "this host's name",
                    c->ext[0][0] ? c->ext[0] : "(none)");
    if (s->tls == NT_TLS_OFF)
        nt_buf_adds(r, "\nstarttls: off (smtp.tls: off)");
    else if (c->tls_ok && !c->tls_problem[0])
        nt_buf_addf(r, "\nstarttls: ok, %s, certificate verified for %s", c->tls_desc, s->host);
    else if (c->tls_problem[0])
        nt_buf_addf(r, "\nstarttls: FAILED: %s", c->tls_problem);
    else if (c->tls_not_offered)
        nt_buf_adds(r, "\nstarttls: FAILED: not offered, and smtp.tls is required");
    else if (c->ehlo_done && !strstr(c->ext[0], "STARTTLS"))
        nt_buf_adds(r, "\nstarttls: not offered; sending in plain text (smtp.tls: opportunistic)");
    if (c->tls_ok)
        nt_buf_addf(r, "\nehlo after starttls: %s", c->ext[1][0] ? c->ext[1] : "(none)");
    if (s->username) {
        if (c->tls_problem[0] || c->tls_not_offered)
            nt_buf_adds(r, "\nauth: not tried (TLS failed)");
        else if (c->auth_ok)
            nt_buf_addf(r, "\nauth: ok as '%s' (%s)", s->username, c->auth_mech);
        else if (c->ehlo_done)
            nt_buf_addf(r, "\nauth: FAILED: %s", auth_problem(c, why, sizeof(why)));
    } else {
        nt_buf_addf(r, "\nauth: not configured%s%s", c->auth_offered[0] ? "; server offers " : "",
                    c->auth_offered);
    }

    if (c->hung_up && !c->hangup_why[0]) {
        nt_buf_adds(r, "\nresult: ok, ready to send (hung up before MAIL FROM: nothing sent)\n");
    } else {
        err = explain_failure(s, c, smtp_err, d);
        nt_buf_addf(r, "\nresult: FAILED: %s\n", d ? d->msg : nt_strerror(err));
    }
out:
    free_session(session, auth);
    free(c);
    return err;
}

/* ---- Setup ---- */

static nt_err
ssl_error(nt_diag *d, nt_err err, const char *what)
{
    char buf[256] = "unknown OpenSSL error";
    unsigned long e = ERR_get_error();

    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return nt_diag_set(d, err, NULL, 0, 0, "smtp: %s: %s", what, buf);
}

/*
 * Our own SSL_CTX rather than libesmtp's default one, which trusts only
 * ~/.authenticate/ca.pem when that exists.  Verification is left to
 * libesmtp's check after the handshake (SSL_VERIFY_NONE here), which then
 * reports the reason through the event callback; the expected host goes
 * into the verify parameters so that OpenSSL's result covers it.
 */
static nt_err
make_ctx(nt_smtp *s, nt_diag *d)
{
    X509_VERIFY_PARAM *param;
    unsigned char ip[sizeof(struct in6_addr)];
    int ok;

    if (!(s->ctx = SSL_CTX_new(TLS_client_method())))
        return ssl_error(d, NT_ENOMEM, "cannot create a TLS context");
    /* TLS 1.2 at most.  After a TLS 1.3 handshake the server sends session
     * tickets; when they arrive before libesmtp has flushed its EHLO, its
     * protocol loop sees the socket readable, waits for the EHLO reply
     * first, and deadlocks until the timeout (seen with aiosmtpd about one
     * STARTTLS in twenty).  TLS 1.2 has no such post-handshake messages. */
    SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(s->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(s->ctx, SSL_VERIFY_NONE, NULL);
    if (SSL_CTX_set_default_verify_paths(s->ctx) != 1)
        ERR_clear_error(); /* no system store: only nt_smtp_set_ca_file then */
    param = SSL_CTX_get0_param(s->ctx);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (inet_pton(AF_INET, s->host, ip) == 1)
        ok = X509_VERIFY_PARAM_set1_ip_asc(param, s->host);
    else
        ok = X509_VERIFY_PARAM_set1_host(param, s->host, 0);
    if (ok != 1)
        return ssl_error(d, NT_ECONFIG, "cannot set the host to verify");
    return NT_OK;
}

static char *
dup_or_null(const char *s, int *oom)
{
    char *p;

    if (!s)
        return NULL;
    if (!(p = strdup(s)))
        *oom = 1;
    return p;
}

nt_err
nt_smtp_new(const nt_smtp_config *cfg, const char *password, nt_smtp **out, nt_diag *d)
{
    nt_smtp *s;
    nt_buf hp;
    nt_err err;
    int oom = 0;

    *out = NULL;
    if (!cfg->host || !*cfg->host)
        return nt_diag_set(d, NT_ECONFIG, NULL, 0, 0, "smtp: no host configured");
    if (strchr(cfg->host, ':'))
        return nt_diag_set(d, NT_ECONFIG, NULL, 0, 0,
                           "smtp: host '%s': libesmtp cannot connect to an IPv6 address "
                           "literal; use a host name",
                           cfg->host);
    if (!valid_name(cfg->host))
        return nt_diag_set(d, NT_ECONFIG, NULL, 0, 0, "smtp: host is not a valid host name");
    if (cfg->helo && !valid_name(cfg->helo))
        return nt_diag_set(d, NT_ECONFIG, NULL, 0, 0,
                           "smtp: helo is not a valid host name or address literal");
    if (cfg->port < 1 || cfg->port > 65535)
        return nt_diag_set(d, NT_ECONFIG, NULL, 0, 0, "smtp: port %lld is out of range", cfg->port);
    if (cfg->username && (!*cfg->username || strpbrk(cfg->username, "\r\n")))
        return nt_diag_set(d, NT_ECONFIG, NULL, 0, 0,
                           "smtp: username is empty or has a line break");
    if (!nt_netio_interposed())
        return nt_diag_set(d, NT_ECONFIG, NULL, 0, 0,
                           "smtp: this program was linked so that libesmtp bypasses nurture's "
                           "connect() (src/netio.c): without TCP_NODELAY sending would crawl at "
                           "about 23 messages/s");
    pthread_once(&init_once_flag, init_once);

    if (!(s = calloc(1, sizeof(*s))))
        return nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "smtp: out of memory");
    s->host = dup_or_null(cfg->host, &oom);
    s->helo = dup_or_null(cfg->helo, &oom);
    s->username = dup_or_null(cfg->username, &oom);
    s->password = dup_or_null(password ? password : "", &oom);
    s->tls = cfg->tls;
    s->timeout_ms = cfg->timeout_sec < 1       ? 1000
                    : cfg->timeout_sec > 86400 ? 86400000L
                                               : (long)cfg->timeout_sec * 1000;
    nt_buf_init(&hp, 512);
    nt_buf_addf(&hp, "%s:%lld", cfg->host, cfg->port);
    s->hostport = nt_buf_detach(&hp, NULL);
    if (oom || !s->hostport) {
        nt_smtp_free(s);
        return nt_diag_set(d, NT_ENOMEM, NULL, 0, 0, "smtp: out of memory");
    }
    if (s->tls != NT_TLS_OFF && (err = make_ctx(s, d)) != NT_OK) {
        nt_smtp_free(s);
        return err;
    }
    if (cfg->ca_file && (err = nt_smtp_set_ca_file(s, cfg->ca_file, d)) != NT_OK) {
        nt_smtp_free(s);
        return err;
    }
    *out = s;
    return NT_OK;
}

nt_err
nt_smtp_set_ca_file(nt_smtp *s, const char *path, nt_diag *d)
{
    if (!s->ctx)
        return NT_OK;
    if (SSL_CTX_load_verify_locations(s->ctx, path, NULL) != 1) {
        char what[300];
        snprintf(what, sizeof(what), "cannot load CA certificates from %s", path);
        return ssl_error(d, NT_EINVAL, what);
    }
    return NT_OK;
}

void
nt_smtp_free(nt_smtp *s)
{
    if (!s)
        return;
    if (s->password) {
        /* volatile, so that the compiler keeps the wipe before free() */
        volatile char *p = s->password;
        while (*p)
            *p++ = '\0';
    }
    free(s->host);
    free(s->hostport);
    free(s->helo);
    free(s->username);
    free(s->password);
    if (s->ctx)
        SSL_CTX_free(s->ctx);
    free(s);
}
