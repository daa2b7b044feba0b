"""docs/dashboard.png: the master's /ui/ page of `ascad demo --keep`, as Chromium shows it at
1280 px wide (Debian's chromium through Playwright, as the browser tests drive it).

Run: .venv/bin/python tools/dashboard_screenshot.py [OUT.png]
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from chromium import CHROMIUM, CHROMIUM_ARGS  # tools/chromium.py, beside this script

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    out = Path(argv[0]) if argv else ROOT / "docs" / "dashboard.png"
    exe = Path(sys.executable).with_name("ascad")
    demo = subprocess.Popen([str(exe), "demo", "--keep"], stdout=subprocess.PIPE, text=True)
    try:
        assert demo.stdout is not None
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                raise SystemExit("the demo ended before printing its /ui/ address")
            m = re.match(r"\s+dashboard\s+(\S+/ui/)$", line)
            url = m.group(1) if m else None
        if url is None:
            raise SystemExit("no /ui/ address within 120 s")
        with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 800},
            )  # fmt: skip
            page = ctx.new_page()
            page.goto(url)
            page.fill("#token", "demo-token")
            page.click("button[type=submit]")
            page.wait_for_selector("#nodes")
            page.screenshot(path=str(out), full_page=True)
            ctx.close()
        print(f"wrote {out}")
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(60)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
