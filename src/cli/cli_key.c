/*
 * The signing key every command that makes or checks tokens needs.
 */
#include <string.h>

#include "cli.h"
#include "nurture/buf.h"

#include "banned.h"

int
cli_load_key(nt_cli *cli, nt_token_key *key)
{
    nt_buf secret;
    nt_diag d;
    nt_err err;

    nt_buf_init(&secret, 4096);
    nt_diag_clear(&d);
    err = nt_secret_read(&cli->cfg.secret, "secret", &secret, &d);
    if (err == NT_OK)
        err = nt_token_key_init(key, secret.data, secret.len, &d);
    if (secret.data)
        memset(secret.data, 0, secret.len);
    nt_buf_release(&secret);
    if (err != NT_OK) {
        cli_diag(&d);
        return NT_EXIT_CONFIG;
    }
    return 0;
}
