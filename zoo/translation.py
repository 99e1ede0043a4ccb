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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
    model: keras.Model,
    learning_rate: float,
    total_steps: int,
    warmup_steps: int | None = None,
    label_smoothing: float = 0.0,
) -> keras.Model:
    """Adam with a linear warm-up then cosine decay, cross-entropy on logits averaged over the
    real (weight 1) tokens, so a batch's loss does not depend on its padding (with
    `label_smoothing`, `SmoothedCrossEntropy`); token accuracy.

    Args:
        model: a `zoo.Transformer` or `zoo.Seq2SeqAttention`, compiled here.
        learning_rate: the peak, reached at the warm-up's end.
        total_steps: of the whole fit: the cosine decays to 5% of the peak over them.
        warmup_steps: of the linear warm-up; None: a tenth of the steps, at most 500.
        label_smoothing: in [0, 1); 0: Keras' plain sparse cross-entropy.

    Returns:
        `model`.
    """
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

    Args:
        model: a `zoo.Transformer` or `zoo.Seq2SeqAttention` (anything `zoo.decoding` can
            drive).
        source_vocab: a `Vocabulary` (words) or `SubwordVocabulary` (pieces) of the source
            language (`zoo.datasets.vocabulary`).
        target_vocab: the same, of the target language.
        max_length: the most tokens of the target vocabulary a translation has.
    """

    def __init__(self, model: keras.Model, source_vocab: Any, target_vocab: Any, max_length: int):
        self.model, self.max_length = model, max_length
        self.source_vocab, self.target_vocab = source_vocab, target_vocab

    def translate(
        self, sentences: Sequence[str], beam_width: int = 1, batch_size: int = 128
    ) -> list[str]:
        """Raw sentences (cleaned here) -> translations, greedy (width 1) or beam search.

        Args:
            sentences: in the source language, as a person types them.
            beam_width: 1: greedy decoding; more: beam search keeping that many.
            batch_size: sentences decoded together.

        Returns:
            One translation per sentence, without <start> and <end>.
        """
        return [
            self.target_vocab.decode(ids)
            for ids in self.translate_ids(self.encode(sentences), beam_width, batch_size)
        ]

    def encode(self, sentences: Sequence[str]) -> list[list[int]]:
        """Raw sentences -> their cleaned source ids, one list each, ending with <end>."""
        return [self.source_vocab.encode(clean(sentence)) for sentence in sentences]

    def translate_ids(
        self, encoded: Sequence[Sequence[int]], beam_width: int = 1, batch_size: int = 128
    ) -> list[np.ndarray]:
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

    def cross_attention(
        self, source_ids: Sequence[int], translation: str
    ) -> tuple[np.ndarray, list[str], list[str]]:
        """Where each step of `translation` looked in the source: the last decoder layer's
        cross-attention, averaged over heads.

        Args:
            source_ids: one sentence's ids, as `encode` gives them.
            translation: its translation, as `translate` gives it.

        Returns:
            (weights (T, S), the T target tokens from <start>, the S source tokens).
        """
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

    def save(self, folder: str | os.PathLike) -> None:
        """model.keras, source_vocab.json, target_vocab.json and translator.json in `folder`
        (a run directory, say), which must exist."""
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
    def load(cls, folder: str | os.PathLike) -> "Translator":
        """The translator `save` wrote into `folder`.

        Raises:
            FileNotFoundError: naming the files the folder lacks.
        """
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
