"""tests/store/test_api.py, against a store on a SeaweedFS bucket (fixtures: this package's conftest)."""

from tests.store.test_api import *  # noqa: F403
