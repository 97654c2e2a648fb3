"""Cleaning rules applied to parsed rows, in source order, per symbol and kind.

- exact duplicates (same kind, symbol, time and values) are dropped and reported;
- out-of-order rows (earlier than the symbol's latest) are kept (the aggregator
  orders by tick time) and reported, so a vendor's unsorted export is visible;
- a jump beyond `max_jump` (a fraction: 0.2 = 20 %) from the symbol's previous
  accepted price (trades: price, quotes: mid, bars: close) is flagged (the event
  carries `flags: ["outlier"]`) or dropped, as configured; the reference price
  does not move to a dropped outlier, so one bad print does not hide the next;
- times later than `not_after` are rejected (a clock far ahead is a bad row).

Value rules (positive prices, high >= low, open/close in range, UTC) are part
of parsing (`tp_etl.formats`) because they are about one row alone. Duplicate
detection remembers the last `window` rows' fingerprints: enough for the
repeated blocks vendors' exports contain, bounded for files of any length.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from tp_etl.formats import Parsed, Rejection
from tp_etl.rows import Record

OutlierAction = Literal["flag", "drop"]
DEFAULT_WINDOW = 100_000


@dataclass(frozen=True)
class CleaningRules:
    max_jump: Decimal | None = None  # None: no outlier rule
    outliers: OutlierAction = "flag"
    not_after: datetime | None = None
    window: int = DEFAULT_WINDOW


@dataclass(slots=True)  # not frozen: a frozen dataclass pays a setattr per field, per row
class Clean:
    """A row that passed, with its flags (e.g. `("outlier",)`)."""

    line: int
    kind: str
    record: Record
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Notice:
    """Something a row did that is reported but does not stop it, or the reason it was dropped."""

    line: int
    rule: str
    detail: str
    dropped: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "rule": self.rule, "detail": self.detail, "dropped": self.dropped}


def reference_price(record: Record) -> Decimal:
    """Trades: the price; quotes: the mid; bars: the close."""
    return record.reference


def fingerprint(kind: str, record: Record) -> tuple[object, ...]:
    return (kind, *record)


@dataclass
class Cleaner:
    rules: CleaningRules = field(default_factory=CleaningRules)
    _seen: OrderedDict[tuple[object, ...], int] = field(default_factory=OrderedDict)
    _latest: dict[tuple[str, str], tuple[datetime, int]] = field(default_factory=dict)
    _price: dict[tuple[str, str], Decimal] = field(default_factory=dict)

    def check(self, row: Parsed) -> Clean | Notice | Rejection | tuple[Clean, Notice]:
        """Apply the rules to one parsed row: a Clean row, a Notice of a dropped row, a Rejection, or a
        Clean row with a Notice beside it (out of order, flagged outlier)."""
        record, kind, rules = row.record, row.kind, self.rules
        when = record.when
        if rules.not_after is not None and when > rules.not_after:
            return Rejection(row.line, "timestamp", f"is after {rules.not_after.isoformat()} (clock ahead)")
        mark = (kind, *record)  # fingerprint()
        seen = self._seen
        first = seen.get(mark)
        if first is not None:
            return Notice(row.line, "duplicate", f"exact duplicate of line {first}", dropped=True)
        seen[mark] = row.line
        if len(seen) > rules.window:
            seen.popitem(last=False)
        key = (kind, record.symbol)
        notice: Notice | None = None
        flags: tuple[str, ...] = ()
        if rules.max_jump is not None:  # the reference price matters only to the outlier rule
            price, previous = record.reference, self._price.get(key)
            if previous is not None:
                jump = abs(price / previous - 1)
                if jump > rules.max_jump:
                    detail = f"{record.symbol} moved {jump:.2%} from {previous} (limit {rules.max_jump:.2%})"
                    if rules.outliers == "drop":
                        return Notice(row.line, "outlier", detail, dropped=True)
                    notice, flags = Notice(row.line, "outlier", detail), ("outlier",)
            if not flags:
                self._price[key] = price
        latest = self._latest.get(key)
        if latest is not None and when < latest[0]:
            notice = notice or Notice(
                row.line, "out_of_order", f"earlier than line {latest[1]} ({latest[0].isoformat()})"
            )
        else:
            self._latest[key] = (when, row.line)
        clean = Clean(row.line, kind, record, flags)
        return (clean, notice) if notice else clean
