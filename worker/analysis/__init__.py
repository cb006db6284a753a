"""Pure analysis: one webcam clip in, per-frame signals and per-second curves out."""
