/*
 * The classifier's rules for the commands that read inbound mail: each of
 * bounce.rules, reply.rules and inbound.rules comes from the rules folder
 * (--rules, else the configuration's `rules`) when the file is there, else
 * from the copy built into the binary, so a user overrides one file without
 * copying the others and the binary works without the source tree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "embedded.h"
#include "nurture/buf.h"

#include "banned.h"

#define RULES_FILE_MAX ((size_t)1 << 20)

static const char *const rule_files[3] = {"bounce.rules", "reply.rules", "inbound.rules"};

/* One file's text, from the folder or built in. */
struct source {
    char name[4096]; /* for messages */
    nt_buf text;
};

static const nt_embedded_file *
built_in(const char *name)
{
    for (const nt_embedded_file *f = nt_embedded_rules; f->path; f++)
        if (strcmp(f->path, name) == 0)
            return f;
    return NULL;
}

static int
read_file(const char *path, nt_buf *out)
{
    FILE *f = fopen(path, "rb");
    char chunk[8192];
    size_t n;
    int rc = 0;

    if (!f) {
        cli_error("cannot open %s: %s", path, strerror(errno));
        return NT_EXIT_NOINPUT;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        nt_buf_add(out, chunk, n);
    if (ferror(f)) {
        cli_error("cannot read %s: %s", path, strerror(errno));
        rc = NT_EXIT_IO;
    } else if (out->err == NT_ELIMIT) {
        cli_error("%s: rules file over %zu bytes", path, RULES_FILE_MAX);
        rc = NT_EXIT_DATA;
    } else if (out->err) {
        rc = NT_EXIT_SOFTWARE;
    }
    fclose(f);
    return rc;
}

/* Fill s with file `name` of dir (may be NULL) or the built-in copy. */
static int
load_source(const char *dir, const char *name, struct source *s)
{
    const nt_embedded_file *f;
    struct stat st;

    nt_buf_init(&s->text, RULES_FILE_MAX);
    if (dir) {
        snprintf(s->name, sizeof(s->name), "%s/%s", dir, name);
        if (stat(s->name, &st) == 0)
            return read_file(s->name, &s->text);
    }
    if (!(f = built_in(name))) {
        cli_error("no built-in %s in this binary", name);
        return NT_EXIT_SOFTWARE;
    }
    snprintf(s->name, sizeof(s->name), "built-in %s", name);
    nt_buf_add(&s->text, f->data, f->len);
    return s->text.err ? NT_EXIT_SOFTWARE : 0;
}

static int
check_dir(const char *dir, int from_config)
{
    const char *what = from_config ? " (the configuration's `rules`)" : "";
    struct stat st;

    if (stat(dir, &st) != 0)
        cli_error("rules folder %s%s: %s", dir, what, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        cli_error("rules folder %s%s is not a folder", dir, what);
    else
        return 0;
    return from_config ? NT_EXIT_CONFIG : NT_EXIT_NOINPUT;
}

int
cli_load_classifier(const nt_config *cfg, const char *rules_dir_override, nt_classifier **out)
{
    const char *dir = rules_dir_override ? rules_dir_override : cfg ? cfg->rules_dir : NULL;
    struct source src[3];
    nt_rules_text t[3];
    nt_diags ds;
    nt_err err;
    int rc = 0, i;

    *out = NULL;
    if (dir && (rc = check_dir(dir, rules_dir_override == NULL)) != 0)
        return rc;
    for (i = 0; i < 3; i++)
        nt_buf_init(&src[i].text, 0);
    for (i = 0; i < 3 && rc == 0; i++) {
        rc = load_source(dir, rule_files[i], &src[i]);
        t[i] =
            (nt_rules_text){src[i].name, src[i].text.data ? src[i].text.data : "", src[i].text.len};
    }
    if (rc == 0) {
        nt_diags_init(&ds, 200);
        err = nt_classifier_new(&t[0], &t[1], &t[2], out, &ds);
        if (err != NT_OK) {
            cli_diags(&ds);
            cli_error("the rules were not loaded; fix the lines above");
            rc = err == NT_ENOMEM ? NT_EXIT_SOFTWARE : NT_EXIT_CONFIG;
        }
        nt_diags_release(&ds);
    }
    for (i = 0; i < 3; i++)
        nt_buf_release(&src[i].text);
    return rc;
}
