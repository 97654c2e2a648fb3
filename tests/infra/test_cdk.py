"""The synthesized CDK app matches the function manifest, grants least privilege and passes cdk-nag.

Variants: the synthetic fixture manifest (every trigger type) with real built assets,
the real manifest (placeholder assets), the LocalStack target, and prod with
CloudFront + WAF. Each is synthesized once per session (see conftest.py).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import Any

import pytest
from aws_cdk.assertions import Match
from tradeplane_tools.edge_limits import WEBSOCKET_INTEGRATION_TIMEOUT
from tradeplane_tools.manifest import Bindings, FunctionSpec, KafkaTrigger, environment_for

from .conftest import Synth

pytestmark = [pytest.mark.infra, pytest.mark.slow]


# --------------------------------------------------------------------------- helpers


def expected_env(s: Synth, fn: FunctionSpec) -> dict[str, str]:
    """environment_for with placeholder values where CDK puts tokens: the key set must match exactly."""
    d, m = s.deployment, s.deployment.manifest
    aws = not d.is_localstack
    replica = d.config.database.read_replica if aws else d.config.localstack.db_read_dsn is not None
    callees = {m.functions[c].component for f in m.functions.values() for c in f.uses.calls}
    bindings = Bindings(
        stage=d.config.stage,
        db_dsn="token",
        db_read_dsn="token" if replica else None,
        db_secret="token" if aws else None,
        redis_url="token",
        redis_auth_secret="token" if aws else None,
        kafka_bootstrap="token",
        kafka_security="iam" if aws else "plaintext",
        secret_ids=dict.fromkeys(m.secrets, "token"),
        bucket_names=dict.fromkeys(m.buckets, "token"),
        service_urls=dict.fromkeys(callees, "token"),
        websocket_endpoint="token" if m.websocket_routes() else None,
        state_machine_arns=dict.fromkeys(m.state_machines, "token"),
    )
    return environment_for(m, fn, bindings)


def functions_by_name(s: Synth) -> dict[str, dict[str, Any]]:
    found = {r["Properties"].get("FunctionName"): r for r in s.resources("service", "AWS::Lambda::Function").values()}
    return {fn.name: found[s.deployment.function_name(fn)] for fn in s.deployment.manifest.functions.values()}


def statements_of(s: Synth, fn: FunctionSpec) -> list[dict[str, Any]]:
    role_id = functions_by_name(s)[fn.name]["Properties"]["Role"]["Fn::GetAtt"][0]
    out: list[dict[str, Any]] = []
    for policy in s.resources("service", "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    acts: set[str] = set()
    for st in statements:
        a = st["Action"]
        acts.update([a] if isinstance(a, str) else a)
    return acts


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- functions


def test_every_function_matches_the_manifest(variant: Synth) -> None:
    d, m = variant.deployment, variant.deployment.manifest
    fns = functions_by_name(variant)
    assert len(fns) == len(m.functions)
    for fn in m.functions.values():
        props = fns[fn.name]["Properties"]
        assert props["Handler"] == fn.lambda_handler
        assert props["Runtime"] == m.project.runtime
        assert props["Architectures"] == [m.project.architecture]
        assert props["MemorySize"] == m.memory_of(fn)
        assert props["Timeout"] == m.timeout_of(fn)
        assert props.get("ReservedConcurrentExecutions") == fn.reserved_concurrency
        env = props["Environment"]["Variables"]
        expected = expected_env(variant, fn)
        assert set(env) == set(expected), fn.name
        for key in ("TP_STAGE", "TP_FUNCTION", "TP_KAFKA_SECURITY", *fn.environment, *m.defaults.environment):
            if key in expected:
                assert env[key] == expected[key], (fn.name, key)
        layer_refs = [ref["Ref"] for ref in props["Layers"]]
        assert len(layer_refs) == len(m.layers_of(fn))
        for ref, layer in zip(layer_refs, m.layers_of(fn), strict=True):
            assert ref.startswith("FunctionsLayer" + layer.replace("-", "")), (fn.name, ref, layer)
        assert ("VpcConfig" in props) == d.in_vpc(fn), fn.name


def test_log_groups_have_retention(variant: Synth) -> None:
    d = variant.deployment
    groups = {
        r["Properties"].get("LogGroupName"): r["Properties"]
        for r in variant.resources("service", "AWS::Logs::LogGroup").values()
    }
    for fn in d.manifest.functions.values():
        assert groups[d.log_group_name(fn)]["RetentionInDays"] == d.config.functions.log_retention_days


# --------------------------------------------------------------------------- triggers: exact counts


def http_routes(s: Synth) -> dict[str, dict[str, Any]]:
    """The HTTP API's routes (the WebSocket API's route keys start with `$` or are bare actions)."""
    ws = {t.route for t, _ in s.deployment.manifest.websocket_routes()}
    routes = s.resources("service", "AWS::ApiGatewayV2::Route")
    return {k: v for k, v in routes.items() if v["Properties"]["RouteKey"] not in ws}


def test_routes_and_authorizer(variant: Synth) -> None:
    m = variant.deployment.manifest
    routes = http_routes(variant)
    got = {r["Properties"]["RouteKey"]: r["Properties"] for r in routes.values()}
    assert len(routes) == len(m.routes())
    assert set(got) == {f"{t.method} {t.path}" for t, _ in m.routes()}
    for t, _ in m.routes():
        expected = "NONE" if t.auth == "none" else "CUSTOM"
        assert got[f"{t.method} {t.path}"].get("AuthorizationType", "NONE") == expected

    auth_fn = m.authorizer()
    authorizers = variant.resources("service", "AWS::ApiGatewayV2::Authorizer")
    assert len(authorizers) == (1 if auth_fn else 0)
    if auth_fn:
        trig = auth_fn.triggers[0]
        variant.templates["service"].has_resource_properties(
            "AWS::ApiGatewayV2::Authorizer",
            {
                "AuthorizerType": "REQUEST",
                "EnableSimpleResponses": True,
                "AuthorizerPayloadFormatVersion": "2.0",
                "IdentitySource": list(trig.identity_sources),
                "AuthorizerResultTtlInSeconds": trig.result_ttl_s,
            },
        )


def test_stage_throttling_and_access_logs(variant: Synth) -> None:
    d = variant.deployment
    stages = variant.resources("service", "AWS::ApiGatewayV2::Stage").values()
    (stage,) = [st for st in stages if st["Properties"]["StageName"] == "$default"]
    props = stage["Properties"]
    assert props["AccessLogSettings"]["DestinationArn"]
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] == d.config.api.throttle_rate
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] == d.config.api.throttle_burst
    expected = {
        f"{t.method} {t.path}": {"ThrottlingRateLimit": t.throttle_rate, "ThrottlingBurstLimit": t.throttle_burst}
        for t, _ in d.manifest.routes()
        if t.throttle_rate or t.throttle_burst
    }
    assert props.get("RouteSettings", {}) == expected


def test_kafka_event_source_mappings(variant: Synth) -> None:
    from tradeplane_infra.triggers import batching_window_seconds

    d = variant.deployment
    mappings = list(variant.resources("service", "AWS::Lambda::EventSourceMapping").values())
    consumers = d.manifest.kafka_consumers()
    assert len(mappings) == len(consumers)

    def group_of(p: dict[str, Any]) -> str:
        cfg = p.get("AmazonManagedKafkaEventSourceConfig") or p["SelfManagedKafkaEventSourceConfig"]
        return str(cfg["ConsumerGroupId"])

    by_key = {(p["Properties"]["Topics"][0], group_of(p["Properties"])): p["Properties"] for p in mappings}
    for trig, fn in consumers:
        p = by_key[(trig.topic, trig.group)]
        assert p["BatchSize"] == trig.batch_size
        assert p.get("MaximumBatchingWindowInSeconds") == batching_window_seconds(trig.batching_window_ms)
        assert p["StartingPosition"] == trig.starting_position
        assert p["MaximumRetryAttempts"] == trig.max_retries
        assert p["BisectBatchOnFunctionError"] == trig.bisect_on_error
        assert p["DestinationConfig"]["OnFailure"]["Destination"] == f"kafka://{fn.dead_letter_topic(trig)}"
        if d.is_localstack:
            assert p["SelfManagedEventSource"]["Endpoints"]["KafkaBootstrapServers"] == [
                d.config.localstack.kafka_bootstrap
            ]
            assert "ProvisionedPollerConfig" not in p
        else:
            assert "EventSourceArn" in p
            assert p["ProvisionedPollerConfig"]["MinimumPollers"] == d.config.kafka.min_pollers


def test_schedules(variant: Synth) -> None:
    m = variant.deployment.manifest
    rules = variant.resources("service", "AWS::Events::Rule")
    assert len(rules) == len(m.schedules())
    assert Counter(r["Properties"]["ScheduleExpression"] for r in rules.values()) == Counter(
        t.expression for t, _ in m.schedules()
    )


def test_s3_notifications(variant: Synth) -> None:
    m = variant.deployment.manifest
    configs = [
        c
        for r in variant.resources("service", "Custom::S3BucketNotifications").values()
        for c in r["Properties"]["NotificationConfiguration"].get("LambdaFunctionConfigurations", [])
    ]
    assert len(configs) == len(m.s3_notifications())
    for trig, _ in m.s3_notifications():
        rules = [{"Name": "prefix", "Value": trig.prefix}] if trig.prefix else []
        rules += [{"Name": "suffix", "Value": trig.suffix}] if trig.suffix else []

        def key_rules(c: dict[str, Any]) -> list[dict[str, str]]:
            return sorted(c.get("Filter", {}).get("Key", {}).get("FilterRules", []), key=lambda r: r["Name"])

        assert any(c["Events"] == ["s3:ObjectCreated:*"] and key_rules(c) == rules for c in configs), trig


def test_log_subscriptions_cover_every_other_function(variant: Synth) -> None:
    m = variant.deployment.manifest
    subs = variant.resources("service", "AWS::Logs::SubscriptionFilter")
    subscribers = m.log_subscribers()
    assert len(subs) == len(subscribers) * (len(m.functions) - 1) if subscribers else not subs
    for trig, _ in subscribers:
        assert all(s["Properties"]["FilterPattern"] == trig.filter_pattern for s in subs.values())


def test_topics_with_partitions_including_dead_letters(aws_fixture: Synth, aws_real: Synth) -> None:
    for s in (aws_fixture, aws_real):
        topics = {
            t["Properties"]["TopicName"]: t["Properties"] for t in s.resources("streaming", "AWS::MSK::Topic").values()
        }
        expected = s.deployment.manifest.all_topics()
        assert set(topics) == set(expected)
        for name, spec in expected.items():
            assert topics[name]["PartitionCount"] == spec.partitions
    # every topic states its retention (base64 server.properties), as the local runtime sets it
    for t in aws_fixture.resources("streaming", "AWS::MSK::Topic").values():
        spec = aws_fixture.deployment.manifest.all_topics()[t["Properties"]["TopicName"]]
        expected = f"retention.ms={spec.retention_hours * 3_600_000}"
        assert base64.b64decode(t["Properties"]["Configs"]).decode() == expected


# --------------------------------------------------------------------------- IAM


def test_roles_grant_only_what_uses_needs(variant: Synth) -> None:
    d = variant.deployment
    for fn in d.manifest.functions.values():
        statements = statements_of(variant, fn)
        acts = actions_of(statements)
        assert not [a for a in acts if "*" in a], f"{fn.name}: wildcard action"
        for st in statements:
            if "*" in as_list(st["Resource"]):
                assert all(a.startswith(("ec2:", "xray:")) for a in as_list(st["Action"])), (fn.name, st)
        has_secret = bool(fn.uses.secrets or fn.uses.secret_prefixes) or (
            not d.is_localstack and bool(fn.uses.postgres or fn.uses.redis)
        )
        assert ("secretsmanager:GetSecretValue" in acts) == has_secret, fn.name
        assert any(a.startswith("s3:") for a in acts) == bool(fn.uses.buckets), fn.name
        if "write" not in fn.uses.buckets.values() and "readwrite" not in fn.uses.buckets.values():
            assert "s3:PutObject" not in acts, fn.name
        kafka_used = d.uses_kafka(fn) and not d.is_localstack
        assert any(a.startswith("kafka") for a in acts) == kafka_used, fn.name
        if kafka_used:
            consumers = fn.triggers_of(KafkaTrigger)
            assert ("kafka-cluster:ReadData" in acts) == bool(consumers), fn.name
            assert ("kafka-cluster:AlterGroup" in acts) == bool(consumers), fn.name
            # WriteData only for produced topics and the consumer's dead-letter topics
            assert ("kafka-cluster:WriteData" in acts) == bool(fn.uses.produces or consumers), fn.name
        assert "rds-db:connect" not in acts  # the proxy uses the secret, not IAM tokens
        assert ("execute-api:ManageConnections" in acts) == fn.uses.websocket, fn.name


def test_secret_grants_name_exact_secrets(aws_fixture: Synth) -> None:
    m = aws_fixture.deployment.manifest
    fn = m.functions["authorizer"]
    (secret_stmt,) = [
        s for s in statements_of(aws_fixture, fn) if "secretsmanager:GetSecretValue" in as_list(s["Action"])
    ]
    # jwt-signing-keys and the Redis AUTH secret: nothing else, no wildcard
    assert len(as_list(secret_stmt["Resource"])) == 2
    assert "*" not in str(secret_stmt["Resource"])


def test_secret_prefix_grants_name_the_family_prefix_only(aws_real: Synth) -> None:
    """Per-account venue secrets: the executor, reconciler and venue follower read `<project>/<stage>/venues/*` only."""
    m, stage = aws_real.deployment.manifest, aws_real.deployment.config.stage
    for name in ("executor", "reconciler", "venue_follower"):
        fn = m.functions[name]
        assert fn.uses.secret_prefixes == ("venues",)
        (stmt,) = [s for s in statements_of(aws_real, fn) if s.get("Sid") == "ReadSecretPrefixes"]
        assert sorted(as_list(stmt["Action"])) == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
        (resource,) = as_list(stmt["Resource"])
        assert f":secret:tradeplane/{stage}/venues/*" in json.dumps(resource)
    others = [f for f in m.functions.values() if not f.uses.secret_prefixes]
    assert all(s.get("Sid") != "ReadSecretPrefixes" for f in others for s in statements_of(aws_real, f))


# --------------------------------------------------------------------------- encryption and TLS


def test_data_stores_encrypted_and_tls(aws_fixture: Synth) -> None:
    s = aws_fixture
    instances = s.resources("data", "AWS::RDS::DBInstance")
    assert len(instances) == 2  # primary + read replica
    (primary_id,) = [k for k, db in instances.items() if "SourceDBInstanceIdentifier" not in db["Properties"]]
    assert instances[primary_id]["Properties"]["StorageEncrypted"] is True
    # the replica inherits encryption from its source; CloudFormation refuses the property there
    (replica,) = [db["Properties"] for k, db in instances.items() if k != primary_id]
    assert "StorageEncrypted" not in replica
    assert {"Ref": primary_id} in replica["SourceDBInstanceIdentifier"]["Fn::Join"][1]
    s.templates["data"].has_resource_properties("AWS::RDS::DBProxy", {"RequireTLS": True, "EngineFamily": "POSTGRESQL"})
    s.templates["data"].has_resource_properties(
        "AWS::RDS::DBParameterGroup", {"Parameters": Match.object_like({"rds.force_ssl": "1"})}
    )
    s.templates["data"].resource_count_is("AWS::SecretsManager::RotationSchedule", 1)
    s.templates["data"].has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {
            "TransitEncryptionEnabled": True,
            "AtRestEncryptionEnabled": True,
            "AuthToken": Match.any_value(),
        },
    )
    s.templates["streaming"].has_resource_properties(
        "AWS::MSK::Cluster",
        {
            "ClientAuthentication": {"Sasl": {"Iam": {"Enabled": True}}, "Unauthenticated": {"Enabled": False}},
            "EncryptionInfo": {"EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True}},
        },
    )
    policies = s.resources("state", "AWS::S3::BucketPolicy").values()
    buckets = s.resources("state", "AWS::S3::Bucket")
    assert len(buckets) == len(s.deployment.manifest.buckets) + 1  # + access-log bucket
    assert len(policies) == len(buckets)
    for policy in policies:
        denies = [st for st in policy["Properties"]["PolicyDocument"]["Statement"] if st["Effect"] == "Deny"]
        assert any(st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for st in denies)


def test_replica_dsn_only_for_replica_users(aws_fixture: Synth) -> None:
    fns = functions_by_name(aws_fixture)
    for fn in aws_fixture.deployment.manifest.functions.values():
        env = fns[fn.name]["Properties"]["Environment"]["Variables"]
        assert ("TP_DB_READ_DSN" in env) == (fn.uses.postgres == "replica"), fn.name
        if fn.uses.postgres:
            assert "sslmode=require" in str(env["TP_DB_DSN"]) and ":5432/" in str(env["TP_DB_DSN"])
        if fn.uses.redis:
            assert str(env["TP_REDIS_URL"]).count("rediss://") == 1


# --------------------------------------------------------------------------- nag, variants


def test_cdk_nag_reports_nothing_unacknowledged(variant: Synth, prod_edge: Synth) -> None:
    for s in (variant, prod_edge):
        for plugin in s.report["pluginReports"]:
            if plugin["pluginName"] == "AwsSolutions":
                assert plugin["violations"] == [], [v["ruleName"] for v in plugin["violations"]]


def test_every_acknowledgment_has_a_reason(aws_fixture: Synth, prod_edge: Synth) -> None:
    count = 0
    for s in (aws_fixture, prod_edge):
        for template in s.raw.values():
            for resource in template["Resources"].values():
                for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                    assert rule.get("reason", "").strip(), rule
                    count += 1
    assert count > 0


def test_localstack_has_no_managed_data_services(localstack_fixture: Synth) -> None:
    s = localstack_fixture
    assert set(s.templates) == {"state", "service", "service/Monitoring", "service/Api"}
    assert not s.resources("service", "AWS::EC2::SecurityGroup")
    fns = functions_by_name(s)
    for fn in s.deployment.manifest.functions.values():
        env = fns[fn.name]["Properties"]["Environment"]["Variables"]
        if fn.uses.postgres:
            assert env["TP_DB_DSN"] == s.deployment.config.localstack.db_dsn
        if s.deployment.uses_kafka(fn):
            assert env["TP_KAFKA_SECURITY"] == "plaintext"


def test_prod_edge_has_cloudfront_waf_allowlist(prod_edge: Synth) -> None:
    t = prod_edge.templates["service"]
    t.resource_count_is("AWS::CloudFront::Distribution", 1)
    t.has_resource_properties("AWS::WAFv2::IPSet", {"Addresses": ["203.0.113.0/24", "198.51.100.7/32"]})
    t.has_resource_properties("AWS::WAFv2::WebACL", {"DefaultAction": {"Block": {}}, "Scope": "CLOUDFRONT"})
    prod_edge.templates["service/Monitoring"].has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )
    prod_edge.templates["data"].has_resource_properties(
        "AWS::RDS::DBInstance", {"MultiAZ": True, "DeletionProtection": True}
    )


def test_alarms_cover_errors_throttles_lag_and_dead_letters(aws_fixture: Synth) -> None:
    m = aws_fixture.deployment.manifest
    alarms = aws_fixture.resources("service/Monitoring", "AWS::CloudWatch::Alarm").values()
    metrics = Counter(a["Properties"].get("MetricName") for a in alarms)
    assert metrics["Errors"] == len(m.functions)
    assert metrics["Throttles"] == len(m.functions)
    assert metrics["SumOffsetLag"] == len(m.kafka_consumers())
    assert metrics["OnFailureDestinationDeliveredEventCount"] == len(m.kafka_consumers())
    aws_fixture.templates["service/Monitoring"].resource_count_is("AWS::CloudWatch::Dashboard", 1)


# --------------------------------------------------------------------------- the WebSocket API (streaming)


def test_websocket_api_routes_stage_and_management_grant(aws_real: Synth) -> None:
    m = aws_real.deployment.manifest
    apis = aws_real.resources("service", "AWS::ApiGatewayV2::Api")
    (ws_id,) = [k for k, v in apis.items() if v["Properties"].get("ProtocolType") == "WEBSOCKET"]
    assert apis[ws_id]["Properties"]["RouteSelectionExpression"] == "$request.body.action"
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in aws_real.resources("service", "AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["ApiId"] == {"Ref": ws_id}
    }
    assert set(routes) == {trig.route for trig, _ in m.websocket_routes()} == {"$connect", "$disconnect", "$default"}
    integrations = aws_real.resources("service", "AWS::ApiGatewayV2::Integration")
    fns = functions_by_name(aws_real)
    resources = aws_real.raw["service"]["Resources"]
    fn_ids = {name: next(k for k, v in resources.items() if v is res) for name, res in fns.items()}
    for trig, fn in m.websocket_routes():
        target = routes[trig.route]["Target"]["Fn::Join"][1][1]["Ref"]
        uri = json.dumps(integrations[target]["Properties"]["IntegrationUri"])
        assert fn_ids[fn.name] in uri, (trig.route, fn.name)
        assert integrations[target]["Properties"]["TimeoutInMillis"] == WEBSOCKET_INTEGRATION_TIMEOUT.value * 1000
    (stage,) = [
        st["Properties"]
        for st in aws_real.resources("service", "AWS::ApiGatewayV2::Stage").values()
        if st["Properties"]["ApiId"] == {"Ref": ws_id}
    ]
    api_cfg = aws_real.deployment.config.api
    assert stage["AutoDeploy"] is True and stage["AccessLogSettings"]["DestinationArn"]
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == api_cfg.websocket_throttle_rate
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == api_cfg.websocket_throttle_burst
    for fn in m.functions.values():
        grants = [s for s in statements_of(aws_real, fn) if "execute-api:ManageConnections" in as_list(s["Action"])]
        assert bool(grants) == fn.uses.websocket, fn.name
        env = fns[fn.name]["Properties"]["Environment"]["Variables"]
        assert ("TP_WS_ENDPOINT" in env) == fn.uses.websocket, fn.name
        for grant in grants:  # this API's connections only
            assert ws_id in json.dumps(grant["Resource"]) and "@connections" in json.dumps(grant["Resource"])
