"""Release header on every response, and the ALB's X-Forwarded-Proto."""

from __future__ import annotations

import pytest
from django.test import RequestFactory


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/health/",
        "/ready/",
        "/notes/",
        "/api/notes/",
        "/api/notes/424242/",
        "/nope/",
        "/metrics",
        "/admin/",
    ],
)
def test_every_response_carries_the_release(client, settings, path):
    settings.APP_RELEASE = "0.3.0-feedfacecafe"
    response = client.get(path)
    assert response["X-App-Release"] == "0.3.0-feedfacecafe"


def test_forwarded_proto_https_makes_request_secure(settings):
    assert settings.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    factory = RequestFactory()
    assert factory.get("/", HTTP_X_FORWARDED_PROTO="https").is_secure() is True
    assert factory.get("/", HTTP_X_FORWARDED_PROTO="http").is_secure() is False
    assert factory.get("/").is_secure() is False


@pytest.mark.django_db
def test_ssl_redirect_trusts_the_alb_header(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    plain = client.get("/notes/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/notes/"
    assert client.get("/notes/", HTTP_X_FORWARDED_PROTO="https").status_code == 200
    assert client.get("/metrics").status_code == 200  # exempt: scraped over plain HTTP


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure(client, django_user_model):
    django_user_model.objects.create_superuser("ops", password="fake-test-password")  # noqa: S106 - fake test password
    login_page = client.get("/admin/login/")
    assert login_page.cookies["csrftoken"]["secure"] is True
    response = client.post("/admin/login/", {"username": "ops", "password": "fake-test-password"})
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"] is True
    assert response.cookies["sessionid"]["httponly"] is True
