"""Who holds a lease: `host:pid:token` of this process, and whether an owner is gone.

Subtask leases, PullUpload leases and CommitUpload's commit claim all name their
holder this way, so a restarted server can tell the claims of its dead
predecessor (same host, a pid that no longer runs, or its own pid under another
token) from those of live peers, and take them over at once instead of waiting
for their lease to expire.
"""

from __future__ import annotations

import os
import secrets
import socket

HOST = socket.gethostname()
OWNER = f"{HOST}:{os.getpid()}:{secrets.token_hex(4)}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_dead(owner: str | None, host: str = HOST, me: str = OWNER) -> bool:
    """Whether a lease owner `host:pid:token` is a process of this host that is gone."""
    if not owner or owner == me:
        return False
    parts = owner.split(":")
    if len(parts) != 3 or parts[0] != host:
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    # Our own pid with another token is a previous incarnation (pid reuse after restart).
    return pid == os.getpid() or not pid_alive(pid)
