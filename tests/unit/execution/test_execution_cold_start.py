"""The executor's and the matcher's containers import alpaca-py only once an account is routed to a broker:
most accounts trade on the paper venue, and alpaca-py (with pandas) takes seconds to import on a cold start."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tradeplane_tools.manifest import REPO_ROOT


def test_the_execution_logic_of_paper_accounts_imports_no_alpaca_py() -> None:
    probe = (
        "import json, sys\n"
        "import tp_execution.executor, tp_execution.matcher, tp_execution.venues, tp_execution.follow\n"
        "print(json.dumps(sorted(m for m in ('alpaca', 'pandas') if m in sys.modules)))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(REPO_ROOT / p) for p in ("layers/shared", "functions/execution")),
    }
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
