"""The one door to matplotlib for nint's figures, and what every figure shares.

- ``new_figure``: a matplotlib ``Figure`` made without pyplot, so a figure never changes the
  backend or the open figures of a user's session (a notebook's, say) and needs no closing.
  ``figure.savefig`` still writes PNGs (through Agg).
- Before matplotlib is first imported, ``use_writable_config_dir`` checks the folders matplotlib
  would keep its settings and font cache in. Where one cannot be written (a read-only home, an
  unwritable ``MPLCONFIGDIR``), matplotlib would print two warnings and build its font cache
  again in a new temporary folder on every run; nint points ``MPLCONFIGDIR`` at its own folder in
  the system's temporary folder instead, the same one every run, so the cache is built once.
- ``drawable`` turns a name a user chose (a file name, a label) into text the figure's font can
  draw: characters the font lacks (e.g. CJK in DejaVu Sans, matplotlib's default) become "?"
  instead of empty boxes and one warning per character; "$" is drawn as itself, not read as the
  start of a formula.
- ``PARTS``: the name and colour of each part of a selection (``Sampler.parts``), the same in
  the image, audio and mesh selection pictures, and ``part_label`` for their legends.
"""

from __future__ import annotations

import os
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: part -> (its name in a legend, its colour as RGB in [0, 1]); the names follow the paper
PARTS: dict[str, tuple[str, tuple[float, float, float]]] = {
    "ntk": ("NTK part (largest |K r|)", (0.90, 0.10, 0.10)),
    "error": ("error part (largest |r|)", (1.00, 0.75, 0.00)),
    "random": ("random part", (0.15, 0.45, 1.00)),
    "all": ("all points (Stand.)", (0.20, 0.80, 0.20)),
    "edges": ("edge anchors", (0.85, 0.20, 0.85)),
    "edge-guided": ("edge-guided", (0.85, 0.20, 0.85)),
    "mined": ("mined (Soft Mining)", (1.00, 0.50, 0.10)),
}
#: the colour of a part not in ``PARTS`` (a user's own sampler's)
OTHER_COLOUR = (0.35, 0.35, 0.35)


def part_colour(part: str) -> tuple[float, float, float]:
    return PARTS.get(part, ("", OTHER_COLOUR))[1]


def part_label(part: str, count: int) -> str:
    """The legend entry of a part: its name and how many points it holds, e.g.
    'NTK part (largest |K r|): 51'."""
    name = PARTS[part][0] if part in PARTS else drawable(part)
    return f"{name}: {count}"


# ---- matplotlib's settings folder ---------------------------------------------------------------


def _usable(folder: Path) -> bool:
    """Matplotlib's own test of a settings or cache folder: it can be created and written."""
    try:
        folder = folder.resolve()
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):
        return False
    return os.access(folder, os.W_OK) and folder.is_dir()


def _default_folders() -> list[Path] | None:
    """The settings and cache folders matplotlib would use (``matplotlib.get_configdir`` and
    ``get_cachedir``, worked out without importing it); None where the home folder is unknown."""
    given = os.environ.get("MPLCONFIGDIR")
    if given:
        return [Path(given)]
    try:
        home = Path.home()
    except RuntimeError:  # no HOME and no entry in the password database
        return None
    if sys.platform.startswith(("linux", "freebsd")):
        config = os.environ.get("XDG_CONFIG_HOME") or home / ".config"
        cache = os.environ.get("XDG_CACHE_HOME") or home / ".cache"
        return [Path(config) / "matplotlib", Path(cache) / "matplotlib"]
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        old = home / ".matplotlib"  # matplotlib keeps using this one where it exists
        return [old if old.is_dir() else Path(os.environ["LOCALAPPDATA"]) / "matplotlib"]
    return [home / ".matplotlib"]


def _own_folder() -> Path:
    """nint's matplotlib folder in the system's temporary folder: the same path every run (so
    the font cache is kept), private to this user; a fresh folder where that path is taken by
    something else (another user's folder, a link)."""
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    folder = Path(tempfile.gettempdir()) / f"nint-matplotlib-{user}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
        mine = not hasattr(os, "getuid") or info.st_uid == os.getuid()
        if mine and folder.is_dir() and not folder.is_symlink() and os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="nint-matplotlib-"))


def use_writable_config_dir() -> None:
    """Point ``MPLCONFIGDIR`` at nint's own folder when matplotlib's would not be writable.

    Only before matplotlib is first imported (it reads the folder then) and only where a default
    folder fails matplotlib's own test; a writable one, with the user's ``matplotlibrc``, is
    left alone. Where only the cache folder fails, the settings move too: matplotlib takes both
    from ``MPLCONFIGDIR``.
    """
    if "matplotlib" in sys.modules:
        return
    folders = _default_folders()
    if folders is not None and all(_usable(folder) for folder in folders):
        return
    try:
        os.environ["MPLCONFIGDIR"] = str(_own_folder())
    except OSError:  # no temporary folder either: matplotlib says so itself
        pass


# ---- figures and text ---------------------------------------------------------------------------


def new_figure(**kwargs: Any) -> Figure:
    """``matplotlib.figure.Figure(**kwargs)``, with matplotlib set up first
    (``use_writable_config_dir``)."""
    use_writable_config_dir()
    from matplotlib.figure import Figure

    return Figure(**kwargs)


@cache
def _font() -> Any:
    """The font matplotlib draws text in by default (rcParams' font.family: DejaVu Sans unless
    the user's settings say otherwise)."""
    use_writable_config_dir()
    from matplotlib import font_manager

    return font_manager.get_font(font_manager.findfont(font_manager.FontProperties()))


@cache
def _has_glyph(char: str) -> bool:
    return char == " " or _font().get_char_index(ord(char)) != 0


def drawable(text: str) -> str:
    """``text`` (a name a user chose) as the default font can draw it: each character the font
    has no glyph for (CJK in DejaVu Sans, control characters) becomes "?", and "$" is escaped so
    that matplotlib draws it instead of reading a formula between two of them."""
    shown = "".join(char if _has_glyph(char) else "?" for char in text)
    return shown.replace("$", r"\$")
