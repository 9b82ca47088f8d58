"""The publishing workflow tests exactly what CI tests, and publishes with least privilege."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"


def _workflow() -> dict:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def _uses(job: dict) -> list[str]:
    return [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]


def test_workflow_runs_the_ci_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "exec make test" in ci
    runs = [step.get("run", "") for step in _workflow()["jobs"]["test"]["steps"]]
    assert "bash .ci/run" in runs


def test_workflow_publishes_the_built_site_from_main_only():
    workflow = _workflow()
    assert workflow["on"]["push"]["branches"] == ["main"]
    test, deploy = workflow["jobs"]["test"], workflow["jobs"]["deploy"]
    upload = next(step for step in test["steps"]
                  if step.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    assert "refs/heads/main" in upload["if"] and "refs/heads/main" in deploy["if"]
    assert deploy["needs"] == "test" and _uses(deploy) == ["actions/deploy-pages"]


def test_workflow_has_least_privilege_and_one_run_at_a_time():
    workflow = _workflow()
    assert workflow["permissions"] == {"contents": "read"}
    assert "permissions" not in workflow["jobs"]["test"]
    assert workflow["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert workflow["concurrency"]["group"]


def test_workflow_uses_the_hub_and_cpu_torch():
    env = _workflow()["jobs"]["test"]["env"]
    assert env["HF_HUB_OFFLINE"] == "0"
    assert env["PIP_EXTRA_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"


def test_pull_request_template_has_the_checklist():
    template = (ROOT / ".github" / "pull_request_template.md").read_text(encoding="utf-8")
    boxes = [line for line in template.splitlines() if line.startswith("- [ ]")]
    for item in ("CPU", "Offline", "asserted", "glued", "cited", "Labels stable",
                 "make check", "make test"):
        assert any(item in box for box in boxes), f"the checklist lacks '{item}'"
