"""GET /v2/stocks/bars and /v2/stocks/{symbol}/bars: bar history in Alpaca's shapes, from the read replica.

Query: `symbols` (the first route), `timeframe`, `start`, `end`, `limit`, `page_token`, `sort`;
`feed`, `adjustment`, `asof` and `currency` are accepted and ignored (docs/market-data.md). They are
checked by `BarQuery.from_query`, one place for both routes, with Alpaca-shaped 4xx problems.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_etl.market_data import BarQuery, read_bars
from tradeplane import db
from tradeplane.http_api import api_resolver
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads market.bars from the replica (uses.postgres = "replica"); rate limited per principal."""


SETTINGS = load_settings(Settings)

app = api_resolver(SETTINGS, alpaca=True)


def _page(symbols: str | None) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    query = BarQuery.from_query(dict(app.current_event.query_string_parameters or {}), symbols)
    with db.connection(read_only=True) as conn:
        return read_bars(conn, query)


BAD_TOKEN: dict[int, OpenAPIResponse] = {
    200: {"description": "One page of bars"},
    400: {"description": "A page_token this server did not issue"},
}


@app.get("/v2/stocks/bars", summary="Bars of several symbols (Alpaca market data)", tags=["market-data"],
         responses=BAD_TOKEN)  # fmt: skip
def multi_bars() -> dict[str, Any]:
    bars, token = _page(None)
    return {"bars": bars, "next_page_token": token}


@app.get("/v2/stocks/<symbol>/bars", summary="Bars of one symbol (Alpaca market data)", tags=["market-data"],
         responses=BAD_TOKEN)  # fmt: skip
def symbol_bars(symbol: Annotated[str, Path(max_length=24)]) -> dict[str, Any]:
    bars, token = _page(symbol)
    return {"bars": next(iter(bars.values()), []), "symbol": symbol.upper(), "next_page_token": token}


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
