"""An agent cycle as Riemann events (ascad.report.events): every field, and one UDP datagram even
for a huge cycle."""

from __future__ import annotations

from ascad.agent.settings import load_settings
from tests.helpers import LOOP


def test_events_of_a_huge_cycle_stay_under_the_udp_limit() -> None:
    """Every field as the issue gives it, and one Msg with all three events under 16384 bytes,
    even with 10,000 differences per check, a very long reason and 200 skipped masters."""
    from ascad.agent.daemon import build_events
    from ascad.checks.results import CheckResult, CycleResult
    from ascad.compare.diff import Difference
    from ascad.report.riemann import UDP_MAX_BYTES, encode_msg

    s = load_settings(data={**LOOP, "agent": {"node_name": "aero-1", "interval": "6h"}}, env={})
    diffs = [
        Difference(f"namespace[ns{i}].replication-factor", "changed", "2", "3", i + 1, i + 1)
        for i in range(10_000)
    ]
    fallback = "; ".join(
        f"N{i:03} http://10.0.0.{i % 250}:9145 unreachable (cannot connect: timeout)"
        for i in range(200)
    )
    cycle = CycleResult(
        "aero-1", "A1", "slave", "auto", "prod", "B2 http://b:9145", 1.7e9, 0.5,
        [
            CheckResult("runtime", "warning", reason="x" * 100_000, finished=1.7e9),
            CheckResult("peer", "critical", diffs, master="B2 http://b:9145", fallback=fallback,
                        left="/etc/aerospike/aerospike.conf", right="http://b:9145/v1/config",
                        finished=1.7e9),
            CheckResult("golden", "ok", [], left="a", right="b", finished=1.7e9),
        ],
    )  # fmt: skip
    events = build_events(cycle, s)
    assert len(encode_msg(events)) < UDP_MAX_BYTES
    by = {e.service: e for e in events}
    assert set(by) == {"ascad runtime", "ascad peer", "ascad golden"}
    peer = by["ascad peer"]
    assert (peer.host, peer.state, peer.metric_d, peer.ttl) == (
        "aero-1",
        "critical",
        10_000,
        6 * 3600 * 2.5,
    )
    assert not peer.HasField("metric_sint64") and not peer.HasField("metric_f")
    assert list(peer.tags) == ["ascad", "aerospike"]
    attrs = {a.key: a.value for a in peer.attributes}
    assert attrs["cluster"] == "prod" and attrs["role"] == "slave"
    assert attrs["master"] == "B2 http://b:9145"
    assert attrs["fallback"].startswith("N000 http://10.0.0.0:9145 unreachable")
    assert len(attrs["fallback"].encode()) <= 512
    lines = peer.description.split("\n")
    assert lines[0].startswith("master fallback: N000")
    assert lines[1].startswith(
        "namespace[ns0].replication-factor: 2 (/etc/aerospike/aerospike.conf:1) -> 3 ("
    )
    assert lines[-1].startswith("… and ") and lines[-1].endswith(" more")
    runtime = by["ascad runtime"]
    assert (runtime.state, runtime.metric_d) == ("warning", 0)
    assert runtime.description.startswith("could not run: xxx") and len(runtime.description) <= 4096
    golden = by["ascad golden"]
    assert (golden.state, golden.metric_d, golden.description) == (
        "ok",
        0,
        "no differences (a vs b)",
    )


def test_a_check_judged_by_a_3x_build_says_so_in_its_event_and_status() -> None:
    """A 3.14 node is older than every schema: the event's description and the status document
    carry the typed warning (checks.results.VersionWarning)."""
    from ascad.agent.daemon import build_events
    from ascad.checks.results import CheckResult, CycleResult, version_warnings
    from ascad.report.status import check_to_dict

    s = load_settings(data={**LOOP, "agent": {"node_name": "aero-1", "interval": "6h"}}, env={})
    [w] = version_warnings("3.14.1.1", None, "8.1.2.2")
    assert (w.kind, w.build) == ("older_than_table", "3.14.1.1")
    check = CheckResult("runtime", "ok", [], left="a", right="b", finished=1.7e9)
    check.version_warnings = [w]
    cycle = CycleResult("aero-1", "A1", "slave", "auto", "prod", None, 1.7e9, 0.5, [check])
    [event] = build_events(cycle, s)
    assert event.description.startswith("warning: server 3.14.1.1 is older than the oldest")
    assert check_to_dict(check)["version_warnings"] == [w.to_dict()]
