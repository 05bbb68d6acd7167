"""E-mail, the second channel (issue 18). So far: reading a received message into the
fields the help desk needs (``parse``); receiving, threading and sending are built on
the store's face and the channel boundary (``backend/channels.py``)."""
