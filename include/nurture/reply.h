/*
 * The text a person wrote in a reply, without what their mail client added.
 *
 * Removes quoted history ("> " lines), attribution lines ("On ... wrote:",
 * "Le ... a écrit :", "Am ... schrieb ..."), Outlook header blocks
 * ("From: ... Sent: ... To: ... Subject: ..."), "-----Original Message-----"
 * and forwarded parts, and signatures ("-- ", "Sent from my iPhone",
 * common sign-offs followed by a name block).  The patterns are PCRE2
 * regular expressions in a rules file that users can extend without
 * recompiling; they run with JIT and with match and depth limits.
 */
#ifndef NURTURE_REPLY_H
#define NURTURE_REPLY_H

#include <stddef.h>

#include "nurture/buf.h"
#include "nurture/error.h"

typedef struct nt_reply_rules nt_reply_rules;

/*
 * Load rules from a file (format documented at the top of the default file,
 * contrib/rules/reply.rules).  Every bad line is reported in diags with
 * file:line:col (PCRE2's error offset), and a file with any bad line is
 * refused (NT_EINVAL, *out NULL): a typo must not silently disable a rule.
 * On NT_OK *out is owned by the caller: nt_reply_rules_free().
 */
nt_err nt_reply_rules_load(const char *path, nt_reply_rules **out, nt_diags *diags);

/* The same from memory (src borrowed for the call), `name` for messages. */
nt_err nt_reply_rules_parse(const char *name, const char *src, size_t len, nt_reply_rules **out,
                            nt_diags *diags);

void nt_reply_rules_free(nt_reply_rules *r);

/*
 * Append to out the visible part of the reply text[0..len) (UTF-8, any line
 * ends): what the author wrote above the quoted history (or below it, when
 * nothing is above), without the signature, trimmed.  Never fails on content; NT_ELIMIT when a rule
 * hits its match limit (the text up to there is kept).
 */
nt_err nt_reply_visible(const nt_reply_rules *r, const char *text, size_t len, nt_buf *out,
                        nt_diag *d);

#endif
