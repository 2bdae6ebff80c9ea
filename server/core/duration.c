/*
 * duration.c - see duration.h.
 *
 * Parsing follows prometheus/common's model.ParseDuration, including its range:
 * a duration must fit in int64 nanoseconds (about 292 years), as upstream stores
 * it in a time.Duration.  Calendar conversion uses the days-from-civil algorithm
 * (proleptic Gregorian calendar), so times far from 1970 need no libc help.
 */
#include "core/duration.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Upstream's limit: the largest duration a Go time.Duration holds, in ms. */
#define MAX_DURATION_MS (INT64_MAX / 1000000)

static const struct unit {
    const char *name;
    int64_t ms;
} units[] = {
    {"y", CORE_MS_PER_YEAR},
    {"w", CORE_MS_PER_WEEK},
    {"d", CORE_MS_PER_DAY},
    {"h", CORE_MS_PER_HOUR},
    {"m", CORE_MS_PER_MINUTE},
    {"s", CORE_MS_PER_SECOND},
    {"ms", 1},
};
#define N_UNITS (sizeof units / sizeof units[0])

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int core_duration_parse(const char *s, size_t len, int64_t *ms, core_err *err)
{
    if (len == 0) return core_err_set(err, "empty duration string");
    if (len == 1 && s[0] == '0') {
        *ms = 0;
        return 0;
    }
    int64_t total = 0;
    int last_unit = -1;
    size_t i = 0;
    while (i < len) {
        uint64_t v = 0;
        size_t start = i;
        for (; i < len && is_digit(s[i]); i++) {
            if (v > (UINT64_MAX - 9) / 10) return core_err_set(err, "duration out of range");
            v = v * 10 + (uint64_t)(s[i] - '0');
        }
        size_t ustart = i;
        for (; i < len && !is_digit(s[i]); i++)
            ;
        if (i == start || ustart == start || ustart == i)
            return core_err_set(err, "not a valid duration string: \"%.*s\"", (int)len, s);
        int u = -1;
        for (size_t k = 0; k < N_UNITS; k++) {
            if (strlen(units[k].name) == i - ustart &&
                memcmp(units[k].name, s + ustart, i - ustart) == 0)
                u = (int)k;
        }
        if (u < 0)
            return core_err_set(err, "unknown unit \"%.*s\" in duration \"%.*s\"",
                                (int)(i - ustart), s + ustart, (int)len, s);
        if (u <= last_unit)
            return core_err_set(err, "not a valid duration string: \"%.*s\"", (int)len, s);
        last_unit = u;
        if (v > (uint64_t)(MAX_DURATION_MS / units[u].ms))
            return core_err_set(err, "duration out of range");
        total += (int64_t)v * units[u].ms;
        if (total > MAX_DURATION_MS) return core_err_set(err, "duration out of range");
    }
    *ms = total;
    return 0;
}

/* Parses the whole of s[0..len) as a C double (Go's ParseFloat is close enough
 * for what clients send: decimals, exponents, inf, nan). */
static bool parse_float(const char *s, size_t len, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf) return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n')
        return false; /* strtod skips white space; Go does not */
    char *end;
    double v = strtod(buf, &end);
    if (*end != '\0') return false;
    *out = v;
    return true;
}

int core_duration_parse_api(const char *s, size_t len, int64_t *ms, core_err *err)
{
    double secs;
    if (parse_float(s, len, &secs)) {
        double ns = secs * 1e9;
        if (!(ns < 9223372036854775807.0 && ns > -9223372036854775808.0))
            return core_err_set(
                err, "cannot parse \"%.*s\" to a valid duration. It overflows int64", (int)len, s);
        *ms = (int64_t)ns / 1000000;
        return 0;
    }
    if (core_duration_parse(s, len, ms, NULL) == 0) return 0;
    return core_err_set(err, "cannot parse \"%.*s\" to a valid duration", (int)len, s);
}

size_t core_duration_format(int64_t ms, char buf[CORE_DURATION_BUFSZ])
{
    if (ms == 0) return (size_t)snprintf(buf, CORE_DURATION_BUFSZ, "0s");
    size_t n = 0;
    uint64_t rest = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    if (ms < 0) buf[n++] = '-';
    for (size_t k = 0; k < N_UNITS; k++) {
        uint64_t mult = (uint64_t)units[k].ms;
        /* Years and weeks only when exact: "90d" reads better than "12w6d". */
        bool exact_only = k < 2;
        if (exact_only && rest % mult != 0) continue;
        uint64_t v = rest / mult;
        if (v == 0) continue;
        n += (size_t)snprintf(buf + n, CORE_DURATION_BUFSZ - n, "%llu%s", (unsigned long long)v,
                              units[k].name);
        rest -= v * mult;
    }
    return n;
}

/* Writes the `prec` low digits of v before *w as a fraction without its
 * trailing zeros (no '.' when they are all zero); returns v without them. */
static uint64_t go_frac(char *buf, size_t *w, uint64_t v, int prec)
{
    bool print = false;
    for (int i = 0; i < prec; i++) {
        int digit = (int)(v % 10);
        print = print || digit != 0;
        if (print) buf[--*w] = (char)('0' + digit);
        v /= 10;
    }
    if (print) buf[--*w] = '.';
    return v;
}

static void go_int(char *buf, size_t *w, uint64_t v)
{
    do {
        buf[--*w] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
}

size_t core_duration_format_go(int64_t ns, char buf[CORE_GO_DURATION_BUFSZ])
{
    char tmp[CORE_GO_DURATION_BUFSZ];
    size_t w = sizeof tmp;
    bool neg = ns < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    tmp[--w] = 's';
    if (u < UINT64_C(1000000000)) { /* below a second: one unit, a fraction */
        int prec = 0;
        if (u == 0) {
            memcpy(buf, "0s", 3);
            return 2;
        } else if (u < 1000) {
            tmp[--w] = 'n';
        } else if (u < 1000000) {
            prec = 3;
            tmp[--w] = '\xb5'; /* U+00B5 MICRO SIGN in UTF-8 */
            tmp[--w] = '\xc2';
        } else {
            prec = 6;
            tmp[--w] = 'm';
        }
        go_int(tmp, &w, go_frac(tmp, &w, u, prec));
    } else { /* h, m and s with the fraction */
        u = go_frac(tmp, &w, u, 9);
        go_int(tmp, &w, u % 60);
        u /= 60;
        if (u > 0) {
            tmp[--w] = 'm';
            go_int(tmp, &w, u % 60);
            u /= 60;
            if (u > 0) {
                tmp[--w] = 'h';
                go_int(tmp, &w, u);
            }
        }
    }
    if (neg) tmp[--w] = '-';
    size_t n = sizeof tmp - w;
    memcpy(buf, tmp + w, n);
    buf[n] = 0;
    return n;
}

void core_sb_add_go_duration(core_sb *sb, int64_t ns)
{
    char buf[CORE_GO_DURATION_BUFSZ];
    core_sb_add(sb, buf, core_duration_format_go(ns, buf));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly `n` digits at s[*i]. */
static bool digits(const char *s, size_t len, size_t *i, int n, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < n; k++, (*i)++) {
        if (*i >= len || !is_digit(s[*i])) return false;
        v = v * 10 + (unsigned)(s[*i] - '0');
    }
    *out = v;
    return true;
}

static bool expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c) return false;
    (*i)++;
    return true;
}

static const char min_time_text[] = "-292273086-05-16T16:47:06Z";
static const char max_time_text[] = "292277025-08-18T07:12:54.999999999Z";

int core_time_parse_rfc3339(const char *s, size_t len, int64_t *ms, core_err *err)
{
    if (len == sizeof min_time_text - 1 && memcmp(s, min_time_text, len) == 0) {
        *ms = CORE_TIME_MIN_MS;
        return 0;
    }
    if (len == sizeof max_time_text - 1 && memcmp(s, max_time_text, len) == 0) {
        *ms = CORE_TIME_MAX_MS;
        return 0;
    }
    size_t i = 0;
    unsigned year, mon, day, hour, min, sec;
    if (!digits(s, len, &i, 4, &year) || !expect(s, len, &i, '-') || !digits(s, len, &i, 2, &mon) ||
        !expect(s, len, &i, '-') || !digits(s, len, &i, 2, &day) || !expect(s, len, &i, 'T') ||
        !digits(s, len, &i, 2, &hour) || !expect(s, len, &i, ':') || !digits(s, len, &i, 2, &min) ||
        !expect(s, len, &i, ':') || !digits(s, len, &i, 2, &sec))
        goto bad;
    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour > 23 || min > 59 ||
        sec > 59)
        goto bad;
    int64_t frac_ms = 0;
    if (i < len && s[i] == '.') {
        i++;
        size_t start = i;
        for (int scale = 100; i < len && is_digit(s[i]); i++, scale /= 10)
            frac_ms += (s[i] - '0') * scale;
        if (i == start) goto bad;
    }
    int64_t offset_s = 0;
    if (i < len && s[i] == 'Z') {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i++] == '-' ? -1 : 1;
        unsigned oh, om;
        if (!digits(s, len, &i, 2, &oh) || !expect(s, len, &i, ':') ||
            !digits(s, len, &i, 2, &om) || oh > 23 || om > 59)
            goto bad;
        offset_s = sign * (int64_t)(oh * 3600 + om * 60);
    } else {
        goto bad;
    }
    if (i != len) goto bad;
    int64_t secs = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
    *ms = (secs - offset_s) * 1000 + frac_ms;
    return 0;
bad:
    return core_err_set(err, "cannot parse \"%.*s\" as an RFC3339 time", (int)len, s);
}

int core_time_parse_api(const char *s, size_t len, int64_t *ms, core_err *err)
{
    double t;
    if (parse_float(s, len, &t)) {
        /* Upstream rounds the fraction to milliseconds and keeps whole seconds. */
        double whole;
        double frac = modf(t, &whole);
        if (isfinite(t) && fabs(whole) < 9.2e15) {
            *ms = (int64_t)whole * 1000 + (int64_t)llround(frac * 1000);
            return 0;
        }
    } else if (core_time_parse_rfc3339(s, len, ms, NULL) == 0) {
        return 0;
    }
    return core_err_set(err, "cannot parse \"%.*s\" to a valid timestamp", (int)len, s);
}

/* Floor division and remainder, so times before 1970 split correctly. */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

size_t core_time_format_rfc3339(int64_t ms, char buf[CORE_TIME_BUFSZ])
{
    int64_t secs = floor_div(ms, 1000);
    int frac = (int)(ms - secs * 1000);
    int64_t days = floor_div(secs, 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int n = snprintf(buf, CORE_TIME_BUFSZ, "%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, m, d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    if (frac != 0) {
        char f[5];
        snprintf(f, sizeof f, ".%03d", frac);
        size_t fl = 4;
        while (f[fl - 1] == '0')
            fl--;
        memcpy(buf + n, f, fl);
        n += (int)fl;
    }
    buf[n++] = 'Z';
    buf[n] = '\0';
    return (size_t)n;
}

size_t core_time_format_unix(int64_t ms, char buf[CORE_TIME_BUFSZ])
{
    uint64_t a = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    const char *sign = ms < 0 ? "-" : "";
    if (a % 1000 == 0)
        return (size_t)snprintf(buf, CORE_TIME_BUFSZ, "%s%llu", sign,
                                (unsigned long long)(a / 1000));
    return (size_t)snprintf(buf, CORE_TIME_BUFSZ, "%s%llu.%03u", sign,
                            (unsigned long long)(a / 1000), (unsigned)(a % 1000));
}

int64_t core_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double core_monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
