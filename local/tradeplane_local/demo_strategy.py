"""The demo's strategy step: register a strategy, replay market data through the live pipeline, show the
signals, orders and fills the strategy caused, then a backtest of the same stored bars.

    trades CSV -> POST /v1/market-data (`tradeplane data replay`) -> market.ticks -> bar_aggregator
      -> market.bars -> strategy_runner -> strategy.signals + `signals`
      -> Core API (service token for the strategy's account) -> orders.submitted -> executor -> fills

The strategy is registered through the strategy API (`POST /v1/strategies` with the account's API key).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tradeplane_local import stack
from tradeplane_local.admin import local_dsn, paper_account
from tradeplane_local.data_cli import gateway_poster, open_text, print_summary, replay, synth_rows, write_synth
from tradeplane_local.devtokens import local_token

SYMBOL = "SPY"
# Eight minutes of seed 25's trades at 60x (8 s): the 2/3 crossover buys on the third bar, sells on the fifth
# and buys again on the seventh, a second or more apart, so each order fills before the next signal; the
# last bar (closed only by bar_closer's clock) raises nothing, so nothing waits for it.
MINUTES = 8
SEED = 25
SPEED = 60.0  # data time runs this much faster than the wall clock
PARAMS = {"fast": 2, "slow": 3}
POLL_S = 0.2
SIZING = {"kind": "fixed_qty", "qty": "10"}


def _query(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(sql, args).fetchall()


def _register(api: httpx.Client, keys: dict[str, str]) -> uuid.UUID:
    body = {"name": "demo ma crossover", "type": "ma_crossover", "params": PARAMS, "symbols": [SYMBOL],
            "timeframe": "1m", "sizing": SIZING, "enabled": True}  # fmt: skip
    reply = api.post("/v1/strategies", json=body, headers=keys)
    if reply.status_code != 201:
        raise stack.StackError(f"demo FAILED: POST /v1/strategies answered {reply.status_code}: {reply.text[:300]}")
    return uuid.UUID(reply.json()["id"])


def _settled(dsn: str, sid: uuid.UUID) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    signals = _query(dsn, "select * from strategy.signals where strategy_id = %s order by bar_ts", sid)
    fills = _query(
        dsn,
        """select o.client_order_id, f.side, f.qty, f.price, f.occurred_at from trading.fills f
           join trading.orders o on o.id = f.order_id
           where o.client_order_id = any(%s) order by f.occurred_at""",
        [s["client_order_id"] for s in signals if s["client_order_id"]],
    )
    return signals, fills


def _closed_bars(dsn: str, start: datetime, timeout: float = 30) -> int:
    """Until the aggregator (and, for the last minute, bar_closer) closed the window's bars."""
    deadline, n = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        n = _query(dsn, "select count(*) as n from market.bars where symbol = %s and interval = '1m' and closed"
                   " and bucket_start >= %s", SYMBOL, start)[0]["n"]  # fmt: skip
        if n >= MINUTES - 1:
            break
        time.sleep(POLL_S)
    return int(n)


def _wait(dsn: str, sid: uuid.UUID, expected: int, timeout: float = 60) -> tuple[list[Any], list[Any]]:
    """Until the runner raised the signals the backtest raised and every order it sent has filled."""
    deadline = time.monotonic() + timeout
    signals: list[Any] = []
    fills: list[Any] = []
    while time.monotonic() < deadline:
        signals, fills = _settled(dsn, sid)
        sent = [s for s in signals if s["status"] == "submitted"]
        if len(signals) >= expected and all(s["status"] != "raised" for s in signals) and len(fills) >= len(sent):
            break
        time.sleep(POLL_S)
    return signals, fills


def show_strategy(state_dir: Path) -> bool:
    from tp_strategy.backtest.config import BacktestConfig
    from tp_strategy.backtest.result import backtest
    from tp_strategy.bar_history import bars_between
    from tp_strategy.registry import build

    state = stack.read_state(state_dir.resolve())
    dsn = local_dsn(state_dir)
    assert state is not None and dsn is not None
    gateway = state["runtime"]["gateway"]
    paper = paper_account(state_dir, Decimal("100000"))
    keys = {"APCA-API-KEY-ID": paper["APCA_API_KEY_ID"], "APCA-API-SECRET-KEY": paper["APCA_API_SECRET_KEY"]}
    with httpx.Client(base_url=gateway, timeout=30, verify=False) as api:  # noqa: S501 - local self-signed TLS
        sid = _register(api, keys)
    print(f"POST /v1/strategies -> 201: strategy {sid}, ma_crossover {PARAMS} on {SYMBOL} 1m bars, sizing {SIZING}")

    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spy.csv"
        with open_text(path, "w") as handle:
            rows = write_synth(handle, synth_rows("trades", {SYMBOL: 590.0}, start, MINUTES, seed=SEED))
        print(f"tradeplane data synth --kind trades: {rows} trades of {SYMBOL} over {MINUTES} minutes")
        post, close = gateway_poster(
            gateway, local_token(state_dir, subject="demo-replay", scope=["market-data:write"])
        )
        try:
            summary = replay(path, post, source="demo-strategy", speed=SPEED, batch_rows=200)
        finally:
            close()
    print(f"tradeplane data replay --speed {SPEED:g}:", end=" ")
    print_summary(summary)

    _closed_bars(dsn, start)
    import psycopg

    with psycopg.connect(dsn) as conn:
        bars = list(bars_between(conn, SYMBOL, "1m", start, start + timedelta(minutes=MINUTES + 1)))
    config = BacktestConfig.model_validate({"cash": "100000", "fill_at": "next_open", "sizing": SIZING})
    result = backtest(build("ma_crossover", PARAMS), bars, config)
    signals, fills = _wait(dsn, sid, result.metrics["signals"])
    print(f"\nsignals raised by strategy_runner ({len(signals)}; stored in strategy.signals, published to `signals`):")
    for s in signals:
        order = f"{s['order_side']} {s['order_qty']:g} as {s['client_order_id']}" if s["order_qty"] else "-"
        print(f"  {s['bar_ts']:%H:%M}  {s['direction']:>2}  {s['status']:<9} {order:<58} {s['reason']}")
    print(f"fills booked by the executor ({len(fills)}; paper venue, market orders at the latest trade):")
    for f in fills:
        print(f"  {f['occurred_at']:%H:%M:%S}  {f['side']:<4} {f['qty']:g} @ {f['price']:.4f}  {f['client_order_id']}")

    m = result.metrics
    print(f"\nbacktest of the same {len(bars)} stored bars (strat-lib engine, fill at the next bar's open):")
    for x in result.executions:
        print(f"  {x.ts:%H:%M}  {x.side:<4} {x.qty:g} @ {x.price:.4f}  {x.reason}")
    print(f"  {m['trades']} trades, final equity {m['final_equity']:.2f}, return {m['total_return_pct']:.4f}%")
    print(
        f"  (live fills are at the latest trade when the executor took the order; the replay runs {SPEED:g}x,\n"
        "   so that is a little after the next bar's open: the exact pairing is proven by the parity test,\n"
        "   where it is not raced)"
    )
    live, tested = [f["side"] for f in fills], [x.side for x in result.executions]
    common = min(len(live), len(tested))
    return bool(signals) and bool(fills) and live[:common] == tested[:common]
