from . import maelm  # noqa: F401
