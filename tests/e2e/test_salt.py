"""The Salt state applied for real: ``salt-call --local state.apply ascad`` as root, with the Salt
pinned in deploy/salt/test-requirements.txt (in .venv-salt/, made once by ``./dev salt-venv``),
the file root that ``./dev dist`` writes (the state, the wheel built here and its dependencies'
wheels, so pip installs offline) and the shipped pillar example with only its addresses, paths,
secrets and the install options changed. Every path the state writes is under a fresh temporary
root (``/opt/ascad`` -> ROOT/opt/ascad, ``/etc/ascad`` -> ROOT/etc/ascad, …).

systemd does not run here (no /run/systemd/system), so the state installs the unit files but
skips daemon-reload and the service; ``state.show_sls`` with ``systemd: true`` shows the compiled
requisites of the service steps, and ``systemd-analyze verify`` checks the installed unit with
its drop-in. The user and group states are applied for real once, with names made for the test
and removed afterwards.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ascad import __version__
from tests.e2e.conftest import Release
from tests.helpers import AGENT_CONF, ROOT, free_port, shared_tmp

DEPLOY = ROOT / "deploy"
SALT_VENV = ROOT / ".venv-salt"
TOKEN = "salt-test-token-7f3a9c"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="salt-call applies the state as root"),
]


@pytest.fixture(scope="module")
def salt_call() -> Path:
    """The pinned salt-call: ``./dev salt-venv`` makes .venv-salt when it is missing or its pin
    changed (about two minutes, once), else returns at once."""
    t0 = time.monotonic()
    proc = subprocess.run(
        ["bash", str(ROOT / "dev"), "salt-venv"],
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    print(f"salt venv ready in {time.monotonic() - t0:.1f} s")
    return SALT_VENV / "bin" / "salt-call"


@pytest.fixture
def fresh_root() -> Iterator[Path]:
    """An empty directory standing for /, readable by every user (pytest's tmp_path is under a
    0700 directory, and the agent's user must reach its conf)."""
    with shared_tmp("ascad-salt-") as path:
        yield path


class Minion:
    """A masterless minion: its config, file root and pillar under ``work``."""

    def __init__(self, salt_call: Path, work: Path, file_root: Path) -> None:
        self.salt_call = salt_call
        self.file_root = file_root
        self.conf = work / "salt-conf"
        self.pillar = work / "pillar"
        self.conf.mkdir(parents=True)
        self.pillar.mkdir()
        (self.conf / "minion").write_text(
            json.dumps(
                {
                    "file_client": "local",
                    "root_dir": str(work / "salt-root"),
                    "id": "aero-test",
                    "file_roots": {"base": [str(file_root)]},
                    "pillar_roots": {"base": [str(self.pillar)]},
                }
            )
        )
        # The shipped pillar example, rendered by Salt itself, then this test's overrides.
        shutil.copy(DEPLOY / "salt" / "pillar.example.sls", self.pillar / "ascad.sls")
        (self.pillar / "top.sls").write_text("base:\n  '*':\n    - ascad\n    - ascad-test\n")
        self.set_pillar({})

    def set_pillar(self, overrides: dict[str, Any]) -> None:
        (self.pillar / "ascad-test.sls").write_text(json.dumps({"ascad": overrides}, indent=1))

    def run(self, *args: str, timeout: float = 300) -> tuple[int, Any, float]:
        """``salt-call --local ARGS --out=json``: (exit status, the parsed ``local`` answer,
        seconds)."""
        t0 = time.monotonic()
        proc = subprocess.run(
            [
                str(self.salt_call),
                "--local",
                f"--config-dir={self.conf}",
                f"--file-root={self.file_root}",
                f"--pillar-root={self.pillar}",
                "--out=json",
                "--retcode-passthrough",
                "--log-level=quiet",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            cwd="/",
        )
        seconds = time.monotonic() - t0
        try:
            answer = json.loads(proc.stdout)["local"]
        except (ValueError, KeyError):
            raise AssertionError(f"salt-call {args}: {proc.stdout}\n{proc.stderr}") from None
        return proc.returncode, answer, seconds

    def apply(self, *args: str) -> tuple[int, dict[str, dict[str, Any]], float]:
        """``state.apply ascad ARGS``: (exit status, the results by state id, seconds)."""
        code, answer, seconds = self.run("state.apply", "ascad", *args)
        assert isinstance(answer, dict), answer  # a list is a render error
        return code, {r["__id__"]: r for r in answer.values()}, seconds


def paths(root: Path) -> dict[str, str]:
    return {
        "prefix": str(root / "opt/ascad"),
        "etc": str(root / "etc/ascad"),
        "state_dir": str(root / "var/lib/ascad"),
        "unit_dir": str(root / "etc/systemd/system"),
    }


def node_files(root: Path) -> tuple[Path, Path]:
    """The node's aerospike.conf and a golden copy of it."""
    conf = root / "etc/aerospike/aerospike.conf"
    golden = root / "srv/golden/aerospike.conf"
    for path in (conf, golden):
        path.parent.mkdir(parents=True)
        path.write_text(AGENT_CONF.read_text())
        path.chmod(0o644)
    for d in (root / "etc", root / "etc/aerospike", root / "srv", root / "srv/golden"):
        d.chmod(0o755)
    return conf, golden


def real_pillar(
    root: Path, python: str, node_port: int, agent_port: int, **extra: Any
) -> dict[str, Any]:
    """The overrides of a real apply: the paths under ``root``, the wheelhouse shipped with the
    state (pip --no-index), no packages (python3-venv and git are here), no systemd, and the
    settings' addresses, paths and secret. ``extra`` adds or replaces top-level keys."""
    conf, golden = root / "etc/aerospike/aerospike.conf", root / "srv/golden/aerospike.conf"
    pillar: dict[str, Any] = {
        "paths": paths(root),
        "token": TOKEN,
        "manage_user": False,
        "user": "root",
        "group": "root",
        "aerospike_group": "",
        "packages": [],
        "python": python,
        "systemd": False,
        "install": {"wheelhouse": "salt://ascad/files/wheels"},
        "settings": {
            "agent": {"conf": str(conf)},
            "aerospike": {"address": f"aerospike://127.0.0.1:{node_port}"},
            "golden": {"source": str(golden)},
            "server": {"listen": "127.0.0.1", "port": agent_port},
        },
    }
    pillar.update(extra)
    return pillar


def failed(results: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {sid: r["comment"] for sid, r in results.items() if r["result"] is False}


def changed(results: dict[str, dict[str, Any]]) -> set[str]:
    return {sid for sid, r in results.items() if r["changes"]}


def ascad_in(root: Path, *args: str, user: str | None = None, timeout: float = 60) -> Any:
    """The installed ascad (ROOT/opt/ascad/bin/ascad), with no path to this checkout; as
    ``user`` (with that user's groups, through runuser) when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASCAD_", "PYTHON"))}
    as_user = ["runuser", "-u", user, "--"] if user else []
    return subprocess.run(
        [*as_user, str(root / "opt/ascad/bin/ascad"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd="/",
        stdin=subprocess.DEVNULL,
    )


def test_state_test_mode_on_a_fresh_root_fails_nothing(
    salt_call: Path, release: Release, fresh_root: Path
) -> None:
    """``state.apply ascad test=True`` with the pillar example as shipped (user and group states,
    packages, the wheel from the file root) and only the paths moved: no state fails, nothing is
    made."""
    minion = Minion(salt_call, fresh_root / "work", release.salt)
    minion.set_pillar({"paths": paths(fresh_root), "systemd": False})
    code, results, seconds = minion.apply("test=True")
    print(f"state.apply test=True: {seconds:.1f} s")
    assert code == 0 and not failed(results), failed(results)
    assert {
        "ascad-user",
        "ascad-group",
        "ascad-aerospike-group",
        "ascad-venv",
        "ascad-wheel",
        "ascad-package",
        "ascad-settings",
        "ascad-check-config",
        "ascad-unit",
    } <= set(results)
    # would run, in that order: the venv before pip, pip before the settings check
    order = sorted(results, key=lambda sid: results[sid]["__run_num__"])
    assert order.index("ascad-venv") < order.index("ascad-package") < order.index("ascad-settings")
    assert order.index("ascad-aerospike-group") < order.index("ascad-user")
    assert results["ascad-package"]["result"] is None  # would run
    assert not (fresh_root / "opt").exists() and not (fresh_root / "etc").exists()


def test_state_apply_installs_the_wheel_and_guards_the_settings(
    salt_call: Path, release: Release, fresh_root: Path, base_python: str
) -> None:
    minion = Minion(salt_call, fresh_root / "work", release.salt)
    conf, _ = node_files(fresh_root)
    node_port, agent_port = free_port(), free_port()
    good = real_pillar(fresh_root, base_python, node_port, agent_port)
    minion.set_pillar(good)
    prefix, etc = fresh_root / "opt/ascad", fresh_root / "etc/ascad"

    # -- the first apply: everything made, nothing failed
    code, results, first = minion.apply()
    assert code == 0 and not failed(results), failed(results)
    print(f"first state.apply (venv, pip install of the wheel, files): {first:.1f} s")
    assert {"ascad-venv", "ascad-package", "ascad-settings", "ascad-token"} <= changed(results)
    proc = ascad_in(fresh_root, "--version")
    assert proc.stdout.strip() == f"ascad {__version__}"
    site = subprocess.run(
        [str(prefix / "bin/python"), "-c", "import ascad; print(ascad.__file__)"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
    ).stdout
    assert site.startswith(str(prefix / "lib")), site  # the wheel's, not this checkout's
    # the secret and the settings: 0640 root:GROUP; the settings name the secret, not hold it
    token = etc / "token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o640 and token.read_text().strip() == TOKEN
    toml = (etc / "ascad.toml").read_text()
    assert TOKEN not in toml and f'token_file = "{token}"' in toml
    assert f'state_dir = "{fresh_root / "var/lib/ascad"}"' in toml
    assert (fresh_root / "var/lib/ascad").is_dir()
    # the unit as shipped, a drop-in with this root's paths, and the docs it points to
    unit_dir = fresh_root / "etc/systemd/system"
    assert (unit_dir / "ascad.service").read_bytes() == (DEPLOY / "ascad.service").read_bytes()
    dropin = (unit_dir / "ascad.service.d/salt.conf").read_text()
    assert f"ExecStart=\nExecStart={prefix}/bin/ascad agent --config {etc}/ascad.toml" in dropin
    assert (prefix / "share/doc/ascad/docs/agent.md").is_file()
    assert f"Documentation=file://{prefix}/share/doc/ascad/docs/agent.md" in dropin
    analyze = shutil.which("systemd-analyze")
    if analyze:  # the installed unit and its drop-in, ExecStart the installed ascad
        proc = subprocess.run(
            [analyze, "verify", str(unit_dir / "ascad.service")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr

    # -- the installed ascad: --check-config, then a cycle against an emulated node
    proc = ascad_in(fresh_root, "agent", "--check-config", "--config", str(etc / "ascad.toml"))
    assert proc.returncode == 0, proc.stderr
    assert "settings are valid (role auto)" in proc.stdout
    emulator = subprocess.Popen(
        [str(prefix / "bin/ascad"), "emulator", "--base-port", str(node_port), str(conf)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd="/",
    )
    try:
        assert emulator.stdout is not None
        assert f"127.0.0.1:{node_port}" in emulator.stdout.readline()
        proc = ascad_in(fresh_root, "check", "--config", str(etc / "ascad.toml"))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "role master" in proc.stdout
        assert "== runtime: OK" in proc.stdout and "== golden: OK" in proc.stdout
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)

    # -- the second apply changes nothing (the check runs and reports no change)
    code, results, second = minion.apply()
    print(f"second state.apply (nothing to do): {second:.1f} s")
    assert code == 0 and not failed(results), failed(results)
    assert changed(results) == set()
    assert results["ascad-check-config"]["comment"] == "ascad agent --check-config: ok"

    # -- settings that fail the check never replace the file
    bad = json.loads(json.dumps(good))
    bad["settings"]["agent"]["conf"] = str(fresh_root / "etc/aerospike/missing.conf")
    minion.set_pillar(bad)
    before = (etc / "ascad.toml").read_bytes()
    code, results, _ = minion.apply()
    assert code != 0
    problems = failed(results)
    assert set(problems) == {"ascad-settings", "ascad-check-config"}, problems
    assert "missing.conf: no such file" in problems["ascad-settings"]
    assert "[agent] conf" in problems["ascad-settings"]
    assert (etc / "ascad.toml").read_bytes() == before

    # -- the guard runs every time: a conf gone since the last apply fails it
    minion.set_pillar(good)
    conf.rename(conf.with_suffix(".moved"))
    code, results, _ = minion.apply()
    assert code != 0
    assert set(failed(results)) == {"ascad-check-config"}
    assert f"{conf}: no such file" in failed(results)["ascad-check-config"]
    conf.with_suffix(".moved").rename(conf)

    # -- a venv without that version (an upgrade, or an install that failed half-way): pip runs
    subprocess.run(
        [str(prefix / "bin/pip"), "uninstall", "--yes", "--quiet", "ascad"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    code, results, _ = minion.apply()
    assert code == 0 and not failed(results), failed(results)
    assert changed(results) == {"ascad-package"}
    assert ascad_in(fresh_root, "--version").stdout.strip() == f"ascad {__version__}"


def test_state_with_systemd_compiles_the_service_steps(
    salt_call: Path, release: Release, fresh_root: Path, base_python: str
) -> None:
    """With ``systemd: true`` the service is started only after the settings check, restarted
    when the package or the unit changes and reloaded when the settings or a secret do
    (``state.show_sls``: the state as Salt compiles it, nothing applied)."""
    minion = Minion(salt_call, fresh_root / "work", release.salt)
    pillar = real_pillar(fresh_root, base_python, 3000, 9145, systemd=True)
    pillar["golden_token"] = "glpat-test"
    minion.set_pillar(pillar)
    code, compiled, _ = minion.run("state.show_sls", "ascad")
    assert code == 0 and isinstance(compiled, dict), compiled

    def args(sid: str) -> dict[str, Any]:
        body = compiled[sid]
        (module,) = [k for k in body if not k.startswith("__")]
        return {k: v for a in body[module] if isinstance(a, dict) for k, v in a.items()}

    service = args("ascad-service")
    assert "running" in compiled["ascad-service"]["service"]
    assert {"cmd": "ascad-check-config"} in service["require"]
    assert {"cmd": "ascad-systemd-reload"} in service["require"]
    assert service["watch"] == [
        {"cmd": "ascad-package"},
        {"file": "ascad-unit"},
        {"file": "ascad-unit-dropin"},
    ]
    reload = args("ascad-service-reload")
    assert reload["name"] == "systemctl reload ascad"
    assert reload["onchanges"] == [
        {"file": "ascad-settings"},
        {"file": "ascad-token"},
        {"file": "ascad-golden-token"},
    ]
    assert reload["require"] == [{"service": "ascad-service"}]
    assert args("ascad-systemd-reload")["onchanges"] == [
        {"file": "ascad-unit"},
        {"file": "ascad-unit-dropin"},
    ]
    check = args("ascad-check-config")
    assert "onchanges" not in check and check["stateful"] is True  # every run, as the user
    assert check["runas"] == "root"
    settings = args("ascad-settings")
    assert settings["check_cmd"].endswith("/bin/ascad agent --check-config --config")
    assert '"token_file": "' + str(fresh_root / "etc/ascad/golden-token") in json.dumps(
        settings["context"]
    )


def test_state_makes_the_user_and_runs_the_check_as_it(
    salt_call: Path, release: Release, fresh_root: Path, base_python: str
) -> None:
    """The user and group states for real, with names made for this test (removed afterwards):
    the agent's group, the group that may read aerospike.conf (made first: the user joins it),
    files owned root:GROUP, the state directory the user's, and the check run as the user."""
    if not all(p.stat().st_mode & 0o001 for p in Path(os.path.realpath(base_python)).parents):
        pytest.skip(f"{base_python} is under a directory other users cannot enter")
    suffix = secrets.token_hex(3)
    user, aero_group = f"ascadt{suffix}", f"ascadg{suffix}"
    minion = Minion(salt_call, fresh_root / "work", release.salt)
    node_files(fresh_root)
    pillar = real_pillar(
        fresh_root,
        base_python,
        free_port(),
        free_port(),
        manage_user=True,
        user=user,
        group=user,
        aerospike_group=aero_group,
    )
    minion.set_pillar(pillar)
    try:
        code, results, seconds = minion.apply()
        print(f"state.apply with the user states: {seconds:.1f} s")
        assert code == 0 and not failed(results), failed(results)
        entry = pwd.getpwnam(user)
        assert grp.getgrgid(entry.pw_gid).gr_name == user
        assert user in grp.getgrnam(aero_group).gr_mem
        assert entry.pw_shell == "/usr/sbin/nologin"
        etc = fresh_root / "etc/ascad"
        for path in (etc, etc / "token", etc / "ascad.toml"):
            st = path.stat()
            assert (st.st_uid, grp.getgrgid(st.st_gid).gr_name) == (0, user), path
        assert (fresh_root / "var/lib/ascad").stat().st_uid == entry.pw_uid
        assert results["ascad-check-config"]["comment"] == "ascad agent --check-config: ok"
        # the user reads its token through the group, and nobody else may
        assert stat.S_IMODE((etc / "token").stat().st_mode) == 0o640
        proc = ascad_in(
            fresh_root, "agent", "--check-config", "--config", str(etc / "ascad.toml"), user=user
        )
        assert proc.returncode == 0, proc.stderr
        proc = ascad_in(
            fresh_root,
            "agent",
            "--check-config",
            "--config",
            str(etc / "ascad.toml"),
            user="nobody",
        )
        assert proc.returncode == 2 and "Permission denied" in proc.stderr
    finally:
        subprocess.run(["userdel", user], capture_output=True, timeout=30)
        for group in (user, aero_group):
            subprocess.run(["groupdel", group], capture_output=True, timeout=30)
    with pytest.raises(KeyError):
        pwd.getpwnam(user)
    with pytest.raises(KeyError):
        grp.getgrnam(aero_group)
