"""REST API of key custody: the inventory, the quarantine, state changes and the gate."""
