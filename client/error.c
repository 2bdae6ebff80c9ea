/*
 * error.c - the calling thread's last error message (prom_last_error).
 *
 * Every failing function of libprom calls pm_error, which formats its message
 * into a fixed thread-local buffer and hands the status back, so a caller can
 * write `return pm_error(PROM_EINVAL, "...", ...);`.  The buffer is static
 * storage per thread: setting a message never allocates and so cannot fail,
 * and a message longer than the buffer is cut short rather than lost.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

#define PM_ERROR_MAX 512

static __thread char last_error[PM_ERROR_MAX];

int pm_error(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

const char *prom_last_error(void)
{
    return last_error;
}

const char *prom_status_string(int status)
{
    switch (status) {
    case PROM_OK: return "success";
    case PROM_EINVAL: return "invalid argument";
    case PROM_EEXIST: return "already exists";
    case PROM_ENOENT: return "not found";
    case PROM_ENOMEM: return "out of memory";
    case PROM_EIO: return "input/output error";
    case PROM_EHTTP: return "HTTP error";
    case PROM_ESTATE: return "wrong state";
    default: return "unknown status";
    }
}
