"""OHLCV bars from a CSV file (the csv module; no pandas in a Lambda).

Headers are matched case-insensitively, with the common spellings: a time column (`date`, `timestamp`,
`datetime`, `time`, `ts`, `t`), `open`/`o`, `high`/`h`, `low`/`l`, `close`/`c` (or `adj close` when
there is no plain close), `volume`/`vol`/`v` (optional: 0 without it) and an optional `symbol`.
Times: ISO 8601 (`Z` or an offset; naive means UTC), a bare date (`2026-01-02` or `20260102`, midnight
UTC), or epoch seconds or milliseconds. With a symbol column and a `symbol` asked for, other symbols' rows are skipped.
Rows must be in time order with no repeated time: a bad row is refused with its line.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from tp_strategy.interface import BarInput

__all__ = ["CsvBarsError", "read_csv_bars"]

_SPELLINGS = {
    "ts": ("timestamp", "date", "datetime", "time", "ts", "t", "date_time", "bucket_start"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c", "adj close", "adj_close", "adjclose"),
    "volume": ("volume", "vol", "v"),
    "symbol": ("symbol", "ticker", "sym"),
}
_OPTIONAL = ("volume", "symbol")
EPOCH_MS_ABOVE = 10**11  # an epoch number this large is milliseconds (10**11 s is the year 5138)


class CsvBarsError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def _columns(header: list[str]) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    found: dict[str, int] = {}
    for field, spellings in _SPELLINGS.items():
        for spelling in spellings:
            if spelling in names:
                found[field] = names.index(spelling)
                break
    missing = [f for f in _SPELLINGS if f not in found and f not in _OPTIONAL]
    if missing:
        raise CsvBarsError(1, f"no {', '.join(missing)} column (header: {', '.join(header)})")
    return found


def parse_time(text: str) -> datetime:
    text = text.strip()
    if len(text) == 8 and text.isdigit():  # 20260102: a compact date, not an epoch in 1970
        return datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC)
    if text.replace(".", "", 1).isdigit():
        number = float(text)
        return datetime.fromtimestamp(number / 1000 if number >= EPOCH_MS_ABOVE else number, UTC)
    ts = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _bars(rows: Iterator[list[str]], symbol: str | None, only: str | None) -> Iterator[BarInput]:
    header = next(rows, None)
    if header is None:
        raise CsvBarsError(1, "empty file")
    col = _columns(header)
    vol, sym = col.get("volume"), col.get("symbol")
    last: datetime | None = None
    for line, row in enumerate(rows, start=2):
        if not row or not "".join(row).strip():
            continue
        if sym is not None and only and (row[sym].strip() if sym < len(row) else "") != only:
            continue  # a file of several symbols: the one asked for
        try:
            ts = parse_time(row[col["ts"]])
            o, h, low, c = (Decimal(row[col[k]].strip()) for k in ("open", "high", "low", "close"))
            v = Decimal(row[vol].strip() or 0) if vol is not None else Decimal(0)
        except (IndexError, ValueError, InvalidOperation) as exc:
            raise CsvBarsError(line, f"cannot read the row ({exc.__class__.__name__}: {exc})") from exc
        if not all(x.is_finite() and x > 0 for x in (o, h, low, c)) or not v.is_finite() or v < 0:
            raise CsvBarsError(line, "prices must be positive numbers and volume not negative")
        if h < max(o, c, low) or low > min(o, c):
            raise CsvBarsError(line, f"high {h} / low {low} do not contain open {o} and close {c}")
        if last is not None and ts <= last:
            raise CsvBarsError(line, f"time {ts.isoformat()} is not after the previous row's {last.isoformat()}")
        last = ts
        name = row[sym].strip() if sym is not None else ""
        yield BarInput(name or symbol or "CSV", ts, o, h, low, c, v)


def read_csv_bars(source: str | Path | IO[str], *, symbol: str | None = None) -> list[BarInput]:
    """All bars of a CSV file (a path, `.gz` too) or an open text stream, in time order."""
    if isinstance(source, str | Path):
        path = Path(source)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", newline="", encoding="utf-8-sig") as f:
            return list(_bars(csv.reader(f), symbol or path.name.split(".")[0].upper(), symbol))
    return list(_bars(csv.reader(source), symbol, symbol))
