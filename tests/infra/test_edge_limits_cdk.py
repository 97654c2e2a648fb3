"""The CDK app sets API Gateway's edge from the same table the local gateway enforces."""

from __future__ import annotations

import pytest
from tradeplane_tools.edge_limits import INTEGRATION_TIMEOUT

from .conftest import Synth

pytestmark = pytest.mark.infra


def test_every_integration_times_out_at_the_tables_value(aws_real: Synth) -> None:
    integrations = aws_real.resources("service", "AWS::ApiGatewayV2::Integration")
    assert integrations
    for resource in integrations.values():
        assert resource["Properties"]["TimeoutInMillis"] == INTEGRATION_TIMEOUT.value * 1000
        assert resource["Properties"]["PayloadFormatVersion"] == "2.0"
