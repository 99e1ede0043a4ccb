"""The one place where zoo's custom training steps meet the backends.

Keras 3 runs a model's own `train_step` on every backend, but the gradient mechanics differ
and Keras leaves them to the model: TensorFlow records a `GradientTape`; PyTorch runs
`backward()` and reads `variable.value.grad`; JAX is stateless and wants
`train_step(state, data) -> (logs, state)` with every variable's new value returned. The
generative models (VAE, DCGAN) need their own steps, so rather than writing each step three
times, a model subclasses `GradientStepModel` and states, in backend-neutral `keras.ops`,
what to minimise:

    def gradient_steps(self):
        return [GradientStep("discriminator", self.d_optimizer, self.discriminator, d_loss),
                GradientStep("generator", self.g_optimizer, self.generator, g_loss)]

Each step's `loss_fn(data, training)` returns `(loss, {metric name: scalar})`. A training
batch takes the steps in order, each a gradient descent on its own variables with its own
optimizer (a GAN's alternating updates), then `after_gradient_steps()`, the place for an
update that is not a gradient step (a moving average of weights); the metrics are averaged
over the epoch. The same
loss functions, without gradients, make `test_step`, so `evaluate()` and validation work.

Why JAX looks the way it does: the JAX step is traced once and must return every variable it
changes, including batch-norm statistics, seed-generator state and each optimizer's slots.
Following the Keras maintainers' advice (keras-team/keras#18881), the whole step runs inside a
`keras.StatelessScope` that maps each variable to its value in `state`, so the stateful code
(optimizer.apply, metric updates, batch norm) runs unchanged and the scope collects the new
values. Gradients come from `jax.value_and_grad` over a function that opens an inner scope
with the step's variables replaced by the traced values. The optimizers' variables reach the
state through `self.optimizer`: a model with several optimizers compiles with an
`OptimizerGroup` holding them (JAX's trainer only carries `model.optimizer.variables`).
"""

from collections.abc import Callable
from typing import NamedTuple

import keras

from zoo import distribute
from zoo.models.layers.model_mixins import CompilesFromConfig

__all__ = ["GradientStep", "GradientStepModel", "OptimizerGroup"]


class GradientStep(NamedTuple):
    """One gradient update: minimise `loss_fn` over `module`'s trainable variables."""

    name: str
    optimizer: keras.optimizers.Optimizer
    module: keras.layers.Layer  # whose trainable_variables the step updates
    loss_fn: Callable  # (data, training) -> (scalar loss, {metric name: scalar})


@keras.saving.register_keras_serializable(package="zoo")
class OptimizerGroup(keras.optimizers.Optimizer):
    """Several optimizers seen as one `model.optimizer`, so that saving, BackupAndRestore and
    the JAX trainer's state include all of their variables. It applies no update itself:
    each `GradientStep` uses its own optimizer."""

    def __init__(self, optimizers, name="optimizer_group", **kwargs):
        kwargs.pop("learning_rate", None)
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self.optimizers = dict(optimizers)
        self.variable_groups = {}  # name -> the variables that optimizer updates

    def assign_variables(self, name, variables):
        self.variable_groups[name] = list(variables)

    def build(self, var_list=None):
        for name, optimizer in self.optimizers.items():
            if not optimizer.built:
                optimizer.build(self.variable_groups.get(name, []))
        super().build([])

    @property
    def variables(self):
        own = super().variables  # the group's own step counter and learning rate
        return own + [v for o in self.optimizers.values() for v in o.variables]

    @property
    def iterations(self):
        # The steps taken so far are those of the first optimizer (they all step together).
        return next(iter(self.optimizers.values())).iterations

    def apply(self, grads, trainable_variables=None):
        raise NotImplementedError("OptimizerGroup only holds optimizers; apply each one")

    def save_own_variables(self, store):
        for index, variable in enumerate(self.variables):
            store[str(index)] = variable.numpy()

    def load_own_variables(self, store):
        for index, variable in enumerate(self.variables):
            variable.assign(store[str(index)])

    def get_config(self):
        return {
            "name": self.name,
            "optimizers": {
                name: keras.optimizers.serialize(o) for name, o in self.optimizers.items()
            },
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        optimizers = {
            name: keras.optimizers.deserialize(o, custom_objects=custom_objects)
            for name, o in config["optimizers"].items()
        }
        return cls(optimizers, name=config.get("name", "optimizer_group"))


class GradientStepModel(CompilesFromConfig, keras.Model):
    """A `keras.Model` whose `fit` takes the `gradient_steps()` it declares, on any backend."""

    def gradient_steps(self):
        raise NotImplementedError

    def compile(self, optimizer="rmsprop", loss=None, **kwargs):
        """As `keras.Model.compile`, without `loss`: the gradient steps compute their own."""
        if loss is not None:
            raise TypeError(
                f"{type(self).__name__} computes its own loss in its training "
                f"step: compile() takes no loss= (got {loss!r})"
            )
        super().compile(optimizer=optimizer, **kwargs)

    def after_gradient_steps(self):
        """Called once per training batch after its gradient steps, outside any gradient
        computation: for variable updates written with `assign` (none by default)."""

    def declare_metrics(self, names):
        """Call in __init__ with the name of every value the loss functions report."""
        self.step_metrics = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def metrics(self):
        # Keras resets these at each epoch and carries their variables through JAX's state.
        return list(self.step_metrics.values())

    def _track(self, values):
        for name, value in values.items():
            self.step_metrics[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.step_metrics.items()}

    # TensorFlow and PyTorch: stateful steps -------------------------------------------------

    def train_step(self, *args):
        backend = keras.backend.backend()
        if backend == "jax":
            return self._jax_train_step(*args)
        (data,) = args
        values = {}
        for step in self.gradient_steps():
            variables = step.module.trainable_variables
            if backend == "tensorflow":
                import tensorflow as tf

                with tf.GradientTape() as tape:
                    loss, reported = step.loss_fn(data, training=True)
                    # Under tf.distribute the optimizer sums the replicas' gradients: each
                    # replica's share of the global batch's mean loss is 1/replicas of its own.
                    share = loss / distribute.replicas_in_sync()
                gradients = tape.gradient(share, variables)
                step.optimizer.apply(gradients, variables)
            elif backend == "torch":
                import torch

                # backward() computes a gradient for every tensor that requires one: freeze
                # the other steps' variables, so that the generator's step, say, does not
                # also compute the discriminator's weight gradients it would throw away.
                targets = {id(v) for v in variables}
                others = [v.value for v in self.trainable_variables if id(v) not in targets]
                self.zero_grad()
                try:
                    for tensor in others:
                        tensor.requires_grad_(False)
                    loss, reported = step.loss_fn(data, training=True)
                    loss.backward()
                finally:
                    for tensor in others:
                        tensor.requires_grad_(True)
                gradients = [v.value.grad for v in variables]
                with torch.no_grad():
                    step.optimizer.apply(gradients, variables)
            else:
                raise NotImplementedError(f"no train step for the {backend} backend")
            values.update(reported)
        if backend == "torch":
            import torch

            with torch.no_grad():
                self.after_gradient_steps()
        else:
            self.after_gradient_steps()
        return self._track(values)

    def test_step(self, *args):
        if keras.backend.backend() == "jax":
            return self._jax_test_step(*args)
        (data,) = args
        values = {}
        for step in self.gradient_steps():
            values.update(step.loss_fn(data, training=False)[1])
        return self._track(values)

    # JAX: the same steps, inside a StatelessScope (see the module docstring) ---------------

    def _jax_train_step(self, state, data):
        import jax

        groups = (
            self.trainable_variables,
            self.non_trainable_variables,
            self.optimizer.variables,
            self.metrics_variables,
        )
        mapping = [(v, value) for vs, values in zip(groups, state) for v, value in zip(vs, values)]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            values = {}
            for step in self.gradient_steps():
                targets = step.module.trainable_variables
                target_ids = {id(v) for v in targets}
                others = [v for v in self.variables if id(v) not in target_ids]

                def loss_of(target_values, step=step, targets=targets, others=others):
                    inner_mapping = list(zip(targets, target_values))
                    inner_mapping += [(v, scope.get_current_value(v)) for v in others]
                    with keras.StatelessScope(state_mapping=inner_mapping) as inner:
                        loss, reported = step.loss_fn(data, training=True)
                    changed = [inner.get_current_value(v) for v in self.non_trainable_variables]
                    return loss, (reported, changed)

                current = [scope.get_current_value(v) for v in targets]
                (_, (reported, changed)), gradients = jax.value_and_grad(loss_of, has_aux=True)(
                    current
                )
                for variable, value in zip(self.non_trainable_variables, changed):
                    variable.assign(value)  # batch-norm statistics, seed-generator state
                step.optimizer.apply(gradients, targets)
                values.update(reported)
            self.after_gradient_steps()
            logs = self._track(values)
        new_state = tuple([scope.get_current_value(v) for v in vs] for vs in groups)
        return logs, new_state

    def _jax_test_step(self, state, data):
        groups = (self.trainable_variables, self.non_trainable_variables, self.metrics_variables)
        mapping = [(v, value) for vs, values in zip(groups, state) for v, value in zip(vs, values)]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            values = {}
            for step in self.gradient_steps():
                values.update(step.loss_fn(data, training=False)[1])
            logs = self._track(values)
        return logs, tuple([scope.get_current_value(v) for v in vs] for vs in groups)
