/*
 * Email templates: a Markdown file with a small header and merge fields.
 *
 *     ---
 *     subject: Welcome aboard, {{first_name | there}}
 *     preheader: Three things to try in your first week
 *     ---
 *     Hi {{first_name | there}},
 *
 *     Markdown body...  [Unsubscribe]({{unsubscribe_url}})
 *
 * The header is the block between the two "---" lines; its keys are
 * `subject` (required) and `preheader` (optional).  A merge field is
 * `{{name}}` or `{{name | default}}`; spaces inside the braces are ignored.
 * Names are [a-z_][a-z0-9_]*.
 *
 * Rendering produces the subject (one line: CR, LF and other control
 * characters in merged values become spaces, so nothing can start a header
 * line), the plain-text part (the Markdown as written, values substituted),
 * and the HTML part, rendered from the Markdown by cmark, in which every
 * merged value is HTML-escaped after rendering so a value can add neither
 * markup nor Markdown.
 */
#ifndef NURTURE_TEMPLATE_H
#define NURTURE_TEMPLATE_H

#include <stddef.h>

#include "nurture/error.h"

/* Limits on untrusted template input. */
#define NT_TEMPLATE_MAX_BYTES (1u << 20) /* 1 MiB of source */
#define NT_TEMPLATE_MAX_FIELDS 1000      /* merge fields in one template */

typedef struct nt_template nt_template;

/* One merge field as written, for the linter. */
typedef struct nt_merge_ref {
    const char *name; /* borrowed from the template */
    const char *def;  /* default text, or NULL when none was given */
    int line;         /* 1-based, in the template file */
    int col;          /* 1-based, of the opening "{{" */
    int in_header;    /* 1 when in subject or preheader */
} nt_merge_ref;

/*
 * Parse src[0..len) (need not be NUL-terminated; borrowed for the call).
 * `file` is used only in diagnostics.  Problems are added to diags with
 * file:line:col; the return value is NT_EINVAL if any was an error.  On
 * NT_OK *out is owned by the caller: nt_template_free().
 */
nt_err nt_template_parse(const char *file, const char *src, size_t len, nt_template **out,
                         nt_diags *diags);

void nt_template_free(nt_template *t);

/* Borrowed, unrendered (merge fields still in), valid for t's lifetime. */
const char *nt_template_subject(const nt_template *t);
const char *nt_template_preheader(const nt_template *t); /* NULL when absent */
const char *nt_template_body(const nt_template *t);

/* The merge fields in order of appearance (header first).  Borrowed. */
size_t nt_template_ref_count(const nt_template *t);
const nt_merge_ref *nt_template_ref(const nt_template *t, size_t i);

/* True when a merge field `name` appears in the body. */
int nt_template_uses(const nt_template *t, const char *name);

/*
 * Supplies merge values.  Returns a borrowed NUL-terminated value valid until
 * the render call returns, or NULL when the field has no value (then the
 * default is used, or the empty string).  An empty value also falls back to
 * the default.
 */
typedef const char *(*nt_merge_fn)(void *ctx, const char *name);

/* Output of a render; embedded: nt_rendered_release(). */
typedef struct nt_rendered {
    char *subject;   /* one line, UTF-8 */
    char *preheader; /* one line or NULL */
    char *text;      /* plain text part, UTF-8, LF line ends */
    char *html;      /* complete HTML document, UTF-8 */
} nt_rendered;

/*
 * Render `t`, followed by `footer` when not NULL (a template whose body is
 * appended after a blank line; its header is ignored), with values from
 * fn(ctx, name).  On success out's strings are owned by out.
 */
nt_err nt_template_render(const nt_template *t, const nt_template *footer, nt_merge_fn fn,
                          void *ctx, nt_rendered *out, nt_diag *d);

void nt_rendered_release(nt_rendered *r);

#endif
