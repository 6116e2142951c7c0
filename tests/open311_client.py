"""A minimal Open311 GeoReport v2 client written from the published spec (wiki.open311.org/GeoReport_v2),
not from our server: paths, form-encoded POST, JSON format, and the spec's error list.

No maintained Python client installs on Python 3 (PyPI's ``open311`` 1.1 is Python 2 only).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request


class Open311Error(Exception):
    def __init__(self, status: int, errors: list[dict]):
        super().__init__(f"{status}: {errors}")
        self.status, self.errors = status, errors


class GeoReportV2:
    def __init__(self, endpoint: str, api_key: str | None = None, jurisdiction_id: str | None = None):
        self.endpoint, self.api_key, self.jurisdiction_id = endpoint.rstrip("/"), api_key, jurisdiction_id

    def _call(self, path: str, params: dict | None = None, post: dict | None = None):
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if self.jurisdiction_id:
            params["jurisdiction_id"] = self.jurisdiction_id
        url = f"{self.endpoint}/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        data = (
            urllib.parse.urlencode({k: v for k, v in post.items() if v is not None}).encode()
            if post
            else None
        )
        request = urllib.request.Request(url, data=data)
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise Open311Error(exc.code, json.loads(exc.read())) from None

    def services(self) -> list[dict]:
        return self._call("services.json")

    def service_definition(self, service_code: str) -> dict:
        return self._call(f"services/{urllib.parse.quote(service_code)}.json")

    def create_request(self, service_code: str, **fields) -> dict:
        return self._call(
            "requests.json", post={"api_key": self.api_key, "service_code": service_code, **fields}
        )[0]

    def requests(self, **filters) -> list[dict]:
        return self._call("requests.json", params=filters)

    def request(self, service_request_id: str) -> dict:
        return self._call(f"requests/{urllib.parse.quote(service_request_id)}.json")[0]
