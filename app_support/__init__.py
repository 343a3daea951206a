"""What the Streamlit app needs beyond the library: styling and Markdown escaping (``markup``)."""
