"""`tradeplane data synth` and `tradeplane data replay`: market data files for demos and tests, and pushing
a file through the platform's own ingest path (POST /v1/market-data) at a chosen speed.

    tradeplane data synth --kind trades --symbols AAPL,MSFT --minutes 30 --seed 7 --out ticks.csv.gz
    tradeplane data replay ticks.csv.gz --speed 60        # an hour of data in a minute
    tradeplane data replay daily.csv --symbol AAPL         # as fast as the platform takes it

Replay sends the file in chunks of rows, each a CSV request with the file's header, so it goes through
the same parsing, cleaning and publishing as any client's request. A chunk is all or nothing there; when
one has bad rows, replay reports them (with their line in the file) and sends the chunk again without
them. Chunks are cut the same way every time, so replaying a file again produces the same event ids and
changes nothing downstream.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal

SynthKind = Literal["trades", "quotes", "bars", "daily"]
DEFAULT_SYMBOLS = {"AAPL": 190.0, "MSFT": 415.0, "NVDA": 135.0, "SPY": 590.0}
_TIME_COLUMNS = ("timestamp", "ts", "t", "time", "datetime", "date")


# --------------------------------------------------------------------------- synth


def _intraday_rate(minute_of_day: int) -> float:
    """Trades per second by the minute of a 390-minute session: a U shape (busy open and close)."""
    x = (minute_of_day % 390) / 390
    return 0.4 + 9.6 * (x - 0.5) ** 2  # 2.8/s at the open and close, 0.4/s at midday


@dataclass
class _Walk:
    """A geometric random walk with 30 % annual volatility, quoted in cents."""

    price: float
    rng: random.Random
    sigma_per_s: float = 0.30 / math.sqrt(252 * 6.5 * 3600)

    def step(self, seconds: float) -> float:
        self.price *= math.exp(self.rng.gauss(0, self.sigma_per_s * math.sqrt(max(seconds, 1e-3))))
        return round(self.price, 2)


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ticks(
    symbols: dict[str, float], start: datetime, minutes: int, rng: random.Random
) -> Iterator[tuple[datetime, str, float, int]]:
    """(time, symbol, price, size), in time order, minute by minute (memory: one minute of ticks)."""
    walks = {s: _Walk(p, rng) for s, p in symbols.items()}
    for minute in range(minutes):
        at = start + timedelta(minutes=minute)
        rows = []
        for symbol, walk in walks.items():
            second = 0.0
            while True:
                gap = rng.expovariate(_intraday_rate(minute))
                second += gap
                if second >= 60:
                    break
                size = rng.choice((1, 5, 10, 25, 50, 100, 100, 100, 200, 500))
                rows.append((at + timedelta(seconds=second), symbol, walk.step(gap), size))
        yield from sorted(rows)


def synth_rows(
    kind: SynthKind, symbols: dict[str, float], start: datetime, minutes: int, seed: int
) -> Iterator[list[str]]:
    """Seeded CSV rows (header first): trades, quotes around the trades, 1-minute bars, or daily bars."""
    rng = random.Random(seed)  # noqa: S311 - synthetic market data, not security
    if kind == "daily":
        yield ["date", "symbol", "open", "high", "low", "close", "volume"]
        day, days = start.date(), 0
        walks = {s: _Walk(p, rng, sigma_per_s=0.30 / math.sqrt(252)) for s, p in symbols.items()}
        while days < max(1, minutes):
            if day.weekday() < 5:
                for symbol, walk in walks.items():
                    o = walk.price
                    c = walk.step(1)
                    h, lo = max(o, c) * (1 + abs(rng.gauss(0, 0.006))), min(o, c) * (1 - abs(rng.gauss(0, 0.006)))
                    yield [day.isoformat(), symbol, f"{o:.2f}", f"{h:.2f}", f"{lo:.2f}", f"{c:.2f}",
                           str(rng.randint(5, 80) * 100_000)]  # fmt: skip
                days += 1
            day += timedelta(days=1)
        return
    ticks = _ticks(symbols, start, minutes, rng)
    deco = random.Random(seed + 1)  # noqa: S311 - exchanges and spreads: the tick stream stays the same per seed
    if kind == "trades":
        yield ["timestamp", "symbol", "price", "size", "exchange"]
        for ts, symbol, price, size in ticks:
            yield [_iso(ts), symbol, f"{price:.2f}", str(size), deco.choice("VNQPZ")]
    elif kind == "quotes":
        yield ["timestamp", "symbol", "bid", "bid_size", "ask", "ask_size"]
        for ts, symbol, price, _ in ticks:
            half = max(0.01, round(price * deco.uniform(0.00005, 0.0003), 2))
            yield [_iso(ts), symbol, f"{price - half:.2f}", str(deco.randint(1, 20) * 100), f"{price + half:.2f}",
                   str(deco.randint(1, 20) * 100)]  # fmt: skip
    else:
        yield ["timestamp", "symbol", "open", "high", "low", "close", "volume", "trade_count"]
        yield from _minute_bars(ticks)


def _minute_bars(ticks: Iterator[tuple[datetime, str, float, int]]) -> Iterator[list[str]]:
    bars: dict[tuple[datetime, str], list[float]] = {}
    current: datetime | None = None
    for ts, symbol, price, size in [*ticks, (datetime.max.replace(tzinfo=UTC), "", 0.0, 0)]:
        minute = ts.replace(second=0, microsecond=0)
        if current is not None and minute != current:
            for (at, sym), (o, h, lo, c, v, n) in sorted(bars.items()):
                yield [_iso(at), sym, f"{o:.2f}", f"{h:.2f}", f"{lo:.2f}", f"{c:.2f}", str(int(v)), str(int(n))]
            bars = {}
        current = minute
        bar = bars.setdefault((minute, symbol), [price, price, price, price, 0, 0])
        bar[1], bar[2], bar[3] = max(bar[1], price), min(bar[2], price), price
        bar[4] += size
        bar[5] += 1


def open_text(path: Path, mode: Literal["r", "w"]) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.GzipFile(path, mode + "b"), encoding="utf-8", newline="")
    return path.open(mode, encoding="utf-8", newline="")


def write_synth(out: IO[str], rows: Iterator[list[str]]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    count = -1
    for count, row in enumerate(rows):  # noqa: B007 - the count is the result
        writer.writerow(row)
    return max(count, 0)


# --------------------------------------------------------------------------- replay


@dataclass
class ReplaySummary:
    rows: int = 0
    accepted: int = 0
    left_out: int = 0  # duplicates and dropped outliers, as the platform reported them
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (file line, field, reason)
    requests: int = 0
    event_ids: list[str] = field(default_factory=list)


def _time_index(header: Sequence[str]) -> int | None:
    folded = [h.strip().strip("<>").lower() for h in header]
    return next((folded.index(c) for c in _TIME_COLUMNS if c in folded), None)


def _row_time(row: Sequence[str], index: int | None) -> datetime | None:
    if index is None or index >= len(row):
        return None
    text = row[index].strip()
    try:
        value = datetime.fromisoformat(text) if not text.isdigit() else datetime.strptime(text, "%Y%m%d")
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _chunks(reader: Iterator[list[str]], size: int) -> Iterator[tuple[int, list[list[str]]]]:
    """(file line of the first row, rows) in chunks of `size` rows; line 1 is the header."""
    chunk: list[list[str]] = []
    first = 2
    for line, row in enumerate(reader, start=2):
        if not chunk:
            first = line
        chunk.append(row)
        if len(chunk) >= size:
            yield first, chunk
            chunk = []
    if chunk:
        yield first, chunk


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


Post = Callable[[str, dict[str, str]], tuple[int, dict[str, Any]]]


def replay(
    path: Path,
    post: Post,
    *,
    source: str = "replay",
    symbol: str | None = None,
    speed: float = 0.0,
    batch_rows: int = 2_000,
    on_progress: Callable[[int], None] = lambda rows: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ReplaySummary:
    """Send `path` through `post(csv_text, query)` chunk by chunk; with `speed` > 0, chunks are paced so that
    data time runs `speed` times faster than the wall clock (0: as fast as the platform answers)."""
    summary = ReplaySummary()
    query = {"source": source, **({"symbol": symbol} if symbol else {})}
    with open_text(path, "r") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return summary
        t_index, data_start, wall_start = _time_index(header), None, clock()
        for first_line, rows in _chunks(reader, batch_rows):
            when = _row_time(rows[0], t_index)
            if speed > 0 and when is not None:
                data_start = data_start or when
                due = wall_start + (when - data_start).total_seconds() / speed
                if due > clock():
                    sleep(due - clock())
            _send(header, rows, first_line, query, post, summary)
            summary.rows += len(rows)
            on_progress(len(rows))
    return summary


def _send(header: Sequence[str], rows: list[list[str]], first_line: int, query: dict[str, str], post: Post,
          summary: ReplaySummary) -> None:  # fmt: skip
    """Post one chunk; when rows are rejected, report them and post the chunk again without them."""
    status, body = post(_csv_text(header, rows), query)
    summary.requests += 1
    if status == 422 and body.get("errors"):
        bad = {int(e["line"]) for e in body["errors"] if str(e.get("line", "")).isdigit() and int(e["line"]) >= 2}
        if not bad or len(body["errors"]) != len(bad):
            raise ReplayError(f"chunk at line {first_line} refused: {body.get('detail')} {body.get('errors')}")
        summary.rejected += [
            (first_line + int(e["line"]) - 2, str(e["field"]), str(e["reason"])) for e in body["errors"]
        ]
        keep = [row for i, row in enumerate(rows, start=2) if i not in bad]
        if keep:
            status, body = post(_csv_text(header, keep), query)
            summary.requests += 1
        else:
            return
    if status != 202:
        raise ReplayError(f"chunk at line {first_line}: HTTP {status}: {body.get('detail') or body}")
    summary.accepted += int(body.get("accepted", 0))
    summary.left_out += int(body.get("dropped", 0))
    summary.event_ids += body.get("event_ids", [])


class ReplayError(RuntimeError):
    """The platform refused a chunk for a reason other than bad rows (or is not reachable)."""


def gateway_poster(gateway: str, token: str, *, timeout: float = 60) -> tuple[Post, Callable[[], None]]:
    """A `post` for `replay` over the local gateway, and a function that closes its connection."""
    import httpx

    client = httpx.Client(base_url=gateway, headers={"Authorization": f"Bearer {token}"}, timeout=timeout,
                          verify=False)  # noqa: S501 - the local gateway's self-signed TLS  # fmt: skip

    def post(text: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        for attempt in range(5):
            r = client.post(
                "/v1/market-data", params=query, content=text.encode(), headers={"content-type": "text/csv"}
            )
            if r.status_code not in (429, 503) or attempt == 4:
                return r.status_code, r.json() if r.content else {}
            time.sleep(float(r.headers.get("retry-after", "1")))  # same body, same ids: a safe retry
        raise AssertionError("unreachable")

    return post, client.close


# --------------------------------------------------------------------------- commands


def run_synth(
    kind: SynthKind, symbols: Sequence[str], start: datetime, minutes: int, seed: int, out: Path | None
) -> int:
    chosen = {s: DEFAULT_SYMBOLS.get(s, 50.0 + 10 * i) for i, s in enumerate(symbols)}
    rows = synth_rows(kind, chosen, start, minutes, seed)
    if out is None:
        count = write_synth(sys.stdout, rows)
    else:
        with open_text(out, "w") as handle:
            count = write_synth(handle, rows)
        print(f"wrote {count} {kind} rows to {out}", file=sys.stderr)
    return 0


def run_replay(state_dir: Path, path: Path, *, speed: float, symbol: str | None, source: str, batch_rows: int) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from tradeplane_local import stack
    from tradeplane_local.devtokens import local_token

    state = stack.read_state(state_dir.resolve())
    if not state or not state.get("runtime"):
        raise stack.StackError("the local platform is not up; run `tradeplane local up`")
    with open_text(path, "r") as handle:
        total = max(0, sum(1 for _ in csv.reader(handle)) - 1)
    token = local_token(state_dir, subject="tradeplane-replay", scope=["market-data:write"], ttl_s=3600)
    post, close = gateway_poster(state["runtime"]["gateway"], token)
    columns = (TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"), TimeRemainingColumn())
    try:
        with Progress(*columns, transient=False) as progress:
            task = progress.add_task("replay", total=total)
            summary = replay(path, post, source=source, symbol=symbol, speed=speed, batch_rows=batch_rows,
                             on_progress=lambda n: progress.advance(task, n))  # fmt: skip
    except ReplayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        close()
    print_summary(summary)
    return 0


def print_summary(summary: ReplaySummary) -> None:
    print(f"{summary.rows} rows in {summary.requests} requests: {summary.accepted} accepted, "
          f"{summary.left_out} left out (duplicates, outliers), {len(summary.rejected)} rejected")  # fmt: skip
    for line, name, reason in summary.rejected[:20]:
        print(f"  line {line}: {name} {reason}")


def add_data_commands(sub: Any, with_state: Callable[[Any], Any]) -> None:
    """`tradeplane data synth|replay` on the CLI's subparsers (`with_state` adds --state-dir)."""
    data = sub.add_parser("data", help="market data files: synthesize, replay").add_subparsers(
        dest="action", required=True
    )
    syn = data.add_parser("synth", help="seeded, realistic trades, quotes or bars as CSV")
    syn.add_argument("--kind", choices=["trades", "quotes", "bars", "daily"], default="trades")
    syn.add_argument("--symbols", default=",".join(DEFAULT_SYMBOLS), help="comma-separated")
    syn.add_argument("--start", type=lambda s: datetime.fromisoformat(s).astimezone(UTC), default=None,
                     help="first minute (default: the last weekday's 14:30 UTC)")  # fmt: skip
    syn.add_argument("--minutes", type=int, default=30, help="minutes of ticks (daily: trading days)")
    syn.add_argument("--seed", type=int, default=7)
    syn.add_argument("--out", type=Path, help="file to write (.gz compresses); default stdout")
    syn.set_defaults(run=lambda a: run_synth(a.kind, [s.strip().upper() for s in a.symbols.split(",") if s.strip()],
                                             a.start or today_start(), a.minutes, a.seed, a.out))  # fmt: skip
    rep = with_state(data.add_parser("replay", help="push a file through POST /v1/market-data at a chosen speed"))
    rep.add_argument("file", type=Path)
    rep.add_argument("--speed", type=float, default=0.0, help="data seconds per wall second (0: as fast as possible)")
    rep.add_argument("--symbol", help="symbol of rows without one (default: from the file's rows or name)")
    rep.add_argument("--source", default="replay", help="feed name the events carry")
    rep.add_argument("--batch-rows", type=int, default=2_000, help="rows per request")
    rep.set_defaults(run=lambda a: run_replay(a.state_dir, a.file, speed=a.speed, symbol=a.symbol, source=a.source,
                                              batch_rows=a.batch_rows))  # fmt: skip


def today_start() -> datetime:
    """The last weekday's 14:30 UTC (US open), so synthetic data looks like a session."""
    day: date = datetime.now(UTC).date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime(day.year, day.month, day.day, 14, 30, tzinfo=UTC)


__all__ = ["ReplayError", "ReplaySummary", "replay", "run_replay", "run_synth", "synth_rows"]
