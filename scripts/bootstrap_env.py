"""Write var/earmark.env on first use so `make run` needs no configuration.

It holds a generated SECRET_KEY and development values; it is git-ignored.
Production never reads it: it sets real environment variables instead.
"""

import secrets
from pathlib import Path

VAR = Path(__file__).resolve().parent.parent / "var"
ENV_FILE = VAR / "earmark.env"


def main() -> None:
    VAR.mkdir(exist_ok=True)
    (VAR / "imports").mkdir(exist_ok=True)
    if ENV_FILE.exists():
        return
    ENV_FILE.write_text(
        "# Written by `make run` for local development. Never used in production.\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        "DEBUG=true\n"
        "ALLOWED_HOSTS=127.0.0.1,localhost\n"
    )
    ENV_FILE.chmod(0o600)
    print(f"Wrote {ENV_FILE} with a generated SECRET_KEY.")


if __name__ == "__main__":
    main()
