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

import zoo
from zoo import recipe, translation

# Setup -------------------------------------------------------------------------------------
parser = recipe.make_parser("seq2seq", __doc__, epochs=30, batch_size=64)
parser.add_argument("--embedding-dim", type=int, default=64)
parser.add_argument("--units", type=int, default=128)
parser.add_argument("--learning-rate", type=float, default=5e-3,
                    help="Adam's peak, after a linear warm-up, then cosine decay")


# Build the model ---------------------------------------------------------------------------
def build_model(config, source_vocab_size, target_vocab_size):
    return zoo.Seq2SeqAttention(source_vocab_size, target_vocab_size,
                                embedding_dim=config.embedding_dim, units=config.units)


# Prepare the data, train, evaluate and report: zoo/translation.py --------------------------
translation.run_recipe(parser, build_model, source_language="ru")
