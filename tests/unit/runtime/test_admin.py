"""The admin (login) protocol (ascad.runtime.admin): bytes equal to asadm's."""

from __future__ import annotations

from ascad.runtime import admin
from ascad.runtime.info import encode_request
from tests.helpers import RUNTIME


def test_login_bytes_match_asadm_fixture() -> None:
    blocks = _admin_fixture()
    assert admin.login_request("admin", "admin", version=0) == blocks["login request"]
    # The C client's header version (2) is the only difference from asadm's packet.
    ours = admin.login_request("admin", "admin")
    assert ours[0] == 2 and ours[1:] == blocks["login request"][1:]
    token = blocks["login response part 2"][5:]
    assert admin.authenticate_request("admin", token, version=0) == blocks["authenticate request"]
    reply = blocks["login response part 1"] + blocks["login response part 2"]
    assert admin.parse_proto_header(reply[:8]) == (2, 2, len(reply) - 8)
    msg = admin.decode_admin(reply[8:])
    assert (msg.result, msg.fields) == (0, {admin.SESSION_TOKEN: token})
    assert admin.result_reply(0) == blocks["authenticate response"]
    assert admin.result_reply(60) == blocks["admin error response example"]
    assert encode_request(["node", "build"]) == blocks["info request"]


def _admin_fixture() -> dict[str, bytes]:
    blocks: dict[str, bytes] = {}
    title = ""
    text = (RUNTIME / "asadm-unit" / "admin-protocol-bytes.txt").read_text()
    for line in text.splitlines():
        if line.startswith("["):
            title = line[1:].split(":")[0].split(" (")[0].strip().rstrip("]")
        elif line.startswith("hex:"):
            blocks[title] = bytes.fromhex(line[4:])
    assert len(blocks) == 7
    return blocks
