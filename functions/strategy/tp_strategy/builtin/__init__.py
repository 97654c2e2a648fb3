"""The built-in strategies (docs/strategies.md describes each rule)."""

from __future__ import annotations

from tp_strategy.builtin.bollinger import BollingerReversion
from tp_strategy.builtin.donchian import DonchianBreakout
from tp_strategy.builtin.ma_crossover import MaCrossover
from tp_strategy.builtin.rsi_reversion import RsiReversion

__all__ = ["BUILTIN", "BollingerReversion", "DonchianBreakout", "MaCrossover", "RsiReversion"]

BUILTIN = {cls.type_name: cls for cls in (MaCrossover, RsiReversion, DonchianBreakout, BollingerReversion)}
