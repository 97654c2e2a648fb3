"""Symbols as vendors write them, normalised to the platform's form (upper case, class shares with a dot)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import PurePosixPath

SYMBOL_PATTERN = re.compile(r"^[A-Z][A-Z0-9.\-]{0,15}$")  # tradeplane.contracts.market.Symbol


class SymbolError(ValueError):
    """Not a symbol, even after normalisation."""


@lru_cache(maxsize=4096)  # a file repeats a handful of symbols on every row
def normalise_symbol(text: str) -> str:
    """` brk/b ` -> `BRK.B`, `$aapl` -> `AAPL`; raises SymbolError for anything else."""
    symbol = text.strip().lstrip("$").upper().replace("/", ".").replace(" ", ".")
    if not SYMBOL_PATTERN.match(symbol):
        raise SymbolError("is not a symbol (letters, digits, '.', '-'; at most 16)")
    return symbol


def symbol_from_filename(name: str) -> str | None:
    """`raw/vendor/AAPL_1min.csv.gz` -> `AAPL`: the file name up to the first `_`, `.` or `-`, if it is a symbol."""
    stem = re.split(r"[._\-]", PurePosixPath(name).name, maxsplit=1)[0]
    try:
        return normalise_symbol(stem)
    except SymbolError:
        return None
