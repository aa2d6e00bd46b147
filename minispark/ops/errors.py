"""The two ways an operation ends early, each with a one-line message. Standard library only.

Fabric prints the message as it is, with no traceback, and exits 2 for a ``UsageError`` (the
operator can fix the command) and 1 for a ``RemoteError`` (a host or the cluster failed).
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad input: an unknown host or group, an unreadable inventory, conflicting options."""


class RemoteError(Exception):
    """A command on a host failed; the message names the host, the command and its answer."""
