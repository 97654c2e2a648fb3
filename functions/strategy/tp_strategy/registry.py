"""Strategy types by name: a built-in type name, or a user's class by module path "package.module:Class".

    cls = strategy_class("ma_crossover")
    params = validate_params(cls, {"fast": 5, "slow": 20})   # -> the JSON-able, defaults-filled dict to store
    strategy = build("ma_crossover", {"fast": 5, "slow": 20})

Every refusal is a `StrategyError` (a ValueError) with a message fit for a 4xx answer; a parameter error
also carries pydantic's per-field errors (`.errors`) for a problem response's detail.

Importing a module path runs that module's code, so a service that takes type names from users passes
`module_prefixes`: only modules under those packages may be imported (None, the CLI's default, allows any).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping, Sequence
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from tp_strategy.builtin import BUILTIN
from tp_strategy.interface import Strategy

__all__ = ["StrategyError", "build", "builtin_types", "strategy_class", "validate_params"]

_REQUIRED = ("initial_state", "on_bar", "warmup")


class StrategyError(ValueError):
    """An unknown or unusable strategy type, or parameters its Params model refuses."""

    def __init__(self, message: str, errors: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


def builtin_types() -> list[str]:
    return sorted(BUILTIN)


def strategy_class(type_name: str, *, module_prefixes: Sequence[str] | None = None) -> type[Strategy]:
    """The class behind a type name; a user's class must satisfy the Strategy protocol."""
    if type_name in BUILTIN:
        return BUILTIN[type_name]  # type: ignore[return-value]
    if ":" not in type_name:
        raise StrategyError(
            f"unknown strategy type {type_name!r}: use one of {', '.join(builtin_types())} or 'package.module:Class'"
        )
    module_name, _, attr = type_name.partition(":")
    if not module_name or not attr.isidentifier():
        raise StrategyError(f"strategy type {type_name!r} is not of the form 'package.module:Class'")
    if module_prefixes is not None and not any(
        module_name == p or module_name.startswith(p + ".") for p in module_prefixes
    ):
        raise StrategyError(f"strategy module {module_name!r} is not under an allowed package")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StrategyError(f"cannot import strategy module {module_name!r}: {exc}") from exc
    cls = getattr(module, attr, None)
    if not inspect.isclass(cls):
        raise StrategyError(f"{module_name!r} has no class {attr!r}")
    _check_shape(type_name, cls)
    return cast("type[Strategy]", cls)


def _check_shape(type_name: str, cls: type) -> None:
    params = getattr(cls, "Params", None)
    if not (inspect.isclass(params) and issubclass(params, BaseModel)):
        raise StrategyError(f"{type_name}: a strategy class needs a pydantic `Params` model")
    missing = [name for name in _REQUIRED if not hasattr(cls, name)]
    if missing:
        raise StrategyError(f"{type_name}: a strategy class needs {', '.join(missing)}")


def _params_model(cls: type[Strategy], params: Mapping[str, Any] | None) -> BaseModel:
    try:
        return cls.Params.model_validate(dict(params or {}))
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        detail = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'params'}: {e['msg']}" for e in errors)
        raise StrategyError(
            f"invalid parameters for {getattr(cls, 'type_name', cls.__name__)}: {detail}", errors
        ) from exc


def validate_params(cls: type[Strategy], params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters as they should be stored: validated, defaults filled in, JSON-able."""
    return _params_model(cls, params).model_dump(mode="json")


def build(
    type_name: str, params: Mapping[str, Any] | None = None, *, module_prefixes: Sequence[str] | None = None
) -> Strategy:
    """A ready strategy instance of a type with validated parameters."""
    cls = strategy_class(type_name, module_prefixes=module_prefixes)
    return cls(_params_model(cls, params))
