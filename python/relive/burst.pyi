import logging
from typing import Any, Optional

class scope:
    def __init__(self) -> None: ...
    def __enter__(self) -> "scope": ...
    def __exit__(self, *exc: Any) -> bool: ...

class Handler(logging.Handler):
    target: logging.Handler
    keep: int
    max_age: float
    pass_level: int
    trigger_level: int
    per_thread: bool
    def __init__(self, target: logging.Handler, keep: int = 512, max_age: float = 60.0,
                 pass_level: int = logging.INFO, trigger_level: int = logging.ERROR,
                 per_thread: bool = True) -> None: ...
    def buffered(self) -> int: ...

def install(level: int = logging.DEBUG, **options: Any) -> Handler: ...
