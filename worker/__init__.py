"""Candor worker: Celery app and tasks; worker/analysis/ is pure video-in, curves-out."""
