"""Candor web app: designer pages, panelist API, results."""
