"""`rnnapps serve`: exported models over TensorFlow Serving's REST API, with dynamic batching and a try-it page.

models.py (where a SavedModel comes from, its signatures, status and metadata), codec.py (TF Serving's JSON
mapping), batching.py (merging concurrent requests), app.py (the Starlette application), command.py (the
click command and the uvicorn server around it).
"""
