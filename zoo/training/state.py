"""A fit's complete training state, saved after every epoch, so that a run killed at any
moment and resumed ends where the uninterrupted run would."""

import json
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

__all__ = ["TrainingState", "TrainingStateError"]


class TrainingStateError(ValueError):
    """A saved training state that can not be used: the message names the file and why."""


class TrainingState(keras.callbacks.Callback):
    """Everything a fit needs to go on exactly where it stopped, saved after every epoch.

    The state is every variable of the model (weights, batch-norm statistics and the
    seed-generator states behind dropout, augmentation and noise) and of its optimizer
    (slots, step count, so the learning-rate schedule too), with the count of finished epochs:
    more than `keras.callbacks.BackupAndRestore` keeps, which leaves out the seed generators.
    It goes to `folder/state.npz`, written beside and renamed, so a kill at any moment leaves
    the previous epoch's state whole. At `on_train_begin` a saved state is loaded; the fit
    continues after its last epoch when given `initial_epoch=state.saved_epoch` (`Run.fit`
    does: Keras' public route); at every epoch's start, `data` (an `EpochBatches`)
    takes that epoch's order. The state stays after the fit, marked finished (`Run.finish`
    removes it with the report written).

    Args:
        folder: where state.npz goes (a run directory's backup/).
        data: the fit's training data; an `EpochBatches` gets each epoch's order from here.

    Raises:
        TrainingStateError: a state.npz that cannot be read, naming it.
    """

    def __init__(self, folder: str | Path, data: Any = None):
        super().__init__()
        self.path = Path(folder) / "state.npz"
        self.data = data if hasattr(data, "set_epoch") else None
        self.saved_epoch, self.saved = 0, None
        if self.path.exists():
            try:
                with np.load(self.path) as saved:
                    self.saved = {name: saved[name] for name in saved.files}
                self.meta = json.loads(str(self.saved.pop("meta")))
            except Exception as error:  # noqa: BLE001  any unreadable file: say which
                raise TrainingStateError(
                    f"{self.path}: not a readable training state "
                    f"({error}); delete it to train from the start"
                ) from error
            self.saved_epoch = self.meta["epoch"]

    def finished(self, epochs: int) -> bool:
        """True when the saved state is that of a fit that ended, for at most `epochs`."""
        return self.saved is not None and self.meta["finished"] and epochs <= self.meta["epochs"]

    def restore(self, model: keras.Model, optimizer: bool = True) -> None:
        """Load the saved values into `model` (and its optimizer's variables)."""
        for group, variables in self._variable_groups(model, optimizer).items():
            values = [self.saved[f"{group}{i}"] for i in range(self.meta[group])]
            shapes = ([tuple(v.shape) for v in variables], [value.shape for value in values])
            if shapes[0] != shapes[1]:
                raise TrainingStateError(
                    f"{self.path}: the saved training state does not fit "
                    f"this model (its {group} variables differ: other "
                    f"settings?)"
                )
            for variable, value in zip(variables, values):
                variable.assign(value)

    @staticmethod
    def _variable_groups(model, optimizer=True):
        groups = {"model": list(model.variables)}
        if optimizer and model.optimizer is not None:
            if not model.optimizer.built:  # its slots must exist to take their values
                model.optimizer.build(model.trainable_variables)
            groups["optimizer"] = list(model.optimizer.variables)
        return groups

    def on_train_begin(self, logs=None):
        if self.saved is not None and self.saved_epoch > 0:
            self.restore(self.model)
            print(f"Resuming after epoch {self.saved_epoch} ({self.path})")

    def on_epoch_begin(self, epoch, logs=None):
        if self.data is not None:
            self.data.set_epoch(epoch)

    def on_epoch_end(self, epoch, logs=None):
        self._save(epoch + 1, finished=False)

    def on_train_end(self, logs=None):
        if self.model.stop_training or self.saved_epoch == self.params["epochs"]:
            self._save(self.saved_epoch, finished=True)

    def _save(self, epoch, finished):
        arrays = {}
        meta = {"epoch": epoch, "finished": finished, "epochs": self.params["epochs"]}
        for group, variables in self._variable_groups(self.model).items():
            meta[group] = len(variables)
            arrays |= {
                f"{group}{i}": np.asarray(keras.ops.convert_to_numpy(v))
                for i, v in enumerate(variables)
            }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f"state.{os.getpid()}.partial.npz")
        np.savez(temporary, meta=np.array(json.dumps(meta)), **arrays)
        temporary.replace(self.path)
        self.saved_epoch, self.meta = epoch, meta
