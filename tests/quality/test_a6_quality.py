"""Quality of the a6 grading suites (the shared checks of `_quality.AssignmentQuality`)."""

import pytest
from _quality import AssignmentQuality, pytest_generate_tests  # noqa: F401


class TestA6Quality(AssignmentQuality):
    folder = "a6_prompting"
    task_points = {
        "test_prompts.py": 15,
        "test_selection.py": 15,
        "test_extraction.py": 20,
        "test_voting.py": 15,
        "test_evaluation.py": 25,
        "test_hf_backend.py": 10,
    }


@pytest.mark.xfail(
    strict=True,
    reason="a6 is disabled in course.yml because its icl checkpoint does not show in-context learning well "
    "enough yet (models/MODEL_CARD.md: 8 shots over 0 +19.8 points, needs +30; chain of thought over direct "
    "+88.4 and the vote +6.7 are met); strict, so the test reports as soon as a retrained checkpoint meets "
    "every criterion and a6 can be enabled",
)
def test_shipped_models_show_the_effects():
    """The issue's criteria on the shipped checkpoints, measured with the reference harness on held-out
    problems with the model card's fixed seeds (fewer problems than the card): accuracy rises by at least 30
    points from 0 to 8 shots; chain of thought beats direct answers by at least 30 points; a vote over 10
    sampled chains beats one sampled chain at the same temperature (1.0) by at least 3 points."""
    import json
    import subprocess
    import sys

    from _quality import ROOT

    script = ROOT / "assignments" / "a6_prompting" / "model_card.py"
    out = subprocess.run(
        [sys.executable, str(script), "--json", "300", "200", "100"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    m = json.loads(out)
    k0, k8 = m["icl"]["all"][0]["value"], m["icl"]["all"][-1]["value"]
    direct, cot = m["cot"]["direct"]["value"], m["cot"]["cot"]["value"]
    single, vote10 = m["sc"]["1.0"]["single"]["value"], m["sc"]["1.0"]["vote"][-1]["value"]
    assert k8 - k0 >= 0.30, f"0 shots {k0:.3f}, 8 shots {k8:.3f}"
    assert cot - direct >= 0.30, f"direct {direct:.3f}, chain of thought {cot:.3f}"
    assert vote10 - single >= 0.03, f"one sampled chain {single:.3f}, vote over 10 {vote10:.3f}"
