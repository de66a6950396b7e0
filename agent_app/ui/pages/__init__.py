"""The app's pages; each is a function that st.navigation runs."""
