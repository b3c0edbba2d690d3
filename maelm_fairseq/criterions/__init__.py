from . import maelm  # noqa: F401
from . import squad  # noqa: F401
