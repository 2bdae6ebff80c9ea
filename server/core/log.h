/*
 * log.h - structured logging to stderr, in upstream's formats.
 *
 * One line per event, written with a single write(2) so lines from several
 * threads never interleave:
 *
 *   logfmt: ts=2026-11-26T15:24:03.123Z level=info component=tsdb msg="WAL replay done"
 * duration=1.2s json: {"ts":"2026-11-26T15:24:03.123Z","level":"info","component":"tsdb","msg":"WAL
 * replay done","duration":"1.2s"}
 *
 * Programs take --log.level (debug, info, warn, error; default info) and
 * --log.format (logfmt, json; default logfmt) and hand them to core_log_setup.
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include "core/err.h"

#include <stdbool.h>

typedef enum core_log_level {
    CORE_LOG_DEBUG,
    CORE_LOG_INFO,
    CORE_LOG_WARN,
    CORE_LOG_ERROR,
} core_log_level;

typedef enum core_log_format {
    CORE_LOG_LOGFMT,
    CORE_LOG_JSON,
} core_log_format;

/* Sets level and format from their flag values (NULL keeps the current one).
 * Unknown values are errors: `unrecognized log level "loud"`. */
int core_log_setup(const char *level, const char *format, core_err *err);
/* Sends log lines to another file descriptor (default 2, stderr). */
void core_log_set_fd(int fd);
bool core_log_enabled(core_log_level level);

/* Logs `msg` from `component` (NULL for none) followed by key/value string
 * pairs, the list ended by NULL:
 *   core_log(CORE_LOG_INFO, "web", "Start listening", "address", addr, NULL); */
void core_log(core_log_level level, const char *component, const char *msg, ...)
    __attribute__((sentinel));

#define core_debug(component, ...) core_log(CORE_LOG_DEBUG, component, __VA_ARGS__, NULL)
#define core_info(component, ...)  core_log(CORE_LOG_INFO, component, __VA_ARGS__, NULL)
#define core_warn(component, ...)  core_log(CORE_LOG_WARN, component, __VA_ARGS__, NULL)
#define core_error(component, ...) core_log(CORE_LOG_ERROR, component, __VA_ARGS__, NULL)

#endif
