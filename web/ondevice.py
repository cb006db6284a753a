"""On-device mode's browser assets, served from Candor's own origin: MediaPipe's tasks-vision
(npm ``@mediapipe/tasks-vision`` 0.10.34, Apache-2.0: its ES module bundle, the SIMD WebAssembly
build and its loader) and the same ``face_landmarker.task`` the server pins.

Each file is refused unless its sha256 is the pinned one (a package swapped under us is never
served), and each URL carries its version, so browsers keep it for a year (``immutable``): a
panelist downloads ~15 MB once, not per study. The non-SIMD build is not served: a browser
without WebAssembly SIMD gets the study's fallback, never a slower model (recorder_js/src/
ondevice/analyser.js). Nothing here is fetched from anywhere else at run time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from candor.ondevice import LIBRARY_VERSION, MODEL_PACKAGE, MODEL_PATH, MODEL_SHA256
from web.errors import NotFound

NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
PACKAGE_DIR = NODE_MODULES / "@mediapipe" / "tasks-vision"
# Where the recorder finds them (a version in the path: a new version is a new URL).
ASSETS_PREFIX = f"/recorder/vendor/tasks-vision-{LIBRARY_VERSION}"
MODEL_NAME = f"face_landmarker-{MODEL_SHA256[:16]}.task"
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    path: Path
    sha256: str
    media_type: str


ASSETS: dict[str, Asset] = {
    "vision_bundle.mjs": Asset(
        PACKAGE_DIR / "vision_bundle.mjs",
        "8752b2d5cae22bb369ecf9f0a1a6737d4c5fddc8d1cf8b4b16178ae698494077",
        "text/javascript",
    ),
    "vision_wasm_module_internal.js": Asset(
        PACKAGE_DIR / "wasm" / "vision_wasm_module_internal.js",
        "0ed17894e8d84bf97f3b721dfb85fe9023f8dcbceaad7dd4463eb56a0c81416c",
        "text/javascript",
    ),
    "vision_wasm_module_internal.wasm": Asset(
        PACKAGE_DIR / "wasm" / "vision_wasm_module_internal.wasm",
        "c7855da28628611c173fbd674a01a71d6194e50ebc57951cdedc231fe6e566c3",
        "application/wasm",
    ),
    MODEL_NAME: Asset(
        Path(
            str(metadata.distribution(MODEL_PACKAGE).locate_file(f"{MODEL_PACKAGE}/{MODEL_PATH}"))
        ),
        MODEL_SHA256,
        "application/octet-stream",
    ),
}


class AssetMissing(Exception):
    """An on-device asset is missing or not the pinned file."""


@cache
def asset_bytes(name: str) -> bytes:
    """The file's bytes, refused (AssetMissing) unless its sha256 is the pinned one."""
    asset = ASSETS[name]
    if not asset.path.is_file():
        raise AssetMissing(f"{asset.path} is missing: run `npm ci` (package-lock.json)")
    data = asset.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != asset.sha256:
        raise AssetMissing(f"{asset.path} is not the pinned file")
    return data


router = APIRouter(include_in_schema=False)


@router.get(ASSETS_PREFIX + "/{name}")
def ondevice_asset(name: str) -> Response:
    """One pinned on-device asset, cacheable for a year (its URL names its version)."""
    if name not in ASSETS:
        raise NotFound("No such on-device asset")
    try:
        data = asset_bytes(name)
    except AssetMissing:
        # The server's own installation is short, not the request: a plain 503, not a domain
        # error (those are the client's).
        return Response(
            "On-device analysis is not installed on this server",
            status_code=503,
            media_type="text/plain",
        )
    return Response(
        data,
        media_type=ASSETS[name].media_type,
        headers={
            "Cache-Control": IMMUTABLE,
            "Access-Control-Allow-Origin": "*",
            "ETag": f'"{ASSETS[name].sha256[:32]}"',
        },
    )
