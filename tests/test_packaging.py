"""The repository's set-up files agree with each other."""

import re
import sys
from pathlib import Path

import pytest
from script_helpers import load_script

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _environment_pip_section() -> list[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    indent = len(lines[start + 1]) - len(lines[start + 1].lstrip())
    section = []
    for line in lines[start + 1:]:
        if not line.strip() or len(line) - len(line.lstrip()) < indent:
            break
        section.append(line.strip()[2:].strip())
    return section


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    declared = sorted(_pyproject()["project"]["dependencies"])
    pip_section = [r for r in _environment_pip_section() if not r.startswith("-e")]
    assert sorted(pip_section) == declared, (
        "environment.yml's pip section must list pyproject.toml's dependencies verbatim"
    )
    # ... and installs the package with the lessons' extra, so a conda user's lesson 07 finds
    # NIR: every runtime dependency of one is in the other.
    assert "-e .[lab]" in _environment_pip_section()


def test_the_lab_extra_holds_what_the_lessons_import_and_the_test_extra_holds_it_all():
    extras = _pyproject()["project"]["optional-dependencies"]
    lab, test = {_name(r) for r in extras["lab"]}, {_name(r) for r in extras["test"]}
    assert "nir" in lab  # lesson 07
    assert lab <= test
    assert not lab & {"pytest", "nbval", "ruff", "playwright", "jax"}  # slim for participants
    imported = set()
    for notebook in (ROOT / "notebooks").glob("[0-9]*.ipynb"):
        imported |= set(re.findall(r"^\s*(?:import|from) (\w+)", notebook.read_text(), re.M))
    runtime = {_name(r) for r in _pyproject()["project"]["dependencies"]} | lab
    modules = {"sklearn": "scikit-learn", "tensorflow": "tensorflow-cpu"}
    for module in imported - {"whetstone_lab", "io", "os", "json", "time", "math", "pathlib",
                              "itertools", "collections", "functools", "tempfile", "sys"}:
        assert modules.get(module, module).replace("_", "-") in runtime, module


def test_make_lab_installs_the_lab_extra_and_make_test_the_test_extra():
    makefile = (ROOT / "Makefile").read_text()
    lab = re.search(r"^lab: (.*)$", makefile, re.M).group(1).split()
    assert "install-lab" in lab
    assert re.search(r"^\$\(LAB_STAMP\):.*\n(?:\t.*\n)*?\t.*-e \"\.\[lab\]\"", makefile, re.M)
    assert re.search(r"^test: install\b", makefile, re.M)
    assert re.search(r"^\$\(STAMP\):.*\n(?:\t.*\n)*?\t.*-e \"\.\[test\]\"", makefile, re.M)


def test_environment_yml_pins_python_311():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*- python=3\.11\s*$", text, flags=re.M)


def test_every_dependency_has_a_lower_bound():
    project = _pyproject()["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    for requirement in requirements:
        assert ">=" in requirement, f"{requirement!r} has no lower bound"


def test_the_package_imports_without_network_or_log_noise():
    import os
    import subprocess

    # The package itself must silence TensorFlow: no TF_CPP_MIN_LOG_LEVEL from outside.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env["TF_ENABLE_ONEDNN_OPTS"] = "0"
    result = subprocess.run(
        [sys.executable, "-c", "import whetstone_lab as wl; print(wl.__version__)"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == _pyproject()["project"]["version"]
    assert result.stderr == "", result.stderr


def test_readme_numbers_are_rendered_from_the_results_files():
    """Every result block of the README equals what scripts/readme_results.py renders from
    benchmarks/results/*.json: no number in them is typed by hand or left stale."""
    module = load_script("scripts/readme_results.py")
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"<!-- results:(\w+) -->", text)
    assert {"quickstart", "defaults", "retention"} <= set(blocks)
    assert module.render(text) == text, "run `python scripts/readme_results.py`"
    for name in blocks:  # a block is never empty
        body = re.search(rf"<!-- results:{name} -->\n(.*?)<!-- /results:{name} -->", text,
                         re.S).group(1)
        assert re.search(r"\d", body), name


def test_readme_retention_shows_the_goal_only_for_each_tasks_own_decoder():
    """A task's run at another decoder temperature than its own is a comparison
    (retention.py marks it so in retention.json): the README gives it no goal."""
    module = load_script("scripts/readme_results.py")
    row = {"task": "digits dense", "metric": "accuracy", "float": 0.98, "whetstone": 0.97,
           "naive": 0.9}
    results = {"goals": {"digits dense": {"kind": "gap", "bound": 0.01, "temperature": 20.0}},
               "rows": [{**row, "temperature": 20.0, "comparison": False},
                        {**row, "temperature": 1.0, "comparison": True}]}
    own, other = module.retention(results).splitlines()[2:]
    assert own.startswith("| digits dense (T = 20) |") and own.endswith("| ≤ 1 pt |")
    assert other.startswith("| digits dense (T = 1) |") and "— (comparison)" in other


def test_importing_the_package_writes_nothing_to_stderr():
    """Notebooks start with `import whetstone_lab as wl`: TensorFlow's start-up lines must not
    reach the first cell's output."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",)}
    done = subprocess.run([sys.executable, "-c", "import whetstone_lab, keras; keras.ops.ones(2)"],
                          capture_output=True, text=True, env=env, timeout=120, check=True)
    assert done.stderr == ""
