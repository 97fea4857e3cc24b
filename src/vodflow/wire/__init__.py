"""Pydantic models of Tencent structures, requests and responses.

Field names are exactly Tencent's (`FileId`, `MediaProcessResultSet`...): this is
the one package where they appear. Everything serialises with null fields omitted.
"""
