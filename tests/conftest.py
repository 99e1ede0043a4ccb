import keras
import pytest


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same seeds, so a failure can be repeated."""
    keras.utils.set_random_seed(0)
