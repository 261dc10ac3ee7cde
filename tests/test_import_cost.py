"""`import nint` and `nint --version` stay cheap.

Checked by which modules a fresh interpreter has loaded, never by timing: `import nint` alone loads
no torch, the public names load torch but none of the slow extras that only some runs need, and
`nint --version` answers without torch.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import nint

# modules that only some runs need (audio metrics, meshes, figures, image baselines, resizing,
# torch.compile); none of them may be loaded by `import nint` or by touching its public names
SLOW_EXTRAS = (
    "pesq",
    "pystoi",
    "scipy.signal",
    "scipy.spatial",
    "matplotlib",
    "cv2",
    "trimesh",
    "igl",
    "skimage",
    "torch._dynamo",
    "nint.models.compiled",
)


def loaded_after(code: str) -> set[str]:
    """The names in sys.modules after running ``code`` in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    return set(json.loads(run.stdout.splitlines()[-1]))


def test_import_nint_alone_does_not_import_torch() -> None:
    loaded = loaded_after("import nint\nassert nint.__version__")
    assert "nint" in loaded
    assert "torch" not in loaded


@pytest.mark.parametrize(
    "code",
    [
        "from nint import fit",
        "import nint\nnint.fit, nint.Siren, nint.ImageSignal, nint.load_signal, nint.SAMPLERS",
        "import nint.cli",
    ],
)
def test_public_names_do_not_import_the_slow_extras(code: str) -> None:
    loaded = loaded_after(code)
    if "cli" not in code:
        assert "torch" in loaded  # the names were really resolved
    assert sorted(loaded.intersection(SLOW_EXTRAS)) == []


def test_version_answers_without_importing_torch() -> None:
    # `python -m nint` runs nint.cli.main, as the `nint` console script does
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nint", "--version"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"nint {nint.__version__}\n"
    # -X importtime writes one line per imported module: "import time: self | cumulative | name"
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in run.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "nint.cli" in imported  # the check sees the real imports
    assert "torch" not in imported


def test_every_public_name_resolves_to_its_definition() -> None:
    assert nint.__all__ == sorted(nint._EXPORTS)
    for name in nint.__all__:
        value = getattr(nint, name)
        module = sys.modules[f"nint.{nint._EXPORTS[name]}"]
        assert value is getattr(module, name)
        assert name in dir(nint)
    from nint.models import CompiledSiren
    from nint.models.compiled import CompiledSiren as defined

    assert CompiledSiren is defined


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'fitt'"):
        nint.fitt  # noqa: B018
    with pytest.raises(ImportError):
        from nint import fitt  # noqa: F401
