"""Tencent's limits on the options every task request shares, each in one place.

Sources: the SDK's models.py docstrings of ProcessMediaRequest, PullUploadRequest
and ApplyUploadRequest (TasksPriority, SessionContext, SessionId) and Tencent's
statement that a SessionId is de-duplicated over three days.
"""

from __future__ import annotations

MIN_PRIORITY = -10
MAX_PRIORITY = 10
MAX_SESSION_CONTEXT = 1000
MAX_SESSION_ID = 50
# A request repeating a SessionId within this window is refused.
SESSION_WINDOW_S = 3 * 24 * 3600.0
# TasksNotifyMode values, and the one default (when the request leaves it out).
NOTIFY_MODES = ("Finish", "Change", "None")
DEFAULT_NOTIFY_MODE = "Finish"
