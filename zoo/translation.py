"""What both translation models need around them: arrays for teacher forcing, batches of
similar lengths, training settings, and a `Translator` that turns sentences into sentences
and saves itself. The recipes that train them are recipes/transformer.py and
recipes/seq2seq.py.

    x, y, weights = translation.teacher_forcing(pairs, source_vocab, target_vocab)
    model.fit(x, y, sample_weight=weights)     # x = [source (N, S), target_in (N, T)]
    model.fit(translation.LengthBatches(x, y, weights, batch_size=64, shuffle=True))
    translator = translation.Translator(model, source_vocab, target_vocab, max_length=30)
    translator.translate(["new jersey is quiet in april ."], beam_width=4)
    translator.save(run_dir); translation.Translator.load(run_dir)
"""

import json
from pathlib import Path

import keras
import numpy as np

from zoo import decoding
from zoo.datasets import EpochBatches
from zoo.datasets.parallel_text import clean, load_vocabulary

__all__ = [
    "LengthBatches",
    "SmoothedCrossEntropy",
    "Translator",
    "compile_for_translation",
    "teacher_forcing",
]


def teacher_forcing(pairs, source_vocab, target_vocab):
    """Pairs -> ([source (N, S), target_in (N, T)], target_out (N, T), weights (N, T)).

    source: the words and <end>; target_in: <start> and the words; target_out: the words
    and <end>, what the model must predict at each position. Padding is 0 and has weight 0,
    so it counts in neither the loss nor the accuracy.
    """
    source = source_vocab.encode_batch(pairs.sources)
    target = target_vocab.encode_batch(pairs.targets, start=True)
    target_in, target_out = target[:, :-1], target[:, 1:]
    return [source, target_in], target_out, (target_out != 0).astype("float32")


class LengthBatches(EpochBatches):
    """Teacher-forcing batches of sentences of similar length, cut to their longest.

    `teacher_forcing` pads every sentence to the longest of the whole set; on Tatoeba that
    is 31 tokens for a median of 7, so most of each step would be spent on padding. Here
    each batch holds sentences of similar length and keeps only as many columns as its
    longest sentence needs, rounded up to a multiple of `decoding.BUCKET` (one width for
    source and target), so JAX and TensorFlow compile a handful of shapes, not one per
    batch. Padding is masked and has weight 0, so the loss is the same as on the full-width
    arrays.

    With `shuffle`, epoch `e` draws its order from `(seed, e)` (see `EpochBatches`, so a
    resumed run goes on with the same batches): sentences are shuffled, sorted by length
    within pools of 32 batches, cut into batches, and the batches shuffled.
    Yields `((source, target_in), target_out, weights)`, each (B, L) int32 / float32.
    """

    POOL = 32  # batches sorted together: larger pools pad less, shuffle less

    def __init__(self, x, y, weights, batch_size, shuffle=False, seed=0, **kwargs):
        super().__init__(shuffle=shuffle, seed=seed, **kwargs)
        (self.source, self.target_in), self.target_out, self.weights = x, y, weights
        self.batch_size = batch_size
        self.source_lengths = _lengths(self.source)
        self.target_lengths = _lengths(self.target_out)

    def order(self, epoch):
        rng = self.order_rng()
        order = rng.permutation(len(self.source)) if self.shuffle else np.arange(len(self.source))
        longest = np.maximum(self.source_lengths, self.target_lengths)
        pool_size = self.POOL * self.batch_size
        batches = []
        for begin in range(0, len(order), pool_size):
            pool = order[begin : begin + pool_size]
            pool = pool[np.argsort(longest[pool], kind="stable")]
            batches += [pool[i : i + self.batch_size] for i in range(0, len(pool), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        # TensorFlow's data adapter fixes every dimension that is the same in the first two
        # batches: give them different widths (where any differ), so the length stays free.
        other = next(
            (i for i, rows in enumerate(batches) if self._width(rows) != self._width(batches[0])),
            None,
        )
        if other is not None:
            batches[1], batches[other] = batches[other], batches[1]
        return batches

    def _width(self, rows):
        longest = max(self.source_lengths[rows].max(), self.target_lengths[rows].max())
        return max(-(-int(longest) // decoding.BUCKET) * decoding.BUCKET, decoding.BUCKET)

    def __len__(self):
        return -(-len(self.source) // self.batch_size)

    def __getitem__(self, index):
        rows = np.sort(self.current_order()[index])
        width = self._width(rows)
        return (
            (self.source[rows, :width], self.target_in[rows, :width]),
            self.target_out[rows, :width],
            self.weights[rows, :width],
        )


def _lengths(ids):
    """(N, T) padded ids -> (N,) the position after each row's last non-padding id."""
    nonzero = ids != 0
    return np.where(nonzero.any(axis=1), ids.shape[1] - np.argmax(nonzero[:, ::-1], axis=1), 0)


def compile_for_translation(
    model, learning_rate, total_steps, warmup_steps=None, label_smoothing=0.0
):
    """Adam with a linear warm-up then cosine decay, cross-entropy on logits averaged over the
    real (weight 1) tokens, so a batch's loss does not depend on its padding (with
    `label_smoothing`, `SmoothedCrossEntropy`); token accuracy."""
    warmup_steps = warmup_steps or min(500, total_steps // 10)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=max(total_steps - warmup_steps, 1),
        alpha=0.05,
        warmup_target=learning_rate,
        warmup_steps=warmup_steps,
    )
    loss_class = (
        SmoothedCrossEntropy if label_smoothing else (keras.losses.SparseCategoricalCrossentropy)
    )
    smoothing = {"label_smoothing": label_smoothing} if label_smoothing else {}
    model.compile(
        keras.optimizers.Adam(schedule),
        loss_class(
            from_logits=True,
            reduction="mean_with_sample_weight",  # per token
            **smoothing,
        ),
        weighted_metrics=["accuracy"],
    )  # weighted: padding does not count
    return model


@keras.saving.register_keras_serializable(package="zoo")
class SmoothedCrossEntropy(keras.losses.SparseCategoricalCrossentropy):
    """Sparse categorical cross-entropy against smoothed targets (Szegedy et al., 2016; the
    Transformer paper's 0.1): 1 - label_smoothing on the true token, label_smoothing spread
    evenly over the whole vocabulary. Targets (...,) int, logits (..., vocab) -> (...,).

    A subclass of Keras' sparse cross-entropy, so the translation models' `compute_loss`
    (`LossOnTokenRows`) flattens tokens for it as for that one.
    """

    def __init__(self, label_smoothing=0.1, from_logits=True, **kwargs):
        if not from_logits:
            raise ValueError("SmoothedCrossEntropy takes logits (from_logits=True)")
        super().__init__(from_logits=True, **kwargs)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        log_probs = keras.ops.log_softmax(y_pred, axis=-1)
        target = keras.ops.expand_dims(keras.ops.cast(y_true, "int32"), -1)
        true_token = keras.ops.squeeze(keras.ops.take_along_axis(log_probs, target, -1), -1)
        uniform = keras.ops.mean(log_probs, axis=-1)
        return -(1.0 - self.label_smoothing) * true_token - self.label_smoothing * uniform

    def get_config(self):
        config = super().get_config()
        config.pop("ignore_class")  # every token counts (padding has sample weight 0)
        return {**config, "label_smoothing": self.label_smoothing}


class Translator:
    """A trained translation model with its vocabularies: sentences in, sentences out.

    `model` is a `zoo.Transformer` or `zoo.Seq2SeqAttention` (anything `zoo.decoding` can
    drive); the vocabularies are `Vocabulary` (words) or `SubwordVocabulary` (pieces);
    `max_length` bounds a translation, in the target vocabulary's tokens.
    """

    def __init__(self, model, source_vocab, target_vocab, max_length):
        self.model, self.max_length = model, max_length
        self.source_vocab, self.target_vocab = source_vocab, target_vocab

    def translate(self, sentences, beam_width=1, batch_size=128):
        """Raw sentences (cleaned here) -> translations, greedy (width 1) or beam search."""
        return [
            self.target_vocab.decode(ids)
            for ids in self.translate_ids(self.encode(sentences), beam_width, batch_size)
        ]

    def encode(self, sentences):
        return [self.source_vocab.encode(clean(sentence)) for sentence in sentences]

    def translate_ids(self, encoded, beam_width=1, batch_size=128):
        """Lists of source ids -> lists of target ids, in batches padded to their longest."""
        vocab, results = self.target_vocab, []
        for begin in range(0, len(encoded), batch_size):
            chunk = encoded[begin : begin + batch_size]
            source = np.zeros((len(chunk), max(map(len, chunk))), "int32")
            for row, ids in zip(source, chunk):
                row[: len(ids)] = ids
            if beam_width == 1:
                ids = decoding.greedy(
                    self.model, source, vocab.start, vocab.end, self.max_length + 1
                )
            else:
                ids = decoding.beam_search(
                    self.model,
                    source,
                    vocab.start,
                    vocab.end,
                    self.max_length + 1,
                    width=beam_width,
                )
            results.extend(ids)
        return results

    def save(self, folder):
        """model.keras, source_vocab.json, target_vocab.json and translator.json in `folder`."""
        folder = Path(folder)
        self.model.save(folder / "model.keras")
        self.source_vocab.save(folder / "source_vocab.json")
        self.target_vocab.save(folder / "target_vocab.json")
        (folder / "translator.json").write_text(json.dumps({"max_length": self.max_length}))

    @classmethod
    def load(cls, folder):
        import zoo  # noqa: F401  (registers the models, so load_model can rebuild them)

        folder = Path(folder)
        missing = [
            name
            for name in ("model.keras", "source_vocab.json", "target_vocab.json", "translator.json")
            if not (folder / name).exists()
        ]
        if missing:
            raise FileNotFoundError(
                f"{folder}: not a finished translation run (missing {', '.join(missing)})"
            )
        settings = json.loads((folder / "translator.json").read_text())
        return cls(
            keras.saving.load_model(folder / "model.keras"),
            load_vocabulary(folder / "source_vocab.json"),
            load_vocabulary(folder / "target_vocab.json"),
            settings["max_length"],
        )
