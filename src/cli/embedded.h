/*
 * Files built into the binary: the example campaigns that `nurture init`
 * writes into a new working folder, and the default classifier rules
 * (contrib/rules), used when the configuration names no rules folder.
 */
#ifndef NURTURE_EMBEDDED_H
#define NURTURE_EMBEDDED_H

#include <stddef.h>

typedef struct nt_embedded_file {
    const char *path; /* relative, e.g. "welcome/campaign.yaml" */
    const unsigned char *data;
    size_t len;
} nt_embedded_file;

/* Terminated by an entry whose path is NULL. */
extern const nt_embedded_file nt_embedded_campaigns[];
extern const nt_embedded_file nt_embedded_rules[];

#endif
