"""`seed_demo`: a few demo notes. Idempotent: a second run changes nothing."""

from django.core.management.base import BaseCommand
from django.db import transaction

from notes.models import Note

DEMO_NOTES = [
    {
        "title": "Welcome to the sample app",
        "body": "This note was created by `sampleapp-manage seed_demo`.",
        "category": Note.Category.GENERAL,
    },
    {
        "title": "Health and readiness",
        "body": "/health/ answers without the database; /ready/ checks it and the migrations.",
        "category": Note.Category.OPS,
    },
    {
        "title": "Rolling releases",
        "body": "Every response carries X-App-Release, so a rollout can be watched host by host.",
        "category": Note.Category.RELEASE,
    },
    {
        "title": "Metrics",
        "body": "/metrics exposes request, latency and database series for Prometheus.",
        "category": Note.Category.IDEA,
    },
]


class Command(BaseCommand):
    help = "Create the demo notes (by title); running it again leaves the same rows."

    def handle(self, *args, **options):
        created = updated = unchanged = 0
        with transaction.atomic():
            for demo in DEMO_NOTES:
                fields = {k: v for k, v in demo.items() if k != "title"}
                note = Note.objects.filter(title=demo["title"]).order_by("id").first()
                if note is None:
                    Note.objects.create(**demo)
                    created += 1
                    self.stdout.write(f"created: {demo['title']}")
                elif any(getattr(note, k) != v for k, v in fields.items()):
                    for key, value in fields.items():
                        setattr(note, key, value)
                    note.save()
                    updated += 1
                    self.stdout.write(f"updated: {demo['title']}")
                else:
                    unchanged += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"seed_demo: {created} created, {updated} updated, {unchanged} unchanged"
            )
        )
