"""Runtime side of the task models (numpy + onnxruntime only): model cards and ONNX sessions.

* :mod:`models.runtime.card` - the model card (``<name>.json`` beside ``<name>.onnx``): read, validate, write.
* :mod:`models.runtime.onnx_model` - :class:`OnnxTaskModel` (streaming and offline inference) and model discovery.
"""

from models.runtime.card import SCHEMA_VERSION, ModelCard, load_card, save_card
from models.runtime.onnx_model import OnnxTaskModel, find_bundled_models, find_models, user_model_dir

__all__ = [
    "SCHEMA_VERSION",
    "ModelCard",
    "OnnxTaskModel",
    "find_bundled_models",
    "find_models",
    "load_card",
    "save_card",
    "user_model_dir",
]
