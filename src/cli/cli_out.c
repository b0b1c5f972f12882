/*
 * What the commands share to read numbers from the command line and to
 * write for people and for programs: positive ids and limits, JSON values
 * (a missing string or time is null), a lead as JSON, text made safe for a
 * terminal, and a buffer printed or its error reported.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nurture/tz.h"

#include "banned.h"

static int
positive(const char *arg, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(arg, &end, 10);
    if (*arg == '\0' || *end || errno || v <= 0)
        return 0;
    *out = v;
    return 1;
}

int
cli_parse_id(const char *cmd, const char *arg, const char *what, int64_t *out)
{
    if (!positive(arg, out))
        return cli_usage_error(cmd, "'%s' is not %s", arg, what);
    return 0;
}

int
cli_parse_limit(const char *cmd, const char *arg, int64_t *out)
{
    if (!positive(arg, out))
        return cli_usage_error(cmd, "--limit needs a positive number, not '%s'", arg);
    return 0;
}

void
cli_json_str(nt_buf *b, const char *s)
{
    if (s)
        nt_buf_add_json(b, s, strlen(s));
    else
        nt_buf_adds(b, "null");
}

void
cli_json_time(nt_buf *b, int64_t t)
{
    char when[32];

    if (t == 0) {
        nt_buf_adds(b, "null");
        return;
    }
    nt_time_format_utc(t, when, sizeof(when));
    nt_buf_addf(b, "\"%s\"", when);
}

void
cli_lead_json(nt_buf *b, const nt_lead *l)
{
    nt_buf_addf(b, "{\"id\":%lld", (long long)l->id);
    for (size_t i = 0; nt_lead_std_fields[i]; i++) {
        nt_buf_addf(b, ",\"%s\":", nt_lead_std_fields[i]);
        cli_json_str(b, nt_lead_get(l, nt_lead_std_fields[i]));
    }
    nt_buf_adds(b, ",\"fields\":{");
    for (size_t i = 0; i < l->nfields; i++) {
        if (i)
            nt_buf_addc(b, ',');
        cli_json_str(b, l->fields[i].name);
        nt_buf_addc(b, ':');
        cli_json_str(b, l->fields[i].value);
    }
    nt_buf_adds(b, "},\"created_at\":");
    cli_json_time(b, l->created_at);
    nt_buf_adds(b, ",\"updated_at\":");
    cli_json_time(b, l->updated_at);
    nt_buf_adds(b, ",\"stage_changed_at\":");
    cli_json_time(b, l->stage_changed_at);
}

int
cli_emit(nt_buf *b)
{
    int rc = NT_EXIT_OK;

    if (b->err) {
        cli_error("building the output: %s", nt_strerror(b->err));
        rc = NT_EXIT_SOFTWARE;
    } else {
        fwrite(b->data ? b->data : "", 1, b->len, stdout);
    }
    nt_buf_release(b);
    return rc;
}

void
cli_put_text(FILE *f, const char *s, size_t max, size_t width, const char *indent)
{
    size_t chars = 0;

    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (max && chars >= max) {
            fputs("…", f);
            chars++;
            break;
        }
        if (*p == '\r' && indent && p[1] == '\n') {
            continue;
        } else if (*p == '\n' && indent) {
            fputc('\n', f);
            fputs(indent, f);
            chars = 0;
            continue;
        } else if (*p == '\n') {
            fputs("\\n", f);
        } else if (*p == '\t') {
            fputs(indent ? "    " : "\\t", f);
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(f, "\\x%02x", *p);
        } else if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
            fprintf(f, "\\u%04x", p[1]); /* C1 controls */
            p++;
        } else {
            fputc(*p, f);
            if ((*p & 0xC0) == 0x80)
                continue; /* a continuation byte: same character */
        }
        chars++;
    }
    for (; chars < width; chars++)
        fputc(' ', f);
}
