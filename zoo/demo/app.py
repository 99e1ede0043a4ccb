"""The demo's page: four Gradio tabs around `zoo.demo.tasks`.

Each button calls one task; a `DemoError` (bad input) or any other failure becomes a line in
the tab's message box, never a traceback or a dead page. Element ids (`#flowers-draw`, ...)
name what the browser test clicks and reads.
"""

import gradio as gr
import numpy as np

from zoo.demo import tasks


def build(models):
    """The page (a `gr.Blocks`) serving `models` (a `tasks.Models`)."""
    with gr.Blocks(title="zoo demo") as page:
        gr.Markdown(
            "# zoo: trained models to play with\n"
            "Each tab runs one of zoo's shipped presets on this machine."
        )
        with gr.Tab("Flowers", id="flowers"):
            _flowers_tab(models)
        with gr.Tab("Translate", id="translate"):
            _translate_tab(models)
        with gr.Tab("Dogs vs Cats", id="dogs-vs-cats"):
            _classify_tab(models)
        with gr.Tab("Attention", id="attention"):
            _attention_tab()
    return page


def _answer(task, blanks):
    """Wrap a task: its outputs and an empty message, or blank outputs and the message."""

    def run(*inputs):
        try:
            return (*task(*inputs), "")
        except tasks.DemoError as error:
            return (*blanks, f"**Cannot do that:** {error}")
        except Exception as error:  # noqa: BLE001  the page stays alive and says what broke
            return (*blanks, f"**Something went wrong:** {type(error).__name__}: {error}")

    return run


def _flowers_tab(models):
    gr.Markdown(
        "Images drawn by a DCGAN or a VAE trained on Oxford 17 Flowers (64x64), beside real "
        "held-out photos; below, a walk through latent space from this seed to the next."
    )
    with gr.Row():
        kind = gr.Radio(list(tasks.FLOWER_MODELS), value="DCGAN", label="model")
        seed = gr.Number(value=0, precision=0, label="seed")
        count = gr.Number(
            value=16,
            precision=0,
            label=f"count (1 to {tasks.MAX_FLOWERS})",
            elem_id="flowers-count",
        )
    draw = gr.Button("Draw", elem_id="flowers-draw")
    message = gr.Markdown(elem_id="flowers-message")
    with gr.Row():
        samples = gr.Image(label="samples", elem_id="flowers-samples", format="png")
        real = gr.Image(label="real photos", elem_id="flowers-real", format="png")
    walk = gr.Image(label="latent walk", elem_id="flowers-walk", format="png")
    draw.click(
        _answer(lambda *a: tasks.flowers(models, *a), (None, None, None)),
        [kind, seed, count],
        [samples, real, walk, message],
        api_name="flowers",
    )


def _translate_tab(models):
    gr.Markdown(
        "Translation by a small Transformer: Russian to English (Tatoeba) or English to "
        "French (the small_vocab corpus). The heat map shows where each output step looked."
    )
    direction = gr.Radio(list(tasks.DIRECTIONS), value="English → French", label="direction")
    sentence = gr.Textbox(
        label="sentence", value="new jersey is sometimes quiet during autumn .", elem_id="sentence"
    )
    with gr.Row():
        decoding = gr.Radio(["greedy", "beam"], value="beam", label="decoding")
        width = gr.Slider(2, tasks.MAX_BEAM, value=4, step=1, label="beam width")
    button = gr.Button("Translate", elem_id="translate-run")
    message = gr.Markdown(elem_id="translate-message")
    translation = gr.Textbox(label="translation", elem_id="translation", interactive=False)
    heat_map = gr.Image(label="cross-attention", elem_id="translate-attention", format="png")

    def translate(direction, sentence, decoding, width):
        return tasks.translate(models, direction, sentence, 1 if decoding == "greedy" else width)

    button.click(
        _answer(translate, ("", None)),
        [direction, sentence, decoding, width],
        [translation, heat_map, message],
        api_name="translate",
    )


def _classify_tab(models):
    gr.Markdown(
        "A small CNN trained from scratch on Kaggle's Dogs vs Cats photos. Upload a photo of "
        "one cat or one dog (its EXIF orientation is applied, as in training)."
    )
    photo = gr.File(label="photo", type="binary", elem_id="photo")
    button = gr.Button("Classify", elem_id="classify-run")
    message = gr.Markdown(elem_id="classify-message")
    verdict = gr.Markdown(elem_id="classify-verdict")
    seen = gr.Image(label="what the model sees", elem_id="classify-seen", format="png")

    def classify(photo):
        probability, image = tasks.classify(models, photo)
        animal = "dog" if probability >= 0.5 else "cat"
        return f"**{animal}**: P(dog) = {probability:.3f}", image

    button.click(
        _answer(classify, ("", None)), [photo], [verdict, seen, message], api_name="classify"
    )


def _attention_tab():
    gr.Markdown(
        "Scaled dot-product attention, softmax(Q K^T / sqrt(d)) V, on random Q, K and V: "
        "the course's NumPy reference beside zoo's `keras.ops` version on this backend."
    )
    with gr.Row():
        seed = gr.Number(value=0, precision=0, label="seed")
        queries = gr.Slider(1, tasks.MAX_ATTENTION_LENGTH, value=5, step=1, label="queries")
        keys = gr.Slider(1, tasks.MAX_ATTENTION_LENGTH, value=5, step=1, label="keys")
        depth = gr.Slider(1, 64, value=8, step=1, label="depth d")
        causal = gr.Checkbox(value=True, label="causal mask")
    button = gr.Button("Compute", elem_id="attention-run")
    message = gr.Markdown(elem_id="attention-message")
    agreement = gr.Markdown(elem_id="attention-agreement")
    heat_map = gr.Image(label="weights", elem_id="attention-weights", format="png")
    with gr.Row():
        reference = gr.Dataframe(label="NumPy output", elem_id="attention-numpy")
        ops_output = gr.Dataframe(label="keras.ops output", elem_id="attention-keras")

    def compute(seed, queries, keys, depth, causal):
        numpy_out, keras_out, weights, difference = tasks.attention(
            seed, queries, keys, depth, causal
        )
        rounded = [np.round(out, 4).tolist() for out in (numpy_out, keras_out)]
        return f"largest difference: {difference:.2e}", weights, *rounded

    button.click(
        _answer(compute, ("", None, None, None)),
        [seed, queries, keys, depth, causal],
        [agreement, heat_map, reference, ops_output, message],
        api_name="attention",
    )
