"""The explanation methods and layers by name: what people read, without importing TensorFlow."""
from __future__ import annotations

METHODS = ("gradcam", "gradcam++", "scorecam", "layercam", "smoothgrad")
METHOD_NAMES = {
    "gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "scorecam": "Score-CAM",
    "layercam": "LayerCAM", "smoothgrad": "SmoothGrad",
}
LAYERS = {
    "conv3_block4_out": "Stage 3 (last block)",
    "conv4_block6_out": "Stage 4 (last block)",
    "conv5_block3_out": "Stage 5 (last block)",
}
