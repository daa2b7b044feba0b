"""Debian's Chromium as the browser tests, bench/dashboard.py and tools/dashboard_screenshot.py
start it (through Playwright): one list of flags for all three.

Headless, and none of Chromium's own connections (updates, sync, QUIC probes): the machine has no
internet, and those would fail noisily or slow the start.
"""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
