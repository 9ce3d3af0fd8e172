"""`sampleapp-manage`: Django's manage.py for an installed release."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sampleapp.settings")
    from django.core.management import execute_from_command_line  # noqa: PLC0415 - settings module first

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
