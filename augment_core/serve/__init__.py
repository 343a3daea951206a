"""The served app's rules, apart from Streamlit: who may sign in (``access``), what each role
may do (``policy``) and which folders on the server a path may name (``server_paths``)."""
