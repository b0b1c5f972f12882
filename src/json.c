/*
 * Reading back nurture's own JSON objects through jansson (see json.h).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/json.h"

#include "banned.h"

nt_err
nt_json_get_str(const char *json, const char *key, nt_buf *out, int *found)
{
    json_t *root, *v;

    nt_buf_reset(out);
    *found = 0;
    if (!json)
        return NT_OK;
    if (!(root = json_loads(json, JSON_REJECT_DUPLICATES, NULL)))
        return NT_OK;
    v = json_is_object(root) ? json_object_get(root, key) : NULL;
    if (v && json_is_string(v)) {
        nt_buf_add(out, json_string_value(v), json_string_length(v));
        *found = 1;
    }
    json_decref(root);
    return out->err;
}

static void
add_value(nt_buf *out, json_t *v, size_t width)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v), cut = n > width ? width : n;
        int quote = strcspn(s, " \t\r\n\"=") < n;
        while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--; /* whole UTF-8 characters */
        if (quote || cut < n)
            nt_buf_addc(out, '"');
        for (size_t i = 0; i < cut; i++)
            nt_buf_addc(out, (s[i] == '\n' || s[i] == '\r' || s[i] == '\t') ? ' ' : s[i]);
        if (cut < n)
            nt_buf_adds(out, "...");
        if (quote || cut < n)
            nt_buf_addc(out, '"');
    } else {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text) {
            out->err = NT_ENOMEM;
            return;
        }
        nt_buf_adds(out, text);
        free(text);
    }
}

void
nt_json_summary(const char *json, size_t width, nt_buf *out)
{
    json_t *root, *v;
    const char *key;
    int first = 1;

    if (!json || !(root = json_loads(json, 0, NULL)))
        return;
    if (json_is_object(root)) {
        json_object_foreach(root, key, v)
        {
            if (!first)
                nt_buf_addc(out, ' ');
            nt_buf_addf(out, "%s=", key);
            add_value(out, v, width);
            first = 0;
        }
    }
    json_decref(root);
}
