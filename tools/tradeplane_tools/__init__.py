"""Tradeplane's tooling: the manifest model and its derived rules, migrations, key administration.

Used by the CDK app (`infra/cdk`), the local runtime (`local/`) and the tests.
Never shipped to Lambda: nothing under `functions/` or `layers/` imports it.
"""
