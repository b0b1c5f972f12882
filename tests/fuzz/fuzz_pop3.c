/*
 * Fuzz target for the POP3 reply reader (src/pop3_resp.c).  The input is
 * cut into lines as the connection would deliver them; each must give a
 * status, an end mark, a UIDL entry whose unique-id lies inside the line
 * and is 1 to NT_POP3_UIDL_MAX printable characters, and an unstuffed copy
 * no longer than the line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3_resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one_line(const char *line, size_t n, nt_buf *out)
{
    const char *uid;
    size_t len, i;
    uint64_t num;
    int st = nt_pop3_status(line, n);

    if (st < -1 || st > 1)
        abort();
    (void)nt_pop3_is_end(line, n);
    if (nt_pop3_uidl_line(line, n, &num, &uid, &len) == 0) {
        if (num == 0 || len == 0 || len > NT_POP3_UIDL_MAX || uid < line || uid + len > line + n)
            abort();
        for (i = 0; i < len; i++)
            if (uid[i] <= 0x20 || uid[i] >= 0x7f)
                abort();
    }
    nt_buf_reset(out);
    nt_pop3_unstuff(line, n, out);
    if (out->len > n)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nt_buf out;
    size_t i = 0;

    nt_buf_init(&out, NT_BUF_DEFAULT_LIMIT);
    while (i < size) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t n = nl ? (size_t)(nl - (data + i)) + 1 : size - i;
        /* An exact-size copy of the line, so that ASan sees overreads. */
        char *line = malloc(n);
        if (!line)
            break;
        memcpy(line, data + i, n);
        one_line(line, n, &out);
        free(line);
        i += n;
    }
    nt_buf_release(&out);
    return 0;
}
