"""The pre-flight check, `python -m whetstone_lab.doctor`: a verdict on one screen, a fix for
every failure, no traceback even when Keras cannot start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from whetstone_lab import doctor


def _run(tmp_path: Path, **env) -> subprocess.CompletedProcess:
    environ = {**os.environ, **env}
    return subprocess.run([sys.executable, "-m", "whetstone_lab.doctor"], capture_output=True,
                          text=True, env=environ, timeout=120, cwd=tmp_path)


def test_a_bad_backend_gets_a_verdict_and_its_fix_not_a_traceback(tmp_path):
    done = _run(tmp_path, KERAS_BACKEND="nonsense")
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    backend = next(i for i, line in enumerate(lines) if "Keras backend" in line)
    assert lines[backend].startswith("FAIL") and "'nonsense' is not a Keras backend" in \
        lines[backend]
    assert "fix:" in lines[backend + 1] and "KERAS_BACKEND" in lines[backend + 1]
    assert any(line.startswith("skip") and "sharpen and deploy" in line for line in lines)
    assert lines[-1].startswith("NOT READY") and "Keras backend" in lines[-1]


@pytest.mark.integration
def test_every_check_runs_and_a_missing_nir_is_named_with_its_fix(tmp_path):
    # A `nir` that fails to import stands for a machine without it (environment.yml once
    # installed the package without NIR, and lesson 07 failed at `import nir`).
    shadow = tmp_path / "shadow" / "nir"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("No module named \'nir\'")\n')
    done = _run(tmp_path, PYTHONPATH=str(tmp_path / "shadow"))
    assert done.returncode == 1, done.stdout
    assert done.stderr == "", done.stderr  # TensorFlow's start-up lines stay off the screen
    lines = done.stdout.splitlines()
    assert len(lines) <= 24  # one screen
    status = {line.split()[1]: line.split()[0] for line in lines[2:] if line[:4] in
              ("ok  ", "FAIL", "skip")}
    assert status["Python"] == status["widgets"] == status["offline"] == "ok", done.stdout
    packages = next(line for line in lines if line.startswith("FAIL  packages"))
    assert "import nir" in packages
    deploy = lines.index(next(line for line in lines if "sharpen and deploy" in line))
    assert "threshold network = Keras" in lines[deploy] and "needs `nir`" in lines[deploy]
    assert 'pip install -e ".[lab]"' in lines[deploy + 1]
    assert lines[-1].startswith("NOT READY: 2 of 6 checks failed")


def test_the_widget_check_names_a_missing_extension(tmp_path):
    with pytest.raises(doctor.CheckFailed, match="no @jupyter-widgets/jupyterlab-manager") as err:
        doctor.check_widgets([tmp_path])
    assert "restart JupyterLab" in err.value.fix
    (tmp_path / doctor.WIDGETS_EXTENSION).mkdir(parents=True)
    (tmp_path / doctor.WIDGETS_EXTENSION / "package.json").write_text("{}")
    assert str(tmp_path) in doctor.check_widgets([tmp_path])


def test_the_package_check_reads_the_lab_extra_from_the_installed_metadata():
    names = {r.name for r in doctor.requirements(("lab",))}
    assert {"keras", "numpy", "ipywidgets", "jupyterlab", "nir"} <= names
    assert not names & {"pytest", "playwright", "ruff"}  # the test tools are not the lab's
    with pytest.raises(doctor.CheckFailed, match="declares no"):
        doctor.requirements(("no_such_extra",))


def test_render_gives_a_fix_under_every_failure_and_one_verdict():
    checks = [doctor.Check("Python", True, "3.11"),
              doctor.Check("widgets", False, "no extension", "pip install -e '.[lab]'"),
              doctor.Check("sharpen and deploy", False, "skipped: needs a working Keras backend",
                           "fix the Keras backend first")]
    lines = doctor.render(checks, 3.0).splitlines()
    assert lines[3].startswith("FAIL  widgets") and lines[4].strip().startswith("fix: pip")
    assert lines[5].startswith("skip  sharpen and deploy")
    assert lines[-1].startswith("NOT READY: 1 of 3 checks failed (widgets), 1 skipped")
    assert doctor.render(checks[:1], 3.0).splitlines()[-1] == \
        "READY: every check passed in 3 s."
