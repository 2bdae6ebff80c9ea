/*
 * core.h - the door of server/core, the internals every server-side program shares.
 *
 * Other modules include only this header.  It pulls in the parts, each of which
 * documents its functions where they are declared:
 *
 *   err.h       error messages carried back to the caller (core_err)
 *   mem.h       allocation that treats out-of-memory as fatal (never a user mistake)
 *   strbuf.h    growable string builder (core_sb)
 *   arena.h     bump allocator for per-request and per-query memory (core_arena)
 *   hash.h      xxhash-based hashing
 *   duration.h  Prometheus durations and timestamps, parsed and formatted
 *   labels.h    sorted label sets, their hash, comparison and a builder
 *   log.h       logfmt / JSON logging to stderr
 *   flags.h     command-line flags in upstream's style (--name=value, --no-name)
 *   yaml.h      YAML documents with line and column on every node, strict decoding
 *   http.h      HTTP server on libmicrohttpd: routing, gzip, limits, health endpoints
 *   buildinfo.h version, revision and platform of the build
 *
 * Conventions: a function that can fail returns 0 on success and -1 on failure and
 * writes a message into a caller's core_err; allocation failure aborts (see mem.h).
 */
#ifndef CORE_CORE_H
#define CORE_CORE_H

#include "core/arena.h"
#include "core/buildinfo.h"
#include "core/duration.h"
#include "core/err.h"
#include "core/flags.h"
#include "core/hash.h"
#include "core/http.h"
#include "core/labels.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/strbuf.h"
#include "core/yaml.h"

#endif
