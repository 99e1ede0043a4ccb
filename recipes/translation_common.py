"""What recipes/transformer.py and recipes/seq2seq.py share: they differ in the model only.

Not a recipe itself. Each step is one function the recipes call in order:

    add_arguments(parser, source_language="en")     # the translation flags
    data = prepare_data(run)                        # clean, split, vocabularies, batches
    ...                                             # the recipe builds and fits its model
    translations = translate_test_split(run, model, data)   # greedy and with beams
    final = scores(run, model, data, translations)          # BLEU, token accuracy
    report(run, model, data, translations, final)   # examples, heat maps, Translator, report

and `translate_command(prog, argv)` serves `python RECIPE translate --model RUN_DIR "..."`.
What is library material (teacher forcing, length batching, `Translator`, BLEU) is in
`zoo.translation`, `zoo.decoding` and `zoo.metrics`.
"""

import argparse
from dataclasses import dataclass
from pathlib import Path

from zoo import metrics, plots, training
from zoo.datasets import DataError, parallel_text
from zoo.datasets.parallel_text import Pairs, SubwordVocabulary, Vocabulary
from zoo.presets import PresetError
from zoo.translation import LengthBatches, Translator, teacher_forcing


def add_arguments(parser, source_language):
    """The flags of both translation recipes; `source_language` is the recipe's default
    direction where the data holds it (e.g. "ru" for the Tatoeba English-Russian TSV)."""
    group = parser.add_argument_group("translation")
    group.add_argument(
        "--source-language",
        default=None,
        help=f"direction: the input's language to translate from (default: "
        f"{source_language} if the data holds it, else its first)",
    )
    group.add_argument(
        "--max-length",
        type=training.positive_int,
        default=30,
        help="pairs with a longer side (in words) are dropped (default: %(default)s)",
    )
    group.add_argument(
        "--tokenizer",
        choices=("word", "subword"),
        default=None,
        help="word: a vocabulary of whole words, the rest <unk>; subword: "
        "SentencePiece unigram pieces learned from the training split "
        "(default: subword for a .tsv or .csv such as Tatoeba's, word for "
        "the aligned files of small_vocab and the synthetic pairs)",
    )
    group.add_argument(
        "--vocab-size",
        type=training.at_least(5),
        default=None,
        help="per language, special tokens included (default: 10000 words or 4000 subword pieces)",
    )
    group.add_argument(
        "--min-count",
        type=training.positive_int,
        default=1,
        help="word tokenizer: rarer words become <unk> (default: %(default)s)",
    )
    group.add_argument(
        "--label-smoothing",
        type=training.unit_interval,
        default=0.0,
        help="of the training targets, e.g. 0.1 (default: %(default)s)",
    )
    group.add_argument(
        "--beam-width",
        type=training.positive_int,
        default=4,
        help="of the beam search that translates the test split; 1: greedy (default: %(default)s)",
    )
    group.add_argument(
        "--synthetic-pairs",
        type=training.positive_int,
        default=4000,
        help="size of the built-in synthetic language pair (without --data)",
    )
    parser.set_defaults(recipe_source_language=source_language)  # for prepare_data


@dataclass
class TranslationData:
    pairs: Pairs  # every pair after cleaning (its languages name the run)
    train: Pairs
    val: Pairs
    test: Pairs
    source_vocab: Vocabulary  # a SubwordVocabulary with --tokenizer subword
    target_vocab: Vocabulary
    unknown_rates: dict  # the test split's <unk> rates (of words), source and target
    max_target_tokens: int  # the longest translation decoding may produce
    train_batches: LengthBatches  # teacher-forced, shuffled by (seed, epoch)
    val_batches: LengthBatches
    test_batches: LengthBatches


def prepare_data(run):
    """Load (or draw) the pairs, in the recipe's direction where the data holds it, clean them,
    split 80/10/10 with every source sentence in one split, build the vocabularies from the
    training split and batch the three splits."""
    config = run.config
    if config.data is None:
        pairs = parallel_text.make_synthetic(config.synthetic_pairs, seed=config.seed)
    else:
        try:
            pairs = parallel_text.load(config.data, source_language=config.source_language)
        except DataError as error:
            run.abort(str(error))
        if (
            config.source_language is None
            and pairs.target_language == config.recipe_source_language
        ):
            pairs = pairs.reversed()  # this recipe's default direction, where the data has it
    pairs = parallel_text.prepare(pairs, config.max_length)
    split = parallel_text.split(pairs, seed=config.seed)
    train, val, test = (pairs.select(indices) for indices in split.parts().values())
    if not (len(train) and len(val) and len(test)):
        run.abort(
            f"{config.data or 'the synthetic pairs'}: {len(pairs)} distinct pairs after "
            f"cleaning (dropped {pairs.dropped or 'none'}), too few for an 80/10/10 "
            f"train/validation/test split"
        )
    if config.from_preset:  # fine-tuning: the preset's vocabularies, not new ones
        try:
            preset = Translator.from_preset(config.from_preset)
        except PresetError as error:
            run.abort(f"--from-preset: {error}")
        source_vocab, target_vocab = preset.source_vocab, preset.target_vocab
    elif tokenizer(config) == "subword":
        source_vocab, target_vocab = (
            SubwordVocabulary.build(sentences, config.vocab_size or 4000)
            for sentences in (train.sources, train.targets)
        )
    else:
        source_vocab, target_vocab = (
            Vocabulary.build(sentences, config.vocab_size or 10_000, config.min_count)
            for sentences in (train.sources, train.targets)
        )
    if isinstance(target_vocab, SubwordVocabulary):
        # Up to the longest training target in pieces (a word is one to a few of them).
        max_target_tokens = max(len(target_vocab.encode(t, end=False)) for t in train.targets)
    else:
        max_target_tokens = config.max_length
    unknown = {
        "source_unk_rate": source_vocab.unknown_rate(test.sources),
        "target_unk_rate": target_vocab.unknown_rate(test.targets),
    }
    print(
        f"{pairs.source_language} -> {pairs.target_language}: {len(train)} train, "
        f"{len(val)} validation, {len(test)} test pairs; dropped {pairs.dropped or 'none'}; "
        f"{vocabulary_kind(source_vocab)} vocabularies of {len(source_vocab)} / "
        f"{len(target_vocab)} tokens; test words that are <unk>: "
        f"{unknown['source_unk_rate']:.2%} / {unknown['target_unk_rate']:.2%}"
    )
    batches = [
        LengthBatches(
            *teacher_forcing(split, source_vocab, target_vocab),
            config.batch_size,
            shuffle=split is train,
            seed=config.seed,
        )
        for split in (train, val, test)
    ]
    return TranslationData(
        pairs, train, val, test, source_vocab, target_vocab, unknown, max_target_tokens, *batches
    )


def vocabulary_kind(vocabulary):
    """ "subword" or "word": what a vocabulary (built here, or a preset's) splits text into."""
    return "subword" if isinstance(vocabulary, SubwordVocabulary) else "word"


def tokenizer(config):
    """--tokenizer, or its default: subword for a .tsv or .csv file, word otherwise."""
    if config.tokenizer:
        return config.tokenizer
    is_table = config.data is not None and Path(config.data).suffix.lower() in (".tsv", ".csv")
    return "subword" if is_table else "word"


@dataclass
class TestTranslations:
    encoded: list  # the test sources as ids
    greedy: list  # sentences
    beam: list


def translate_test_split(run, model, data):
    """The test split's sources translated greedily and with `--beam-width` beams."""
    config, test = run.config, data.test
    translator = Translator(model, data.source_vocab, data.target_vocab, data.max_target_tokens)
    encoded = [data.source_vocab.encode(sentence) for sentence in test.sources]  # clean
    print(f"decoding {len(test)} test sentences, greedy and with beams of {config.beam_width}")
    greedy = translator.translate_ids(encoded)
    beam = translator.translate_ids(encoded, beam_width=config.beam_width)
    return TestTranslations(
        encoded,
        [data.target_vocab.decode(ids) for ids in greedy],
        [data.target_vocab.decode(ids) for ids in beam],
    )


def scores(run, model, data, translations):
    """Corpus BLEU (nltk and sacreBLEU), smoothed sentence BLEU, greedy and beam, and the
    teacher-forced token accuracy on the test split."""
    references, greedy, beam = data.test.targets, translations.greedy, translations.beam
    sacrebleu_greedy, signature = metrics.sacrebleu_corpus(references, greedy)
    return {
        "corpus_bleu": metrics.corpus_bleu(references, greedy),
        "sacrebleu": sacrebleu_greedy,
        "sacrebleu_beam": metrics.sacrebleu_corpus(references, beam)[0],
        "sacrebleu_signature": signature,
        "sentence_bleu_smoothed": metrics.sentence_bleu_smoothed(references, greedy),
        "corpus_bleu_beam": metrics.corpus_bleu(references, beam),
        "sentence_bleu_smoothed_beam": metrics.sentence_bleu_smoothed(references, beam),
        "token_accuracy": model.evaluate(data.test_batches, verbose=0, return_dict=True)[
            "accuracy"
        ],
        **data.unknown_rates,
        "tokenizer": vocabulary_kind(data.source_vocab),
        "vocab_sizes": [len(data.source_vocab), len(data.target_vocab)],
        "test_pairs": len(data.test),
        "train_minutes": round(run.training_seconds() / 60, 2),
    }


def report(run, model, data, translations, final):
    """translations.md (20 test sentences), three cross-attention heat maps, the
    vocabularies beside the model (for `translate`), then the run's report."""
    test = data.test
    rows = ["| source | reference | greedy | beam |", "| --- | --- | --- | --- |"]
    rows += [
        f"| {s} | {r} | {g} | {b} |"
        for s, r, g, b in list(
            zip(test.sources, test.targets, translations.greedy, translations.beam)
        )[:20]
    ]
    run.path("translations.md").write_text("\n".join(rows) + "\n", encoding="utf-8")
    translator = Translator(model, data.source_vocab, data.target_vocab, data.max_target_tokens)
    heat_maps = [
        plot_cross_attention(
            translator,
            translations.encoded[index],
            translations.greedy[index],
            run.path(f"attention_{index}.png"),
        )
        for index in range(min(3, len(test)))
    ]
    translator.save(run.dir)
    run.finish(
        final=final,
        report="## Test translations\n\n"
        + "\n".join(rows)
        + "\n\n"
        + "\n".join(f"![attention]({path.name})" for path in heat_maps)
        + "\n",
        title=f"{type(model).__name__}, {data.pairs.source_language} -> "
        f"{data.pairs.target_language} "
        f"({'synthetic pairs' if run.config.data is None else run.config.data})",
    )


def plot_cross_attention(translator, source_ids, translation, path):
    """Heat map of the last cross-attention (mean over heads) for one greedy translation."""
    weights, target_tokens, source_tokens = translator.cross_attention(source_ids, translation)
    return plots.plot_attention(
        weights,
        path,
        query_labels=target_tokens,
        key_labels=source_tokens,
        title=f"{type(translator.model).__name__} cross-attention: which source word each "
        "step reads",
    )


def translate_command(prog, argv):
    """`python RECIPE translate --model RUN_DIR [--beam-width N] "sentence" ...`"""
    parser = argparse.ArgumentParser(
        prog=f"{prog} translate", description="Translate sentences with a finished run."
    )
    parser.add_argument("--model", type=Path, required=True, help="the run directory")
    parser.add_argument(
        "--beam-width", type=training.positive_int, default=1, help="1: greedy (default)"
    )
    parser.add_argument("sentences", nargs="+")
    args = parser.parse_args(argv)
    try:
        translator = Translator.load(args.model)
    except FileNotFoundError as error:
        parser.error(str(error))
    for sentence in translator.translate(args.sentences, beam_width=args.beam_width):
        print(sentence)
