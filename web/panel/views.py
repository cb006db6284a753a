"""HTTP routes of the panel domain."""

from fastapi import APIRouter

router = APIRouter()
