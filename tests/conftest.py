import pytest
from hypothesis import settings

# Hypothesis's default 200 ms per-example deadline is a duration assertion that fails on a loaded machine:
# off for every property test (pytest-timeout still catches a hang).
settings.register_profile("membrane", deadline=None)
settings.load_profile("membrane")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
