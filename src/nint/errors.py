"""The one exception type a user can cause; the CLI prints its message as a single line."""


class NintError(ValueError):
    """Bad input or configuration: a missing file, an unknown strategy, a ratio outside (0, 1]."""
