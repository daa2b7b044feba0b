"""The emulator's per-version defaults (ascad.lab.emulator.defaults)."""

from __future__ import annotations

from ascad.lab.emulator.defaults import log_contexts


def test_log_contexts_depend_on_the_version() -> None:
    assert "deprecation" in log_contexts("8.1.2.2")
    assert "deprecation" not in log_contexts("8.0.0.1")
    old = log_contexts("6.4.0.1")
    assert "info-port" in old and "drv-mem" not in old
    assert old[:6] == ("misc", "alloc", "arenax", "hardware", "msg", "os")
    v5 = log_contexts("5.7.0.8")
    assert v5.index("rbuffer") == v5.index("msg") + 1
