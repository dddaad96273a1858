"""Bot tokens at rest: encrypted with the configured Fernet keys, rotatable, never shown."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Template

from leads import crypto
from leads.botpenguin.errors import ConfigurationError
from leads.bots.config import client_for
from leads.models import Bot

TOKEN = "tok-at-rest-7c1e"


def use_keys(settings, *keys: bytes) -> None:
    settings.BOTPANEL_ENCRYPTION_KEYS = [key.decode() for key in keys]


def test_a_token_is_stored_encrypted_and_read_back(settings):
    use_keys(settings, Fernet.generate_key())
    bot = Bot(name="Website", api_url="http://127.0.0.1:9", remote_bot_id="b", customer_id="c")
    bot.set_token(TOKEN)
    assert TOKEN not in bot.token_encrypted and bot.has_token
    assert bot.reveal_token() == TOKEN
    assert TOKEN not in repr(bot) and TOKEN not in str(bot)


def test_keys_rotate_old_first_then_new_only(settings):
    old, new = Fernet.generate_key(), Fernet.generate_key()
    use_keys(settings, old)
    stored = crypto.encrypt(TOKEN)
    use_keys(settings, new, old)  # the new key encrypts, both decrypt
    assert crypto.decrypt(stored) == TOKEN
    rotated = crypto.rotate(stored)
    use_keys(settings, new)  # the old key removed
    assert crypto.decrypt(rotated) == TOKEN
    with pytest.raises(crypto.TokenUnreadable):
        crypto.decrypt(stored)


def test_a_token_under_a_lost_key_is_one_clear_line_without_the_token(settings):
    use_keys(settings, Fernet.generate_key())
    bot = Bot(name="Website", api_url="http://127.0.0.1:9", remote_bot_id="b", customer_id="c")
    bot.set_token(TOKEN)
    use_keys(settings, Fernet.generate_key())
    with pytest.raises(ConfigurationError) as caught:
        client_for(bot)
    message = str(caught.value)
    assert message.startswith("Bot Website: The bot's API token cannot be decrypted")
    assert TOKEN not in message and bot.token_encrypted not in message


@pytest.mark.parametrize("keys", [[], ["not-a-fernet-key"]])
def test_a_missing_or_malformed_key_names_the_setting(settings, keys):
    settings.BOTPANEL_ENCRYPTION_KEYS = keys
    with pytest.raises(ImproperlyConfigured, match="BOTPANEL_ENCRYPTION_KEY"):
        crypto.encrypt(TOKEN)


def test_templates_never_call_reveal_token(settings):
    use_keys(settings, Fernet.generate_key())
    bot = Bot(name="Website")
    bot.set_token(TOKEN)
    rendered = Template("[{{ bot.reveal_token }}]").render(Context({"bot": bot}))
    assert TOKEN not in rendered
