"""Template context shared by every page."""

from django.conf import settings


def release(request):
    return {"app_release": settings.APP_RELEASE}
