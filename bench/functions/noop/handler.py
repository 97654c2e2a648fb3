"""Does nothing, returns a tiny HTTP response."""

RESPONSE = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


def handler(event, context):  # type: ignore[no-untyped-def]
    return RESPONSE
