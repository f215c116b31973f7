import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Password-reset throttle counts live in the cache, which is Redis when REDIS_URL is set and
    so outlives a test (and a run): each test starts with none."""
    cache.clear()
    yield
