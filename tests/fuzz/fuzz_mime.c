/*
 * Fuzz target for nt_inmsg_parse (src/mime.c), which reads every message
 * that comes back from the Internet: bounces, replies, complaints.  Any
 * input must parse or fail with NT_EINVAL / NT_ELIMIT, never crash; what
 * parses must be valid UTF-8 throughout, its header values free of line
 * breaks, and release must leave nothing behind.  And the two readers
 * agree: whatever the quick reader does not decline, it reads exactly as
 * GMime's full parse does (the same error, or the same fields).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/mime.h"
#include "nurture/utf8.h"

#include "../unit/inmsg_eq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_str(const char *s, int oneline)
{
    if (!s)
        return;
    if (!nt_utf8_valid(s, strlen(s)))
        abort();
    if (oneline && strpbrk(s, "\r\n"))
        abort();
}

/* The quick reader either declines or agrees with GMime's tree. */
static void
check_readers(const char *s, size_t size)
{
    nt_inmsg q, t;
    nt_diag d;
    nt_err eq = nt_inmsg_parse_with(s, size, NT_INMSG_QUICK, &q, &d), et;
    const char *what = NULL;

    if (eq == NT_ENOTFOUND)
        return;
    et = nt_inmsg_parse_with(s, size, NT_INMSG_GMIME, &t, &d);
    if (eq != et || (eq == NT_OK && !inmsg_eq(&q, &t, &what)))
        abort();
    if (eq == NT_OK) {
        nt_inmsg_release(&q);
        nt_inmsg_release(&t);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nt_inmsg m;
    nt_diag d;
    nt_err err;
    char *s;
    size_t i;

    /* An exact-size copy, so that ASan sees any read past the end. */
    s = malloc(size ? size : 1);
    if (!s)
        return 0;
    if (size)
        memcpy(s, data, size);
    err = nt_inmsg_parse(s, size, &m, &d);
    if (err == NT_OK) {
        check_str(m.message_id, 1);
        check_str(m.in_reply_to, 1);
        check_str(m.references, 1);
        check_str(m.from_addr, 1);
        check_str(m.from_name, 1);
        check_str(m.to, 1);
        check_str(m.subject, 1);
        check_str(m.return_path, 1);
        check_str(m.auto_submitted, 1);
        check_str(m.text, 0);
        check_str(m.content_type, 1);
        check_str(m.report_type, 1);
        check_str(m.dsn_reporting_mta, 1);
        check_str(m.returned_headers, 0);
        check_str(m.returned_message_id, 1);
        check_str(m.returned_to, 1);
        check_str(m.feedback_type, 1);
        for (i = 0; i < m.nheaders; i++) {
            check_str(m.headers[i].name, 1);
            check_str(m.headers[i].value, 1);
        }
        for (i = 0; i < m.ndsn; i++) {
            check_str(m.dsn[i].final_recipient, 1);
            check_str(m.dsn[i].original_recipient, 1);
            check_str(m.dsn[i].action, 1);
            check_str(m.dsn[i].status, 1);
            check_str(m.dsn[i].diagnostic, 1);
            check_str(m.dsn[i].remote_mta, 1);
        }
        if (m.nheaders > 0 && m.headers[0].name && nt_inmsg_header(&m, m.headers[0].name) == NULL)
            abort();
        nt_inmsg_release(&m);
    } else if (err != NT_EINVAL && err != NT_ELIMIT) {
        abort();
    }
    check_readers(s, size);
    free(s);
    return 0;
}
