"""Errors raised by the media layer.

Every error carries a ``code``: the processing error string that ends up in a
task result (``ErrCodeExt``).  The strings are Tencent's, but they are plain
data here; the media layer never builds a wire structure.  Callers catch
:class:`MediaError` for anything the layer raises and copy ``code`` and
``message`` into the task; anything else escaping the layer is a bug.
"""

from __future__ import annotations

from typing import Final

INVALID_INPUT: Final = "InvalidInput"
INVALID_TIME_OFFSET: Final = "InvalidInput.InvalidTimeOffset"
CONFIGURATION_UNSUPPORTED: Final = "InvalidInput.ConfigurationUnsupported"
SOURCE_FILE_ERROR: Final = "SourceFileError"
NO_VIDEO_MEDIA: Final = "SourceFileError.NoVideoMedia"
CONTENT_MALFORMED: Final = "SourceFileError.ContentMalformed"
CONTENT_UNSUPPORTED: Final = "SourceFileError.ContentUnsupported"
INTERNAL_ERROR: Final = "InternalError"


class MediaError(Exception):
    """Base of every error the media layer raises on purpose.

    ``code`` is machine-readable and stable; ``message`` is short, human,
    and safe to show to the API caller (no paths from the host, no stderr
    dumps).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ProbeError(MediaError):
    """The source could not be accepted as media (see :func:`vodflow.media.probe`)."""


class MediaOpError(MediaError):
    """A processing operation (transcode, snapshot, ...) failed."""


class FFmpegError(Exception):
    """ffmpeg exited non-zero, timed out, or could not be started.

    Not a :class:`MediaError`: it is the raw subprocess failure. The ops turn
    it into a :class:`MediaOpError` with a code chosen from the stderr tail,
    because only they know whether a failure means "bad source" or "bad spec".
    """

    def __init__(
        self,
        message: str,
        *,
        returncode: int | None = None,
        stderr_tail: str = "",
        timed_out: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        self.timed_out = timed_out
