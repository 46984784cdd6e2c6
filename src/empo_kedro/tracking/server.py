"""Fail fast, with a clear message, when the MLflow tracking server cannot be reached."""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlparse

from empo_kedro.errors import UserFacingError

HEALTH_TIMEOUT_S = 5.0


class TrackingServerUnreachable(UserFacingError, RuntimeError):
    """The MLflow tracking server named by the configuration does not answer."""


def check_tracking_server(tracking_uri: str, timeout_s: float = HEALTH_TIMEOUT_S) -> None:
    """For an http(s) tracking URI, GET ``/health`` and raise if nothing answers; local stores need no check."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme not in ("http", "https"):
        return
    url = tracking_uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (scheme checked above)
            if response.status >= 500:
                raise TrackingServerUnreachable(f"MLflow tracking server {tracking_uri} answered {response.status}")
    except (urllib.error.URLError, OSError) as error:
        raise TrackingServerUnreachable(
            f"MLflow tracking server {tracking_uri} is unreachable ({error}). Start it, fix MLFLOW_TRACKING_URI "
            f"or conf/*/mlflow.yml, or unset MLFLOW_TRACKING_URI to use the local SQLite store; nothing was run."
        ) from None


class TrackingServerLost(UserFacingError, RuntimeError):
    """The tracking store stopped answering during training; a checkpoint was saved at the step it failed."""
