"""Every model test sees an empty runtime model store, so ``load_model()`` means the shipped artefact unless a
test promotes something into its own store (``REIMBURSE_MODEL_RUNTIME_DIR``)."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def empty_runtime_model_store(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setenv("REIMBURSE_MODEL_RUNTIME_DIR", str(tmp_path_factory.mktemp("empty-model-store")))
    yield
    patch.undo()
