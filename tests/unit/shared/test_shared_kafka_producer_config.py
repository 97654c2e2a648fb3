"""Producer configuration without a broker: plaintext vs MSK IAM, and size/flush basics."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
from tradeplane import kafka_producer
from tradeplane.settings import ConfigurationError, KafkaSettings


def test_plaintext_config() -> None:
    cfg = kafka_producer.producer_config(KafkaSettings(kafka_bootstrap="127.0.0.1:9092", function="ingest_http"))
    assert cfg["bootstrap.servers"] == "127.0.0.1:9092"
    assert cfg["security.protocol"] == "PLAINTEXT"
    assert "sasl.mechanisms" not in cfg and "oauth_cb" not in cfg
    assert cfg["enable.idempotence"] is True and cfg["acks"] == "all"
    assert cfg["linger.ms"] == 5 and cfg["compression.type"] in {"lz4", "zstd"}
    assert cfg["client.id"] == "ingest_http"
    assert cfg["message.timeout.ms"] <= 60_000


def test_iam_config_uses_oauthbearer(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = kafka_producer.producer_config(
        KafkaSettings(kafka_bootstrap="b-1.msk:9098", kafka_security="iam", aws_region="eu-west-1")
    )
    assert cfg["security.protocol"] == "SASL_SSL"
    assert cfg["sasl.mechanisms"] == "OAUTHBEARER"
    assert callable(cfg["oauth_cb"])

    calls: list[str] = []

    def fake_generate(region: str) -> tuple[str, int]:
        calls.append(region)
        return "signed-token", 1_700_000_900_000

    fake = types.SimpleNamespace(MSKAuthTokenProvider=types.SimpleNamespace(generate_auth_token=fake_generate))
    monkeypatch.setitem(sys.modules, "aws_msk_iam_sasl_signer", fake)
    token, expiry = cfg["oauth_cb"]("")
    assert (token, expiry) == ("signed-token", 1_700_000_900.0)  # seconds, as librdkafka expects
    assert calls == ["eu-west-1"]


def test_iam_setting_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_KAFKA_BOOTSTRAP", "b-1.msk:9098")
    monkeypatch.setenv("TP_KAFKA_SECURITY", "iam")
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    cfg = kafka_producer.client_config()
    assert cfg["security.protocol"] == "SASL_SSL"


def test_missing_bootstrap_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="TP_KAFKA_BOOTSTRAP"):
        kafka_producer.producer_config()


def test_flush_without_producer_is_a_no_op() -> None:
    kafka_producer.flush(timeout=0.1)


def test_message_too_large_is_checked_before_any_network(monkeypatch: pytest.MonkeyPatch) -> None:
    from tradeplane.envelope import Envelope

    monkeypatch.setenv("TP_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("TP_KAFKA_MAX_MESSAGE_BYTES", "1024")

    def no_producer() -> Any:
        raise AssertionError("producer must not be created for an oversized record")

    monkeypatch.setattr(kafka_producer, "producer", no_producer)
    with pytest.raises(kafka_producer.MessageTooLarge):
        kafka_producer.publish("t", "k", Envelope.new("market.tick", {"x": "y" * 2000}, producer="p"))
    assert issubclass(kafka_producer.MessageTooLarge, ValueError)


def _offline(monkeypatch: pytest.MonkeyPatch, function: str, **env: str) -> None:
    """A function bound to produce to market.ticks only, whose producer must never be reached."""
    monkeypatch.setenv("TP_FUNCTION", function)
    monkeypatch.setenv("TP_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("TP_KAFKA_PRODUCES", '{"market.ticks": "symbol"}')
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def no_producer() -> Any:
        raise AssertionError("nothing may be queued for a refused record")

    monkeypatch.setattr(kafka_producer, "producer", no_producer)


def test_topics_and_keys_outside_the_manifest_are_refused_before_any_network(monkeypatch: pytest.MonkeyPatch) -> None:
    from tradeplane.envelope import Envelope

    _offline(monkeypatch, "ingest_http")
    tick = Envelope.new("market.tick", {"symbol": "AAPL"}, producer="ingest_http")
    with pytest.raises(ConfigurationError, match=r"may not produce to 'market\.tickz'"):
        kafka_producer.publish("market.tickz", "AAPL", tick)  # a typo Tansu would auto-create
    with pytest.raises(ValueError, match="keyed by symbol"):
        kafka_producer.publish_many("market.ticks", [("AAPL", tick), ("MSFT", tick)])


def test_serialized_records_are_checked_for_topic_and_size_before_any_network(monkeypatch: pytest.MonkeyPatch) -> None:
    _offline(monkeypatch, "ingest_s3", TP_KAFKA_MAX_MESSAGE_BYTES="1024")
    small = (b"AAPL", b"{}", [("type", b"market.tick")])
    with pytest.raises(ConfigurationError, match=r"may not produce to 'market\.tickz'"):
        kafka_producer.publish_serialized("market.tickz", [small])
    with pytest.raises(kafka_producer.MessageTooLarge):  # one oversized record refuses the batch, headers counted
        kafka_producer.publish_serialized("market.ticks", [small, (b"AAPL", b"x" * 1000, [("id", b"y" * 30)])])
    as_dict = (b"AAPL", b"x" * 990, {"type": b"market.tick", "id": b"y" * 30})  # headers as a dict count the same
    with pytest.raises(kafka_producer.MessageTooLarge):
        kafka_producer.publish_serialized("market.ticks", [as_dict])
    # a writer's bound on its headers skips adding them up, never the check: over the limit, each is checked
    with pytest.raises(kafka_producer.MessageTooLarge):
        kafka_producer.publish_serialized("market.ticks", [small, as_dict], max_header_bytes=50)


def test_delivery_reports_come_for_failures_only_through_one_callback() -> None:
    cfg = kafka_producer.producer_config(KafkaSettings(kafka_bootstrap="127.0.0.1:9092"))
    assert cfg["delivery.report.only.error"] is True and callable(cfg["on_delivery"])
