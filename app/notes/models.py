"""A note: a title, a body and a category."""

from django.db import models


class Note(models.Model):
    class Category(models.TextChoices):
        GENERAL = "general", "General"
        OPS = "ops", "Operations"
        RELEASE = "release", "Release"
        IDEA = "idea", "Idea"

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    category = models.CharField(
        max_length=20, choices=Category.choices, default=Category.GENERAL, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.title

    def as_dict(self) -> dict:
        return {
            "id": self.pk,
            "title": self.title,
            "body": self.body,
            "category": self.category,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }
