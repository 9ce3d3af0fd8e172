from django.urls import path

from notes import views

app_name = "notes"

urlpatterns = [
    path("notes/", views.NoteListView.as_view(), name="list"),
    path("api/notes/", views.api_notes, name="api-list"),
    path("api/notes/<int:note_id>/", views.api_note_detail, name="api-detail"),
]
