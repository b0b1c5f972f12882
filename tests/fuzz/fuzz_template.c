/*
 * Fuzz target for templates: parse the input; when it parses, render it
 * (once with itself as the footer) with merge values that are hostile or cut
 * from the input, compose a message, and abort if any promise is broken:
 * a subject with a control character, a tag or attribute in the HTML that
 * cmark would not write, a script URL, a header line that nobody asked for,
 * a line too long, a byte that is not 7-bit, a bare CR or LF.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nurture/buf.h"
#include "nurture/message.h"
#include "nurture/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fctx {
    char *copy; /* the input, NUL-terminated */
    size_t size;
    uint32_t seed;
    char long_value[1200]; /* longer than a line may be */
};

static const char *const hostile[] = {
    "Bob\r\nBcc: victim@example.com",
    "\r\n\r\n<html><body>injected",
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "\" onclick=\"alert(1)\" x=\"",
    "' onmouseover='alert(1)",
    "{{first_name}}",
    "{{",
    "}}",
    "&amp;&lt;&#106;",
    "**b** _i_ `c` <b>",
    "![img](http://evil/x.png)",
    "=?utf-8?b?SGk=?=",
    "\xff\xfe\xc3",
    "\xc2\x85\xe2\x80\xa8\t\x01\x7f",
    "NTPHaaaaaaaaaaaaaaaa00000",
    "data:text/html,<script>alert(1)</script>",
    "Zo\xc3\xab \xf0\x9f\x8e\x89 \xe6\x97\xa5\xe6\x9c\xac",
    "",
};

static uint32_t
hash(uint32_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static const char *
merge(void *vctx, const char *name)
{
    struct fctx *c = vctx;
    uint32_t h = hash(c->seed, name);
    size_t n = sizeof(hostile) / sizeof(hostile[0]);

    switch (h % 4) {
    case 0:
        return NULL;
    case 1:
        /* A piece of the input: whatever the fuzzer put there. */
        return c->copy + (h >> 8) % (c->size + 1);
    case 2:
        return c->long_value;
    default:
        return hostile[(h >> 8) % n];
    }
}

static void
check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_template: %s\n", what);
        abort();
    }
}

static void
check_line(const char *s, const char *what)
{
    for (; s && *s; s++)
        check((unsigned char)*s >= 0x20 && *s != 0x7f, what);
}

static int
one_of(const char *s, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == n && strncasecmp(s, *list, n) == 0)
            return 1;
    return 0;
}

static int
bad_url(const char *v, size_t n)
{
    static const char *const schemes[] = {"javascript:", "vbscript:", "file:", "data:"};
    size_t i;

    for (i = 0; i < 4; i++) {
        size_t m = strlen(schemes[i]);
        if (n >= m && strncasecmp(v, schemes[i], m) == 0)
            return !(i == 3 && n >= 14 && strncasecmp(v, "data:image/", 11) == 0);
    }
    return 0;
}

/* Every tag is one cmark or our wrapper writes, with attributes from the
 * same short list, and no link or image points at a script. */
static void
check_html(const char *h)
{
    static const char *const tags[] = {
        "!DOCTYPE",    "html",    "/html", "head", "/head", "meta", "title", "/title",
        "body",        "/body",   "div",   "/div", "p",     "/p",   "em",    "/em",
        "strong",      "/strong", "a",     "/a",   "img",   "code", "/code", "pre",
        "/pre",        "ul",      "/ul",   "ol",   "/ol",   "li",   "/li",   "blockquote",
        "/blockquote", "h1",      "/h1",   "h2",   "/h2",   "h3",   "/h3",   "h4",
        "/h4",         "h5",      "/h5",   "h6",   "/h6",   "hr",   "br",    NULL};
    static const char *const attrs[] = {"href",  "src",     "alt",  "title",   "class", "start",
                                        "style", "charset", "name", "content", NULL};
    const char *p = h;

    while ((p = strchr(p, '<')) != NULL) {
        const char *q = ++p;
        if (strncmp(p, "!-- raw HTML omitted -->", 24) == 0) {
            p += 24;
            continue;
        }
        while (*q && *q != ' ' && *q != '>' && *q != '\n' && !(q[0] == '/' && q[1] == '>'))
            q++;
        check(one_of(p, (size_t)(q - p), tags), "unexpected tag in the HTML");
        /* Attributes: name="value" ... up to '>' */
        for (;;) {
            const char *n0, *v0, *v1;
            while (*q == ' ')
                q++;
            if (*q == '>' || (q[0] == '/' && q[1] == '>') || !*q)
                break;
            if (strncmp(q, "html", 4) == 0 && q[4] == '>') /* <!DOCTYPE html> */
                break;
            n0 = q;
            while (*q && *q != '=' && *q != ' ' && *q != '>')
                q++;
            check(one_of(n0, (size_t)(q - n0), attrs), "unexpected attribute in the HTML");
            check(q[0] == '=' && q[1] == '"', "attribute without a quoted value");
            v0 = q + 2;
            v1 = strchr(v0, '"');
            check(v1 != NULL, "unterminated attribute");
            check(memchr(v0, '<', (size_t)(v1 - v0)) == NULL, "'<' in an attribute");
            if ((q - n0 == 4 && !strncmp(n0, "href", 4)) || (q - n0 == 3 && !strncmp(n0, "src", 3)))
                check(!bad_url(v0, (size_t)(v1 - v0)), "script URL in the HTML");
            q = v1 + 1;
        }
        p = q;
    }
}

/* Headers in the order and number we write them, continuation lines
 * starting with a space; every line CRLF-ended, at most 76 long, 7-bit. */
static void
check_message(const char *m, size_t n)
{
    static const char *const names[] = {"Date",
                                        "From",
                                        "To",
                                        "Subject",
                                        "Message-ID",
                                        "MIME-Version",
                                        "List-Unsubscribe",
                                        "List-Unsubscribe-Post",
                                        "X-Nurture-Campaign",
                                        "Content-Type",
                                        "Content-Transfer-Encoding",
                                        NULL};
    size_t i = 0, next = 0, col = 0;
    int in_hdr = 1, line_start = 1;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)m[i];
        if (line_start && in_hdr) {
            if (m[i] == '\r') {
                in_hdr = 0;
            } else if (m[i] != ' ') {
                const char *colon = memchr(m + i, ':', n - i);
                size_t k;
                check(colon != NULL, "header line without a colon");
                for (k = next; names[k]; k++)
                    if (strlen(names[k]) == (size_t)(colon - (m + i)) &&
                        strncmp(m + i, names[k], strlen(names[k])) == 0)
                        break;
                check(names[k] != NULL, "unexpected or repeated header");
                next = k + 1;
            }
        }
        line_start = 0;
        if (c == '\r') {
            check(i + 1 < n && m[i + 1] == '\n', "bare CR");
            i++;
            col = 0;
            line_start = 1;
            continue;
        }
        check(c != '\n', "bare LF");
        check(c != 0 && c < 0x80, "not 7-bit");
        check(++col <= 76, "line longer than 76");
    }
    check(n >= 2 && m[n - 2] == '\r' && m[n - 1] == '\n', "no final CRLF");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nt_template *t = NULL;
    nt_diags ds;
    struct fctx c;
    int pass;

    nt_diags_init(&ds, 16);
    if (nt_template_parse("fuzz.md", (const char *)data, size, &t, &ds) != NT_OK) {
        nt_diags_release(&ds);
        return 0;
    }
    c.copy = malloc(size + 1);
    if (!c.copy)
        abort();
    if (size)
        memcpy(c.copy, data, size);
    c.copy[size] = '\0';
    c.size = size;
    memset(c.long_value, 'A', sizeof(c.long_value) - 1);
    {
        static const char inj[] = "\r\nBcc: x@example.com\r\n<i>";
        memcpy(c.long_value + 100, inj, sizeof(inj) - 1);
    }
    c.long_value[sizeof(c.long_value) - 1] = '\0';

    for (pass = 0; pass < 2; pass++) {
        nt_rendered r;
        nt_message_hdrs h;
        nt_buf b;
        nt_err err;

        c.seed = 2166136261u + (uint32_t)pass * 7919u + (uint32_t)size;
        if (nt_template_render(t, pass ? t : NULL, merge, &c, &r, NULL) != NT_OK)
            abort(); /* nothing but memory can make a render fail */
        check(r.subject != NULL && r.text != NULL && r.html != NULL, "missing part");
        check_line(r.subject, "control character in the subject");
        check_line(r.preheader, "control character in the preheader");
        check(strncmp(r.html, "<!DOCTYPE html>", 15) == 0, "not an HTML document");
        check_html(r.html);

        memset(&h, 0, sizeof(h));
        h.from_name = merge(&c, "from_name");
        h.from_addr = "hello@acme.example";
        h.to_name = merge(&c, "to_name");
        h.to_addr = "lead@example.com";
        h.subject = r.subject;
        h.date = (int64_t)size * 86399;
        h.message_id = "nt.1.fuzz@acme.example";
        h.list_unsubscribe_mailto = "unsubscribe+tok@acme.example";
        h.list_unsubscribe_url = "https://acme.example/u/tok";
        h.campaign = merge(&c, "campaign");
        nt_buf_init(&b, 0);
        err = nt_message_compose(&h, r.text, strlen(r.text), pass ? NULL : r.html,
                                 pass ? 0 : strlen(r.html), &b, NULL);
        check(err == NT_OK, "compose failed");
        check_message(nt_buf_cstr(&b), b.len);
        nt_buf_release(&b);
        nt_rendered_release(&r);
    }
    free(c.copy);
    nt_template_free(t);
    nt_diags_release(&ds);
    return 0;
}
