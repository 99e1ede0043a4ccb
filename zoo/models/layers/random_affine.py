"""The CNNs' augmentation as one random affine map per image, resampled once.

Keras' `RandomRotation`, `RandomTranslation`, `RandomFlip` and `RandomZoom` resample a batch
three times, and on PyTorch and JAX Keras' `affine_transform` interpolates over the channel
axis too (8 neighbours instead of 4; on PyTorch in a Python loop over the batch).
`RandomAffine` composes the four into one map per image and resamples once: by
`affine_resample` (4 neighbours, vectorised) on PyTorch and JAX, by TensorFlow's native kernel
there. For the same draws it gives the images Keras' four layers give (tested).
"""

import math

import keras
from keras import ops

from zoo.models.layers._backend import on_tensorflow

__all__ = ["RandomAffine", "affine_resample", "reflect_index"]


@keras.saving.register_keras_serializable(package="zoo")
class RandomAffine(keras.layers.Layer):
    """Random rotation, shift, zoom and horizontal flip of channels-last images (B, H, W, C),
    composed into one affine map per image and resampled once (bilinear, reflected edges).
    Height and width must be known when the layer is built (as in zoo's CNNs).

    Each range is a number r, for (-r, r), or a (low, high) pair; the factors mean what they
    mean in Keras' `RandomRotation(rotation)` (a fraction of a full turn),
    `RandomTranslation(shift, shift)` (a fraction of the height and of the width, drawn
    apart), `RandomZoom(zoom)` (the sampled area's scale is 1 + a draw: above 1 zooms out,
    the same draw for both axes) and `RandomFlip("horizontal")`. Applied in that order, the
    four Keras layers give the same images for the same draws (tested), but resample three
    times where this layer resamples once. The identity outside training.
    """

    def __init__(
        self, rotation=0.0, shift=0.0, zoom=0.0, horizontal_flip=False, seed=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.rotation, self.shift, self.zoom = (
            _as_range(rotation),
            _as_range(shift),
            _as_range(zoom),
        )
        self.horizontal_flip, self.seed = horizontal_flip, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training:
            return images
        batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]

        def draw(low, high):
            return keras.random.uniform((batch,), low, high, seed=self.seed_generator)

        angle = draw(*self.rotation) * (2 * math.pi)
        shift_x, shift_y = draw(*self.shift) * width, draw(*self.shift) * height
        scale = 1.0 + draw(*self.zoom)
        flip = draw(0.0, 1.0) > 0.5 if self.horizontal_flip else ops.zeros((batch,), "bool")
        matrices = _source_matrices(angle, shift_x, shift_y, scale, flip, height, width)
        if on_tensorflow():  # its native kernel (ImageProjectiveTransformV3) is faster here
            transform = ops.concatenate(
                [ops.reshape(matrices, (-1, 6)), ops.zeros((batch, 2), matrices.dtype)], 1
            )
            return ops.image.affine_transform(
                images, transform, fill_mode="reflect", data_format="channels_last"
            )
        return affine_resample(images, matrices)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "rotation": list(self.rotation),
            "shift": list(self.shift),
            "zoom": list(self.zoom),
            "horizontal_flip": self.horizontal_flip,
            "seed": self.seed,
        }


def affine_resample(images, matrices):
    """images (B, H, W, C); matrices (B, 2, 3) -> (B, H, W, C): output pixel (x, y) (x the
    column) reads the input at `matrices @ (x, y, 1)`, bilinearly from its four neighbours,
    with the image reflected beyond its edges. Equal to `keras.ops.image.affine_transform`
    with `fill_mode="reflect"` (whose 8-number transform is the matrix's rows, then 0, 0);
    that one interpolates over the channel axis too (8 neighbours) and, on PyTorch, loops
    over the batch in Python."""
    batch, height, width, channels = ops.shape(images)
    rows, columns = ops.meshgrid(
        ops.arange(height, dtype="float32"), ops.arange(width, dtype="float32"), indexing="ij"
    )
    pixels_xy1 = ops.stack(
        [ops.reshape(columns, (-1,)), ops.reshape(rows, (-1,)), ops.ones((height * width,))]
    )  # (3, H*W)
    source = ops.matmul(ops.cast(matrices, "float32"), pixels_xy1)  # (B, 2, H*W)
    x, y = source[:, 0], source[:, 1]
    left, top = ops.floor(x), ops.floor(y)
    right_weight, bottom_weight = (x - left)[..., None], (y - top)[..., None]
    left, top = ops.cast(left, "int32"), ops.cast(top, "int32")
    pixels = ops.reshape(images, (-1, channels))  # (B*H*W, C)
    first_row = ops.arange(batch, dtype="int32")[:, None] * (height * width)

    def neighbour(down, across):  # (B, H*W, C)
        index = reflect_index(top + down, height) * width + reflect_index(left + across, width)
        return ops.take(pixels, first_row + index, axis=0)

    upper = neighbour(0, 0) * (1 - right_weight) + neighbour(0, 1) * right_weight
    lower = neighbour(1, 0) * (1 - right_weight) + neighbour(1, 1) * right_weight
    resampled = upper * (1 - bottom_weight) + lower * bottom_weight
    return ops.reshape(ops.cast(resampled, images.dtype), (batch, height, width, channels))


def reflect_index(index, size):
    """Integer pixel indices -> indices in [0, size) of the image mirrored about its edges
    (d c b a | a b c d | d c b a): Keras' (and SciPy's) "reflect" fill."""
    index = index % (2 * size)
    return ops.where(index >= size, 2 * size - 1 - index, index)


def _as_range(value):
    low, high = (-value, value) if isinstance(value, (int, float)) else value
    return float(low), float(high)


def _source_matrices(angle, shift_x, shift_y, scale, flip, height, width):
    """Per-image draws (B,) -> (B, 2, 3): where each output pixel p reads its input,
    c + R F s (p - c) - R d, for the rotation R about the centre c, the flip F, the zoom
    scale s and the shift d (in pixels): the inverse of rotating, shifting, flipping, then
    zooming the image."""
    cos, sin = ops.cos(angle), ops.sin(angle)
    flip_sign = ops.where(flip, -1.0, 1.0)
    m00, m01 = cos * flip_sign * scale, -sin * scale
    m10, m11 = sin * flip_sign * scale, cos * scale
    centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
    offset_x = centre_x - m00 * centre_x - m01 * centre_y - (cos * shift_x - sin * shift_y)
    offset_y = centre_y - m10 * centre_x - m11 * centre_y - (sin * shift_x + cos * shift_y)
    return ops.stack([ops.stack([m00, m01, offset_x], -1), ops.stack([m10, m11, offset_y], -1)], 1)
