"""The one error the cluster layer raises on purpose."""

from __future__ import annotations

from atomflow.errors import AtomflowError


class ClusterError(AtomflowError, RuntimeError):
    """A cluster project is missing or invalid, or jobflow-remote refused an action; the message says why."""
