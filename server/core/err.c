/* err.c - see err.h. */
#include "core/err.h"

#include <stdio.h>
#include <string.h>

int core_err_setv(core_err *err, const char *fmt, va_list ap)
{
    if (err != NULL) vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return -1;
}

int core_err_set(core_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_err_setv(err, fmt, ap);
    va_end(ap);
    return -1;
}

/* Appends up to n bytes of s at *pos in dst (of CORE_ERR_MAX bytes), NUL-terminated. */
static void append(char *dst, size_t *pos, const char *s, size_t n)
{
    size_t room = CORE_ERR_MAX - 1 - *pos;
    if (n > room) n = room;
    memcpy(dst + *pos, s, n);
    *pos += n;
    dst[*pos] = '\0';
}

int core_err_prefix(core_err *err, const char *fmt, ...)
{
    if (err == NULL) return -1;
    char prefix[CORE_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char msg[CORE_ERR_MAX];
    size_t pos = 0;
    append(msg, &pos, prefix, strlen(prefix));
    append(msg, &pos, ": ", 2);
    append(msg, &pos, err->msg, strnlen(err->msg, CORE_ERR_MAX));
    memcpy(err->msg, msg, pos + 1);
    return -1;
}
