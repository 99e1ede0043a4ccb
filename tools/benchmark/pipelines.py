"""Each image recipe's input pipeline alone, on the real images of ../shared/data."""

import os
import time

# Which input pipeline feeds which model: the recipe's data at the model's full size.
PIPELINES = {
    "small-cnn": ("dogs_vs_cats/train", 150),
    "compact-cnn": ("dogs_vs_cats/train", 128),
    "dcgan": ("oxford17", 64),
    "dcgan-augment-ema": ("oxford17", 64),
    "vae": ("oxford17", 64),
}


def pipeline_images_per_s(data_root, models, batches_timed):
    """Each image recipe's input pipeline alone, on the real images under `data_root`:
    decoded once into the cache (as the recipes do; `load_s` is that first load, or the
    cache read), then the uint8 batches `ImageBatches` gives a training epoch (the models
    scale and augment inside, on the backend). For the flowers the [0, 1] scaling the
    generative recipes do is included."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from zoo.datasets import ImageBatches, cats_vs_dogs, flowers

    results = {}
    for folder, size in dict.fromkeys(PIPELINES[m] for m in models if m in PIPELINES):
        source = data_root / folder
        if not source.exists():
            continue
        begin = time.perf_counter()
        loader = cats_vs_dogs if folder.startswith("dogs") else flowers
        data = loader.load(source, size, progress=lambda *_: None)
        load_seconds = time.perf_counter() - begin
        batches = ImageBatches(data.images, data.labels, 32, shuffle=True)
        count = min(len(batches), batches_timed)
        begin = time.perf_counter()
        for index in range(count):
            images, _ = batches[index]
            if loader is flowers:
                images = images.astype("float32") / 255.0
        results[f"{folder} {size}px"] = {
            "images_per_s": round(count * 32 / (time.perf_counter() - begin)),
            "images": len(data.images),
            "load_s": round(load_seconds, 1),
        }
    return results
