"""Watermark templates: a template kind without a subtask kind or outputs of its own.

Its templates are named by the WatermarkSet of Transcode, AdaptiveDynamicStreaming,
SnapshotByTimeOffset, SampleSnapshot and CoverBySnapshot items; the rules are
`core/watermarks.py`'s. Tencent lists no preset watermark templates.
"""

from __future__ import annotations

from vodflow.core import watermarks
from vodflow.core.kinds.base import TemplateKind

# CreateWatermarkTemplate: "创建用户自定义水印模板，数量上限：1000。"
TEMPLATES = TemplateKind(
    name=watermarks.FAMILY_NAME,
    rules=watermarks.rules,
    presets={},
    max_templates=1000,
)
