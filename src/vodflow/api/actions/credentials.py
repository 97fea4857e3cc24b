"""CreateTempCredential (vodflow extension): temporary credentials for API calls.

Apps hand these to less trusted parts (a browser, a job) instead of the root
key, exactly as they would use STS credentials with Tencent: the SDK sends the
token as X-TC-Token. Only the root credential may issue them.
"""

from __future__ import annotations

from typing import Any

from vodflow.api.registry import Context, action
from vodflow.timeutil import iso
from vodflow.wire.credentials import CreateTempCredentialRequest


@action(extension=True, root_only=True)
async def CreateTempCredential(ctx: Context, req: CreateTempCredentialRequest) -> dict[str, Any]:
    cred = await ctx.services.credentials.issue(
        scope="api",
        duration_s=req.DurationSeconds,
        app_id=ctx.app_id if req.SubAppId is not None else None,
    )
    expires = int(cred.expires_at or 0)
    return {
        "Credentials": {
            "TmpSecretId": cred.secret_id,
            "TmpSecretKey": cred.secret_key,
            "Token": cred.token,
        },
        "ExpiredTime": expires,
        "Expiration": iso(expires),
    }
