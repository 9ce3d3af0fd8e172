"""Markers of tests/cfn: `moto` (deploys to the moto server) and `docker` (runs a container)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "moto: deploys CloudFormation stacks to the moto server")
    config.addinivalue_line("markers", "docker: runs a container from the project's base image")
