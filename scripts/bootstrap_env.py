"""Write var/earmark.env on first use so `make run` needs no configuration.

It holds a generated SECRET_KEY and development values; it is git-ignored.
Production never reads it: it sets real environment variables instead.

DEBUG is off unless asked for (`make run DEBUG=true`, or DEBUG=true in the environment): with it on, every
server error shows a traceback with settings and local variables to whoever caused it. An env file written
by an older version with DEBUG=true is switched off again unless asked.
"""

import os
import re
import secrets
from pathlib import Path

VAR = Path(os.environ.get("EARMARK_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
ENV_FILE = VAR / "earmark.env"


def debug_asked() -> bool:
    return os.environ.get("DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def main() -> None:
    VAR.mkdir(exist_ok=True)
    (VAR / "imports").mkdir(exist_ok=True)
    debug = "true" if debug_asked() else "false"
    if ENV_FILE.exists():
        text = ENV_FILE.read_text()
        updated = re.sub(r"(?m)^DEBUG=.*$", f"DEBUG={debug}", text)
        if updated != text:
            ENV_FILE.write_text(updated)
            print(f"{ENV_FILE}: DEBUG={debug}")
        return
    ENV_FILE.write_text(
        "# Written by `make run` for local development. Never used in production.\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"DEBUG={debug}\n"
        "ALLOWED_HOSTS=127.0.0.1,localhost\n"
    )
    ENV_FILE.chmod(0o600)
    print(f"Wrote {ENV_FILE} with a generated SECRET_KEY (DEBUG={debug}).")


if __name__ == "__main__":
    main()
