#!/bin/bash
# LocalStack ready hook: runs inside the LocalStack container once its APIs answer.
# CDK (cdklocal) creates every AWS resource; this only checks the account the
# LocalStack config (infra/cdk/config/localstack.json) expects, so a mismatch
# shows here instead of as a confusing bootstrap error.
set -euo pipefail
account=$(awslocal sts get-caller-identity --query Account --output text)
if [ "$account" != "000000000000" ]; then
  echo "tradeplane: account is $account; deploy with -c tp:account=$account"
fi
echo "tradeplane: LocalStack ready; next: cdklocal bootstrap && cdklocal deploy --all -c target=localstack"
