"""What a user gets with the package: the licence, the typing marker and a citation that agree
with the code."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import nint

ROOT = Path(__file__).resolve().parents[1]
PAPER = "https://arxiv.org/abs/2511.15487"


def test_the_wheel_ships_the_typing_marker_and_the_licence(tmp_path: Path) -> None:
    pytest.importorskip("setuptools", reason="building the wheel offline needs setuptools")
    # build from a copy, so that the checkout gets no build/ folder
    source = tmp_path / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["--quiet", "--wheel-dir", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("nint-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "nint/py.typed" in names
    licences = [n for n in names if ".dist-info/" in n and n.endswith("LICENSE")]
    assert licences, names
    licence = zipfile.ZipFile(wheel).read(licences[0]).decode()
    assert licence.startswith("MIT License")


def test_the_versions_agree() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(rf'^version = "{re.escape(nint.__version__)}"$', pyproject, flags=re.M)
    citation = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf"^version: {re.escape(nint.__version__)}$", citation, flags=re.M)


def test_the_citation_file_names_the_software_and_the_paper() -> None:
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert cff["type"] == "software"
    assert cff["license"] == "MIT"
    (paper,) = cff["references"]
    assert paper["title"] == "NTK-Guided Implicit Neural Teaching"
    assert paper["url"] == PAPER
    assert paper["year"] == 2026
    assert PAPER in (ROOT / "README.md").read_text()
