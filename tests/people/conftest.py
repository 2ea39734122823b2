import pytest
from django.test import Client


@pytest.fixture
def client():
    """The registry's page tests read English words; the Chinese pages are covered in tests/core/test_translations.py."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")
