/*
 * webhook_probe: stores leads with a queue entry each and queues their
 * webhook events, the way the queue does it (nt_webhook_enqueue inside the
 * transaction that adds the entry), so that tests/e2e/test_webhooks.sh has
 * real outbox messages to deliver before the queue commands exist.
 *
 *   webhook_probe CONFIG NOW FIRST COUNT
 *
 * Adds leads lead<FIRST>@example.com ... lead<FIRST+COUNT-1>@example.com,
 * each with an open entry and the handoff event; every second one also
 * gets the claim event.  Everything is queued twice, in two transactions,
 * to show that the second adds nothing.  Prints one line per entry:
 *   entry <id> <email>
 * Exit status 0, or 2 after printing the error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/config.h"
#include "nurture/store.h"
#include "nurture/webhook.h"

static int
fail(const char *what, const nt_diag *d)
{
    char line[1024];

    nt_diag_format(d, line, sizeof(line));
    fprintf(stderr, "webhook_probe: %s: %s\n", what, line);
    return 2;
}

int
main(int argc, char **argv)
{
    nt_config cfg;
    nt_diags ds;
    nt_store *st = NULL;
    nt_diag d;
    int64_t now, first, count, ids[100];
    int rc = 0;

    if (argc != 5) {
        fprintf(stderr, "usage: webhook_probe CONFIG NOW FIRST COUNT\n");
        return 2;
    }
    now = strtoll(argv[2], NULL, 10);
    first = strtoll(argv[3], NULL, 10);
    count = strtoll(argv[4], NULL, 10);
    if (count < 1 || count > 100)
        return fprintf(stderr, "webhook_probe: COUNT must be 1 to 100\n"), 2;
    memset(&cfg, 0, sizeof(cfg));
    nt_diags_init(&ds, 50);
    if (nt_config_load(argv[1], &cfg, &ds) != NT_OK) {
        for (size_t i = 0; i < ds.len; i++)
            fail("config", &ds.items[i]);
        nt_diags_release(&ds);
        nt_config_release(&cfg);
        return 2;
    }
    nt_diags_release(&ds);
    nt_diag_clear(&d);
    if (nt_store_open_sqlite(cfg.database, &st, &d) != NT_OK) {
        nt_config_release(&cfg);
        return fail("open", &d);
    }
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        if (nt_store_begin(st, &d) != NT_OK) {
            rc = fail("begin", &d);
            break;
        }
        for (int64_t i = 0; i < count && rc == 0; i++) {
            char email[64], company[64], reply[160];
            nt_qentry e;
            nt_lead l;
            int created, added;

            snprintf(email, sizeof(email), "lead%lld@example.com", (long long)(first + i));
            snprintf(company, sizeof(company), "Company %lld & Co", (long long)(first + i));
            snprintf(reply, sizeof(reply), "Yes, let's meet on Tuesday.\n\"Lead %lld\"",
                     (long long)(first + i));
            nt_lead_init(&l);
            nt_lead_set(&l, "email", email);
            nt_lead_set(&l, "first_name", "Lead");
            nt_lead_set(&l, "last_name", email + 4);
            nt_lead_set(&l, "company", company);
            nt_lead_set(&l, "industry", "software");
            if (nt_store_lead_upsert(st, &l, cfg.default_stage, now, &created, &d) != NT_OK) {
                rc = fail("lead", &d);
                nt_lead_release(&l);
                break;
            }
            memset(&e, 0, sizeof(e));
            e.lead_id = l.id;
            e.rep = "sam";
            e.assigned_by = "round-robin";
            e.trigger = "meeting";
            e.reason = "replied with intent meeting; score 80 >= 50";
            e.score = 80;
            e.campaign = "welcome";
            e.step_id = "day-2";
            e.intent = "meeting";
            e.reply_text = reply;
            e.created_at = now;
            if (nt_store_queue_add(st, &e, &added, &d) != NT_OK ||
                nt_webhook_enqueue(st, &cfg, NT_HOOK_HANDOFF, &e, &l, now, &d) != NT_OK) {
                rc = fail("handoff", &d);
            } else if (i % 2 == 1) {
                e.state = NT_Q_CLAIMED;
                e.claimed_at = now;
                e.claimed_by = "sam";
                if (nt_webhook_enqueue(st, &cfg, NT_HOOK_CLAIM, &e, &l, now, &d) != NT_OK)
                    rc = fail("claim", &d);
            }
            ids[i] = e.id;
            nt_lead_release(&l);
        }
        if (rc == 0 && nt_store_commit(st, &d) != NT_OK)
            rc = fail("commit", &d);
        if (rc != 0)
            nt_store_rollback(st);
    }
    for (int64_t i = 0; rc == 0 && i < count; i++)
        printf("entry %lld lead%lld@example.com\n", (long long)ids[i], (long long)(first + i));
    nt_store_close(st);
    nt_config_release(&cfg);
    return rc;
}
