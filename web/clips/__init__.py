"""The clip's life, shared by the panel API and the worker: storage (sealed chunks in a local
directory or an object store), queue, lifecycle, deletion and audit with key destruction,
aggregate updates."""
