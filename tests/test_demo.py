"""`python -m zoo.demo`: the tasks behind its tabs, their answers to bad input, and the page
itself driven in headless Chromium (the distribution's /usr/bin/chromium, through Playwright's
Python client; `.ci/run` installs both). Screenshots of each tab go to the test's folder."""

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo.demo import tasks
from zoo.demo.server import DemoServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def needs(*presets):
    missing = [name for name in presets if name not in zoo.presets.available()]
    return pytest.mark.skipif(bool(missing), reason=f"presets not shipped: {missing}")


@pytest.fixture(scope="module")
def models():
    return tasks.Models()


# The tasks, without a browser ------------------------------------------------------------------


@needs("dcgan_oxford17")
def test_flowers_are_drawn_from_the_seed(models):
    grid, real, walk = tasks.flowers(models, "DCGAN", seed=3, count=5)
    again, _, _ = tasks.flowers(models, "DCGAN", seed=3, count=5)
    other, _, _ = tasks.flowers(models, "DCGAN", seed=4, count=5)
    assert grid.shape == (2 + 64 + 2, 5 * 66 + 2, 3) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid, again)
    assert np.abs(grid.astype(int) - other).mean() > 1
    assert walk.shape == (68, tasks.WALK_STEPS * 66 + 2, 3)
    assert Path(real).name == "real.png"


@pytest.mark.parametrize("count", [0, 10_000, 2.5, "many"])
def test_a_flower_count_out_of_bounds_is_refused(models, count):
    with pytest.raises(tasks.DemoError, match="count: give a whole number from 1 to 64"):
        tasks.flowers(models, "DCGAN", 0, count)


@needs("transformer_small_vocab_en_fr")
@pytest.mark.parametrize(
    "sentence, message",
    [
        ("", "type a sentence"),
        ("   ", "type a sentence"),
        (" ".join(["word"] * 300), "300 words: this model translates sentences of at most 30"),
        ("я вижу собаку", "translates English: the text holds Cyrillic"),
        ("der hund schläft im garten", "unknown to the model"),
    ],
)
def test_a_sentence_it_cannot_translate_is_refused(models, sentence, message):
    with pytest.raises(tasks.DemoError, match=message):
        tasks.translate(models, "English → French", sentence, beam_width=4)


@needs("transformer_small_vocab_en_fr")
def test_a_test_sentence_is_translated_with_its_heat_map(models):
    source, greedy = preset_example("transformer_small_vocab_en_fr")
    translation, heat_map = tasks.translate(models, "English → French", source, beam_width=1)
    assert translation == greedy
    assert Image.open(heat_map).size[0] > 100


def test_russian_must_be_written_in_cyrillic(models):
    with pytest.raises(tasks.DemoError, match="translates Russian: type the sentence in Cyrillic"):
        tasks.translate(models, "Russian → English", "I see a dog", beam_width=1)


@needs("cnn_aug_dogs_vs_cats")
@pytest.mark.parametrize(
    "make, message",
    [
        (lambda tmp: b"", "upload a photo"),
        (lambda tmp: b"plain text, not a picture", "refused: not a decodable image"),
        (lambda tmp: bomb(tmp), "refused, too many pixels"),
        (lambda tmp: b"\xff" * (tasks.MAX_PHOTO_BYTES + 1), "photos up to 20 MB"),
    ],
)
def test_a_file_that_is_not_a_usable_photo_is_refused(models, make, message, tmp_path):
    with pytest.raises(tasks.DemoError, match=message):
        tasks.classify(models, make(tmp_path))


@needs("cnn_aug_dogs_vs_cats")
def test_a_photo_is_classified_upright(models, tmp_path):
    photo = photo_bytes(tmp_path, rotated=False)
    probability, seen = tasks.classify(models, photo)
    assert 0 <= probability <= 1 and seen.shape == (128, 128, 3)
    # The same photo stored sideways with an EXIF orientation tag: the model sees it upright.
    rotated_probability, rotated_seen = tasks.classify(models, photo_bytes(tmp_path, rotated=True))
    assert np.abs(rotated_seen.astype(int) - seen).mean() < 3
    assert abs(rotated_probability - probability) < 0.05


def test_attention_agrees_with_the_numpy_reference():
    reference, output, heat_map, difference = tasks.attention(0, 4, 4, 8, causal=True)
    assert reference.shape == output.shape == (4, 8) and difference < 1e-5
    assert Path(heat_map).exists()
    with pytest.raises(tasks.DemoError, match="causal mask needs as many queries as keys"):
        tasks.attention(0, 3, 5, 8, causal=True)


@needs("dcgan_oxford17")
def test_two_requests_at_once_are_both_answered(models):
    answers = []
    threads = [
        threading.Thread(target=lambda s=s: answers.append(tasks.flowers(models, "DCGAN", s, 8)))
        for s in (1, 2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(answers) == 2


# The page, in a real browser -------------------------------------------------------------------


@pytest.mark.slow  # a server and a browser
@needs("dcgan_oxford17", "transformer_small_vocab_en_fr", "cnn_aug_dogs_vs_cats")
def test_the_page_in_chromium(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="the browser extra")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run installs Debian's chromium package")
    server = DemoServer(log=tmp_path / "server.log")
    with server as url, playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        page.goto(url)

        # Flowers: two pages ask at once; both get their samples.
        other = browser.new_page()
        other.goto(url)
        page.click("#flowers-draw")
        other.click("#flowers-draw")
        for each in (page, other):
            each.wait_for_selector("#flowers-samples img", timeout=180_000)
        page.wait_for_selector("#flowers-real img")
        page.screenshot(path=tmp_path / "flowers.png", full_page=True)
        page.fill("#flowers-count input", "0")
        page.click("#flowers-draw")
        page.wait_for_selector("#flowers-message:has-text('count: give a whole number')")

        # Translate: a sentence of the preset's test split, greedy.
        source, greedy = preset_example("transformer_small_vocab_en_fr")
        page.get_by_role("tab", name="Translate").click()
        page.fill("#sentence textarea", source)
        page.get_by_label("greedy").check()
        page.click("#translate-run")
        page.wait_for_function(
            "document.querySelector('#translation textarea').value.length > 0", timeout=180_000
        )
        assert page.input_value("#translation textarea") == greedy
        page.wait_for_selector("#translate-attention img")
        page.screenshot(path=tmp_path / "translate.png", full_page=True)

        # Dogs vs Cats: a photo, then a file that is not one.
        page.get_by_role("tab", name="Dogs vs Cats").click()
        photo = tmp_path / "pet.jpg"
        photo.write_bytes(photo_bytes(tmp_path, rotated=False))
        page.set_input_files("#photo input[type=file]", str(photo))
        page.click("#classify-run")
        page.wait_for_selector("#classify-verdict:has-text('P(dog)')", timeout=180_000)
        page.screenshot(path=tmp_path / "dogs_vs_cats.png", full_page=True)
        text = tmp_path / "notes.txt"
        text.write_text("not a photo")
        page.reload()  # a fresh upload box (the used one shows its file instead)
        page.get_by_role("tab", name="Dogs vs Cats").click()
        page.set_input_files("#photo input[type=file]", str(text))
        page.click("#classify-run")
        page.wait_for_selector("#classify-message:has-text('not a decodable image')")

        # Attention: the NumPy reference and keras.ops agree.
        page.get_by_role("tab", name="Attention").click()
        page.click("#attention-run")
        page.wait_for_selector("#attention-agreement:has-text('largest difference')")
        shown = page.inner_text("#attention-agreement")
        assert float(shown.split(":")[1]) < 1e-5
        page.wait_for_selector("#attention-weights img")
        page.screenshot(path=tmp_path / "attention.png", full_page=True)
        browser.close()
    for name in ("flowers", "translate", "dogs_vs_cats", "attention"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


# Helpers ---------------------------------------------------------------------------------------


def preset_example(name):
    """The first (source, greedy translation) row of a translator preset's examples.md."""
    rows = (zoo.presets.path(name) / "examples.md").read_text(encoding="utf-8").splitlines()
    cells = [cell.strip() for cell in rows[2].strip("|").split(" | ")]
    return cells[0], cells[2]


def photo_bytes(tmp_path, rotated):
    """A JPEG of one of the built-in synthetic pets; `rotated`: stored turned a quarter and
    tagged with EXIF orientation 6 (turn it back to view), as phones do."""
    from zoo.datasets import cats_vs_dogs

    folder = cats_vs_dogs.make_synthetic(count=2)
    photo = Image.open(sorted(Path(folder).glob("*.jpg"))[0]).convert("RGB")
    path = tmp_path / f"photo-{rotated}.jpg"
    if rotated:
        exif = Image.Exif()
        exif[0x0112] = 6
        photo.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif, quality=95)
    else:
        photo.save(path, quality=95)
    return path.read_bytes()


def bomb(tmp_path):
    """A tiny PNG that claims far more pixels than Pillow will decode."""
    path = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(path)
    return path.read_bytes()
