"""Feature plug-ins that extend the sessions layer (history, screenshots, approvals, media, /status).

Each feature has an ``install(topics)`` that registers callback handlers, message converters, typed window
requests, commands and screen-effect hooks; a feature reaches a topic and a window only through the ports
in :mod:`ccbot.features.ports`. The installed list is :data:`ccbot.features.catalog.FEATURES`.
"""
