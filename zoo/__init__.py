"""zoo: classic deep-learning models in Keras 3 that train unchanged on TensorFlow, PyTorch and JAX.

The public API is what this module exports, plus the submodules named below:

    import zoo
    zoo.attention.scaled_dot_product_attention(q, k, v, mask)   # keras.ops, any backend
    zoo.attention.scaled_dot_product_attention_numpy(q, k, v)   # the NumPy reference

Submodules: `zoo.attention` (attention functions), `zoo.plots` (curves, heat maps, image
grids), `zoo.recipe` (what the scripts in recipes/ share).
"""

from zoo import attention

__version__ = "0.1.0"

__all__ = ["attention"]
