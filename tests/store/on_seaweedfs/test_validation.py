"""tests/store/test_validation.py, against a store on a SeaweedFS bucket (fixtures: this package's conftest)."""

from tests.store.test_validation import *  # noqa: F403
