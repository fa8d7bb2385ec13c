"""MTL Playground: the Streamlit entry point; each page lives in ``pages/`` (run ``streamlit run app.py``)."""

import streamlit as st

from ui import classroom, layout, restart, share, speed
from ui.plain import plain
from ui.sidebar import training_status

speed.install()

flags = classroom.flags()  # presenter mode and classroom flags, from the URL the session started with
# Presenter mode starts with the sidebar folded: the projected page gets the whole width.
st.set_page_config(page_title="MTL Playground", page_icon=":material/hub:", layout="wide",
                   initial_sidebar_state="collapsed" if flags.present else "auto")

# One line per page; the URL is /<url_path>. A classroom link (?hide=… or ?only=…) takes pages out of the
# navigation (ui/classroom.py); they stay registered, so the pages' own links to them still resolve.
PAGES = [
    ("pages/home.py", "Home", ":material/home:", ""),
    ("pages/data.py", "Data & tasks", ":material/table:", "data"),
    ("pages/model.py", "Model & losses", ":material/account_tree:", "model"),
    ("pages/train.py", "Train", ":material/model_training:", "train"),
    ("pages/predict.py", "Predict", ":material/online_prediction:", "predict"),
    ("pages/relatedness.py", "Relatedness lab", ":material/science:", "relatedness"),
    ("pages/runs.py", "Runs", ":material/history:", "runs"),
    ("pages/tune.py", "Tune", ":material/tune:", "tune"),
]

page = st.navigation([
    st.Page(path, title=title, icon=icon, url_path=url_path, default=not url_path,
            visibility=classroom.page_visibility(url_path, flags))
    for path, title, icon, url_path in PAGES
])
layout.apply(flags)
# Before any page reads the config: a shared link sets it up before the default preset would.
# After a server restart: "your previous run ended with the server" (reads the URL before sync_url rewrites it).
restart.notice()
share.sync_url()
if classroom.error():
    st.warning(plain(classroom.error()), icon=":material/visibility_off:")  # quotes the link: plain text
training_status()
page.run()
