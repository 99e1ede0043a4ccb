import keras
import numpy as np
import pytest
from harness import ModelTestCase

import zoo

SIZE = 32


def labels(count=8):
    return (np.arange(count) % 2).astype("float32").reshape(-1, 1)


def images(count=8, seed=0):
    """Noise images; those of class 1 are brighter, a signal a few steps can pick up."""
    noise = np.random.default_rng(seed).integers(0, 128, (count, SIZE, SIZE, 3))
    return (noise + 100 * labels(count)[:, :, None, None]).astype("uint8")


class ImageClassifierTest(ModelTestCase):
    expected_output_shape = (8, 1)
    compile_kwargs = {"optimizer": keras.optimizers.Adam(1e-2), "loss": "binary_crossentropy"}

    def input_data(self):
        return images()

    def fit_data(self):
        return images(), labels()


class TestSmallCNN(ImageClassifierTest):
    model_class = zoo.SmallCNN
    init_kwargs = {"image_size": SIZE, "filters": (4, 8), "dense_units": 16}


class TestSmallCNNAugmented(ImageClassifierTest):
    model_class = zoo.SmallCNN
    init_kwargs = {
        "image_size": SIZE,
        "filters": (4, 8),
        "dense_units": 16,
        "augment": True,
        "seed": 1,
    }


class TestCompactCNN(ImageClassifierTest):
    model_class = zoo.CompactCNN
    init_kwargs = {
        "image_size": SIZE,
        "filters": (8, 16),
        "convs_per_stage": 1,
        "augment": True,
        "seed": 1,
    }


class TestCompactCNNMulticlass(ImageClassifierTest):
    model_class = zoo.CompactCNN
    init_kwargs = {"image_size": SIZE, "filters": (8, 16), "classes": 3}
    expected_output_shape = (8, 3)
    compile_kwargs = {
        "optimizer": keras.optimizers.Adam(1e-2),
        "loss": "sparse_categorical_crossentropy",
    }

    def fit_data(self):
        return images(), labels()  # classes 0 and 1 of 3


@pytest.mark.slow  # builds MobileNetV2 in every test
class TestMobileNetV2Transfer(ImageClassifierTest):
    model_class = zoo.MobileNetV2Transfer
    init_kwargs = {"image_size": SIZE, "alpha": 0.35, "head_units": 8}

    def fit_data(self):
        # A randomly initialised, frozen MobileNetV2 gives near-zero features (~1e-11), so
        # only the head's bias can learn here: unbalanced labels give it something to learn.
        return images(), np.array([[1], [1], [1], [1], [1], [1], [0], [1]], "float32")


def test_small_cnn_has_the_seeds_parameter_count_at_150px():
    assert zoo.SmallCNN(image_size=150).count_params() == 19_034_177


def test_small_cnn_computes_the_classic_conv_relu_pool_stack():
    """zoo pools before its ReLU; with the same weights it predicts and trains (two SGD steps)
    exactly like the classic Conv2D(relu) -> MaxPooling2D stack."""
    layers = keras.layers
    classic = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            layers.Rescaling(1 / 255),
            *[
                layer
                for count in (4, 8)
                for layer in (layers.Conv2D(count, 3, activation="relu"), layers.MaxPooling2D(2))
            ],
            layers.Flatten(),
            layers.Dense(8, activation="relu"),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model = zoo.SmallCNN(SIZE, filters=(4, 8), dense_units=8)
    classic.set_weights(model.get_weights())
    np.testing.assert_allclose(
        model.predict(images(), verbose=0), classic.predict(images(), verbose=0), atol=1e-6
    )
    for network in (model, classic):
        network.compile(keras.optimizers.SGD(0.1), "binary_crossentropy")
        network.fit(images(), labels(), batch_size=4, shuffle=False, verbose=0)
    for ours, theirs in zip(model.get_weights(), classic.get_weights()):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_compact_cnn_gives_softmax_over_classes_and_pooled_features():
    model = zoo.CompactCNN(image_size=SIZE, filters=(8, 16), classes=3)
    probabilities = keras.ops.convert_to_numpy(model.predict(images(), verbose=0))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    features = keras.ops.convert_to_numpy(model.features(images()))
    assert features.shape == (8, 16) and (features >= 0).all()  # after ReLU and pooling
    assert not np.allclose(features[0], features[1])


def test_augmentation_changes_images_in_training_only():
    block = zoo.augmentation(seed=3)
    batch = images(4).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(block(batch, training=False)), batch)
    augmented = keras.ops.convert_to_numpy(block(batch, training=True))
    assert augmented.shape == batch.shape
    assert np.abs(augmented - batch).mean() > 1.0


@pytest.mark.slow  # builds MobileNetV2
def test_mobilenet_features_are_frozen_and_fine_tuning_unfreezes_only_the_top():
    model = zoo.MobileNetV2Transfer(image_size=SIZE, alpha=0.35, head_units=8)
    assert len(model.trainable_weights) == 4  # the head's two kernels and biases
    assert model.features(images(2)).shape == (2, 1280)
    model.unfreeze_top(10)
    trainable = [layer for layer in model.base.layers if layer.trainable_weights]
    assert trainable and all(layer in model.base.layers[-10:] for layer in trainable)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in trainable)


def test_augmentation_and_dropout_draw_from_different_streams():
    model = zoo.CompactCNN(image_size=32, filters=(8, 16), augment=True, seed=5)
    dropout = next(layer for layer in model.body.layers if isinstance(layer, keras.layers.Dropout))
    states = [
        keras.ops.convert_to_numpy(g.state).tolist()
        for g in (model.augmentation.seed_generator, dropout.seed_generator)
    ]
    assert states[0] != states[1]
