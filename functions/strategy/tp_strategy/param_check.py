"""Parameters checked against their strategy type (strat-lib's `tp_strategy.registry`), as a clear 422.

The one place the API asks the registry: an unknown type is a 422 whose error names `type`; a bad
parameter is a 422 whose errors name `params.<parameter>`, so a client sees which one and why.
A user's own type ("package.module:Class") must live under `USER_MODULES` (deployed with the
strategy code asset): a type name from a request never imports an arbitrary module.

The registry (the built-ins and their parameter models, no engine) is imported with this module, at
init: the routes that check parameters do it on every create.
"""

from __future__ import annotations

from typing import Any

from tradeplane.problems import field_errors, unprocessable

from tp_strategy.registry import StrategyError, strategy_class, validate_params

__all__ = ["USER_MODULES", "checked_params"]

# Where strategy classes named by module path may come from: the built-ins' package and `strategies`,
# the package users deploy their own strategies in (docs/strategy-api.md).
USER_MODULES = ("tp_strategy", "strategies")


def checked_params(type_name: str, params: dict[str, Any], where: str = "body") -> dict[str, Any]:
    """`params` validated and completed with defaults by `type_name`'s Params model, as stored JSON."""
    try:
        cls = strategy_class(type_name, module_prefixes=USER_MODULES)
    except StrategyError as exc:
        raise unprocessable(
            f"unknown strategy type {type_name!r}",
            errors=[{"loc": f"{where}.type", "msg": str(exc)[:300], "type": "unknown_strategy_type"}],
        ) from None
    try:
        return validate_params(cls, params)
    except StrategyError as exc:
        errors = field_errors(exc.errors)
        for error in errors:
            error["loc"] = f"{where}.params" + ("" if error["loc"] == "<root>" else f".{error['loc']}")
        names = ", ".join(sorted({e["loc"].removeprefix(f"{where}.") for e in errors})) or "params"
        raise unprocessable(f"invalid parameters for strategy type {type_name!r}: {names}", errors=errors) from None
