"""The notes page and the JSON API."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django.views.generic import ListView

from notes.forms import NoteForm
from notes.models import Note


class NoteListView(ListView):
    model = Note
    template_name = "notes/note_list.html"
    context_object_name = "notes"

    def get_paginate_by(self, queryset):
        return settings.NOTES_PAGE_SIZE


def _error(status: int, errors: dict[str, list[str]]) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)


def _list(request) -> JsonResponse:
    queryset = Note.objects.all()
    category = request.GET.get("category")
    if category:
        if category not in Note.Category.values:
            return _error(400, {"category": [f"Unknown category {category!r}."]})
        queryset = queryset.filter(category=category)
    paginator = Paginator(queryset, settings.NOTES_PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except PageNotAnInteger:
        return _error(400, {"page": ["Page must be a positive integer."]})
    except EmptyPage:
        return _error(404, {"page": ["That page contains no results."]})
    return JsonResponse(
        {
            "count": paginator.count,
            "page": page.number,
            "num_pages": paginator.num_pages,
            "results": [note.as_dict() for note in page.object_list],
        }
    )


def _create(request) -> JsonResponse:
    try:
        payload = json.loads(request.body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _error(400, {"__all__": ["Request body must be valid JSON."]})
    if not isinstance(payload, dict):
        return _error(400, {"__all__": ["Request body must be a JSON object."]})
    form = NoteForm(data=payload)
    if not form.is_valid():
        errors = {
            field: [e["message"] for e in errs]
            for field, errs in form.errors.get_json_data().items()
        }
        return _error(400, errors)
    note = form.save()
    response = JsonResponse(note.as_dict(), status=201)
    response["Location"] = reverse("notes:api-detail", args=[note.pk])
    return response


# A JSON API without cookie authentication: CSRF protects nothing here.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def api_notes(request):
    if request.method == "POST":
        return _create(request)
    return _list(request)


@require_http_methods(["GET", "HEAD"])
def api_note_detail(request, note_id: int):
    note = Note.objects.filter(pk=note_id).first()
    if note is None:
        return _error(404, {"__all__": [f"Note {note_id} not found."]})
    return JsonResponse(note.as_dict())
