"""One JSON object per log line on stdout: time, level, logger, message, request facts."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# Attributes a LogRecord always has; anything else was passed with `extra=` and is kept.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# Objects Django attaches to records that are not JSON: request facts are taken from them.
_SKIP_EXTRA = frozenset({"request", "server_time", "status_code"})


class JsonFormatter(logging.Formatter):
    """Format a record as a single-line JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # django.request / django.server attach the request and the status code.
        request = getattr(record, "request", None)
        path = getattr(request, "path", None)
        if isinstance(path, str):
            entry["path"] = path
            entry["method"] = getattr(request, "method", None)
        status = getattr(record, "status_code", None)
        if isinstance(status, int):
            entry["status"] = status
        for key, value in vars(record).items():
            if key in _RECORD_ATTRS or key in _SKIP_EXTRA or key.startswith("_"):
                continue
            entry[key] = (
                value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
            )
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)
