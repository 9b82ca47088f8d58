"""The publishing workflow tests exactly what CI tests, and publishes with least privilege;
the link check runs on a schedule only; the contributor's files are in place."""

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "pages.yml"
#: the current major version of each action the workflows use (the Jupyter Book 1.x
#: publishing guide's actions, plus the artifact and cache actions)
CURRENT_MAJOR = {"actions/checkout": "v7", "actions/setup-python": "v7", "actions/cache": "v6",
                 "actions/upload-artifact": "v7", "actions/upload-pages-artifact": "v5",
                 "actions/deploy-pages": "v5"}
SITE = "https://emergence-book.github.io/emergence-book/"
REPOSITORY = "https://github.com/emergence-book/emergence-book"


def _workflow(path: Path = WORKFLOW) -> dict:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
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


def test_workflow_builds_with_the_bundled_model_and_caches_it():
    test = _workflow()["jobs"]["test"]
    env = test["env"]
    # the site is built with the bundled model, exactly as CI tests it; the Makefile picks
    # CPU torch itself
    assert not any(name.startswith(("HF_", "EMERGENCE_MODEL", "PIP_EXTRA_INDEX")) for name in env)
    caches = [step["with"]["path"] for step in test["steps"]
              if step.get("uses", "").startswith("actions/cache")]
    assert sorted(caches) == sorted([env["EMERGENCE_CACHE"], env["PIP_CACHE_DIR"]])
    checkout = next(step for step in test["steps"]
                    if step.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0, "the footer needs the release tags"


def test_every_action_is_at_its_current_major_version():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job in _workflow(path)["jobs"].values():
            for step in job.get("steps", []):
                if "uses" in step:
                    action, version = step["uses"].split("@")
                    assert CURRENT_MAJOR.get(action) == version, f"{path.name}: {step['uses']}"


def test_a_pull_request_uploads_its_site_for_reviewers():
    steps = _workflow()["jobs"]["test"]["steps"]
    upload = next(step for step in steps if step.get("uses", "").startswith(
        "actions/upload-artifact") and step["with"]["path"].startswith("_build/html"))
    assert "github.event_name == 'pull_request'" in upload["if"]


def test_the_link_check_runs_on_a_schedule_never_on_a_pull_request():
    workflow = _workflow(WORKFLOWS / "linkcheck.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    steps = workflow["jobs"]["linkcheck"]["steps"]
    assert any("-b linkcheck" in step.get("run", "") for step in steps)
    report = steps[-1]
    assert "failure()" in report["if"] and "gh issue create" in report["run"]
    assert workflow["permissions"] == {"contents": "read", "issues": "write"}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        if path.name != "linkcheck.yml":
            assert "linkcheck" not in path.read_text(encoding="utf-8"), path.name


def test_pull_request_template_has_the_checklist():
    template = (ROOT / ".github" / "pull_request_template.md").read_text(encoding="utf-8")
    boxes = [line for line in template.splitlines() if line.startswith("- [ ]")]
    for item in ("CPU", "Offline", "asserted", "glued", "cited", "Labels stable",
                 "make check", "make test"):
        assert any(item in box for box in boxes), f"the checklist lacks '{item}'"


def test_readme_links_the_site_and_binder():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"]({SITE})" in readme
    badge = re.search(r"\[!\[[^\]]*\]\(https://mybinder\.org/badge_logo\.svg\)\]"
                      r"\((https://mybinder\.org/v2/gh/[^)]+)\)", readme)
    assert badge and "emergence-book/emergence-book/HEAD" in badge[1], "no Binder badge"


def test_one_address_for_repository_and_site():
    """The placeholder addresses agree everywhere they are written."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert config["repository"]["url"] == citation["repository-code"] == REPOSITORY
    assert citation["url"] == SITE
    for name in ("README.md", "CONTRIBUTING.md", "chapters/contributing.md",
                 "chapters/how-to-cite.md", ".zenodo.json"):
        text = (ROOT / name).read_text(encoding="utf-8")
        others = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", text)) - {REPOSITORY}
        assert not {url for url in others if "emergence" in url}, (name, others)


def test_contributor_files_exist():
    templates = ROOT / ".github" / "ISSUE_TEMPLATE"
    for name in ("new-chapter.yml", "fact-correction.yml", "bug.yml"):
        form = yaml.safe_load((templates / name).read_text(encoding="utf-8"))
        assert form["name"] and form["description"] and form["body"], name
        assert any(item.get("validations", {}).get("required") for item in form["body"]), name
    assert "Contributor Covenant" in (ROOT / "CODE_OF_CONDUCT.md").read_text(encoding="utf-8")
    assert json.loads((ROOT / ".zenodo.json").read_text(encoding="utf-8"))["title"]


def test_changelog_has_the_current_release():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", changelog,
                          re.MULTILINE)
    assert releases, "CHANGELOG.md lists no release"
    assert releases[0] == (str(citation["version"]), str(citation["date-released"])), \
        "the newest release in CHANGELOG.md is not the one CITATION.cff names"
    assert "## [Unreleased]" in changelog


def test_pre_commit_runs_the_checker_and_ruff():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert "python -m booktools.checks" in hooks["chapter-checker"]["entry"]
    assert "ruff-check" in hooks or "ruff" in hooks


def test_contributing_page_includes_every_section_of_contributing_md():
    """One source: the page shows each section of CONTRIBUTING.md under its stable label."""
    source = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    page = (ROOT / "chapters" / "contributing.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## (.+)\n<!-- (contributing-[\w-]+) -->$", source, re.MULTILINE)
    assert len(sections) == source.count("\n## "), "a section of CONTRIBUTING.md lacks its marker"
    for title, label in sections:
        assert f"<!-- /{label} -->" in source, label
        assert (f"({label})=\n## {title}\n\n```{{include}} ../CONTRIBUTING.md\n"
                f":start-after: <!-- {label} -->\n:end-before: <!-- /{label} -->\n```") in page, label
    # published labels stay
    labels = {label for _, label in sections}
    assert {"contributing-idea", "contributing-workflow", "contributing-budgets",
            "contributing-rules"} <= labels
    # no prose of the page's own besides its introduction
    assert page.count("\n## ") == len(sections)


def test_contributing_md_has_no_relative_links():
    """A relative link would point elsewhere once the text is included from chapters/."""
    source = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)]+)\)", source)
    assert [link for link in links if not link.startswith(("https://", "#"))] == []
