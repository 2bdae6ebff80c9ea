/*
 * collector_wifi.c - node_wifi_* per wireless interface and station.
 *
 * Only upstream's fixture path is implemented: --collector.wifi.fixtures=<dir>
 * reads <dir>/interfaces.json and, per named interface, <dir>/<name>/bss.json
 * and <dir>/<name>/stationinfo.json (either may be missing), i.e. the JSON
 * encoding of mdlayher/wifi's Interface, BSS and StationInfo: keys matched
 * case-insensitively as Go's encoding/json does, durations in nanoseconds,
 * hardware addresses base64-encoded bytes printed as aa:bb:...  Without the
 * flag the collector fails: reading nl80211 is not done yet.
 */
#include "statfile_util.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

static const char *fixtures;

static core_flag flags[] = {
    {"collector.wifi.fixtures", CORE_FLAG_STRING, &fixtures, "",
     "test fixtures to use for wifi collector metrics", false},
};

/* ---- Decoding JSON objects into C structs, as encoding/json would */

typedef enum { J_INT, J_STR, J_MAC } jkind;

typedef struct jfield {
    const char *key;
    jkind kind;
    size_t offset;
} jfield;

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Standard base64 (padded) bytes printed as net.HardwareAddr: "aa:bb:cc". */
static const char *decode_mac(nx_out *o, const char *s)
{
    size_t len = strlen(s);
    if (len % 4 != 0) return NULL;
    core_sb out = CORE_SB_INIT;
    for (size_t i = 0; i < len; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            v[k] = s[i + k] == '=' && i + 4 == len && k >= 2 ? (pad++, 0) : b64_value(s[i + k]);
            if (v[k] < 0 || (pad > 0 && s[i + k] != '=')) {
                core_sb_destroy(&out);
                return NULL;
            }
        }
        unsigned bits = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
        for (int k = 0; k < 3 - pad; k++)
            core_sb_addf(&out, "%s%02x", out.len ? ":" : "", (bits >> (16 - 8 * k)) & 0xff);
    }
    const char *mac = core_arena_strdup(nx_arena(o), out.len ? out.buf : "");
    core_sb_destroy(&out);
    return mac;
}

/* Fills the struct at base from obj; false when a value has the wrong type. */
static bool decode(nx_out *o, json_t *obj, const jfield *fields, size_t n, void *base)
{
    if (!json_is_object(obj)) return false;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        for (size_t i = 0; i < n; i++) {
            if (strcasecmp(key, fields[i].key) != 0 || json_is_null(val)) continue;
            void *dst = (char *)base + fields[i].offset;
            if (fields[i].kind == J_INT) {
                if (!json_is_integer(val)) return false;
                *(double *)dst = (double)json_integer_value(val);
            } else if (!json_is_string(val)) {
                return false;
            } else if (fields[i].kind == J_STR) {
                *(const char **)dst = core_arena_strdup(nx_arena(o), json_string_value(val));
            } else if ((*(const char **)dst = decode_mac(o, json_string_value(val))) == NULL) {
                return false;
            }
        }
    }
    return true;
}

typedef struct iface {
    const char *name;
    double frequency;
} iface;

static const jfield iface_fields[] = {
    {"Name", J_STR, offsetof(iface, name)},
    {"Frequency", J_INT, offsetof(iface, frequency)},
};

typedef struct bss {
    const char *ssid, *bssid;
    double status;
} bss;

static const jfield bss_fields[] = {
    {"SSID", J_STR, offsetof(bss, ssid)},
    {"BSSID", J_MAC, offsetof(bss, bssid)},
    {"Status", J_INT, offsetof(bss, status)},
};

enum {
    S_CONNECTED,
    S_INACTIVE,
    S_RX_BYTES,
    S_TX_BYTES,
    S_RX_PACKETS,
    S_TX_PACKETS,
    S_RX_BITRATE,
    S_TX_BITRATE,
    S_SIGNAL,
    S_TX_RETRIES,
    S_TX_FAILED,
    S_BEACON_LOSS,
    N_S
};

typedef struct station {
    const char *mac;
    double v[N_S];
} station;

#define SV(i) (offsetof(station, v) + (i) * sizeof(double))
static const jfield station_fields[] = {
    {"HardwareAddr", J_MAC, offsetof(station, mac)},
    {"Connected", J_INT, SV(S_CONNECTED)},
    {"Inactive", J_INT, SV(S_INACTIVE)},
    {"ReceivedBytes", J_INT, SV(S_RX_BYTES)},
    {"TransmittedBytes", J_INT, SV(S_TX_BYTES)},
    {"ReceivedPackets", J_INT, SV(S_RX_PACKETS)},
    {"TransmittedPackets", J_INT, SV(S_TX_PACKETS)},
    {"ReceiveBitrate", J_INT, SV(S_RX_BITRATE)},
    {"TransmitBitrate", J_INT, SV(S_TX_BITRATE)},
    {"Signal", J_INT, SV(S_SIGNAL)},
    {"TransmitRetries", J_INT, SV(S_TX_RETRIES)},
    {"TransmitFailed", J_INT, SV(S_TX_FAILED)},
    {"BeaconLoss", J_INT, SV(S_BEACON_LOSS)},
};

static const struct {
    int field;
    double scale;
    prom_type type;
    const char *name, *help;
} station_metrics[] = {
    {S_CONNECTED, 1e-9, PROM_COUNTER, "station_connected_seconds_total",
     "The total number of seconds a station has been connected to an access point."},
    {S_INACTIVE, 1e-9, PROM_GAUGE, "station_inactive_seconds",
     "The number of seconds since any wireless activity has occurred on a station."},
    {S_RX_BITRATE, 1, PROM_GAUGE, "station_receive_bits_per_second",
     "The current WiFi receive bitrate of a station, in bits per second."},
    {S_TX_BITRATE, 1, PROM_GAUGE, "station_transmit_bits_per_second",
     "The current WiFi transmit bitrate of a station, in bits per second."},
    {S_RX_BYTES, 1, PROM_COUNTER, "station_receive_bytes_total",
     "The total number of bytes received by a WiFi station."},
    {S_TX_BYTES, 1, PROM_COUNTER, "station_transmit_bytes_total",
     "The total number of bytes transmitted by a WiFi station."},
    {S_SIGNAL, 1, PROM_GAUGE, "station_signal_dbm",
     "The current WiFi signal strength, in decibel-milliwatts (dBm)."},
    {S_TX_RETRIES, 1, PROM_COUNTER, "station_transmit_retries_total",
     "The total number of times a station has had to retry while sending a packet."},
    {S_TX_FAILED, 1, PROM_COUNTER, "station_transmit_failed_total",
     "The total number of times a station has failed to send a packet."},
    {S_BEACON_LOSS, 1, PROM_COUNTER, "station_beacon_loss_total",
     "The total number of times a station has detected a beacon loss."},
    {S_TX_PACKETS, 1, PROM_COUNTER, "station_transmitted_packets_total",
     "The total number of packets transmitted by a station."},
    {S_RX_PACKETS, 1, PROM_COUNTER, "station_received_packets_total",
     "The total number of packets received by a station."},
};

/* ---- Reading the fixtures */

/* Loads <fixtures>/<rel>; NULL with *missing set when the file does not exist,
 * NULL after nx_error() when it is unreadable or not JSON. */
static json_t *load(nx_out *o, const char *rel, bool *missing)
{
    const char *path = nx_sprintf(o, "%s/%s", fixtures, rel);
    struct stat st;
    *missing = stat(path, &st) != 0;
    if (*missing) return NULL;
    json_error_t jerr;
    json_t *j = json_load_file(path, JSON_DECODE_ANY, &jerr);
    if (j == NULL) nx_error(o, "%s:%d: %s", path, jerr.line, jerr.text);
    return j;
}

/* mdlayher/wifi v0.9 statuses: authenticated 0, associated 1, not associated
 * 2, IBSS joined 3. */
static const char *bss_mode(double status)
{
    if (status == 0 || status == 1) return "client";
    if (status == 3) return "ad-hoc";
    return "unknown";
}

static int bss_stats(nx_out *o, const char *dev)
{
    bool missing;
    json_t *j = load(o, nx_sprintf(o, "%s/bss.json", dev), &missing);
    if (j == NULL) return missing ? 0 : -1;
    bss b = {"", "", 0};
    bool ok = decode(o, j, bss_fields, sizeof bss_fields / sizeof bss_fields[0], &b);
    json_decref(j);
    if (!ok) return nx_error(o, "failed to retrieve BSS for device %s: bad bss.json", dev);
    static const char *const labels[] = {"device", "bssid", "ssid", "mode", NULL};
    nx_family(o, "node_wifi_station_info",
              "Labeled WiFi interface station information as provided by the operating system.",
              PROM_GAUGE, labels);
    nx_samplev(o, 1, dev, b.bssid, b.ssid, bss_mode(b.status), NULL);
    return 0;
}

static int station_stats(nx_out *o, const char *dev)
{
    bool missing;
    json_t *j = load(o, nx_sprintf(o, "%s/stationinfo.json", dev), &missing);
    if (j == NULL) return missing ? 0 : -1;
    size_t n = json_is_array(j) ? json_array_size(j) : 0;
    station *st = core_arena_alloc(nx_arena(o), (n + 1) * sizeof *st);
    bool ok = json_is_array(j) || json_is_null(j);
    for (size_t i = 0; ok && i < n; i++) {
        memset(&st[i], 0, sizeof st[i]);
        st[i].mac = "";
        ok = decode(o, json_array_get(j, i), station_fields,
                    sizeof station_fields / sizeof station_fields[0], &st[i]);
    }
    json_decref(j);
    if (!ok) return nx_error(o, "failed to retrieve station info for device %s", dev);
    static const char *const labels[] = {"device", "mac_address", NULL};
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof station_metrics / sizeof station_metrics[0]; k++) {
            nx_family(o, nx_sprintf(o, "node_wifi_%s", station_metrics[k].name),
                      station_metrics[k].help, station_metrics[k].type, labels);
            nx_samplev(o, st[i].v[station_metrics[k].field] * station_metrics[k].scale, dev,
                       st[i].mac, NULL);
        }
    }
    return 0;
}

static int collect(nx_out *o)
{
    if (fixtures == NULL || *fixtures == '\0')
        return nx_error(o,
                        "reading nl80211 is not supported yet; only --collector.wifi.fixtures is");
    bool missing;
    json_t *j = load(o, "interfaces.json", &missing);
    if (j == NULL)
        return missing ? nx_error(o, "failed to retrieve wifi interfaces: no interfaces.json") : -1;
    size_t n = json_is_array(j) ? json_array_size(j) : 0;
    iface *ifs = core_arena_alloc(nx_arena(o), (n + 1) * sizeof *ifs);
    bool ok = json_is_array(j) || json_is_null(j);
    for (size_t i = 0; ok && i < n; i++) {
        ifs[i] = (iface){"", 0};
        ok = decode(o, json_array_get(j, i), iface_fields, 2, &ifs[i]);
    }
    json_decref(j);
    if (!ok) return nx_error(o, "failed to retrieve wifi interfaces: bad interfaces.json");
    static const char *const labels[] = {"device", NULL};
    for (size_t i = 0; i < n; i++) {
        if (*ifs[i].name == '\0') continue; /* virtual devices without a name */
        nx_family(o, "node_wifi_interface_frequency_hertz",
                  "The current frequency a WiFi interface is operating at, in hertz.", PROM_GAUGE,
                  labels);
        nx_samplev(o, ifs[i].frequency * 1000 * 1000, ifs[i].name, NULL);
        if (bss_stats(o, ifs[i].name) != 0 || station_stats(o, ifs[i].name) != 0) return -1;
    }
    return 0;
}

const nx_collector nx_collector_wifi = {
    .name = "wifi",
    .default_on = false,
    .collect = collect,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
