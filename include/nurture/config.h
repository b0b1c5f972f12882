/*
 * The configuration file (nurture.yaml).
 *
 * One YAML file holds everything an installation decides once: where the
 * database and the campaigns are, the lead stages both teams agree on, the
 * sender identities, the SMTP relay, the inbound mailbox and where the
 * secrets come from.  Secrets are never in the file itself: the file names
 * an environment variable or a file that holds them, and no function here
 * ever puts a secret's value into a message.
 *
 * Relative paths in the file are relative to the file's own directory.
 */
#ifndef NURTURE_CONFIG_H
#define NURTURE_CONFIG_H

#include <stddef.h>

#include "nurture/buf.h"
#include "nurture/error.h"

/* Where a secret comes from: exactly one of env or file is set. */
typedef struct nt_secret_ref {
    char *env;  /* name of an environment variable */
    char *file; /* path of a file whose first line is the secret */
} nt_secret_ref;

typedef struct nt_stage {
    char *name;       /* as written in the config, e.g. "MQL" */
    char *definition; /* the one-line meaning both teams agree on */
} nt_stage;

typedef struct nt_sender {
    char *id;                 /* key campaigns use: `sender: ana` */
    char *name;               /* display name */
    char *address;            /* From address */
    char *reply_to;           /* or NULL */
    char *postal_address;     /* required by CAN-SPAM; shown in every email */
    long long daily_cap;      /* messages per rolling 24 hours; 0 = no cap */
    long long per_minute_cap; /* messages per rolling minute; 0 = no cap */
    char *dkim_selector;      /* for `nurture doctor`'s DKIM check, or NULL */
} nt_sender;

typedef enum nt_tls_mode {
    NT_TLS_OPPORTUNISTIC = 0,
    NT_TLS_REQUIRED,
    NT_TLS_OFF,
} nt_tls_mode;

typedef struct nt_smtp_config {
    char *host;
    long long port;
    nt_tls_mode tls;
    char *username; /* NULL: no AUTH */
    nt_secret_ref password;
    char *helo;            /* EHLO name; NULL = the host name */
    long long timeout_sec; /* per SMTP command */
    long long sessions;    /* parallel connections */
    long long batch;       /* messages per connection */
    long long rate_limit;  /* messages per second over all sessions; 0 = none */
    long long retry_after; /* first retry of a 4xx, seconds; doubles each time */
    long long retry_for;   /* give up on a 4xx after this many seconds */
    char *ca_file;         /* extra CA bundle to trust for STARTTLS, or NULL */
} nt_smtp_config;

typedef enum nt_inbound_kind {
    NT_INBOUND_NONE = 0,
    NT_INBOUND_IMAP,
    NT_INBOUND_POP3,
    NT_INBOUND_MAILDIR,
} nt_inbound_kind;

typedef struct nt_inbound_config {
    nt_inbound_kind kind;
    char *url; /* imap(s)://host[:port]/MAILBOX or pop3(s)://... */
    char *username;
    nt_secret_ref password;
    char *maildir;                /* for NT_INBOUND_MAILDIR */
    char *ca_file;                /* extra CA bundle for the IMAP/POP3 server, or NULL */
    char *processed_folder;       /* IMAP folder for handled mail, NULL = "Processed" */
    char *unknown_folder;         /* IMAP folder for unclassified mail, NULL = "Unknown" */
    long long soft_bounce_limit;  /* soft bounces that suppress an address (3) */
    long long soft_bounce_window; /* ... within this many seconds (30 days) */
    long long away_pause;         /* out-of-office pause when no return date (7 days) */
} nt_inbound_config;

typedef struct nt_config {
    char *path;          /* the file read */
    char *dir;           /* its directory */
    char *database;      /* resolved path */
    char *campaigns_dir; /* resolved path */
    char *timezone;      /* zone for leads that have none */
    char *default_stage; /* stage of a new lead that names none */
    nt_stage *stages;    /* in order, earliest first */
    size_t nstages;
    nt_sender *senders;
    size_t nsenders;
    char **lead_fields; /* custom lead fields templates may use */
    size_t nlead_fields;
    nt_smtp_config smtp;
    nt_inbound_config inbound;
    nt_secret_ref secret;  /* signing secret for tokens */
    char *unsubscribe_url; /* https base for one-click unsubscribe, or NULL */
    char *bounce_domain;   /* domain of VERP return paths, or NULL = sender's */
    char *bounce_local;    /* local part before "+TOKEN" (default "bounces") */
    char *rules_dir;       /* folder of classifier rules files, or NULL = built-in */
} nt_config;

/*
 * Find the config file: `cli_path` (from -c) when given, else
 * $NURTURE_CONFIG, else ./nurture.yaml.  Writes the chosen path into out.
 * NT_ENOTFOUND with a diag that says where it looked when none exists.
 */
nt_err nt_config_find(const char *cli_path, char *out, size_t outsz, nt_diag *d);

/*
 * Read and check the config at path.  Every problem goes into diags with
 * file:line:col; NT_OK only when there was no error.  On any return the
 * config must be released with nt_config_release.
 */
nt_err nt_config_load(const char *path, nt_config *cfg, nt_diags *diags);

void nt_config_release(nt_config *cfg);

/* Index of stage `name` (case-insensitive) in cfg->stages, or -1. */
int nt_config_stage_index(const nt_config *cfg, const char *name);

/* The sender with id `id`, or NULL.  Borrowed from cfg. */
const nt_sender *nt_config_sender(const nt_config *cfg, const char *id);

/*
 * Read a secret into out (replacing its contents).  `what` names it in
 * messages ("secret", "smtp password").  The diag never contains the value.
 */
nt_err nt_secret_read(const nt_secret_ref *ref, const char *what, nt_buf *out, nt_diag *d);

/* Default stages used by `nurture init`: NULL-terminated pairs name, definition. */
extern const char *const nt_default_stages[];

#endif
