"""The floor for bench/bench_dashboard.py: one slider, one line of text that follows it, no TensorFlow.

Same container keys as the Predict page (``features`` around the input, ``prediction`` around the output)
and the same slider (sepal_length, 4.2 to 7.9 by 0.1), so one harness measures both.
"""

import streamlit as st

st.title("Minimal slider")
with st.container(key="features", border=True):
    x = st.slider("sepal_length", min_value=4.2, max_value=7.9, value=5.8, step=0.1, format="%.1f")
with st.container(key="prediction", border=True):
    st.markdown(f"**Prediction**: petal_width {0.75 * x - 3.1:.4g}")
