"""Typed application state of the simulator app."""

from aiohttp import web

from .simulator import Simulator

SIMULATOR = web.AppKey("simulator", Simulator)
