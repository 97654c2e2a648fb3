"""GET /v2/stocks/bars and /v2/stocks/{symbol}/bars: bar history in Alpaca's shapes, from the read replica."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_etl.market_data import MAX_LIMIT, BarQuery, read_bars
from tradeplane import db
from tradeplane.http_api import api_resolver
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads market.bars from the replica (uses.postgres = "replica"); rate limited per principal."""


SETTINGS = load_settings(Settings)

app = api_resolver(SETTINGS, alpaca=True)

Timeframe = Annotated[str, Query(max_length=8, description="1Min, 5Min, 15Min, 1Hour, 1Day, ...")]
Time = Annotated[str | None, Query(max_length=40, description="RFC 3339, a date, or a naive time read as UTC")]
Limit = Annotated[int | None, Query(ge=1, le=MAX_LIMIT, description="bars per page, across all symbols")]
Token = Annotated[str | None, Query(max_length=200)]
Sort = Annotated[str | None, Query(pattern="^(asc|desc)$")]
# Accepted for alpaca-py's sake and ignored: one feed, no corporate-action adjustment, USD.
Ignored = Annotated[str | None, Query(max_length=40)]


def _page(symbols: str, timeframe: str, start: str | None, end: str | None, limit: int | None,
          page_token: str | None, sort: str | None) -> tuple[dict[str, list[dict[str, Any]]], str | None]:  # fmt: skip
    query = BarQuery.of(symbols, timeframe, start, end, limit, page_token, sort)
    with db.connection(read_only=True) as conn:
        return read_bars(conn, query)


@app.get("/v2/stocks/bars", summary="Bars of several symbols (Alpaca market data)", tags=["market-data"])
def multi_bars(
    symbols: Annotated[str, Query(max_length=2000, description="Comma-separated symbols")],
    timeframe: Timeframe,
    start: Time = None,
    end: Time = None,
    limit: Limit = None,
    page_token: Token = None,
    sort: Sort = None,
    feed: Ignored = None,
    adjustment: Ignored = None,
    asof: Ignored = None,
    currency: Ignored = None,
) -> dict[str, Any]:
    bars, token = _page(symbols, timeframe, start, end, limit, page_token, sort)
    return {"bars": bars, "next_page_token": token}


@app.get("/v2/stocks/<symbol>/bars", summary="Bars of one symbol (Alpaca market data)", tags=["market-data"])
def symbol_bars(
    symbol: Annotated[str, Path(max_length=24)],
    timeframe: Timeframe,
    start: Time = None,
    end: Time = None,
    limit: Limit = None,
    page_token: Token = None,
    sort: Sort = None,
    feed: Ignored = None,
    adjustment: Ignored = None,
    asof: Ignored = None,
    currency: Ignored = None,
) -> dict[str, Any]:
    bars, token = _page(symbol, timeframe, start, end, limit, page_token, sort)
    rows = next(iter(bars.values()), [])
    return {"bars": rows, "symbol": symbol.upper(), "next_page_token": token}


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
