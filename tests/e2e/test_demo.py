"""`ascad demo`, the README's main command, as a real subprocess: finds exactly the injected drift
and leaves nothing behind; with --keep it serves the master's /ui/ until Ctrl-C."""

from __future__ import annotations

import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path


def test_demo_finds_each_injected_drift_and_cleans_up() -> None:
    exe = Path(sys.executable).with_name("ascad")
    proc = subprocess.run([str(exe), "demo"], capture_output=True, text=True, timeout=120)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "Traceback" not in proc.stderr
    # cycle 1 is clean
    cycle1 = out.split("cycle 1:")[1].split("injecting")[0]
    assert cycle1.count(" ok") == 6 and "critical" not in cycle1
    # each drift found where it belongs, with its line
    assert re.search(
        r"~ replication-factor: 2 \(\S+node1/aerospike.conf:\d+\) -> 3 \(git:main:aerospike/aerospike.conf.j2:\d+\) \[restart needed\]",
        out,
    )
    assert re.search(
        r"~ proto-fd-max: 20000 \(\S+node2/aerospike.conf:4\) -> 15000 \(aerospike://127\.0\.0\.1:\d+\) \[dynamic\]",
        out,
    )
    assert re.search(
        r"~ default-ttl: 30d \(\S+node3/aerospike.conf:\d+\) -> 86400 \(aerospike://127\.0\.0\.1:\d+\) \[dynamic\]",
        out,
    )
    events = out.split("events Riemann received in cycle 2 (6)")[1]
    assert re.search(r"node1\s+ascad golden\s+critical\s+1", events)
    assert re.search(r"node3\s+ascad peer\s+ok\s+0", events)
    assert "every injected drift was found" in out
    tmp = re.search(r"conf (/\S+)/node1/aerospike.conf", out)
    assert tmp is not None and not Path(tmp.group(1)).exists()


def test_demo_keep_runs_until_ctrl_c_and_serves_the_page() -> None:
    exe = Path(sys.executable).with_name("ascad")
    proc = subprocess.Popen(
        [str(exe), "demo", "--keep"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: list[str] = []
    tmp: Path | None = None
    try:
        lines: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)  # type: ignore[union-attr]
        reader.start()
        deadline = time.monotonic() + 120
        url = None
        while url is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                assert proc.poll() is None, "".join(out)
                continue
            out.append(line)
            m = re.match(r"\s+dashboard\s+(http://127\.0\.0\.1:\d+/ui/)$", line)
            url = m.group(1) if m else None
        assert url is not None, "".join(out)
        text = "".join(out)
        assert "every injected drift" not in text  # the verdict comes after the cluster stops
        m = re.search(r"conf (/\S+)/node1/aerospike.conf", text)
        assert m is not None
        tmp = Path(m.group(1))
        # the page: a browser without the token is sent to the login form ...
        req = urllib.request.Request(url)
        with urllib.request.urlopen(req, timeout=10) as r:  # follows the redirect
            assert r.url.endswith("/ui/login") and b'name="token"' in r.read()
        # ... and with it sees the cluster, drift and all
        req = urllib.request.Request(url, headers={"Authorization": "Bearer demo-token"})
        with urllib.request.urlopen(req, timeout=30) as r:
            page = r.read().decode()
        assert r.headers["Content-Security-Policy"].startswith("default-src 'none'")
        text = re.sub(r"<[^>]+>", "", page)  # a path is cut into segments by markup
        for name in ("node1", "node2", "node3", "service.proto-fd-max", "replication-factor"):
            assert name in text, name
        assert proc.poll() is None  # still running
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        reader.join(10)
        while not lines.empty():
            out.append(lines.get())
        text = "".join(out)
        assert "stopping" in text and "every injected drift was found" in text
        assert "log in with the token demo-token" in text
        assert f"files kept in {tmp}" in text
        assert proc.stderr is not None
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
