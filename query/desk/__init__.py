"""The desk: the FastAPI app, its routers, access control, the sessions store and the web page."""
