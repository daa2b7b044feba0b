"""A handler that answers from captured ``*.info`` files, byte for byte.

Capture format (tests/fixtures/runtime/SOURCES.md): each file holds one line of a real info
reply body, ``command TAB value LF``; the file name is a slug of the command and is not needed,
because the command is in the line itself. Values are kept as the exact bytes (decoded with
``surrogateescape`` so that the server re-encodes the same bytes).
"""

from __future__ import annotations

from pathlib import Path

from ascad.errors import AscadError

# Discovery answers that name the captured machine's addresses; ``live_topology`` drops them so
# the emulator's own loopback topology is served instead (real clients connect to what they see).
TOPOLOGY_COMMANDS = frozenset(
    {
        "service",
        "services",
        "services-alumni",
        "service-clear-std",
        "service-tls-std",
        "service-clear-alt",
        "service-tls-alt",
        "peers-clear-std",
        "peers-tls-std",
        "peers-clear-alt",
        "peers-tls-alt",
        "alumni-clear-std",
        "alumni-tls-std",
        "peers-generation",
    }
)


def read_capture(path: Path) -> tuple[str, str]:
    """(command, value) from one ``*.info`` file; AscadError naming the file if malformed."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AscadError(f"cannot read capture: {exc.strerror}", str(path)) from None
    text = data.decode("utf-8", errors="surrogateescape")
    if not text.endswith("\n") or text.count("\n") != 1:
        raise AscadError("a capture must be exactly one line ending in LF", f"{path}:1")
    command, tab, value = text[:-1].partition("\t")
    if not tab or not command:
        raise AscadError("a capture line must be 'command<TAB>value'", f"{path}:1")
    return command, value


class ReplayHandler:
    """Answers the commands found in a directory of captures; None for anything else.

    ``overrides`` adds or replaces answers (a None value removes one). ``live_topology`` drops
    captured discovery answers (``service-clear-std``, ``peers-*``…) so the server's live
    loopback topology answers them instead.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        overrides: dict[str, str | None] | None = None,
        live_topology: bool = False,
    ) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise AscadError("capture directory not found", str(self.directory))
        self.answers: dict[str, str] = {}
        self.files: dict[str, Path] = {}
        for path in sorted(self.directory.glob("*.info")):
            command, value = read_capture(path)
            if command in self.answers:
                raise AscadError(
                    f"command {command!r} captured twice (also in {self.files[command].name})",
                    f"{path}:1",
                )
            self.answers[command] = value
            self.files[command] = path
        if live_topology:
            for command in TOPOLOGY_COMMANDS:
                self.answers.pop(command, None)
        for command, maybe in (overrides or {}).items():
            if maybe is None:
                self.answers.pop(command, None)
            else:
                self.answers[command] = maybe

    def answer(self, command: str) -> str | None:
        """The captured value for exactly this command string, or None."""
        return self.answers.get(command)
