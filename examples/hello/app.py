"""A tiny program for relive's quickstart: edit GREETING and save; relive restarts it."""
import os
import time

GREETING = "Hello from relive's example"

print(f"{GREETING} (pid {os.getpid()})", flush=True)
changed = os.environ.get("RELIVE_CHANGED_PATHS")
if changed:
    print("started because these changed:", ", ".join(changed.splitlines()), flush=True)
while True:
    time.sleep(3600)
