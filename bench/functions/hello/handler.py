"""The init baseline for HTTP functions: a bare Powertools resolver with validation on, one hello route."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

app = APIGatewayHttpResolver(enable_validation=True)


@app.get("/v1/hello")
def hello() -> dict[str, str]:
    return {"hello": "world"}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
