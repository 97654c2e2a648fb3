"""What `POST /v1/market-data` accepts, as OpenAPI: the JSON body's schema, the CSV body and the query string.

Documentation only: the route reads its raw body through the one row parser
(`tp_etl.formats`, docs/decisions.md "one row parser for CSV and JSON"), so these
models never validate a request. They name each field by its canonical spelling;
the parser also takes the vendor spellings listed in docs/market-data.md. A test
checks that bodies built from these schemas are what the parser accepts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from tp_etl.ingest import CSV_TYPE, IngestParams

Number = Annotated[Decimal | str, Field(description="a decimal, as a JSON number or string (read exactly)")]
Time = Annotated[str | int, Field(description="ISO 8601 / RFC 3339, a date, or epoch s/ms/us/ns")]
_ROW = ConfigDict(extra="forbid")


class TradeItem(BaseModel):
    model_config = _ROW
    ts: Time
    symbol: Annotated[str | None, Field(description="default: the body's symbol")] = None
    price: Number
    size: Number
    exchange: Annotated[str | None, Field(max_length=16)] = None
    seq: Annotated[int | None, Field(ge=0, description="the source's sequence number")] = None


class QuoteItem(BaseModel):
    model_config = _ROW
    ts: Time
    symbol: str | None = None
    bid: Number
    bid_size: Number | None = None
    ask: Number
    ask_size: Number | None = None
    exchange: Annotated[str | None, Field(max_length=16)] = None


class BarItem(BaseModel):
    model_config = _ROW
    ts: Time
    symbol: str | None = None
    open: Number
    high: Number
    low: Number
    close: Number
    volume: Number | None = None
    trade_count: Annotated[int | None, Field(ge=0)] = None
    vwap: Annotated[Number | None, Field(description="volume-weighted average price, if the source has it")] = None


class MarketDataJson(IngestParams):
    """A JSON body: the ingest parameters beside one or more sections of rows (`ticks` is `trades`' old name)."""

    kind: SkipJsonSchema[None] = None  # CSV only: a JSON body names its rows by section
    trades: list[TradeItem] = Field(default_factory=list)
    ticks: list[TradeItem] = Field(default_factory=list)
    quotes: list[QuoteItem] = Field(default_factory=list)
    bars: list[BarItem] = Field(default_factory=list)


_CSV_NOTE = "A header line, then one row per line; the query string carries the parameters (source is required)."
_CSV_NOTE = "A header line, then one row per line; the query string carries the parameters (source is required)."
_CSV_EXAMPLE = "timestamp,symbol,price,size,exchange\n2026-11-24T14:30:00.053Z,AAPL,190.00,100,Q\n"


def _inline(schema: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The schema with its `$defs` moved out, referenced as OpenAPI components."""
    defs = schema.pop("$defs", {})
    text = _retarget(schema)
    return text, {name: _retarget(item) for name, item in defs.items()}


def _retarget(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" else _retarget(v))
                for k, v in node.items()}  # fmt: skip
    if isinstance(node, list):
        return [_retarget(v) for v in node]
    return node


def request_body() -> tuple[dict[str, Any], dict[str, Any]]:
    """The operation's `requestBody` and the component schemas it references."""
    body, components = _inline(MarketDataJson.model_json_schema(ref_template="#/$defs/{model}"))
    components["MarketDataJson"] = body
    return {
        "required": True,
        "description": "Trades, quotes or bars as JSON or CSV (formats and column spellings: docs/market-data.md). "
        "At most 4 MiB and 50,000 rows.",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/MarketDataJson"}},
            CSV_TYPE: {"schema": {"type": "string", "description": _CSV_NOTE}, "example": _CSV_EXAMPLE},
        },
    }, components


def query_parameters() -> list[dict[str, Any]]:
    """The CSV request's parameters (a JSON body may carry them as members instead)."""
    schema = IngestParams.model_json_schema()
    return [
        {"name": name, "in": "query", "required": False, "schema": {k: v for k, v in prop.items() if k != "title"},
         "description": prop.get("description", name)}
        for name, prop in schema["properties"].items()
    ]  # fmt: skip


__all__ = ["MarketDataJson", "query_parameters", "request_body"]
