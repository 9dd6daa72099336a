"""The Model card's subject-level text and figure, from a sidecar's "subject_evaluation" alone."""
from core.reporting import subject_card

ROWS = [{"subject": "7", "cells": 20, "score": 0.81, "interval": [0.7, 0.9], "answer": "all", "truth": "all"},
        {"subject": "H3", "cells": 15, "score": 0.62, "interval": [0.4, 0.75], "answer": "all", "truth": "hem"}]
SUMMARY = {"subjects": 2, "correct": 1, "accuracy": 0.5, "accuracy_ci": [0.0126, 0.9874], "roc_auc": 1.0, "roc_auc_ci": None}


def test_subject_rows_speak_in_words_and_mark_errors():
    rows = subject_card.subject_rows(ROWS)
    assert [(row["Answer"], row["Truth"], row["Right"]) for row in rows] == [("ALL", "ALL", "yes"), ("ALL", "Healthy", "NO")]
    assert rows[0]["Subject score (95% interval over its cells)"] == "0.810 (0.700 – 0.900)"


def test_the_text_says_how_few_subjects_and_the_chosen_rule():
    assert "rest on 2 subjects only" in subject_card.few_subjects_text(SUMMARY)
    assert "moves the accuracy by 50 points" in subject_card.few_subjects_text(SUMMARY)
    rules = subject_card.rule_rows({"mean_log_odds": SUMMARY, "mean_probability": SUMMARY}, "mean_log_odds")
    assert [row["Rule"] for row in rules] == ["mean log-odds of the cells (used)", "mean P(ALL) of the cells"]
    summary = subject_card.summary_rows(SUMMARY)
    assert summary[0]["Value"] == "1 of 2" and summary[2]["95% CI"].startswith("not available")
    assert "mean log-odds of the cells" in subject_card.method_text("mean_log_odds")


def test_stability_sentence_only_when_stable():
    assert subject_card.stable_text({"stable_after": 12}).startswith("With 12 cells, 95% of these subjects")
    assert subject_card.stable_text({"stable_after": None}) is None


def test_cells_needed_figure_has_three_curves_over_the_sizes():
    curve = [{"cells": size, "subjects": 4, "accuracy": 0.8, "roc_auc": None if size == 1 else 0.9, "agreement": 0.7}
             for size in (1, 2, 5)]
    figure = subject_card.cells_needed_figure(curve)
    assert len(figure.data) == 3 and all(list(trace.x) == [1, 2, 5] for trace in figure.data)


def test_a_collapsed_auc_interval_says_it_shows_no_uncertainty():
    rows = subject_card.summary_rows({**SUMMARY, "roc_auc_ci": [1.0, 1.0]})
    assert "cannot show how uncertain" in rows[2]["95% CI"]
