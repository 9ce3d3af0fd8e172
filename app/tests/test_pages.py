"""The HTML list page and the admin, rendered with hashed static files."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from notes.models import Note

from tests.conftest import current_db_url, django_env, run_python

pytestmark = pytest.mark.django_db

HASHED_CSS = re.compile(r'href="/static/notes/notes\.([0-9a-f]{12})\.css"')


def test_list_page_uses_hashed_static_css(client, collected_static):
    Note.objects.create(title="Hello <world>", body="line one\nline two", category="release")
    response = client.get("/notes/")
    assert response.status_code == 200
    html = response.content.decode()
    match = HASHED_CSS.search(html)
    assert match, html
    assert (collected_static / "notes" / f"notes.{match.group(1)}.css").is_file()
    assert (collected_static / "staticfiles.json").is_file()
    assert "Hello &lt;world&gt;" in html
    assert "line one<br>line two" in html
    assert "release test-release" in html


def test_list_page_paginates(client, settings):
    settings.NOTES_PAGE_SIZE = 3
    Note.objects.bulk_create([Note(title=f"note {i:02d}") for i in range(7)])
    html = client.get("/notes/?page=3").content.decode()
    assert "page 3 of 3" in html
    assert html.count('<li class="note') == 1
    assert client.get("/notes/?page=4").status_code == 404


def test_empty_list_page(client):
    assert "No notes yet" in client.get("/notes/").content.decode()


def test_root_redirects_to_notes(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/notes/"


def test_admin_login_renders_with_collected_static(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css", response.content.decode())


def test_admin_lists_notes(admin_client):
    Note.objects.create(title="visible in admin")
    response = admin_client.get("/admin/notes/note/")
    assert response.status_code == 200
    assert "visible in admin" in response.content.decode()


def test_static_storage_is_manifest():
    assert (
        django_settings.STORAGES["staticfiles"]["BACKEND"]
        == "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    )


@pytest.mark.django_db(transaction=True)
def test_debug_without_static_root_renders_plain_static_urls():
    # Local development: no collectstatic, runserver serves the files from the apps.
    code = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/notes/'); print(r.status_code); print(r.content.decode())"
    )
    env = django_env(
        DJANGO_DEBUG="1",
        DJANGO_SECRET_KEY=None,
        DATABASE_URL=current_db_url(),
        DJANGO_LOG_LEVEL="WARNING",
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    status, html = result.stdout.split("\n", 1)
    assert status == "200", html
    assert 'href="/static/notes/notes.css"' in html
