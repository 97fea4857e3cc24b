"""A small video service on Tencent VOD: see README.md beside this file."""
