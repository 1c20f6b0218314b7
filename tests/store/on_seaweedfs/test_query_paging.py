"""tests/store/test_query_paging.py, against a store on a SeaweedFS bucket (fixtures: this package's conftest)."""

from tests.store.test_query_paging import *  # noqa: F403
