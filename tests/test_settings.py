"""Database and settings behaviour the rest of the project relies on."""

import pytest
from django.db import connection

from leads.botpenguin.errors import ConfigurationError
from leads.config import get_client


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == 20000


def test_client_is_built_from_settings_and_hides_the_token(settings):
    settings.BOTPENGUIN_API_URL = "http://127.0.0.1:9/"
    settings.BOTPENGUIN_API_TOKEN = "secret-token-xyz"
    settings.BOTPENGUIN_BOT_ID = "bot"
    settings.BOTPENGUIN_CUSTOMER_ID = "cust"
    with get_client(read_timeout=2, retries=0) as client:
        assert "secret-token-xyz" not in repr(client.config)
        assert client.config.read_timeout == 2 and client.config.retries == 0


def test_an_unusable_api_url_is_a_configuration_error(settings):
    settings.BOTPENGUIN_API_URL = "ftp://example.org"
    settings.BOTPENGUIN_API_TOKEN = "t"
    settings.BOTPENGUIN_BOT_ID = "bot"
    settings.BOTPENGUIN_CUSTOMER_ID = "cust"
    with pytest.raises(ConfigurationError, match="BOTPENGUIN_API_URL"):
        get_client()
