"""The Streamlit app, filled in by issue #4."""
