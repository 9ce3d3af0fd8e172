"""Settings come from the environment; bad or missing values stop the process early."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from sampleapp.env import database_from_env, env_bool, env_list, parse_database_url

from tests.conftest import django_env, run_python

SETUP = "import django; django.setup(); from django.conf import settings; "


def test_refuses_to_start_without_secret_key():
    result = run_python(SETUP + "print('started')", django_env(DJANGO_SECRET_KEY=None))
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY is not set: refusing to start" in result.stderr


def test_empty_secret_key_is_refused_too():
    result = run_python(SETUP + "print('started')", django_env(DJANGO_SECRET_KEY=""))
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_debug_allows_a_missing_secret_key():
    code = SETUP + "print(json.dumps([settings.DEBUG, bool(settings.SECRET_KEY)]))"
    result = run_python(
        "import json; " + code, django_env(DJANGO_SECRET_KEY=None, DJANGO_DEBUG="1")
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [True, True]


def test_production_defaults():
    code = """
import json
import django
django.setup()
from django.conf import settings
names = ["DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
         "SECURE_PROXY_SSL_HEADER", "APP_RELEASE", "STATIC_URL", "ALLOWED_HOSTS",
         "CSRF_TRUSTED_ORIGINS", "STATIC_ROOT"]
got = {name: getattr(settings, name) for name in names}
got["storage"] = settings.STORAGES["staticfiles"]["BACKEND"]
got["db"] = settings.DATABASES["default"]
print(json.dumps(got, default=str))
"""
    env = django_env(
        ALLOWED_HOSTS="app.example.test, .internal.example.test",
        CSRF_TRUSTED_ORIGINS="https://app.example.test",
        DJANGO_STATIC_ROOT="/srv/static",
        DATABASE_URL="postgres://u:p@db.example.test:6543/appdb",
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["DEBUG"] is False
    assert got["SESSION_COOKIE_SECURE"] is True
    assert got["CSRF_COOKIE_SECURE"] is True
    assert got["SECURE_SSL_REDIRECT"] is False
    assert got["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert got["APP_RELEASE"] == "dev"
    assert got["STATIC_URL"] == "/static/"
    assert got["STATIC_ROOT"] == "/srv/static"
    assert got["ALLOWED_HOSTS"] == ["app.example.test", ".internal.example.test"]
    assert got["CSRF_TRUSTED_ORIGINS"] == ["https://app.example.test"]
    assert got["storage"] == "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    db = got["db"]
    assert db["ENGINE"] == "django_prometheus.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["NAME"]) == ("db.example.test", "6543", "appdb")
    assert db["CONN_MAX_AGE"] == 60
    assert db["CONN_HEALTH_CHECKS"] is True
    assert db["OPTIONS"]["connect_timeout"] == 3


def test_debug_turns_secure_cookies_off():
    code = "import json; " + SETUP + "print(json.dumps(settings.SESSION_COOKIE_SECURE))"
    result = run_python(code, django_env(DJANGO_DEBUG="true"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) is False


def test_invalid_boolean_names_the_variable():
    result = run_python(SETUP + "print('started')", django_env(DJANGO_DEBUG="maybe"))
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be one of" in result.stderr


def test_parse_database_url_decodes_credentials_and_options():
    db = parse_database_url(
        "postgresql://app%40user:p%3Ass%2Fword@db.internal:5433/app?sslmode=require"
    )
    assert db == {
        "NAME": "app",
        "USER": "app@user",
        "PASSWORD": "p:ss/word",
        "HOST": "db.internal",
        "PORT": "5433",
        "OPTIONS": {"sslmode": "require"},
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u:p@h/db", "must start with postgres://"),
        ("postgres://u:p@h:5432/", "names no database"),
        ("postgres://u:p@h:notaport/db", "invalid port"),
    ],
)
def test_parse_database_url_rejects_bad_urls(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_database_url(url)


def test_database_from_discrete_variables(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for key, value in {
        "DB_HOST": "rds.example.test",
        "DB_PORT": "5432",
        "DB_NAME": "app",
        "DB_USER": "app",
        "DB_PASSWORD": "fake-password",
        "DB_CONN_MAX_AGE": "0",
        "DB_CONNECT_TIMEOUT": "5",
    }.items():
        monkeypatch.setenv(key, value)
    db = database_from_env()
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"], db["PASSWORD"]) == (
        "rds.example.test",
        "5432",
        "app",
        "app",
        "fake-password",
    )
    assert db["CONN_MAX_AGE"] == 0
    assert db["OPTIONS"] == {"connect_timeout": 5}


def test_env_helpers(monkeypatch):
    monkeypatch.setenv("X_FLAG", "On")
    monkeypatch.setenv("X_LIST", " a, ,b ,")
    assert env_bool("X_FLAG") is True
    assert env_bool("X_UNSET_FLAG", default=True) is True
    assert env_list("X_LIST") == ["a", "b"]
    assert env_list("X_UNSET_LIST", ["d"]) == ["d"]
