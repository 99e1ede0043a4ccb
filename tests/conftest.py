import keras
import pytest
from finished_runs import FinishedRuns


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same seeds, so a failure can be repeated."""
    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """finished_run(recipe) -> (folder, standard output) of a tiny finished run of the recipe,
    trained once per session and shared by the tests that read it (tests/finished_runs.py)."""
    return FinishedRuns(tmp_path_factory.mktemp("finished-runs"))


def pytest_collection_modifyitems(config, items):
    """The slow tests (recipes end to end, subprocesses) first, each group in its own order:
    pytest-xdist hands tests out in this order, so the long ones start while there is still
    short work to fill the other workers' time, instead of one of them running alone at the
    end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
