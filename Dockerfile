# membrane-mcp over streamable HTTP (see README, "Run it in Docker").
#   docker build -t membrane-mcp .
#   docker run -p 8000:8000 -e MEMBRANE_TOKEN=... -e MEMBRANE_MCP_AUTH_TOKENS=... membrane-mcp
# Try it on the embedded sandbox: docker run -p 8000:8000 -e MEMBRANE_MCP_AUTH_TOKENS=s3cret membrane-mcp --sandbox
# Clients reaching it by another name than localhost/127.0.0.1 need MEMBRANE_MCP_ALLOWED_HOSTS (else 421).
# Not built in this project's CI (no Docker engine on its machines); `pip install .` is what it runs.
# An exact tag, so a rebuild gets the same Python; bump it deliberately.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY membrane_mcp ./membrane_mcp
COPY membrane_sandbox ./membrane_sandbox
RUN pip install . && useradd --create-home --uid 10001 mcp
USER mcp

EXPOSE 8000
# /readyz: healthy once the catalog has loaded from Membrane (503 with the reason until then);
# /healthz only says the process answers. The start period covers the first catalog load.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=8).status != 200)"]
# Binding beyond loopback requires MEMBRANE_MCP_AUTH_TOKENS: the server refuses to start without it.
ENTRYPOINT ["membrane-mcp", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "8000"]
