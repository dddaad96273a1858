"""Shared fixtures: the sandbox on a loopback port, BotPenguin settings pointing at it, users."""

import pytest

from leads.botpenguin.sandbox.server import Sandbox
from tests.factories import BOT_ID, CUSTOMER_ID, SANDBOX_TOKEN, point_settings_at
from tests.hostile import HostileServer, listing


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Cached counts must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True, scope="session")
def _jinja2_pages_give_their_context_to_the_test_client():
    """A Jinja2 page's context in response.context, as Django's test set-up gives its own
    engine's (instrumented_test_render): the pages agents work in are Jinja2 templates."""
    from django.template.backends.jinja2 import Template
    from django.test.signals import template_rendered

    original = Template.render

    def render(self, context=None, request=None):
        context = {} if context is None else context
        html = original(self, context, request)  # fills `context` as the template saw it
        template_rendered.send(sender=self, template=self, context=context)
        return html

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Template, "render", render)
        yield


@pytest.fixture
def sandbox():
    """A fresh, empty sandbox served on 127.0.0.1 (random port) for one test."""
    box = Sandbox(token=SANDBOX_TOKEN, bot_id=BOT_ID, customer_id=CUSTOMER_ID, page_size=20)
    running = box.serve()
    try:
        yield running
    finally:
        running.shutdown()


@pytest.fixture
def botpenguin(settings, sandbox):
    """Django settings pointing at the test sandbox; yields the running sandbox."""
    point_settings_at(settings, sandbox.url, SANDBOX_TOKEN)
    return sandbox


HOSTILE_TOKEN = "tok-HOSTILE-SYNC"


@pytest.fixture
def serve(settings):
    """serve(pages) starts a hostile server (tests/hostile.py) listing `pages` ({type: [page,
    …]}) and points the settings at it, with no retries."""
    servers = []

    def start(pages: dict, **kwargs) -> HostileServer:
        server = HostileServer(listing(pages, **kwargs)).__enter__()
        servers.append(server)
        point_settings_at(settings, server.url, HOSTILE_TOKEN, retries=0)
        return server

    yield start
    for server in servers:
        server.__exit__()


def _with_role(user, role: str):
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def user(django_user_model):
    """An agent: the "Agent" role (view and triage)."""
    return _with_role(
        django_user_model.objects.create_user(
            username="agent", password="agent-pass-123", first_name="Asha"
        ),
        "Agent",
    )


@pytest.fixture
def lead_admin(django_user_model):
    """A lead admin: the "Lead admin" role, staff (the Django admin for leads), not superuser."""
    return _with_role(
        django_user_model.objects.create_user(
            username="leadadmin", password="leadadmin-pass-123", first_name="Lena", is_staff=True
        ),
        "Lead admin",
    )


@pytest.fixture
def nobody(django_user_model):
    """Signed in, but with no role."""
    return django_user_model.objects.create_user(username="nobody", password="nobody-pass-123")


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(
        username="boss", password="boss-pass-123", email="boss@example.org"
    )


@pytest.fixture
def agent_client(client, user):
    """A browser session logged in as an agent (no staff rights)."""
    client.force_login(user)
    return client


@pytest.fixture
def lead_admin_client(client, lead_admin):
    client.force_login(lead_admin)
    return client


@pytest.fixture
def staff_client(client, admin_user):
    """A browser session logged in as a superuser."""
    client.force_login(admin_user)
    return client
