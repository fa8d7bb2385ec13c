"""Dashboard helpers: session state, bound widgets, charts and diagrams (Streamlit-only code lives here)."""
