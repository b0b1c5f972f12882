/*
 * POP3 reply lines (see pop3_resp.h).  RFC 1939 is line-based and simple;
 * what needs care is that the server is not trusted: numbers are bounded,
 * unique-ids are checked character by character before they become keys.
 */
#include <string.h>

#include "pop3_resp.h"

#include "banned.h"

/* Length without the line end. */
static size_t
content_len(const char *line, size_t n)
{
    if (n > 0 && line[n - 1] == '\n')
        n--;
    if (n > 0 && line[n - 1] == '\r')
        n--;
    return n;
}

int
nt_pop3_status(const char *line, size_t n)
{
    n = content_len(line, n);
    if (n >= 3 && memcmp(line, "+OK", 3) == 0 && (n == 3 || line[3] == ' '))
        return 1;
    if (n >= 4 && memcmp(line, "-ERR", 4) == 0 && (n == 4 || line[4] == ' '))
        return 0;
    return -1;
}

int
nt_pop3_is_end(const char *line, size_t n)
{
    return n > 0 && line[n - 1] == '\n' && content_len(line, n) == 1 && line[0] == '.';
}

int
nt_pop3_uidl_line(const char *line, size_t n, uint64_t *number, const char **uid, size_t *uid_len)
{
    size_t len = content_len(line, n), i = 0, start, end;
    uint64_t v = 0;

    while (i < len && line[i] >= '0' && line[i] <= '9') {
        if (i >= 18)
            return -1;
        v = v * 10 + (uint64_t)(line[i] - '0');
        i++;
    }
    if (i == 0 || v == 0 || i >= len || line[i] != ' ')
        return -1;
    start = ++i;
    while (i < len && line[i] > 0x20 && line[i] < 0x7f)
        i++;
    end = i;
    while (i < len && line[i] == ' ') /* some servers pad */
        i++;
    if (i != len || end == start || end - start > NT_POP3_UIDL_MAX)
        return -1;
    *number = v;
    *uid = line + start;
    *uid_len = end - start;
    return 0;
}

void
nt_pop3_unstuff(const char *line, size_t n, nt_buf *out)
{
    if (n > 0 && line[0] == '.')
        nt_buf_add(out, line + 1, n - 1);
    else
        nt_buf_add(out, line, n);
}
