"""Business rules of the web tier, one module per entity."""
