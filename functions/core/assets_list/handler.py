"""GET /v2/assets: Alpaca's asset list, filtered by status, asset_class, exchange and attributes."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.instruments import ATTRIBUTES_PATTERN, Asset, AssetClass, AssetFilter, AssetStatus, Exchange
from tp_core.instruments import list_assets as list_instruments
from tradeplane import db
from tradeplane.http_api import api_resolver
from tradeplane.http_guard import resolve
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads instruments from the replica (uses.postgres = "replica"); rate limited per principal."""


SETTINGS = load_settings(Settings)

app = api_resolver(SETTINGS, alpaca=True)


@app.get("/v2/assets", summary="List assets", tags=["assets"])
def list_assets(
    status: Annotated[AssetStatus | None, Query()] = None,
    asset_class: Annotated[AssetClass | None, Query()] = None,
    exchange: Annotated[Exchange | None, Query()] = None,
    attributes: Annotated[
        str | None, Query(pattern=ATTRIBUTES_PATTERN, description="Comma-separated; any of them matches")
    ] = None,
) -> list[Asset]:
    filters = AssetFilter.of(status, asset_class, exchange, attributes)
    with db.connection(read_only=True) as conn:
        return list_instruments(conn, filters)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
