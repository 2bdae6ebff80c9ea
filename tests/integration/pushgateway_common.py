"""What the prom-pushgateway integration tests share: starting gateways on free
loopback ports, HTTP with any method, and the bodies the tests push (text,
delimited protobuf, gzip, framed snappy), encoded here with the standard
library only.
"""
import gzip
import os
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

DEBIAN_GATEWAY = "/usr/bin/prometheus-pushgateway"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url, method="GET", body=None, headers=None, timeout=30):
    """(status, body bytes, headers) for any method; never raises on HTTP errors."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)
    except OSError:
        return 0, b"", {}


class Gateway:
    """A gateway process: ours or Debian's, on a free port."""

    def __init__(self, argv, tmp, name):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.argv = argv + [f"--web.listen-address=127.0.0.1:{self.port}"]
        self.log_path = os.path.join(tmp, name + ".log")
        self.proc = None

    def start(self, ready_path="/-/ready"):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        for _ in range(300):
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.argv[0]} exited with {self.proc.returncode}: "
                                     + open(self.log_path).read()[-2000:])
            if request(self.url + ready_path)[0] == 200:
                return self
            time.sleep(0.05)
        raise AssertionError(f"{self.argv[0]} not ready")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.argv[0]} did not stop on signal {sig}")

    def log(self):
        return open(self.log_path).read()


def ours(build_dir, tmp, *flags, name="ours"):
    return Gateway([os.path.join(build_dir, "bin", "prom-pushgateway"), *flags], tmp, name)


def debians(tmp, *flags, name="debian"):
    # Debian patches the default persistence file to /var/lib: always override it.
    if not any(f.startswith("--persistence.file") for f in flags):
        flags = ("--persistence.file=",) + flags
    return Gateway([DEBIAN_GATEWAY, *flags], tmp, name)


def mktemp(prefix):
    return tempfile.mkdtemp(prefix=prefix)


# ---- Protobuf (io.prometheus.client.MetricFamily), delimited

def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num, wire, payload):
    key = _varint(num << 3 | wire)
    if wire == 2:
        return key + _varint(len(payload)) + payload
    return key + payload


def _str(num, s):
    return _field(num, 2, s.encode())


def _double(num, v):
    return _field(num, 1, struct.pack("<d", v))


def _uint(num, v):
    return _field(num, 0, _varint(v))


TYPES = {"counter": 0, "gauge": 1, "summary": 2, "untyped": 3, "histogram": 4}


def pb_metric(labels, kind, value=None, timestamp_ms=None, buckets=None, quantiles=None,
              count=0, total=0.0):
    m = b"".join(_field(1, 2, _str(1, k) + _str(2, v)) for k, v in labels.items())
    if kind in ("counter", "gauge", "untyped"):
        m += _field({"gauge": 2, "counter": 3, "untyped": 5}[kind], 2, _double(1, value))
    elif kind == "summary":
        q = b"".join(_field(3, 2, _double(1, k) + _double(2, v)) for k, v in quantiles)
        m += _field(4, 2, _uint(1, count) + _double(2, total) + q)
    else:
        b = b"".join(_field(3, 2, _uint(1, c) + _double(2, le)) for le, c in buckets)
        m += _field(7, 2, _uint(1, count) + _double(2, total) + b)
    if timestamp_ms is not None:
        m += _field(6, 0, _varint(timestamp_ms))
    return m


def pb_family(name, kind, metrics, help=None):
    f = _str(1, name)
    if help is not None:
        f += _str(2, help)
    f += _uint(3, TYPES[kind])
    f += b"".join(_field(4, 2, m) for m in metrics)
    return _varint(len(f)) + f


PB_CONTENT_TYPE = ("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
                   "encoding=delimited")


# ---- Compression

def gzipped(data):
    return gzip.compress(data)


def _crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def _masked(data):
    c = _crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _snappy_literal_block(data):
    """A raw snappy block of literals only (valid, just not smaller)."""
    out = bytearray(_varint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2]) + struct.pack("<H", n)
        out += chunk
    return bytes(out)


def snappy_framed(data, compressed=True):
    """The snappy framing format Go's snappy.NewReader reads."""
    out = bytearray(b"\xff\x06\x00\x00sNaPpY")
    for i in range(0, max(len(data), 1), 65536):
        chunk = data[i:i + 65536]
        payload = _snappy_literal_block(chunk) if compressed else chunk
        body = struct.pack("<I", _masked(chunk)) + payload
        out += bytes([0 if compressed else 1]) + struct.pack("<I", len(body))[:3] + body
    return bytes(out)


# ---- Exposition

OWN_PREFIXES = ("pushgateway_", "process_", "go_")
TIME_FAMILIES = ("push_time_seconds", "push_failure_time_seconds")


def normalize(text):
    """/metrics without the gateways' own metrics and with push times masked."""
    out = []
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            name = line.split(" ")[2]
        else:
            name = line.split("{")[0].split(" ")[0]
        if name.startswith(OWN_PREFIXES):
            continue
        if name in TIME_FAMILIES and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            line = series + (" 0" if value == "0" else " <time>")
        out.append(line)
    return "\n".join(out)
