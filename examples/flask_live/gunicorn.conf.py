# gunicorn -c gunicorn.conf.py app:app
# The Config is opened once in the master (preload_app) and keeps reloading in every
# worker after fork().
bind = "127.0.0.1:8000"
workers = 4
preload_app = True
