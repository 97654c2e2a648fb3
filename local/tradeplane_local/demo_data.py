"""The demo's market data history step: synthesize daily bars, replay them through POST /v1/market-data
(`tradeplane data replay`'s path), and read them back with alpaca-py's StockHistoricalDataClient."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tradeplane_local import stack
from tradeplane_local.admin import paper_account
from tradeplane_local.data_cli import gateway_poster, open_text, print_summary, replay, synth_rows, write_synth
from tradeplane_local.devtokens import local_token

DAYS = 60


def show_history(state_dir: Path, symbols: dict[str, float]) -> None:
    """Prints the step; raises StackError (the CLI answers `error: ...`, exit 1) unless every replayed bar is
    read back by alpaca-py."""
    from alpaca.data.historical.stock import StockHistoricalDataClient
    from alpaca.data.models import BarSet
    from alpaca.data.requests import StockBarsRequest
    from alpaca.data.timeframe import TimeFrame

    state = stack.read_state(state_dir.resolve())
    assert state is not None
    gateway = state["runtime"]["gateway"]
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=DAYS * 7 // 5 + 7)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "daily.csv.gz"
        with open_text(path, "w") as handle:
            rows = write_synth(handle, synth_rows("daily", symbols, start, DAYS, seed=11))
        print(f"tradeplane data synth --kind daily: {rows} bars ({DAYS} trading days of {', '.join(symbols)})")
        post, close = gateway_poster(
            gateway, local_token(state_dir, subject="demo-replay", scope=["market-data:write"])
        )
        try:
            summary = replay(path, post, source="demo-history", batch_rows=100)
        finally:
            close()
    print("tradeplane data replay:", end=" ")
    print_summary(summary)
    paper = paper_account(state_dir, Decimal("1000"))
    client = StockHistoricalDataClient(paper["APCA_API_KEY_ID"], paper["APCA_API_SECRET_KEY"], url_override=gateway)
    barset = client.get_stock_bars(StockBarsRequest(symbol_or_symbols=list(symbols), timeframe=TimeFrame.Day,
                                                    start=start, limit=10_000))  # fmt: skip
    assert isinstance(barset, BarSet)
    read = sum(len(v) for v in barset.data.values())
    print(f"alpaca-py StockHistoricalDataClient.get_stock_bars: {read} daily bars; the last of each symbol:")
    for symbol, bars in sorted(barset.data.items()):
        b = bars[-1]
        print(f"  {symbol:<6}{b.timestamp:%Y-%m-%d}  o {b.open:>9.2f}  h {b.high:>9.2f}  l {b.low:>9.2f}"
              f"  c {b.close:>9.2f}  v {b.volume:>11,.0f}")  # fmt: skip
    if not read == rows == summary.accepted:
        raise stack.StackError(f"demo FAILED: {rows} bars synthesized, {summary.accepted} accepted, {read} read back")
