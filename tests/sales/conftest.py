"""Fixtures for the sales tests: the loyalty chain, with its main store offline."""

import pytest

from tests.loyalty.conftest import chain, member  # noqa: F401  (fixtures shared with the loyalty tests)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # uploaded files kept by SalesUpload go to a throw-away folder


@pytest.fixture
def offline(chain):  # noqa: F811
    chain.shop.networked = False
    chain.shop.save()
    return chain
