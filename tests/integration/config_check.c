/*
 * config_check.c - loads prometheus.yml files with server/config, for the
 * integration test that compares verdicts with Debian's promtool.
 *
 *   config_check [--upstream] [--render] <file>...
 *
 * Prints one line per file: "OK <file>" or "ERROR <message>", then with
 * --render the config as cfg_render writes it.  --upstream loads with
 * CFG_LOAD_UPSTREAM_ONLY (prom-server's extension keys refused).  Exits 1 if
 * any file failed to load.
 */
#include "config/config.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    unsigned flags = 0;
    int render = 0, rc = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--upstream") == 0) {
            flags |= CFG_LOAD_UPSTREAM_ONLY;
            continue;
        }
        if (strcmp(argv[i], "--render") == 0) {
            render = 1;
            continue;
        }
        core_err err;
        cfg_config *cfg = cfg_load_file_opts(argv[i], flags, &err);
        if (cfg == NULL) {
            printf("ERROR %s\n", err.msg);
            rc = 1;
            continue;
        }
        printf("OK %s\n", argv[i]);
        if (render) {
            core_sb out = CORE_SB_INIT;
            cfg_render(cfg, &out);
            fputs(out.buf, stdout);
            core_sb_destroy(&out);
        }
        cfg_free(cfg);
    }
    return rc;
}
