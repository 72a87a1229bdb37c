"""The console in a real headless Chromium against the four services as processes: sign in,
an area's overview, a clause, a breach acknowledged, a rule made with its preview, a CSV
downloaded; the numbers on the pages are the API's; no console errors, no request leaves the
machine. A HATE analyst reaches nothing of VBDA by URL; an action without its CSRF token is
refused. One stack and one browser for the module. Screenshots are written to
``test-artifacts/console`` (``PP_TEST_ARTIFACTS``), and the README's two to
``PP_CONSOLE_SCREENSHOTS`` when it is set."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import pytest

from pp_gateway.console import demo
from pp_shared.devstack.stack import ServiceGroup
from pp_shared.testing.apps import make_api_key, running_stack
from pp_shared.testing.servers import Servers, create_database, drop_database, with_database

from .console_browser import chromium, console_errors, foreign, installed, log, requested_urls

pytestmark = pytest.mark.e2e
T = TypeVar("T")
WAIT = 30.0
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("PP_TEST_ARTIFACTS", REPO / "test-artifacts")) / "console"
why_not = installed()
if why_not is not None:
    pytest.skip(f"no headless Chromium: {why_not}", allow_module_level=True)

from selenium.webdriver import Chrome as WebDriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402 - only once Chromium is known
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


def until(probe: Callable[[], T | None], what: str, timeout: float = WAIT) -> T:
    """Call ``probe`` until it gives something truthy (a condition, never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


class Console:
    """The stack, an admin API client, a HATE analyst's key and the browser."""

    def __init__(self, group: ServiceGroup, driver: WebDriver, downloads: Path) -> None:
        self.group = group
        self.url = group.child("api-gateway").url
        self.driver = driver
        self.downloads = downloads
        assert group.api_key is not None
        self.admin_key = group.api_key
        self.api = httpx.Client(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {group.api_key}"}
        )
        self.hate_key = make_api_key(group.env, "analyst", ["HATE"])

    def open(self, path: str) -> None:
        self.driver.get(self.url + path)

    def sign_in(self, key: str) -> None:
        self.driver.delete_all_cookies()
        self.open("/sign-in")
        self.driver.find_element(By.ID, "key").send_keys(key)
        self.driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        until(lambda: "/sign-in" not in self.driver.current_url, "signed in")

    def shot(self, name: str, *, readme: bool = False) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
        target = os.environ.get("PP_CONSOLE_SCREENSHOTS")
        if readme and target:
            Path(target).mkdir(parents=True, exist_ok=True)
            self.driver.save_screenshot(str(Path(target) / f"{name}.png"))

    def clean(self) -> None:
        """No console errors and no request to another host since the last check."""
        assert console_errors(self.driver) == []
        assert foreign(requested_urls(self.driver)) == []

    def cells(self, table: str) -> dict[tuple[str, str], dict[str, str]]:
        """A card table's ``data-value`` of each field, by (metric, statistic)."""
        out: dict[tuple[str, str], dict[str, str]] = {}
        for row in self.driver.find_elements(
            By.CSS_SELECTOR, f"table[data-table={table}] tbody tr"
        ):
            key = (
                row.get_attribute("data-metric") or "",
                row.get_attribute("data-statistic") or "",
            )
            out[key] = {
                c.get_attribute("data-field") or "": c.get_attribute("data-value") or ""
                for c in row.find_elements(By.CSS_SELECTOR, "td[data-field]")
            }
        return out


def _value(v: Any) -> str:
    return "" if v is None else str(v)


def card_of(api: dict[str, Any]) -> dict[tuple[str, str], dict[str, str]]:
    return {
        (r["metric"], r["statistic"]): {
            f: _value(r[f]) for f in ("current", "previous", "change", "current_sample")
        }
        for r in api["rows"]
    }


def window_start(end: datetime, days: int) -> datetime:
    """The first day bucket of a period of ``days`` ending at ``end`` (the console's)."""
    return (end - timedelta(days=days)).replace(hour=0)


def day_window() -> dict[str, str]:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return {"from": (end - timedelta(days=1)).strftime(fmt), "to": end.strftime(fmt)}


@pytest.fixture(scope="module")
def console(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    name = asyncio.run(create_database(servers.database_url))
    env = {
        "PP_DATABASE_URL": with_database(servers.database_url, name),
        "PP_KAFKA_BOOTSTRAP_SERVERS": servers.kafka_bootstrap,
        "PP_TOPIC_PREFIX": f"t{secrets.token_hex(5)}.",
        "PP_KAFKA_SESSION_TIMEOUT_MS": str(servers.session_timeout_ms),
        "PP_ALERT_EVALUATION_INTERVAL_SECONDS": "1",
    }
    downloads = tmp_path_factory.mktemp("downloads")
    try:
        with running_stack(env, tmp_path_factory.mktemp("logs")) as group:
            driver = chromium(downloads)
            try:
                made = Console(group, driver, downloads)
                now = datetime.now(UTC)
                plan = demo.DemoPlan(days=5, escalations_per_day=150, seed=3)
                demo.load(made.api, plan, now=now, timeout=60)
                demo.make_rules(made.api)
                demo.make_launch(made.api, now=now, days=plan.days)
                until(
                    lambda: made.api.get("/v1/breaches", params={"state": "firing"}).json()[
                        "breaches"
                    ],
                    "a firing breach",
                )
                yield made
            finally:
                driver.quit()
                made.api.close()
    finally:
        asyncio.run(drop_database(servers.database_url, name))


class TestConsole:
    def test_the_overview_shows_the_apis_numbers(self, console: Console) -> None:
        console.open("/")
        assert "/sign-in" in console.driver.current_url
        console.sign_in(console.admin_key)
        assert console.driver.current_url.endswith("/areas/HATE")
        card = console.api.get("/v1/insights/cards", params={"area": "HATE", **day_window()})
        assert console.cells("card") == card_of(card.json())
        assert len(console.driver.find_elements(By.CSS_SELECTOR, "svg.spark")) == 6
        firing = console.driver.find_elements(
            By.CSS_SELECTOR, "table[data-table=breaches] tr[data-breach]"
        )
        assert firing
        console.shot("overview", readme=True)
        console.driver.set_window_size(390, 844)
        console.open("/areas/HATE")
        # Readable on a phone: nothing wider than the screen but the tables' own scrollers.
        width = console.driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390
        console.shot("overview-390px")
        console.driver.set_window_size(1280, 900)
        console.clean()

    def test_a_clause_page_with_trend_launch_and_drilldown(self, console: Console) -> None:
        console.sign_in(console.admin_key)
        console.open("/clauses/HATE.PROTECTED_ATTR.RACE?period=7d&metric=volume&group_by=region")
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        window = {
            "from": (end - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "to": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        card = console.api.get(
            "/v1/insights/cards", params={"clause_id": "HATE.PROTECTED_ATTR.RACE", **window}
        )
        assert console.cells("card") == card_of(card.json())
        trend = console.api.get(
            "/v1/insights/trends",
            params={
                "metric": "volume",
                "clause_id": "HATE.PROTECTED_ATTR.RACE",
                "interval": "day",
                "group_by": "region",
                **window,
            },
        ).json()
        # Every day of the period for every region: a day without escalations is 0.
        days = (end - window_start(end, 7)).days + (1 if end.hour else 0)
        regions = {r["region"] for r in trend["rows"]}
        rows = console.driver.find_elements(By.CSS_SELECTOR, "table[data-table=trend] tbody tr")
        assert len(rows) == days * len(regions)
        shown = sorted(
            int(c.get_attribute("data-value") or "x")
            for c in console.driver.find_elements(
                By.CSS_SELECTOR, "table[data-table=trend] td[data-field=value]"
            )
        )
        zeros = days * len(regions) - len(trend["rows"])
        assert shown == sorted([0] * zeros + [r["value"] for r in trend["rows"]])
        assert console.driver.find_elements(By.CSS_SELECTOR, "tr[data-gap]") == []
        assert [m["title"] for m in trend["launches"]] == ["Race attacks FAQ, second round"]
        assert len(console.driver.find_elements(By.CSS_SELECTOR, "svg.trend g.launch")) == 1
        assert console.driver.find_elements(By.CSS_SELECTOR, "table[data-table=drilldown]")
        # The picture of the README: the card's last rows and the trend with its launch.
        console.driver.execute_script("document.getElementById('trend').scrollIntoView()")
        console.driver.execute_script("window.scrollBy(0, -120)")
        console.shot("clause", readme=True)
        console.clean()

    def test_a_breach_acknowledged_from_its_page(self, console: Console) -> None:
        console.sign_in(console.admin_key)
        console.open("/breaches")
        link = console.driver.find_element(
            By.CSS_SELECTOR, "table[data-table=breaches] tr[data-breach] a"
        )
        breach_id = int(link.text.lstrip("#"))
        link.click()
        until(lambda: console.driver.find_elements(By.ID, "ack"), "the breach page")
        value = console.driver.find_element(By.CSS_SELECTOR, "dd[data-field=value]")
        api = console.api.get(f"/v1/breaches/{breach_id}").json()
        assert value.get_attribute("data-value") == _value(api["evidence"]["value"])
        console.driver.find_element(By.ID, "note").send_keys("looking at the queue")
        console.driver.find_element(By.ID, "ack").click()
        until(lambda: "done=acknowledged" in console.driver.current_url, "acknowledged")
        shown = console.driver.find_element(By.CSS_SELECTOR, "dd[data-field=acknowledged_by]").text
        assert shown.startswith("tests, ")
        after = console.api.get(f"/v1/breaches/{breach_id}").json()
        assert after["acknowledged_by"] == "tests"
        assert after["timeline"][-1]["kind"] == "acknowledged"
        console.shot("breach")
        console.clean()

    def test_a_rule_made_after_its_preview(self, console: Console) -> None:
        console.sign_in(console.admin_key)
        console.open("/rules/new")
        find = console.driver.find_element
        find(By.NAME, "id").send_keys("browser-rule")
        find(By.NAME, "name").send_keys("HATE clauses over 5 a day")
        Select(find(By.NAME, "area")).select_by_visible_text("HATE")
        find(By.CSS_SELECTOR, "input[name=group_by][value=clause_id]").click()
        threshold = find(By.NAME, "threshold")
        threshold.clear()
        threshold.send_keys("5")
        sample = find(By.NAME, "min_sample")
        sample.clear()
        sample.send_keys("1")
        find(By.ID, "preview-button").click()
        WebDriverWait(console.driver, WAIT).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#preview table[data-table=preview]")
        )
        spec = {
            "id": "browser-rule",
            "name": "HATE clauses over 5 a day",
            "metric": "volume",
            "scope": {"area": ["HATE"]},
            "group_by": ["clause_id"],
            "window": "24h",
            "condition": {"kind": "threshold", "op": ">", "threshold": 5},
            "min_sample": 1,
            "channels": [],
        }
        api = console.api.post("/v1/rules/preview", json=spec).json()
        breaching = console.driver.find_elements(By.CSS_SELECTOR, "#preview tr[data-breaching=yes]")
        assert len(breaching) == sum(1 for g in api["groups"] if g["breaching"])
        console.shot("rule-preview")
        find(By.ID, "save").click()
        until(lambda: console.driver.current_url.endswith("/rules/browser-rule"), "the rule's page")
        made = console.api.get("/v1/rules/browser-rule").json()
        assert (made["version"], made["updated_by"]) == (1, "tests")
        assert made["spec"]["condition"]["threshold"] == 5.0
        console.clean()

    def test_a_table_downloaded_as_the_apis_csv(self, console: Console) -> None:
        console.sign_in(console.admin_key)
        console.open("/areas/HATE")
        link = console.driver.find_element(By.CSS_SELECTOR, "a.csv")
        href = link.get_attribute("href") or ""
        link.click()
        saved = until(lambda: [p for p in console.downloads.glob("*.csv")], "a downloaded CSV")
        query = href.split("?", 1)[1]
        api = console.api.get(f"/v1/insights/cards?{query}", headers={"Accept": "text/csv"})
        assert saved[0].read_bytes() == api.content
        assert api.content.startswith(b"metric,")
        console.clean()

    def test_a_hate_analyst_reaches_nothing_of_vbda(self, console: Console) -> None:
        console.sign_in(console.hate_key)
        for path in ("/areas/HATE", "/breaches", "/rules", "/launches"):
            console.open(path)
            assert "VBDA" not in console.driver.page_source, path
        # The taxonomy's guidance may name other areas in words; its areas and clauses are
        # the key's only.
        console.open("/taxonomy")
        clauses = console.driver.find_elements(By.CSS_SELECTOR, "details.clause summary a")
        assert clauses
        assert all((c.text or "").startswith("HATE.") for c in clauses)
        refused = (
            "/areas/VBDA",
            "/clauses/VBDA.THREATS",
            "/csv/v1/insights/cards?area=VBDA&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z",
            "/rules/demo-unclear-share",
            "/calibration",
        )
        for path in refused:
            console.open(path)
            status = console.driver.find_element(By.CSS_SELECTOR, "[data-status]")
            assert status.get_attribute("data-status") in ("403", "404"), path
        console.shot("analyst-refused")
        # The page refused with 403 logs that status in the browser's console: expected here.
        log(console.driver, "browser")
        assert foreign(requested_urls(console.driver)) == []

    def test_an_action_without_its_csrf_token_is_refused(self, console: Console) -> None:
        console.sign_in(console.admin_key)
        cookie = console.driver.get_cookie("pp_console")
        assert cookie is not None
        assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
        breaches = console.api.get("/v1/breaches", params={"state": "firing"}).json()["breaches"]
        target = next(b for b in breaches if b["acknowledged_by"] is None)
        with httpx.Client(base_url=console.url, cookies={"pp_console": cookie["value"]}) as browser:
            refused = browser.post(f"/breaches/{target['id']}/ack", data={"note": "forged"})
            wrong = browser.post(
                f"/breaches/{target['id']}/ack", data={"note": "forged", "csrf_token": "x" * 43}
            )
            signed_in = browser.get("/areas/HATE")
            forms = [
                browser.post("/taxonomy/simulate", data={"draft": "{}", "days": "7"}).status_code,
                browser.post(
                    "/taxonomy/simulate",
                    files={"draft_file": ("d.json", b"{}")},
                    data={"csrf_token": "x" * 43},
                ).status_code,
                browser.post("/launches", data={"title": "forged"}).status_code,
            ]
        assert (refused.status_code, wrong.status_code, signed_in.status_code) == (403, 403, 200)
        assert forms == [403, 403, 403]
        assert console.api.get(f"/v1/breaches/{target['id']}").json()["acknowledged_by"] is None

    def test_sign_out_and_a_revoked_key_end_the_session(self, console: Console) -> None:
        made = console.api.post(
            "/v1/keys",
            json={"role": "analyst", "owner": "dana", "name": "to revoke", "areas": ["HATE"]},
        )
        analyst = made.json()["key"]
        console.sign_in(analyst)
        console.open("/breaches")
        assert "/sign-in" not in console.driver.current_url
        assert console.api.delete(f"/v1/keys/{analyst[:12]}").status_code == 204
        console.open("/breaches")
        assert "/sign-in" in console.driver.current_url
        console.sign_in(console.admin_key)
        console.driver.find_element(By.CSS_SELECTOR, ".who button").click()
        until(lambda: "/sign-in" in console.driver.current_url, "signed out")
        console.open("/areas/HATE")
        assert "/sign-in" in console.driver.current_url
        console.clean()

    def test_a_draft_simulated_from_the_taxonomy_page(self, console: Console) -> None:
        # A draft whose race clause matches a word of most generated texts: they move to it.
        draft = console.api.get("/v1/taxonomy").json()
        draft["version"] = "2099.1.0"
        race = next(c for a in draft["areas"] for c in a["clauses"] if c["id"] == demo.CLAUSE)
        race["lexicon"]["en"] = [*race["lexicon"]["en"], "policy"]
        path = console.downloads / "draft.json"
        path.write_text(json.dumps(draft))
        console.sign_in(console.hate_key)
        console.open("/taxonomy")
        assert console.driver.find_elements(By.ID, "simulate-form") == []  # analysts may not
        console.sign_in(console.admin_key)
        console.open("/taxonomy")
        console.driver.find_element(By.ID, "draft_file").send_keys(str(path))
        Select(console.driver.find_element(By.ID, "days")).select_by_value("7")
        console.driver.find_element(By.ID, "simulate").click()
        until(
            lambda: console.driver.find_elements(By.CSS_SELECTOR, "dd[data-field=examined]"),
            "the simulation's outcome",
        )
        api = console.api.post("/v1/taxonomy/simulate", params={"days": 7}, json=draft).json()
        shown = {
            f: console.driver.find_element(By.CSS_SELECTOR, f"dd[data-field={f}]").get_attribute(
                "data-value"
            )
            for f in ("stored", "declared", "examined", "changed")
        }
        assert shown == {f: str(api[f]) for f in ("stored", "declared", "examined", "changed")}
        assert api["changed"] > 0
        rows = console.driver.find_elements(
            By.CSS_SELECTOR, "table[data-table=simulation-clauses] tbody tr[data-clause]"
        )
        assert [r.get_attribute("data-clause") for r in rows] == [
            c["clause_id"] for c in api["clauses"]
        ]
        gained = console.driver.find_element(
            By.CSS_SELECTOR, f"tr[data-clause='{demo.CLAUSE}'] td[data-field=gained]"
        )
        shift = next(c for c in api["clauses"] if c["clause_id"] == demo.CLAUSE)
        assert gained.get_attribute("data-value") == str(shift["gained"])
        assert shift["gained"] > 0
        console.driver.find_element(By.CSS_SELECTOR, "a[download='simulation-clauses.csv']").click()
        saved = until(
            lambda: [p for p in console.downloads.glob("simulation-clauses*.csv")], "the CSV"
        )
        lines = saved[0].read_text().splitlines()
        assert lines[0] == "clause_id,area,current,draft,gained,lost"
        assert len(lines) == 1 + len(api["clauses"])
        console.shot("simulation")
        console.clean()

    def test_agreement_in_production_with_its_numbers(self, console: Console) -> None:
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        window = {
            "from": (end - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "to": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        # As an alert on production_kappa links to it, grouped by region.
        console.sign_in(console.admin_key)
        console.open(
            f"/calibration/agreement?interval=all&area=HATE&group_by=region&{urlencode(window)}"
        )
        api = console.api.get(
            "/v1/calibration/production/agreement",
            params={"interval": "all", "area": "HATE", "group_by": "region", **window},
        ).json()
        assert api["rows"]
        shown = [
            c.get_attribute("data-value")
            for c in console.driver.find_elements(
                By.CSS_SELECTOR, "table[data-table=agreement-total] td[data-field=kappa]"
            )
        ]
        assert shown == [_value(r["kappa"]) for r in api["rows"]]
        assert len(console.driver.find_elements(By.CSS_SELECTOR, "svg.trend")) == 2
        console.driver.find_element(By.CSS_SELECTOR, "[aria-labelledby=moderators] a").click()
        moderators_table = "table[data-table=agreement-moderators]"
        until(
            lambda: console.driver.find_elements(By.CSS_SELECTOR, moderators_table),
            "the moderators' table",
        )
        moderators = console.api.get(
            "/v1/calibration/production/agreement/moderators", params={"area": "HATE", **window}
        ).json()
        rows = console.driver.find_elements(
            By.CSS_SELECTOR, "table[data-table=agreement-moderators] tbody tr"
        )
        assert len(rows) == len(moderators["rows"])
        console.shot("agreement")
        console.clean()
        # An analyst sees agreement but not moderators, by link or by URL.
        console.sign_in(console.hate_key)
        console.open(f"/calibration/agreement?{urlencode(window)}")
        assert console.driver.find_elements(By.CSS_SELECTOR, "table[data-table=agreement-total]")
        assert console.driver.find_elements(By.ID, "moderators") == []
        console.open(f"/calibration/agreement/moderators?{urlencode(window)}")
        status = console.driver.find_element(By.CSS_SELECTOR, "[data-status]")
        assert status.get_attribute("data-status") == "403"
        log(console.driver, "browser")

    def test_a_launch_recorded_from_the_launches_page(self, console: Console) -> None:
        console.sign_in(console.hate_key)
        console.open("/launches")
        assert console.driver.find_elements(By.ID, "launch-form") == []  # analysts may not
        console.sign_in(console.admin_key)
        console.open("/launches")
        find = console.driver.find_element
        find(By.NAME, "title").send_keys("Dehumanisation FAQ")
        at = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:00")
        console.driver.execute_script(
            "arguments[0].value = arguments[1]", find(By.NAME, "launched_at"), at
        )
        Select(find(By.NAME, "area")).select_by_visible_text("HATE")
        find(By.NAME, "clause_ids").send_keys("HATE.DEHUMANISATION")
        find(By.ID, "record-launch").click()
        until(lambda: "/launches/" in console.driver.current_url, "the launch's page")
        number = int(console.driver.current_url.rsplit("/", 1)[1].split("?")[0])
        made = console.api.get(f"/v1/launches/{number}").json()
        assert (made["title"], made["recorded_by"]) == ("Dehumanisation FAQ", "tests")
        assert made["launched_at"] == f"{at}:00Z"
        assert made["scope"]["clause_ids"] == ["HATE.DEHUMANISATION"]
        console.clean()
