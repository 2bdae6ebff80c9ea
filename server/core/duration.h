/*
 * duration.h - Prometheus durations and timestamps.
 *
 * Durations and timestamps are int64 milliseconds, like Prometheus's own sample
 * timestamps.
 *
 * Durations are written as in prometheus.yml and PromQL: one or more
 * number-unit pairs with units in descending order, each at most once, from
 * y (365d), w, d, h, m, s, ms: "1h30m", "15s", "500ms", "2w", "1y"; "0" alone
 * needs no unit.  The HTTP API also takes float seconds ("1.5", "30").
 *
 * Timestamps are read as RFC3339 with optional fraction and zone ("2026-11-26T
 * 15:24:03.123Z", "...+01:00") or as Unix seconds with a fraction ("1700000000.5"),
 * rounded to the millisecond as upstream rounds them.
 */
#ifndef CORE_DURATION_H
#define CORE_DURATION_H

#include "core/err.h"
#include "core/strbuf.h"

#include <stddef.h>
#include <stdint.h>

#define CORE_MS_PER_SECOND INT64_C(1000)
#define CORE_MS_PER_MINUTE (60 * CORE_MS_PER_SECOND)
#define CORE_MS_PER_HOUR   (60 * CORE_MS_PER_MINUTE)
#define CORE_MS_PER_DAY    (24 * CORE_MS_PER_HOUR)
#define CORE_MS_PER_WEEK   (7 * CORE_MS_PER_DAY)
#define CORE_MS_PER_YEAR   (365 * CORE_MS_PER_DAY)

/* The API's stand-ins for "no limit", as upstream spells them:
 * -292273086-05-16T16:47:06Z and 292277025-08-18T07:12:54.999999999Z. */
#define CORE_TIME_MIN_MS (INT64_C(-9223309901257974) * 1000)
#define CORE_TIME_MAX_MS (INT64_C(9223309901257974) * 1000 + 999)

/* Longest text the formatters below produce, NUL included. */
#define CORE_DURATION_BUFSZ 48
#define CORE_TIME_BUFSZ     48

/* Parses a Prometheus duration ("1h30m", "0").  Negative values, unknown units,
 * units out of order or repeated, and values past int64 milliseconds are errors:
 * `not a valid duration string: "1x"`. */
int core_duration_parse(const char *s, size_t len, int64_t *ms, core_err *err);
/* Parses a duration the way the HTTP API does: float seconds first ("1.5", "-3"),
 * then a Prometheus duration. */
int core_duration_parse_api(const char *s, size_t len, int64_t *ms, core_err *err);
/* Formats as upstream's model.Duration.String(): "1h30m", "2w", "90d", "0s";
 * years and weeks only when they divide the value exactly.  Negative values get
 * a leading '-'.  Returns the length. */
size_t core_duration_format(int64_t ms, char buf[CORE_DURATION_BUFSZ]);
/* Formats nanoseconds as Go's time.Duration.String() (what promtool and the
 * Go servers print): "2h0m0s", "1m30.5s", "15.001s", "500ms", "1.5µs",
 * "0s".  Returns the length; buf needs CORE_GO_DURATION_BUFSZ bytes. */
#define CORE_GO_DURATION_BUFSZ 32
size_t core_duration_format_go(int64_t ns, char buf[CORE_GO_DURATION_BUFSZ]);
/* The same appended to sb. */
void core_sb_add_go_duration(core_sb *sb, int64_t ns);

/* Parses an RFC3339 time: the fraction is optional, the zone ("Z", "+hh:mm") is
 * not; also the two boundary spellings above. */
int core_time_parse_rfc3339(const char *s, size_t len, int64_t *ms, core_err *err);
/* Parses a time the way the HTTP API does: Unix seconds as a float first,
 * then RFC3339.  Error: `cannot parse "x" to a valid timestamp`. */
int core_time_parse_api(const char *s, size_t len, int64_t *ms, core_err *err);
/* Formats in UTC as RFC3339 with milliseconds, trailing zeros of the fraction
 * dropped as Go's RFC3339Nano does: "2026-11-26T15:24:03.12Z", "...:03Z". */
size_t core_time_format_rfc3339(int64_t ms, char buf[CORE_TIME_BUFSZ]);
/* Formats as Unix seconds the way the API writes sample times: "1700000000",
 * "1700000000.500", "-0.001" (three fraction digits when there is a fraction). */
size_t core_time_format_unix(int64_t ms, char buf[CORE_TIME_BUFSZ]);
/* Milliseconds since the epoch from the real-time clock. */
int64_t core_time_now_ms(void);
/* Seconds from a monotonic clock, for measuring elapsed time. */
double core_monotonic_seconds(void);

#endif
