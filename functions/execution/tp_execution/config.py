"""The paper venue's fill and fee settings, a settings part that execution's handlers compose.

Variables: TP_FILL_SLIPPAGE_BPS, TP_FILL_SPREAD_BPS, TP_FILL_PARTICIPATION (empty: no volume bound),
TP_FEE_PER_SHARE, TP_FEE_BPS, TP_FEE_MINIMUM (set per function in the manifest's `environment`).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from tradeplane.fill_model import FeeSchedule, FillConfig
from tradeplane.settings import FunctionSettings


class PaperVenueSettings(FunctionSettings):
    fill_slippage_bps: Decimal = Field(default=Decimal(0), ge=0, le=1000)
    fill_spread_bps: Decimal = Field(default=Decimal(0), ge=0, le=1000)
    fill_participation: Decimal | None = Field(default=None, gt=0, le=1)
    fee_per_share: Decimal = Field(default=Decimal(0), ge=0)
    fee_bps: Decimal = Field(default=Decimal(0), ge=0, le=1000)
    fee_minimum: Decimal = Field(default=Decimal(0), ge=0)

    def fill_config(self) -> FillConfig:
        return FillConfig(
            slippage_bps=self.fill_slippage_bps,
            spread_bps=self.fill_spread_bps,
            participation=self.fill_participation,
            fees=FeeSchedule(self.fee_per_share, self.fee_bps, self.fee_minimum),
        )


class VenueSettings(FunctionSettings):
    """Per-account venues: the secret prefix from the manifest's `uses.secret_prefixes = ["venues"]`.

    Variables: TP_SECRET_PREFIX_VENUES, TP_VENUE_SECRET_MAX_AGE_S, TP_VENUE_TIMEOUT_S.
    """

    secret_prefix_venues: str | None = None
    venue_secret_max_age_s: int = Field(default=300, ge=0, le=3600)
    venue_timeout_s: float = Field(default=5.0, gt=0, le=25)


class FollowSettings(FunctionSettings):
    """The venue follower's timing. Variables: TP_FOLLOW_STOP_BEFORE_TIMEOUT_S (how long before the Lambda
    timeout it lets go of the streams), TP_FOLLOW_REFRESH_S (how often it looks for newly routed accounts and
    renews its leases), TP_FOLLOW_LEASE_TTL_S (how soon a crashed run's accounts are taken over)."""

    follow_stop_before_timeout_s: float = Field(default=4.0, gt=0, le=60)
    follow_refresh_s: float = Field(default=2.0, gt=0, le=30)
    follow_lease_ttl_s: float = Field(default=15.0, gt=0, le=300)
