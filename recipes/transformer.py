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

import zoo
from zoo import recipe, translation

# Setup -------------------------------------------------------------------------------------
parser = recipe.make_parser("transformer", __doc__, epochs=30, batch_size=64)
parser.add_argument("--layers", type=int, default=2, help="encoder and decoder layers each")
parser.add_argument("--d-model", type=int, default=64)
parser.add_argument("--heads", type=int, default=2)
parser.add_argument("--ffn-dim", type=int, default=128)
parser.add_argument("--dropout", type=float, default=0.1)
parser.add_argument("--learning-rate", type=float, default=2e-3,
                    help="Adam's peak, after a linear warm-up, then cosine decay")


# Build the model ---------------------------------------------------------------------------
def build_model(config, source_vocab_size, target_vocab_size):
    return zoo.Transformer(source_vocab_size, target_vocab_size, num_layers=config.layers,
                           d_model=config.d_model, num_heads=config.heads,
                           ffn_dim=config.ffn_dim, dropout=config.dropout,
                           max_length=config.max_length + 2)  # + <start>/<end>


# Prepare the data, train, evaluate and report: zoo/translation.py --------------------------
translation.run_recipe(parser, build_model, source_language="en")
