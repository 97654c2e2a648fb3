"""The CDK app sets API Gateway's edge from the same table the local gateway enforces."""

from __future__ import annotations

import pytest
from tradeplane_tools.edge_limits import INTEGRATION_TIMEOUT, WEBSOCKET_INTEGRATION_TIMEOUT

from .conftest import Synth

pytestmark = pytest.mark.infra


def test_every_integration_times_out_at_the_tables_value(aws_real: Synth) -> None:
    integrations = aws_real.resources("service", "AWS::ApiGatewayV2::Integration")
    assert integrations
    apis = aws_real.resources("service", "AWS::ApiGatewayV2::Api")
    websocket = {k for k, v in apis.items() if v["Properties"].get("ProtocolType") == "WEBSOCKET"}
    for resource in integrations.values():
        if resource["Properties"]["ApiId"].get("Ref") in websocket:  # the WebSocket API's own quota
            assert resource["Properties"]["TimeoutInMillis"] == WEBSOCKET_INTEGRATION_TIMEOUT.value * 1000
            continue
        assert resource["Properties"]["TimeoutInMillis"] == INTEGRATION_TIMEOUT.value * 1000
        assert resource["Properties"]["PayloadFormatVersion"] == "2.0"
