"""The protocol edge: Tencent Cloud API 3.0 over HTTP (auth, envelope, dispatch)."""
