"""Modal dialogs (``ModalScreen[T]`` that dismiss with a typed result): pickers, view builder, confirm, details, login."""
