"""The machine's physical limit: nginx serving the same JSON bytes as a static file.

One nginx process (``master_process off``, so it neither forks workers nor drops privileges, and
reads files the benchmark wrote however it runs), no access log, keep-alive as uvicorn keeps it.
What it answers per second on this machine, beside the same load against Python, is the most any
server could do here with the cores the load generator and Redis leave.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench import procs

CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
error_log {root}/error.log warn;
pid {root}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
        location = {path} {{
            default_type application/json;
            try_files /bare.json =404;
        }}
    }}
}}
"""


def binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def start(name: str, root: Path, path: str, body: bytes, lifetime: float) -> tuple[procs.Proc, str]:
    """nginx answering ``body`` at ``path`` on a free port; the process and its base URL."""
    nginx = binary()
    if nginx is None:
        raise FileNotFoundError("nginx is not installed")
    (root / "www").mkdir(parents=True, exist_ok=True)
    (root / "tmp").mkdir(exist_ok=True)
    (root / "www" / "bare.json").write_bytes(body)
    port = procs.free_port()
    conf = root / "nginx.conf"
    conf.write_text(CONFIG.format(root=root, port=port, path=path), encoding="utf-8")
    # -e: nginx opens its compiled-in error log before it reads the configuration.
    command = [nginx, "-p", str(root), "-e", str(root / "error.log"), "-c", str(conf)]
    proc = procs.start(name, command, root / "stdout.log", lifetime=lifetime)
    url = f"http://127.0.0.1:{port}"
    try:
        procs.wait_http(url + path, proc)
    except RuntimeError:
        proc.stop()
        raise
    return proc, url
