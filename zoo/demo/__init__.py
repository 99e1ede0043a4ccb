"""A local web page to play with zoo's trained models: `python -m zoo.demo [--port 7860]`.

Four tabs: Flowers (samples of the DCGAN or the VAE beside real images, and a walk in latent
space between two seeds), Translate (Russian to English or English to French, greedy or beam,
with the cross-attention heat map), Dogs vs Cats (a photo's probability, and the image as the
model sees it) and Attention (the NumPy reference beside `keras.ops` on small random Q, K, V).
It serves the shipped presets (`zoo.presets`) or run directories given with `--model`, on
127.0.0.1 only, on whichever backend `KERAS_BACKEND` names. Needs the `demo` extra (Gradio).

`zoo.demo.tasks` holds what each tab computes, as plain functions (testable without a
browser); `zoo.demo.app` lays them out as a Gradio page.
"""
