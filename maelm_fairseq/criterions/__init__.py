from . import maelm  # noqa: F401
from . import sentence_prediction_metrics  # noqa: F401
