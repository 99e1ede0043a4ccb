"""A small Transformer that learns to translate: English to French on small_vocab.

    python recipes/transformer.py                       # built-in synthetic language pair
    python recipes/transformer.py --data ../shared/data/small_vocab --epochs 20
    python recipes/transformer.py translate --model RUN_DIR "new jersey is quiet in april ."

--data takes a folder of two aligned line files (`small_vocab_en` + `small_vocab_fr`), a
Tatoeba `.tsv` (English<TAB>other) or a two-column `.csv` (Russian, English); the default
direction is from English where the data holds it (--source-language to change). Pairs are
cleaned, split 80/10/10 (seeded), and the vocabularies come from the training split.

The model: 2 encoder and 2 decoder layers, d_model 64, 2 heads, feed-forward 128, dropout
0.1, sinusoidal positions, padding and look-ahead masks (zoo.Transformer). Writes, besides
the usual run files: translations.md (20 test sentences: source, reference, greedy, beam),
attention_N.png (cross-attention heat maps), and the vocabularies beside model.keras, so
that `translate --model RUN_DIR` works. metrics.json has corpus BLEU, smoothed sentence BLEU
(greedy and beam) and token accuracy on the test split.
"""

import sys

import translation_common as common  # recipes/translation_common.py: what both recipes share

import zoo
from zoo import training
from zoo.translation import compile_for_translation

# Setup -------------------------------------------------------------------------------------
parser = training.make_parser("transformer", __doc__, epochs=30, batch_size=64)
parser.add_argument(
    "--num-layers",
    "--layers",
    type=training.positive_int,
    default=2,
    help="encoder and decoder layers each",
)
parser.add_argument("--d-model", type=training.positive_int, default=64)
parser.add_argument("--num-heads", "--heads", type=training.positive_int, default=2)
parser.add_argument("--ffn-dim", type=training.positive_int, default=128)
parser.add_argument("--dropout", type=training.unit_interval, default=0.1)
parser.add_argument(
    "--learning-rate",
    type=training.positive_float,
    default=2e-3,
    help="Adam's peak, after a linear warm-up, then cosine decay",
)
common.add_arguments(parser, source_language="en")
if sys.argv[1:2] == ["translate"]:
    sys.exit(common.translate_command(parser.prog, sys.argv[2:]))
run = training.start(
    parser,
    check=lambda config: (
        None
        if config.d_model % config.num_heads == 0
        else f"argument --d-model: {config.d_model} does not split into "
        f"--num-heads {config.num_heads} equal heads"
    ),
)
config = run.config

# Prepare the data: clean, split 80/10/10 (every source sentence in one split), vocabularies
# from the training split, batches of similar lengths ------------------------------------
data = common.prepare_data(run)

# Build the model ---------------------------------------------------------------------------
model = zoo.Transformer(
    len(data.source_vocab),
    len(data.target_vocab),
    num_layers=config.num_layers,
    d_model=config.d_model,
    num_heads=config.num_heads,
    ffn_dim=config.ffn_dim,
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
