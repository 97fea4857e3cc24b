"""Example applications built on Tencent VOD, tested against vodflow."""
