"""`ascad fix CONF NODE` against an emulated node: the commands, --apply (the node then compares
equal), the first refusal stops, --write-back (a diff; --in-place with a backup), and the
ambiguous refused."""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from ascad.cli import main
from ascad.lab.emulator.cluster import EmulatorCluster
from ascad.lab.emulator.node import load_node
from ascad.runtime.info import InfoClient
from tests.helpers import CONF_81, call_with_emulated

DRIFT = (
    "set-config:context=service;proto-fd-max=20000",
    "set-config:context=namespace;id=test;default-ttl=86400",
    "set-config:context=network;heartbeat.interval=250",
    "log-set:id=0;misc=detail",
)


def drifted(commands: tuple[str, ...] = DRIFT) -> Callable[[EmulatorCluster], Awaitable[None]]:
    async def setup(cluster: EmulatorCluster) -> None:
        async with InfoClient("127.0.0.1", cluster.nodes[0].port, timeout=5) as client:
            for command in commands:
                assert await client.info(command) == "ok", command

    return setup


def conf_copy(tmp: Path) -> Path:
    conf = tmp / "aerospike.conf"
    shutil.copy(CONF_81, conf)
    return conf


def run(conf: Path, *argv_of: Callable[[str], list[str]], edit: str | None = None):  # type: ignore[no-untyped-def]
    """Each ``argv_of(node)`` in turn against one drifted emulated node; the conf may be edited
    (``edit``: old=>new) after the node started."""
    node = load_node(str(conf), build="8.1.2.2")
    if edit:
        old, new = edit.split("=>")
        conf.write_text(conf.read_text().replace(old, new))

    def cli(cluster: EmulatorCluster) -> list[int]:
        spec = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
        return [main(f(spec)) for f in argv_of]

    return call_with_emulated([node], cli, setup=drifted())


def test_prints_the_commands_and_the_restarts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = conf_copy(tmp_path)
    (rc,) = run(
        conf,
        lambda n: ["fix", str(conf), n],
        edit="replication-factor 2=>replication-factor 3",
    )
    out = capsys.readouterr().out
    assert rc == 1
    assert "-v 'set-config:context=service;proto-fd-max=15000'" in out
    assert "-v 'set-config:context=namespace;id=test;default-ttl=0'" in out
    assert "-v 'set-config:context=network;heartbeat.interval=150'" in out
    assert "-v 'log-set:id=0;misc=INFO'" in out
    assert out.count("asinfo -h 127.0.0.1 -p ") == 4
    assert "namespace[test].replication-factor: file 3 (line 43), running 2 (static" in out


def test_apply_then_the_node_compares_equal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = conf_copy(tmp_path)
    rc_fix, rc_diff = run(
        conf, lambda n: ["fix", str(conf), n, "--apply"], lambda n: ["diff", str(conf), n]
    )
    out = capsys.readouterr().out
    assert rc_fix == 0, out
    assert out.count("applied: ") == 4
    assert "now equal: service.proto-fd-max" in out
    assert "now equal: logging.file[/var/log/aerospike.log].context[misc]" in out
    assert "now compares equal to" in out
    assert rc_diff == 0


def test_apply_stops_at_the_first_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = conf_copy(tmp_path)
    # the file asks for a value the node refuses (above the schema's maximum, 100)
    text = conf.read_text().replace(
        "proto-fd-max 15000", "proto-fd-max 15000\n    migrate-threads 200"
    )
    conf.write_text(text)
    node = load_node(str(conf), build="8.1.2.2")
    node.service.values["migrate-threads"] = "1"

    def cli(cluster: EmulatorCluster) -> int:
        spec = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
        return main(["fix", str(conf), spec, "--apply"])

    rc = call_with_emulated([node], cli, setup=drifted(DRIFT[0:2]))
    out, err = capsys.readouterr()
    assert rc == 2
    assert "applied: set-config:context=service;proto-fd-max=15000" in out
    assert "set-config:context=service;migrate-threads=200: refused" in err
    assert "default-ttl" not in out  # after the refusal: not sent


def test_write_back_prints_a_diff_and_in_place_keeps_a_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = conf_copy(tmp_path)
    before = conf.read_bytes()
    rc_print, rc_write, rc_diff = run(
        conf,
        lambda n: ["fix", str(conf), n, "--write-back"],
        lambda n: ["fix", str(conf), n, "--write-back", "--in-place"],
        lambda n: ["diff", str(conf), n],
    )
    out, err = capsys.readouterr()
    assert (rc_print, rc_write, rc_diff) == (1, 0, 0), out + err
    assert "-    proto-fd-max 15000\n+    proto-fd-max 20000\n" in out
    assert "-        context misc info\n" not in out  # the conf has only `context any info`
    backups = list(tmp_path.glob("aerospike.conf.*.bak"))
    assert len(backups) == 1 and backups[0].read_bytes() == before
    after = conf.read_bytes().split(b"\n")
    old = before.split(b"\n")
    ops = difflib.SequenceMatcher(a=old, b=after, autojunk=False).get_opcodes()
    changes = [(old[i1:i2], after[j1:j2]) for tag, i1, i2, j1, j2 in ops if tag != "equal"]
    # every other line byte-identical: three values replaced, one context line added
    assert changes == [
        ([b"    proto-fd-max 15000"], [b"    proto-fd-max 20000"]),
        ([], [b"        context misc detail"]),
        ([b"        interval 150"], [b"        interval 250"]),
        ([b"    default-ttl 0"], [b"    default-ttl 86400"]),
    ]


def test_ambiguous_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = conf_copy(tmp_path)
    # a namespace the node does not run: a stanza only on one side
    rc_apply, rc_wb = run(
        conf,
        lambda n: ["fix", str(conf), n, "--apply"],
        lambda n: ["fix", str(conf), n, "--write-back"],
        edit="namespace test {=>namespace extra {\n    replication-factor 2\n}\nnamespace test {",
    )
    err = capsys.readouterr().err
    assert rc_apply == 2 and rc_wb == 2
    assert "refusing to apply: namespace[extra] is only in the conf" in err
    assert "refusing to write back: namespace[extra] is only in the conf" in err


SAMPLES = sorted((Path(__file__).parents[1] / "fixtures" / "confs").glob("*.conf"))


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_write_back_on_every_sample_keeps_every_other_line(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each sample conf served by an emulated node, one value changed there by a real
    set-config (service proto-fd-max): ``fix --write-back --in-place`` changes that one line (or
    adds it to the service stanza) and nothing else, and the node then compares equal."""
    conf = tmp_path / "aerospike.conf"
    shutil.copy(sample, conf)
    before = conf.read_bytes()
    node = load_node(str(conf), build="8.1.2.2")
    running = int(node.service.values.get("proto-fd-max") or 15000) + 1

    def cli(cluster: EmulatorCluster) -> tuple[int, int]:
        spec = f"aerospike://127.0.0.1:{cluster.nodes[0].port}"
        rc = main(["fix", str(conf), spec, "--write-back", "--in-place"])
        return rc, main(["diff", str(conf), spec, "--format", "json"])

    rc_fix, rc_diff = call_with_emulated(
        [node], cli, setup=drifted((f"set-config:context=service;proto-fd-max={running}",))
    )
    out = capsys.readouterr().out
    if sample.name == "real-5.7-xdr-tls-28ns.conf":
        # its one difference is a stanza only in the conf: refused, nothing written
        assert rc_fix == 2 and conf.read_bytes() == before
        return
    assert rc_fix == 0, out
    old, new = before.split(b"\n"), conf.read_bytes().split(b"\n")
    ops = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    changes = [(old[i1:i2], new[j1:j2]) for tag, i1, i2, j1, j2 in ops if tag != "equal"]
    assert len(changes) == 1, changes
    gone, added = changes[0]
    (line,) = added
    assert line.split(b"#")[0].split() == [b"proto-fd-max", str(running).encode()]
    if gone:  # the conf stated it: the same line, its value replaced, the rest kept
        (was,) = gone
        assert was.split()[0] == b"proto-fd-max"
        assert line[: len(line) - len(line.lstrip())] == was[: len(was) - len(was.lstrip())]
    assert rc_diff == 0, out
