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
