"""Recording what the spiking layers emit.

:func:`record` runs a model once and returns the output of every spiking layer. All layers
come out of one compiled function per model, cached, so dragging a sharpness slider (which
only assigns the layers' sharpness variables) never re-traces anything.

:func:`whetstone_lab.stats.activity` turns a recording into per-layer statistics (firing
rate, how binary the outputs are, silent neurons, the Gini coefficient of activity). Scores
live in :mod:`whetstone_lab.metrics`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence

import keras
import numpy as np

from .deprecation import moved
from .sharpening import global_sharpness, spiking_layers
from .validation import check_int, check_model, check_samples

__all__ = [
    "Recorder",
    "recorder",
    "record",
    "record_with_output",
    "assert_binary",
    "select_layers",
]

# The activity statistics were defined here until 0.1; their home is whetstone_lab.stats.
__getattr__ = moved(__name__, dict.fromkeys(
    ("LayerActivity", "activity", "activity_table", "gini"), "whetstone_lab.stats"))


# ----------------------------------------------------------------------------------------
# Recording
# ----------------------------------------------------------------------------------------
class Recorder:
    """One compiled function returning every spiking layer's output and the model's output.

    Built once per model by :func:`recorder` and cached. The function is traced with a
    batch dimension of unknown size, so batches of any size reuse the same trace; sharpness
    lives in variables, so changing it needs no new trace either. ``trace_count`` counts the
    traces (it stays at 1 in normal use). On TensorFlow the function is a ``tf.function``, on
    JAX a ``jax.jit`` of a stateless call that takes the variables as inputs; JAX compiles
    once per batch shape, so there every call runs in blocks of ``jax_block`` samples (the
    last block padded), whatever ``batch_size`` asks, and one trace serves every call. Other
    backends run eagerly (``trace_count`` then counts the calls).

    Args:
        model: a single-input Keras model whose spiking layers are reachable from its input
            (Sequential or Functional; spiking layers inside nested sub-models are not).
        jax_block: samples per compiled call on JAX (ignored elsewhere).

    Example:
        >>> rec = Recorder(model)
        >>> spikes, probabilities = rec(x_test)
    """

    def __init__(self, model: keras.Model, *, jax_block: int = 256):
        layers = spiking_layers(model)
        if not layers:
            raise ValueError(
                f"model {model.name!r} has no spiking layers (SpikingBReLU or SpikingSigmoid); "
                "there is nothing to record."
            )
        inputs = _model_inputs(model)
        try:
            outputs = [layer.output for layer in layers]
            self.graph = keras.Model(inputs, [*outputs, model.outputs[0]],
                                     name=f"{model.name}_recorder")
        except (ValueError, AttributeError) as err:
            raise ValueError(
                f"cannot reach the spiking layers of model {model.name!r} from its input "
                f"({err}); record() needs them in the model's own graph, so pass the nested "
                "sub-model that holds them instead."
            ) from err
        self.layer_names = [layer.name for layer in layers]
        self.input_shape = tuple(inputs.shape[1:])
        self.trace_count = 0
        self._block = (check_int(jax_block, "jax_block", minimum=1)
                       if keras.backend.backend() == "jax" else None)
        self._fn = self._compile()

    def _forward(self, x):
        self.trace_count += 1  # Python side effect: runs only while tracing
        return self.graph(x, training=False)

    def _compile(self) -> Callable:
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            spec = tf.TensorSpec((None, *self.input_shape), tf.float32)
            return tf.function(self._forward, input_signature=[spec], reduce_retracing=True)
        if backend == "jax":
            return self._compile_jax()
        return self._forward  # other backends run eagerly

    def _compile_jax(self) -> Callable:
        """``jax.jit`` of a stateless call taking the variables' values as inputs, so a new
        sharpness (or new weights) reaches the compiled function without re-tracing."""
        import jax

        graph = self.graph

        def forward(trainable, non_trainable, x):
            self.trace_count += 1  # Python side effect: runs only while tracing
            outputs, _ = graph.stateless_call(trainable, non_trainable, x, training=False)
            return outputs

        jitted = jax.jit(forward)

        def run(x):
            return jitted([v.value for v in graph.trainable_variables],
                          [v.value for v in graph.non_trainable_variables], x)

        return run

    def __call__(self, x, batch_size: int = 256) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Run ``x`` through the model: ``({layer name: spikes}, model output)``."""
        x = check_samples(x, self.input_shape)
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        parts: list[list[np.ndarray]] = []
        size = batch_size if self._block is None else self._block
        for start in range(0, len(x), size):
            chunk = x[start:start + size]
            n = len(chunk)
            if n < size and self._block is not None:  # one shape: jax.jit traces once
                chunk = np.concatenate([chunk, np.zeros((size - n, *chunk.shape[1:]),
                                                        chunk.dtype)])
            out = self._fn(chunk)
            parts.append([keras.ops.convert_to_numpy(o)[:n] for o in out])
        columns = [np.concatenate(col, axis=0) for col in zip(*parts, strict=True)]
        spikes = dict(zip(self.layer_names, columns[:-1], strict=True))
        return spikes, columns[-1]


def _model_inputs(model):
    check_model(model)
    try:
        inputs = model.inputs
    except AttributeError:
        inputs = None
    if not inputs:
        raise ValueError(
            f"model {model.name!r} has not been built: call it on data once, or give a "
            "Sequential model a keras.Input, before recording its spikes."
        )
    if len(inputs) != 1:
        raise ValueError(f"record() handles single-input models; {model.name!r} has "
                         f"{len(inputs)} inputs.")
    return inputs[0]


_RECORDERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def recorder(model: keras.Model) -> Recorder:
    """The cached :class:`Recorder` of ``model`` (built on first use).

    Example:
        >>> rec = recorder(model)
        >>> spikes, probabilities = rec(x_test)
        >>> recorder(model) is rec
        True
    """
    check_model(model)
    rec = _RECORDERS.get(model)
    if rec is None:
        rec = Recorder(model)
        _RECORDERS[model] = rec
    return rec


def select_layers(model: keras.Model, layers: Sequence[str] | None) -> list[str]:
    """Names of the spiking layers to show: all of them (None) or ``layers``, checked.

    Raises:
        ValueError: for a name that is not one of the model's spiking layers.
    """
    names = recorder(model).layer_names
    if layers is None:
        return list(names)
    if isinstance(layers, str):
        layers = [layers]
    unknown = [n for n in layers if n not in names]
    if unknown:
        raise ValueError(f"{unknown} are not spiking layers of model {model.name!r}; "
                         f"its spiking layers are {names}.")
    return [n for n in names if n in set(layers)]


def record(model: keras.Model, x, *, batch_size: int = 256,
           layers: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The output of every spiking layer of ``model`` for inputs ``x``.

    One forward pass per batch through one cached compiled function; the current
    sharpness of the layers applies.

    Args:
        model: a single-input Keras model with spiking layers.
        x: inputs of shape ``(n, *input_shape)`` (a single sample without the batch axis is
            accepted too).
        batch_size: samples per forward pass.
        layers: names of the spiking layers to return (default: all).

    Returns:
        ``{layer name: array of shape (n, *layer output shape)}`` in input-to-output order.

    Example:
        >>> spikes = record(model, data.x_test[:10])
        >>> list(spikes)
        ['spikes_0', 'spikes_1', 'spikes_2']
    """
    names = select_layers(model, layers)
    recording = recorder(model)(x, batch_size)[0]
    return {n: recording[n] for n in names}


def record_with_output(model: keras.Model, x, *, batch_size: int = 256
                       ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Like :func:`record`, plus the model's output from the same forward pass.

    Example:
        >>> spikes, probabilities = record_with_output(model, data.x_test)
    """
    return recorder(model)(x, batch_size)


def assert_binary(model: keras.Model, x: np.ndarray) -> int:
    """Check that every spiking layer's output on ``x`` is exactly 0 or 1.

    Returns:
        How many outputs were checked (so a notebook can print it).

    Raises:
        AssertionError: naming the first layer with a value strictly between 0 and 1.
    """
    checked = 0
    for name, out in record(model, x).items():
        inside = np.count_nonzero((out != 0) & (out != 1))
        if inside:
            raise AssertionError(
                f"layer {name!r} has {inside} of {out.size} outputs that are not exactly 0 or 1 "
                f"(global sharpness {global_sharpness(model):.3f})."
            )
        checked += out.size
    return checked
