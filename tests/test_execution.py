from pathlib import Path

from booktools.execution import ensure_fresh_cache, inputs_fingerprint


def make_book(root: Path) -> None:
    (root / "code" / "pkg").mkdir(parents=True)
    (root / "code" / "pkg" / "mod.py").write_text("x = 1\n")
    (root / "requirements.txt").write_text("numpy==2.4.6\n")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")


def test_fingerprint_follows_code_and_requirements(tmp_path):
    make_book(tmp_path)
    original = inputs_fingerprint(tmp_path)
    assert inputs_fingerprint(tmp_path) == original
    (tmp_path / "code" / "pkg" / "mod.py").write_text("x = 2\n")
    changed_code = inputs_fingerprint(tmp_path)
    assert changed_code != original
    (tmp_path / "requirements.txt").write_text("numpy==2.4.5\n")
    assert inputs_fingerprint(tmp_path) != changed_code


def test_fingerprint_ignores_bytecode(tmp_path):
    make_book(tmp_path)
    original = inputs_fingerprint(tmp_path)
    (tmp_path / "code" / "pkg" / "__pycache__").mkdir()
    (tmp_path / "code" / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    assert inputs_fingerprint(tmp_path) == original


def test_stale_cache_is_emptied_and_fresh_cache_kept(tmp_path):
    cache = tmp_path / "_build" / ".jupyter_cache"
    assert ensure_fresh_cache(cache, "aaa") is False  # nothing to delete yet
    (cache / "executed.ipynb").write_text("{}")
    assert ensure_fresh_cache(cache, "aaa") is False
    assert (cache / "executed.ipynb").exists()
    assert ensure_fresh_cache(cache, "bbb") is True
    assert not (cache / "executed.ipynb").exists()


def test_cache_without_stamp_is_treated_as_stale(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "executed.ipynb").write_text("{}")
    assert ensure_fresh_cache(cache, "aaa") is True
    assert not (cache / "executed.ipynb").exists()
