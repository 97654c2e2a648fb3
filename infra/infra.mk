# Tradeplane infrastructure targets; `include infra/infra.mk` from the top Makefile.
#   make assets       build Lambda layers + function code into build/lambda (no Docker)
#   make synth        synthesize every stack (cdk-nag runs; any unacknowledged finding fails)
#   make cfn-lint     cfn-lint on synth-check's templates: no error, every warning acknowledged
#                     in infra/cdk/cfn-lint-acknowledged.toml
#   make test-infra   the CDK/asset test suite (tests/infra)
# Variables: PY, UV, CDK_ENV (dev|prod|localstack), CDK_TARGET (aws|localstack), CDK_ARGS.

PY ?= .venv/bin/python
UV ?= $(abspath .tools/bin/uv)
CDK_DIR := infra/cdk
CDK_ENV ?= dev
CDK_TARGET ?= aws
CDK_ARGS ?=
LAMBDA_BUILD ?= build/lambda
CDK_OUT ?= build/cdk.out
CDK := npx cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 1

.PHONY: assets synth synth-check cfn-lint test-infra cdk-cli deploy localstack-deploy

assets:
	cd $(CDK_DIR) && UV=$(UV) $(abspath $(PY)) -m tradeplane_infra.assets build --out $(abspath $(LAMBDA_BUILD))

# In-process synth (no CDK CLI needed): writes templates to $(CDK_OUT).
synth: assets
	cd $(CDK_DIR) && CDK_OUTDIR=$(abspath $(CDK_OUT)) \
	  CDK_CONTEXT_JSON='{"env":"$(CDK_ENV)","target":"$(CDK_TARGET)","asset_dir":"$(abspath $(LAMBDA_BUILD))"}' \
	  $(abspath $(PY)) app.py
	@echo "templates in $(CDK_OUT)"

# Template-only synth without building assets (reviews, CI without PyPI).
synth-check:
	cd $(CDK_DIR) && CDK_OUTDIR=$(abspath $(CDK_OUT)) \
	  CDK_CONTEXT_JSON='{"env":"$(CDK_ENV)","target":"$(CDK_TARGET)","assets":"placeholder"}' \
	  $(abspath $(PY)) app.py

# Lints the stacks listed in $(CDK_OUT)/manifest.json (not stale templates of earlier synths).
cfn-lint: synth-check
	cd $(CDK_DIR) && $(abspath $(PY)) -m tradeplane_infra.template_lint $(abspath $(CDK_OUT))

test-infra: setup
	UV=$(UV) $(PY) -m pytest tests/infra

cdk-cli:
	cd $(CDK_DIR) && npm ci --ignore-scripts

deploy: assets cdk-cli
	cd $(CDK_DIR) && $(CDK) deploy --all -c env=$(CDK_ENV) -c asset_dir=$(abspath $(LAMBDA_BUILD)) $(CDK_ARGS)

localstack-deploy: assets cdk-cli
	cd $(CDK_DIR) && npx cdklocal deploy --all -c target=localstack -c asset_dir=$(abspath $(LAMBDA_BUILD)) \
	  --require-approval never $(CDK_ARGS)
