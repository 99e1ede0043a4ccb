"""An LSTM encoder-decoder with scaled dot-product attention: Russian to English on Tatoeba.

    python recipes/seq2seq.py                           # built-in synthetic language pair
    python recipes/seq2seq.py --data eng_rus.tsv        # Tatoeba pairs, Russian -> English
    python recipes/seq2seq.py --data ../shared/data/small_vocab     # English -> French
    python recipes/seq2seq.py translate --model RUN_DIR "я дома ."

--data takes a folder of two aligned line files (`small_vocab_en` + `small_vocab_fr`), a
Tatoeba `.tsv` (English<TAB>Russian[<TAB>attribution]) or a two-column `.csv` (Russian,
English); the default direction is from Russian where the data holds it, else from the
data's first language (--source-language to change). Pairs are cleaned, split 80/10/10
(seeded), and the vocabularies come from the training split.

The model (zoo.Seq2SeqAttention): embedding 64 and an LSTM of 128 units on each side; the
decoder's outputs attend over the encoder's (zoo.attention, padding masked). Writes the same
files as recipes/transformer.py: translations.md, attention_N.png, BLEU in metrics.json, and
the vocabularies beside model.keras for `translate --model RUN_DIR`.
"""

import sys

import translation_common as common  # recipes/translation_common.py: what both recipes share

import zoo
from zoo import training
from zoo.translation import compile_for_translation

# Setup -------------------------------------------------------------------------------------
parser = training.make_parser("seq2seq", __doc__, epochs=30, batch_size=64)
parser.add_argument("--embedding-dim", type=training.positive_int, default=64)
parser.add_argument("--units", type=training.positive_int, default=128)
parser.add_argument(
    "--dropout",
    type=training.unit_interval,
    default=0.0,
    help="from both embeddings and before the output layer (default: %(default)s)",
)
parser.add_argument(
    "--learning-rate",
    type=training.positive_float,
    default=5e-3,
    help="Adam's peak, after a linear warm-up, then cosine decay",
)
common.add_arguments(parser, source_language="ru")
if sys.argv[1:2] == ["translate"]:
    sys.exit(common.translate_command(parser.prog, sys.argv[2:]))
run = training.start(parser)
config = run.config

# Prepare the data: clean, split 80/10/10 (every source sentence in one split), vocabularies
# from the training split, batches of similar lengths ------------------------------------
data = common.prepare_data(run)

# Build the model ---------------------------------------------------------------------------
model = zoo.Seq2SeqAttention(
    len(data.source_vocab),
    len(data.target_vocab),
    embedding_dim=config.embedding_dim,
    units=config.units,
    dropout=config.dropout,
)
run.start_from_preset(model)  # with --from-preset: its weights

# Train it, teacher-forced: Adam with warm-up and cosine decay ------------------------------
compile_for_translation(
    model,
    config.learning_rate,
    config.epochs * len(data.train_batches),
    label_smoothing=config.label_smoothing,
)
run.fit(model, data.train_batches, validation_data=data.val_batches, epochs=config.epochs)

# Evaluate on the test split: greedy and beam translations, BLEU ----------------------------
translations = common.translate_test_split(run, model, data)
final = common.scores(run, model, data, translations)

# Report: example translations, attention heat maps, the vocabularies for `translate` -------
common.report(run, model, data, translations, final)
