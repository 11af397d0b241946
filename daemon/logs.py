"""Structured logs (structlog): JSON lines when not on a terminal or when asked, readable text otherwise."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
from types import ModuleType
from typing import Any

# The level configured last (a logging level number), None until then: a `_LazyLogger` call below it is
# dropped without loading structlog (`tlh import --log-level warning` never needs it).
_threshold: int | None = None


def configure(json: bool | None = None, level: str = "info") -> None:
    global _threshold
    import structlog

    _threshold = getattr(logging, level.upper())

    as_json = (not sys.stderr.isatty()) if json is None else json
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        # Resolve sys.stderr at each use, not now: tests and tools swap it out.
        logger_factory=lambda *_: structlog.PrintLogger(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def configure_on_import(json: bool | None = None, level: str = "info") -> None:
    """`configure` now if structlog is loaded, else right after the first `import structlog`.

    The CLI's way to configure logging without paying for structlog (and the rich modules it loads, a tenth
    of a second) in commands that never log: only the modules that log import structlog, and whichever is
    imported first, in whatever order, finds it configured."""
    global _threshold
    _threshold = getattr(logging, level.upper())  # an unknown level fails now, as configure() would
    for finder in [f for f in sys.meta_path if isinstance(f, _ConfigureOnImport)]:
        sys.meta_path.remove(finder)
    if "structlog" in sys.modules:
        configure(json=json, level=level)
    else:
        sys.meta_path.insert(0, _ConfigureOnImport(json, level))


class _ConfigureOnImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, json: bool | None, level: str):
        self.json, self.level = json, level
        self.real: importlib.abc.Loader | None = None

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "structlog":
            return None
        sys.meta_path.remove(self)  # one shot; and lets find_spec below find the real one
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        self.real, spec.loader = spec.loader, self
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        assert self.real is not None
        return self.real.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        assert self.real is not None
        self.real.exec_module(module)
        configure(json=self.json, level=self.level)


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "warn": logging.WARNING,
           "error": logging.ERROR, "exception": logging.ERROR, "critical": logging.CRITICAL,
           "fatal": logging.CRITICAL}


def _drop(*_args: Any, **_kwargs: Any) -> None:
    return None


class _LazyLogger:
    """`structlog.get_logger(name)`, made at the first log call that the configured level lets through."""

    def __init__(self, name: str):
        self._name = name
        self._logger: Any = None

    def __getattr__(self, attr: str) -> Any:
        if self._logger is None:
            level = _LEVELS.get(attr)
            if level is not None and _threshold is not None and level < _threshold:
                return _drop  # filtered out anyway, as structlog's filtering logger would
            import structlog

            self._logger = structlog.get_logger(self._name)
        return getattr(self._logger, attr)


def get_logger(name: str) -> Any:
    """A logger that loads structlog (a tenth of a second) only when it first logs: for modules that log on
    rare paths only (a pause, a lost lease), which `tlh status` and the listings read through."""
    return _LazyLogger(name)
