"""Call a manifest function's handler in-process, as Lambda would, with the environment the manifest gives it.

    module = load_handler("ingest_http", monkeypatch, Bindings(stage="local", kafka_bootstrap=...))
    result = module.handler(event, LambdaContext("ingest_http"))

The environment comes from the tooling's `environment_for`, the same derivation the
local runtime and the CDK app use, so a handler test also proves the manifest's `uses`
gives the handler everything its settings model requires.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from tradeplane import kafka_producer
from tradeplane.envelope import Envelope
from tradeplane_tools.manifest import DEFAULT_MANIFEST, Bindings, environment_for, load_manifest

from support import routes
from support.reset import reset_all

MANIFEST = load_manifest(DEFAULT_MANIFEST)


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def handler_environment(name: str, bindings: Bindings) -> dict[str, str]:
    env = environment_for(MANIFEST, MANIFEST.function(name), bindings)
    # Tracing needs the X-Ray daemon, which only Lambda runs.
    env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def load_handler(name: str, monkeypatch: pytest.MonkeyPatch, bindings: Bindings) -> ModuleType:
    """Import (afresh, as a cold start) function `name`'s handler with the environment its manifest entry gives it."""
    for key in [k for k in os.environ if k.startswith("TP_") and not k.startswith("TP_LOCAL_")]:
        monkeypatch.delenv(key)
    reset_all()
    return routes.load_handler(MANIFEST.function(name).folder, monkeypatch, handler_environment(name, bindings))


class PublishSpy:
    """Records what reached the real producer, so a refusal can be shown to publish nothing."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[Envelope] = []
        real = kafka_producer.publish_many

        def spy(topic: str, items: Iterable[tuple[str, Envelope]], **kw: Any) -> int:
            batch = list(items)
            self.events.extend(env for _, env in batch)
            return real(topic, batch, **kw)

        monkeypatch.setattr(kafka_producer, "publish_many", spy)
        real_serialized = kafka_producer.publish_serialized

        def spy_serialized(topic: str, records: Sequence[tuple[bytes, bytes, Any]], **kw: Any) -> int:
            self.events.extend(Envelope.from_json(value) for _, value, _ in records)
            return real_serialized(topic, records, **kw)

        monkeypatch.setattr(kafka_producer, "publish_serialized", spy_serialized)
