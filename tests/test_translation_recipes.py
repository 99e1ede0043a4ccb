"""The translation recipes end to end: synthetic pairs, a TSV, a CSV, bad input, `translate`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import finished_runs
import in_process
import pytest

RECIPES = Path(__file__).parents[1] / "recipes"
TINY_SEQ2SEQ = ["--embedding-dim", "8", "--units", "16"]


def run_recipe(name, *args):
    return subprocess.run(
        [sys.executable, str(RECIPES / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ),
    )


@pytest.mark.slow
@finished_runs.group("transformer")
def test_transformer_recipe_writes_bleu_translations_heat_maps_and_translates(finished_run):
    out, _ = finished_run("transformer")  # 1 epoch of a tiny model on 60 synthetic pairs
    final = json.loads((out / "metrics.json").read_text())["final"]
    for name in (
        "corpus_bleu",
        "sentence_bleu_smoothed",
        "corpus_bleu_beam",
        "sentence_bleu_smoothed_beam",
        "token_accuracy",
    ):
        assert 0.0 <= final[name] <= 1.0, name
    assert 0 <= final["sacrebleu"] <= 100 and 0 <= final["sacrebleu_beam"] <= 100
    assert "tok:13a" in final["sacrebleu_signature"]
    assert final["test_pairs"] == 6
    table = (out / "translations.md").read_text().splitlines()
    assert table[0] == "| source | reference | greedy | beam |" and len(table) == 2 + 6
    for name in (
        "attention_0.png",
        "curves.png",
        "model.keras",
        "source_vocab.json",
        "target_vocab.json",
        "report.md",
    ):
        assert (out / name).stat().st_size > 0, name
    translated = run_recipe(
        "transformer", "translate", "--model", str(out), "The big dog sees a cat.", "a fish ."
    )
    assert translated.returncode == 0, translated.stderr[-3000:]
    assert len(translated.stdout.strip().splitlines()) == 2


@pytest.mark.slow
def test_seq2seq_recipe_reads_a_tatoeba_tsv_russian_to_english(tmp_path):
    tsv = tmp_path / "eng_rus.tsv"
    english = ["I'm home.", "Tom is here.", "It's cold.", "I see a cat.", "We are late."]
    russian = ["Я дома.", "Том здесь.", "Холодно.", "Я вижу кошку.", "Мы опаздываем."]
    tsv.write_text(
        "".join(f"{e}\t{r}\n" for e, r in zip(english, russian))
        + "".join(f"{n} {e}\t{n} {r}\n" for n in range(1, 4) for e, r in zip(english, russian)),
        encoding="utf-8",
    )
    out = tmp_path / "run"
    result = run_recipe(
        "seq2seq",
        *TINY_SEQ2SEQ,
        "--data",
        str(tsv),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "8",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ru -> en: 16 train, 2 validation, 2 test pairs" in result.stdout
    assert "subword vocabularies" in result.stdout  # the default for a TSV
    table = (out / "translations.md").read_text()
    assert any(word in table for word in ("дома", "здесь", "холодно", "кошку", "опаздываем"))
    assert (out / "attention_0.png").stat().st_size > 0
    translated = run_recipe("seq2seq", "translate", "--model", str(out), "Я вижу собаку.")
    assert translated.returncode == 0, translated.stderr[-3000:]
    assert len(translated.stdout.strip().splitlines()) == 1


def test_translation_recipes_name_bad_input_and_leave_nothing(tmp_path, monkeypatch, capsys):
    def run_recipe(name, *args):  # each stops before training: in this process
        return in_process.run_recipe(name, args, monkeypatch, capsys, home=tmp_path)

    tsv = tmp_path / "bad.tsv"
    tsv.write_text("Hi.\tПривет.\nno tab\n", encoding="utf-8")
    result = run_recipe("seq2seq", "--data", str(tsv), "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "bad.tsv:2: no tab" in result.stderr
    assert not (tmp_path / "run").exists()
    tsv.write_text("Hi.\tПривет.\n", encoding="utf-8")
    result = run_recipe(
        "transformer", "--data", str(tsv), "--source-language", "fr", "--out", str(tmp_path / "run")
    )
    assert result.returncode == 2 and "holds en and ru, not fr" in result.stderr
    tsv.write_text("Hi.\tПривет.\nHi. \tПривет. \nhi.\tпривет.\n" * 5, encoding="utf-8")
    result = run_recipe("seq2seq", "--data", str(tsv), "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "bad.tsv: 1 distinct pairs after cleaning" in result.stderr
    assert "too few for an 80/10/10" in result.stderr and not (tmp_path / "run").exists()
    result = run_recipe("transformer", "translate", "--model", str(tmp_path), "hello")
    assert result.returncode == 2 and "not a finished translation run" in result.stderr
