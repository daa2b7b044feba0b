"""`ascad demo`, the README's main command, as a real subprocess: finds exactly the injected drift
and leaves nothing behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_demo_finds_each_injected_drift_and_cleans_up() -> None:
    exe = Path(sys.executable).with_name("ascad")
    env = {**os.environ, "COLUMNS": "80"}
    proc = subprocess.run([str(exe), "demo"], capture_output=True, text=True, timeout=120, env=env)
    out = proc.stdout
    # laid out for 80 columns: only a single token may be longer
    assert all(len(x) <= 80 or " " not in x.strip() for x in out.splitlines())
    assert proc.returncode == 0, out + proc.stderr
    assert "Traceback" not in proc.stderr
    # cycle 1 is clean
    cycle1 = out.split("cycle 1:")[1].split("injecting")[0]
    assert cycle1.count(" ok") == 6 and "critical" not in cycle1
    # each drift found where it belongs, with its line
    assert re.search(
        r"~ replication-factor: 2 \(line \d+\) -> 3 \(line \d+\) \[restart needed\]",
        out,
    )
    assert re.search(
        r"\+\+\+ aerospike://127\.0\.0\.1:\d+\nservice\n  ~ proto-fd-max: 20000 \(line 4\) -> 15000 \[dynamic\]",
        out,
    )
    assert re.search(
        r"--- \S+node3/aerospike.conf\n\+\+\+ aerospike://127\.0\.0\.1:\d+\nnamespace\[test\]\n  ~ default-ttl: 30d \(line \d+\) -> 86400 \[dynamic\]",
        out,
    )
    events = out.split("events Riemann received in cycle 2 (6)")[1]
    assert re.search(r"node1\s+ascad golden\s+critical\s+1", events)
    assert re.search(r"node3\s+ascad peer\s+ok\s+0", events)
    assert "every injected drift was found" in out
    tmp = re.search(r"conf (/\S+)/node1/aerospike.conf", out)
    assert tmp is not None and not Path(tmp.group(1)).exists()
