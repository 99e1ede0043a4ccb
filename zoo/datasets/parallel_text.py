"""Parallel text for the translation recipes: sentence pairs, cleaning, vocabularies, splits.

    pairs = parallel_text.load("../shared/data/small_vocab")      # small_vocab_en + _fr
    pairs = parallel_text.load("eng_rus.tsv", source_language="ru")
    pairs = parallel_text.prepare(pairs, max_length=30)          # cleaned; empty/long dropped
    split = parallel_text.split(pairs, seed=0)   # a zoo.datasets.Split of indices
    train, test = pairs.select(split.train), pairs.select(split.test)
    source_vocab = parallel_text.Vocabulary.build(train.sources, max_size=10_000)
    ids = source_vocab.encode_batch(train.sources)               # (N, L) int32, 0 = <pad>
    pieces = parallel_text.SubwordVocabulary.build(train.sources, max_size=4000)  # the same API

The vocabularies live in `zoo.datasets.vocabulary` (imported here too).

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

import csv
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zoo.datasets.images import DataError
from zoo.datasets.splits import Split, shuffled_cut
from zoo.datasets.vocabulary import SubwordVocabulary, Vocabulary, load_vocabulary

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


def split(pairs: Pairs, fractions=(0.8, 0.1, 0.1), seed: int = 0) -> Split:
    """A train/validation/test `Split` of `pairs`' indices: the distinct source sentences,
    in a seeded shuffle, cut by `fractions`, each with all of its pairs;
    `pairs.select(split.train)` is the training part.

    A source sentence with two translations (Tatoeba has thousands) therefore sits in one
    part only: a model is never tested on a sentence it was trained to translate. Each
    part keeps the shuffled order.
    """
    pairs_of = {}  # source sentence -> the indices of its pairs
    for index, source in enumerate(pairs.sources):
        pairs_of.setdefault(source, []).append(index)
    groups = list(pairs_of.values())
    parts = shuffled_cut(np.arange(len(groups)), fractions, np.random.default_rng(seed))
    train, val, test = (
        np.array([index for group in part for index in groups[group]], np.int64) for part in parts
    )
    return Split(train, val, test, seed=seed)


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
