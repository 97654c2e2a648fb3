"""One manifest, two deploying sides: what the local runtime would serve equals what the CDK app synthesizes.

The fixture manifest covers every trigger kind. The local side is a `Runtime` built from it
(not started: its gateway routes, authorizer, schedules and log subscriptions are wired at
construction, its topics and Kafka sources come from the same wiring); the AWS side is the
synthesized template of the same manifest.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from tradeplane_local.runtime import Runtime, RuntimeConfig
from tradeplane_tools.manifest import Bindings, load_manifest

from .conftest import FIXTURE_MANIFEST, Synth

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    config = RuntimeConfig(
        manifest=str(FIXTURE_MANIFEST),
        state_dir=str(tmp_path_factory.mktemp("agree")),
        bindings=asdict(Bindings(stage="local", kafka_bootstrap="127.0.0.1:9")),
    )
    return Runtime(config, load_manifest(FIXTURE_MANIFEST))


def _owners(synth: Synth, resource_type: str, prop: str, name_of: Callable[[Any], str]) -> dict[str, str]:
    """Logical id -> manifest function name, for resources named after a function by the deployment's rule."""
    d = synth.deployment
    by_name = {name_of(fn): fn.name for fn in d.manifest.functions.values()}
    return {
        lid: by_name[r["Properties"][prop]]
        for lid, r in synth.resources("service", resource_type).items()
        if r["Properties"].get(prop) in by_name
    }


def _function_names(synth: Synth) -> dict[str, str]:
    return _owners(synth, "AWS::Lambda::Function", "FunctionName", synth.deployment.function_name)


def _log_group_owners(synth: Synth) -> dict[str, str]:
    return _owners(synth, "AWS::Logs::LogGroup", "LogGroupName", synth.deployment.log_group_name)


def test_routes_and_authorizer_agree(local: Runtime, aws_fixture: Synth) -> None:
    routes = aws_fixture.resources("service", "AWS::ApiGatewayV2::Route").values()
    cdk = {(r["Properties"]["RouteKey"], r["Properties"].get("AuthorizationType", "NONE")) for r in routes}
    ours = {(f"{r.method} {r.template}", "CUSTOM" if r.auth else "NONE") for r in local.gateway.router.routes}
    assert ours == cdk
    (authorizer,) = aws_fixture.resources("service", "AWS::ApiGatewayV2::Authorizer").values()
    assert local.gateway.authorizer is not None
    assert authorizer["Properties"]["IdentitySource"] == list(local.gateway.authorizer.identity_sources)
    assert authorizer["Properties"]["AuthorizerResultTtlInSeconds"] == local.gateway.authorizer.ttl_s


def test_topics_agree(local: Runtime, aws_fixture: Synth) -> None:
    cdk = {
        t["Properties"]["TopicName"]: (
            t["Properties"]["PartitionCount"],
            base64.b64decode(t["Properties"]["Configs"]).decode(),
        )
        for t in aws_fixture.resources("streaming", "AWS::MSK::Topic").values()
    }
    ours = {
        name: (rule.partitions, "\n".join(f"{k}={v}" for k, v in rule.config.items()))
        for name, rule in local.wiring.topics.items()
    }
    assert ours == cdk
    assert any(config != "retention.ms=604800000" for _, config in ours.values())  # the fixture overrides one


def test_event_sources_agree(local: Runtime, aws_fixture: Synth) -> None:
    from tradeplane_infra.triggers import batching_window_seconds

    names = _function_names(aws_fixture)

    def cdk_view(p: dict[str, Any]) -> tuple[Any, ...]:
        group = p["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"]
        return (
            names[p["FunctionName"]["Ref"]], p["Topics"][0], group, p["BatchSize"],
            p.get("MaximumBatchingWindowInSeconds"), p["StartingPosition"], p["MaximumRetryAttempts"],
            p["BisectBatchOnFunctionError"], p["DestinationConfig"]["OnFailure"]["Destination"],
        )  # fmt: skip

    cdk = {
        cdk_view(m["Properties"]) for m in aws_fixture.resources("service", "AWS::Lambda::EventSourceMapping").values()
    }
    ours = {
        (
            s.function,
            s.topic,
            s.group,
            s.batch_size,
            batching_window_seconds(s.batching_window_ms),
            s.starting_position,
            s.max_retries,
            s.bisect_on_error,
            f"kafka://{s.dead_letter_topic}",
        )
        for s in local.source_configs()
    }
    assert ours == cdk and ours


def test_event_source_concurrency_and_pollers_agree(local: Runtime, aws_fixture: Synth) -> None:
    """The batches a mapping runs at once: its function's reserved concurrency capped by the topic's partitions,
    on both sides; and AWS's provisioned pollers (5 invocations each) can carry that many."""
    from tradeplane_tools.wiring import INVOCATIONS_PER_POLLER

    names = _function_names(aws_fixture)
    reserved = {
        names[lid]: f["Properties"].get("ReservedConcurrentExecutions")
        for lid, f in aws_fixture.resources("service", "AWS::Lambda::Function").items()
        if lid in names
    }
    partitions = {
        t["Properties"]["TopicName"]: t["Properties"]["PartitionCount"]
        for t in aws_fixture.resources("streaming", "AWS::MSK::Topic").values()
    }
    cdk = {}
    for m in aws_fixture.resources("service", "AWS::Lambda::EventSourceMapping").values():
        p = m["Properties"]
        fn, topic = names[p["FunctionName"]["Ref"]], p["Topics"][0]
        pollers = p["ProvisionedPollerConfig"]
        cdk[(fn, topic)] = (min(reserved[fn] or partitions[topic], partitions[topic]), pollers["MaximumPollers"])
        assert 1 <= pollers["MinimumPollers"] <= pollers["MaximumPollers"]
    ours = {(r.function, r.topic): r.max_concurrency for r in local.wiring.event_sources}
    assert set(ours) == set(cdk) and ours
    for key, concurrency in ours.items():
        assert cdk[key][0] == concurrency, key
        assert cdk[key][1] * INVOCATIONS_PER_POLLER >= concurrency, key
    # The local sources run the same concurrency, capped only by the containers the runtime allows.
    for cfg in local.source_configs():
        rule = ours[(cfg.function, cfg.topic)]
        assert cfg.max_concurrency == min(rule, local.hosts[cfg.function].cfg.max_concurrency)


def test_schedules_agree(local: Runtime, aws_fixture: Synth) -> None:
    names = _function_names(aws_fixture)
    cdk = {
        (
            names[r["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]],
            r["Properties"]["ScheduleExpression"],
            r["Properties"]["Targets"][0]["RetryPolicy"]["MaximumRetryAttempts"],
        )
        for r in aws_fixture.resources("service", "AWS::Events::Rule").values()
    }
    ours = {(s.rule.function, s.rule.expression, s.rule.retry_attempts) for s in local.scheduler.schedules}
    assert ours == cdk and ours


def test_log_subscriptions_agree(local: Runtime, aws_fixture: Synth) -> None:
    names, groups = _function_names(aws_fixture), _log_group_owners(aws_fixture)
    cdk: dict[str, set[str]] = {}
    for sub in aws_fixture.resources("service", "AWS::Logs::SubscriptionFilter").values():
        p = sub["Properties"]
        subscriber = names[p["DestinationArn"]["Fn::GetAtt"][0]]
        cdk.setdefault(subscriber, set()).add(groups[p["LogGroupName"]["Ref"]])
    ours = {rule.subscriber: set(rule.sources) for rule in local.logs.subscriptions}
    assert ours == cdk and ours
    assert all(subscriber not in sources for subscriber, sources in ours.items())


def test_a_manifest_synth_would_refuse_is_refused_locally(tmp_path: Path) -> None:
    from tradeplane_tools.manifest import ManifestError

    text = FIXTURE_MANIFEST.read_text()
    extra = "".join(
        f'\n[functions.sink{i}]\ncomponent = "logging"\npath = "logging/log_aggregator"\n'
        f'triggers = [{{ type = "logs" }}]\n'
        for i in range(2)
    )
    bad = tmp_path / "manifest.toml"
    bad.write_text(text + extra)
    with pytest.raises(ManifestError, match="subscription filters per log group"):
        load_manifest(bad, check_files=False)


def test_websocket_routes_agree(aws_real: Synth, tmp_path: Path) -> None:
    """The real manifest (the fixture has no WebSocket functions): the local gateway's `/stream` routes are the
    WebSocket API's routes, each to the same function, and both give the posting functions the endpoint."""
    import json

    from .conftest import REAL_MANIFEST

    manifest = load_manifest(REAL_MANIFEST)
    config = RuntimeConfig(
        manifest=str(REAL_MANIFEST),
        state_dir=str(tmp_path),
        bindings=asdict(Bindings(stage="local", kafka_bootstrap="127.0.0.1:9")),
    )
    local = Runtime(config, manifest)
    assert local.websocket is not None
    names = _function_names(aws_real)
    integrations = aws_real.resources("service", "AWS::ApiGatewayV2::Integration")
    cdk = {}
    for route in aws_real.resources("service", "AWS::ApiGatewayV2::Route").values():
        key = route["Properties"]["RouteKey"]
        if key.startswith("$"):
            target = route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
            uri = json.dumps(integrations[target]["Properties"]["IntegrationUri"])
            (cdk[key],) = [name for lid, name in names.items() if f'"{lid}"' in uri]
    assert local.websocket.routes == cdk
    posting = {fn.name for fn in manifest.functions.values() if fn.uses.websocket}
    assert {n for n, h in local.hosts.items() if "TP_WS_ENDPOINT" in h.cfg.environment} == posting
    assert local.hosts["ws_message"].cfg.environment["TP_WS_ENDPOINT"] == f"http://127.0.0.1:{config.gateway_port}"
