"""Signing in: createagent and its one-time password, login throttling (django-axes), CSRF on
login and logout, the demo logins."""

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from leads.models import PasswordChangeRequired

pytestmark = pytest.mark.django_db

AGENT_LOGIN = {"username": "agent", "password": "agent-pass-123"}


def one_time_password(out: str) -> str:
    return out.split("One-time password: ")[1].split()[0]


def test_login_and_logout_need_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", AGENT_LOGIN)
    assert response.status_code == 403
    client.force_login(user)
    assert client.post("/accounts/logout/").status_code == 403


def test_createagent_prints_a_one_time_password_that_must_be_changed(capsys):
    call_command("createagent", "meera", "--admin", "--email", "meera@example.org")
    out = capsys.readouterr().out
    password = one_time_password(out)
    meera = get_user_model().objects.get(username="meera")
    assert meera.groups.filter(name="Lead admin").exists() and meera.is_staff
    assert not meera.is_superuser
    assert PasswordChangeRequired.objects.filter(user=meera).exists()

    client = Client()
    response = client.post("/accounts/login/", {"username": "meera", "password": password})
    assert response.status_code == 302
    # anything else sends them to choose a password first
    response = client.get("/leads/")
    assert response.status_code == 302 and response["Location"] == "/accounts/password_change/"
    new = "a-Long-new-pass-42"
    response = client.post(
        "/accounts/password_change/",
        {"old_password": password, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert client.get("/leads/").status_code == 200
    assert not PasswordChangeRequired.objects.filter(user=meera).exists()


def test_createagent_makes_an_agent_and_resets_an_existing_one(capsys, django_user_model):
    call_command("createagent", "arjun")
    first = one_time_password(capsys.readouterr().out)
    arjun = django_user_model.objects.get(username="arjun")
    assert list(arjun.groups.values_list("name", flat=True)) == ["Agent"]
    assert not arjun.is_staff
    call_command("createagent", "arjun")
    second = one_time_password(capsys.readouterr().out)
    arjun.refresh_from_db()
    assert first != second and arjun.check_password(second) and not arjun.check_password(first)


def test_createagent_refuses_a_bad_username():
    with pytest.raises(CommandError, match="Invalid username"):
        call_command("createagent", "no spaces allowed")


def test_login_throttling_locks_the_account_from_that_address(user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client(REMOTE_ADDR="10.9.8.7")
    for _ in range(3):
        response = client.post("/accounts/login/", {"username": "agent", "password": "wrong"})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    # locked out even with the right password now
    response = client.post("/accounts/login/", AGENT_LOGIN)
    assert response.status_code == 429
    assert SESSION_KEY not in client.session
    # the same account from another address still signs in
    other = Client(REMOTE_ADDR="10.9.8.8")
    response = other.post("/accounts/login/", AGENT_LOGIN)
    assert response.status_code == 302


def test_a_few_wrong_passwords_then_the_right_one_resets_the_count(user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client(REMOTE_ADDR="10.9.8.9")
    for _ in range(2):
        client.post("/accounts/login/", {"username": "agent", "password": "wrong"})
    ok = client.post("/accounts/login/", AGENT_LOGIN)
    assert ok.status_code == 302
    client.logout()
    for _ in range(2):
        response = client.post("/accounts/login/", {"username": "agent", "password": "wrong"})
    assert response.status_code == 200  # a form error, not yet a lockout


def test_behind_a_proxy_the_forwarded_address_is_the_one_counted(user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="127.0.0.1")
    for _ in range(2):
        response = proxy.post(
            "/accounts/login/",
            {"username": "agent", "password": "x"},
            headers={"X-Forwarded-For": "203.0.113.5"},
        )
    assert response.status_code == 429
    # another client behind the same proxy is not locked out (spoofed left-most hops ignored)
    response = proxy.post(
        "/accounts/login/",
        AGENT_LOGIN,
        headers={"X-Forwarded-For": "203.0.113.5, 198.51.100.7"},
    )
    assert response.status_code == 302


def test_the_password_page_does_not_reload_itself_while_a_new_password_is_due(user):
    """Its navigation badges poll; redirecting them made the page reload every few seconds."""
    PasswordChangeRequired.objects.create(user=user)
    client = Client()
    client.post("/accounts/login/", AGENT_LOGIN)
    poll = client.get("/changes/counts/", headers={"HX-Request": "true"})
    assert poll.status_code == 204 and "HX-Redirect" not in poll
    assert client.get("/leads/")["Location"] == "/accounts/password_change/"
    assert client.get("/accounts/password_change/").status_code == 200


def test_demo_user_prints_a_superuser_and_an_agent_login(capsys, settings, tmp_path):
    settings.BASE_DIR = tmp_path
    call_command("demo_user")
    out = capsys.readouterr().out
    password = (tmp_path / "var" / "demo-password").read_text().strip()
    assert f"Demo login: demo / {password}" in out and f"Demo agent: agent / {password}" in out
    client = Client()
    client.post("/accounts/login/", {"username": "agent", "password": password})
    assert client.get("/leads/").status_code == 200
    assert client.post("/sync/now/").status_code == 403
