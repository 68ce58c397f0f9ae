"""A small named registry with entry-point plug-ins (the pattern of papermill's engines and
altair's renderers).

A :class:`Registry` maps keys to objects in registration order. Built-in objects are added
with :meth:`Registry.register`; third-party packages add theirs through the entry-point group
the registry names (``[project.entry-points."<group>"]`` in their ``pyproject.toml``), loaded
once, on first read. An entry point's object is handed to the registry's ``plugin`` hook,
which registers it (the default: register it under the entry point's name).

A broken plug-in never breaks the built-ins: its error is kept in :attr:`Registry.errors`
(entry-point name -> one-line reason) and shown by whoever lists the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from salesplan_nb.core.errors import ConfigError

T = TypeVar("T")


def resolve(ref: str) -> Any:
    """The object a ``"package.module:attribute"`` reference names (``attribute`` may be
    dotted); a reference without ``:`` is a module."""
    module, _, attr = ref.partition(":")
    obj = import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Keys -> objects, in registration order, plus the entry points of ``group``.

    ``plugin(registry, name, obj)`` registers what an entry point provides (default:
    ``registry.register(name, obj)``); ``loads_with`` names a registry whose entry-point group
    also fills this one (reading this registry loads that group first)."""

    def __init__(self, name: str, group: str | None = None,
                 plugin: Callable[[Registry[T], str, Any], None] | None = None,
                 loads_with: Registry | None = None):
        self.name, self.group = name, group
        self._plugin = plugin or (lambda reg, key, obj: reg.register(key, obj))
        self._loads_with = loads_with  # a registry whose entry points may register here too
        self._items: dict[str, T] = {}
        self._loaded = group is None
        self.errors: dict[str, str] = {}

    def register(self, key: str, obj: T, *, replace: bool = False) -> T:
        """Add ``obj`` under ``key``; a second object under a taken key is an error unless
        ``replace``. Returns ``obj`` (usable as a decorator's return value)."""
        if key in self._items and not replace:
            raise ConfigError(f"{self.name}: {key!r} is registered twice; choose another key")
        self._items[key] = obj
        return obj

    def unregister(self, key: str) -> None:
        self._items.pop(key, None)

    def load_entry_points(self, *, reload: bool = False) -> None:
        """Register every entry point of :attr:`group` (once; ``reload`` reads them again)."""
        if self._loads_with is not None:
            self._loads_with.load_entry_points(reload=reload)
        if self.group is None or (self._loaded and not reload):
            return
        self._loaded = True
        for ep in entry_points(group=self.group):
            try:
                self._plugin(self, ep.name, ep.load())
            except Exception as exc:  # noqa: BLE001 - one broken plug-in, reported
                self.errors[ep.name] = (f"entry point {ep.name} = {ep.value} "
                                        f"({self.group}): {type(exc).__name__}: {exc}")

    def get(self, key: str) -> T:
        """The object under ``key``; an unknown key is a ConfigError listing the known ones."""
        self.load_entry_points()
        try:
            return self._items[key]
        except KeyError:
            raise ConfigError(f"{self.name}: no {key!r}; known: "
                              f"{', '.join(self._items) or 'none'}") from None

    def __contains__(self, key: object) -> bool:
        self.load_entry_points()
        return key in self._items

    def keys(self) -> list[str]:
        self.load_entry_points()
        return list(self._items)

    def values(self) -> list[T]:
        self.load_entry_points()
        return list(self._items.values())

    def items(self) -> list[tuple[str, T]]:
        self.load_entry_points()
        return list(self._items.items())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return f"Registry({self.name!r}, group={self.group!r}, {len(self._items)} items)"
