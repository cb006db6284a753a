"""Synthetic webcam media with known truth: the demo's sample panelists and the tests' clips."""
