"""vodflow: a self-hosted implementation of Tencent Cloud VOD task flows."""

__version__ = "0.1.0"
