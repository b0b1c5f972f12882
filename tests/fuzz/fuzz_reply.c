/*
 * Fuzz target for src/reply.c.  The first byte picks the parser: odd runs
 * the rest of the input through nt_reply_rules_parse (and, when it parses,
 * uses those rules on a fixed reply); even runs nt_reply_visible on it with
 * the default rules, loaded once.  The visible text must never be longer
 * than the input after UTF-8 repair.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static nt_reply_rules *defaults;

/* contrib/rules/reply.rules from NT_SOURCE_DIR, or found from this file's
 * path in the source tree. */
static nt_reply_rules *
load_defaults(void)
{
    char path[2048];
    const char *src = getenv("NT_SOURCE_DIR");
    const char *suffix = "tests/fuzz/fuzz_reply.c";
    size_t n;
    nt_reply_rules *r = NULL;

    if (src && *src) {
        snprintf(path, sizeof(path), "%s/contrib/rules/reply.rules", src);
    } else {
        n = strlen(__FILE__);
        if (n < strlen(suffix))
            return NULL;
        snprintf(path, sizeof(path), "%.*scontrib/rules/reply.rules", (int)(n - strlen(suffix)),
                 __FILE__);
    }
    if (nt_reply_rules_load(path, &r, NULL) != NT_OK)
        return NULL;
    return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char reply[] = "Thanks!\n\nOn Mon, Ann <a@b.c> wrote:\n> hi\n-- \nBob\n";
    nt_reply_rules *r = NULL;
    nt_buf out;
    nt_diag d;
    nt_diags ds;

    if (!defaults && !(defaults = load_defaults()))
        abort();
    if (size == 0)
        return 0;
    nt_buf_init(&out, 0);
    if (data[0] & 1) {
        nt_diags_init(&ds, 8);
        if (nt_reply_rules_parse("fuzz", (const char *)data + 1, size - 1, &r, &ds) == NT_OK) {
            (void)nt_reply_visible(r, reply, sizeof(reply) - 1, &out, &d);
            nt_reply_rules_free(r);
        } else if (r != NULL || ds.errors == 0) {
            abort();
        }
        nt_diags_release(&ds);
    } else {
        (void)nt_reply_visible(defaults, (const char *)data + 1, size - 1, &out, &d);
        /* Each invalid byte becomes at most 3 bytes of U+FFFD. */
        if (out.len > 3 * (size - 1))
            abort();
    }
    nt_buf_release(&out);
    return 0;
}
