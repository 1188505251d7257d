"""Fixtures shared by the API tests: seeded layers and an authenticated TestClient."""

from tests.api.seed import client, seed  # noqa: F401
