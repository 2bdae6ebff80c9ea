/* strbuf.c - see strbuf.h. */
#include "core/strbuf.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void core_sb_destroy(core_sb *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
}

void core_sb_reset(core_sb *sb)
{
    sb->len = 0;
    if (sb->buf != NULL) sb->buf[0] = '\0';
}

void core_sb_grow(core_sb *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap) return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap *= 2;
    sb->buf = core_realloc(sb->buf, cap);
    sb->cap = cap;
}

void core_sb_truncate(core_sb *sb, size_t len)
{
    if (len < sb->len) {
        sb->len = len;
        sb->buf[len] = '\0';
    }
}

char *core_sb_detach(core_sb *sb, size_t *len)
{
    core_sb_grow(sb, 0);
    sb->buf[sb->len] = '\0';
    char *p = sb->buf;
    if (len != NULL) *len = sb->len;
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    return p;
}

void core_sb_add(core_sb *sb, const void *data, size_t n)
{
    core_sb_grow(sb, n);
    if (n > 0) memcpy(sb->buf + sb->len, data, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void core_sb_adds(core_sb *sb, const char *s)
{
    core_sb_add(sb, s, strlen(s));
}

void core_sb_addc(core_sb *sb, char c)
{
    core_sb_grow(sb, 1);
    sb->buf[sb->len++] = c;
    sb->buf[sb->len] = '\0';
}

void core_sb_addvf(core_sb *sb, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap2);
    va_end(ap2);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        core_sb_add(sb, tmp, (size_t)n);
        return;
    }
    core_sb_grow(sb, (size_t)n);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void core_sb_addf(core_sb *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_sb_addvf(sb, fmt, ap);
    va_end(ap);
}

void core_sb_add_u64(core_sb *sb, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    core_sb_add(sb, tmp + i, sizeof tmp - i);
}

void core_sb_add_i64(core_sb *sb, int64_t v)
{
    if (v < 0) {
        core_sb_addc(sb, '-');
        core_sb_add_u64(sb, (uint64_t)0 - (uint64_t)v);
    } else {
        core_sb_add_u64(sb, (uint64_t)v);
    }
}

static const char hexdigits[] = "0123456789abcdef";

void core_sb_add_json_str(core_sb *sb, const char *s, size_t n)
{
    core_sb_grow(sb, n + 2);
    core_sb_addc(sb, '"');
    size_t run = 0; /* start of the pending run of bytes that need no escape */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0';
                u[4] = hexdigits[c >> 4], u[5] = hexdigits[c & 15];
            }
        }
        if (esc == NULL && c >= 0x20) continue;
        core_sb_add(sb, s + run, i - run);
        if (esc != NULL)
            core_sb_adds(sb, esc);
        else
            core_sb_add(sb, u, sizeof u);
        run = i + 1;
    }
    core_sb_add(sb, s + run, n - run);
    core_sb_addc(sb, '"');
}

void core_sb_add_quoted(core_sb *sb, const char *s, size_t n)
{
    core_sb_addc(sb, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[4];
        size_t elen = 2;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\a': esc[1] = 'a'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\v': esc[1] = 'v'; break;
        default:
            if (c >= 0x20 && c != 0x7f) continue;
            esc[1] = 'x', esc[2] = hexdigits[c >> 4], esc[3] = hexdigits[c & 15];
            elen = 4;
        }
        core_sb_add(sb, s + run, i - run);
        core_sb_add(sb, esc, elen);
        run = i + 1;
    }
    core_sb_add(sb, s + run, n - run);
    core_sb_addc(sb, '"');
}
