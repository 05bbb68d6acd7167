import subprocess
import sys

DOMAIN_MODULES = [
    "clock", "errors", "phones", "session", "usage", "tickets", "routing", "policy", "views",
    "templates",
]  # fmt: skip
IO_MODULES = [
    "sqlite3",
    "aiosqlite",
    "aiohttp",
    "httpx",
    "websockets",
    "asyncio",
    "socket",
    "textual",
]


def test_domain_modules_import_nothing_that_does_io() -> None:
    imports = "; ".join(f"import backend.domain.{name}" for name in DOMAIN_MODULES)
    check = f"import sys; {imports}; print(','.join(m for m in {IO_MODULES!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
