/*
 * log.c - see log.h.
 *
 * Level and format are process-wide and read with relaxed atomics, so checking
 * whether a debug line would be printed costs one load.  A line is built in a
 * string builder and written whole.
 */
#include "core/log.h"
#include "core/duration.h"
#include "core/strbuf.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static _Atomic int cur_level = CORE_LOG_INFO;
static _Atomic int cur_format = CORE_LOG_LOGFMT;
static _Atomic int out_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int core_log_setup(const char *level, const char *format, core_err *err)
{
    int lv = -1, fmt = -1;
    if (level != NULL) {
        for (int i = 0; i < 4; i++)
            if (strcmp(level, level_names[i]) == 0) lv = i;
        if (lv < 0) return core_err_set(err, "unrecognized log level \"%s\"", level);
    }
    if (format != NULL) {
        if (strcmp(format, "logfmt") == 0)
            fmt = CORE_LOG_LOGFMT;
        else if (strcmp(format, "json") == 0)
            fmt = CORE_LOG_JSON;
        else
            return core_err_set(err, "unrecognized log format \"%s\"", format);
    }
    if (lv >= 0) atomic_store(&cur_level, lv);
    if (fmt >= 0) atomic_store(&cur_format, fmt);
    return 0;
}

void core_log_set_fd(int fd)
{
    atomic_store(&out_fd, fd);
}

bool core_log_enabled(core_log_level level)
{
    return (int)level >= atomic_load_explicit(&cur_level, memory_order_relaxed);
}

/* logfmt quotes a value that is empty or holds a space, '=', '"' or a control. */
static void add_logfmt_value(core_sb *sb, const char *v)
{
    size_t n = strlen(v);
    bool quote = n == 0;
    for (size_t i = 0; i < n && !quote; i++) {
        unsigned char c = (unsigned char)v[i];
        quote = c <= ' ' || c == '=' || c == '"' || c == 0x7f;
    }
    if (quote)
        core_sb_add_quoted(sb, v, n);
    else
        core_sb_add(sb, v, n);
}

static void add_field(core_sb *sb, bool json, const char *key, const char *value)
{
    if (json) {
        core_sb_addc(sb, ',');
        core_sb_add_json_str(sb, key, strlen(key));
        core_sb_addc(sb, ':');
        core_sb_add_json_str(sb, value, strlen(value));
    } else {
        core_sb_addc(sb, ' ');
        core_sb_adds(sb, key);
        core_sb_addc(sb, '=');
        add_logfmt_value(sb, value);
    }
}

/* The timestamp with exactly three fraction digits, as upstream's logger. */
static void format_ts(char *buf, size_t cap)
{
    int64_t ms = core_time_now_ms();
    char t[CORE_TIME_BUFSZ];
    core_time_format_rfc3339(ms - ms % 1000, t); /* "...:03Z" */
    size_t n = strlen(t) - 1;                    /* drop the Z */
    snprintf(buf, cap, "%.*s.%03dZ", (int)n, t, (int)(ms % 1000));
}

void core_log(core_log_level level, const char *component, const char *msg, ...)
{
    if (!core_log_enabled(level)) return;
    bool json = atomic_load_explicit(&cur_format, memory_order_relaxed) == CORE_LOG_JSON;
    char ts[CORE_TIME_BUFSZ + 8];
    format_ts(ts, sizeof ts);
    core_sb sb = CORE_SB_INIT;
    if (json) {
        core_sb_adds(&sb, "{\"ts\":");
        core_sb_add_json_str(&sb, ts, strlen(ts));
    } else {
        core_sb_adds(&sb, "ts=");
        core_sb_adds(&sb, ts);
    }
    add_field(&sb, json, "level", level_names[level]);
    if (component != NULL) add_field(&sb, json, "component", component);
    add_field(&sb, json, "msg", msg);
    va_list ap;
    va_start(ap, msg);
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        add_field(&sb, json, key, value != NULL ? value : "");
    }
    va_end(ap);
    core_sb_adds(&sb, json ? "}\n" : "\n");
    ssize_t w = write(atomic_load(&out_fd), sb.buf, sb.len);
    (void)w; /* nowhere to report a failed log write */
    core_sb_destroy(&sb);
}
