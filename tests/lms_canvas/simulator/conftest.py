from tests.fixtures_simulator import *  # noqa: F403
