"""Runs: every run that ended, to compare (loss curves, configs side by side), reopen on Predict, rename, share
or delete. The runs belong to the notebook id in the URL (``?nb=…``), so a bookmark finds them again."""

import streamlit as st

from mtl_core.errors import MTLError
from ui import entry, run_store, share, state
from ui.plain import md, plain
from ui.runs_view import config_diff, curves, filter_runs, highlight, label, overlay_figure, table

entry.through_app()

_FLASH = "runs.flash"

st.title("Runs")
notebook = share.notebook()
store = run_store.store()
problem = run_store.store_error()
if problem:
    st.warning(plain(problem), icon=":material/warning:")
    if store is not None:
        run_store.clear_store_error()  # a recording failure is told once; an unopenable store stays shown
if store is None:
    st.stop()
try:
    records = store.list_runs(notebook=notebook)
except Exception as exc:  # noqa: BLE001 - an unreachable database: say so, keep the page
    st.warning(plain(f"The run store can't be read right now: {exc}"), icon=":material/warning:")
    st.stop()

st.caption(f"Notebook `{notebook}`: every training, comparison and relatedness study that ends is recorded here. "
           "Keep this page's link (its `nb=` part) to find your runs again after a reload or a server restart; "
           "others don't see them unless you share a run.")
flash = state.scratch().pop(_FLASH, None)
if flash:
    (st.error if flash[0] == "error" else st.success)(plain(flash[1]))
if not records:
    st.info("No runs yet. Train a model on the Train page: every run that ends appears here.",
            icon=":material/info:")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

by_id = {r.id: r for r in records}


# ---- the table ---------------------------------------------------------------------------------------------
filters = st.columns([1, 1, 1, 2])
statuses = filters[0].multiselect("Status", sorted({r.status for r in records}), key="runs_status")
datasets = filters[1].multiselect("Dataset", sorted({r.dataset for r in records}), key="runs_dataset")
kinds = filters[2].multiselect("Kind", sorted({r.kind for r in records}), key="runs_kind")
search = filters[3].text_input("Search", key="runs_search", placeholder="name, dataset, task, status or id")
shown = filter_runs(records, statuses=statuses, datasets=datasets, kinds=kinds, search=search)
# As tall as its rows, up to about ten (then it scrolls).
st.dataframe(table(shown, notebook), key="runs_table", hide_index=True, width="stretch",
             height=min(38 + 35 * max(len(shown), 1), 390),
             column_config={"when": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm"),
                            "lr": st.column_config.NumberColumn("lr", format="%g")})
st.caption(f"{len(shown)} of {len(records)} runs. Click a column header to sort; the metrics are each task's "
           "main test metric (accuracy for a classification, RMSE in the target's units for a regression).")


# ---- compare picked runs -------------------------------------------------------------------------------------
st.subheader("Compare runs")
picked = st.multiselect("Runs to compare", list(by_id), key="runs_pick", format_func=lambda i: label(by_id[i]),
                        placeholder="Pick two or more runs", help="Their loss curves and configs, side by side.")
if picked:
    records_picked = [by_id[i] for i in picked]
    try:
        series = curves(store, picked)
    except Exception as exc:  # noqa: BLE001 - a run deleted meanwhile or an unreachable store
        st.warning(plain(f"The picked runs' histories can't be read: {exc}"), icon=":material/warning:")
    else:
        log = st.toggle("Log scale", key="runs_overlay_log")
        st.plotly_chart(overlay_figure(records_picked, series, log=log), key="runs_overlay")
        st.caption("Training loss by epoch: the weighted total as a thick line, each task dashed; one colour per "
                   "run.")
    diff = config_diff(records_picked)
    only = st.toggle("Only the settings that differ", key="runs_diff_only", disabled=len(picked) < 2)
    st.dataframe(highlight(diff[diff["differs"]] if only else diff), key="runs_diff", hide_index=True,
                 width="stretch", column_config={"differs": st.column_config.CheckboxColumn("differs")})
    if len(picked) >= 2:
        n = int(diff["differs"].sum())
        st.caption(f"{n} setting{'s differ' if n != 1 else ' differs'} (highlighted, at the top).")
    else:
        st.caption("Pick another run to see what differs.")


# ---- manage one run ----------------------------------------------------------------------------------------
def _say(kind: str, message: str) -> None:
    state.scratch()[_FLASH] = (kind, message)


def _rename(run_id: str, key: str) -> None:
    try:
        store.rename(run_id, st.session_state[key])
        _say("ok", f"Renamed to “{st.session_state[key].strip()}”.")
    except MTLError as exc:
        _say("error", str(exc))


def _share(run_id: str, key: str) -> None:
    try:
        store.set_shared(run_id, bool(st.session_state[key]))
    except MTLError as exc:
        _say("error", str(exc))


def _delete(run_id: str) -> None:
    try:
        store.delete(run_id)
        _say("ok", f"Deleted “{by_id[run_id].name}”.")
    except MTLError as exc:
        _say("error", str(exc))
    if run_id in st.session_state.get("runs_pick", []):
        st.session_state["runs_pick"] = [i for i in st.session_state["runs_pick"] if i != run_id]


def _open_on_predict(record) -> str | None:
    """Load the run's model as the session's current model; an error message or None."""
    from mtl_core.config import TrainConfig

    with st.spinner("Loading TensorFlow and the stored model…"):
        try:
            config = TrainConfig.from_dict(record.config)
            frame = state.dataset_for(config).frame
            data = store.model_bytes(record.id)
            if data is None:
                return "This run kept no model file."
            from mtl_core.models.stored import StoredModel

            model = StoredModel(data, frame)
        except MTLError as exc:
            return f"This run's model can't be opened here: {exc}"
    state.open_stored_model(model, frame, state.dataset_title(config.dataset),
                            label=f"stored run “{record.name}” ({record.epochs_run} epochs, {record.status})")
    return None


st.subheader("Manage a run")
target = by_id[st.selectbox("Run", list(by_id), key="runs_target", format_func=lambda i: label(by_id[i]))]
mine = target.notebook == notebook
if not mine:
    st.caption("Shared from another notebook: you can open it on Predict; only its notebook can rename, share or "
               "delete it.")
with st.container(horizontal=True, vertical_alignment="bottom"):
    name_key = f"runs_name:{target.id}"
    st.text_input("Name", value=target.name, key=name_key, disabled=not mine, max_chars=120)
    st.button("Rename", key="runs_rename", icon=":material/edit:", disabled=not mine, on_click=_rename,
              args=(target.id, name_key))
    share_key = f"runs_share:{target.id}"
    st.toggle("Shared with everyone", value=target.shared, key=share_key, disabled=not mine, on_change=_share,
              args=(target.id, share_key), help="Shared runs are listed in every notebook.")
    open_clicked = st.button("Open on Predict", key="runs_open", icon=":material/online_prediction:",
                             disabled=not target.has_model,
                             help=None if target.has_model else "This run kept no model file.")
    with st.popover("Delete", icon=":material/delete:", disabled=not mine):
        st.caption(md("Delete “{}” with its history and model? This can't be undone.", target.name))
        st.button("Delete for good", key="runs_delete", type="primary", on_click=_delete, args=(target.id,))
if target.message:
    st.caption(md("Outcome: {}", target.message))

if open_clicked:
    error = _open_on_predict(target)
    if error is None:
        st.switch_page("pages/predict.py")
    st.error(plain(error))
