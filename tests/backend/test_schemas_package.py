"""``backend.schemas`` hands out every wire model of its topic modules, each made on first use."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import backend.schemas as schemas


def topic_modules() -> list[str]:
    return [f"backend.schemas.{m.name}" for m in pkgutil.iter_modules(schemas.__path__)]


def defined_in(module_name: str) -> dict[str, object]:
    module = importlib.import_module(module_name)
    return {
        name: value
        for name, value in vars(module).items()
        if name.isidentifier()  # (pydantic files a parametrized generic under its repr)
        and not name.startswith("_")
        and (
            getattr(value, "__module__", None) == module_name
            or name.isupper()  # constants (and the TypeVar T)
            or isinstance(value, types.UnionType)  # SendRequest
        )
    }


def test_every_name_of_every_topic_module_is_handed_out_by_the_package():
    names: dict[str, str] = {}
    for module_name in topic_modules():
        for name, value in defined_in(module_name).items():
            assert name not in names, f"{name} is in {names[name]} and {module_name}"
            names[name] = module_name
            assert getattr(schemas, name) is value, f"{name} of {module_name}"
    assert sorted(names) == sorted(schemas.__all__)
    assert set(schemas.__all__) <= set(dir(schemas))


def test_a_model_is_imported_from_the_package_as_from_its_module():
    from backend.schemas import SendMessage, Thread
    from backend.schemas.messages import SendMessage as from_module

    assert SendMessage is from_module
    assert Thread.__module__ == "backend.schemas.threads"


def test_an_unknown_name_is_refused_plainly():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = schemas.Nope  # type: ignore[attr-defined]
    with pytest.raises(ImportError):
        from backend.schemas import Nope  # noqa: F401
