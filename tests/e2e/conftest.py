from __future__ import annotations

import uuid

import pytest

from tests.e2e.tmux import kill_server, tmux_available

pytestmark = pytest.mark.e2e


@pytest.fixture
def tmux_socket():
    if not tmux_available():
        pytest.fail(
            "tmux is not installed: .ci/run installs it; install it with apt-get install tmux"
        )
    socket = f"ttydesk-e2e-{uuid.uuid4().hex[:8]}"
    yield socket
    kill_server(socket)
