"""GET /v2/clock and GET /v2/calendar through their handlers (Redis for the rate limit)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest
from alpaca.trading.models import Calendar as AlpacaCalendar
from alpaca.trading.models import Clock as AlpacaClock
from support.routes import call, load_handler

pytestmark = pytest.mark.integration


@pytest.fixture
def handlers(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ModuleType]]:
    from support.reset import reset_all

    env = {"TP_REDIS_URL": redis_url, "TP_RATE_LIMIT_PER_MINUTE": "100000"}
    yield {name: load_handler(name, monkeypatch, env) for name in ("clock_get", "calendar_get")}
    reset_all()


def test_clock_parses_with_alpaca_py(handlers: dict[str, ModuleType]) -> None:
    r = call(handlers["clock_get"], "GET /v2/clock", "/v2/clock")
    assert r.status == 200, r.text
    clock = AlpacaClock(**r.json())
    assert clock.next_open > clock.timestamp or clock.is_open
    assert clock.next_close > clock.timestamp
    assert r.json()["timestamp"][-6:] in ("-05:00", "-04:00")  # New York time with its offset


def test_calendar_range(handlers: dict[str, ModuleType]) -> None:
    r = call(handlers["calendar_get"], "GET /v2/calendar", "/v2/calendar", query="start=2026-11-25&end=2026-11-28")
    assert r.status == 200, r.text
    assert [(d["date"], d["open"], d["close"]) for d in r.json()] == [
        ("2026-11-25", "09:30", "16:00"),
        ("2026-11-27", "09:30", "13:00"),
    ]
    assert [AlpacaCalendar(**d).close.hour for d in r.json()] == [16, 13]


def test_rfc3339_bounds_are_taken_by_their_date(handlers: dict[str, ModuleType]) -> None:
    query = "start=2026-11-25T15:04:05Z&end=2026-11-27T23:00:00.5-05:00"
    r = call(handlers["calendar_get"], "GET /v2/calendar", "/v2/calendar", query=query)
    assert [d["date"] for d in r.json()] == ["2026-11-25", "2026-11-27"], r.text


def test_start_after_end_is_an_empty_range(handlers: dict[str, ModuleType]) -> None:
    r = call(handlers["calendar_get"], "GET /v2/calendar", "/v2/calendar", query="start=2026-11-30&end=2026-11-01")
    assert (r.status, r.json()) == (200, [])


@pytest.mark.parametrize(
    "query",
    [
        "start=yesterday",
        "end=2026-13-01",
        "start=2026-02-30",
        "end=2.1e-182",
        "start=1700000000",
        "start=2026-11-25T25:00",
    ],
)
def test_bad_calendar_queries_are_422(handlers: dict[str, ModuleType], query: str) -> None:
    r = call(handlers["calendar_get"], "GET /v2/calendar", "/v2/calendar", query=query)
    assert r.status == 422 and r.json()["code"] == 42210000, r.text
