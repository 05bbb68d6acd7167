"""The app's channels against the channel boundary (backend/channels.py)."""

from backend import schemas
from backend.app import CHANNELS
from backend.channels import Channel


def test_each_channel_of_the_app_implements_the_boundary_once_per_channel_type() -> None:
    assert all(isinstance(channel, Channel) for channel in CHANNELS)
    types = [channel.type for channel in CHANNELS]
    assert len(types) == len(set(types))
    assert set(types) <= set(schemas.ChannelType)
