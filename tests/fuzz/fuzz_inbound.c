/*
 * Fuzz target for the whole inbound path: MIME decoding (mime.c) and the
 * classifier (classify.c with bounce.c, reply.c and the inbound rules).
 * The first byte picks the path: odd runs the rest of the input through
 * the classifier as its inbound rules file (with the default bounce and
 * reply rules); even parses it as a message and classifies it with the
 * default rules, loaded once.  The classification must hold together: a
 * known kind, a rule that says why, a return date only on an automatic
 * reply and in YYYY-MM-DD form, recipients only on a bounce.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/buf.h"
#include "nurture/classify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static nt_classifier *defaults;
static char *texts[3];
static size_t lens[3];

/* contrib/rules/NAME from NT_SOURCE_DIR, or found from this file's path in
 * the source tree. */
static char *
read_rules(const char *name, size_t *len)
{
    char path[2048], chunk[8192];
    const char *src = getenv("NT_SOURCE_DIR");
    const char *suffix = "tests/fuzz/fuzz_inbound.c";
    size_t n = strlen(__FILE__), got;
    FILE *f;
    nt_buf b;

    if (src && *src)
        snprintf(path, sizeof(path), "%s/contrib/rules/%s", src, name);
    else if (n >= strlen(suffix))
        snprintf(path, sizeof(path), "%.*scontrib/rules/%s", (int)(n - strlen(suffix)), __FILE__,
                 name);
    else
        return NULL;
    if (!(f = fopen(path, "rb")))
        return NULL;
    nt_buf_init(&b, 0);
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        nt_buf_add(&b, chunk, got);
    fclose(f);
    return nt_buf_detach(&b, len);
}

static nt_classifier *
load_defaults(void)
{
    static const char *const names[3] = {"bounce.rules", "reply.rules", "inbound.rules"};
    nt_rules_text t[3];
    nt_classifier *c = NULL;

    for (int i = 0; i < 3; i++) {
        if (!texts[i] && !(texts[i] = read_rules(names[i], &lens[i])))
            return NULL;
        t[i] = (nt_rules_text){names[i], texts[i], lens[i]};
    }
    if (nt_classifier_new(&t[0], &t[1], &t[2], &c, NULL) != NT_OK)
        return NULL;
    return c;
}

static void
check(const nt_classification *cl)
{
    size_t i;

    if ((unsigned)cl->kind > NT_IN_REPLY || !cl->rule || !*cl->rule)
        abort();
    if (cl->return_date[0] && (cl->kind != NT_IN_AUTOREPLY || strlen(cl->return_date) != 10 ||
                               cl->return_date[4] != '-' || cl->return_date[7] != '-'))
        abort();
    if (cl->bounce.n && cl->kind != NT_IN_BOUNCE)
        abort();
    for (i = 0; i < cl->bounce.n; i++)
        if (!cl->bounce.items[i].recipient || !*cl->bounce.items[i].recipient)
            abort();
    if (cl->visible && cl->kind != NT_IN_REPLY && cl->kind != NT_IN_UNSUBSCRIBE)
        abort();
    if ((unsigned)cl->intent > NT_INTENT_UNSUBSCRIBE)
        abort();
}

static void
fuzz_rules(const uint8_t *data, size_t size)
{
    nt_rules_text t[3] = {{"bounce.rules", texts[0], lens[0]},
                          {"reply.rules", texts[1], lens[1]},
                          {"fuzz.rules", (const char *)data, size}};
    nt_classifier *c = NULL;
    nt_diags ds;

    nt_diags_init(&ds, 8);
    if (nt_classifier_new(&t[0], &t[1], &t[2], &c, &ds) == NT_OK)
        nt_classifier_free(c);
    else if (c != NULL || ds.errors == 0)
        abort();
    nt_diags_release(&ds);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nt_classification cl;
    nt_inmsg m;
    nt_diag d;

    if (!defaults && !(defaults = load_defaults()))
        abort();
    if (size == 0)
        return 0;
    if (data[0] & 1) {
        fuzz_rules(data + 1, size - 1);
        return 0;
    }
    if (nt_inmsg_parse((const char *)data + 1, size - 1, &m, &d) != NT_OK)
        return 0;
    if (nt_classify(defaults, &m, &cl, &d) == NT_OK) {
        check(&cl);
        nt_classification_release(&cl);
    }
    nt_inmsg_release(&m);
    return 0;
}
