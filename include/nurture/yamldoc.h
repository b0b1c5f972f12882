/*
 * A YAML document as a small tree with source positions.
 *
 * libyaml gives events; the config and campaign readers want to walk a
 * mapping, look keys up, and report "file:line:col" for any node.  This
 * module builds that tree once.  Anchors, aliases and tags are refused:
 * configuration files have no use for them and aliases are a classic way to
 * make a small file expand into a huge one.
 */
#ifndef NURTURE_YAMLDOC_H
#define NURTURE_YAMLDOC_H

#include <stddef.h>

#include "nurture/error.h"

#define NT_YAML_MAX_BYTES (4u << 20) /* input size limit */
#define NT_YAML_MAX_NODES 100000
#define NT_YAML_MAX_DEPTH 64

typedef enum nt_ynode_kind {
    NT_Y_SCALAR = 1,
    NT_Y_MAP,
    NT_Y_SEQ,
} nt_ynode_kind;

typedef struct nt_ynode nt_ynode;

/* Every pointer below is owned by the document (nt_ydoc). */
struct nt_ynode {
    nt_ynode_kind kind;
    int line; /* 1-based */
    int col;  /* 1-based */
    /* NT_Y_SCALAR: */
    char *str;
    size_t len;
    int quoted; /* written in quotes: always a string, never a number */
    /* NT_Y_MAP: keys[i] -> vals[i]; NT_Y_SEQ: vals[i] */
    nt_ynode **keys;
    nt_ynode **vals;
    size_t n;
};

typedef struct nt_ydoc {
    nt_ynode *root; /* NULL for an empty document */
    char file[256];
    /* arena of nodes, private */
    void *arena;
} nt_ydoc;

/*
 * Parse src[0..len) (borrowed for the call; need not be NUL-terminated).
 * `file` names the source in diagnostics.  On error the diag has the
 * position; doc is left empty but must still be released.
 */
nt_err nt_ydoc_parse(nt_ydoc *doc, const char *file, const char *src, size_t len, nt_diag *d);

/* Read a whole file (at most NT_YAML_MAX_BYTES) and parse it. */
nt_err nt_ydoc_load(nt_ydoc *doc, const char *path, nt_diag *d);

void nt_ydoc_release(nt_ydoc *doc);

/* The value for key in map m, or NULL (also when m is not a map). Borrowed. */
const nt_ynode *nt_ymap_get(const nt_ynode *m, const char *key);

/* "mapping", "list", "text" for messages. */
const char *nt_ynode_kind_name(const nt_ynode *n);

/*
 * Scalar conversions.  Each returns NT_EINVAL and fills the diag with the
 * node's position and a message naming `what` ("daily_cap") when the node
 * has the wrong type.
 */
nt_err nt_ynode_str(const nt_ydoc *doc, const nt_ynode *n, const char *what, const char **out,
                    nt_diag *d);
nt_err nt_ynode_int(const nt_ydoc *doc, const nt_ynode *n, const char *what, long long min,
                    long long max, long long *out, nt_diag *d);
nt_err nt_ynode_bool(const nt_ydoc *doc, const nt_ynode *n, const char *what, int *out, nt_diag *d);

/*
 * Check that every key of map m is in the NULL-terminated list `known`;
 * each unknown key is added to diags as an error at its position, with
 * "did you mean 'x'?" when one known key is close.  Returns the number of
 * unknown keys.
 */
size_t nt_ymap_check_keys(const nt_ydoc *doc, const nt_ynode *m, const char *const *known,
                          const char *where, nt_diags *diags);

/* The known word closest to s within a small edit distance, or NULL. */
const char *nt_did_you_mean(const char *s, const char *const *known);

#endif
