"""What every benchmark report states about the machine it ran on."""

from __future__ import annotations

import os
import platform
from pathlib import Path


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
