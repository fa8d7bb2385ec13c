"""Error types raised on bad input; each message names the parameter and the value received."""

from __future__ import annotations

#: The longest message an error carries (the rest is cut; a list of valid choices fits well within it).
MAX_MESSAGE = 1000


class MTLError(ValueError):
    """Base class for every input error mtl_core raises; the message is shown to users as is.

    ``param`` is the parameter the message names (e.g. ``lr`` or ``heads['species']``) and ``value`` the value
    received, so callers (the UI) can place or route the message without reading its text.
    """

    def __init__(self, message: str, *, param: str | None = None, value: object = None) -> None:
        if len(message) > MAX_MESSAGE:
            # A message built from a huge value somewhere without ``quoted``: never echo it whole.
            message = f"{message[:MAX_MESSAGE]}… (message cut at {MAX_MESSAGE} of {len(message):,} characters)"
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


#: The longest text a message quotes from a value (or a name) it received; longer ones are cut to a prefix.
MAX_QUOTED = 120
#: What an "expected ..." part may hold (it can list choices or column names that came from the data).
MAX_EXPECTED = 400


def short(text: str, limit: int = MAX_QUOTED) -> str:
    """``text`` cut to its first ``limit`` characters, saying how long it was (a message never echoes a long value)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def quoted(value: object, limit: int = MAX_QUOTED) -> str:
    """The ``repr`` of ``value`` as a message quotes it: at most ``limit`` characters of it, then its length."""
    return short(repr(value), limit)


def bad_value(param: str, value: object, expected: str, cls: type[MTLError] = ConfigError) -> MTLError:
    """Build an error naming the parameter, the value received and what was expected.

    The message quotes at most a short prefix of a long parameter or value (a 10,000-character link value is
    not echoed whole); ``.param`` and ``.value`` keep them as they were.
    """
    return cls(f"{short(param)}={quoted(value)} is invalid: {short(expected, MAX_EXPECTED)}.", param=param,
               value=value)

