"""A throwaway IMAP server for the tests: Debian's dovecot with a private configuration in
a temporary folder, listening on 127.0.0.1 (``.ci/run`` installs ``dovecot-imapd``)."""

from __future__ import annotations

import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "support@acme.test", "imap-test-password"


@dataclass
class Dovecot:
    # its own folder under /tmp, readable by dovecot's unprivileged users (pytest's
    # tmp_path is not: every folder on the way must let them through)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ttydesk-imap-")))
    port: int = 0
    process: subprocess.Popen | None = None

    def _mail_owner(self) -> pwd.struct_passwd:
        # dovecot refuses mail access as root: as root, the mail belongs to nobody
        return pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())

    def _write_config(self) -> Path:
        self.folder.chmod(0o755)
        owner = self._mail_owner()
        home = self.folder / "home"
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, owner.pw_uid, owner.pw_gid)
        (self.folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        login_user = "dovenull" if os.geteuid() == 0 else owner.pw_name
        internal_user = "dovecot" if os.geteuid() == 0 else owner.pw_name
        config = self.folder / "dovecot.conf"
        config.write_text(
            f"""
base_dir = {self.folder}/run
state_dir = {self.folder}/state
log_path = {self.folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = {owner.pw_uid}
last_valid_uid = {owner.pw_uid}
mail_location = maildir:{home}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.folder}/passwd
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={home}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""
        )
        return config

    def start(self) -> Dovecot:
        """Start on a random port, trying another if that one is taken."""
        if not Path(DOVECOT).exists():
            raise RuntimeError("dovecot is not installed (Debian: apt-get install dovecot-imapd)")
        for _ in range(20):
            self.port = random.randint(20000, 60000)
            config = self._write_config()
            self.process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own group: crash() takes every process of it
            )
            if self._answers():
                return self
            self.stop()
        raise RuntimeError(f"dovecot did not start: {self.log()}")

    def start_on_same_port(self) -> Dovecot:
        """Start again, on the port it had (its mail kept): a server that came back."""
        config = self._write_config()
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        if not self._answers():
            raise RuntimeError(f"dovecot did not start again: {self.log()}")
        return self

    def _answers(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return True
            except OSError:
                time.sleep(0.05)
        return False

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def crash(self) -> None:
        """Every dovecot process dies at once: open sessions drop without a goodbye."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
