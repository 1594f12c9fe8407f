"""Per request: the request id, the Prometheus request metrics and one JSON access line.

Requests are labelled by their route template (`/api/higgsfield/i2v/{task_id}`), never by the
raw path: that keeps the metric's label set small and keeps secrets that travel in paths (the
health uuid) out of metrics and logs.
"""

import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from src.core.request_id import REQUEST_ID_HEADER, current_request_id, request_id_for
from src.metrics import prometheus as metrics

logger = logging.getLogger("src.access")


def route_label(scope: Scope, root_path: str, routes: list[BaseRoute]) -> str:
    """The template of the route that answered, with the prefix of any mount it went through.

    A request answered before routing (an upload refused by its Content-Length) has no route in
    its scope yet: the app's routes are matched against it here, which costs only such requests.
    """
    route = scope.get("route")
    if route is None:
        for candidate in routes:
            if candidate.matches(scope)[0] is Match.FULL:
                route = candidate
                break
    path_format = getattr(route, "path_format", None)
    if path_format is None or isinstance(route, Mount):  # a mount whose app found no route
        return metrics.UNMATCHED_ROUTE
    mount_prefix = scope.get("root_path", "")[len(root_path) :]
    return mount_prefix + path_format


class AccessMiddleware:
    """Takes a sane X-Request-ID or makes one (in request.state, the log context and the answer's
    X-Request-ID header), times the request, counts it and writes the access line."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root_path = scope.get("root_path", "")
        request_id = request_id_for(scope)
        # The same scope dict reaches the 500 handler, which answers outside every middleware.
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500  # what the client gets when the app raises before answering

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        token = current_request_id.set(request_id)
        try:
            await self.app(scope, receive, send_observed)
        finally:
            seconds = time.perf_counter() - started
            route = route_label(scope, root_path, self.routes)
            method = scope["method"]
            metrics.observe_request(method, route, status, seconds)
            extra = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "task_id": scope.get("path_params", {}).get("task_id"),
            }
            logger.info("%s %s %d", method, route, status, extra=extra)
            current_request_id.reset(token)
