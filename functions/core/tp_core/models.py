"""Request models of the Core API's /v1 surface (Tradeplane's own management API)."""

from __future__ import annotations

from decimal import Decimal
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._@-]{2,63}$")]
Password = Annotated[str, Field(min_length=12, max_length=256)]
Money = Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=2, allow_inf_nan=False)]
Scope = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9:-]{1,40}$")]

USER_SCOPES = ("accounts:read", "accounts:write", "api-keys", "trading:read", "trading:write")
API_KEY_SCOPES = ("trading:read", "trading:write")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PasswordGrant(_Request):
    grant_type: Literal["password"]
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]
    # Binds the access token to one of the user's accounts, for the /v2 routes.
    account_id: UUID | None = None


class RefreshGrant(_Request):
    grant_type: Literal["refresh_token"]
    refresh_token: Annotated[str, Field(min_length=20, max_length=128)]


TokenRequest = Annotated[PasswordGrant | RefreshGrant, Field(discriminator="grant_type")]


class ApiKeyCreate(_Request):
    account_id: UUID
    label: Annotated[str, Field(max_length=64)] = ""
    scopes: Annotated[list[Literal["trading:read", "trading:write"]], Field(min_length=1, max_length=2)] = [
        "trading:read",
        "trading:write",
    ]


class AccountCreate(_Request):
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"
    starting_cash: Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=2, allow_inf_nan=False)] = Decimal(
        "100000"
    )


class CashMovement(_Request):
    type: Literal["deposit", "withdrawal"]
    amount: Money
    # A retried request with the same key records the movement once.
    idempotency_key: Annotated[str, Field(min_length=1, max_length=64)]
    description: Annotated[str, Field(max_length=200)] = ""


class RiskSettings(_Request):
    """Every limit is optional: null means no limit."""

    shorting_enabled: bool = False
    max_order_notional: Money | None = None
    max_position_qty: Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=8)] | None = None
    price_band_pct: Annotated[Decimal, Field(gt=0, le=100, max_digits=6, decimal_places=3)] | None = None
    max_orders_per_minute: Annotated[int, Field(gt=0, le=100_000)] | None = None
    tradable_symbols: (
        Annotated[
            list[Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9.\-]{0,15}$")]], Field(max_length=10_000)
        ]
        | None
    ) = None


class Allowlist(_Request):
    cidrs: Annotated[list[IPv4Network | IPv6Network], Field(max_length=100)]


class KillSwitch(_Request):
    trading_blocked: bool
