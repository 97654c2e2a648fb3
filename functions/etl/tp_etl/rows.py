"""The values of one parsed row: plain named tuples, converted to the contract models only where a model is needed.

The readers (`tp_etl.formats`) have already checked every value the way the contract
models would (a test validates parsed rows against `Tick`, `Quote` and `Bar`), so a row
carries no pydantic model: building one per tick cost more than parsing the tick
(docs/decisions.md, "Market data ETL, remainder"). Field names and order are the
contract models' own, so `row._asdict()` is the event payload.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from tradeplane.contracts.market import Bar, Quote, Tick


class TradeRow(NamedTuple):
    symbol: str
    price: Decimal
    size: Decimal
    ts: datetime
    venue: str | None
    seq: int | None

    @property
    def when(self) -> datetime:
        return self.ts

    @property
    def reference(self) -> Decimal:
        """The price the outlier rule compares."""
        return self.price

    def contract(self) -> Tick:
        return Tick.model_construct(**self._asdict())


class QuoteRow(NamedTuple):
    symbol: str
    bid: Decimal
    bid_size: Decimal
    ask: Decimal
    ask_size: Decimal
    ts: datetime
    venue: str | None

    @property
    def when(self) -> datetime:
        return self.ts

    @property
    def reference(self) -> Decimal:
        return (self.bid + self.ask) / 2

    def contract(self) -> Quote:
        return Quote.model_construct(**self._asdict())


class BarRow(NamedTuple):
    symbol: str
    interval: str
    bucket_start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trade_count: int
    revision: int
    vwap: Decimal | None  # None: the source gave none

    @property
    def when(self) -> datetime:
        return self.bucket_start

    @property
    def reference(self) -> Decimal:
        return self.close

    def contract(self) -> Bar:
        return Bar.model_construct(**self._asdict())


Record = TradeRow | QuoteRow | BarRow
