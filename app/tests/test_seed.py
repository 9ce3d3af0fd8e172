"""seed_demo is idempotent: a second run leaves the same rows."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from notes.management.commands.seed_demo import DEMO_NOTES
from notes.models import Note

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot():
    return list(
        Note.objects.order_by("id").values_list("id", "title", "body", "category", "updated_at")
    )


def test_seed_demo_twice_leaves_the_same_rows():
    first = seed()
    assert f"seed_demo: {len(DEMO_NOTES)} created, 0 updated, 0 unchanged" in first
    rows = snapshot()
    assert len(rows) == len(DEMO_NOTES)
    second = seed()
    assert f"seed_demo: 0 created, 0 updated, {len(DEMO_NOTES)} unchanged" in second
    assert snapshot() == rows


def test_seed_demo_repairs_an_edited_demo_note_and_keeps_user_notes():
    seed()
    mine = Note.objects.create(title="my own note")
    demo = Note.objects.get(title=DEMO_NOTES[0]["title"])
    demo.body = "edited"
    demo.save()
    out = seed()
    assert "1 updated" in out
    assert Note.objects.get(pk=demo.pk).body == DEMO_NOTES[0]["body"]
    assert Note.objects.filter(pk=mine.pk).exists()
    assert Note.objects.count() == len(DEMO_NOTES) + 1
