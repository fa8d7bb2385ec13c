"""Home: what multi-task learning is, and one-click presets that fill every page.

Kept light on purpose: nothing here imports TensorFlow, so the first page appears fast.
"""

import streamlit as st

from mtl_core.presets import PRESETS
from ui import entry, state
from ui.diagrams import intro_dot
from ui.plain import code, md

entry.through_app()

st.title("MTL Playground")

left, right = st.columns([3, 2], gap="large")
with left:
    st.markdown(
        "**Multi-task learning (MTL)** trains *one* network on several targets at once. "
        "The first layers, the **shared trunk**, are used by every task; on top of it sits **one head per "
        "task** with its own output and loss. The task losses are added up (with weights you choose), so "
        "what one task learns about the inputs can help the others.\n\n"
        "- **Homogeneous** MTL: every task is of one kind, e.g. three regressions.\n"
        "- **Heterogeneous** MTL: classification and regression together, e.g. a flower's species *and* "
        "its petal width.\n\n"
        "Pick a preset below, then walk through the pages on the left: **Data & tasks**, **Model & "
        "losses**, **Train** (live loss curves, change loss weights while it trains), and **Predict**."
    )
with right:
    st.graphviz_chart(intro_dot(), width="stretch")


def _use(name: str) -> None:
    state.apply_preset(name)
    state.scratch()["flash"] = f"Loaded the preset “{PRESETS[name].title}”. Every page now shows it."


st.subheader("Presets")
current = state.preset_name()
flash = state.scratch().pop("flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")
items = list(PRESETS.items())
for start in range(0, len(items), 3):
    cols = st.columns(3)
    for col, (name, preset) in zip(cols, items[start:start + 3]):
        cfg = preset.config
        with col.container(border=True, height="stretch"):
            st.markdown(f"**{preset.title}**")
            st.caption(preset.description)
            st.caption(f"Dataset `{cfg.dataset}` · tasks {', '.join(f'`{t}`' for t in cfg.task_names)} · "
                       f"{cfg.epochs} epochs")
            st.button("In use" if name == current else "Use this preset", key=f"preset_{name}",
                      type="primary" if name == current else "secondary", on_click=_use, args=(name,),
                      icon=":material/check:" if name == current else None)

cfg = state.config()
st.subheader("Current setup")
tasks = ", ".join(code(t) for t in cfg.task_names) or "none yet"
# The dataset's name, not its title: the registry module imports pandas (0.4 s) and Home stays light.
st.markdown(f"Dataset {code(cfg.dataset)}, tasks {tasks}; "
            f"shared trunk {cfg.shared or 'none'}, {cfg.epochs} epochs.")
session = state.training()
if session is not None:
    run = session.run
    done = len(run.events())
    status = "running" if run.running else (run.result.message if run.result else run.error or "finished")
    st.caption(md("Training on {}: {}/{} epochs, {}", session.dataset_title, done, run.config.epochs, status))
links = st.columns(4)
links[0].page_link("pages/data.py", label="Data & tasks", icon=":material/table:")
links[1].page_link("pages/model.py", label="Model & losses", icon=":material/account_tree:")
links[2].page_link("pages/train.py", label="Train", icon=":material/model_training:")
links[3].page_link("pages/predict.py", label="Predict", icon=":material/online_prediction:")
