/*
 * Campaigns: drip sequences a marketer writes as files.
 *
 * A campaign is a YAML file (campaigns/NAME.yaml) or a folder holding
 * campaign.yaml (campaigns/NAME/campaign.yaml); paths inside it are relative
 * to the file.  It says who enters (a stage, optional field conditions),
 * who sends, when mail may go out (days, hours, in the lead's zone or a fixed
 * one), the steps (a delay and an email each) and the exit rules.
 *
 * Loading checks the file itself (syntax, keys, types, durations, templates);
 * nt_campaign_lint adds the checks that need the configuration (stages,
 * senders, merge fields) and the warnings.  A campaign's version is a hash of
 * its content: the YAML and every email file it uses.
 */
#ifndef NURTURE_CAMPAIGN_H
#define NURTURE_CAMPAIGN_H

#include <stddef.h>
#include <stdint.h>

#include "nurture/config.h"
#include "nurture/error.h"
#include "nurture/lead.h"
#include "nurture/template.h"

typedef enum nt_cond_op {
    NT_COND_EQUALS = 1,
    NT_COND_NOT_EQUALS,
    NT_COND_IN,
    NT_COND_NOT_IN,
    NT_COND_PRESENT,
    NT_COND_ABSENT,
    NT_COND_CONTAINS,
} nt_cond_op;

/* A condition on one lead field; values compared case-insensitively. */
typedef struct nt_cond {
    char *field;
    nt_cond_op op;
    char **values;
    size_t nvalues;
    int line, col;
} nt_cond;

/* When mail may go out. */
typedef struct nt_window {
    unsigned days;  /* bit d set = weekday d allowed, 0 = Sunday */
    int start_min;  /* minutes after local midnight, inclusive */
    int end_min;    /* exclusive; 1440 = midnight at the end of the day */
    char *timezone; /* fixed IANA zone, or NULL for each lead's own zone */
} nt_window;

typedef struct nt_step {
    char *id;         /* stable name: `id:` or the email file's name without .md */
    int64_t after;    /* delay after the previous step (or enrollment), seconds */
    char *email;      /* path as written */
    char *email_path; /* resolved path */
    nt_template *tmpl;
    int line, col; /* of the step in the campaign file */
    int email_line, email_col;
    int after_line, after_col;
} nt_step;

enum {
    NT_EXIT_ON_REPLY = 1u << 0,
    NT_EXIT_ON_UNSUBSCRIBE = 1u << 1,
    NT_EXIT_ON_BOUNCE = 1u << 2,
    NT_EXIT_ON_STAGE_CHANGE = 1u << 3,
};

typedef struct nt_campaign {
    char *name;
    char *description;
    char *path; /* the YAML file */
    char *dir;  /* its folder: base of relative paths */
    int paused; /* `status: paused`: enrolls nobody, sends nothing */
    char *stage;
    nt_cond *conds;
    size_t nconds;
    char *sender;
    nt_window window;
    int64_t stale_after; /* a step this late is moved to the next window */
    nt_step *steps;
    size_t nsteps;
    unsigned exits; /* NT_EXIT_ON_* */
    char *footer;   /* path as written, or NULL */
    nt_template *footer_tmpl;
    char version[17]; /* 16 hex digits of SHA-256 over the content */
    /* positions for later checks */
    int line_stage, col_stage, line_sender, col_sender, line_window, col_window;
    int line_tz, col_tz, line_exit, col_exit, line_name, col_name;
} nt_campaign;

/* Default for stale_after (hours of open send window) when a campaign does
 * not say. */
#define NT_DEFAULT_STALE_AFTER (4 * 3600)

/*
 * Load the campaign at path (a .yaml file, or a folder with campaign.yaml),
 * including its email templates.  Problems go into diags with file:line:col.
 * Returns NT_OK when there was no error (warnings allowed); on NT_OK *out is
 * owned by the caller (nt_campaign_free), otherwise *out is NULL.
 */
nt_err nt_campaign_load(const char *path, nt_campaign **out, nt_diags *diags);

/*
 * Parse a campaign from memory: src[0..len) (borrowed for the call) is the
 * YAML of `file`, and the email files it names are read relative to `dir`.
 * Otherwise as nt_campaign_load.
 */
nt_err nt_campaign_parse(const char *file, const char *dir, const char *src, size_t len,
                         nt_campaign **out, nt_diags *diags);

void nt_campaign_free(nt_campaign *c);

/*
 * The checks that need the configuration, and the warnings: stage and
 * sender exist, merge fields are known, each email has an unsubscribe link
 * and the postal address, and everything legal but likely wrong.  Returns
 * NT_EINVAL when any error was added.
 */
nt_err nt_campaign_lint(const nt_campaign *c, const nt_config *cfg, nt_diags *diags);

/* Merge fields every email can use besides the lead's fields. */
extern const char *const nt_builtin_merge_fields[];

/* Whether lead l matches the audience (stage and conditions). */
int nt_campaign_matches(const nt_campaign *c, const nt_lead *l);

/* Index of the step with this id, or -1. */
int nt_campaign_step_index(const nt_campaign *c, const char *id);

/* All campaigns of a folder, sorted by name. */
typedef struct nt_campaign_set {
    nt_campaign **items;
    size_t n;
} nt_campaign_set;

/*
 * Load every campaign under dir (*.yaml files and folders with
 * campaign.yaml).  A campaign that fails to load is left out and its errors
 * go into diags; *failed counts them.  Two campaigns with the same name are
 * an error (both left out).  set owned by the caller: nt_campaign_set_release.
 */
nt_err nt_campaign_set_load(const char *dir, nt_campaign_set *set, size_t *failed, nt_diags *diags);
void nt_campaign_set_release(nt_campaign_set *set);
/* Borrowed, or NULL. */
nt_campaign *nt_campaign_set_find(const nt_campaign_set *set, const char *name);

#endif
