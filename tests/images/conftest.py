"""Marker of tests/images: `docker` (needs the built image chain and a Docker engine)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "docker: builds or inspects the host image chain")
