"""Instruments (`market.instruments`) served as Alpaca Assets, and their admin upsert.

An asset's id is derived from its symbol (md5 of `tradeplane-asset:<symbol>` as a
UUID, checked by a table constraint) so it is stable across environments and an
upsert needs no lookup to know it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from tradeplane.contracts.alpaca_orders import asset_id
from tradeplane.db import DbConnection

__all__ = [
    "ASSET_KEY_PATTERN",
    "ATTRIBUTES_PATTERN",
    "Asset",
    "AssetFilter",
    "InstrumentBatch",
    "InstrumentIn",
    "UpsertResult",
    "asset_id",
    "get_asset",
    "list_assets",
    "upsert_instruments",
]

AssetClass = Literal["us_equity", "us_option", "crypto", "crypto_perp"]
Exchange = Literal["AMEX", "ARCA", "BATS", "NYSE", "NASDAQ", "NYSEARCA", "OTC"]
AssetStatus = Literal["active", "inactive"]
AssetAttribute = Literal["ptp_no_exception", "ptp_with_exception", "ipo", "has_options", "options_late_close"]
_ATTRIBUTE = "(ptp_no_exception|ptp_with_exception|ipo|has_options|options_late_close)"
ATTRIBUTES_PATTERN = f"^{_ATTRIBUTE}(,{_ATTRIBUTE})*$"
# A symbol (any case: lookups are case-insensitive) or an asset id.
ASSET_KEY_PATTERN = (
    r"^([A-Za-z][A-Za-z0-9.]{0,11}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)
Symbol = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9.]{0,11}$", description="Ticker, upper case (e.g. BRK.B)")]

_COLUMNS = (
    "id, symbol, class, exchange, status, tradable, marginable, shortable, easy_to_borrow, fractionable, name, "
    "attributes"
)


class Asset(BaseModel):
    """Alpaca's Asset: `class` (not `asset_class`) is the key the SDKs read."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True, frozen=True)

    id: uuid.UUID
    asset_class: AssetClass = Field(alias="class")
    exchange: Exchange
    symbol: str
    name: str
    status: AssetStatus
    tradable: bool
    marginable: bool
    shortable: bool
    easy_to_borrow: bool
    fractionable: bool
    attributes: list[str]


@dataclass(frozen=True)
class AssetFilter:
    """GET /v2/assets filters; an attribute filter matches assets having any of the attributes."""

    status: AssetStatus | None = None
    asset_class: AssetClass | None = None
    exchange: Exchange | None = None
    attributes: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        status: AssetStatus | None,
        asset_class: AssetClass | None,
        exchange: Exchange | None,
        attributes: str | None,
    ) -> AssetFilter:
        """From the query (`attributes` is comma-separated, already checked against ATTRIBUTES_PATTERN)."""
        return cls(status, asset_class, exchange, tuple(attributes.split(",")) if attributes else ())


class InstrumentIn(BaseModel):
    """One instrument as an admin adds or updates it (its symbol is its key in the batch)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exchange: Exchange
    # No control characters: Postgres text cannot hold NUL, and a name is for display.
    name: Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""
    status: AssetStatus = "active"
    tradable: bool = True
    marginable: bool = True
    shortable: bool = True
    easy_to_borrow: bool = True
    fractionable: bool = True
    attributes: Annotated[list[AssetAttribute], Field(max_length=5)] = Field(default_factory=list)


class InstrumentBatch(BaseModel):
    """Instruments by symbol: an object, so a batch cannot name a symbol twice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # pydantic describes the key pattern as patternProperties; say that other keys are refused too.
    instruments: Annotated[
        dict[Symbol, InstrumentIn],
        Field(min_length=1, max_length=500, json_schema_extra={"additionalProperties": False}),
    ]


class UpsertResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    assets: list[Asset]


def _asset(row: dict[str, Any]) -> Asset:
    return Asset.model_validate({**row, "attributes": list(row["attributes"])})


def list_assets(conn: DbConnection, filters: AssetFilter) -> list[Asset]:
    """Assets matching every given filter, by symbol."""
    rows = conn.execute(
        f"select {_COLUMNS} from market.instruments"
        " where (%(status)s::text is null or status = %(status)s)"
        " and (%(class)s::text is null or class = %(class)s)"
        " and (%(exchange)s::text is null or exchange = %(exchange)s)"
        " and (cardinality(%(attributes)s::text[]) = 0 or attributes && %(attributes)s::text[])"
        " order by symbol",
        {
            "status": filters.status,
            "class": filters.asset_class,
            "exchange": filters.exchange,
            "attributes": list(filters.attributes),
        },
    ).fetchall()
    return [_asset(r) for r in rows]


def get_asset(conn: DbConnection, symbol_or_asset_id: str) -> Asset | None:
    """The asset with this id (a UUID) or symbol (case-insensitive), if any."""
    try:
        key, column = str(uuid.UUID(symbol_or_asset_id)), "id"
    except ValueError:
        key, column = symbol_or_asset_id.upper(), "symbol"
    row = conn.execute(
        f"select {_COLUMNS} from market.instruments where {column}::text = %s",
        (key,),
    ).fetchone()
    return _asset(row) if row else None


_UPSERT = f"""
insert into market.instruments as i
    (id, symbol, exchange, name, status, tradable, marginable, shortable, easy_to_borrow, fractionable, attributes)
values (%(id)s, %(symbol)s, %(exchange)s, %(name)s, %(status)s, %(tradable)s, %(marginable)s, %(shortable)s,
        %(easy_to_borrow)s, %(fractionable)s, %(attributes)s)
on conflict (symbol) do update set
    exchange = excluded.exchange, name = excluded.name, status = excluded.status, tradable = excluded.tradable,
    marginable = excluded.marginable, shortable = excluded.shortable, easy_to_borrow = excluded.easy_to_borrow,
    fractionable = excluded.fractionable, attributes = excluded.attributes, updated_at = now()
where (i.exchange, i.name, i.status, i.tradable, i.marginable, i.shortable, i.easy_to_borrow, i.fractionable,
       i.attributes)
   is distinct from (excluded.exchange, excluded.name, excluded.status, excluded.tradable, excluded.marginable,
       excluded.shortable, excluded.easy_to_borrow, excluded.fractionable, excluded.attributes)
returning (xmax = 0) as created, {_COLUMNS}
"""


def upsert_instruments(conn: DbConnection, batch: InstrumentBatch) -> UpsertResult:
    """Add or update each instrument; sending the same batch again changes nothing (all `unchanged`)."""
    created = updated = 0
    for symbol, item in sorted(batch.instruments.items()):  # one lock order for concurrent batches
        params = {
            **item.model_dump(),
            "symbol": symbol,
            "id": asset_id(symbol),
            "attributes": sorted(set(item.attributes)),
        }
        row = conn.execute(_UPSERT, params).fetchone()
        if row is not None:
            created += bool(row["created"])
            updated += not row["created"]
    symbols = sorted(batch.instruments)
    rows = conn.execute(
        f"select {_COLUMNS} from market.instruments where symbol = any(%s) order by symbol",
        (symbols,),
    ).fetchall()
    return UpsertResult(
        created=created,
        updated=updated,
        unchanged=len(symbols) - created - updated,
        assets=[_asset(r) for r in rows],
    )
