"""Conf paths -> the set-config/log-set command that sets them (as/src/base/cfg_info.c)."""

from __future__ import annotations

import pytest

from ascad.runtime.setconfig import set_config_command
from ascad.sources.serverlog import params_paths

SINKS = {"logging.file[/var/log/aerospike.log]": "0", "logging.console": "1"}


@pytest.mark.parametrize(
    ("path", "value", "command"),
    [
        ("service.proto-fd-max", "15000", "set-config:context=service;proto-fd-max=15000"),
        (
            "network.heartbeat.interval",
            "150",
            "set-config:context=network;heartbeat.interval=150",
        ),
        (
            "namespace[test].default-ttl",
            "0",
            "set-config:context=namespace;id=test;default-ttl=0",
        ),
        (
            "namespace[test].storage-engine.defrag-lwm-pct",
            "50",
            "set-config:context=namespace;id=test;defrag-lwm-pct=50",
        ),
        (
            "namespace[test].set[s1].stop-writes-count",
            "5",
            "set-config:context=namespace;id=test;set=s1;stop-writes-count=5",
        ),
        (
            "security.ldap.polling-period",
            "600",
            "set-config:context=security;ldap.polling-period=600",
        ),
        ("xdr.src-id", "3", "set-config:context=xdr;src-id=3"),
        ("xdr.dc[DC1].period-ms", "100", "set-config:context=xdr;dc=DC1;period-ms=100"),
        (
            "xdr.dc[DC1].namespace[test].ship-only-specified-sets",
            "true",
            "set-config:context=xdr;dc=DC1;namespace=test;ship-only-specified-sets=true",
        ),
        (
            "logging.file[/var/log/aerospike.log].context[misc]",
            "info",
            "log-set:id=0;misc=INFO",
        ),
        ("logging.console.context[any]", "warning", "log-set:id=1;any=WARNING"),
    ],
)
def test_commands(path: str, value: str, command: str) -> None:
    assert set_config_command(path, value, SINKS) == command
    if command.startswith("set-config:") and "storage-engine" not in path:
        # the log line of that command names the same path again (sources.serverlog)
        assert params_paths(command.removeprefix("set-config:")) == [(path, value)]


@pytest.mark.parametrize(
    "path",
    [
        "namespace[test].storage-engine.file[0]",
        "network.heartbeat.mesh-seed-address-port[10.0.0.1:3002]",
        "network.tls[t1].cert-file",
        "logging.file[/other.log].context[misc]",
        "mod-lua.user-path",
    ],
)
def test_no_single_command(path: str) -> None:
    assert set_config_command(path, "x", SINKS) is None


def test_values_the_command_cannot_carry() -> None:
    assert set_config_command("service.cluster-name", "a;b", SINKS) is None
    assert set_config_command("service.x", "two words", SINKS) is None
