"""Running the whole stack on one machine: the private Redis, the process specs and their supervisor."""
