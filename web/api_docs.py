"""`/docs`: the OpenAPI page with Swagger UI served by Candor itself (from npm, like uPlot), so
the API docs work on a machine without internet; FastAPI's default loads it from a CDN."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from web.framing import PAGE_CSP

router = APIRouter(include_in_schema=False)

# The top of /docs: how to authenticate, with examples that run as written (tests run them).
API_DESCRIPTION = """\
Candor's JSON API for designers, analysts and their scripts. (The routes under
`/api/v1/panel/` are the recorder's: they take a panelist's session token, not these.)

## Authenticate

**Scripts: an API token.** Make one on your account page ([/account](/account): your email at
the top right of any page), for one organisation; the token (`cnd_…`) is shown once, so copy it
then. Send it in the `Authorization` header; no cookie and no CSRF token are needed:

```sh
export CANDOR_TOKEN=cnd_...   # the token from /account
curl -H "Authorization: Bearer $CANDOR_TOKEN" {base_url}/api/v1/me
curl -X POST -H "Authorization: Bearer $CANDOR_TOKEN" -H "Content-Type: application/json" \\
  -d '{{"name": "Spring campaign", "attest_not_employees_or_students": true}}' \\
  {base_url}/api/v1/orgs/ORG_ID/studies
```

(`ORG_ID`: the `id` of the organisation in the answer of `/api/v1/me`.) A token acts as you in
its one organisation, with your role there at each call (owner, designer or analyst): another
organisation's things answer 404, what your role does not allow 403, and a revoked or unknown
token 401. Revoke a token on the account page; it stops working at once.

**"Try it out" on this page:** click **Authorize** and paste a token. Without one, your browser's
login cookie is sent: reads work, but writes answer 403, because a cookie login must also send
the `X-CSRF-Token` header (from `GET /api/v1/auth/csrf`), which this page does not.

**Errors** have one shape: `{{"detail": "a sentence", "code": "not_found"}}`; `code` says
which refusal (see the `Error` schema).
"""


def api_description(base_url: str) -> str:
    """The API's description with this server's address in its examples."""
    return API_DESCRIPTION.format(base_url=base_url.rstrip("/"))


@router.get("/docs")
def api_docs(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} API",
        swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
        swagger_favicon_url="data:,",
    )
    # Swagger UI starts from one inline script: allowed by its hash, and no other inline script.
    body = bytes(page.body).decode()
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in re.findall(r"<script>(.*?)</script>", body, re.S)
    ]
    page.headers["content-security-policy"] = PAGE_CSP.replace(
        "script-src 'self'", " ".join(["script-src 'self'", *hashes])
    )
    return page
