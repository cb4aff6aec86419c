"""What every benchmark shares: the preamble, the machine it ran on, how a mean ± sd reads, how
a task row is named, and the report rendered from a template.

Importing this module is the preamble: it sets the environment defaults (TensorFlow's C++ log
quiet, matplotlib's non-interactive backend) and puts the repository first on ``sys.path``, so
``whetstone_lab`` is the repository's own. A benchmark imports it first among its third-party
imports (``import common`` sorts before ``keras``, ``numpy`` and ``tensorflow``)::

    import common  # noqa: F401  (the shared preamble, before Keras)
    import keras
    from common import machine, render

A report is data first: the benchmark writes its ``results/<name>.json`` and renders the
Markdown from it with ``render("<name>", context)``, the prose living in
``benchmarks/templates/<name>.md`` (``string.Template``: ``$name`` or ``${name}``).
"""

from __future__ import annotations

import os
import platform
import string
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TEMPLATES = ROOT / "benchmarks" / "templates"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def machine() -> str:
    """CPU model, visible cores, and the versions that decide the numbers."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import keras
    import numpy as np
    import sklearn
    import tensorflow as tf

    return (f"{cpu}, {os.cpu_count()} cores visible; Python {platform.python_version()}, "
            f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {np.__version__}, "
            f"scikit-learn {sklearn.__version__}, {platform.system()} {platform.release()}")


def mean_sd(values, scale: float = 100.0, digits: int = 1) -> str:
    """``"mean ± sd"`` of ``values × scale`` (population sd), or just the value for one.

    Example:
        >>> mean_sd([0.969, 0.975, 0.962])
        '96.9 ± 0.5'
    """
    import numpy as np

    v = scale * np.asarray(values, dtype=float)
    spread = f" ± {v.std():.{digits}f}" if len(v) > 1 else ""
    return f"{v.mean():.{digits}f}{spread}"


def reflow(text: str, width: int = 92) -> str:
    """Markdown ``text`` with each paragraph and each ``* `` bullet re-wrapped to ``width``
    columns (headings and table rows kept as they are), so text with numbers filled in reads
    as evenly as typed text."""
    import textwrap

    blocks, out = [], []
    for line in text.splitlines():
        if not line.strip() or line.startswith(("#", "|")):
            blocks.append(line)
        elif line.startswith("* ") or not blocks or not blocks[-1].strip() \
                or blocks[-1].startswith(("#", "|")):
            blocks.append(line)
        else:
            blocks[-1] += " " + line.strip()
    for block in blocks:
        if not block.strip() or block.startswith(("#", "|")):
            out.append(block)
        else:
            indent = "  " if block.startswith("* ") else ""
            out.append(textwrap.fill(block, width, subsequent_indent=indent,
                                     break_on_hyphens=False))
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def task_label(row: dict) -> str:
    """A results row's task name, with its decoder temperature when the task has a decoder:
    ``"digits dense (T = 20)"``."""
    t = row.get("temperature")
    return row["task"] if t is None else f"{row['task']} (T = {t:g})"


def render(template_name: str, context: dict) -> str:
    """The text of ``benchmarks/templates/<template_name>.md`` with every ``$name`` (or
    ``${name}``) replaced by ``str(context[name])``; a name missing from ``context`` raises
    ``KeyError`` (``$$`` is a literal dollar sign). The context holds text: numbers formatted
    and tables built by the benchmark, from its results file only, so the report can be
    rendered again from that file alone.
    """
    path = TEMPLATES / f"{template_name}.md"
    return string.Template(path.read_text(encoding="utf-8")).substitute(context)
