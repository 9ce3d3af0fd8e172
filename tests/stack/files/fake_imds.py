"""IMDSv2 stand-in for the user data test: a token on PUT, the region only with it.

Runs inside an app container on 127.0.0.1:8169 (launch_template_imds_endpoint of the
local inventory), never on 169.254.169.254.
"""

import http.server

TOKEN = "fake-imds-token"  # noqa: S105 - a test stand-in, not a credential


class Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self, code: int, body: str = "") -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get(
            "X-aws-ec2-metadata-token-ttl-seconds"
        ):
            self._answer(200, TOKEN)
        else:
            self._answer(400)

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            self._answer(401)  # IMDSv2 required: no token, no answer
        elif self.path == "/latest/meta-data/placement/region":
            self._answer(200, "eu-west-1")
        else:
            self._answer(404)


http.server.HTTPServer(("127.0.0.1", 8169), Handler).serve_forever()
