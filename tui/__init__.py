"""ttydesk's terminal inbox (Textual). Imports only ``backend.schemas`` from the backend.

Entry point: ``tui.app.run(server, token)``; the app factory is ``tui.app.TtydeskApp``.
"""
