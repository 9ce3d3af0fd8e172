"""The sampleapp Django project: settings, URLs, WSGI/ASGI entry points, probes."""
