"""Loading the repository's scripts (``scripts/``, ``benchmarks/``) as modules in tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative_path: str):
    """Execute ``ROOT / relative_path`` as a module and return it.

    The module is registered in ``sys.modules`` under its file's stem (dataclasses look
    their module up there), and the script's own folder is on ``sys.path`` while it runs
    (a benchmark imports its ``common.py``).
    """
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module
