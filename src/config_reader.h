/*
 * The config reader shared by the files that read parts of nurture.yaml
 * (config.c: the core sections; config_handoff.c: scoring, reps, the queue
 * and webhooks).  Every helper records problems in r->diags with the file,
 * line and column, and out-of-memory in r->oom, so a section is read
 * whole and checked once.  Not a public interface.
 */
#ifndef NURTURE_CONFIG_READER_H
#define NURTURE_CONFIG_READER_H

#include "nurture/config.h"
#include "nurture/yamldoc.h"

typedef struct nt_cfg_reader {
    nt_config *cfg;
    nt_ydoc *doc;
    nt_diags *diags;
    int oom;
} nt_cfg_reader;

void nt_cfg_report(nt_cfg_reader *r, const nt_diag *d);
/* strdup, noting out-of-memory.  Owned by the caller. */
char *nt_cfg_dup(nt_cfg_reader *r, const char *s);
/* The string at m[key] (owned by the caller), or NULL when absent. */
char *nt_cfg_str(nt_cfg_reader *r, const nt_ynode *m, const char *key, int required,
                 const char *where);
long long nt_cfg_int(nt_cfg_reader *r, const nt_ynode *m, const char *key, long long def,
                     long long min, long long max);
/* A duration such as 15m or 3d, in seconds; def when absent or wrong. */
long long nt_cfg_duration(nt_cfg_reader *r, const nt_ynode *m, const char *key, long long def);
/* p relative to the config's folder (owned by the caller), NULL for NULL. */
char *nt_cfg_resolve(nt_cfg_reader *r, const char *p);
int nt_cfg_is_map(nt_cfg_reader *r, const nt_ynode *n, const char *what);
int nt_cfg_is_seq(nt_cfg_reader *r, const nt_ynode *n, const char *what);
/* {env: NAME} or {file: PATH} into out (strings owned by out). */
void nt_cfg_secret(nt_cfg_reader *r, const nt_ynode *n, const char *what, nt_secret_ref *out);
void nt_cfg_free_secret(nt_secret_ref *s);

/* config_handoff.c: the scoring, reps, queue and webhooks sections. */
void nt_cfg_read_handoff(nt_cfg_reader *r, const nt_ynode *top);
void nt_cfg_release_handoff(nt_config *cfg);

#endif
