"""The /ui/ page in a real browser (Playwright driving Debian's Chromium) against three agents and
three emulated nodes on loopback: login, every node listed, drift injected -> critical with its
path, a value with <script> shown as text, filters, line links, fixed -> ok, an agent stopped ->
unreachable, and the same page with JavaScript off. Screenshots go to the test's tmp dir."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ascad.agent.daemon import Agent
from ascad.agent.settings import load_settings
from ascad.lab.emulator import cluster as ec
from tests.helpers import AGENT_CONF, BackgroundLoop, chromium

NODE_IDS = ("A1", "B2", "C3")  # hex order: node1 (A1) is the master
TOKEN = "browser-test-token-0123456789"
SCRIPT = "<script>window.pwned=1</script>"


@dataclass
class Cluster:
    bg: BackgroundLoop
    agents: list[Agent]
    confs: list[Path]
    golden: Path
    emulated: Any

    def cycle(self, *which: int) -> None:
        async def go() -> None:
            for i in which or range(len(self.agents)):
                await self.agents[i].run_cycle()

        self.bg.run(go(), 60)

    @property
    def ui(self) -> str:
        return f"{self.agents[0].url}/ui/"


def start(tmp: Path) -> Cluster:
    base = AGENT_CONF.read_text()
    (tmp / "token").write_text(TOKEN + "\n")
    (tmp / "token").chmod(0o600)
    golden = tmp / "golden.conf"
    golden.write_text(base)
    confs = []
    for i in (1, 2, 3):
        (tmp / f"node{i}").mkdir()
        confs.append(tmp / f"node{i}" / "aerospike.conf")
        confs[-1].write_text(base)
    bg = BackgroundLoop()

    async def up() -> tuple[Any, list[Agent]]:
        nodes = [ec.load_node(str(p), node_id=n) for p, n in zip(confs, NODE_IDS, strict=True)]
        emulated = await ec.start(nodes)
        agents = []
        for i, wire in enumerate(emulated.nodes, start=1):
            s = load_settings(
                data={
                    "agent": {
                        "node_name": f"node{i}",
                        "role": "auto",
                        "conf": str(confs[i - 1]),
                        "interval": "1h",
                        "state_dir": str(tmp / f"state{i}"),
                        "cluster": "cakery",
                    },
                    "aerospike": {"address": f"aerospike://127.0.0.1:{wire.port}", "timeout": 5},
                    "golden": {"source": str(golden)},
                    "peers": {"discovery": "aerospike", "timeout": 3},
                    "server": {"listen": "127.0.0.1", "port": 0, "token_file": str(tmp / "token")},
                },
                env={},
            )
            agent = Agent(s)
            await agent.start()
            agents.append(agent)
        urls = {n: str(a.url) for n, a in zip(NODE_IDS, agents, strict=True)}
        for a in agents:
            a.settings.urls = dict(urls)
            assert a.server is not None
            a.server.ui.refresh = 0.5  # the page polls and the master re-reads every half second
        return emulated, agents

    emulated, agents = bg.run(up(), 30)
    return Cluster(bg, agents, confs, golden, emulated)


def stop(c: Cluster) -> None:
    async def down() -> None:
        for a in c.agents:
            await a.stop()
        await c.emulated.stop()

    try:
        c.bg.run(down(), 30)
    finally:
        c.bg.close()


def cells(page: Any, table: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"#{table} tr",
        "rows => rows.slice(1).map(r => Array.from(r.cells).map(c => c.innerText.trim()))",
    )


def wait_rows(page: Any, table: str, test: Any, timeout: float = 20.0) -> list[list[str]]:
    """The table's rows once ``test(rows)`` holds (the page updates itself), bounded."""
    deadline = time.monotonic() + timeout
    rows: list[list[str]] = []
    while time.monotonic() < deadline:
        rows = cells(page, table) if page.query_selector(f"#{table}") else []
        if test(rows):
            return rows
        page.wait_for_timeout(200)
    raise AssertionError(f"#{table} never matched; last rows: {rows}")


def test_dashboard_in_chromium(tmp_path: Path) -> None:
    c = start(tmp_path)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    try:
        c.cycle()
        with chromium(tmp_path) as browser:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            urls: list[str] = []
            page.on("request", lambda r: urls.append(r.url))

            # -- no cookie: the login form, and no data on it
            page.goto(c.ui)
            assert page.url.endswith("/ui/login")
            assert "node2" not in page.content()
            page.fill("#token", "wrong")
            page.click("button[type=submit]")
            assert "wrong token" in page.inner_text("body")
            page.fill("#token", TOKEN)
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r"/ui/$"))
            errors.clear()  # the wrong token's 401 was expected; nothing else may fail
            failed: list[str] = []
            page.on(
                "response",
                lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            cookie = next(k for k in browser.cookies() if k["name"] == "ascad_ui")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            assert TOKEN not in cookie["value"]

            # -- every node, all ok
            rows = wait_rows(page, "nodes", lambda r: len(r) == 3)
            assert [r[0] for r in rows] == ["A1 node1 this agent", "B2 node2", "C3 node3"]
            assert all(r[1] == "ok" for r in rows)

            # -- a slave's page: its own node, and the way to the master's (the cookie is the
            # browser's for 127.0.0.1, and the agents share the token)
            page.goto(f"{c.agents[1].url}/ui/")
            assert [r[0] for r in cells(page, "nodes")] == ["B2 node2 this agent"]
            page.click(f"a[href='{c.ui}']")
            page.wait_for_url(c.ui)

            # -- drift injected: node2's conf edited, the golden's cluster-name a script
            base = AGENT_CONF.read_text()
            c.confs[1].write_text(base.replace("proto-fd-max 15000", "proto-fd-max 16000"))
            c.golden.write_text(base.replace("cluster-name cakery", f"cluster-name {SCRIPT}"))
            c.cycle()
            rows = wait_rows(page, "nodes", lambda r: len(r) == 3 and r[1][1] == "critical")
            assert rows[0][1] == "critical" and rows[2][1] == "ok"
            diffs = wait_rows(page, "differences", lambda r: len(r) >= 3)
            by = {(r[0], r[1]): r for r in diffs}
            assert "service.proto-fd-max" in by[("B2 node2", "runtime")][2]
            assert "service.proto-fd-max" in by[("B2 node2", "peer")][2]
            assert "16000" in by[("B2 node2", "peer")][3]
            golden_row = by[("A1 node1", "golden")]
            assert SCRIPT in golden_row[4]  # shown as text ...
            assert page.evaluate("typeof window.pwned") == "undefined"  # ... never run
            checks = cells(page, "checks")
            peer_row = checks_row(checks, "B2 node2", "peer")
            assert peer_row[:4] == ["B2 node2", "peer", "critical", "1"]
            # the matrix and parameters, as ascad fleet shows them
            params = cells(page, "parameters")
            assert params[0][0] == "service.proto-fd-max"
            assert len(cells(page, "matrix")) == 2
            page.screenshot(path=str(shots / "drift.png"), full_page=True)
            # the path never breaks at its hyphens: each segment is one unbreakable piece
            segs = page.eval_on_selector_all(
                "#differences .path .seg", "s => s.map(e => getComputedStyle(e).whiteSpace)"
            )
            assert segs and set(segs) == {"nowrap"}

            # -- filter by state, in place (the address bar follows)
            page.select_option("select[name=state]", "critical")
            rows = wait_rows(page, "checks", lambda r: r and all(x[2] == "critical" for x in r))
            assert {(r[0], r[1]) for r in rows} == {
                ("A1 node1", "golden"),
                ("B2 node2", "runtime"),
                ("B2 node2", "peer"),
            }
            assert "state=critical" in page.url
            page.click("#checks th a[data-sort=node]")  # sort by node, in place
            rows = wait_rows(
                page, "checks", lambda r: [x[0] for x in r][:2] == ["A1 node1", "B2 node2"]
            )
            assert "sort=node" in page.url and page.input_value("select[name=sort]") == "node"
            page.fill("input[name=path]", "proto-fd")
            wait_rows(page, "differences", lambda r: r and all("proto-fd-max" in x[2] for x in r))

            # -- a difference links to its line in the node's conf
            page.click("#differences tr:nth-child(2) td:nth-child(4) a")
            page.wait_for_url(re.compile(r"/ui/conf\?node=node2#L4$"))
            assert page.inner_text("li:target").strip() == "proto-fd-max 16000"
            page.go_back()

            # -- fixed: all ok again
            page.goto(c.ui)
            c.confs[1].write_text(base)
            c.golden.write_text(base)
            c.cycle()
            wait_rows(page, "nodes", lambda r: len(r) == 3 and all(x[1] == "ok" for x in r))
            assert page.query_selector("#differences") is None

            # -- node3's agent stopped: its own state on the master's page
            c.bg.run(c.agents[2].stop(), 30)
            rows = wait_rows(page, "nodes", lambda r: len(r) == 3 and r[2][1] == "unreachable")
            assert rows[2][0] == "C3 node3"  # the name it answered with before
            unreachable = checks_row(cells(page, "checks"), "C3 node3", "")
            assert "127.0.0.1" in unreachable[-1]  # the reason, in the note column
            page.screenshot(path=str(shots / "unreachable.png"), full_page=True)
            assert not errors, errors
            assert not failed, failed
            assert len(urls) > 10 and not [u for u in urls if TOKEN in u]  # never in a URL
            assert TOKEN not in page.content()
            state = browser.storage_state()

        # -- JavaScript off: the server-rendered page, filters through the form
        with chromium(tmp_path, javascript=False) as browser:
            browser.add_cookies(state["cookies"])
            page = browser.new_page()
            page.goto(c.ui)
            assert len(cells(page, "nodes")) == 3
            page.select_option("select[name=state]", "unreachable")
            page.click("form.filters button[type=submit]")
            page.wait_for_url(re.compile(r"state=unreachable"))
            assert [r[0] for r in cells(page, "checks")] == ["C3 node3"]
    finally:
        stop(c)
    assert (shots / "drift.png").stat().st_size > 10_000


def checks_row(rows: list[list[str]], node: str, check: str) -> list[str]:
    for r in rows:
        if r[0] == node and r[1] == check:
            return r
    raise AssertionError(f"no row {node} {check} in {rows}")
