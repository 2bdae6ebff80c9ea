/*
 * err.h - error messages handed back to the caller.
 *
 * A function that can fail takes a `core_err *` as its last argument, returns -1
 * (or NULL) and fills the message.  Passing NULL for the error is allowed and
 * discards the message.  Messages are complete sentences without a trailing
 * newline, e.g. "prometheus.yml:3:5: unknown field \"foo\" in scrape config".
 */
#ifndef CORE_ERR_H
#define CORE_ERR_H

#include <stdarg.h>

#define CORE_ERR_MAX 1024

typedef struct core_err {
    char msg[CORE_ERR_MAX];
} core_err;

/* Writes a printf-style message into err (if not NULL).  Always returns -1, so a
 * failing function can `return core_err_set(err, "...")`. */
int core_err_set(core_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like core_err_set with a va_list. */
int core_err_setv(core_err *err, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Puts `fmt, ...` followed by ": " in front of the message already in err, to add
 * context as an error travels up ("loading rules: alerts.yml:3:1: ...").  Returns -1. */
int core_err_prefix(core_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
