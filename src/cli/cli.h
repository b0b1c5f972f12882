/*
 * What every subcommand shares: the global options, the loaded config and
 * the open store, how errors are printed, and the exit codes cron and
 * scripts can rely on (from sysexits.h, documented in the README).
 */
#ifndef NURTURE_CLI_H
#define NURTURE_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "nurture/classify.h"
#include "nurture/config.h"
#include "nurture/error.h"
#include "nurture/store.h"
#include "nurture/token.h"

enum {
    NT_EXIT_OK = 0,
    NT_EXIT_FAIL = 1,     /* the command ran, but something it did failed */
    NT_EXIT_USAGE = 64,   /* bad command line */
    NT_EXIT_DATA = 65,    /* bad input data (lint errors, a bad CSV with --strict) */
    NT_EXIT_NOINPUT = 66, /* an input file is missing */
    NT_EXIT_SOFTWARE = 70,
    NT_EXIT_IO = 74,
    NT_EXIT_TEMPFAIL = 75, /* try again later: database busy, lock held */
    NT_EXIT_CONFIG = 78,   /* the configuration is missing or wrong */
};

typedef struct nt_cli {
    const char *prog;        /* "nurture" */
    const char *config_path; /* from -c, or NULL */
    nt_config cfg;
    int cfg_loaded;
    nt_store *store;
} nt_cli;

/* A subcommand: argv[0] is the command name.  Returns an exit code. */
typedef int (*nt_cmd_fn)(nt_cli *cli, int argc, char **argv);

/* Load the config (once); on failure print every problem and return the
 * exit code to use, else 0. */
int cli_load_config(nt_cli *cli);
/* Load the config and open the store (once); as cli_load_config. */
int cli_open_store(nt_cli *cli);

/* Derive the token key from the configured secret (the config must be
 * loaded); key wiped by the caller with nt_token_key_release().  0, or the
 * exit code after printing why. */
int cli_load_key(nt_cli *cli, nt_token_key *key);

/*
 * The classifier with bounce.rules, reply.rules and inbound.rules, each
 * from rules_dir_override when given, else cfg_or_NULL's rules folder,
 * else built in (a file missing from the folder is taken built in).  On 0
 * *out is owned by the caller: nt_classifier_free().  Otherwise every
 * problem has been printed (file:line:col) and the exit code is returned.
 */
int cli_load_classifier(const nt_config *cfg_or_NULL, const char *rules_dir_override,
                        nt_classifier **out);

/* The lead named by arg: an id, or an email address in any spelling (the
 * store must be open).  0 with out owned by the caller (nt_lead_release),
 * or the exit code after printing why (1 when there is no such lead). */
int cli_find_lead(nt_cli *cli, const char *arg, nt_lead *out);

/* Print "nurture: message" (with file:line:col when known) to stderr. */
void cli_diag(const nt_diag *d);
void cli_diags(const nt_diags *ds);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exit code for a library error. */
int cli_exit_for(nt_err err);

/* Parse a time argument (see nt_time_parse; also "now").  Prints on error. */
int cli_parse_time(const char *arg, int64_t *out);
/* The current time (the only clock read in the program). */
int64_t cli_clock(void);

/* cli_out.c: a positive decimal number from arg, else the usage error
 * "'ARG' is not WHAT" (cli_parse_id; what: "a message id (see ...)") or
 * "--limit needs a positive number" (cli_parse_limit) and its exit code. */
int cli_parse_id(const char *cmd, const char *arg, const char *what, int64_t *out);
int cli_parse_limit(const char *cmd, const char *arg, int64_t *out);
/* JSON values: a string (NULL: null), a time as ISO 8601 UTC (0: null). */
void cli_json_str(nt_buf *b, const char *s);
void cli_json_time(nt_buf *b, int64_t t);
/* The lead as a JSON object without its closing brace, so that callers can
 * add members: id, the standard fields, fields{}, created/updated/stage
 * times. */
void cli_lead_json(nt_buf *b, const nt_lead *l);
/* Print b to stdout and release it; an nt_buf error is reported
 * (NT_EXIT_SOFTWARE). */
int cli_emit(nt_buf *b);
/* Write s (NULL: "") for a person: control characters escaped so that a
 * value cannot move the cursor or change the terminal; at most max
 * characters (0: all), padded to `width` characters.  With an indent, line
 * breaks are kept and each new line starts with it. */
void cli_put_text(FILE *f, const char *s, size_t max, size_t width, const char *indent);

/* Print `text` and return NT_EXIT_OK: for --help. */
int cli_help(const char *text);
/* "unknown option" etc.: print, point at --help, return NT_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Subcommands, one file each (cmd_<name>.c). */
int cmd_init(nt_cli *cli, int argc, char **argv);
int cmd_lead(nt_cli *cli, int argc, char **argv);
int cmd_lead_explain(nt_cli *cli, int argc, char **argv); /* `lead explain` */
int cmd_campaign(nt_cli *cli, int argc, char **argv);
int cmd_plan(nt_cli *cli, int argc, char **argv);
int cmd_preview(nt_cli *cli, int argc, char **argv);
int cmd_stages(nt_cli *cli, int argc, char **argv);
int cmd_run(nt_cli *cli, int argc, char **argv);
int cmd_sends(nt_cli *cli, int argc, char **argv);
int cmd_doctor(nt_cli *cli, int argc, char **argv);
int cmd_classify(nt_cli *cli, int argc, char **argv);
int cmd_ingest(nt_cli *cli, int argc, char **argv);
int cmd_inbound(nt_cli *cli, int argc, char **argv);
int cmd_webhooks(nt_cli *cli, int argc, char **argv);
int cmd_queue(nt_cli *cli, int argc, char **argv);
int cmd_report(nt_cli *cli, int argc, char **argv);

/* Ingest from the configuration's `inbound` mailbox, if there is one (what
 * `nurture run` does first).  0, or the exit code after printing why. */
int cli_ingest_configured(nt_cli *cli, int64_t now, int json);

#endif
