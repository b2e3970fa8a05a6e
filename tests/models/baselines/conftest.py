import pytest


@pytest.fixture
def sr() -> int:
    """The rate the baselines run at in ``featherlight eval``."""
    return 16000
