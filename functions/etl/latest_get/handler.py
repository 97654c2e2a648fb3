"""Latest trade and quote per symbol in Alpaca's market data shapes, from Redis (`px:`, `qt:`)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_etl.market_data import latest, latest_one, symbols_of
from tradeplane.http_api import api_resolver
from tradeplane.observability import correlation_paths, instrument
from tradeplane.redis_client import client
from tradeplane.settings import RateLimitSettings, load_settings


class Settings(RateLimitSettings):
    """Reads the latest trade and quote hashes the bar aggregator keeps in Redis; rate limited per principal."""


SETTINGS = load_settings(Settings)

app = api_resolver(SETTINGS, alpaca=True)

# Lengths keep the worst case (every character percent-encoded as 4 bytes) inside API Gateway's 10,240
# bytes of request line and headers: 100 symbols of 4 letters fit.
Symbols = Annotated[str, Query(max_length=500, description="Comma-separated symbols")]
Symbol = Annotated[str, Path(max_length=24)]
Ignored = Annotated[str | None, Query(max_length=16)]  # feed, currency: one feed, USD
ONE: dict[int, OpenAPIResponse] = {
    200: {"description": "The latest trade or quote"},
    404: {"description": "No trade or quote is known for the symbol"},
}


@app.get("/v2/stocks/trades/latest", summary="Latest trade of several symbols", tags=["market-data"])
def latest_trades(symbols: Symbols, feed: Ignored = None, currency: Ignored = None) -> dict[str, Any]:
    return {"trades": latest(client(), "trades", symbols_of(symbols))}


@app.get("/v2/stocks/quotes/latest", summary="Latest quote of several symbols", tags=["market-data"])
def latest_quotes(symbols: Symbols, feed: Ignored = None, currency: Ignored = None) -> dict[str, Any]:
    return {"quotes": latest(client(), "quotes", symbols_of(symbols))}


@app.get("/v2/stocks/<symbol>/trades/latest", summary="Latest trade of one symbol", tags=["market-data"], responses=ONE)
def latest_trade(symbol: Symbol, feed: Ignored = None, currency: Ignored = None) -> dict[str, Any]:
    return {"symbol": symbol.upper(), "trade": latest_one(client(), "trades", symbol)}


@app.get("/v2/stocks/<symbol>/quotes/latest", summary="Latest quote of one symbol", tags=["market-data"], responses=ONE)
def latest_quote(symbol: Symbol, feed: Ignored = None, currency: Ignored = None) -> dict[str, Any]:
    return {"symbol": symbol.upper(), "quote": latest_one(client(), "quotes", symbol)}


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
