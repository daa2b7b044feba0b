"""astools.conf profiles: file order, [include], --instance sections, key checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascad.errors import AscadError
from ascad.runtime import astools


def conf(path: Path, text: str, mode: int = 0o600) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def test_later_files_win_key_by_key(tmp_path: Path) -> None:
    system = conf(tmp_path / "etc.conf", '[cluster]\nuser = "sys"\ntls-name = "a"\nauth = "PKI"\n')
    user = conf(tmp_path / "home.conf", '[cluster]\nuser = "me"\n')
    extra = conf(tmp_path / "extra.conf", '[cluster]\ntls-name = "b"\n')
    p = astools.load_profile([(system, False), (user, False), (extra, True)])
    assert p.values == {"user": "me", "tls-name": "b", "auth": "PKI"}
    assert p.origin == {"user": user, "tls-name": extra, "auth": system}
    assert p.files == [system, user, extra]


def test_default_files_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert astools.default_files("x.conf") == [
        ("/etc/aerospike/astools.conf", False),
        (str(tmp_path / ".aerospike" / "astools.conf"), False),
        ("x.conf", True),
    ]
    assert astools.default_files() == astools.default_files()[:2]


def test_missing_default_files_are_skipped_a_missing_config_file_is_not(tmp_path: Path) -> None:
    assert astools.load_profile([(str(tmp_path / "none"), False)]).values == {}
    with pytest.raises(AscadError, match="no such file"):
        astools.load_profile([(str(tmp_path / "none"), True)])


def test_instance_reads_only_its_section(tmp_path: Path) -> None:
    f = conf(
        tmp_path / "a.conf",
        '[cluster]\nuser = "plain"\ntls-name = "x"\n[cluster_east]\nuser = "east"\n'
        "[asadm]\ntimeout = 5\n[asinfo]\nanything = 1\n",
    )
    assert astools.load_profile([(f, True)]).values == {"user": "plain", "tls-name": "x"}
    assert astools.load_profile([(f, True)], "east").values == {"user": "east"}
    with pytest.raises(AscadError, match=r"no \[cluster_west\] section in .*a\.conf"):
        astools.load_profile([(f, True)], "west")


def test_include_file_and_directory_are_merged_over_the_file(tmp_path: Path) -> None:
    conf(tmp_path / "d" / "2.conf", '[cluster]\ntls-capath = "/two"\n')
    conf(tmp_path / "d" / "1.conf", '[cluster]\ntls-capath = "/one"\ntls-cafile = "/ca"\n')
    inc = conf(tmp_path / "inc.conf", '[cluster]\nuser = "included"\n')
    main = conf(
        tmp_path / "main.conf",
        f'[include]\nfile = "{inc}"\ndirectory = "{tmp_path / "d"}"\n[cluster]\nuser = "main"\n',
    )
    p = astools.load_profile([(main, True)])
    assert p.values == {"user": "included", "tls-capath": "/two", "tls-cafile": "/ca"}


def test_bad_keys_types_and_modes(tmp_path: Path) -> None:
    with pytest.raises(AscadError, match="unknown key 'hots'"):
        astools.load_profile([(conf(tmp_path / "a", '[cluster]\nhots = "h"\n'), True)])
    with pytest.raises(AscadError, match="tls-enable must be a bool"):
        astools.load_profile([(conf(tmp_path / "b", '[cluster]\ntls-enable = "yes"\n'), True)])
    with pytest.raises(AscadError, match="other users may read") as exc:
        astools.load_profile([(conf(tmp_path / "c", '[cluster]\npassword = "p"\n', 0o644), True)])
    assert 'p"' not in str(exc.value)
    with pytest.raises(AscadError, match=r"not valid TOML.*line 2"):
        astools.load_profile([(conf(tmp_path / "d", "[cluster]\nuser = \n"), True)])


def test_settings_ascad_does_not_honour_warn_and_addresses_are_not_used(tmp_path: Path) -> None:
    f = conf(
        tmp_path / "a",
        '[cluster]\nhost = "h:3000"\nport = 3000\ntls-protocols = "TLSv1.2"\n'
        "tls-crl-check = false\n",
    )
    p = astools.load_profile([(f, True)])
    assert p.values == {}
    assert p.warnings == [f"{f}: [cluster] tls-protocols is not used by ascad"]
