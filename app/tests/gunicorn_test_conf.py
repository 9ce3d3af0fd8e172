"""gunicorn config for the tests: the same hooks the django_app role's gunicorn.conf.py uses."""

from sampleapp.gunicorn_hooks import child_exit, on_starting

__all__ = ["child_exit", "on_starting"]

# The app's JSON logs go to stdout; gunicorn's own logs stay on stderr.
errorlog = "-"
loglevel = "warning"
