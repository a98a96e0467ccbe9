"""Settings: ``base`` (env-driven), ``development`` (make run), ``test`` and ``production``."""
