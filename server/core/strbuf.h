/*
 * strbuf.h - a growable string builder.
 *
 * The buffer is always NUL-terminated once anything was added, so `sb.buf` can be
 * passed where a C string is expected; `sb.len` excludes the NUL.  A zeroed
 * core_sb (or CORE_SB_INIT) is a valid empty builder.  Capacity grows by doubling.
 */
#ifndef CORE_STRBUF_H
#define CORE_STRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct core_sb {
    char *buf;
    size_t len;
    size_t cap;
} core_sb;

#define CORE_SB_INIT \
    {                \
        NULL, 0, 0   \
    }

/* Empties the builder and releases its memory. */
void core_sb_destroy(core_sb *sb);
/* Sets the length to zero, keeping the capacity for reuse. */
void core_sb_reset(core_sb *sb);
/* Makes room for at least `extra` more bytes plus the NUL. */
void core_sb_grow(core_sb *sb, size_t extra);
/* Shortens the content to `len` bytes (no-op if already shorter). */
void core_sb_truncate(core_sb *sb, size_t len);
/* Hands the buffer to the caller (to free()) and resets the builder.  Never NULL. */
char *core_sb_detach(core_sb *sb, size_t *len);

void core_sb_add(core_sb *sb, const void *data, size_t n);
void core_sb_adds(core_sb *sb, const char *s);
void core_sb_addc(core_sb *sb, char c);
void core_sb_addf(core_sb *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void core_sb_addvf(core_sb *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Decimal integers, without going through printf. */
void core_sb_add_i64(core_sb *sb, int64_t v);
void core_sb_add_u64(core_sb *sb, uint64_t v);
/* Adds `s` as a JSON string literal, quotes included (escapes ", \ and controls). */
void core_sb_add_json_str(core_sb *sb, const char *s, size_t n);
/* Adds `s` in Go's strconv.Quote style as Prometheus prints label values:
 * quotes, with \\, \", \n, \t, \r and other controls escaped. */
void core_sb_add_quoted(core_sb *sb, const char *s, size_t n);

#endif
