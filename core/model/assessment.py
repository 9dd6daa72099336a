"""One immutable assessment per image: the answer, the evidence behind it and its limits.

Every surface (Classify's detail and table, its CSV, the HTML report, Explain's headline and
`python -m core.predict`) renders an `Assessment` and says its limits with the same words,
`qualifications(assessment)`. Calibration, conformal prediction, the out-of-distribution score and
the similar cells come from the model's `ModelEvidence`; they are None (or empty) for a model
saved without them. The answer itself comes from the one decision rule, `core.model.decision.decide`:
with conformal scores, only a prediction set of exactly one class is answered.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.data import labels
from core.data.sides import REAL_CELLS, SEEN_IN_TRAINING
from core.model import decision, ood
from core.model.analysis import CellAnalysis
from core.model.calibration import ConformalAnswer
from core.model.evidence import ModelEvidence
from core.model.sidecar_schema import CARD_UNKNOWN_KEY

NO_MODEL_CARD_SENTENCE = ("This model has no model card (its metadata file is missing or records no threshold): "
                          "its threshold and metrics are unknown, and the default threshold 0.5 was used.")
DEMO_SENTENCE = "This model learned synthetic cells; its answer says nothing about a real cell."
REAL_CELL_ON_DEMO_SENTENCE = ("This is a real C-NMC cell: it is unlike anything the demo model learned, "
                              "which saw synthetic cells only.")
REFER_OUT_OF_SCOPE = "Refer: this image is not like the cells the model learned"
OUT_OF_SCOPE_SENTENCE = f"{REFER_OUT_OF_SCOPE}; its P(ALL) is shown for reference only."
ORIENTATION_SENTENCE = "This answer depends on the cell's orientation; treat it as unreliable."
CONFORMAL_REFER_SENTENCE = "Both answers are possible at the chosen error rate: refer."
CONFORMAL_EMPTY_SENTENCE = "Neither answer is plausible at the chosen error rate (an empty prediction set): refer."
OUT_OF_DISTRIBUTION_SENTENCE = ("This cell is unlike the cells the model learned (its distance to the known cells "
                                "passes the model's out-of-distribution threshold): refer.")
# With the score and its threshold, `ood_sentence(assessment)` says it with the numbers (`core.model.ood.refer_sentence`).
THRESHOLD_DIFFERS_SENTENCE = ("The model card's threshold alone would give the other class; the answer follows the "
                              "prediction set, which holds one class only.")
SEEN_IN_TRAINING_SENTENCE = ("This sample's subject was seen in training: the answer shows what the model "
                             "remembers, not how it does on new patients.")


@dataclass(frozen=True)
class Assessment:
    """Everything one answer rests on, as plain values (pickles cheaply; the app caches it).

    Attributes:
        answer: "all", "hem" or "refer" (`core.data.labels`).
        label: "all" or "hem", what the threshold alone gives.
        probability_all: raw P(all) in [0, 1] from the sigmoid unit.
        threshold: the model card's decision threshold on P(all).
        tta_mean, tta_std: mean and spread of P(all) over the 8 flips/rotations, or None.
        views_disagree: the 8-view mean falls on the other side of the threshold than `label`.
        scope_reasons: why the image does not look like a C-NMC input; empty when it does.
        is_demo: the model is the synthetic demo model (sidecar "is_demo").
        sample_side: for a sample, `core.data.sides` words ("seen in training", "held-out subjects",
            "external set", "real cells (C-NMC 2019)", "<fold> folder"); None for an upload.
        probability_all_calibrated: temperature-scaled P(all), or None without calibration.
        conformal_decision: "all", "hem" or "refer" from the conformal thresholds, or None.
        prediction_set: the classes of the conformal prediction set (`LABELS` order; may be empty),
            or None without conformal scores.
        refer_reasons: `core.model.decision.REFER_REASONS` that apply; empty for an answer.
        ood_score, ood_flag: out-of-distribution score and whether it passes the sidecar's threshold, or None.
        ood_threshold: that threshold, or None without an index of known cells.
        ood_from_statistics: the score is the stain and texture distance (`core.model.ood`); False: an older
            model's distance to the known cells' features.
        similar_cells: the nearest training cells from the embedding index; empty without one.
        card_unknown: the model came without a sidecar, or one without a threshold (`CARD_UNKNOWN_KEY`).
    """

    answer: str
    label: str
    probability_all: float
    threshold: float
    tta_mean: float | None
    tta_std: float | None
    views_disagree: bool
    scope_reasons: tuple[str, ...]
    is_demo: bool
    sample_side: str | None = None
    probability_all_calibrated: float | None = None
    conformal_decision: str | None = None
    ood_score: float | None = None
    ood_flag: bool | None = None
    similar_cells: tuple = ()
    card_unknown: bool = False
    prediction_set: tuple[str, ...] | None = None
    refer_reasons: tuple[str, ...] = ()
    ood_threshold: float | None = None
    ood_from_statistics: bool = False

    @property
    def out_of_scope(self) -> bool:
        """Refused: the image fails the scope check or is flagged out of distribution."""
        return bool(self.scope_reasons) or bool(self.ood_flag)

    @property
    def out_of_distribution(self) -> bool:
        """The OOD score passes the model's threshold (False without an index of known cells)."""
        return bool(self.ood_flag)


def views_disagree(prediction: Any) -> bool:
    """True when the mean over the 8 views falls on the other side of the threshold than the answer.

    Args:
        prediction: a `core.model.inference.Prediction` (label, threshold, tta_mean).
    """
    if prediction.tta_mean is None:
        return False
    return bool(labels.calls_all(prediction.tta_mean, prediction.threshold)) != (prediction.label == labels.POSITIVE_LABEL)


def _calibration(probability_all: float, evidence: ModelEvidence | None,
                 error_rate: float | None) -> tuple[float | None, ConformalAnswer | None]:
    """(calibrated P(all), conformal answer at `error_rate`), or (None, None) when the model has no calibration."""
    if evidence is None or evidence.calibration is None:
        return None, None
    calibration = evidence.calibration
    return float(calibration.probability(probability_all)), calibration.answer(probability_all, error_rate)


# (the similar cells, the OOD score) of one cell, as `EmbeddingIndex.query` gives them.
Neighbourhood = tuple[tuple, float]


def _embedding_evidence(analysis: CellAnalysis, evidence: ModelEvidence | None,
                        neighbourhood: Neighbourhood | None = None) -> tuple[float | None, bool | None, tuple]:
    """(OOD score, OOD flag, similar cells), or (None, None, ()) when the model has no index of known cells."""
    if evidence is None or evidence.index is None or analysis.features is None:
        return None, None, ()
    if neighbourhood is None:
        similar, neighbour_score = evidence.index.query(analysis.features)
        neighbourhood = similar, evidence.scores_of([analysis], [neighbour_score])[0]
    similar, score = neighbourhood
    return score, None if score is None else bool(score > evidence.ood_threshold), similar


def assess(analysis: CellAnalysis, metadata: Mapping[str, Any], sample_side: str | None = None,
           evidence: ModelEvidence | None = None, error_rate: float | None = None,
           neighbourhood: Neighbourhood | None = None) -> Assessment:
    """The one assessment of an analysed image.

    Args:
        analysis: the prediction (with TTA when run), the preprocessing stages and the scope reasons.
        metadata: the model's sidecar (`is_demo`, and later "calibration", "conformal", "embedding_index").
        sample_side: the side words of a dataset sample (`core.data.sides`); None for an upload.
        evidence: the model's calibration and index of known cells (`Classifier.evidence`); None: neither.
        error_rate: the conformal error rate the user chose; None: the sidecar's default (5%).
        neighbourhood: this cell's `evidence.index.query` answer where it was already asked (many cells
            at once: `EmbeddingIndex.query_many`); None: asked here.
    """
    prediction = analysis.prediction
    calibrated, conformal = _calibration(prediction.probability_all, evidence, error_rate)
    ood_score, ood_flag, similar = _embedding_evidence(analysis, evidence, neighbourhood)
    prediction_set = None if conformal is None else conformal.prediction_set
    decided = decision.decide(prediction.label, prediction_set, analysis.scope_reasons, ood_flag)
    return Assessment(
        answer=decided.answer, label=prediction.label,
        probability_all=prediction.probability_all, threshold=prediction.threshold,
        tta_mean=prediction.tta_mean, tta_std=prediction.tta_std, views_disagree=views_disagree(prediction),
        scope_reasons=tuple(analysis.scope_reasons), is_demo=bool(metadata.get("is_demo")), sample_side=sample_side,
        probability_all_calibrated=calibrated, conformal_decision=None if conformal is None else conformal.decision,
        ood_score=ood_score, ood_flag=ood_flag, similar_cells=similar,
        ood_threshold=None if ood_flag is None else evidence.ood_threshold,
        ood_from_statistics=ood_flag is not None and evidence.ood_statistics is not None,
        card_unknown=bool(metadata.get(CARD_UNKNOWN_KEY)),
        prediction_set=prediction_set, refer_reasons=decided.reasons,
    )


def answer_text(assessment: Assessment) -> str:
    """The answer as every surface writes it: 'ALL', 'Healthy', 'Refer' or the out-of-scope refer sentence."""
    return REFER_OUT_OF_SCOPE if assessment.out_of_scope else labels.answer_name(assessment.answer)


# Short machine-readable names of the qualifications, in the order of `qualifications` (CLI and CSV).
FLAG_SENTENCES = {
    "no_model_card": NO_MODEL_CARD_SENTENCE,
    "demo_model": DEMO_SENTENCE,
    "real_cell_on_demo_model": REAL_CELL_ON_DEMO_SENTENCE,
    "out_of_scope": OUT_OF_SCOPE_SENTENCE,
    "out_of_distribution": OUT_OF_DISTRIBUTION_SENTENCE,
    "orientation_unstable": ORIENTATION_SENTENCE,
    "conformal_refer": CONFORMAL_REFER_SENTENCE,
    "conformal_empty": CONFORMAL_EMPTY_SENTENCE,
    "threshold_differs": THRESHOLD_DIFFERS_SENTENCE,
    "seen_in_training": SEEN_IN_TRAINING_SENTENCE,
}


def flags(assessment: Assessment) -> tuple[str, ...]:
    """The names (keys of `FLAG_SENTENCES`) of the qualifications that apply, in display order."""
    applies = {
        "no_model_card": assessment.card_unknown,
        "demo_model": assessment.is_demo,
        "real_cell_on_demo_model": assessment.is_demo and assessment.sample_side == REAL_CELLS,
        "out_of_scope": bool(assessment.scope_reasons),
        "out_of_distribution": assessment.out_of_distribution,
        "orientation_unstable": assessment.views_disagree,
        "conformal_refer": decision.set_reason(assessment.prediction_set) == decision.BOTH_PLAUSIBLE,
        "conformal_empty": decision.set_reason(assessment.prediction_set) == decision.NONE_PLAUSIBLE,
        "threshold_differs": assessment.answer in labels.LABELS and assessment.answer != assessment.label,
        "seen_in_training": assessment.sample_side == SEEN_IN_TRAINING,
    }
    return tuple(name for name in FLAG_SENTENCES if applies[name])


def ood_sentence(assessment: Assessment) -> str:
    """Why a cell is referred as unlike the known cells: its OOD score against the model's threshold, in one sentence."""
    if assessment.ood_score is None or assessment.ood_threshold is None:
        return OUT_OF_DISTRIBUTION_SENTENCE
    return ood.refer_sentence(assessment.ood_score, assessment.ood_threshold, assessment.ood_from_statistics)


def ood_score_text(assessment: Assessment) -> str:
    """"41.2 against the threshold 18.1: unlike the cells the model learned", for a table row; "" without a score."""
    if assessment.ood_score is None:
        return ""
    return ood.score_text(assessment.ood_score, assessment.ood_threshold, bool(assessment.ood_flag), assessment.ood_from_statistics)


def qualifications(assessment: Assessment) -> tuple[str, ...]:
    """The sentences every surface shows beside the answer, most important first; empty when none apply."""
    return tuple(ood_sentence(assessment) if name == "out_of_distribution" else FLAG_SENTENCES[name]
                 for name in flags(assessment))
