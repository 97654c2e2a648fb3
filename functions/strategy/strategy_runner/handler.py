"""Consumes `market.bars`: runs the enabled strategies of each closed bar, stores and publishes their
signals, and sends the orders they call for through the Core API."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, ValidationError
from tp_strategy.runner import live_runner
from tp_strategy.runner_state import STATE_TTL_S
from tradeplane.contracts.market import BAR_EVENT, Bar
from tradeplane.msk_records import envelopes, parse_msk_event
from tradeplane.observability import instrument, logger, metrics, set_correlation_id
from tradeplane.settings import KafkaSettings, PostgresSettings, RedisSettings, load_settings
from tradeplane.tokens import load_keyset


class Settings(PostgresSettings, KafkaSettings, RedisSettings):
    """Reads strategies and bars, writes signals; keeps `strat:` state; produces signals; calls the Core API."""

    secret_jwt_signing_keys: str  # uses.secrets: signs the runner's service tokens
    service_url_core: str  # uses.calls
    api_audience: str = "tradeplane-api"
    strategies_cache_s: float = Field(default=5.0, ge=0)  # how long a disabled strategy may still trade
    strategy_state_ttl_s: int = Field(default=STATE_TTL_S, ge=60)
    core_timeout_s: float = Field(default=3.0, gt=0)
    # Kept back from the invocation's remaining time: Core API retries stop in time to fail the batch cleanly.
    budget_margin_s: float = Field(default=3.0, ge=0)


SETTINGS = load_settings(Settings)
RUNNER = live_runner(
    service_url=SETTINGS.service_url_core,
    keyset=lambda: load_keyset(SETTINGS.secret_jwt_signing_keys),
    audience=SETTINGS.api_audience,
    enabled_ttl_s=SETTINGS.strategies_cache_s,
    state_ttl_s=SETTINGS.strategy_state_ttl_s,
    core_timeout_s=SETTINGS.core_timeout_s,
)


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    found, rejected = envelopes(parse_msk_event(event), BAR_EVENT)
    bars: list[Bar] = []
    for env in found:
        try:
            bars.append(env.data_as(Bar))
        except ValidationError as exc:
            logger.error("bar rejected", extra={"event_id": env.id, "errors": exc.error_count()})
    for bad in rejected:
        logger.error("record rejected", extra=bad.__dict__)  # can never succeed: never hold the partition for it
    if found:
        set_correlation_id(found[0].correlation_id)
    budget_s = context.get_remaining_time_in_millis() / 1000 - SETTINGS.budget_margin_s
    out = RUNNER.run(bars, budget_s=budget_s, correlation_id=found[0].correlation_id if found else None)
    metrics.add_metric(name="BarsRun", unit=MetricUnit.Count, value=out.runs)
    metrics.add_metric(name="SignalsRaised", unit=MetricUnit.Count, value=out.signals)
    metrics.add_metric(name="OrdersSubmitted", unit=MetricUnit.Count, value=out.submitted)
    metrics.add_metric(name="StatesRebuilt", unit=MetricUnit.Count, value=out.rebuilt)
    logger.info("bars run", extra=out.__dict__)
    return dict(out.__dict__)
