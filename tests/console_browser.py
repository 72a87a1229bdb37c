"""Headless Chromium for the console's browser tests: Debian's ``chromium`` and
``chromium-driver``, installed with apt-get where missing (as root), driven by Selenium with
the driver given by path (Selenium downloads nothing)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from pp_shared.testing.tools import apt_install

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


def installed() -> str | None:
    """None when Chromium and its driver are here (installed now if need be); else why not."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "chromium and chromium-driver are missing (apt-get install chromium chromium-driver)"
    # With its recommended packages (fonts among them), as a desktop install has them.
    error = apt_install("chromium", "chromium-driver", recommends=True)
    if not error and CHROMIUM.exists() and CHROMEDRIVER.exists():
        return None
    return f"could not install chromium with apt-get: {error[-300:]}"


def chromium(downloads: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--hide-scrollbars",
        # Nothing of Chromium's own (updates, sync, safe browsing) goes out either.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    return driver


def log(driver: webdriver.Chrome, kind: str) -> list[dict[str, Any]]:
    """Chromium's log of ``kind`` (browser, performance) since the last read."""
    entries: list[dict[str, Any]] = driver.get_log(kind)  # type: ignore[no-untyped-call]
    return entries


def requested_urls(driver: webdriver.Chrome) -> list[str]:
    """Every URL the pages asked for since the last call (Chromium's performance log)."""
    urls = []
    for entry in log(driver, "performance"):
        message: dict[str, Any] = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def foreign(urls: list[str]) -> list[str]:
    """The URLs that would leave this machine."""
    return [
        u for u in urls if not u.startswith("data:") and urlsplit(u).hostname not in LOCAL_HOSTS
    ]


def console_errors(driver: webdriver.Chrome) -> list[str]:
    return [e["message"] for e in log(driver, "browser") if e["level"] == "SEVERE"]
