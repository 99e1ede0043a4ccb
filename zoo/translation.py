"""What both translation models need around them: training settings
(`compile_for_translation`) and a `Translator` that turns sentences into sentences and saves
itself. The arrays for teacher forcing and the batches of similar lengths live with the
other batches (`zoo.datasets.batches`), the smoothed loss in `zoo.losses`; both are
importable from here too. The recipes that train them are recipes/transformer.py and
recipes/seq2seq.py.

    x, y, weights = translation.teacher_forcing(pairs, source_vocab, target_vocab)
    model.fit(x, y, sample_weight=weights)     # x = [source (N, S), target_in (N, T)]
    model.fit(translation.LengthBatches(x, y, weights, batch_size=64, shuffle=True))
    translator = translation.Translator(model, source_vocab, target_vocab, max_length=30)
    translator.translate(["new jersey is quiet in april ."], beam_width=4)
    translator.save(run_dir); translation.Translator.load(run_dir)
    translation.Translator.from_preset("transformer_small_vocab_en_fr")   # see zoo.presets
"""

import json
import os
from pathlib import Path

import keras
import numpy as np

from zoo import decoding
from zoo.datasets.batches import LengthBatches, teacher_forcing
from zoo.datasets.parallel_text import clean, load_vocabulary
from zoo.losses import SmoothedCrossEntropy

__all__ = [
    "LengthBatches",
    "SmoothedCrossEntropy",
    "Translator",
    "compile_for_translation",
    "teacher_forcing",
]


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

    def cross_attention(self, source_ids, translation):
        """Where each step of `translation` (a sentence) looked in the source (a list of
        ids): the last decoder layer's cross-attention, averaged over heads, as (weights
        (T, S), the T target tokens from <start>, the S source tokens)."""
        target_ids = self.target_vocab.encode(translation, start=True, end=False)
        maps = self.model.attention_maps(
            np.array([source_ids], "int32"), np.array([target_ids], "int32")
        )
        cross = maps[[name for name in maps if name.endswith("cross")][-1]][0]
        return (
            np.asarray(cross).mean(axis=0),
            [self.target_vocab.words[i] for i in target_ids],
            [self.source_vocab.words[i] for i in source_ids],
        )

    def save(self, folder):
        """model.keras, source_vocab.json, target_vocab.json and translator.json in `folder`."""
        folder = Path(folder)
        self.model.save(folder / "model.keras")
        self.source_vocab.save(folder / "source_vocab.json")
        self.target_vocab.save(folder / "target_vocab.json")
        (folder / "translator.json").write_text(json.dumps({"max_length": self.max_length}))

    @classmethod
    def from_preset(cls, handle: str | os.PathLike) -> "Translator":
        """The translator a preset holds: its model, and its vocabularies and settings
        from the preset's assets/.

        Args:
            handle: a registered name, a preset folder or a URL (see `zoo.presets.path`).

        Raises:
            zoo.presets.PresetError: as `zoo.presets.load`, or a preset with no translator.
        """
        from zoo import presets

        folder = presets.path(handle)
        assets = folder / "assets"
        files = [assets / name for name in ("source_vocab.json", "target_vocab.json")]
        if not all(file.exists() for file in [*files, assets / "translator.json"]):
            raise presets.PresetError(
                f"preset {handle!r} holds no translator (its assets/ lack the vocabularies "
                f"or translator.json); zoo.presets.load({handle!r}) loads its model alone"
            )
        settings = json.loads((assets / "translator.json").read_text())
        return cls(presets.load(folder), *map(load_vocabulary, files), settings["max_length"])

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
