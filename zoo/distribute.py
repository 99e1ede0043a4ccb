"""Data-parallel training past one device, on each backend's own distribution engine.

`--distribute` on any recipe calls `setup()` before a model is built. What it sets up depends
on the backend and on the launcher's standard environment variables:

- JAX: one process, `keras.distribution.DataParallel` over its devices; several processes
  (hosts), `keras.distribution.initialize()` first (its `KERAS_DISTRIBUTION_JOB_ADDRESSES`,
  `KERAS_DISTRIBUTION_NUM_PROCESSES` and `KERAS_DISTRIBUTION_PROCESS_ID`, so any launcher
  works), then `DataParallel` over every device of every process.
- TensorFlow: one process, `tf.distribute.MirroredStrategy` over the GPUs, else the logical
  CPUs; with `TF_CONFIG` (several workers), `tf.distribute.MultiWorkerMirroredStrategy`.
- PyTorch: under `torchrun` (its `RANK`, `WORLD_SIZE`, `MASTER_ADDR`), `torch.distributed`
  with gloo on CPU and NCCL on GPU, one device per process; a single process trains on one
  device (Keras has no single-process data parallelism on torch).

A global batch of `--batch-size` rows is split between the processes: on JAX and PyTorch
each process feeds its own rows of every batch (`Cluster.shard`); TensorFlow's strategy
shards the batches itself. The loss is a mean over the global batch in every engine: JAX
computes one program over the global arrays; TensorFlow's optimizers sum the replicas'
gradients of losses scaled by 1/replicas; on PyTorch every trainable tensor averages its
gradient over the processes with `torch.distributed.all_reduce` in the backward pass, as
DistributedDataParallel does (Keras' `fit` cannot use DDP itself: it calls the model, not a
wrapper). Initial weights agree (same seed; PyTorch also broadcasts process 0's at the start
of every fit, a resumed one too). Random streams that must differ per shard (noise,
dropout, augmentation) do on every engine: JAX draws once over the global batch, PyTorch
offsets each process's seed generators by its rank, and TensorFlow folds each replica's id
into the seed of its draws (`zoo.internals.draw_per_replica`); process 0 or replica 0 draws what one
process would.

Only process 0 writes the run directory (`Cluster.writer`); `zoo.training` gives the others a
private temporary directory and silences their output.
"""

import json
import os
from dataclasses import dataclass

import keras
import numpy as np

from zoo import internals

__all__ = ["Cluster", "ShardedBatches", "current", "predict", "replicas_in_sync", "setup"]


@dataclass
class Cluster:
    """Where this process stands in a data-parallel run.

    engine: what distributes the training ("single process" when nothing does);
    process_index, process_count: this process and how many there are;
    devices: the devices over which each global batch is split, in all processes.
    """

    engine: str = "single process"
    process_index: int = 0
    process_count: int = 1
    devices: int = 1

    @property
    def writer(self) -> bool:
        """True in the one process that writes the run directory (process 0)."""
        return self.process_index == 0

    def shard(self, batches: keras.utils.PyDataset) -> keras.utils.PyDataset:
        """This process's part of every batch of `batches` (a `keras.utils.PyDataset`), where
        the engine expects each process to feed its own rows (JAX, PyTorch); else `batches`.

        Raises:
            TypeError: data that is not a `PyDataset`, in a multi-process JAX or PyTorch run.
        """
        if self.process_count == 1 or keras.backend.backend() == "tensorflow":
            return batches
        if not isinstance(batches, keras.utils.PyDataset):
            raise TypeError(
                "a distributed fit takes its data as a keras.utils.PyDataset "
                f"(zoo.datasets' batches), got {type(batches).__name__}"
            )
        return ShardedBatches(batches, self.process_index, self.process_count)

    def callbacks(self) -> list[keras.callbacks.Callback]:
        """What a fit needs besides the engine's own machinery (PyTorch's gradient
        averaging); empty elsewhere."""
        if keras.backend.backend() == "torch" and self.process_count > 1:
            return [_TorchDataParallel(self.process_index, self.process_count)]
        return []

    def describe(self) -> str:
        """One line for the run's log: the engine, this process, the devices."""
        return (
            f"{self.engine}: process {self.process_index} of {self.process_count}, "
            f"{self.devices} device(s) in all"
        )


_cluster = Cluster()


def current() -> Cluster:
    """The `Cluster` that `setup()` made, or a single process when it was not called."""
    return _cluster


def setup() -> Cluster:
    """Start this backend's distribution engine (see the module docstring); -> `Cluster`.

    Call it once, before any model is built (`zoo.training.start` does for `--distribute`).
    """
    global _cluster
    backend = keras.backend.backend()
    _cluster = {"jax": _setup_jax, "tensorflow": _setup_tensorflow, "torch": _setup_torch}[
        backend
    ]()
    return _cluster


def predict(model: keras.Model, batches: keras.utils.PyDataset, verbose: int = 0) -> np.ndarray:
    """`model.predict(batches, verbose=verbose)` that also works in a multi-process JAX run,
    where Keras' `predict` shards its input over the processes and can not gather the
    output: there each process calls the model on every batch itself (the weights are
    replicated).

    Args:
        model: any Keras model.
        batches: yielding inputs, or (inputs, labels) whose labels are ignored.
        verbose: as `predict`'s.

    Returns:
        The outputs of every batch, concatenated.
    """
    if keras.backend.backend() != "jax" or _cluster.process_count == 1:
        return model.predict(batches, verbose=verbose)
    outputs = []
    for index in range(len(batches)):
        batch = batches[index]
        inputs = batch[0] if isinstance(batch, tuple) else batch
        outputs.append(keras.ops.convert_to_numpy(model(inputs, training=False)))
    return np.concatenate(outputs)


class ShardedBatches(keras.utils.PyDataset):
    """Rows `[i * n / count, (i + 1) * n / count)` of every batch of `batches`, for process
    `i` of `count`; a batch whose size `n` does not divide by `count` loses its last rows
    (`n % count`), so that every process's shard has the same size.

    It passes `set_epoch` and `on_epoch_end` on to `batches` (a `zoo.datasets.EpochBatches`
    orders each epoch by the seed and the epoch, so every process draws the same order).

    Args:
        batches: the whole batches, the same in every process.
        index: this process's, from 0.
        count: how many processes share each batch.
    """

    def __init__(self, batches: keras.utils.PyDataset, index: int, count: int):
        super().__init__()
        self.batches, self.index, self.count = batches, index, count

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, position):
        return keras.tree.map_structure(self._rows, self.batches[position])

    def _rows(self, array):
        size = len(array) // self.count
        return array[self.index * size : (self.index + 1) * size]

    def set_epoch(self, epoch: int) -> None:
        """Continue at `epoch`, as a resumed fit does (passed on to `batches`)."""
        self.batches.set_epoch(epoch)

    def on_epoch_end(self):
        self.batches.on_epoch_end()


# JAX ---------------------------------------------------------------------------------------


def _setup_jax():
    processes = int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1"))
    if processes > 1:
        keras.distribution.initialize()  # reads the KERAS_DISTRIBUTION_* variables
    import jax

    devices = keras.distribution.list_devices()
    # Several processes: each one's batches are already its own shard (Cluster.shard).
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(
            devices=devices, auto_shard_dataset=jax.process_count() == 1
        )
    )
    return Cluster(
        "keras.distribution.DataParallel", jax.process_index(), jax.process_count(), len(devices)
    )


# TensorFlow --------------------------------------------------------------------------------


def _setup_tensorflow():
    import tensorflow as tf

    if "TF_CONFIG" in os.environ:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        internals.mend_tensorflow_multi_worker()
        config = json.loads(os.environ["TF_CONFIG"])
        chiefs = len(config["cluster"].get("chief", []))  # a chief, if any, is process 0
        count = chiefs + len(config["cluster"].get("worker", []))
        task = config.get("task", {})
        index = task.get("index", 0) + chiefs if task.get("type") == "worker" else 0
    else:
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        strategy = tf.distribute.MirroredStrategy([device.name for device in devices])
        index, count = 0, 1
    # The strategy's scope for the whole process: every model built and compiled, wherever,
    # is the strategy's, as `with strategy.scope():` around all of it would make it.
    tf.distribute.experimental_set_strategy(strategy)
    if strategy.num_replicas_in_sync > 1:
        internals.draw_per_replica()
    return Cluster(type(strategy).__name__, index, count, strategy.num_replicas_in_sync)


def replicas_in_sync() -> int:
    """How many replicas a TensorFlow step runs on (their gradients are summed), else 1."""
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync


# PyTorch -----------------------------------------------------------------------------------


def _setup_torch():
    import torch

    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return Cluster("single process (PyTorch: launch with torchrun for more)")
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return Cluster(
        f"torch.distributed ({dist.get_backend()})",
        dist.get_rank(),
        dist.get_world_size(),
        dist.get_world_size(),
    )


class _TorchDataParallel(keras.callbacks.Callback):
    """What DistributedDataParallel does, for a Keras model under `fit`.

    Before the first step (after every `on_train_begin`, so after a resumed state is
    loaded), process 0's variables (weights, optimizer state) go to every process, each
    trainable tensor gets a hook that averages its gradient over the processes in every
    backward pass, and each process's seed generators are offset by its rank, so that noise
    and dropout differ per shard (process 0 keeps the stream one process would draw). At
    every epoch's end the logged metrics, each process's over its own shard, are averaged,
    so that the history is that of the global batches (put it before the loggers).
    """

    def __init__(self, rank, world_size):
        super().__init__()
        self.rank, self.world_size = rank, world_size

    def on_train_begin(self, logs=None):
        self.started = False

    def on_train_batch_begin(self, batch, logs=None):
        if not self.started:
            self._start()
            self.started = True

    def _start(self):
        import torch
        import torch.distributed as dist

        variables = list(self.model.variables)
        if self.model.optimizer is not None:
            variables += list(self.model.optimizer.variables)
        with torch.no_grad():
            for variable in variables:
                dist.broadcast(variable.value.data, src=0)
            for variable in self.model.variables:
                if variable.path.endswith("seed_generator_state"):
                    variable.value.data[0] += 7919 * self.rank
        hooked = self.model.__dict__.setdefault("_zoo_averaged_gradients", set())
        for variable in self.model.trainable_variables:
            if id(variable.value) not in hooked:
                variable.value.register_hook(self._average)
                hooked.add(id(variable.value))

    def _average(self, gradient):
        import torch.distributed as dist

        gradient = gradient.clone()
        dist.all_reduce(gradient)
        return gradient / self.world_size

    def on_epoch_end(self, epoch, logs=None):
        import torch
        import torch.distributed as dist

        names = sorted(name for name, value in (logs or {}).items() if _is_number(value))
        if names:
            values = torch.tensor([float(logs[name]) for name in names], dtype=torch.float64)
            dist.all_reduce(values)
            logs.update(zip(names, (values / self.world_size).tolist()))


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
