"""HTTP routes of the accounts domain."""

from fastapi import APIRouter

router = APIRouter()
