"""The test harness itself: a chapter with a failing cell fails and is named."""

import subprocess
import sys
from pathlib import Path

BROKEN_CHAPTER = """\
---
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

(broken)=
# A broken chapter

```{code-cell} ipython3
x = 1
```

```{code-cell} ipython3
x / 0
```
"""


def test_a_failing_cell_fails_the_run_and_names_chapter_and_cell(tmp_path: Path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "broken.md").write_text(BROKEN_CHAPTER)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "booktools.pytest_chapters", "-p", "no:cacheprovider",
         "--nbval-lax", "--nbval-current-env", "-rA", "chapters"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "PASSED chapters/broken.md::Cell 0" in out, out
    assert "FAILED chapters/broken.md::Cell 1" in out, out
    assert "ZeroDivisionError" in out, out
