"""How the model in use was made, in sentences, from its sidecar alone (for the About page).

The About page also describes the full recipe for the real data; a demo model is trained
differently (smaller images, random starting weights, one phase), and a person should read
which recipe made the answers they see.
"""
from __future__ import annotations

from typing import Any

from core.data.labels import format_threshold

WEIGHT_WORDS = {
    "imagenet": "starting from **ImageNet** weights",
    "none": "from **random weights** (trained from scratch, no ImageNet weights)",
}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def training_sentence(arguments: dict[str, Any], training: dict[str, Any]) -> str | None:
    """Phases, epochs, batch size and learning rates from the sidecar's `arguments` and `training`, or None."""
    epochs, fine_tune = arguments.get("epochs"), arguments.get("fine_tune_epochs") or 0
    if not _number(epochs):
        return None
    if fine_tune and arguments.get("weights") not in (None, "none"):
        phases = (f"the head on the frozen base for up to {epochs} epochs, then the whole network for up to "
                  f"{fine_tune} more at learning rate {arguments.get('fine_tune_learning_rate', '?')}")
    else:
        phases = f"every layer at once, in one phase of up to {epochs} epochs"
    sentence = f"**Training**: {phases}; Adam at learning rate {arguments.get('learning_rate', '?')}, batch size {arguments.get('batch_size', '?')}"
    if _number(arguments.get("patience")):
        sentence += f", early stopping after {arguments['patience']} epochs without progress on the held-out subjects"
    if _number(training.get("epochs_run")):
        sentence += f" (it ran {training['epochs_run']} epochs"
        sentence += f" in {training['seconds'] / 60:.1f} min)" if _number(training.get("seconds")) else ")"
    return sentence + "."


def recipe_lines(metadata: dict[str, Any]) -> list[str]:
    """Markdown bullet texts: data, input size, starting weights, training and threshold of the model in use."""
    arguments, data = metadata.get("arguments") or {}, metadata.get("data") or {}
    lines = []
    if metadata.get("is_demo") or data.get("synthetic"):
        lines.append("**Data**: the **synthetic demo cells** this app draws; its answers say nothing about real cells.")
    elif data.get("synthetic") is False:
        lines.append("**Data**: the C-NMC 2019 training folds, split by subject.")
    if _number(metadata.get("image_size")):
        lines.append(f"**Input**: cells cropped and resized to **{metadata['image_size']} × {metadata['image_size']}** pixels.")
    weights = str(metadata.get("weights") or arguments.get("weights") or "")
    if weights:
        lines.append(f"**Model**: ResNet50 {WEIGHT_WORDS.get(weights, f'starting from the weights file {weights}')}, "
                     "with one sigmoid unit giving P(ALL).")
    sentence = training_sentence(arguments, metadata.get("training") or {})
    if sentence:
        lines.append(sentence)
    if _number(metadata.get("threshold")):
        lines.append(f"**Answer**: ALL when P(ALL) ≥ **{format_threshold(metadata['threshold'])}**, chosen on the held-out subjects.")
    return lines
