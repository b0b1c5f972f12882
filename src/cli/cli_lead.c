/*
 * Naming a lead on the command line: by id, or by any spelling of its
 * address.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nurture/lead.h"

#include "banned.h"

int
cli_find_lead(nt_cli *cli, const char *arg, nt_lead *out)
{
    size_t n = strlen(arg);
    int digits = n > 0 && n < 19 && strspn(arg, "0123456789") == n;
    char *norm = NULL;
    nt_diag d;
    nt_err err;

    nt_diag_clear(&d);
    if (digits) {
        err = nt_store_lead_get(cli->store, strtoll(arg, NULL, 10), NULL, out, &d);
    } else {
        /* Any spelling of the address finds the lead. */
        if (nt_email_normalize(arg, n, &norm, NULL) != NT_OK)
            norm = NULL;
        err = nt_store_lead_get(cli->store, 0, norm ? norm : arg, out, &d);
        free(norm);
    }
    if (err == NT_ENOTFOUND) {
        if (digits)
            cli_error("no lead with id %s", arg);
        else
            cli_error("no lead with email address '%s'", arg);
        return NT_EXIT_FAIL;
    }
    if (err != NT_OK) {
        cli_diag(&d);
        return cli_exit_for(err);
    }
    return 0;
}
