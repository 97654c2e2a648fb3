"""Bar intervals and the grace window, shared by `bar_aggregator` and `bar_closer` (manifest `environment`)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator
from tradeplane.contracts.market import BAR_INTERVAL, interval_length
from tradeplane.settings import FunctionSettings


class BarSettings(FunctionSettings):
    """`TP_BAR_INTERVALS` (comma-separated, 1m always included) and `TP_BAR_GRACE_S`."""

    bar_intervals: str = BAR_INTERVAL
    bar_grace_s: float = Field(default=0.0, ge=0, le=3600)

    @field_validator("bar_intervals")
    @classmethod
    def _known(cls, value: str) -> str:
        for interval in value.split(","):
            interval_length(interval.strip())
        return value

    @property
    def intervals(self) -> tuple[str, ...]:
        named = [i.strip() for i in self.bar_intervals.split(",") if i.strip()]
        return tuple(dict.fromkeys([BAR_INTERVAL, *named]))

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=self.bar_grace_s)
