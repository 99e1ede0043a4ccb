"""Names for the types in zoo's annotations.

`Tensor` is a tensor of the running backend (`tf.Tensor`, `torch.Tensor`, `jax.Array`), or
anything `keras.ops` takes in its place; `ArrayLike` is what NumPy takes. Both are `Any` to
a type checker: Keras 3 has no one tensor type across its backends, and naming one backend's
would be wrong on the other two.
"""

from typing import Any

__all__ = ["ArrayLike", "Tensor"]

Tensor = Any  # a backend tensor, a NumPy array or a nested list of numbers
ArrayLike = Any  # anything np.asarray takes
