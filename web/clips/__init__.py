"""The clip's life in one room: storage, sealing, states, deletion with its audit, the queue."""
