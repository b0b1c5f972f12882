/*
 * Reading back the small JSON objects nurture itself writes (event
 * details, queue context).  Writing JSON goes through nt_buf_add_json.
 */
#ifndef NURTURE_JSON_H
#define NURTURE_JSON_H

#include "nurture/buf.h"
#include "nurture/error.h"

/*
 * The string member `key` of the JSON object text `json` (NUL-terminated),
 * replacing out's contents; *found = 0 (out empty) when json is NULL, not
 * an object, or has no such string member.  NT_ENOMEM is the only error.
 */
nt_err nt_json_get_str(const char *json, const char *key, nt_buf *out, int *found);

/*
 * A one-line summary of the JSON object text `json` for people, appended
 * to out: `key=value key2="a value"`, string values longer than `width`
 * bytes cut with "...", nested values as compact JSON.  Nothing appended
 * when json is NULL or not an object.
 */
void nt_json_summary(const char *json, size_t width, nt_buf *out);

#endif
