"""Dogs vs Cats: a CNN from scratch, the same CNN with augmentation, MobileNetV2 transfer.

    python recipes/cats_vs_dogs.py                        # built-in synthetic images, cnn-aug
    python recipes/cats_vs_dogs.py --data train.zip --model all
    KERAS_BACKEND=jax python recipes/cats_vs_dogs.py --data ../shared/data/dogs_vs_cats/train

--data takes the Kaggle train.zip, the folder it unpacks to (cat.N.jpg, dog.N.jpg), or an
already split folder (train/cats, train/dogs, val/cats, val/dogs). Every image is checked and
decoded once (cached), then split 80/20, stratified and seeded; nothing is copied.

--model cnn        the CNN from scratch (--cnn compact: batch norm + global pooling, the
                   default; --cnn small: the classic 19M-parameter CNN)
--model cnn-aug    the same CNN with random rotation, shifts, flips and zoom in training
--model mobilenetv2  frozen MobileNetV2 + a new head trained on features computed once,
                   then --fine-tune-epochs at a low learning rate with the top layers unfrozen
--model all        the three, and a comparison table and plot
"""

import json

import zoo  # before Keras: it starts the backend without TensorFlow's start-up logs

# isort: split
import keras
import numpy as np

from zoo import distribute, plots, training
from zoo.datasets import DataError, ImageBatches, cats_vs_dogs

# Setup -------------------------------------------------------------------------------------
parser = training.make_parser("cats_vs_dogs", __doc__, epochs=15, batch_size=32)
parser.add_argument("--model", choices=["cnn", "cnn-aug", "mobilenetv2", "all"], default="cnn-aug")
parser.add_argument(
    "--cnn",
    choices=["compact", "small"],
    default="compact",
    help="the from-scratch architecture (default: %(default)s)",
)
parser.add_argument(
    "--image-size",
    type=training.at_least(32),
    default=None,
    help="pixels per side, at least 32 (default: 128 on real data, 64 on synthetic)",
)
parser.add_argument("--learning-rate", type=training.positive_float, default=1e-3)
parser.add_argument("--val-fraction", type=training.fraction, default=0.2)
parser.add_argument(
    "--weights",
    default=None,
    help="mobilenetv2: 'imagenet' (needs a network), a local weights file "
    "of the no-top base, or omitted for random initialisation",
)
parser.add_argument(
    "--fine-tune-epochs",
    type=training.non_negative_int,
    default=0,
    help="mobilenetv2: epochs of fine-tuning after the frozen stage",
)
parser.add_argument(
    "--fine-tune-layers",
    type=training.positive_int,
    default=30,
    help="mobilenetv2: how many top layers of the base to unfreeze",
)
parser.add_argument(
    "--synthetic-images",
    type=training.positive_int,
    default=1200,
    help="size of the built-in synthetic data set (without --data)",
)
run = training.start(parser)
config = run.config

# Prepare the data --------------------------------------------------------------------------
source = config.data or cats_vs_dogs.make_synthetic(count=config.synthetic_images)
image_size = config.image_size or (128 if config.data else 64)
try:
    images = cats_vs_dogs.load(source, image_size)
except DataError as error:
    run.abort(str(error))
split = cats_vs_dogs.split(images, config.val_fraction, config.seed)
images.write_split(split, run.path("split.json"))
print(f"split: {json.dumps(images.counts(split))} -> {run.path('split.json')}")
# The batches read the decoded (memory-mapped) images in place: no copy of either part.
y_train, y_val = images.labels[split.train], images.labels[split.val]
names = np.array(cats_vs_dogs.CLASS_NAMES)
for part, indices in (("train", split.train), ("val", split.val)):
    shown = np.sort(np.random.default_rng(config.seed).permutation(indices)[:24])
    plots.plot_image_grid(
        images.images[shown],
        run.path(f"samples_{part}.png"),
        labels=names[images.labels[shown]],
        title=f"{part}: {len(indices)} images",
    )


def batches(indices, batch_size=config.batch_size, shuffle=False):
    return ImageBatches(
        images.images, images.labels, batch_size, shuffle=shuffle, seed=config.seed, indices=indices
    )


train_batches = batches(split.train, shuffle=True)
val_batches = batches(split.val)


# Build the models --------------------------------------------------------------------------
def build_cnn(augment):
    architecture = {"compact": zoo.CompactCNN, "small": zoo.SmallCNN}[config.cnn]
    model = architecture(image_size=image_size, augment=augment, seed=config.seed)
    run.start_from_preset(model)
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=config.epochs * len(train_batches), alpha=0.05
    )
    model.compile(keras.optimizers.Adam(schedule), "binary_crossentropy", metrics=["accuracy"])
    return model


# Train -------------------------------------------------------------------------------------
def train_cnn(stage, augment):
    model = build_cnn(augment)
    stage.fit(model, train_batches, validation_data=val_batches, epochs=config.epochs)
    return model


def train_transfer(stage):
    if config.weights is None:
        print(
            "warning: MobileNetV2 without pretrained weights (--weights): its frozen random "
            "base passes near-zero features (about 1e-11), so the frozen stage learns "
            "nothing; pass --weights imagenet or a local file, or use --model cnn-aug",
            flush=True,
        )
    model = zoo.MobileNetV2Transfer(image_size=image_size, weights=config.weights)
    # Frozen stage: the base never changes, so each image's features are computed once.
    features_file = stage.path("features.npz")
    if features_file.exists():
        cached = np.load(features_file)
        train_features, val_features = cached["train"], cached["val"]
    else:
        inputs = keras.Input((image_size, image_size, 3))
        extractor = keras.Model(inputs, model.features(inputs))
        print("computing MobileNetV2 features once for the frozen stage")
        train_features = distribute.predict(
            extractor, batches(split.train, 64), verbose=run.verbose
        )
        val_features = distribute.predict(extractor, val_batches, verbose=run.verbose)
        np.savez(features_file, train=train_features, val=val_features)
    model.head.compile(
        keras.optimizers.Adam(config.learning_rate), "binary_crossentropy", metrics=["accuracy"]
    )
    head_batches = ImageBatches(
        train_features, y_train, config.batch_size, shuffle=True, seed=config.seed
    )
    stage.fit(
        model.head,
        head_batches,
        validation_data=(val_features, y_val),
        epochs=config.epochs,
        save=False,
    )  # the whole model is saved below
    if config.fine_tune_epochs:
        model.unfreeze_top(config.fine_tune_layers)
        model.compile(keras.optimizers.Adam(1e-5), "binary_crossentropy", metrics=["accuracy"])
        stage.fit(
            model,
            train_batches,
            validation_data=val_batches,
            initial_epoch=config.epochs,
            epochs=config.epochs + config.fine_tune_epochs,
            backup="backup_fine_tune",
        )
    return model


# Evaluate ----------------------------------------------------------------------------------
def evaluate(stage, model, title):
    probabilities = distribute.predict(model, val_batches).reshape(-1)
    predicted = (probabilities >= 0.5).astype(int)
    confusion = {
        f"true {names[t]}": {
            f"predicted {names[p]}": int(np.sum((y_val == t) & (predicted == p))) for p in (0, 1)
        }
        for t in (0, 1)
    }
    wrong = np.flatnonzero(predicted != y_val)[:32]
    if len(wrong):
        plots.plot_image_grid(
            images.images[split.val[wrong]],
            stage.path("misclassified.png"),
            labels=[f"{names[y_val[i]]}, p(dog)={probabilities[i]:.2f}" for i in wrong],
            title=f"{title}: misclassified validation images (true label, prediction)",
        )
    history = stage.history()
    final = {
        "val_accuracy": float(np.mean(predicted == y_val)),
        "best_val_accuracy": max(history.get("val_accuracy", [0.0])),
        "epochs": len(history.get("loss", [])),
        "parameters": int(model.count_params()),
        "train_minutes": round(stage.training_seconds() / 60, 2),
        "confusion": confusion,
    }
    rows = "\n".join(
        f"| {t} | {c[f'predicted {names[0]}']} | {c[f'predicted {names[1]}']} |"
        for t, c in confusion.items()
    )
    report = f"| | predicted cat | predicted dog |\n| --- | --- | --- |\n{rows}\n\n" + (
        "![misclassified](misclassified.png)\n" if len(wrong) else ""
    )
    stage.finish(model, final=final, report=report, title=title)
    return final


TITLES = {
    "cnn": f"{config.cnn} CNN",
    "cnn-aug": f"{config.cnn} CNN + augmentation",
    "mobilenetv2": "MobileNetV2 transfer",
}
results, histories = {}, {}
for name in ["cnn", "cnn-aug", "mobilenetv2"] if config.model == "all" else [config.model]:
    stage = run.stage(name)
    if stage.finished:  # a resumed `all` run keeps the models it already trained
        print(f"{name}: already trained in {stage.dir}")
        results[name] = json.loads(stage.path("metrics.json").read_text())["final"]
    else:
        print(f"\n== {TITLES[name]} ==")
        model = (
            train_transfer(stage)
            if name == "mobilenetv2"
            else train_cnn(stage, augment=name == "cnn-aug")
        )
        results[name] = evaluate(stage, model, TITLES[name])
    histories[name] = stage.history()

# Report ------------------------------------------------------------------------------------
table = [
    "| model | val accuracy | best val accuracy | epochs | parameters | minutes |",
    "| --- | --- | --- | --- | --- | --- |",
]
table += [
    f"| [{TITLES[n]}]({n}/report.md) | {r['val_accuracy']:.4f} | "
    f"{r['best_val_accuracy']:.4f} | {r['epochs']} | {r['parameters']:,} | "
    f"{r['train_minutes']} |"
    for n, r in results.items()
]
report = "\n".join(table) + "\n\n![train samples](samples_train.png)\n"
if len(results) > 1:
    plots.plot_comparison(histories, run.path("comparison.png"), title="Dogs vs Cats")
    run.path("comparison.json").write_text(json.dumps(results, indent=2) + "\n")
    run.path("comparison.md").write_text("\n".join(table) + "\n")
    report += "\n![comparison](comparison.png)\n"
run.finish(
    final=results,
    report=report,
    title=f"Dogs vs Cats ({len(split.train)} train, {len(split.val)} val images, {image_size}px)",
)
