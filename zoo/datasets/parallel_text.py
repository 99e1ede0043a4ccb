"""Parallel text for the translation recipes: sentence pairs, cleaning, vocabularies, splits.

    pairs = parallel_text.load("../shared/data/small_vocab")      # small_vocab_en + _fr
    pairs = parallel_text.load("eng_rus.tsv", source_language="ru")
    pairs = parallel_text.prepare(pairs, max_length=30)          # cleaned; empty/long dropped
    train, val, test = parallel_text.split(pairs, seed=0)
    source_vocab = parallel_text.Vocabulary.build(train.sources, max_size=10_000)
    ids = source_vocab.encode_batch(train.sources)               # (N, L) int32, 0 = <pad>
    pieces = parallel_text.SubwordVocabulary.build(train.sources, max_size=4000)  # the same API

Accepted inputs (`load`):

* a folder holding two aligned line files named `<name>_<language>` (`small_vocab_en`,
  `small_vocab_fr`): line i of one translates line i of the other;
* a Tatoeba / manythings `.tsv`: `English<TAB>other[<TAB>attribution]` (languages `en` and
  `other_language`, `ru` by default);
* a two-column `.csv` as the seed's `train.csv` (Russian, English; quoted fields allowed),
  with an optional header row.

Every pair comes out as (source, target) in the direction `source_language` asks for. Bad
input stops with a `DataError` naming the file and line: files of unequal line counts,
bytes that are not UTF-8, a TSV line without a tab, a CSV row without two columns.
"""

import base64
import csv
import io
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zoo.datasets.images import DataError

__all__ = [
    "Pairs",
    "SubwordVocabulary",
    "Vocabulary",
    "clean",
    "load",
    "load_vocabulary",
    "make_synthetic",
    "prepare",
    "split",
]


@dataclass
class Pairs:
    """Aligned sentences, `sources[i]` translated by `targets[i]`, and what was dropped."""

    sources: list
    targets: list
    source_language: str
    target_language: str
    dropped: dict = field(default_factory=dict)  # reason -> count

    def __len__(self):
        return len(self.sources)

    def reversed(self):
        """The same pairs translated the other way."""
        return Pairs(
            self.targets,
            self.sources,
            self.target_language,
            self.source_language,
            dict(self.dropped),
        )

    def select(self, indices):
        return Pairs(
            [self.sources[i] for i in indices],
            [self.targets[i] for i in indices],
            self.source_language,
            self.target_language,
            dict(self.dropped),
        )


# Reading ---------------------------------------------------------------------------------


def load(path, source_language=None, other_language="ru"):
    """Sentence pairs from a folder of aligned files, a `.tsv` or a `.csv` (module docstring).

    `source_language` picks the direction (one of the two languages the input holds; default:
    the first). `other_language` names the TSV's second column.
    """
    path = Path(path)
    if path.is_dir():
        pairs = _load_aligned_folder(path)
    elif not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    elif path.suffix.lower() == ".tsv":
        pairs = _load_tsv(path, other_language)
    elif path.suffix.lower() == ".csv":
        pairs = _load_csv(path)
    else:
        raise DataError(f"{path}: expected a folder of aligned files, a .tsv or a .csv")
    if not pairs.sources:
        raise DataError(f"{path}: no sentence pairs found")
    if source_language in (None, pairs.source_language):
        return pairs
    if source_language != pairs.target_language:
        raise DataError(
            f"{path}: holds {pairs.source_language} and {pairs.target_language}, "
            f"not {source_language}"
        )
    return pairs.reversed()


def _read_lines(path):
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not UTF-8 text (byte {data[error.start]:#04x})") from None
    # Lines end at "\n" only (a "\r" before it goes too): str.splitlines() would also cut
    # at U+2028, U+0085, form feed and others, which can stand inside a sentence, and so
    # split one pair into two or shift every later line of an aligned file.
    lines = text.removeprefix("\ufeff").split("\n")
    if lines[-1] == "":  # the newline that ends the file starts no line
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _load_aligned_folder(folder):
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and re.search(r"_[a-z]{2,3}$", p.name)
    )
    if len(files) != 2:
        raise DataError(
            f"{folder}: expected two aligned files named <name>_<language> "
            f"(small_vocab_en, small_vocab_fr), found {[p.name for p in files]}"
        )
    first, second = files
    first_lines, second_lines = _read_lines(first), _read_lines(second)
    if len(first_lines) != len(second_lines):
        raise DataError(
            f"{first} has {len(first_lines)} lines and {second} has "
            f"{len(second_lines)}: line i of one must translate line i of the other"
        )
    return Pairs(
        first_lines, second_lines, first.name.rsplit("_", 1)[1], second.name.rsplit("_", 1)[1]
    )


def _load_tsv(path, other_language):
    sources, targets = [], []
    for number, line in enumerate(_read_lines(path), 1):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < 2:
            raise DataError(
                f"{path}:{number}: no tab; expected English<TAB>translation"
                f"[<TAB>attribution], got {line[:60]!r}"
            )
        sources.append(columns[0])
        targets.append(columns[1])
    return Pairs(sources, targets, "en", other_language)


def _load_csv(path):
    rows = csv.reader(io.StringIO("\n".join(_read_lines(path))))
    sources, targets = [], []
    for number, row in enumerate(rows, 1):
        if not row:
            continue
        if len(row) < 2:
            raise DataError(
                f"{path}:{number}: expected two columns (Russian, English), got {row!r}"
            )
        if number == 1 and {row[0].strip().lower(), row[1].strip().lower()} & _HEADER_WORDS:
            continue
        sources.append(row[0])
        targets.append(row[1])
    return Pairs(sources, targets, "ru", "en")


_HEADER_WORDS = {"ru", "en", "rus", "eng", "russian", "english", "source", "target"}


# Cleaning --------------------------------------------------------------------------------

# A word: letters or digits of any script, joined by inner hyphens or apostrophes
# (états-unis, i'm), with an elided trailing apostrophe kept (l'); any other
# non-space character is a token of its own.
_TOKEN = re.compile(r"\w+(?:[-']\w+)*'?|[^\w\s]")


def clean(text):
    """Unicode NFC, lower case, punctuation split off by spaces; no letter of any script lost.

    "Тома задрал медведь." -> "тома задрал медведь ."   "I'm home!" -> "i'm home !"
    """
    text = unicodedata.normalize("NFC", text).lower().replace("\u2019", "'")
    return " ".join(_TOKEN.findall(text))


def prepare(pairs, max_length=None):
    """Clean both sides; drop (and count in `dropped`) empty pairs, pairs with a side
    longer than `max_length` words and repeats of a pair already kept.

    Repeats are compared after cleaning: the Tatoeba file holds thousands of pairs twice,
    differing only by a trailing space, and a repeat left in would put the same pair on
    both sides of the train/test split (a third of the test pairs, before this).
    """
    sources, targets, dropped, kept = [], [], Counter(pairs.dropped), set()
    for source, target in zip(pairs.sources, pairs.targets):
        source, target = clean(source), clean(target)
        if not source or not target:
            dropped["empty"] += 1
        elif max_length and max(len(source.split()), len(target.split())) > max_length:
            dropped[f"longer than {max_length} words"] += 1
        elif (source, target) in kept:
            dropped["repeated"] += 1
        else:
            kept.add((source, target))
            sources.append(source)
            targets.append(target)
    return Pairs(sources, targets, pairs.source_language, pairs.target_language, dict(dropped))


def split(pairs, fractions=(0.8, 0.1, 0.1), seed=0):
    """(train, validation, test) Pairs: the distinct source sentences, in a seeded shuffle,
    cut by `fractions`, each with all of its pairs.

    A source sentence with two translations (Tatoeba has thousands) therefore sits in one
    part only: a model is never tested on a sentence it was trained to translate.
    """
    pairs_of = {}  # source sentence -> the indices of its pairs
    for index, source in enumerate(pairs.sources):
        pairs_of.setdefault(source, []).append(index)
    groups = list(pairs_of.values())
    order = np.random.default_rng(seed).permutation(len(groups))
    cuts = np.round(np.cumsum(fractions)[:-1] / np.sum(fractions) * len(groups)).astype(int)
    return tuple(
        pairs.select([index for group in part for index in groups[group]])
        for part in np.split(order, cuts)
    )


# Vocabularies ----------------------------------------------------------------------------


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


# A synthetic language pair ---------------------------------------------------------------

# Source: English. Target: "Zooish", an invented language with its own words, adjectives
# after nouns, a definite article "la" after the noun phrase, the verb last and the time
# first, so a translation has to reorder words, which is what attention is for.
_NOUNS = {
    "dog": "kano",
    "cat": "kato",
    "bird": "birdo",
    "child": "infano",
    "teacher": "docento",
    "farmer": "kamparo",
    "horse": "ĉevalo",
    "fish": "fiŝo",
}
_ADJECTIVES = {
    "big": "granda",
    "small": "eta",
    "red": "ruĝa",
    "old": "maljuna",
    "happy": "feliĉa",
    "quiet": "trankvila",
}
_VERBS = {
    "sees": "vidas",
    "likes": "ŝatas",
    "follows": "sekvas",
    "finds": "trovas",
    "feeds": "nutras",
    "calls": "vokas",
}
_TIMES = {
    "today": "hodiaŭ",
    "in the morning": "matene",
    "at night": "nokte",
    "on sunday": "dimanĉe",
}


def make_synthetic(count=4000, seed=0):
    """`count` English -> Zooish pairs from a small grammar (about 40 words a side, 4-13
    words a sentence): "the big dog sees a cat at night ." ->
    "nokte kano granda la kato vidas ." Languages `en` and `zoo`."""
    rng = np.random.default_rng(seed)

    def pick(table):
        return list(table)[rng.integers(len(table))]

    def noun_phrase():
        definite, noun = rng.random() < 0.5, pick(_NOUNS)
        adjective = pick(_ADJECTIVES) if rng.random() < 0.6 else None
        english = " ".join(filter(None, ["the" if definite else "a", adjective, noun]))
        zooish = " ".join(
            filter(
                None,
                [_NOUNS[noun], adjective and _ADJECTIVES[adjective], "la" if definite else None],
            )
        )
        return english, zooish

    sources, targets = [], []
    for _ in range(count):
        (subject_en, subject_zoo), (object_en, object_zoo) = noun_phrase(), noun_phrase()
        verb, time = pick(_VERBS), pick(_TIMES) if rng.random() < 0.5 else None
        sources.append(" ".join(filter(None, [subject_en, verb, object_en, time, "."])))
        targets.append(
            " ".join(
                filter(None, [time and _TIMES[time], subject_zoo, object_zoo, _VERBS[verb], "."])
            )
        )
    return Pairs(sources, targets, "en", "zoo")
