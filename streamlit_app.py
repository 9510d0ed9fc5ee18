"""The web page: `streamlit run streamlit_app.py`. The page itself is the colorizer/page package."""
from colorizer.page import main

main()
