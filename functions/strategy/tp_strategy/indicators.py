"""Incremental indicators whose whole state is a JSON-able dict (the live runner keeps it in Redis).

Each indicator is a pair of functions: `*_state(...)` makes an empty state, `*_update(state, x)`
folds one value in and returns the indicator's value (None until it has enough values). Every
update is O(1) (amortised O(1) for the rolling extremes); state holds only plain lists, floats and
ints so `json.loads(json.dumps(state))` continues exactly where it left off.

Floats, not Decimal: indicator values decide signals, never money.
"""

from __future__ import annotations

import math
from typing import Any

Ind = dict[str, Any]

# ---------------------------------------------------------------- rolling window (ring buffer + running sums)


def window_state(n: int) -> Ind:
    """A rolling window of the last `n` values with their running sum and sum of squares."""
    return {"n": n, "buf": [], "i": 0, "sum": 0.0, "sq": 0.0}


def window_push(w: Ind, x: float) -> bool:
    """Add `x`, evicting the value `n` steps back; True once the window is full."""
    buf: list[float] = w["buf"]
    n: int = w["n"]
    if len(buf) < n:
        buf.append(x)
    else:
        i = w["i"]
        old = buf[i]
        buf[i] = x
        w["i"] = (i + 1) % n
        w["sum"] -= old
        w["sq"] -= old * old
    w["sum"] += x
    w["sq"] += x * x
    return len(buf) == n


def mean_std(w: Ind) -> tuple[float, float]:
    """Mean and population standard deviation of a full window (ddof=0, as Bollinger defined the bands)."""
    n = w["n"]
    mean = w["sum"] / n
    var = w["sq"] / n - mean * mean
    return mean, math.sqrt(var) if var > 0 else 0.0  # rounding can make a flat window's variance -1e-17


# ---------------------------------------------------------------- exponential moving average


def ema_state(n: int) -> Ind:
    """EMA with alpha 2/(n+1), seeded with the simple mean of its first `n` values (the usual convention)."""
    return {"n": n, "alpha": 2.0 / (n + 1), "seed": 0.0, "count": 0, "value": None}


def ema_update(e: Ind, x: float) -> float | None:
    if e["value"] is not None:
        e["value"] += e["alpha"] * (x - e["value"])
        return float(e["value"])
    e["seed"] += x
    e["count"] += 1
    if e["count"] == e["n"]:
        e["value"] = e["seed"] / e["n"]
    return None if e["value"] is None else float(e["value"])


# ---------------------------------------------------------------- RSI with Wilder smoothing


def rsi_state(n: int) -> Ind:
    return {"n": n, "prev": None, "count": 0, "gain": 0.0, "loss": 0.0}


def rsi_update(r: Ind, close: float) -> float | None:
    """Wilder's RSI: the first averages are simple means of `n` changes, then avg = (avg*(n-1) + x)/n."""
    prev = r["prev"]
    r["prev"] = close
    if prev is None:
        return None
    change = close - prev
    gain, loss = (change, 0.0) if change > 0 else (0.0, -change)
    n = r["n"]
    if r["count"] < n:
        r["gain"] += gain / n
        r["loss"] += loss / n
        r["count"] += 1
        if r["count"] < n:
            return None
    else:
        r["gain"] = (r["gain"] * (n - 1) + gain) / n
        r["loss"] = (r["loss"] * (n - 1) + loss) / n
    if r["loss"] == 0:
        return 100.0 if r["gain"] > 0 else 50.0  # no losses: maximally overbought; no moves at all: neutral
    return float(100.0 - 100.0 / (1.0 + r["gain"] / r["loss"]))


# ---------------------------------------------------------------- rolling max / min (monotonic queues)


def extreme_state(n: int, kind: str) -> Ind:
    """Rolling max (kind "max") or min ("min") of the last `n` values: a monotonic queue of [index, value]."""
    return {"n": n, "max": kind == "max", "q": [], "t": 0}


def extreme_push(m: Ind, x: float) -> None:
    q: list[list[float]] = m["q"]
    t = m["t"]
    if m["max"]:
        while q and q[-1][1] <= x:
            q.pop()
    else:
        while q and q[-1][1] >= x:
            q.pop()
    q.append([t, x])
    if q[0][0] <= t - m["n"]:
        del q[0]  # at most one value leaves per step; the queue never holds more than n
    m["t"] = t + 1


def extreme_value(m: Ind) -> float | None:
    """The extreme of the last `n` values pushed, or None until `n` values were pushed."""
    return float(m["q"][0][1]) if m["t"] >= m["n"] else None
