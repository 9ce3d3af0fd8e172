"""Settings for the test run: the real settings, with fake credentials and the test database.

The variables below are only defaults: an exported DATABASE_URL (for example from
`scripts/pg-test.sh env`) wins.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-fake-secret-key-not-used-anywhere")
os.environ.setdefault(
    "DATABASE_URL",
    "postgres://sampleapp_test:fake-test-password@127.0.0.1:55432/sampleapp_test",
)
os.environ.setdefault("APP_RELEASE", "test-release")

from sampleapp.settings import *  # noqa: F403 - the real settings, overridden below

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
