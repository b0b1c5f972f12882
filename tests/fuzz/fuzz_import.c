/*
 * Fuzz target for the import engine: the input is imported into an
 * in-memory SQLite store, as CSV or as JSON lines.
 *
 * A first byte below 0x10 is a control byte, not data: 0x01 strict,
 * 0x02 JSON lines, 0x04 fed in pieces of 7 bytes, 0x08 fed one byte at a
 * time.  Otherwise the input is JSON lines when it starts with '{' and CSV
 * else, imported in one piece; so the seeds can be plain files.
 *
 * Besides crashes and sanitizer reports, the counts must add up, and a
 * strict import with a rejected row must have stored nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/config.h"
#include "nurture/import.h"
#include "nurture/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static nt_store *st;
static unsigned runs;
static char s_subscriber[] = "subscriber", s_lead[] = "lead", s_mql[] = "MQL", s_def[] = "-";
static nt_stage stages[] = {{s_subscriber, s_def}, {s_lead, s_def}, {s_mql, s_def}};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nt_config cfg;
    nt_import_opts o;
    nt_import_stats s;
    nt_diags ds;
    nt_import *im;
    int64_t before = 0, after = 0;
    size_t step = 0;
    nt_err err;

    /* The database grows with every input: start afresh now and then. */
    if (st && ++runs % 500 == 0) {
        nt_store_close(st);
        st = NULL;
    }
    if (!st && nt_store_open_sqlite(":memory:", &st, NULL) != NT_OK)
        abort();

    memset(&cfg, 0, sizeof(cfg));
    cfg.stages = stages;
    cfg.nstages = sizeof(stages) / sizeof(stages[0]);
    cfg.default_stage = s_subscriber;
    memset(&o, 0, sizeof(o));
    o.name = "fuzz";
    o.cfg = &cfg;
    o.now = 1790000000;
    o.batch_rows = 3; /* many commits, to exercise the batching */
    if (size > 0 && data[0] < 0x10) {
        o.strict = data[0] & 0x01;
        o.format = data[0] & 0x02 ? NT_IMPORT_JSONL : NT_IMPORT_CSV;
        step = data[0] & 0x08 ? 1 : data[0] & 0x04 ? 7 : 0;
        data++;
        size--;
    } else {
        o.format = size > 0 && data[0] == '{' ? NT_IMPORT_JSONL : NT_IMPORT_CSV;
    }

    nt_store_lead_count(st, &before, NULL);
    nt_diags_init(&ds, 50);
    if (nt_import_new(st, &o, &ds, &im) != NT_OK)
        abort();
    if (step == 0) {
        nt_import_feed(im, data, size);
    } else {
        for (size_t i = 0; i < size; i += step)
            if (nt_import_feed(im, data + i, size - i < step ? size - i : step) != NT_OK)
                break;
    }
    err = nt_import_finish(im, &s);
    nt_import_free(im);
    nt_store_lead_count(st, &after, NULL);

    if (s.created + s.updated + s.rejected > s.rows || s.created < 0 || s.rejected < 0)
        abort();
    if (after - before != s.created)
        abort();
    if (o.strict && s.rejected > 0 && (err == NT_OK || after != before || s.updated != 0))
        abort();
    if (s.rejected > 0 && ds.errors == 0)
        abort();
    nt_diags_release(&ds);
    return 0;
}
