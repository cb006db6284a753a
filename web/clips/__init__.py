"""The clip's life, shared by the panel API and the worker: storage, queue, lifecycle,
deletion and audit, aggregate updates."""
