"""zoo.Transformer and zoo.Seq2SeqAttention: the harness, masks, overfitting a few pairs,
greedy and beam decoding, save/reload."""

import keras
import numpy as np
import pytest
from harness import ModelTestCase

import zoo
from zoo import decoding, translation
from zoo.models.transformer import sinusoidal_positions

START, END = 2, 3  # as in Vocabulary: <pad> 0, <unk> 1, <start> 2, <end> 3
SOURCE = np.array([[5, 6, 7, 3, 0], [8, 9, 3, 0, 0], [6, 5, 9, 8, 3], [7, 3, 0, 0, 0]], "int32")
TARGET = np.array([[6, 7, 8, 3], [9, 10, 3, 0], [11, 6, 5, 3], [7, 7, 3, 0]], "int32")
TARGET_IN = np.concatenate([np.full((4, 1), START, "int32"), TARGET[:, :-1]], axis=1)
TINY = {
    "transformer": (
        zoo.Transformer,
        {
            "source_vocab_size": 12,
            "target_vocab_size": 12,
            "num_layers": 1,
            "d_model": 16,
            "num_heads": 2,
            "ffn_dim": 32,
            "dropout": 0.0,
        },
    ),
    "seq2seq": (
        zoo.Seq2SeqAttention,
        {"source_vocab_size": 12, "target_vocab_size": 12, "embedding_dim": 8, "units": 16},
    ),
}


def tiny(kind):
    model_class, kwargs = TINY[kind]
    return model_class(**kwargs)


def compile_for_translation(model, learning_rate=1e-2):
    model.compile(
        keras.optimizers.Adam(learning_rate),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


class TestTransformer(ModelTestCase):
    model_class, init_kwargs = TINY["transformer"]
    expected_output_shape = (4, 4, 12)
    compile_kwargs = {
        "optimizer": keras.optimizers.Adam(1e-2),
        "loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    }

    def input_data(self):
        return [SOURCE, TARGET_IN]

    def fit_data(self):
        return [SOURCE, TARGET_IN], TARGET


class TestSeq2SeqAttention(TestTransformer):
    model_class, init_kwargs = TINY["seq2seq"]


def test_sinusoids_follow_the_paper():
    table = sinusoidal_positions(50, 8)
    np.testing.assert_allclose(table[:, 0], np.sin(np.arange(50)), atol=1e-6)
    np.testing.assert_allclose(table[:, 3], np.cos(np.arange(50) / 10000 ** (2 / 8)), atol=1e-6)


def test_positions_follow_the_table_for_any_length():
    model = tiny("transformer")
    positions = keras.ops.convert_to_numpy(model._positions(40))[0]
    np.testing.assert_allclose(positions, sinusoidal_positions(40, 16), atol=1e-4)
    long_source = np.tile(SOURCE[:, :4], (1, 10))  # 40 tokens, longer than any training pair
    logits = model([long_source, np.tile(TARGET_IN, (1, 8))], training=False)
    assert keras.ops.shape(logits) == (4, 32, 12)
    assert np.isfinite(keras.ops.convert_to_numpy(logits)).all()


def test_a_transformer_config_saved_with_the_unused_max_length_still_loads():
    model = tiny("transformer")
    older = type(model).from_config({**model.get_config(), "max_length": 16})
    assert "max_length" not in older.get_config() and older.d_model == model.d_model


@pytest.mark.parametrize("kind", TINY)
def test_padded_source_positions_get_no_attention(kind):
    maps = tiny(kind).attention_maps(SOURCE, TARGET_IN)
    padded = SOURCE == 0  # (B, S)
    names = ["encoder_0/self", "decoder_0/cross"] if kind == "transformer" else ["decoder/cross"]
    for name in names:
        weights = maps[name]  # (B, heads, queries, S)
        assert np.all(weights[np.broadcast_to(padded[:, None, None, :], weights.shape)] == 0), name
        np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("kind", TINY)
def test_decoder_cannot_see_the_future(kind):
    model = tiny(kind)
    changed = TARGET_IN.copy()
    changed[:, 2:] = 11  # change every token from position 2 on
    before = keras.ops.convert_to_numpy(model([SOURCE, TARGET_IN]))
    after = keras.ops.convert_to_numpy(model([SOURCE, changed]))
    np.testing.assert_allclose(after[:, :2], before[:, :2], atol=1e-5)
    assert not np.allclose(after[:, 2:], before[:, 2:])
    if kind == "transformer":
        maps = model.attention_maps(SOURCE, TARGET_IN)
        assert np.all(np.triu(maps["decoder_0/self"], k=1) == 0)


@pytest.fixture(scope="module", params=list(TINY))
def trained(request):
    keras.utils.set_random_seed(0)
    model = compile_for_translation(tiny(request.param))
    model.fit(
        [SOURCE, TARGET_IN],
        TARGET,
        sample_weight=(TARGET != 0).astype("float32"),
        epochs=150,
        batch_size=4,
        verbose=0,
    )
    return model


def test_overfits_a_few_pairs_to_exact_greedy_translations(trained):
    ids = decoding.greedy(trained, SOURCE, START, END, max_length=6)
    for row, expected in zip(ids, TARGET):
        expected = expected[: list(expected).index(END) + 1]
        np.testing.assert_array_equal(row[: len(expected)], expected)


def test_beam_of_width_one_is_greedy_and_wider_beams_still_translate(trained):
    greedy = decoding.greedy(trained, SOURCE, START, END, max_length=6)
    np.testing.assert_array_equal(
        decoding.beam_search(trained, SOURCE, START, END, max_length=6, width=1), greedy
    )
    wide = decoding.beam_search(trained, SOURCE, START, END, max_length=6, width=3)
    np.testing.assert_array_equal(wide[:, : greedy.shape[1]], greedy)


def test_saved_model_translates_identically(trained, tmp_path):
    trained.save(tmp_path / "t.keras")
    reloaded = keras.saving.load_model(tmp_path / "t.keras")
    np.testing.assert_array_equal(
        decoding.greedy(reloaded, SOURCE, START, END, 6),
        decoding.greedy(trained, SOURCE, START, END, 6),
    )


def test_cached_decoding_step_gives_the_logits_of_the_whole_prefix():
    """Across two cache growths (16 columns), with padding inside the prefix."""
    keras.utils.set_random_seed(3)
    model = zoo.Transformer(**{**TINY["transformer"][1], "num_layers": 2})
    tokens = np.random.default_rng(0).integers(4, 12, (4, 16)).astype("int32")
    tokens[:, 0] = START
    tokens[1, 9:] = 0  # a sentence that ended
    rerun = decoding.WithoutCache(model)
    state, rerun_state = model.start_decoding(SOURCE), rerun.start_decoding(SOURCE)
    for step in range(16):
        width = 8 * (step // 8 + 1)  # as zoo.decoding pads: multiples of 8 columns
        logits, state = model.decode_step(state, tokens[:, :width], step)
        expected, _ = rerun.decode_step(rerun_state, tokens[:, :width], step)
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(logits),
            keras.ops.convert_to_numpy(expected),
            atol=1e-4,
            err_msg=f"step {step}",
        )


@pytest.mark.parametrize("width", [1, 3])
def test_cached_decoding_translates_as_rerunning_the_prefix(width):
    keras.utils.set_random_seed(4)
    model = zoo.Transformer(**{**TINY["transformer"][1], "num_layers": 2})
    decode = (
        decoding.greedy
        if width == 1
        else (lambda m, *args: decoding.beam_search(m, *args, width=width))
    )
    cached = decode(model, SOURCE, START, END, 20)
    assert cached.shape[1] > 8  # random weights rarely say <end>: the cache grew
    rerun = decode(decoding.WithoutCache(model), SOURCE, START, END, 20)
    np.testing.assert_array_equal(cached, rerun)


def test_attention_masks_raise_no_keras_mask_warning():
    """An attention mask is not an input's padding mask: Keras warned that the attention layers
    'destroy the mask information' on every call, in training and decoding, if passed `mask=`."""
    import warnings

    model = zoo.Transformer(**TINY["transformer"][1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model([SOURCE, TARGET_IN], training=True)
        decoding.greedy(model, SOURCE, START, END, 6)
    assert not [w for w in caught if "mask" in str(w.message)], [str(w.message) for w in caught]


def padded_pairs(count=40, longest=12, width=30, seed=0):
    """Teacher-forcing arrays of `count` pairs of 1 to `longest` words each, padded to
    `width` columns (as `teacher_forcing` pads to the longest of a whole corpus)."""
    rng = np.random.default_rng(seed)
    source, target_in, target_out = (np.zeros((count, width), "int32") for _ in range(3))
    for row in range(count):
        source_words, target_words = (
            rng.integers(4, 12, length) for length in rng.integers(1, longest + 1, 2)
        )
        source[row, : len(source_words) + 1] = [*source_words, END]
        target_out[row, : len(target_words) + 1] = [*target_words, END]
        target_in[row, : len(target_words) + 1] = [START, *target_words]
    return [source, target_in], target_out, (target_out != 0).astype("float32")


def test_length_batches_hold_every_pair_once_cut_to_multiples_of_the_bucket():
    x, y, weights = padded_pairs()
    batches = translation.LengthBatches(x, y, weights, batch_size=8, shuffle=True, seed=1)
    epochs = []
    for _ in range(2):
        seen = []
        for index in range(len(batches)):
            (source, target_in), target_out, batch_weights = batches[index]
            assert source.shape[1] == target_in.shape[1] == target_out.shape[1]
            assert source.shape[1] in (8, 16)  # longest 12 words + <end>: 16 at most
            seen += [tuple(row[row != 0]) for row in source]
            np.testing.assert_array_equal(batch_weights, target_out != 0)
        assert sum(int(w.sum()) for w in (batches[i][2] for i in range(len(batches)))) == int(
            weights.sum()
        )  # no target token cut
        assert sorted(seen) == sorted(tuple(row[row != 0]) for row in x[0])  # each source once
        assert batches[0][1].shape[1] != batches[1][1].shape[1]  # TensorFlow: length free
        epochs.append(seen)
        batches.on_epoch_end()
    assert epochs[0] != epochs[1]  # a new order every epoch


@pytest.mark.parametrize("kind", TINY)
def test_default_compile_uses_xla_on_tensorflow_and_jax_and_an_explicit_choice_wins(kind):
    model = compile_for_translation(tiny(kind))
    assert model.jit_compile is (keras.backend.backend() in ("tensorflow", "jax"))
    model.fit([SOURCE, TARGET_IN], TARGET, epochs=1, verbose=0)  # and it trains so
    model.compile(
        "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=False
    )
    assert model.jit_compile is False


@pytest.mark.parametrize("kind", TINY)
def test_length_batches_give_the_loss_and_accuracy_of_the_full_width_arrays(kind):
    x, y, weights = padded_pairs(longest=6, width=16)  # the tiny transformer takes 16 at most
    model = translation.compile_for_translation(tiny(kind), 1e-3, total_steps=10)
    full = model.evaluate(
        x, y, sample_weight=weights, batch_size=len(y), verbose=0, return_dict=True
    )
    batches = translation.LengthBatches(x, y, weights, batch_size=len(y))
    assert batches[0][1].shape[1] == 8 < y.shape[1]  # one batch, really cut
    cut = model.evaluate(batches, verbose=0, return_dict=True)
    np.testing.assert_allclose(cut["loss"], full["loss"], rtol=1e-5)
    np.testing.assert_allclose(cut["accuracy"], full["accuracy"], rtol=1e-6)

    # And training on batches of several widths works (TensorFlow once fixed the width it saw
    # in the first two batches, then failed on the next).
    x, y, weights = padded_pairs(longest=12, width=16)  # widths 8 and 16
    history = model.fit(
        translation.LengthBatches(x, y, weights, batch_size=4, shuffle=True), epochs=2, verbose=0
    )
    assert np.all(np.isfinite(history.history["loss"]))


@pytest.mark.parametrize("beam_width", [1, 3])
def test_translator_takes_a_sentence_of_any_length_and_an_empty_one(beam_width):
    from zoo.datasets.parallel_text import Vocabulary

    words = [f"w{i}" for i in range(8)]
    vocab = Vocabulary.build([" ".join(words)])
    model = zoo.Transformer(
        len(vocab), len(vocab), num_layers=1, d_model=16, num_heads=2, ffn_dim=32
    )
    translator = translation.Translator(model, vocab, vocab, max_length=5)
    long = " ".join(words * 6)  # 48 words
    translations = translator.translate([long, "", "w1 w2"], beam_width=beam_width)
    assert len(translations) == 3
    assert all(len(t.split()) <= 6 for t in translations)  # at most max_length + 1 tokens


class TableModel:
    """A decoder whose next-token probabilities depend only on the prefix, from a table:
    greedy takes "a" (0.6) then "a" (0.35) then <end>: probability 0.21; the beam finds
    "b" (0.4) then <end> (0.9): 0.36."""

    A, B = 4, 5
    TABLE = {
        (): {A: 0.6, B: 0.4},
        (A,): {A: 0.35, B: 0.35, END: 0.3},
        (B,): {END: 0.9, A: 0.05, B: 0.05},
        (A, A): {END: 1.0},
        (A, B): {END: 1.0},
    }

    def start_decoding(self, source):
        return {"rows": keras.ops.convert_to_tensor(np.arange(len(source))[:, None])}

    def decode_step(self, state, tokens, step):
        logits = np.full((len(tokens), 6), -30.0, "float32")
        for row, prefix in enumerate(np.asarray(tokens)[:, 1 : step + 1]):
            for token, probability in self.TABLE.get(
                tuple(int(t) for t in prefix), {END: 1.0}
            ).items():
                logits[row, token] = np.log(probability)
        return keras.ops.convert_to_tensor(logits), state


def test_beam_search_finds_a_better_translation_than_greedy_and_weighs_length():
    model, source = TableModel(), np.ones((1, 3), "int32")
    greedy = decoding.greedy(model, source, START, END, max_length=5)
    assert greedy[0].tolist() == [TableModel.A, TableModel.A, END]
    beam = decoding.beam_search(model, source, START, END, max_length=5, width=2)
    assert beam[0].tolist()[:2] == [TableModel.B, END]  # log 0.36 / (7/6)^0.6 is the best
    # A strong length penalty favours the longer translation: log 0.21 / (8/6)^4 > ...
    longer = decoding.beam_search(
        model, source, START, END, max_length=5, width=2, length_penalty=4.0
    )
    assert longer[0].tolist() == [TableModel.A, TableModel.A, END]


class MarkerLovingModel:
    """Scores padding (0) highest, then <start>, then a word, then <end>."""

    def start_decoding(self, source):
        return {"rows": keras.ops.convert_to_tensor(np.arange(len(source))[:, None])}

    def decode_step(self, state, tokens, step):
        logits = np.tile(
            np.array([9.0, -9.0, 8.0, 5.0 if step else -9.0, 7.0], "float32"), (len(tokens), 1)
        )  # <pad>, -, <start>, <end> (after one word), word
        return keras.ops.convert_to_tensor(logits), state


@pytest.mark.parametrize("width", [1, 3])
def test_decoding_never_emits_padding_or_start(width):
    source = np.ones((2, 3), "int32")
    if width == 1:
        ids = decoding.greedy(MarkerLovingModel(), source, start=2, end=3, max_length=4)
    else:
        ids = decoding.beam_search(MarkerLovingModel(), source, 2, 3, max_length=4, width=width)
    for row in ids.tolist():  # words, then <end> or the length limit, then padding only
        words = row[: row.index(3)] if 3 in row else row
        assert words and set(words) == {4}, row
        assert set(row[len(words) + 1 :]) <= {0}, row


def test_smoothed_cross_entropy_spreads_the_target_and_reloads_in_a_compiled_model(tmp_path):
    logits = np.random.default_rng(0).normal(size=(2, 3, 5)).astype("float32")
    targets = np.array([[1, 4, 0], [2, 2, 3]])
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    smoothed = np.full((2, 3, 5), 0.1 / 5) + 0.9 * np.eye(5)[targets]
    expected = -(smoothed * log_probs).sum(-1)
    loss = translation.SmoothedCrossEntropy(0.1, reduction=None)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loss(targets, logits)), expected, rtol=1e-5
    )
    plain = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(
            translation.SmoothedCrossEntropy(0.0, reduction=None)(targets, logits)
        ),
        keras.ops.convert_to_numpy(plain(targets, logits)),
        rtol=1e-5,
    )
    model = translation.compile_for_translation(tiny("seq2seq"), 1e-2, 10, label_smoothing=0.1)
    model.fit(
        [SOURCE, TARGET_IN],
        TARGET,
        sample_weight=(TARGET != 0).astype("float32"),
        epochs=1,
        verbose=0,
    )
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    assert reloaded.loss.label_smoothing == 0.1


def test_seq2seq_dropout_acts_in_training_only_and_is_saved():
    model = zoo.Seq2SeqAttention(**{**TINY["seq2seq"][1], "dropout": 0.5})
    inference = [keras.ops.convert_to_numpy(model([SOURCE, TARGET_IN])) for _ in range(2)]
    np.testing.assert_array_equal(*inference)
    training = keras.ops.convert_to_numpy(model([SOURCE, TARGET_IN], training=True))
    assert not np.allclose(training, inference[0])
    assert zoo.Seq2SeqAttention.from_config(model.get_config()).dropout == 0.5


def test_a_model_trained_with_label_smoothing_reloads_after_import_zoo_alone(tmp_path):
    """`import zoo` registers the smoothed loss, so a fresh process (the recipes' `translate`,
    tools/export_preset.py) reloads a label-smoothed run's model.keras."""
    import subprocess
    import sys

    model = zoo.Transformer(12, 12, num_layers=1, d_model=8, num_heads=2, ffn_dim=16)
    translation.compile_for_translation(model, 1e-3, total_steps=10, label_smoothing=0.1)
    model([np.ones((1, 3), "int32"), np.ones((1, 3), "int32")])
    model.save(tmp_path / "model.keras")
    code = f"import zoo, keras; keras.saving.load_model({str(tmp_path / 'model.keras')!r})"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
