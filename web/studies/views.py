"""HTTP routes of the studies domain."""

from fastapi import APIRouter

router = APIRouter()
