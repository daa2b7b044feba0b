"""The master's /ui/ page with many nodes: how long it takes, how big it is.

Run: .venv/bin/python bench/dashboard.py [--nodes 500] [--no-browser]

Set-up: ``--nodes - 1`` peer agents' HTTP servers (the real ``ConfigServer``, each on its own
loopback port, each serving its own conf and an ``ascad.agent.status/1`` document: every 10th
node drifted, with two differences) run in a child process; the master's ``ConfigServer`` runs in
this process with a real cycle runner whose peers list names them all, as the master's last cycle
would. The confs are the sample conf (tests/fixtures/confs), every 25th with another
``proto-fd-max`` (so the page has groups, a matrix and parameters).

Prints:

- floor: one round of ``GET /v1/status`` + ``/v1/config`` from every peer at the page's
  concurrency, nothing parsed (what any cluster page has to fetch);
- the page: cold (a new round: fetch, parse every conf, group them, render), warm (the round
  cached for ``refresh`` seconds: render only), the fragment the script polls for, and sizes
  (bytes of the page; gzip -6 as a measure of what the agent sends a browser that takes gzip);
- unless ``--no-browser`` (or when /usr/bin/chromium is missing): Chromium (Debian's, through Playwright) loading the page: DOMContentLoaded
  and load, and one in-page refresh (fetch + swap of the live part).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lines import Lines

from ascad.agent import ui
from ascad.agent.cycle import CycleRunner
from ascad.agent.roles import Candidate
from ascad.agent.server import ConfigServer
from ascad.agent.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (tools/chromium.py: the one list)

CONF = ROOT / "tests" / "fixtures" / "confs" / "server-8.1-default-systemd.conf"
TOKEN = "bench-dashboard-token"


def node_id(i: int) -> str:
    return f"{0xA000 + i:X}"


def settings(tmp: Path, i: int) -> Any:
    d = tmp / f"n{i}"
    d.mkdir(exist_ok=True)
    conf = d / "aerospike.conf"
    text = CONF.read_text()
    if i % 25 == 7:
        text = text.replace("proto-fd-max 15000", "proto-fd-max 20000")
    conf.write_text(text)
    token = tmp / "token"
    if not token.exists():
        token.write_text(TOKEN + "\n")
        token.chmod(0o600)
    return load_settings(
        data={
            "agent": {"conf": str(conf), "state_dir": str(d / "state"), "node_name": f"node{i}"},
            "server": {"listen": "127.0.0.1", "port": 0, "token_file": str(token)},
            "peers": {"timeout": 30},
        },
        env={},
    )


def status(i: int) -> dict[str, Any]:
    drifted = i % 10 == 3
    diffs = [
        {
            "path": p,
            "kind": "changed",
            "left": "16000",
            "right": "15000",
            "left_line": 4,
            "right_line": 4,
            "restart": False,
            "note": None,
            "stanza": False,
        }
        for p in ("service.proto-fd-max", "namespace[test].default-ttl")
    ]
    now = time.time()
    return {
        "schema": "ascad.agent.status/1",
        "node": f"node{i}",
        "node_id": node_id(i),
        "role": "master" if i == 0 else "slave",
        "cluster": "bench",
        "started": now,
        "duration": 0.1,
        "exit_code": 1 if drifted else 0,
        "checks": [
            {"check": "runtime", "state": "ok", "count": 0, "differences": [], "finished": now},
            {
                "check": "golden" if i == 0 else "peer",
                "state": "critical" if drifted else "ok",
                "count": 2 if drifted else 0,
                "differences": diffs if drifted else [],
                "finished": now,
                "master": None if i == 0 else f"{node_id(0)} http://127.0.0.1:1",
            },
        ],
    }


async def serve_peers(tmp: Path, count: int) -> None:
    """The child: ``count`` peer servers; prints their ports as one JSON line, waits for stdin."""
    servers = []
    for i in range(1, count + 1):
        doc = status(i)
        s = ConfigServer(settings(tmp, i), lambda doc=doc: doc)
        await s.start()
        servers.append(s)
    print(json.dumps([s.port for s in servers]), flush=True)
    await asyncio.to_thread(sys.stdin.read)
    for s in servers:
        await s.stop()


async def measure(tmp: Path, ports: list[int]) -> dict[str, Any]:
    import aiohttp

    s0 = settings(tmp, 0)
    runner = CycleRunner(s0)
    runner.known = [Candidate(node_id(0), None, is_self=True)] + [
        Candidate(node_id(i), f"http://127.0.0.1:{p}") for i, p in enumerate(ports, start=1)
    ]
    master_doc = status(0)
    server = ConfigServer(s0, lambda: master_doc, runner=lambda: runner)
    await server.start()
    figures: dict[str, Any] = {}
    try:
        # floor: the fetches alone
        gate = asyncio.Semaphore(ui.CONCURRENCY)

        async def one(c: Candidate) -> None:
            async with gate:
                await runner.peers.status(str(c.url))
                await runner.peers.fetch_config(str(c.url))

        t0 = time.perf_counter()
        await asyncio.gather(*(one(c) for c in runner.known[1:]))
        figures["floor"] = time.perf_counter() - t0
        runner.peers._cache.clear()  # the page's round starts cold too

        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession() as http:
            t0 = time.perf_counter()
            async with http.get(server.url + "/ui/", headers=auth) as r:
                page = await r.read()
                assert r.status == 200, r.status
            figures["cold"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            async with http.get(server.url + "/ui/?sort=node", headers=auth) as r:
                await r.read()
            figures["warm"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            async with http.get(server.url + "/ui/?sort=node", headers=auth) as r:
                await r.read()
            figures["cached"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            async with http.get(server.url + "/ui/?fragment=1", headers=auth) as r:
                frag = await r.read()
            figures["fragment"] = time.perf_counter() - t0
            async with http.get(server.url + "/ui/?state=critical", headers=auth) as r:
                critical = await r.read()
        figures["bytes"] = len(page)
        figures["gzip"] = len(gzip.compress(page, 6))
        figures["fragment_bytes"] = len(frag)
        figures["critical_bytes"] = len(critical)
        figures["rounds"] = server.ui.rounds
        figures["url"] = server.url
        figures["cookie"] = ui.session_value(TOKEN.encode())
        figures["page"] = page
        return figures | {"_server": server}
    except BaseException:
        await server.stop()
        raise


def browser_load(url: str, cookie: str, tmp: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp)
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )  # fmt: skip
        try:
            ctx.add_cookies([{"name": ui.COOKIE, "value": cookie, "url": url + "/ui/"}])
            page = ctx.new_page()
            page.goto(url + "/ui/", wait_until="load", timeout=120_000)
            nav = page.evaluate(
                "(() => { const n = performance.getEntriesByType('navigation')[0];"
                " return [n.responseEnd, n.domContentLoadedEventEnd, n.loadEventEnd]; })()"
            )
            rows = page.eval_on_selector_all("#nodes tr", "r => r.length - 1")
            t0 = time.perf_counter()
            page.evaluate(
                "() => new Promise(ok => { document.addEventListener('ascad:updated', ok,"
                " {once: true}); })"
            )
            refresh = time.perf_counter() - t0
        finally:
            ctx.close()
    return {
        "response": nav[0] / 1000,
        "dcl": nav[1] / 1000,
        "load": nav[2] / 1000,
        "rows": rows,
        "refresh_wait": refresh,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument(
        "--no-browser", dest="browser", action="store_false", help="skip loading it in Chromium"
    )
    ap.add_argument("--serve-peers", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_peers:
        asyncio.run(serve_peers(Path(args.dir), args.serve_peers))
        return 0
    with tempfile.TemporaryDirectory(prefix="ascad-bench-ui-") as d:
        tmp = Path(d)
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve-peers", str(args.nodes - 1), "--dir", d],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT / "bench",
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        try:
            line = Lines(child.stdout).next(time.monotonic() + 300)
            if line is None:
                raise SystemExit("bench: the peer servers did not start")
            ports = json.loads(line)

            async def run() -> dict[str, Any]:
                f = await measure(tmp, ports)
                server = f.pop("_server")
                if args.browser and os.access(CHROMIUM, os.X_OK):
                    server.ui.refresh = 2.0
                    f.update(await asyncio.to_thread(browser_load, f["url"], f["cookie"], tmp))
                await server.stop()
                return f

            f = asyncio.run(run())
        finally:
            assert child.stdin is not None
            child.stdin.close()
            child.wait(60)
    n = args.nodes
    print(f"/ui/ on the master of {n} nodes ({n - 1} peer agents on loopback, one process)")
    print(f"  floor: fetch every peer's status + conf    {f['floor']:7.2f} s")
    print(
        f"  page, cold (fetch, parse, group, render)   {f['cold']:7.2f} s"
        f"  ({f['cold'] / f['floor']:.1f}x the floor)"
    )
    print(f"  page, other filters (same round, render)   {f['warm']:7.2f} s")
    print(f"  page, same filters again (rendering kept)  {f['cached']:7.3f} s")
    print(f"  fragment the script polls (render)         {f['fragment']:7.2f} s")
    print(f"  page size {f['bytes'] / 1024:8.0f} KiB  (gzip -6: {f['gzip'] / 1024:.0f} KiB)")
    print(
        f"  fragment  {f['fragment_bytes'] / 1024:8.0f} KiB; filtered to critical: {f['critical_bytes'] / 1024:.0f} KiB"
    )
    if "load" in f:
        print(
            f"  Chromium: response end {f['response']:.2f} s, DOMContentLoaded {f['dcl']:.2f} s, load {f['load']:.2f} s; {f['rows']} node rows"
        )
        print(
            f"  Chromium: next self-update arrived after   {f['refresh_wait']:7.2f} s (refresh every 2 s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
