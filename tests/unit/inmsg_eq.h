/*
 * Whether two parses of a message are the same, field by field: how the
 * tests hold nt_inmsg_parse's two readers (mime.h) to one result.  On a
 * difference, the name of the first field that differs goes into *what.
 */
#ifndef NT_TEST_INMSG_EQ_H
#define NT_TEST_INMSG_EQ_H

#include <string.h>

#include "nurture/mime.h"

static int
inmsg_str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

#define INMSG_SAME(field)                                                                          \
    do {                                                                                           \
        if (!inmsg_str_eq(a->field, b->field)) {                                                   \
            *what = #field;                                                                        \
            return 0;                                                                              \
        }                                                                                          \
    } while (0)

static int
inmsg_eq(const nt_inmsg *a, const nt_inmsg *b, const char **what)
{
    size_t i;

    INMSG_SAME(message_id);
    INMSG_SAME(in_reply_to);
    INMSG_SAME(references);
    INMSG_SAME(from_addr);
    INMSG_SAME(from_name);
    INMSG_SAME(to);
    INMSG_SAME(subject);
    INMSG_SAME(return_path);
    INMSG_SAME(auto_submitted);
    INMSG_SAME(text);
    INMSG_SAME(content_type);
    INMSG_SAME(report_type);
    INMSG_SAME(dsn_reporting_mta);
    INMSG_SAME(returned_headers);
    INMSG_SAME(returned_message_id);
    INMSG_SAME(returned_to);
    INMSG_SAME(feedback_type);
    *what = "date, text_from_html or counts";
    if (a->date != b->date || a->text_from_html != b->text_from_html ||
        a->nheaders != b->nheaders || a->ndsn != b->ndsn)
        return 0;
    for (i = 0; i < a->nheaders; i++) {
        INMSG_SAME(headers[i].name);
        INMSG_SAME(headers[i].value);
    }
    for (i = 0; i < a->ndsn; i++) {
        INMSG_SAME(dsn[i].final_recipient);
        INMSG_SAME(dsn[i].original_recipient);
        INMSG_SAME(dsn[i].action);
        INMSG_SAME(dsn[i].status);
        INMSG_SAME(dsn[i].diagnostic);
        INMSG_SAME(dsn[i].remote_mta);
    }
    return 1;
}

#undef INMSG_SAME

#endif
