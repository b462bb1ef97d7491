"""Light package imports: a package's public names load from their modules on first use (PEP 562), so
`import dvta_live` and `dvta --help` never pay for torch."""

from __future__ import annotations

from collections.abc import Callable, Mapping


def lazy_names(package: str, where: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: name -> the attribute of the submodule ``where[name]``
    (relative to the package, or absolute when it starts with the package's top-level name)."""

    def __getattr__(name: str) -> object:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        from importlib import import_module

        module = where[name]
        return getattr(import_module(module if module.startswith("dvta_live") else f"{package}.{module}"), name)

    return __getattr__
