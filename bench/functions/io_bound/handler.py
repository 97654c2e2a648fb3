"""An I/O-bound Kafka consumer for the scaling bench: each batch waits 20 ms, as a call to a database or
venue would, and uses no CPU, so throughput across partitions measures the runtime, not the machine's cores."""

import time

WAIT_S = 0.02


def handler(event, context):  # type: ignore[no-untyped-def]
    time.sleep(WAIT_S)
    return {"records": sum(len(records) for records in event.get("records", {}).values())}
