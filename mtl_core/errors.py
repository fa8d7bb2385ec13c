"""Error types raised on bad input; each message names the parameter and the value received."""

from __future__ import annotations


class MTLError(ValueError):
    """Base class for every input error mtl_core raises; the message is shown to users as is."""


class ConfigError(MTLError):
    """A configuration value is invalid."""


class DataError(MTLError):
    """A dataset, a CSV file or a column is unusable."""


def bad_value(param: str, value: object, expected: str, cls: type[MTLError] = ConfigError) -> MTLError:
    """Build an error naming the parameter, the value received and what was expected."""
    return cls(f"{param}={value!r} is invalid: {expected}.")
