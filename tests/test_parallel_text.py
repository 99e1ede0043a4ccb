"""Parallel text: the three input formats, their errors, cleaning, vocabularies, splits, BLEU."""

import numpy as np
import pytest
from nltk.translate import bleu_score

from zoo import metrics
from zoo.datasets import DataError, parallel_text


def write_aligned(folder, first, second, names=("corpus_en", "corpus_fr")):
    folder.mkdir()
    (folder / names[0]).write_text("\n".join(first) + "\n", encoding="utf-8")
    (folder / names[1]).write_text("\n".join(second) + "\n", encoding="utf-8")
    return folder


def test_aligned_files_give_pairs_in_either_direction(tmp_path):
    folder = write_aligned(
        tmp_path / "d",
        ["new jersey is quiet .", "i like it ."],
        ["new jersey est calme .", "j'aime ça ."],
    )
    pairs = parallel_text.load(folder)
    assert (pairs.source_language, pairs.target_language) == ("en", "fr")
    assert pairs.sources[1] == "i like it ." and pairs.targets[1] == "j'aime ça ."
    reverse = parallel_text.load(folder, source_language="fr")
    assert reverse.sources == pairs.targets and reverse.target_language == "en"
    with pytest.raises(DataError, match="holds en and fr, not de"):
        parallel_text.load(folder, source_language="de")


@pytest.mark.parametrize("separator", ["\u2028", "\u0085", "\f", "\u2029", "\x1c"])
def test_lines_end_at_newline_only_so_other_separators_stay_inside_their_line(tmp_path, separator):
    first = [f"one{separator}two .", "three .", "four ."]
    second = [f"un{separator}deux .", "trois .", "quatre ."]
    pairs = parallel_text.load(write_aligned(tmp_path / "d", first, second))
    assert pairs.sources == first and pairs.targets == second  # no line split, none shifted
    tsv = tmp_path / "pairs.tsv"
    tsv.write_bytes(f"Hi{separator}there.\tПривет.\r\nBye.\tПока.{separator}\n".encode())
    pairs = parallel_text.load(tsv)
    assert pairs.sources == [f"Hi{separator}there.", "Bye."]
    assert pairs.targets == ["Привет.", f"Пока.{separator}"]  # the \r went with the \n


def test_aligned_files_of_unequal_length_are_named(tmp_path):
    folder = write_aligned(tmp_path / "d", ["a", "b", "c"], ["x", "y"])
    with pytest.raises(DataError, match=r"corpus_en has 3 lines and .*corpus_fr has 2"):
        parallel_text.load(folder)


def test_undecodable_bytes_name_the_file_and_line(tmp_path):
    folder = write_aligned(tmp_path / "d", ["a", "b"], ["x", "y"])
    (folder / "corpus_fr").write_bytes(b"x\ny \xff\xfe\n")
    with pytest.raises(DataError, match=r"corpus_fr:2: not UTF-8"):
        parallel_text.load(folder)


def test_tsv_with_two_or_three_columns_and_cyrillic_survives(tmp_path):
    path = tmp_path / "rus.tsv"
    path.write_text(
        "I'm home.\tЯ дома.\tCC-BY 2.0 (France) Attribution: tatoeba.org\n"
        "A bear mauled Tom.\tТома задрал медведь.\n",
        encoding="utf-8",
    )
    pairs = parallel_text.prepare(parallel_text.load(path, source_language="ru"))
    assert pairs.source_language == "ru" and pairs.target_language == "en"
    assert pairs.sources == ["я дома .", "тома задрал медведь ."]
    assert pairs.targets == ["i'm home .", "a bear mauled tom ."]


def test_tsv_line_without_a_tab_is_named(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("Hi.\tПривет.\nno tab here\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.tsv:2: no tab"):
        parallel_text.load(path)


def test_csv_with_header_and_quoted_fields(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('ru,en\n"Привет, Том.","Hi, Tom."\nЯ дома.,I\'m home.\n', encoding="utf-8")
    pairs = parallel_text.load(path)
    assert pairs.sources == ["Привет, Том.", "Я дома."]
    assert pairs.targets == ["Hi, Tom.", "I'm home."]
    (tmp_path / "short.csv").write_text("Привет,Hi\nоднa колонка\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"short.csv:2: expected two columns"):
        parallel_text.load(tmp_path / "short.csv")


def test_missing_and_unknown_inputs_are_named(tmp_path):
    with pytest.raises(DataError, match="nowhere.tsv: no such file"):
        parallel_text.load(tmp_path / "nowhere.tsv")
    (tmp_path / "x.txt").write_text("a\n")
    with pytest.raises(DataError, match="x.txt: expected a folder"):
        parallel_text.load(tmp_path / "x.txt")
    (tmp_path / "empty.tsv").write_text("\n")
    with pytest.raises(DataError, match="empty.tsv: no sentence pairs"):
        parallel_text.load(tmp_path / "empty.tsv")


def test_clean_lowercases_and_splits_punctuation_keeping_every_script():
    assert parallel_text.clean("Тома задрал медведь.") == "тома задрал медведь ."
    assert parallel_text.clean("I'm home!") == "i'm home !"
    assert parallel_text.clean("Les États-Unis, l'automne…") == "les états-unis , l'automne …"
    assert parallel_text.clean("Cafe\u0301") == "café"  # NFC: one code point for é
    assert parallel_text.clean("It\u2019s 5 o'clock") == "it's 5 o'clock"


def test_prepare_drops_and_counts_empty_and_long_pairs():
    pairs = parallel_text.Pairs(["a b", "  ", "a b c d e", "c"], ["x", "y", "z", "!"], "en", "fr")
    prepared = parallel_text.prepare(pairs, max_length=3)
    assert prepared.sources == ["a b", "c"]
    assert prepared.dropped == {"empty": 1, "longer than 3 words": 1}


def test_prepare_drops_pairs_repeated_after_cleaning_so_none_is_on_both_sides_of_a_split():
    sources = ["Я дома.", "Я дома. ", "я ДОМА .", "Я дома.", "Я дома!"]
    targets = ["I'm home.", "I'm home. ", "i'm home.", "I am home.", "I'm home!"]
    prepared = parallel_text.prepare(parallel_text.Pairs(sources * 8, targets * 8, "ru", "en"))
    assert list(zip(prepared.sources, prepared.targets)) == [
        ("я дома .", "i'm home ."),
        ("я дома .", "i am home ."),
        ("я дома !", "i'm home !"),
    ]
    assert prepared.dropped == {"repeated": 37}
    split = parallel_text.split(prepared, fractions=(0.4, 0.3, 0.3), seed=0)
    train, test = prepared.select(split.train), prepared.select(split.test)
    assert not set(zip(train.sources, train.targets)) & set(zip(test.sources, test.targets))


def test_split_is_seeded_disjoint_and_covers_every_pair():
    pairs = parallel_text.Pairs(
        [f"s{i}" for i in range(50)], [f"t{i}" for i in range(50)], "en", "fr"
    )
    split = parallel_text.split(pairs, seed=3)
    train, val, test = (pairs.select(indices) for indices in (split.train, split.val, split.test))
    assert (len(train), len(val), len(test)) == (40, 5, 5)
    assert sorted(train.sources + val.sources + test.sources) == sorted(pairs.sources)
    np.testing.assert_array_equal(parallel_text.split(pairs, seed=3).test, split.test)
    assert pairs.select(parallel_text.split(pairs, seed=4).test).sources != test.sources
    assert all(f"t{s[1:]}" == t for s, t in zip(test.sources, test.targets))


def test_split_keeps_each_source_sentence_with_all_its_translations_in_one_part():
    sources = [f"s{i // 3}" for i in range(90)]  # 30 sentences, 3 translations each
    pairs = parallel_text.Pairs(sources, [f"t{i}" for i in range(90)], "ru", "en")
    parts = [
        pairs.select(indices) for indices in parallel_text.split(pairs, seed=0).parts().values()
    ]
    assert [len(part) for part in parts] == [72, 9, 9]
    seen = [set(part.sources) for part in parts]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    assert sorted(t for part in parts for t in part.targets) == sorted(pairs.targets)


def test_vocabulary_reserves_ids_limits_size_and_round_trips(tmp_path):
    vocab = parallel_text.Vocabulary.build(["b a b", "c b a", "d"], max_size=6)
    assert vocab.words == ["<pad>", "<unk>", "<start>", "<end>", "b", "a"]
    assert vocab.encode("a b z", start=True) == [2, 5, 4, 1, 3]
    assert vocab.decode([2, 5, 4, 1, 3, 4, 0]) == "a b <unk>"  # stops at <end>
    batch = vocab.encode_batch(["a", "b a b"])
    np.testing.assert_array_equal(batch, [[5, 3, 0, 0], [4, 5, 4, 3]])
    assert vocab.unknown_rate(["a z", "z z"]) == pytest.approx(0.75)
    vocab.save(tmp_path / "v.json")
    assert parallel_text.Vocabulary.load(tmp_path / "v.json").words == vocab.words


def test_subword_vocabulary_splits_unseen_words_into_known_pieces_and_round_trips(tmp_path):
    train = ["я вижу кошку .", "я вижу собаку .", "кошка видит собаку .", "мы дома ."] * 5
    vocab = parallel_text.SubwordVocabulary.build(train, max_size=60)
    assert vocab.words[:4] == ["<pad>", "<unk>", "<start>", "<end>"] and len(vocab) <= 60
    assert parallel_text.SubwordVocabulary.build(train, 60).model_proto == vocab.model_proto
    unseen = "мы видим собак ."  # two words not in training; every letter was
    ids = vocab.encode(unseen, start=True)
    assert ids[0] == vocab.start and ids[-1] == vocab.end and vocab.unk not in ids
    assert vocab.decode(ids + [9, 9]) == unseen  # back to the words, stopping at <end>
    assert vocab.unknown_rate([unseen]) == 0
    assert vocab.unknown_rate(["мы ζζ"]) == pytest.approx(0.5)  # a letter never seen
    batch = vocab.encode_batch(["мы .", unseen])
    assert batch.shape == (2, len(vocab.encode(unseen))) and batch[0, -1] == vocab.pad
    vocab.save(tmp_path / "v.json")
    reloaded = parallel_text.load_vocabulary(tmp_path / "v.json")
    assert reloaded.words == vocab.words and reloaded.encode(unseen) == vocab.encode(unseen)
    parallel_text.Vocabulary.build(train).save(tmp_path / "w.json")
    assert isinstance(parallel_text.load_vocabulary(tmp_path / "w.json"), parallel_text.Vocabulary)


def test_synthetic_pairs_reorder_words_and_are_seeded():
    pairs = parallel_text.make_synthetic(200, seed=1)
    assert pairs.sources == parallel_text.make_synthetic(200, seed=1).sources
    assert len(set(pairs.sources)) > 150
    assert all(s.endswith(" .") and t.endswith(" .") for s, t in zip(pairs.sources, pairs.targets))
    vocab = parallel_text.Vocabulary.build(pairs.targets)
    assert len(vocab) < 50


REFERENCES = ["the cat is on the mat .", "there is a cat on the mat", "a b c d e f"]
TRANSLATIONS = ["the cat is on a mat .", "<start> a cat is on the mat <end>", "a b c x e f <pad>"]


def test_corpus_bleu_equals_nltk_without_special_tokens():
    expected = bleu_score.corpus_bleu(
        [[r.split()] for r in REFERENCES],
        [
            t.replace("<start>", "").replace("<end>", "").replace("<pad>", "").split()
            for t in TRANSLATIONS
        ],
    )
    assert metrics.corpus_bleu(REFERENCES, TRANSLATIONS) == pytest.approx(expected, abs=1e-12)
    assert metrics.corpus_bleu(REFERENCES, REFERENCES) == pytest.approx(1.0)
    assert 0 < expected < 1


def test_an_unknown_word_in_a_translation_counts_as_a_wrong_word():
    reference = ["the cat sat on the mat today ."]
    assert metrics.corpus_bleu(reference, ["the cat sat on the <unk> mat today ."]) < 1.0
    assert metrics.corpus_bleu(reference, ["the cat sat on the <unk> today ."]) == pytest.approx(
        metrics.corpus_bleu(reference, ["the cat sat on the dog today ."]), abs=1e-12
    )


def test_sacrebleu_agrees_with_nltk_on_clean_text_and_gives_its_signature():
    # Text already split on spaces, so sacreBLEU's 13a tokenizer changes nothing.
    references = ["the cat is on the mat today", "there is a cat on the mat", "a b c d e f g"]
    translations = [
        "the cat is on a mat today",
        "<start> a cat is on the mat <end>",
        "a b c x e f g <pad>",
    ]
    score, signature = metrics.sacrebleu_corpus(references, translations)
    assert score == pytest.approx(100 * metrics.corpus_bleu(references, translations), abs=1e-6)
    assert metrics.sacrebleu_corpus(references, references)[0] == pytest.approx(100.0)
    assert signature.startswith("nrefs:1|") and "tok:13a" in signature
    unknown, _ = metrics.sacrebleu_corpus(references[:1], ["the cat is on the <unk> today"])
    assert unknown == pytest.approx(
        metrics.sacrebleu_corpus(references[:1], ["the cat is on the dog today"])[0]
    )


def test_smoothed_sentence_bleu_is_nltk_method1_averaged():
    smoothing = bleu_score.SmoothingFunction().method1
    expected = np.mean(
        [
            bleu_score.sentence_bleu([r.split()], t.split(), smoothing_function=smoothing)
            for r, t in zip(
                REFERENCES, ["the cat is on a mat .", "a cat is on the mat", "a b c x e f"]
            )
        ]
    )
    assert metrics.sentence_bleu_smoothed(REFERENCES, TRANSLATIONS) == pytest.approx(expected)
    assert metrics.sentence_bleu_smoothed(["a b"], ["c d"]) < 0.1  # no match: near 0, not NaN
