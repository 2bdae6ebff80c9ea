#!/usr/bin/env python3
"""discovery_ec2.py - ec2_sd_configs of server/discovery, through
discovery_tool, against a DescribeInstances stand-in served by this test.

  discovery_ec2.py <source dir> <build dir>

The stand-in (Python, on a free loopback port) speaks the EC2 Query API as
AWS does: it checks every request's Signature Version 4 the way AWS computes
it (its own implementation here, from the canonical request of the headers
named in SignedHeaders to the HMAC chain; the credential scope's date, region
and service; the clock skew; the session token of temporary credentials),
refuses a bad signature with AWS's error XML, applies the instance-state-name
and tag:<key> filters, answers DescribeAvailabilityZones, and pages
DescribeInstances two instances at a time with NextToken.  Checked:

  - the targets and every __meta_ec2_ label, computed here from the stand-in's
    instances by upstream's rules (private IP or IPv6 address, list labels
    with commas at both ends, sanitized tag names, zone IDs);
  - filters sent as Filter.N.Name / Filter.N.Value.M; both pages fetched;
  - credentials from the config, and from a profile in the shared
    credentials file (with a session token);
  - a wrong secret: no targets, refresh failures counted;
  - a change of the instances is picked up at the next refresh;
  - Debian's promtool (Prometheus 2.42, the AWS SDK for Go v1) run against the
    same stand-in finds the same targets with the same values for the labels
    both versions have.
"""
import copy
import datetime
import hashlib
import hmac
import json
import os
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, main  # noqa: E402
from discovery_common import Tool, addresses, promtool_targets, targets  # noqa: E402

REGION = "us-east-1"
KEYS = {"AKIDSTATIC": ("static-secret", None), "AKIDPROFILE": ("profile-secret", "tok-profile")}
ZONES = {"us-east-1a": "use1-az4", "us-east-1b": "use1-az6"}
PAGE = 2

INSTANCES = [
    dict(owner="111122223333", id="i-0001", ami="ami-11", state="running", type="t3.micro",
         az="us-east-1a", private_ip="10.2.0.1", private_dns="ip-10-2-0-1.ec2.internal",
         public_ip="54.1.1.1", public_dns="ec2-54-1-1-1.compute-1.amazonaws.com", vpc="vpc-1",
         subnet="subnet-a", arch="x86_64", platform=None, lifecycle=None,
         tags={"Name": "web-1", "env": "prod", "aws:autoscaling:groupName": "asg-web"},
         enis=[dict(subnet="subnet-a", index=0, v6=[]), dict(subnet="subnet-b", index=1, v6=[])]),
    dict(owner="111122223333", id="i-0002", ami="ami-22", state="running", type="m5.large",
         az="us-east-1b", private_ip="10.2.0.2", private_dns="ip-10-2-0-2.ec2.internal",
         public_ip=None, public_dns=None, vpc="vpc-1", subnet="subnet-c", arch="arm64",
         platform="windows", lifecycle="spot", tags={"env": "prod", "role": "db"},
         enis=[dict(subnet="subnet-c", index=0, v6=[("2600:1f18::2", True), ("2600:1f18::22", False)])]),
    dict(owner="444455556666", id="i-0003", ami="ami-33", state="stopped", type="t3.nano",
         az="us-east-1a", private_ip="10.2.0.3", private_dns="ip-10-2-0-3.ec2.internal",
         public_ip=None, public_dns=None, vpc=None, subnet=None, arch="x86_64", platform=None,
         lifecycle=None, tags={"env": "prod"}, enis=[]),
    dict(owner="444455556666", id="i-0004", ami="ami-44", state="pending", type="c5.xlarge",
         az="us-east-1c", private_ip=None, private_dns="", public_ip=None, public_dns=None,
         vpc="vpc-2", subnet="subnet-d", arch="x86_64", platform=None, lifecycle=None,
         tags={"env": "prod"}, enis=[dict(subnet="subnet-d", index=0, v6=[("2600:1f18::4", False)])]),
    dict(owner="444455556666", id="i-0005", ami="ami-55", state="running", type="t3.micro",
         az="us-east-1a", private_ip="10.2.0.5", private_dns="", public_ip=None, public_dns=None,
         vpc=None, subnet=None, arch="x86_64", platform=None, lifecycle=None,
         tags={"env": "dev"}, enis=[]),
    dict(owner="444455556666", id="i-0006", ami="ami-66", state="running", type="t3.micro",
         az="us-east-1b", private_ip=None, private_dns="", public_ip=None, public_dns=None,
         vpc=None, subnet=None, arch="x86_64", platform=None, lifecycle=None,
         tags={"env": "prod"}, enis=[]),
]

STATE = {"instances": copy.deepcopy(INSTANCES), "requests": []}
LOCK = threading.Lock()


# ---- SigV4, as AWS checks it

def aws_quote(s):
    return urllib.parse.quote(s, safe="-_.~")


def verify_sigv4(method, path, query, headers, body):
    """None if the request is signed right, else (status, code, message)."""
    auth = headers.get("authorization", "")
    m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
                     r"SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})", auth)
    if not m:
        return 400, "IncompleteSignature", "bad Authorization header"
    akid, date, region, service, signed, signature = m.groups()
    if akid not in KEYS:
        return 401, "AuthFailure", "AWS was not able to validate the provided access credentials"
    secret, token = KEYS[akid]
    amz_date = headers.get("x-amz-date", "")
    if not amz_date.startswith(date) or region != REGION or service != "ec2":
        return 403, "SignatureDoesNotMatch", "credential scope does not match the request"
    when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 900:
        return 403, "RequestTimeTooSkewed", "the request time is too far from ours"
    names = signed.split(";")
    if "host" not in names or "x-amz-date" not in names:
        return 403, "SignatureDoesNotMatch", "host and x-amz-date must be signed"
    if token is not None and (headers.get("x-amz-security-token") != token
                              or "x-amz-security-token" not in names):
        return 403, "AuthFailure", "the security token is missing or wrong"
    canonical_headers = "".join(f"{n}:{' '.join(headers.get(n, '').split())}\n" for n in names)
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    canonical_query = "&".join(f"{aws_quote(k)}={aws_quote(v)}" for k, v in sorted(pairs))
    canonical_uri = urllib.parse.quote(path or "/", safe="/-_.~")
    canonical = "\n".join([method, canonical_uri, canonical_query, canonical_headers, signed,
                           hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])

    def h(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()
    key = h(h(h(h(("AWS4" + secret).encode(), date), region), service), "aws4_request")
    want = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, signature):
        return 403, "SignatureDoesNotMatch", ("The request signature we calculated does not match "
                                             "the signature you provided.")
    return None


# ---- The EC2 API

def filters_of(form):
    out = {}
    for k, v in form.items():
        m = re.fullmatch(r"Filter\.(\d+)\.Name", k)
        if m:
            n = m.group(1)
            vals = [form[x][0] for x in sorted((x for x in form if x.startswith(f"Filter.{n}.Value.")),
                                               key=lambda x: int(x.rsplit(".", 1)[1]))]
            out[v[0]] = vals
    return out


def matches(inst, filters):
    for name, vals in filters.items():
        if name == "instance-state-name":
            if inst["state"] not in vals:
                return False
        elif name.startswith("tag:"):
            if inst["tags"].get(name[4:]) not in vals:
                return False
        else:
            raise ValueError(f"filter {name} not supported by the stand-in")
    return True


def el(name, value):
    return f"<{name}>{escape(value)}</{name}>" if value is not None else ""


def instance_xml(i):
    enis = ""
    for e in i["enis"]:
        v6 = "".join(f"<item><ipv6Address>{a}</ipv6Address><isPrimaryIpv6>{str(p).lower()}</isPrimaryIpv6>"
                      f"</item>" for a, p in e["v6"])
        enis += (f"<item><networkInterfaceId>eni-{i['id']}-{e['index']}</networkInterfaceId>"
                 f"{el('subnetId', e['subnet'])}<attachment><deviceIndex>{e['index']}</deviceIndex>"
                 f"</attachment><ipv6AddressesSet>{v6}</ipv6AddressesSet></item>")
    tags = "".join(f"<item>{el('key', k)}{el('value', v)}</item>" for k, v in i["tags"].items())
    return ("<item>" + el("instanceId", i["id"]) + el("imageId", i["ami"]) +
            f"<instanceState><code>16</code>{el('name', i['state'])}</instanceState>" +
            el("privateDnsName", i["private_dns"]) + el("dnsName", i["public_dns"]) +
            el("instanceType", i["type"]) +
            f"<placement>{el('availabilityZone', i['az'])}<tenancy>default</tenancy></placement>" +
            el("platform", i["platform"]) + el("privateIpAddress", i["private_ip"]) +
            el("ipAddress", i["public_ip"]) + el("subnetId", i["subnet"]) + el("vpcId", i["vpc"]) +
            el("architecture", i["arch"]) + el("instanceLifecycle", i["lifecycle"]) +
            f"<tagSet>{tags}</tagSet><networkInterfaceSet>{enis}</networkInterfaceSet></item>")


def describe_instances(form):
    with LOCK:
        insts = [i for i in STATE["instances"] if matches(i, filters_of(form))]
    start = int(form.get("NextToken", ["0"])[0].replace("page-", "") or 0)
    page = insts[start:start + PAGE]
    # One reservation per owner, in order.
    res = ""
    for owner in dict.fromkeys(i["owner"] for i in page):
        items = "".join(instance_xml(i) for i in page if i["owner"] == owner)
        res += (f"<item><reservationId>r-{owner}</reservationId><ownerId>{owner}</ownerId>"
                f"<groupSet/><instancesSet>{items}</instancesSet></item>")
    nxt = f"<nextToken>page-{start + PAGE}</nextToken>" if start + PAGE < len(insts) else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse '
            'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId>'
            f"<reservationSet>{res}</reservationSet>{nxt}</DescribeInstancesResponse>")


def describe_zones():
    items = "".join(f"<item><zoneName>{n}</zoneName><zoneId>{z}</zoneId><zoneState>available</zoneState>"
                    f"<regionName>{REGION}</regionName></item>" for n, z in ZONES.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeAvailabilityZonesResponse '
            'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-2</requestId>'
            f"<availabilityZoneInfo>{items}</availabilityZoneInfo></DescribeAvailabilityZonesResponse>")


def error_xml(code, message):
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error></Errors><RequestID>rid-1</RequestID></Response>")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = headers[k] + "," + v.strip() if k in headers else v.strip()
        path, _, query = self.path.partition("?")
        form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
        action = form.get("Action", [""])[0]
        bad = verify_sigv4("POST", path, query, headers, body)
        with LOCK:
            STATE["requests"].append(dict(action=action, form=form, ok=bad is None,
                                          akid=re.sub(r".*Credential=([^/]+)/.*", r"\1",
                                                      headers.get("authorization", "")),
                                          signed=re.sub(r".*SignedHeaders=([^,]+),.*", r"\1",
                                                        headers.get("authorization", ""))))
        if bad:
            status, text = bad[0], error_xml(bad[1], bad[2])
        elif form.get("Version", [""])[0] != "2016-11-15":
            status, text = 400, error_xml("InvalidParameterValue", "bad API version")
        elif action == "DescribeInstances":
            status, text = 200, describe_instances(form)
        elif action == "DescribeAvailabilityZones":
            status, text = 200, describe_zones()
        else:
            status, text = 400, error_xml("InvalidAction", f"unknown action {action}")
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


# ---- What upstream's ec2.go makes of an instance

def expected(inst, port, upstream3=True):
    v6, primary, subnets = [], [], []
    if inst["vpc"]:
        for e in inst["enis"]:
            if not e["subnet"]:
                continue
            if e["subnet"] not in subnets:
                subnets.append(e["subnet"])
            for addr, is_primary in e["v6"]:
                v6.append(addr)
                if is_primary:
                    while len(primary) <= e["index"]:
                        primary.append("")
                    primary[e["index"]] = addr
    default_v6 = next((a for a in primary + v6 if a), None)
    if inst["private_ip"] is None and default_v6 is None:
        return None
    host = inst["private_ip"] or f"[{default_v6}]"
    lb = {"__address__": f"{host}:{port}", "__meta_ec2_instance_id": inst["id"],
          "__meta_ec2_owner_id": inst["owner"], "__meta_ec2_ami": inst["ami"],
          "__meta_ec2_availability_zone": inst["az"], "__meta_ec2_instance_state": inst["state"],
          "__meta_ec2_instance_type": inst["type"], "__meta_ec2_architecture": inst["arch"]}
    if upstream3:
        lb["__meta_ec2_region"] = REGION
        if inst["az"] in ZONES:
            lb["__meta_ec2_availability_zone_id"] = ZONES[inst["az"]]
        if default_v6:
            lb["__meta_ec2_default_ipv6_address"] = default_v6
        if primary:
            lb["__meta_ec2_primary_ipv6_addresses"] = "," + ",".join(primary) + ","
    if inst["private_ip"]:
        lb["__meta_ec2_private_ip"] = inst["private_ip"]
    if inst["private_dns"]:
        lb["__meta_ec2_private_dns_name"] = inst["private_dns"]
    if inst["platform"]:
        lb["__meta_ec2_platform"] = inst["platform"]
    if inst["public_ip"]:
        lb["__meta_ec2_public_ip"] = inst["public_ip"]
        lb["__meta_ec2_public_dns_name"] = inst["public_dns"]
    if v6:
        lb["__meta_ec2_ipv6_addresses"] = "," + ",".join(v6) + ","
    if inst["lifecycle"]:
        lb["__meta_ec2_instance_lifecycle"] = inst["lifecycle"]
    if inst["vpc"]:
        lb["__meta_ec2_vpc_id"] = inst["vpc"]
        lb["__meta_ec2_primary_subnet_id"] = inst["subnet"]
        lb["__meta_ec2_subnet_id"] = "," + ",".join(subnets) + ","
    for k, v in inst["tags"].items():
        lb["__meta_ec2_tag_" + re.sub(r"[^a-zA-Z0-9_]", "_", k)] = v
    return lb


def expected_all(filters, port):
    with LOCK:
        insts = [i for i in STATE["instances"] if matches(i, filters)]
    out = [e for e in (expected(i, port) for i in insts) if e]
    return sorted(out, key=lambda t: json.dumps(t, sort_keys=True))


def body(build):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with Run("discovery-ec2") as run:
            t = run.tmp
            with open(f"{t}/credentials", "w") as f:
                f.write("[default]\naws_access_key_id = AKIDNOPE\naws_secret_access_key = nope\n\n"
                        "[test]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n"
                        "aws_session_token = tok-profile\n")
            open(f"{t}/aws-config", "w").close()
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update(AWS_SHARED_CREDENTIALS_FILE=f"{t}/credentials", AWS_CONFIG_FILE=f"{t}/aws-config",
                       AWS_EC2_METADATA_DISABLED="true")
            config = f"{t}/prometheus.yml"
            with open(config, "w") as f:
                f.write(f"""\
scrape_configs:
  - job_name: ec2
    ec2_sd_configs:
      - endpoint: {endpoint}
        region: {REGION}
        access_key: AKIDSTATIC
        secret_key: static-secret
        port: 9100
        refresh_interval: 1s
        filters:
          - name: instance-state-name
            values: [running, pending]
          - name: tag:env
            values: [prod]
  - job_name: ec2_profile
    ec2_sd_configs:
      - endpoint: {endpoint}
        region: {REGION}
        profile: test
        port: 80
        refresh_interval: 1s
  - job_name: ec2_bad
    ec2_sd_configs:
      - endpoint: {endpoint}
        region: {REGION}
        access_key: AKIDSTATIC
        secret_key: wrong-secret
        refresh_interval: 1s
""")
            filters = {"instance-state-name": ["running", "pending"], "tag:env": ["prod"]}
            want = expected_all(filters, 9100)
            check(len(want) == 3, "the stand-in's filters leave three instances with an address")
            tool = Tool(run, build, config, env=env)
            pub = tool.wait(lambda p: targets(p, "ec2") == want and len(targets(p, "ec2_profile") or []) == 5,
                            "the ec2 jobs' targets")
            check(True, "every target and __meta_ec2_ label as upstream's rules give them")
            check(targets(pub, "ec2_profile") == expected_all({}, 80),
                  "credentials from the shared credentials file's profile (with a session token)")
            with LOCK:
                reqs = list(STATE["requests"])
            ours = [r for r in reqs if r["akid"] == "AKIDSTATIC" and r["ok"]]
            di = [r for r in ours if r["action"] == "DescribeInstances"]
            check(any("NextToken" in r["form"] for r in di) and any("NextToken" not in r["form"] for r in di),
                  "both pages asked for (NextToken)")
            check(filters_of(di[0]["form"]) == filters, "filters sent as Filter.N.Name / Filter.N.Value.M")
            check(any(r["action"] == "DescribeAvailabilityZones" for r in ours), "zone IDs asked for")
            check(all(r["signed"] == "content-type;host;x-amz-date" for r in ours), "the signed headers")
            prof = [r for r in reqs if r["akid"] == "AKIDPROFILE"]
            check(prof and all(r["ok"] and "x-amz-security-token" in r["signed"] for r in prof),
                  "the session token is sent and signed")
            check(not any(r["ok"] for r in reqs if r["akid"] == "AKIDNOPE"), "the default profile unused")

            pub = tool.wait(lambda p: p["stats"]["refresh_failures_ec2"] >= 2, "the bad secret's failures")
            check(targets(pub, "ec2_bad") == [], "a wrong secret: no targets")
            check(any(not r["ok"] for r in reqs + STATE["requests"] if r["akid"] == "AKIDSTATIC"),
                  "the stand-in refused the wrong signature")

            # A change is picked up at the next refresh.
            with LOCK:
                STATE["instances"][0]["tags"]["Name"] = "web-1-renamed"
                STATE["instances"][4]["tags"]["env"] = "prod"
            want = expected_all(filters, 9100)
            pub = tool.wait(lambda p: targets(p, "ec2") == want, "the changed instances")
            check(len(want) == 4, "the instance moved into the filter's reach is discovered")

            # Prometheus 2.42 against the same stand-in: the same targets, the
            # same values for the labels it has (it predates the default and
            # primary IPv6 address labels).
            # 2.42 also predates IPv6-only targets: it skips instances without a
            # private IPv4 address.
            theirs = promtool_targets(config, "ec2", env=env, timeout="10s")
            mine = [t for t in targets(pub, "ec2") if not t["__address__"].startswith("[")]
            check([t["__address__"] for t in theirs] == [t["__address__"] for t in mine],
                  f"promtool finds the same IPv4 targets: {[t['__address__'] for t in theirs]}")
            with LOCK:
                signed_by_go = [r for r in STATE["requests"] if r["akid"] == "AKIDSTATIC" and r["ok"]
                                and r["signed"] != "content-type;host;x-amz-date"]
            check(signed_by_go, "promtool's own SigV4 requests (another header set: "
                                f"{signed_by_go[0]['signed'] if signed_by_go else '-'}) pass the "
                                "stand-in's check too")
            for a, b in zip(mine, theirs):
                common = set(a) & set(b)
                diff = {k: (a[k], b[k]) for k in common if a[k] != b[k]}
                check(not diff, f"{a['__address__']}: the labels both have agree {sorted(common)}"
                                f"{' ' + str(diff) if diff else ''}")
                only_theirs = set(b) - set(a)
                check(not only_theirs, f"{a['__address__']}: no label only promtool has ({only_theirs})")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main(lambda: body(sys.argv[2]))
