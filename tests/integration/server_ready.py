#!/usr/bin/env python3
"""server_ready.py - while prom-server replays a large WAL it answers
/-/healthy with 200 and /-/ready and the API with 503 "Service Unavailable",
as upstream does; once replayed, /-/ready is 200 and the data is there.

  server_ready.py <source dir> <build dir>
"""
import json
import os
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Run, check, find_tool, free_port, http, main  # noqa: E402

SERIES = 20_000
STEP = 15_000


def body():
    build = sys.argv[2]
    tool = find_tool(build, "tsdb_db_tool")
    now = int(time.time()) * 1000 // STEP * STEP
    with Run("server-ready") as run:
        data = os.path.join(run.tmp, "data")
        p = subprocess.run([tool, "write", data, str(SERIES), str(now - 3600_000), str(now),
                            str(STEP)], capture_output=True, text=True)
        check(p.returncode == 0, f"a WAL of {SERIES} series over 1 h ({p.stderr.strip()[-200:]})")
        cfg = os.path.join(run.tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1m\n")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        run.start("prom-server", [os.path.join(build, "bin", "prom-server"),
                                  f"--config.file={cfg}", f"--storage.tsdb.path={data}",
                                  f"--web.listen-address=127.0.0.1:{port}"])
        seen_unready = False
        deadline = time.time() + 120
        while time.time() < deadline:
            ready, _ = http(f"{url}/-/ready")
            if ready == 503:
                healthy, text = http(f"{url}/-/healthy")
                api, body_text = http(f"{url}/api/v1/query?query=up")
                if healthy == 200 and api == 503 and "Service Unavailable" in body_text:
                    seen_unready = True
            if ready == 200:
                break
            time.sleep(0.05)
        check(seen_unready, "during the replay: healthy 200, ready 503, the API 503")
        check(http(f"{url}/-/ready")[0] == 200, "ready once the WAL is replayed")
        q = urllib.parse.urlencode({"query": "count(tsdb_test_metric)", "time": now / 1000})
        status, text = http(f"{url}/api/v1/query?{q}")
        got = json.loads(text)["data"]["result"]
        check(got and got[0]["value"][1] == str(SERIES), f"every series is back ({got})")


if __name__ == "__main__":
    main(body)
