"""An option declared once, beside the strategy or loader that takes it.

The command line builds its flags from these declarations (``nint.cli``), so a strategy or a
modality adds an option in its own file and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .checks import Range


@dataclass(frozen=True)
class Option:
    """One option of a strategy or a loader, declared once beside it: the command line,
    ``nint strategies`` and the docs take its flag and help from here.

    Attributes:
        name: the keyword argument of the sampler or loader.
        help: one line for ``--help``, ending with the default in parentheses.
        type: parses the command-line text (``bool``: a flag without a value that sets True).
        flag: the command-line flag, when it is not "--" + the name with dashes.
        choices: the allowed values, for options that name a variant.
        allowed: for a number, the finite range it must lie in (checked at parsing, so NaN,
            inf and out-of-range values end the command before anything runs).
    """

    name: str
    help: str
    type: Callable[[str], Any] = float
    flag: str = ""
    choices: tuple[str, ...] | None = None
    allowed: Range | None = None

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")
