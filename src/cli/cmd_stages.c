/*
 * nurture stages: the lead stages and what each one means, as configured.
 * The glossary sales and marketing agree on, one command away.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nurture/buf.h"

#include "banned.h"

static const char help[] = "usage: nurture stages [--json]\n"
                           "\n"
                           "List the lead stages, earliest first, with their definitions.\n"
                           "\n"
                           "Options:\n"
                           "  --json      print a JSON array of {name, definition}\n"
                           "  -h, --help  this help\n";

int
cmd_stages(nt_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help);
        if (c == 'j')
            json = 1;
        else
            return cli_usage_error("stages", "bad option");
    }
    if (optind != argc)
        return cli_usage_error("stages", "stages takes no arguments");
    if ((rc = cli_load_config(cli)) != 0)
        return rc;
    if (json) {
        nt_buf b;
        nt_buf_init(&b, 0);
        nt_buf_addc(&b, '[');
        for (size_t i = 0; i < cli->cfg.nstages; i++) {
            const nt_stage *s = &cli->cfg.stages[i];
            nt_buf_adds(&b, i ? ",{\"name\":" : "{\"name\":");
            nt_buf_add_json(&b, s->name, strlen(s->name));
            nt_buf_adds(&b, ",\"definition\":");
            nt_buf_add_json(&b, s->definition, strlen(s->definition));
            nt_buf_addc(&b, '}');
        }
        nt_buf_adds(&b, "]\n");
        fputs(nt_buf_cstr(&b), stdout);
        nt_buf_release(&b);
        return NT_EXIT_OK;
    }
    for (size_t i = 0; i < cli->cfg.nstages; i++)
        printf("%zu. %-12s %s\n", i + 1, cli->cfg.stages[i].name, cli->cfg.stages[i].definition);
    return NT_EXIT_OK;
}
