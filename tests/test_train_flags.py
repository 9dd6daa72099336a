"""train.py's flags: defaults come from TrainOptions, and --demo never drops a flag the user gave."""
import dataclasses

import pytest

import train
from core.training.demo import DEMO_RECIPE
from core.training.options import TrainOptions


def test_every_flag_default_is_the_training_options_default():
    args = train.parse_args(["--data-dir", "somewhere"])
    defaults = TrainOptions()
    for field in dataclasses.fields(TrainOptions):
        if hasattr(args, field.name) and field.name != "data_dir":
            assert getattr(args, field.name) == getattr(defaults, field.name), field.name


def test_demo_applies_its_recipe_to_flags_left_unset():
    options = train.options_from(train.parse_args(["--demo"]))
    for name, value in DEMO_RECIPE.items():
        assert getattr(options, name) == value, name


@pytest.mark.parametrize("argv", [["--demo", "--epochs", "2", "--image-size=64"], ["--image-size", "64", "--epochs=2", "--demo"]])
def test_demo_keeps_explicit_flags_over_its_recipe(argv):
    options = train.options_from(train.parse_args(argv))
    assert (options.epochs, options.image_size) == (2, 64)
    assert options.weights == DEMO_RECIPE["weights"] and options.demo


def test_explicit_flag_equal_to_the_default_still_overrides_the_recipe():
    options = train.options_from(train.parse_args(["--demo", "--weights", "imagenet"]))
    assert options.weights == "imagenet"


def test_abbreviated_flags_are_refused_so_none_is_silently_ignored(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(["--demo", "--epoch", "2"])
    assert exit_info.value.code == 2 and "--epoch" in capsys.readouterr().err
