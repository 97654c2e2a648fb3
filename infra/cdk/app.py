#!/usr/bin/env python3
"""CDK entry point: `cdk synth` / `cdk deploy` run this (see cdk.json and docs/deploy.md)."""

from aws_cdk import App
from tradeplane_infra.app import build

app = App()
build(app)
app.synth()
