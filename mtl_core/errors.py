"""Error types raised on bad input; each message names the parameter and the value received."""

from __future__ import annotations


class MTLError(ValueError):
    """Base class for every input error mtl_core raises; the message is shown to users as is.

    ``param`` is the parameter the message names (e.g. ``lr`` or ``heads['species']``) and ``value`` the value
    received, so callers (the UI) can place or route the message without reading its text.
    """

    def __init__(self, message: str, *, param: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.param = param
        self.value = value

    def __reduce__(self) -> tuple:
        # Keep param and value through pickling (a background job hands its error to another thread/process).
        return (_rebuild, (type(self), str(self), self.param, self.value))


def _rebuild(cls: type[MTLError], message: str, param: str | None, value: object) -> MTLError:
    return cls(message, param=param, value=value)


class ConfigError(MTLError):
    """A configuration value is invalid."""


class DataError(MTLError):
    """A dataset, a CSV file or a column is unusable."""


def bad_value(param: str, value: object, expected: str, cls: type[MTLError] = ConfigError) -> MTLError:
    """Build an error naming the parameter, the value received and what was expected."""
    return cls(f"{param}={value!r} is invalid: {expected}.", param=param, value=value)
