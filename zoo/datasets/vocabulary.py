"""Vocabularies for the translation models: words or SentencePiece subwords <-> ids.

vocab = Vocabulary.build(sentences, max_size=10_000)          # the most frequent words
pieces = SubwordVocabulary.build(sentences, max_size=4000)    # the same API
ids = vocab.encode_batch(sentences)                           # (N, L) int32, 0 = <pad>
vocab.save("vocab.json"); load_vocabulary("vocab.json")      # either kind
"""

import base64
import io
import json
from collections import Counter
from pathlib import Path

import numpy as np

__all__ = ["SubwordVocabulary", "Vocabulary", "load_vocabulary"]


class Vocabulary:
    """Word <-> id for cleaned, space-separated sentences.

    Ids 0-3 are reserved: `<pad>` (0, what padding and masks rely on), `<unk>` (any word
    outside the vocabulary), `<start>` (the decoder's first input) and `<end>` (where a
    translation stops). Then words by falling frequency.
    """

    PAD, UNK, START, END = "<pad>", "<unk>", "<start>", "<end>"
    SPECIAL = (PAD, UNK, START, END)

    def __init__(self, words):
        if tuple(words[:4]) != self.SPECIAL:
            raise ValueError(f"a vocabulary starts with {self.SPECIAL}, got {words[:4]}")
        self.words = list(words)
        self.ids = {word: index for index, word in enumerate(self.words)}
        self.pad, self.unk, self.start, self.end = range(4)

    @classmethod
    def build(cls, sentences, max_size=None, min_count=1):
        """The `max_size` (special tokens included) most frequent words seen at least
        `min_count` times; ties broken alphabetically, so the same text gives the same ids."""
        counts = Counter(word for sentence in sentences for word in sentence.split())
        ranked = sorted(
            (w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w)
        )
        if max_size is not None:
            ranked = ranked[: max(max_size - len(cls.SPECIAL), 0)]
        return cls([*cls.SPECIAL, *ranked])

    def __len__(self):
        return len(self.words)

    def encode(self, sentence, start=False, end=True):
        """ "a b" -> [<start>?] ids [<end>]; unknown words become <unk>."""
        ids = [self.ids.get(word, self.unk) for word in sentence.split()]
        return [self.start] * start + ids + [self.end] * end

    def encode_batch(self, sentences, length=None, start=False, end=True):
        """Sentences -> (N, length) int32, padded with 0 (`length`: the longest, by default);
        longer ones are cut, keeping their first `length` ids."""
        encoded = [self.encode(s, start, end) for s in sentences]
        length = length or max(map(len, encoded))
        batch = np.zeros((len(encoded), length), "int32")
        for row, ids in zip(batch, encoded):
            row[: min(len(ids), length)] = ids[:length]
        return batch

    def decode(self, ids):
        """Ids -> sentence: up to the first <end>, without <pad> and <start>."""
        words = []
        for index in np.asarray(ids).reshape(-1).tolist():
            if index == self.end:
                break
            if index not in (self.pad, self.start):
                words.append(self.words[index])
        return " ".join(words)

    def unknown_rate(self, sentences):
        """The share of words in `sentences` that this vocabulary maps to <unk>."""
        words = [word for sentence in sentences for word in sentence.split()]
        return sum(word not in self.ids for word in words) / max(len(words), 1)

    def save(self, path):
        Path(path).write_text(json.dumps(self.words, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path):
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))


class SubwordVocabulary(Vocabulary):
    """Subword pieces <-> ids: a SentencePiece unigram model (Kudo, 2018) learned from
    cleaned sentences, with `Vocabulary`'s interface, so models, decoding and `Translator`
    take either.

    A word the pieces were not trained on is split into pieces they know ("медведю" ->
    "▁медвед" "ю") instead of becoming <unk>: only a character never seen in training is
    unknown. Ids 0-3 are `<pad>`, `<unk>`, `<start>`, `<end>` as in `Vocabulary`; `words`
    are the pieces. `decode` joins the pieces back into the cleaned, space-separated words,
    so BLEU splits a subword model's translations into words exactly as a word model's.
    """

    def __init__(self, model_proto):
        import sentencepiece

        self.model_proto = bytes(model_proto)
        self.processor = sentencepiece.SentencePieceProcessor(model_proto=self.model_proto)
        super().__init__(
            [self.processor.id_to_piece(i) for i in range(self.processor.get_piece_size())]
        )

    @classmethod
    def build(cls, sentences, max_size=4000):
        """Learn at most `max_size` pieces (special tokens included; fewer if the sentences
        do not hold that many) from cleaned sentences. The same sentences give the same
        pieces."""
        import sentencepiece

        model = io.BytesIO()
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=model,
            vocab_size=max_size,
            model_type="unigram",
            character_coverage=1.0,
            hard_vocab_limit=False,
            normalization_rule_name="identity",  # `clean` has normalised the text already
            pad_id=0,
            unk_id=1,
            bos_id=2,
            eos_id=3,
            pad_piece=cls.PAD,
            unk_piece=cls.UNK,
            bos_piece=cls.START,
            eos_piece=cls.END,
            num_threads=1,
            minloglevel=2,
        )
        return cls(model.getvalue())

    def encode(self, sentence, start=False, end=True):
        """ "a b" -> [<start>?] piece ids [<end>]."""
        return [self.start] * start + self.processor.encode(sentence) + [self.end] * end

    def decode(self, ids):
        """Ids -> sentence (words separated by one space): up to the first <end>, without
        <pad>, <start> and <unk>."""
        pieces = []
        for index in np.asarray(ids).reshape(-1).tolist():
            if index == self.end:
                break
            if index > self.end:
                pieces.append(index)
        return " ".join(self.processor.decode(pieces).split())

    def unknown_rate(self, sentences):
        """The share of words in `sentences` with a piece this vocabulary maps to <unk>."""
        counts = Counter(word for sentence in sentences for word in sentence.split())
        unknown = sum(
            count for word, count in counts.items() if self.unk in self.processor.encode(word)
        )
        return unknown / max(sum(counts.values()), 1)

    def save(self, path):
        Path(path).write_text(
            json.dumps({"sentencepiece": base64.b64encode(self.model_proto).decode("ascii")})
            + "\n",
            encoding="utf-8",
        )

    @classmethod
    def load(cls, path):
        """The vocabulary the file holds (`load_vocabulary`)."""
        return load_vocabulary(path)


def load_vocabulary(path):
    """A `Vocabulary` or `SubwordVocabulary` from the file its `save` wrote."""
    saved = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(saved, dict):
        return SubwordVocabulary(base64.b64decode(saved["sentencepiece"]))
    return Vocabulary(saved)
