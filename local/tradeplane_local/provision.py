"""Create what the functions expect to find: topics, buckets, secrets, schema.

In AWS these come from CDK (and the migration step); locally `tradeplane local up`
calls these against the local servers. Every step is idempotent.
"""

from __future__ import annotations

import json
import secrets as pysecrets
from typing import Any, cast

from tradeplane_tools.manifest import Bindings, Manifest
from tradeplane_tools.topics import ensure_topics
from tradeplane_tools.wiring import wiring

LOCAL_STAGE = "local"


def local_bindings(
    manifest: Manifest,
    *,
    db_dsn: str | None,
    redis_url: str | None,
    kafka_bootstrap: str | None,
    gateway_url: str | None = None,
    db_read_dsn: str | None = None,
) -> Bindings:
    """Local names for every logical resource of the manifest."""
    return Bindings(
        stage=LOCAL_STAGE,
        db_dsn=db_dsn,
        # No replica locally unless one is given: read-only functions read the primary.
        db_read_dsn=db_read_dsn or db_dsn,
        redis_url=redis_url,
        kafka_bootstrap=kafka_bootstrap,
        kafka_security="plaintext",
        secret_ids={name: f"tradeplane/{LOCAL_STAGE}/{name}" for name in manifest.secrets},
        bucket_names={name: f"tradeplane-{LOCAL_STAGE}-{name}" for name in manifest.buckets},
        service_urls={fn.component: gateway_url for fn in manifest.functions.values()} if gateway_url else {},
        # The WebSocket API's management endpoint is the gateway itself (`/@connections/{id}`).
        websocket_endpoint=gateway_url if manifest.websocket_routes() else None,
    )


def create_topics(bootstrap: str, manifest: Manifest, timeout: float = 15) -> list[str]:
    """Every topic of the manifest (and each consumer's dead-letter topic), as the CDK app declares them."""
    return ensure_topics(bootstrap, wiring(manifest).topics, timeout)


def aws_client(service: str, endpoint: str) -> Any:
    import boto3

    return cast(Any, boto3).client(  # the service name is only known at run time
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto
    )


def create_buckets(endpoint: str, bindings: Bindings) -> list[str]:
    s3 = aws_client("s3", endpoint)
    have = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    made = [name for name in bindings.bucket_names.values() if name not in have]
    for name in made:
        s3.create_bucket(Bucket=name)
    return made


def _seed_value(kind: str) -> str:
    if kind == "jwt-keyset":
        from tradeplane_tools.keys import generate_keyset

        return json.dumps(generate_keyset())
    if kind == "random-token":
        return pysecrets.token_urlsafe(32)
    return "{}"


def seed_secrets(endpoint: str, manifest: Manifest, bindings: Bindings) -> list[str]:
    """Create each manifest secret once, with a generated value (a JWT keyset for the signer)."""
    sm = aws_client("secretsmanager", endpoint)
    made = []
    for name, spec in manifest.secrets.items():
        secret_id = bindings.secret_ids[name]
        try:
            sm.describe_secret(SecretId=secret_id)
        except sm.exceptions.ResourceNotFoundException:
            sm.create_secret(Name=secret_id, SecretString=_seed_value(spec.local_seed))
            made.append(secret_id)
    return made


def migrate(dsn: str) -> list[str]:
    from tradeplane_tools.migrate import apply_migrations

    return apply_migrations(dsn)
