"""URL routes: notes pages and API, probes, metrics, admin."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from sampleapp import metrics, probes

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="notes:list", permanent=False)),
    path("health/", probes.health, name="health"),
    path("ready/", probes.ready, name="ready"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("notes.urls")),
]
