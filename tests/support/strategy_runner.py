"""Strategy runner tests: strategies and bars in the database, bars delivered as MSK events, and the
Core API called in-process (real authorizer and routes) behind the runner's HTTP transport."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psycopg
import pytest
from tradeplane.contracts.market import BAR_EVENT, Bar
from tradeplane.contracts.topics import MARKET_BARS
from tradeplane.envelope import Envelope
from tradeplane.settings import load_settings
from tradeplane_local import events
from tradeplane_tools.manifest import Bindings

from support.core_api import Api, Context
from support.execution import as_function

T0 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
CORE_URL = "http://core.invalid"


def make_bars(symbol: str, closes: Sequence[str | Decimal], start: datetime = T0) -> list[Bar]:
    """One-minute bars whose open is the previous close (a continuous market), high/low around both."""
    bars, prev = [], Decimal(closes[0])
    for i, c in enumerate(closes):
        close = Decimal(c)
        bars.append(
            Bar(
                symbol=symbol,
                interval="1m",
                bucket_start=start + timedelta(minutes=i),
                open=prev,
                high=max(prev, close) + Decimal("0.05"),
                low=min(prev, close) - Decimal("0.05"),
                close=close,
                volume=Decimal(1000),
                trade_count=10,
            )
        )
        prev = close
    return bars


def store_bars(dsn: str, bars: Sequence[Bar]) -> None:
    """As the bar aggregator does before it publishes a closed bar."""
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.executemany(
            """insert into market.bars (symbol, interval, bucket_start, open, high, low, close, volume, trade_count,
                                        closed, revision) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, true, %s)
               on conflict (symbol, interval, bucket_start) do nothing""",
            [
                (
                    b.symbol,
                    b.interval,
                    b.bucket_start,
                    b.open,
                    b.high,
                    b.low,
                    b.close,
                    b.volume,
                    b.trade_count,
                    b.revision,
                )
                for b in bars
            ],
        )


def bar_event(bars: Sequence[Bar], bootstrap: str, first_offset: int = 0) -> dict[str, Any]:
    records = []
    for i, bar in enumerate(bars):
        env = Envelope.new(
            BAR_EVENT,
            bar.model_dump(mode="python"),
            producer="bar_aggregator",
            id=f"bar_{bar.symbol}_{bar.interval}_{bar.bucket_start:%Y%m%dT%H%M}_r{bar.revision}",
        )
        records.append(events.KafkaRecord(MARKET_BARS, 0, first_offset + i, 0, bar.symbol.encode(), env.to_json()))
    return events.msk_event(records, bootstrap)


def insert_strategy(
    dsn: str,
    account_id: str,
    symbols: Sequence[str],
    *,
    type: str = "ma_crossover",
    params: Mapping[str, Any] | None = None,
    sizing: Mapping[str, Any] | None = None,
    allow_short: bool = False,
    enabled: bool = True,
) -> uuid.UUID:
    """A strategy row as the strategy API would store it."""
    sid = uuid.uuid4()
    with psycopg.connect(dsn) as conn:
        conn.execute(
            """insert into strategy.strategies (id, account_id, name, type, params, symbols, timeframe, sizing,
                                                allow_short, enabled)
               values (%s, %s, %s, %s, %s, %s, '1m', %s, %s, %s)""",
            (
                sid,
                account_id,
                f"s-{sid.hex[:8]}",
                type,
                json.dumps(params or {"fast": 2, "slow": 4}),
                list(symbols),
                json.dumps(sizing or {"kind": "fixed_qty", "qty": "10"}),
                allow_short,
                enabled,
            ),
        )
    return sid


class ApiTransport:
    """The runner's HTTP transport answered by the in-process Core API (authorizer, then the route)."""

    def __init__(self, api: Api, restore: Callable[[], None]) -> None:
        self.api, self.restore, self.calls = api, restore, 0
        self._one_at_a_time = threading.Lock()  # the in-process API swaps process-wide settings per call

    def __call__(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float) -> Any:
        with self._one_at_a_time:
            return self._call(method, url, headers, body, timeout)

    def _call(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float) -> Any:
        from tp_strategy.core_client import Response

        self.calls += 1
        parts = urlsplit(url)
        try:
            with pytest.MonkeyPatch.context() as mp:
                mp.delenv("TP_KAFKA_PRODUCES", raising=False)  # the Core functions' own binding, not the runner's
                reply = self.api.request(
                    method, parts.path, raw_body=body or b"", headers=headers, query=dict(parse_qsl(parts.query))
                )
        finally:
            self.restore()  # the runner's container settings again
        return Response(reply.status, json.dumps(reply.body).encode() if reply.body is not None else b"")


class Outage:
    """Wraps a transport: each scripted fault answers one call, then calls pass through.

    A fault is a status (answered without reaching the API), an exception (connection refused),
    "lost": the call reaches the API, then the answer is lost (a timeout after the fact), or "pass".
    """

    def __init__(self, inner: Any, faults: Sequence[int | Exception | str] = ()) -> None:
        self.inner, self.faults, self.calls = inner, list(faults), 0

    def __call__(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float) -> Any:
        from tp_strategy.core_client import Response

        self.calls += 1
        if not self.faults:
            return self.inner(method, url, headers, body, timeout)
        fault = self.faults.pop(0)
        if fault == "pass":
            return self.inner(method, url, headers, body, timeout)
        if fault == "lost":
            self.inner(method, url, headers, body, timeout)
            raise TimeoutError("the answer was lost")
        if isinstance(fault, Exception):
            raise fault
        assert isinstance(fault, int)
        return Response(fault, b'{"message": "Service Unavailable"}')


@contextmanager
def strategy_runner(bindings: Bindings, api: Api, **overrides: str) -> Iterator[ModuleType]:
    """The runner's handler module in its manifest environment, calling the in-process Core API."""
    with as_function("strategy_runner", bindings, TP_SERVICE_URL_CORE=CORE_URL, **overrides) as module:
        module.RUNNER.core.transport = ApiTransport(api, lambda: load_settings(module.Settings))
        yield module


def run(module: ModuleType, event: dict[str, Any]) -> dict[str, int]:
    module.SETTINGS = load_settings(module.Settings)  # this container's settings (another function may have run)
    return module.handler(event, Context("strategy_runner"))  # type: ignore[no-any-return]


def signals_of(dsn: str, strategy_id: uuid.UUID) -> list[dict[str, Any]]:
    from support.execution import query

    return query(dsn, "select * from strategy.signals where strategy_id = %s order by bar_ts", strategy_id)


def strategy_orders(dsn: str, account_id: str) -> list[dict[str, Any]]:
    from support.execution import query

    return query(
        dsn,
        "select client_order_id, side, qty, status from trading.orders where account_id = %s"
        " and client_order_id like 'st-%%' order by created_at",
        uuid.UUID(account_id),
    )
