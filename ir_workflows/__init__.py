"""Temporal side of Sequester: workflows (deterministic, no Django), activities (call services), worker."""
