"""Live and backtest parity: the same bars through `strategy_runner`, the Core API and the executor give the
same fills (side, qty, price) as strat-lib's backtest engine with the same fill model, costs and sizing.

The pairing (docs/strategy-runner.md, "Parity with backtests"): a strategy decides on a closed bar; live,
the runner sizes the order at once, against the account the Core API values at the latest trade (that
bar's close), and the paper venue fills the market order at the latest trade price when the executor
takes it: the next bar's first trade, its open. The backtest's `fill_at="next_open"` is that pairing:
sized at the close with the equity of that moment, filled at the next bar's open through the same
`tradeplane.fill_model`, with the same slippage and per-side commission.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from support.core_api import Api, Context, Trader
from support.execution import as_function, list_instrument, msk_event, outbox_envelopes, query
from support.strategy_runner import bar_event, insert_strategy, make_bars, run, store_bars, strategy_runner
from tp_strategy.backtest.config import BacktestConfig
from tp_strategy.backtest.engine import run_backtest
from tp_strategy.registry import build
from tp_strategy.runner import bar_input
from tradeplane_tools.manifest import Bindings

pytestmark = pytest.mark.integration

CLOSES = ["50", "50", "50", "50", "51", "52.5", "53", "52", "50.5", "49", "48", "48.5", "50", "51.5", "53", "54",
          "53", "51", "49.5", "48", "49", "50.5", "52", "53.5", "53"]  # fmt: skip
COSTS = {"TP_FILL_SLIPPAGE_BPS": "5", "TP_FEE_BPS": "10"}  # the paper venue's; the backtest gets the same


def live_fills(
    core_env: dict[str, Any], bindings: Bindings, api: Api, trader: Trader, set_price: Any, sym: str, bars: list[Any]
) -> list[tuple[str, Decimal, Decimal]]:
    from tp_execution.paper_venue import PaperVenue
    from tradeplane.latest_price import last_price

    done = 0
    with strategy_runner(bindings, api) as runner:
        for i, bar in enumerate(bars):
            set_price(sym, str(bar.close))  # the latest trade when the bar closes
            run(runner, bar_event([bar], core_env["kafka"], i))
            intents = outbox_envelopes(core_env["dsn"], trader.account_id)[done:]
            if not intents or i + 1 == len(bars):
                continue  # an order decided on the last bar has no next open (the backtest leaves it pending)
            done += len(intents)
            set_price(sym, str(bars[i + 1].open))  # the next bar's first trade: what the venue fills at
            with as_function("executor", bindings, **COSTS) as executor:
                executor.VENUE = PaperVenue(executor.SETTINGS.fill_config(), last_price)  # with these costs
                executor.handler(msk_event(intents, core_env["kafka"]), Context("executor"))
    rows = query(
        core_env["dsn"],
        "select f.side, f.qty, f.price from trading.fills f where f.account_id = %s order by f.occurred_at",
        uuid.UUID(trader.account_id),
    )
    return [(r["side"], Decimal(r["qty"]), Decimal(r["price"])) for r in rows]


@pytest.mark.parametrize(
    ("sizing", "allow_short"),
    [({"kind": "fixed_qty", "qty": "10"}, True), ({"kind": "percent_equity", "percent": "40"}, False)],
    ids=["fixed-qty-long-short", "percent-equity-long-only"],
)
def test_live_fills_match_the_backtest(
    core_env: dict[str, Any],
    bindings: Bindings,
    api: Api,
    trader: Trader,
    set_price: Any,
    sizing: dict[str, Any],
    allow_short: bool,
) -> None:
    sym = "P" + uuid.uuid4().hex[:6].upper()
    list_instrument(core_env["dsn"], sym)
    bars = make_bars(sym, CLOSES)
    store_bars(core_env["dsn"], bars)
    params = {"fast": 2, "slow": 4}
    if allow_short:  # a short needs an account that may short (Alpaca's `no_shorting`); else the Core API refuses
        reply = api.patch("/v2/account/configurations", {"no_shorting": False}, headers=trader.key)
        assert reply.status == 200, reply.body
    sid = insert_strategy(
        core_env["dsn"], trader.account_id, [sym], params=params, sizing=sizing, allow_short=allow_short
    )

    live = live_fills(core_env, bindings, api, trader, set_price, sym, bars)

    config = BacktestConfig.model_validate({
        "cash": "100000", "commission_bps": "10", "slippage_bps": "5", "fill_at": "next_open",
        "allow_short": allow_short, "sizing": sizing,
    })  # fmt: skip
    backtest = run_backtest(build("ma_crossover", params), [bar_input(b) for b in bars], config)
    expected = [(e.side, e.qty, e.price) for e in backtest.ledger.executions]
    assert len(expected) >= 3
    from support.strategy_runner import signals_of

    assert live == expected, [
        (s["status"], s["detail"], s["order_side"], s["order_qty"]) for s in signals_of(core_env["dsn"], sid)
    ]
