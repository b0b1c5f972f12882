/*
 * mailbox_probe: runs one session of a mailbox source (include/nurture/
 * mailbox.h) the way `nurture ingest` would, following a plan, and prints
 * what happened, so that tests/e2e/test_mailbox.py can check it against a
 * real Dovecot and the files behind it.
 *
 *   mailbox_probe --kind imap|pop3|maildir|mbox (--url URL | --path PATH)
 *                 [--user U] [--password-env VAR] [--ca-file F]
 *                 [--timeout-ms N] [--state UIDVALIDITY:LAST_UID]
 *                 [--processed FOLDER] [--unknown FOLDER]
 *                 [--plan LETTERS] [--out DIR]
 *
 * The password comes from an environment variable, never the command line.
 * The plan has one letter per listed message, in order: P fetch and finish
 * as processed, U fetch and finish as unknown, F fetch only, K finish as
 * processed without fetching (the caller knew the key), S skip.  Messages
 * past the plan are skipped; without --plan every message is fetched only.
 * --out DIR writes each fetched message to DIR/<index>.eml.
 *
 * Output, one tab-separated line per event:
 *   open     <count> <name>
 *   msg      <index> <key> <uid>
 *   fetched  <index> <bytes>
 *   skipped  <index> <code> <message>   (fetch: too large, or gone; the plan goes on)
 *   finished <index> P|U
 *   state    <uidvalidity> <last_uid>
 *   error    <step> <code> <message>
 * Exit status 0, or 2 after an error (the state line is still printed when
 * the session was open).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/mailbox.h"

static const char *
code_name(nt_err e)
{
    static const char *names[] = {"NT_OK",     "NT_ENOMEM", "NT_EINVAL", "NT_EIO",   "NT_ENOTFOUND",
                                  "NT_EEXIST", "NT_ELIMIT", "NT_ESTORE", "NT_EBUSY", "NT_ECONFIG"};

    return (size_t)e < sizeof(names) / sizeof(names[0]) ? names[e] : "?";
}

static int
report(const char *step, nt_err e, const nt_diag *d)
{
    char msg[1024];

    nt_diag_format(d, msg, sizeof(msg));
    printf("error\t%s\t%s\t%s\n", step, code_name(e), msg);
    return 2;
}

static int
parse_args(int argc, char **argv, nt_mailbox_opts *o, const char **plan, const char **out)
{
    int i;

    for (i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--kind") == 0)
            o->kind = strcmp(v, "imap") == 0      ? NT_MAILBOX_IMAP
                      : strcmp(v, "pop3") == 0    ? NT_MAILBOX_POP3
                      : strcmp(v, "maildir") == 0 ? NT_MAILBOX_MAILDIR
                                                  : NT_MAILBOX_MBOX;
        else if (strcmp(k, "--url") == 0)
            o->url = v;
        else if (strcmp(k, "--path") == 0)
            o->path = v;
        else if (strcmp(k, "--user") == 0)
            o->username = v;
        else if (strcmp(k, "--password-env") == 0)
            o->password = getenv(v);
        else if (strcmp(k, "--ca-file") == 0)
            o->ca_file = v;
        else if (strcmp(k, "--timeout-ms") == 0)
            o->timeout_ms = atol(v);
        else if (strcmp(k, "--processed") == 0)
            o->processed_folder = v;
        else if (strcmp(k, "--unknown") == 0)
            o->unknown_folder = v;
        else if (strcmp(k, "--plan") == 0)
            *plan = v;
        else if (strcmp(k, "--out") == 0)
            *out = v;
        else if (strcmp(k, "--state") == 0) {
            unsigned long long uv = 0, last = 0;
            if (sscanf(v, "%llu:%llu", &uv, &last) != 2)
                return -1;
            o->uidvalidity = uv;
            o->last_uid = last;
        } else
            return -1;
    }
    return i == argc ? 0 : -1;
}

static void
save(const char *dir, const nt_mailmsg *m)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%zu.eml", dir, m->index);
    f = fopen(path, "wb");
    if (f) {
        fwrite(m->raw, 1, m->len, f);
        fclose(f);
    }
}

/* One message, as the plan says.  0, or the exit status after an error. */
static int
handle(nt_mailbox *mb, nt_mailmsg *m, char what, const char *out)
{
    nt_diag d;
    nt_err e;

    if (what == 'P' || what == 'U' || what == 'F') {
        e = nt_mailbox_fetch(mb, m, &d);
        if (e == NT_ELIMIT || e == NT_ENOTFOUND) {
            /* As `nurture ingest` does: note it and go on. */
            char msg[1024];
            nt_diag_format(&d, msg, sizeof(msg));
            printf("skipped\t%zu\t%s\t%s\n", m->index, code_name(e), msg);
        } else if (e != NT_OK) {
            return report("fetch", e, &d);
        } else {
            printf("fetched\t%zu\t%zu\n", m->index, m->len);
            if (out)
                save(out, m);
        }
    }
    if (what == 'P' || what == 'U' || what == 'K') {
        e = nt_mailbox_finish(mb, m, what == 'U' ? NT_MAILBOX_UNKNOWN : NT_MAILBOX_PROCESSED, &d);
        if (e != NT_OK)
            return report("finish", e, &d);
        printf("finished\t%zu\t%c\n", m->index, what == 'U' ? 'U' : 'P');
    }
    return 0;
}

int
main(int argc, char **argv)
{
    nt_mailbox_opts o;
    nt_mailbox *mb = NULL;
    nt_mailmsg m;
    const char *plan = NULL, *out = NULL;
    unsigned long long uv, last;
    uint64_t u, l;
    nt_diag d;
    nt_err e;
    int status = 0;

    memset(&o, 0, sizeof(o));
    if (parse_args(argc, argv, &o, &plan, &out) != 0) {
        fprintf(stderr, "usage: see the comment at the top of tests/e2e/mailbox_probe.c\n");
        return 1;
    }
    nt_mailbox_global_init();
    if ((e = nt_mailbox_open(&o, &mb, &d)) != NT_OK)
        return report("open", e, &d);
    printf("open\t%zu\t%s\n", nt_mailbox_count(mb), nt_mailbox_name(mb));
    while (status == 0 && (e = nt_mailbox_next(mb, &m, &d)) == NT_OK) {
        char what = plan ? (m.index < strlen(plan) ? plan[m.index] : 'S') : 'F';
        printf("msg\t%zu\t%s\t%llu\n", m.index, m.key, (unsigned long long)m.uid);
        status = handle(mb, &m, what, out);
    }
    if (status == 0 && e != NT_ENOTFOUND)
        status = report("next", e, &d);
    nt_mailbox_state(mb, &u, &l);
    uv = u;
    last = l;
    printf("state\t%llu\t%llu\n", uv, last);
    nt_mailbox_close(mb);
    return status;
}
