"""HTTP routes of the results domain."""

from fastapi import APIRouter

router = APIRouter()
