#!/usr/bin/env python3
"""Serves a folder on 127.0.0.1, as `python3 -m http.server` does, plus the two headers that make
the page cross-origin isolated, so the playground loads its threaded build (build/web/mt):

    Cross-Origin-Opener-Policy: same-origin
    Cross-Origin-Embedder-Policy: require-corp

(https://web.dev/articles/coop-coep). --no-isolation leaves them out: the page then runs its
single-thread build, as on any plain static host. Prints http.server's "Serving HTTP on HOST port
N" line (port 0 picks a free one; scripts/test-web reads it).

    python3 scripts/serve.py [--no-isolation] [--port 8080] [--directory build/web]
"""
import argparse
import functools
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    isolated = True

    def end_headers(self):
        if self.isolated:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--directory", default=".")
    ap.add_argument("--no-isolation", action="store_true", help="no COOP/COEP headers (single-thread page)")
    args = ap.parse_args()
    Handler.isolated = not args.no_isolation
    handler = functools.partial(Handler, directory=args.directory)
    with http.server.ThreadingHTTPServer((args.bind, args.port), handler) as httpd:
        host, port = httpd.socket.getsockname()[:2]
        print(f"Serving HTTP on {host} port {port} (http://{host}:{port}/)"
              f"{' cross-origin isolated' if Handler.isolated else ''} ...", flush=True)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            sys.exit(0)


if __name__ == "__main__":
    main()
