"""Key custody: managed keys and their NIST states, backends, the gate, segregation, blast radius."""
