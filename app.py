"""MTL Playground: the Streamlit entry point; each page lives in ``pages/`` (run ``streamlit run app.py``)."""

import streamlit as st

from ui import share, speed
from ui.sidebar import training_status

speed.install()

st.set_page_config(page_title="MTL Playground", page_icon=":material/hub:", layout="wide")

# One line per page; the URL is /<url_path>.
PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="", default=True),
    st.Page("pages/data.py", title="Data & tasks", icon=":material/table:", url_path="data"),
    st.Page("pages/model.py", title="Model & losses", icon=":material/account_tree:", url_path="model"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("pages/predict.py", title="Predict", icon=":material/online_prediction:", url_path="predict"),
    st.Page("pages/relatedness.py", title="Relatedness lab", icon=":material/science:", url_path="relatedness"),
    st.Page("pages/runs.py", title="Runs", icon=":material/history:", url_path="runs"),
    st.Page("pages/tune.py", title="Tune", icon=":material/tune:", url_path="tune"),
]

page = st.navigation(PAGES)
# Before any page reads the config: a shared link sets it up before the default preset would.
share.sync_url()
training_status()
page.run()
