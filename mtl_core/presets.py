"""Ready-made setups shared by the CLI (``--preset``) and the dashboard's home page."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from mtl_core.config import TaskSpec, TrainConfig
from mtl_core.errors import bad_value

#: The tutorial's three flowers: sepal length, sepal width, petal length, petal width.
TUTORIAL_FLOWERS = {
    "setosa-like [5.1, 3.5, 1.4, 0.2]": [5.1, 3.5, 1.4, 0.2],
    "virginica-like [5.9, 3.0, 5.1, 1.8]": [5.9, 3.0, 5.1, 1.8],
    "virginica-like [6.9, 3.1, 5.4, 2.1]": [6.9, 3.1, 5.4, 2.1],
}
IRIS_MEASUREMENTS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
#: The penguins' inputs: everything but the targets and ``year``, the year of the field season. Year says nothing
#: about a bird, yet a network fed it on 333 rows learns it (moving 2008 to 2009 flipped a prediction of sex).
PENGUIN_INPUTS = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm"]


@dataclass(frozen=True)
class Preset:
    """A named, complete configuration with a line saying what it shows."""

    name: str
    title: str
    description: str
    config: TrainConfig = field(default_factory=TrainConfig)

    def make_config(self) -> TrainConfig:
        """A fresh copy of the preset's config, safe to modify."""
        return copy.deepcopy(self.config)


# TensorFlow Playground's kind of network for the plane presets: small tanh layers, a brisk learning rate.
_PLANE_NETWORK = dict(shared=[8, 8], head=[], activation="tanh", optimizer="adam", lr=0.03, epochs=200)


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("seed", "Tutorial (Iris species, the original TF.js example)",
           "The tutorial this project grew from: 4-10-10-3 dense network, plain SGD, 10 epochs, all 150 rows, "
           "raw (unscaled) measurements. One task, so no sharing yet.",
           TrainConfig(dataset="iris", tasks=[TaskSpec("species")], inputs=list(IRIS_MEASUREMENTS),
                       shared=[10, 10], head=[], optimizer="sgd", lr=0.01, epochs=10, batch_size=32,
                       val_fraction=0.0, test_fraction=0.0, standardize_inputs=False,
                       # The tutorial trains its 10 epochs to the end on every row: no validation, no stopping.
                       early_stopping=False)),
    Preset("heterogeneous", "Heterogeneous: Iris species + petal width",
           "A classification and a regression share one trunk: species from sepals and petal length, "
           "and petal width as a number.",
           TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width")],
                       inputs=["sepal_length", "sepal_width", "petal_length"], shared=[10, 10], head=[],
                       optimizer="adam", lr=0.01, epochs=200)),
    Preset("homogeneous", "Homogeneous: Linnerud Weight, Waist, Pulse",
           "Three regressions of body measures from three exercises, on only 20 athletes.",
           TrainConfig(dataset="linnerud", tasks=[TaskSpec("Weight", "regression"), TaskSpec("Waist", "regression"),
                              TaskSpec("Pulse", "regression")],
                       shared=[16], head=[8], optimizer="adam", lr=0.01, epochs=200, batch_size=8,
                       val_fraction=0.2, test_fraction=0.2)),
    Preset("penguins", "Penguins: species + sex + body mass",
           "Two classifications and a regression on the Palmer penguins, with categorical inputs (island; "
           "the field season's year is left out: it describes the survey, not the bird).",
           TrainConfig(dataset="penguins", tasks=[TaskSpec("species"), TaskSpec("sex"), TaskSpec("body_mass_g")],
                       inputs=list(PENGUIN_INPUTS), shared=[32, 16], head=[8], optimizer="adam", lr=0.01,
                       epochs=150)),
    Preset("relatedness", "Task relatedness (synthetic)",
           "Two regressions whose correlation p you choose (Ma et al., 2018): sharing should help more "
           "as p rises.",
           TrainConfig(dataset="relatedness", dataset_params={"p": 0.8, "n": 4000},
                       tasks=[TaskSpec("y1"), TaskSpec("y2")], shared=[32, 16], head=[8], optimizer="adam",
                       lr=0.005, epochs=60, batch_size=64)),
    Preset("plane-related", "Two related tasks",
           "Two xor patterns on a plane, the second turned by 15°: their labels agree on most points, so one "
           "trunk serves both. Watch the landscapes on Train.",
           TrainConfig(dataset="plane", dataset_params={"shape": "xor", "angle": 15.0},
                       tasks=[TaskSpec("y1"), TaskSpec("y2")], **_PLANE_NETWORK)),
    Preset("plane-unrelated", "Two unrelated tasks",
           "The same xor, the second turned by 45° (a quarter turn only mirrors xor): the labels agree on half "
           "the points, as by chance, and the trunk's units split between the tasks.",
           TrainConfig(dataset="plane", dataset_params={"shape": "xor", "angle": 45.0},
                       tasks=[TaskSpec("y1"), TaskSpec("y2")], **_PLANE_NETWORK)),
    Preset("plane-mixed", "A classification and a regression",
           "Which side of a line a point is on (two classes), and a height that rises across that line with a "
           "ripple (a number): related tasks of two kinds.",
           TrainConfig(dataset="plane", dataset_params={"shape": "gauss", "shape2": "surface"},
                       tasks=[TaskSpec("y1"), TaskSpec("y2")], **_PLANE_NETWORK)),
)}


def get_preset(name: str) -> Preset:
    """Look a preset up by name; ConfigError naming ``preset`` if unknown."""
    if name not in PRESETS:
        raise bad_value("preset", name, f"expected one of {', '.join(repr(p) for p in PRESETS)}")
    return PRESETS[name]
