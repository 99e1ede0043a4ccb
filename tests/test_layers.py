"""zoo.models.layers: the faster routes compute what Keras computes, values and gradients."""

import keras
import numpy as np
import pytest
from keras import ops

import zoo
from zoo import fast
from zoo.models import cnn, dcgan, vae
from zoo.models import layers as fast_layers
from zoo.models.layers import (
    FromDataFormat,
    RandomAffine,
    ResizeConv2D,
    ToDataFormat,
    affine_resample,
    conv_transpose_by_matmul,
    fused_kernels,
    jax_gradients,
    max_pool_by_slices,
)

RNG = np.random.default_rng(0)


def normal(*shape):
    return RNG.normal(size=shape).astype("float32")


@pytest.mark.parametrize(
    "height, width, pool_size", [(8, 8, (2, 2)), (7, 9, (2, 2)), (9, 10, (3, 2))]
)
def test_max_pool_by_slices_equals_keras(height, width, pool_size):
    images = normal(2, height, width, 3)
    expected = ops.max_pool(images, pool_size, strides=pool_size, padding="valid")
    got = max_pool_by_slices(ops.convert_to_tensor(images), pool_size)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(ops.convert_to_numpy(got), ops.convert_to_numpy(expected))


@pytest.mark.parametrize(
    "height, width, kernel, strides, padding",
    [
        (8, 8, (4, 4), (2, 2), "same"),  # the DCGAN's layers
        (7, 9, (3, 3), (2, 2), "same"),  # the VAE's, with odd sizes
        (5, 6, (3, 3), (2, 2), "valid"),
        (4, 4, (5, 5), (3, 3), "same"),
        (4, 5, (3, 4), (1, 2), "valid"),
        (6, 6, (3, 3), (1, 1), "same"),  # the VAE's last layer
    ],
)
def test_conv_transpose_by_matmul_equals_keras(height, width, kernel, strides, padding):
    inputs, weights = normal(2, height, width, 3), normal(*kernel, 4, 3)
    expected = ops.conv_transpose(inputs, weights, strides, padding=padding)
    got = conv_transpose_by_matmul(
        ops.convert_to_tensor(inputs), ops.convert_to_tensor(weights), strides, padding
    )
    assert got.shape == expected.shape
    np.testing.assert_allclose(ops.convert_to_numpy(got), ops.convert_to_numpy(expected), atol=1e-5)


def stack(pooling, transposed):
    return keras.Sequential(
        [
            keras.Input((9, 9, 3)),
            pooling(2),
            transposed(5, 4, strides=2, padding="same", activation="tanh"),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ]
    )


def assert_trains_alike(ours, theirs, inputs, targets, batch_size, learning_rate=0.1, moved=0):
    """Two SGD epochs of both models (the same weights already) on the same batches: the same
    updated weights, and weight `moved` of ours changed (the steps did something)."""
    initial = ours.get_weights()
    for model in (ours, theirs):
        model.compile(keras.optimizers.SGD(learning_rate), "mse")
        model.fit(inputs, targets, batch_size=batch_size, epochs=2, shuffle=False, verbose=0)
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, reference, atol=1e-5)
    assert not np.allclose(ours.get_weights()[moved], initial[moved])


def test_layers_train_like_keras_layers():
    """Same weights, same batch, two SGD steps: same outputs and same updated weights, so the
    faster routes' gradients are Keras' gradients (normal noise: no ties in a pooling window)."""
    ours, theirs = (
        stack(fast.MaxPooling2D, fast.Conv2DTranspose),
        stack(keras.layers.MaxPooling2D, keras.layers.Conv2DTranspose),
    )
    theirs.set_weights(ours.get_weights())
    images, targets = normal(8, 9, 9, 3), normal(8, 1)
    np.testing.assert_allclose(
        ours.predict(images, verbose=0), theirs.predict(images, verbose=0), atol=1e-5
    )
    assert_trains_alike(ours, theirs, images, targets, batch_size=8)


def test_faster_routes_are_taken_on_jax_only(monkeypatch):
    """And the pooling's only in training, where its gradient is needed."""
    model, calls = stack(fast.MaxPooling2D, fast.Conv2DTranspose), []
    for name in ("max_pool_by_slices", "conv_transpose_by_matmul"):
        original = getattr(jax_gradients, name)
        monkeypatch.setattr(
            jax_gradients, name, lambda *args, _f=original, _n=name: calls.append(_n) or _f(*args)
        )
    on_jax = keras.backend.backend() == "jax"
    model(normal(2, 9, 9, 3), training=True)
    assert calls == (["max_pool_by_slices", "conv_transpose_by_matmul"] if on_jax else [])
    calls.clear()
    model(normal(2, 9, 9, 3), training=False)  # inference pools the Keras way
    assert calls == (["conv_transpose_by_matmul"] if on_jax else [])


def test_pooling_without_a_faster_route_falls_back_to_keras():
    inputs = normal(2, 9, 9, 3)
    overlapping = fast.MaxPooling2D(3, strides=2)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(overlapping(inputs)),
        ops.convert_to_numpy(ops.max_pool(inputs, 3, strides=2, padding="valid")),
    )


@pytest.mark.parametrize("settings", [{"dilation_rate": 2}, {"strides": 2, "output_padding": 1}])
def test_transposed_convolution_without_a_faster_route_falls_back_to_keras(settings):
    inputs = normal(2, 9, 9, 3)
    reference = keras.layers.Conv2DTranspose(2, 3, **settings)
    reference.build(inputs.shape)
    try:
        expected = reference(inputs)
    except Exception as error:  # noqa: BLE001 - Keras' own layer is what is tested against
        pytest.skip(f"Keras' own layer cannot compute {settings} here: {type(error).__name__}")
    ours = fast.Conv2DTranspose(2, 3, **settings)
    ours.build(inputs.shape)
    ours.set_weights(reference.get_weights())
    np.testing.assert_allclose(
        ops.convert_to_numpy(ours(inputs)), ops.convert_to_numpy(expected), atol=1e-5
    )


def test_saved_and_reloaded_with_their_own_class(tmp_path):
    model = stack(fast.MaxPooling2D, fast.Conv2DTranspose)
    images = normal(2, 9, 9, 3)
    model.save(tmp_path / "stack.keras")
    reloaded = keras.saving.load_model(tmp_path / "stack.keras")
    assert [type(layer) for layer in reloaded.layers[:2]] == [
        fast.MaxPooling2D,
        fast.Conv2DTranspose,
    ]
    np.testing.assert_allclose(
        reloaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6
    )


def resize_conv_stacks(interpolation, data_format="channels_last"):
    """(ours, plain Keras): upsampling + 3x3 convolution, then a head, the same weights."""

    def head():
        return [keras.layers.Flatten(data_format=data_format), keras.layers.Dense(1)]

    ours = keras.Sequential(
        [
            keras.Input((5, 7, 3)),
            ToDataFormat(data_format),
            ResizeConv2D(
                4, interpolation=interpolation, activation="tanh", data_format=data_format
            ),
            *head(),
        ]
    )
    theirs = keras.Sequential(
        [
            keras.Input((5, 7, 3)),
            ToDataFormat(data_format),
            keras.layers.UpSampling2D(2, data_format=data_format, interpolation=interpolation),
            keras.layers.Conv2D(4, 3, padding="same", activation="tanh", data_format=data_format),
            *head(),
        ]
    )
    theirs.set_weights(ours.get_weights())
    return ours, theirs


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_resize_conv_computes_and_trains_like_upsampling_then_conv(interpolation):
    """Same weights: the same maps (B, 2H, 2W, C) and the same SGD updates, so the nearest
    route's transposed kernel is the 3x3 kernel's, values and gradients."""
    ours, theirs = resize_conv_stacks(interpolation)
    images, targets = normal(6, 5, 7, 3), normal(6, 1)
    maps = [
        ops.convert_to_numpy(ours.layers[1](images)),
        ops.convert_to_numpy(theirs.layers[2](theirs.layers[1](images))),
    ]
    assert maps[0].shape == (6, 10, 14, 4)
    np.testing.assert_allclose(maps[0], maps[1], atol=1e-5)
    assert_trains_alike(ours, theirs, images, targets, batch_size=6, moved=0)


@pytest.mark.skipif(
    keras.backend.backend() == "tensorflow",
    reason="TensorFlow's CPU convolutions take channels-last maps only",
)
def test_resize_conv_channels_first_equals_channels_last():
    last, _ = resize_conv_stacks("nearest")
    first, _ = resize_conv_stacks("nearest", "channels_first")
    first.set_weights(last.get_weights())
    images = normal(3, 5, 7, 3)
    np.testing.assert_allclose(
        first.predict(images, verbose=0), last.predict(images, verbose=0), atol=1e-5
    )


def test_resize_conv_saved_and_reloaded_with_its_config(tmp_path):
    ours, _ = resize_conv_stacks("nearest")
    ours.save(tmp_path / "resize.keras")
    reloaded = keras.saving.load_model(tmp_path / "resize.keras")
    layer = reloaded.layers[1]
    assert isinstance(layer, ResizeConv2D) and layer.interpolation == "nearest"
    assert tuple(layer.kernel.shape) == (3, 3, 3, 4)
    images = normal(2, 5, 7, 3)
    np.testing.assert_allclose(
        reloaded.predict(images, verbose=0), ours.predict(images, verbose=0), atol=1e-6
    )
    with pytest.raises(ValueError, match="interpolation='cubic'"):
        ResizeConv2D(4, interpolation="cubic")


def sequence_model(dense):
    inputs = keras.Input((None, 4, 5))
    features = keras.layers.Reshape((-1, 24))(dense(6, activation="tanh")(inputs))
    return keras.Model(inputs, dense(3)(features))


def test_dense_on_sequences_trains_like_keras_dense():
    """(B, T, 4, 5) and (B, T, 24) inputs: same outputs, symbolic shapes and SGD updates."""
    ours, theirs = sequence_model(fast.Dense), sequence_model(keras.layers.Dense)
    assert ours.output.shape == theirs.output.shape == (None, None, 3)
    theirs.set_weights(ours.get_weights())
    for length in (7, 3):  # one model, two sequence lengths
        inputs = normal(2, length, 4, 5)
        np.testing.assert_allclose(
            ours.predict(inputs, verbose=0), theirs.predict(inputs, verbose=0), atol=1e-5
        )
    assert_trains_alike(ours, theirs, normal(8, 7, 4, 5), normal(8, 7, 3), batch_size=4)


def test_dense_multiplies_a_matrix(monkeypatch):
    """The product Keras' Dense computes is always (rows, d) @ (d, units)."""
    ranks, keras_call = [], keras.layers.Dense.call
    monkeypatch.setattr(
        keras.layers.Dense,
        "call",
        lambda self, x, **kw: ranks.append(x.ndim) or keras_call(self, x, **kw),
    )
    layer = fast.Dense(3)
    assert layer(normal(2, 7, 5)).shape == (2, 7, 3)
    assert layer(normal(2, 5)).shape == (2, 3)
    assert ranks == [2, 2]


def test_dense_saved_and_reloaded_with_its_own_class(tmp_path):
    model, inputs = sequence_model(fast.Dense), normal(2, 7, 4, 5)
    model.save(tmp_path / "sequence.keras")
    reloaded = keras.saving.load_model(tmp_path / "sequence.keras")
    assert [type(layer) for layer in reloaded.layers] == [
        keras.layers.InputLayer,
        fast.Dense,
        keras.layers.Reshape,
        fast.Dense,
    ]
    np.testing.assert_allclose(
        reloaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0), atol=1e-6
    )


MAPS = normal(4, 5, 6, 3) * 3 + 1


@pytest.mark.parametrize(
    "settings", [{}, {"momentum": 0.9, "center": False}, {"scale": False, "epsilon": 0.1}]
)
def test_batch_normalization_computes_what_keras_computes(settings):
    """Training outputs, the moving statistics they update, then inference outputs."""
    ours, theirs = fast.BatchNormalization(**settings), keras.layers.BatchNormalization(**settings)
    for layer in (ours, theirs):
        layer.build(MAPS.shape)
    for training in (True, True, False):
        np.testing.assert_allclose(
            ops.convert_to_numpy(ours(MAPS, training=training)),
            ops.convert_to_numpy(theirs(MAPS, training=training)),
            atol=1e-5,
        )
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, reference, atol=1e-6)
    assert not np.allclose(ours.moving_variance, 1)


def batch_norm_model(batch_norm):
    return keras.Sequential(
        [
            keras.Input((5, 6, 3)),
            keras.layers.Conv2D(4, 3),
            batch_norm(),
            keras.layers.ReLU(),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ]
    )


def test_batch_normalization_trains_like_keras():
    """Two SGD epochs: the same weights and moving statistics as Keras' layer."""
    ours, theirs = (
        batch_norm_model(fast.BatchNormalization),
        batch_norm_model(keras.layers.BatchNormalization),
    )
    theirs.set_weights(ours.get_weights())
    assert_trains_alike(
        ours, theirs, MAPS, normal(4, 1), batch_size=2, learning_rate=0.05, moved=2
    )  # gamma


def test_batch_normalization_takes_the_fused_kernel_on_tensorflow_only(monkeypatch):
    """Training on 4-D channels-last maps calls FusedBatchNorm on TensorFlow; inference,
    2-D inputs and channels-first maps do not, nor does any other backend."""
    calls = []
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        fused = tf.compat.v1.nn.fused_batch_norm
        monkeypatch.setattr(
            tf.compat.v1.nn,
            "fused_batch_norm",
            lambda *args, **kwargs: calls.append(1) or fused(*args, **kwargs),
        )
    fast.BatchNormalization()(MAPS, training=True)
    fast.BatchNormalization()(MAPS, training=False)
    fast.BatchNormalization()(normal(4, 3), training=True)
    fast.BatchNormalization(axis=1)(MAPS, training=True)
    assert len(calls) == (1 if keras.backend.backend() == "tensorflow" else 0)


def test_batch_normalization_saved_and_reloaded_with_its_own_class(tmp_path):
    model = batch_norm_model(fast.BatchNormalization)
    model.save(tmp_path / "batch_norm.keras")
    reloaded = keras.saving.load_model(tmp_path / "batch_norm.keras")
    assert type(reloaded.layers[1]) is fast.BatchNormalization
    np.testing.assert_allclose(
        reloaded.predict(MAPS, verbose=0), model.predict(MAPS, verbose=0), atol=1e-6
    )


def heads_last(*shape):
    return ops.convert_to_tensor(normal(*shape))


ATTENTION_MASKS = {  # broadcastable to (B=2, heads=3, Lq=4, Lk=5)
    "none": None,
    "padding": np.array([[True] * 5, [True, True, False, False, False]])[:, None, None, :],
    "causal and padding": np.tril(np.ones((4, 5), bool))[None, None]
    & np.array([[True] * 5, [True] * 3 + [False] * 2])[:, None, None, :],
    "a row with no key": np.array([[True] * 5, [False] * 5])[:, None, None, :],
    "per head, 2-D": np.ones((4, 5), bool) & (np.arange(5) < 3),
}


@pytest.mark.parametrize("mask", ATTENTION_MASKS)
def test_attention_context_is_zoo_attentions_output(mask):
    from zoo.attention import scaled_dot_product_attention

    query, key, value = heads_last(2, 4, 3, 8), heads_last(2, 5, 3, 8), heads_last(2, 5, 3, 8)
    expected, _ = scaled_dot_product_attention(
        *[ops.transpose(x, (0, 2, 1, 3)) for x in (query, key, value)], ATTENTION_MASKS[mask]
    )
    got = fast_layers.attention_context(query, key, value, ATTENTION_MASKS[mask])
    assert got.shape == (2, 4, 3, 8)
    np.testing.assert_allclose(
        ops.convert_to_numpy(got),
        ops.convert_to_numpy(ops.transpose(expected, (0, 2, 1, 3))),
        atol=1e-5,
    )


def test_transformer_trains_alike_with_the_fused_attention(monkeypatch):
    """Two SGD steps of a tiny Transformer with padding: the same weights whether training
    attends through `attention_context` (PyTorch's fused kernel there) or through zoo's
    attention on transposed heads."""
    from zoo.attention import scaled_dot_product_attention
    from zoo.models import transformer

    def through_zoo_attention(query, key, value, mask):
        context, _ = scaled_dot_product_attention(
            *[ops.transpose(x, (0, 2, 1, 3)) for x in (query, key, value)], mask
        )
        return ops.transpose(context, (0, 2, 1, 3))

    source = np.array([[5, 6, 7, 0], [8, 9, 0, 0], [4, 5, 6, 7]], "int32")
    target_in = np.array([[2, 5, 6, 0], [2, 8, 0, 0], [2, 4, 5, 6]], "int32")
    target = np.array([[5, 6, 3, 0], [8, 3, 0, 0], [4, 5, 6, 3]], "int32")
    trained = []
    for route in ("fused", "zoo attention"):
        if route == "zoo attention":
            monkeypatch.setattr(transformer, "attention_context", through_zoo_attention)
        keras.utils.set_random_seed(0)
        model = zoo.Transformer(
            12, 12, num_layers=1, d_model=8, num_heads=2, ffn_dim=8, dropout=0.0
        )
        model.compile(
            keras.optimizers.SGD(0.5), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
        model.fit([source, target_in], target, batch_size=3, epochs=2, verbose=0)
        trained.append(model.get_weights())
    for fused, explicit in zip(*trained):
        np.testing.assert_allclose(fused, explicit, atol=1e-5)


@pytest.mark.parametrize(
    "loss",
    [
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        ),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum"),
        "sparse_categorical_crossentropy",
    ],
)
def test_loss_on_token_rows_is_the_compiled_loss(loss, monkeypatch):
    """The translation models' loss on (B * T) rows equals the compiled loss on (B, T, vocab),
    with and without per-token sample weights, and the loss really sees 2-D logits."""
    model = zoo.Seq2SeqAttention(9, 11, embedding_dim=4, units=6)
    model.compile("sgd", loss)
    logits = normal(3, 5, 11)
    probabilities = ops.convert_to_numpy(ops.softmax(logits))
    outputs = logits if not isinstance(loss, str) else probabilities
    targets = RNG.integers(0, 11, (3, 5))
    weights = (RNG.random((3, 5)) > 0.3).astype("float32")
    # the string compiles to the same loss with its default settings
    reference = keras.losses.SparseCategoricalCrossentropy() if isinstance(loss, str) else loss
    ranks, keras_compute_loss = [], keras.Model.compute_loss
    monkeypatch.setattr(
        keras.Model,
        "compute_loss",
        lambda self, x, y, y_pred, *args, **kw: (
            ranks.append(len(y_pred.shape)) or keras_compute_loss(self, x, y, y_pred, *args, **kw)
        ),
    )
    for sample_weight in (None, weights):
        expected = (
            reference(targets, outputs)
            if sample_weight is None
            else reference(targets, outputs, sample_weight=sample_weight)
        )
        got = model.compute_loss(
            y=targets, y_pred=ops.convert_to_tensor(outputs), sample_weight=sample_weight
        )
        np.testing.assert_allclose(float(got), float(expected), rtol=1e-5)
    assert ranks == [2, 2]


# Sequences (B=4, T=6, 5) and the masks the LSTM tests feed: right padding is packed on
# PyTorch; left padding and an empty row are not right-padded and take Keras' loop.
SEQUENCES = normal(4, 6, 5)
LSTM_MASKS = {
    "none": None,
    "right-padded": np.arange(6)[None] < np.array([[6], [3], [1], [5]]),
    "left-padded": np.arange(6)[None] >= np.array([[0], [3], [5], [1]]),
    "an empty row": np.arange(6)[None] < np.array([[6], [0], [2], [4]]),
}


def lstm_pair(**settings):
    ours, theirs = fast.LSTM(7, **settings), keras.layers.LSTM(7, **settings)
    for layer in (ours, theirs):
        layer.build(SEQUENCES.shape)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


@pytest.mark.parametrize("mask", LSTM_MASKS)
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_lstm_computes_what_keras_lstm_computes(mask, return_sequences, zero_output_for_mask):
    """Outputs (masked steps included) and final states, from a given initial state."""
    ours, theirs = lstm_pair(
        return_sequences=return_sequences,
        return_state=True,
        zero_output_for_mask=zero_output_for_mask,
    )
    initial_state = [normal(4, 7), normal(4, 7)]
    for mine, reference in zip(
        ours(SEQUENCES, mask=LSTM_MASKS[mask], initial_state=initial_state),
        theirs(SEQUENCES, mask=LSTM_MASKS[mask], initial_state=initial_state),
    ):
        assert mine.shape == reference.shape
        np.testing.assert_allclose(
            ops.convert_to_numpy(mine), ops.convert_to_numpy(reference), atol=1e-5
        )


def test_lstm_takes_pytorchs_kernel_on_pytorch_only(monkeypatch):
    """On PyTorch, unmasked and right-padded sequences take the fused kernel; the other masks
    fall back to Keras. On TensorFlow and JAX the kernel is never tried."""
    taken, fused = {}, fast_layers.fused_lstm_on_torch
    layer = fast.LSTM(7)
    for name, mask in LSTM_MASKS.items():
        monkeypatch.setattr(
            fused_kernels,
            "fused_lstm_on_torch",
            lambda *args, name=name: taken.setdefault(name, fused(*args)),
        )
        layer(SEQUENCES, mask=mask)
    if keras.backend.backend() == "torch":
        assert {name: result is not None for name, result in taken.items()} == {
            "none": True,
            "right-padded": True,
            "left-padded": False,
            "an empty row": False,
        }
    else:
        assert taken == {}


def lstm_model(lstm):
    return keras.Sequential(
        [
            keras.Input((6, 5)),
            keras.layers.Masking(0.0),
            lstm(7, return_sequences=True),
            keras.layers.Dense(3),
        ]
    )


def test_lstm_trains_like_keras_lstm():
    """Right-padded batches, two SGD epochs: same updated weights as Keras' LSTM."""
    ours, theirs = lstm_model(fast.LSTM), lstm_model(keras.layers.LSTM)
    theirs.set_weights(ours.get_weights())
    assert_trains_alike(
        ours,
        theirs,
        SEQUENCES * LSTM_MASKS["right-padded"][..., None],
        normal(4, 6, 3),
        batch_size=2,
    )


def test_lstm_saved_and_reloaded_with_its_own_class(tmp_path):
    model = lstm_model(fast.LSTM)
    model.save(tmp_path / "lstm.keras")
    reloaded = keras.saving.load_model(tmp_path / "lstm.keras")
    assert type(reloaded.layers[1]) is fast.LSTM
    np.testing.assert_allclose(
        reloaded.predict(SEQUENCES, verbose=0), model.predict(SEQUENCES, verbose=0), atol=1e-6
    )


def test_data_format_layers_transpose_for_channels_first_only():
    images = normal(2, 5, 6, 3)
    to_first, from_first = ToDataFormat("channels_first"), FromDataFormat("channels_first")
    maps = ops.convert_to_numpy(to_first(images))
    np.testing.assert_array_equal(maps, images.transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(ops.convert_to_numpy(from_first(maps)), images)
    assert to_first.compute_output_shape((None, 5, 6, 3)) == (None, 3, 5, 6)
    assert from_first.compute_output_shape((None, 3, 5, 6)) == (None, 5, 6, 3)
    for layer in (ToDataFormat("channels_last"), FromDataFormat("channels_last")):
        np.testing.assert_array_equal(ops.convert_to_numpy(layer(images)), images)
    assert FromDataFormat.from_config(from_first.get_config()).data_format == "channels_first"


# The conv models, each as (its module, a tiny build, what it computes from a fixed input).
RNG_IMAGES = np.random.default_rng(1).random((4, 16, 16, 3)).astype("float32")
CONV_MODELS = {
    "SmallCNN": (
        cnn,
        lambda: zoo.SmallCNN(16, filters=(4, 8), dense_units=8),
        lambda model: model.predict(RNG_IMAGES * 255, verbose=0),
    ),
    "CompactCNN": (
        cnn,
        lambda: zoo.CompactCNN(16, filters=(8, 16)),
        lambda model: model.predict(RNG_IMAGES * 255, verbose=0),
    ),
    "VAE": (
        vae,
        lambda: zoo.VAE(16, latent_dim=4, filters=(4, 8)),
        lambda model: ops.convert_to_numpy(model.reconstruct(RNG_IMAGES)),
    ),
    "DCGAN": (
        dcgan,
        lambda: zoo.DCGAN(16, latent_dim=4, filters=(4, 8), discriminator_filters=(4, 8)),
        lambda model: np.concatenate(
            [
                ops.convert_to_numpy(model.sample(4)).reshape(4, -1),
                ops.convert_to_numpy(model.discriminator(RNG_IMAGES)),
            ],
            axis=1,
        ),
    ),
}


@pytest.mark.parametrize("name", CONV_MODELS)
def test_conv_models_compute_channels_first_on_pytorch_only(name):
    expected = "channels_first" if keras.backend.backend() == "torch" else "channels_last"
    assert fast_layers.conv_data_format() == expected
    model = CONV_MODELS[name][1]()
    formats = {
        layer.data_format for layer in model._flatten_layers() if hasattr(layer, "data_format")
    }
    assert formats == {expected}


@pytest.mark.skipif(
    keras.backend.backend() == "tensorflow",
    reason="TensorFlow's CPU convolutions take channels-last maps only",
)
@pytest.mark.parametrize("name", CONV_MODELS)
def test_both_layouts_compute_the_same_with_the_same_weights(name, monkeypatch):
    """What lets a model saved on PyTorch (channels-first) load on JAX (channels-last): the
    weights mean the same in both layouts, Flatten's order included."""
    module, build, compute = CONV_MODELS[name]
    models = {}
    for data_format in ("channels_last", "channels_first"):
        monkeypatch.setattr(module, "conv_data_format", lambda f=data_format: f)
        models[data_format] = build()
    models["channels_first"].set_weights(models["channels_last"].get_weights())
    outputs = [compute(model) for model in models.values()]
    assert outputs[0].shape[0] == 4 and outputs[0].std() > 0  # not a constant
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-5)


def smooth_images(count=4, height=20, width=24):
    """Waves across (B, H, W, 3): bilinear resampling of them is smooth, so a composed
    transform differs from three successive ones by little (no sharp edges to blur)."""
    rows, columns = np.mgrid[0:height, 0:width]
    waves = [np.sin(columns / 4 + k) * np.cos(rows / 5 - k) for k in range(3)]
    return np.repeat(np.stack(waves, -1)[None], count, 0).astype("float32")


def test_affine_resample_equals_keras_affine_transform():
    images = normal(3, 11, 13, 2)
    angle, scale = np.array([0.3, -0.5, 1.2]), np.array([0.8, 1.0, 1.3])
    matrices = np.stack(
        [
            np.stack([np.cos(angle) * scale, -np.sin(angle), 2.0 + angle], -1),
            np.stack([np.sin(angle), np.cos(angle) * scale, -1.5 * angle], -1),
        ],
        1,
    )
    # Keras' transform: the matrix's six numbers, then 0, 0 (no projection)
    transform = np.concatenate([matrices.reshape(3, 6), np.zeros((3, 2))], 1).astype("float32")
    expected = ops.image.affine_transform(
        images, transform, fill_mode="reflect", data_format="channels_last"
    )
    got = affine_resample(ops.convert_to_tensor(images), matrices.astype("float32"))
    np.testing.assert_allclose(ops.convert_to_numpy(got), ops.convert_to_numpy(expected), atol=1e-4)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (
            {"rotation": (0.04, 0.04)},
            keras.layers.RandomRotation((0.04, 0.04), fill_mode="reflect"),
        ),
        (
            {"rotation": (-0.05, -0.05)},
            keras.layers.RandomRotation((-0.05, -0.05), fill_mode="reflect"),
        ),
        (
            {"shift": (0.15, 0.15)},
            keras.layers.RandomTranslation((0.15, 0.15), (0.15, 0.15), fill_mode="reflect"),
        ),
        (
            {"shift": (-0.2, -0.2)},
            keras.layers.RandomTranslation((-0.2, -0.2), (-0.2, -0.2), fill_mode="reflect"),
        ),
        ({"zoom": (0.2, 0.2)}, keras.layers.RandomZoom((0.2, 0.2), fill_mode="reflect")),
        ({"zoom": (-0.2, -0.2)}, keras.layers.RandomZoom((-0.2, -0.2), fill_mode="reflect")),
    ],
)
def test_random_affine_gives_each_keras_layers_images_for_the_same_draw(ours, theirs):
    """A range of one value fixes the draw: each part of the map is that Keras layer's."""
    images = normal(2, 12, 14, 3)
    expected = ops.convert_to_numpy(theirs(images, training=True))
    got = ops.convert_to_numpy(RandomAffine(**ours)(images, training=True))
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_random_affine_composes_the_keras_layers_in_their_order():
    """Rotate, shift, zoom in one resampling = the three Keras layers in turn, up to the
    extra interpolation those do (small on smooth images, away from the reflected edges)."""
    images = smooth_images()
    keras_layers = keras.Sequential(
        [
            keras.layers.RandomRotation((0.03, 0.03), fill_mode="reflect"),
            keras.layers.RandomTranslation((0.1, 0.1), (0.1, 0.1), fill_mode="reflect"),
            keras.layers.RandomZoom((-0.15, -0.15), fill_mode="reflect"),
        ]
    )
    composed = RandomAffine(rotation=(0.03, 0.03), shift=(0.1, 0.1), zoom=(-0.15, -0.15))
    expected = ops.convert_to_numpy(keras_layers(images, training=True))
    got = ops.convert_to_numpy(composed(images, training=True))
    assert np.abs(got - expected)[:, 5:-5, 5:-5].max() < 0.05  # the waves span -1 to 1
    assert np.abs(got - images).mean() > 0.2  # and it moved them


def test_random_affine_flips_about_half_the_images_and_keeps_the_others():
    images = normal(32, 6, 7, 3)
    got = ops.convert_to_numpy(RandomAffine(horizontal_flip=True, seed=2)(images))
    flipped = [np.allclose(g, i[:, ::-1], atol=1e-5) for g, i in zip(got, images)]
    kept = [np.allclose(g, i, atol=1e-5) for g, i in zip(got, images)]
    assert all(f != k for f, k in zip(flipped, kept))
    assert 6 <= sum(flipped) <= 26


def test_random_affine_is_seeded_draws_each_image_apart_and_passes_inference_through():
    images = np.repeat(smooth_images(1), 4, 0)
    first, second = (ops.convert_to_numpy(cnn.augmentation(seed=5)(images)) for _ in range(2))
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first[0], first[1], atol=1e-3)  # each image its own map
    np.testing.assert_array_equal(
        ops.convert_to_numpy(cnn.augmentation(seed=5)(images, training=False)), images
    )


def test_random_affine_saved_and_reloaded_with_its_config(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            cnn.augmentation(seed=1),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    images = normal(2, 8, 8, 3)
    model.save(tmp_path / "augmenting.keras")
    reloaded = keras.saving.load_model(tmp_path / "augmenting.keras")
    layer = reloaded.layers[0]
    assert type(layer) is RandomAffine and layer.get_config() == model.layers[0].get_config()
    assert layer.rotation == (-1 / 18, 1 / 18) and layer.horizontal_flip
    np.testing.assert_allclose(
        reloaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6
    )


def test_the_fast_layers_old_imports_still_work_with_a_warning():
    import zoo.models.layers as zoo_layers

    for name in ("BatchNormalization", "Conv2DTranspose", "Dense", "LSTM", "MaxPooling2D"):
        with pytest.warns(DeprecationWarning, match=f"now zoo.fast.{name}"):
            assert getattr(zoo_layers, name) is getattr(fast, name)
