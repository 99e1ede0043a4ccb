"""Every private API of Keras, TensorFlow and PyTorch that zoo touches, in one place.

Each entry says what it does, why the public API does not, and the versions it was checked
on (`CHECKED_ON`). Where a release moves or renames what an entry needs, zoo takes the
public route instead (slower, or noisier, never other numbers), or, where there is none,
stops with one line naming the entry (`InternalMissing`). tests/test_internals.py removes
each attribute in turn and checks that.

- `quiet_lazy_tensorflow`: `keras.src.utils.module_utils.tensorflow.initialize`. Without
  it, TensorFlow's start-up lines show when Keras loads it lazily.
- `seed_without_tensorflow`: `keras.src.utils.rng_utils.tf`. Without it,
  `keras.utils.set_random_seed`, which loads TensorFlow on JAX and PyTorch too.
- `mend_tensorflow_multi_worker`: `keras.src.backend.tensorflow.trainer`'s
  `TensorFlowTrainer._maybe_symbolic_build`, `reduce_per_replica`,
  `_collective_all_reduce_multi_worker` and `_is_per_replica_instance`. Without them,
  `--distribute` on TensorFlow stops with one line.
- `draw_per_replica`: `keras.src.backend.tensorflow.random._cast_seed`. Without it, the same.
- `torch_lstm`: `torch.lstm`, `torch.nn.LSTM`'s kernel, outside the documented API. Without
  it, `zoo.fast.LSTM` runs Keras' own loop.
- `tf_fused_batch_norm`: `tf.compat.v1.nn.fused_batch_norm`, TensorFlow 1's API. Without it,
  `zoo.fast.BatchNormalization` runs Keras' own ops.

What zoo used to reach privately and now does publicly: the epoch a resumed fit starts from
(`fit(initial_epoch=...)`, not `model._initial_epoch`), an optimizer group's own variables
(`super().variables`, not `Optimizer._variables`), and XLA for the translation models on
TensorFlow (`compile(jit_compile=...)`, not `Model._resolve_auto_jit_compile`).
"""

import importlib

import keras

__all__ = [
    "CHECKED_ON",
    "InternalMissing",
    "draw_per_replica",
    "mend_tensorflow_multi_worker",
    "quiet_lazy_tensorflow",
    "seed_without_tensorflow",
    "tf_fused_batch_norm",
    "torch_lstm",
]

CHECKED_ON = {"keras": "3.15.1", "tensorflow": "2.21.0", "torch": "2.13.0"}


class InternalMissing(RuntimeError):
    """A private API that zoo needs, and that has no public stand-in, is not there."""


def _find(module_name, *attributes):
    """The object at `module_name`.attr1.attr2..., or None if any part is missing."""
    try:
        found = importlib.import_module(module_name)
    except ImportError:
        return None
    for attribute in attributes:
        found = getattr(found, attribute, None)
        if found is None:
            return None
    return found


def _require(entry, module_name, *attributes):
    found = _find(module_name, *attributes)
    if found is None:
        raise InternalMissing(
            f"zoo.internals.{entry}: {module_name}.{'.'.join(attributes)} is missing in Keras "
            f"{keras.__version__} (checked on {CHECKED_ON['keras']}); see zoo/internals.py"
        )
    return found


def quiet_lazy_tensorflow(call_filtering_stderr):
    """Filter TensorFlow's start-up lines also when Keras imports it lazily (saving, on JAX or
    PyTorch): wraps the lazy module's `initialize` in `call_filtering_stderr(function)`.
    Keras has no hook for it. -> True if wrapped."""
    lazy_tensorflow = _find("keras.src.utils.module_utils", "tensorflow")
    initialize = getattr(lazy_tensorflow, "initialize", None)
    if initialize is None:
        return False

    def quiet_initialize():
        call_filtering_stderr(initialize)

    lazy_tensorflow.initialize = quiet_initialize
    return True


class _Unavailable:
    available = False


def seed_without_tensorflow(seed):
    """`keras.utils.set_random_seed(seed)` without loading TensorFlow on JAX or PyTorch.

    Keras' function also seeds TensorFlow whenever it is installed, which on the other
    backends loads all of it (seconds, hundreds of MiB and its start-up logs) for a
    `tf.data` no recipe uses there; its module state (`rng_utils.tf`) has no public setter.
    """
    rng_utils = _find("keras.src.utils.rng_utils")
    if keras.backend.backend() == "tensorflow" or not hasattr(rng_utils, "tf"):
        keras.utils.set_random_seed(seed)
        return
    tensorflow = rng_utils.tf
    rng_utils.tf = _Unavailable()
    try:
        keras.utils.set_random_seed(seed)
    finally:
        rng_utils.tf = tensorflow


def mend_tensorflow_multi_worker():
    """Two faults of Keras' TensorFlow trainer under `MultiWorkerMirroredStrategy`
    (keras-team/keras#20585, tensorflow/tensorflow#72388), mended where they are:

    - before the first step, `fit` averages the first batch over the replicas (to build the
      model from its shapes) with a collective that can not take eager input; one replica's
      batch has the same shapes;
    - the per-step logs (scalars) are averaged over the replicas along an axis 0 they do not
      have; averaged as a whole they give the mean Keras means.
    """
    import tensorflow as tf

    trainer = _require("mend_tensorflow_multi_worker", "keras.src.backend.tensorflow.trainer")
    if getattr(trainer, "_zoo_mended", False):
        return
    for name in (
        "reduce_per_replica",
        "_collective_all_reduce_multi_worker",
        "_is_per_replica_instance",
    ):
        _require("mend_tensorflow_multi_worker", "keras.src.backend.tensorflow.trainer", name)
    _require(
        "mend_tensorflow_multi_worker",
        "keras.src.backend.tensorflow.trainer",
        "TensorFlowTrainer",
        "_maybe_symbolic_build",
    )

    def first_replica(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return tf.distribute.get_strategy().experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = keras.tree.map_structure(first_replica, next(batches))
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    keras_reduce = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):
            return keras.tree.map_structure(
                lambda v: (
                    strategy.reduce("MEAN", v, axis=None)
                    if trainer._is_per_replica_instance(v)
                    else v
                ),
                values,
            )
        return keras_reduce(values, strategy, reduction)

    trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica
    trainer._zoo_mended = True


def draw_per_replica():
    """Give each TensorFlow replica its own random numbers.

    A Keras `SeedGenerator`'s state is one mirrored variable, so every replica of a step draws
    the same noise, dropout and augmentation for its own shard. Keras' TensorFlow random
    functions all turn the generator's seed into the op's seed in one place (`_cast_seed`,
    with no public hook); there the seed is folded with the replica's id in the whole cluster
    (`tf.random.experimental.stateless_fold_in`), in replica 0 left as it is, so that replica
    draws the stream one device would. Outside a replica context (or with one replica)
    nothing changes.
    """
    import tensorflow as tf

    random = _require("draw_per_replica", "keras.src.backend.tensorflow.random")
    if getattr(random, "_zoo_per_replica", False):
        return
    keras_cast_seed = _require(
        "draw_per_replica", "keras.src.backend.tensorflow.random", "_cast_seed"
    )

    def cast_seed(seed):
        seed = keras_cast_seed(seed)
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return seed
        replica = context.replica_id_in_sync_group
        folded = tf.cast(tf.random.experimental.stateless_fold_in(seed, replica), seed.dtype)
        return tf.where(tf.equal(replica, 0), seed, folded)

    random._cast_seed = cast_seed
    random._zoo_per_replica = True


def torch_lstm():
    """PyTorch's fused LSTM function (`torch.nn.LSTM` calls it; `torch.lstm`, not in the
    documented API), or None: Keras' PyTorch LSTM calls it only on CUDA."""
    return _find("torch", "lstm")


def tf_fused_batch_norm():
    """TensorFlow's fused batch normalisation (`FusedBatchNormV3`) as TensorFlow 1's API gave
    it (`tf.compat.v1.nn.fused_batch_norm`; TensorFlow 2 has no public fused op), or None."""
    return _find("tensorflow", "compat", "v1", "nn", "fused_batch_norm")
