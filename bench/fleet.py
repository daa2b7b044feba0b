"""Wall time of `ascad fleet` over 10, 100 and 500 emulated nodes, with and without drift.

Run: .venv/bin/python bench/fleet.py [--sizes 10,100,500] [--repeat 3]

Set-up: the emulated cluster runs in ONE separate process (this script re-run with ``--serve``),
so the emulator and ascad each get a core of their own, as a real fleet would not share ascad's
CPU. Each figure is the median wall time of the whole command run as a subprocess
(``python -m ascad.cli fleet …``, interpreter start-up included), in two modes:

- runtime: ``ascad fleet --discover aerospike://SEED`` (every node found through
  ``peers-clear-std``, each node's running config read over the info protocol);
- conf: ``ascad fleet FILE…`` over the same N conf files.

"drift" makes every 10th node differ in its own way (its own ``default-ttl``), which gives N/10
singleton groups besides the majority: the worst realistic case for the group × group matrix.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lines import Lines

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

CONF = """\
service {{
    proto-fd-max 15000
    cluster-name bench
    node-id {node_id}
}}
logging {{
    console {{
        context any info
    }}
}}
network {{
    service {{
        address 10.0.{a}.{b}
        port 3000
    }}
    heartbeat {{
        mode mesh
        port 3002
        mesh-seed-address-port 10.0.0.1 3002
        mesh-seed-address-port 10.0.0.2 3002
        interval 150
        timeout 10
    }}
    fabric {{
        port 3001
    }}
}}
namespace test {{
    replication-factor 2
{extra}    storage-engine memory {{
        data-size 4G
    }}
}}
namespace bar {{
    replication-factor 2
    default-ttl 30d
    storage-engine device {{
        file /opt/aerospike/bar.dat
        filesize 16G
    }}
}}
"""


def conf_text(i: int, drift: bool) -> str:
    extra = f"    default-ttl {i + 1}\n" if drift and i % 10 == 5 else ""
    return CONF.format(node_id=f"A{i + 1:04X}", a=(i + 1) // 250, b=(i + 1) % 250 + 1, extra=extra)


async def serve(n: int, drift: bool, ports: bool = False) -> None:
    """Child: start N emulated nodes, print the seed's port, run until stdin closes."""
    sys.path.insert(0, str(ROOT / "src"))
    from ascad.lab.emulator import cluster as emu
    from ascad.lab.emulator.node import EmulatedNode

    nodes = [EmulatedNode(conf_text(i, drift), source=f"n{i}.conf") for i in range(n)]
    cluster = await emu.start(nodes)
    doc = {"seed": cluster.nodes[0].port}
    if ports:
        doc["ports"] = [node.port for node in cluster.nodes]
    print(json.dumps(doc), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await cluster.stop()


def timed(argv: list[str], repeat: int) -> tuple[float, int, dict]:
    times, code, doc = [], 0, {}
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [PY, "-m", "ascad.cli", "fleet", *argv, "--format", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        times.append(time.perf_counter() - t0)
        code = proc.returncode
        if code == 2:
            raise SystemExit(f"ascad fleet failed: {proc.stderr.strip()}")
        doc = json.loads(proc.stdout)
    return statistics.median(times), code, doc


def bench(n: int, drift: bool, repeat: int) -> list[tuple[str, int, bool, float, int, int]]:
    rows = []
    child = subprocess.Popen(
        [PY, __file__, "--serve", str(n), *(["--drift"] if drift else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = Lines(child.stdout).next(time.monotonic() + 60)
        if line is None:
            raise SystemExit("bench: the emulated fleet did not start within 60 s")
        seed = json.loads(line)["seed"]
        t, _, doc = timed(
            ["--discover", f"aerospike://127.0.0.1:{seed}", "--concurrency", "64"], repeat
        )
        rows.append(("runtime", n, drift, t, doc["summary"]["groups"], doc["summary"]["nodes"]))
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(timeout=30)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in range(n):
            p = Path(tmp) / f"n{i:04d}.conf"
            p.write_text(conf_text(i, drift), encoding="utf-8")
            files.append(str(p))
        t, _, doc = timed(files, repeat)
        rows.append(("conf", n, drift, t, doc["summary"]["groups"], doc["summary"]["nodes"]))
    return rows


def startup(repeat: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([PY, "-m", "ascad.cli", "fleet", "--help"], capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--drift", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--ports", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="10,100,500")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.drift, args.ports))
        return
    print(f"python start-up + import (ascad fleet --help): {startup(args.repeat):.3f} s")
    print(f"{'mode':<8} {'nodes':>6} {'drift':>6} {'groups':>7} {'wall s':>8} {'ms/node':>8}")
    for n in (int(x) for x in args.sizes.split(",")):
        for drift in (False, True):
            for mode, nodes, d, t, groups, total in bench(n, drift, args.repeat):
                assert total == nodes
                print(
                    f"{mode:<8} {nodes:>6} {'yes' if d else 'no':>6} {groups:>7} {t:>8.3f} "
                    f"{1000 * t / nodes:>8.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
