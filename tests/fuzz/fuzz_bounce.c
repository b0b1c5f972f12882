/*
 * Fuzz target for src/bounce.c.  The first byte picks the parser: odd runs
 * the rest of the input through nt_bounce_rules_parse; even parses it as a
 * message and analyses it with the default rules, loaded once.  Every
 * recipient reported must be a non-empty string and no more than the cap.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/bounce.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static nt_bounce_rules *defaults;

/* contrib/rules/bounce.rules from NT_SOURCE_DIR, or found from this file's
 * path in the source tree. */
static nt_bounce_rules *
load_defaults(void)
{
    char path[2048];
    const char *src = getenv("NT_SOURCE_DIR");
    const char *suffix = "tests/fuzz/fuzz_bounce.c";
    size_t n;
    nt_bounce_rules *r = NULL;

    if (src && *src) {
        snprintf(path, sizeof(path), "%s/contrib/rules/bounce.rules", src);
    } else {
        n = strlen(__FILE__);
        if (n < strlen(suffix))
            return NULL;
        snprintf(path, sizeof(path), "%.*scontrib/rules/bounce.rules", (int)(n - strlen(suffix)),
                 __FILE__);
    }
    if (nt_bounce_rules_load(path, &r, NULL) != NT_OK)
        return NULL;
    return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nt_bounce_rules *r = NULL;
    nt_bounce_result res;
    nt_inmsg m;
    nt_diag d;
    nt_diags ds;
    size_t i;

    if (!defaults && !(defaults = load_defaults()))
        abort();
    if (size == 0)
        return 0;
    if (data[0] & 1) {
        nt_diags_init(&ds, 8);
        if (nt_bounce_rules_parse("fuzz", (const char *)data + 1, size - 1, &r, &ds) == NT_OK)
            nt_bounce_rules_free(r);
        else if (r != NULL || ds.errors == 0)
            abort();
        nt_diags_release(&ds);
        return 0;
    }
    if (nt_inmsg_parse((const char *)data + 1, size - 1, &m, &d) != NT_OK)
        return 0;
    if (nt_bounce_analyze(defaults, &m, &res, &d) == NT_OK) {
        if (res.n > 1000 || (res.n && !res.is_bounce))
            abort();
        for (i = 0; i < res.n; i++)
            if (!res.items[i].recipient || !*res.items[i].recipient || !res.items[i].rule)
                abort();
        nt_bounce_result_release(&res);
    }
    nt_inmsg_release(&m);
    return 0;
}
