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

/* Scoring (score.h): engagement rules score events, fit rules score lead
 * fields.  Strings owned by the config. */
typedef enum nt_fit_op {
    NT_FIT_EQUALS = 0, /* the field is one of values (case-insensitive) */
    NT_FIT_CONTAINS,   /* the field contains one of values (case-insensitive) */
    NT_FIT_AT_LEAST,   /* the field is a number >= number */
    NT_FIT_AT_MOST,    /* the field is a number <= number */
    NT_FIT_PRESENT,    /* the field is set */
} nt_fit_op;

typedef struct nt_score_rule {
    char *id;       /* the rule's name, shown in `lead explain` */
    int engagement; /* 1: an engagement rule; 0: a fit rule */
    int line;       /* where it is in the config, for messages */
    double points;  /* may be negative */
    /* engagement rules */
    char *on;            /* event kind it scores: "replied", "clicked", ... */
    char *intent;        /* only replies with this intent, or NULL = any */
    int repeat;          /* every matching event counts, not only the first */
    long long half_life; /* seconds after which the points are halved; 0 = never */
    int handoff;         /* a matching event hands the lead off at once */
    /* fit rules */
    char *field; /* standard or custom lead field */
    nt_fit_op op;
    char **values; /* for NT_FIT_EQUALS and NT_FIT_CONTAINS */
    size_t nvalues;
    double number; /* for NT_FIT_AT_LEAST and NT_FIT_AT_MOST */
} nt_score_rule;

typedef struct nt_scoring {
    nt_score_rule *rules; /* engagement rules first, then fit rules, as written */
    size_t nrules;
    double threshold; /* a score at or above it hands the lead off; 0 = only handoff rules */
} nt_scoring;

/* A sales rep who pulls from the queue. */
typedef struct nt_rep {
    char *name;       /* what `queue pull --rep` and a lead's owner name */
    char *email;      /* or NULL */
    long long weight; /* share of round-robin assignments (1) */
    int away;         /* skipped by round-robin */
} nt_rep;

/* A reason a rep may give to reject a hand-off. */
typedef struct nt_reject_reason {
    char *id;      /* "not-a-fit", "no-budget", ... */
    char *recycle; /* campaign the lead goes back to, or NULL */
} nt_reject_reason;

typedef struct nt_queue_config {
    nt_reject_reason *reasons; /* the default list when the config has none */
    size_t nreasons;
    char *handoff_stage; /* stage a handed-off lead moves to, or NULL = unchanged */
    char *accept_stage;  /* stage an accepted lead moves to, or NULL = the next stage */
    long long sla;       /* seconds an entry may wait unclaimed; 0 = no SLA */
} nt_queue_config;

/* Events a webhook can be told about (bits of nt_webhook.events). */
typedef enum nt_hook_event {
    NT_HOOK_HANDOFF = 1 << 0,
    NT_HOOK_CLAIM = 1 << 1,
    NT_HOOK_ACCEPT = 1 << 2,
    NT_HOOK_REJECT = 1 << 3,
    NT_HOOK_RECYCLE = 1 << 4,
    NT_HOOK_SLA = 1 << 5,
} nt_hook_event;
#define NT_HOOK_ALL 0x3f

typedef enum nt_hook_format {
    NT_HOOK_JSON = 0, /* structured, for CRMs and scripts */
    NT_HOOK_SLACK,    /* {"text": ...}: what Slack-compatible incoming webhooks display */
} nt_hook_format;

typedef struct nt_webhook {
    char *name; /* unique; outbox rows name it */
    char *url;  /* http:// or https:// */
    nt_hook_format format;
    nt_secret_ref secret; /* HMAC-SHA256 key; both NULL = unsigned (slack only) */
    unsigned events;      /* nt_hook_event bits; NT_HOOK_ALL by default */
    long long timeout;    /* seconds per attempt (10) */
    char *ca_file;        /* extra CA bundle, or NULL */
} nt_webhook;

/* Name of one nt_hook_event bit ("handoff", "claim", ...), or NULL. */
const char *nt_hook_event_name(unsigned ev);
/* The bit named `name`, or 0. */
unsigned nt_hook_event_from(const char *name);

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
    nt_scoring scoring;
    nt_rep *reps; /* in the order written: round-robin order */
    size_t nreps;
    nt_queue_config queue;
    nt_webhook *webhooks;
    size_t nwebhooks;
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

/* The rep named `name` (case-insensitive), or NULL.  Borrowed from cfg. */
const nt_rep *nt_config_rep(const nt_config *cfg, const char *name);

/* The reject reason `id`, or NULL.  Borrowed from cfg. */
const nt_reject_reason *nt_config_reject_reason(const nt_config *cfg, const char *id);

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
