"""The JSON API: list, create with validation, detail."""

from __future__ import annotations

import json

import pytest
from notes.models import Note

pytestmark = pytest.mark.django_db


def post(client, payload, **extra):
    body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return client.post("/api/notes/", data=body, content_type="application/json", **extra)


def test_list_empty(client):
    response = client.get("/api/notes/")
    assert response.status_code == 200
    assert response.json() == {"count": 0, "page": 1, "num_pages": 1, "results": []}


def test_create_then_list_and_detail(client):
    response = post(
        client, {"title": "  Deploy checklist ", "body": "drain, switch", "category": "ops"}
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["title"] == "Deploy checklist"
    assert created["category"] == "ops"
    assert response["Location"] == f"/api/notes/{created['id']}/"
    assert Note.objects.filter(pk=created["id"], body="drain, switch").exists()

    listing = client.get("/api/notes/").json()
    assert listing["count"] == 1
    assert listing["results"][0]["id"] == created["id"]

    detail = client.get(f"/api/notes/{created['id']}/")
    assert detail.status_code == 200
    assert detail.json() == created


def test_create_defaults_category(client):
    response = post(client, {"title": "Only a title"})
    assert response.status_code == 201
    assert response.json()["category"] == "general"


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({}, "title", "This field is required."),
        ({"title": "   "}, "title", "This field is required."),
        ({"title": "x" * 201}, "title", "Ensure this value has at most 200 characters"),
        ({"title": "ok", "category": "gossip"}, "category", "Select a valid choice."),
        ("{not json", "__all__", "Request body must be valid JSON."),
        ("[1, 2]", "__all__", "Request body must be a JSON object."),
    ],
)
def test_create_validation_errors_are_json_400(client, payload, field, message):
    response = post(client, payload)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    errors = response.json()["errors"]
    assert any(message in text for text in errors[field]), errors
    assert Note.objects.count() == 0


def test_detail_404_is_json(client):
    response = client.get("/api/notes/987654/")
    assert response.status_code == 404
    assert response.json() == {"errors": {"__all__": ["Note 987654 not found."]}}


def test_list_paginates_and_filters(client, settings):
    settings.NOTES_PAGE_SIZE = 2
    Note.objects.bulk_create(
        [Note(title=f"n{i}", category="idea" if i % 2 else "ops") for i in range(5)]
    )
    page2 = client.get("/api/notes/?page=2").json()
    assert (page2["count"], page2["page"], page2["num_pages"], len(page2["results"])) == (
        5,
        2,
        3,
        2,
    )
    assert client.get("/api/notes/?page=9").status_code == 404
    assert client.get("/api/notes/?page=abc").status_code == 400
    ideas = client.get("/api/notes/?category=idea").json()
    assert ideas["count"] == 2
    assert {n["category"] for n in ideas["results"]} == {"idea"}
    assert client.get("/api/notes/?category=gossip").status_code == 400


def test_methods_not_allowed(client):
    assert client.delete("/api/notes/").status_code == 405
    assert client.post("/api/notes/1/").status_code == 405
