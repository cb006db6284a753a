"""The clip's life, shared by the panel API and the worker: its tables, every state change
(lifecycle) with the idle and sweep policies, storage (sealed chunks in a local directory or an
object store), queue, deletion and audit with key destruction, aggregate updates."""
