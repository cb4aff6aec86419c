"""Test helpers that work on every Keras backend (TensorFlow, JAX, PyTorch)."""

from __future__ import annotations

import keras
import numpy as np


def backend() -> str:
    """The Keras backend these tests run on."""
    return keras.backend.backend()


def to_numpy(x) -> np.ndarray:
    """A backend tensor (or variable) as a NumPy array."""
    return np.asarray(keras.ops.convert_to_numpy(x))


def value_and_grad(fn, x) -> tuple[np.ndarray, np.ndarray]:
    """``fn(x)`` and the gradient of ``sum(fn(x))`` with respect to ``x``, with the current
    backend's own autodiff (``tf.GradientTape``, ``jax.vjp`` or ``torch.autograd``)."""
    x = np.asarray(x, dtype=np.float32)
    name = backend()
    if name == "tensorflow":
        import tensorflow as tf

        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = fn(xt)
        return to_numpy(y), to_numpy(tape.gradient(y, xt))
    if name == "jax":
        import jax
        import jax.numpy as jnp

        y, pullback = jax.vjp(fn, jnp.asarray(x))
        return to_numpy(y), to_numpy(pullback(jnp.ones_like(y))[0])
    if name == "torch":
        import torch

        xt = torch.tensor(x, requires_grad=True)
        y = fn(xt)
        y.sum().backward()
        return to_numpy(y.detach()), to_numpy(xt.grad)
    raise NotImplementedError(f"no autodiff helper for the {name!r} backend")


def random_batch(shape, target, n=8, seed=0):
    """A random batch of inputs of ``shape`` and targets: ``"class"`` labels (10 classes),
    the inputs themselves (``"image"``) or masks of 4 classes (``"mask"``)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, *shape), dtype=np.float32)
    if target == "class":
        return x, rng.integers(0, 10, n)
    if target == "image":
        return x, x
    return x, rng.integers(0, 4, (n, *shape[:2]))


def trained(model, x, y, epochs=2):
    """``model`` compiled for integer labels and fitted on ``(x, y)`` for ``epochs`` epochs."""
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    return model
